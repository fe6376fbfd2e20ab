"""Typer shells of the speed benchmarks (`mvkl bench hamming|synth|ingest|store|loader|sampler|
train-step|eval`): parse options, call the library function in :mod:`mvkl.bench`, render."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mvkl.bench import eval as bench_eval
from mvkl.bench import hamming as bench_hamming
from mvkl.bench import ingest as bench_ingest
from mvkl.bench import loader as bench_loader
from mvkl.bench import sampler as bench_sampler
from mvkl.bench import store as bench_store
from mvkl.bench import synth as bench_synth
from mvkl.bench import train_step as bench_train_step
from mvkl.bench.render import flatten, render_figures, render_loader, render_sampler
from mvkl.cli.common import JsonOpt, QuietOpt, command, emit, example
from mvkl.cli.eval_cmd import DeviceOpt, WorkersOpt
from mvkl.errors import InputError

__all__ = ["register"]


def parse_counts(text: str, option: str, minimum: int, code: str = "usage") -> tuple[int, ...]:
    """Comma-separated integers ``>= minimum`` (worker counts, sizes), or an :class:`InputError`."""
    try:
        counts = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise InputError(f"{option} expects comma-separated integers, got {text!r}", code=code) from None
    if not counts or min(counts) < minimum:
        raise InputError(f"{option} needs at least one count, each >= {minimum}", code=code)
    return counts


def _hamming(app: typer.Typer) -> None:
    @app.command("hamming", epilog=example("mvkl bench hamming --n 1000000"))
    @command
    def hamming_cmd(
        n: Annotated[int, typer.Option("--n", min=1, help="Number of vectors to compare against.")] = 1_000_000,
        seed: Annotated[int, typer.Option("--seed")] = 0,
        json_out: JsonOpt = False,
        quiet: QuietOpt = False,
    ) -> None:
        """Distances from one manifestation vector to N others (uint64 popcount vs unpacked numpy)."""
        doc = bench_hamming.run(n=n, seed=seed)
        emit(doc, json_out, lambda: render_figures(doc))


def _synth(app: typer.Typer) -> None:
    @app.command("synth", epilog=example("mvkl bench synth --exams 24",
                                         "mvkl bench synth --exams 8 --image-size 512 --json"))
    @command
    def synth_cmd(
        exams: Annotated[int, typer.Option("--exams", min=1, help="Exams actually generated and timed.")] = 24,
        image_size: Annotated[int, typer.Option("--image-size", help="Long side of the images in px.")] = 1024,
        workers: Annotated[int | None, typer.Option("--workers", min=1, help="Rendering processes.")] = None,
        target: Annotated[int, typer.Option("--target-exams", min=1, help="Scale to extrapolate to "
                                                                          "(MVKL: 2671).")] = bench_synth.MVKL_EXAMS,
        lang: Annotated[str, typer.Option("--lang", help="Report language: en | zh.")] = "en",
        no_glance: Annotated[bool, typer.Option("--no-glance", help="Skip the Table 3 AUC check.")] = False,
        json_out: JsonOpt = False,
        quiet: QuietOpt = False,
    ) -> None:
        """Synthetic study generation: exams/s measured on a subset, extrapolated to MVKL scale."""
        doc = bench_synth.run(exams=exams, image_size=image_size, workers=workers, target=target, lang=lang,
                              glance=not no_glance)
        emit(doc, json_out, lambda: render_figures(flatten(doc)))


def _ingest(app: typer.Typer) -> None:
    @app.command("ingest", epilog=example("mvkl bench ingest", "mvkl bench ingest --n 32 --full-n 16 --json"))
    @command
    def ingest_cmd(
        n: Annotated[int, typer.Option("--n", min=2, help="Synthetic-size images (1024x832).")] = 32,
        full_n: Annotated[int, typer.Option("--full-n", min=2, help="Full-field images (4096x3328).")] = 16,
        image_size: Annotated[int, typer.Option("--image-size", help="Stored image side.")] = 256,
        workers: Annotated[str, typer.Option("--workers", help="Comma-separated worker counts.")] = "1,2",
        json_out: JsonOpt = False,
        quiet: QuietOpt = False,
    ) -> None:
        """Ingest throughput: images/s per worker at synthetic and full-field size (uncompressed 12-bit)."""
        doc = bench_ingest.run(n=n, n_full=full_n, image_size=image_size,
                               workers=parse_counts(workers, "--workers", 1))
        emit(doc, json_out, lambda: render_figures(doc))


def _store(app: typer.Typer) -> None:
    @app.command("store", epilog=example("mvkl bench store", "mvkl bench store --n 4000 --size 512 --json"))
    @command
    def store_cmd(
        n: Annotated[int, typer.Option("--n", min=4, help="Images in the benchmark store.")] = 2000,
        size: Annotated[int, typer.Option("--size", min=16, max=2048, help="Image side.")] = 256,
        dtype: Annotated[str, typer.Option("--dtype", help="uint8 or uint16.")] = "uint8",
        reads: Annotated[int, typer.Option("--reads", min=100, help="Random reads to time.")] = 5000,
        json_out: JsonOpt = False,
        quiet: QuietOpt = False,
    ) -> None:
        """Random single-image reads/s from an HDF5 store on one core (+ sequential, per-worker reopen)."""
        if dtype not in ("uint8", "uint16"):
            raise InputError("--dtype must be uint8 or uint16", code="usage")
        doc = bench_store.run(n=n, size=size, dtype=dtype, reads=reads)
        emit(doc, json_out, lambda: render_figures(doc))


def _loader(app: typer.Typer) -> None:
    @app.command("loader", epilog=example("mvkl bench loader",
                                          "mvkl bench loader demo.h5 --preset paper --workers 0,2,4"))
    @command
    def loader_cmd(
        store: Annotated[Path | None, typer.Argument(
            help="Store to read (default: a temporary synthetic one).")] = None,
        preset: Annotated[str, typer.Option("--preset", help="Augmentation and sizes of this preset.")] = "tiny",
        batch_size: Annotated[int | None, typer.Option("--batch-size", min=2, help="Default: the preset's.")] = None,
        workers: Annotated[str, typer.Option("--workers", help="Comma-separated worker counts.")] = "0,1,2",
        batches: Annotated[int, typer.Option("--batches", min=2, help="Batches per worker count.")] = 20,
        text_model: Annotated[Path | None, typer.Option("--text-model", help="Local tokenizer directory.")] = None,
        json_out: JsonOpt = False,
        quiet: QuietOpt = False,
    ) -> None:
        """LumpDataset + augmentation + collate through a DataLoader, samples/s per worker count."""
        doc = bench_loader.run(store, preset, batch_size, parse_counts(workers, "--workers", 0), batches, text_model)
        emit(doc, json_out, lambda: render_loader(doc))


def _sampler(app: typer.Typer) -> None:
    @app.command("sampler", epilog=example("mvkl bench sampler", "mvkl bench sampler --sizes 2700,100000 --json"))
    @command
    def sampler_cmd(
        sizes: Annotated[str, typer.Option("--sizes", help="Comma-separated numbers of lumps.")
                         ] = "2700,100000,1000000",
        batch_size: Annotated[int, typer.Option("--batch-size", min=2)] = 64,
        batches: Annotated[int, typer.Option("--batches", min=1, help="Batches timed per size.")] = 200,
        reference_max: Annotated[int, typer.Option(
            "--reference-max", min=0, help="Run the original algorithm up to this many lumps.")] = 10_000,
        seed: Annotated[int, typer.Option("--seed", min=0)] = 0,
        json_out: JsonOpt = False,
        quiet: QuietOpt = False,
    ) -> None:
        """ManiNeg batch construction time and set-up at 2.7k, 100k and 1M lumps, against the original."""
        ns = parse_counts(sizes, "--sizes", 2 * batch_size, code="option")
        doc = bench_sampler.run(ns, batch_size=batch_size, batches=batches, seed=seed, reference_max=reference_max)
        emit(doc, json_out, lambda: render_sampler(doc))


def _train_step(app: typer.Typer) -> None:
    @app.command("train-step", epilog=example("mvkl bench train-step --preset tiny --steps 20",
                                              "mvkl bench train-step --preset paper --batch-size 8 --steps 2"))
    @command
    def train_step_cmd(
        preset: Annotated[str, typer.Option("--preset", help="tiny, paper or code-compat (ResNet-50 256² + "
                                                      "BERT-base); the step uses the preset's loss.")] = "tiny",
        steps: Annotated[int, typer.Option("--steps", min=1, help="Timed steps (after one warm-up).")] = 5,
        batch_size: Annotated[int | None, typer.Option("--batch-size", min=2, help="Default: the preset's.")] = None,
        device: Annotated[str, typer.Option("--device", help="auto, cpu or cuda.")] = "auto",
        precision: Annotated[str, typer.Option("--precision", help="auto (bf16 on CUDA), fp32 or bf16.")] = "auto",
        report_tokens: Annotated[int, typer.Option("--report-tokens", min=4, max=512,
                                                   help="Mean report length in tokens.")] = 200,
        pad512: Annotated[bool, typer.Option("--pad512/--no-pad512", help="Also time padding to 512 tokens.")] = True,
        json_out: JsonOpt = False,
        quiet: QuietOpt = False,
    ) -> None:
        """Forward + backward + Adam step of a preset's ViKL on a synthetic batch (no data loading)."""
        from mvkl.train.config import PRESETS

        if preset not in PRESETS:
            raise InputError(f"--preset must be one of {', '.join(PRESETS)}, got {preset!r}", code="usage")
        doc = bench_train_step.run(preset, steps, batch_size, device, precision, report_tokens, pad512)
        emit(doc, json_out, lambda: render_figures(doc))


def _eval(app: typer.Typer) -> None:
    @app.command("eval", epilog=example("mvkl bench eval", "mvkl bench eval --arch resnet50 --image-size 256 "
                                        "--batch-size 48 --n-images 480 --device cuda"))
    @command
    def eval_bench(
        arch: Annotated[str | None, typer.Option("--arch", help="resnet50 or resnet18 (default: resnet50 on CUDA, "
                                                 "resnet18 on CPU).")] = None,
        image_size: Annotated[int | None, typer.Option("--image-size", help="Side in px (256 CUDA, 64 CPU).")] = None,
        batch_size: Annotated[int | None, typer.Option("--batch-size", help="48 CUDA, 16 CPU.")] = None,
        n_images: Annotated[int | None, typer.Option("--n-images", help="Synthetic images (480 CUDA, 128 CPU).")
                            ] = None,
        device: DeviceOpt = "auto",
        workers: WorkersOpt = -1,
        json_out: JsonOpt = False,
        quiet: QuietOpt = False,
    ) -> None:
        """Evaluation throughput: feature extraction images/s and LE/FT epoch time on this machine."""
        from mvkl.evaluation.protocols.features import resolve_device

        cuda = resolve_device(device).type == "cuda"
        doc = bench_eval.run_throughput(arch=arch or ("resnet50" if cuda else "resnet18"),
                                        image_size=image_size or (256 if cuda else 64),
                                        batch_size=batch_size or (48 if cuda else 16),
                                        n_images=n_images or (480 if cuda else 128), device=device, workers=workers)
        emit(doc, json_out, lambda: render_figures(doc))


def register(app: typer.Typer) -> None:
    """Add the speed benchmarks to the `mvkl bench` Typer app, in `--help` order."""
    for add in (_hamming, _synth, _ingest, _store, _loader, _sampler, _train_step, _eval):
        add(app)

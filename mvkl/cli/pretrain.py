"""`mvkl pretrain`: ViKL tri-modal contrastive pretraining (optionally with ManiNeg hard negatives).

Parses options into a :class:`mvkl.train.PretrainConfig` (preset → ``--config`` TOML → options),
calls :func:`mvkl.train.loop.pretrain` and renders its summary. Torch is imported only after the
options are validated. Under ``torchrun`` every process runs this command; only rank 0 prints.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from mvkl.cli.common import JsonOpt, QuietOpt, command, emit, example
from mvkl.train.config import PretrainConfig

__all__ = ["register"]

_DATA, _METHOD, _MODEL, _OPTIM, _RUNTIME, _RUN = ("Configuration", "Method", "Model", "Optimisation",
                                                  "Runtime", "Run directory and logging")

#: The defaults every option falls back to (the ``paper`` preset): quoted in the help, never retyped.
_D = PretrainConfig()


def _overrides(**given: Any) -> dict[str, Any]:
    """Command-line options that were given (None = not given)."""
    from mvkl.errors import InputError

    out = {k: v for k, v in given.items() if v is not None and k not in ("manineg", "maningeg", "random_init")}
    hn = out.get("hard_negatives")
    if given.get("manineg") or given.get("maningeg"):
        if hn not in (None, "manineg"):
            raise InputError(f"--manineg contradicts --hard-negatives {hn}", code="usage")
        out["hard_negatives"] = "manineg"
    if given.get("random_init"):
        if given.get("image_weights"):
            raise InputError("--random-init contradicts --image-weights FILE: choose one", code="usage")
        out["image_weights"] = "random"
    if "modalities" in out:
        out["modalities"] = tuple(m.strip() for m in str(out["modalities"]).split(",") if m.strip())
    return out


def _render(doc: dict[str, Any]) -> None:
    from rich.table import Table

    from mvkl.log import stdout_console

    con = stdout_console()
    state = "completed" if doc["completed"] else f"stopped ({doc.get('stopped_by')})"
    t = Table(title=f"mvkl pretrain: {doc['run']} ({state})")
    t.add_column("")
    t.add_column("value", justify="right")
    t.add_row("preset / hard negatives", f"{doc['preset']} / {doc['hard_negatives']}")
    t.add_row("modalities", ",".join(doc["modalities"]))
    t.add_row("steps", f"{doc['step']} of {doc['steps']}" + (f" (resumed at {doc['resumed_from']})"
                                                             if doc.get("resumed_from") is not None else ""))
    t.add_row("device", f"{doc['device']} x {doc['world_size']}, {doc['precision']}, {doc['workers']} workers")
    t.add_row("throughput", f"{doc['samples_per_s']:.1f} samples/s ({doc['wall_s']:.0f} s)")
    tr, va = doc.get("final_train") or {}, doc.get("final_val") or {}
    for key in ("loss", "imc", "itm", "ii", "it", "im", "tm"):
        if key in tr or key in va:
            v = "  ".join(x for x in (f"train {tr[key]:.4f}" if key in tr else "",
                                      f"val {va[key]:.4f}" if key in va else "") if x)
            t.add_row(f"final {key}", v)
    con.print(t)
    out = doc.get("out", "")
    for name, rel in doc.get("outputs", {}).items():
        con.print(f"{name}: {os.path.join(out, rel)}")
    if not doc["completed"]:
        con.print(f"continue with: mvkl pretrain STORE --out {out} --resume")


def register(root: typer.Typer) -> None:
    """Add `mvkl pretrain` to the root app."""

    @root.command(
        "pretrain",
        epilog=example(
            "mvkl pretrain demo.h5 --out runs/tiny --preset tiny --manineg",
            "mvkl pretrain mvkl.h5 --out runs/vikl --manineg --text-model models/bert-base-chinese",
            "mvkl pretrain mvkl.h5 --out runs/vikl --resume",
            "torchrun --nproc_per_node 8 -m mvkl pretrain mvkl.h5 --out runs/vikl8 --manineg --text-model DIR",
        ),
    )
    @command
    def pretrain_cmd(
        store: Annotated[Path, typer.Argument(help="mvkl HDF5 store (mvkl ingest).")],
        out: Annotated[Path, typer.Option("--out", "-o", help="Run directory (created).", rich_help_panel=_RUN)],
        preset: Annotated[str | None, typer.Option(
            "--preset", help="paper (default), code-compat (released code) or tiny (CPU smoke runs).",
            rich_help_panel=_DATA)] = None,
        config: Annotated[Path | None, typer.Option(
            "--config", help="TOML file with any configuration field (applied after --preset).",
            rich_help_panel=_DATA)] = None,
        hard_negatives: Annotated[str | None, typer.Option(
            "--hard-negatives", help="none, robinson (released ViKL loss) or manineg (paper).",
            rich_help_panel=_METHOD)] = None,
        manineg: Annotated[bool, typer.Option("--manineg", help="Same as --hard-negatives manineg.",
                                              rich_help_panel=_METHOD)] = False,
        maningeg: Annotated[bool, typer.Option("--maningeg", hidden=True)] = False,
        modalities: Annotated[str | None, typer.Option(
            "--modalities", help="Comma-separated: image plus text and/or manifest (default all three).",
            rich_help_panel=_METHOD)] = None,
        gather_negatives: Annotated[bool | None, typer.Option(
            "--gather-negatives", help="With torchrun and none/robinson: contrast against the global batch.",
            rich_help_panel=_METHOD)] = None,
        embed_dim: Annotated[int | None, typer.Option("--embed-dim", min=1, help=f"Embedding width ({_D.embed_dim}).",
                                                      rich_help_panel=_MODEL)] = None,
        arch: Annotated[str | None, typer.Option("--arch", help="resnet50 (paper), resnet18 or cnn4 "
                                                                          "(a small CNN for CPUs).",
                                                 rich_help_panel=_MODEL)] = None,
        image_weights: Annotated[str | None, typer.Option(
            "--image-weights", help="ImageNet weights file for the trunk (default: the torch hub cache).",
            rich_help_panel=_MODEL)] = None,
        random_init: Annotated[bool, typer.Option("--random-init", help="Random trunk initialisation (ViKL-R).",
                                                  rich_help_panel=_MODEL)] = False,
        text_model: Annotated[str | None, typer.Option(
            "--text-model", help="Local BERT directory (bert-base-chinese; never downloaded) or 'tiny'.",
            rich_help_panel=_MODEL)] = None,
        steps: Annotated[int | None, typer.Option("--steps", min=1, help=f"Training steps ({_D.steps}).",
                                                  rich_help_panel=_OPTIM)] = None,
        batch_size: Annotated[int | None, typer.Option(
            "--batch-size", min=2, help=f"Lumps per batch per process ({_D.batch_size}).", rich_help_panel=_OPTIM)
                                                       ] = None,
        lr: Annotated[float | None, typer.Option("--lr", help=f"Peak learning rate ({_D.lr:.0e}).".replace("e-0", "e-"),
                                                 rich_help_panel=_OPTIM)] = None,
        image_size: Annotated[int | None, typer.Option(
            "--image-size", min=32, help=f"Input side in pixels ({_D.image_size}).", rich_help_panel=_OPTIM)
                                                       ] = None,
        seed: Annotated[int | None, typer.Option("--seed", min=0, help=f"Seed of every random choice ({_D.seed}).",
                                                 rich_help_panel=_OPTIM)] = None,
        device: Annotated[str | None, typer.Option("--device", help="auto, cpu, cuda or cuda:N.",
                                                   rich_help_panel=_RUNTIME)] = None,
        precision: Annotated[str | None, typer.Option(
            "--precision", help="auto (bf16 on CUDA, fp32 on CPU), fp32 or bf16.", rich_help_panel=_RUNTIME)] = None,
        compile_: Annotated[bool | None, typer.Option("--compile/--no-compile", help="torch.compile the image "
                                                      "encoder.", rich_help_panel=_RUNTIME)] = None,
        workers: Annotated[int | None, typer.Option(
            "--workers", min=-1, help=f"DataLoader workers (-1: auto; default {_D.workers}).",
            rich_help_panel=_RUNTIME)] = None,
        resume: Annotated[bool, typer.Option("--resume", help="Continue from the newest checkpoint in --out.",
                                             rich_help_panel=_RUN)] = False,
        log_every: Annotated[int | None, typer.Option("--log-every", min=1, help="Steps between metrics lines.",
                                                      rich_help_panel=_RUN)] = None,
        ckpt_every: Annotated[int | None, typer.Option("--ckpt-every", min=1, help="Steps between checkpoints.",
                                                       rich_help_panel=_RUN)] = None,
        tensorboard: Annotated[bool | None, typer.Option("--tensorboard/--no-tensorboard", help="Also write "
                                                         "TensorBoard events.", rich_help_panel=_RUN)] = None,
        stop_at: Annotated[int | None, typer.Option("--stop-at", hidden=True, min=1)] = None,
        json_out: JsonOpt = False,
        quiet: QuietOpt = False,
    ) -> None:
        """ViKL pretraining of image, report and manifestation encoders on a store's training split.

        Writes RUN/config.json, metrics.jsonl, checkpoints/, encoder/ (the final image encoder for
        mvkl eval), vikl/ (the whole model) and summary.json. Every other option of the
        configuration (temperatures, augmentation, ManiNeg σ/μ, schedule, ...) is set with --config
        FILE.toml; the resolved configuration is saved in RUN/config.json.
        """
        from mvkl import log
        from mvkl.errors import InputError
        from mvkl.fsutil import display_path
        from mvkl.train.config import PretrainConfig, resolve_config

        rank = int(os.environ.get("RANK", "0"))
        if rank != 0:
            log.configure(quiet=True)
        given = _overrides(hard_negatives=hard_negatives, manineg=manineg, maningeg=maningeg, modalities=modalities,
                           gather_negatives=gather_negatives, embed_dim=embed_dim, arch=arch,
                           image_weights=image_weights, random_init=random_init, text_model=text_model, steps=steps,
                           batch_size=batch_size, lr=lr, image_size=image_size, seed=seed, device=device,
                           precision=precision, compile=compile_, workers=workers, log_every=log_every,
                           ckpt_every=ckpt_every, tensorboard=tensorboard)
        if not resume and any((out / "checkpoints").glob("step_*.pt")):
            raise InputError("this run directory already holds checkpoints: pass --resume to continue it, or choose "
                             "a new --out", file=display_path(out), code="usage")
        base = None
        saved = out / "config.json"
        if resume and saved.is_file():
            import json

            try:
                base = PretrainConfig.from_dict(json.loads(saved.read_text(encoding="utf-8")),
                                                source=display_path(saved))
            except ValueError as exc:
                raise InputError(f"cannot read the saved configuration: {exc}", file=display_path(saved)) from exc
        cfg = resolve_config(preset, config, given, base=base)

        from mvkl.train.loop import pretrain

        summary = pretrain(cfg, store, out, resume=resume, stop_at=stop_at,
                           show_progress=not quiet and rank == 0)
        summary["out"] = display_path(out)
        if rank == 0:
            emit(summary, json_out, lambda: _render(summary))
        if summary.get("stopped_by") == "signal":
            raise typer.Exit(130)

"""`mvkl demo`: the method's effect on built-in synthetic data, end to end (what `make demo` runs).

The demo orchestrates library functions (never the CLI); the report lists, for each stage, the
command that does the same:

1. synthesise exams with hostile files (:func:`mvkl.synth.generate`) → 2. ingest **lesion views**
(:func:`mvkl.ingest.pipeline.run_ingest`, ``--views lesion``) → 3. describe the store and its
preview → 4. paper Table 3 on the store (:func:`mvkl.analysis.glance.glance`) → 5. Hamming
distances and ManiNeg batches → 6. **the method benchmark** (paper Tables 5 and 6:
:func:`mvkl.evaluation.method.run_method_bench`, random init, supervised, image-only, image+report,
image+manifest and ViKL with none / Robinson / ManiNeg negatives over seeds; LP and LE with
bootstrap CIs, retrieval and zero-shot) → 7. an LE classifier of ViKL (ManiNeg) saved → 8. image →
report retrieval (Fig. 4) and manifestation estimation (Table 8) → 9. Grad-CAM scored against the
lesion boxes (Fig. 6).

It writes ``OUT/report.md`` (opening with the ablation table and chart) and ``OUT/summary.json``.
The figures are whatever they honestly are; the report says what they show.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mvkl.errors import InputError
from mvkl.fsutil import atomic_write_json, atomic_write_text, display_path

__all__ = ["DEMO_ROWS", "DemoOptions", "run_demo"]

#: The method-benchmark rows the demo runs by default: what its targets need (the image ceiling,
#: random init, image-only, ViKL with each kind of hard negatives) in about 10 minutes on 2 CPU cores.
#: ``--rows all`` adds image+report and image+manifest (paper Table 5), about 6 minutes more.
DEMO_ROWS = ("random", "supervised", "image-only", "vikl-none", "vikl-robinson", "vikl-manineg")


@dataclass
class DemoOptions:
    """What the demo does; ``quick`` shrinks every stage for a smoke test (about 2 minutes on 2 CPU cores)."""

    out: Path = Path("demo-run")
    exams: int | None = None
    quick: bool = False
    seed: int = 0
    force: bool = False
    verbose: bool = False
    steps: int | None = None
    seeds: int | None = None
    rows: str = ",".join(DEMO_ROWS)  # rows of the method benchmark (`all`: the eight of mvkl bench method)
    views: str = "lesion:2.0"  # a square of 2 × the lesion's size: at 48 px the lesion spans half the crop
    commands: list[str] = field(default_factory=list)

    @property
    def n_exams(self) -> int:
        return self.exams if self.exams is not None else (60 if self.quick else 1000)

    @property
    def synth_size(self) -> int:
        return 256 if self.quick else 512

    @property
    def store_size(self) -> int:
        return 48

    @property
    def pretrain_steps(self) -> int:
        return self.steps if self.steps is not None else (5 if self.quick else 120)

    @property
    def n_seeds(self) -> int:
        return self.seeds if self.seeds is not None else (2 if self.quick else 3)


class _Steps:
    """Step announcements and timings on stderr."""

    def __init__(self, quiet: bool) -> None:
        from mvkl.log import stderr_console

        self.con = stderr_console()
        self.quiet = quiet
        self.times: dict[str, float] = {}
        self.t0 = time.perf_counter()

    def say(self, text: str) -> None:
        if not self.quiet:
            self.con.print(f"  [dim]{text} ({time.perf_counter() - self.t0:.0f} s)[/dim]")

    @contextlib.contextmanager
    def step(self, name: str) -> Any:
        if not self.quiet:
            self.con.print(f"[bold cyan]▶[/bold cyan] {name}")
        t = time.perf_counter()
        yield
        self.times[name] = round(time.perf_counter() - t, 1)
        if not self.quiet:
            self.con.print(f"  [dim]{self.times[name]:.1f} s (total {time.perf_counter() - self.t0:.0f} s)[/dim]")


def _cmd(opts: DemoOptions, out: Path, *words: Any) -> None:
    """Record the shell command equivalent to a stage, with the output folder written as ``$OUT``."""
    parts = ["mvkl"]
    for w in map(str, words):
        if w == str(out) or w.startswith(str(out) + "/"):
            parts.append('"$OUT' + w[len(str(out)):].replace('"', '\\"') + '"')
        else:
            parts.append(shlex.quote(w))
    opts.commands.append(" ".join(parts))


def _prepare(opts: DemoOptions) -> Path:
    out = Path(opts.out)
    if out.exists() and any(out.iterdir()):
        if not opts.force:
            raise InputError("the demo output folder is not empty; pass --force to replace it or choose --out",
                             file=str(opts.out), code="exists")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    if opts.n_exams < 12:
        raise InputError("the demo needs at least 12 exams (hostile files and three splits)", code="usage")
    return out


def _data(opts: DemoOptions, out: Path, st: _Steps, s: dict[str, Any], quiet: bool) -> Path:
    """Stages 1-5: synth, lesion-view ingest, info, glance, Hamming distances."""
    from mvkl.analysis.glance import glance
    from mvkl.ingest.pipeline import IngestOptions, run_ingest
    from mvkl.sampling.analysis import hamming_report
    from mvkl.sampling.maninegsampler import PRESETS
    from mvkl.sampling.plot import plot_report
    from mvkl.store import Store
    from mvkl.store.inspect import describe_store, preview_sheet
    from mvkl.synth import generate
    from mvkl.synth.preview import write_preview

    data, store = out / "data", out / "lesions.h5"
    seed = opts.seed
    with st.step(f"synthesise {opts.n_exams} exams with hostile files"):
        s["synth"] = generate(data, exams=opts.n_exams, seed=seed, image_size=opts.synth_size, hostile=True)
        write_preview(data, out / "synth_preview.png")
        _cmd(opts, out, "synth", data, "--exams", opts.n_exams, "--seed", seed, "--hostile", "--image-size",
             opts.synth_size, "--preview", out / "synth_preview.png")
    with st.step("de-identify and crop lesion views into one HDF5 store"):
        s["ingest"] = run_ingest(IngestOptions(
            source=data, out=store, format="mvkl", image_size=opts.store_size, key_file=out / "pseudonym.key",
            seed=seed, views=opts.views, workers=max(1, min(4, os.cpu_count() or 1)), quiet=quiet or not opts.verbose))
        _cmd(opts, out, "ingest", data, "--format", "mvkl", "--out", store, "--views", opts.views, "--image-size",
             opts.store_size, "--key-file", out / "pseudonym.key", "--seed", seed)
    with st.step("describe the store"):
        s["info"] = describe_store(store)
        s["info"]["preview_images"] = preview_sheet(store, out / "store_preview.png", 12)
        _cmd(opts, out, "info", store, "--preview", out / "store_preview.png")
    with st.step("where the signal is: manifestation and report classifiers (paper Table 3)"):
        g = glance(store, seed=seed)
        s["glance"] = {"n_train": g["n_train"], "n_test": g["n_test"],
                       **{f"{k}_auc": g["rows"][k]["auc"] for k in ("manifestation", "report")
                          if "auc" in g["rows"].get(k, {})}}
        _cmd(opts, out, "info", store, "--glance")
    with st.step("Hamming-distance structure of the manifestations"):
        with Store(store) as stv:
            m, known = stv.manifests("train")
        opts_p = {k: v for k, v in PRESETS["paper"].items() if k in ("snap", "uniform")}
        doc = hamming_report(m, known, batch_size=16, batches=50 if opts.quick else 200, seed=seed,
                             dedup="manifestation", **opts_p)
        plot_report(doc, out / "hamming.png", title=f"{store.name} [train]")
        s["hamming"] = doc  # distance profile, settings, simulated ManiNeg batches per μ
        _cmd(opts, out, "hamming", store, "--plot", out / "hamming.png", "--seed", seed, "--batch-size", 16)
    return store


def _method(opts: DemoOptions, out: Path, store: Path, st: _Steps, s: dict[str, Any]) -> dict[str, Any]:
    """Stage 6: the method benchmark (paper Tables 5 and 6) on the lesion store."""
    from mvkl.evaluation.method import MethodBenchOptions, parse_rows, run_method_bench, write_report

    rows = parse_rows(opts.rows)
    mo = MethodBenchOptions(preset="tiny", seeds=opts.n_seeds, steps=opts.pretrain_steps, rows=rows,
                            n_boot=200 if opts.quick else 1000)
    with st.step(f"method benchmark: {len(rows)} rows × {opts.n_seeds} seeds, {opts.pretrain_steps} "
                 "pretraining steps each"):
        doc = run_method_bench(store, out / "method", mo, on_step=st.say)
        doc["files"] = write_report(doc, str(out / "method"))
        _cmd(opts, out, "bench", "method", store, "--out", out / "method", "--seeds", opts.n_seeds, "--steps",
             opts.pretrain_steps, "--rows", ",".join(r.name for r in rows))
    s["method"] = doc
    return doc


def _analysis(opts: DemoOptions, out: Path, store: Path, st: _Steps, s: dict[str, Any]) -> None:
    """Stages 7-9 on ViKL (ManiNeg), seed 0: saved LE classifier, retrieval, Table 8, Grad-CAM."""
    from mvkl.analysis.camrun import run_cam
    from mvkl.analysis.retrieval.files import run_retrieval
    from mvkl.evaluation.protocols.config import resolve_config
    from mvkl.evaluation.protocols.runner import run_eval

    run = out / "method" / "runs" / "vikl-manineg" / "seed0"
    where = out / "eval" / "manineg-le"
    with st.step("LE of ViKL (ManiNeg) with the classifier saved (calibration, ROC)"):
        cfg = resolve_config("le", "tiny", seeds=1, workers=0, save_model=True)
        res = run_eval(str(run), store, cfg, out_dir=where).doc
        agg = res.get("aggregate", {})
        s["classifier"] = {"protocol": "le", "model": "ViKL (manineg), seed 0", "out": "eval/manineg-le",
                           "auc": agg.get("test.auc", {}).get("mean"),
                           "ece": agg.get("calibration.ece_paper", {}).get("mean"),
                           "ece_all_bins": agg.get("calibration.ece_all_bins", {}).get("mean"),
                           "files": res.get("files", [])}
        _cmd(opts, out, "eval", run, store, "--protocol", "le", "--setting", "tiny", "--seeds", 1, "--save-model",
             "--out", where)
    with st.step("image-to-report retrieval, BI-RADS confusion (paper Fig. 4)"):
        s["retrieval"] = run_retrieval(run, store, task="report", out=out / "retrieval", device="cpu")
        _cmd(opts, out, "retrieve", run, store, "--task", "report", "--out", out / "retrieval")
    with st.step("manifestation estimation (paper Table 8)"):
        s["manifest_estimation"] = run_retrieval(run, store, task="manifest", t_cls=(0.12, 0.15, 0.25),
                                                 out=out / "manifest_estimation", device="cpu")
        _cmd(opts, out, "retrieve", run, store, "--task", "manifest", "--t-cls", "0.12,0.15,0.25", "--out",
             out / "manifest_estimation")
    with st.step("Grad-CAM of the classifier on test images, scored against the lesion boxes (paper Fig. 6)"):
        s["cam"] = run_cam(where / "classifier", [store], out / "cams", split="test",
                           limit=8 if opts.quick else 16, device="cpu")
        _cmd(opts, out, "cam", where / "classifier", store, "--split", "test", "--limit", 8 if opts.quick else 16,
             "--out", out / "cams")


def run_demo(opts: DemoOptions, quiet: bool = False) -> dict[str, Any]:
    """Run every stage; return the summary (also written to ``OUT/summary.json``). Without
    ``verbose`` the stages' own INFO logs are held back (the step lines say what runs)."""
    import logging

    out = _prepare(opts)
    logger = logging.getLogger("mvkl")
    level = logger.level
    if not opts.verbose:
        logger.setLevel(max(level, logging.WARNING))
    try:
        return _run(opts, out, quiet)
    finally:
        logger.setLevel(level)


def _run(opts: DemoOptions, out: Path, quiet: bool) -> dict[str, Any]:
    st = _Steps(quiet)
    s: dict[str, Any] = {"options": {"exams": opts.n_exams, "quick": opts.quick, "seed": opts.seed,
                                     "synth_image_size": opts.synth_size, "store_image_size": opts.store_size,
                                     "views": opts.views, "pretrain_steps": opts.pretrain_steps,
                                     "seeds": opts.n_seeds, "rows": opts.rows}}
    store = _data(opts, out, st, s, quiet)
    _method(opts, out, store, st, s)
    _analysis(opts, out, store, st, s)
    s["seconds"] = st.times
    s["total_seconds"] = round(time.perf_counter() - st.t0, 1)
    # the output folder as $OUT: the report is shareable and names no absolute path
    s["commands"] = [f"OUT={shlex.quote(display_path(out))}", *opts.commands]
    from mvkl.demo.markdown import render_report

    atomic_write_text(out / "report.md", render_report(s, out))
    atomic_write_json(out / "summary.json", s)
    return s

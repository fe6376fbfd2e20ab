"""`mvkl demo`: the whole method on built-in synthetic data, end to end (what `make demo` runs).

The demo runs the real commands, in this process, on the data it synthesises, exactly as a user
would type them (each step's command line is recorded in the report):

1. ``mvkl synth`` (with hostile files) → 2. ``mvkl ingest`` → 3. ``mvkl info`` → 4. ``mvkl hamming``
→ 5. ``mvkl pretrain --preset tiny`` with each hard-negative mode (ManiNeg, none, Robinson)
→ 6. ``mvkl eval`` LP and LE (with calibration) of a random-init baseline and of each ViKL
encoder, FT of the ManiNeg encoder (``--quick``: LE instead) with the classifier saved
→ 7. ``mvkl retrieve`` (reports: paper Fig. 4; manifestations: Table 8) → 8. ``mvkl cam`` (Fig. 6).

It writes ``OUT/report.md`` (tables and links to every PNG) and ``OUT/summary.json``, and returns
the summary. The numbers are whatever they honestly are on a few dozen synthetic exams; the demo
shows that every part works together, it is not a benchmark.
"""

from __future__ import annotations

import contextlib
import io
import json
import shlex
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mvkl.errors import InputError, MvklError
from mvkl.fsutil import atomic_write_json, atomic_write_text, display_path

__all__ = ["DemoOptions", "run_demo"]

MODES = ("manineg", "none", "robinson")


@dataclass
class DemoOptions:
    """What the demo does; ``quick`` shrinks every stage for a smoke test (about 1 minute on 2 CPU cores)."""

    out: Path = Path("demo-run")
    exams: int | None = None
    quick: bool = False
    seed: int = 0
    force: bool = False
    verbose: bool = False
    steps: int | None = None
    log: list[list[str]] = field(default_factory=list)

    @property
    def n_exams(self) -> int:
        return self.exams if self.exams is not None else (30 if self.quick else 120)

    @property
    def synth_size(self) -> int:
        return 256 if self.quick else 1024

    @property
    def store_size(self) -> int:
        return 64 if self.quick else 128

    @property
    def pretrain_steps(self) -> int:
        return self.steps if self.steps is not None else (30 if self.quick else 300)


def _cli(args: list[str], opts: DemoOptions) -> dict[str, Any]:
    """Run ``mvkl ARGS --json`` in this process; return its JSON document (raise on failure)."""
    from typer.main import get_command

    from mvkl.cli.main import app

    full = [*args, "--json"] + ([] if opts.verbose else ["--quiet"])
    opts.log.append(list(args))
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        try:
            code = get_command(app).main(args=full, prog_name="mvkl", standalone_mode=False)
        except SystemExit as exc:  # pragma: no cover - click may still exit on usage errors
            code = exc.code
    text = buf.getvalue()
    try:
        doc = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError:
        doc = {}
    if code not in (None, 0):
        msg = (doc.get("error") or {}).get("message", "") if isinstance(doc, dict) else ""
        raise MvklError(f"demo step failed: mvkl {' '.join(args[:1])} exited with {code}: {msg}")
    return doc


class _Steps:
    """Step announcements and timings on stderr."""

    def __init__(self, quiet: bool) -> None:
        from mvkl.log import stderr_console

        self.con = stderr_console()
        self.quiet = quiet
        self.times: dict[str, float] = {}
        self.t0 = time.perf_counter()

    @contextlib.contextmanager
    def step(self, name: str) -> Any:
        if not self.quiet:
            self.con.print(f"[bold cyan]▶[/bold cyan] {name}")
        t = time.perf_counter()
        yield
        self.times[name] = round(time.perf_counter() - t, 1)
        if not self.quiet:
            self.con.print(f"  [dim]{self.times[name]:.1f} s (total {time.perf_counter() - self.t0:.0f} s)[/dim]")


def _auc(doc: dict[str, Any], out: str) -> dict[str, Any]:
    agg = doc.get("aggregate", {})
    a = agg.get("test.auc", {})
    e = agg.get("calibration.ece_paper", {})
    e_all = agg.get("calibration.ece_all_bins", {})
    return {"auc_mean": a.get("mean"), "auc_std": a.get("std"), "auc_values": a.get("values"),
            "ece_mean": e.get("mean"), "ece_all_bins_mean": e_all.get("mean"),
            "n_test": agg.get("test.n", {}).get("mean"), "out": out, "files": doc.get("files", [])}


def modality_glance(store_path: str | Path, seed: int = 0) -> dict[str, Any]:
    """Paper Table 3 ("a glance on the data set") on the demo store: test AUC of linear models on the
    manifestations and on the reports (:func:`mvkl.analysis.glance.glance`, as ``mvkl info --glance``)."""
    from mvkl.analysis.glance import glance

    g = glance(store_path, seed=seed)
    out: dict[str, Any] = {"n_train": g["n_train"], "n_test": g["n_test"]}
    for name, key in (("manifestation", "manifestation_auc"), ("report", "report_auc")):
        if "auc" in g["rows"].get(name, {}):
            out[key] = g["rows"][name]["auc"]
    return out


def _shell(args: list[str], out: Path) -> str:
    """One logged command as a shell line, with the output folder written as ``$OUT``."""
    words = ["mvkl"]
    for a in args:
        if a == str(out) or a.startswith(str(out) + "/"):
            words.append('"$OUT' + a[len(str(out)):].replace('"', '\\"') + '"')
        else:
            words.append(shlex.quote(a))
    return " ".join(words)


def run_demo(opts: DemoOptions, quiet: bool = False) -> dict[str, Any]:
    """Run every stage; return the summary (also written to ``OUT/summary.json``)."""
    out = Path(opts.out)
    if out.exists() and any(out.iterdir()):
        if not opts.force:
            raise InputError("the demo output folder is not empty; pass --force to replace it or choose --out",
                             file=str(opts.out), code="exists")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    if opts.n_exams < 12:
        raise InputError("the demo needs at least 12 exams (hostile files and three splits)", code="usage")
    st = _Steps(quiet)
    o = lambda *p: str(out.joinpath(*p))  # noqa: E731
    s: dict[str, Any] = {"options": {"exams": opts.n_exams, "quick": opts.quick, "seed": opts.seed,
                                     "synth_image_size": opts.synth_size, "store_image_size": opts.store_size,
                                     "pretrain_steps": opts.pretrain_steps}}
    seed = str(opts.seed)
    with st.step(f"synthesise {opts.n_exams} exams with hostile files (mvkl synth)"):
        s["synth"] = _cli(["synth", o("data"), "--exams", str(opts.n_exams), "--seed", seed, "--hostile",
                           "--image-size", str(opts.synth_size), "--preview", o("synth_preview.png")], opts)
    with st.step("de-identify and downsample into one HDF5 store (mvkl ingest)"):
        s["ingest"] = _cli(["ingest", o("data"), "--format", "mvkl", "--out", o("demo.h5"), "--image-size",
                            str(opts.store_size), "--key-file", o("pseudonym.key"), "--seed", seed], opts)
    with st.step("describe the store (mvkl info)"):
        s["info"] = _cli(["info", o("demo.h5"), "--preview", o("store_preview.png")], opts)
    with st.step("where the signal is: manifestation and report classifiers (paper Table 3)"):
        s["glance"] = modality_glance(o("demo.h5"), opts.seed)
    with st.step("Hamming-distance structure of the manifestations (mvkl hamming)"):
        s["hamming"] = _cli(["hamming", o("demo.h5"), "--plot", o("hamming.png"), "--seed", seed,
                             "--batch-size", "16", "--batches", "50" if opts.quick else "200"], opts)
    s["pretrain"] = {}
    for mode in MODES:
        with st.step(f"pretrain tiny ViKL, hard negatives = {mode} (mvkl pretrain)"):
            s["pretrain"][mode] = _cli(["pretrain", o("demo.h5"), "--out", o("runs", mode), "--preset", "tiny",
                                        "--hard-negatives", mode, "--steps", str(opts.pretrain_steps),
                                        "--batch-size", "8" if opts.quick else "16",
                                        "--seed", seed, "--workers", "0"], opts)
    from mvkl.train.config import resolve_config

    arch = resolve_config("tiny").arch  # the random baseline has the pretrained encoders' architecture
    models = {"random init": f"random:{arch}:{seed}", **{f"ViKL ({m})": o("runs", m) for m in MODES}}
    protocols = ("lp", "le")
    s["eval"] = {}
    common = ["--setting", "tiny", "--image-size", "64", "--workers", "0", "--seeds", "2"]
    if opts.quick:
        common += ["--epochs", "1", "--n-boot", "200"]
    for name, spec in models.items():
        tag = name.split("(")[-1].rstrip(")").replace(" ", "-")
        for p in protocols:
            with st.step(f"{p.upper()} of {name} (mvkl eval --protocol {p})"):
                where = o("eval", f"{tag}-{p}")
                doc = _cli(["eval", spec, o("demo.h5"), "--protocol", p, "--out", where, *common], opts)
                s["eval"].setdefault(name, {})[p] = _auc(doc, where)
    clf_protocol = "le" if opts.quick else "ft"
    with st.step(f"{clf_protocol.upper()} of ViKL (manineg) with the classifier saved (mvkl eval --save-model)"):
        where = o("eval", f"manineg-{clf_protocol}-classifier")
        doc = _cli(["eval", o("runs", "manineg"), o("demo.h5"), "--protocol", clf_protocol, "--save-model",
                    "--out", where, *common], opts)
        s["classifier"] = {"protocol": clf_protocol, "model": "ViKL (manineg)", **_auc(doc, where)}
        if clf_protocol not in s["eval"]["ViKL (manineg)"]:
            s["eval"]["ViKL (manineg)"][clf_protocol] = s["classifier"]
    with st.step("image-to-report retrieval, BI-RADS confusion (mvkl retrieve --task report)"):
        s["retrieval"] = _cli(["retrieve", o("runs", "manineg"), o("demo.h5"), "--task", "report",
                               "--out", o("retrieval")], opts)
    with st.step("manifestation estimation, Table 8 (mvkl retrieve --task manifest)"):
        s["manifest_estimation"] = _cli(["retrieve", o("runs", "manineg"), o("demo.h5"), "--task", "manifest",
                                         "--t-cls", "0.12,0.15,0.25", "--out", o("manifest_estimation")], opts)
    with st.step("Grad-CAM of the classifier on test images (mvkl cam)"):
        s["cam"] = _cli(["cam", o("eval", f"manineg-{clf_protocol}-classifier"), o("demo.h5"), "--split", "test",
                         "--limit", "8" if opts.quick else "16", "--out", o("cams")], opts)
    s["seconds"] = st.times
    s["total_seconds"] = round(time.perf_counter() - st.t0, 1)
    # the output folder as $OUT: the report is shareable and names no absolute path
    s["commands"] = [f"OUT={shlex.quote(display_path(out))}"] + [_shell(args, out) for args in opts.log]
    from mvkl.demo.markdown import render_report

    atomic_write_text(out / "report.md", render_report(s, out))
    atomic_write_json(out / "summary.json", s)
    return s

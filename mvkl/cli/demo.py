"""`mvkl demo`: the whole method on built-in synthetic data, end to end (see :mod:`mvkl.demo`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mvkl.cli.common import JsonOpt, QuietOpt, command, emit, example


def register(root: typer.Typer) -> None:
    @root.command(
        "demo",
        epilog=example("mvkl demo --out demo-run", "mvkl demo --quick --out /tmp/smoke --force --json"),
    )
    @command
    def demo(
        out: Annotated[Path, typer.Option("--out", "-o", help="Output folder (must be empty unless --force).")] = Path(
            "demo-run"),
        exams: Annotated[int | None, typer.Option("--exams", "-n", min=12,
                                                  help="Synthetic exams (default 120; 30 with --quick).")] = None,
        quick: Annotated[bool, typer.Option(
            "--quick", help="Smaller everything: a smoke test (about 1 min on 2 CPU cores).")] = False,
        steps: Annotated[int | None, typer.Option("--steps", min=2, help="Pretraining steps per mode "
                                                  "(default 300; 30 with --quick).")] = None,
        seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of every random choice.")] = 0,
        force: Annotated[bool, typer.Option("--force", help="Replace a non-empty output folder.")] = False,
        verbose: Annotated[bool, typer.Option("--verbose", help="Show each step's own progress and logs.")] = False,
        json_out: JsonOpt = False,
        quiet: QuietOpt = False,
    ) -> None:
        """Synthesise studies (with hostile files), ingest, inspect, pretrain tiny ViKL with ManiNeg / none /
        Robinson hard negatives, evaluate LP and LE against a random-init baseline with calibration, FT with a
        saved classifier, retrieval, manifestation estimation and Grad-CAM; writes OUT/report.md."""
        from mvkl.demo import DemoOptions, run_demo
        from mvkl.log import stdout_console

        s = run_demo(DemoOptions(out=out, exams=exams, quick=quick, seed=seed, force=force, verbose=verbose,
                                 steps=steps), quiet=quiet)

        def render() -> None:
            from rich.table import Table

            con = stdout_console()
            t = Table(title=f"mvkl demo: test AUC (mean ± std over seeds), {s['options']['exams']} synthetic exams")
            t.add_column("encoder")
            protos = [p for p in ("lp", "le", "ft") if any(p in v for v in s["eval"].values())]
            for p in protos:
                t.add_column(p.upper(), justify="right")
            for name, d in s["eval"].items():
                t.add_row(name, *[(f"{d[p]['auc_mean']:.3f} ± {d[p]['auc_std']:.3f}"
                                   if d.get(p) and d[p]["auc_mean"] is not None else "") for p in protos])
            con.print(t)
            conf = (s.get("retrieval") or {}).get("confusion") or {}
            con.print(f"retrieval BI-RADS accuracy {conf.get('accuracy', float('nan')):.3f}; "
                      f"{s['ingest']['lumps']['ingested']} lumps ingested, "
                      f"{s['ingest']['lumps']['quarantined']} quarantined; total {s['total_seconds']:.0f} s")
            con.print(f"report: {out / 'report.md'}")

        emit(s, json_out, render)

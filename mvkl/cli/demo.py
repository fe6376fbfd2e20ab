"""`mvkl demo`: the whole method on built-in synthetic data, end to end (see :mod:`mvkl.demo`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mvkl.cli.bench_method import render as _render_method
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
                                                  help="Synthetic exams (default 1000; 60 with --quick).")] = None,
        quick: Annotated[bool, typer.Option(
            "--quick", help="Smaller everything: a smoke test (about 2 min on 2 CPU cores).")] = False,
        steps: Annotated[int | None, typer.Option("--steps", min=2, help="Pretraining steps per row and seed "
                                                  "(default 120; 5 with --quick).")] = None,
        seeds: Annotated[int | None, typer.Option("--seeds", min=1, help="Seeds of the method benchmark "
                                                  "(default 3; 2 with --quick).")] = None,
        rows: Annotated[str | None, typer.Option("--rows", help="Rows of the method benchmark, comma-separated, "
                                                 "or 'all' (default: random, supervised, image-only, vikl-none, "
                                                 "vikl-robinson, vikl-manineg).")] = None,
        seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of every random choice.")] = 0,
        force: Annotated[bool, typer.Option("--force", help="Replace a non-empty output folder.")] = False,
        verbose: Annotated[bool, typer.Option("--verbose", help="Show each step's own progress and logs.")] = False,
        json_out: JsonOpt = False,
        quiet: QuietOpt = False,
    ) -> None:
        """Synthesise studies (with hostile files), ingest lesion views, inspect, run the method benchmark
        (random init, supervised, image-only, image+report, image+manifest, ViKL with none / Robinson /
        ManiNeg hard negatives; LP and LE with bootstrap CIs, retrieval, zero-shot), save an LE
        classifier, retrieval, manifestation estimation and Grad-CAM against the lesion boxes; writes
        OUT/report.md, which opens with the ablation table and chart."""
        from mvkl.demo import DemoOptions, run_demo
        from mvkl.log import stdout_console

        s = run_demo(DemoOptions(out=out, exams=exams, quick=quick, seed=seed, force=force, verbose=verbose,
                                 steps=steps, seeds=seeds, **({"rows": rows} if rows else {})), quiet=quiet)

        def render() -> None:
            from mvkl.evaluation.method.findings import findings

            con = stdout_console()
            _render_method(s["method"])
            for f in findings(s["method"]):
                mark = {True: "[green]met[/green]", False: "[red]not met[/red]", None: "–"}[f["met"]]
                con.print(f"{mark} {f['text']}")
            con.print(f"{s['ingest']['lumps']['ingested']} lumps ingested, {s['ingest']['lumps']['quarantined']} "
                      f"quarantined; total {s['total_seconds']:.0f} s")
            con.print(f"report: {out / 'report.md'}")

        emit(s, json_out, render)

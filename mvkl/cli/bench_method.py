"""`mvkl bench method`: the paper's ablations on one store over seeds (the CLI shell of
:mod:`mvkl.evaluation.method`: parse, call, render)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from mvkl.cli.common import JsonOpt, QuietOpt, command, emit, example


def render(doc: dict[str, Any]) -> None:
    """The results as a rich table, the retrieval figures and what the figures show (stdout)."""
    from rich.table import Table

    from mvkl.log import stdout_console

    t = Table(title=f"mvkl bench method · {doc['seeds']} seeds · {doc['n_test']} test images")
    for c in ("row", "protocol", "AUC mean ± std", "95 % CI", "Δ vs random [CI]"):
        t.add_column(c)
    for r in doc["rows"]:
        d = r.get("vs_random")
        t.add_row(r["row"], r["protocol"], f"{r['auc_mean']:.3f} ± {r['auc_std']:.3f}",
                  f"{r['ci'][0]:.3f}–{r['ci'][1]:.3f}",
                  f"{d['diff']:+.3f} [{d['ci'][0]:+.3f}, {d['ci'][1]:+.3f}]" if d else "–")
    con = stdout_console()
    con.print(t)
    for row, ret in doc.get("retrieval", {}).items():
        con.print(f"{row}: image→report " + ", ".join(f"{k} {v['mean']:.3f} (chance {v['chance']:.3f})"
                                                       for k, v in ret.items()))
    from mvkl.evaluation.method.findings import findings

    for f in findings(doc):
        con.print({True: "[green]met[/green] ", False: "[red]not met[/red] ", None: "– "}[f["met"]] + f["text"])
    if doc.get("files"):
        con.print(f"files: {', '.join(doc['files'])}")


def register(app: typer.Typer) -> None:
    """Add `mvkl bench method` to the bench Typer app."""

    @app.command("method", epilog=example(
        "mvkl bench method lesions.h5 --out method-bench --seeds 3",
        "mvkl bench method lesions.h5 --out mb --rows random,vikl-none,vikl-manineg --steps 100 --seeds 2",
        "mvkl bench method --from method-bench            # recompute every figure from predictions.csv"))
    @command
    def method_cmd(
        store: Annotated[Path | None, typer.Argument(help="The store (a lesion-view store shows the effect best).")]
        = None,
        out: Annotated[Path, typer.Option("--out", help="Output directory (runs/, predictions.csv, results.json, "
                                                        "method.md, method.png).")] = Path("method-bench"),
        preset: Annotated[str, typer.Option("--preset", help="Pretraining preset: tiny (CPU) or paper (GPU).")]
        = "tiny",
        seeds: Annotated[int, typer.Option("--seeds", min=1, help="Pretraining and evaluation seeds 0..N-1.")] = 3,
        rows: Annotated[str, typer.Option("--rows", help="Comma-separated rows or 'all': random, supervised, "
                                          "image-only, image+report, image+manifest, vikl-none, vikl-robinson, "
                                          "vikl-manineg (random is always run).")] = "all",
        protocols: Annotated[str, typer.Option("--protocols", help="lp, le or both.")] = "lp,le",
        setting: Annotated[str | None, typer.Option("--setting", help="Evaluation setting (default: tiny for the "
                                                    "tiny preset, else paper).")] = None,
        steps: Annotated[int | None, typer.Option("--steps", min=1, help="Pretraining steps (default: the "
                                                  "preset's).")] = None,
        batch_size: Annotated[int | None, typer.Option("--batch-size", min=2, help="Pretraining batch size.")] = None,
        config: Annotated[Path | None, typer.Option("--config", help="TOML file over the preset (as mvkl "
                                                    "pretrain --config).")] = None,
        n_boot: Annotated[int, typer.Option("--n-boot", min=0, help="Bootstrap replicates of the CIs.")] = 1000,
        device: Annotated[str, typer.Option("--device", help="auto, cpu or cuda.")] = "auto",
        workers: Annotated[int, typer.Option("--workers", min=0, help="DataLoader workers.")] = 0,
        from_dir: Annotated[Path | None, typer.Option("--from", help="Recompute the figures of an earlier run "
                                                      "from its predictions.csv (no training).")] = None,
        json_out: JsonOpt = False,
        quiet: QuietOpt = False,
    ) -> None:
        """The paper's ablations (Tables 5, 6) on one store: random init, supervised FT, image-only,
        image + report, image + manifestation and ViKL with none / Robinson / ManiNeg negatives, over
        seeds; LP and LE test AUC with bootstrap CIs and paired differences against random init,
        image → report R@1/R@5 and zero-shot AUC for the rows with a text branch."""
        from mvkl.errors import InputError
        from mvkl.evaluation import method as M
        from mvkl.fsutil import atomic_write_json, display_path

        if from_dir is not None:
            doc = M.recompute(from_dir, n_boot=n_boot)
            where = from_dir
        else:
            if store is None:
                raise InputError("give a STORE, or --from DIR to recompute an earlier run", code="usage")
            opts = M.MethodBenchOptions(
                preset=preset, seeds=seeds, rows=M.parse_rows(rows),
                protocols=tuple(p.strip() for p in protocols.split(",") if p.strip()), setting=setting,
                steps=steps, batch_size=batch_size, config=str(config) if config else None, n_boot=n_boot,
                workers=workers, device=device)
            doc = M.run_method_bench(store, out, opts)
            where = out
        doc["files"] = [display_path(where / f) for f in M.write_report(doc, str(where)).values()]
        atomic_write_json(where / "results.json", doc)
        emit(doc, json_out, lambda: render(doc))

"""`mvkl hamming`: Hamming-distance structure of the manifestations and simulated ManiNeg batches."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from mvkl.cli.common import JsonOpt, QuietOpt, command, emit, example
from mvkl.config import MANINEG, compat_interval
from mvkl.train.config import PretrainConfig

#: The pretraining defaults (batch size) that the simulation mirrors.
_TRAIN = PretrainConfig()

__all__ = ["register"]


def _floats(text: str, option: str) -> list[float]:
    from mvkl.errors import InputError

    try:
        vals = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise InputError(f"{option} expects comma-separated numbers, got {text!r}", code="option") from None
    if not vals:
        raise InputError(f"{option} needs at least one value", code="option")
    return vals


def _bounds(text: str) -> tuple[int, int]:
    from mvkl.errors import InputError

    vals = _floats(text, "--bounds")
    if len(vals) != 2 or any(v != int(v) for v in vals) or not 1 <= vals[0] <= vals[1]:
        raise InputError(f"--bounds expects two integers 1 <= a <= b such as 1,18, got {text!r}", code="option")
    return int(vals[0]), int(vals[1])


def _render(doc: dict[str, Any]) -> None:
    from rich.table import Table

    from mvkl.log import stdout_console

    con = stdout_console()
    s, d = doc["summary"], doc["distances"]
    av = d["availability"]
    t = Table(title=f"Manifestations of split {doc['split']!r}")
    t.add_column("figure")
    t.add_column("value", justify="right")
    m = s["masks"]
    for k, v in [("lumps", s["n_lumps"]), ("distinct (manifestation, known-mask)", s["n_unique"]),
                 ("duplicate groups (size >= 2)", s["n_duplicate_groups"]),
                 ("lumps in duplicate groups", s["n_lumps_in_duplicate_groups"]),
                 ("largest duplicate group", s["largest_duplicate_group"]),
                 ("distinct known-masks", m["n_distinct_masks"]), ("lumps fully known", m["n_fully_known"]),
                 ("lumps partially known", m["n_partially_known"]), ("lumps with nothing known", m["n_no_known"])]:
        t.add_row(k, str(v))
    con.print(t)
    sizes = s["duplicate_group_sizes"]
    if sizes:
        t = Table(title="Duplicate groups by size")
        t.add_column("lumps per manifestation", justify="right")
        t.add_column("groups", justify="right")
        items = sorted((int(k), v) for k, v in sizes.items())
        shown = items if len(items) <= 12 else [*items[:10], (-1, sum(v for _, v in items[10:]))]
        for size, n in shown:
            t.add_row(str(size) if size > 0 else f">= {items[10][0]}", str(n))
        con.print(t)
    a, b = doc["settings"]["bounds"]
    t = Table(title=f"Pairwise masked Hamming distances: {d['method']}")
    t.add_column("distance", justify="right")
    t.add_column("lump pairs", justify="right")
    t.add_column("% of pairs", justify="right")
    t.add_column("anchors with a candidate", justify="right")
    t.add_column("% of anchors", justify="right")
    total = max(sum(d["pair_hist"]), 1)
    for k in range(0, min(d["max_distance"] + 2, len(d["pair_hist"]))):
        mark = " *" if a <= k <= b else ""
        t.add_row(f"{k}{mark}", str(d["pair_hist"][k]), f"{100 * d['pair_hist'][k] / total:.2f}",
                  str(av["with_candidate_at"][k]), f"{100 * av['fraction_with_candidate_at'][k]:.1f}")
    t.caption = (f"* inside the bounds [{a}, {b}]; distance 0 = another lump with the same (or, with partial "
                 "masks, an indistinguishable) manifestation")
    con.print(t)
    q = d["pair_quantiles"]
    sb = d["suggested_upper_bound"]
    con.print("quantiles of pairwise distance: " + ", ".join(f"{k} {v}" for k, v in q.items())
              + f"; mean {d['mean_distance']:.2f}; largest {d['max_distance']}")
    con.print(f"anchors with a candidate inside [{a}, {b}]: {av['with_candidate_in_bounds']} of {av['anchors']} "
              f"({100 * av['fraction_with_candidate_in_bounds']:.1f}%); isolated anchors: {av['isolated']}")
    con.print(f"suggested upper bound b = [bold]{sb['b']}[/bold] ({sb['rule']}; the 99th percentile of "
              f"pairwise distances is {sb['pairwise_p99']})")
    if doc["simulation"]:
        st = doc["settings"]
        t = Table(title=f"Simulated ManiNeg batches ({st['batches']} per μ, batch {st['batch_size']}, "
                        f"σ {st['sigma']:g}, bounds [{a}, {b}])")
        for col in ("μ", "anchor–neg p5/p50/p95", "pairs p50", "batch", "no refill", "outside", "draws"):
            t.add_column(col, justify="right", no_wrap=True)
        t.caption = ("anchor–neg: distance of negatives to their anchor; pairs: all in-batch pairs; batch: size "
                     "with refill (mean/min); no refill: size after de-dup without refill (mean/min); outside: "
                     "negatives taken beyond the target distances (exhausted pool); draws: distance draws per batch")
        for r in doc["simulation"]:
            aq, pq = r["anchor_negative_quantiles"], r["in_batch_pair_quantiles"]
            t.add_row(f"{r['mu']:g}", f"{aq.get('p05')}/{aq.get('p50')}/{aq.get('p95')}", str(pq.get("p50")),
                      f"{r['batch_size_refill']['mean']:.1f}/{r['batch_size_refill']['min']}",
                      f"{r['batch_size_no_refill']['mean']:.1f}/{r['batch_size_no_refill']['min']}",
                      str(r["negatives_outside_target"]), f"{r['draws_per_batch']:.1f}")
        con.print(t)
    for note in doc["notes"]:
        con.print(f"[yellow]note[/yellow]: {note}")
    if doc.get("plot"):
        con.print(f"plot written to {doc['plot']}")


def register(root: typer.Typer) -> None:
    """Add `mvkl hamming` to the root app."""

    @root.command(
        "hamming",
        epilog=example("mvkl hamming demo.h5 --plot hamming.png",
                       "mvkl hamming demo.h5 --mu 0,4,11 --bounds 1,18 --batch-size 64 --json"),
    )
    @command
    def hamming_cmd(
        store: Annotated[Path, typer.Argument(help="mvkl HDF5 store.")],
        split: Annotated[str, typer.Option("--split", help="Split whose lumps are analysed.")] = "train",
        mu: Annotated[str, typer.Option("--mu", help="μ values to simulate, comma-separated.")
                         ] = f"{MANINEG.mu_min:g},4,{MANINEG.mu_max:g}",
        sigma: Annotated[float, typer.Option("--sigma", min=1e-6, help="σ of Eq. 7.")] = MANINEG.sigma,
        bounds: Annotated[str, typer.Option("--bounds", help="Distance bounds a,b of Eq. 7.")
                           ] = "{},{}".format(*MANINEG.bounds),
        batch_size: Annotated[int, typer.Option("--batch-size", min=2, help="Lumps per batch.")] = _TRAIN.batch_size,
        batches: Annotated[int, typer.Option("--batches", min=1, help="Simulated batches per μ.")] = 200,
        seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of the simulation.")] = 0,
        preset: Annotated[str, typer.Option("--preset", help="Sampler rules: paper or compat (released code).")
                          ] = "paper",
        dedup: Annotated[str, typer.Option(
            "--dedup", help="De-dup: manifestation (same vector and mask) or masked (also masked distance 0).")
        ] = MANINEG.dedup,
        exact_limit: Annotated[int, typer.Option(
            "--exact-limit", min=2, help="Exact pairwise statistics up to this many distinct manifestations.")
        ] = 20_000,
        plot: Annotated[Path | None, typer.Option("--plot", help="Write the figure to this PNG file.")] = None,
        json_out: JsonOpt = False,
        quiet: QuietOpt = False,
    ) -> None:
        """Hamming-distance structure of the manifestations and simulated ManiNeg batches.

        Shows duplicates, the distribution of pairwise (masked) Hamming distances with the share
        of anchors that have candidates at each distance, a suggested upper bound b, and for each
        μ the distances inside simulated ManiNeg batches and their effective size.
        """
        from mvkl.errors import InputError
        from mvkl.fsutil import display_path
        from mvkl.sampling.analysis import hamming_report
        from mvkl.sampling.maninegsampler import PRESETS
        from mvkl.store import Store

        mus = _floats(mu, "--mu")
        ab = _bounds(bounds)
        if preset not in ("paper", "compat"):
            raise InputError(f"--preset must be 'paper' or 'compat', got {preset!r}", code="option")
        if dedup not in ("manifestation", "masked"):
            raise InputError(f"--dedup must be 'manifestation' or 'masked', got {dedup!r}", code="option")
        opts: dict[str, Any] = {k: v for k, v in PRESETS[preset].items() if k in ("snap", "uniform")}
        opts["dedup"] = dedup
        if preset == "compat":
            opts["interval"] = compat_interval(ab)
        with Store(store) as st:
            try:
                m, known = st.manifests(split)
            except ValueError as exc:
                raise InputError(str(exc), file=display_path(store), code="split") from None
        if m.shape[0] == 0:
            raise InputError(f"split {split!r} has no lumps", file=display_path(store), code="split")
        doc = hamming_report(m, known, mus=mus, sigma=sigma, bounds=ab, batch_size=batch_size, batches=batches,
                             seed=seed, exact_limit=exact_limit, **opts)
        doc = {"store": display_path(store), "split": split, "preset": preset, **doc}
        if plot is not None:
            from mvkl.sampling.plot import plot_report

            plot_report(doc, plot, title=f"{display_path(store)} [{split}]")
            doc["plot"] = display_path(plot)
        emit(doc, json_out, lambda: _render(doc))

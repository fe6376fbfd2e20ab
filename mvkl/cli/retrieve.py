"""`mvkl retrieve`: image → report retrieval (BI-RADS confusion, recall@k) and manifestation
estimation in the shared space (paper Sec. 5.7, Fig. 4, Table 8)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from mvkl.cli.common import JsonOpt, QuietOpt, command, emit, example

__all__ = ["register"]


def _pct(v: Any) -> str:
    return "-" if v is None or v != v else f"{100 * v:.2f}"


def _render_report(doc: dict[str, Any]) -> None:
    from rich.table import Table

    from mvkl.analysis.retrieval.run import shown_categories
    from mvkl.log import stdout_console

    con = stdout_console()
    c, n = doc["confusion"], doc["counts"]
    show = shown_categories(c)
    t = Table(title="BI-RADS of the nearest training report (rows: test image's own report; columns: retrieved)")
    t.add_column("true \\ retrieved")
    for i in show:
        t.add_column(c["categories"][i], justify="right")
    t.add_column("recall", justify="right")
    for i in show:
        row = c["per_category"][i]
        t.add_row(c["categories"][i], *(str(c["matrix"][i][j]) for j in show), _pct(row["recall"]))
    t.caption = (f"accuracy {_pct(c['accuracy'])} %, macro recall {_pct(c['macro_recall'])} % over {c['n']} "
                 f"queries; {c['n_excluded']} excluded (unknown category: true {c['n_unknown_true']}, retrieved "
                 f"{c['n_unknown_pred']}); 4A/4B/4C counted as 4")
    con.print(t)
    if doc["recall"]:
        r = doc["recall"]
        t = Table(title=f"Exact-pair retrieval on the {doc['splits']['queries']} split ({r['n']} image–report pairs,"
                        " identical reports count as positives)")
        t.add_column("direction")
        ks = [k for k in r["image_to_text"] if k.startswith("R@")]
        for k in ks:
            t.add_column(k, justify="right")
        t.add_column("median rank", justify="right")
        for name, label in (("image_to_text", "image → report"), ("text_to_image", "report → image")):
            t.add_row(label, *(_pct(r[name][k]) for k in ks), f"{r[name]['median_rank']:g}")
        con.print(t)
    src = doc["birads_source"]
    con.print(f"{n['queries']} test images of {n['query_lumps']} lumps; {n['keys']} distinct training reports "
              f"({n['key_lumps']} lumps). BI-RADS from the store field / parsed from the report / unknown: test "
              f"{src['test_lumps']['field']}/{src['test_lumps']['report']}/{src['test_lumps']['none']}, train "
              f"{src['train_lumps']['field']}/{src['train_lumps']['report']}/{src['train_lumps']['none']}")
    for k, v in (doc.get("files") or {}).items():
        con.print(f"{k}: {v}")


def _render_manifest(doc: dict[str, Any]) -> None:
    from rich.table import Table

    from mvkl.log import stdout_console

    con = stdout_console()
    t = Table(title="Manifestation estimation: metrics averaged over the dimensions (%) (paper Table 8)")
    for col in ("T_distance", "T_cls", "accuracy", "sensitivity", "specificity"):
        t.add_column(col, justify="right")
    for r in doc["rows"]:
        t.add_row(f"{doc['t_distance']:g}", f"{r['t_cls']:g}", _pct(r["accuracy"]), _pct(r["sensitivity"]),
                  _pct(r["specificity"]))
    m0 = doc["metrics"][0]
    t.caption = (f"{doc['n_queries']} test images; sensitivity over {m0['n_dims_sensitivity']} dimensions with a "
                 f"positive, specificity over {m0['n_dims_specificity']} with a negative")
    con.print(t)
    t = Table(title=f"Per dimension at T_cls = {m0['t_cls']:g} (%)")
    for col in ("dim", "manifestation", "known", "pos", "acc", "sens", "spec"):
        t.add_column(col, justify="left" if col == "manifestation" else "right",
                     overflow="fold" if col == "manifestation" else "ellipsis", no_wrap=col != "manifestation")
    t.caption = "known: test images whose lump knows the dimension; pos: positives among them"
    for p in m0["per_dimension"]:
        t.add_row(str(p["index"]), p["key"], str(p["support"]), str(p["n_pos"]), _pct(p["accuracy"]),
                  _pct(p["sensitivity"]), _pct(p["specificity"]))
    con.print(t)
    nb = doc["neighbours"]
    con.print(f"neighbours within distance {doc['t_distance']:g}: min {nb['min']}, median {nb['median']:g}, max "
              f"{nb['max']}; {doc['n_empty']} test image(s) had none (policy '{doc['empty']}')")
    for k, v in (doc.get("files") or {}).items():
        con.print(f"{k}: {v}")


def _floats(values: list[str]) -> list[float]:
    from mvkl.errors import InputError

    out = []
    for v in values:
        for part in v.split(","):
            if part.strip():
                try:
                    out.append(float(part))
                except ValueError:
                    raise InputError(f"--t-cls expects numbers such as 0.12,0.15,0.25 (got {v!r})",
                                     code="option") from None
    return out


def register(root: typer.Typer) -> None:
    """Add `mvkl retrieve` to the root app."""

    @root.command("retrieve", epilog=example(
        "mvkl retrieve runs/vikl demo.h5 --task report -o results/retrieval",
        "mvkl retrieve runs/vikl demo.h5 --task manifest --t-distance 0.4 --t-cls 0.12,0.15,0.25 --json"))
    @command
    def retrieve(
        model: Annotated[Path, typer.Argument(help="A pretrained ViKL model (run directory, vikl/ or vikl.pt).")],
        store: Annotated[Path, typer.Argument(help="An mvkl HDF5 store.")],
        task: Annotated[str, typer.Option("--task", help="report (Fig. 4, recall@k) | manifest (Table 8).")] = "report",
        split: Annotated[str, typer.Option("--split", help="Split of the query images.")] = "test",
        key_split: Annotated[str, typer.Option("--key-split", help="Split of the retrieved reports/manifestations."
                                               )] = "train",
        t_distance: Annotated[float, typer.Option("--t-distance", help="manifest: neighbourhood radius on the "
                                                  "cosine distance 1 − cos (paper 0.4).")] = 0.4,
        t_cls: Annotated[list[str] | None, typer.Option("--t-cls", help="manifest: vote threshold(s), comma-"
                                                        "separated or repeated (paper 0.12, 0.15, 0.25).")] = None,
        empty: Annotated[str, typer.Option("--empty", help="manifest: no neighbour within the radius → nearest "
                                           "(the single nearest training manifestation votes) | prior (training "
                                           "prevalence) | zeros (all negative).")] = "nearest",
        out: Annotated[Path | None, typer.Option("--out", "-o", help="Folder for the JSON, CSV tables and the "
                                                 "confusion PNG.")] = None,
        batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Images/reports per forward pass.")] = 64,
        device: Annotated[str, typer.Option("--device", help="auto | cpu | cuda | cuda:N.")] = "auto",
        json_out: JsonOpt = False,
        quiet: QuietOpt = False,
    ) -> None:
        """Cross-modal retrieval in the shared space of a pretrained ViKL model.

        --task report: for each test image the nearest training report (cosine); the BI-RADS of the
        retrieved report against the image's own (store field, else parsed from the report; 4A/4B/4C
        → 4) as a confusion matrix (table, CSV, PNG), and exact-pair recall@1/5/10 image ↔ report on
        the test split (identical reports are all positives).

        --task manifest: the training manifestations within cosine distance T_distance of each test
        image are averaged; a dimension is positive above T_cls. Accuracy, sensitivity, specificity
        averaged over the 35 dimensions (one row per T_cls) and per dimension. Test images with no
        neighbour inside the radius are handled by --empty and counted.
        """
        from mvkl.analysis.retrieval.files import run_retrieval
        from mvkl.errors import InputError

        ts = _floats(t_cls) if t_cls else [0.15]
        if task == "report" and (t_cls or t_distance != 0.4):
            raise InputError("--t-cls and --t-distance apply to --task manifest", code="option")
        doc = run_retrieval(model, store, task=task, split=split, key_split=key_split, t_distance=t_distance,
                            t_cls=ts, empty=empty, batch_size=batch_size, device=device, out=out)
        emit(doc, json_out, lambda: (_render_report if task == "report" else _render_manifest)(doc))

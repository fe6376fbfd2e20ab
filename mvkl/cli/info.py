"""`mvkl info`: describe an HDF5 store: counts per split/label/view, coverage, de-identification."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from mvkl.cli.common import JsonOpt, QuietOpt, command, emit, example


def _render(doc: dict[str, Any]) -> None:
    from rich.table import Table

    from mvkl.log import stdout_console

    con = stdout_console()
    con.print(f"[bold]{doc['store']}[/bold]: mvkl store format {doc['mvkl_format']} (written by mvkl "
              f"{doc['mvkl_version']}), {doc['lumps']} lumps, {doc['images']} images, {doc['patients']} patients, "
              f"{doc['exams']} exams; images {doc['image_size']}² {doc['pixel_dtype']}")
    t = Table(title="splits")
    for c in ("split", "patients", "lumps", "malignant", "benign", "unknown", "images"):
        t.add_column(c, justify="left" if c == "split" else "right")
    for name, s in doc["splits"].items():
        t.add_row(name, str(s["patients"]), str(s["lumps"]), *(str(s["labels"][k]) for k in
                                                               ("malignant", "benign", "unknown")), str(s["images"]))
    con.print(t)
    les, kind = doc.get("lesions") or {}, str(doc.get("image_kind", "whole"))
    kind_text = (f"lesion-centred crops (side {kind.partition(':')[2]} x the lesion's size)"
                 if kind.startswith("lesion") else "whole views")
    con.print(f"images: {kind_text}; lesion boxes "
              + (f"{les['boxes']} on {les['images_with_box']} images ("
                 + ", ".join(f"{k} {n}" for k, n in les["kinds"].items()) + ")" if les.get("boxes") else "none"))
    v = doc["views"]
    con.print("views: lumps " + ", ".join(f"{k} {n}" for k, n in v["lumps"].items())
              + "; images " + ", ".join(f"{k} {n}" for k, n in v["images"].items() if n))
    lat = doc["laterality"]
    con.print("laterality: lumps " + ", ".join(f"{k} {n}" for k, n in lat["lumps"].items())
              + "; images " + ", ".join(f"{k} {n}" for k, n in lat["images"].items()))
    con.print("BI-RADS: " + (", ".join(f"{k} {n}" for k, n in doc["birads"].items()) or "none"))
    if doc["density"]:
        con.print("density: " + ", ".join(f"{k} {n}" for k, n in doc["density"].items()))
    con.print("age: " + ", ".join(f"{k} {n}" for k, n in doc["age_buckets"].items()))
    r = doc["reports"]
    con.print(f"reports: {r['present']} of {doc['lumps']} lumps (mean {r['mean_chars']} characters)")
    m = Table(title="manifestations: known fraction per group; prevalence among known (%)")
    m.add_column("group")
    m.add_column("known", justify="right")
    m.add_column("prevalence of each option")
    from mvkl.manifest import schema as M

    prev = doc["manifestations"]["prevalence_among_known"]
    for g in M.GROUPS:
        opts = ", ".join(f"{o.en} {'-' if prev[o.key] is None else f'{100 * prev[o.key]:.0f}'}" for o in g.options)
        m.add_row(g.en, f"{doc['manifestations']['known_fraction_by_group'][g.key]:.2f}", opts)
    con.print(m)
    d = doc["deid"] or {}
    opts = ", ".join(f"{o.get('code')} {o.get('meaning')}" for o in d.get("options", []) if isinstance(o, dict))
    con.print(f"de-identification: {d.get('profile', 'unknown')}" + (f" ({opts})" if opts else "")
              + f"; pixels cleaned: {d.get('pixel_data_cleaned', 'unknown')}; burned-in allowed: "
              f"{(d.get('ingest') or {}).get('allow_burned_in', 'unknown')}")
    con.print(f"key fingerprint: {doc['key_fingerprint'] or 'none'}")
    for s in doc["sources"]:
        mm = s.get("manifest_mapping", {}) if isinstance(s, dict) else {}
        con.print(f"source {s.get('name')}: format {s.get('format')}, data set {s.get('dataset')}, "
                  f"{s.get('tables', '?')} table(s), {s.get('lumps', '?')} lumps, manifestation layout "
                  f"{mm.get('layout', '?')}" + (f" (unknown: {len(mm['unknown_filled'])} columns)"
                                                 if mm.get("unknown_filled") else ""))
        if mm.get("unknown_values"):  # cells that only mean unknown (removed, -, NA, blank): not errors
            con.print("  values read as unknown: " + ", ".join(f"{k} {n}" for k, n in mm["unknown_values"].items()))
    sp = doc["split_policy"] or {}
    if sp:
        ratios = sp.get("ratios")
        if isinstance(ratios, list) and ratios:
            ratios = ":".join(f"{r:g}" for r in ratios)
        assigned = f"; ratios {ratios}, seed {sp.get('seed')}" if "ratios" in sp else ""
        con.print(f"split policy: {sp.get('method', 'unknown')} (unit {sp.get('unit')}){assigned}; "
                  f"{len(sp.get('history', []))} ingest(s)")
    for msg in doc["violations"]:
        from mvkl.log import stderr_console

        stderr_console().print(f"[yellow]warning[/yellow]: contract violation: {msg}")


def _render_glance(g: dict[str, Any]) -> None:
    from rich.table import Table

    from mvkl.log import stdout_console

    pct = lambda v: "n/a" if v is None or v != v else f"{100 * v:.2f}"  # noqa: E731
    t = Table(title=f"Where the signal is (paper Table 3): test split in %, n = test lumps; linear models trained on "
                    f"{g['n_train']} train lumps")
    for c in ("modality", "AUC", "95% CI", "acc", "sens", "spec", "F1", "n"):
        t.add_column(c, justify="left" if c == "modality" else "right", no_wrap=True)
    for name, r in g["rows"].items():
        if "skipped" in r:
            t.add_row(name, f"skipped: {r['skipped']}", *[""] * 6)
            continue
        lo, hi = r["auc_ci"]
        t.add_row(name, pct(r["auc"]), f"{pct(lo)}–{pct(hi)}", pct(r["accuracy"]), pct(r["sensitivity"]),
                  pct(r["specificity"]), pct(r["f1"]), str(r["n_test"]))
    con = stdout_console()
    con.print(t)
    con.print("report: character 1-3-gram counts; manifestation: 35-dim vector + known mask; acc/sens/spec/F1 "
              "at p >= 0.5. Image row: mvkl eval random:resnet50 STORE --protocol ft")


def _render_broken(doc: dict[str, Any]) -> None:
    from mvkl.log import stderr_console

    for msg in doc["violations"]:
        stderr_console().print(f"[yellow]warning[/yellow]: contract violation: {msg}")


def register(root: typer.Typer) -> None:
    """Add `mvkl info` to the root app."""

    @root.command("info", epilog=example("mvkl info demo.h5", "mvkl info demo.h5 --json --preview sheet.png",
                                         "mvkl info demo.h5 --glance   # paper Table 3: report and manifestation rows"))
    @command
    def info(
        store: Annotated[Path, typer.Argument(help="An mvkl HDF5 store.")],
        preview: Annotated[Path | None, typer.Option("--preview", help="Write a PNG sheet of stored images with "
                                                     "split/label/laterality/view captions.")] = None,
        n_preview: Annotated[int, typer.Option("--preview-lumps", min=1, max=60,
                                               help="Lumps on the preview sheet.")] = 12,
        glance: Annotated[bool, typer.Option(
            "--glance", help="Also classify benign/malignant from the reports and from the manifestations "
                             "(linear models, train -> test split; paper Table 3).")] = False,
        option_sheets: Annotated[Path | None, typer.Option(
            "--option-sheets", help="Write one PNG per manifestation group into this folder: a row per option "
                                    "with the images of lumps that have it (does each option show?).")] = None,
        seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of the --glance fits and CIs and of the "
                                          "lumps drawn on the sheets.")] = 0,
        json_out: JsonOpt = False,
        quiet: QuietOpt = False,
    ) -> None:
        """Describe an HDF5 store: counts per split/label/view, coverage, de-identification profile.

        Contract violations (mvkl.store.check_store) are shown as warnings and exit with code 1.
        """
        from mvkl.fsutil import display_path
        from mvkl.store.inspect import describe_store, preview_sheet

        doc = describe_store(store)
        if preview is not None:
            doc["preview"] = {"path": display_path(preview), "images": preview_sheet(store, preview, n_preview)}
        if option_sheets is not None and "lumps" in doc:
            from mvkl.store.sheets import option_sheets as write_sheets

            doc["option_sheets"] = write_sheets(store, option_sheets, seed=seed)
        if glance and "lumps" in doc:
            from mvkl.analysis.glance import glance as run_glance

            doc["glance"] = run_glance(store, seed=seed)

        def render() -> None:
            if "lumps" not in doc:
                return _render_broken(doc)
            _render(doc)
            if "glance" in doc:
                _render_glance(doc["glance"])

        emit(doc, json_out, render)
        if doc["violations"]:
            raise typer.Exit(1)

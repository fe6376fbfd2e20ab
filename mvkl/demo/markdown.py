"""The demo's ``report.md``: tables of every stage and links to the figures (see :mod:`mvkl.demo`)."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

__all__ = ["render_report"]


def _f(x: Any, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    return f"{x:.{digits}f}" if isinstance(x, float) else str(x)


def _pm(m: Any, s: Any) -> str:
    if m is None:
        return "n/a"
    return f"{m:.3f} ± {s:.3f}" if isinstance(s, float) and math.isfinite(s) else f"{m:.3f}"


def _link(path: Any, base: Path, label: str | None = None) -> str:
    if not path:
        return ""
    p = Path(str(path))
    return f"[{label or p.name}]({os.path.relpath(p, base)})"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def render_report(s: dict[str, Any], out: Path) -> str:
    """Markdown for a demo summary ``s`` written into ``out``."""
    o = s["options"]
    ing = s.get("ingest", {})
    syn = s.get("synth", {})
    parts = [
        "# mvkl demo report",
        "",
        f"Synthetic MVKL-like data: {o['exams']} exams (seed {o['seed']}), DICOM at {o['synth_image_size']} px, "
        f"store at {o['store_image_size']} px; tiny ViKL pretraining for {o['pretrain_steps']} steps per mode on "
        f"CPU{' (--quick)' if o['quick'] else ''}. Total {s.get('total_seconds', 0):.0f} s. These numbers come from "
        "a few dozen synthetic exams and a tiny model: they show that every stage works together, they are not "
        "results (see README, 'Reproducing the paper').",
        "",
        "## 1. Data: synth → ingest",
        "",
        _table(["", "count"], [
            ["exams / lumps / DICOM files written", f"{syn.get('exams')} / {syn.get('lumps')} / {syn.get('files')}"],
            ["hostile files planted", str(sum((syn.get("hostile") or {}).values()))],
            ["lumps ingested / quarantined", f"{ing.get('lumps', {}).get('ingested')} / "
                                              f"{ing.get('lumps', {}).get('quarantined')}"],
            ["images ingested / quarantined", f"{ing.get('images', {}).get('ingested')} / "
                                               f"{ing.get('images', {}).get('quarantined')}"],
            ["report spans scrubbed", str(ing.get("reports", {}).get("scrubbed_spans"))],
        ]),
        "",
        "Quarantined by reason: " + ", ".join(f"`{k}` {v}" for k, v in
                                              sorted((ing.get("quarantined_by_reason") or {}).items())),
        "",
        "Splits (lumps): " + ", ".join(f"{k} {v.get('lumps')} ({v.get('malignant')} malignant)"
                                       for k, v in (ing.get("splits") or {}).items()),
        "",
        f"Figures: {_link(out / 'synth_preview.png', out, 'synthetic views and lumps')}, "
        f"{_link(out / 'store_preview.png', out, 'stored images')}, "
        f"{_link(out / 'hamming.png', out, 'Hamming distances and ManiNeg batches')}.",
        "",
        "Where the signal is (paper Table 3, a glance on the data set; `mvkl info --glance`): logistic "
        "regression on the lumps' "
        f"manifestation vectors, test AUC {_f(s.get('glance', {}).get('manifestation_auc'))}; on character "
        f"n-grams of the reports, test AUC {_f(s.get('glance', {}).get('report_auc'))} "
        f"({s.get('glance', {}).get('n_train')} train / {s.get('glance', {}).get('n_test')} test lumps).",
        "",
        "## 2. Pretraining (tiny preset)",
        "",
    ]
    rows = []
    for mode, d in (s.get("pretrain") or {}).items():
        ft, fv = d.get("final_train") or {}, d.get("final_val") or {}
        rows.append([mode, str(d.get("steps")), _f(ft.get("loss")), _f(ft.get("ii")), _f(ft.get("it")),
                     _f(ft.get("im")), _f(ft.get("tm")), _f(fv.get("loss")), _f(d.get("samples_per_s"), 1)])
    parts += [_table(["hard negatives", "steps", "train loss", "I–I", "I–T", "I–M", "T–M", "val loss",
                      "samples/s"], rows), "",
              "Loss terms are the last logged values (paper Eq. 8: L = L_IMC + (L_IT + L_IM + L_TM)/3).", "",
              "## 3. Downstream evaluation (test AUC, mean ± std over 2 seeds)", ""]
    evals = s.get("eval") or {}
    protos = [p for p in ("lp", "le", "ft") if any(p in v for v in evals.values())]
    rows = []
    for name, d in evals.items():
        row = [name]
        for p in protos:
            r = d.get(p)
            row.append(_pm(r["auc_mean"], r["auc_std"]) if r else "")
        le = d.get("le") or {}
        row.append(f"{_f(le.get('ece_mean'))} / {_f(le.get('ece_all_bins_mean'))}")
        figs = [_link(Path(str(d[p]["out"])) / f, out, f"{p} {f.split('.')[0]}") for p in protos if d.get(p)
                for f in ("roc.png", "reliability.png") if f in (d[p].get("files") or [])]
        row.append(", ".join(figs))
        rows.append(row)
    n_test = next((r.get("n_test") for d in evals.values() for r in d.values() if r.get("n_test")), None)
    rows.append(["(chance)", *["0.500" for _ in protos], "", ""])
    parts += [_table(["encoder", *[p.upper() for p in protos], "LE ECE (paper / all bins)", "figures"], rows), "",
              f"Test images: {_f(n_test, 0) if isinstance(n_test, float) else n_test}. LP: logistic regression on "
              "frozen features; LE: frozen encoder + linear head; FT: fine-tuning (`--setting tiny`). ECE: 10 "
              "equal-width bins; the paper's value excludes bins with fewer than 10 samples (paper Sec. 5.10), so "
              "on a small test split it can be 0 because every bin is excluded; the all-bins ECE is shown "
              "beside it. What to expect: the tiny preset trains a ResNet-18 from scratch for a few hundred CPU "
              "steps on 64-px images of a few dozen lumps, where a mass is a handful of pixels; its image "
              "features do not separate benign from malignant, and AUCs near 0.5 (with large seed-to-seed "
              "spread on a small test split) are the honest outcome. The signal is in the data (the "
              "manifestation and report classifiers above); reproducing the paper needs the `paper` preset "
              "(ResNet-50 at 256 px, BERT, 9,000 steps) on a GPU and real data.", ""]
    clf = s.get("classifier") or {}
    if clf:
        parts += [f"Saved classifier (for Grad-CAM and `mvkl predict`): {clf.get('protocol', '').upper()} of "
                  f"{clf.get('model')}, test AUC {_pm(clf.get('auc_mean'), clf.get('auc_std'))}, "
                  f"results in {_link(clf.get('out'), out, 'its results folder')}.", ""]
    ret = s.get("retrieval") or {}
    conf = ret.get("confusion") or {}
    rec = ret.get("recall") or {}
    i2t, t2i = rec.get("image_to_text") or {}, rec.get("text_to_image") or {}
    parts += ["## 4. Image–report retrieval (paper Sec. 5.7, Fig. 4)", "",
              _table(["BI-RADS accuracy (1-NN report)", "R@1 / R@5 / R@10 image→text",
                      "R@1 / R@5 / R@10 text→image", "queries"],
                     [[_f(conf.get("accuracy")), " / ".join(_f(i2t.get(k), 2) for k in ("R@1", "R@5", "R@10")),
                       " / ".join(_f(t2i.get(k), 2) for k in ("R@1", "R@5", "R@10")), str(rec.get("n"))]]),
              "", "Confusion matrix: " + _link(out / "retrieval" / "report_confusion.png", out), ""]
    me = s.get("manifest_estimation") or {}
    parts += ["## 5. Manifestation estimation (paper Sec. 5.9, Table 8)", "",
              _table(["T_cls", "accuracy", "sensitivity", "specificity"],
                     [[_f(r.get("t_cls"), 2), _f(r.get("accuracy")), _f(r.get("sensitivity")),
                       _f(r.get("specificity"))] for r in me.get("rows", [])]),
              "", f"T_distance {me.get('t_distance')}; test images without a neighbour within it: "
                  f"{me.get('n_empty')} (nearest training sample used).", ""]
    parts += ["## 6. Grad-CAM (paper Sec. 5.8, Fig. 6)", "",
              "Grad-CAM of the saved classifier at `layer3` on test images: "
              + _link(out / "cams" / "cam_sheet.png", out), "",
              "## Timings", "", _table(["step", "seconds"], [[k, _f(v, 1)] for k, v in
                                                            (s.get("seconds") or {}).items()]), "",
              "## Commands", "", "Each step ran this command (add `--json` for the machine-readable output):", "",
              "```", *s.get("commands", []), "```", ""]
    return "\n".join(parts)

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


def _link(path: Any, base: Path, label: str | None = None) -> str:
    if not path:
        return ""
    p = Path(str(path))
    return f"[{label or p.name}]({os.path.relpath(p, base)})"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _method_section(s: dict[str, Any], out: Path) -> list[str]:
    from mvkl.evaluation.method.findings import findings
    from mvkl.evaluation.method.report import comparisons_table, markdown_table

    doc = s.get("method") or {}
    if not doc.get("rows"):
        return []
    o = s["options"]
    shown = [f"- {'✅' if f['met'] else '❌' if f['met'] is False else '–'} {f['text']}" for f in findings(doc)]
    return [
        "## 1. The method's effect (paper Tables 5 and 6)",
        "",
        f"`mvkl bench method` on the lesion-view store: every row pretrained (tiny preset, {o['pretrain_steps']} "
        f"steps) and evaluated with seeds 0..{o['seeds'] - 1}; test AUC as the seed mean ± std with the 95 % "
        "stratified bootstrap CI of the seed mean; Δ is the paired bootstrap difference against random init "
        "(every row resampled the same way). The supervised row is fine-tuning from random init: the image "
        "ceiling of this store. R@k: image → report retrieval among the test reports, with its exact chance; "
        "zero-shot: the image embedding against benign and malignant report prompts.",
        "",
        markdown_table(doc),
        comparisons_table(doc),
        f"{doc.get('n_test')} test images ({doc.get('n_test_malignant')} malignant); "
        f"{_link(out / 'method' / 'method.md', out, 'the benchmark report')}, "
        f"{_link(out / 'method' / 'predictions.csv', out, 'every test prediction')} "
        "(`mvkl bench method --from` recomputes every figure from it).",
        "",
        f"![ablation chart]({os.path.relpath(out / 'method' / 'method.png', out)})",
        "",
        "**What the figures show** (each target of the method benchmark, measured):",
        "",
        *shown,
        "",
    ]


def render_report(s: dict[str, Any], out: Path) -> str:
    """Markdown for a demo summary ``s`` written into ``out``: the ablation table and chart first,
    then the data, the saved classifier, retrieval, manifestation estimation and Grad-CAM."""
    o = s["options"]
    ing = s.get("ingest", {})
    syn = s.get("synth", {})
    gl = s.get("glance", {})
    parts = [
        "# mvkl demo report",
        "",
        f"Synthetic MVKL-like data: {o['exams']} exams (seed {o['seed']}), DICOM at {o['synth_image_size']} px, "
        f"ingested as lesion-centred views at {o['store_image_size']} px; tiny ViKL pretraining for "
        f"{o['pretrain_steps']} steps per row and seed on CPU{' (--quick)' if o['quick'] else ''}. Total "
        f"{s.get('total_seconds', 0):.0f} s. Synthetic data and a tiny model: the figures show whether each part "
        "of the method does what it should on data whose signal is known; they are not the paper's results "
        "(README, 'Reproducing the paper').",
        "",
        *_method_section(s, out),
        "## 2. Data: synth → ingest (lesion views)",
        "",
        _table(["", "count"], [
            ["exams / lumps / DICOM files written", f"{syn.get('exams')} / {syn.get('lumps')} / {syn.get('files')}"],
            ["hostile files planted", str(sum((syn.get("hostile") or {}).values()))],
            ["lumps ingested / quarantined", f"{ing.get('lumps', {}).get('ingested')} / "
                                              f"{ing.get('lumps', {}).get('quarantined')}"],
            ["lesion views ingested / quarantined", f"{ing.get('images', {}).get('ingested')} / "
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
        f"{_link(out / 'store_preview.png', out, 'stored lesion views')}, "
        f"{_link(out / 'hamming.png', out, 'Hamming distances and ManiNeg batches')}.",
        "",
        "Where the signal is (paper Table 3, a glance on the data set; `mvkl info --glance`): logistic "
        f"regression on the lumps' manifestation vectors, test AUC {_f(gl.get('manifestation_auc'))}; on "
        f"character n-grams of the reports, test AUC {_f(gl.get('report_auc'))} ({gl.get('n_train')} train / "
        f"{gl.get('n_test')} test lumps). The image carries the manifestations it shows plus part of the hidden "
        "term (docs/synth.md).",
        "",
    ]
    clf = s.get("classifier") or {}
    figs = [_link(out / str(clf.get("out")) / f, out, f.split(".")[0]) for f in ("roc.png", "reliability.png")
            if (out / str(clf.get("out")) / f).is_file()]
    parts += ["## 3. Saved classifier and calibration", "",
              f"LE of {clf.get('model')} with the classifier saved (for Grad-CAM and `mvkl predict`): test AUC "
              f"{_f(clf.get('auc'))}, ECE {_f(clf.get('ece'))} (paper Sec. 5.10: bins with fewer than 10 samples "
              f"excluded) / {_f(clf.get('ece_all_bins'))} (all bins). Figures: {', '.join(figs) or 'n/a'}.", ""]
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
    boxes = (s.get("cam") or {}).get("boxes") or {}
    score = ""
    if boxes.get("images_with_box"):
        e, hr = boxes.get("energy_in_box_mean"), boxes.get("pointing_hit_rate")
        score = (f" Against the lesion boxes of {boxes['images_with_box']} image(s): mean CAM energy inside the box "
                 f"{_f(e)}, pointing game {boxes.get('pointing_hits')}/{boxes['images_with_box']} "
                 f"({_f(hr)}).")
    parts += ["## 6. Grad-CAM (paper Sec. 5.8, Fig. 6)", "",
              "Grad-CAM of the saved classifier at `layer3` on test images: "
              + _link(out / "cams" / "cam_sheet.png", out) + "." + score, "",
              "## Timings", "", _table(["step", "seconds"], [[k, _f(v, 1)] for k, v in
                                                            (s.get("seconds") or {}).items()]), "",
              "## Commands", "",
              "Each stage called the library function behind this command (add `--json` for the "
              "machine-readable output):", "",
              "```", *s.get("commands", []), "```", ""]
    return "\n".join(parts)

"""What a method-benchmark result shows, in words, checked against the targets of the benchmark.

Each target is measured on the results document of :func:`mvkl.evaluation.method.run_method_bench`
and reported as met, not met or not measured, with the figures it rests on. The sentences are
written from the figures only; nothing is claimed that the figures do not show.

Targets (the method benchmark's acceptance figures, docs/evaluation.md):

* image ceiling: supervised fine-tuning from random init reaches test AUC ≥ 0.80;
* the method's effect: ViKL (ManiNeg) LE AUC ≥ random-init LE + 0.10, with non-overlapping 95 % CIs;
* all three modalities ≥ image-only contrastive in LE AUC (paper Table 5);
* text branch: image → report R@5 ≥ 2× chance;
* hard negatives: ManiNeg − none and ManiNeg − Robinson reported with their paired CI (Table 6;
  the target is a trustworthy figure, not a win).
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["CEILING", "EFFECT", "findings"]

CEILING = 0.80  # supervised image-only ceiling
EFFECT = 0.10  # ViKL LE over random-init LE
VIKL = "vikl-manineg"


def _entry(doc: dict[str, Any], row: str, protocol: str) -> dict[str, Any] | None:
    return next((r for r in doc.get("rows", []) if r["row"] == row and r["protocol"] == protocol), None)


def _comparison(doc: dict[str, Any], a: str, b: str, protocol: str) -> dict[str, Any] | None:
    return next((c for c in doc.get("comparisons", []) if (c["a"], c["b"], c["protocol"]) == (a, b, protocol)),
                None)


def _ci(ci: list[float]) -> str:
    return "n/a" if any(math.isnan(v) for v in ci) else f"[{ci[0]:.3f}, {ci[1]:.3f}]"


def _dci(ci: list[float]) -> str:
    return "n/a" if any(math.isnan(v) for v in ci) else f"[{ci[0]:+.3f}, {ci[1]:+.3f}]"


def _target(name: str, met: bool | None, text: str) -> dict[str, Any]:
    return {"target": name, "met": met, "text": text}


def _ceiling(doc: dict[str, Any]) -> dict[str, Any]:
    sup = _entry(doc, "supervised", "ft")
    if sup is None:
        return _target("image ceiling", None, "The supervised row was not run: no image ceiling.")
    met = sup["auc_mean"] >= CEILING
    return _target("image ceiling", met, f"Image ceiling (supervised fine-tuning from random init): test AUC "
                   f"{sup['auc_mean']:.3f} {_ci(sup['ci'])}, {'meeting' if met else 'below'} the "
                   f"{CEILING:.2f} target.")


def _effect(doc: dict[str, Any]) -> dict[str, Any]:
    v, r = _entry(doc, VIKL, "le"), _entry(doc, "random", "le")
    if v is None or r is None:
        return _target("ViKL LE vs random LE", None, "ViKL (ManiNeg) or random init lacks an LE figure.")
    diff = v["auc_mean"] - r["auc_mean"]
    apart = not any(math.isnan(x) for x in (*v["ci"], *r["ci"])) and v["ci"][0] > r["ci"][1]
    met = diff >= EFFECT and apart
    others = []
    for name in ("vikl-none", "vikl-robinson"):
        o = _entry(doc, name, "le")
        if o is not None:
            ok = o["auc_mean"] - r["auc_mean"] >= EFFECT and o["ci"][0] > r["ci"][1]
            others.append(f"{name} {o['auc_mean'] - r['auc_mean']:+.3f} ({'met' if ok else 'not met'})")
    return _target("ViKL LE vs random LE", met, (
        f"ViKL (ManiNeg) LE {v['auc_mean']:.3f} {_ci(v['ci'])} against random init {r['auc_mean']:.3f} "
        f"{_ci(r['ci'])}: {diff:+.3f}, the CIs {'do not overlap' if apart else 'overlap'} (target: "
        f"+{EFFECT:.2f} with non-overlapping CIs, {'met' if met else 'not met'})"
        + (f"; the other ViKL rows: {', '.join(others)}." if others else ".")))


def _modalities(doc: dict[str, Any]) -> dict[str, Any]:
    c = _comparison(doc, VIKL, "image-only", "le")
    if c is None:
        return _target("ViKL vs image-only", None, "ViKL (ManiNeg) − image-only (LE) was not measured.")
    met = c["diff"] >= 0
    return _target("ViKL vs image-only", met, (
        f"All three modalities against image-only contrastive (LE): {c['diff']:+.3f} {_dci(c['ci'])}, "
        f"P(not better) {c['p_not_better']:.2f}; " + ("ViKL is at least as good." if met else
                                                      "ViKL is below image-only here.")))


def _text(doc: dict[str, Any]) -> dict[str, Any]:
    ret = (doc.get("retrieval") or {}).get(VIKL) or {}
    zs = _entry(doc, VIKL, "zs")
    if "R@5" not in ret:
        return _target("text branch R@5", None, "Image → report retrieval was not measured for ViKL (ManiNeg).")
    r5, ch = ret["R@5"]["mean"], ret["R@5"]["chance"]
    met = r5 >= 2 * ch
    zs_s = f"; zero-shot AUC {zs['auc_mean']:.3f} {_ci(zs['ci'])}" if zs else ""
    return _target("text branch R@5", met, f"Text branch: image → report R@5 {r5:.3f} against chance {ch:.3f} "
                   f"({r5 / ch if ch > 0 else math.inf:.1f}×; target 2×, {'met' if met else 'not met'}){zs_s}.")


def _negatives(doc: dict[str, Any]) -> dict[str, Any]:
    parts = []
    for b in ("vikl-none", "vikl-robinson"):
        c = _comparison(doc, VIKL, b, "le")
        if c is None:
            continue
        verdict = ("better" if c["ci"][0] > 0 else "worse" if c["ci"][1] < 0 else "no clear difference")
        parts.append(f"ManiNeg − {b.split('-')[1]} (LE) {c['diff']:+.3f} {_dci(c['ci'])}: {verdict}")
    if not parts:
        return _target("hard negatives", None, "The hard-negative rows were not all run.")
    return _target("hard negatives", True, "Hard negatives (paper Table 6): " + "; ".join(parts) + ".")


def findings(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """One entry per target (module docstring): ``{"target", "met" (True/False/None), "text"}``."""
    return [_ceiling(doc), _effect(doc), _modalities(doc), _text(doc), _negatives(doc)]

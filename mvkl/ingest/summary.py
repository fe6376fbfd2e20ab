"""The ingest summary: counts only, never an identifier, a file name or an absolute path.

Quarantined items are listed by table label (``batch-1/train``, or the manifest's name), row,
view and reason (:class:`mvkl.quarantine.Reason`). The document is what ``mvkl ingest --json``
prints; :func:`render_summary` prints the same as rich tables on stdout.
"""

from __future__ import annotations

import collections
from typing import TYPE_CHECKING, Any

from mvkl.store.schema import SPLIT_NAMES

if TYPE_CHECKING:
    from mvkl.ingest.plan import Plan, QuarantineEntry
    from mvkl.ingest.records import AdapterResult

__all__ = ["build_summary", "render_summary"]

_LABEL = {1: "malignant", 0: "benign", -1: "unknown"}


def split_warnings(splits: dict[str, dict[str, int]]) -> list[str]:
    """What will stop evaluation later (``mvkl eval`` needs train, val and test, each with both classes):
    an empty split, or a split whose labelled lumps are all of one class. Counts only, no identifier."""
    out = []
    for name, c in splits.items():
        if c["lumps"] == 0:
            out.append(f"split '{name}' is empty (mvkl eval needs train, val and test lumps; more patients "
                       "or other --split ratios)")
        elif c["malignant"] + c["benign"] and not (c["malignant"] and c["benign"]):
            only = "malignant" if c["malignant"] else "benign"
            out.append(f"split '{name}' holds only {only} lumps ({c['lumps']}); evaluation needs both classes")
    return out


def build_summary(plan: Plan, result: AdapterResult, quarantined: list[QuarantineEntry], kept: list[int],
                  lumps: dict[str, list[Any]], n_images: int, spans: int, warnings: dict[str, int],
                  old_lumps: int = 0, old_images: int = 0) -> dict[str, Any]:
    """Summary document of one ingest (see the module docstring)."""
    by_reason = collections.Counter(q.reason.value for q in quarantined)
    lump_level = sum(1 for q in quarantined if q.view is None)
    splits: dict[str, dict[str, int]] = {}
    patients: dict[str, set[bytes]] = {s: set() for s in SPLIT_NAMES}
    for s in SPLIT_NAMES:
        splits[s] = {"lumps": 0, "patients": 0, "malignant": 0, "benign": 0, "unknown": 0}
    for sp, lab, pid in zip(lumps["split"], lumps["label"], lumps["patient_id"], strict=True):
        name = SPLIT_NAMES[int(sp)]
        splits[name]["lumps"] += 1
        splits[name][_LABEL[int(lab)]] += 1
        patients[name].add(pid)
    for s in SPLIT_NAMES:
        splits[s]["patients"] = len(patients[s])
    labels = collections.Counter(_LABEL[int(x)] for x in lumps["label"])
    return {
        "split_warnings": split_warnings(splits) if not old_lumps else [],
        "ok": True,
        "format": result.format,
        "dataset": result.dataset,
        "batches": list(plan.source_names),
        "lumps": {"in_tables": len(result.records), "ingested": len(kept), "quarantined": lump_level},
        "images": {"planned": len(plan.images), "ingested": n_images,
                   "quarantined": sum(1 for q in quarantined if q.view is not None)},
        "quarantined_by_reason": dict(sorted(by_reason.items())),
        "quarantined": [q.to_dict() for q in quarantined],
        "reports": {"present": sum(1 for r in lumps["report"] if r), "scrubbed_spans": int(spans)},
        "splits": splits,
        "labels": {k: labels.get(k, 0) for k in ("malignant", "benign", "unknown")},
        "split_assignment": plan.split_info,
        "warnings": dict(sorted(warnings.items())),
        "store_totals": {"lumps": old_lumps + len(kept), "images": old_images + n_images},
    }


def render_summary(doc: dict[str, Any]) -> None:
    """Human rendering of :func:`build_summary` on stdout."""
    from rich.table import Table

    from mvkl.log import stdout_console

    con = stdout_console()
    t = Table(title=f"mvkl ingest: {doc.get('store', '')}")
    t.add_column("")
    t.add_column("ingested", justify="right")
    t.add_column("quarantined", justify="right")
    t.add_row("lumps", str(doc["lumps"]["ingested"]), str(doc["lumps"]["quarantined"]))
    t.add_row("images", str(doc["images"]["ingested"]), str(doc["images"]["quarantined"]))
    con.print(t)
    s = Table(title="splits (lumps)")
    for c in ("split", "patients", "lumps", "malignant", "benign", "unknown"):
        s.add_column(c, justify="right" if c != "split" else "left")
    for name, row in doc["splits"].items():
        s.add_row(name, *(str(row[k]) for k in ("patients", "lumps", "malignant", "benign", "unknown")))
    con.print(s)
    if doc["quarantined_by_reason"]:
        q = Table(title="quarantined by reason")
        q.add_column("reason")
        q.add_column("items", justify="right")
        for k, v in doc["quarantined_by_reason"].items():
            q.add_row(k, str(v))
        con.print(q)
        shown = doc["quarantined"][:20]
        for e in shown:
            view = f", {e['view']}" if e["view"] else ""
            con.print(f"  {e['table']} row {e['row']}{view}: {e['reason']}"
                      + (f" ({e['detail']})" if e["detail"] else ""))
        if len(doc["quarantined"]) > len(shown):
            con.print(f"  ... {len(doc['quarantined']) - len(shown)} more (--json lists all)")
    con.print(f"reports: {doc['reports']['present']} stored, {doc['reports']['scrubbed_spans']} identifying "
              f"span(s) scrubbed")
    for k, v in doc["warnings"].items():
        con.print(f"warning: {k}: {v}")
    tot = doc["store_totals"]
    con.print(f"store: {tot['lumps']} lumps, {tot['images']} images"
              + (f" ({doc['seconds']} s)" if "seconds" in doc else ""))

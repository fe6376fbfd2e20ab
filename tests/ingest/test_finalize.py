"""The store's split_policy record: truthful about provided vs assigned splits, history on append."""

from __future__ import annotations

from typing import Any

from mvkl.ingest.finalize import split_history_entry, split_policy_record

R = (0.7, 0.1, 0.2)


def info(provided: int = 0, assigned: int = 0, kept: int = 0) -> dict[str, Any]:
    return {"provided_lumps": 2 * provided, "patients_new": provided + assigned, "patients_provided": provided,
            "patients_assigned": assigned, "patients_kept_from_store": kept, "patients_per_split_by_label": {}}


CBIS = [{"format": "cbis-ddsm", "policy": {"official": "train/test", "val": {"fraction": 0.1, "seed": 4}}}]


def test_provided_only_has_no_ratios() -> None:
    e = split_history_entry(R, 4, info(provided=5))
    assert e["method"] == "provided by the source" and "ratios" not in e and "seed" not in e
    sp = split_policy_record(None, e, CBIS)
    assert sp["method"] == "provided by the source" and sp["source_policy"] == CBIS
    assert not {"ratios", "seed", "assignment"} & set(sp) and sp["history"] == [e]


def test_assigned_only_records_ratios_and_seed() -> None:
    e = split_history_entry(R, 3, info(assigned=4))
    assert e["method"] == "assigned by mvkl" and (e["ratios"], e["seed"]) == (list(R), 3)
    sp = split_policy_record(None, e, [])
    assert sp["method"] == "assigned by mvkl" and (sp["ratios"], sp["seed"]) == (list(R), 3)
    assert "source_policy" not in sp and "leakage_check" not in sp


def test_mixed_and_append_history() -> None:
    first = split_policy_record(None, split_history_entry(R, 0, info(provided=3)), CBIS)
    # An appended batch whose patients are partly in the store already, partly new without a split.
    e2 = split_history_entry((0.8, 0.1, 0.1), 1, info(assigned=2, kept=1))
    assert e2["method"] == "kept from the store; assigned by mvkl"
    sp = split_policy_record(first, e2, [])
    assert sp["method"] == "provided by the source; other patients assigned by mvkl"
    assert (sp["ratios"], sp["seed"]) == ([0.8, 0.1, 0.1], 1) and sp["source_policy"] == CBIS
    assert sp["history"] == [first["history"][0], e2]
    # A third batch assigned with other ratios: the top level points at the history.
    sp3 = split_policy_record(sp, split_history_entry(R, 1, info(assigned=1)), CBIS)
    assert sp3["ratios"] == sp3["seed"] == "see history" and sp3["source_policy"] == CBIS  # not repeated
    assert split_history_entry(R, 0, info())["method"] == "no new patient"


def test_entries_of_older_stores_are_read_by_their_counts() -> None:
    old = {"unit": "patient", "method": "provided splits kept ...", "ratios": list(R), "seed": 0,
           "history": [{"ratios": list(R), "seed": 0, **info(provided=4)}]}
    sp = split_policy_record(old, split_history_entry(R, 0, info(provided=1)), [])
    assert sp["method"] == "provided by the source" and "ratios" not in sp and len(sp["history"]) == 2

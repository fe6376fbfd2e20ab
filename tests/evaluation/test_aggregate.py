"""Aggregation of seeded repeats (B46) and the markdown helpers."""

from __future__ import annotations

import json
import math
import statistics

import numpy as np
import pytest

from mvkl.evaluation.aggregate import (
    aggregate_runs,
    flatten_metrics,
    format_pm,
    jsonable,
    markdown_table,
    mean_std,
    pm_table,
)


def test_mean_std_is_sample_std() -> None:
    vals = [0.61, 0.63, 0.60, 0.65, 0.59]
    m, s = mean_std(vals)
    assert m == pytest.approx(statistics.fmean(vals))
    assert s == pytest.approx(statistics.stdev(vals))  # ddof = 1
    m1, s1 = mean_std([0.7])
    assert m1 == 0.7 and math.isnan(s1)
    assert all(math.isnan(x) for x in mean_std([]))
    assert math.isnan(mean_std([0.1, math.nan])[0])
    assert mean_std([0.1, math.nan, 0.3], omit_nan=True) == pytest.approx((0.2, statistics.stdev([0.1, 0.3])))


def test_aggregate_runs_nested_and_missing() -> None:
    runs = [
        {"auc": 0.70, "test": {"acc": 0.6}, "thresholds": [{"threshold": 0.5, "sensitivity": 0.8}], "name": "a"},
        {"auc": 0.74, "test": {"acc": 0.7}, "thresholds": [{"threshold": 0.5, "sensitivity": math.nan}]},
        {"auc": 0.72, "thresholds": [{"threshold": 0.5, "sensitivity": 0.6}], "flag": True},
    ]
    agg = aggregate_runs(runs)
    assert set(agg) == {"auc", "test.acc", "thresholds@0.5.threshold", "thresholds@0.5.sensitivity"}
    assert agg["auc"]["mean"] == pytest.approx(0.72) and agg["auc"]["std"] == pytest.approx(0.02)
    assert agg["auc"]["n"] == 3 and agg["auc"]["values"] == [0.70, 0.74, 0.72]
    acc = agg["test.acc"]
    assert acc["n"] == 2 and math.isnan(acc["values"][2]) and acc["mean"] == pytest.approx(0.65)
    sens = agg["thresholds@0.5.sensitivity"]
    assert sens["n"] == 2 and sens["mean"] == pytest.approx(0.7)
    assert flatten_metrics({"a": {"b": np.float32(0.5)}, "c": [1, 2], "d": "x"}) == {"a.b": 0.5}


def test_format_pm() -> None:
    assert format_pm(0.61236, 0.01844) == "61.24 ± 1.84"
    assert format_pm(0.5, 0.01, scale=1, digits=3) == "0.500 ± 0.010"
    assert format_pm(0.7, math.nan) == "70.00 ± n/a"
    assert format_pm(math.nan, math.nan) == "n/a"


def test_markdown_table() -> None:
    rows = [{"model": "ViKL", "auc": 0.79, "note": "a|b"}, ["IM", math.nan]]
    text = markdown_table(rows, ["model", ("auc", "AUC"), "note"], formats={"auc": ".3f"}, align={"auc": "right"})
    lines = text.strip().split("\n")
    assert lines[0] == "| model | AUC | note |"
    assert lines[1] == "| :--- | ---: | :--- |"
    assert lines[2] == "| ViKL | 0.790 | a\\|b |"
    assert lines[3] == "| IM | n/a |  |"
    assert markdown_table([["x", math.nan]], ["a", "b"]).strip().split("\n")[2] == "| x | n/a |"


def test_pm_table() -> None:
    agg = aggregate_runs([{"auc": 0.70}, {"auc": 0.74}])
    text = pm_table({"ViKL": agg, "IM": {}}, [("auc", "AUC (%)")])
    lines = text.strip().split("\n")
    assert lines[0] == "| model | AUC (%) |"
    assert lines[2] == f"| ViKL | {format_pm(0.72, statistics.stdev([0.70, 0.74]))} |"
    assert lines[3] == "| IM | n/a |"


def test_jsonable_is_strict_json() -> None:
    doc = {"a": np.float32(0.5), "b": [math.nan, np.int64(3)], "c": (np.bool_(True),), 1: np.arange(2)}
    out = jsonable(doc)
    assert out == {"a": 0.5, "b": [None, 3], "c": [True], "1": [0, 1]}
    json.dumps(out, allow_nan=False)

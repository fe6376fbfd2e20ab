from __future__ import annotations

import json


def test_bench_synth_measures_and_labels_the_extrapolation(run_cli) -> None:  # type: ignore[no-untyped-def]
    r = run_cli("bench", "synth", "--exams", "2", "--image-size", "64", "--target-exams", "300",
                "--workers", "1", "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    m, x = doc["measured"], doc["extrapolated_to_target"]
    assert m["exams"] == 2 and m["seconds"] > 0
    assert x["exams"] == 300 and "extrapolation" in x["note"]
    assert abs(x["seconds"] - m["seconds_per_exam"] * 300) < 0.1 + 0.01 * x["seconds"]
    assert 0.5 < doc["glance"]["auc_manifestation"] <= 1.0 and doc["cases_only"]["exams"] == 300

"""The de-identification corpus: seeded, labelled, and the metrics can fail."""

from __future__ import annotations

import json
import re

from mvkl.deid.bench import _leaked, evaluate, make_corpus


def test_corpus_is_seeded_and_every_value_is_in_its_sentence() -> None:
    a, b = make_corpus(200, seed=3), make_corpus(200, seed=3)
    assert a == b and a != make_corpus(200, seed=4)
    assert {p.lang for p in a} == {"zh", "en"}
    for p in a:
        assert p.value in p.text


def test_identity_scrubber_has_zero_recall_and_full_retention() -> None:
    doc = evaluate(make_corpus(200, seed=0), scrub=lambda t: t)
    assert all(v == 0.0 for v in doc["recall"].values())  # type: ignore[union-attr]
    assert doc["retention"] == 1.0


def test_dropping_everything_has_full_recall_and_no_retention() -> None:
    doc = evaluate(make_corpus(200, seed=0), scrub=lambda t: "")
    assert all(v == 1.0 for v in doc["recall"].values())  # type: ignore[union-attr]
    assert doc["retention"] == 0.0


def test_corpus_has_every_construction_and_both_scripts_of_names() -> None:
    corpus = make_corpus(2000, seed=0)
    assert {p.form for p in corpus} == {"plain", "mixed-script", "line-break", "fullwidth"}
    mixed = [p for p in corpus if p.form == "mixed-script"]
    assert any(p.lang == "zh" and p.value.isascii() for p in mixed)
    assert any(p.lang == "en" and not p.value.isascii() for p in mixed)
    assert all("\n" in p.value for p in corpus if p.form == "line-break")
    dates = [p.value for p in corpus if p.kind == "date"]
    assert len({re.sub(r"\d", "9", re.sub(r"[〇一二三四五六七八九]", "八", d)) for d in dates}) >= 6


def test_half_replaced_chinese_name_and_surviving_given_name_count_as_leaks() -> None:
    assert _leaked("李丽娟", "患者李丽[NAME]，女", "name", "患者，女")
    assert _leaked("Beatrice Whitfield", "Patient [NAME] Beatrice", "name", "Patient ")
    assert not _leaked("李丽娟", "患者[NAME]，女", "name", "患者，女")
    # a fragment that the sentence has anyway is no leak ("the" in Marchetti / "tolerated the")
    assert not _leaked("Ann Marchetti", "[NAME] tolerated the exam", "name", " tolerated the exam")


def test_evaluate_reports_per_construction_and_speed() -> None:
    doc = evaluate(make_corpus(400, seed=2))
    assert set(doc["by_construction"]) >= {"plain", "mixed-script"}  # type: ignore[arg-type]
    assert doc["report_chars"] > 250 and doc["reports_per_s"] > 0  # type: ignore[operator]
    leaky = evaluate(make_corpus(400, seed=2), scrub=lambda t: t.replace("\n", " "))
    assert leaky["by_construction"]["line-break"] == 0.0  # type: ignore[index]


def test_bench_deid_cli_reports_every_corpus(run_cli) -> None:  # type: ignore[no-untyped-def]
    r = run_cli("bench", "deid", "--n", "60", "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert set(doc) == {"bench", "development", "held_out", "held_out_ingest", "held_out_strict", "hand_written"}
    assert doc["hand_written"]["standard"]["n"] == 40
    for part in ("development", "held_out", "held_out_ingest", "held_out_strict"):
        assert doc[part]["n"] == 60 and 0.0 <= doc[part]["retention"] <= 1.0
        assert all(0.0 <= v <= 1.0 for v in doc[part]["recall"].values())


def test_battery_measure_can_fail_and_values_are_in_their_sentences() -> None:
    from mvkl.deid.battery import BATTERY, battery_recall

    assert all(p.value in p.text for p in BATTERY) and {p.lang for p in BATTERY} == {"zh", "en"}
    assert battery_recall(lambda t: t)["leaked"] == len(BATTERY)
    assert battery_recall(lambda t: "")["leaked"] == 0

"""``--report-scrub strict``: sentences with proper-noun-like tokens are dropped, clinical text stays."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mvkl.deid.bench import evaluate, make_corpus
from mvkl.deid.scrub import scrub_report
from mvkl.deid.strict import proper_noun_like, strict_counts, strict_filter, strict_report
from mvkl.synth.narratives import clinical_reports

# constructions the standard rules do not recognise; (sentence, the identifying value in it)
UNSEEN: list[tuple[str, str]] = [
    ("Quentin Zabriskie came in today.", "Zabriskie"),
    ("Films were couriered from Ravenscroft Hall.", "Ravenscroft"),
    ("Results phoned to ZABRISKIE.", "ZABRISKIE"),
    ("Case KD77Q1 reviewed at the meeting.", "KD77Q1"),
    ("患者欧阳娜娜复查。", "欧阳娜娜"),
    ("受检者司马秀英自述无不适。", "司马秀英"),
    ("患者住在幸福里小区。", "幸福里"),
    ("曾于仁济中心行超声检查。", "仁济"),
    ("影像由Wang Lijuan整理。", "Lijuan"),
]

CLINICAL = "左乳外上象限10点钟方向见一肿块，大小约1.5cm×1.2cm，边缘毛刺，BI-RADS 4A。"


@pytest.mark.parametrize(("sentence", "value"), UNSEEN, ids=[v for _, v in UNSEEN])
def test_unrecognised_identifier_drops_its_sentence_only(sentence: str, value: str) -> None:
    text = f"{sentence}\n{CLINICAL}\nIrregular mass at 2 o'clock, 12 mm, BI-RADS 4B."
    out, counts = strict_counts(text)
    assert value.lower() not in out.lower()
    assert CLINICAL in out and "Irregular mass at 2 o'clock, 12 mm, BI-RADS 4B." in out
    assert counts.get("sentence") == 1


def test_standard_mode_misses_some_of_them() -> None:
    """The battery is not trivial: the standard scrubber keeps several of these identifiers."""
    missed = [v for s, v in UNSEEN if v.lower() in scrub_report(s)[0].lower()]
    assert len(missed) >= 3


def test_synthetic_clinical_reports_lose_no_sentence() -> None:
    for text in clinical_reports(300, seed=5):
        assert strict_report(text) == (text, 0)


@pytest.mark.parametrize("sentence", [
    "IMPRESSION: Low suspicion for malignancy.", "BI-RADS 4A, ACR density C, 12mm mass at 2 o'clock.",
    "建议上级医院进一步检查。", "由主治医生审核。", "患者女，52岁，发现右乳肿物1月余。", "报告医师：[NAME]",
])
def test_clinical_and_placeholder_sentences_are_not_proper_noun_like(sentence: str) -> None:
    assert not proper_noun_like(sentence)


def test_filter_keeps_line_structure_and_counts() -> None:
    out, n = strict_filter("A.\nSeen by Quentin Zabriskie.\nBI-RADS 2.")
    assert (out, n) == ("A.\n\nBI-RADS 2.", 1)
    assert strict_filter("") == ("", 0)


def test_strict_recall_on_the_corpus_is_never_below_standard() -> None:
    corpus = make_corpus(600, seed=4)
    std, strict = evaluate(corpus), evaluate(corpus, scrub=lambda t: strict_report(t)[0])
    for k, v in std["recall"].items():  # type: ignore[union-attr]
        assert strict["recall"][k] >= v  # type: ignore[index]


def test_deid_text_strict_counts_sentences(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "r.txt"
    src.write_text(f"Quentin Zabriskie came in today.\n{CLINICAL}\n", encoding="utf-8")
    out = tmp_path / "c.txt"
    r = run_cli("deid", "text", src, "--report-scrub", "strict", "--out", out, "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["replaced"] == {"sentence": 1}
    assert "Zabriskie" not in out.read_text(encoding="utf-8") and CLINICAL in out.read_text(encoding="utf-8")
    assert run_cli("deid", "text", src, "--report-scrub", "paranoid").exit_code == 2


def test_ingest_refuses_an_unknown_mode_before_reading_anything(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    r = run_cli("ingest", tmp_path / "nowhere", "--out", tmp_path / "s.h5", "--report-scrub", "paranoid")
    assert r.exit_code == 2 and "--report-scrub" in r.stderr
    assert not (tmp_path / "s.h5").exists() and not (tmp_path / "s.h5.partial").exists()

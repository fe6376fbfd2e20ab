"""The de-identification corpus: seeded, labelled, and the metrics can fail."""

from __future__ import annotations

from mvkl.deid.bench import evaluate, make_corpus


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

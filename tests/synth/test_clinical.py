from __future__ import annotations

import itertools

import numpy as np

from mvkl.manifest import schema as S
from mvkl.synth.clinical import _BIRADS_CUTS, KINDS, birads_from_score, draw_clinical, malignancy_weights

ORDER = ["2", "3", "4A", "4B", "4C", "5"]


def _draw(n: int, seed: int = 0):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    return [draw_clinical(rng) for _ in range(n)]


def test_vectors_respect_exclusive_groups_and_kinds() -> None:
    mass_groups = [g for g in S.exclusive_groups() if g.key.startswith("mass")]
    calc_groups = [g for g in S.exclusive_groups() if g.key.startswith("calc")]
    for c in _draw(2000):
        assert c.kind in KINDS and c.manifest.dtype == np.uint8 and set(np.unique(c.manifest)) <= {0, 1}
        for g in S.exclusive_groups():
            assert c.manifest[g.slice].sum() <= 1
        mass = sum(int(c.manifest[g.slice].sum()) for g in mass_groups)
        calc = sum(int(c.manifest[g.slice].sum()) for g in calc_groups)
        assert (mass > 0) <= ("mass" in c.kind) and (calc > 0) <= ("calc" in c.kind)
        if c.kind == "signs":
            assert mass == calc == 0 and c.manifest[S.MISC_GROUP.slice][:2].sum() >= 1
        assert c.score == float(malignancy_weights() @ c.manifest)


def test_class_balance_and_clinical_direction() -> None:
    cases = _draw(3500, seed=1)
    y = np.array([c.label for c in cases])
    m = np.array([c.manifest for c in cases])
    assert 0.6 < y.mean() < 0.75  # MVKL is about 2:1 malignant:benign
    ok = S.option_by_key()
    for key, malignant in (("mass_edge.spiculated", True), ("mass_shape.irregular", True),
                           ("calc_shape.branching", True), ("mass_shape.round", False),
                           ("mass_edge.well_circumscribed", False), ("calc_shape.granular", False)):
        has = m[:, ok[key].index] == 1
        rate = y[has].mean()
        assert (rate > 0.8) if malignant else (rate < 0.5), (key, rate)
    kinds = {k: sum(c.kind == k for c in cases) / len(cases) for k in KINDS}
    assert kinds["mass"] > 0.45 and kinds["calc"] > 0.05 and kinds["mass+calc"] > 0.15 and kinds["signs"] > 0.01


def test_birads_is_consistent_with_the_findings() -> None:
    cases = _draw(4000, seed=2)
    rates = []
    for b in ORDER:
        y = [c.label for c in cases if c.birads == b]
        assert len(y) > 30, b
        rates.append(np.mean(y))
    assert all(a < b for a, b in itertools.pairwise(rates)), rates
    assert all(c.label == 1 for c in cases if c.birads == "6")
    scores = {b: np.mean([c.score for c in cases if c.birads == b]) for b in ORDER}
    assert all(scores[a] < scores[b] for a, b in itertools.pairwise(ORDER))


def test_birads_cut_matches_a_plain_reimplementation() -> None:
    def slow(x: float) -> str:
        for cut, name in zip(_BIRADS_CUTS, ORDER, strict=False):
            if x <= cut:
                return name
        return ORDER[-1]

    for x in np.linspace(-8, 8, 401):
        assert birads_from_score(float(x)) == slow(float(x))


def test_labels_are_not_a_function_of_the_manifestation() -> None:
    cases = _draw(3000, seed=3)
    by: dict[bytes, set[int]] = {}
    for c in cases:
        by.setdefault(c.manifest.tobytes(), set()).add(c.label)
    assert sum(len(v) > 1 for v in by.values()) > 20

from __future__ import annotations

import numpy as np
import pytest

from mvkl.manifest import schema as S
from mvkl.synth.cases import draw_cases, make_uid, n_batches


def test_deterministic_and_seed_dependent() -> None:
    a, b, c = draw_cases(80, seed=5), draw_cases(80, seed=5), draw_cases(80, seed=6)
    assert a.reports() == b.reports() and np.array_equal(a.manifests(), b.manifests())
    assert a.identifiers == b.identifiers
    assert a.reports() != c.reports()


def test_mvkl_like_counts() -> None:
    cases = draw_cases(2671, seed=0)
    n = len(cases.lumps)
    assert 2671 < n < 2671 * 1.06  # MVKL: 2,764 lumps in 2,671 exams
    assert len(cases.batches) == n_batches(2671) == 4
    for e in cases.exams:
        views = sorted(im.laterality + im.view for im in e.images)
        assert {"LCC", "LMLO", "RCC", "RMLO"} <= set(views) and len(views) in (4, 5)
        assert len({lump.laterality for lump in e.lumps}) == len(e.lumps)  # two lumps: two breasts
        assert len({im.file for im in e.images}) == len(e.images)
    assert n_batches(39) == 1 and n_batches(40) == 2


def test_sizes_match_the_size_class() -> None:
    ok = S.option_by_key()
    for lump in draw_cases(600, seed=1).lumps:
        d1, d2 = lump.size_mm
        assert 0 < d2 <= d1
        m = lump.manifest
        if m[ok["mass_size.le_2cm"].index]:
            assert d1 <= 20
        if m[ok["mass_size.2_5cm"].index]:
            assert 20 < d1 <= 50
        if m[ok["mass_size.gt_5cm"].index]:
            assert d1 > 50


def test_planted_report_identifiers_are_listed() -> None:
    cases = draw_cases(300, seed=2)
    planted = [i for i in cases.identifiers if any(i in r for r in cases.reports())]
    assert len(planted) >= 5
    names = {p.identity.display_name for p in cases.patients}
    assert any(n in r for n in names for r in cases.reports())


def test_make_uid() -> None:
    u = make_uid(1, "x")
    assert u == make_uid(1, "x") != make_uid(2, "x") and len(u) <= 64 and u.startswith("1.2.826.0.1.3680043.8.498.")


def test_bad_language() -> None:
    with pytest.raises(ValueError):
        draw_cases(2, lang="fr")

from __future__ import annotations

import re

import numpy as np
import pytest

from mvkl.synth.cases import draw_cases
from mvkl.synth.narratives import quadrant

BIRADS_RE = re.compile(r"BI-RADS(?:分类)?[\s:：]*(?:category\s*)?(\d[abcABC]?)")


def _slow_quadrant(lat: str, clock: int) -> str:
    if clock == 0:
        return "C"
    # Viewer facing the patient: the outer side is 1-5 o'clock on the left breast, 7-11 on the right.
    outer = 0 < clock < 6 if lat == "L" else 6 < clock < 12
    inner = 6 < clock < 12 if lat == "L" else 0 < clock < 6
    upper = clock in (10, 11, 12, 1, 2)
    lower = clock in (4, 5, 6, 7, 8)
    if upper and outer:
        return "UO"
    if upper and inner:
        return "UI"
    if lower and outer:
        return "LO"
    if lower and inner:
        return "LI"
    return {12: "U", 6: "L"}.get(clock) or ("O" if outer else "I")


@pytest.mark.parametrize("lat", ["L", "R"])
def test_quadrant_matches_the_clock_face(lat: str) -> None:
    for clock in range(13):
        assert quadrant(lat, clock) == _slow_quadrant(lat, clock)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_reports_state_a_birads_category_equal_to_the_table(lang: str) -> None:
    cases = draw_cases(400, seed=3, lang=lang)
    forms = set()
    for lump in cases.lumps:
        found = BIRADS_RE.findall(lump.report)
        assert len(found) == 1, lump.report
        assert found[0].upper() == lump.birads
        forms.add(re.sub(r"\d[abcABC]?", "#", lump.report.splitlines()[-1])[:14])
        side = ("左乳" if lump.laterality == "L" else "右乳") if lang == "zh" else \
            ("left breast" if lump.laterality == "L" else "right breast")
        assert side in lump.report
        if lang == "zh":
            assert "类" in lump.report.splitlines()[-1] or "BI-RADS #" in re.sub(r"\d[abcABC]?", "#", lump.report)
    assert len(forms) >= 3  # written several ways


def test_reports_mention_a_subset_of_the_manifestations() -> None:
    cases = draw_cases(500, seed=4, lang="en")
    said = {"spiculated": 0, "total": 0}
    for lump in cases.lumps:
        if lump.manifest[6]:  # mass_edge.spiculated
            said["total"] += 1
            said["spiculated"] += "spiculated" in lump.report
    assert said["total"] > 30 and 0.7 < said["spiculated"] / said["total"] < 0.97
    lengths = [len(lump.report) for lump in cases.lumps]
    assert np.std(lengths) > 20

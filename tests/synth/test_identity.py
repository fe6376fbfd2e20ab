from __future__ import annotations

import re

import numpy as np

from mvkl.synth.identity import draw_identity, draw_institution, fake_person_name, fake_phone


def test_names_and_phones_have_realistic_shapes() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        pn, disp = fake_person_name(rng, "zh")
        alpha, ideo = pn.split("=")
        assert re.fullmatch(r"[A-Z][a-z]+\^[A-Z][a-z]+", alpha) and "^" in ideo
        assert ideo.replace("^", "") == disp
        assert re.fullmatch(r"1[3-9]\d{9}", fake_phone(rng, "zh"))
        pn_en, disp_en = fake_person_name(rng, "en")
        assert pn_en.split("^")[0] == pn_en.split("^")[0].upper() and " " in disp_en
        assert re.fullmatch(r"\(555\) 01\d\d-\d{4}", fake_phone(rng, "en"))
    pn.encode("utf-8")


def test_identities_are_deterministic() -> None:
    a = draw_identity(np.random.default_rng([1, 2]), "zh", 2021, 7)
    b = draw_identity(np.random.default_rng([1, 2]), "zh", 2021, 7)
    assert a == b and 28 <= 2021 - a.birth_date.year <= 86
    inst = draw_institution(np.random.default_rng(3), "en")
    assert len(inst.station_names) == 3 and len(set(inst.device_serials)) == 3

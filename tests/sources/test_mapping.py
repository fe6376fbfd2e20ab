"""Public-dataset manifestation mappings (mvkl.sources.mapping): tables, pooling rules, records."""

from __future__ import annotations

import json

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mvkl.manifest import schema as S
from mvkl.sources import mapping as MP

# spec/dicom.md §3.1 value lists (compounds aside)
SPEC_VALUES = {
    "mass shape": ["ROUND", "OVAL", "LOBULATED", "IRREGULAR", "ARCHITECTURAL_DISTORTION", "ASYMMETRIC_BREAST_TISSUE",
                   "FOCAL_ASYMMETRIC_DENSITY", "LYMPH_NODE"],
    "mass margins": ["CIRCUMSCRIBED", "ILL_DEFINED", "MICROLOBULATED", "OBSCURED", "SPICULATED"],
    "calc type": ["AMORPHOUS", "PLEOMORPHIC", "PUNCTATE", "FINE_LINEAR_BRANCHING", "ROUND_AND_REGULAR",
                  "LUCENT_CENTER", "LUCENT_CENTERED", "COARSE", "VASCULAR", "DYSTROPHIC", "EGGSHELL",
                  "MILK_OF_CALCIUM", "SKIN", "LARGE_RODLIKE"],
    "calc distribution": ["CLUSTERED", "LINEAR", "SEGMENTAL", "REGIONAL", "DIFFUSELY_SCATTERED"],
    "finding_categories": ["Mass", "Suspicious Calcification", "Asymmetry", "Focal Asymmetry", "Global Asymmetry",
                           "Architectural Distortion", "Skin Thickening", "Skin Retraction", "Nipple Retraction",
                           "Suspicious Lymph Node", "No Finding"],
}


def _field(name: str) -> MP.FieldMap:
    return next(fm for fms in MP.FIELDS.values() for fm in fms if fm.field == name)


def test_every_spec_value_is_mapped_and_targets_exist() -> None:
    keys = S.option_by_key()
    for name, values in SPEC_VALUES.items():
        fm = _field(name)
        for v in values:
            t = fm.lookup(v)
            assert t is not None, (name, v)
            assert fm.lookup(v.lower().replace("_", " ")) == t  # case/space/underscore-insensitive
            if t.key is not None:
                assert t.key in keys
                if t.kind == "option":
                    assert keys[t.key].group == fm.group
                if t.kind == "sign":
                    assert keys[t.key].group == "misc"
        assert fm.lookup("NOT_A_VALUE") is None


def test_split_compound() -> None:
    assert MP.split_compound("IRREGULAR-ARCHITECTURAL_DISTORTION") == ["IRREGULAR", "ARCHITECTURAL_DISTORTION"]
    assert MP.split_compound(" OBSCURED-ILL_DEFINED-SPICULATED ") == ["OBSCURED", "ILL_DEFINED", "SPICULATED"]
    assert MP.split_compound("N/A") == [] and MP.split_compound(None) == [] and MP.split_compound("") == []
    assert MP.split_compound("LUCENT_CENTERED") == ["LUCENT_CENTERED"]


def _result(fm: MP.FieldMap, *tokens: str) -> tuple[np.ndarray, np.ndarray]:
    pm = MP.PartialManifest()
    pm.add(fm, [t for tok in tokens if (t := fm.lookup(tok)) is not None])
    return pm.result()


def _on(vec: np.ndarray) -> set[str]:
    return {S.OPTIONS[i].key for i in np.nonzero(vec)[0]}


def test_most_suspicious_margin_and_no_slot() -> None:
    vec, known = _result(MP.CBIS_MASS_MARGINS, "OBSCURED", "ILL_DEFINED", "SPICULATED")
    assert _on(vec) == {"mass_edge.spiculated"} and known[S.group_by_key()["mass_edge"].slice].all()
    vec, known = _result(MP.CBIS_MASS_MARGINS, "CIRCUMSCRIBED", "ILL_DEFINED")  # indistinct wins -> unknown
    assert not vec.any() and not known.any()
    vec, known = _result(MP.CBIS_MASS_MARGINS, "ILL_DEFINED")
    assert not known.any()


def test_shape_signs_and_ties() -> None:
    vec, known = _result(MP.CBIS_MASS_SHAPE, "IRREGULAR", "ARCHITECTURAL_DISTORTION")
    assert _on(vec) == {"mass_shape.irregular", MP.AD}
    assert {S.OPTIONS[i].key for i in np.nonzero(known)[0]} == {
        *(o.key for o in S.group_by_key()["mass_shape"].options), MP.AD, MP.FAD, MP.LN}
    vec, known = _result(MP.CBIS_MASS_SHAPE, "ASYMMETRIC_BREAST_TISSUE")  # no shape, signs described as 0
    assert not vec.any() and _on(known) == {MP.AD, MP.FAD, MP.LN}
    vec, known = _result(MP.CBIS_CALC_TYPE, "COARSE", "ROUND_AND_REGULAR")  # equal rank, different slots
    assert not known.any()
    vec, known = _result(MP.CBIS_CALC_TYPE, "EGGSHELL", "LARGE_RODLIKE")  # equal rank, same slot
    assert _on(vec) == {"calc_shape.granular"}
    for spelling in ("LUCENT_CENTER", "LUCENT_CENTERED"):
        assert _on(_result(MP.CBIS_CALC_TYPE, spelling)[0]) == {"calc_shape.crescentic"}


def _reference(fm: MP.FieldMap, tokens: list[str]) -> tuple[set[str], set[str]]:
    """Slow restatement of the module rules: (options/signs set, keys known)."""
    targets = [fm.lookup(t) for t in tokens]
    on: set[str] = set()
    known: set[str] = set(fm.describes_signs)
    ranked = sorted((t for t in targets if t is not None and t.kind in ("option", "noslot")), key=lambda t: -t.rank)
    if ranked:
        top = [t for t in ranked if t.rank == ranked[0].rank]
        if len({(t.kind, t.key) for t in top}) == 1 and top[0].kind == "option":
            on.add(top[0].key)  # type: ignore[arg-type]
            known.update(o.key for o in S.group_by_key()[fm.group].options)  # type: ignore[index]
    for t in targets:
        if t is not None and t.kind == "sign":
            on.add(t.key)  # type: ignore[arg-type]
            known.add(t.key)  # type: ignore[arg-type]
    return on, known


@settings(max_examples=150, deadline=None)
@given(st.sampled_from([MP.CBIS_MASS_SHAPE, MP.CBIS_MASS_MARGINS, MP.CBIS_CALC_TYPE, MP.CBIS_CALC_DISTRIBUTION,
                        MP.VINDR_CATEGORIES]), st.data())
def test_pooling_matches_reference_and_schema(fm: MP.FieldMap, data: st.DataObject) -> None:
    tokens = data.draw(st.lists(st.sampled_from(fm.spellings()), min_size=1, max_size=5))
    vec, known = _result(fm, *tokens)
    on, kn = _reference(fm, tokens)
    assert _on(vec) == on
    assert _on(known) == kn
    assert not (vec & (1 - known)).any()
    for g in S.exclusive_groups():
        sl = g.slice
        assert vec[sl].sum() <= 1 and known[sl].min() == known[sl].max()  # one option; group all-or-nothing


def test_mapping_document_partitions_dims_and_is_json() -> None:
    for ds in MP.FIELDS:
        doc = MP.mapping_document(ds, label_policy={"x": 1})
        json.dumps(doc)
        described, never = set(doc["described"]), set(doc["never_described"])  # type: ignore[arg-type]
        assert described | never == set(S.dim_keys()) and not described & never
        assert doc["label_policy"] == {"x": 1} and doc["layout"] == ds
        for name in ("mass_density", "mass_size", "calc_size", "calc_density"):
            assert all(o.key in never for o in S.group_by_key()[name].options)
    vin = MP.mapping_document("vindr")
    assert set(vin["described"]) == {MP.AD, MP.FAD, MP.SKIN, MP.NIPPLE, MP.LN}  # type: ignore[arg-type]


def test_markdown_lists_every_value() -> None:
    md = MP.mapping_markdown()
    for fms in MP.FIELDS.values():
        for fm in fms:
            for v in fm.spellings():
                assert f"`{v}`" in md
    assert MP.mapping_markdown("vindr").count("\n") == len(MP.VINDR_CATEGORIES.values) + 1

"""Public-dataset fields -> the 35-dim manifestation vector with a known-mask (spec/dicom.md §3.4).

CBIS-DDSM, INbreast and VinDr-Mammo describe only some of the paper's Table 1 dimensions. Each
source field is a :class:`FieldMap`: a table from its (lexicon) values to a :class:`Target`.
Everything a field does not describe stays **unknown** (mask 0), never zero. The tables are the
documentation: :func:`mapping_document` records them in the store's ``sources`` attribute and
:func:`mapping_markdown` prints them for the README.

Rules (the same for every data set):

* **Exclusive groups** (mass shape, mass edge, calcification shape and distribution): the tokens
  of every row describing the image are pooled (CBIS compounds such as ``ROUND-OVAL`` are split
  on ``-``) and the **most suspicious** one is kept, as BI-RADS asks to report the most
  suspicious descriptor. When it has no slot in Table 1 (``ILL_DEFINED`` margins, ``AMORPHOUS``
  calcifications, ``REGIONAL`` distribution, ...) or when equally suspicious tokens point at
  different slots, the group is **unknown**. A field that is empty (``N/A``) says nothing.
  These data sets never yield a *known-none* group (a group known to be absent).
* **Signs** (independent): a field lists the signs it *describes*; when the field has a value for
  the image (or, for VinDr, when the image is in the finding table), each described sign is known:
  1 when a token names it, 0 otherwise. Signs a field does not describe stay unknown.
* Mass density, mass size, calcification size and density, duct, comet-tail and halo signs and
  abnormal vessels are never described by these data sets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from mvkl.manifest import schema as S

__all__ = [
    "CBIS_CALC_DISTRIBUTION",
    "CBIS_CALC_TYPE",
    "CBIS_MASS_MARGINS",
    "CBIS_MASS_SHAPE",
    "FIELDS",
    "INBREAST_FLAGS",
    "INBREAST_XML_ROIS",
    "VINDR_CATEGORIES",
    "FieldMap",
    "PartialManifest",
    "Target",
    "mapping_document",
    "mapping_markdown",
    "split_compound",
]

Kind = Literal["option", "noslot", "sign", "other"]
_EMPTY = {"", "N/A", "NA", "NAN", "NONE", "NULL", "-"}


@dataclass(frozen=True)
class Target:
    """Where one source value goes.

    Attributes:
        kind: ``option`` (a slot of the field's exclusive group), ``noslot`` (a value of that
            group without a Table 1 slot: ranked, makes the group unknown when most suspicious),
            ``sign`` (sets a miscellaneous sign), ``other`` (recognised, no slot, ignored).
        key: option or sign key (``mass_shape.irregular``, ``misc.architectural_distortion``).
        rank: suspicion rank within the field (higher = more suspicious; BI-RADS lexicon order).
        note: why, when the choice needs a word.
    """

    kind: Kind
    key: str | None = None
    rank: int = 0
    note: str = ""


@dataclass(frozen=True)
class FieldMap:
    """One source field (a column, a flag or a category list) of a data set."""

    dataset: str
    field: str
    group: str | None
    values: dict[str, Target]
    describes_signs: tuple[str, ...] = ()
    note: str = ""
    labels: dict[str, str] = field(default_factory=dict, compare=False)

    def lookup(self, token: str) -> Target | None:
        """The target of one token (case, spaces and ``_`` ignored), or None when unknown."""
        return self.values.get(_canon_value(token))

    def spellings(self) -> list[str]:
        """The source values this field knows, as the data set spells them."""
        return [self.labels.get(c, c) for c in self.values]


def _canon_value(v: str) -> str:
    return "".join(ch for ch in str(v).strip().upper() if ch.isalnum())


def _fm(dataset: str, fieldname: str, group: str | None, rows: list[tuple[str, Target]],
        signs: tuple[str, ...] = (), note: str = "") -> FieldMap:
    return FieldMap(dataset, fieldname, group, {_canon_value(k): t for k, t in rows}, signs, note,
                    {_canon_value(k): k for k, _ in rows})


def split_compound(value: object) -> list[str]:
    """``"IRREGULAR-ARCHITECTURAL_DISTORTION"`` -> ``["IRREGULAR", "ARCHITECTURAL_DISTORTION"]``;
    empty, ``N/A`` -> ``[]`` (CBIS-DDSM joins several descriptors with ``-``)."""
    text = "" if value is None else str(value).strip()
    if text.upper() in _EMPTY:
        return []
    return [t.strip() for t in text.split("-") if t.strip() and t.strip().upper() not in _EMPTY]


AD, FAD = "misc.architectural_distortion", "misc.focal_asymmetric_density"
SKIN, NIPPLE, LN = "misc.skin_thickening_retraction", "misc.nipple_retraction", "misc.abnormal_lymph_node"
_o, _n, _s, _x = "option", "noslot", "sign", "other"

#: CBIS-DDSM ``mass shape`` (DDSM lexicon; AD, asymmetries and lymph nodes are values of this field).
CBIS_MASS_SHAPE = _fm("cbis-ddsm", "mass shape", "mass_shape", [
    ("ROUND", Target(_o, "mass_shape.round", 1)),
    ("OVAL", Target(_o, "mass_shape.ovoid", 2)),
    ("LOBULATED", Target(_o, "mass_shape.lobulated", 3)),
    ("IRREGULAR", Target(_o, "mass_shape.irregular", 4)),
    ("ARCHITECTURAL_DISTORTION", Target(_s, AD)),
    ("FOCAL_ASYMMETRIC_DENSITY", Target(_s, FAD)),
    ("ASYMMETRIC_BREAST_TISSUE", Target(_x, note="global asymmetry: no slot (not focal)")),
    ("LYMPH_NODE", Target(_s, LN, note="intramammary lymph node -> abnormal lymph node shadow (spec §3.4)")),
], signs=(AD, FAD, LN), note="a mass row whose shape names none of AD/FAD/lymph node says the finding is "
                             "not one of them (DDSM records them in this field): the three signs are known 0")

#: CBIS-DDSM ``mass margins``; ranked spiculated > microlobulated > ill-defined > obscured > circumscribed.
CBIS_MASS_MARGINS = _fm("cbis-ddsm", "mass margins", "mass_edge", [
    ("CIRCUMSCRIBED", Target(_o, "mass_edge.well_circumscribed", 1)),
    ("OBSCURED", Target(_o, "mass_edge.obscured", 2)),
    ("ILL_DEFINED", Target(_n, None, 3, "indistinct: no slot in the 4-way edge list -> mass edge unknown")),
    ("MICROLOBULATED", Target(_o, "mass_edge.microlobulated", 4)),
    ("SPICULATED", Target(_o, "mass_edge.spiculated", 5)),
])

#: CBIS-DDSM ``calc type`` -> the 3 Table 1 calcification shapes where defensible.
CBIS_CALC_TYPE = _fm("cbis-ddsm", "calc type", "calc_shape", [
    ("FINE_LINEAR_BRANCHING", Target(_o, "calc_shape.branching", 10)),
    ("PLEOMORPHIC", Target(_n, None, 9, "fine pleomorphic: no slot")),
    ("AMORPHOUS", Target(_n, None, 8, "no slot")),
    ("PUNCTATE", Target(_n, None, 6, "no slot (not 'gritty': too uncertain)")),
    ("DYSTROPHIC", Target(_n, None, 4, "no slot")),
    ("ROUND_AND_REGULAR", Target(_n, None, 3, "no slot")),
    ("COARSE", Target(_o, "calc_shape.granular", 3, "BI-RADS 'coarse or popcorn-like' -> popcorn-like")),
    ("LARGE_RODLIKE", Target(_o, "calc_shape.granular", 2, "large rod-like")),
    ("EGGSHELL", Target(_o, "calc_shape.granular", 2, "eggshell-like")),
    ("LUCENT_CENTER", Target(_o, "calc_shape.crescentic", 2, "ring (annular) calcification")),
    ("LUCENT_CENTERED", Target(_o, "calc_shape.crescentic", 2, "spelling variant of LUCENT_CENTER")),
    ("MILK_OF_CALCIUM", Target(_o, "calc_shape.crescentic", 2, "crescentic ('teacup') on the lateral view")),
    ("VASCULAR", Target(_n, None, 1, "no slot (not an abnormal vessel shadow)")),
    ("SKIN", Target(_n, None, 1, "no slot")),
])

#: CBIS-DDSM ``calc distribution``; ranked segmental > linear > clustered > regional > diffuse.
CBIS_CALC_DISTRIBUTION = _fm("cbis-ddsm", "calc distribution", "calc_distribution", [
    ("DIFFUSELY_SCATTERED", Target(_o, "calc_distribution.scattered", 1)),
    ("REGIONAL", Target(_n, None, 2, "no slot")),
    ("CLUSTERED", Target(_o, "calc_distribution.clustered", 3)),
    ("LINEAR", Target(_o, "calc_distribution.linear_segmental", 4)),
    ("SEGMENTAL", Target(_o, "calc_distribution.linear_segmental", 5)),
])

#: INbreast finding flags (``X`` or empty; every image is fully annotated, so empty = absent).
INBREAST_FLAGS = _fm("inbreast", "flags", None, [
    ("Distortion", Target(_s, AD)),
    ("Asymmetry", Target(_s, FAD, note="INbreast does not tell focal from global asymmetry")),
    ("Mass", Target(_x, note="presence only: no shape/edge/density/size -> mass groups unknown")),
    ("Micros", Target(_x, note="presence only -> calcification groups unknown")),
], signs=(AD, FAD))

#: INbreast ``AllXML/<File Name>.xml`` ROI names (optional refinement).
INBREAST_XML_ROIS = _fm("inbreast", "XML ROI Name", None, [
    ("Spiculated Region", Target(_o, "mass_edge.spiculated", 5, "only when the Mass flag is set")),
    ("Cluster", Target(_o, "calc_distribution.clustered", 3, "a microcalcification cluster")),
    ("Distortion", Target(_s, AD)),
    ("Asymmetry", Target(_s, FAD)),
    ("Mass", Target(_x, note="presence only")),
    ("Calcification", Target(_x, note="presence only")),
    ("Calcifications", Target(_x, note="presence only")),
])

#: VinDr-Mammo ``finding_categories`` (the readers annotated every non-benign finding of every image).
VINDR_CATEGORIES = _fm("vindr", "finding_categories", None, [
    ("Architectural Distortion", Target(_s, AD)),
    ("Focal Asymmetry", Target(_s, FAD)),
    ("Asymmetry", Target(_s, FAD, note="one-view asymmetry counted as focal asymmetrical density")),
    ("Global Asymmetry", Target(_x, note="no slot (not focal)")),
    ("Skin Thickening", Target(_s, SKIN)),
    ("Skin Retraction", Target(_s, SKIN)),
    ("Nipple Retraction", Target(_s, NIPPLE)),
    ("Suspicious Lymph Node", Target(_s, LN)),
    ("Mass", Target(_x, note="presence (+ box) only: mass groups unknown")),
    ("Suspicious Calcification", Target(_x, note="presence only: calcification groups unknown")),
    ("No Finding", Target(_x)),
], signs=(AD, FAD, SKIN, NIPPLE, LN), note="signs not listed for an image are known 0 (only non-benign "
                                           "findings are boxed: a benign-looking sign may be unlisted)")

FIELDS: dict[str, tuple[FieldMap, ...]] = {
    "cbis-ddsm": (CBIS_MASS_SHAPE, CBIS_MASS_MARGINS, CBIS_CALC_TYPE, CBIS_CALC_DISTRIBUTION),
    "inbreast": (INBREAST_FLAGS, INBREAST_XML_ROIS),
    "vindr": (VINDR_CATEGORIES,),
}


class PartialManifest:
    """Pools the tokens of one image's rows and yields ``(vector, known)`` (module rules)."""

    def __init__(self) -> None:
        self._group_targets: dict[str, list[Target]] = {}
        self._signs_known: set[str] = set()
        self._signs_set: set[str] = set()

    def add(self, fm: FieldMap, targets: list[Target]) -> None:
        """Record one row's (non-empty) value of ``fm`` given as resolved targets."""
        if fm.group is not None:
            self._group_targets.setdefault(fm.group, []).extend(
                t for t in targets if t.kind in ("option", "noslot"))
        self._signs_known.update(fm.describes_signs)
        for t in targets:
            if t.kind == "sign" and t.key:
                self._signs_known.add(t.key)
                self._signs_set.add(t.key)
            elif t.kind == "option" and t.key and fm.group is None:
                # Fields without their own group (INbreast XML) name options directly.
                self._group_targets.setdefault(t.key.split(".")[0], []).append(t)

    def describe_signs(self, keys: tuple[str, ...] | list[str]) -> None:
        """Mark signs as described (known) without setting them."""
        self._signs_known.update(keys)

    def set_sign(self, key: str) -> None:
        self._signs_known.add(key)
        self._signs_set.add(key)

    def drop_group(self, group: str) -> None:
        """Forget what was pooled for ``group`` (it becomes unknown)."""
        self._group_targets.pop(group, None)

    def result(self) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
        vec = np.zeros(S.DIM, np.uint8)
        known = np.zeros(S.DIM, np.uint8)
        opts = S.option_by_key()
        groups = S.group_by_key()
        for gkey, targets in self._group_targets.items():
            option = resolve_exclusive(targets)
            if option is None:
                continue
            known[groups[gkey].slice] = 1
            vec[opts[option].index] = 1
        for key in self._signs_known:
            known[opts[key].index] = 1
        for key in self._signs_set:
            vec[opts[key].index] = 1
        return vec, known


def resolve_exclusive(targets: list[Target]) -> str | None:
    """The option key of the most suspicious target, or None (unknown) when there is none, when
    the most suspicious has no slot, or when equally suspicious targets disagree."""
    if not targets:
        return None
    top = max(t.rank for t in targets)
    best = {(t.kind, t.key) for t in targets if t.rank == top}
    if len(best) != 1:
        return None
    kind, key = next(iter(best))
    return key if kind == "option" else None


def _target_text(t: Target) -> str:
    if t.kind in ("option", "sign") and t.key:
        o = S.option_by_key()[t.key]
        g = S.group_by_key()[o.group]
        return f"{g.en}: {o.en}"
    if t.kind == "noslot":
        return "no slot -> group unknown if most suspicious"
    return "no slot (ignored)"


def mapping_document(dataset: str, **policies: object) -> dict[str, object]:
    """The non-identifying mapping record stored in ``sources[...]["manifest_mapping"]``.

    Keys: ``layout`` (the data set), ``fields`` (field -> value -> target, rank, note),
    ``described`` (option/sign keys a field can make known), ``never_described`` (keys always
    unknown for this data set), ``rules`` and any ``policies`` given (label, split, ...).
    """
    fields: dict[str, object] = {}
    described: set[str] = set()
    for fm in FIELDS[dataset]:
        labels = fm.labels
        vals = {}
        for canon, t in fm.values.items():
            vals[labels.get(canon, canon)] = {"target": t.key or t.kind, "kind": t.kind, "rank": t.rank,
                                              **({"note": t.note} if t.note else {})}
            if t.kind == "option" and t.key:
                described.update(o.key for o in S.group_by_key()[t.key.split(".")[0]].options)
            if t.kind == "sign" and t.key:
                described.add(t.key)
        if fm.group:
            described.update(o.key for o in S.group_by_key()[fm.group].options)
        described.update(fm.describes_signs)
        fields[fm.field] = {"group": fm.group, "signs": list(fm.describes_signs), "values": vals,
                            **({"note": fm.note} if fm.note else {})}
    never = [o.key for o in S.OPTIONS if o.key not in described]
    doc: dict[str, object] = {
        "layout": dataset,
        "fields": fields,
        "described": sorted(described, key=lambda k: S.option_by_key()[k].index),
        "never_described": never,
        "unknown_filled": never,
        "rules": [
            "exclusive group: most suspicious token over the image's rows; no slot or a tie between slots -> "
            "unknown; an empty field says nothing",
            "sign: known when a describing field has a value for the image (1 if named, else 0); else unknown",
            "dimensions no field describes are unknown (mask 0), never zero",
        ],
    }
    doc.update(policies)
    return doc


def mapping_markdown(dataset: str | None = None) -> str:
    """The mapping tables as markdown (one row per source value), for the README."""
    lines = ["| data set | field | value | Table 1 target | rank | note |", "|---|---|---|---|---|---|"]
    for ds, fms in FIELDS.items():
        if dataset is not None and ds != dataset:
            continue
        for fm in fms:
            labels = fm.labels
            for canon, t in fm.values.items():
                lines.append(f"| {ds} | {fm.field} | `{labels.get(canon, canon)}` | {_target_text(t)} | "
                             f"{t.rank if t.kind in ('option', 'noslot') else ''} | {t.note} |")
    return "\n".join(lines)

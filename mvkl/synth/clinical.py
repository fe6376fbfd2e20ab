"""The clinical model behind synthetic lumps: manifestations, pathology and BI-RADS.

A lump has a latent *aggressiveness* ``z ~ N(0, 1)`` (its biology, partly visible on the image).
Manifestations are drawn group by group from softmax logits ``prior + gamma * w * z (+ coupling
with the options already drawn)``, so that malignant-looking signs co-occur (irregular with
spiculated, fine branching calcifications with linear distribution) the way they do in BI-RADS
practice. The weights ``w`` are clinical log-odds of malignancy per option (spiculated, irregular,
fine-linear-branching, linear/segmental, skin retraction: strongly malignant; round,
well-circumscribed, popcorn/eggshell, halo sign: benign).

Pathology is then drawn from a logistic model over the manifestations plus the latent,
``P(malignant) = sigmoid(a0 + a1 * S(m) + a2 * z)`` with ``S(m) = w . m``, so labels follow the
manifestations but are not a deterministic function of them (paper Table 3: manifestations alone
give AUC 0.85). The radiologist's BI-RADS category is a noisy read of ``S(m)`` and of the latent
(the radiologist sees the image), cut at fixed thresholds into 2, 3, 4A, 4B, 4C, 5; BI-RADS 6
(biopsy-proven) and 0 (incomplete) occur rarely. Paper Sec. 3 (MVKL), Table 1 (the 35 options),
Table 2 (class balance about 2:1 malignant:benign).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mvkl.manifest import schema as S

__all__ = ["KINDS", "LumpClinical", "birads_from_score", "draw_clinical", "malignancy_weights"]

#: lump kinds: what the radiologists annotated (mass, calcification, both, or signs only).
KINDS = ("mass", "calc", "mass+calc", "signs")

# Clinical log-odds of malignancy per option (key -> weight).
_W: dict[str, float] = {
    "mass_shape.irregular": 1.3,
    "mass_shape.lobulated": 0.3,
    "mass_shape.ovoid": -0.7,
    "mass_shape.round": -0.9,
    "mass_edge.microlobulated": 0.8,
    "mass_edge.obscured": 0.2,
    "mass_edge.spiculated": 1.7,
    "mass_edge.well_circumscribed": -1.3,
    "mass_density.low": -0.5,
    "mass_density.median": 0.0,
    "mass_density.high": 0.5,
    "mass_size.le_2cm": -0.1,
    "mass_size.2_5cm": 0.3,
    "mass_size.gt_5cm": 0.2,
    "calc_shape.branching": 1.6,
    "calc_shape.crescentic": 0.4,
    "calc_shape.granular": -1.3,
    "calc_size.coarse": -0.8,
    "calc_size.tiny": 0.4,
    "calc_size.uneven": 0.8,
    "calc_density.low": -0.2,
    "calc_density.high": 0.0,
    "calc_density.uneven": 0.5,
    "calc_distribution.scattered": -0.9,
    "calc_distribution.clustered": 0.5,
    "calc_distribution.linear_segmental": 1.2,
    "misc.architectural_distortion": 1.0,
    "misc.focal_asymmetric_density": 0.3,
    "misc.duct_sign": 0.5,
    "misc.comet_tail_sign": 0.6,
    "misc.halo_sign": -1.0,
    "misc.skin_thickening_retraction": 1.1,
    "misc.nipple_retraction": 0.8,
    "misc.abnormal_vessel": 0.5,
    "misc.abnormal_lymph_node": 0.9,
}
# Base frequencies among annotated lumps (biopsied population).
_PRIOR: dict[str, float] = {
    "mass_shape.irregular": 0.32,
    "mass_shape.lobulated": 0.2,
    "mass_shape.ovoid": 0.26,
    "mass_shape.round": 0.22,
    "mass_edge.microlobulated": 0.15,
    "mass_edge.obscured": 0.3,
    "mass_edge.spiculated": 0.2,
    "mass_edge.well_circumscribed": 0.35,
    "mass_density.low": 0.15,
    "mass_density.median": 0.45,
    "mass_density.high": 0.4,
    "mass_size.le_2cm": 0.56,
    "mass_size.2_5cm": 0.4,
    "mass_size.gt_5cm": 0.04,
    "calc_shape.branching": 0.25,
    "calc_shape.crescentic": 0.4,
    "calc_shape.granular": 0.35,
    "calc_size.coarse": 0.3,
    "calc_size.tiny": 0.45,
    "calc_size.uneven": 0.25,
    "calc_density.low": 0.25,
    "calc_density.high": 0.45,
    "calc_density.uneven": 0.3,
    "calc_distribution.scattered": 0.3,
    "calc_distribution.clustered": 0.5,
    "calc_distribution.linear_segmental": 0.2,
    "misc.architectural_distortion": 0.07,
    "misc.focal_asymmetric_density": 0.09,
    "misc.duct_sign": 0.04,
    "misc.comet_tail_sign": 0.04,
    "misc.halo_sign": 0.05,
    "misc.skin_thickening_retraction": 0.05,
    "misc.nipple_retraction": 0.04,
    "misc.abnormal_vessel": 0.06,
    "misc.abnormal_lymph_node": 0.09,
}
# Log-bonus for (earlier option, later option) pairs: shape -> margin, calc shape -> size/distribution.
_COUPLING: dict[tuple[str, str], float] = {
    ("mass_shape.round", "mass_edge.well_circumscribed"): 1.2,
    ("mass_shape.ovoid", "mass_edge.well_circumscribed"): 1.0,
    ("mass_shape.irregular", "mass_edge.spiculated"): 0.9,
    ("mass_shape.irregular", "mass_edge.well_circumscribed"): -1.5,
    ("mass_shape.lobulated", "mass_edge.microlobulated"): 0.8,
    ("mass_shape.round", "mass_edge.spiculated"): -1.2,
    ("calc_shape.branching", "calc_size.tiny"): 1.0,
    ("calc_shape.branching", "calc_size.coarse"): -1.5,
    ("calc_shape.granular", "calc_size.coarse"): 1.4,
    ("calc_shape.granular", "calc_size.tiny"): -0.8,
    ("calc_shape.branching", "calc_distribution.linear_segmental"): 1.2,
    ("calc_shape.branching", "calc_distribution.scattered"): -1.2,
    ("calc_shape.granular", "calc_distribution.scattered"): 1.0,
    ("calc_shape.crescentic", "calc_distribution.clustered"): 0.6,
    ("calc_size.uneven", "calc_density.uneven"): 1.0,
    ("calc_size.coarse", "calc_density.high"): 0.8,
    ("mass_edge.well_circumscribed", "misc.halo_sign"): 1.2,
    ("mass_edge.spiculated", "misc.halo_sign"): -2.0,
    ("mass_edge.spiculated", "misc.architectural_distortion"): 0.8,
}
_GAMMA = 0.45  # how strongly the latent drives each option (times its weight)
_A0, _A1, _A2 = 0.9, 0.8, 0.95  # label model: sigmoid(a0 + a1 * S(m) + a2 * z)
_B_Z, _B_NOISE = 0.8, 1.0  # BI-RADS read: S(m) + b_z * z + N(0, b_noise)
# Thresholds on the radiologist's read between 2|3|4A|4B|4C|5.
_BIRADS_CUTS = (-4.4, -2.4, -0.4, 1.3, 3.2)
_BIRADS_NAMES = ("2", "3", "4A", "4B", "4C", "5")


def malignancy_weights() -> npt.NDArray[np.float64]:
    """The (35,) clinical log-odds weights ``w`` in vector order."""
    return np.array([_W[k] for k in S.dim_keys()], dtype=np.float64)


@dataclass
class LumpClinical:
    """What the radiologists and the pathologist recorded for one lump.

    Attributes:
        kind: one of :data:`KINDS`.
        manifest: (35,) uint8 0/1 vector respecting the exclusive groups.
        z: latent aggressiveness (not written anywhere; drives rendering subtleties).
        label: 1 malignant, 0 benign (pathology).
        birads: "0", "1", "2", "3", "4A", "4B", "4C", "5" or "6".
        score: the clinical score ``S(m)``.
    """

    kind: str
    manifest: npt.NDArray[np.uint8]
    z: float
    label: int
    birads: str
    score: float


def _softmax_pick(rng: np.random.Generator, logits: npt.NDArray[np.float64]) -> int:
    p = np.exp(logits - logits.max())
    p /= p.sum()
    return int(rng.choice(len(p), p=p))


def _draw_group(rng: np.random.Generator, g: S.Group, z: float, chosen: list[str]) -> str:
    logits = np.array(
        [
            np.log(_PRIOR[o.key]) + _GAMMA * _W[o.key] * z + sum(_COUPLING.get((c, o.key), 0.0) for c in chosen)
            for o in g.options
        ]
    )
    return g.options[_softmax_pick(rng, logits)].key


def _draw_kind(rng: np.random.Generator, z: float) -> str:
    # Calcifications are more frequent in malignant lumps (DCIS); signs-only lumps are rare.
    logits = np.array([np.log(0.58), np.log(0.12) + 0.25 * z, np.log(0.27) + 0.3 * z, np.log(0.03)])
    return KINDS[_softmax_pick(rng, logits)]


def birads_from_score(read: float) -> str:
    """Cut the radiologist's read into a category 2..5 (thresholds :data:`_BIRADS_CUTS`)."""
    return _BIRADS_NAMES[int(np.searchsorted(_BIRADS_CUTS, read))]


def draw_clinical(rng: np.random.Generator) -> LumpClinical:
    """Draw one lump's kind, manifestation vector, pathology and BI-RADS category."""
    z = float(rng.standard_normal())
    kind = _draw_kind(rng, z)
    m = np.zeros(S.DIM, np.uint8)
    chosen: list[str] = []
    groups = S.group_by_key()
    active: list[str] = []
    if "mass" in kind:
        active += ["mass_shape", "mass_edge", "mass_density", "mass_size"]
    if "calc" in kind:
        active += ["calc_shape", "calc_size", "calc_density", "calc_distribution"]
    for gk in active:
        key = _draw_group(rng, groups[gk], z, chosen)
        chosen.append(key)
        if rng.random() >= 0.03:  # annotators occasionally leave a group blank
            m[S.option_by_key()[key].index] = 1
    for o in S.MISC_GROUP.options:
        logit = np.log(_PRIOR[o.key] / (1 - _PRIOR[o.key])) + _GAMMA * _W[o.key] * z
        logit += sum(_COUPLING.get((c, o.key), 0.0) for c in chosen)
        if rng.random() < 1.0 / (1.0 + np.exp(-logit)):
            m[o.index] = 1
    if kind == "signs" and not (
        m[S.option_by_key()["misc.architectural_distortion"].index]
        or m[S.option_by_key()["misc.focal_asymmetric_density"].index]
    ):
        key = "misc.architectural_distortion" if z > 0 else "misc.focal_asymmetric_density"
        m[S.option_by_key()[key].index] = 1
    score = float(malignancy_weights() @ m)
    label = int(rng.random() < 1.0 / (1.0 + np.exp(-(_A0 + _A1 * score + _A2 * z))))
    read = score + _B_Z * z + _B_NOISE * float(rng.standard_normal())
    u = rng.random()
    if u < 0.008:
        birads = "0"
    elif u < 0.012:
        birads = "1"
    elif label == 1 and u < 0.04:
        birads = "6"
    else:
        birads = birads_from_score(read)
    return LumpClinical(kind, m, z, label, birads, score)

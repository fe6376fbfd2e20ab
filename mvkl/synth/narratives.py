"""Radiology report templates (English and Chinese) for synthetic lumps.

A report describes breast composition, the lump's location (side, quadrant, clock face, depth),
its size in cm or mm, a random subset of its manifestations (radiologists mention only the salient
ones; paper Sec. 3 "physicians typically mention only those manifestations they deem
significant"), the other breast, and an assessment with a BI-RADS category written the many ways
real reports write it ("BI-RADS 4B", "BI-RADS：4C类", "BI-RADS分类：5类", "Assessment: BI-RADS
category 3 – probably benign"). Occasionally a report carries an identifier (a name, an ID, a
date, a phone number) so that report scrubbing is exercised.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mvkl.manifest import schema as S

__all__ = ["ReportFacts", "clinical_reports", "location_phrases", "quadrant", "write_report"]

# Probability that a present option is mentioned, per group (salience).
_MENTION = {
    "mass_shape": 0.9,
    "mass_edge": 0.85,
    "mass_density": 0.6,
    "mass_size": 0.0,
    "calc_shape": 0.85,
    "calc_size": 0.6,
    "calc_density": 0.5,
    "calc_distribution": 0.75,
    "misc": 0.75,
}

_ZH = {
    "mass_shape.irregular": ["不规则形", "不规则"],
    "mass_shape.lobulated": ["分叶状", "分叶形"],
    "mass_shape.ovoid": ["椭圆形", "卵圆形"],
    "mass_shape.round": ["圆形", "类圆形"],
    "mass_edge.microlobulated": ["边缘呈微分叶", "边缘见微小分叶"],
    "mass_edge.obscured": ["边缘模糊", "边缘部分被遮蔽"],
    "mass_edge.spiculated": ["边缘见毛刺", "边缘毛刺状"],
    "mass_edge.well_circumscribed": ["边缘清晰", "边界清晰光整"],
    "mass_density.low": ["低密度"],
    "mass_density.median": ["等密度"],
    "mass_density.high": ["高密度", "密度较高"],
    "calc_shape.branching": ["分支状"],
    "calc_shape.crescentic": ["新月形", "环形", "砂粒样", "线样"],
    "calc_shape.granular": ["颗粒状", "爆米花样", "粗棒状", "蛋壳样"],
    "calc_size.coarse": ["粗大"],
    "calc_size.tiny": ["细小", "微小"],
    "calc_size.uneven": ["大小不等"],
    "calc_density.low": ["密度较淡"],
    "calc_density.high": ["密度较高"],
    "calc_density.uneven": ["密度不均"],
    "calc_distribution.scattered": ["散在分布"],
    "calc_distribution.clustered": ["呈簇状分布", "成簇分布"],
    "calc_distribution.linear_segmental": ["呈线样分布", "呈段样分布"],
    "misc.architectural_distortion": ["局部结构扭曲"],
    "misc.focal_asymmetric_density": ["局灶性不对称致密影"],
    "misc.duct_sign": ["可见导管征"],
    "misc.comet_tail_sign": ["可见彗星尾征"],
    "misc.halo_sign": ["周围见透亮晕环（晕征）"],
    "misc.skin_thickening_retraction": ["邻近皮肤增厚、凹陷", "局部皮肤增厚"],
    "misc.nipple_retraction": ["乳头凹陷"],
    "misc.abnormal_vessel": ["周围见增粗迂曲血管影"],
    "misc.abnormal_lymph_node": ["{side}侧腋下见肿大淋巴结影"],
}
_EN = {
    "mass_shape.irregular": ["irregular"],
    "mass_shape.lobulated": ["lobulated"],
    "mass_shape.ovoid": ["oval", "ovoid"],
    "mass_shape.round": ["round"],
    "mass_edge.microlobulated": ["microlobulated margins"],
    "mass_edge.obscured": ["obscured margins", "partially obscured margins"],
    "mass_edge.spiculated": ["spiculated margins"],
    "mass_edge.well_circumscribed": ["circumscribed margins", "well-defined margins"],
    "mass_density.low": ["low-density"],
    "mass_density.median": ["equal-density", "isodense"],
    "mass_density.high": ["high-density"],
    "calc_shape.branching": ["fine linear branching"],
    "calc_shape.crescentic": ["crescentic", "annular", "punctate", "thread-like"],
    "calc_shape.granular": ["coarse granular", "popcorn-like", "large rod-like", "eggshell"],
    "calc_size.coarse": ["coarse"],
    "calc_size.tiny": ["tiny", "fine"],
    "calc_size.uneven": ["pleomorphic", "variably sized"],
    "calc_density.low": ["faint"],
    "calc_density.high": ["dense"],
    "calc_density.uneven": ["heterogeneous"],
    "calc_distribution.scattered": ["scattered"],
    "calc_distribution.clustered": ["grouped", "clustered"],
    "calc_distribution.linear_segmental": ["linear", "segmental"],
    "misc.architectural_distortion": ["associated architectural distortion"],
    "misc.focal_asymmetric_density": ["a focal asymmetric density"],
    "misc.duct_sign": ["a duct sign"],
    "misc.comet_tail_sign": ["a comet tail sign"],
    "misc.halo_sign": ["a lucent halo (halo sign)"],
    "misc.skin_thickening_retraction": ["focal skin thickening and retraction", "overlying skin thickening"],
    "misc.nipple_retraction": ["nipple retraction"],
    "misc.abnormal_vessel": ["prominent tortuous vessels"],
    "misc.abnormal_lymph_node": ["an enlarged {side} axillary lymph node"],
}
_COMPOSITION = {
    "zh": [
        "双乳腺体呈脂肪型（a型）。",
        "双乳腺体呈散在纤维腺体型（b型）。",
        "双乳腺体呈不均匀致密型（c型）。",
        "双乳腺体呈致密型（d型）。",
    ],
    "en": [
        "The breasts are almost entirely fatty (ACR a).",
        "There are scattered areas of fibroglandular density (ACR b).",
        "The breasts are heterogeneously dense (ACR c).",
        "The breasts are extremely dense (ACR d).",
    ],
}
_IMPRESSION = {
    "zh": {
        "0": "评估不完全，建议结合超声检查",
        "1": "阴性",
        "2": "考虑良性病变",
        "3": "考虑良性可能大，建议短期随访",
        "4A": "低度可疑恶性",
        "4B": "中度可疑恶性",
        "4C": "高度可疑恶性",
        "5": "高度提示恶性，考虑乳腺癌",
        "6": "已活检证实恶性",
    },
    "en": {
        "0": "incomplete – additional imaging evaluation needed",
        "1": "negative",
        "2": "benign finding",
        "3": "probably benign",
        "4A": "low suspicion for malignancy",
        "4B": "moderate suspicion for malignancy",
        "4C": "high suspicion for malignancy",
        "5": "highly suggestive of malignancy",
        "6": "known biopsy-proven malignancy",
    },
}
_QUAD = {
    "zh": {
        "UO": "外上象限",
        "UI": "内上象限",
        "LO": "外下象限",
        "LI": "内下象限",
        "U": "上方",
        "L": "下方",
        "O": "外侧",
        "I": "内侧",
        "C": "乳晕后方",
    },
    "en": {
        "UO": "upper outer quadrant",
        "UI": "upper inner quadrant",
        "LO": "lower outer quadrant",
        "LI": "lower inner quadrant",
        "U": "upper central region",
        "L": "lower central region",
        "O": "outer central region",
        "I": "inner central region",
        "C": "retroareolar region",
    },
}
_DEPTH = {
    "zh": {"anterior": "前带", "middle": "中带", "posterior": "后带"},
    "en": {"anterior": "anterior depth", "middle": "middle depth", "posterior": "posterior depth"},
}


@dataclass(frozen=True)
class ReportFacts:
    """What a report is written from (all drawn in :mod:`mvkl.synth.cases`)."""

    laterality: str  # "L" | "R"
    clock: int  # 1..12, 0 for retroareolar
    depth: str  # anterior | middle | posterior
    size_mm: tuple[float, float]
    kind: str
    manifest: npt.NDArray[np.uint8]
    birads: str
    composition: int  # 0..3 = ACR a..d
    planted: tuple[tuple[str, str], ...] = ()  # (kind, value): name, id, date, phone


def quadrant(laterality: str, clock: int) -> str:
    """Quadrant code from side and clock face (viewer facing the patient: 3 o'clock is lateral
    for the left breast, medial for the right)."""
    if clock == 0:
        return "C"
    outer = {"L": (1, 2), "R": (10, 11)}[laterality]
    inner = {"L": (10, 11), "R": (1, 2)}[laterality]
    low_outer = {"L": (4, 5), "R": (7, 8)}[laterality]
    low_inner = {"L": (7, 8), "R": (4, 5)}[laterality]
    for code, hours in (("UO", outer), ("UI", inner), ("LO", low_outer), ("LI", low_inner)):
        if clock in hours:
            return code
    if clock == 12:
        return "U"
    if clock == 6:
        return "L"
    return "O" if (clock == 3) == (laterality == "L") else "I"


def location_phrases(lang: str, laterality: str, clock: int, depth: str) -> tuple[str, str]:
    """(phrase for the report, short text for the table's 位置 column)."""
    q = _QUAD[lang][quadrant(laterality, clock)]
    if lang == "zh":
        side = "左乳" if laterality == "L" else "右乳"
        clk = "" if clock == 0 else f"（约{clock}点钟方向）"
        return f"{side}{q}{clk}{_DEPTH['zh'][depth]}", f"{side}{q}" + (f"{clock}点" if clock else "")
    side = "left" if laterality == "L" else "right"
    clk = "" if clock == 0 else f" at {clock} o'clock"
    return (
        f"In the {side} breast, {q}{clk}, {_DEPTH['en'][depth]},",
        f"{side.capitalize()} breast, {q}" + (f", {clock} o'clock" if clock else ""),
    )


def _pick(rng: np.random.Generator, options: list[str]) -> str:
    return options[int(rng.integers(len(options)))]


def _mentioned(rng: np.random.Generator, m: npt.NDArray[np.uint8]) -> list[str]:
    out = []
    for o in S.OPTIONS:
        if m[o.index] and rng.random() < _MENTION[o.group]:
            out.append(o.key)
    return out


def _birads_line(rng: np.random.Generator, lang: str, birads: str, impression: str) -> str:
    b = birads if rng.random() < 0.8 else birads.lower()
    k = int(rng.integers(4))
    if lang == "zh":
        return [
            f"BI-RADS：{b}类",
            f"诊断意见：{impression}，BI-RADS分类：{b}类。",
            f"BI-RADS {b}",
            f"印象：{impression}（BI-RADS {b}类）。",
        ][k]
    return [
        f"Assessment: BI-RADS category {b} – {impression}.",
        f"IMPRESSION: {impression.capitalize()}. BI-RADS {b}.",
        f"BI-RADS: {b} ({impression})",
        f"BI-RADS {b}",
    ][k]


def _planted_sentence(lang: str, planted: tuple[tuple[str, str], ...]) -> str:
    d = dict(planted)
    if lang == "zh":
        parts = []
        if "name" in d:
            parts.append(f"患者{d['name']}")
        if "id" in d:
            parts.append(f"住院号{d['id']}")
        if "date" in d:
            parts.append(f"与{d['date']}外院片比较")
        if "phone" in d:
            parts.append(f"已电话通知临床（{d['phone']}）")
        return "，".join(parts) + "。" if parts else ""
    parts = []
    if "name" in d:
        parts.append(f"Patient {d['name']}")
    if "id" in d:
        parts.append(f"MRN {d['id']}")
    if "date" in d:
        parts.append(f"compared with the outside study of {d['date']}")
    if "phone" in d:
        parts.append(f"findings phoned to the referring clinic at {d['phone']}")
    text = "; ".join(parts) + "."
    return text[0].upper() + text[1:] if parts else ""


def _size_text(rng: np.random.Generator, lang: str, size: tuple[float, float]) -> str:
    a, b = size
    if rng.random() < 0.6:
        return f"{a / 10:.1f}cm×{b / 10:.1f}cm" if lang == "zh" else f"{a / 10:.1f} x {b / 10:.1f} cm"
    return f"{a:.0f}mm×{b:.0f}mm" if lang == "zh" else f"{a:.0f} x {b:.0f} mm"


def write_report(rng: np.random.Generator, lang: str, f: ReportFacts) -> str:
    """One report for one lump (lines separated by newlines, as reports are stored)."""
    words = _ZH if lang == "zh" else _EN
    keys = _mentioned(rng, f.manifest)
    get = {o.group: o.key for o in S.OPTIONS if o.key in keys}
    misc = [k for k in keys if k.startswith("misc.")]
    side_zh, side_en = ("左", "left") if f.laterality == "L" else ("右", "right")
    loc, _ = location_phrases(lang, f.laterality, f.clock, f.depth)
    size = _size_text(rng, lang, f.size_mm)
    lines: list[str] = []
    if rng.random() < 0.7:
        lines.append(_COMPOSITION[lang][f.composition])
    w = {k: _pick(rng, words[k]) for k in keys}
    if lang == "zh":
        if "mass" in f.kind:
            desc = f"{loc}见一{w.get(get.get('mass_shape', ''), '')}{w.get(get.get('mass_density', ''), '')}肿块影"
            desc += f"，大小约{size}"
            if "mass_edge" in get:
                desc += f"，{w[get['mass_edge']]}"
        elif "calc" in f.kind:
            desc = f"{loc}见钙化灶，范围约{size}"
        else:
            desc = f"{loc}见局部异常密度区，范围约{size}"
        if "calc" in f.kind:
            c = "".join(w.get(get.get(g, ""), "") for g in ("calc_size", "calc_shape"))
            desc += f"，{'其内' if 'mass' in f.kind else ''}见{c}钙化"
            for g in ("calc_density", "calc_distribution"):
                if g in get:
                    desc += f"，{w[get[g]]}"
        signs = [w[k].format(side=side_zh) for k in misc]
        lines.append(desc + "。" + ("".join(s + "。" for s in signs)))
        lines.append(f"{'右' if f.laterality == 'L' else '左'}乳未见明显异常。")
    else:
        if "mass" in f.kind:
            adj = " ".join(x for x in (w.get(get.get("mass_shape", "")), w.get(get.get("mass_density", ""))) if x)
            desc = f"{loc} there is {'an' if adj[:1] in 'aeiou' and adj else 'a'} {adj + ' ' if adj else ''}mass"
            desc += f" measuring {size}"
            if "mass_edge" in get:
                desc += f" with {w[get['mass_edge']]}"
        elif "calc" in f.kind:
            desc = f"{loc} there are calcifications over an area of {size}"
        else:
            desc = f"{loc} there is an area of abnormal density measuring {size}"
        if "calc" in f.kind:
            c = " ".join(
                x
                for x in (
                    w.get(get.get("calc_size", "")),
                    w.get(get.get("calc_density", "")),
                    w.get(get.get("calc_shape", "")),
                )
                if x
            )
            dist = w.get(get.get("calc_distribution", ""))
            desc += f"{', containing' if 'mass' in f.kind else ':'} {c + ' ' if c else ''}calcifications"
            desc += f" in a {dist} distribution" if dist else ""
        signs = [w[k].format(side=side_en) for k in misc]
        desc += "." + (
            " There is " + ", ".join(signs[:-1]) + (" and " if len(signs) > 1 else "") + signs[-1] + "."
            if signs
            else ""
        )
        lines.append(desc)
        lines.append(f"The {'right' if f.laterality == 'L' else 'left'} breast is unremarkable.")
    if f.planted:
        lines.append(_planted_sentence(lang, f.planted))
    lines.append(_birads_line(rng, lang, f.birads, _IMPRESSION[lang][f.birads]))
    return "\n".join(lines)


def clinical_reports(n: int, seed: int, lang: str | None = None) -> list[str]:
    """``n`` reports with nothing identifying, their facts drawn from ``seed`` (laterality, clock,
    depth, size, kind, a random 35-dim manifestation, BI-RADS and composition in turn), in ``lang``
    or alternating zh / en: the clinical text that de-identification must leave untouched."""
    from mvkl.manifest import schema as manifest_schema

    rng = np.random.default_rng(seed)
    n_opt = len(manifest_schema.OPTIONS)
    out = []
    for i in range(n):
        facts = ReportFacts(
            laterality="LR"[i % 2], clock=int(rng.integers(0, 13)), depth=("anterior", "middle", "posterior")[i % 3],
            size_mm=(float(rng.uniform(3, 40)), float(rng.uniform(3, 30))),
            kind=("mass", "calcification", "distortion", "asymmetry")[i % 4],
            manifest=(rng.random(n_opt) < 0.3).astype(np.uint8), birads=("2", "3", "4A", "4B", "5")[i % 5],
            composition=i % 4)
        out.append(write_report(rng, lang or ("zh", "en")[i % 2], facts))
    return out

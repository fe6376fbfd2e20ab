"""The 35-dimension manifestation schema of the MVKL data set (paper Table 1, Sec. 3).

Eight mutually exclusive groups (mass shape 4, mass edge 4, mass density 3, mass size 3,
calcification shape 3, calcification size 3, calcification density 3, calcification
distribution 3) and nine independent miscellaneous signs, in the paper's order. Options written
with a slash in Table 1 ("crescentic/annular/gritty/thread-like") are one dimension with several
accepted names. Every option and group carries an English and a Chinese label.

The schema is data, not behaviour: encoding, validation and packing live in sibling modules.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache

__all__ = [
    "DIM",
    "GROUPS",
    "MISC_GROUP",
    "OPTIONS",
    "Group",
    "Option",
    "canonical_token",
    "dim_keys",
    "exclusive_groups",
    "group_by_key",
    "option_by_key",
]


@dataclass(frozen=True)
class Option:
    """One dimension of the manifestation vector.

    Attributes:
        index: position 0..34 in the vector (bit ``index`` of the packed uint64).
        group: key of the group it belongs to, e.g. ``"mass_shape"``.
        key: stable ASCII key, e.g. ``"mass_shape.irregular"``.
        en: English label as printed in paper Table 1.
        zh: Chinese label.
        aliases: further accepted spellings (English or Chinese; matched case- and
            punctuation-insensitively), including each part of a slash-merged option.
    """

    index: int
    group: str
    key: str
    en: str
    zh: str
    aliases: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        """Every accepted name: key, the short key, English, Chinese and aliases."""
        short = self.key.split(".", 1)[1]
        return (self.key, short, self.en, self.zh, *self.aliases)


@dataclass(frozen=True)
class Group:
    """A row of paper Table 1.

    Attributes:
        key: ASCII key, e.g. ``"mass_edge"``.
        en, zh: labels.
        exclusive: True for the eight mutually exclusive groups, False for the miscellaneous
            signs, which are independent 0/1 dimensions.
        options: the options in table order.
        aliases: further accepted column names for the group in the readable layout.
    """

    key: str
    en: str
    zh: str
    exclusive: bool
    options: tuple[Option, ...] = field(default_factory=tuple)
    aliases: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return (self.key, self.en, self.zh, *self.aliases)

    @property
    def slice(self) -> slice:
        return slice(self.options[0].index, self.options[-1].index + 1)


# (group key, en, zh, exclusive, group aliases, [(option short key, en, zh, aliases), ...])
_TABLE: list[tuple[str, str, str, bool, tuple[str, ...], list[tuple[str, str, str, tuple[str, ...]]]]] = [
    ("mass_shape", "mass shape", "肿块形状", True, ("mass form", "肿块形态"), [
        ("irregular", "irregular", "不规则形", ("不规则",)),
        ("lobulated", "lobulated", "分叶形", ("分叶", "分叶状")),
        ("ovoid", "ovoid", "椭圆形", ("oval", "卵圆形", "椭圆")),
        ("round", "round", "圆形", ("圆",)),
    ]),
    ("mass_edge", "mass edge", "肿块边缘", True, ("mass margin", "mass margins"), [
        ("microlobulated", "microlobulated", "微分叶", ("微小分叶", "微分叶状")),
        ("obscured", "obscured", "遮蔽", ("模糊", "边缘模糊", "obscure")),
        ("spiculated", "spiculated", "毛刺", ("毛刺状", "spiculate")),
        ("well_circumscribed", "well-circumscribed", "清晰", ("circumscribed", "边缘清晰", "边界清晰")),
    ]),
    ("mass_density", "mass density", "肿块密度", True, (), [
        ("low", "low", "低密度", ("低",)),
        ("median", "median", "等密度", ("medium", "equal", "中等密度", "中等")),
        ("high", "high", "高密度", ("高",)),
    ]),
    ("mass_size", "mass size", "肿块大小", True, (), [
        ("le_2cm", "≤2cm", "≤2cm", ("<=2cm", "<2cm", "le2cm", "小于等于2cm")),
        ("2_5cm", "2-5cm", "2-5cm", ("2~5cm", "2–5cm", "2to5cm")),
        ("gt_5cm", ">5cm", ">5cm", ("gt5cm", "大于5cm")),
    ]),
    ("calc_shape", "calcification shape", "钙化形态", True, ("calc shape", "钙化形状"), [
        ("branching", "branching", "分支状", ("分支",)),
        ("crescentic", "crescentic/annular/gritty/thread-like", "新月形/环形/砂粒样/线样",
         ("crescentic", "annular", "gritty", "thread-like", "threadlike",
          "新月形", "环形", "砂粒样", "砂砾样", "线样")),
        ("granular", "granular/popcorn-like/large rod-like/eggshell-like", "颗粒状/爆米花样/粗棒状/蛋壳样",
         ("granular", "popcorn-like", "popcorn", "large rod-like", "rod-like", "eggshell-like", "eggshell",
          "颗粒状", "爆米花样", "粗棒状", "蛋壳样")),
    ]),
    ("calc_size", "calcification size", "钙化大小", True, ("calc size",), [
        ("coarse", "coarse", "粗大", ("粗",)),
        ("tiny", "tiny", "细小", ("fine", "微小")),
        ("uneven", "uneven", "大小不等", ("varied", "不均")),
    ]),
    ("calc_density", "calcification density", "钙化密度", True, ("calc density",), [
        ("low", "low", "低密度", ("低", "淡")),
        ("high", "high", "高密度", ("高", "致密")),
        ("uneven", "uneven", "密度不均", ("不均", "varied")),
    ]),
    ("calc_distribution", "calcification distribution", "钙化分布", True, ("calc distribution",), [
        ("scattered", "scattered", "散在", ("diffuse", "diffusely scattered", "散在分布", "弥漫")),
        ("clustered", "clustered", "簇状", ("grouped", "成簇", "簇状分布", "集簇")),
        ("linear_segmental", "linear/segmental", "线样/段样",
         ("linear", "segmental", "线样分布", "段样分布", "线性", "段性")),
    ]),
    ("misc", "miscellaneous", "其他征象", False, ("misc", "other signs", "其他"), [
        ("architectural_distortion", "architectural distortion", "结构扭曲", ("结构紊乱",)),
        ("focal_asymmetric_density", "focal asymmetrical density", "局灶性不对称致密",
         ("focal asymmetric density", "focal asymmetry", "局灶不对称致密", "局灶性不对称")),
        ("duct_sign", "duct sign", "导管征", ()),
        ("comet_tail_sign", "comet tail sign", "彗星尾征", ("comet-tail sign",)),
        ("halo_sign", "halo sign", "晕征", ("透亮环",)),
        ("skin_thickening_retraction", "focal skin thickening/retraction", "局部皮肤增厚/凹陷",
         ("skin thickening", "skin retraction", "皮肤增厚", "皮肤凹陷", "局部皮肤增厚", "局部皮肤凹陷")),
        ("nipple_retraction", "nipple retraction", "乳头凹陷", ("乳头内陷",)),
        ("abnormal_vessel", "abnormal blood vessel shadow", "异常血管影", ("血管影增粗", "abnormal vessel")),
        ("abnormal_lymph_node", "abnormal lymph node shadow", "异常淋巴结影",
         ("abnormal lymph node", "淋巴结肿大", "lymph node")),
    ]),
]


def _build() -> tuple[tuple[Group, ...], tuple[Option, ...]]:
    groups: list[Group] = []
    options: list[Option] = []
    for gkey, gen, gzh, exclusive, galiases, opts in _TABLE:
        gopts = []
        for short, en, zh, aliases in opts:
            opt = Option(len(options), gkey, f"{gkey}.{short}", en, zh, aliases)
            options.append(opt)
            gopts.append(opt)
        groups.append(Group(gkey, gen, gzh, exclusive, tuple(gopts), galiases))
    return tuple(groups), tuple(options)


GROUPS, OPTIONS = _build()
#: Number of dimensions: 8 exclusive groups (4+4+3+3+3+3+3+3) + 9 miscellaneous signs.
DIM: int = len(OPTIONS)
MISC_GROUP: Group = GROUPS[-1]
assert DIM == 35, DIM  # paper Sec. 3: "a binary vector of 35 dimensions"

_PUNCT = re.compile(r"[\s_\-–—.·/()（）:：,，]+")


def canonical_token(text: str) -> str:
    """Normalise a name for matching: NFKC, lower case, punctuation and spaces removed.

    ``"Well-Circumscribed"``, ``"well circumscribed"`` and ``"WELL_CIRCUMSCRIBED"`` all give
    ``"wellcircumscribed"``; full-width Chinese punctuation is folded by NFKC.
    """
    t = unicodedata.normalize("NFKC", str(text)).strip().lower()
    t = t.replace("≤", "<=").replace("≥", ">=")
    return _PUNCT.sub("", t)


def dim_keys() -> list[str]:
    """The 35 option keys in vector order (the canonical wide-binary column names)."""
    return [o.key for o in OPTIONS]


def exclusive_groups() -> tuple[Group, ...]:
    return tuple(g for g in GROUPS if g.exclusive)


@cache
def group_by_key() -> dict[str, Group]:
    return {g.key: g for g in GROUPS}


@cache
def option_by_key() -> dict[str, Option]:
    return {o.key: o for o in OPTIONS}


@cache
def _group_name_index() -> dict[str, Group]:
    idx: dict[str, Group] = {}
    for g in GROUPS:
        for name in g.names:
            idx.setdefault(canonical_token(name), g)
    return idx


@cache
def _option_name_index() -> dict[tuple[str, str], Option]:
    idx: dict[tuple[str, str], Option] = {}
    for o in OPTIONS:
        for name in o.names:
            idx.setdefault((o.group, canonical_token(name)), o)
    return idx


@cache
def _column_name_index() -> dict[str, Option]:
    """Names a wide-binary column may carry: the key, ``group.option`` in any label language,
    and, for names that are unique across the schema, the bare option label."""
    idx: dict[str, Option] = {}
    counts: dict[str, int] = {}
    for o in OPTIONS:
        g = group_by_key()[o.group]
        for gname in g.names:
            for oname in o.names[1:]:
                idx.setdefault(canonical_token(f"{gname}.{oname}"), o)
                idx.setdefault(canonical_token(f"{gname} {oname}"), o)
        idx.setdefault(canonical_token(o.key), o)
        for oname in set(map(canonical_token, o.names[1:])):
            counts[oname] = counts.get(oname, 0) + 1
    for o in OPTIONS:
        for oname in o.names[1:]:
            tok = canonical_token(oname)
            if counts.get(tok) == 1:
                idx.setdefault(tok, o)
    return idx


def find_group(name: str) -> Group | None:
    """The group a readable-layout column name refers to, or None."""
    return _group_name_index().get(canonical_token(name))


def find_option(group: str, name: str) -> Option | None:
    """The option of ``group`` that ``name`` spells (any accepted name, any case), or None."""
    return _option_name_index().get((group, canonical_token(name)))


def find_column_option(name: str) -> Option | None:
    """The option a wide-binary column name refers to, or None (e.g. a metadata column)."""
    return _column_name_index().get(canonical_token(name))


def option_choices(group: str) -> list[str]:
    """Every accepted spelling of the options of ``group`` (for suggestions)."""
    g = group_by_key()[group]
    return [n for o in g.options for n in o.names]

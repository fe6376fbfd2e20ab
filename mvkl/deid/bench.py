"""A seeded corpus of identifying sentences (zh + en) and the scrubber's recall on it (issue 15).

Every sentence carries one planted identifier of a known category and a clinical clause; recall
counts identifiers with no surviving fragment (any 4-character substring, or the whole value when
shorter), retention counts clinical words that survive.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mvkl.dicom.scrub import scrub_report

__all__ = ["Planted", "evaluate", "make_corpus"]

_ZH_SUR = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"
    "姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴莫孔向汤張陳劉黃趙"
)
_ZH_GIVEN = list("丽娟美玲秀英华敏静芳娜艳霞桂兰凤琴红梅婷雪慧晶燕翠萍玉珍淑")
_EN_FIRST = [
    "Beatrice",
    "Philippa",
    "Margaret",
    "Eleanor",
    "Harriet",
    "Rosalind",
    "Imogen",
    "Gwendolyn",
    "Marjorie",
    "Theodora",
    "Cordelia",
    "Winifred",
    "Agatha",
    "Lavinia",
    "Josephine",
    "Florence",
]
_EN_LAST = [
    "Whitfield",
    "Delacroix",
    "Ashworth",
    "Pemberton",
    "Kowalski",
    "Fairbanks",
    "Thornbury",
    "Haddad",
    "Okonkwo",
    "Lindqvist",
    "Marchetti",
    "Holloway",
    "Brightwater",
    "Castellano",
    "Nakamura",
    "Rutherford",
]
_STREETS = ["Elmwood", "Birchfield", "Kingsway", "Harbour", "Maple", "Ridgeview"]
_ZH_CLIN = "左乳外上象限10点钟方向见一肿块，大小约1.5cm×1.2cm，边缘毛刺，BI-RADS 4A。"
_EN_CLIN = "Irregular mass at 2 o'clock, 12 mm, spiculated margins, BI-RADS 4B."
_CLIN_WORDS = {
    "zh": ["左乳", "外上象限", "10点钟", "肿块", "1.5cm×1.2cm", "边缘毛刺", "BI-RADS 4A"],
    "en": ["Irregular", "mass", "2 o'clock", "12 mm", "spiculated", "margins", "BI-RADS 4B"],
}
_ZH_NUM = "〇一二三四五六七八九"
_MON = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]

# (category, template); {v} is the identifier
_TEMPLATES: dict[str, list[tuple[str, str]]] = {
    "zh": [
        ("name", "患者{v}，女，61岁。"),
        ("name", "姓名：{v}"),
        ("name", "患者{v}于外院复查。"),
        ("name", "姓名:{v}，"),
        ("name", "报告医师：{v}"),
        ("name", "审核医生：{v}"),
        ("name", "{v}女士来诊。"),
        ("address", "家住{v}。"),
        ("address", "住址：{v}，"),
        ("institution", "于{v}就诊。"),
        ("institution", "曾在{v}行超声检查。"),
        ("date", "检查日期：{v}。"),
        ("date", "与{v}片比较。"),
        ("phone", "电话：{v}"),
        ("phone", "联系电话{v}。"),
        ("id", "住院号：{v}"),
        ("id", "身份证号{v}"),
        ("email", "邮箱：{v}"),
        ("age", "患者，女，{v}岁。"),
    ],
    "en": [
        ("name", "Patient {v}, MRN pending."),
        ("name", "Patient: {v}"),
        ("name", "{v} tolerated the examination well."),
        ("name", "Dr {v} reviewed the images."),
        ("name", "Reported by: {v}"),
        ("name", "{v} underwent biopsy."),
        ("address", "Address: {v}."),
        ("address", "Lives at {v}."),
        ("institution", "Comparison with prior exam at {v}."),
        ("institution", "Referred from {v}."),
        ("date", "Exam date: {v}."),
        ("date", "Compared with the study of {v}."),
        ("phone", "Tel: {v}"),
        ("phone", "Call back at {v}."),
        ("id", "MRN {v}"),
        ("id", "Accession No: {v}"),
        ("email", "Contact {v} for results."),
        ("age", "A {v}-year-old woman."),
    ],
}


@dataclass(frozen=True)
class Planted:
    """One corpus sentence: its language, category, identifier and text."""

    lang: str
    kind: str
    value: str
    text: str


def _zh_digits(s: str) -> str:
    return "".join(_ZH_NUM[int(c)] for c in s)


def _value(rng: np.random.Generator, lang: str, kind: str) -> str:
    r = int(rng.integers(0, 1 << 30))
    pick = lambda xs: xs[r % len(xs)]  # noqa: E731
    if kind == "name":
        if lang == "zh":
            return pick(_ZH_SUR) + "".join(rng.choice(_ZH_GIVEN, size=int(rng.integers(1, 3))))
        first, last = pick(_EN_FIRST), _EN_LAST[(r >> 5) % len(_EN_LAST)]
        return f"{first} {last}" if r % 3 else f"{first} {last[:2].upper()}{last[2:].upper()}{r % 9000000 + 1000000}"
    y, m, d = 2000 + r % 24, 1 + r % 12, 1 + r % 28
    if kind == "date":
        forms = [
            f"{y}-{m:02d}-{d:02d}",
            f"{y}/{m}/{d}",
            f"{d:02d}-{_MON[m - 1]}-{y}",
            f"{y}年{m}月{d}日",
            f"{y}年{m}月",
            f"{_zh_digits(str(y))}年{'一二三四五六七八九'[m % 9]}月{'一二三四五六七八九'[d % 9]}日",
            f"{y}{m:02d}{d:02d}",
            f"{d:02d}.{m:02d}.{y}",
        ]
        return forms[(r >> 3) % len(forms)]
    if kind == "phone":
        num = f"1{3 + r % 7}{r % 1000000000:09d}"
        return [num, f"{num[:3]}-{num[3:7]}-{num[7:]}", _zh_digits(num), f"010-{r % 90000000 + 10000000}"][(r >> 4) % 4]
    if kind == "id":
        return [
            f"A{r % 9000000 + 1000000}",
            f"{r % 90000000 + 10000000}",
            f"110105{y}{m:02d}{d:02d}{r % 1000:03d}{r % 10}",
        ][(r >> 2) % 3]
    if kind == "email":
        return f"{pick(_EN_LAST).lower()}{r % 100}@example.org"
    if kind == "age":
        return str(90 + r % 15)
    if kind == "address":
        if lang == "zh":
            city = pick(["北京市朝阳区", "广州市天河区", "上海市徐汇区"])
            return f"{city}{pick(['建国路', '中山大道', '漕溪北路'])}{r % 300 + 1}号"
        return f"{r % 900 + 10} {pick(_STREETS)} {pick(['Avenue', 'Street', 'Road', 'Lane'])}"
    if lang == "zh":
        return f"{pick(['华南理工大学附属第二', '北京市第一人民', '广州市妇幼保健'])}{pick(['医院', '医院', '院'])}"
    return (
        f"{pick(['Mercy', 'St Anne', 'Riverside', 'Northgate'])} {pick(['Women', 'General', 'Community'])} "
        f"{pick(['Hospital', 'Clinic', 'Medical Center', 'Centre'])}"
    )


def make_corpus(n: int, seed: int, templates: str = "all") -> list[Planted]:
    """``n`` sentences, half zh and half en; ``templates`` "even", "odd" or "all" picks the template mix."""
    rng = np.random.default_rng(seed)
    out: list[Planted] = []
    for i in range(n):
        lang = ("zh", "en")[i % 2]
        pool = [t for j, t in enumerate(_TEMPLATES[lang]) if templates == "all" or j % 2 == (templates == "odd")]
        kind, tpl = pool[int(rng.integers(0, len(pool)))]
        value = _value(rng, lang, kind)
        if kind == "name" and rng.random() < 0.1:
            tpl = tpl.replace("{v}", "{v}\n", 1) if lang == "en" else tpl
        text = tpl.format(v=value) + (_ZH_CLIN if lang == "zh" else " " + _EN_CLIN)
        if lang == "zh" and rng.random() < 0.3:
            text = text.replace(":", "：").replace(",", "，")
        out.append(Planted(lang, kind, value, text))
    return out


def _leaked(value: str, out: str, kind: str, context: str = "") -> bool:
    """A 4-character fragment of ``value`` (the whole value when shorter) survives in ``out``;
    fragments that the sentence has anyway without the value (``context``) do not count."""
    if kind == "age":
        return f"{value}岁" in out or f"{value}-year" in out
    k = min(4, len(value))
    low, ctx = out.lower(), context.lower()
    grams = {value[i : i + k].lower() for i in range(len(value) - k + 1)}
    return any(g.strip() and g in low and g not in ctx for g in grams)


def evaluate(corpus: list[Planted], scrub: Callable[[str], str] | None = None) -> dict[str, object]:
    """Per (language, category) recall, clinical-word retention and sentences/s of ``scrub``."""
    fn = scrub or (lambda t: scrub_report(t)[0])
    found: dict[str, list[int]] = {}
    kept = total = 0
    t0 = time.perf_counter()
    outs = [fn(p.text) for p in corpus]
    secs = time.perf_counter() - t0
    for p, out in zip(corpus, outs, strict=True):
        cell = found.setdefault(f"{p.lang}/{p.kind}", [0, 0])
        cell[0] += not _leaked(p.value, out, p.kind, p.text.replace(p.value, ""))
        cell[1] += 1
        words = _CLIN_WORDS[p.lang]
        kept += sum(w in out for w in words)
        total += len(words)
    return {
        "n": len(corpus),
        "recall": {k: round(a / b, 4) for k, (a, b) in sorted(found.items())},
        "retention": round(kept / max(total, 1), 4),
        "sentences_per_s": round(len(corpus) / max(secs, 1e-9)),
    }

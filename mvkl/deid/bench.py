"""A seeded corpus of identifying sentences (zh + en) and the scrubber's recall on it (issue 15).

Every sentence carries one planted identifier of a known category and a clinical clause; recall
counts identifiers with no surviving fragment (any 4-character substring, or the whole value when
shorter), retention counts clinical words that survive.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mvkl.deid.scrub import scrub_report

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
_PINYIN = ["Zhang", "Wang", "Li", "Liu", "Chen", "Huang", "Zhao", "Xiang", "Ouyang", "Guo"]
_PINYIN_GIVEN = ["Lijuan", "Meiling", "Xiuying", "Jingwen", "Yanhong", "Cuiping", "Shufen", "Guilan"]
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"]
_ZH_INST = ["华南理工大学附属第二", "北京市第一人民", "中山大学肿瘤防治", "复旦大学附属肿瘤", "浙江省人民",
            "深圳市宝安区", "四川大学华西", "番禺区石楼镇"]
_ZH_INST_END = ["医院", "医院", "中心医院", "妇幼保健院", "卫生院", "医学中心", "体检中心"]
_STREETS = ["Elmwood", "Birchfield", "Kingsway", "Harbour", "Maple", "Ridgeview"]
_ZH_CLIN = [
    "左乳外上象限10点钟方向见一肿块，大小约1.5cm×1.2cm，边缘毛刺，BI-RADS 4A。",
    "右乳内下象限见簇状细小多形性钙化，范围约0.8cm，BI-RADS 4B。",
    "双乳腺体呈不均匀致密型，右乳3点钟方向见结构扭曲，建议活检。",
]
_EN_CLIN = [
    "Irregular mass at 2 o'clock, 12 mm, spiculated margins, BI-RADS 4B.",
    "Grouped fine pleomorphic calcifications in the upper outer quadrant, BI-RADS 4C.",
    "Heterogeneously dense breasts; architectural distortion at 10 o'clock, BI-RADS 4A.",
]
_CLIN_WORDS = {
    "zh": [["左乳", "外上象限", "10点钟", "肿块", "1.5cm×1.2cm", "边缘毛刺", "BI-RADS 4A"],
           ["右乳", "内下象限", "簇状", "多形性钙化", "0.8cm", "BI-RADS 4B"],
           ["双乳", "不均匀致密型", "3点钟方向", "结构扭曲", "建议活检"]],
    "en": [["Irregular", "mass", "2 o'clock", "12 mm", "spiculated", "margins", "BI-RADS 4B"],
           ["Grouped", "pleomorphic", "calcifications", "upper outer quadrant", "BI-RADS 4C"],
           ["Heterogeneously dense", "architectural distortion", "10 o'clock", "BI-RADS 4A"]],
}
_ZH_NUM = "〇一二三四五六七八九"
_CJK_RE = re.compile("[\u3400-\u9fff]+")
_PLACEHOLDER_RE = re.compile(r"\[[A-Z]+\]")
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
        ("name", "报告人：{v}"),
        ("name", "{v}医生建议随访。"),
        ("name", "病人{v}因右乳肿物来诊。"),
        ("address", "家住{v}。"),
        ("address", "住址：{v}，"),
        ("address", "现住{v}。"),
        ("institution", "于{v}就诊。"),
        ("institution", "曾在{v}行超声检查。"),
        ("institution", "外院（{v}）超声提示结节。"),
        ("date", "检查日期：{v}。"),
        ("date", "与{v}片比较。"),
        ("date", "于{v}行穿刺活检。"),
        ("phone", "电话：{v}"),
        ("phone", "联系电话{v}。"),
        ("id", "住院号：{v}"),
        ("id", "身份证号{v}"),
        ("id", "门诊号{v}，"),
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
        ("name", "Name: {v}"),
        ("name", "Referring physician: {v}, MD."),
        ("name", "Mrs {v} attended for screening."),
        ("address", "Address: {v}."),
        ("address", "Lives at {v}."),
        ("institution", "Comparison with prior exam at {v}."),
        ("institution", "Referred from {v}."),
        ("institution", "Prior films from {v} were reviewed."),
        ("date", "Exam date: {v}."),
        ("date", "Compared with the study of {v}."),
        ("phone", "Tel: {v}"),
        ("phone", "Call back at {v}."),
        ("phone", "Mobile: {v}"),
        ("id", "MRN {v}"),
        ("id", "Accession No: {v}"),
        ("email", "Contact {v} for results."),
        ("age", "A {v}-year-old woman."),
    ],
}


@dataclass(frozen=True)
class Planted:
    """One corpus sentence: its language, category, identifier, text and construction.

    ``form`` is ``plain``, ``mixed-script`` (a pinyin or English name in a zh sentence, a Chinese
    name in an en one), ``line-break`` (the identifier broken by a newline) or ``fullwidth``
    (full-width punctuation in an en sentence); ``clinical`` indexes the clinical clause."""

    lang: str
    kind: str
    value: str
    text: str
    form: str = "plain"
    clinical: int = 0


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
    if kind == "name-mixed":  # a name in the other script (issue 15: mixed-script names)
        sur, given = _PINYIN[r % len(_PINYIN)], _PINYIN_GIVEN[(r >> 4) % len(_PINYIN_GIVEN)]
        if lang == "zh":
            return [f"{sur} {given}", f"{sur.upper()} {given.upper()}", f"{pick(_EN_FIRST)} {_EN_LAST[(r >> 5) % 16]}",
                    f"{_ZH_SUR[r % len(_ZH_SUR)]}{given}"][(r >> 8) % 4]
        zh = _ZH_SUR[r % len(_ZH_SUR)] + "".join(rng.choice(_ZH_GIVEN, size=2))
        return [zh, f"{zh[0]} {given}", f"{given} {zh[0]}"][(r >> 8) % 3]
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
            f"{_MONTHS[m - 1]} {d}, {y}",
            f"{d} {_MONTHS[m - 1][:3]} {y}",
            f"{y}.{m}.{d}",
            f"{m:02d}/{d:02d}/{y}",
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
        return f"{pick(_ZH_INST)}{_ZH_INST_END[(r >> 6) % len(_ZH_INST_END)]}"
    kinds = ["Women", "General", "Community", "Women's"]
    return (
        f"{pick(['Mercy', 'St Anne', 'Riverside', 'Northgate'])} {kinds[(r >> 3) % 4]} "
        f"{pick(['Hospital', 'Clinic', 'Medical Center', 'Centre'])}"
    )


def make_corpus(n: int, seed: int, templates: str = "all") -> list[Planted]:
    """``n`` sentences, half zh and half en; ``templates`` "even", "odd" or "all" picks the template mix.

    A name template gets a name in the other script one time in five (``mixed-script``), and a
    labelled name, address or institution is broken by a newline one time in ten (``line-break``).
    """
    rng = np.random.default_rng(seed)
    out: list[Planted] = []
    for i in range(n):
        lang = ("zh", "en")[i % 2]
        pool = [t for j, t in enumerate(_TEMPLATES[lang]) if templates == "all" or j % 2 == (templates == "odd")]
        kind, tpl = pool[int(rng.integers(0, len(pool)))]
        form = "plain"
        if kind == "name" and rng.random() < 0.2:
            value, form = _value(rng, lang, "name-mixed"), "mixed-script"
        else:
            value = _value(rng, lang, kind)
        if kind in ("name", "address", "institution") and form == "plain" and rng.random() < 0.1:
            value, form = _break(rng, value), "line-break"
        if kind == "name" and form == "plain" and lang == "en" and rng.random() < 0.1:
            tpl = tpl.replace("{v}", "{v}\n", 1)
        ci = int(rng.integers(0, len(_ZH_CLIN)))
        text = tpl.format(v=value) + (_ZH_CLIN[ci] if lang == "zh" else " " + _EN_CLIN[ci])
        if lang == "zh" and rng.random() < 0.3:
            text = text.replace(":", "：").replace(",", "，")
        if lang == "en" and form == "plain" and rng.random() < 0.1:
            text, form = text.replace(": ", "：").replace(", ", "，").replace(". ", "。"), "fullwidth"
        out.append(Planted(lang, kind, value, text, form, ci))
    return out


def _break(rng: np.random.Generator, value: str) -> str:
    """``value`` with a newline at a random inner position (after a space for Latin text)."""
    if " " in value:
        parts = value.split(" ")
        k = int(rng.integers(1, len(parts)))
        return " ".join(parts[:k]) + "\n" + " ".join(parts[k:])
    k = int(rng.integers(1, len(value)))
    return value[:k] + "\n" + value[k:]


def _leaked(value: str, out: str, kind: str, context: str = "") -> bool:
    """A fragment of ``value`` survives in ``out`` (placeholders removed): any 4-character substring
    (the whole value when shorter; whitespace ignored), for a name any two adjacent Chinese
    characters (``李丽[NAME]`` leaks), or any whitespace-separated part of 2+ CJK or 4+ Latin
    characters (a given name surviving on its own). Fragments that the sentence has anyway without
    the value (``context``) do not count."""
    if kind == "age":
        return re.search(rf"(?<!\d){value}\s*(?:岁|周岁|歲|-?\s*(?:year|yr)|y/?o)", out) is not None
    low, ctx = _PLACEHOLDER_RE.sub(" ", out).lower(), context.lower()
    compact = "".join(value.split()).lower()
    k = min(4, len(compact))
    grams = {compact[i : i + k] for i in range(len(compact) - k + 1)}
    if kind == "name":  # a Chinese name is 2-4 characters: two of them surviving together leak (李丽[NAME])
        grams |= {compact[i : i + 2] for i in range(len(compact) - 1) if _CJK_RE.fullmatch(compact[i : i + 2])}
    squeezed = "".join(low.split())
    if any(g in squeezed and g not in "".join(ctx.split()) for g in grams):
        return True
    if kind == "name":
        parts = [t.lower() for t in value.split() if len(t) >= (2 if _CJK_RE.search(t) else 4)]
        return any(t in low and t not in ctx for t in parts)
    return False


def evaluate(corpus: list[Planted], scrub: Callable[[str], str] | None = None) -> dict[str, object]:
    """Per (language, category) and per construction recall, clinical-word retention, sentences/s and
    reports/s (four sentences of one language, one timed call each)."""
    fn = scrub or (lambda t: scrub_report(t)[0])
    found: dict[str, list[int]] = {}
    forms: dict[str, list[int]] = {}
    kept = total = 0
    t0 = time.perf_counter()
    outs = [fn(p.text) for p in corpus]
    secs = time.perf_counter() - t0
    for p, out in zip(corpus, outs, strict=True):
        ok = not _leaked(p.value, out, p.kind, p.text.replace(p.value, ""))
        for table, key in ((found, f"{p.lang}/{p.kind}"), (forms, p.form)):
            cell = table.setdefault(key, [0, 0])
            cell[0] += ok
            cell[1] += 1
        words = _CLIN_WORDS[p.lang][p.clinical]
        kept += sum(w in out for w in words)
        total += len(words)
    reports = []  # four sentences of one language joined by newlines: ~300 characters, the "report"
    for lang in ("zh", "en"):
        texts = [p.text for p in corpus if p.lang == lang]
        reports += ["\n".join(texts[i : i + 4]) for i in range(0, len(texts), 4)]
    t0, c0 = time.perf_counter(), time.process_time()
    for r in reports:
        fn(r)
    report_secs, report_cpu = time.perf_counter() - t0, time.process_time() - c0
    return {
        "n": len(corpus),
        "recall": {k: round(a / b, 4) for k, (a, b) in sorted(found.items())},
        "by_construction": {k: round(a / b, 4) for k, (a, b) in sorted(forms.items())},
        "retention": round(kept / max(total, 1), 4),
        "sentences_per_s": round(len(corpus) / max(secs, 1e-9)),
        "report_chars": round(sum(map(len, reports)) / max(len(reports), 1)),
        "reports_per_s": round(len(reports) / max(report_secs, 1e-9)),
        # CPU time of this process: one core's throughput even when other work shares the machine
        "reports_per_cpu_s": round(len(reports) / max(report_cpu, 1e-9)),
    }

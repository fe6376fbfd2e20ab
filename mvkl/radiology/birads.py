"""BI-RADS final-assessment categories parsed from free-text mammography reports.

The paper evaluates image-report retrieval by comparing the BI-RADS category of the retrieved
training report with that of the ground-truth report (Sec. 5.7, Fig. 4). No parser ships with
the original code, and the MVKL reports are Chinese (docs/fidelity.md, B47). This module is that
parser. It is a pure function of the text: no I/O, no logging of report content.

Recognised phrasings (after Unicode NFKC normalisation, so full-width ``ＢＩ－ＲＡＤＳ　４Ａ``,
``：``, ``（）`` and the Roman-numeral characters ``Ⅳ`` behave like their ASCII forms; case is
ignored):

* the keyword ``BI-RADS`` in any spelling (``BIRADS``, ``Bi-Rads``, ``BI RADS``, ``BI-RADS®``)
  followed by fillers (``:``, ``-``, ``category``, ``class``, ``assessment``, ``分类``, ``分级``,
  ``评估``, ``为`` ...) and a category: Arabic ``0``–``6`` with an optional ``A``/``B``/``C``
  sub-category, Roman ``I``–``VI`` or Chinese ``零``–``六`` numerals, optionally followed by
  ``类``/``级`` and a parenthesised sub-category (``BI-RADS 4 类（4B）`` → ``4B``) or a range
  (``BI-RADS 3-4类`` → both 3 and 4 are mentions);
* ``assessment category 4`` without the keyword;
* Chinese phrasings without the keyword: ``评估分类：4a``, ``分类为4B类``, ``评价为3类`` and a bare
  ``4A类``, unless the few characters before them name another grading (pathology grade,
  density/``腺体``/``ACR`` type, calcification, TNM stage).

A digit is never a category when it is part of a number, a size, a time or a date: it must not
touch another digit or a decimal point and must not be followed by ``cm``, ``mm``, ``%``, ``点``,
``o'clock`` or ``:``-time. So ``4.5cm``, ``4点钟``, ``4 o'clock`` and ``2019-04-05`` never match.

Several mentions (rule ``most_suspicious``, the default): a report may assess each breast, or
quote a prior examination. Mentions preceded in the same clause (and after the previous mention)
by a comparison word (``prior``, ``previous``, ``compared with``, ``from``, ``前片``, ``较前``,
``既往``, ``由`` ...) are *prior* assessments and are ignored; among the remaining *current*
mentions the most suspicious wins, by likelihood of malignancy:
``1 < 2 < 3 < 0 < 4 < 4A < 4B < 4C < 5 < 6``. Category 0 (incomplete, needs work-up) ranks above
the benign categories and below 4; a bare ``4`` ranks below its sub-categories so that the more
specific mention wins; 6 (biopsy-proven malignancy) is the most suspicious. (The ACR atlas's
combined-assessment hierarchy for *management* places 6 below 0, 4 and 5; use ``rule="last"``
or :func:`find_birads` for other policies.) If every mention is a prior one the result is None.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "CATEGORIES",
    "GROUPS",
    "SUSPICION_ORDER",
    "BiradsMention",
    "birads_group",
    "find_birads",
    "normalize_birads",
    "normalize_text",
    "parse_birads",
    "suspicion_rank",
]

#: Every category :func:`parse_birads` returns.
CATEGORIES: tuple[str, ...] = ("0", "1", "2", "3", "4", "4A", "4B", "4C", "5", "6")
#: Categories after merging 4A/4B/4C into 4 (paper Fig. 4).
GROUPS: tuple[str, ...] = ("0", "1", "2", "3", "4", "5", "6")
#: Least to most suspicious (likelihood of malignancy; see the module docstring).
SUSPICION_ORDER: tuple[str, ...] = ("1", "2", "3", "0", "4", "4A", "4B", "4C", "5", "6")
_RANK = {c: i for i, c in enumerate(SUSPICION_ORDER)}

Rule = Literal["most_suspicious", "last", "first"]

_DASHES = dict.fromkeys(map(ord, "‐‑‒–—―−﹣"), "-")
_ROMAN = {"i": "1", "ii": "2", "iii": "3", "iv": "4", "v": "5", "vi": "6"}
_HANZI = {"〇": "0", "零": "0", "一": "1", "二": "2", "三": "3", "四": "4", "五": "5", "六": "6"}

# --- anchors -------------------------------------------------------------------------------------
_KEYWORD = re.compile(r"(?<![a-z])bi\s?[-_.]?\s?rads?(?![a-z])")
_ASSESSMENT = re.compile(r"assessment\s*:?\s*(?:category|cat\b\.?)")
_ZH_ANCHOR = re.compile(r"评估分类|分类评估|评估|评价|分类|类别")
_BARE_LEI = re.compile(r"(?<![\d.a-z])([0-6])\s?([abc])?\s*类")
# Text right before an unanchored Chinese mention that means it grades something else.
_ZH_BLOCK = re.compile(r"病理|组织|核级|分化|密度|腺体|构成|致密|型|acr|钙化|分期|tnm|ki|her|第|级别")

# --- after an anchor -----------------------------------------------------------------------------
_FILLER = re.compile(
    r"(?:\s|[:=\-,.'\"*#()\[\]®]|categor(?:y|ies)|cat\b|class(?:ification)?|final|assessment|"
    r"score|is|of|us\b|mg\b|mri\b|分类|分级|类别|评估|评价|结果|级别|为|是|属|考虑|约){0,10}"
)
_NOT_A_NUMBER = r"(?!\d)(?!\.\d)(?!\s*(?:cm|mm|%|点|o'?clock|:\d))"
_TOKEN = re.compile(
    r"(?:(?<![\d.])(?P<arabic>[0-6])(?:\s?(?P<sub>[abc])(?![a-z]))?" + _NOT_A_NUMBER + r")"
    r"|(?:(?<![a-z])(?P<roman>vi|iv|v|iii|ii|i)(?:\s?(?P<rsub>[abc]))?(?![a-z]))"
    r"|(?:(?P<hanzi>[〇零一二三四五六])(?P<hsub>[abc])?(?=\s*[类级]))"
)
_SUFFIX = re.compile(r"\s*[类级]")
_PAREN_SUB = re.compile(r"\s*[(\[]\s*(?:bi\s?-?\s?rads?\s*)?(?P<d>[0-6])\s?(?P<s>[abc])\s*[类级]?\s*[)\]]")
_RANGE = re.compile(
    r"\s*(?:-|~|/|至|或|到)\s*(?P<d>[0-6])(?:\s?(?P<s>[abc])(?![a-z]))?"
    + _NOT_A_NUMBER
    + r"(?=\s*(?:[类级]|$|[,.;:)\]。、]))"
)

_ZH_TAIL = re.compile(r"\s*(?:[类级]|$|[,.;:)\]。、!?])")

# --- prior-examination context -------------------------------------------------------------------
_CLAUSE_END = re.compile(r"[。;\n!?]|,|\.(?!\d)")
_PRIOR = re.compile(
    r"prior|previous|earlier|compared|comparison|\blast\b|前片|前次|上次|原片|既往|较前|与前|"
    r"对比|老片|曾|原为|以往|之前"
)
# "from"/"由" mark a prior category only right before it: "upgraded from BI-RADS 3 to 4A".
_FROM = re.compile(r"(?:\bfrom|由)\s*(?:bi\s?[-_.]?\s?rads?)?[\s:]*(?:category|cat\b\.?|分类)?[\s:]*$")


@dataclass(frozen=True)
class BiradsMention:
    """One BI-RADS category found in a report.

    Attributes:
        category: one of :data:`CATEGORIES`.
        start, end: span of the category token in :func:`normalize_text` of the report (not the
            raw text: NFKC may change lengths).
        prior: True when the mention quotes a prior examination (module docstring).
        anchor: what introduced it: ``"keyword"`` (BI-RADS), ``"assessment"``, ``"zh"``
            (评估/分类 ...), ``"bare"`` (``4A类``) or ``"range"`` (second end of ``3-4类``).
    """

    category: str
    start: int
    end: int
    prior: bool
    anchor: str


def normalize_text(text: str) -> str:
    """NFKC (full-width → ASCII, ``Ⅳ`` → ``IV``), every dash → ``-``, lower case."""
    return unicodedata.normalize("NFKC", text).translate(_DASHES).lower()


def _category(digit: str, sub: str | None) -> str:
    if sub and digit == "4":
        return "4" + sub.upper()
    return digit  # a sub-category letter on anything but 4 is not BI-RADS; keep the digit


def _read_token(s: str, pos: int) -> tuple[str, int, int] | None:
    """Category token at ``pos`` (after fillers): (category, start, end) or None."""
    m = _TOKEN.match(s, pos)
    if not m:
        return None
    if m.group("arabic"):
        digit, sub = m.group("arabic"), m.group("sub")
    elif m.group("roman"):
        digit, sub = _ROMAN[m.group("roman")], m.group("rsub")
    else:
        digit, sub = _HANZI[m.group("hanzi")], m.group("hsub")
    return _category(digit, sub), m.start(), m.end()


def _extend(s: str, cat: str, end: int) -> tuple[str, int, list[tuple[str, int, int]]]:
    """Consume ``类``/``级``, a parenthesised sub-category and a range after a token."""
    extra: list[tuple[str, int, int]] = []
    m = _SUFFIX.match(s, end)
    if m:
        end = m.end()
    m = _PAREN_SUB.match(s, end)
    if m and cat == m.group("d") == "4":
        cat, end = _category("4", m.group("s")), m.end()
    m = _RANGE.match(s, end)
    if m:
        other = _category(m.group("d"), m.group("s"))
        if (other[0], other[1:]) > (cat[0], cat[1:]):  # an increasing range: "3-4类", "4A/4B"
            extra.append((other, m.start("d"), m.end()))
            end = m.end()
    m = _SUFFIX.match(s, end)
    if m:
        end = m.end()
    return cat, end, extra


def _blocked(s: str, start: int) -> bool:
    """True when the few characters before an unanchored Chinese mention name another grading."""
    window = s[max(0, start - 6) : start]
    window = re.split(r"[,。;\n]", window)[-1]  # only the current clause: "致密型,右乳4a类" is BI-RADS
    return bool(_ZH_BLOCK.search(window))


def find_birads(text: str) -> list[BiradsMention]:
    """Every BI-RADS mention in ``text``, in reading order (see the module docstring)."""
    if not text:
        return []
    s = normalize_text(text)
    found: dict[int, tuple[str, int, int, str]] = {}  # token start -> (cat, start, end, anchor)
    covered: list[tuple[int, int]] = []

    def add(cat: str, start: int, end: int, anchor: str) -> None:
        if any(a <= start < b for a, b in covered):
            return
        found[start] = (cat, start, end, anchor)
        covered.append((start, end))

    def anchored(pattern: re.Pattern[str], anchor: str, check_block: bool) -> None:
        for a in pattern.finditer(s):
            if check_block and _blocked(s, a.start()):
                continue
            f = _FILLER.match(s, a.end())
            pos = f.end() if f else a.end()
            tok = _read_token(s, pos)
            if tok is None:
                continue
            cat, start, end = tok
            if anchor == "zh" and len(cat) == 1 and not _ZH_TAIL.match(s, end):
                continue  # "分类：2个肿块" is a count, not a category
            cat, end, extra = _extend(s, cat, end)
            add(cat, start, end, anchor)
            for c2, s2, e2 in extra:
                found[s2] = (c2, s2, e2, "range")

    anchored(_KEYWORD, "keyword", check_block=False)
    anchored(_ASSESSMENT, "assessment", check_block=False)
    anchored(_ZH_ANCHOR, "zh", check_block=True)
    for m in _BARE_LEI.finditer(s):
        if _blocked(s, m.start()):
            continue
        cat, end, extra = _extend(s, _category(m.group(1), m.group(2)), m.end())
        add(cat, m.start(1), end, "bare")
        for c2, s2, e2 in extra:
            found[s2] = (c2, s2, e2, "range")

    mentions: list[BiradsMention] = []
    prev_end = 0
    for start in sorted(found):
        cat, st, en, anchor = found[start]
        clause_start = max((m.end() for m in _CLAUSE_END.finditer(s, 0, st)), default=0)
        window = s[max(clause_start, prev_end) : st]
        prior = bool(_PRIOR.search(window) or _FROM.search(window))
        if anchor == "range" and mentions:
            prior = mentions[-1].prior  # "3-4类": both ends share the context
        mentions.append(BiradsMention(cat, st, en, prior, anchor))
        prev_end = en
    return mentions


def suspicion_rank(cat: str) -> int:
    """Position of a category in :data:`SUSPICION_ORDER` (higher = more suspicious)."""
    norm = normalize_birads(cat)
    if norm is None:
        raise ValueError(f"not a BI-RADS category: {cat!r}")
    return _RANK[norm]


def parse_birads(text: str | None, *, rule: Rule = "most_suspicious", include_prior: bool = False) -> str | None:
    """The final BI-RADS assessment category of a report, or None when there is none.

    Args:
        text: report text (Chinese or English, any width/case); None or "" gives None.
        rule: how to choose among several current mentions: ``"most_suspicious"`` (default,
            :data:`SUSPICION_ORDER`), ``"last"`` or ``"first"`` in reading order.
        include_prior: also consider mentions of prior examinations.

    Returns:
        One of :data:`CATEGORIES` (``"4A"`` etc. upper case) or None.
    """
    if not text:
        return None
    mentions = [m for m in find_birads(text) if include_prior or not m.prior]
    if not mentions:
        return None
    if rule == "last":
        return mentions[-1].category
    if rule == "first":
        return mentions[0].category
    if rule != "most_suspicious":
        raise ValueError(f"unknown rule {rule!r}; expected most_suspicious, last or first")
    return max(mentions, key=lambda m: _RANK[m.category]).category


_SHORT = re.compile(r"^\s*(?:bi\s?-?\s?rads?\s*)?:?\s*([0-6]|vi|iv|v|iii|ii|i)\s*([abc])?\s*[类级]?\s*$")


def normalize_birads(value: object) -> str | None:
    """Canonical category of a short stored value (``"4a"``, ``"IV"``, ``4``, ``"BI-RADS 4B"``).

    Returns None for None, empty strings (the store's "unknown") and anything unrecognised.
    Longer texts go through :func:`parse_birads`.
    """
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value) if 0 <= value <= 6 else None
    text = str(value)
    if not text.strip():
        return None
    s = normalize_text(text)
    m = _SHORT.match(s)
    if m:
        digit = _ROMAN.get(m.group(1), m.group(1))
        return _category(digit, m.group(2))
    return parse_birads(text)


def birads_group(cat: object) -> str | None:
    """Merge 4A/4B/4C into ``"4"`` (paper Fig. 4); other categories unchanged; None if unknown."""
    norm = normalize_birads(cat)
    if norm is None:
        return None
    return norm[0]

"""Report scrubbing for Chinese and English radiology reports (docs/deidentification.md, "Reports").

``scrub_report(text, identifiers, lang)`` replaces every identifying span with a typed
placeholder and returns the new text and the number of spans replaced. Placeholders (one scheme
for both languages, ASCII so that any tokenizer keeps them whole):

=============  ===========================================================================
``[NAME]``     a header identifier without digits (person name and its parts, institution),
               a labelled name (``Patient: Jane Doe``, ``姓名：张三``), a titled name
               (``Dr. Smith`` -> ``Dr. [NAME]``), a surname before an honorific (``张女士``)
``[ID]``       a header identifier with digits, an 18-digit resident ID number, a labelled ID
               (``MRN: 12345678``, ``住院号：A123456``), 8+ digit runs, letter-prefixed IDs
``[DATE]``     ``2023-01-05``, ``2023/1/5``, ``20230105``, ``05.01.2023``, ``1/5/23``,
               ``2023年1月5日``, ``1月5日``, ``2023年``, ``Jan 5, 2023``, ``5 January 2023``
``[TIME]``     ``10:30``, ``10:30:15 PM``, ``10 am``, ``14时30分``, ``下午3点``
``[PHONE]``    CN mobile ``13812345678``, ``+86 ...``, landlines ``010-12345678``,
               ``(555) 123-4567``, labelled numbers (``Tel:``, ``电话：``)
``[EMAIL]``    e-mail addresses
``[ADDRESS]``  labelled addresses (``Address:``, 家住, 住址, 户籍地, ...), house number + street suffix
``[INSTITUTION]`` names ending in 医院, 卫生院, 诊所, …中心, Hospital, Clinic, Centre, Imaging, ...
``90+``        an age over 89 (``95岁`` -> ``90+岁``)
=============  ===========================================================================

Names are also found unlabelled (after 患者/家属, before 女士/医生, before a clinical verb), in the
other script (pinyin in Chinese text, Chinese characters in English text) and across a line break
or a case junction left by joined lines (docs/deidentification.md lists the constructions).
Labels are kept (``住院号：[ID]``), only the value is replaced, and a replacement always covers the
whole token. Clinical content is left alone: sizes (``1.5cm``, ``2.3×1.8 cm``), BI-RADS (``4A``,
``BI-RADS 5``), clock positions (``10点钟``, ``10 o'clock``), ages under 90 (``45岁``), percentages,
and a name never takes the radiology word after it.

Header identifiers (from :func:`mvkl.dicom.header.collect_identifiers`) match case-insensitively,
on word boundaries for Latin text, with names also matched with spaces/commas instead of carets
and in given-name-first order (``SMITH^JANE`` matches ``Jane Smith`` and ``SMITH, JANE``).
Single name components that are common words (``PATIENT``, ``TEST``, ...) are not scrubbed on
their own. When matches overlap, the higher-priority rule wins (header identifiers first), then
the longer span. The pattern rules and their vocabularies live in :mod:`mvkl.deid.rules`; the text
around each line break is searched again with the break joined (:func:`_joined`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from mvkl.deid.rules import CJK as _CJK
from mvkl.deid.rules import RULES as _RULES
from mvkl.deid.rules import STOP_WORDS as _STOP_WORDS
from mvkl.deid.rules import is_cjk as _is_cjk

__all__ = ["PLACEHOLDERS", "scrub_counts", "scrub_report"]

PLACEHOLDERS: dict[str, str] = {
    "name": "[NAME]", "id": "[ID]", "date": "[DATE]", "time": "[TIME]", "phone": "[PHONE]", "email": "[EMAIL]",
    "address": "[ADDRESS]", "institution": "[INSTITUTION]", "age": "90+",
}

_FULLWIDTH = str.maketrans({chr(0xFF10 + i): chr(0x30 + i) for i in range(10)}
                           | {chr(0xFF21 + i): chr(0x41 + i) for i in range(26)}
                           | {chr(0xFF41 + i): chr(0x61 + i) for i in range(26)}
                           | {"／": "/", "－": "-", "．": ".", "＋": "+", "（": "(", "）": ")", "＠": "@",
                              "\u3000": " ", "\u00a0": " "})


def _literal(s: str) -> str:
    return r"\s+".join(re.escape(t) for t in s.split())


def _bounded(body: str, raw: str) -> str:
    start = r"(?<![A-Za-z0-9])" if re.match(r"[A-Za-z0-9]", raw) else ""
    end = r"(?![A-Za-z0-9])" if re.search(r"[A-Za-z0-9]$", raw) else ""
    return f"{start}(?:{body}){end}"


def _name_variants(group: str) -> set[str]:
    """Spellings of a DICOM person name ``family^given^middle^prefix^suffix`` (PS3.5 6.2.1):
    family-first and given-first, with and without the middle name, with the prefix."""
    comps = [c.strip() for c in group.split("^")] + [""] * 5
    family, given, middle, prefix, _suffix = comps[:5]
    out = {" ".join(c for c in comps[:5] if c)}
    if family and given:
        for mid in {middle, ""}:
            out.add(" ".join(x for x in (given, mid, family) if x))
            out.add(" ".join(x for x in (family, given, mid) if x))
            out.add(family + ", " + " ".join(x for x in (given, mid) if x))
            if prefix:
                out.add(" ".join(x for x in (prefix, given, mid, family) if x))
    return {v for v in out if v}


def _identifier_patterns(identifiers: Iterable[str]) -> list[str]:
    pats: list[tuple[int, str]] = []
    for raw in identifiers:
        s = str(raw).strip()
        if len(s) < 2:
            continue
        if "^" not in s and "=" not in s and " " not in s and s.lower() in _STOP_WORDS:
            continue
        if s.isdigit() and len(s) < 3:
            continue
        variants = {s}
        if "^" in s or "=" in s:
            for group in s.split("="):
                variants |= _name_variants(group)
        for v in variants:
            tokens = [t for t in re.split(r"[\s\^,]+", v) if t]
            if not tokens:
                continue
            sep = r"[\s\^,]*" if all(_is_cjk(t) for t in tokens) else r"[\s\^,]+"
            # an initial may be written with a period ("Ruth N. Haddad")
            body = sep.join(re.escape(t) + (r"\.?" if len(t) == 1 and t.isalpha() else "") for t in tokens) \
                if len(tokens) > 1 else _literal(tokens[0])
            pats.append((len(v), _bounded(body, v)))
    pats.sort(key=lambda p: -p[0])
    return [p for _, p in pats]


def _identifier_kind(value: str) -> str:
    """Placeholder kind of a header identifier match: phone-like, other digits (ID), or a name."""
    digits = sum(c.isdigit() for c in value)
    if digits >= 7 and re.fullmatch(r"\+?[\d\s().\-]+", value):
        return "phone" if re.search(r"[\s()\-+]", value.strip()) or value.startswith("1") else "id"
    return "id" if digits else "name"


def _find(probe: str, id_pats: list[str], lang: str) -> list[tuple[int, int, int, str]]:
    """Every candidate span of ``probe``: (priority, start, end, kind), overlaps included."""
    found: list[tuple[int, int, int, str]] = []
    for pat in id_pats:
        for m in re.finditer(pat, probe, re.IGNORECASE):
            found.append((0, m.start(), m.end(), _identifier_kind(m.group(0))))
    for rule in _RULES:
        if (lang != "auto" and rule.langs not in ("both", lang)) or (rule.need and not rule.need.search(probe)):
            continue
        pos = 0
        while (m := rule.pattern.search(probe, pos)) is not None:
            if "v" in rule.pattern.groupindex:
                start, end, value = m.start("v"), m.end("v"), m.group("v")
            else:
                start, end, value = m.start(), m.end(), m.group(0)
            checked = value if rule.check is None else rule.check(value)
            if checked is not None:
                end = start + len(checked)
                if end > start:
                    found.append((rule.priority, start, end, rule.kind))
            # resume after the kept span, not after the whole match: a trimmed name must not hide
            # the next title ("Dr. Smith, Dr. Jones")
            resume = m.end() if rule.check is None else (end if checked is not None else m.start() + 1)
            pos = max(m.start() + 1, resume)
    return found


_BREAK_WINDOW = 60  # characters either side of a line break searched again with the break joined
# a line break inside a run of text, or a lower->upper case junction inside a Latin word: lines
# joined without a separator (mvkl.sources.base.normalize_report) fuse "Cordelia\nFairbanks" into
# "CordeliaFairbanks"
_LINE_BREAK = re.compile(rf"(?<=[{_CJK}A-Za-z0-9])[ \t]*\r?\n[ \t]*(?=[{_CJK}A-Za-z0-9])|(?<=[a-z])(?=[A-Z])")


def _joined(probe: str) -> tuple[str, list[int], list[int]] | None:
    """``probe`` with single line breaks inside a run of text removed (next to a CJK character) or
    made a space (between Latin letters and digits), the original index of every character and the
    joined index of every break; None when there is no such break. Catches identifiers wrapped across
    lines (``李\n丽娟``, issue 15) and Latin names whose line break was removed (``CordeliaFairbanks``:
    a space is put at the case junction)."""
    if _LINE_BREAK.search(probe) is None:
        return None
    chars: list[str] = []
    index: list[int] = []
    breaks: list[int] = []
    pos = 0
    for m in _LINE_BREAK.finditer(probe):
        chars.extend(probe[pos:m.start()])
        index.extend(range(pos, m.start()))
        breaks.append(len(chars))
        if not (_is_cjk(probe[m.start() - 1]) or _is_cjk(probe[m.end()])):
            chars.append(" ")
            index.append(m.start())
        pos = m.end()
    chars.extend(probe[pos:])
    index.extend(range(pos, len(probe)))
    return "".join(chars), index, breaks


def _spans(text: str, identifiers: Iterable[str], lang: str) -> list[tuple[int, int, str]]:
    probe = text.translate(_FULLWIDTH)
    id_pats = _identifier_patterns(identifiers)
    found = _find(probe, id_pats, lang)
    joined = _joined(probe)
    if joined is not None:  # only spans across a break, found in a window around it (speed)
        jtext, index, breaks = joined
        for b in breaks:
            w0 = max(0, b - _BREAK_WINDOW)
            found += [(p, index[w0 + s], index[w0 + e - 1] + 1, k)
                      for p, s, e, k in _find(jtext[w0:b + _BREAK_WINDOW], id_pats, lang) if w0 + s < b < w0 + e]
    found.sort(key=lambda f: (f[0], -(f[2] - f[1]), f[1]))
    taken: list[tuple[int, int, str]] = []
    for _prio, start, end, kind in found:
        if all(end <= s or start >= e for s, e, _ in taken):
            taken.append((start, end, kind))
    taken.sort()
    return [_whole_token(probe, s, e, k) for s, e, k in taken]


def _whole_token(text: str, start: int, end: int, kind: str) -> tuple[int, int, str]:
    """Widen a span's end to the whole Latin/digit token it stops inside (``Dr ZQRNM8638388`` -> ``Dr [NAME]``),
    so that no fragment of an identifier survives (issue 15). Ages keep their exact span."""
    if kind == "age":
        return start, end, kind
    while end < len(text) and text[end].isascii() and text[end].isalnum() and text[end - 1].isalnum():
        end += 1
    return start, end, kind


def scrub_report(text: str, identifiers: Iterable[str] = (), lang: str = "auto") -> tuple[str, int]:
    """Replace identifying spans of a report by typed placeholders (module docstring).

    Args:
        text: the report (Chinese, English or mixed).
        identifiers: identifying strings from the study's own headers
            (:func:`mvkl.dicom.header.collect_identifiers`).
        lang: ``"auto"`` (every rule), ``"en"`` or ``"zh"`` (that language's rules plus the
            shared ones).

    Returns:
        (scrubbed text, number of spans replaced).
    """
    if lang not in ("auto", "en", "zh"):
        raise ValueError(f"lang must be auto, en or zh, got {lang!r}")
    if not text:
        return text, 0
    spans = _spans(text, list(identifiers), lang)
    out: list[str] = []
    pos = 0
    for start, end, kind in spans:
        out.append(text[pos:start])
        out.append(PLACEHOLDERS[kind])
        pos = end
    out.append(text[pos:])
    return "".join(out), len(spans)


def scrub_counts(text: str, identifiers: Iterable[str] = (), lang: str = "auto") -> tuple[str, dict[str, int]]:
    """Like :func:`scrub_report`, with the number of replaced spans per category (never the values)."""
    if lang not in ("auto", "en", "zh"):
        raise ValueError(f"lang must be auto, en or zh, got {lang!r}")
    if not text:
        return text, {}
    spans = _spans(text, list(identifiers), lang)
    counts: dict[str, int] = {}
    for _s, _e, kind in spans:
        counts[kind] = counts.get(kind, 0) + 1
    return scrub_report(text, identifiers, lang)[0], counts

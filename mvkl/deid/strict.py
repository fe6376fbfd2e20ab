"""``--report-scrub strict``: drop every sentence that still holds a proper-noun-like token (issue 15).

For sites whose policy prefers losing text to leaking it. The report is first scrubbed as usual
(:func:`mvkl.deid.scrub.scrub_report`); then each sentence (ended by 。！？；!?; a period before
a space, or a line break) is dropped whole when, placeholders removed, it contains:

* a Latin word with a capital letter that is not the sentence's first word and not in the
  protected vocabulary (radiology words, clinical abbreviations, report headings), e.g.
  ``Seen with Quentin Zabriskie``;
* an all-capitals Latin word of 4+ letters, or a letter+digit token that is not a size, a BI-RADS
  category or a density code (``WHITFIELD``, ``ZQ8638388``), anywhere in the sentence;
* a Chinese person or place cue (患者, 姓名, 报告人, 医师, 家住, 住址, ...) followed by characters that
  are neither a placeholder nor a clinical continuation (``患者欧阳娜娜复查``), a name-like run before
  an honorific (女士, 先生, 医生, ...), or a named institution (…医院, …卫生院, …中心) other than a
  generic one (本院, 外院, 上级医院).

Known limits: a capitalised unknown word that starts an English sentence on its own
(``Zabriskie attended.``) is kept, as is a Chinese name with no cue at all; the filter never puts
text back, so it can only lose more than the standard scrubber, never leak more.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from mvkl.deid.rules import CLINICAL_LATIN as _CLINICAL_LATIN
from mvkl.deid.rules import NAME_END as _NAME_END
from mvkl.deid.scrub import scrub_counts

__all__ = ["STRICT_KIND", "proper_noun_like", "strict_counts", "strict_filter", "strict_report"]

STRICT_KIND = "sentence"  # the scrub_counts category of a dropped sentence

_SENTENCE = re.compile(r"[^。！？；!?;\n]*?(?:[。！？；!?;]+|\.(?=\s)|\n|$)")
_PLACEHOLDER = re.compile(r"\[(?:NAME|ID|DATE|TIME|PHONE|EMAIL|ADDRESS|INSTITUTION)\]")
_HEAD = re.compile(r"[:：]")
_WORD = re.compile(r"[A-Za-z][A-Za-z'’\-]*[A-Za-z]|[A-Za-z]")
_ALNUM = re.compile(r"(?<![A-Za-z0-9])(?=[A-Za-z0-9]*[A-Za-z])(?=[A-Za-z0-9]*\d)[A-Za-z0-9]+(?![A-Za-z0-9])")
# letter+digit tokens that are clinical: 12mm, 1cm, 4A, 4B, C2 (density), T1, x2, 3D, 2D, 4th
_CLINICAL_ALNUM = re.compile(r"(?i)\d+(?:mm|cm|ml|mgy|kv|mas|x|d|st|nd|rd|th|h|s|min|y|yo|yr|yrs)?"
                             r"|\d[a-c]|[a-d]\d?|[tx]\d|her2|ki67|brca[12]|cc\d?|mlo\d?")
_VOCAB_TEXT = """
a an the this that these those there here it its of to in on at by for from with without within into over under
and or but not no nor as than then so if when while after before since until both either each other another
is are was were be been being has have had do does did will would shall should may might can could must
left right bilateral breast breasts nipple skin axilla axillary lymph node nodes quadrant quadrants region area
mass masses lesion lesions calcification calcifications asymmetry distortion density dense fatty fibroglandular
scattered heterogeneously extremely almost entirely composition tissue parenchyma benign malignant probably
suspicious suspicion highly negative positive normal abnormal stable unchanged new increased decreased seen noted
no evidence of impression findings finding assessment recommendation recommendations recommend recommended
conclusion history indication technique comparison compared prior previous mammogram mammography mammographic
screening diagnostic ultrasound sonography mri tomosynthesis views view craniocaudal mediolateral oblique
magnification spot compression additional follow-up follow up months month year years year-old old female woman
biopsy core needle surgical excision category categories bi-rads birads acr cc mlo ml lm xccl xccm dbt ffdm
upper lower outer inner central subareolar retroareolar clock o'clock oclock mm cm size measures measuring
oval round irregular circumscribed microlobulated obscured indistinct spiculated margins margin shape
fine pleomorphic amorphous coarse heterogeneous punctate linear branching segmental regional grouped
clustered diffuse focal global developing architectural findings report reported reviewed routine annual
patient patients she her he his they their no none nil please clinical correlation correlate advised
low moderate intermediate high very likely malignancy malignant carcinoma cancer cyst cystic solid
"""
_VOCAB = frozenset(w.lower() for w in _NAME_END | _CLINICAL_LATIN) | frozenset(_VOCAB_TEXT.split())


def _latin_flags(sentence: str, zh: bool) -> bool:
    for m in _WORD.finditer(sentence):
        w = m.group(0)
        low = w.lower().strip("'’-")
        if low in _VOCAB:
            continue
        if w.isupper() and len(w) >= 4:
            return True
        # the first word of a sentence or after a heading's colon may be capitalised ("IMPRESSION: Low ...")
        initial = not zh and re.fullmatch(r"[\s\-–—(\"“]*", _HEAD.split(sentence[:m.start()])[-1]) is not None
        if w[0].isupper() and not w.isupper() and not initial:
            return True
    return any(not _CLINICAL_ALNUM.fullmatch(t) for t in _ALNUM.findall(sentence))


_ZH_CUE = re.compile(r"(?:患者|病人|受检者|受檢者|姓名|报告人|报告医师|报告医生|审核医师|审核医生|审核人|"
                     r"家住|住址|地址|现住|現住)\s*[:：]?\s*(?P<next>[\u3400-\u9fff]{0,2})")
_ZH_CONTINUE = re.compile(r"^(?:女|男|自|诉|主诉|无|于|因|来|行|既往|一般|左|右|双|乳|年|性|术|曾|近|发现|体检|"
                          r"要求|复查|为|现|已|拒|未|有|及|的|建议|随访|会诊|签|意见|科|门诊|住院|在|经|此|该|本|我|外|同|不|可|请|"
                          r"注意|定期|进一步|结合|临床|检查|所见|姓名|性别|年龄)")
_ZH_HONORIFIC = re.compile(r"[\u3400-\u9fff]{1,3}(?=女士|先生|小姐|阿姨|医生|医师|大夫|教授)")
_ZH_INST = re.compile(r"[\u3400-\u9fff]{2,}?(?:医院|醫院|卫生院|衛生院|诊所|診所|保健院|中心)")
_ZH_GENERIC = re.compile(r"(?:本|我|外|该|上级|上級|当地|當地|其他|专科|綜合|综合|基层|病灶|乳腺中心|中心)$")
_ZH_HON_OK = re.compile(r"(?:主治|住院|值班|门诊|会诊|管床|经治|主管|高年资|临床|外科|内科|影像|超声|放射|报告|审核|"
                        r"申请|检查|诊断|签名|建议|由|请|经|该|本|我院)$")


def _zh_flags(sentence: str) -> bool:
    for m in _ZH_CUE.finditer(sentence):
        nxt = m.group("next")
        if nxt and not _ZH_CONTINUE.match(sentence[m.start("next"):]):
            return True
    for m in _ZH_HONORIFIC.finditer(sentence):
        if not _ZH_HON_OK.search(m.group(0)) and m.group(0)[-1] not in "该此这那本其某位名各每一两男女老小大":
            return True
    for m in _ZH_INST.finditer(sentence):
        head = m.group(0)
        body = re.sub(r"(?:医院|醫院|卫生院|衛生院|诊所|診所|保健院|中心)$", "", head)
        if not _ZH_GENERIC.search(body) and body[-1:] not in "于在至到赴转" and len(body) >= 2:
            return True
    return False


def proper_noun_like(sentence: str) -> bool:
    """The sentence (already scrubbed) holds a token that looks like a name, place or ID."""
    text = _PLACEHOLDER.sub(" ", sentence)
    zh = bool(re.search(r"[\u3400-\u9fff]", text))
    return _latin_flags(text, zh) or (zh and _zh_flags(text))


def strict_filter(scrubbed: str) -> tuple[str, int]:
    """Drop every sentence of ``scrubbed`` that :func:`proper_noun_like` flags; a dropped
    sentence's line break is kept. Returns (text, sentences dropped)."""
    out: list[str] = []
    dropped = 0
    for m in _SENTENCE.finditer(scrubbed):
        s = m.group(0)
        if not s:
            continue
        if s.strip() and proper_noun_like(s):
            dropped += 1
            out.append("\n" if s.endswith("\n") else "")
        else:
            out.append(s)
    return "".join(out), dropped


def strict_counts(text: str, identifiers: Iterable[str] = (), lang: str = "auto") -> tuple[str, dict[str, int]]:
    """:func:`mvkl.deid.scrub.scrub_counts`, then :func:`strict_filter`; dropped sentences are
    counted under ``"sentence"``."""
    clean, counts = scrub_counts(text, identifiers, lang)
    clean, dropped = strict_filter(clean)
    if dropped:
        counts = {**counts, STRICT_KIND: dropped}
    return clean, counts


def strict_report(text: str, identifiers: Iterable[str] = (), lang: str = "auto") -> tuple[str, int]:
    """Same signature as :func:`mvkl.deid.scrub.scrub_report`: (text, spans replaced + sentences dropped)."""
    clean, counts = strict_counts(text, identifiers, lang)
    return clean, sum(counts.values())

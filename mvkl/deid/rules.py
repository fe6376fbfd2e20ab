"""The pattern rules of the report scrubber (:mod:`mvkl.deid.scrub`, issue 15): vocabularies, name,
label, date, phone, ID, address and institution patterns, and the checks that trim or reject a match.

Each :class:`Rule` has a kind (the placeholder), a priority (lower wins an overlap), the languages
it applies to and an optional literal pre-test (``need``) that lets most rules skip most reports.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["CJK", "CLINICAL_LATIN", "NAME_END", "RULES", "STOP_WORDS", "Rule", "is_cjk"]

# common Chinese surnames, simplified and traditional (issue 15: names after 患者 without a label)
_ZH_SURNAMES = ("王李张張刘劉陈陳杨楊黄黃赵趙吴吳周徐孙孫马馬朱胡郭何高林罗羅郑鄭梁谢謝宋唐许許韩韓冯馮邓鄧曹"
                "彭曾萧蕭田董袁潘于蒋蔣蔡余杜叶葉程苏蘇魏吕呂丁任沈姚卢盧姜崔钟鍾谭譚陆陸汪范金石廖贾賈夏韦韋"
                "付方白邹鄒孟熊秦邱江尹薛闫閆段雷侯龙龍史陶黎贺賀顾顧毛郝龚龔邵万萬钱錢严嚴覃武戴莫孔向汤湯")
_ZH_NUM = "〇零一二三四五六七八九十幺"

_CJK = "\u3400-\u4dbf\u4e00-\u9fff"

# words that are never scrubbed as a lone name component or accepted as a labelled name
_STOP_WORDS = frozenset([
    "patient", "patients", "anonymous", "anon", "test", "unknown", "none", "nil", "na", "n/a", "breast",
    "breasts", "left", "right", "bilateral", "mass", "female", "male", "woman", "man", "synthetic", "demo",
    "phantom", "sample", "mr", "mrs", "ms", "dr", "md", "phd", "the", "and", "of", "no", "yes", "normal",
    "benign", "malignant", "negative", "positive", "lesion", "finding", "findings", "impression", "history",
    "clinical", "report", "exam", "examination", "study", "mammogram", "mammography", "screening", "diagnostic",
    "birads", "bi-rads", "cc", "mlo", "view", "views", "density", "dense", "fatty", "患者", "未知", "匿名", "测试",
    "女性", "男性", "女士", "先生", "不详", "无", "病人", "受检者", "本人", "家属",
])

# words that end a labelled/titled English name ("Patient: Jane Doe, MRN: ...")
_NAME_END = _STOP_WORDS | frozenset([
    "mrn", "id", "pid", "age", "sex", "gender", "dob", "date", "accession", "acc", "tel", "phone", "fax", "mobile",
    "email", "address", "ward", "bed", "room", "hospital", "department", "dept", "referring", "physician",
    "radiologist", "technologist", "signed", "reported", "reviewed", "dictated", "verified", "approved", "case",
    "record", "reg", "exam", "examination", "study", "on", "at", "in", "for", "with", "was", "is", "has",
]) | frozenset([  # radiology vocabulary a name never runs into ("Name: Jane Doe Irregular mass ...")
    "irregular", "oval", "round", "lobulated", "grouped", "clustered", "scattered", "heterogeneously", "extremely",
    "fine", "pleomorphic", "amorphous", "coarse", "punctate", "linear", "segmental", "regional", "diffuse",
    "spiculated", "circumscribed", "obscured", "indistinct", "microlobulated", "architectural", "distortion",
    "asymmetry", "focal", "global", "developing", "calcification", "calcifications", "masses", "nodule",
    "upper", "lower", "outer", "inner", "central", "retroareolar", "axillary", "subareolar", "stable", "new",
    "suspicious", "probably", "highly", "recall", "biopsy", "follow-up", "compared", "comparison", "prior",
])

_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
                "October", "November", "December")


def _months() -> str:
    forms: list[str] = []
    for m in _MONTH_NAMES:
        short = "Sept|Sep" if m == "September" else m[:3]
        for f in (m, *short.split("|")):
            forms.extend([f, f.upper()])
    return "(?:" + "|".join(sorted(set(forms), key=len, reverse=True)) + ")"


_MON = _months()
_DAY = r"(?:0?[1-9]|[12]\d|3[01])"
_MONTH = r"(?:0?[1-9]|1[0-2])"
_YEAR = r"(?:19|20)\d{2}"
_LATIN_NAME = r"[A-Z][A-Za-z'’\-]+"
_PARTICLE = r"(?:(?:von|van|de|der|den|di|da|du|del|della|le|la|bin|ibn|al|ter|dos|das)[ \t]+)"
_EN_NAME = (rf"(?:[A-Z]\.[ \t]*)*{_PARTICLE}?{_LATIN_NAME}"
            rf"(?:[ \t]*[,^][ \t]*{_LATIN_NAME}|[ \t]+[A-Z]\.(?=[ \t])|[ \t]+{_PARTICLE}?{_LATIN_NAME}){{0,3}}")
# a name in an English sentence may be written in Chinese characters, whole or in part (issue 15)
_MIXED_NAME = (rf"(?:[{_CJK}]{{2,4}}(?![{_CJK}])|[{_CJK}][ \t]+{_LATIN_NAME}|{_LATIN_NAME}[ \t]+[{_CJK}](?![{_CJK}])"
               rf"|{_EN_NAME})")
_ZH_NAME_STOP = r"(?=性\s*别|年\s*龄|科\s*室|床\s*号|住院|门诊|检查|ID|[左右双雙][乳侧側]|乳腺|[^" + _CJK + r"·•]|$)"


@dataclass(frozen=True)
class _Rule:
    kind: str
    pattern: re.Pattern[str]
    priority: int
    langs: str  # "en", "zh" or "both"
    check: Callable[[str], str | None] | None = None  # may trim the value, or reject it (None)
    need: re.Pattern[str] | None = None  # a cheap pre-test: the rule cannot match without it (speed)


def _trim_en_name(v: str) -> str | None:
    words = re.split(r"([ \t]*[,^][ \t]*|[ \t]+)", v)
    tokens = words[0::2]
    if not tokens or tokens[0].strip(".").lower() in _STOP_WORDS:
        return None
    keep = 1
    while keep < len(tokens) and tokens[keep].strip(".").lower() not in _NAME_END:
        keep += 1
    return "".join(words[: 2 * keep - 1])


# Latin tokens after 患者 that are clinical, not names (患者CT检查, 患者MRI示)
_CLINICAL_LATIN = frozenset(["ct", "mri", "mr", "us", "dbt", "cesm", "pet", "pet-ct", "x", "bi-rads", "birads", "acr",
                             "cad", "ffdm", "mg", "b", "cc", "mlo", "her2", "er", "pr", "ki-67", "brca", "ca"])


def _check_latin_pair(v: str) -> str | None:
    """A Latin name after 患者: a surname with a pinyin given name, or 2-3 tokens none of which is a
    clinical abbreviation or a stop word."""
    tokens = v.split()
    if _is_cjk(v[:1]):
        return v if tokens[-1].lower() not in _CLINICAL_LATIN | _STOP_WORDS else None
    if any(t.lower() in _CLINICAL_LATIN or t.lower() in _STOP_WORDS for t in tokens):
        return None
    return _trim_en_name(v)


_ZH_GENERIC_INST = re.compile(r"^(?:建议|建議|转诊|轉診|转至|转到|前往|去|到|回)?"
                              r"(?:上级|上級|当地|當地|基层|基層|综合|綜合|专科|專科|其他|正规|正規|大|外)(?:医院|醫院|诊所|診所)$")


def _check_en_institution(v: str) -> str | None:
    """Reject a generic phrase (Breast Imaging, Diagnostic Radiology): every word before the suffix is a
    radiology or stop word."""
    words = v.split()
    return None if all(w.lower().strip("'’") in _NAME_END for w in words[:-1]) and len(words) <= 3 else v


def _check_zh_institution(v: str) -> str | None:
    """Reject a generic institution (建议上级医院, 当地医院): no name in it."""
    return None if _ZH_GENERIC_INST.match(v) else v


_ZH_CLINICAL_START = re.compile("(?:左|右|双|雙)(?:乳|侧|側)|乳腺|腺体|肿块|钙化")


def _check_zh_name(v: str) -> str | None:
    """Reject stop words; a name never takes 左乳/右侧/双乳 or their first character (姓名：何秀右乳...)."""
    m = _ZH_CLINICAL_START.search(v, 2)
    if m is not None:
        v = v[:m.start()]
    elif len(v) > 2 and v[-1] in "左右双雙":
        v = v[:-1]
    return None if v in _STOP_WORDS else v


def _r(kind: str, pattern: str, priority: int, langs: str = "both", flags: int = 0,
       check: Callable[[str], str | None] | None = None, need: str | None = None) -> _Rule:
    # ASCII \b, \s, \d: a CJK character is no word character, so "于November 3, 2022行" has boundaries
    return _Rule(kind, re.compile(pattern, flags | re.ASCII), priority, langs, check,
                 None if need is None else re.compile(need, re.ASCII))


_EN_LABELS = (r"patient(?:'s)?\s+name|patient|pt|name|referring\s+(?:physician|doctor)|physician|radiologist|"
              r"report(?:ed|ing)\s+(?:by|physician|radiologist)|signed\s+by|dictated\s+by|read\s+by|reviewed\s+by|"
              r"verified\s+by|approved\s+by|technologist|technician|doctor|attending|requested\s+by")
_ZH_LABELS = ("患者姓名|病人姓名|受检者姓名|受检者|姓名|患者|病人|报告医师|报告医生|报告者|审核医师|审核医生|审核者|"
              "诊断医师|诊断医生|检查医师|检查医生|申请医师|申请医生|送检医师|送检医生|主治医师|主治医生|临床医师|"
              "临床医生|书写医师|签名|医师|医生|技师|操作者|记录者|报告人|审核人|审核|检查者|复核医师|复核医生|复核|"
              "紧急联系人|联系人|家属|监护人|陪同人|委托人")
_EN_ID_LABELS = (r"SSN|Social\s+Security\s+(?:No|Number|#)|MRN|MR\s*(?:No|#)|Medical\s+Record\s+(?:No|Number|#)|"
                 r"Patient\s+ID|PID|ID|"
                 r"Accession(?:\s*(?:No|Number|#))?|Acc\.?\s*(?:No|#)|Study\s+ID|Exam(?:ination)?\s+(?:No|Number|ID|#)|Hospital\s+(?:No|Number)|"
                 r"Case\s+(?:No|Number)|Record\s+(?:No|Number)|Reg(?:istration)?\s*(?:No|Number)")
_ZH_ID_LABELS = ("住院号|门诊号|病历号|病案号|检查号|影像号|登记号|就诊卡号|就诊号|卡号|床号|放射号|X线号|"
                 "申请单号|医保号|身份证号码|身份证号|ID号|编号|档案号|流水号")
_PATIENT_ZH = "患者|病人|受检者|受檢者|病患|姓名|家属|联系人"
# compound surnames first (司马秀英, 欧阳娜娜), then the single-character ones
_ZH_COMPOUND = ("欧阳|歐陽|司马|司馬|上官|诸葛|諸葛|东方|東方|皇甫|令狐|慕容|司徒|夏侯|尉迟|尉遲|公孙|公孫|长孙|長孫|"
                "宇文|轩辕|軒轅|端木|独孤|獨孤|南宫|南宮|百里|呼延|西门|西門|澹台|澹臺|闻人|聞人")
_SUR = rf"(?:{_ZH_COMPOUND}|[{_ZH_SURNAMES}])"
_CLINICAL_VERBS = ("tolerated|underwent|presented|presents|reports|reported|denies|denied|returned|returns|was|is|"
                   "has|had|attended|complained|noted|declined")
_HONORIFIC = "女士|先生|小姐|阿姨|医生|医师|大夫|主任|教授"
_ID_VALUE = r"[A-Za-z]{0,4}[-_]?\d[A-Za-z0-9\-]*"

_RULES: tuple[_Rule, ...] = (
    _r("email", r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}", 1),
    _r("id", rf"(?<![0-9A-Za-z])[1-9]\d{{5}}{_YEAR}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{{3}}[\dXx]"
             r"(?![0-9A-Za-z])", 2, need=r"\d{17}"),
    _r("id", rf"(?i:\b(?:{_EN_ID_LABELS})\.?)\s*[:：#=]?\s*(?P<v>{_ID_VALUE})", 3),
    _r("id", rf"(?:{_ZH_ID_LABELS})\s*[:：#]?\s*(?P<v>{_ID_VALUE})", 3),
    _r("id", r"(?i:\bNHS\s+(?:No|Number)\.?)\s*[:：#]?\s*(?P<v>\d{3}[ \t\-]?\d{3}[ \t\-]?\d{4})(?!\d)", 2,
       need="(?i)NHS"),
    _r("phone", r"(?i:(?:\btel|\bphone|\btelephone|\bmobile|\bcell|\bfax|电话|手机|联系电话|联系方式)\.?\s*[:：]?\s*)"
                r"(?P<v>\+?\d[\d \t()\-]{5,}\d)", 3, need=r"(?i)tel|phone|mobile|cell|fax|电话|手机|联系"),
    _r("date", rf"(?<![\d.]){_YEAR}\s*[-/.]\s*{_MONTH}\s*[-/.]\s*{_DAY}(?!\d)", 4, need=r"\d\d\s*[-/.]"),
    _r("date", rf"(?<!\d){_YEAR}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])(?!\d)", 4, need=r"\d{8}"),
    _r("date", rf"(?<![\d./]){_DAY}[-/.]{_DAY}[-/.]{_YEAR}(?!\.?\d)", 4, need=r"\d[-/.]\d{1,2}[-/.]\d\d"),
    _r("date", r"(?<![\d./])\d{1,2}/\d{1,2}/\d{2}(?![\d/])", 4, "en", need=r"\d/\d{1,2}/\d\d"),
    _r("date", rf"(?:{_YEAR}|(?<!\d)\d{{2}})\s*年\s*{_MONTH}\s*月(?:\s*{_DAY}\s*[日号])?", 4, "zh", need="年"),
    _r("date", rf"(?<!\d){_MONTH}\s*月\s*{_DAY}\s*[日号]", 4, "zh", need="月"),
    _r("date", rf"(?<!\d){_YEAR}\s*年(?!龄)", 4, "zh", need="年"),
    _r("date", rf"\b{_MON}\.?\s+{_DAY}(?:st|nd|rd|th)?(?:\s*,\s*|\s+){_YEAR}\b", 4, "en", need=_MON),
    _r("date", rf"\b{_DAY}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MON}\.?,?\s+{_YEAR}\b", 4, "en", need=_MON),
    _r("date", rf"(?<![\d.]){_YEAR}[-/.](?:0?[1-9]|1[0-2])(?![\d\-/]|\.\d)", 5, need=r"\d{4}[-/.]\d"),
    _r("date", rf"\b{_MON}\.?\s+{_DAY}(?:st|nd|rd|th)?\b", 5, "en", need=_MON),
    _r("date", rf"\b{_MON}\.?,?\s+{_YEAR}\b", 5, "en", need=_MON),
    _r("phone", r"(?<!\d)(?:(?:\+|00)86[ \t\-]?)?1[3-9]\d(?:[ \t\-]?\d{4}){2}(?!\d)", 5, need=r"1[3-9]\d"),
    _r("phone", r"(?:\+|00)86[ \t\-]?\(?0?\d{2,3}\)?[ \t\-]?\d{7,8}(?!\d)", 5, need="86"),
    _r("phone", r"(?<![\d.])(?:\(0\d{2,3}\)|0\d{2,3})[ \t\-]?\d{7,8}(?!\d)", 5, need=r"0\d\d"),
    _r("phone", r"(?<![\d.])(?:\+?1[ \t.\-]?)?(?:\(\d{3}\)[ \t]?|\d{3}[ \t.\-])\d{3,4}[ \t.\-]\d{4}(?!\d)", 6, "en",
       need=r"\d{3}[ \t.\-)]"),
    _r("time", r"(?<![\d.:])(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d)?(?:\s*[AaPp]\.?[Mm]\.?)?(?![\d:])", 6,
       need=r"\d:[0-5]\d"),
    _r("time", r"\b(?:1[0-2]|0?[1-9])\s*(?:a\.m\.|p\.m\.|am|pm|AM|PM)(?![A-Za-z])", 6, "en", need=r"(?i)\d\s*[ap]\.?m"),
    _r("time", r"(?:(?:上午|下午|晚上|早上|凌晨|中午|傍晚)\s*)?(?:[01]?\d|2[0-3])\s*[时点]\s*[0-5]?\d\s*分"
               r"(?:\s*[0-5]?\d\s*秒)?", 6, "zh", need="分"),
    _r("time", r"(?:上午|下午|晚上|早上|凌晨|中午|傍晚)\s*(?:[01]?\d|2[0-3])\s*[时点](?:\s*[半整])?", 6, "zh",
       need="上午|下午|晚上|早上|凌晨|中午|傍晚"),
    _r("name", rf"(?i:\b(?:{_EN_LABELS})\s*[:：])[ \t]*(?:(?:Mr|Mrs|Ms|Miss|Dr|Prof)\.?[ \t]+)?(?P<v>{_MIXED_NAME})", 7,
       check=_trim_en_name),
    _r("name", rf"(?:{_ZH_LABELS})\s*[:：]\s*(?P<v>[{_CJK}·•]{{2,5}}?){_ZH_NAME_STOP}", 7, "zh", check=_check_zh_name),
    _r("name", rf"(?:{_ZH_LABELS})\s*[:：][ \t]*(?P<v>(?:[{_ZH_SURNAMES}][ \t]?)?{_EN_NAME})", 7, "zh",
       check=_trim_en_name),
    _r("name", rf"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Professor|Doctor)\.?[ \t]+(?P<v>{_MIXED_NAME})", 8, "en",
       check=_trim_en_name),
    _r("name", rf"(?P<v>(?![该此这那本其患某位名各每一两男女老小大])[{_CJK}])(?:女士|先生|小姐|阿姨)", 8, "zh",
       need=_HONORIFIC),
    # a full name before an honorific or a physician's title: 李丽娟女士, 赵红萍医生 (issue 15)
    _r("name", rf"(?:(?<![{_CJK}])|(?<=[由经请与和及的、]))(?!高年资|主治|住院|值班|门诊|会诊|管床|经治|主管)"
               rf"(?P<v>{_SUR}[{_CJK}]{{0,2}}?)(?={_HONORIFIC})", 8, "zh", need=_HONORIFIC),
    # any 2-3 character run before 女士/先生/小姐 (东方红女士: uncommon and compound surnames)
    _r("name", rf"(?:(?<![{_CJK}])|(?<=[由经请与和及的、]))(?![该此这那本其患某位名各每一两男女老小大])"
               rf"(?P<v>[{_CJK}]{{2,3}}?)(?=女士|先生|小姐)", 8, "zh", need="女士|先生|小姐"),
    _r("name", rf"(?<![A-Za-z])(?P<v>[{_ZH_SURNAMES}][ \t]?{_LATIN_NAME}|{_LATIN_NAME}(?:[ \t]+{_LATIN_NAME}){{0,2}})"
               rf"(?=[ \t]*(?:{_HONORIFIC}))", 8, "zh", check=_check_latin_pair, need=_HONORIFIC),
    # a pinyin/English name after 患者/病人, or a surname with a pinyin given name (患者陈Guilan)
    _r("name", rf"(?:患者|病人|受检者|受檢者|病患|姓名)[ \t]*(?P<v>[{_ZH_SURNAMES}][ \t]?{_LATIN_NAME}"
               rf"|{_LATIN_NAME}(?:[ \t]+{_LATIN_NAME}){{1,2}})", 7, "zh", check=_check_latin_pair, need=_PATIENT_ZH),
    _r("date", rf"(?<!\d){_DAY}[-/ ]{_MON}[-/ ]{_YEAR}(?!\d)", 4, "both", need=_MON),
    _r("date", rf"[{_ZH_NUM}]{{2,4}}\s*年\s*[{_ZH_NUM}]{{1,2}}\s*月(?:\s*[{_ZH_NUM}]{{1,3}}\s*[日号])?", 4, "zh"),
    _r("phone", rf"[{_ZH_NUM}]{{7,12}}", 5, "zh"),
    _r("age", r"(?<![\d.])(?P<v>9\d|1[0-4]\d)(?=\s*(?:岁|周岁|歲|-?\s*(?:year|yr)s?[- ]old|\s*y/?o\b))", 6,
       need=r"岁|歲|year|yr|y/?o"),
    _r("name", rf"(?:{_PATIENT_ZH})[ \t]*(?P<v>{_SUR}[{_CJK}]{{1,2}}?)"
               rf"(?=[，,、。；;\s（(]|于|於|女|男|因|来|來|在|，|沟通|陪同|签字|代诉|代述|诉|述|称|要求|同意|表示|$)",
       7, "zh", check=_check_zh_name,
       need=_PATIENT_ZH),
    _r("name", rf"(?:{_ZH_LABELS})\s*[:：]\s*(?P<v>{_SUR}[{_CJK}]{{2}})", 8, "zh", check=_check_zh_name),
    # a physician's label and a name separated by spaces only (诊断医师 欧阳 娜娜)
    _r("name", rf"(?:{_ZH_LABELS})[ \t]+(?P<v>{_SUR}[ \t]?[{_CJK}]{{1,2}})(?![{_CJK}])", 8, "zh", check=_check_zh_name),
    _r("name", rf"\b(?:Patient|Pt\.?|patient)[ \t]+(?P<v>[A-Z][a-z'’\-]+(?:\s+[A-Z][A-Za-z0-9'’\-]+){{1,2}}"
               rf"|[{_CJK}]{{2,4}}(?![{_CJK}])|[{_CJK}][ \t]+{_LATIN_NAME}|{_LATIN_NAME}[ \t]+[{_CJK}])", 7, "en",
       check=_trim_en_name),
    _r("name", rf"(?P<v>\b[A-Z][a-z'’\-]+\s+[A-Z][A-Za-z0-9'’\-]+|(?<![{_CJK}])[{_CJK}]{{2,4}}"
               rf"|(?<![{_CJK}])[{_CJK}][ \t]+{_LATIN_NAME}|\b{_LATIN_NAME}[ \t]+[{_CJK}])"
               rf"(?=\s+(?:{_CLINICAL_VERBS}))", 8, "en", check=_trim_en_name,
       need=rf"\b(?:{_CLINICAL_VERBS})\b"),
    _r("name", rf"\b(?i:seen|referred|dictated|reviewed|read|reported|signed|verified|approved|examined|performed|"
               rf"interpreted|discussed|transcribed|typed)[ \t]+(?i:by|with)[ \t]+"
               rf"(?:(?:Mr|Mrs|Ms|Miss|Dr|Prof)\.?[ \t]+)?(?P<v>{_MIXED_NAME})", 8, "en", check=_trim_en_name,
       need=r"(?i)\b(?:by|with)\b"),
    _r("name", rf"\b(?i:daughter|son|husband|wife|sister|brother|mother|father|partner|niece|nephew|relative|"
               rf"carer|guardian|interpreter)(?:'s)?,?[ \t]+(?P<v>{_MIXED_NAME})", 8, "en", check=_trim_en_name),
    _r("address", r"(?i:\b(?:address|addr|home|residing\s+at|lives\s+at)\.?\s*[:：]?)[ \t]*(?P<v>\d[^,;.\n]*"
                  r"|[A-Z][^,;.\n]*)", 7, "en", need=r"(?i)address|addr|home|residing|lives"),
    _r("address", r"\b\d{1,5}[ \t]+(?:[A-Z][a-z]+[ \t]+){1,3}(?:Avenue|Ave|Street|St|Road|Rd|Lane|Ln|Drive|Dr|"
                  r"Boulevard|Blvd|Court|Ct|Way|Place|Pl|Terrace|Crescent|Close)\b\.?", 6, "en",
       need=r"\d[ \t]+[A-Z]"),
    _r("address", rf"(?:家住|住址|地址|现住|現住|居住于|居住於|户籍地|户籍|戶籍|籍贯|籍貫|住所|居住地|现居|現居)"
                  rf"\s*[:：]?\s*(?P<v>[{_CJK}0-9A-Za-z\-]{{2,40}})",
       7, "zh", need=r"家住|住址|地址|现住|現住|居住|户籍|戶籍|籍贯|籍貫|住所|现居|現居"),
    _r("institution", rf"(?:(?<=[于於在至到赴转轉及和与與、])|(?<![{_CJK}]))(?!上级|上級|当地|當地|本|我|外|其他|他)"
                      rf"(?P<v>(?:(?![于於在至到赴转轉曾行])[{_CJK}]){{2,24}}?(?:医院|醫院|卫生院|衛生院|诊所|診所|保健院|"
                      rf"(?:医学|醫學|影像|体检|體檢|健康|诊断|診斷|筛查|篩查|妇幼|婦幼|肿瘤|腫瘤|卫生|衛生|乳腺)中心))",
       8, "zh", check=_check_zh_institution, need=r"医院|醫院|卫生院|衛生院|诊所|診所|保健院|中心"),
    _r("institution", r"\b(?:[A-Z][A-Za-z'’\-]+[ \t]+){1,5}"
                      r"(?:Hospital|Clinic|Centre|Center|Infirmary|Medical[ \t]+Center|Imaging(?:[ \t]+Associates)?|"
                      r"Radiology(?:[ \t]+Associates)?|Associates|Institute|Diagnostics|Healthcare|Polyclinic)\b",
       8, "en", check=_check_en_institution,
       need=r"Hospital|Clinic|Centre|Center|Infirmary|Imaging|Radiology|Associates|Institute|Diagnostics|"
            r"Healthcare|Polyclinic"),
    _r("id", r"(?<![\d\-])\d{3}-\d{2}-\d{4}(?![\d\-])", 6, "en", need=r"\d-\d\d-\d"),
    _r("id", r"(?<![A-Za-z0-9])[A-Za-z]{1,4}[-_]?\d{6,}(?![A-Za-z0-9])", 9),
    _r("id", r"(?<![\d.])\d{8,}(?!\.?\d)", 9),
)


def _is_cjk(s: str) -> bool:
    return bool(re.search(f"[{_CJK}]", s))


# public names for mvkl.deid.scrub and mvkl.deid.strict
Rule = _Rule
RULES = _RULES
CJK = _CJK
STOP_WORDS = _STOP_WORDS
NAME_END = _NAME_END
CLINICAL_LATIN = _CLINICAL_LATIN
is_cjk = _is_cjk

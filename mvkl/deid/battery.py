"""A hand-written battery of identifying constructions that the rules were NOT written against (issue 15).

Written in one go after the rules and the generated corpus, and not used to tune them: its recall
is the closest thing here to "a corpus mvkl has not seen". Each entry is (language, category,
identifier, sentence); the figures are in docs/deidentification.md.
"""

from __future__ import annotations

from collections.abc import Callable

from mvkl.deid.bench import Planted, _leaked

__all__ = ["BATTERY", "battery_recall"]

_ROWS: list[tuple[str, str, str, str]] = [
    ("en", "name", "Abernathy-Ross", "Seen by Quentin Abernathy-Ross, consultant radiologist."),
    ("en", "name", "Hazel Quigley", "Films reviewed with the patient's daughter, Hazel Quigley."),
    ("en", "name", "O'Sullivan-Pryce", "Ms. O'Sullivan-Pryce returned for recall imaging."),
    ("en", "name", "Ingrid Solberg", "Pt: Ingrid Solberg"),
    ("en", "name", "Hohenberg", "Referred by Dr. von Hohenberg."),
    ("en", "name", "MORRISON", "Dictated by MORRISON, K."),
    ("en", "name", "Anjali Ramaswamy", "cc: Dr Anjali Ramaswamy"),
    ("en", "name", "Tsang", "Mrs Tsang (interpreter present) consented."),
    ("en", "institution", "Bartholomew", "Prior mammogram from St. Bartholomew's Hospital, London."),
    ("en", "institution", "Lakeside Imaging Associates", "Compared with films from Lakeside Imaging Associates."),
    ("en", "date", "12/03/1951", "DOB 12/03/1951."),
    ("en", "date", "3rd March 2021", "Date of service: 3rd March 2021"),
    ("en", "phone", "020 7946 0958", "Call 020 7946 0958 with questions."),
    ("en", "id", "123-45-6789", "SSN 123-45-6789"),
    ("en", "id", "943 476 5919", "NHS number 943 476 5919"),
    ("en", "address", "22 Rosewood Crescent", "Lives in Flat 4, 22 Rosewood Crescent, Bath."),
    ("en", "address", "7 Cherry Tree Close", "Home address 7 Cherry Tree Close"),
    ("en", "age", "97", "A 97 year old lady."),
    ("en", "email", "j.smith+mammo@nhs.net", "Email j.smith+mammo@nhs.net for a copy."),
    ("en", "id", "RAD-2023-000123", "Accession #: RAD-2023-000123"),
    ("zh", "name", "司马秀英", "患者司马秀英，女，58岁。"),
    ("zh", "name", "諸葛亮", "受检者：諸葛亮"),
    ("zh", "name", "李建国", "联系人：李建国（女儿）"),
    ("zh", "name", "欧阳 娜娜", "诊断医师 欧阳 娜娜"),
    ("zh", "name", "王丽娟", "王丽娟 左乳外上象限见肿块。"),
    ("zh", "name", "刘德华", "由刘德华主任审核。"),
    ("zh", "institution", "湘雅二医院", "转诊单位：湘雅二医院"),
    ("zh", "institution", "市中医院", "于我院及市中医院行超声检查。"),
    ("zh", "address", "江苏省南京市鼓楼区中山路321号", "地址：江苏省南京市鼓楼区中山路321号"),
    ("zh", "address", "河南省郑州市", "户籍地：河南省郑州市"),
    ("zh", "phone", "139 1234 5678", "手机号：139 1234 5678"),
    ("zh", "phone", "(020)87654321", "电话：(020)87654321"),
    ("zh", "date", "二〇二一年十二月三十日", "二〇二一年十二月三十日复查。"),
    ("zh", "date", "2021年12月30号", "2021年12月30号行穿刺。"),
    ("zh", "date", "2021.12.30", "检查日期：2021.12.30"),
    ("zh", "id", "44010619800101123X", "身份证：44010619800101123X"),
    ("zh", "id", "MR20231234", "病历号MR20231234"),
    ("zh", "age", "96", "患者96岁高龄。"),
    ("zh", "email", "zhang.lj@163.com", "邮箱 zhang.lj@163.com"),
    ("zh", "name", "黄婉君", "与家属黄婉君沟通后建议活检。"),
]
BATTERY: list[Planted] = [Planted(lang, kind, value, text) for lang, kind, value, text in _ROWS]


def battery_recall(scrub: Callable[[str], str]) -> dict[str, object]:
    """Per-category recall of ``scrub`` on :data:`BATTERY` and the number of leaked entries."""
    found: dict[str, list[int]] = {}
    leaked = 0
    for p in BATTERY:
        ok = not _leaked(p.value, scrub(p.text), p.kind, p.text.replace(p.value, ""))
        cell = found.setdefault(p.kind, [0, 0])
        cell[0] += ok
        cell[1] += 1
        leaked += not ok
    return {"n": len(BATTERY), "leaked": leaked,
            "recall": {k: round(a / b, 4) for k, (a, b) in sorted(found.items())}}

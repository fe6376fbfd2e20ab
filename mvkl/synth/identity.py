"""Fake but realistic identifiers for synthetic studies (names, IDs, dates, institutions, phones).

Everything is drawn from a seeded ``numpy.random.Generator``; nothing refers to a real person or
institution. Chinese identities (``lang="zh"``) carry an ideographic name next to the pinyin, the
way Chinese PACS write ``PatientName`` (``"Wang^Fang=王^芳"`` with ``SpecificCharacterSet``
``ISO_IR 192``); English ones use Latin names, some with accented letters, so that de-identification
is exercised on several encodings (spec/dicom.md §1.4, §5).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Identity", "Institution", "draw_identity", "draw_institution", "fake_person_name", "fake_phone"]

_ZH_SURNAMES = [
    ("王", "Wang"),
    ("李", "Li"),
    ("张", "Zhang"),
    ("刘", "Liu"),
    ("陈", "Chen"),
    ("杨", "Yang"),
    ("黄", "Huang"),
    ("赵", "Zhao"),
    ("吴", "Wu"),
    ("周", "Zhou"),
    ("徐", "Xu"),
    ("孙", "Sun"),
    ("马", "Ma"),
    ("朱", "Zhu"),
    ("胡", "Hu"),
    ("郭", "Guo"),
    ("何", "He"),
    ("林", "Lin"),
    ("罗", "Luo"),
    ("郑", "Zheng"),
    ("梁", "Liang"),
    ("谢", "Xie"),
    ("宋", "Song"),
    ("唐", "Tang"),
    ("韩", "Han"),
    ("冯", "Feng"),
    ("邓", "Deng"),
    ("曹", "Cao"),
    ("彭", "Peng"),
    ("曾", "Zeng"),
    ("叶", "Ye"),
    ("蒋", "Jiang"),
    ("沈", "Shen"),
    ("俞", "Yu"),
    ("鲍", "Bao"),
    ("虞", "Yu"),
]
_ZH_GIVEN = [
    ("丽", "Li"),
    ("芳", "Fang"),
    ("娜", "Na"),
    ("敏", "Min"),
    ("静", "Jing"),
    ("秀", "Xiu"),
    ("英", "Ying"),
    ("婷", "Ting"),
    ("雪", "Xue"),
    ("琳", "Lin"),
    ("燕", "Yan"),
    ("红", "Hong"),
    ("霞", "Xia"),
    ("玲", "Ling"),
    ("萍", "Ping"),
    ("梅", "Mei"),
    ("莉", "Li"),
    ("慧", "Hui"),
    ("洁", "Jie"),
    ("颖", "Ying"),
    ("倩", "Qian"),
    ("华", "Hua"),
    ("娟", "Juan"),
    ("艳", "Yan"),
    ("凤", "Feng"),
    ("月", "Yue"),
    ("珍", "Zhen"),
    ("兰", "Lan"),
    ("素", "Su"),
    ("蓉", "Rong"),
]
_EN_SURNAMES = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Miller",
    "Davis",
    "Garcia",
    "Wilson",
    "Moore",
    "Taylor",
    "Anderson",
    "Thomas",
    "Jackson",
    "White",
    "Harris",
    "Martin",
    "Thompson",
    "Robinson",
    "Clarke",
    "Lewis",
    "Walker",
    "Hall",
    "Young",
    "Allen",
    "Wright",
    "Scott",
    "Green",
    "Baker",
    "Müller",
    "Lefèvre",
    "Núñez",
    "Østergaard",
    "O'Brien",
    "Kowalski",
    "Haddad",
    "Okafor",
    "Nguyen",
]
_EN_GIVEN = [
    "Mary",
    "Patricia",
    "Jennifer",
    "Linda",
    "Elizabeth",
    "Barbara",
    "Susan",
    "Jessica",
    "Sarah",
    "Karen",
    "Nancy",
    "Lisa",
    "Margaret",
    "Sandra",
    "Ashley",
    "Dorothy",
    "Helen",
    "Carol",
    "Ruth",
    "Sharon",
    "Michelle",
    "Laura",
    "Amélie",
    "Zoë",
    "Ingrid",
    "Chloé",
    "Fatima",
    "Aisha",
    "Grace",
]
_EN_DOCTORS_GIVEN = ["John", "Robert", "Michael", "David", "James", "Anne", "Emily", "Peter", "Sophie", "Hannah"]
_ZH_CITIES = [
    ("云溪", "Yunxi"),
    ("青澜", "Qinglan"),
    ("临江", "Linjiang"),
    ("东湖", "Donghu"),
    ("明澜", "Minglan"),
    ("海宁湾", "Hainingwan"),
    ("南屿", "Nanyu"),
]
_ZH_DISTRICTS = ["滨江区", "鼓楼区", "江北区", "海曙区", "新城区", "高新区"]
_ZH_ROADS = ["学府路", "人民路", "中山东路", "解放南路", "湖滨路", "银杏大道", "柳汀街"]
_EN_TOWNS = ["Eastport", "Millbrook", "Ashford Vale", "Kingsbridge", "Harrowgate", "Brookhaven", "Westmere"]
_EN_STREETS = ["Harbor Road", "Elm Street", "Station Avenue", "Mill Lane", "Queen's Parade", "Park Drive"]
_EN_HOSPITAL_KINDS = ["General Hospital", "University Medical Center", "Women's Hospital", "Breast Centre"]


@dataclass(frozen=True)
class Institution:
    """A fake hospital with its imaging equipment (spec/dicom.md §1.1: InstitutionName/Address,
    StationName, DeviceSerialNumber, DetectorID are all identifying)."""

    name: str
    address: str
    station_names: tuple[str, ...]
    device_serials: tuple[str, ...]
    detector_ids: tuple[str, ...]
    phone: str
    doctors: tuple[str, ...]
    operators: tuple[str, ...]


@dataclass(frozen=True)
class Identity:
    """A fake patient. ``dicom_name`` is the PN value; ``display_name`` how reports write it."""

    patient_id: str
    dicom_name: str
    display_name: str
    birth_date: dt.date
    phone: str
    other_ids: tuple[str, ...]
    address: str
    strings: tuple[str, ...] = field(default=())

    @property
    def birth_date_str(self) -> str:
        return self.birth_date.strftime("%Y%m%d")


def _pick(rng: np.random.Generator, seq: list | tuple):  # type: ignore[no-untyped-def,type-arg]
    return seq[int(rng.integers(len(seq)))]


def fake_person_name(rng: np.random.Generator, lang: str, female: bool = True) -> tuple[str, str]:
    """(DICOM PN value, display form). zh: ``("Chen^Lijing=陈^丽静", "陈丽静")``;
    en: ``("SMITH^MARY", "Mary Smith")``."""
    if lang == "zh":
        zh_s, py_s = _pick(rng, _ZH_SURNAMES)
        parts = [_pick(rng, _ZH_GIVEN) for _ in range(1 + int(rng.random() < 0.7))]
        zh_g = "".join(p[0] for p in parts)
        py_g = "".join(p[1] for p in parts).capitalize()
        return f"{py_s}^{py_g}={zh_s}^{zh_g}", f"{zh_s}{zh_g}"
    given = _pick(rng, _EN_GIVEN if female else _EN_DOCTORS_GIVEN)
    sur = _pick(rng, _EN_SURNAMES)
    middle = f"^{chr(65 + int(rng.integers(26)))}" if rng.random() < 0.3 else ""
    return f"{sur.upper()}^{given.upper()}{middle}", f"{given} {sur}"


def fake_phone(rng: np.random.Generator, lang: str) -> str:
    """zh: an 11-digit mobile number starting 13x/15x/18x; en: a 555-01xx fictional number."""
    if lang == "zh":
        return f"1{_pick(rng, ['38', '39', '58', '59', '86', '88', '37'])}{int(rng.integers(10**8)):08d}"
    return f"(555) 01{int(rng.integers(100)):02d}-{int(rng.integers(10**4)):04d}"


def _address(rng: np.random.Generator, lang: str) -> str:
    if lang == "zh":
        city = _pick(rng, _ZH_CITIES)[0]
        return f"{city}市{_pick(rng, _ZH_DISTRICTS)}{_pick(rng, _ZH_ROADS)}{int(rng.integers(1, 999))}号"
    return f"{int(rng.integers(10, 9999))} {_pick(rng, _EN_STREETS)}, {_pick(rng, _EN_TOWNS)}"


def draw_institution(rng: np.random.Generator, lang: str) -> Institution:
    """A fake hospital with three mammography stations, staff names and a switchboard number."""
    n_st = 3
    if lang == "zh":
        city, city_py = _pick(rng, _ZH_CITIES)
        no = ["第一", "第二", "第三", "第六"][int(rng.integers(4))]
        name = f"{city}市{no}人民医院"
    else:
        city_py = _pick(rng, _EN_TOWNS)
        name = f"{city_py} {_pick(rng, _EN_HOSPITAL_KINDS)}"
    tag = "".join(ch for ch in city_py.upper() if ch.isalpha())[:4]
    stations = tuple(f"{tag}MG{int(rng.integers(1, 9))}F{k + 1:02d}" for k in range(n_st))
    serials = tuple(f"{int(rng.integers(10**6, 10**7))}{chr(65 + int(rng.integers(26)))}" for _ in range(n_st))
    detectors = tuple(f"DET{int(rng.integers(10**5, 10**6))}" for _ in range(n_st))
    doctors = tuple(fake_person_name(rng, lang, female=bool(rng.random() < 0.5))[0] for _ in range(4))
    operators = tuple(fake_person_name(rng, lang)[0] for _ in range(3))
    return Institution(
        name, _address(rng, lang), stations, serials, detectors, fake_phone(rng, lang), doctors, operators
    )


def draw_identity(rng: np.random.Generator, lang: str, study_year: int, patient_number: int) -> Identity:
    """A fake patient aged 28-85 at ``study_year``; ``patient_number`` makes the ID unique."""
    pn, display = fake_person_name(rng, lang)
    age = int(np.clip(rng.normal(52, 11), 28, 85))
    birth = dt.date(study_year - age, 1, 1) + dt.timedelta(days=int(rng.integers(0, 365)))
    if lang == "zh":
        pid = f"{int(rng.integers(1, 10))}{patient_number:05d}{int(rng.integers(10**4)):04d}"
        other = (
            f"ZY{int(rng.integers(10**7, 10**8))}",
            f"33{int(rng.integers(10**4)):04d}{birth:%Y%m%d}{int(rng.integers(10**3)):03d}"
            f"{_pick(rng, list('0123456789X'))}",
        )
    else:
        pid = f"MRN{patient_number:05d}{int(rng.integers(10**3)):03d}"
        other = (
            f"H{int(rng.integers(10**6, 10**7))}",
            f"{int(rng.integers(100, 999))}-{int(rng.integers(10, 99))}-{int(rng.integers(1000, 9999))}",
        )
    return Identity(pid, pn, display, birth, fake_phone(rng, lang), other, _address(rng, lang))

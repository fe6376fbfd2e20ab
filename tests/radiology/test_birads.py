"""BI-RADS parser: a table of real-style phrasings in Chinese and English, each with its exact result."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mvkl.radiology.birads import (
    CATEGORIES,
    SUSPICION_ORDER,
    birads_group,
    find_birads,
    normalize_birads,
    parse_birads,
    suspicion_rank,
)

CASES: list[tuple[str, str | None]] = [
    # --- the keyword, English and mixed spellings
    ("BI-RADS 4B", "4B"),
    ("BI-RADS: 4c", "4C"),
    ("BIRADS-5", "5"),
    ("bi-rads4c", "4C"),
    ("Bi-Rads category 2", "2"),
    ("BI-RADS® 2: Benign", "2"),
    ("BIRADS 1 negative", "1"),
    ("Assessment: BI-RADS category 3 – probably benign", "3"),
    ("ACR BI-RADS 0 incomplete", "0"),
    ("BI-RADS 0 - incomplete, need additional imaging evaluation", "0"),
    ("Overall BI-RADS: 3 (probably benign); follow-up in 6 months", "3"),
    ("BI-RADS 5 – highly suggestive of malignancy. Mass measures 4.5 cm.", "5"),
    (
        "IMPRESSION: Suspicious mass in the right breast at 10 o'clock. "
        "BI-RADS Category 4B: moderate suspicion for malignancy.",
        "4B",
    ),
    ("Final assessment: category 5", "5"),
    ("BI-RADS 6 (biopsy-proven malignancy)", "6"),
    ("BIRADS cat. 3", "3"),
    ("BI-RADS-US 4a", "4A"),
    # --- Roman numerals and full-width characters
    ("BI-RADS Ⅳ类", "4"),
    ("BI-RADS IV", "4"),
    ("BI-RADS II", "2"),
    ("BI-RADS VI", "6"),
    ("BI-RADS category: V", "5"),
    ("BI-RADS分级：Ⅲ级", "3"),
    ("ＢＩ－ＲＡＤＳ　４Ａ", "4A"),
    ("结论：右乳BI－RADS ４Ｂ类", "4B"),
    # --- Chinese with the keyword
    ("BI-RADS分类：4A类", "4A"),
    ("BI-RADS：3类", "3"),
    ("BI-RADS 4 类（4B）", "4B"),
    ("BI-RADS 评估分类：4 类（4C）", "4C"),
    ("（BI-RADS 4级）", "4"),
    ("BI-RADS四类", "4"),
    ("诊断意见：右乳外上象限肿块，考虑BI-RADS 4A类，建议活检。", "4A"),
    ("印象：左乳内下象限结节，BI-RADS 3类，建议6个月后复查。", "3"),
    ("双乳腺体型（ACR c型），右乳BI-RADS 5类", "5"),
    ("BI-RADS：0类，建议结合超声检查", "0"),
    ("乳腺影像报告和数据系统（BI-RADS）4A类", "4A"),
    ("BI-RADS分级为4c级", "4C"),
    ("BI-RADS 6类（已病理证实）", "6"),
    ("乳腺X线：右乳4点钟方向肿块约1.5×1.2cm，BI-RADS 4a", "4A"),
    ("BI-RADS:5类;ACR分型:b型", "5"),
    ("钙化灶，直径0.3cm，BI-RADS 2类", "2"),
    ("右乳外上象限见肿块，大小约2.1cm×1.8cm，边缘模糊，BI-RADS 4B类。", "4B"),
    # --- Chinese without the keyword
    ("评估分类：4a", "4A"),
    ("分类为4B类", "4B"),
    ("评价为3类", "3"),
    ("右乳肿块，4A类", "4A"),
    ("腺体为不均匀致密型，右乳外上象限肿块，4A类", "4A"),
    # --- several categories: the most suspicious current one
    ("left breast BI-RADS 2, right breast BI-RADS 4A", "4A"),
    ("Left: BI-RADS 1. Right: BI-RADS 5.", "5"),
    ("左乳BI-RADS 2类，右乳BI-RADS 4C类", "4C"),
    ("left BI-RADS 3 and right BI-RADS 0", "0"),
    ("BI-RADS 6 (known cancer), left BI-RADS 0", "6"),
    ("BI-RADS 3-4类", "4"),
    ("BI-RADS 4a/4b", "4B"),
    # --- prior examinations are not the final assessment
    ("compared with prior BI-RADS 3", None),
    ("Compared with prior BI-RADS 3, now BI-RADS 4A", "4A"),
    ("Prior BI-RADS 4A; now BI-RADS 3.", "3"),
    ("Compared to the previous study (BI-RADS 2), there is a new mass; BI-RADS 4A.", "4A"),
    ("upgraded from BI-RADS 4B to BI-RADS 3 after ultrasound", "3"),
    ("较前片（BI-RADS 4C类）缩小，现评估为BI-RADS 3类", "3"),
    ("由4A类降为3类", "3"),
    ("与2019年片对比，病灶增大，BI-RADS 4B类", "4B"),
    # --- never sizes, clock positions, dates, other gradings; None when absent
    ("肿块大小约4.5cm，位于4点钟方向", None),
    ("The mass at 4 o'clock measures 4.5 cm.", None),
    ("Exam date 2021-03-04, category pending", None),
    ("检查日期：2020年4月5日", None),
    ("BI-RADS 4.5", None),
    ("bi-rads 4 cm mass", None),
    ("BI-RADS 2 - 6 month follow-up", "2"),
    ("腺体类型：3类", None),
    ("腺体构成：3类", None),
    ("ACR分型：3型", None),
    ("病理：浸润性导管癌，组织学分级2级", None),
    ("病理分级：3级", None),
    ("TNM分期：T2N1M0", None),
    ("分类：2个肿块", None),
    ("BI-RADS in both breasts", None),
    ("No suspicious findings.", None),
    ("", None),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[f"{i:02d}" for i in range(len(CASES))])
def test_parse_birads_table(text: str, expected: str | None) -> None:
    assert parse_birads(text) == expected


def test_table_is_large_and_bilingual() -> None:
    zh = [t for t, _ in CASES if any("\u4e00" <= ch <= "\u9fff" for ch in t)]
    assert len(CASES) >= 40 and len(zh) >= 15 and len(CASES) - len(zh) >= 15
    assert {e for _, e in CASES} >= set(CATEGORIES) | {None}


@given(st.text(max_size=200))
@settings(max_examples=300, deadline=None)
def test_never_crashes(text: str) -> None:
    assert parse_birads(text) in (*CATEGORIES, None)


@given(st.integers(0, 6), st.integers(0, 9), st.sampled_from(["cm", "mm", " cm", "%", "点钟", " o'clock", ":30"]))
@settings(max_examples=100, deadline=None)
def test_numbers_with_units_are_never_categories(d: int, k: int, unit: str) -> None:
    for text in (f"大小约{d}.{k}{unit}", f"BI-RADS {d}.{k}{unit}", f"评估：{d}{unit}", f"mass {d}{unit}"):
        assert parse_birads(text) is None, text


def test_none_input() -> None:
    assert parse_birads(None) is None


def test_rules_and_prior() -> None:
    text = "Prior BI-RADS 4A; left BI-RADS 2, right BI-RADS 3"
    assert parse_birads(text) == "3"
    assert parse_birads(text, rule="first") == "2"
    assert parse_birads(text, rule="last") == "3"
    assert parse_birads(text, include_prior=True) == "4A"
    assert [m.prior for m in find_birads(text)] == [True, False, False]
    with pytest.raises(ValueError):
        parse_birads(text, rule="median")  # type: ignore[arg-type]


def test_mentions_point_at_the_category() -> None:
    from mvkl.radiology.birads import normalize_text

    text = "左乳BI-RADS 2类，右乳BI-RADS 4C类"
    s = normalize_text(text)
    ms = find_birads(text)
    assert [m.category for m in ms] == ["2", "4C"]
    assert [s[m.start] for m in ms] == ["2", "4"]


def test_suspicion_order() -> None:
    ranks = [suspicion_rank(c) for c in SUSPICION_ORDER]
    assert ranks == sorted(ranks) and len(set(ranks)) == len(CATEGORIES)
    assert suspicion_rank("4b") > suspicion_rank("4a") > suspicion_rank("4") > suspicion_rank("0")
    assert suspicion_rank("6") > suspicion_rank("5") > suspicion_rank("4C")
    with pytest.raises(ValueError):
        suspicion_rank("7")


@pytest.mark.parametrize(
    ("value", "canon", "group"),
    [
        ("4a", "4A", "4"),
        ("4B", "4B", "4"),
        (" 4c ", "4C", "4"),
        ("4", "4", "4"),
        ("0", "0", "0"),
        ("6", "6", "6"),
        (3, "3", "3"),
        (b"5", "5", "5"),
        ("IV", "4", "4"),
        ("iii", "3", "3"),
        ("Ⅴ", "5", "5"),
        ("BI-RADS 4B", "4B", "4"),
        ("4A类", "4A", "4"),
        ("", None, None),
        ("  ", None, None),
        (None, None, None),
        ("7", None, None),
        (9, None, None),
        ("unknown", None, None),
    ],
)
def test_normalize_and_group(value: object, canon: str | None, group: str | None) -> None:
    assert normalize_birads(value) == canon
    assert birads_group(value) == group

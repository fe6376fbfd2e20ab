from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from mvkl.manifest import schema as S
from mvkl.manifest.table import (
    decode_frame,
    encode_frame,
    parse_manifest_frame,
    read_table,
    validate_table,
    write_table,
)


def readable_frame(rows: list[dict[str, str]]) -> pl.DataFrame:
    cols = ["lump_id", *(g.en for g in S.exclusive_groups()), *(o.en for o in S.MISC_GROUP.options), "label"]
    data = {c: [r.get(c, "") for r in rows] for c in cols}
    return pl.DataFrame(data, schema={c: pl.String for c in cols})


def wide_frame(vectors: np.ndarray, meta_cols: int = 8) -> pl.DataFrame:
    """The MVKL release layout: 8 metadata columns, 35 manifestation columns, a last column."""
    data: dict[str, list[str]] = {f"meta{i}": [f"m{r}" for r in range(len(vectors))] for i in range(meta_cols)}
    data["meta0"] = [f"L{r}" for r in range(len(vectors))]
    for j in range(S.DIM):
        data[f"c{j}"] = [str(int(x)) for x in vectors[:, j]]
    data["last"] = ["x"] * len(vectors)
    return pl.DataFrame(data)


def test_planted_errors_are_all_reported_with_row_and_column(tmp_path: Path) -> None:
    rows = [
        {"lump_id": "1", "mass shape": "irregular", "mass edge": "spiculated", "duct sign": "1"},
        {"lump_id": "2", "mass shape": "irregualr"},  # typo -> suggestion
        {"lump_id": "3", "mass edge": "spiculated; obscured"},  # two options in an exclusive group
        {"lump_id": "4", "halo sign": "maybe"},  # not 0/1
        {"lump_id": "2", "mass shape": "round"},  # duplicated id
        {"lump_id": "6", "calcification shape": "环形", "calcification distribution": "segmental"},
    ]
    path = tmp_path / "planted.csv"
    readable_frame(rows).write_csv(path)
    mt = validate_table(path)
    assert mt.layout == "readable"
    by_code = {p.code: p for p in mt.problems}
    assert len(mt.problems) == 4, [str(p) for p in mt.problems]
    assert by_code["unknown-option"].row == 3 and "mass shape" in by_code["unknown-option"].column
    assert "did you mean 'irregular'" in by_code["unknown-option"].message
    assert by_code["exclusive-group"].row == 4 and "mass edge" in by_code["exclusive-group"].column
    assert by_code["value"].row == 5 and "halo sign" in by_code["value"].column
    assert by_code["duplicate-id"].row == 6 and "row 3" in by_code["duplicate-id"].message
    assert all(p.file.endswith("planted.csv") for p in mt.problems)
    # Column letters as a spreadsheet shows them: lump_id is A, mass shape is B.
    assert by_code["unknown-option"].column == "mass shape (B)"
    # The valid rows parsed correctly.
    assert mt.vectors[5, S.option_by_key()["calc_shape.crescentic"].index] == 1
    assert mt.vectors[5, S.option_by_key()["calc_distribution.linear_segmental"].index] == 1


def test_wide_positional_layout_and_exclusivity(tmp_path: Path) -> None:
    v = np.zeros((3, S.DIM), np.uint8)
    v[0, 0] = 1
    v[1, [0, 1]] = 1  # two mass shapes
    v[2, 30] = 1
    df = wide_frame(v)
    df = df.with_columns(pl.Series("c5", ["0", "1", "2"]))  # a non-binary value on row 4
    path = tmp_path / "wide.xlsx"
    df.write_excel(path)
    mt = validate_table(path)
    assert mt.layout == "positional"
    codes = sorted((p.code, p.row) for p in mt.problems)
    assert codes == [("exclusive-group", 3), ("value", 4)]


def test_wrong_number_of_columns() -> None:
    df = wide_frame(np.zeros((2, S.DIM), np.uint8)).drop(["c3", "c4"])
    mt = parse_manifest_frame(df, "t.xlsx")
    assert [p.code for p in mt.problems] == ["column-count"]
    assert "33" in mt.problems[0].message and "35" in mt.problems[0].message


def test_clean_table_has_no_problems_and_empty_rows_keep_numbering(tmp_path: Path) -> None:
    v = np.zeros((4, S.DIM), np.uint8)
    v[:, 2] = 1
    df = wide_frame(v).with_columns(pl.Series("c0", ["0", "0", "0", "1"]), pl.Series("c2", ["1", "1", "1", "0"]))
    path = tmp_path / "clean.xlsx"
    df.write_excel(path)
    mt = validate_table(path)
    assert mt.ok and mt.vectors.shape == (4, 35)
    assert mt.vectors[3, 0] == 1 and mt.vectors[3, 2] == 0


def test_unknown_marks_whole_group_and_empty_policy() -> None:
    df = readable_frame([{"mass shape": "unknown", "mass edge": "", "duct sign": "?"}])
    mt = parse_manifest_frame(df)
    assert mt.ok
    assert mt.known[0, S.GROUPS[0].slice].sum() == 0
    assert mt.known[0, S.GROUPS[1].slice].all()  # empty = absent
    assert mt.known[0, S.option_by_key()["misc.duct_sign"].index] == 0
    mt2 = parse_manifest_frame(df, empty="unknown")
    assert mt2.known[0, S.GROUPS[1].slice].sum() == 0


def random_canonical_rows(draw_ints: list[int], signs: list[bool]) -> tuple[np.ndarray, np.ndarray]:
    v = np.zeros(S.DIM, np.uint8)
    k = np.ones(S.DIM, np.uint8)
    for g, c in zip(S.exclusive_groups(), draw_ints, strict=True):
        if c == len(g.options):
            k[g.slice] = 0
        elif c >= 0:
            v[g.options[c].index] = 1
    for o, s in zip(S.MISC_GROUP.options, signs, strict=True):
        v[o.index] = int(s)
    return v, k


row_strategy = st.tuples(
    st.tuples(*(st.integers(-1, len(g.options)) for g in S.exclusive_groups())),
    st.lists(st.booleans(), min_size=9, max_size=9),
)


@given(st.lists(row_strategy, min_size=1, max_size=12), st.sampled_from(["en", "zh"]))
@settings(max_examples=60, deadline=None)
def test_roundtrip_readable_binary_readable_is_lossless(rows, lang) -> None:  # type: ignore[no-untyped-def]
    vk = [random_canonical_rows(list(a), b) for a, b in rows]
    V = np.stack([x[0] for x in vk])
    K = np.stack([x[1] for x in vk])
    meta = pl.DataFrame({"lump_id": [str(i) for i in range(len(V))]})
    from mvkl.manifest.table import ManifestTable

    wide_table = ManifestTable(V, K, meta, "wide", [])
    readable = decode_frame(wide_table, lang=lang)
    parsed = parse_manifest_frame(readable)
    assert parsed.ok, parsed.problems
    assert np.array_equal(parsed.vectors, V) and np.array_equal(parsed.known, K)
    wide = encode_frame(parsed)
    assert wide.columns[0] == "lump_id" and wide.columns[1:36] == S.dim_keys()
    back = parse_manifest_frame(wide)
    assert back.layout == "wide" and back.ok
    assert np.array_equal(back.vectors, V) and np.array_equal(back.known, K)
    again = decode_frame(back, lang=lang)
    assert again.equals(readable)


def test_file_roundtrip_formats(tmp_path: Path) -> None:
    df = readable_frame([{"lump_id": "1", "mass shape": "ovoid", "nipple retraction": "1"},
                         {"lump_id": "2", "calcification size": "tiny"}])
    for ext in ("csv", "xlsx", "parquet"):
        p = tmp_path / f"t.{ext}"
        write_table(df, p)
        back = read_table(p)
        assert back.columns == df.columns
        mt = parse_manifest_frame(back)
        assert mt.ok and mt.vectors.sum() == 3


def test_two_lumps_of_one_breast_are_not_duplicates_but_repeated_rows_are() -> None:
    rows = [
        {"mass shape": "round"},
        {"mass shape": "irregular"},  # second lump, same breast, same view files
        {"mass shape": "round"},      # an exact repeat of row 2
    ]
    df = readable_frame(rows).drop("lump_id").with_columns(
        pl.lit("P1").alias("patient_id"), pl.lit("S1").alias("study_id"), pl.lit("a.dcm/||b.dcm/||").alias("view_id"))
    mt = parse_manifest_frame(df, "t.csv")
    assert [(p.code, p.row) for p in mt.problems] == [("duplicate-id", 4)]
    assert "row 2" in mt.problems[0].message
    # 序号 (the MVKL row serial) is an id column when present.
    mt2 = parse_manifest_frame(df.with_columns(pl.Series("序号", ["1", "2", "3"])), "t.csv")
    assert mt2.ok

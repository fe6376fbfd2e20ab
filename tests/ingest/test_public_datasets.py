"""`mvkl ingest --format cbis-ddsm|inbreast|vindr` end to end on fixture trees in the real layouts.

Each store is checked row by row against the fixture definitions (tests/sources/_layouts.py):
labels, splits (patient-disjoint, official test kept, validation only from the official train),
views, lateralities, BI-RADS, density and manifestation masks; then `mvkl info` (label balance,
manifestation coverage per group) and malformed inputs (exit 2 naming file, row and column).
"""

from __future__ import annotations

import collections
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from mvkl.manifest import schema as S
from mvkl.sources import ADAPTERS
from mvkl.store import Store, check_store
from mvkl.store import schema as SC
from tests.sources import _layouts as L


def _cli(*args: object) -> Any:
    from mvkl.cli.main import app

    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("key") / "pseudonym.key"


#: A larger validation share than the default 10 %, so that the tiny fixtures get one.
MORE_VAL: dict[str, tuple[str, ...]] = {
    "cbis-ddsm": ("--seed", "3", "--adapter-option", "val_fraction=0.4"),
    "vindr": ("--seed", "1", "--adapter-option", "val_fraction=0.5"),
    "inbreast": (),
}


def _ingest(src: Path, fmt: str, out: Path, key: Path, *extra: object, size: int = 64) -> dict[str, Any]:
    res = _cli("ingest", src, "--format", fmt, "--out", out, "--image-size", size, "--key-file", key,
               "--workers", "1", "--json", *extra)
    assert res.exit_code == 0, res.stdout + res.stderr
    return json.loads(res.stdout)


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory, key: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, fmt, make, natural in (
        ("cbis", "cbis-ddsm", lambda p: L.make_cbis(p, "nbia"), lambda r: (r.patient_key, r.laterality,
                                                                            next(iter(r.images)))),
        ("inbreast", "inbreast", L.make_inbreast, lambda r: r.lump_key),
        ("vindr", "vindr", L.make_vindr, lambda r: r.lump_key),
    ):
        root = tmp_path_factory.mktemp(name)
        fx = make(root)
        store = tmp_path_factory.mktemp(f"{name}-store") / f"{name}.h5"
        doc = _ingest(root, fmt, store, key, *MORE_VAL[fmt])
        records = ADAPTERS[fmt].read(root).records
        out[name] = {"root": root, "expect": fx["expect"], "store": store, "doc": doc, "records": records,
                     "natural": natural, "fmt": fmt}
    return out


def _lump_index(store: Path, key: Path, records: list[Any]) -> dict[int, Any]:
    """Store lump row -> adapter record, through the keyed lump pseudonym (ingest plan contract)."""
    from mvkl.dicom import Pseudonymizer, load_or_create_key

    pseudo = Pseudonymizer(load_or_create_key(key))
    with Store(store) as st:
        ids = [bytes(x).decode() for x in st.lumps["lump_id"]]
    by_id = {pseudo("lump", f"{r.dataset}\x1f{r.patient_key}\x1f{r.exam_key}\x1f{r.lump_key}"): r for r in records}
    return {i: by_id[x] for i, x in enumerate(ids)}


@pytest.mark.parametrize("name", ["cbis", "inbreast", "vindr"])
def test_store_rows_match_fixture_definitions(stores: dict[str, Any], key: Path, name: str) -> None:
    s = stores[name]
    expect = s["expect"]
    assert check_store(s["store"]) == []
    rows = _lump_index(s["store"], key, s["records"])
    stored = {k for k, e in expect.items() if e.stored}
    with Store(s["store"]) as st:
        lumps, im = st.lumps, st.images_meta
        assert {s["natural"](r) for r in rows.values()} == stored
        patient_split: dict[bytes, set[int]] = {}
        for i, rec in rows.items():
            e = expect[s["natural"](rec)]
            vec, known = e.vectors()
            split = SC.SPLIT_NAMES[int(lumps["split"][i])]
            assert int(lumps["label"][i]) == e.label
            assert bytes(lumps["birads"][i]).decode() == e.birads and int(lumps["density"][i]) == e.density
            assert SC.LATERALITY_CODES[int(lumps["laterality"][i])] == e.side
            assert np.array_equal(lumps["manifest_known"][i], known)
            assert np.array_equal(lumps["manifest"][i], vec)
            if e.split == "test":
                assert split == "test"  # official test kept
            elif e.split == "train":
                assert split in ("train", "val")  # validation only from the official train
            ptr = {v: int(lumps[v.lower()][i]) for v in ("CC", "MLO")}
            assert ptr[e.view] >= 0 and ptr["MLO" if e.view == "CC" else "CC"] == -1  # one image per row
            assert SC.VIEW_CODES[int(im["view"][ptr[e.view]])] == e.view
            assert SC.LATERALITY_CODES[int(im["laterality"][ptr[e.view]])] == e.side
            assert (lumps["report"][i] != "") == e.report
            patient_split.setdefault(bytes(lumps["patient_id"][i]), set()).add(int(lumps["split"][i]))
        assert all(len(v) == 1 for v in patient_split.values())  # no patient in two splits
        if name != "inbreast":
            assert {int(x) for x in lumps["split"]} == {0, 1, 2}  # a validation patient was drawn
    # Missing files and the rows the adapter left out are quarantined and located by table + row
    # (+ view), never by path.
    got = {(x["table"], x["row"], x["view"], x["reason"]) for x in s["doc"]["quarantined"]}
    table, row, view = _missing_row(name)
    assert got == {(table, row, view, "missing-file"), (table, row, None, "no-images"), *_left_out(name)}
    assert s["doc"]["quarantined_by_reason"] == dict(sorted(collections.Counter(x[3] for x in got).items()))


def _left_out(name: str) -> set[tuple[str, int, str, str]]:
    """Quarantine entries of the rows an adapter leaves out, from the fixture definitions."""
    if name == "cbis":  # the official-train image of a patient also in the official test set
        test_patients = {r[1] for r in L.CBIS_ROWS if r[0].endswith("test")}
        mass_train = [r for r in L.CBIS_ROWS if r[0] == "mass_train"]
        return {("mass_case_description_train_set.csv", i + 2, r[3], "split-conflict")
                for i, r in enumerate(mass_train) if r[1] in test_patients}
    if name == "inbreast":  # FB (from below) views
        return {("INbreast.csv", i + 2, "FB", "unsupported-view") for i, r in enumerate(L.INBREAST_ROWS)
                if r[3] == "FB"}
    return set()


def _missing_row(name: str) -> tuple[str, int, str]:
    """(table, spreadsheet row, view) of the fixture's missing DICOM file, from the definitions."""
    if name == "cbis":
        mass_test = [r for r in L.CBIS_ROWS if r[0] == "mass_test"]
        (patient, side, view), = L.CBIS_MISSING
        i = next(i for i, r in enumerate(mass_test) if (r[1], r[2][0], r[3]) == (patient, side, view))
        return "mass_case_description_test_set.csv", i + 2, view
    if name == "inbreast":
        i = next(i for i, r in enumerate(L.INBREAST_ROWS) if r[0] in L.INBREAST_MISSING)
        return "INbreast.csv", i + 2, L.INBREAST_ROWS[i][3]
    order = [(st, side, v) for st in L.VINDR_STUDIES for side in ("L", "R") for v in ("CC", "MLO")]
    (miss,) = L.VINDR_MISSING
    return "breast-level_annotations.csv", order.index(miss) + 2, miss[2]


def test_no_identifier_reaches_the_stores(stores: dict[str, Any]) -> None:
    from mvkl.synth.cases import make_uid

    cases = {f"{'Mass' if t.startswith('mass') else 'Calc'}-{'Training' if t.endswith('train') else 'Test'}_{p}_{s}_{v}"
             for t, p, s, v, *_ in L.CBIS_ROWS}
    raw = {  # patient keys, per-view DICOM PatientIDs (case folders), series UIDs, patient hashes, file numbers
        "cbis": ["P_000", *cases, *(make_uid("cbis-series", c) for c in cases)],
        "inbreast": [*L.H, *(r[0] for r in L.INBREAST_ROWS)],
        "vindr": [L.hexid(s) for s in L.VINDR_STUDIES],
    }
    for name, needles in raw.items():
        data = stores[name]["store"].read_bytes()
        for n in needles:
            assert n.encode() not in data, (name, n)
    with Store(stores["inbreast"]["store"]) as st:
        reports = [r for r in st.lumps["report"] if r]
        assert len(reports) == 2 and all(L.H[2] not in r and "BI-RADS 5" in r for r in reports)


@pytest.mark.parametrize("name", ["cbis", "inbreast", "vindr"])
def test_info_shows_label_balance_and_coverage(stores: dict[str, Any], name: str) -> None:
    s = stores[name]
    res = _cli("info", s["store"], "--json")
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    kept = [e for e in s["expect"].values() if e.stored]
    assert doc["labels"] == {"malignant": sum(e.label == 1 for e in kept), "benign": sum(e.label == 0 for e in kept),
                             "unknown": sum(e.label == -1 for e in kept)}
    known = np.array([e.vectors()[1] for e in kept])
    for g in S.GROUPS:
        k = known[:, g.slice]
        want = k.all(axis=1).mean() if g.exclusive else k.mean()
        assert doc["manifestations"]["known_fraction_by_group"][g.key] == pytest.approx(want, abs=1e-4), g.key
    src = doc["sources"][0]
    assert src["format"] == s["fmt"] and src["manifest_mapping"]["layout"] == s["fmt"]
    assert "label_policy" in src["manifest_mapping"] and "split_policy" in src["manifest_mapping"]
    text = _cli("info", s["store"]).stdout
    assert "manifestations: known fraction per group" in text and f"format {s['fmt']}" in text


def test_default_adapter_and_tcia_layout(tmp_path: Path, key: Path) -> None:
    """The registered adapter (10 % validation) on the TCIA layout: every official-train patient of
    the tiny fixture stays in train, the official test is kept."""
    (tmp_path / "src").mkdir()
    L.make_cbis(tmp_path / "src", "tcia")
    doc = _ingest(tmp_path / "src", "cbis-ddsm", tmp_path / "t.h5", key)
    assert doc["lumps"]["ingested"] == sum(e.stored for e in L.cbis_expectations().values())
    with Store(tmp_path / "t.h5") as st:
        splits = {SC.SPLIT_NAMES[int(x)] for x in st.lumps["split"]}
    assert splits == {"train", "test"}


def _rewrite(path: Path, fn: Callable[[list[str], list[list[str]]], None], delimiter: str = ",") -> None:
    header, rows = L.read_rows(path, delimiter)
    fn(header, rows)
    L.write_rows(path, header, rows, delimiter)


@pytest.mark.parametrize("name,table,edit,where", [
    ("cbis", "mass_case_description_train_set.csv", lambda h, r: r[0].__setitem__(6, "STAR_SHAPED"),
     ("mass_case_description_train_set.csv", "row 2", "mass shape")),
    ("cbis", "calc_case_description_test_set.csv", lambda h, r: r[1].__setitem__(9, "MAYBE"),
     ("calc_case_description_test_set.csv", "row 3", "pathology")),
    ("inbreast", "INbreast.csv", lambda h, r: r[3].__setitem__(7, "4d"), ("INbreast.csv", "row 5", "Bi-Rads")),
    ("vindr", "finding_annotations.csv", lambda h, r: r[2].__setitem__(9, "['Mass'"),
     ("finding_annotations.csv", "row 4", "finding_categories")),
    ("vindr", "breast-level_annotations.csv", lambda h, r: r[0].__setitem__(7, "BI-RADS ?"),
     ("breast-level_annotations.csv", "row 2", "breast_birads")),
])
def test_malformed_input_exits_2_naming_file_row_column(tmp_path: Path, key: Path, name: str, table: str,
                                                        edit: Any, where: tuple[str, str, str]) -> None:
    root = tmp_path / "src"
    root.mkdir()
    {"cbis": lambda p: L.make_cbis(p, "tcia"), "inbreast": L.make_inbreast, "vindr": L.make_vindr}[name](root)
    _rewrite(root / table, edit, ";" if table == "INbreast.csv" else ",")
    fmt = {"cbis": "cbis-ddsm", "inbreast": "inbreast", "vindr": "vindr"}[name]
    res = _cli("ingest", root, "--format", fmt, "--out", tmp_path / "x.h5", "--key-file", key, "--workers", "1")
    assert res.exit_code == 2
    line = next(x for x in res.stderr.splitlines() if where[0] in x)
    assert all(w in line for w in where), line
    assert not (tmp_path / "x.h5").exists()


def _patient_splits(store: Path, key: Path, records: list[Any]) -> dict[str, str]:
    """Raw patient key -> stored split name (one per patient, asserted)."""
    rows = _lump_index(store, key, records)
    with Store(store) as st:
        split = st.lumps["split"][()]
    got: dict[str, set[str]] = {}
    for i, rec in rows.items():
        got.setdefault(rec.patient_key, set()).add(SC.SPLIT_NAMES[int(split[i])])
    assert all(len(v) == 1 for v in got.values())  # patient-disjoint
    return {p: next(iter(v)) for p, v in got.items()}


def test_seed_and_adapter_options_change_the_validation_draw(tmp_path: Path, key: Path) -> None:
    """`--seed` and `--adapter-option val_fraction=F` reach the CBIS-DDSM adapter: each store holds
    exactly the adapter's draw for that seed and fraction, and the draws differ."""
    root = tmp_path / "src"
    root.mkdir()
    L.make_cbis(root, "tcia")
    expect = L.cbis_expectations()
    train = {k[0] for k, e in expect.items() if e.split == "train" and e.stored}
    test = {k[0] for k, e in expect.items() if e.split == "test" and e.stored}
    adapter = ADAPTERS["cbis-ddsm"]
    records = adapter.read(root).records
    runs = {"seed 0, F 0.5": (0, "0.5"), "seed 1, F 0.5": (1, "0.5"), "seed 1, default F": (1, None)}
    draws: dict[str, set[str]] = {}
    for name, (seed, frac) in runs.items():
        out = tmp_path / f"{seed}-{frac}.h5"
        extra = ["--seed", seed, *(["--adapter-option", f"val_fraction={frac}"] if frac else [])]
        _ingest(root, "cbis-ddsm", out, key, *extra, size=32)
        splits = _patient_splits(out, key, records)
        val = {p for p, s in splits.items() if s == "val"}
        assert {p for p, s in splits.items() if s == "test"} == test  # official test kept
        assert val <= train  # validation only from the official train
        opts = {"val_fraction": frac} if frac else None
        assert val == {r.patient_key for r in adapter.read(root, seed=seed, options=opts).records if r.split == "val"}
        with Store(out) as st:
            pol = st.info.attrs["sources"][0]["manifest_mapping"]["split_policy"]["val"]
        assert (pol["seed"], pol["fraction"]) == (seed, float(frac or 0.1))
        draws[name] = val
    assert draws["seed 0, F 0.5"] and draws["seed 1, F 0.5"]
    assert draws["seed 0, F 0.5"] != draws["seed 1, F 0.5"]  # --seed reaches the adapter
    assert draws["seed 1, F 0.5"] != draws["seed 1, default F"]  # --adapter-option reaches it


@pytest.mark.parametrize("fmt,option,needle", [
    ("cbis-ddsm", "nope=1", "accepted: val_fraction"),
    ("cbis-ddsm", "val_fraction=1", "between 0 and 1"),
    ("cbis-ddsm", "val_fraction", "KEY=VALUE"),
    ("vindr", "birads3=maybe", "benign or unknown"),
    ("vindr", "val_fraction=0.2x", "between 0 and 1"),
    ("inbreast", "val_fraction=0.2", "accepts none"),
])
def test_bad_adapter_options_exit_2(tmp_path: Path, key: Path, fmt: str, option: str, needle: str) -> None:
    res = _cli("ingest", tmp_path, "--format", fmt, "--out", tmp_path / "x.h5", "--key-file", key,
               "--adapter-option", option)
    assert res.exit_code == 2 and needle in res.stderr, res.stderr
    assert not (tmp_path / "x.h5").exists()


@pytest.mark.parametrize("name", ["cbis", "vindr", "inbreast"])
def test_split_policy_says_who_made_the_splits(stores: dict[str, Any], name: str) -> None:
    """CBIS-DDSM and VinDr splits are the source's (official + the adapter's validation draw): no
    ratios are recorded. INbreast ships none: mvkl assigned them with the --split ratios and seed."""
    s = stores[name]
    with Store(s["store"]) as st:
        sp = st.info.attrs["split_policy"]
        adapter_policy = st.info.attrs["sources"][0]["manifest_mapping"]["split_policy"]
    (entry,) = sp["history"]
    if name == "inbreast":
        assert sp["method"] == entry["method"] == "assigned by mvkl"
        assert (sp["ratios"], sp["seed"]) == ([0.7, 0.1, 0.2], 0) and "source_policy" not in sp
        assert entry["patients_assigned"] == entry["patients_new"] > 0
    else:
        assert sp["method"] == entry["method"] == "provided by the source"
        assert not {"ratios", "seed", "assignment"} & set(sp) and not {"ratios", "seed"} & set(entry)
        assert sp["source_policy"] == [{"format": s["fmt"], "policy": adapter_policy}]
        assert adapter_policy["val"]["seed"] == int(MORE_VAL[s["fmt"]][1])  # the draw's seed is the --seed
        assert entry["patients_assigned"] == 0
    text = _cli("info", s["store"]).stdout
    assert f"split policy: {sp['method']}" in text and ("ratios 0.7:0.1:0.2, seed 0" in text) == (name == "inbreast")

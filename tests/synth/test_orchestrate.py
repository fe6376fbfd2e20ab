from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pydicom
import pytest

from mvkl.errors import InputError
from mvkl.manifest.table import read_table
from mvkl.synth import generate
from mvkl.synth import orchestrate as O


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_options_give_byte_identical_output_whatever_the_workers(tmp_path: Path) -> None:
    # 16 exams: the smallest run that uses the process pool when workers > 1.
    a = generate(tmp_path / "a", exams=16, seed=7, image_size=96, hostile=True, lang="zh", workers=1)
    b = generate(tmp_path / "b", exams=16, seed=7, image_size=96, hostile=True, lang="zh", workers=2)
    da, db = _digest(tmp_path / "a"), _digest(tmp_path / "b")
    # files: the DICOMs, synth_manifest.json, the annotation tables and annotation/lesions.csv
    assert da == db and len(da) == a["files"] + 1 + len(a["tables"]) + 1
    assert "annotation/lesions.csv" in da
    assert {k: v for k, v in a.items() if k not in ("seconds", "out_dir")} == \
        {k: v for k, v in b.items() if k not in ("seconds", "out_dir")}
    c = generate(tmp_path / "c", exams=16, seed=8, image_size=96, hostile=True, lang="zh", workers=1)
    assert _digest(tmp_path / "c") != da and c["files"] > 0


def test_output_folder_rules(tmp_path: Path) -> None:
    out = tmp_path / "out"
    generate(out, exams=2, image_size=64)
    with pytest.raises(InputError, match="not empty"):
        generate(out, exams=2, image_size=64)
    generate(out, exams=3, seed=1, image_size=64, force=True)
    assert json.loads((out / O.MANIFEST_NAME).read_text())["exams"] == 3
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_text("user data")
    with pytest.raises(InputError, match="refusing"):
        generate(other, exams=2, image_size=64, force=True)
    assert (other / "keep.txt").read_text() == "user data"
    with pytest.raises(InputError):
        generate(tmp_path / "bad", exams=2, lang="fr")
    with pytest.raises(InputError):
        generate(tmp_path / "bad", exams=0)


def test_a_failure_leaves_nothing_at_the_final_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*a, **k):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk full")

    monkeypatch.setattr(O, "_finish", boom)
    with pytest.raises(RuntimeError):
        generate(tmp_path / "out", exams=2, image_size=64)
    assert list(tmp_path.iterdir()) == []


def test_summary_matches_the_files(hostile_set) -> None:  # type: ignore[no-untyped-def]
    root, summary, manifest = hostile_set
    assert summary["files"] == len(list(root.rglob("*.dcm")))
    assert summary["images"] == summary["files"] + summary["hostile"]["missing-file"]
    assert summary["lumps"] == manifest["lumps"] == sum(read_table(root / t).height for t in manifest["tables"])
    assert summary["labels"]["malignant"] + summary["labels"]["benign"] == summary["lumps"]
    assert manifest["version"] == 1 and manifest["seed"] == 3 and manifest["exams"] == 14
    assert summary["bytes"] == sum(p.stat().st_size for p in root.rglob("*.dcm"))


def test_lump_positions_are_consistent_between_cc_and_mlo(clean_set) -> None:  # type: ignore[no-untyped-def]
    _root, _, manifest = clean_set
    width = 208
    for d in manifest["lumps_detail"]:
        cc, mlo = d["views"]["CC"][0], d["views"]["MLO"][0]
        # Distance from the chest wall (left edge for L images, right edge for R images).
        dist = [v["cx"] if d["laterality"] == "L" else width - 1 - v["cx"] for v in (cc, mlo)]
        assert abs(dist[0] - dist[1]) < 0.2 * width
        assert abs(cc["r"] - mlo["r"]) < 0.25 * max(cc["r"], mlo["r"]) + 1


def test_identifiers_appear_where_planted(zh_set) -> None:  # type: ignore[no-untyped-def]
    root, _, manifest = zh_set
    ids = manifest["identifiers"]
    text = ""
    for t in manifest["tables"]:
        df = read_table(root / t)
        text += "\n".join(df.get_column("诊断结果").to_list()) + "\n".join(df.get_column("备注").to_list())
    ds = pydicom.dcmread(next(root.rglob("*.dcm")), stop_before_pixels=True)
    header = {str(ds.PatientName), ds.PatientID, ds.AccessionNumber, ds.InstitutionName}
    assert header <= set(ids)
    in_text = [i for i in ids if len(i) >= 6 and i in text]
    assert in_text, "some report carries a planted identifier"

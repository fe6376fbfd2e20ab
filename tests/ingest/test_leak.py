"""Leak test (spec/dicom.md §1.3-1.5): plant unique canaries everywhere an identifier can hide,
ingest, then search every byte of every output and everything printed. Zero hits allowed."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import polars as pl
import pytest

from mvkl.manifest import schema as S
from tests.ingest.dicomfiles import phantom, write_mg

UID = "1.2.826.0.1.3680043.8.498.7713"  # + distinct suffixes

# Header canaries of the PS3.15 Basic Profile reachable in an MG file (per patient: suffix A/B).
HEADER = {
    "PatientName": "Zqxname^Wvyfirst",
    "PatientID": "ZQXHPID",
    "PatientBirthDate": "19480317",
    "PatientAddress": "12 Zqxaddress Road",
    "PatientTelephoneNumbers": "ZQXTEL5550123",
    "StudyDate": "20190523",
    "SeriesDate": "20190524",
    "AcquisitionDate": "20190525",
    "ContentDate": "20190526",
    "StudyTime": "134511",
    "SeriesTime": "134512",
    "AcquisitionTime": "134513",
    "ContentTime": "134514",
    "AccessionNumber": "ZQXACC777",
    "StudyID": "ZQXSTUDYID",
    "InstitutionName": "Zqxinstitution Hospital",
    "InstitutionAddress": "99 Zqxinstaddr Street",
    "InstitutionalDepartmentName": "ZQXDEPARTMENT",
    "ReferringPhysicianName": "Zqxrefdoc^Amy",
    "PerformingPhysicianName": "Zqxperfdoc^Ben",
    "NameOfPhysiciansReadingStudy": "Zqxreaddoc^Cy",
    "OperatorsName": "Zqxoperator^Dee",
    "RequestingPhysician": "Zqxreqdoc^Eve",
    "StationName": "ZQXSTATION",
    "DeviceSerialNumber": "ZQXSERIAL99",
    "DetectorID": "ZQXDETECTOR",
    "StudyDescription": "ZQXSTUDYDESC",
    "SeriesDescription": "ZQXSERIESDESC",
    "ImageComments": "ZQXIMGCOMMENT",
    "PatientComments": "ZQXPATCOMMENT",
    "AdditionalPatientHistory": "ZQXHISTORY",
    "AcquisitionDeviceProcessingDescription": "ZQXPROCDESC",
    "ProtocolName": "ZQXPROTOCOL",
    "DerivationDescription": "ZQXDERIVATION",
    "StudyInstanceUID": UID + "01",
    "SeriesInstanceUID": UID + "02",
    "SOPInstanceUID": UID + "03",  # also file meta MediaStorageSOPInstanceUID (enforce_file_format)
    "FrameOfReferenceUID": UID + "04",
}
NESTED = {"other_pid": "ZQXOTHERPID", "req_proc": "ZQXREQPROCID", "req_desc": "ZQXREQDESC",
          "priv_lo": "ZQXPRIVLO", "priv_ob": "ZQXPRIVOB", "nested_priv": "ZQXNESTEDPRIV"}


def _mutator(suffix: str) -> Callable[[Any], None]:
    def mutate(ds: Any) -> None:
        from pydicom.dataset import Dataset
        from pydicom.sequence import Sequence

        other = Dataset()
        other.PatientID = NESTED["other_pid"] + suffix
        ds.OtherPatientIDsSequence = Sequence([other])
        req = Dataset()
        req.RequestedProcedureID = NESTED["req_proc"] + suffix
        req.RequestedProcedureDescription = NESTED["req_desc"] + suffix
        ds.RequestAttributesSequence = Sequence([req])
        block = ds.private_block(0x0029, "ZQX CANARY CREATOR", create=True)
        block.add_new(0x01, "LO", NESTED["priv_lo"] + suffix)
        block.add_new(0x02, "OB", (NESTED["priv_ob"] + suffix).encode() + b"\x00")
        inner = ds.ViewCodeSequence[0].private_block(0x0031, "ZQX NESTED CREATOR", create=True)
        inner.add_new(0x01, "LO", NESTED["nested_priv"] + suffix)

    return mutate


def _header(suffix: str) -> dict[str, str]:
    out = {}
    for k, v in HEADER.items():
        if k.endswith("UID"):
            out[k] = v + ("1" if suffix == "A" else "2")
        elif k.endswith(("Date", "Time")):
            out[k] = v
        elif "^" in v:
            fam, given = v.split("^")
            out[k] = f"{fam}{suffix}^{given}{suffix}"
        else:
            out[k] = v + suffix
    return out


TABLE = {  # table canaries: ids (also folder names), file names, names, remarks
    "A": {"pid": "ZQXTPIDA01", "sid": "ZQXTSTUDYA", "cc": "ZQXFILECCA.dcm", "mlo": "ZQXFILEMLOA.dcm",
          "name": "欧阳明月", "remark": "ZQXREMARKA"},
    "B": {"pid": "ZQXTPIDB01", "sid": "ZQXTSTUDYB", "cc": "ZQXFILECCB.dcm", "mlo": "ZQXFILEMLOB.dcm",
          "name": "Zqxtablename Smith", "remark": "ZQXREMARKB"},
}
REPORTS = {
    "A": ("患者欧阳明月（ID ZQXTPIDA01，检查号ZQXTSTUDYA），电话13912345678，于2020年3月5日（2020-03-05）"
          "行乳腺X线检查，左乳外上象限见不规则肿块，边缘毛刺，BI-RADS 4B。"),
    "B": ("Patient WvyfirstB ZqxnameB (MRN ZQXTPIDB01, accession ZQXACC777B), phone (415) 555-0199, examined on "
          "03/05/2020 by Dr. ZqxrefdocB: spiculated mass in the right breast, BI-RADS 5."),
}
REPORT_CANARIES = ["13912345678", "2020年3月5日", "2020-03-05", "555-0199", "03/05/2020", "欧阳明月"]


def all_canaries() -> list[str]:
    out = set(REPORT_CANARIES)
    for suffix in ("A", "B"):
        for v in _header(suffix).values():
            out.update(p for p in v.split("^") if p)
        out.update(v + suffix for v in NESTED.values())
        out.update(v for v in TABLE[suffix].values())
        out.update(v.removesuffix(".dcm") for v in TABLE[suffix].values())
    return sorted(out)


def make_canary_source(root: Path) -> None:
    """Two canary patients (A: zh report, B: en report and a truncated MLO) plus a plain one."""
    rows = []
    rng = np.random.default_rng(5)
    for i, suffix in enumerate(("A", "B", "C")):
        t = TABLE.get(suffix, {"pid": "PLAIN01", "sid": "PLAINS", "cc": "cc.dcm", "mlo": "mlo.dcm", "name": "",
                               "remark": ""})
        lat = "L" if i != 1 else "R"
        folder = root / "20230301" / t["pid"] / t["sid"]
        hdr = _header(suffix) if suffix != "C" else {}
        for view in ("CC", "MLO"):
            write_mg(folder / t[view.lower()], phantom(laterality=lat, seed=i), laterality=lat, view=view,
                     mutate=_mutator(suffix) if hdr else None,
                     **{**hdr, **({"SOPInstanceUID": hdr["SOPInstanceUID"] + str(len(view))} if hdr else {})})
        if suffix == "B":
            f = folder / t["mlo"]
            f.write_bytes(f.read_bytes()[:-3000])  # quarantined: its message must not leak the path
        man = np.zeros(S.DIM, np.uint8)
        man[rng.integers(0, 4)] = 1
        row = {"序号": str(i + 1), "patient_id": t["pid"], "study_id": t["sid"],
               "view_id": f"{t['cc']}/||{t['mlo']}/||", "label": "恶性", "诊断结果": REPORTS.get(suffix, "未见异常"),
               "位置": "", "姓名": t["name"]}
        row.update({o.key: str(int(man[o.index])) for o in S.OPTIONS})
        row["备注"] = t["remark"]
        rows.append(row)
    (root / "annotation").mkdir(parents=True)
    pl.DataFrame(rows).write_excel(root / "annotation" / "train_20230301.xlsx")


def hdf5_strings(path: Path) -> str:
    """Every attribute and every string/bytes dataset value of an HDF5 file, decoded."""
    parts: list[str] = []
    with h5py.File(path, "r") as f:
        def add(v: Any) -> None:
            if isinstance(v, bytes):
                parts.append(v.decode("utf-8", "replace"))
            elif isinstance(v, np.ndarray) and v.dtype.kind in ("S", "O", "U"):
                parts.extend(x.decode("utf-8", "replace") if isinstance(x, bytes) else str(x) for x in v.ravel())
            else:
                parts.append(str(v))

        def visit(name: str, obj: Any) -> None:
            parts.append(name)
            for v in obj.attrs.values():
                add(v)
            if isinstance(obj, h5py.Dataset) and obj.dtype.kind in ("S", "O"):
                add(obj[()])

        for v in f.attrs.values():
            add(v)
        f.visititems(visit)
    return "\n".join(parts)


def find_leaks(blobs: dict[str, bytes | str], canaries: Iterable[str]) -> list[tuple[str, str]]:
    """(where, canary) for every canary found, case-insensitively, as UTF-8 or UTF-16."""
    hits = []
    for where, blob in blobs.items():
        if isinstance(blob, str):
            low_text = blob.lower()
            hits += [(where, c) for c in canaries if c.lower() in low_text]
            continue
        low = blob.lower()
        for c in canaries:
            if any(c.lower().encode(enc) in low for enc in ("utf-8", "utf-16-le", "utf-16-be")):
                hits.append((where, c))
    return hits


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_no_canary_reaches_any_output(tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    src = tmp_path / "src"
    make_canary_source(src)
    canaries = all_canaries()
    # The canaries are really there (the test can fail).
    assert find_leaks(_files(src), ["ZQXNESTEDPRIVA", "ZQXPRIVOBB", UID + "0312", "ZQXREMARKA", "欧阳明月"])
    outdir = tmp_path / "out"
    outdir.mkdir()
    out, key = outdir / "s.h5", tmp_path / "key" / "k.key"
    printed: dict[str, bytes | str] = {}
    res = run_cli("ingest", src, "--out", out, "--image-size", "48", "--key-file", key, "--workers", "1")
    assert res.exit_code == 0, res.stderr
    printed["ingest"] = res.stdout + res.stderr
    res = run_cli("ingest", src, "--out", outdir / "j.h5", "--image-size", "48", "--key-file", key,
                  "--workers", "2", "--json")
    assert res.exit_code == 0, res.stderr
    printed["ingest --json"] = res.stdout + res.stderr
    res = run_cli("info", out, "--preview", outdir / "sheet.png")
    printed["info"] = res.stdout + res.stderr
    res = run_cli("info", out, "--json")
    printed["info --json"] = res.stdout + res.stderr
    # --strict leaves its work directory (journal, pixels) behind: search it too.
    res = run_cli("ingest", src, "--out", outdir / "strict.h5", "--image-size", "48", "--key-file", key,
                  "--workers", "1", "--strict")
    assert res.exit_code == 1 and (outdir / "strict.h5.partial").is_dir()
    printed["ingest --strict"] = res.stdout + res.stderr
    # An invalid table: the error names table, row and column, never the cell or the row's ids.
    bad = tmp_path / "bad"
    shutil.copytree(src, bad)
    t = bad / "annotation" / "train_20230301.xlsx"
    df = pl.read_excel(t, infer_schema_length=0)
    df.with_columns(pl.lit("ZQXBADLABEL").alias("label")).write_excel(t)
    res = run_cli("ingest", bad, "--out", outdir / "bad.h5", "--key-file", key, "--json")
    assert res.exit_code == 2
    printed["ingest invalid"] = res.stdout + res.stderr
    # Everything written (store, second store, preview, work directory) and everything printed.
    blobs: dict[str, bytes | str] = {**_files(outdir), **printed, "hdf5 strings": hdf5_strings(out)}
    leaks = find_leaks(blobs, [*canaries, "ZQXBADLABEL", str(tmp_path)])
    assert leaks == []
    # Positive controls: the searches do see what the store and the outputs hold.
    assert find_leaks({"raw": out.read_bytes()}, ["spiculated mass", "batch-1"]) == [("raw", "spiculated mass"),
                                                                                      ("raw", "batch-1")]
    assert find_leaks({"h5": hdf5_strings(out), "printed": printed["ingest --json"]}, ["BI-RADS 4B", "truncated"])
    # And the reports were kept, scrubbed, not dropped.
    with h5py.File(out, "r") as f:
        reports = [r.decode() for r in f["lumps/report"][()]]
    assert any("BI-RADS 4B" in r for r in reports) and any("spiculated mass" in r for r in reports)


PYDICOM_FILES = ("CT_small.dcm", "MR_small.dcm", "RG1_UNCR.dcm")


def _identifying_values(path: str) -> set[str]:
    import pydicom

    ds = pydicom.dcmread(path)
    out: set[str] = set()
    keep = {"PatientID", "OtherPatientIDs", "AccessionNumber", "StudyID", "InstitutionName", "InstitutionAddress",
            "StationName", "DeviceSerialNumber", "RequestedProcedureID", "PerformedProcedureStepID"}

    def add(elem: Any) -> None:
        vals = elem.value if isinstance(elem.value, (list, pydicom.multival.MultiValue)) else [elem.value]
        for v in vals:
            s = str(v).strip()
            if elem.VR == "PN":
                out.update(p for p in s.replace("=", "^").split("^") if len(p) >= 3)
                continue
            date = elem.VR in ("DA", "DT") and len(s) >= 8
            uid = elem.VR == "UI" and not s.startswith("1.2.840.10008") and len(s) > 10
            named = elem.keyword in keep and len(s) >= 3
            private = elem.tag.is_private and elem.VR in ("LO", "SH", "PN", "UI", "DA", "ST", "LT") and len(s) >= 6
            if date or uid or named or private:
                out.add(s)

    for elem in ds.iterall():
        if elem.VR != "SQ" and elem.value not in (None, b""):
            add(elem)
    if getattr(ds, "file_meta", None) is not None:
        v = str(ds.file_meta.get("MediaStorageSOPInstanceUID", ""))
        if v:
            out.add(v)
    return out


def test_real_vendor_files_through_the_csv_adapter(tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    from pydicom.data import get_testdata_file

    paths = {n: get_testdata_file(n, download=False) for n in PYDICOM_FILES}
    if any(p is None for p in paths.values()):
        pytest.skip("pydicom test files not installed")
    src = tmp_path / "src"
    rows = []
    values: set[str] = set()
    for i, p in enumerate(paths.values()):
        shutil.copy(p, (src / f"p{i}").mkdir(parents=True) or src / f"p{i}" / "img.dcm")
        values |= _identifying_values(str(p))
        rows.append({"patient_id": f"p{i}", "study_id": "s", "laterality": "L", "cc_path": f"p{i}/img.dcm",
                     "mlo_path": "", "report": "", "label": "benign"})
    pl.DataFrame(rows).write_csv(src / "manifest.csv")
    assert any("GEMS" in v or len(v) > 20 for v in values)  # vendor private values and UIDs are searched
    out = tmp_path / "o" / "s.h5"
    res = run_cli("ingest", src, "--format", "csv", "--out", out, "--image-size", "32", "--key-file",
                  tmp_path / "k.key", "--workers", "1", "--json", "--allow-modality", "CT,MR,CR")
    assert res.exit_code == 0, res.stderr
    blobs: dict[str, bytes | str] = {"store": out.read_bytes(), "hdf5": hdf5_strings(out),
                                     "printed": res.stdout + res.stderr}
    assert find_leaks(blobs, sorted(values)) == []

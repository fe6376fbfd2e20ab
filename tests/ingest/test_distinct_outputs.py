"""Issue 18: outputs never clobber inputs, low-entropy keys are refused, a non-HDF5 store is exit 2."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest

from mvkl.dicom import load_or_create_key
from mvkl.errors import InputError
from mvkl.ingest.pipeline import IngestOptions, run_ingest
from mvkl.store import Store
from mvkl.synth import generate


@pytest.fixture(scope="module")
def src(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dist") / "src"
    generate(root, exams=2, seed=1, image_size=256, workers=1)
    return root


def _opts(src: Path, out: Path, key: Path, **kw: object) -> IngestOptions:
    return IngestOptions(source=src, out=out, format="mvkl", image_size=32, key_file=key, quiet=True, **kw)  # type: ignore[arg-type]


def test_quarantine_report_naming_the_store_is_refused_and_the_store_kept(src: Path, tmp_path: Path) -> None:
    out, key = tmp_path / "s.h5", tmp_path / "k.key"
    run_ingest(_opts(src, out, key))
    before = out.read_bytes()
    link = tmp_path / "link.json"
    link.symlink_to(out)  # through a symlink too
    for qr in (out, link):
        with pytest.raises(InputError, match="same file"):
            run_ingest(_opts(src, out, key, overwrite=True, quarantine_report=qr))
    assert out.read_bytes() == before


def test_out_naming_the_key_file_is_refused_and_the_key_kept(src: Path, tmp_path: Path) -> None:
    key = tmp_path / "k.key"
    key_text = secrets.token_hex(32) + "\n"
    key.write_text(key_text)
    os.chmod(key, 0o600)
    with pytest.raises(InputError, match="same file"):
        run_ingest(_opts(src, key, key, overwrite=True))
    assert key.read_text() == key_text


@pytest.mark.parametrize("hexkey", ["00" * 32, "ab" * 32, "0123456789abcdef" * 4])
def test_low_entropy_keys_are_refused(tmp_path: Path, hexkey: str) -> None:
    p = tmp_path / "k.key"
    p.write_text(hexkey + "\n")
    os.chmod(p, 0o600)
    with pytest.raises(InputError, match="too little entropy"):
        load_or_create_key(p)


def test_a_random_key_is_accepted(tmp_path: Path) -> None:
    p = tmp_path / "k.key"
    created = load_or_create_key(p)
    assert load_or_create_key(p) == created and len(set(created)) >= 16


def test_append_onto_a_file_that_is_not_hdf5_is_exit_2_and_the_file_kept(src: Path, tmp_path: Path,
                                                                         run_cli) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not an HDF5 file\n")
    res = run_cli("ingest", src, "--out", bad, "--append", "--key-file", tmp_path / "k.key", "--quiet")
    assert res.exit_code == 2 and "Traceback" not in res.stderr and "not a readable HDF5 store" in res.stderr
    assert bad.read_bytes() == b"not an HDF5 file\n"


def test_control_characters_in_a_report_cell_never_reach_the_store(src: Path, tmp_path: Path) -> None:
    study = next(p.parent for p in sorted(src.rglob("*.dcm")))
    files = sorted(study.glob("*.dcm"))[:2]
    rel = [f.relative_to(src).as_posix() for f in files]
    table = tmp_path / "manifest.csv"
    table.write_text("patient_id,study_id,cc_path,mlo_path,label,report\n"
                     f"p1,s1,{rel[0]},{rel[1]},malignant,\"mass\x00 in the\x1b upper\touter quadrant\x7f\"\n",
                     encoding="utf-8")
    out = tmp_path / "nul.h5"
    run_ingest(IngestOptions(source=src, out=out, format="csv", tables=[table], image_size=32,
                             key_file=tmp_path / "k.key", quiet=True))
    with Store(out) as st:
        report = st.lumps["report"][0]
    assert report == "mass in the upper outer quadrant"
    assert not any(b in out.read_bytes() for b in (b"mass\x00", b"\x1b upper"))

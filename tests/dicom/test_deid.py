"""Keyed pseudonyms, the key file and the de-identification profile (spec/dicom.md §1.1, §1.5)."""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import pickle
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from mvkl.dicom import DEID_PROFILE, Pseudonymizer, deid_profile, key_fingerprint, load_or_create_key
from mvkl.errors import InputError


def test_pseudonym_is_the_documented_hmac() -> None:
    key = bytes(range(32))
    p = Pseudonymizer(key)
    want = hmac.new(key, b"patient\x1fP_00001", hashlib.sha256).hexdigest()[:16]
    assert p("patient", "P_00001") == want
    assert len(want) == 16 and want == want.lower()
    assert p("patient", "P_00001") == Pseudonymizer(key)("patient", "P_00001")  # deterministic
    assert p("exam", "P_00001") != p("patient", "P_00001")  # kinds are separate name spaces
    assert Pseudonymizer(bytes(32))("patient", "P_00001") != want  # another key, another id
    assert p.fingerprint == key_fingerprint(key)
    assert key.hex() not in repr(p) and p.fingerprint in repr(p)
    assert pickle.loads(pickle.dumps(p))("lump", "x") == p("lump", "x")
    with pytest.raises(InputError):
        Pseudonymizer(b"short")
    with pytest.raises(ValueError, match="kind"):
        p("pa\x1ftient", "x")


def test_fingerprint_is_stable_and_one_way() -> None:
    key = bytes(range(32))
    fp = key_fingerprint(key)
    assert fp == hashlib.sha256(b"mvkl-key-fingerprint" + key).hexdigest()[:16]
    assert fp == key_fingerprint(bytes(range(32)))
    assert fp not in key.hex() and key.hex()[:16] != fp
    assert fp != hashlib.sha256(key).hexdigest()[:16]  # domain-separated
    assert key_fingerprint(bytes(32)) != fp


def test_key_file_created_0600_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "mvkl.key"
    key = load_or_create_key(path)
    assert len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == key.hex() + "\n"
    assert load_or_create_key(path) == key  # the same key across runs
    assert not [p for p in path.parent.iterdir() if p.name != "mvkl.key"]  # no temp file left behind
    assert load_or_create_key(tmp_path / "other.key") != key


def test_key_file_created_0600_under_a_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        load_or_create_key(tmp_path / "k")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "k").stat().st_mode) == 0o600


def test_group_readable_key_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "k"
    key = load_or_create_key(path)
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="mvkl.dicom.deid"):
        assert load_or_create_key(path) == key
    assert "chmod 600" in caplog.text and key.hex() not in caplog.text


@pytest.mark.parametrize("content", [b"", b"not a key\n", b"ab" * 16 + b"\n", bytes(32)])
def test_malformed_key_file_is_input_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "k"
    path.write_bytes(content)
    with pytest.raises(InputError) as ei:
        load_or_create_key(path)
    assert ei.value.exit_code == 2 and str(tmp_path) not in str(ei.value)


def test_key_path_that_is_a_folder_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        load_or_create_key(tmp_path)


def test_concurrent_creation_yields_one_key(tmp_path: Path) -> None:
    """Several processes racing to create the key all end up with the same one."""
    code = ("import sys; from mvkl.dicom import load_or_create_key; "
            "sys.stdout.write(load_or_create_key(sys.argv[1]).hex())")
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "race.key")], stdout=subprocess.PIPE,
                              env=env) for _ in range(4)]
    keys = {p.communicate(timeout=60)[0] for p in procs}
    assert len(keys) == 1 and bytes.fromhex(keys.pop().decode()) == load_or_create_key(tmp_path / "race.key")


def test_deid_profile_claims_only_applied_options() -> None:
    codes = [o["code"] for o in DEID_PROFILE["options"]]
    assert codes == ["113100", "113108"]
    assert [o["code"] for o in deid_profile(age_kept=False)["options"]] == ["113100"]
    for prof in (DEID_PROFILE, deid_profile(False)):
        assert "113101" not in str(prof) and prof["pixel_data_cleaned"] is False
        assert prof["longitudinal_temporal_information"] == "REMOVED"
        assert all(o["scheme"] == "DCM" for o in prof["options"])
    assert any("patient age" in k for k in DEID_PROFILE["kept"])
    assert not any("patient age" in k for k in deid_profile(False)["kept"])

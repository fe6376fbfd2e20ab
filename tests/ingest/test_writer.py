"""Work directory journal (commit, recovery after a kill) and the final store writer."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mvkl.errors import InputError
from mvkl.ingest.writer import WorkDir, partial_dir, write_final
from mvkl.store import Store, check_store
from tests.conftest import make_store_arrays

S = 8


def _unit(u: int, n_ok: int, n_bad: int = 0) -> tuple[dict, list[np.ndarray]]:
    imgs = [{"i": 10 * u + k, "ok": True} for k in range(n_ok)]
    imgs += [{"i": 10 * u + 9, "ok": False, "reason": "truncated", "detail": ""}] * n_bad
    px = [np.full((S, S), 10 * u + k, np.uint8) for k in range(n_ok)]
    return {"u": u, "images": imgs, "lumps": [{"l": u, "report": f"r{u}", "spans": 0}]}, px


def _fill(wd: WorkDir, n: int) -> None:
    for u in range(n):
        wd.commit(*_unit(u, 2 if u % 3 else 1, u % 2))


def test_commit_and_reopen(tmp_path: Path) -> None:
    p = partial_dir(tmp_path / "s.h5")
    assert p.name == "s.h5.partial"
    wd = WorkDir.open(p, "fp1", S, "uint8", resume=False)
    _fill(wd, 5)
    got = np.asarray(wd.pixels())
    want = np.stack([px for u in range(5) for px in _unit(u, 2 if u % 3 else 1)[1]])
    np.testing.assert_array_equal(got, want)
    wd.close()
    with pytest.raises(InputError, match="--resume"):
        WorkDir.open(p, "fp1", S, "uint8", resume=False)
    with pytest.raises(InputError, match="fingerprint"):
        WorkDir.open(p, "other", S, "uint8", resume=True)
    wd2 = WorkDir.open(p, "fp1", S, "uint8", resume=True)
    assert len(wd2.units) == 5 and wd2.n_pixels == len(want)
    wd2.commit(*_unit(5, 2))
    assert np.asarray(wd2.pixels())[-1, 0, 0] == 51
    wd2.remove()
    assert not p.exists()


@pytest.mark.parametrize("damage", ["half-line", "extra-pixels", "missing-pixels"])
def test_recovery_keeps_only_complete_units(tmp_path: Path, damage: str) -> None:
    p = tmp_path / "w"
    wd = WorkDir.open(p, "fp", S, "uint8", resume=False)
    _fill(wd, 4)
    n_px_3 = sum(2 if u % 3 else 1 for u in range(3))
    wd.close()
    jn, pix = p / "journal.jsonl", p / "pixels.bin"
    lines = jn.read_text().splitlines(keepends=True)
    if damage == "half-line":  # killed while writing the 4th line
        jn.write_text("".join(lines[:3]) + lines[3][: len(lines[3]) // 2])
        keep = 3
    elif damage == "extra-pixels":  # killed after the 4th unit's pixels, before its line
        jn.write_text("".join(lines[:3]))
        keep = 3
    elif damage == "missing-pixels":  # pixels lost (power cut before fsync) for the last unit
        with open(pix, "r+b") as f:
            f.truncate(n_px_3 * S * S + 3)  # part of the last frame only
        keep = 3
    wd = WorkDir.open(p, "fp", S, "uint8", resume=True)
    assert [e["u"] for e in wd.units] == list(range(keep))
    n_px = sum(2 if u % 3 else 1 for u in range(keep))
    assert wd.n_pixels == n_px and pix.stat().st_size == n_px * S * S
    assert len(jn.read_text().splitlines()) == keep
    _fill_from = keep
    for u in range(_fill_from, 4):
        wd.commit(*_unit(u, 2 if u % 3 else 1, u % 2))
    ref = WorkDir.open(tmp_path / "ref", "fp", S, "uint8", resume=False)
    _fill(ref, 4)
    np.testing.assert_array_equal(np.asarray(wd.pixels()), np.asarray(ref.pixels()))
    assert [json.dumps(e, sort_keys=True) for e in wd.units] == [json.dumps(e, sort_keys=True) for e in ref.units]


def test_a_garbage_line_is_refused_not_cut(tmp_path: Path) -> None:
    """A complete line that does not verify is damage, not the torn tail of a kill (issue 18)."""
    p = tmp_path / "w"
    wd = WorkDir.open(p, "fp", S, "uint8", resume=False, secret="s")
    _fill(wd, 4)
    wd.close()
    jn = p / "journal.jsonl"
    lines = jn.read_text().splitlines(keepends=True)
    jn.write_text("".join(lines[:2]) + "{not json\n" + lines[3])
    with pytest.raises(InputError, match="line 3: checksum"):
        WorkDir.open(p, "fp", S, "uint8", resume=True, secret="s")
    jn.write_text("".join(lines))
    with pytest.raises(InputError, match="checksum does not match"):
        WorkDir.open(p, "fp", S, "uint8", resume=True, secret="another key")
    assert len(WorkDir.open(p, "fp", S, "uint8", resume=True, secret="s").units) == 4


def test_write_final_matches_write_store(tmp_path: Path) -> None:
    a = make_store_arrays(n_lumps=10, image_size=16)
    work = tmp_path / "work"
    work.mkdir()
    out = tmp_path / "s.h5"
    half = a["pixels"].shape[0] // 2
    v = write_final(out, work, a["lumps"], a["images"], [a["pixels"][:half], a["pixels"][half:]],
                    {"sources": [{"name": "batch-1"}], "key_fingerprint": "abc"}, 16, "uint8")
    assert v == [] and check_store(out) == []
    with Store(out) as st:
        np.testing.assert_array_equal(st.file["images/pixels"][()], a["pixels"])
        assert st.file["images/pixels"].chunks == (1, 16, 16)
        assert st.info.attrs["sources"] == [{"name": "batch-1"}] and st.info.attrs["key_fingerprint"] == "abc"
        np.testing.assert_array_equal(st.lumps["manifest"], a["lumps"]["manifest"])
        assert list(st.lumps["report"]) == a["lumps"]["report"]


def test_write_final_refuses_a_broken_store(tmp_path: Path) -> None:
    a = make_store_arrays(n_lumps=4, image_size=8)
    lumps = dict(a["lumps"])
    lumps["cc"] = np.full(4, -1)
    lumps["mlo"] = np.full(4, -1)  # lumps without image break the contract
    (tmp_path / "w").mkdir()
    v = write_final(tmp_path / "s.h5", tmp_path / "w", lumps, a["images"], [a["pixels"]], {}, 8, "uint8")
    assert v and not (tmp_path / "s.h5").exists()

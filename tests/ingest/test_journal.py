"""Issue 18 item 5: the resume journal proves itself; a damaged or edited one is exit 2, never a
traceback, never accepted."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mvkl.ingest.pipeline import IngestOptions, run_ingest
from mvkl.store import check_store
from tests.ingest.dicomfiles import make_mvkl_source
from tests.ingest.fixtures import ingest_killed_after, store_digest


@pytest.fixture(scope="module")
def src(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("jn") / "src"
    make_mvkl_source(root, n_patients=8, hostile=False)
    return root


def _interrupted(src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path, Path]:
    out, key = tmp_path / "s.h5", tmp_path / "k.key"
    ingest_killed_after(IngestOptions(source=src, out=out, image_size=32, key_file=key, quiet=True), 4,
                        monkeypatch)
    return out, key, out.with_name(out.name + ".partial")


def _edit_line(work: Path, i: int, fn: Callable[[dict[str, Any]], None]) -> None:
    jn = work / "journal.jsonl"
    lines = jn.read_text().splitlines(keepends=True)
    entry = json.loads(lines[i])
    fn(entry)
    lines[i] = json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n"
    jn.write_text("".join(lines))


def _set_report(e: dict[str, Any]) -> None:
    e["lumps"][0]["report"] = "edited"


def _flip_ok(e: dict[str, Any]) -> None:
    e["images"][0]["ok"] = not e["images"][0]["ok"]


def _drop_line(work: Path) -> None:
    jn = work / "journal.jsonl"
    lines = jn.read_text().splitlines(keepends=True)
    jn.write_text("".join(lines[:1] + lines[2:]))


def _swap_lines(work: Path) -> None:
    jn = work / "journal.jsonl"
    lines = jn.read_text().splitlines(keepends=True)
    jn.write_text("".join([lines[1], lines[0], *lines[2:]]))


def _flip_pixel(work: Path) -> None:
    pix = work / "pixels.bin"
    data = bytearray(pix.read_bytes())
    data[len(data) // 3] ^= 0xFF
    pix.write_bytes(bytes(data))


def _binary_garbage(work: Path) -> None:
    jn = work / "journal.jsonl"
    lines = jn.read_bytes().split(b"\n")
    lines[1] = b"\xff\xfe\x00garbage"
    jn.write_bytes(b"\n".join(lines))


def _plan_size(work: Path) -> None:
    p = work / "plan.json"
    head = json.loads(p.read_text())
    head["image_size"] = 64
    p.write_text(json.dumps(head))


def _plan_garbage(work: Path) -> None:
    (work / "plan.json").write_bytes(b"\x00\x01 not json")


def _plan_old_version(work: Path) -> None:
    p = work / "plan.json"
    head = json.loads(p.read_text())
    head["journal_version"] = 1
    p.write_text(json.dumps(head))


DAMAGE: dict[str, Callable[[Path], None]] = {
    "edited report": lambda w: _edit_line(w, 1, _set_report),
    "edited ok flag": lambda w: _edit_line(w, 2, _flip_ok),
    "checksum removed": lambda w: _edit_line(w, 0, lambda e: e.pop("sha")),
    "line dropped": _drop_line,
    "lines swapped": _swap_lines,
    "pixel flipped": _flip_pixel,
    "binary garbage line": _binary_garbage,
    "plan edited": _plan_size,
    "plan garbage": _plan_garbage,
    "plan of an old version": _plan_old_version,
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_or_edited_work_directory_is_exit_2_with_a_hint(
        damage: str, src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        run_cli: Callable[..., Any]) -> None:
    out, key, work = _interrupted(src, tmp_path, monkeypatch)
    DAMAGE[damage](work)
    before = {p.name: p.read_bytes() for p in work.iterdir()}
    res = run_cli("ingest", src, "--out", out, "--image-size", "32", "--key-file", key, "--resume", "--quiet")
    assert res.exit_code == 2, res.stdout + res.stderr
    assert "--overwrite" in res.stderr and "Traceback" not in res.stderr
    assert ("damaged or was edited" in res.stderr) or ("another mvkl version" in res.stderr)
    assert not out.exists()
    assert {p.name: p.read_bytes() for p in work.iterdir()} == before  # refused: nothing touched
    res = run_cli("ingest", src, "--out", out, "--image-size", "32", "--key-file", key, "--overwrite", "--quiet")
    assert res.exit_code == 0, res.stderr
    assert check_store(out) == []


def test_a_journal_copied_from_another_key_is_refused(src: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The checksums are keyed: a work directory forged without the pseudonym key does not verify."""
    out, key, work = _interrupted(src, tmp_path, monkeypatch)
    from mvkl.errors import InputError
    from mvkl.ingest import writer

    head = json.loads((work / "plan.json").read_text())
    body = {k: v for k, v in head.items() if k != "sha"}
    head["sha"] = writer._chain("", "plan", body)  # recomputed by someone without the key
    (work / "plan.json").write_text(json.dumps(head))
    with pytest.raises(InputError, match="damaged or was edited"):
        run_ingest(IngestOptions(source=src, out=out, image_size=32, key_file=key, quiet=True, resume=True))


def test_the_torn_tail_of_a_kill_is_still_resumed(src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ref = tmp_path / "ref.h5"
    out, key, work = _interrupted(src, tmp_path, monkeypatch)
    run_ingest(IngestOptions(source=src, out=ref, image_size=32, key_file=key, quiet=True))
    jn = work / "journal.jsonl"
    data = jn.read_bytes()
    jn.write_bytes(data[: len(data) - 40])  # the last line half-written
    with open(work / "pixels.bin", "ab") as f:
        f.write(b"\x07" * 100)  # pixels of a unit whose line never came
    run_ingest(IngestOptions(source=src, out=out, image_size=32, key_file=key, quiet=True, resume=True))
    assert store_digest(out) == store_digest(ref)

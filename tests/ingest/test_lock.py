"""Issue 18 item 2: one writer per store, tested with real concurrent processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mvkl.errors import InputError
from mvkl.ingest.lock import StoreLock, lock_path
from mvkl.ingest.pipeline import IngestOptions, run_ingest
from mvkl.store import check_store
from tests.ingest.dicomfiles import make_mvkl_source
from tests.ingest.fixtures import store_digest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def src(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lock") / "src"
    make_mvkl_source(root, n_patients=8, hostile=False)
    return root


def _env(gate: Path | None) -> dict[str, str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", MVKL_TEST_GATE=str(gate or ""))
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _start(src: Path, out: Path, key: Path, *extra: str, gate: Path | None = None) -> subprocess.Popen[str]:
    """``mvkl ingest`` in a process of its own; with ``gate``, held after each unit while the file exists."""
    mod = "tests.ingest.slowingest" if gate else "mvkl"
    cmd = [sys.executable, "-m", mod, "ingest", str(src), "--out", str(out), "--image-size", "32", "--key-file",
           str(key), "--workers", "1", "-q", "--json", *extra]
    return subprocess.Popen(cmd, env=_env(gate), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_units(out: Path, n: int, p: subprocess.Popen[str]) -> None:
    journal = out.with_name(out.name + ".partial") / "journal.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and p.poll() is None:
        if journal.exists() and len(journal.read_text().splitlines()) >= n:
            return
        time.sleep(0.02)
    p.kill()
    _, err = p.communicate()
    raise AssertionError("the first ingest did not get going: " + err)


def test_a_second_run_is_refused_naming_the_first_and_never_deletes_its_work(src: Path, tmp_path: Path) -> None:
    key = tmp_path / "k.key"
    ref = tmp_path / "ref.h5"
    run_ingest(IngestOptions(source=src, out=ref, image_size=32, key_file=key, quiet=True))
    out = tmp_path / "s.h5"
    gate = tmp_path / "gate"
    gate.touch()
    a = _start(src, out, key, gate=gate)
    _wait_for_units(out, 1, a)
    for extra in ([], ["--overwrite"], ["--resume"], ["--overwrite", "--resume"]):
        b = _start(src, out, key, *extra)
        _, err = b.communicate(timeout=120)
        assert b.returncode == 2, (extra, err)
        assert f"PID {a.pid}" in err and "another ingest is writing this store" in err
        assert "Traceback" not in err
        assert out.with_name(out.name + ".partial").is_dir()  # A's work is still there
        assert a.poll() is None
    gate.unlink()
    _, err = a.communicate(timeout=300)
    assert a.returncode == 0, err
    assert check_store(out) == [] and store_digest(out) == store_digest(ref)
    assert not lock_path(out).exists()


def test_two_runs_started_together_one_wins_the_other_exits_2(src: Path, tmp_path: Path) -> None:
    key = tmp_path / "k.key"
    run_ingest(IngestOptions(source=src, out=tmp_path / "warm.h5", image_size=32, key_file=key, quiet=True))
    out = tmp_path / "s.h5"
    gate = tmp_path / "gate"
    gate.touch()
    procs = [_start(src, out, key, gate=gate), _start(src, out, key, "--overwrite", gate=gate)]
    deadline = time.monotonic() + 120
    while all(p.poll() is None for p in procs) and time.monotonic() < deadline:
        time.sleep(0.02)  # the loser exits while the winner is held at the gate
    gate.unlink()
    results = [(p.returncode, err) for p in procs for _, err in [p.communicate(timeout=300)]]
    codes = sorted(c for c, _ in results)
    assert codes == [0, 2], results
    loser = next(err for c, err in results if c == 2)
    assert "another ingest is writing this store" in loser and "Traceback" not in loser
    assert check_store(out) == [] and not out.with_name(out.name + ".partial").exists()


def test_a_stale_lock_of_a_killed_run_is_taken_over(src: Path, tmp_path: Path) -> None:
    key = tmp_path / "k.key"
    out = tmp_path / "s.h5"
    gate = tmp_path / "gate"
    gate.touch()
    a = _start(src, out, key, gate=gate)
    _wait_for_units(out, 1, a)
    a.kill()
    a.wait()
    held = json.loads(lock_path(out).read_text())
    assert held["pid"] == a.pid and held["host"] and held["started"]  # left behind by the kill
    b = _start(src, out, key, "--resume")
    _, err = b.communicate(timeout=300)
    assert b.returncode == 0, err
    assert check_store(out) == [] and not lock_path(out).exists()


def test_the_lock_in_process_and_through_a_symlink(tmp_path: Path) -> None:
    out = tmp_path / "s.h5"
    link = tmp_path / "link.h5"
    link.symlink_to(out)
    with StoreLock(out):
        with pytest.raises(InputError, match=f"PID {os.getpid()}"):
            StoreLock(link).acquire()
        assert json.loads(lock_path(out).read_text())["pid"] == os.getpid()
    assert not lock_path(out).exists()
    with StoreLock(link):  # released: can be taken again
        pass


def test_a_failing_run_releases_the_lock(src: Path, tmp_path: Path) -> None:
    out = tmp_path / "s.h5"
    with pytest.raises(InputError):
        run_ingest(IngestOptions(source=src, out=out, image_size=32, key_file=tmp_path / "k.key", quiet=True,
                                 append=True))  # nothing to append to
    assert not lock_path(out).exists()

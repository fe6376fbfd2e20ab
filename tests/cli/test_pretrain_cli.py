"""`mvkl pretrain` end to end on CPU: hidden --maningeg alias, --resume (latest, bitwise), exit-2 errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

SMALL_TOML = """preset = "tiny"
[data]
image_size = 32
workers = 0
text_max_length = 64
[model]
tiny_text_hidden = 32
tiny_text_intermediate = 64
tiny_text_vocab = 300
[optim]
batch_size = 4
warmup_steps = 2
lr = 1e-3
[runtime]
deterministic = true
[logging]
log_every = 1
val_every = 0
"""


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


@pytest.fixture
def small_toml(tmp_path: Path) -> Path:
    p = tmp_path / "small.toml"
    p.write_text(SMALL_TOML, encoding="utf-8")
    return p


def _final(run: Path) -> dict[str, torch.Tensor]:
    return torch.load(sorted((run / "checkpoints").glob("step_*.pt"))[-1], weights_only=True)["model"]


def test_maningeg_alias_is_hidden_and_works(run_cli: Callable[..., Any], tiny_store: Path, small_toml: Path,
                                             tmp_path: Path) -> None:
    helptext = run_cli("pretrain", "--help").stdout
    assert "--manineg" in helptext and "--maningeg" not in helptext and "--stop-at" not in helptext
    r = run_cli("pretrain", tiny_store, "--out", tmp_path / "run", "--config", small_toml, "--maningeg",
                "--steps", "3", "--json", "--quiet")
    assert r.exit_code == 0, r.stdout + r.stderr
    doc = json.loads(r.stdout)
    assert doc["hard_negatives"] == "manineg" and doc["completed"] and doc["step"] == 3
    assert doc["out"] == str(Path("run")) or doc["out"].endswith("run")
    assert json.loads((tmp_path / "run" / "config.json").read_text())["hard_negatives"] == "manineg"
    text = run_cli("pretrain", tiny_store, "--out", tmp_path / "run2", "--config", small_toml, "--steps", "2",
                   "--modalities", "image,manifest", "--quiet")
    assert text.exit_code == 0 and "final loss" in text.stdout and "encoder" in text.stdout


def test_cli_resume_picks_latest_and_matches_uninterrupted(run_cli: Callable[..., Any], tiny_store: Path,
                                                           small_toml: Path, tmp_path: Path) -> None:
    common = ["--config", small_toml, "--steps", "7", "--ckpt-every", "2", "--quiet", "--json"]
    a = run_cli("pretrain", tiny_store, "--out", tmp_path / "a", *common)
    assert a.exit_code == 0, a.stderr
    b = run_cli("pretrain", tiny_store, "--out", tmp_path / "b", *common, "--stop-at", "5")
    doc = json.loads(b.stdout)
    assert b.exit_code == 0 and not doc["completed"] and doc["stopped_by"] == "stop_at" and doc["step"] == 5
    assert sorted(p.name for p in (tmp_path / "b" / "checkpoints").iterdir()) == \
        ["step_0000004.pt", "step_0000005.pt"]  # the tiny preset keeps 2
    again = run_cli("pretrain", tiny_store, "--out", tmp_path / "b", "--steps", "7", "--quiet", "--json")
    assert again.exit_code == 2 and "--resume" in again.stderr  # checkpoints there, no --resume
    c = run_cli("pretrain", tiny_store, "--out", tmp_path / "b", "--resume", "--quiet", "--json")  # saved config
    assert c.exit_code == 0, c.stderr
    done = json.loads(c.stdout)
    assert done["resumed_from"] == 5 and done["completed"] and done["step"] == 7
    fa, fb = _final(tmp_path / "a"), _final(tmp_path / "b")
    assert all(torch.equal(fa[k], fb[k]) for k in fa)
    saved = (tmp_path / "b" / "config.json").read_bytes()
    bad = run_cli("pretrain", tiny_store, "--out", tmp_path / "b", "--resume", "--lr", "0.5", "--quiet")
    assert bad.exit_code == 2 and "lr" in bad.stderr
    # a refused resume leaves the saved configuration as it was, so a plain --resume still works (issue 17)
    assert (tmp_path / "b" / "config.json").read_bytes() == saved
    plain = run_cli("pretrain", tiny_store, "--out", tmp_path / "b", "--resume", "--steps", "8", "--quiet")
    assert plain.exit_code == 0, plain.stderr


def test_bad_inputs_exit_2(run_cli: Callable[..., Any], tiny_store: Path, small_toml: Path, tmp_path: Path) -> None:
    from mvkl.store import write_store
    from tests.conftest import make_store_arrays

    a = make_store_arrays(n_lumps=24, image_size=32)
    a["lumps"]["report"] = [""] * 24
    bare = tmp_path / "noreports.h5"
    write_store(bare, a["lumps"], a["images"], a["pixels"])
    cases = [
        ((tmp_path / "missing.h5", "--out", tmp_path / "o1", "--preset", "tiny"), "store not found"),
        ((tiny_store, "--out", tmp_path / "o2", "--preset", "tiny", "--manineg", "--hard-negatives", "robinson"),
         "contradicts"),
        ((tiny_store, "--out", tmp_path / "o3", "--random-init", "--image-weights", "w.pt", "--preset", "tiny"),
         "--random-init"),
        ((tiny_store, "--out", tmp_path / "o4", "--preset", "huge"), "unknown preset"),
        ((tiny_store, "--out", tmp_path / "o5", "--random-init"), "--text-model"),  # paper preset needs a BERT
        ((tiny_store, "--out", tmp_path / "o6", "--config", small_toml, "--text-model", "no/such/bert"),
         "never downloads"),
        ((bare, "--out", tmp_path / "o7", "--config", small_toml), "--modalities image,manifest"),
        ((tiny_store, "--out", tmp_path / "o8", "--config", small_toml, "--device", "cuda"), "CUDA"),
        ((tiny_store, "--out", tmp_path / "o9", "--preset", "tiny", "--random-init", "--arch", "vgg"), "arch"),
    ]
    for args, message in cases:
        r = run_cli("pretrain", *args, "--quiet")
        assert r.exit_code == 2, (args, r.stdout, r.stderr)
        assert message in r.stderr, (message, r.stderr)
        assert str(tmp_path) not in r.stderr
    j = run_cli("pretrain", tiny_store, "--out", tmp_path / "o9", "--preset", "huge", "--json", "--quiet")
    doc = json.loads(j.stdout)
    assert j.exit_code == 2 and doc["ok"] is False and doc["error"]["exit_code"] == 2


def test_end_to_end_on_an_ingested_synthetic_store(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    """mvkl synth → mvkl ingest → mvkl pretrain --preset tiny --manineg (a real store, real reports)."""
    from mvkl.models import load_image_encoder

    data, store, run = tmp_path / "data", tmp_path / "demo.h5", tmp_path / "run"
    assert run_cli("synth", data, "--exams", "16", "--image-size", "256", "--quiet").exit_code == 0
    r = run_cli("ingest", data, "--format", "mvkl", "--out", store, "--image-size", "64", "--quiet")
    assert r.exit_code == 0, r.stderr
    r = run_cli("pretrain", store, "--out", run, "--preset", "tiny", "--manineg", "--steps", "3", "--batch-size", "4",
                "--workers", "0", "--json", "--quiet")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["completed"] and doc["hard_negatives"] == "manineg" and doc["final_train"]["n_it"] == 4
    enc, card = load_image_encoder(run)
    assert card["source"]["store"] == "demo.h5" and card["source"]["step"] == 3 and enc.arch == "cnn4"

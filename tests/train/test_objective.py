"""One loss per configuration: the trainer and `mvkl bench train-step` call vikl_loss with the same
keyword arguments, built from every loss field of the PretrainConfig."""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path
from typing import Any

import pytest

import mvkl.losses
from mvkl.losses import vikl_loss
from mvkl.train import config as C
from mvkl.train.config import PretrainConfig, resolve_config
from mvkl.train.objective import LOSS_FIELDS, loss_options
from tests.train.conftest import SMALL

#: vikl_loss keywords that are per call, not configuration.
PER_CALL = {"out", "generator", "terms", "plan"}


def test_every_loss_keyword_comes_from_a_config_field() -> None:
    keywords = set(inspect.signature(vikl_loss).parameters) - PER_CALL
    assert set(LOSS_FIELDS) == keywords
    fields = {f.name: f for f in dataclasses.fields(PretrainConfig)}
    assert set(LOSS_FIELDS.values()) <= set(fields)
    loss_section = {n for n, f in fields.items() if f.metadata.get("section") == "loss"}
    assert loss_section and loss_section <= set(LOSS_FIELDS.values())


@pytest.mark.parametrize("preset", ["paper", "code-compat", "tiny"])
def test_loss_options_follow_the_preset(preset: str) -> None:
    cfg = resolve_config(preset, overrides={"text_model": "tiny"})
    opts = loss_options(cfg)
    assert opts["tau1"] == cfg.tau1 and opts["hard_negatives"] == cfg.hard_negatives
    assert opts["intra"] is cfg.intra_negatives and opts["tau_plus"] == cfg.hcl_tau_plus
    if preset == "code-compat":
        assert opts["hard_negatives"] == "robinson" and opts["itm_view"] == "view1" and opts["tau2"] == 0.7


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []

    def spy(out: Any, **kw: Any) -> Any:
        calls.append(kw)
        return vikl_loss(out, **kw)

    monkeypatch.setattr(mvkl.losses, "vikl_loss", spy)
    return calls


def test_bench_times_the_trainers_loss(train_store: Path, bert_dir: Path, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from mvkl.bench.train_step import run
    from mvkl.train.loop import pretrain

    overrides = {"hard_negatives": "robinson", "itm_view": "view1", "label_smoothing_other": 0.0, "hcl_beta": 0.5,
                 "dedup_scope": "batch"}
    calls = _spy(monkeypatch)
    # the benchmark takes a preset name: give the preset non-default loss fields, seen by both
    monkeypatch.setitem(C.PRESETS, "tiny", {**C.PRESETS["tiny"], **overrides})
    run("tiny", steps=1, batch_size=2, device="cpu", report_tokens=16, compare_pad512=False)
    bench_kw = calls[-1]
    calls.clear()
    cfg = resolve_config("tiny", overrides={**SMALL, "text_model": str(bert_dir), "steps": 1, "warmup_steps": 0})
    pretrain(cfg, train_store, tmp_path / "run", show_progress=False)
    train_kw = calls[0]
    drop = ("generator",)
    assert {k: v for k, v in bench_kw.items() if k not in drop} == {k: v for k, v in train_kw.items() if k not in drop}
    assert bench_kw["hard_negatives"] == "robinson" and bench_kw["beta"] == 0.5 and bench_kw["dedup_scope"] == "batch"

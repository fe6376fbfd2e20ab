"""`mvkl eval` and `mvkl bench eval` through the real CLI: output, exit codes, errors, end to end."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from tests.evaluation.protocols.helpers import eval_store_arrays, write_eval_store

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


FAST = ("--preset", "tiny", "--image-size", "32", "--workers", "0", "--device", "cpu", "--n-boot", "100")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_eval_store(tmp_path_factory.mktemp("cli") / "demo.h5", n_pairs=10)


def test_help_has_examples(run_cli: Callable[..., Any]) -> None:
    res = run_cli("eval", "--help")
    assert res.exit_code == 0 and "mvkl eval runs/vikl demo.h5 --protocol lp" in res.stdout
    assert "--calibration-definition" in res.stdout and "--lp-lambda" in res.stdout
    for cmd in ("eval", "cross-dataset", "data-fraction"):
        r = run_cli("bench", cmd, "--help")
        assert r.exit_code == 0 and f"mvkl bench {cmd}" in r.stdout



def test_preset_is_the_option_and_setting_its_hidden_old_name(store: Path, run_cli: Callable[..., Any]) -> None:
    for args in (("eval",), ("bench", "cross-dataset"), ("bench", "data-fraction")):
        res = run_cli(*args, "--help")
        assert res.exit_code == 0 and "--preset" in res.stdout and "--setting" not in res.stdout
    res = run_cli("eval", "random:resnet18", store, "--preset", "tiny", "--setting", "paper", "--json")
    assert res.exit_code == 2 and "--preset tiny and --setting paper disagree" in res.stderr
    res = run_cli("bench", "data-fraction", "--models", "random:resnet18", "--store", store, "--preset", "tiny",
                  "--setting", "paper")
    assert res.exit_code == 2 and "disagree" in res.stderr

def test_eval_json_and_table(store: Path, tmp_path: Path, run_cli: Callable[..., Any],
                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    res = run_cli("eval", "random:resnet18", store, "-p", "lp", "--seeds", "2", "--thresholds", "0.87,0.74", *FAST,
                  "--json", "--quiet")
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["ok"] and doc["out"] == str(Path("random-resnet18") / "eval-lp-tiny")
    assert doc["config"]["thresholds"] == [0.87, 0.74, 0.5] and len(doc["runs"]) == 2
    assert (tmp_path / doc["out"] / "results.json").is_file()
    res = run_cli("eval", "random:resnet18", store, "-p", "le", "--epochs", "1", "--out", "le", *FAST,
                  "--calibration-definition", "positive", "--save-model")
    assert res.exit_code == 0, res.stderr
    assert "test AUC" in res.stdout and "mean±sd" in res.stdout and "threshold" in res.stdout
    assert "Results in le" in res.stdout and (tmp_path / "le" / "classifier" / "card.json").is_file()
    assert json.loads((tmp_path / "le" / "results.json").read_text())["config"]["calibration_definition"] == "positive"


def test_input_errors_exit_2(store: Path, tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    from mvkl.store import write_store

    a = eval_store_arrays(n_pairs=10)
    test = a["lumps"]["split"] == 2
    a["lumps"]["label"][test] = 1
    write_store(tmp_path / "onlymal.h5", a["lumps"], a["images"], a["pixels"])
    bad = tmp_path / "weights.pt"
    torch.save({"foo.weight": torch.zeros(3)}, bad)
    r18 = tmp_path / "r18.pt"
    from mvkl.models import ImageEncoder

    torch.save(ImageEncoder("resnet18", seed=0).trunk.state_dict(), r18)
    cases = [
        (("random", store, "-p", "svm"), "unknown protocol"),
        ((tmp_path / "no-such-run", store), "image encoder not found"),
        (("random:resnet18", tmp_path / "onlymal.h5"), "split 'test' holds only malignant"),
        ((bad, store), "hold no ResNet trunk keys"),
        ((r18, store, "--arch", "resnet50"), "do not fit the trunk"),
        (("random:resnet18", store, "--fraction", "0.01"), "leaves no"),
        (("random:resnet18", tmp_path / "missing.h5"), "store not found"),
        (("random:resnet18", store, "--lp-c", "1", "--lp-lambda", "2"), "either --lp-c or --lp-lambda"),
        (("random:resnet18", store, "--device", "tpu"), "device"),
    ]
    for args, msg in cases:
        res = run_cli("eval", *FAST, "--out", tmp_path / "o", "--json", *args)  # later options win
        assert res.exit_code == 2, (args, res.stdout, res.stderr)
        assert msg in res.stderr, (msg, res.stderr)
        err = json.loads(res.stdout)
        assert err["ok"] is False and err["error"]["exit_code"] == 2
        assert str(tmp_path) not in res.stderr  # never an absolute path
    assert not (tmp_path / "o" / "results.json").exists()


def test_bench_eval_figures(run_cli: Callable[..., Any]) -> None:
    res = run_cli("bench", "eval", "--arch", "resnet18", "--image-size", "32", "--batch-size", "8", "--n-images",
                  "24", "--device", "cpu", "--workers", "0", "--json")
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    for k in ("features_images_per_s", "forward_only_images_per_s", "le_epoch_s", "ft_epoch_s", "le_images_per_s",
              "ft_images_per_s"):
        assert doc[k] > 0, k
    assert doc["bench"] == "eval" and doc["machine"]["cpu_count"] and doc["train_images"] > 0


def test_synth_ingest_eval_end_to_end(tmp_path: Path, run_cli: Callable[..., Any],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for args in (("synth", "data", "--exams", "30", "--image-size", "256", "--workers", "1", "-q"),
                 ("ingest", "data", "--format", "mvkl", "--out", "demo.h5", "--image-size", "32", "-q")):
        r = run_cli(*args)
        assert r.exit_code == 0, r.stderr
    r = run_cli("eval", "random:resnet18", "demo.h5", "-p", "lp", "--seeds", "2", *FAST, "--json", "-q")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["ok"] and doc["store"]["name"] == "demo.h5" and len(doc["runs"]) == 2
    assert all(s["malignant"] and s["benign"] for s in doc["store"]["splits"].values())
    assert (tmp_path / doc["out"] / "predictions.parquet").is_file()


def test_exported_encoder_gets_the_backbone_factor(store: Path, tmp_path: Path, run_cli: Callable[..., Any]) -> None:
    from mvkl.models import ImageEncoder, export_image_encoder

    enc_dir = export_image_encoder(ImageEncoder("resnet18", seed=3), tmp_path / "run" / "encoder",
                                   {"image_size": 32, "source": {"kind": "vikl", "run": "run"}})
    # --setting: the old name of --preset, hidden but still accepted (eval-ft-tiny below)
    res = run_cli("eval", tmp_path / "run", store, "-p", "ft", "--setting", "tiny", "--seeds", "1", "--epochs", "1",
                  "--workers", "0", "--device", "cpu", "--n-boot", "50", "--json", "-q")
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["image_size"] == 32  # from the encoder card
    assert doc["config"]["backbone_lr_mult_resolved"] == 0.1
    groups = {g["name"]: g["peak_lr"] for g in doc["runs"][0]["fit"]["param_groups"]}
    assert groups["backbone"] == pytest.approx(0.1 * groups["head"])
    assert doc["model"]["encoder_card"]["source"]["kind"] == "vikl"
    assert (tmp_path / "run" / "eval-ft-tiny" / "results.json").is_file() and enc_dir.is_dir()

"""`mvkl demo --quick` end to end: every stage runs, the report links existing figures, the summary
is consistent with the synthetic data, and nothing identifying reaches the report."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], Any]:
    from typer.testing import CliRunner

    from mvkl.cli.main import app

    out = tmp_path_factory.mktemp("demo") / "run"
    res = CliRunner().invoke(app, ["demo", "--quick", "--out", str(out), "--json", "--quiet"],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.stdout[-2000:] + res.stderr[-2000:]
    return out, json.loads(res.stdout), res


def test_every_stage_ran(demo: tuple[Path, dict[str, Any], Any]) -> None:
    out, s, _ = demo
    assert set(s["pretrain"]) == {"manineg", "none", "robinson"}
    assert all(d["completed"] and d["steps"] == s["options"]["pretrain_steps"] for d in s["pretrain"].values())
    assert set(s["eval"]) == {"random init", "ViKL (manineg)", "ViKL (none)", "ViKL (robinson)"}
    for name, d in s["eval"].items():
        for p in ("lp", "le"):
            assert 0.0 <= d[p]["auc_mean"] <= 1.0, (name, p)
            assert (Path(d[p]["out"]) / "results.json").is_file()
    assert s["classifier"]["protocol"] == "le" and (Path(s["classifier"]["out"]) / "classifier").is_dir()
    assert 0.0 <= s["retrieval"]["confusion"]["accuracy"] <= 1.0
    assert [r["t_cls"] for r in s["manifest_estimation"]["rows"]] == [0.12, 0.15, 0.25]
    assert (out / "cams" / "cam_sheet.png").is_file()
    assert 0.5 < s["glance"]["manifestation_auc"] <= 1.0  # the synthetic data carries the signal


def test_ingest_quarantined_exactly_the_hostile_files(demo: tuple[Path, dict[str, Any], Any]) -> None:
    out, s, _ = demo
    manifest = json.loads((out / "data" / "synth_manifest.json").read_text())
    assert s["ingest"]["lumps"]["ingested"] == manifest["lumps_expected_in_store"]
    expected: dict[str, int] = {}
    for h in manifest["hostile"]:
        if h["expected"] != "ok":
            expected[h["expected"]] = expected.get(h["expected"], 0) + max(1, len(h["rows"]))
    got = {k: v for k, v in s["ingest"]["quarantined_by_reason"].items() if k != "no-images"}
    assert got == expected


def test_report_links_existing_figures_and_holds_no_identifier(demo: tuple[Path, dict[str, Any], Any]) -> None:
    out, _s, res = demo
    report = (out / "report.md").read_text(encoding="utf-8")
    assert str(out.resolve()) not in report and str(out) not in report  # commands name the folder as $OUT
    assert 'mvkl ingest "$OUT/data" --format mvkl' in report
    for section in ("## 1. Data", "## 2. Pretraining", "## 3. Downstream evaluation", "## 4. Image–report",
                    "## 5. Manifestation estimation", "## 6. Grad-CAM", "## Commands"):
        assert section in report
    links = re.findall(r"\]\(([^)]+)\)", report)
    pngs = [link for link in links if link.endswith(".png")]
    assert len(pngs) >= 15
    for link in links:
        assert (out / link).exists(), link
    for name in ("random init", "ViKL (manineg)", "ViKL (none)", "ViKL (robinson)"):
        assert name in report
    planted = json.loads((out / "data" / "synth_manifest.json").read_text())["identifiers"]
    text = report + (out / "summary.json").read_text(encoding="utf-8") + res.stdout + res.stderr
    leaked = [x for x in planted if len(x) >= 5 and x in text]
    assert leaked == []


def test_refuses_a_non_empty_output_without_force(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "keep.txt").write_text("x")
    r = run_cli("demo", "--quick", "--out", str(tmp_path))
    assert r.exit_code == 2 and "--force" in r.stderr
    assert (tmp_path / "keep.txt").exists()

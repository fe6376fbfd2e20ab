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
    from mvkl.demo import DEMO_ROWS
    from mvkl.evaluation.method.rows import ROWS

    out, s, _ = demo
    m = s["method"]
    assert m["seeds"] == s["options"]["seeds"] == 2
    got = {(r["row"], r["protocol"]) for r in m["rows"]}
    assert {r["row"] for r in m["rows"]} == set(DEMO_ROWS)
    for name in DEMO_ROWS:
        row = ROWS[name]
        protos = {"ft"} if row.kind == "supervised" else {"lp", "le"} | ({"zs"} if row.aligned else set())
        assert {(name, p) for p in protos} <= got, name
        for p in protos:
            e = next(r for r in m["rows"] if (r["row"], r["protocol"]) == (name, p))
            assert len(e["aucs"]) == 2 and all(0.0 <= a <= 1.0 for a in e["aucs"]), (name, p)
        if row.kind not in ("random", "supervised"):
            for seed in range(2):
                summary = json.loads((out / "method" / "runs" / name / f"seed{seed}" / "summary.json").read_text())
                assert summary["completed"] and summary["step"] == s["options"]["pretrain_steps"]
    assert (out / "method" / "method.png").is_file() and (out / "method" / "predictions.csv").is_file()
    assert (out / "eval" / "manineg-le" / "classifier").is_dir()
    assert 0.0 <= s["retrieval"]["confusion"]["accuracy"] <= 1.0
    assert [r["t_cls"] for r in s["manifest_estimation"]["rows"]] == [0.12, 0.15, 0.25]
    assert (out / "cams" / "cam_sheet.png").is_file()
    assert s["cam"]["boxes"]["images_with_box"] > 0  # lesion views keep their boxes: Grad-CAM is scored
    assert s["info"]["image_kind"].startswith("lesion")  # `mvkl info` says which kind of views it holds
    assert 0.5 < s["glance"]["manifestation_auc"] <= 1.0  # the synthetic data carries the signal


def test_the_demo_library_does_not_drive_the_cli() -> None:
    import ast

    import mvkl.demo as demo_pkg

    for f in Path(demo_pkg.__file__).parent.glob("*.py"):
        tree = ast.parse(f.read_text(encoding="utf-8"))
        names = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module]
        names += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        assert not [x for x in names if x.startswith("mvkl.cli") or x.startswith("typer")], f.name


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
    sections = ("## 1. The method's effect", "## 2. Data", "## 3. Saved classifier", "## 4. Image–report",
                "## 5. Manifestation estimation", "## 6. Grad-CAM", "## Commands")
    where = [report.index(x) for x in sections]
    assert where == sorted(where)  # the ablation table and chart open the report
    first = report[where[0]:where[1]]
    assert "![ablation chart](method/method.png)" in first and "What the figures show" in first
    from mvkl.demo import DEMO_ROWS

    for row in DEMO_ROWS:
        assert f"| {row} |" in first
    links = re.findall(r"\]\(([^)]+)\)", report)
    pngs = [link for link in links if link.endswith(".png")]
    assert len(pngs) >= 6
    for link in links:
        assert (out / link).exists(), link
    planted = json.loads((out / "data" / "synth_manifest.json").read_text())["identifiers"]
    text = report + (out / "summary.json").read_text(encoding="utf-8") + res.stdout + res.stderr
    leaked = [x for x in planted if len(x) >= 5 and x in text]
    assert leaked == []


def test_refuses_a_non_empty_output_without_force(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "keep.txt").write_text("x")
    r = run_cli("demo", "--quick", "--out", str(tmp_path))
    assert r.exit_code == 2 and "--force" in r.stderr
    assert (tmp_path / "keep.txt").exists()

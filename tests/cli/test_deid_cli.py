"""`mvkl deid text`: scrubbed text and table columns, counts never values, exit 2 on bad input."""

from __future__ import annotations

import json
from pathlib import Path

PLANTED = ("向美玲", "Beatrice", "Whitfield", "12345678")


def test_table_column_scrubbed_and_report_has_no_values(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "t.csv"
    src.write_text('id,report\n1,"患者向美玲，女，95岁，MRN 12345678"\n'
                   '2,"Patient Beatrice Whitfield tolerated the exam"\n', encoding="utf-8")
    out = tmp_path / "clean.csv"
    r = run_cli("deid", "text", src, "--column", "report", "--out", out, "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["replaced"] == {"age": 1, "id": 1, "name": 2} and doc["total"] == 4
    clean = out.read_text(encoding="utf-8")
    assert "90+岁" in clean and "id,report" in clean
    for value in PLANTED:
        assert value.lower() not in (clean + r.stdout + r.stderr).lower()


def test_text_file_to_stdout(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "r.txt"
    src.write_text("Philippa Delacroix tolerated the examination well.\n", encoding="utf-8")
    r = run_cli("deid", "text", src, "--report")
    assert r.exit_code == 0
    assert "[NAME] tolerated" in r.stdout and "Delacroix" not in r.stdout + r.stderr
    assert "name 1" in r.stderr


def test_bad_input_exit_2(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "b.txt"
    bad.write_bytes(b"\xff\xfe\x00bad")
    assert run_cli("deid", "text", bad).exit_code == 2
    short = tmp_path / "s.csv"
    short.write_text("id,x,report\n1\n", encoding="utf-8")
    r = run_cli("deid", "text", short, "--column", "report")
    assert r.exit_code == 2 and "row 2" in r.stderr
    assert run_cli("deid", "text", short, "--column", "nope").exit_code == 2

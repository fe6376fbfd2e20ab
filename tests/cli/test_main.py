from __future__ import annotations

import json
import subprocess
from pathlib import Path

from mvkl import __version__
from mvkl.cli.main import app

COMMANDS = ["synth", "ingest", "info", "manifest", "hamming", "pretrain", "eval", "embed", "retrieve", "cam",
            "represent", "predict", "bench", "demo"]


def test_version(run_cli) -> None:  # type: ignore[no-untyped-def]
    r = run_cli("--version")
    assert r.exit_code == 0 and r.stdout.strip() == f"mvkl {__version__}"


def test_python_dash_m_works(python: str, mvkl_subprocess_env: dict[str, str]) -> None:
    r = subprocess.run([python, "-m", "mvkl", "--version"], capture_output=True, text=True,
                       env=mvkl_subprocess_env, timeout=120)
    assert r.returncode == 0 and __version__ in r.stdout


def test_every_command_group_exists_and_shows_an_example(run_cli) -> None:  # type: ignore[no-untyped-def]
    import typer.main

    click_app = typer.main.get_command(app)
    names = set(click_app.commands)  # type: ignore[attr-defined]
    assert set(COMMANDS) <= names
    for name, cmd in click_app.commands.items():  # type: ignore[attr-defined]
        subs = getattr(cmd, "commands", None)
        for c in (subs.values() if subs else [cmd]):
            assert c.epilog and "Example" in c.epilog, f"{name} {c.name} has no example in --help"


def test_usage_error_exits_2(run_cli) -> None:  # type: ignore[no-untyped-def]
    r = run_cli("manifest", "show", "--lang", "fr")
    assert r.exit_code == 2
    assert "--lang" in r.stderr
    r = run_cli("manifest", "validate", "--no-such-option")
    assert r.exit_code == 2


def test_missing_file_is_exit_2_with_json_error(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    r = run_cli("manifest", "validate", str(tmp_path / "nope.csv"), "--json")
    assert r.exit_code == 2
    doc = json.loads(r.stdout)
    assert doc["ok"] is False and doc["error"]["exit_code"] == 2
    assert str(tmp_path) not in r.stdout + r.stderr  # never an absolute path


def test_no_command_is_a_placeholder(run_cli) -> None:  # type: ignore[no-untyped-def]
    import typer.main

    click_app = typer.main.get_command(app)
    for name, cmd in click_app.commands.items():  # type: ignore[attr-defined]
        for c in (getattr(cmd, "commands", None) or {name: cmd}).values():
            assert "not implemented" not in (c.help or "").lower(), f"{name} {c.name}"

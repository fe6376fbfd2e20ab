"""The example pipelines (examples/*.sh) stay runnable: valid bash, executable, the house header, no
absolute paths, and every ``mvkl`` command, subcommand and option they use exists in the CLI.

Commands are found where a script runs them (``"$MVKL" CMD``, ``-m mvkl CMD`` after torchrun, or a
shell function named ``mvkl`` at a command position) and in backticked ``mvkl ...`` snippets (the
comments and the reproduction table of 05). Options held in bash arrays (``EV=(--setting tiny)``,
expanded as ``"${EV[@]}"``) are checked against every command the array is expanded into. The
options are checked against the Click command tree that Typer builds from :data:`mvkl.cli.main.app`
(``typer.main.get_command``; Typer vendors its own Click, so the tree is read by duck typing: a
group has ``commands``, an option parameter has ``param_type_name == "option"``), so a renamed or
removed option fails this test.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((ROOT / "examples").glob("*.sh"))
MVKL_TOKENS = {"$MVKL", "${MVKL}"}
PUNCT = ";&|<>(){}"  # shell operators, redirections and grouping: a command ends at a run of these
COMMAND_START = {"then", "do", "else", "!", "time", "if", "while", "until"}
OPTION = re.compile(r"^(--[A-Za-z][A-Za-z0-9-]*|-[A-Za-z])(=.*)?$")
ARRAY_REF = re.compile(r"\$\{(\w+)\[@\]")


@dataclass(frozen=True)
class Use:
    """One ``mvkl`` invocation found in a script."""

    line: int
    words: tuple[str, ...]  # the words after ``mvkl`` up to the end of the command


def cli_root() -> Any:
    from typer.main import get_command

    from mvkl.cli.main import app

    root = get_command(app)
    assert is_group(root) and "eval" in root.commands
    return root


def is_group(cmd: Any) -> bool:
    return isinstance(getattr(cmd, "commands", None), dict)


def is_punct(tok: str) -> bool:
    return bool(tok) and all(c in PUNCT for c in tok)


def logical_lines(text: str) -> list[tuple[int, str]]:
    """Lines with backslash continuations joined and full-line comments dropped, with line numbers."""
    out: list[tuple[int, str]] = []
    buf, start = "", 0
    for no, raw in enumerate(text.splitlines(), 1):
        if not buf:
            start = no
            if raw.lstrip().startswith("#"):
                continue
        if raw.endswith("\\"):
            buf += raw[:-1] + " "
            continue
        out.append((start, buf + raw))
        buf = ""
    if buf:
        out.append((start, buf))
    return out


def tokens(line: str) -> list[str]:
    """Shell words of one logical line (quotes removed; ``;``, ``|``, ``&``, redirections and
    parentheses split off); a trailing ``# comment`` is dropped."""
    lex = shlex.shlex(line, posix=True, punctuation_chars=";&|<>(){}")
    lex.whitespace_split = True
    lex.commenters = "#"
    try:
        return list(lex)
    except ValueError:  # an unbalanced quote across lines (e.g. a multi-line python -c): no command there
        return []


def arrays(text: str) -> dict[str, list[str]]:
    """Every bash array assignment ``NAME=(...)`` / ``NAME+=(...)``: its words (all assignments joined)."""
    found: dict[str, list[str]] = {}
    for m in re.finditer(r"\b(\w+)\+?=\(([^()]*)\)", text):
        found.setdefault(m.group(1), []).extend(tokens(m.group(2)))
    return found


def uses(text: str) -> list[Use]:
    """Every ``mvkl`` invocation of a script, including backticked ``mvkl ...`` snippets."""
    found: list[Use] = []
    for no, line in logical_lines(text):
        toks = tokens(line)
        for i, tok in enumerate(toks):
            prev = toks[i - 1] if i else ""
            at_start = i == 0 or prev in COMMAND_START or is_punct(prev)
            is_call = tok in MVKL_TOKENS or (tok == "mvkl" and (prev == "-m" or at_start))
            if not is_call or (i + 1 < len(toks) and toks[i + 1].startswith("(")):  # `mvkl() {`: a definition
                continue
            words = []
            for w in toks[i + 1:]:
                if is_punct(w):
                    break
                words.append(w)
            if words[:1] in (["$@"], ["$*"]):  # a wrapper forwarding its arguments: checked at its calls
                continue
            found.append(Use(no, tuple(words)))
    for no, raw in enumerate(text.splitlines(), 1):
        for snippet in re.findall(r"`(mvkl [^`]+)`", raw):
            found.append(Use(no, tuple(tokens(snippet)[1:])))
    return found


def problems(text: str, root: Any) -> list[str]:
    """What does not exist in the CLI: unknown commands, subcommands and options, as messages."""
    arr = arrays(text)
    out: list[str] = []
    for use in uses(text):
        words = list(use.words)
        if not words:
            out.append(f"line {use.line}: mvkl without a command")
            continue
        cmd: Any = root
        path = ["mvkl"]
        while is_group(cmd):
            if not words or words[0].startswith("-"):
                out.append(f"line {use.line}: {' '.join(path)} needs a subcommand")
                cmd = None
                break
            name = words.pop(0)
            sub = cmd.commands.get(name)
            if sub is None:
                out.append(f"line {use.line}: {' '.join(path)} has no command {name!r}")
            path.append(name)
            cmd = sub
        if cmd is None:
            continue
        known = {"--help"}
        for p in cmd.params:
            if getattr(p, "param_type_name", "") == "option":
                known.update(p.opts)
                known.update(p.secondary_opts)
        candidates = list(words)
        for w in words:
            for ref in ARRAY_REF.findall(w):
                candidates.extend(arr.get(ref, []))
        for w in candidates:
            m = OPTION.match(w)
            if m and m.group(1) not in known:
                out.append(f"line {use.line}: {' '.join(path)} has no option {m.group(1)}")
    return out


def test_examples_exist() -> None:
    names = [p.name for p in SCRIPTS]
    for want in ("00_quickstart.sh", "01_synth_ingest.sh", "02_pretrain_eval.sh", "03_public_datasets.sh",
                 "04_multi_gpu.sh", "05_reproduce_paper.sh"):
        assert want in names


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_bash_syntax_and_executable(script: Path) -> None:
    proc = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert os.access(script, os.X_OK), f"{script.name} is not executable"


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_header_and_relative_paths(script: Path) -> None:
    text = script.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0] == "#!/usr/bin/env bash"
    assert "Usage" in text.split("set -euo pipefail")[0] or "Usage:" in lines[1]
    assert "set -euo pipefail" in text
    assert 'MVKL="${MVKL:-.venv/bin/mvkl}"' in text
    for no, line in enumerate(lines[1:], 2):  # no absolute path outside the shebang (but /dev/null)
        for m in re.finditer(r"(?:^|[\s=(])[\"']?(/[A-Za-z][\w.-]*)", line):
            assert m.group(1) == "/dev/null", f"{script.name} line {no}: absolute path {m.group(1)}"


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_every_mvkl_command_and_option_exists(script: Path) -> None:
    text = script.read_text(encoding="utf-8")
    assert uses(text), f"{script.name} runs no mvkl command"
    assert problems(text, cli_root()) == []


def test_checker_finds_unknown_commands_and_options() -> None:
    """The checker itself: each kind of mistake is reported, correct uses are not."""
    root = cli_root()
    good = '"$MVKL" eval runs/x demo.h5 --protocol lp -o out --no-amp --json\n'
    assert problems(good, root) == []
    assert problems('"$MVKL" eval runs/x demo.h5 --protocoll lp\n', root) == [
        "line 1: mvkl eval has no option --protocoll"]
    assert problems('"$MVKL" evaluate runs/x demo.h5\n', root) == ["line 1: mvkl has no command 'evaluate'"]
    assert problems('"$MVKL" bench cross-dataset --stores a.h5 --modelz x\n', root) == [
        "line 1: mvkl bench cross-dataset has no option --modelz"]
    assert problems('"$MVKL" bench --json\n', root) == ["line 1: mvkl bench needs a subcommand"]
    # continuation lines, arrays, torchrun, a shell function named mvkl, backticked snippets, comments
    text = ('EV=(--setting tiny --seedz 2)\n'
            'torchrun --nproc_per_node 2 -m mvkl pretrain s.h5 \\\n    --out r --manineg --stepz 3\n'
            'mvkl() { "$MVKL" "$@"; }\n'
            'mvkl eval m s.h5 "${EV[@]}" > log.txt --not-checked-after-redirect\n'
            '# see `mvkl retrieve m s.h5 --taskk report`\n'
            'echo "mvkl eval --not-a-call"  # "$MVKL" info x --also-not-a-call\n')
    assert problems(text, root) == [
        "line 2: mvkl pretrain has no option --stepz",
        "line 5: mvkl eval has no option --seedz",
        "line 6: mvkl retrieve has no option --taskk",
    ]

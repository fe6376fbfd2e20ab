"""One home per default: every CLI default equals its configuration field, the lower layers read
theirs from mvkl.config, and every preset is written once."""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
import typer

import mvkl
from mvkl.cli.main import app
from mvkl.config import LOSS, MANINEG, SAMPLER_PRESETS, compat_interval, sampler_fields
from mvkl.evaluation.protocols.config import EvalConfig
from mvkl.train.config import PRESETS, PretrainConfig

ROOT = Path(mvkl.__file__).resolve().parent


def _command(*path: str) -> Any:
    """The click command of ``mvkl PATH`` (Typer may ship its own click: duck-typed)."""
    cmd: Any = typer.main.get_command(app)
    for name in path:
        cmd = cmd.commands[name]
    return cmd


def _options(cmd: Any) -> dict[str, Any]:
    return {p.name: p for p in cmd.params if p.param_type_name == "option" and p.name}


def test_pretrain_options_leave_every_default_to_the_configuration() -> None:
    fields = {f.name: f.default for f in dataclasses.fields(PretrainConfig)}
    opts = _options(_command("pretrain"))
    checked = 0
    for name, opt in opts.items():
        field = name.rstrip("_")
        if field not in fields:
            continue
        checked += 1
        assert opt.default is None, f"--{field}: the default belongs to PretrainConfig.{field}"
        quoted = re.findall(r"\(([-0-9.e]+)\)", opt.help or "")
        for q in quoted:  # a number quoted in the help is the field's default
            assert float(q) == float(fields[field]), f"--{field} help says {q}, PretrainConfig says {fields[field]}"
    assert checked >= 15 and "(9000)" in (opts["steps"].help or "")


@pytest.mark.parametrize("path", [("eval",), ("bench", "cross-dataset"), ("bench", "data-fraction")])
def test_eval_options_equal_the_eval_configuration(path: tuple[str, ...]) -> None:
    fields = {f.name: f.default for f in dataclasses.fields(EvalConfig) if f.default is not dataclasses.MISSING}
    fields["preset"] = fields["setting"]
    checked = 0
    for name, opt in _options(_command(*path)).items():
        if name not in fields or opt.default is None:
            continue
        checked += 1
        want = fields[name]
        got: Any = opt.default
        if name == "thresholds":
            got = tuple(float(x) for x in got.split(","))
        assert got == want, f"mvkl {' '.join(path)} --{name} defaults to {got!r}, EvalConfig.{name} is {want!r}"
    assert checked >= 3


def test_hamming_defaults_are_the_samplers() -> None:
    opts = _options(_command("hamming"))
    assert opts["sigma"].default == MANINEG.sigma
    assert tuple(int(x) for x in opts["bounds"].default.split(",")) == MANINEG.bounds
    mus = [float(x) for x in opts["mu"].default.split(",")]
    assert min(mus) == MANINEG.mu_min and max(mus) == MANINEG.mu_max
    assert opts["dedup"].default == MANINEG.dedup
    assert opts["batch_size"].default == PretrainConfig().batch_size


def test_pretrain_config_fields_come_from_the_layer_defaults() -> None:
    cfg = PretrainConfig()
    assert (cfg.tau1, cfg.tau2, cfg.hcl_tau_plus, cfg.hcl_beta) == (LOSS.tau1, LOSS.tau2, LOSS.tau_plus, LOSS.beta)
    assert (cfg.mu_max, cfg.mu_min, cfg.mu_steps, cfg.sigma, cfg.bounds) == (
        MANINEG.mu_max, MANINEG.mu_min, MANINEG.mu_steps, MANINEG.sigma, MANINEG.bounds)


def test_the_code_compat_sampler_is_defined_once() -> None:
    from mvkl.sampling import PRESETS as SAMPLER

    fields = sampler_fields(SAMPLER_PRESETS["code-compat"])
    assert fields and all(PRESETS["code-compat"][k] == v for k, v in fields.items())
    assert SAMPLER["code-compat"]["interval"] == compat_interval(MANINEG.bounds) == SAMPLER["compat"]["interval"]
    assert SAMPLER["code-compat"]["mu_schedule"].steps == PRESETS["code-compat"]["mu_steps"]


#: Parameters whose default is a method value: in mvkl/losses and mvkl/sampling they must take it
#: from mvkl.config (an attribute such as ``LOSS.tau1``), never a literal.
_METHOD_PARAMS = {"tau1", "tau2", "ls_text", "ls_other", "tau_plus", "beta", "mu", "mu_max", "mu_min", "steps",
                  "sigma", "bounds", "lower", "upper", "mus"}


def _literal_defaults(tree: ast.AST) -> list[tuple[str, int]]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            a = node.args
            pos = a.posonlyargs + a.args
            pairs = list(zip(pos[len(pos) - len(a.defaults):], a.defaults, strict=True))
            pairs += [(k, d) for k, d in zip(a.kwonlyargs, a.kw_defaults, strict=True) if d is not None]
            out += [(k.arg, node.lineno) for k, d in pairs if k.arg in _METHOD_PARAMS and _is_literal(d)]
        elif isinstance(node, ast.ClassDef):  # dataclass fields
            for st in node.body:
                if (isinstance(st, ast.AnnAssign) and isinstance(st.target, ast.Name) and st.value is not None
                        and st.target.id in _METHOD_PARAMS and _is_literal(st.value)):
                    out.append((st.target.id, st.lineno))
    return out


def _is_literal(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, (int, float)) and not isinstance(node.value, bool)
    if isinstance(node, ast.Tuple):
        return all(_is_literal(e) for e in node.elts)
    return False


def test_losses_and_sampling_take_their_method_defaults_from_mvkl_config() -> None:
    found = {}
    for sub in ("losses", "sampling"):
        for path in sorted((ROOT / sub).rglob("*.py")):
            hits = _literal_defaults(ast.parse(path.read_text(encoding="utf-8")))
            if hits:
                found[str(path.relative_to(ROOT))] = hits
    assert not found, f"literal method defaults outside mvkl.config: {found}"
    assert _literal_defaults(ast.parse("def f(*, sigma: float = 3.0): ...")) == [("sigma", 1)]
    assert _literal_defaults(ast.parse("def f(*, sigma: float = M.sigma): ...")) == []


def test_eval_help_quotes_the_paper_setting() -> None:
    """`mvkl eval` cannot import the evaluation settings at start-up (they pull in torch), so its help
    quotes them: every number quoted after "paper" must be the ``paper`` setting's value."""
    from mvkl.evaluation.protocols.config import SETTINGS

    paper = SETTINGS["paper"]
    opts = _options(_command("eval"))
    checked = 0
    for name in ("epochs", "patience", "batch_size", "lr", "min_lr", "weight_decay"):
        text = opts[name].help or ""
        values = {float(paper[p][name]) for p in ("lp", "le", "ft") if name in paper[p]}
        quoted = [float(x) for x in re.findall(r"(?<![\w.])(\d+(?:\.\d+)?(?:e-?\d+)?)(?![\w.])", text)]
        assert quoted, f"--{name}: no value quoted"
        for q in quoted:
            checked += 1
            assert q in values, f"mvkl eval --{name} help quotes {q}, the paper setting has {sorted(values)}"
    assert checked >= 8

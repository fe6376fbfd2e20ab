"""Adapter registry and the shared cell parsers."""

from __future__ import annotations

from pathlib import Path

import pytest

from mvkl.errors import InputError
from mvkl.sources import ADAPTERS, Adapter, get_adapter, register
from mvkl.sources.base import (
    birads_from_report,
    col_letter,
    normalize_report,
    parse_age,
    parse_birads,
    parse_density,
    parse_label,
    parse_laterality,
)


def test_registry_and_protocol() -> None:
    assert {"mvkl", "csv"} <= set(ADAPTERS)
    for a in ADAPTERS.values():
        assert isinstance(a, Adapter) and a.description
    assert get_adapter("MVKL") is ADAPTERS["mvkl"]
    with pytest.raises(InputError, match="choose one of"):
        get_adapter("dicomdir")
    with pytest.raises(TypeError):
        register(object())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="already registered"):
        register(type(ADAPTERS["csv"])())


def test_a_new_adapter_plugs_in() -> None:
    class Dummy:
        name = "dummy-test"
        description = "test only"

        def detect(self, source: Path) -> bool:
            return False

        def read(self, source, tables=None, dataset=None, *, seed=0, options=None, first_batch=1):  # type: ignore[no-untyped-def]
            raise NotImplementedError

    try:
        register(Dummy())
        assert get_adapter("dummy-test").description == "test only"
    finally:
        ADAPTERS.pop("dummy-test", None)


@pytest.mark.parametrize("fmt", sorted(ADAPTERS))
def test_every_adapter_refuses_unknown_options_listing_the_accepted(fmt: str, tmp_path: Path) -> None:
    adapter = ADAPTERS[fmt]
    accepted = dict(getattr(adapter, "options_help", {}))
    with pytest.raises(InputError) as exc:
        adapter.read(tmp_path, seed=0, options={"no_such_option": "1"})
    msg = str(exc.value)
    assert exc.value.exit_code == 2 and "no_such_option" in msg and f"--format {fmt}" in msg
    assert all(k in msg for k in accepted) and (accepted or "accepts none" in msg)
    want = {"cbis-ddsm": {"val_fraction", "roi_boxes"}, "vindr": {"val_fraction", "birads3"}}.get(fmt, set())
    assert set(accepted) == want


def test_check_options_and_parse_fraction() -> None:
    from mvkl.sources.base import check_options, parse_fraction

    assert check_options("x", {"a": "1"}, {"a": "help"}) == {"a": "1"} and check_options("x", None, {}) == {}
    with pytest.raises(InputError, match=r"b, c for --format x; accepted: a \(help\)"):
        check_options("x", {"c": "1", "a": "2", "b": "3"}, {"a": "help"})
    assert parse_fraction("x", "f", "0.25") == 0.25
    for bad in ("0", "1", "-0.1", "nan", "inf", "", "half"):
        with pytest.raises(InputError, match="between 0 and 1"):
            parse_fraction("x", "f", bad)


@pytest.mark.parametrize(("v", "want"), [("恶性", (1, True)), ("良性", (0, True)), ("Malignant", (1, True)),
                                         ("benign", (0, True)), ("1", (1, True)), ("0.0", (0, True)),
                                         ("", (-1, True)), ("unknown", (-1, True)), ("可疑", (-1, False))])
def test_parse_label(v: str, want: tuple[int, bool]) -> None:
    assert parse_label(v) == want


def test_parse_label_strict() -> None:
    assert parse_label("", allow_unknown=False) == (-1, False)


@pytest.mark.parametrize(("v", "want"), [("4a", "4A"), ("BI-RADS 4B", "4B"), ("4c类", "4C"), ("5", "5"),
                                         ("3.0", "3"), ("", ""), ("0", "0")])
def test_parse_birads(v: str, want: str) -> None:
    assert parse_birads(v) == (want, True)


@pytest.mark.parametrize("v", ["7", "4d", "high"])
def test_parse_birads_rejects(v: str) -> None:
    assert parse_birads(v)[1] is False


def test_birads_from_report() -> None:
    assert birads_from_report("右乳肿块，BI-RADS 4a类。") == "4A"
    assert birads_from_report("no assessment 4.5 cm") == ""
    assert birads_from_report("") == ""


def test_small_parsers() -> None:
    assert parse_laterality("左") == ("L", True) and parse_laterality("RIGHT") == ("R", True)
    assert parse_laterality("") == (None, True) and parse_laterality("up")[1] is False
    assert parse_density("DENSITY C") == (3, True) and parse_density("4") == (4, True)
    assert parse_density("x")[1] is False
    assert parse_age("052Y") == (52.0, True) and parse_age("") == (None, True) and parse_age("old")[1] is False
    assert normalize_report(" a\r\nb\nc ") == "abc" and normalize_report(None) == ""
    assert [col_letter(i) for i in (0, 25, 26, 27, 701)] == ["A", "Z", "AA", "AB", "ZZ"]


def test_registry_import_is_light(python: str, mvkl_subprocess_env: dict[str, str]) -> None:
    """`mvkl ingest --help` lists the registry, so importing it must not pull in polars, h5py or
    pydicom (they are imported where a table or a file is read)."""
    import subprocess

    code = ("import sys, mvkl.sources; print(sorted(m for m in ('polars', 'h5py', 'pydicom', 'torch', "
            "'mvkl.store', 'mvkl.manifest.table') if m in sys.modules))")
    out = subprocess.run([python, "-c", code], env=mvkl_subprocess_env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

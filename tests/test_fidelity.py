"""docs/fidelity.md defines every bug / deviation id (B1…B48) that the source code cites."""

from __future__ import annotations

import re
from pathlib import Path

import mvkl

REPO = Path(mvkl.__file__).resolve().parents[1]
DOC = REPO / "docs" / "fidelity.md"

#: One id (B27), a range (B3–B6, B29-B31) or a pair (B14/B15), as the code writes them.
_CITE = re.compile(r"\bB(\d{1,2})(?:\s*([–/-])\s*B(\d{1,2}))?\b")
_HEADING = re.compile(r"^### B(\d+)\. \S", re.M)


def cited_ids(text: str) -> set[int]:
    """The ids a text cites; ranges count every id in between (``noqa: B018`` is ruff, not ours)."""
    out: set[int] = set()
    for m in _CITE.finditer(text):
        if text[max(0, m.start() - 6):m.start()].endswith("noqa: "):
            continue
        a = int(m.group(1))
        b = int(m.group(3)) if m.group(3) else a
        out.update(range(a, b + 1) if m.group(2) in ("–", "-") else {a, b})
    return out


def test_cited_ids_parses_ids_ranges_and_pairs() -> None:
    assert cited_ids("(B27) spec B3–B6, B29-B31; bugs B14/B15 # noqa: B018") == {27, 3, 4, 5, 6, 29, 30, 31, 14, 15}
    assert cited_ids("B2B nothing, AB12, B1") == {1}


def test_every_id_cited_in_the_code_has_a_section() -> None:
    text = DOC.read_text(encoding="utf-8")
    headings = [int(x) for x in _HEADING.findall(text)]
    assert len(headings) == len(set(headings)), "an id has two sections"
    cited: dict[int, list[str]] = {}
    for path in sorted((REPO / "mvkl").rglob("*.py")):
        for i in cited_ids(path.read_text(encoding="utf-8")):
            cited.setdefault(i, []).append(str(path.relative_to(REPO)))
    assert len(cited) > 30  # the scan sees the code's citations
    missing = {f"B{i}": files[:3] for i, files in sorted(cited.items()) if i not in headings}
    assert not missing, f"cited in the code but not defined in docs/fidelity.md: {missing}"


def test_the_catalogue_is_complete() -> None:
    headings = {int(x) for x in _HEADING.findall(DOC.read_text(encoding="utf-8"))}
    assert headings == set(range(1, 49))


#: A citation of a document that is not in the repository (the design notes and specifications the
#: code was first written against).
_OUTSIDE = re.compile(r"DESIGN\.md|spec/method\.md|[Ss]pec method\.md|(?<![\w/])method\.md\s*§|spec/dicom\.md"
                      r"|(?<![\w/])dicom\.md\s*§|\b[Ss]pec\s+§|spec bugs?\b")

#: Modules that still cite those documents because other developers are changing them now (issue
#: 17, item 5): rewrite their references to docs/*.md, then remove them here. The test fails when a
#: listed module no longer cites any, so the list only shrinks.
OUTSIDE_PENDING = {
    "mvkl/dicom/", "mvkl/ingest/", "mvkl/sources/", "mvkl/synth/",
    "mvkl/evaluation/protocols/config.py", "mvkl/torchdata/augment.py", "mvkl/train/config.py",
}


def _pending(rel: str) -> bool:
    return any(rel == p or (p.endswith("/") and rel.startswith(p)) for p in OUTSIDE_PENDING)


def test_no_reference_points_outside_the_repository() -> None:
    citing = {str(p.relative_to(REPO)) for p in (REPO / "mvkl").rglob("*.py")
              if _OUTSIDE.search(p.read_text(encoding="utf-8"))}
    assert not {r for r in citing if not _pending(r)}, "cite docs/fidelity.md or docs/*.md instead"
    stale = {p for p in OUTSIDE_PENDING if not any(r == p or r.startswith(p) for r in citing)}
    assert not stale, f"{sorted(stale)} cite nothing outside the repository any more: remove from OUTSIDE_PENDING"
    assert _OUTSIDE.search("see spec §2.6") and not _OUTSIDE.search("writes OUT/method.md")

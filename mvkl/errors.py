"""Error types shared by the library and the CLI, with the exit codes of README "CLI conventions".

* :class:`InputError` (exit 2): the user's input or options are invalid. It names the file, the
  row as a spreadsheet shows it, and the column where they are known.
* :class:`MvklError` (exit 1): a runtime failure.
* :class:`NotImplementedYet` (exit 1): a command that exists in the CLI but is not built yet.

Messages must never carry identifying values (names, IDs, dates): callers name *where* a problem
is, and describe *what* is wrong, without echoing free-text cell values.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["InputError", "MvklError", "NotImplementedYet", "Problem", "ValidationFailed", "col_letter"]


class MvklError(Exception):
    """A runtime failure (exit code 1)."""

    exit_code: int = 1


class NotImplementedYet(MvklError):
    """The command exists but its capability has not been built yet (exit code 1)."""


@dataclass(frozen=True)
class Problem:
    """One problem found in an input: where it is and what is wrong.

    Attributes:
        file: the file as the user named it (never resolved to an absolute path).
        row: 1-based row as a spreadsheet shows it (header = row 1), or None.
        column: column name (and letter where useful), or None.
        message: what is wrong, without identifying values.
        code: a stable machine-readable code, e.g. ``"exclusive-group"``.
    """

    file: str
    row: int | None
    column: str | None
    message: str
    code: str = "invalid"

    def location(self) -> str:
        parts = [self.file]
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column is not None:
            parts.append(f"column {self.column!r}")
        return ", ".join(parts)

    def __str__(self) -> str:
        return f"{self.location()}: {self.message}"

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


class InputError(MvklError):
    """Invalid input or usage (exit code 2), optionally located at file/row/column."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
        code: str = "invalid",
    ) -> None:
        self.problem = Problem(file or "", row, column, message, code) if file else None
        self.message = message
        self.code = code
        super().__init__(str(self.problem) if self.problem else message)

    @property
    def problems(self) -> list[Problem]:
        return [self.problem] if self.problem else []


class ValidationFailed(InputError):
    """Several problems at once (exit code 2); ``problems`` lists every one, not just the first."""

    def __init__(self, problems: list[Problem], summary: str | None = None) -> None:
        self._problems = list(problems)
        n = len(self._problems)
        head = summary or f"{n} problem{'s' if n != 1 else ''} found"
        lines = [head, *(f"  {p}" for p in self._problems[:50])]
        if n > 50:
            lines.append(f"  ... and {n - 50} more")
        InputError.__init__(self, "\n".join(lines), code="validation")

    @property
    def problems(self) -> list[Problem]:
        return self._problems


def col_letter(i: int) -> str:
    """0-based column index -> spreadsheet letters (0 -> A, 26 -> AA), as errors name columns."""
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s

"""The table a reader makes of an uploaded file, and the problems that refuse one (pure).

:class:`RawTable` is a file read as text cells; :class:`Problem` is one reason
a file (or a cell of it) cannot be loaded, named by file, row (as in a
spreadsheet: the header is row 1) and column; :class:`ReadResult` is either.
The CSV reader (:mod:`.delimited`) and the workbook reader (:mod:`.workbook`)
both build their table with :func:`table_from_rows`, which checks widths and
name lengths against :data:`sarcoma_app.limits.LIMITS`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sarcoma_app.ingest.columns import ROLES
from sarcoma_app.limits import LIMITS, Limit

#: Rows a file may have after its header, empty ones included (:data:`sarcoma_app.limits.LIMITS`).
ROW_LIMITS = {role: LIMITS.rows(role).value for role in ROLES}
#: Longest text accepted in a cell (or a column name).
MAX_TEXT_LENGTH = LIMITS.cell_chars.value

#: Problems listed per file (the rest are counted).
MAX_PROBLEMS_PER_FILE = 200
#: Characters removed from cells and names (control characters but tab, newline and carriage return).
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


# --------------------------------------------------------------------------- #
# Problems and tables
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class Problem:
    """One reason a file cannot be loaded.

    ``row`` counts as a spreadsheet does (the header is row 1; None = the
    whole file); ``column`` is the file's column name (None = no column).
    """

    file: str
    row: int | None
    column: str | None
    message: str

    @property
    def text(self) -> str:
        """'patients.csv, row 7, column “PFS (months)”: …'."""
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column “{short_text(self.column, 60)}”")
        return ", ".join(where) + ": " + self.message


@dataclass
class RawTable:
    """A file read as text: one column per header cell, every cell a str ('' = empty)."""

    file: str
    frame: pd.DataFrame
    row_numbers: np.ndarray  # spreadsheet row of each data row (header = 1)
    description: str  # how it was read: "CSV, cp1252, semicolon, decimal commas"
    notes: list[str] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        return list(self.frame.columns)


@dataclass
class ReadResult:
    """The table read from a file, or the problems that prevented it."""

    table: RawTable | None
    problems: list[Problem]
    #: Other sheets of a workbook, by role, when the workbook has sheets named like the other files.
    other_sheets: dict[str, RawTable] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.table is not None and not self.problems


def short_text(text: object, limit: int = 80) -> str:
    text = CONTROL_CHARACTERS.sub(" ", str(text)).replace("\n", " ").replace("\r", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def quoted(value: object) -> str:
    return f"“{short_text(value, 60)}”"


def over_limit(limit: Limit, found: str) -> str:
    """A limit exceeded, in words: '1,000,000 columns (columns of a file: at most 200)'."""
    return f"{found} ({limit.text})"


def _too_long(length: int) -> str:
    """'text of 10,000 characters (at most 500)'."""
    return f"text of {length:,} characters (at most {MAX_TEXT_LENGTH})"


def clean_cell(value: str) -> str:
    return CONTROL_CHARACTERS.sub("", value).strip()


def _dedupe_columns(names: list[str], notes: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    result = []
    for index, name in enumerate(names):
        name = name or f"column {index + 1}"
        if name in seen:
            seen[name] += 1
            new = f"{name} ({seen[name]})"
            notes.append(f"Two columns are named {quoted(name)}; the later one is called {quoted(new)}.")
            name = new
        else:
            seen[name] = 1
        result.append(name)
    return result


def table_from_rows(file: str, rows: list[list[str]], row_numbers: list[int], header: list[str],
                     header_row: int, description: str, problems: list[Problem], notes: list[str]) -> RawTable | None:
    """Build a RawTable from text rows (header already separated); checks widths and name lengths."""
    header = [clean_cell(h) for h in header]
    width = len(header)
    # drop trailing unnamed columns that hold nothing (spreadsheet artefacts)
    while width and not header[width - 1] and all(len(r) < width or not r[width - 1] for r in rows):
        width -= 1
    header = header[:width]
    if width == 0:
        problems.append(Problem(file, header_row, None, "the first row is empty: it must hold the column names"))
        return None
    for index, name in enumerate(header):
        if len(name) > MAX_TEXT_LENGTH:
            problems.append(Problem(file, header_row, name[:40] + "…",
                                    f"column name of {len(name):,} characters (at most {MAX_TEXT_LENGTH})"))
    fixed = []
    for row, number in zip(rows, row_numbers):
        if len(row) > width and any(cell.strip() for cell in row[width:]):
            if len(problems) < MAX_PROBLEMS_PER_FILE:
                problems.append(Problem(file, number, None,
                                        f"{len(row)} values but the header has {width} columns (a delimiter inside "
                                        "an unquoted value?)"))
            continue
        fixed.append((row + [""] * (width - len(row)))[:width])
    if problems:
        return None
    header = _dedupe_columns(header, notes)
    frame = pd.DataFrame(fixed, columns=header, dtype=object) if fixed else pd.DataFrame(columns=header, dtype=object)
    return RawTable(file, frame, np.asarray(row_numbers[: len(fixed)], dtype=np.int64), description, notes)


def too_many_rows(file: str, max_rows: int) -> Problem:
    return Problem(file, None, None, f"more than {max_rows:,} rows after the header (the limit for this file; empty "
                                     "rows count too): split the file or filter it first")


def too_many_columns(file: str, row: int, width: int | None) -> Problem:
    """The column limit exceeded (``width`` None: more than the limit, not counted further)."""
    found = f"{width:,} columns" if width is not None else f"the header has more than {LIMITS.columns.amount}"
    return Problem(file, row, None, over_limit(LIMITS.columns, found) + ": keep the columns the app reads (see the "
                                                                   "template) and upload that")


def long_cell_problems(file: str, number: int, cells: list[str], header: list[str], problems: list[Problem]) -> None:
    """Problems for the cells of one row longer than :data:`MAX_TEXT_LENGTH` (listed up to the cap)."""
    for position, cell in enumerate(cells):
        if len(cell) > MAX_TEXT_LENGTH and len(problems) < MAX_PROBLEMS_PER_FILE:
            name = header[position] if position < len(header) else f"column {position + 1}"
            problems.append(Problem(file, number, clean_cell(name)[:MAX_TEXT_LENGTH], _too_long(len(cell))))

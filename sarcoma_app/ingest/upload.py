"""Reading, mapping and validating an uploaded cohort (pure: no streamlit, no database).

A clinician uploads up to three files: patients (required), adverse events
(optional: one row per AE) and tumour assessments (optional: one row per
assessment, % change of the target lesions). The flow is

1. :func:`read_table` - bytes of a CSV (any common encoding and delimiter,
   decimal commas) or XLSX file -> a :class:`RawTable` of text cells, or
   :class:`Problem` s saying why the file is not a table;
2. :func:`suggest_mapping` - which column of the file is which column of
   the app (exact names and common synonyms such as "PFS (months)"); the
   user sees and may change it;
3. :func:`prepare_cohort` - converts and validates every value (recognised
   words such as "Partial response" -> PR, "progressed" -> 1, listed in
   :attr:`Prepared.recognitions` so the page can show them), and returns the
   ``patients``, ``adverse_events``, ``assessments`` and ``studies`` tables of
   the app's schema - or the problems, one per cell, naming file, row (as in
   a spreadsheet: the header is row 1) and column. A cohort with any problem
   is refused whole: nothing is half-loaded.

Every limit (file and unpacked size, rows walked, columns, cell length,
different values, longest time...) comes from :data:`sarcoma_app.limits.LIMITS`
and is checked before the step it protects, so a hostile file costs seconds
and MBs, not minutes and GBs (``bench/upload_limits.py`` measures it).
Values that are ambiguous ("1,234" days) or implausible (1e308 months, "-0")
are problems, never silently changed.

Also here: the column specification (:data:`SPECS`), the data dictionary and
the templates (CSV and XLSX) offered for download.
"""
from __future__ import annotations

import csv
import datetime as _dt
import io
import math
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from data import registry
from sarcoma_app.limits import LIMITS, RATIO_CHECK_MIN_BYTES, Limit

SOURCES_DIR = Path(__file__).resolve().parents[2] / "data" / "sources"

ROLES = ("patients", "adverse_events", "assessments")
ROLE_LABELS = {"patients": "patients", "adverse_events": "adverse events", "assessments": "tumour assessments"}
#: Rows a file may have after its header, empty ones included (:data:`sarcoma_app.limits.LIMITS`).
ROW_LIMITS = {role: LIMITS.rows(role).value for role in ROLES}
#: Longest text accepted in a cell (or a column name).
MAX_TEXT_LENGTH = LIMITS.cell_chars.value
#: Lines named in a note or message before "…".
LINES_NAMED = 10
#: Characters of a text file looked at to guess its delimiter (a header is shorter).
SNIFF_CHARS = 256 * 1024
#: Problems listed per file (the rest are counted).
MAX_PROBLEMS_PER_FILE = 200
DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar"}
DAYS_PER_MONTH = 30.4375
#: Cell texts read as "not recorded" (NULL), compared after stripping and lower-casing.
MISSING_TOKENS = frozenset({"", "-", "–", "—", ".", "?", "na", "n/a", "n.a.", "nan", "null", "none", "unknown", "unk",
                            "missing", "not reported", "not available", "not known", "#n/a"})
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


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
            where.append(f"column “{_short(self.column, 60)}”")
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


def _short(text: object, limit: int = 80) -> str:
    text = _CONTROL.sub(" ", str(text)).replace("\n", " ").replace("\r", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _quote(value: object) -> str:
    return f"“{_short(value, 60)}”"


# --------------------------------------------------------------------------- #
# Reading bytes
# --------------------------------------------------------------------------- #
_MAGIC = (
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"{\\rtf", "an RTF document"),
    (b"SQLite format 3", "an SQLite database"),
)
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP = b"PK\x03\x04"


def _over(limit: Limit, found: str) -> str:
    """A limit exceeded, in words: '1,000,000 columns (columns of a file: at most 200)'."""
    return f"{found} ({limit.text})"


def _too_long(length: int) -> str:
    """'text of 10,000 characters (at most 500)'."""
    return f"text of {length:,} characters (at most {MAX_TEXT_LENGTH})"


def _line_list(numbers: list[int]) -> str:
    """'lines 4, 17' (the first :data:`LINES_NAMED`, then '…')."""
    shown = ", ".join(str(n) for n in numbers[:LINES_NAMED]) + (" …" if len(numbers) > LINES_NAMED else "")
    return f"line{'s' if len(numbers) > 1 else ''} {shown}"


def _decode_lines(data: bytes) -> tuple[str, str, str | None]:
    """Text of a file that is not valid UTF-8: each line as UTF-8 when it is, else as Windows-1252.

    Returns the text, the encoding's name and a note naming the lines that
    forced the fallback (so one stray byte does not turn a UTF-8 file into
    mojibake, and the user sees which lines to check).
    """
    parts, fallback, utf8_accents = [], [], False
    for number, line in enumerate(data.splitlines(keepends=True), start=1):
        try:
            text = line.decode("utf-8")
            utf8_accents = utf8_accents or not line.isascii()
        except UnicodeDecodeError:
            fallback.append(number)
            try:
                text = line.decode("cp1252")
            except UnicodeDecodeError:  # bytes cp1252 leaves undefined
                text = line.decode("latin-1")
        parts.append(text)
    lines = _line_list(fallback)
    if utf8_accents:
        return "".join(parts), "UTF-8 (some lines Windows-1252)", (
            f"{lines} contain{'s' if len(fallback) == 1 else ''} bytes that are not UTF-8: "
            f"{'that line was' if len(fallback) == 1 else 'those lines were'} read as Windows-1252, the rest of "
            "the file as UTF-8. Check the accents there, or save the file as UTF-8.")
    return "".join(parts), "Windows-1252", (f"the file is not UTF-8 ({lines} contain{'s' if len(fallback) == 1 else ''}"
                                            " other bytes): it was read as Windows-1252.")


def _decode(data: bytes) -> tuple[str | None, str, str | None]:
    """Text, encoding name and a note on the decoding of ``data`` (text None when it does not look like text)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "UTF-8 with BOM", None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "UTF-16", None
        except UnicodeDecodeError:
            return None, "UTF-16", None
    sample = data[:4096]
    if len(sample) >= 4 and b"\x00" in sample:
        even, odd = sample[0::2].count(0), sample[1::2].count(0)
        half = len(sample) / 2
        for encoding, zeros in (("utf-16-le", odd), ("utf-16-be", even)):
            if zeros > 0.3 * half:
                try:
                    return data.decode(encoding), "UTF-16", None
                except UnicodeDecodeError:
                    return None, "UTF-16", None
        return None, "binary", None
    try:
        return data.decode("utf-8"), "UTF-8", None
    except UnicodeDecodeError:
        return _decode_lines(data)


def _looks_binary(text: str) -> bool:
    """True when decoded text is mostly not text (control characters, replacement characters)."""
    sample = text[:20_000]
    if not sample:
        return False
    if "\x00" in sample:
        return True
    odd = len(_CONTROL.findall(sample)) + sample.count("\ufffd")
    return odd > max(2, 0.01 * len(sample))


def _sniff_delimiter(text: str) -> str:
    """The delimiter giving the most consistent number (> 1) of fields over the first lines."""
    lines = [line for line in text[:SNIFF_CHARS].splitlines()[:50] if line.strip()][:25]
    if not lines:
        return ","
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        try:
            counts = [len(row) for row in csv.reader(lines, delimiter=delimiter)]
        except csv.Error:
            continue
        header = counts[0]
        if header < 2:
            continue
        consistent = sum(1 for c in counts if c == header)
        score = (consistent, header)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _clean_cell(value: str) -> str:
    return _CONTROL.sub("", value).strip()


def _dedupe_columns(names: list[str], notes: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    result = []
    for index, name in enumerate(names):
        name = name or f"column {index + 1}"
        if name in seen:
            seen[name] += 1
            new = f"{name} ({seen[name]})"
            notes.append(f"Two columns are named {_quote(name)}; the later one is called {_quote(new)}.")
            name = new
        else:
            seen[name] = 1
        result.append(name)
    return result


def _table_from_rows(file: str, rows: list[list[str]], row_numbers: list[int], header: list[str],
                     header_row: int, description: str, problems: list[Problem], notes: list[str]) -> RawTable | None:
    """Build a RawTable from text rows (header already separated); checks widths and name lengths."""
    header = [_clean_cell(h) for h in header]
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


def _too_many_rows(file: str, max_rows: int) -> Problem:
    return Problem(file, None, None, f"more than {max_rows:,} rows after the header (the limit for this file; empty "
                                     "rows count too): split the file or filter it first")


def _too_many_columns(file: str, row: int, width: int | None) -> Problem:
    """The column limit exceeded (``width`` None: more than the limit, not counted further)."""
    found = f"{width:,} columns" if width is not None else f"the header has more than {LIMITS.columns.amount}"
    return Problem(file, row, None, _over(LIMITS.columns, found) + ": keep the columns the app reads (see the "
                                                                   "template) and upload that")


def _long_cells(file: str, number: int, cells: list[str], header: list[str], problems: list[Problem]) -> None:
    """Problems for the cells of one row longer than :data:`MAX_TEXT_LENGTH` (listed up to the cap)."""
    for position, cell in enumerate(cells):
        if len(cell) > MAX_TEXT_LENGTH and len(problems) < MAX_PROBLEMS_PER_FILE:
            name = header[position] if position < len(header) else f"column {position + 1}"
            problems.append(Problem(file, number, _clean_cell(name)[:MAX_TEXT_LENGTH], _too_long(len(cell))))


def _read_csv_text(file: str, text: str, encoding: str, max_rows: int, note: str | None = None) -> ReadResult:
    problems: list[Problem] = []
    notes: list[str] = [f"{file}: {note}"] if note else []
    delimiter = _sniff_delimiter(text)
    # the header's width from its head only: a header within the limits fits in it (1,000,000 names would not)
    head = text[: (LIMITS.columns.value + 1) * (MAX_TEXT_LENGTH + 3)]
    width, header_at = 0, 1
    try:
        for header_at, record in enumerate(csv.reader(io.StringIO(head, newline=""), delimiter=delimiter), start=1):
            if any(cell.strip() for cell in record):
                width = len(record)
                break
    except csv.Error:
        pass  # the full read below says what is wrong
    if width > LIMITS.columns.value:
        return ReadResult(None, [_too_many_columns(file, header_at, None)])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    header_row = 1
    rows: list[list[str]] = []
    numbers: list[int] = []
    try:
        for index, record in enumerate(reader, start=1):
            if header is None:
                if not any(cell.strip() for cell in record):
                    continue
                if len(record) > LIMITS.columns.value:  # before any row is kept
                    return ReadResult(None, [_too_many_columns(file, index, len(record))])
                header, header_row = record, index
                continue
            if index - header_row > max_rows:  # rows walked, empty ones included
                return ReadResult(None, [_too_many_rows(file, max_rows)])
            cells = [_clean_cell(cell) for cell in record]
            if not any(cells):
                continue  # blank line
            if max(map(len, cells)) > MAX_TEXT_LENGTH:
                _long_cells(file, index, cells, header, problems)
                continue
            rows.append(cells)
            numbers.append(index)
    except csv.Error as error:
        problems.append(Problem(file, None, None, f"not a readable CSV table ({_short(error, 120)})"))
        return ReadResult(None, problems)
    if header is None:
        return ReadResult(None, [Problem(file, None, None, "the file is empty")])
    if problems:
        return ReadResult(None, problems)
    if not rows:
        return ReadResult(None, [Problem(file, None, None, "the file has a header row but no data rows")])
    description = f"CSV, {encoding}, {DELIMITER_NAMES[delimiter]}-separated"
    table = _table_from_rows(file, rows, numbers, header, header_row, description, problems, notes)
    return ReadResult(table, problems)


def _excel_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return format(value, ".15g")
    if isinstance(value, _dt.datetime):
        return value.date().isoformat() if value.time() == _dt.time() else value.isoformat(sep=" ")
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    return _clean_cell(str(value))


def normalise_name(text: str) -> str:
    """Lower case, accents removed, '%' as 'percent', punctuation as single spaces."""
    text = unicodedata.normalize("NFKD", str(text))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower().replace("%", " percent ")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def _check_workbook_size(file: str, data: bytes) -> Problem | None:
    """Refuse a workbook by the sizes its ZIP directory declares, before anything is unpacked.

    Python's :mod:`zipfile` (which openpyxl reads through) never returns more
    than a part's declared size (a part that lies fails its CRC check), so
    the declared sizes bound what parsing can cost. A part declaring a
    document type (``<!DOCTYPE``, the way to entity-expansion bombs) is
    refused too: Office Open XML never has one.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = archive.infolist()
            if len(parts) > LIMITS.workbook_parts.value:
                return Problem(file, None, None, _over(LIMITS.workbook_parts, f"{len(parts):,} parts"))
            total = sum(part.file_size for part in parts)
            if total > LIMITS.uncompressed_mb.value << 20:
                return Problem(file, None, None, _over(LIMITS.uncompressed_mb, f"the workbook unpacks to "
                                                      f"{total / (1 << 20):,.0f} MB") + ": save the sheets as CSV, "
                                                                                       "or split the workbook")
            for part in parts:
                ratio = part.file_size / max(part.compress_size, 1)
                if part.file_size >= RATIO_CHECK_MIN_BYTES and ratio > LIMITS.compression_ratio.value:
                    return Problem(file, None, None, _over(LIMITS.compression_ratio, f"its part "
                                                           f"{_quote(part.filename)} is compressed {ratio:,.0f} to 1")
                                   + ": a spreadsheet program does not write this; save the sheet as CSV")
            for part in parts:
                with archive.open(part) as stream:
                    head = stream.read(_XML_HEAD_BYTES)
                if b"<!DOCTYPE" in head.upper():
                    return Problem(file, None, None, f"its part {_quote(part.filename)} declares a document type "
                                                     "(<!DOCTYPE …>), which a spreadsheet program does not write: "
                                                     "save the sheet as CSV")
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, RuntimeError):
        return None  # damaged or encrypted: openpyxl says "not a readable XLSX workbook"
    return None


def _sheet_rows(sheet, max_rows: int, label: str) -> tuple[list[list[str]], list[int], list[str] | None, int,
                                                              list[Problem]]:
    """Text rows of a sheet, walking at most ``max_rows`` rows after the header (empty ones count).

    The sheet's declared dimension is ignored (``<dimension ref="A1:XFD1048576"/>`` would make openpyxl pad
    every row to 16,384 cells): rows are as wide as their last cell, and a row wider than the column limit
    refuses the sheet.
    """
    sheet.reset_dimensions()
    header, header_row, rows, numbers, problems = None, 1, [], [], []
    for index, values in enumerate(sheet.iter_rows(values_only=True), start=1):
        if index - header_row > max_rows or (header is None and index > max_rows):
            return [], [], header, header_row, [_too_many_rows(label, max_rows)]
        if not values or values.count(None) == len(values):
            continue  # an empty row (openpyxl yields one per row missing from the sheet)
        if len(values) > LIMITS.columns.value:
            width = len(values)
            while width and values[width - 1] in (None, ""):
                width -= 1
            if width > LIMITS.columns.value:
                return [], [], header, header_row, [_too_many_columns(label, index, width)]
            values = values[:width]
        cells = [_excel_text(v) for v in values]
        if header is None:
            if any(cells):
                header, header_row = cells, index
            continue
        if not any(cells):
            continue
        if max(map(len, cells)) > MAX_TEXT_LENGTH:
            _long_cells(label, index, cells, header, problems)
            continue
        rows.append(cells)
        numbers.append(index)
    return rows, numbers, header, header_row, problems


#: Bytes of each workbook part looked at for a document type (it must come before the root element).
_XML_HEAD_BYTES = 4096
_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[\s>/]")


def _formulas_without_value(data: bytes, sheet, label: str, header: list[str]) -> list[Problem]:
    """Problems for formula cells of ``sheet`` that carry no saved result (openpyxl reads them as empty).

    A workbook written by a program that does not calculate (a script, some
    exports) holds the formula only; read as empty, the value would be lost
    without a word.
    """
    from openpyxl.utils.cell import column_index_from_string, coordinate_from_string
    from xml.etree import ElementTree

    path = getattr(sheet, "_worksheet_path", None)
    if path is None:
        return []
    with zipfile.ZipFile(io.BytesIO(data)) as archive, archive.open(path) as part:
        xml = part.read()  # bounded: the workbook's declared sizes were checked
    if not _FORMULA_TAG.search(xml):
        return []
    problems = []
    for _, element in ElementTree.iterparse(io.BytesIO(xml)):
        if element.tag.rsplit("}", 1)[-1] != "c":
            continue
        children = {child.tag.rsplit("}", 1)[-1]: child for child in element}
        if "f" in children and not (children.get("v") is not None and (children["v"].text or "").strip()):
            reference = element.get("r") or "?"
            try:
                letters, row = coordinate_from_string(reference)
                position = column_index_from_string(letters) - 1
            except ValueError:
                letters, row, position = reference, None, -1
            column = header[position] if 0 <= position < len(header) else None
            if len(problems) < MAX_PROBLEMS_PER_FILE:
                problems.append(Problem(label, row, column, f"cell {reference} holds a formula without a saved "
                                        "result, so its value is unknown: open the workbook in Excel or "
                                        "LibreOffice, let it calculate, save it and upload it again"))
        element.clear()
    return problems


def _read_xlsx(file: str, data: bytes, role: str, max_rows: int) -> ReadResult:
    refused = _check_workbook_size(file, data)
    if refused is not None:
        return ReadResult(None, [refused])
    try:
        import openpyxl
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - zip, XML or openpyxl errors: all mean "not a workbook"
        return ReadResult(None, [Problem(file, None, None, "not a readable XLSX workbook (the file is damaged, "
                                                           "password-protected or not an Excel file)")])
    try:
        sheets = {normalise_name(name): name for name in workbook.sheetnames}
        wanted = normalise_name(role)
        sheet_name = sheets.get(wanted) or sheets.get(normalise_name(ROLE_LABELS[role])) or workbook.sheetnames[0]
        results: dict[str, ReadResult] = {}
        for this_role in ROLES:
            name = sheet_name if this_role == role else (
                sheets.get(normalise_name(this_role)) or sheets.get(normalise_name(ROLE_LABELS[this_role])))
            if name is None or (this_role != role and name == sheet_name):
                continue
            label = f"{file} (sheet “{_short(name, 40)}”)" if len(workbook.sheetnames) > 1 else file
            limit = max_rows if this_role == role else ROW_LIMITS[this_role]
            try:
                rows, numbers, header, header_row, problems = _sheet_rows(workbook[name], limit, label)
                if not problems and header is not None:
                    problems = _formulas_without_value(data, workbook[name], label, header)
            except Exception:  # noqa: BLE001
                results[this_role] = ReadResult(None, [Problem(label, None, None, "the sheet could not be read "
                                                                                  "(damaged workbook)")])
                continue
            if problems:
                results[this_role] = ReadResult(None, problems)
            elif header is None:
                results[this_role] = ReadResult(None, [Problem(label, None, None, "the sheet is empty")])
            elif not rows:
                results[this_role] = ReadResult(None, [Problem(label, None, None, "the sheet has a header row but no "
                                                                                  "data rows")])
            else:
                notes: list[str] = []
                description = f"XLSX, sheet “{_short(name, 40)}”"
                table = _table_from_rows(label, rows, numbers, header, header_row, description, problems, notes)
                results[this_role] = ReadResult(table, problems)
    finally:
        workbook.close()
    main = results.get(role) or ReadResult(None, [Problem(file, None, None, "the workbook has no readable sheet")])
    main.other_sheets = {r: res.table for r, res in results.items() if r != role and res.ok}
    return main


def read_table(data: bytes, file_name: str, role: str = "patients", max_rows: int | None = None) -> ReadResult:
    """Read an uploaded file into a table of text cells; never raises.

    Parameters
    ----------
    data : bytes
        The file's content.
    file_name : str
        Its name (used in messages, and ``.xlsx`` / ``.xls`` to pick the reader).
    role : {"patients", "adverse_events", "assessments"}
        Which file it is (picks the sheet of a workbook and the row limit).
    max_rows : int, optional
        Data rows allowed (default :data:`ROW_LIMITS` of the role).

    Returns
    -------
    ReadResult
        ``table`` with every cell as stripped text, or ``problems`` saying why
        the file is not a table: empty, header only, binary, a PDF, a damaged
        workbook, too many rows, rows wider than the header...
    """
    file = _short(file_name or "uploaded file", 80)
    max_rows = ROW_LIMITS[role] if max_rows is None else max_rows
    try:
        if len(data) > LIMITS.file_mb.value << 20:  # the server refuses these first; a caller may not
            size = f"{len(data) / (1 << 20):,.1f} MB"
            return ReadResult(None, [Problem(file, None, None, _over(LIMITS.file_mb, size))])
        if not data or not data.strip():
            return ReadResult(None, [Problem(file, None, None, "the file is empty")])
        lower = file_name.lower()
        if data.startswith(_OLE2) or lower.endswith(".xls"):
            return ReadResult(None, [Problem(file, None, None, "an old Excel 97–2003 (.xls) or other Office binary "
                                                               "file: save it as .xlsx or CSV and upload that")])
        if data.startswith(_ZIP) and not lower.endswith((".xlsx", ".xlsm")) and not zip_is_xlsx(data):
            return ReadResult(None, [Problem(file, None, None, "this is a ZIP archive, not a table: unpack it and "
                                                               "upload the CSV or XLSX file inside")])
        if data.startswith(_ZIP) or lower.endswith((".xlsx", ".xlsm")):
            return _read_xlsx(file, data, role, max_rows)
        for magic, kind in _MAGIC:
            if data.startswith(magic):
                return ReadResult(None, [Problem(file, None, None, f"this is {kind}, not a table: export the data as "
                                                                   "CSV or XLSX")])
        text, encoding, note = _decode(data)
        if text is None or _looks_binary(text):
            return ReadResult(None, [Problem(file, None, None, "not a table: the file holds binary data, not text "
                                                               "(upload a CSV or XLSX file)")])
        if not text.strip():
            return ReadResult(None, [Problem(file, None, None, "the file is empty")])
        return _read_csv_text(file, text, encoding, max_rows, note)
    except Exception as error:  # noqa: BLE001 - a malformed file must never raise into the page
        return ReadResult(None, [Problem(file, None, None, f"the file could not be read ({type(error).__name__})")])


# --------------------------------------------------------------------------- #
# Column specification
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class ColumnSpec:
    """A column the app reads from an uploaded file.

    ``kind`` says how values are read: id, text, int, float, time (months,
    >= 0), bool, response (RECIST), event (0/1), sex, grade (CTCAE 1-5),
    pct (% change), stage, status.
    """

    name: str
    role: str
    kind: str
    required: bool
    label: str
    description: str
    unit: str = ""
    allowed: str = ""
    synonyms: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None


REQUIRED_PATIENT_COLUMNS = ("patient_id", "histology", "best_response")
#: Time-to-event endpoints (registry): a file needs the time and the event of at least one.
ENDPOINT_COLUMNS = tuple((e.time, e.event) for e in registry.ENDPOINT_LIST)
#: Header words meaning the event column is coded the other way round (1 = censored).
INVERTED_EVENT_HEADERS = frozenset({"censored", "censor", "pfs censored", "pfs censor", "censoring", "os censored",
                                    "os censor"})


def _patient_specs() -> tuple[ColumnSpec, ...]:
    """Upload specs of the patients file, generated from the variable registry (required columns first)."""
    ordered = list(REQUIRED_PATIENT_COLUMNS) + [c for c in registry.PATIENT_COLUMNS if c not in REQUIRED_PATIENT_COLUMNS]
    specs = []
    for name in ordered:
        variable = registry.VARIABLES[name]
        kind = variable.upload_kind
        minimum = variable.minimum if kind not in ("sex", "stage", "status", "response", "event", "bool") else None
        maximum = variable.upload_maximum if variable.upload_maximum is not None else variable.maximum
        if kind in ("sex", "stage", "status", "response", "event", "bool"):
            maximum = None
        description = variable.description.split(";")[0].split(" (derived")[0]
        specs.append(ColumnSpec(name, "patients", kind, name in REQUIRED_PATIENT_COLUMNS, variable.label, description,
                                variable.unit, variable.upload_format or variable.allowed_values, variable.synonyms,
                                minimum, maximum))
    return tuple(specs)


_ID_SYNONYMS = registry.VARIABLES["patient_id"].synonyms
SPECS: dict[str, tuple[ColumnSpec, ...]] = {
    "patients": _patient_specs(),
    "adverse_events": (
        ColumnSpec("patient_id", "adverse_events", "id", True, "Patient ID", "Patient the event belongs to (must be "
                   "in the patients file)", "", "a patient_id of the patients file", _ID_SYNONYMS),
        ColumnSpec("term", "adverse_events", "text", True, "AE term", "Adverse event term (e.g. CTCAE term)", "",
                   "text", ("term", "ae", "ae term", "adverse event", "adverse event term", "event", "toxicity",
                            "ctcae term", "description")),
        ColumnSpec("grade", "adverse_events", "grade", False, "Grade", "CTCAE grade; empty = not stated",
                   "CTCAE grade", "1–5", ("grade", "ctcae grade", "ae grade", "toxicity grade", "severity grade"),
                   1, 5),
    ),
    "assessments": (
        ColumnSpec("patient_id", "assessments", "id", True, "Patient ID", "Patient assessed (must be in the patients "
                   "file)", "", "a patient_id of the patients file", _ID_SYNONYMS),
        ColumnSpec("time_months", "assessments", "time", True, "Time (months)", "Time of the assessment since the "
                   "start of treatment", "months", "≥ 0 (a column in days or weeks is converted)",
                   ("time", "months", "time months", "month", "time since start", "time since start months",
                    "assessment time", "time from start", "time weeks", "weeks", "week", "time days", "days", "day",
                    "assessment week", "assessment day"), 0, None),
        ColumnSpec("pct_change", "assessments", "pct", True, "% change", "Change of the sum of target-lesion "
                   "diameters from baseline (RECIST), in percent", "%", "≥ −100, e.g. −35 or −35%",
                   ("pct change", "percent change", "change percent", "percent change from baseline",
                    "change from baseline percent", "change from baseline", "sld change", "sld change percent",
                    "sum of diameters change", "target lesion change", "target lesions change", "tumour change",
                    "tumor change", "change", "best percent change", "relative change"), -100, None),
    ),
}
SPEC_BY_NAME = {role: {spec.name: spec for spec in specs} for role, specs in SPECS.items()}


# --------------------------------------------------------------------------- #
# Mapping file columns to app columns
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class ColumnMatch:
    """How a file column was matched to an app column (shown to the user)."""

    column: str  # app column
    file_column: str
    how: str  # "same name" | "recognised name"


def _strip_unit(normalised: str) -> str:
    return re.sub(r"\b(in )?(months?|mo|days?|weeks?|wks?|years?|yrs?|percent)\b", " ", normalised).strip()


def suggest_mapping(columns: list[str], role: str = "patients") -> list[ColumnMatch]:
    """App column -> file column for the names the app recognises.

    Exact names (case, spaces and punctuation aside) win over synonyms; a
    file column is used at most once. The user sees the result and may change it.
    """
    specs = SPECS[role]
    normalised = {column: normalise_name(column) for column in columns}
    used: set[str] = set()
    matches: list[ColumnMatch] = []
    for pass_ in ("exact", "synonym", "no unit"):
        for spec in specs:
            if any(m.column == spec.name for m in matches):
                continue
            for column in columns:
                if column in used:
                    continue
                name = normalised[column]
                if pass_ == "exact":
                    hit = name == normalise_name(spec.name)
                elif pass_ == "synonym":
                    hit = name in spec.synonyms
                else:
                    hit = _strip_unit(name) in spec.synonyms and _strip_unit(name) != ""
                if hit:
                    matches.append(ColumnMatch(spec.name, column, "same name" if pass_ == "exact" else
                                               "recognised name"))
                    used.add(column)
                    break
    order = {spec.name: i for i, spec in enumerate(specs)}
    return sorted(matches, key=lambda m: order[m.column])


def mapping_dict(matches: list[ColumnMatch]) -> dict[str, str]:
    """``{app column: file column}`` of a list of matches."""
    return {m.column: m.file_column for m in matches}


def time_unit(file_column: str) -> tuple[str, float]:
    """Unit a time column's name states and the factor to months: ('days', 1/30.4375)..."""
    words = set(normalise_name(file_column).split())
    if words & {"day", "days", "d"}:
        return "days", 1 / DAYS_PER_MONTH
    if words & {"week", "weeks", "wk", "wks", "w"}:
        return "weeks", 7 / DAYS_PER_MONTH
    if words & {"year", "years", "yr", "yrs", "y"}:
        return "years", 12.0
    return "months", 1.0


# --------------------------------------------------------------------------- #
# Values
# --------------------------------------------------------------------------- #
RESPONSE_WORDS = {
    "CR": ("cr", "complete response", "complete remission", "complete", "cr complete response", "icr"),
    "PR": ("pr", "partial response", "partial remission", "partial", "pr partial response", "ipr"),
    "SD": ("sd", "stable disease", "stable", "sd stable disease", "isd"),
    "PD": ("pd", "progressive disease", "progression", "progressive", "progressed", "pd progressive disease"),
    "NE": ("ne", "not evaluable", "non evaluable", "not evaluated", "unevaluable", "inevaluable", "nonevaluable",
           "ne not evaluable", "not assessable", "na not evaluable"),
}
EVENT_WORDS = {
    1: ("1", "yes", "y", "true", "progressed", "progression", "progressive disease", "pd", "event", "relapse",
        "relapsed", "died", "death", "dead", "progressed or died", "progression or death"),
    0: ("0", "no", "n", "false", "censored", "censor", "no progression", "not progressed", "no event",
        "progression free", "event free", "alive without progression"),
}
#: Event values whose meaning flips under a 'censored' header (the words keep theirs).
_FLIPPABLE_EVENT = frozenset({"1", "0", "yes", "y", "true", "no", "n", "false"})
SEX_WORDS = {"Female": ("f", "female", "woman", "women", "fem", "w"), "Male": ("m", "male", "man", "men")}
BOOL_WORDS = {True: ("yes", "y", "true", "1", "t"), False: ("no", "n", "false", "0", "f")}
STAGE_WORDS = {"IV": ("iv", "4", "stage iv", "stage 4", "iva", "ivb", "stage iva", "stage ivb", "metastatic"),
               "Unresectable": ("unresectable", "inoperable", "locally advanced unresectable")}
STATUS_WORDS = {"ongoing": ("ongoing", "on treatment", "continuing", "still on treatment", "on"),
                "stopped": ("stopped", "discontinued", "off treatment", "ended", "completed", "off")}


def _lookup(words: dict) -> dict[str, object]:
    return {word: value for value, synonyms in words.items() for word in synonyms}


_RESPONSE_LOOKUP = _lookup(RESPONSE_WORDS)
_EVENT_LOOKUP = _lookup(EVENT_WORDS)
_SEX_LOOKUP = _lookup(SEX_WORDS)
_BOOL_LOOKUP = _lookup(BOOL_WORDS)
_STAGE_LOOKUP = _lookup(STAGE_WORDS)
_STATUS_LOOKUP = _lookup(STATUS_WORDS)
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_DECIMAL_COMMA = re.compile(r"^[+-]?\d*,\d+$")
_DOTTED_THOUSANDS_COMMA = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+,\d+$")
#: "1,234" or "12,345,678": a thousands separator or a decimal comma? (not "0,123": no thousands start with 0)
_AMBIGUOUS_COMMA = re.compile(r"^[+-]?[1-9]\d{0,2}(,\d{3})+$")


def _clean_number_text(text: str) -> str:
    """A cell's number without spaces, a trailing '%' and with '−' as '-'."""
    cleaned = text.replace("\u00a0", "").replace("\u202f", "").replace(" ", "").replace("−", "-")
    return cleaned[:-1] if cleaned.endswith("%") else cleaned


def _parse_number(text: str) -> tuple[float | None, bool]:
    """(value, read a decimal comma) of a cell; value None when not a number."""
    cleaned = _clean_number_text(text)
    if _NUMBER.match(cleaned):
        return float(cleaned), False
    if _DECIMAL_COMMA.match(cleaned):
        return float(cleaned.replace(",", ".")), True
    if _DOTTED_THOUSANDS_COMMA.match(cleaned):
        return float(cleaned.replace(".", "").replace(",", ".")), True
    return None, False


@dataclass(frozen=True)
class Recognition:
    """A value (or column) the app read in a way the user should see before it is applied."""

    column: str  # app column
    file_column: str
    original: str
    read_as: str
    rows: int


@dataclass
class Prepared:
    """The result of :func:`prepare_cohort`."""

    patients: pd.DataFrame | None
    adverse_events: pd.DataFrame | None
    assessments: pd.DataFrame | None
    studies: pd.DataFrame | None
    problems: list[Problem]
    n_problems: int
    recognitions: list[Recognition]
    notes: list[str]

    @property
    def ok(self) -> bool:
        return self.n_problems == 0 and self.patients is not None


class _Collector:
    """Problems of one file, capped at :data:`MAX_PROBLEMS_PER_FILE` listed (all counted)."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.count = 0
        self._per_file: dict[str, int] = {}

    def add(self, file: str, row: int | None, column: str | None, message: str) -> None:
        self.count += 1
        listed = self._per_file.get(file, 0)
        if listed < MAX_PROBLEMS_PER_FILE:
            self.problems.append(Problem(file, row, column, message))
            self._per_file[file] = listed + 1


def _missing(values: pd.Series) -> pd.Series:
    return values.str.strip().str.lower().isin(MISSING_TOKENS)


def _convert(table: RawTable, spec: ColumnSpec, file_column: str, problems: _Collector,
             recognitions: list[Recognition]) -> pd.Series:
    """Typed values of one mapped column (problems added for unreadable cells)."""
    raw = table.frame[file_column].astype(str)
    rows = table.row_numbers
    missing = _missing(raw)
    too_long = raw.str.len() > MAX_TEXT_LENGTH
    for position in np.flatnonzero(too_long.to_numpy()):
        problems.add(table.file, int(rows[position]), file_column,
                     f"text of {len(raw.iloc[position]):,} characters (at most {MAX_TEXT_LENGTH})")
    kind = spec.kind
    unique = pd.unique(raw[~missing & ~too_long])

    def report(mapping: dict, describe, always: bool = False) -> None:
        counts = raw[~missing].value_counts()
        for original, value in mapping.items():
            if value is None:
                continue
            canonical = {True: "yes", False: "no"}.get(value, str(value)) if kind == "bool" else str(value)
            if always or normalise_name(original) != normalise_name(canonical):
                recognitions.append(Recognition(spec.name, file_column, str(original), describe(value),
                                                int(counts.get(original, 0))))

    def fail(bad: pd.Series, message) -> None:
        for position in np.flatnonzero(bad.to_numpy()):
            problems.add(table.file, int(rows[position]), file_column, message(raw.iloc[position]))

    if kind in ("id", "text"):
        values = raw.where(~missing, None)
        if kind == "id":
            missing_id = missing | raw.str.strip().eq("")
            fail(missing_id & ~too_long, lambda v: "patient id is empty: every row needs one")
            values = raw.where(~missing_id, None)
        return values.astype(object)

    if kind in ("int", "float", "time", "pct", "grade"):
        parsed = {}
        comma = 0
        ambiguous = set()
        for text in unique:
            value, used_comma = _parse_number(text)
            parsed[text] = value
            if used_comma and _AMBIGUOUS_COMMA.match(_clean_number_text(text)):
                ambiguous.add(text)
            else:
                comma += used_comma
        if ambiguous and not comma:  # no value of the column shows that its commas are decimal commas
            is_ambiguous = raw.isin(ambiguous)
            fail(is_ambiguous, lambda v: f"{_quote(v)} is ambiguous: a thousands separator "
                                         f"({_clean_number_text(v).replace(',', '')}) or a decimal comma "
                                         f"({_clean_number_text(v).replace(',', '.')})? Write the number without "
                                         "a thousands separator, with a decimal point")
            for text in ambiguous:
                parsed[text] = None
        else:
            is_ambiguous = pd.Series(False, index=raw.index)
        numbers = raw.map(parsed).where(~missing & ~too_long)
        numbers = pd.to_numeric(numbers, errors="coerce").astype(float)
        not_number = ~missing & ~too_long & ~is_ambiguous & numbers.isna()
        what = {"int": "a number", "float": "a number", "time": "a time (a number ≥ 0)", "pct": "a percentage",
                "grade": "a CTCAE grade (1–5)"}[kind]
        fail(not_number, lambda v: f"{_quote(v)} is not {what}")
        infinite = numbers.notna() & ~np.isfinite(numbers.fillna(0))
        fail(infinite, lambda v: f"{_quote(v)} is not a finite number")
        numbers = numbers.where(~infinite)
        if comma:
            recognitions.append(Recognition(spec.name, file_column, "decimal commas (e.g. “3,5”)", "decimal points "
                                            "(3.5)", int(sum(1 for t in raw if _DECIMAL_COMMA.match(t.strip())
                                                             or _DOTTED_THOUSANDS_COMMA.match(t.strip())))))
        if kind == "time":
            unit, factor = time_unit(file_column)
            negative = numbers < 0
            fail(negative, lambda v: f"{_quote(v)} is negative: times must be ≥ 0")
            negative_zero = numbers.eq(0) & np.signbit(numbers.fillna(1))
            fail(negative_zero, lambda v: f"{_quote(v)} is a negative zero: write 0 if the time is 0 (times must "
                                          "be ≥ 0)")
            numbers = numbers.where(~negative & ~negative_zero)
            too_late = numbers * factor > LIMITS.time_months.value
            fail(too_late, lambda v: f"{_quote(v)} {unit} is longer than the limit ({LIMITS.time_months.text}): "
                                     "check the value and the column's unit")
            numbers = numbers.where(~too_late)
            if factor != 1.0:
                recognitions.append(Recognition(spec.name, file_column, f"times in {unit}", "months (× "
                                                f"{factor:.4g})", int(numbers.notna().sum())))
                numbers = numbers * factor
            return numbers
        if kind in ("int", "grade"):
            fractional = numbers.notna() & (numbers != np.floor(numbers.fillna(0)))
            fail(fractional, lambda v: f"{_quote(v)} is not a whole number")
            numbers = numbers.where(~fractional)
        low, high = spec.minimum, spec.maximum
        if high is None and kind in ("int", "pct"):  # no plausible count or % change is larger
            high = (LIMITS.count if kind == "int" else LIMITS.percent_change).value
        outside = numbers.notna() & (((numbers < low) if low is not None else False) |
                                     ((numbers > high) if high is not None else False))
        if low is not None and high is not None:
            rule = f"between {low:g} and {high:g}"
        elif low is not None:
            rule = f"≥ {low:g}"
        else:
            rule = f"≤ {high:g}"
        label = "AE grades must be CTCAE grades 1–5" if kind == "grade" else f"{spec.label} must be {rule}"
        fail(outside, lambda v: f"{_quote(v)} is out of range: {label}")
        numbers = numbers.where(~outside)
        if kind in ("int", "grade"):
            return pd.array(numbers.round().astype("Int64"), dtype="Int32")
        return numbers

    lookups = {"response": _RESPONSE_LOOKUP, "sex": _SEX_LOOKUP, "bool": _BOOL_LOOKUP, "stage": _STAGE_LOOKUP,
               "status": _STATUS_LOOKUP, "event": _EVENT_LOOKUP}
    lookup = lookups[kind]
    inverted = kind == "event" and normalise_name(file_column) in INVERTED_EVENT_HEADERS
    mapping: dict[str, object] = {}
    for text in unique:
        key = normalise_name(text)
        value = lookup.get(key)
        if value is None and kind in ("event", "bool"):
            number, _ = _parse_number(text)
            if number in (0.0, 1.0):
                value = int(number) if kind == "event" else bool(number)
                key = str(int(number))
        if value is not None and inverted and key in _FLIPPABLE_EVENT:
            value = 1 - int(value)
        mapping[text] = value
    values = raw.map(mapping).where(~missing & ~too_long)
    unreadable = ~missing & ~too_long & values.isna()
    messages = {
        "response": lambda v: f"{_quote(v)} is not a RECIST best response: use CR, PR, SD, PD or NE (or complete "
                              "response, partial response, stable disease, progressive disease, not evaluable)",
        "sex": lambda v: f"{_quote(v)} is not a sex the app records: use Female or Male (F / M), or leave it empty",
        "bool": lambda v: f"{_quote(v)} is not yes or no",
        "stage": lambda v: f"{_quote(v)} is not a stage the app records: IV or Unresectable (leave it empty "
                           "otherwise)",
        "status": lambda v: f"{_quote(v)} is not a treatment status: ongoing or stopped",
        "event": lambda v: f"{_quote(v)} is not a PFS event: use 1 = progression or death, 0 = censored (or "
                           "yes / no, progressed / censored)",
    }
    fail(unreadable, messages[kind])
    describe = {
        "response": lambda v: str(v),
        "event": lambda v: f"{v} ({'progression or death' if v == 1 else 'censored'})",
        "bool": lambda v: "yes" if v else "no",
    }.get(kind, str)
    if inverted:
        recognitions.append(Recognition(spec.name, file_column, f"column {_quote(file_column)} (1 = censored)",
                                        "PFS event = 1 − value (1 = progression)", int((~missing).sum())))
    report(mapping, describe, always=inverted)
    if kind == "event":
        return pd.array(values.astype("Float64").round().astype("Int64"), dtype="Int32")
    if kind == "bool":
        return pd.array(values.astype(object).where(values.notna(), None), dtype="boolean")
    return values.astype(object).where(values.notna(), None)


def _reference() -> tuple[dict[str, tuple[str, str, str]], dict[str, str]]:
    """Glossary by lower-case name or code -> (code, name, group); site -> site group."""
    glossary = pd.read_csv(SOURCES_DIR / "histology_glossary.csv", dtype=str, keep_default_na=False)
    by_key = {}
    for row in glossary.itertuples():
        entry = (row.histology_code, row.histology, row.histology_group)
        by_key[normalise_name(row.histology)] = entry
        by_key[normalise_name(row.histology_code)] = entry
    sites = pd.read_csv(SOURCES_DIR / "primary_site_groups.csv", dtype=str, keep_default_na=False)
    site_groups = {normalise_name(s): g for s, g in zip(sites["primary_site"], sites["primary_site_group"])}
    return by_key, site_groups


def _unknown_ids(table: RawTable, ids: pd.Series, known: set, file_column: str, problems: _Collector) -> pd.Series:
    unknown = ids.notna() & ~ids.isin(known)
    for position in np.flatnonzero(unknown.to_numpy()):
        problems.add(table.file, int(table.row_numbers[position]), file_column,
                     f"patient {_quote(ids.iloc[position])} is not in the patients file")
    return unknown


def _check_required(table: RawTable, role: str, mapping: dict[str, str], problems: _Collector) -> bool:
    ok = True
    for spec in SPECS[role]:
        if not spec.required:
            continue
        column = mapping.get(spec.name)
        if column is None or column not in table.frame.columns:
            ok = False
            problems.add(table.file, 1, None, f"required column {spec.name} ({spec.label}) is missing: choose the "
                                              "column of the file that holds it, or add it (see the template)")
    if role == "patients":
        mapped = {name for name, column in mapping.items() if column in table.frame.columns}
        for time, event in ENDPOINT_COLUMNS:  # half an endpoint cannot be analysed
            if (time in mapped) != (event in mapped):
                missing, present = (event, time) if time in mapped else (time, event)
                ok = False
                problems.add(table.file, 1, None, f"{present} is mapped but {missing} is not: a time-to-event "
                                                  "endpoint needs both its time and its event (1 = event, 0 = censored)")
        if not mapped & {column for pair in ENDPOINT_COLUMNS for column in pair}:
            ok = False
            pairs = " or ".join(f"{time} + {event}" for time, event in ENDPOINT_COLUMNS)
            problems.add(table.file, 1, None, f"no time-to-event endpoint: map {pairs} (a time and its event "
                                              "indicator)")
    return ok


#: Text columns the pages group or filter by (one chart bar, legend entry or menu option per value).
GROUPING_COLUMNS = ("study_id", "histology", "histology_code", "histology_group", "primary_site",
                    "primary_site_group", "term")


def _check_distinct(table: RawTable, values: pd.DataFrame, mapping: dict[str, str], problems: _Collector) -> None:
    """A problem per grouping column with more different values than :attr:`UploadLimits.distinct_values`."""
    for name in GROUPING_COLUMNS:
        if name in values and name in mapping:
            n = int(values[name].nunique(dropna=True))
            if n > LIMITS.distinct_values.value:
                problems.add(table.file, None, mapping[name], _over(LIMITS.distinct_values, f"{n:,} different "
                                                                    "values") + ": is this the right column?")


def clean_cohort_name(name: str, default: str = "Uploaded cohort") -> str:
    """A cohort name fit for labels: no control characters, at most 60 characters."""
    text = " ".join(_CONTROL.sub(" ", str(name or "")).split())[:60]
    return text or default


def prepare_cohort(patients: RawTable, mapping: dict[str, str], adverse_events: RawTable | None = None,
                   ae_mapping: dict[str, str] | None = None, assessments: RawTable | None = None,
                   assessment_mapping: dict[str, str] | None = None,
                   cohort_name: str = "Uploaded cohort") -> Prepared:
    """Convert and validate an uploaded cohort; never raises.

    Parameters
    ----------
    patients : RawTable
        The patients file.
    mapping : dict
        App column -> file column (see :func:`suggest_mapping`).
    adverse_events, assessments : RawTable, optional
        The optional files, with their mappings.
    cohort_name : str
        Name of the cohort (the ``study_id`` when the file has none).

    Returns
    -------
    Prepared
        The tables of the app's schema when there is no problem (``ok``);
        otherwise the problems (the first :data:`MAX_PROBLEMS_PER_FILE` per
        file listed, all counted) and no table. ``recognitions`` lists every
        value or column read in a way the user should see.
    """
    problems = _Collector()
    recognitions: list[Recognition] = []
    notes: list[str] = []
    name = clean_cohort_name(cohort_name)
    try:
        return _prepare(patients, mapping, adverse_events, ae_mapping or {}, assessments, assessment_mapping or {},
                        name, problems, recognitions, notes)
    except Exception as error:  # noqa: BLE001 - never raise into the page
        problems.add(patients.file, None, None, f"the cohort could not be prepared ({type(error).__name__})")
        return Prepared(None, None, None, None, problems.problems, problems.count, recognitions, notes)


def _prepare(table, mapping, ae_table, ae_mapping, assessment_table, assessment_mapping, name, problems,
             recognitions, notes) -> Prepared:
    def refused() -> Prepared:
        return Prepared(None, None, None, None, problems.problems, problems.count, recognitions, notes)

    mapping = {k: v for k, v in mapping.items() if v is not None and v in table.frame.columns}
    if len(table.columns) == 1 and len(mapping) < 2:
        problems.add(table.file, 1, table.columns[0], "only one column was found: the file is not a table whose "
                                                      "columns are separated by commas, semicolons or tabs")
        return refused()
    if not _check_required(table, "patients", mapping, problems):
        return refused()
    used = set(mapping.values())
    ignored = [c for c in table.columns if c not in used]
    if ignored:
        notes.append(f"{table.file}: {len(ignored)} column(s) not used by the app and ignored: "
                     + ", ".join(_quote(c) for c in ignored[:20]) + (" …" if len(ignored) > 20 else "") + ".")
    n = len(table.frame)
    out = pd.DataFrame(index=range(n))
    for spec in SPECS["patients"]:
        if spec.name in mapping:
            out[spec.name] = _convert(table, spec, mapping[spec.name], problems, recognitions)
    _check_distinct(table, out, mapping, problems)
    ids = out["patient_id"]
    # duplicate ids
    first_row: dict[str, int] = {}
    for position, pid in enumerate(ids):
        if pid is None:
            continue
        if pid in first_row:
            problems.add(table.file, int(table.row_numbers[position]), mapping["patient_id"],
                         f"patient id {_quote(pid)} is also in row {first_row[pid]}: patient ids must be unique")
        else:
            first_row[pid] = int(table.row_numbers[position])
    # response and evaluability
    response = out["best_response"]
    evaluable_given = "evaluable" in out
    not_evaluable_word = response.eq("NE")
    if evaluable_given:
        evaluable = out["evaluable"]
        clash = evaluable.eq(False).fillna(False) & response.isin(["CR", "PR", "SD", "PD"])
        for position in np.flatnonzero(clash.to_numpy()):
            problems.add(table.file, int(table.row_numbers[position]), mapping["best_response"],
                         f"best response {response.iloc[position]} but the patient is marked not evaluable")
        derived = pd.Series(response.isin(["CR", "PR", "SD", "PD"]).to_numpy(), index=out.index, dtype="boolean")
        evaluable = pd.Series(evaluable, index=out.index, dtype="boolean").fillna(derived)
    else:
        evaluable = pd.array(response.isin(["CR", "PR", "SD", "PD"]).to_numpy(), dtype="boolean")
    if problems.count:
        return refused()

    out["best_response"] = response.where(~not_evaluable_word, None)
    out["evaluable"] = np.asarray(pd.array(evaluable, dtype="boolean").fillna(False), dtype=bool)
    reason = out["not_evaluable_reason"] if "not_evaluable_reason" in out else pd.Series(None, index=out.index,
                                                                                          dtype=object)
    default_reason = np.where(not_evaluable_word, "not evaluable (NE in the uploaded file)",
                              "no best response in the uploaded file")
    out["not_evaluable_reason"] = reason.where(reason.notna() | out["evaluable"], pd.Series(default_reason))
    n_no_response = int((~out["evaluable"] & ~not_evaluable_word).sum())
    if n_no_response:
        notes.append(f"{n_no_response} patient(s) have no best response: counted as not evaluable "
                     "(reason: no best response in the uploaded file).")
    for endpoint in registry.ENDPOINT_LIST:
        if endpoint.time not in out or endpoint.event not in out or out[endpoint.time].isna().all():
            continue
        n_missing = int((out[endpoint.time].isna() | out[endpoint.event].isna()).sum())
        if n_missing:
            notes.append(f"{n_missing} patient(s) lack a {endpoint.short} time or event: they are left out of the "
                         f"{endpoint.short} analyses.")

    # study, labels, groups (derived values are listed as recognitions)
    if "study_id" in out and out["study_id"].notna().any():
        out["study_id"] = out["study_id"].fillna(name)
    else:
        out["study_id"] = name
    glossary, site_groups = _reference()
    histology = out["histology"]
    code = out["histology_code"] if "histology_code" in out else pd.Series(None, index=out.index, dtype=object)
    entries = [glossary.get(normalise_name(c)) if isinstance(c, str) else None for c in code]
    entries = [e or (glossary.get(normalise_name(h)) if isinstance(h, str) else None)
               for e, h in zip(entries, histology)]
    out["histology_code"] = [c if isinstance(c, str) else (e[0] if e else None) for c, e in zip(code, entries)]
    out["histology"] = [h if isinstance(h, str) else (e[1] if e else None) for h, e in zip(histology, entries)]
    if "histology_group" not in out:
        groups = [e[2] if e else h for e, h in zip(entries, out["histology"])]
        out["histology_group"] = groups
        matched = sorted({h for e, h in zip(entries, out["histology"]) if e and isinstance(h, str)})
        unmatched = sorted({h for e, h in zip(entries, out["histology"]) if not e and isinstance(h, str)})
        if matched:
            recognitions.append(Recognition("histology_group", mapping["histology"], "histologies of the app's "
                                            "glossary", "their glossary group", sum(1 for e in entries if e)))
        if unmatched:
            notes.append(f"{len(unmatched)} histolog{'y is' if len(unmatched) == 1 else 'ies are'} not in the app's "
                         f"glossary and form{'s its' if len(unmatched) == 1 else ' their'} own group: " + ", ".join(_quote(h) for h in unmatched[:12])
                         + (" …" if len(unmatched) > 12 else "") + ".")
    if "primary_site" in out and "primary_site_group" not in out:
        out["primary_site_group"] = [site_groups.get(normalise_name(s)) if isinstance(s, str) else None
                                     for s in out["primary_site"]]
        n_grouped = int(pd.Series(out["primary_site_group"]).notna().sum())
        if n_grouped:
            recognitions.append(Recognition("primary_site_group", mapping["primary_site"], "sites the app groups",
                                            "their site group (e.g. Head and neck)", n_grouped))
    if "patient_label" not in out:
        out["patient_label"] = [f"{h or 'histology not given'}, {r or 'no best response'}"
                                for h, r in zip(out["histology"], out["best_response"])]
    given_source = out["source"] if "source" in out else pd.Series(None, index=out.index, dtype=object)
    out["source"] = [f"uploaded file {table.file}, row {row}" + (f": {s}" if isinstance(s, str) else "")
                     for row, s in zip(table.row_numbers, given_source)]

    # adverse events
    events = None
    known = set(out["patient_id"])
    study_of = dict(zip(out["patient_id"], out["study_id"]))
    if ae_table is not None:
        ae_mapping = {k: v for k, v in ae_mapping.items() if v is not None and v in ae_table.frame.columns}
        if _check_required(ae_table, "adverse_events", ae_mapping, problems):
            ae = pd.DataFrame(index=range(len(ae_table.frame)))
            for spec in SPECS["adverse_events"]:
                if spec.name in ae_mapping:
                    ae[spec.name] = _convert(ae_table, spec, ae_mapping[spec.name], problems, recognitions)
            _check_distinct(ae_table, ae, ae_mapping, problems)
            if "grade" not in ae:
                ae["grade"] = pd.array([pd.NA] * len(ae), dtype="Int32")
            missing_term = ae["term"].isna()
            for position in np.flatnonzero(missing_term.to_numpy()):
                problems.add(ae_table.file, int(ae_table.row_numbers[position]), ae_mapping["term"],
                             "the AE term is empty")
            _unknown_ids(ae_table, ae["patient_id"], known, ae_mapping["patient_id"], problems)
            events = pd.DataFrame({
                "study_id": ae["patient_id"].map(study_of), "patient_id": ae["patient_id"],
                "patient_ref": ae["patient_id"], "term": ae["term"], "term_group": ae["term"],
                "grade": ae["grade"], "source": [f"uploaded file {ae_table.file}, row {r}" for r in ae_table.row_numbers],
                "note": None,
            })
    # assessments
    measured = None
    if assessment_table is not None:
        assessment_mapping = {k: v for k, v in assessment_mapping.items()
                              if v is not None and v in assessment_table.frame.columns}
        if _check_required(assessment_table, "assessments", assessment_mapping, problems):
            m = pd.DataFrame(index=range(len(assessment_table.frame)))
            for spec in SPECS["assessments"]:
                m[spec.name] = _convert(assessment_table, spec, assessment_mapping[spec.name], problems, recognitions)
            for column in ("time_months", "pct_change"):
                empty = _missing(assessment_table.frame[assessment_mapping[column]].astype(str))
                for position in np.flatnonzero(empty.to_numpy()):
                    problems.add(assessment_table.file, int(assessment_table.row_numbers[position]),
                                 assessment_mapping[column], "the value is empty: every assessment needs a time and a "
                                                             "% change")
            _unknown_ids(assessment_table, m["patient_id"], known, assessment_mapping["patient_id"], problems)
            measured = pd.DataFrame({
                "study_id": m["patient_id"].map(study_of), "patient_id": m["patient_id"],
                "time_months": m["time_months"].astype(float), "pct_change": m["pct_change"].astype(float),
                "source": [f"uploaded file {assessment_table.file}, row {r}" for r in assessment_table.row_numbers],
            })
    if problems.count:
        return refused()

    if events is not None:
        per_patient = events.groupby("patient_id").agg(n=("term", "size"), worst=("grade", "max"))
        if "n_adverse_events" not in out:
            out["n_adverse_events"] = pd.array(out["patient_id"].map(per_patient["n"]).fillna(0), dtype="Int32")
            recognitions.append(Recognition("n_adverse_events", "(AE file)", "rows of the AE file per patient",
                                            "number of AEs (0 for a patient without rows)", len(out)))
        if "worst_ae_grade" not in out:
            worst = out["patient_id"].map(per_patient["worst"])
            out["worst_ae_grade"] = pd.array(pd.to_numeric(worst, errors="coerce").round().astype("Int64"),
                                             dtype="Int32")
            recognitions.append(Recognition("worst_ae_grade", "(AE file)", "highest grade of the patient's AEs",
                                            "worst AE grade", int(pd.Series(out["worst_ae_grade"]).notna().sum())))
    studies = []
    for study_id, group in out.groupby("study_id", sort=True):
        studies.append({
            "study_id": study_id, "seed_file": f"uploaded file {table.file}", "title_as_given": name,
            "regimen": "Not stated (uploaded cohort)", "design": "Uploaded cohort (institutional data)",
            "n_treated": len(group), "n_evaluable": int(group["evaluable"].sum()),
            "source": f"uploaded file {table.file}",
        })
    return Prepared(out, events, measured, pd.DataFrame(studies), [], 0, recognitions, notes)


# --------------------------------------------------------------------------- #
# Dictionary and templates
# --------------------------------------------------------------------------- #
def data_dictionary() -> pd.DataFrame:
    """Every column an upload may have: file, required, unit, how to write it, recognised names."""
    rows = []
    for role, specs in SPECS.items():
        for spec in specs:
            rows.append({
                "File": ROLE_LABELS[role], "Column": spec.name, "Required": "required" if spec.required else "optional",
                "Meaning": spec.description, "Unit": spec.unit, "How to write it": spec.allowed,
                "Also recognised as": ", ".join(spec.synonyms[:8]) + (" …" if len(spec.synonyms) > 8 else ""),
            })
    return pd.DataFrame(rows)


_TEMPLATE_ROWS = {
    "patients": [
        {"patient_id": "EXAMPLE-01", "histology": "Leiomyosarcoma", "best_response": "PR", "pfs_months": "7.5",
         "pfs_event": "1", "age": "61", "sex": "Female", "ecog": "1", "prior_lines": "2", "primary_site": "Uterus",
         "pazopanib": "no"},
        {"patient_id": "EXAMPLE-02", "histology": "Angiosarcoma", "best_response": "SD", "pfs_months": "4.2",
         "pfs_event": "0", "age": "72", "sex": "Male", "ecog": "0", "prior_lines": "1", "primary_site": "Scalp",
         "pazopanib": "yes"},
        {"patient_id": "EXAMPLE-03", "histology": "Undifferentiated pleomorphic sarcoma", "best_response": "NE",
         "pfs_months": "1.1", "pfs_event": "1", "age": "55", "sex": "Male", "ecog": "2", "prior_lines": "3",
         "primary_site": "Thigh", "pazopanib": "no", "not_evaluable_reason": "clinical progression before the first "
         "scan"},
    ],
    "adverse_events": [
        {"patient_id": "EXAMPLE-01", "term": "Fatigue", "grade": "2"},
        {"patient_id": "EXAMPLE-01", "term": "Neutropenia", "grade": "3"},
        {"patient_id": "EXAMPLE-02", "term": "Hypertension", "grade": "2"},
    ],
    "assessments": [
        {"patient_id": "EXAMPLE-01", "time_months": "2", "pct_change": "-22"},
        {"patient_id": "EXAMPLE-01", "time_months": "4", "pct_change": "-38"},
        {"patient_id": "EXAMPLE-02", "time_months": "2", "pct_change": "5"},
        {"patient_id": "EXAMPLE-03", "time_months": "1", "pct_change": "31"},
    ],
}


def template_frame(role: str) -> pd.DataFrame:
    """The template of one file: every column (required first) and three example rows."""
    columns = [spec.name for spec in SPECS[role]]
    return pd.DataFrame(_TEMPLATE_ROWS[role], columns=columns).fillna("")


def template_csv(role: str) -> bytes:
    """Template CSV (UTF-8 with BOM, so Excel opens it with the right accents)."""
    return template_frame(role).to_csv(index=False).encode("utf-8-sig")


def template_xlsx() -> bytes:
    """One workbook: sheets patients, adverse_events, assessments and dictionary."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for role in ROLES:
            template_frame(role).to_excel(writer, sheet_name=role, index=False)
        data_dictionary().to_excel(writer, sheet_name="dictionary", index=False)
    return buffer.getvalue()


def problems_frame(problems: list[Problem]) -> pd.DataFrame:
    """Problems as a table: File, Row, Column, Problem."""
    return pd.DataFrame({
        "File": [p.file for p in problems],
        "Row": [str(p.row) if p.row is not None else "–" for p in problems],
        "Column": [_short(p.column, 60) if p.column is not None else "–" for p in problems],
        "Problem": [p.message for p in problems],
    })


def recognitions_frame(recognitions: list[Recognition]) -> pd.DataFrame:
    """Recognised values as a table: App column, File column, In the file, Read as, Rows."""
    return pd.DataFrame({
        "App column": [r.column for r in recognitions],
        "File column": [_short(r.file_column, 60) for r in recognitions],
        "In the file": [_short(r.original, 80) for r in recognitions],
        "Read as": [r.read_as for r in recognitions],
        "Rows": [r.rows for r in recognitions],
    })


def zip_is_xlsx(data: bytes) -> bool:
    """True when a ZIP archive looks like an Excel workbook."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except zipfile.BadZipFile:
        return False

"""Reading an XLSX workbook, bounded: declared sizes and compression ratios before unpacking (pure).

A workbook is refused by what its ZIP directory declares (parts, unpacked size,
compression ratio, a ``<!DOCTYPE``) before openpyxl parses anything; a sheet
is walked row by row up to its row limit, ignoring the declared dimension;
formulas without a saved result are problems, not empty cells. Sheets named
like the other files (adverse events, assessments) are read as those files.
"""
from __future__ import annotations

import datetime as _dt
import io
import math
import re
import zipfile

from sarcoma_app.ingest.columns import ROLE_LABELS, ROLES, normalise_name
from sarcoma_app.ingest.tables import (MAX_PROBLEMS_PER_FILE, MAX_TEXT_LENGTH, ROW_LIMITS, Problem, ReadResult,
                                       clean_cell, long_cell_problems, over_limit, quoted, short_text,
                                       table_from_rows, too_many_columns, too_many_rows)
from sarcoma_app.limits import LIMITS, RATIO_CHECK_MIN_BYTES

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
    return clean_cell(str(value))


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
                return Problem(file, None, None, over_limit(LIMITS.workbook_parts, f"{len(parts):,} parts"))
            total = sum(part.file_size for part in parts)
            if total > LIMITS.uncompressed_mb.value << 20:
                return Problem(file, None, None, over_limit(LIMITS.uncompressed_mb, f"the workbook unpacks to "
                                                      f"{total / (1 << 20):,.0f} MB") + ": save the sheets as CSV, "
                                                                                       "or split the workbook")
            for part in parts:
                ratio = part.file_size / max(part.compress_size, 1)
                if part.file_size >= RATIO_CHECK_MIN_BYTES and ratio > LIMITS.compression_ratio.value:
                    return Problem(file, None, None, over_limit(LIMITS.compression_ratio, f"its part "
                                                           f"{quoted(part.filename)} is compressed {ratio:,.0f} to 1")
                                   + ": a spreadsheet program does not write this; save the sheet as CSV")
            for part in parts:
                with archive.open(part) as stream:
                    head = stream.read(_XML_HEAD_BYTES)
                if b"<!DOCTYPE" in head.upper():
                    return Problem(file, None, None, f"its part {quoted(part.filename)} declares a document type "
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
            return [], [], header, header_row, [too_many_rows(label, max_rows)]
        if not values or values.count(None) == len(values):
            continue  # an empty row (openpyxl yields one per row missing from the sheet)
        if len(values) > LIMITS.columns.value:
            width = len(values)
            while width and values[width - 1] in (None, ""):
                width -= 1
            if width > LIMITS.columns.value:
                return [], [], header, header_row, [too_many_columns(label, index, width)]
            values = values[:width]
        cells = [_excel_text(v) for v in values]
        if header is None:
            if any(cells):
                header, header_row = cells, index
            continue
        if not any(cells):
            continue
        if max(map(len, cells)) > MAX_TEXT_LENGTH:
            long_cell_problems(label, index, cells, header, problems)
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


def read_workbook(file: str, data: bytes, role: str, max_rows: int) -> ReadResult:
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
            label = f"{file} (sheet “{short_text(name, 40)}”)" if len(workbook.sheetnames) > 1 else file
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
                description = f"XLSX, sheet “{short_text(name, 40)}”"
                table = table_from_rows(label, rows, numbers, header, header_row, description, problems, notes)
                results[this_role] = ReadResult(table, problems)
    finally:
        workbook.close()
    main = results.get(role) or ReadResult(None, [Problem(file, None, None, "the workbook has no readable sheet")])
    main.other_sheets = {r: res.table for r, res in results.items() if r != role and res.ok}
    return main

"""Reading the bytes of an uploaded file into a table of text cells: the first step of an upload (pure).

An upload is up to three files: patients (required), adverse events
(optional: one row per AE) and tumour assessments (optional: one row per
assessment, % change of the target lesions). The flow is

1. :func:`read_table` (here) - bytes of a CSV (any common encoding and
   delimiter, decimal commas; :mod:`.delimited`) or XLSX file
   (:mod:`.workbook`) -> a :class:`~sarcoma_app.ingest.tables.RawTable` of
   text cells, or :class:`~sarcoma_app.ingest.tables.Problem` s saying why the
   file is not a table;
2. :func:`sarcoma_app.ingest.columns.suggest_mapping` - which column of the
   file is which column of the app (exact names and common synonyms such as
   "PFS (months)"); the user sees and may change it;
3. :func:`sarcoma_app.ingest.cohort.prepare_cohort` - converts and validates
   every value (:mod:`.values`) and returns the tables of the app's schema, or
   the problems, one per cell. A cohort with any problem is refused whole.

Every limit (file and unpacked size, rows walked, columns, cell length,
different values, longest time...) comes from :data:`sarcoma_app.limits.LIMITS`
and is checked before the step it protects, so a hostile file costs seconds
and MBs, not minutes and GBs (``bench/upload_limits.py`` measures it).
"""
from __future__ import annotations

import io
import zipfile

from sarcoma_app.ingest.delimited import decode_text, looks_binary, read_delimited_text
from sarcoma_app.ingest.tables import ROW_LIMITS, Problem, ReadResult, over_limit, short_text
from sarcoma_app.ingest.workbook import read_workbook
from sarcoma_app.limits import LIMITS

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
    file = short_text(file_name or "uploaded file", 80)
    max_rows = ROW_LIMITS[role] if max_rows is None else max_rows
    try:
        if len(data) > LIMITS.file_mb.value << 20:  # the server refuses these first; a caller may not
            size = f"{len(data) / (1 << 20):,.1f} MB"
            return ReadResult(None, [Problem(file, None, None, over_limit(LIMITS.file_mb, size))])
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
            return read_workbook(file, data, role, max_rows)
        for magic, kind in _MAGIC:
            if data.startswith(magic):
                return ReadResult(None, [Problem(file, None, None, f"this is {kind}, not a table: export the data as "
                                                                   "CSV or XLSX")])
        text, encoding, note = decode_text(data)
        if text is None or looks_binary(text):
            return ReadResult(None, [Problem(file, None, None, "not a table: the file holds binary data, not text "
                                                               "(upload a CSV or XLSX file)")])
        if not text.strip():
            return ReadResult(None, [Problem(file, None, None, "the file is empty")])
        return read_delimited_text(file, text, encoding, max_rows, note)
    except Exception as error:  # noqa: BLE001 - a malformed file must never raise into the page
        return ReadResult(None, [Problem(file, None, None, f"the file could not be read ({type(error).__name__})")])


def zip_is_xlsx(data: bytes) -> bool:
    """True when a ZIP archive looks like an Excel workbook."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except zipfile.BadZipFile:
        return False


def with_workbook_sheets(results: dict[str, ReadResult]) -> tuple[dict[str, ReadResult], list[str]]:
    """The files read, completed by the sheets of a patients workbook that hold the files not uploaded.

    Returns the results by role and the roles read from sheets of the
    patients workbook (an uploaded file of a role wins over a sheet).
    """
    completed = dict(results)
    from_sheets = []
    for role, table in results["patients"].other_sheets.items():
        if role not in completed:
            completed[role] = ReadResult(table, [])
            from_sheets.append(role)
    return completed, from_sheets


def read_problems(results: dict[str, ReadResult]) -> list[Problem]:
    """Every problem of the files read, file by file."""
    return [problem for result in results.values() for problem in result.problems]

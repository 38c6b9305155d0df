"""Hostile uploads built in code (nothing committed but this file), and how to measure reading one.

Each builder returns ``(file name, bytes)``. The XLSX ones are written by hand
with :mod:`zipfile` so that they can declare what a spreadsheet program would
never write: a dimension of 16,384 x 1,048,576 cells, a shared string of 1 GB
that compresses to 1 MB, a formula cell without its saved result.

Used by the tests (tests/test_upload_limits.py, tests/test_upload_page.py,
tests/browser/test_upload.py) and by the benchmark bench/upload_limits.py.
"""
from __future__ import annotations

import io
import resource
import time
import zipfile
from dataclasses import dataclass
from typing import Callable

HEADER = "patient_id,histology,best_response,pfs_months,pfs_event"
GOOD_ROWS = ("P1,Angiosarcoma,PR,5,1", "P2,Leiomyosarcoma,SD,3.5,0", "P3,Synovial sarcoma,PD,1.2,1")

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    '</Types>')
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="xl/workbook.xml"/></Relationships>')
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="patients" sheetId="1" r:id="rId1"/></sheets></workbook>')
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'sharedStrings" Target="sharedStrings.xml"/></Relationships>')
_SHEET_HEAD = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
               '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')


def _column_letter(index: int) -> str:
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _inline_row(number: int, values: list[str]) -> str:
    cells = []
    for col, value in enumerate(values, start=1):
        ref = f"{_column_letter(col)}{number}"
        try:
            float(value)
            cells.append(f'<c r="{ref}"><v>{value}</v></c>')
        except ValueError:
            cells.append(f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>')
    return f'<row r="{number}">' + "".join(cells) + "</row>"


def workbook(rows_xml: str, dimension: str = "A1:E4", shared_strings: Callable[[zipfile.ZipFile], None] | None = None
             ) -> bytes:
    """An XLSX of one sheet "patients" holding ``rows_xml`` (``<row>`` elements)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _ROOT_RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        archive.writestr("xl/worksheets/sheet1.xml", f'{_SHEET_HEAD}<dimension ref="{dimension}"/>'
                                                     f"<sheetData>{rows_xml}</sheetData></worksheet>")
        if shared_strings is None:
            archive.writestr("xl/sharedStrings.xml", '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                             '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="0" '
                             'uniqueCount="0"/>')
        else:
            shared_strings(archive)
    return buffer.getvalue()


def _good_rows_xml() -> str:
    return "".join(_inline_row(i, line.split(",")) for i, line in enumerate((HEADER,) + GOOD_ROWS, start=1))


# --------------------------------------------------------------------------- #
# Builders
# --------------------------------------------------------------------------- #
def xlsx_huge_dimension(last_row: int = 1_048_576) -> tuple[str, bytes]:
    """Declares A1:XFD1048576 and holds rows 1, 2 and ``last_row`` (1.6 KB)."""
    rows = (_inline_row(1, HEADER.split(",")) + _inline_row(2, GOOD_ROWS[0].split(","))
            + _inline_row(last_row, GOOD_ROWS[1].split(",")))
    return f"dimension_{last_row}.xlsx", workbook(rows, dimension="A1:XFD1048576")


def xlsx_shared_string_bomb(megabytes: int = 1024) -> tuple[str, bytes]:
    """One shared string of ``megabytes`` MB (1 GB compresses to about 1 MB)."""

    def write(archive: zipfile.ZipFile) -> None:
        with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
            part.write(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="http://schemas.'
                       b'openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>')
            chunk = b"A" * (1 << 20)
            for _ in range(megabytes):
                part.write(chunk)
            part.write(b"</t></si></sst>")

    rows = _inline_row(1, HEADER.split(",")) + ('<row r="2"><c r="A2" t="inlineStr"><is><t>P1</t></is></c>'
                                                '<c r="B2" t="s"><v>0</v></c></row>')
    return f"shared_string_{megabytes}mb.xlsx", workbook(rows, dimension="A1:E2", shared_strings=write)


def xlsx_formula_without_value() -> tuple[str, bytes]:
    """A good sheet whose D3 (pfs_months) is a formula with no saved result."""
    rows = _good_rows_xml().replace('<c r="D3"><v>3.5</v></c>', '<c r="D3"><f>D2*0.7</f></c>')
    assert "<f>" in rows
    return "formula.xlsx", workbook(rows)


def xlsx_entity_expansion(comment_chars: int = 0) -> tuple[str, bytes]:
    """A sheet whose DTD expands one cell to 10^9 characters ("billion laughs").

    ``comment_chars`` > 0 puts a comment that long before the DTD, past the
    reader's look for ``<!DOCTYPE`` at the head of each part: the XML parser's
    own guard must then refuse it.
    """
    entities = '<!ENTITY a0 "AAAAAAAAAA">' + "".join(
        f'<!ENTITY a{i} "{("&a%d;" % (i - 1)) * 10}">' for i in range(1, 9))
    rows = (_inline_row(1, HEADER.split(",")) + '<row r="2"><c r="A2" t="inlineStr"><is><t>P1</t></is></c>'
            '<c r="B2" t="inlineStr"><is><t>&a8;</t></is></c></row>')
    data = workbook(rows)
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            body = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                prolog = ("<!--" + "x" * comment_chars + "-->" if comment_chars else "") + (
                    f"<!DOCTYPE worksheet [{entities}]>")
                body = body.replace(b"<worksheet", prolog.encode() + b"<worksheet", 1)
            target.writestr(info.filename, body)
    return f"entities{'_hidden' if comment_chars else ''}.xlsx", buffer.getvalue()


def xlsx_good() -> tuple[str, bytes]:
    """A small valid workbook written the same way (the builders' control)."""
    return "good.xlsx", workbook(_good_rows_xml())


def csv_many_columns(n_columns: int = 100_000) -> tuple[str, bytes]:
    """A header of ``n_columns`` names (100,000: 0.8 MB; 1,000,000: 7.9 MB) and one row."""
    names = ["patient_id", "histology", "best_response", "pfs_months", "pfs_event"] + [
        f"c{i}" for i in range(n_columns - 5)]
    row = "P1,Angiosarcoma,PR,5,1" + "," * (n_columns - 5)
    return f"columns_{n_columns}.csv", (",".join(names) + "\n" + row + "\n").encode()


def csv_rows(name: str, pfs_header: str, values: list[str]) -> tuple[str, bytes]:
    """The good rows with the PFS column named ``pfs_header`` holding ``values``."""
    lines = [HEADER.replace("pfs_months", pfs_header)]
    for line, value in zip(GOOD_ROWS, values):
        cells = line.split(",")
        cells[3] = value
        lines.append(",".join(f'"{c}"' if "," in c else c for c in cells))
    return name, ("\n".join(lines) + "\n").encode()


def csv_huge_months() -> tuple[str, bytes]:
    return csv_rows("huge_months.csv", "pfs_months", ["5", "1e308", "1.2"])


def csv_huge_years() -> tuple[str, bytes]:
    return csv_rows("huge_years.csv", "PFS (years)", ["0.5", "1e308", "0.1"])


def csv_thousands_days() -> tuple[str, bytes]:
    return csv_rows("thousands_days.csv", "PFS (days)", ["152", "1,234", "36"])


def csv_negative_zero() -> tuple[str, bytes]:
    return csv_rows("negative_zero.csv", "pfs_months", ["5", "-0", "1.2"])


def csv_stray_cp1252() -> tuple[str, bytes]:
    """UTF-8 accents on rows 2 and 3, one Windows-1252 'é' (0xE9) on row 4."""
    text = (HEADER + "\nP1,Sarcome pléomorphe,PR,5,1\nP2,Léiomyosarcome,SD,3.5,0\n").encode("utf-8")
    return "stray_byte.csv", text + "P3,Synovialosarcome".encode() + b"\xe9" + b",PD,1.2,1\n"


def csv_registry(n_patients: int = 200_000) -> tuple[str, bytes]:
    """A valid patients file of ``n_patients`` rows and the 5 required columns plus 6 optional ones."""
    head = HEADER + ",age,sex,ecog,prior_lines,primary_site,pazopanib\n"
    histologies = ("Angiosarcoma", "Leiomyosarcoma", "Synovial sarcoma", "Dedifferentiated liposarcoma")
    body = "".join(f"R{i:07d},{histologies[i % 4]},{'PR' if i % 3 else 'SD'},{(i % 97) / 4:.2f},{i % 2},"
                   f"{30 + i % 60},{'Female' if i % 2 else 'Male'},{i % 3},{i % 5},Thigh,{'yes' if i % 2 else 'no'}\n"
                   for i in range(n_patients))
    return f"registry_{n_patients}.csv", (head + body).encode()


#: Every hostile file, by case name (builders are called lazily: some take seconds).
CASES: dict[str, Callable[[], tuple[str, bytes]]] = {
    "xlsx_dimension_100k": lambda: xlsx_huge_dimension(100_000),
    "xlsx_dimension_1m": lambda: xlsx_huge_dimension(1_048_576),
    "xlsx_shared_string_1gb": lambda: xlsx_shared_string_bomb(1024),
    "xlsx_formula_no_value": xlsx_formula_without_value,
    "xlsx_entity_expansion": xlsx_entity_expansion,
    "xlsx_entity_expansion_hidden": lambda: xlsx_entity_expansion(10_000),
    "csv_100k_columns": lambda: csv_many_columns(100_000),
    "csv_1m_columns": lambda: csv_many_columns(1_000_000),
    "csv_1e308_months": csv_huge_months,
    "csv_1e308_years": csv_huge_years,
    "csv_1234_days": csv_thousands_days,
    "csv_stray_cp1252": csv_stray_cp1252,
    "csv_negative_zero": csv_negative_zero,
    "csv_registry_100k": lambda: csv_registry(100_000),
    "csv_registry_200k": lambda: csv_registry(200_000),
}


# --------------------------------------------------------------------------- #
# Measuring
# --------------------------------------------------------------------------- #
def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def reset_peak_rss() -> None:
    """Reset this process's peak RSS (VmHWM) to its current RSS (Linux)."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
    except OSError:
        pass


@dataclass(frozen=True)
class Measured:
    """What one call cost: CPU and wall seconds, peak RSS growth in MB."""

    value: object
    cpu_s: float
    wall_s: float
    peak_growth_mb: float


def measure(call: Callable[[], object]) -> Measured:
    """Run ``call`` once; CPU of this process, wall time and peak RSS above the RSS before it."""
    reset_peak_rss()
    before_rss = _status_kib("VmRSS")
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu0, wall0 = usage.ru_utime + usage.ru_stime, time.perf_counter()
    value = call()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - cpu0
    peak = _status_kib("VmHWM")
    return Measured(value, cpu, time.perf_counter() - wall0, max(0, peak - before_rss) / 1024)


def message_shown(data: bytes, name: str) -> str:
    """The message the upload page shows for a patients file (read, suggested mapping, check)."""
    from sarcoma_app.ingest.cohort import prepare_cohort
    from sarcoma_app.ingest.columns import mapping_dict, suggest_mapping
    from sarcoma_app.ingest.read import read_table

    result = read_table(data, name)
    if result.problems or result.table is None:
        return "; ".join(p.text for p in result.problems[:3]) or "not read"
    table = result.table
    prepared = prepare_cohort(table, mapping_dict(suggest_mapping(table.columns)))
    notes = " ".join(table.notes + prepared.notes)
    if not prepared.ok:
        return "; ".join(p.text for p in prepared.problems[:3])
    return ("No problem found" + (f" (notes: {notes})" if notes else "")).strip()

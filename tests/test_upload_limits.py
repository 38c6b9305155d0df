"""Hostile uploads are refused or flagged, cheaply, with a message naming what is wrong and where.

The files are built in code (tests/hostile_uploads.py): XLSX zips written by
hand that declare a 16,384 x 1,048,576 dimension, a 1 GB shared string or a
formula without its saved value; CSVs with 100,000 column names, 1e308 times,
"1,234" days, a stray Windows-1252 byte, "-0". Each is checked for the exact
message and for bounded CPU and memory. The bounds are generous guards against
a regression that would hang or balloon (before this change the same files took
minutes and GBs: bench/upload_limits.py prints the figures); they are not speed
figures.
"""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from sarcoma_app.ingest.cohort import prepare_cohort
from sarcoma_app.ingest.columns import ROLES, mapping_dict, suggest_mapping
from sarcoma_app.ingest.read import read_table
from sarcoma_app.ingest.tables import MAX_TEXT_LENGTH, ROW_LIMITS
from sarcoma_app.limits import LIMITS, Limit, UploadLimits, limits_markdown
from tests import hostile_uploads as hostile

ROOT = Path(__file__).resolve().parents[1]
#: Guards, not speed figures (the hostile files cost 10-150+ s and up to 3 GB before the limits).
MAX_CPU_S = 10.0
MAX_PEAK_MB = 300.0


@pytest.fixture(scope="module", autouse=True)
def warm_up():
    """Import openpyxl and read the glossary once, so a case's memory is its own."""
    for name, data in (hostile.xlsx_good(), hostile.csv_huge_months()):
        hostile.message_shown(data, name)


def bounded(name: str, data: bytes) -> str:
    """The message shown for a patients file, asserting CPU and memory stayed bounded."""
    measured = hostile.measure(lambda: hostile.message_shown(data, name))
    assert measured.cpu_s < MAX_CPU_S, (name, measured.cpu_s)
    assert measured.peak_growth_mb < MAX_PEAK_MB, (name, measured.peak_growth_mb)
    return measured.value


COLUMNS = LIMITS.columns.text
ROWS = LIMITS.patient_rows.value


@pytest.mark.parametrize("build, message", [
    (lambda: hostile.xlsx_huge_dimension(1_048_576),
     f"dimension_1048576.xlsx: more than {ROWS:,} rows after the header (the limit for this file; empty rows count "
     "too): split the file or filter it first"),
    (lambda: hostile.xlsx_shared_string_bomb(20),
     re.compile(r"shared_string_20mb\.xlsx: its part “xl/sharedStrings\.xml” is compressed 1,0\d\d to 1 \(compression "
                r"of a part of a workbook: at most 100 to 1\): a spreadsheet program does not write this; save the "
                r"sheet as CSV")),
    (hostile.xlsx_formula_without_value,
     "formula.xlsx, row 3, column “pfs_months”: cell D3 holds a formula without a saved result, so its value is "
     "unknown: open the workbook in Excel or LibreOffice, let it calculate, save it and upload it again"),
    (hostile.xlsx_entity_expansion,
     "entities.xlsx: its part “xl/worksheets/sheet1.xml” declares a document type (<!DOCTYPE …>), which a "
     "spreadsheet program does not write: save the sheet as CSV"),
    (lambda: hostile.xlsx_entity_expansion(10_000),  # past the look at each part's head: the XML parser refuses
     "entities_hidden.xlsx: the sheet could not be read (damaged workbook)"),
    (lambda: hostile.csv_many_columns(100_000),
     f"columns_100000.csv, row 1: the header has more than 200 columns ({COLUMNS}): keep the columns the app "
     "reads (see the template) and upload that"),
    (lambda: hostile.csv_many_columns(1_000_000),
     f"columns_1000000.csv, row 1: the header has more than 200 columns ({COLUMNS}): keep the columns the app "
     "reads (see the template) and upload that"),
    (hostile.csv_huge_months,
     "huge_months.csv, row 3, column “pfs_months”: “1e308” months is longer than the limit (a time (PFS or "
     "assessment): at most 1,200 months (100 years)): check the value and the column's unit"),
    (hostile.csv_huge_years,
     "huge_years.csv, row 3, column “PFS (years)”: “1e308” years is longer than the limit (a time (PFS or "
     "assessment): at most 1,200 months (100 years)): check the value and the column's unit"),
    (hostile.csv_thousands_days,
     "thousands_days.csv, row 3, column “PFS (days)”: “1,234” is ambiguous: a thousands separator (1234) or a "
     "decimal comma (1.234)? Write the number without a thousands separator, with a decimal point"),
    (hostile.csv_negative_zero,
     "negative_zero.csv, row 3, column “pfs_months”: “-0” is a negative zero: write 0 if the time is 0 (times must "
     "be ≥ 0)"),
    (lambda: hostile.csv_registry(200_000),
     "registry_200000.csv: 11.6 MB (size of each uploaded file: at most 10 MB)"),
], ids=["dimension-1m", "compression-ratio", "formula", "entity-expansion", "entity-expansion-hidden",
        "100k-columns", "1m-columns", "1e308-months",
        "1e308-years", "1,234-days", "negative-zero", "200k-patients-11MB"])
def test_a_hostile_file_gets_its_message_within_bounds(build, message):
    name, data = build()
    shown = bounded(name, data)
    assert message.fullmatch(shown) if isinstance(message, re.Pattern) else shown == message, shown


def test_a_one_gigabyte_shared_string_is_refused_before_it_is_unpacked():
    name, data = hostile.xlsx_shared_string_bomb(1024)
    assert len(data) < 1.1 * (1 << 20)  # 1 MB on the wire
    assert bounded(name, data) == ("shared_string_1024mb.xlsx: the workbook unpacks to 1,024 MB (size of a workbook "
                                   "once unpacked: at most 30 MB): save the sheets as CSV, or split the workbook")


def test_a_declared_dimension_does_not_pad_rows_and_empty_rows_count():
    name, data = hostile.xlsx_huge_dimension(100_000)  # rows 1, 2 and 100,000: within the row limit
    measured = hostile.measure(lambda: read_table(data, name))
    assert measured.cpu_s < MAX_CPU_S and measured.peak_growth_mb < MAX_PEAK_MB
    result = measured.value
    assert result.ok, [p.text for p in result.problems]
    assert result.table.columns == hostile.HEADER.split(",")  # 5 columns, not 16,384
    assert result.table.row_numbers.tolist() == [2, 100_000]
    refused = read_table(data, name, max_rows=99_998)  # row 100,000 is the 99,999th after the header
    assert [p.text for p in refused.problems] == [
        f"{name}: more than 99,998 rows after the header (the limit for this file; empty rows count too): split "
        "the file or filter it first"]
    csv = (hostile.HEADER + "\n" + hostile.GOOD_ROWS[0] + "\n" + "\n" * 10 + hostile.GOOD_ROWS[1] + "\n").encode()
    assert read_table(csv, "blank.csv", max_rows=12).ok  # P2 is on line 13
    assert not read_table(csv, "blank.csv", max_rows=11).ok  # blank lines count as rows walked


def test_one_stray_byte_is_read_as_windows_1252_on_its_line_only():
    name, data = hostile.csv_stray_cp1252()
    result = read_table(data, name)
    assert result.ok, [p.text for p in result.problems]
    assert result.table.frame["histology"].tolist() == ["Sarcome pléomorphe", "Léiomyosarcome", "Synovialosarcomeé"]
    assert result.table.description == "CSV, UTF-8 (some lines Windows-1252), comma-separated"
    assert result.table.notes == [
        "stray_byte.csv: line 4 contains bytes that are not UTF-8: that line was read as Windows-1252, the rest "
        "of the file as UTF-8. Check the accents there, or save the file as UTF-8."]


def test_a_windows_1252_file_says_which_lines_are_not_utf8():
    data = (hostile.HEADER + "\nP1,Léiomyosarcome,PR,5,1\nP2,Angiosarcoma,SD,3,0\nP3,Synovialosarcome é,PD,1,1\n"
            ).encode("cp1252")
    result = read_table(data, "latin.csv")
    assert result.table.description == "CSV, Windows-1252, comma-separated"
    assert result.table.frame["histology"].tolist()[0] == "Léiomyosarcome"
    assert result.table.notes == ["latin.csv: the file is not UTF-8 (lines 2, 4 contain other bytes): it was read "
                                  "as Windows-1252."]


def test_decimal_commas_are_read_when_the_column_shows_them_and_flagged_when_it_does_not():
    name, data = hostile.csv_rows("comma.csv", "pfs_months", ["3,5", "1,234", "2,25"])
    table = read_table(data, name).table
    prepared = prepare_cohort(table, mapping_dict(suggest_mapping(table.columns)))
    assert prepared.ok, [p.text for p in prepared.problems]
    assert prepared.patients["pfs_months"].tolist() == [3.5, 1.234, 2.25]
    assert any(r.original.startswith("decimal commas") and r.rows == 3 for r in prepared.recognitions)
    name, data = hostile.csv_rows("points.csv", "pfs_months", ["3.5", "1,234", "0,5"])  # "0,5" is no thousands
    table = read_table(data, name).table
    assert prepare_cohort(table, mapping_dict(suggest_mapping(table.columns))).ok


def test_infinite_numbers_are_flagged_not_kept():
    name, data = hostile.csv_rows("inf.csv", "pfs_months", ["5", "1e400", "2"])
    assert hostile.message_shown(data, name) == "inf.csv, row 3, column “pfs_months”: “1e400” is not a finite number"


def test_huge_counts_and_percent_changes_are_out_of_range_not_a_crash():
    data = (hostile.HEADER + ",n_adverse_events,cycles\nP1,Angiosarcoma,PR,5,1,1e308,3\n"
            "P2,Angiosarcoma,PR,5,1,2,1e20\n").encode()
    assert hostile.message_shown(data, "counts.csv") == (
        "counts.csv, row 2, column “n_adverse_events”: “1e308” is out of range: Number of AEs must be between 0 and "
        "10000; counts.csv, row 3, column “cycles”: “1e20” is out of range: Cycles must be between 0 and 10000")
    name, data = hostile.csv_rows("p.csv", "pfs_months", ["5", "3", "1"])
    patients = read_table(data, name).table
    scans = read_table(b"patient_id,time_months,pct_change\nP1,2,1e308\n", "scans.csv", "assessments").table
    prepared = prepare_cohort(
        patients, mapping_dict(suggest_mapping(patients.columns)), assessments=scans,
        assessment_mapping=mapping_dict(suggest_mapping(scans.columns, "assessments")))
    assert [p.text for p in prepared.problems] == [
        "scans.csv, row 2, column “pct_change”: “1e308” is out of range: % change must be between -100 and 10000"]


def test_too_many_different_histologies_are_refused():
    rows = "\n".join(f"P{i},Histology {i},PR,5,1" for i in range(LIMITS.distinct_values.value + 1))
    data = (hostile.HEADER + "\n" + rows + "\n").encode()
    assert bounded("many.csv", data) == (
        f"many.csv, column “histology”: 1,001 different values ({LIMITS.distinct_values.text}): is this the right "
        "column?")


def test_the_column_limit_is_exact():
    for width, ok in ((LIMITS.columns.value, True), (LIMITS.columns.value + 1, False)):
        name, data = hostile.csv_many_columns(width)
        assert read_table(data, name).ok is ok, width


def test_the_builders_control_workbook_is_a_good_upload():
    name, data = hostile.xlsx_good()
    assert hostile.message_shown(data, name) == "No problem found"


# --------------------------------------------------------------------------- #
# One definition of the limits, stated everywhere
# --------------------------------------------------------------------------- #
def test_the_server_upload_limit_is_the_one_the_app_states():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == LIMITS.file_mb.value
    uploaders = (ROOT / "sarcoma_app" / "render" / "upload.py").read_text()  # the upload page draws them there
    assert "max_upload_size=LIMITS.file_mb.value" in uploaders


def test_the_readme_states_the_limits_from_their_definition():
    readme = (ROOT / "README.md").read_text()
    assert limits_markdown() in readme


def test_every_limit_has_a_label_and_the_reader_uses_them():
    assert all(isinstance(limit, Limit) and limit.label and limit.value > 0 for limit in LIMITS.all())
    assert len(LIMITS.all()) == len({limit.label for limit in LIMITS.all()})
    assert ROW_LIMITS == {role: LIMITS.rows(role).value for role in ROLES}
    assert MAX_TEXT_LENGTH == LIMITS.cell_chars.value
    with pytest.raises(AttributeError):
        LIMITS.columns = Limit(1, "", "")  # frozen
    assert UploadLimits() == LIMITS

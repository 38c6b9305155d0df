"""Reading, mapping and validating uploaded cohorts (sarcoma_app.ingest, pure functions).

The corpus in tests/fixtures/uploads/ (regenerate with make_corpus.py) holds malformed
and odd files; each must give its own message naming file, row and column, and none
may raise. Files too big to commit are generated here.
"""
from __future__ import annotations

import io
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from data import registry
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sarcoma_app.exports import downloads
from sarcoma_app.ingest.cohort import Prepared, count_parts, default_cohort_name, prepare_cohort
from sarcoma_app.ingest.columns import (REQUIRED_PATIENT_COLUMNS, ROLES, SPECS, duplicated_file_columns, mapping_dict,
                                        renamed_matches, suggest_mapping)
from sarcoma_app.ingest.read import read_problems, read_table, with_workbook_sheets
from sarcoma_app.ingest.tables import MAX_PROBLEMS_PER_FILE, ROW_LIMITS, RawTable
from sarcoma_app.ingest.templates import data_dictionary, template_csv, template_xlsx

CORPUS = Path(__file__).resolve().parent / "fixtures" / "uploads"


def data(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def read_ok(name: str, role: str = "patients") -> RawTable:
    result = read_table(data(name), name, role)
    assert result.ok, [p.text for p in result.problems]
    return result.table


def prepared(name: str, mapping: dict | None = None, **kwargs) -> Prepared:
    table = read_ok(name)
    mapping = mapping if mapping is not None else mapping_dict(suggest_mapping(table.columns))
    return prepare_cohort(table, mapping, **kwargs)


def texts(problems) -> list[str]:
    return [p.text for p in problems]


# --------------------------------------------------------------------------- #
# Files that are not tables: refused when read, with their own message
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("name, message", [
    ("empty.csv", "empty.csv: the file is empty"),
    ("header_only.csv", "header_only.csv: the file has a header row but no data rows"),
    ("binary_garbage.csv", "binary_garbage.csv: not a table: the file holds binary data"),
    ("corrupt.xlsx", "corrupt.xlsx: not a readable XLSX workbook"),
    ("pdf_renamed.csv", "pdf_renamed.csv: this is a PDF document, not a table"),
    ("old_excel.xls", "old_excel.xls: an old Excel 97–2003 (.xls)"),
    ("ragged_rows.csv", "ragged_rows.csv, row 3: 7 values but the header has 5 columns"),
    # refused when read (the cell is never kept), mapped column or not
    ("long_cell.csv", "long_cell.csv, row 3, column “notes”: text of 10,000 characters (at most 500)"),
])
def test_a_file_that_is_not_a_table_gets_its_message(name, message):
    result = read_table(data(name), name)
    assert result.table is None
    assert len(result.problems) == 1
    assert result.problems[0].text.startswith(message), result.problems[0].text


def test_too_many_rows_are_refused_before_anything_is_kept():
    header = "patient_id,histology,best_response,pfs_months,pfs_event\n"
    limit = ROW_LIMITS["patients"]
    body = "".join(f"P{i},Angiosarcoma,PR,1.5,1\n" for i in range(limit + 1))
    result = read_table((header + body).encode(), "registry.csv")
    assert result.table is None
    assert texts(result.problems) == [f"registry.csv: more than {limit:,} rows after the header (the limit for this "
                                      "file; empty rows count too): split the file or filter it first"]
    at_limit = read_table((header + "".join(body.splitlines(keepends=True)[:limit])).encode(), "ok.csv")
    assert at_limit.ok and len(at_limit.table.frame) == limit


def test_the_row_limit_is_configurable():
    result = read_table(data("good_patients.csv"), "good_patients.csv", max_rows=5)
    assert "more than 5 rows after the header" in result.problems[0].text


# --------------------------------------------------------------------------- #
# Encodings, delimiters, decimal commas, workbooks
# --------------------------------------------------------------------------- #
def test_semicolons_decimal_commas_cp1252_and_accents():
    table = read_ok("semicolon_decimal_comma_cp1252.csv")
    assert table.description == "CSV, Windows-1252, semicolon-separated"
    assert table.columns[0] == "Patient" and "Âge" in table.columns
    result = prepared("semicolon_decimal_comma_cp1252.csv")
    assert result.ok, texts(result.problems)
    patients = result.patients.set_index("patient_id")
    assert list(patients.index) == ["ÉTÉ-01", "ÉTÉ-02", "ÉTÉ-03", "ÉTÉ-04"]
    assert patients.loc["ÉTÉ-02", "pfs_months"] == 4.25
    assert patients.loc["ÉTÉ-01", "notes"] == "réponse partielle confirmée"
    assert patients["best_response"].tolist() == ["PR", "SD", "PD", "CR"]
    assert patients["sex"].tolist() == ["Female", "Male", "Male", "Female"]
    assert patients["pfs_event"].tolist() == [1, 0, 1, 0]
    shown = {(r.column, r.original): r.read_as for r in result.recognitions}
    assert shown[("best_response", "Partial response")] == "PR"
    assert shown[("sex", "F")] == "Female"
    assert ("pfs_months", "decimal commas (e.g. “3,5”)") in shown


@pytest.mark.parametrize("name, encoding", [("utf16.csv", "UTF-16"), ("bom_utf8.csv", "UTF-8 with BOM")])
def test_utf16_and_byte_order_marks(name, encoding):
    table = read_ok(name)
    assert table.description == f"CSV, {encoding}, comma-separated"
    assert table.columns[0] == "patient_id"  # no BOM left in the first name
    result = prepared(name)
    assert result.ok, texts(result.problems)
    assert result.patients["pfs_months"].notna().all()


def test_tab_separated():
    assert read_ok("tab_separated.tsv").description == "CSV, UTF-8, tab-separated"
    assert prepared("tab_separated.tsv").ok


def test_workbook_with_three_sheets_gives_all_three_files():
    result = read_table(data("good_cohort.xlsx"), "good_cohort.xlsx", "patients")
    assert result.ok
    assert set(result.other_sheets) == {"adverse_events", "assessments"}
    patients = result.table
    assert patients.frame.loc[0, "pfs_months"] == "7.5" and patients.frame.loc[0, "age"] == "61"
    ae, scans = result.other_sheets["adverse_events"], result.other_sheets["assessments"]
    outcome = prepare_cohort(
        patients, mapping_dict(suggest_mapping(patients.columns)),
        ae, mapping_dict(suggest_mapping(ae.columns, "adverse_events")),
        scans, mapping_dict(suggest_mapping(scans.columns, "assessments")))
    assert outcome.ok, texts(outcome.problems)
    assert len(outcome.patients) == 12 and len(outcome.adverse_events) == 6 and len(outcome.assessments) == 12


# --------------------------------------------------------------------------- #
# Values: one message per problem, naming file, row (header = 1) and column
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("name, message", [
    ("duplicate_ids.csv", "duplicate_ids.csv, row 4, column “patient_id”: patient id “D-01” is also in row 2: "
                          "patient ids must be unique"),
    ("negative_times.csv", "negative_times.csv, row 3, column “pfs_months”: “-3” is negative: times must be ≥ 0"),
    ("non_numeric_times.csv", "non_numeric_times.csv, row 2, column “pfs_months”: “five months” is not a time"),
    ("bad_response.csv", "bad_response.csv, row 3, column “best_response”: “Good response” is not a RECIST best "
                         "response"),
    ("bad_event.csv", "bad_event.csv, row 3, column “pfs_event”: “2” is not a PFS event"),
    ("missing_required.csv", "missing_required.csv, row 1: pfs_months is mapped but pfs_event is not: a time-to-event "
                             "endpoint needs both its time and its event"),
])
def test_each_bad_value_gets_its_message(name, message):
    result = prepared(name)
    assert not result.ok and result.patients is None  # nothing half-loaded
    assert result.n_problems == 1
    assert texts(result.problems)[0].startswith(message), texts(result.problems)


def test_adverse_event_grades_and_unknown_patients():
    patients = read_ok("good_patients.csv")
    events = read_ok("ae_bad.csv", "adverse_events")
    scans = read_ok("assessments_bad.csv", "assessments")
    result = prepare_cohort(
        patients, mapping_dict(suggest_mapping(patients.columns)),
        events, mapping_dict(suggest_mapping(events.columns, "adverse_events")),
        scans, mapping_dict(suggest_mapping(scans.columns, "assessments")))
    assert not result.ok and result.patients is None
    assert texts(result.problems) == [
        "ae_bad.csv, row 3, column “grade”: “7” is out of range: AE grades must be CTCAE grades 1–5",
        "ae_bad.csv, row 4, column “patient_id”: patient “NOBODY-9” is not in the patients file",
        "assessments_bad.csv, row 3, column “time_months”: “-1” is negative: times must be ≥ 0",
        "assessments_bad.csv, row 4, column “pct_change”: “-130” is out of range: % change must be between -100 and 10000",
    ]


def test_problems_are_listed_up_to_a_cap_and_all_counted():
    header = "patient_id,histology,best_response,pfs_months,pfs_event\n"
    body = "".join(f"P{i},Angiosarcoma,PR,-1,1\n" for i in range(1000))
    table = read_table((header + body).encode(), "bad.csv").table
    result = prepare_cohort(table, mapping_dict(suggest_mapping(table.columns)))
    assert result.n_problems == 1000
    assert len(result.problems) == MAX_PROBLEMS_PER_FILE
    assert result.problems[0].row == 2 and result.problems[-1].row == MAX_PROBLEMS_PER_FILE + 1


# --------------------------------------------------------------------------- #
# Words and synonyms the app recognises (shown before they are applied)
# --------------------------------------------------------------------------- #
def test_response_words():
    result = prepared("response_words.csv")
    assert result.ok
    assert result.patients["best_response"].tolist() == ["PR", "SD", "CR", "PD", None]
    assert result.patients["evaluable"].tolist() == [True, True, True, True, False]
    assert result.patients["not_evaluable_reason"].iloc[4] == "not evaluable (NE in the uploaded file)"
    shown = {r.original: r.read_as for r in result.recognitions if r.column == "best_response"}
    assert shown == {"Partial response": "PR", "Stable disease": "SD", "Complete response": "CR",
                     "Progressive disease": "PD", "not evaluable": "NE"}


def test_event_words():
    result = prepared("event_words.csv")
    assert result.ok
    assert result.patients["pfs_event"].tolist() == [1, 0, 1, 0]
    shown = {r.original: r.read_as for r in result.recognitions if r.column == "pfs_event"}
    assert shown == {"progressed": "1 (progression or death)", "censored": "0 (censored)",
                     "yes": "1 (progression or death)", "no": "0 (censored)"}


def test_a_censored_column_is_read_the_other_way_round_and_says_so():
    result = prepared("censored_column.csv")
    assert result.ok
    assert result.patients["pfs_event"].tolist() == [1, 0]
    assert any(r.read_as == "PFS event = 1 − value (1 = progression)" for r in result.recognitions)


def test_a_time_column_in_days_is_converted_to_months():
    result = prepared("pfs_in_days.csv")
    assert result.ok
    assert np.allclose(result.patients["pfs_months"], [6.0, 3.0])
    assert any(r.original == "times in days" for r in result.recognitions)


def test_extra_columns_are_ignored_with_a_notice():
    result = prepared("extra_columns.csv")
    assert result.ok
    assert "BMI" not in result.patients.columns
    assert any("not used by the app and ignored: “BMI”, “Smoking status”" in note for note in result.notes)


@pytest.mark.parametrize("header, column", [
    ("PFS (months)", "pfs_months"), ("pfs", "pfs_months"), ("Progression-free survival", "pfs_months"),
    ("Best overall response", "best_response"), ("Patient ID", "patient_id"), ("Progressed", "pfs_event"),
    ("ECOG PS", "ecog"), ("Gender", "sex"), ("Histological subtype", "histology"), ("% change", "pct_change"),
])
def test_common_column_names_are_recognised(header, column):
    role = "assessments" if column == "pct_change" else "patients"
    matches = suggest_mapping([header, "something else"], role)
    assert [(m.column, m.file_column) for m in matches] == [(column, header)]


def test_exact_names_win_over_synonyms_and_a_column_is_used_once():
    matches = mapping_dict(suggest_mapping(["PFS", "pfs_months", "Response"]))
    assert matches == {"pfs_months": "pfs_months", "best_response": "Response"}


def test_a_manual_mapping_is_used():
    header = "Number,Tumour type,Outcome,Months free of progression,Event\n"
    text = header + "A1,Angiosarcoma,PR,5,1\nA2,Leiomyosarcoma,SD,3,0\n"
    table = read_table(text.encode(), "mine.csv").table
    suggested = mapping_dict(suggest_mapping(table.columns))
    assert "histology" not in suggested
    mapping = {"patient_id": "Number", "histology": "Tumour type", "best_response": "Outcome",
               "pfs_months": "Months free of progression", "pfs_event": "Event"}
    result = prepare_cohort(table, mapping, cohort_name="Mine")
    assert result.ok
    assert result.patients["histology_group"].tolist() == ["Angiosarcoma", "Leiomyosarcoma"]
    assert result.studies["study_id"].tolist() == ["Mine"]


def test_derived_values_of_a_good_cohort():
    patients = read_ok("good_patients.csv")
    events = read_ok("good_adverse_events.csv", "adverse_events")
    result = prepare_cohort(patients, mapping_dict(suggest_mapping(patients.columns)), events,
                                   mapping_dict(suggest_mapping(events.columns, "adverse_events")),
                                   cohort_name="Institution A")
    assert result.ok
    frame = result.patients.set_index("patient_id")
    assert frame.loc["INST-001", "n_adverse_events"] == 2 and frame.loc["INST-001", "worst_ae_grade"] == 3
    assert frame.loc["INST-003", "n_adverse_events"] == 0 and pd.isna(frame.loc["INST-003", "worst_ae_grade"])
    assert frame.loc["INST-006", "histology_group"] == "Myxofibrosarcoma"  # not in the glossary: its own group
    assert frame.loc["INST-001", "histology_code"] == "LMS"
    assert frame.loc["INST-001", "source"] == "uploaded file good_patients.csv, row 2"
    assert result.studies.iloc[0]["n_treated"] == 12 and result.studies.iloc[0]["n_evaluable"] == 11
    assert pd.isna(result.adverse_events.set_index("term").loc["ALT increased", "grade"])


# --------------------------------------------------------------------------- #
# Safety: text stays text, exports are injection-safe, nothing raises
# --------------------------------------------------------------------------- #
def test_hostile_text_is_kept_as_text_and_neutralised_in_csv_exports():
    result = prepared("formula_text.csv")
    assert result.ok
    notes = result.patients["notes"].tolist()
    assert notes[0] == '=HYPERLINK("http://evil.example","click")'
    assert notes[1] == "<script>alert(1)</script> **bold** [link](javascript:x)"
    exported = pd.read_csv(io.BytesIO(downloads.csv_bytes(result.patients[["patient_id", "notes"]])),
                           encoding="utf-8-sig")
    assert exported["notes"].iloc[0] == "'" + notes[0]


def test_a_prepared_cohort_fits_the_database_schema():
    """The tables load into the bundled schema with its constraints (what the page does)."""
    from data.build import SCHEMA

    patients = read_ok("good_patients.csv")
    result = prepare_cohort(patients, mapping_dict(suggest_mapping(patients.columns)))
    con = duckdb.connect(":memory:")
    for table, columns in SCHEMA.items():
        con.execute(f"CREATE TABLE {table} ({columns})")
    for name, frame in (("studies", result.studies), ("patients", result.patients)):
        columns = [c for c in con.execute(f"SELECT * FROM {name} LIMIT 0").df().columns if c in frame.columns]
        con.register("incoming", frame[columns])
        con.execute(f"INSERT INTO {name} ({', '.join(columns)}) SELECT {', '.join(columns)} FROM incoming")
        con.unregister("incoming")
    assert con.execute("SELECT count(*) FROM patients WHERE evaluable").fetchone()[0] == 11


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048), st.sampled_from(["x.csv", "x.xlsx", "x.txt", "x.xls", "x"]))
def test_arbitrary_bytes_never_raise(content, name):
    result = read_table(content, name)
    assert result.table is not None or result.problems
    if result.table is not None:
        table = result.table
        outcome = prepare_cohort(table, mapping_dict(suggest_mapping(table.columns)))
        assert outcome.ok or outcome.problems


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(max_size=12), min_size=5, max_size=5))
def test_arbitrary_cells_never_raise(cells):
    header = "patient_id,histology,best_response,pfs_months,pfs_event\n"
    quoted = ",".join('"' + c.replace('"', '""') + '"' for c in cells)
    result = read_table((header + quoted + "\n").encode("utf-8", "surrogatepass"), "fuzz.csv")
    if result.table is not None:
        outcome = prepare_cohort(result.table, mapping_dict(suggest_mapping(result.table.columns)))
        assert outcome.ok or outcome.n_problems


# --------------------------------------------------------------------------- #
# Templates and dictionary
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("role", ROLES)
def test_csv_templates_are_valid_uploads(role):
    table = read_table(template_csv(role), f"{role}.csv", role).table
    assert table.columns[: sum(s.required for s in SPECS[role])] == [s.name for s in SPECS[role]
                                                                            if s.required]
    assert mapping_dict(suggest_mapping(table.columns, role)) == {c: c for c in table.columns}


def test_the_xlsx_template_loads_as_a_whole_cohort():
    result = read_table(template_xlsx(), "template.xlsx")
    assert result.ok and set(result.other_sheets) == {"adverse_events", "assessments"}
    ae, scans = result.other_sheets["adverse_events"], result.other_sheets["assessments"]
    outcome = prepare_cohort(result.table, mapping_dict(suggest_mapping(result.table.columns)),
                                    ae, mapping_dict(suggest_mapping(ae.columns, "adverse_events")),
                                    scans, mapping_dict(suggest_mapping(scans.columns, "assessments")))
    assert outcome.ok, texts(outcome.problems)


def test_dictionary_lists_every_column_of_patients_and_the_required_ones():
    dictionary = data_dictionary()
    patient_columns = set(registry.PATIENT_COLUMNS)
    assert set(dictionary.query("File == 'patients'")["Column"]) == patient_columns
    required = dictionary.query("Required == 'required' and File == 'patients'")["Column"].tolist()
    assert required == list(REQUIRED_PATIENT_COLUMNS)


def test_the_upload_modules_do_not_import_streamlit():
    modules = sorted((Path(__file__).resolve().parents[1] / "sarcoma_app" / "ingest").glob("*.py"))
    assert len(modules) > 2
    for module in modules:
        source = module.read_text()
        assert "import streamlit" not in source and "duckdb" not in source, module.name


# --------------------------------------------------------------------------- #
# Endpoints: PFS, OS or both (the registry's), never half of one
# --------------------------------------------------------------------------- #
def prepared_text(text: str, name: str = "endpoints.csv") -> Prepared:
    result = read_table(text.encode(), name, "patients")
    assert result.ok, texts(result.problems)
    table = result.table
    return prepare_cohort(table, mapping_dict(suggest_mapping(table.columns)))


def test_an_upload_with_os_only_is_accepted_and_keeps_its_os():
    result = prepared_text("patient_id,histology,best_response,OS (months),OS event\n"
                           "A,LMS,PR,12.5,1\nB,UPS,PD,3,0\nC,LMS,SD,8,1\n")
    assert result.ok, texts(result.problems)
    assert result.patients["os_months"].tolist() == [12.5, 3.0, 8.0]
    assert result.patients["os_event"].tolist() == [1, 0, 1]
    assert "pfs_months" not in result.patients or result.patients["pfs_months"].isna().all()


def test_an_upload_without_any_endpoint_says_what_to_map():
    result = prepared_text("patient_id,histology,best_response\nA,LMS,PR\n")
    assert not result.ok and result.patients is None
    assert texts(result.problems) == ["endpoints.csv, row 1: no time-to-event endpoint: map pfs_months + pfs_event or "
                                      "os_months + os_event (a time and its event indicator)"]


def test_half_an_endpoint_is_refused():
    result = prepared_text("patient_id,histology,best_response,PFS (months),OS (months),OS event\nA,LMS,PR,3,5,1\n")
    assert not result.ok
    assert any("pfs_months is mapped but pfs_event is not" in t for t in texts(result.problems))


# --------------------------------------------------------------------------- #
# The small rules the upload page shows (pure, in ingest)
# --------------------------------------------------------------------------- #
def test_the_cohort_name_a_file_suggests():
    assert default_cohort_name("my_site-2024.csv") == "my site 2024"
    assert default_cohort_name("___.xlsx") == "Uploaded cohort"


def test_counts_name_only_the_files_that_have_rows():
    assert count_parts(1234) == ["1,234 patients"]
    assert count_parts(3, 0, 5) == ["3 patients", "5 tumour assessments"]
    assert count_parts(3, 2, 5) == ["3 patients", "2 adverse events", "5 tumour assessments"]


def test_matching_notices_a_file_column_used_twice_and_the_renamed_ones():
    assert duplicated_file_columns({"pfs_months": "PFS", "os_months": "PFS", "age": "Age"}) == ["PFS"]
    assert duplicated_file_columns({"pfs_months": "PFS"}) == []
    suggested = mapping_dict(suggest_mapping(["patient_id", "Best overall response", "Histology"]))
    assert renamed_matches("patients", suggested) == [("best_response", "Best overall response")]


def test_the_sheets_of_a_patients_workbook_complete_the_files_not_uploaded():
    workbook = read_table(data("good_cohort.xlsx"), "good_cohort.xlsx", "patients")
    assert set(workbook.other_sheets) == {"adverse_events", "assessments"}
    scans = read_table(b"patient_id,time_months,pct_change\nP1,2,-10\n", "scans.csv", "assessments")
    results, from_sheets = with_workbook_sheets({"patients": workbook, "assessments": scans})
    assert from_sheets == ["adverse_events"]
    assert results["assessments"] is scans and results["adverse_events"].table is workbook.other_sheets["adverse_events"]
    assert read_problems(results) == []

"""Standard clinical formats in (CDISC ADaM, cBioPortal, REDCap) and out, against R (sarcoma_app.ingest.formats).

Fixtures: tests/fixtures/formats (make_formats.py, README.md cites the specifications).
R reference: tests/reference/formats_reference.R -> formats_reference.json. Hostile cases
(biased missingness, inverted indicators, wrong units, duplicates...) are built here in memory.
"""
from __future__ import annotations

import io
import json
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from analysis.survival import kaplan_meier
from sarcoma_app.exports import formats as exports
from sarcoma_app.ingest.formats import base, detect_format, prepare_standard, read_standard, suggested_mappings
from sarcoma_app.limits import LIMITS, Limit

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "formats"
REFERENCE = json.loads((ROOT / "tests" / "reference" / "formats_reference.json").read_text())
TOLERANCE = 1e-6


def files_of(folder: str, names: tuple[str, ...] | None = None) -> list[tuple[str, bytes]]:
    return [(p.name, p.read_bytes()) for p in sorted((FIXTURES / folder).iterdir())
            if names is None or p.name in names]


REDCAP_RAW = ("export_raw.csv", "data_dictionary.csv")
DELIVERIES = {"cbioportal": files_of("cbioportal"), "adam": files_of("adam"),
              "redcap": files_of("redcap", REDCAP_RAW)}


def loaded(files, chosen=None, mappings=None):
    result = read_standard(files, chosen)
    assert not result.problems, [p.text for p in result.problems]
    prepared = prepare_standard(result, mappings)
    assert prepared.ok, [p.text for p in prepared.problems]
    return result, prepared


def messages(result, severity=None) -> str:
    return "\n".join(f.message for f in result.findings if severity is None or f.severity == severity)


def csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


# --------------------------------------------------------------------------- #
# Detection and what each format recognises
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("folder, names, expected", [
    ("cbioportal", None, "cBioPortal"), ("adam", None, "CDISC ADaM"), ("adam_parquet", None, "CDISC ADaM"),
    ("redcap", REDCAP_RAW, "REDCap"), ("redcap", ("export_labels.csv",), "REDCap"),
])
def test_each_format_is_detected(folder, names, expected):
    assert detect_format(files_of(folder, names)) == expected


def test_the_apps_own_template_is_not_a_standard_format():
    own = (ROOT / "tests" / "fixtures" / "uploads" / "good_patients.csv").read_bytes()
    assert detect_format([("good_patients.csv", own)]) is None
    assert "not recognised" in read_standard([("good_patients.csv", own)]).problems[0].message


def test_cbioportal_status_prefixes_samples_and_metadata_rows():
    result, prepared = loaded(DELIVERIES["cbioportal"])
    patients = prepared.patients.set_index("patient_id")
    assert len(patients) == 30 and patients["pfs_event"].isin([0, 1]).all()
    text = pd.read_csv(FIXTURES / "cbioportal" / "data_clinical_patient.txt", sep="\t", comment="#")
    assert (patients.loc[text.PATIENT_ID, "os_event"].to_numpy() == text.OS_STATUS.str[0].astype(int)).all()
    # P-001: a metastasis sample (Myxofibrosarcoma) listed before its primary: the stated rule says which wins
    assert patients.loc["P-001", "histology"] == "Myxofibrosarcoma"
    assert "4 patients have several samples" in messages(result) and "P-001" in messages(result)
    _, primary = loaded(DELIVERIES["cbioportal"], {"cbio_samples": "primary tumour sample (SAMPLE_TYPE Primary), "
                                                                    "else the first"})
    assert primary.patients.set_index("patient_id").loc["P-001", "histology"] == "Leiomyosarcoma"
    refused = read_standard(DELIVERIES["cbioportal"], {"cbio_samples": "refuse patients whose samples differ in "
                                                                        "histology"})
    assert not prepare_standard(refused).ok and "P-001" in messages(refused, "error")
    assert pd.isna(patients.loc["P-004", "age"])  # "[Not Available]" is not reported, never 0
    assert any("‘#’ rows" in m.source for m in result.recognised)


def test_adam_xpt_datasets_map_onto_the_apps_variables():
    result, prepared = loaded(DELIVERIES["adam"])
    assert {"patients", "adverse_events", "assessments"} <= set(result.tables)
    patients = prepared.patients.set_index("patient_id")
    assert len(patients) == 32  # all of ADSL: no population flag applied unless chosen
    assert "Screen Failure" in messages(result, "warning")
    adtte, _ = pyreadstat.read_xport(str(FIXTURES / "adam" / "adtte.xpt"))
    pfs = adtte[adtte.PARAMCD == "PFS"].set_index("USUBJID")
    months = np.where(pfs.AVALU == "MONTHS", pfs.AVAL, pfs.AVAL / 30.4375)  # mixed units, each by its AVALU
    assert np.allclose(patients.loc[pfs.index, "pfs_months"].astype(float), months, atol=1e-12)
    assert (patients.loc[pfs.index, "pfs_event"].to_numpy() == (pfs.CNSR == 0).astype(int).to_numpy()).all()
    assert "mixes units" in messages(result)
    assert patients.loc["SIM-014-P-008", "best_response"] is None  # NON-CR/NON-PD read as NE by default
    assert len(prepared.adverse_events) == 29  # TRTEMFL = N left out (the choice says so)
    assert prepared.assessments["pct_change"].notna().all() and len(prepared.assessments) == 48


def test_adam_population_flag_only_when_chosen():
    result = read_standard(DELIVERIES["adam"])
    options = next(c for c in result.choices if c.key == "adam_population").options
    assert options[0].startswith("all subjects")
    saffl = next(o for o in options if o.startswith("SAFFL"))
    _, prepared = loaded(DELIVERIES["adam"], {"adam_population": saffl})
    assert len(prepared.patients) == 29 and "SIM-014-P-006" not in set(prepared.patients.patient_id)


def test_adam_parquet_reads_like_xpt():
    _, xpt = loaded(DELIVERIES["adam"])
    _, parquet = loaded(files_of("adam_parquet"))
    a = xpt.patients.set_index("patient_id")
    b = parquet.patients.set_index("patient_id").loc[a.index]
    assert np.allclose(a.pfs_months.astype(float), b.pfs_months.astype(float), equal_nan=True)
    assert (a.os_event.fillna(-1) == b.os_event.fillna(-1)).all()


def test_redcap_raw_codes_with_dictionary_events_checkboxes_and_repeating_aes():
    result, prepared = loaded(DELIVERIES["redcap"])
    patients = prepared.patients.set_index("patient_id")
    assert len(patients) == 30  # 90 rows: baseline + follow-up events + repeating AE instances
    assert patients.loc["P-001", "histology"] == "Leiomyosarcoma"  # dropdown code 1 -> its label
    assert patients.loc["P-001", "metastatic_site"] == "Lung"  # metastatic_site___1 ticked
    assert patients.loc["P-001", "pfs_months"] == pytest.approx(426 / 30.4375)  # pfs_days converted
    assert len(prepared.adverse_events) == 30  # the repeating instrument became the AE file
    assert "30 patients have several rows" in messages(result)


def test_redcap_labels_export_without_dictionary_needs_one_correction():
    files = files_of("redcap", ("export_labels.csv",))
    result = read_standard(files)
    refused = prepare_standard(result)
    assert not refused.ok and "os_event is not" in refused.problems[0].message  # "Died" read as died
    mappings = suggested_mappings(result)
    mappings["patients"]["os_event"] = mappings["patients"].pop("died")
    _, prepared = loaded(files, mappings=mappings)
    _, raw = loaded(DELIVERIES["redcap"])
    a, b = raw.patients.set_index("patient_id"), prepared.patients.set_index("patient_id")
    for column in ("histology", "best_response", "pfs_months", "pfs_event", "os_months", "os_event", "sex"):
        assert (a[column].astype(str) == b.loc[a.index, column].astype(str)).all(), column


# --------------------------------------------------------------------------- #
# The same numbers as R on each fixture
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("name", ["cbioportal", "adam", "redcap"])
@pytest.mark.parametrize("endpoint", ["pfs", "os"])
def test_km_median_and_landmark_against_R(name, endpoint):
    _, prepared = loaded(DELIVERIES[name])
    p = prepared.patients
    keep = p[f"{endpoint}_months"].notna() & p[f"{endpoint}_event"].notna()
    fit = kaplan_meier(p.loc[keep, f"{endpoint}_months"].astype(float), p.loc[keep, f"{endpoint}_event"].astype(int))
    ref = REFERENCE[name][endpoint]
    assert fit.n == ref["n"] and fit.n_events == ref["events"]
    assert fit.median == pytest.approx(ref["median"], abs=TOLERANCE)
    for ours, theirs in zip(fit.median_ci, (ref["median_lower"], ref["median_upper"])):
        assert (np.isnan(ours) if theirs is None else ours == pytest.approx(theirs, abs=TOLERANCE))
    s, lower, upper = fit.survival_at(6.0)
    assert (s, lower, upper) == pytest.approx((ref["s6"], ref["s6_lower"], ref["s6_upper"]), abs=TOLERANCE)


@pytest.mark.parametrize("name", ["cbioportal", "adam", "redcap"])
def test_orr_against_R(name):
    from analysis.response import proportion_ci

    _, prepared = loaded(DELIVERIES[name])
    p = prepared.patients
    k = int(p.best_response.isin(["CR", "PR"]).sum())
    ref = REFERENCE[name]["orr"]
    assert (k, len(p), int(p.evaluable.sum())) == (ref["responders"], ref["n"], ref["evaluable"])
    rate, lower, upper = proportion_ci(k, len(p))
    assert (rate, lower, upper) == pytest.approx((ref["rate"], ref["lower"], ref["upper"]), abs=TOLERANCE)


# --------------------------------------------------------------------------- #
# Checks that keep biased data from becoming a confident curve
# --------------------------------------------------------------------------- #
def cbio(rows: list[tuple], header=("PATIENT_ID", "OS_MONTHS", "OS_STATUS", "BEST_RESPONSE")) -> list:
    lines = ["#" + "\t".join(header)] * 4 + ["\t".join(header)] + ["\t".join(map(str, r)) for r in rows]
    return [("data_clinical_patient.txt", ("\n".join(lines) + "\n").encode())]


def test_censored_patients_without_times_refuse_the_curve():
    rows = [(f"P{i}", "" if i < 8 else 5 + i, "0:LIVING", "SD") for i in range(20)]  # 8 of 20 censored lack times
    rows += [(f"E{i}", 3 + i, "1:DECEASED", "PD") for i in range(10)]
    result = read_standard(cbio(rows))
    refused = [f for f in result.findings if f.severity == "endpoint"]
    assert refused and "OS" in refused[0].message and "8 of 20 censored" in refused[0].message
    assert "P0" in refused[0].message and "badly biased" in refused[0].message
    assert "os_months" not in result.tables["patients"].columns  # no OS curve is drawn from the rest


def test_missing_times_among_events_and_censored_alike_are_only_shown():
    rows = [(f"P{i}", "" if i < 2 else 5 + i, "0:LIVING", "SD") for i in range(20)]
    rows += [(f"E{i}", "" if i < 1 else 3 + i, "1:DECEASED", "PD") for i in range(10)]
    rows += [("T1", 4, "", "SD")]
    result = read_standard(cbio(rows))
    assert not [f for f in result.findings if f.severity in ("endpoint", "error")]
    assert "3 patients have a status but no time" in messages(result, "warning")
    assert "1 patient have a time but no status" in messages(result, "warning") or \
        "1 patient has" in messages(result, "warning") or "a time but no status" in messages(result, "warning")
    assert "os_months" in result.tables["patients"].columns


def test_the_apps_own_layout_refuses_a_curve_of_informatively_missing_times():
    from sarcoma_app.ingest.cohort import prepare_cohort
    from sarcoma_app.ingest.columns import mapping_dict, suggest_mapping
    from sarcoma_app.ingest.read import read_table

    rows = [f"P{i},LMS,SD,{'' if i < 8 else 5 + i},0,{10 + i},0" for i in range(20)]
    rows += [f"E{i},LMS,PD,{3 + i},1,{8 + i},1" for i in range(10)]
    data = ("patient_id,histology,best_response,pfs_months,pfs_event,os_months,os_event\n" + "\n".join(rows)).encode()
    table = read_table(data, "own.csv").table
    prepared = prepare_cohort(table, mapping_dict(suggest_mapping(table.columns)))
    assert prepared.ok and prepared.patients.pfs_months.isna().all()  # the PFS curve is refused ...
    assert prepared.patients.os_months.notna().all()  # ... OS is not
    assert any("the PFS curve is refused" in note and "P0" in note for note in prepared.notes)


def test_cbioportal_status_whose_label_contradicts_its_number_is_inverted():
    result = read_standard(cbio([("A", 3, "1:LIVING", "PD"), ("B", 5, "0:DECEASED", "SD"), ("C", 7, "1:DECEASED", "SD")]))
    assert "looks inverted" in messages(result, "error") and "A" in messages(result, "error")
    assert not prepare_standard(result).ok


def adam_delivery(adsl: pd.DataFrame, adtte: pd.DataFrame, **others) -> list:
    files = [("adsl.csv", csv(adsl)), ("adtte.csv", csv(adtte))]
    return files + [(f"{name}.csv", csv(frame)) for name, frame in others.items()]


def simple_adsl(n=6, **columns):
    return pd.DataFrame({"USUBJID": [f"S{i}" for i in range(n)], "AGE": 50, "SEX": "F", **columns})


def simple_adtte(n=6, aval=None, cnsr=None, **columns):
    return pd.DataFrame({"USUBJID": [f"S{i}" for i in range(n)], "PARAMCD": "OS",
                         "AVAL": aval if aval is not None else [100 + 50 * i for i in range(n)],
                         "CNSR": cnsr if cnsr is not None else [i % 2 for i in range(n)], **columns})


def test_adam_cnsr_read_as_an_event_flag_is_reported_inverted():
    n = 6
    event = [i % 2 for i in range(n)]
    adtte = simple_adtte(n, cnsr=event,  # an event flag stored as CNSR: 1 where EVNTDESC says death
                         EVNTDESC=["DEATH" if e else "" for e in event],
                         CNSDTDSC=["" if e else "LAST KNOWN ALIVE" for e in event])
    result = read_standard(adam_delivery(simple_adsl(n), adtte))
    assert "CNSR looks inverted" in messages(result, "error")


def test_days_read_as_months_look_wrong():
    result = read_standard(adam_delivery(simple_adsl(), simple_adtte(AVALU="MONTHS")))
    assert "look like days" in messages(result, "warning")
    result = read_standard(adam_delivery(simple_adsl(), simple_adtte(aval=[2, 4, 6, 8, 10, 12])))  # months, no AVALU
    assert "look like months" in messages(result, "warning")
    fixed = read_standard(adam_delivery(simple_adsl(), simple_adtte(aval=[2, 4, 6, 8, 10, 12])),
                          {"adam_os_unit": "months"})
    assert "look like" not in messages(fixed)


def test_negative_and_zero_times():
    result = read_standard(adam_delivery(simple_adsl(), simple_adtte(aval=[-5, 0, 30, 60, 90, 120])))
    assert "negative time" in messages(result, "error") and "S0" in messages(result, "error")
    assert "time of 0" in messages(result, "warning") and "S1" in messages(result, "warning")
    assert not prepare_standard(result).ok


def test_time_after_the_data_cutoff():
    adsl = simple_adsl(DCUTDT="2025-01-31")
    adtte = simple_adtte(ADT=["2024-06-01"] * 5 + ["2025-03-01"])
    assert "after the data cut-off" in messages(read_standard(adam_delivery(adsl, adtte)), "warning")


def test_subjects_missing_from_adsl_and_several_records_per_endpoint_are_refused():
    adtte = pd.concat([simple_adtte(), simple_adtte(1).assign(USUBJID="X9")], ignore_index=True)
    result = read_standard(adam_delivery(simple_adsl(), adtte))
    assert "are not in ADSL" in messages(result, "error") and "X9" in messages(result, "error")
    twice = pd.concat([simple_adtte(), simple_adtte(2)], ignore_index=True)
    result = read_standard(adam_delivery(simple_adsl(), twice))
    assert "several records" in messages(result, "error") and "S0" in messages(result, "error")
    prepared = prepare_standard(result)
    assert not prepared.ok and prepared.patients is None  # nothing half-loaded


def test_response_outside_recist_is_refused():
    adrs = pd.DataFrame({"USUBJID": [f"S{i}" for i in range(6)], "PARAMCD": "BOR",
                         "AVALC": ["CR", "PR", "SD", "PD", "MISSING", "iUPD"]})
    result = read_standard(adam_delivery(simple_adsl(), simple_adtte(), adrs=adrs))
    assert "not a RECIST response" in messages(result, "error") and "iUPD" in messages(result, "error")


def test_redcap_rules_for_events_that_disagree_and_unknown_codes():
    export = pd.DataFrame({"record_id": ["1", "1", "2", "2"], "redcap_event_name": ["baseline_arm_1",
                                                                                   "week_8_arm_1"] * 2,
                           "histology": ["Leiomyosarcoma", "", "Angiosarcoma", ""],
                           "best_response": ["", "PR", "SD", "PD"], "pfs_months": ["", "4", "", "6"],
                           "pfs_event": ["", "1", "", "0"]})
    files = [("redcap_export.csv", csv(export))]
    first = prepare_standard(read_standard(files))
    assert first.ok and first.patients.set_index("patient_id").loc["2", "best_response"] == "SD"
    last = prepare_standard(read_standard(files, {"redcap_collapse": "last non-empty value"}))
    assert last.patients.set_index("patient_id").loc["2", "best_response"] == "PD"
    strict = read_standard(files, {"redcap_collapse": "refuse records whose events disagree"})
    assert "best_response: 1 patient" in messages(strict, "error") and not prepare_standard(strict).ok
    dictionary = pd.DataFrame({"Variable / Field Name": ["record_id", "histology"], "Field Type": ["text", "dropdown"],
                               "Field Label": ["Record", "Histology"],
                               "Choices, Calculations, OR Slider Labels": ["", "1, Leiomyosarcoma | 2, Angiosarcoma"]})
    coded = export.assign(histology=["1", "", "7", ""])
    result = read_standard([("export.csv", csv(coded)), ("dictionary.csv", csv(dictionary))])
    assert "“7”" in messages(result, "error")


def test_redcap_checkbox_columns_with_labels():
    export = pd.DataFrame({"Record ID": ["1", "2"], "Histology": ["Leiomyosarcoma", "Angiosarcoma"],
                           "Best overall response": ["PR", "SD"], "PFS months": ["3", "5"], "PFS event": ["1", "0"],
                           "Site (choice=Lung)": ["Checked", "Unchecked"],
                           "Site (choice=Liver)": ["Checked", "Checked"]})
    result = read_standard([("redcap.csv", csv(export))], format_name="REDCap")
    table = result.tables["patients"].frame.set_index("patient_id")
    assert table.loc["1", "Site"] == "Lung; Liver" and table.loc["2", "Site"] == "Liver"


# --------------------------------------------------------------------------- #
# Bounded before expensive steps; never raises
# --------------------------------------------------------------------------- #
def test_sas_and_parquet_are_bounded_by_rows_before_reading(monkeypatch):
    small = replace(LIMITS, adverse_event_rows=Limit(10, "rows", "rows"))
    monkeypatch.setattr(base, "LIMITS", small)
    for name in ("adtte.xpt",):
        table, problems = base.read_any(name, (FIXTURES / "adam" / name).read_bytes())
        assert table is None and "more than 10 rows" in problems[0].message
    table, problems = base.read_any("adtte.parquet", (FIXTURES / "adam_parquet" / "adtte.parquet").read_bytes())
    assert table is None and "more than 10 rows" in problems[0].message


def test_sas_and_parquet_are_bounded_by_cells_before_reading(monkeypatch):
    small = replace(LIMITS, binary_cells=Limit(100, "cells", "cells (rows × columns) of a SAS or Parquet file"))
    monkeypatch.setattr(base, "LIMITS", small)
    table, problems = base.read_any("adtte.parquet", (FIXTURES / "adam_parquet" / "adtte.parquet").read_bytes())
    assert table is None and "60 rows × 10 columns" in problems[0].message and "at most 100 cells" in problems[0].message
    table, problems = base.read_any("adtte.xpt", (FIXTURES / "adam" / "adtte.xpt").read_bytes())
    assert table is None and "more than 10 rows × 10 columns" in problems[0].message  # XPORT: bounded as read


def test_damaged_files_and_zip_bombs_are_messages():
    damaged = b"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!" + b"\x00" * 200
    result = read_standard([("adsl.xpt", damaged)])
    assert result.problems and "adsl.xpt" in result.problems[0].text
    result = read_standard([("adsl.sas7bdat", b"\x00" * 1024)])
    assert result.problems and "not a readable SAS data file" in result.problems[0].message
    result = read_standard([("adsl.parquet", b"PAR1 not really")])
    assert result.problems and "Parquet" in result.problems[0].message
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("adsl.csv", b"USUBJID\n" + b"A\n" * (LIMITS.uncompressed_mb.value << 19))
    result = read_standard([("delivery.zip", buffer.getvalue())])
    assert result.problems and "unpacks to" in result.problems[0].message


def test_a_cnsr_column_in_the_apps_own_layout_is_read_as_censored():
    from sarcoma_app.ingest.cohort import prepare_cohort
    from sarcoma_app.ingest.read import read_table

    data = b"patient_id,histology,best_response,pfs_months,CNSR\nA,LMS,PR,3,1\nB,LMS,SD,5,0\n"
    table = read_table(data, "own.csv").table
    prepared = prepare_cohort(table, {"patient_id": "patient_id", "histology": "histology",
                                      "best_response": "best_response", "pfs_months": "pfs_months",
                                      "pfs_event": "CNSR"})
    assert list(prepared.patients.pfs_event) == [0, 1]  # CNSR = 1 means censored


@pytest.mark.parametrize("name", ["adsl.xpt", "adsl.sas7bdat", "adsl.parquet", "data_clinical_patient.txt",
                                  "export.csv", "delivery.zip"])
def test_garbage_never_raises(name):
    rng = np.random.default_rng(len(name))
    for size in (1, 17, 4096):
        data = rng.integers(0, 256, size, dtype=np.uint8).tobytes()
        for prefix in (b"", b"HEADER RECORD*******LIBRARY HEADER RECORD", b"PAR1", b"PK\x03\x04", b"#"):
            result = read_standard([(name, prefix + data)])
            assert result.problems or result.findings or result.tables
            assert not prepare_standard(result).ok or result.tables


def test_a_zip_of_a_delivery_reads_like_its_files():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in DELIVERIES["cbioportal"]:
            archive.writestr(f"study/{name}", data)
    _, zipped = loaded([("study.zip", buffer.getvalue())])
    _, plain = loaded(DELIVERIES["cbioportal"])
    assert zipped.patients.drop(columns="source").equals(plain.patients.drop(columns="source"))


# --------------------------------------------------------------------------- #
# Exports and the round trip: export, import, same numbers
# --------------------------------------------------------------------------- #
COMPARED = ("histology", "best_response", "evaluable", "pfs_months", "pfs_event", "os_months", "os_event", "age",
            "sex")


def same_numbers(a: pd.DataFrame, b: pd.DataFrame, columns=COMPARED) -> None:
    a, b = a.set_index("patient_id"), b.set_index("patient_id")
    assert sorted(a.index) == sorted(b.index)
    b = b.loc[a.index]
    for column in columns:
        left, right = a[column], b[column]
        if column.endswith("_months"):
            assert np.allclose(left.astype(float), right.astype(float), equal_nan=True, rtol=0, atol=1e-12), column
        else:
            assert (left.astype(str) == right.astype(str)).all(), column


@pytest.mark.parametrize("name", ["cbioportal", "adam", "redcap"])
def test_round_trip_cbioportal_export(name):
    _, prepared = loaded(DELIVERIES[name])
    files = exports.cbioportal_files(prepared.patients)
    result, again = loaded(list(files.items()))
    assert result.format == "cBioPortal"
    same_numbers(prepared.patients, again.patients)


@pytest.mark.parametrize("name", ["cbioportal", "adam", "redcap"])
def test_round_trip_adam_export(name):
    _, prepared = loaded(DELIVERIES[name])
    result, again = loaded(list(exports.adam_files(prepared.patients).items()))
    assert result.format == "CDISC ADaM"
    same_numbers(prepared.patients, again.patients)


def test_round_trip_of_the_bundled_cohorts():
    import duckdb

    from data.build import ensure_database

    with duckdb.connect(str(ensure_database()), read_only=True) as con:
        patients = con.execute("SELECT * FROM patients").df()
    for files in (exports.cbioportal_files(patients), exports.adam_files(patients)):
        _, again = loaded(list(files.items()))
        fit_a = kaplan_meier(patients.pfs_months.dropna(), patients.loc[patients.pfs_months.notna(), "pfs_event"])
        p = again.patients
        fit_b = kaplan_meier(p.pfs_months.dropna().astype(float), p.loc[p.pfs_months.notna(), "pfs_event"].astype(int))
        assert fit_a.median == pytest.approx(fit_b.median, abs=1e-12) and fit_a.n_events == fit_b.n_events
        assert int(patients.best_response.isin(["CR", "PR"]).sum()) == int(p.best_response.isin(["CR", "PR"]).sum())


def test_exports_leave_not_reported_empty_and_neutralise_formulas():
    patients = pd.DataFrame({"patient_id": ["=cmd", "B"], "histology": ["LMS", None], "best_response": ["PR", None],
                             "pfs_months": [3.5, None], "pfs_event": [1, None], "age": [None, 40], "sex": [None, "Male"]})
    text = exports.cbioportal_files(patients)["data_clinical_patient.txt"].decode()
    assert "'=cmd" in text and "\t0" not in text.split("\n")[-2]
    adtte = exports.adtte_frame(patients)
    assert list(adtte.USUBJID) == ["=cmd"] and list(adtte.CNSR) == ["0"]
    assert b"'=cmd" in exports.adam_files(patients)["adtte.csv"]

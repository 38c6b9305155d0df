"""The (filtered) cohort in standard formats: cBioPortal clinical files, ADSL / ADTTE / ADRS-like CSVs (pure).

What the app's readers (:mod:`sarcoma_app.ingest.formats`) read back to the same
numbers (``tests/test_formats.py`` checks the round trip):

* cBioPortal ``data_clinical_patient.txt`` (PATIENT_ID, AGE, SEX, BEST_RESPONSE,
  PFS_/OS_ MONTHS + STATUS as "1:PROGRESSION" / "0:CENSORED", "1:DECEASED" /
  "0:LIVING") and ``data_clinical_sample.txt`` (one sample per patient:
  CANCER_TYPE_DETAILED = histology, ONCOTREE_CODE = histology code), with the
  four ``#`` metadata rows of the cBioPortal File Formats documentation;
* ADSL-like (STUDYID, USUBJID, AGE, SEX, HISTOL), ADTTE-like (PARAMCD PFS / OS,
  AVAL in months with AVALU = "MONTHS", CNSR = 1 − event) and ADRS-like
  (PARAMCD BOR, AVALC) CSVs, following the ADaM BDS variable names. They are
  "like" ADaM: no define.xml, no traceability variables, not a submission dataset.

Not reported stays empty (never 0); text a spreadsheet would run as a formula is
neutralised (:func:`sarcoma_app.exports.downloads.neutralise_cell`).
"""
from __future__ import annotations

import math

import pandas as pd

from data import registry
from sarcoma_app.exports.downloads import csv_bytes, neutralise_cell

SEX_CODES = {"Female": "F", "Male": "M"}
STATUS_LABELS = {"pfs": ("0:CENSORED", "1:PROGRESSION"), "os": ("0:LIVING", "1:DECEASED")}


def _number(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


def _plain(value) -> str:
    """Text of a cell ('' = not reported), on one line."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).replace("\t", " ").replace("\n", " ").replace("\r", " ")


def _text(value) -> str:
    """:func:`_plain`, neutralised for spreadsheets (the TSV files are not written by :func:`csv_bytes`)."""
    return str(neutralise_cell(_plain(value)))


def _column(patients: pd.DataFrame, name: str) -> pd.Series:
    return patients[name] if name in patients.columns else pd.Series([None] * len(patients), index=patients.index)


def _status(patients: pd.DataFrame, endpoint) -> list[str]:
    censored, event = STATUS_LABELS[endpoint.key]
    return ["" if pd.isna(e) else (event if int(e) == 1 else censored) for e in _column(patients, endpoint.event)]


def _tsv(meta: list[list[str]], header: list[str], rows: list[list[str]]) -> bytes:
    lines = ["#" + "\t".join(m) for m in meta] + ["\t".join(header)] + ["\t".join(r) for r in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


def cbioportal_files(patients: pd.DataFrame) -> dict[str, bytes]:
    """``{file name: bytes}`` of the cBioPortal patient and sample files of ``patients``."""
    header = ["PATIENT_ID", "AGE", "SEX", "BEST_RESPONSE"]
    display = ["Patient Identifier", "Age", "Sex", "Best Response"]
    kinds = ["STRING", "NUMBER", "STRING", "STRING"]
    columns = [_column(patients, "patient_id").map(_text), _column(patients, "age").map(_number),
               _column(patients, "sex").map(_text), _column(patients, "best_response").map(_text)]
    for endpoint in registry.ENDPOINT_LIST:
        if endpoint.time not in patients.columns or patients[endpoint.time].isna().all():
            continue
        header += [f"{endpoint.short}_MONTHS", f"{endpoint.short}_STATUS"]
        display += [f"{endpoint.label} (Months)", f"{endpoint.label} Status"]
        kinds += ["NUMBER", "STRING"]
        columns += [patients[endpoint.time].map(_number), pd.Series(_status(patients, endpoint), index=patients.index)]
    meta = [display, display, kinds, ["1"] * len(header)]
    rows = [list(values) for values in zip(*[c.tolist() for c in columns])]
    sample_rows = [[_text(p), _text(p) + "-S1", _text(h), _text(c)] for p, h, c in
                   zip(_column(patients, "patient_id"), _column(patients, "histology"),
                       _column(patients, "histology_code"))]
    sample_header = ["PATIENT_ID", "SAMPLE_ID", "CANCER_TYPE_DETAILED", "ONCOTREE_CODE"]
    sample_meta = [["Patient Identifier", "Sample Identifier", "Cancer Type Detailed", "Oncotree Code"],
                   ["Patient", "Sample (one per patient, exported by the app)", "Histology", "Histology code"],
                   ["STRING"] * 4, ["1"] * 4]
    return {"data_clinical_patient.txt": _tsv(meta, header, rows),
            "data_clinical_sample.txt": _tsv(sample_meta, sample_header, sample_rows)}


def adsl_frame(patients: pd.DataFrame) -> pd.DataFrame:
    """ADSL-like: one row per subject."""
    return pd.DataFrame({
        "STUDYID": _column(patients, "study_id").map(_plain).to_numpy(),
        "USUBJID": _column(patients, "patient_id").map(_plain).to_numpy(),
        "AGE": _column(patients, "age").map(_number).to_numpy(),
        "SEX": [SEX_CODES.get(s, "") for s in _column(patients, "sex")],
        "HISTOL": _column(patients, "histology").map(_plain).to_numpy(),
    })


def adtte_frame(patients: pd.DataFrame) -> pd.DataFrame:
    """ADTTE-like: one row per subject and endpoint with a time (AVAL in months, CNSR = 1 − event)."""
    rows = []
    for endpoint in registry.ENDPOINT_LIST:
        if endpoint.time not in patients.columns:
            continue
        for study, pid, time, event in zip(_column(patients, "study_id"), patients["patient_id"],
                                           patients[endpoint.time], _column(patients, endpoint.event)):
            if pd.isna(time) or pd.isna(event):
                continue
            rows.append({"STUDYID": _plain(study), "USUBJID": _plain(pid), "PARAMCD": endpoint.short,
                         "PARAM": f"{endpoint.label} (months)", "AVAL": _number(time), "AVALU": "MONTHS",
                         "CNSR": str(1 - int(event))})
    return pd.DataFrame(rows, columns=["STUDYID", "USUBJID", "PARAMCD", "PARAM", "AVAL", "AVALU", "CNSR"])


def adrs_frame(patients: pd.DataFrame) -> pd.DataFrame:
    """ADRS-like: the best overall response (PARAMCD BOR) of every subject; NE when not evaluable, MISSING when
    not recorded."""
    return pd.DataFrame({
        "STUDYID": _column(patients, "study_id").map(_plain).to_numpy(),
        "USUBJID": _column(patients, "patient_id").map(_plain).to_numpy(), "PARAMCD": "BOR",
        "PARAM": "Best Overall Response",
        "AVALC": [r if isinstance(r, str) and r else
                  ("MISSING" if not isinstance(why, str) or why.startswith("no best response") else "NE")
                  for r, why in zip(_column(patients, "best_response"), _column(patients, "not_evaluable_reason"))],
    })


def adam_files(patients: pd.DataFrame) -> dict[str, bytes]:
    """``{file name: bytes}`` of the ADSL-, ADTTE- and ADRS-like CSVs of ``patients``."""
    return {"adsl.csv": csv_bytes(adsl_frame(patients)), "adtte.csv": csv_bytes(adtte_frame(patients)),
            "adrs.csv": csv_bytes(adrs_frame(patients))}

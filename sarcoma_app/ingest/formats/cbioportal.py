"""cBioPortal clinical files: data_clinical_patient.txt and data_clinical_sample.txt (pure).

Follows the cBioPortal "File Formats" documentation, section *Clinical data*
(https://docs.cbioportal.org/file-formats/#clinical-data): tab-separated, four
leading ``#`` rows (display names, descriptions, datatypes, priorities; a fifth
optional), then the attribute IDs. Read here:

* ``PATIENT_ID`` (patient file), ``SAMPLE_ID`` + ``PATIENT_ID`` (sample file);
* survival as ``<PREFIX>_MONTHS`` / ``<PREFIX>_STATUS`` pairs (OS, PFS, DFS, DSS
  and any other prefix), the status read by its numeric prefix ("1:DECEASED",
  "0:LIVING", "1:Recurred/Progressed"); a status whose label contradicts its
  prefix ("1:LIVING") is reported as an inverted indicator;
* histology from the sample file's ``CANCER_TYPE_DETAILED`` (or
  ``ONCOTREE_CODE`` / ``CANCER_TYPE``), one row per patient by a stated rule
  when a patient has several samples;
* ``AGE``, ``SEX``; every other patient attribute is kept for the column matching.

Not read: timeline files, mutation / CNA data, ``meta_*`` files.
"""
from __future__ import annotations

import re

import pandas as pd

from sarcoma_app.ingest.formats.base import (Choice, FormatResult, Mapped, app_layout, examples, number_text, numbers,
                                             patients_have, patients_word, quoted_list, read_any, strip_comment_rows)
from sarcoma_app.ingest.formats.checks import duplicate_records, endpoint_checks
from sarcoma_app.ingest.values import MISSING_TOKENS

FORMAT = "cBioPortal"
NONE = "(none)"
#: Survival prefixes cBioPortal documents, offered first.
KNOWN_PREFIXES = ("PFS", "OS", "DFS", "DSS")
#: Words of a status label meaning an event / a censoring (checked against its numeric prefix).
EVENT_LABEL = re.compile(r"deceas|dead|died|death|progress|recur|relaps|event|with tumou?r", re.I)
CENSOR_LABEL = re.compile(r"living|alive|censor|disease ?free|tumou?r ?free|progression ?free|no event", re.I)
SAMPLE_RULES = ("first sample listed for the patient", "primary tumour sample (SAMPLE_TYPE Primary), else the first",
                "refuse patients whose samples differ in histology")
HISTOLOGY_COLUMNS = ("CANCER_TYPE_DETAILED", "ONCOTREE_CODE", "CANCER_TYPE")
_MISSING = MISSING_TOKENS | {"[not available]", "[not applicable]", "[unknown]", "[not evaluated]", "[discrepancy]",
                             "[completed]", "[not reported]"}


def is_patient_file(name: str, head: bytes) -> bool:
    return "data_clinical_patient" in name.lower() or (head.startswith(b"#") and b"PATIENT_ID" in head
                                                       and b"SAMPLE_ID" not in head)


def is_sample_file(name: str, head: bytes) -> bool:
    return "data_clinical_sample" in name.lower() or (head.startswith(b"#") and b"SAMPLE_ID" in head)


def looks_like(name: str, data: bytes) -> bool:
    head = data[:8192]
    return is_patient_file(name, head) or is_sample_file(name, head)


def _empty(values: pd.Series) -> pd.Series:
    return values.astype(str).str.strip().str.lower().isin(_MISSING)


def _read(name: str, data: bytes, role: str, result: FormatResult):
    body, comments = strip_comment_rows(data)
    table, problems = read_any(name, body if body.strip() else data, role)
    result.problems.extend(problems)
    if table is not None and comments:
        result.recognised.append(Mapped(f"{table.file}: {len(comments)} ‘#’ rows", "—",
                                        "metadata rows (display name, description, datatype, priority): skipped"))
    return table


def status_values(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(event 1/0/NaN, label contradicts the prefix) of cBioPortal status cells ("1:DECEASED")."""
    text = values.astype(str).str.strip()
    parts = text.str.extract(r"^\s*([01])\s*:\s*(.*)$")
    event = pd.to_numeric(parts[0], errors="coerce")
    label = parts[1].fillna("")
    unprefixed = event.isna() & ~_empty(text)
    event = event.where(~unprefixed, text.map(lambda t: 1.0 if EVENT_LABEL.search(t) and not CENSOR_LABEL.search(t)
                                              else (0.0 if CENSOR_LABEL.search(t) else float("nan"))))
    contradicts = ((event == 1) & label.map(lambda t: bool(CENSOR_LABEL.search(t)))) | \
                  ((event == 0) & label.map(lambda t: bool(EVENT_LABEL.search(t)) and not CENSOR_LABEL.search(t)))
    return event, contradicts & ~unprefixed


def read_cbioportal(files: list[tuple[str, bytes]], chosen: dict[str, str] | None = None) -> FormatResult:
    """Read a cBioPortal patient file (and sample file) into the app's layout; never raises."""
    result = FormatResult(FORMAT, tuple(name for name, _ in files))
    patient = sample = None
    for name, data in files:
        head = data[:8192]
        if is_sample_file(name, head):
            sample = _read(name, data, "adverse_events", result)
        elif is_patient_file(name, head):
            patient = _read(name, data, "patients", result)
    if result.problems:
        return result
    if patient is None and sample is None:
        result.find("error", "files", "no cBioPortal clinical file found (data_clinical_patient.txt)")
        return result
    if patient is None:  # a sample file only: its patients, without survival
        patient = sample
    frame = patient.frame
    if "PATIENT_ID" not in frame.columns:
        result.find("error", "files", f"{patient.file} has no PATIENT_ID column (cBioPortal clinical files need one)")
        return result
    ids = frame["PATIENT_ID"].astype(str)
    duplicate_records(result, "patients", ids, f"{patient.file} (PATIENT_ID)")
    result.recognised.append(Mapped(f"{patient.file}: PATIENT_ID", "patient_id", "as given"))
    derived: dict[str, list] = {"patient_id": ids.tolist()}
    consumed = {"PATIENT_ID"}

    # survival pairs
    prefixes = [c[:-7] for c in frame.columns if c.endswith("_MONTHS") and f"{c[:-7]}_STATUS" in frame.columns]
    prefixes.sort(key=lambda p: (KNOWN_PREFIXES.index(p) if p in KNOWN_PREFIXES else 99, p))
    if prefixes:
        result.recognised.append(Mapped(f"{patient.file}: " + ", ".join(f"{p}_MONTHS/{p}_STATUS" for p in prefixes),
                                        "endpoints found", "time in months, status by its numeric prefix"))
    for key, short in (("pfs", "PFS"), ("os", "OS")):
        default = [short] if short in prefixes else []
        options = tuple(default + [NONE] + [p for p in prefixes if p != short])
        prefix = result.choose(Choice(f"cbio_{key}", f"App {short} endpoint from", options,
                                      f"Which <PREFIX>_MONTHS / <PREFIX>_STATUS pair is the app's {short}."), chosen)
        if prefix == NONE:
            continue
        time_column, status_column = f"{prefix}_MONTHS", f"{prefix}_STATUS"
        consumed |= {time_column, status_column}
        months = numbers(frame[time_column]).where(~_empty(frame[time_column]))
        bad_time = months.isna() & ~_empty(frame[time_column])
        if bad_time.any():
            result.find("error", "unreadable time", f"{short}: {patients_have(int(bad_time.sum()))} a "
                        f"{time_column} that is not a number ({examples(ids[bad_time])}).")
        event, contradicts = status_values(frame[status_column])
        bad = event.isna() & ~_empty(frame[status_column])
        if bad.any():
            result.find("error", "unreadable status", f"{short}: {patients_have(int(bad.sum()))} a "
                        f"{status_column} read neither as 0 (censored) nor 1 (event) "
                        f"({examples(ids[bad])}; values {quoted_list(frame[status_column][bad].unique())}).")
        if contradicts.any():
            result.find("error", "inverted status", f"{short}: {patients_have(int(contradicts.sum()))} a "
                        f"{status_column} whose label contradicts its number "
                        f"({quoted_list(frame[status_column][contradicts].unique())}; {examples(ids[contradicts])}): "
                        "the indicator looks inverted (cBioPortal: 1 = event, 0 = censored). Fix the file.")
        renamed = "" if prefix == short else f" ({prefix} used as the app's {short}, as chosen)"
        result.recognised.append(Mapped(f"{patient.file}: {time_column}, {status_column}",
                                        f"{key}_months, {key}_event",
                                        f"months as given; event = numeric prefix of the status (values "
                                        f"{quoted_list(frame[status_column][~_empty(frame[status_column])].unique(), 4)})"
                                        + renamed))
        if endpoint_checks(result, short, ids, months, event, f"{patient.file} ({time_column}, {status_column})",
                           "months"):
            derived[f"{key}_months"] = [number_text(v) for v in months]
            derived[f"{key}_event"] = ["" if pd.isna(v) else str(int(v)) for v in event]
    for column, target in (("AGE", "age"), ("SEX", "sex")):
        if column in frame.columns:
            derived[target] = ["" if _empty(pd.Series([v])).iloc[0] else v for v in frame[column]]
            consumed.add(column)
            result.recognised.append(Mapped(f"{patient.file}: {column}", target, "as given"))

    # histology from the samples
    histology = _sample_histology(result, sample, patient, ids, chosen)
    if histology is not None:
        derived.update(histology)
    elif not any(c in frame.columns for c in HISTOLOGY_COLUMNS):
        derived["histology"] = [""] * len(frame)
        result.recognised.append(Mapped("(no sample file)", "histology", "not in the files: 'histology not given' "
                                        "unless you match a column below"))
    for column in HISTOLOGY_COLUMNS:
        if column in frame.columns and "histology" not in derived:
            derived["histology"] = ["" if _empty(pd.Series([v])).iloc[0] else v for v in frame[column]]
            consumed.add(column)
            result.recognised.append(Mapped(f"{patient.file}: {column}", "histology", "as given"))
    rest = frame.drop(columns=[c for c in consumed if c in frame.columns])
    if "best_response" not in derived and not any(c.upper() in ("BEST_RESPONSE", "BOR", "BEST_OVERALL_RESPONSE")
                                                  for c in rest.columns):
        derived["best_response"] = [""] * len(frame)
        result.recognised.append(Mapped("(not a cBioPortal attribute)", "best_response",
                                        "not in the files: every patient counted as not evaluable for response "
                                        "unless you match a column below"))
    result.tables["patients"] = app_layout(patient.file, derived, rest, patient.row_numbers,
                                           f"cBioPortal clinical file{'s' if sample is not None else ''}")
    return result


def _sample_histology(result: FormatResult, sample, patient, ids: pd.Series, chosen) -> dict[str, list] | None:
    """histology / histology_code per patient from the sample file, by the chosen rule (None: no sample file)."""
    if sample is None or sample is patient:
        return None
    frame = sample.frame
    if "PATIENT_ID" not in frame.columns:
        result.find("error", "files", f"{sample.file} has no PATIENT_ID column")
        return None
    present = [c for c in HISTOLOGY_COLUMNS if c in frame.columns]
    if not present:
        result.recognised.append(Mapped(f"{sample.file}", "histology", "no CANCER_TYPE_DETAILED, ONCOTREE_CODE or "
                                        "CANCER_TYPE column: histology not given"))
        return None
    source = result.choose(Choice("cbio_histology", "Histology from", tuple(present),
                                  "Sample attribute read as the histology."), chosen)
    rule = result.choose(Choice("cbio_samples", "Patients with several samples", SAMPLE_RULES,
                                "One row per patient: which sample gives the histology."), chosen)
    unknown = ~frame["PATIENT_ID"].astype(str).isin(set(ids))
    if unknown.any() and sample is not patient:
        result.find("warning", "subjects missing", f"{patients_word(frame['PATIENT_ID'][unknown].nunique())} of "
                    f"{sample.file} are not in {patient.file} ({examples(frame['PATIENT_ID'][unknown])}): their "
                    "samples are not used.")
    samples = frame.loc[~unknown].copy()
    samples["_order"] = range(len(samples))
    counts = samples.groupby("PATIENT_ID")["_order"].size()
    several = counts[counts > 1].index
    values = samples[source].where(~_empty(samples[source]), None)
    differ = samples.assign(_v=values).groupby("PATIENT_ID")["_v"].nunique()
    differ_ids = differ[differ > 1].index
    if len(several):
        result.find("warning", "several samples", f"{patients_have(len(several))} several samples in "
                    f"{sample.file} ({examples(several)}); {len(differ_ids)} of them with different {source} "
                    f"({examples(differ_ids) if len(differ_ids) else 'none'}). Rule: {rule}.")
    if rule == SAMPLE_RULES[2] and len(differ_ids):
        result.find("error", "several samples", f"{patients_have(len(differ_ids))} samples of different "
                    f"histology ({examples(differ_ids)}), and the rule chosen refuses them.")
    if rule == SAMPLE_RULES[1] and "SAMPLE_TYPE" in samples.columns:
        primary = samples["SAMPLE_TYPE"].astype(str).str.strip().str.lower().str.startswith("primary")
        samples = samples.assign(_rank=(~primary).astype(int)).sort_values(["_rank", "_order"], kind="stable")
    picked = samples.drop_duplicates("PATIENT_ID", keep="first").set_index("PATIENT_ID")
    text = picked[source].where(~_empty(picked[source]), "")
    out = {"histology": [text.get(i, "") for i in ids]}
    if "ONCOTREE_CODE" in samples.columns and source != "ONCOTREE_CODE":
        code = picked["ONCOTREE_CODE"].where(~_empty(picked["ONCOTREE_CODE"]), "")
        out["histology_code"] = [code.get(i, "") for i in ids]
        result.recognised.append(Mapped(f"{sample.file}: ONCOTREE_CODE", "histology_code", f"sample by the rule: {rule}"))
    result.recognised.append(Mapped(f"{sample.file}: {source}", "histology", f"one sample per patient: {rule}"))
    without = [i for i in ids if i not in picked.index]
    if without:
        result.find("warning", "subjects missing", f"{patients_word(len(without))} of {patient.file} have no sample "
                    f"in {sample.file} ({examples(without)}): histology not given.")
    return out

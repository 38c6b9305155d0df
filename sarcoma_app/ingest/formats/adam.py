"""CDISC ADaM datasets: ADSL plus ADTTE, optionally ADRS, ADAE and ADTR (pure).

Follows the CDISC ADaM Implementation Guide v1.3 (ADSL variables, BDS
structure) and "ADaM Basic Data Structure for Time-to-Event Analyses" v1.0
(https://www.cdisc.org/standards/foundational/adam). Each dataset may be SAS
transport (.xpt), SAS (.sas7bdat, read with pyreadstat), CSV or Parquet; it is
recognised by its name (``adsl``, ``adtte``...) or its variables.

* ADSL: ``USUBJID`` (one row per subject), ``STUDYID``, ``AGE``, ``SEX``, ``DCUTDT``
  (data cut-off); population flags (``SAFFL``, ``ITTFL``, ``FASFL``...) and an
  ``ARM`` such as "Screen Failure" are offered as a choice, never applied silently.
* ADTTE: one record per subject and ``PARAMCD`` (PFS, OS, others); ``AVAL`` in
  ``AVALU`` (days when absent); event = 1 when ``CNSR`` = 0, censored when
  ``CNSR`` > 0 (the BDS-TTE convention); ``EVNTDESC`` / ``CNSDTDSC`` check it.
* ADRS: ``PARAMCD`` = BOR, ``AVALC`` CR / PR / SD / NON-CR/NON-PD / PD / NE / MISSING.
* ADAE: ``AEDECOD`` (term), ``ATOXGR`` or ``AETOXGR`` (grade), ``TRTEMFL``.
* ADTR: ``PCHG`` (percent change from baseline) by ``ADY`` (study day).

Not read: ADSL treatment dates other than for the cut-off check, ADTTE
``STARTDT``-based recomputation, ADRS per-visit responses, ADTR lesion-level records.
"""
from __future__ import annotations

import re
from pathlib import PurePath

import numpy as np
import pandas as pd

from sarcoma_app.ingest.formats.base import (Choice, FormatResult, Mapped, UNIT_MONTHS, UNIT_WORDS, app_layout,
                                             examples, number_text, numbers, patients_have, patients_word, quoted_list,
                                             read_any, table)
from sarcoma_app.ingest.formats.checks import duplicate_records, endpoint_checks, missing_from

FORMAT = "CDISC ADaM"
DATASETS = ("adsl", "adtte", "adrs", "adae", "adtr")
POPULATION_FLAGS = ("SAFFL", "ITTFL", "FASFL", "EFFFL", "PPROTFL", "RANDFL", "ENRLFL")
NOT_TREATED_ARMS = re.compile(r"screen\s*fail|not\s*assigned|not\s*treated|unassigned", re.I)
ALL_SUBJECTS = "all subjects in ADSL (no flag applied)"
AS_STATED = "as AVALU states (days when absent)"
UNIT_OPTIONS = (AS_STATED, "days", "weeks", "months", "years")
NONE = "(none)"
#: ADRS AVALC -> the app's best response (NON-CR/NON-PD and MISSING by the user's choice).
BOR_CODES = {"CR": "CR", "PR": "PR", "SD": "SD", "PD": "PD", "NE": "NE", "MISSING": ""}
NON_CR_NON_PD = ("NE (neither a response nor disease control)", "SD (counted as disease control)")
TEAE_OPTIONS = ("treatment-emergent only (TRTEMFL = Y)", "every AE record")
GRADE = re.compile(r"([1-5])")


def dataset_of(name: str, frame_columns: list[str]) -> str | None:
    """Which ADaM dataset a file is: by its name, else by its variables."""
    stem = PurePath(name).stem.lower()
    for dataset in DATASETS:
        if stem == dataset or stem.startswith(dataset + "_") or stem.endswith("_" + dataset):
            return dataset
    columns = set(frame_columns)
    if "USUBJID" not in columns:
        return None
    if {"PARAMCD", "AVAL", "CNSR"} <= columns:
        return "adtte"
    if {"AEDECOD"} & columns:
        return "adae"
    if {"PARAMCD", "PCHG"} <= columns:
        return "adtr"
    if {"PARAMCD", "AVALC"} <= columns:
        return "adrs"
    return "adsl"


def looks_like(name: str, data: bytes) -> bool:
    lower = name.lower()
    if lower.endswith((".xpt", ".sas7bdat")) or data.startswith(b"HEADER RECORD*******LIBRARY HEADER RECORD"):
        return True
    if PurePath(lower).stem in DATASETS:
        return True
    return b"USUBJID" in data[:4096]


def _upper(values: pd.Series) -> pd.Series:
    return values.astype(str).str.strip().str.upper()


def read_adam(files: list[tuple[str, bytes]], chosen: dict[str, str] | None = None) -> FormatResult:
    """Read ADaM datasets into the app's layout; never raises on bad data (problems / findings instead)."""
    result = FormatResult(FORMAT, tuple(name for name, _ in files))
    sets: dict[str, object] = {}
    for name, data in files:
        raw, problems = read_any(name, data, "adverse_events")
        result.problems.extend(problems)
        if raw is None:
            continue
        dataset = dataset_of(name, raw.columns)
        if dataset is None:
            result.problems.append(_problem(raw.file, "not an ADaM dataset (no USUBJID variable)"))
        elif dataset in sets:
            result.problems.append(_problem(raw.file, f"a second {dataset.upper()} ({sets[dataset].file} is one)"))
        else:
            sets[dataset] = raw
            result.recognised.append(Mapped(raw.file, dataset.upper(), f"read as {raw.description}"))
    if result.problems:
        return result
    if "adsl" not in sets:
        result.find("error", "files", "ADSL is missing: ADaM needs the subject-level dataset (one row per subject)")
        return result
    adsl = sets["adsl"]
    frame = adsl.frame
    if "USUBJID" not in frame.columns:
        result.find("error", "files", f"{adsl.file} has no USUBJID variable")
        return result
    ids = frame["USUBJID"].astype(str).str.strip()
    duplicate_records(result, "ADSL subjects", ids, f"{adsl.file} (USUBJID)")
    keep = _population(result, frame, ids, adsl.file, chosen)
    frame, ids, row_numbers = frame.loc[keep].reset_index(drop=True), ids[keep].reset_index(drop=True), \
        adsl.row_numbers[keep.to_numpy()]
    known = set(ids)
    all_known = set(adsl.frame["USUBJID"].astype(str).str.strip())
    derived: dict[str, list] = {"patient_id": ids.tolist()}
    consumed = {"USUBJID"}
    result.recognised.append(Mapped(f"{adsl.file}: USUBJID", "patient_id", "as given"))
    for column, target in (("STUDYID", "study_id"), ("AGE", "age"), ("SEX", "sex")):
        if column in frame.columns:
            derived[target] = frame[column].tolist()
            consumed.add(column)
            result.recognised.append(Mapped(f"{adsl.file}: {column}", target, "as given"))
    cutoff = pd.to_datetime(frame["DCUTDT"], errors="coerce") if "DCUTDT" in frame.columns else None

    if "adtte" in sets:
        _endpoints(result, sets["adtte"], ids, known, all_known, cutoff, derived, chosen)
    else:
        result.find("error", "files", "ADTTE is missing: upload the time-to-event dataset with ADSL")
    if "adrs" in sets:
        _response(result, sets["adrs"], ids, all_known, derived, chosen)
    else:
        derived["best_response"] = [""] * len(ids)
        result.recognised.append(Mapped("(no ADRS)", "best_response", "not in the files: every patient counted as "
                                        "not evaluable for response"))
    if "adae" in sets:
        _adverse_events(result, sets["adae"], known, all_known, chosen)
    if "adtr" in sets:
        _assessments(result, sets["adtr"], known, all_known, chosen)
    if not any(c in frame.columns for c in ("HISTOL", "HISTOLOGY", "HISTO", "HISTGR1", "TUMTYPE", "DIAGNOSIS",
                                            "CANCTYPE", "DISEASE", "PRIMDIAG")):
        derived["histology"] = [""] * len(ids)
        result.recognised.append(Mapped("(no histology variable in ADSL)", "histology",
                                        "not given unless you match an ADSL variable below"))
    else:
        column = next(c for c in ("HISTOL", "HISTOLOGY", "HISTO", "HISTGR1", "TUMTYPE", "DIAGNOSIS", "CANCTYPE",
                                  "DISEASE", "PRIMDIAG") if c in frame.columns)
        derived["histology"] = frame[column].tolist()
        consumed.add(column)
        result.recognised.append(Mapped(f"{adsl.file}: {column}", "histology", "as given (a sponsor variable)"))
    rest = frame.drop(columns=[c for c in consumed if c in frame.columns])
    result.tables["patients"] = app_layout(adsl.file, derived, rest, row_numbers, "CDISC ADaM (ADSL + "
                                           + " + ".join(d.upper() for d in DATASETS[1:] if d in sets) + ")")
    return result


def _problem(file: str, message: str):
    from sarcoma_app.ingest.tables import Problem

    return Problem(file, None, None, message)


def _population(result: FormatResult, frame: pd.DataFrame, ids: pd.Series, file: str, chosen) -> pd.Series:
    """The population chosen (all subjects by default): a mask of ADSL rows."""
    options = [ALL_SUBJECTS]
    for flag in POPULATION_FLAGS:
        if flag in frame.columns and _upper(frame[flag]).eq("Y").any():
            n = int(_upper(frame[flag]).eq("Y").sum())
            options.append(f"{flag} = Y ({n:,} of {len(frame):,} subjects)")
    arm = next((c for c in ("ARM", "ACTARM", "TRT01P", "TRT01A") if c in frame.columns), None)
    not_treated = frame[arm].astype(str).str.contains(NOT_TREATED_ARMS) if arm else pd.Series(False, index=frame.index)
    if not_treated.any():
        values = frame[arm][not_treated].unique()
        options.append(f"leave out {arm} = {', '.join(map(str, values))[:60]} ({int(not_treated.sum()):,} subjects)")
        result.find("warning", "population", f"{patients_word(int(not_treated.sum()))} of {file} have {arm} "
                    f"{quoted_list(values)} ({examples(ids[not_treated])}): they are included unless you choose "
                    "another Population.")
    choice = result.choose(Choice("adam_population", "Population", tuple(options),
                                  "ADSL subjects to analyse. Nothing is left out unless you choose it."), chosen)
    if choice == ALL_SUBJECTS:
        result.recognised.append(Mapped(f"{file}: population", "patients", "all ADSL subjects (no flag applied)"))
        return pd.Series(True, index=frame.index)
    if choice.startswith("leave out"):
        result.recognised.append(Mapped(f"{file}: {arm}", "patients", choice))
        return ~not_treated
    flag = choice.split(" ")[0]
    result.recognised.append(Mapped(f"{file}: {flag}", "patients", f"{flag} = Y only (as chosen)"))
    return _upper(frame[flag]).eq("Y")


def _endpoints(result, adtte, ids, known, all_known, cutoff, derived, chosen) -> None:
    frame = adtte.frame
    missing = [c for c in ("USUBJID", "PARAMCD", "AVAL", "CNSR") if c not in frame.columns]
    if missing:
        result.find("error", "files", f"{adtte.file} lacks {', '.join(missing)} (BDS-TTE variables)")
        return
    subject = frame["USUBJID"].astype(str).str.strip()
    unknown = missing_from(result, subject, all_known, adtte.file, "ADSL")
    params = [p for p in dict.fromkeys(_upper(frame["PARAMCD"])) if p]
    result.recognised.append(Mapped(f"{adtte.file}: PARAMCD", "endpoints found", ", ".join(params)))
    in_population = subject.isin(known) & ~unknown
    for key, short in (("pfs", "PFS"), ("os", "OS")):
        options = tuple(([short] if short in params else []) + [NONE] + [p for p in params if p != short])
        param = result.choose(Choice(f"adam_{key}", f"App {short} endpoint from PARAMCD", options,
                                     f"Which ADTTE parameter is the app's {short}."), chosen)
        unit_choice = result.choose(Choice(f"adam_{key}_unit", f"Unit of {short} AVAL", UNIT_OPTIONS,
                                           "AVALU when the dataset has it; days by default."), chosen)
        if param == NONE:
            continue
        rows = frame.loc[_upper(frame["PARAMCD"]).eq(param) & in_population]
        where = f"{adtte.file} (PARAMCD = {param})"
        duplicate_records(result, short, rows["USUBJID"].astype(str).str.strip(), where)
        rows = rows.drop_duplicates("USUBJID")
        aval = numbers(rows["AVAL"])
        if unit_choice == AS_STATED:
            stated = _upper(rows["AVALU"]).str.lower().map(UNIT_WORDS) if "AVALU" in rows.columns else None
            units = stated.fillna("days") if stated is not None else pd.Series("days", index=rows.index)
            unreadable = (rows["AVALU"].astype(str).str.strip().ne("") & stated.isna()) if stated is not None else None
            if unreadable is not None and unreadable.any():
                result.find("error", "unit", f"{short}: AVALU {quoted_list(rows['AVALU'][unreadable].unique())} is "
                            f"not a time unit ({examples(rows['USUBJID'][unreadable])}).")
        else:
            units = pd.Series(unit_choice, index=rows.index)
        if units.nunique() > 1:
            result.find("warning", "unit", f"{short}: {where} mixes units ({', '.join(sorted(units.unique()))}); "
                        "each record is converted by its own AVALU.")
        months = aval * units.map(UNIT_MONTHS)
        cnsr = numbers(rows["CNSR"])
        bad = cnsr.isna() & rows["CNSR"].astype(str).str.strip().ne("") | (cnsr < 0) | (cnsr % 1 != 0)
        if bad.any():
            result.find("error", "unreadable status", f"{short}: CNSR {quoted_list(rows['CNSR'][bad].unique())} is "
                        f"not 0 (event) or a positive censoring code ({examples(rows['USUBJID'][bad])}).")
        event = pd.Series(np.where(cnsr.isna(), np.nan, (cnsr == 0).astype(float)), index=rows.index)
        _inverted(result, short, rows, cnsr)
        _after_cutoff(result, short, rows, months, ids, cutoff)
        by_id = pd.DataFrame({"m": months.to_numpy(), "e": event.to_numpy()},
                             index=rows["USUBJID"].astype(str).str.strip())
        m = ids.map(by_id["m"]) if len(by_id) else pd.Series(np.nan, index=ids.index)
        e = ids.map(by_id["e"]) if len(by_id) else pd.Series(np.nan, index=ids.index)
        no_record = ~ids.isin(by_id.index)
        if no_record.any():
            result.find("warning", "subjects missing", f"{short}: {patients_word(int(no_record.sum()))} of ADSL have "
                        f"no {param} record in {adtte.file} ({examples(ids[no_record])}): they are left out of the "
                        f"{short} analyses.")
        unit_text = ", ".join(sorted(units.unique())) if len(units) else "days"
        result.recognised.append(Mapped(f"{adtte.file}: PARAMCD = {param} (AVAL, CNSR)", f"{key}_months, {key}_event",
                                        f"AVAL in {unit_text} → months (days / 30.4375); event = 1 when CNSR = 0, "
                                        f"censored when CNSR > 0" + ("" if param == short else
                                                                     f"; {param} used as the app's {short}, as chosen")))
        if endpoint_checks(result, short, ids, m, e, where + " AVAL/CNSR", unit_text if units.nunique() <= 1 else "mixed"):
            derived[f"{key}_months"] = [number_text(v) for v in m]
            derived[f"{key}_event"] = ["" if pd.isna(v) else str(int(v)) for v in e]


def _inverted(result, short, rows, cnsr) -> None:
    """CNSR read against EVNTDESC / CNSDTDSC: most 'events' described as censorings means it is inverted."""
    if "EVNTDESC" not in rows.columns and "CNSDTDSC" not in rows.columns:
        return
    event_text = rows["EVNTDESC"].astype(str).str.strip() if "EVNTDESC" in rows.columns else None
    censor_text = rows["CNSDTDSC"].astype(str).str.strip() if "CNSDTDSC" in rows.columns else None
    described_censored = (censor_text.ne("") if censor_text is not None else False) & \
        (event_text.eq("") if event_text is not None else True)
    described_event = (event_text.ne("") if event_text is not None else False) & \
        (censor_text.eq("") if censor_text is not None else True)
    clash = (cnsr.eq(0) & described_censored) | (cnsr.gt(0) & described_event)
    described = int((described_censored | described_event).sum())
    if described and int(clash.sum()) > described / 2:
        result.find("error", "inverted status", f"{short}: CNSR looks inverted: {int(clash.sum())} of {described} "
                    f"records contradict EVNTDESC / CNSDTDSC ({examples(rows['USUBJID'][clash])}). In ADaM, CNSR = 1 "
                    "means censored (0 = event): was an event flag stored as CNSR?")
    elif clash.any():
        result.find("warning", "inverted status", f"{short}: {int(clash.sum())} records have a CNSR that contradicts "
                    f"EVNTDESC / CNSDTDSC ({examples(rows['USUBJID'][clash])}).")


def _after_cutoff(result, short, rows, months, ids, cutoff) -> None:
    """Records dated (ADT, or STARTDT + AVAL) after ADSL's data cut-off DCUTDT."""
    if cutoff is None or cutoff.isna().all():
        return
    cut = pd.Series(cutoff.to_numpy(), index=ids.to_numpy())
    subject = rows["USUBJID"].astype(str).str.strip()
    their_cut = subject.map(cut)
    if "ADT" in rows.columns:
        when = pd.to_datetime(rows["ADT"], errors="coerce")
    elif "STARTDT" in rows.columns:
        when = pd.to_datetime(rows["STARTDT"], errors="coerce") + pd.to_timedelta(months * 30.4375, unit="D")
    else:
        return
    after = when.notna() & their_cut.notna() & (when > their_cut)
    if after.any():
        result.find("warning", "after cut-off", f"{short}: {patients_have(int(after.sum()))} an event or "
                    f"censoring date after the data cut-off DCUTDT of ADSL ({examples(subject[after])}): these times "
                    "reach beyond the cut-off; check the analysis dataset.")


def _response(result, adrs, ids, all_known, derived, chosen) -> None:
    frame = adrs.frame
    if not {"USUBJID", "PARAMCD", "AVALC"} <= set(frame.columns):
        result.find("error", "files", f"{adrs.file} lacks USUBJID, PARAMCD or AVALC")
        return
    params = [p for p in dict.fromkeys(_upper(frame["PARAMCD"])) if p]
    options = tuple((["BOR"] if "BOR" in params else []) + [p for p in params if p != "BOR"])
    param = result.choose(Choice("adam_bor", "Best overall response from PARAMCD", options or ("BOR",),
                                 "ADRS parameter holding each subject's best overall response."), chosen)
    non_cr = result.choose(Choice("adam_noncr", "NON-CR/NON-PD read as", NON_CR_NON_PD,
                                  "RECIST 1.1 response of subjects with non-target disease only."), chosen)
    rows = frame.loc[_upper(frame["PARAMCD"]).eq(param)]
    subject = rows["USUBJID"].astype(str).str.strip()
    missing_from(result, subject, all_known, adrs.file, "ADSL")
    duplicate_records(result, "Best response", subject, f"{adrs.file} (PARAMCD = {param})")
    value = _upper(rows["AVALC"]).str.replace(r"\s+", "", regex=True)
    codes = dict(BOR_CODES)
    codes["NON-CR/NON-PD"] = "NE" if non_cr == NON_CR_NON_PD[0] else "SD"
    read = value.map(codes)
    outside = read.isna() & value.ne("")
    if outside.any():
        result.find("error", "response outside RECIST", f"Best response: {patients_have(int(outside.sum()))} "
                    f"AVALC {quoted_list(rows['AVALC'][outside].unique())} in {adrs.file}, not a RECIST response "
                    f"(CR, PR, SD, NON-CR/NON-PD, PD, NE, MISSING; {examples(subject[outside])}).")
    by_id = pd.Series(read.fillna("").to_numpy(), index=subject.to_numpy())
    by_id = by_id[~by_id.index.duplicated()]
    derived["best_response"] = [by_id.get(i, "") for i in ids]
    result.recognised.append(Mapped(f"{adrs.file}: PARAMCD = {param}, AVALC", "best_response",
                                    f"CR, PR, SD, PD, NE as given; NON-CR/NON-PD → {codes['NON-CR/NON-PD']}; "
                                    "MISSING → no best response"))


def _adverse_events(result, adae, known, all_known, chosen) -> None:
    frame = adae.frame
    grade_column = next((c for c in ("ATOXGR", "AETOXGR", "ATOXGRN", "AETOXGRN") if c in frame.columns), None)
    if not {"USUBJID", "AEDECOD"} <= set(frame.columns):
        result.find("error", "files", f"{adae.file} lacks USUBJID or AEDECOD")
        return
    rows = frame
    if "TRTEMFL" in frame.columns:
        rule = result.choose(Choice("adam_teae", "Adverse events", TEAE_OPTIONS,
                                    "TRTEMFL marks treatment-emergent AEs."), chosen)
        if rule == TEAE_OPTIONS[0]:
            rows = frame.loc[_upper(frame["TRTEMFL"]).eq("Y")]
        result.recognised.append(Mapped(f"{adae.file}: TRTEMFL", "adverse events", f"{rule}: {len(rows):,} of "
                                        f"{len(frame):,} records"))
    subject = rows["USUBJID"].astype(str).str.strip()
    missing_from(result, subject, all_known, adae.file, "ADSL")
    rows = rows.loc[subject.isin(known)]
    grade = rows[grade_column].astype(str).str.extract(GRADE)[0].fillna("") if grade_column else [""] * len(rows)
    result.tables["adverse_events"] = table(adae.file, {
        "patient_id": rows["USUBJID"].astype(str).str.strip().tolist(), "term": rows["AEDECOD"].tolist(),
        "grade": list(grade)}, adae.row_numbers[rows.index.to_numpy()], "ADaM ADAE")
    result.recognised.append(Mapped(f"{adae.file}: AEDECOD, {grade_column or '(no grade)'}", "term, grade",
                                    "preferred term; grade = the digit of the toxicity grade"
                                    + ("; AEBODSYS recognised, not used (AEs are grouped by term)"
                                       if "AEBODSYS" in frame.columns else "")))


def _assessments(result, adtr, known, all_known, chosen) -> None:
    frame = adtr.frame
    if not {"USUBJID", "PCHG", "ADY"} <= set(frame.columns):
        result.find("error", "files", f"{adtr.file} lacks USUBJID, PCHG or ADY")
        return
    rows = frame
    if "PARAMCD" in frame.columns:
        params = [p for p in dict.fromkeys(_upper(frame["PARAMCD"])) if p]
        options = tuple((["SUMDIAM"] if "SUMDIAM" in params else []) + [p for p in params if p != "SUMDIAM"])
        param = result.choose(Choice("adam_tr", "Tumour measurements from PARAMCD", options,
                                     "ADTR parameter whose PCHG is the change of the target lesions."), chosen)
        rows = frame.loc[_upper(frame["PARAMCD"]).eq(param)]
    subject = rows["USUBJID"].astype(str).str.strip()
    missing_from(result, subject, all_known, adtr.file, "ADSL")
    pchg, day = numbers(rows["PCHG"]), numbers(rows["ADY"]) if "ADY" in rows.columns else None
    usable = subject.isin(known) & pchg.notna() & (day.notna() if day is not None else False)
    skipped = int((subject.isin(known) & ~usable).sum())
    rows = rows.loc[usable]
    result.tables["assessments"] = table(adtr.file, {
        "patient_id": rows["USUBJID"].astype(str).str.strip().tolist(),
        "time_months": [number_text(v / 30.4375) for v in day[usable]],
        "pct_change": [number_text(v) for v in pchg[usable]]}, adtr.row_numbers[rows.index.to_numpy()], "ADaM ADTR")
    result.recognised.append(Mapped(f"{adtr.file}: PCHG, ADY", "pct_change, time_months", "PCHG as given; ADY days "
                                    "/ 30.4375" + (f"; {skipped:,} records without PCHG or ADY (baseline) skipped"
                                                   if skipped else "")))

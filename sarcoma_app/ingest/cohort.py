"""The checked cohort: checks across columns and files, and the tables of the app's schema (pure).

:func:`prepare_cohort` converts every mapped column (:mod:`.values`), checks
what no single cell shows (required columns, half an endpoint, unique patient
ids, response against evaluability, too many different values, patients of
the AE and assessment files missing from the patients file) and derives the
glossary labels and groups. It returns the ``patients``, ``adverse_events``,
``assessments`` and ``studies`` tables - or the problems, one per cell. A
cohort with any problem is refused whole: nothing is half-loaded.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from data import registry
from sarcoma_app.ingest.columns import ENDPOINT_COLUMNS, SPECS, normalise_name
from sarcoma_app.ingest.tables import CONTROL_CHARACTERS, Problem, RawTable, over_limit, quoted
from sarcoma_app.ingest.values import ProblemCollector, Recognition, convert_column, is_missing
from sarcoma_app.limits import LIMITS

#: The bundled reference tables (histology glossary, site groups), under the repository root.
SOURCES_DIR = Path(__file__).resolve().parents[2] / "data" / "sources"


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


def _unknown_ids(table: RawTable, ids: pd.Series, known: set, file_column: str, problems: ProblemCollector) -> pd.Series:
    unknown = ids.notna() & ~ids.isin(known)
    for position in np.flatnonzero(unknown.to_numpy()):
        problems.add(table.file, int(table.row_numbers[position]), file_column,
                     f"patient {quoted(ids.iloc[position])} is not in the patients file")
    return unknown


def _check_required(table: RawTable, role: str, mapping: dict[str, str], problems: ProblemCollector) -> bool:
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


def _check_distinct(table: RawTable, values: pd.DataFrame, mapping: dict[str, str], problems: ProblemCollector) -> None:
    """A problem per grouping column with more different values than :attr:`UploadLimits.distinct_values`."""
    for name in GROUPING_COLUMNS:
        if name in values and name in mapping:
            n = int(values[name].nunique(dropna=True))
            if n > LIMITS.distinct_values.value:
                problems.add(table.file, None, mapping[name], over_limit(LIMITS.distinct_values, f"{n:,} different "
                                                                    "values") + ": is this the right column?")


def _endpoint_usable(table: RawTable, out: pd.DataFrame, mapping: dict[str, str], endpoint, notes: list[str]) -> bool:
    """The checks of :func:`sarcoma_app.ingest.formats.checks.endpoint_checks` on an endpoint of the app's layout.

    Censored patients lacking times far more often than events refuse the
    endpoint (its times and events are emptied, with a note saying why); zero
    times and times that look like days are notes.
    """
    from sarcoma_app.ingest.formats.base import FormatResult
    from sarcoma_app.ingest.formats.checks import endpoint_checks

    scratch = FormatResult("own layout", (table.file,))
    keep = endpoint_checks(scratch, endpoint.short, out["patient_id"], out[endpoint.time].astype(float),
                           out[endpoint.event].astype(float),
                           f"{table.file} ({mapping[endpoint.time]}, {mapping[endpoint.event]})", "months")
    notes.extend(f.message for f in scratch.findings if f.severity == "endpoint" or f.check in ("zero time", "unit"))
    if not keep:
        out[endpoint.time] = np.nan
        out[endpoint.event] = pd.array([pd.NA] * len(out), dtype="Int32")
    return keep


def clean_cohort_name(name: str, default: str = "Uploaded cohort") -> str:
    """A cohort name fit for labels: no control characters, at most 60 characters."""
    text = " ".join(CONTROL_CHARACTERS.sub(" ", str(name or "")).split())[:60]
    return text or default


def default_cohort_name(file_name: str) -> str:
    """The name a patients file suggests for its cohort: the file name without extension, '_' and '-' as spaces."""
    return Path(file_name).stem.replace("_", " ").replace("-", " ").strip() or "Uploaded cohort"


def count_parts(n_patients: int, n_adverse_events: int = 0, n_assessments: int = 0) -> list[str]:
    """'1,234 patients', then the adverse events and tumour assessments when there are any."""
    parts = [f"{n_patients:,} patients"]
    if n_adverse_events:
        parts.append(f"{n_adverse_events:,} adverse events")
    if n_assessments:
        parts.append(f"{n_assessments:,} tumour assessments")
    return parts


def prepared_counts(prepared: Prepared) -> list[str]:
    """:func:`count_parts` of a checked cohort."""
    n_events = 0 if prepared.adverse_events is None else len(prepared.adverse_events)
    n_measures = 0 if prepared.assessments is None else len(prepared.assessments)
    return count_parts(len(prepared.patients), n_events, n_measures)


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
    problems = ProblemCollector()
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
                     + ", ".join(quoted(c) for c in ignored[:20]) + (" …" if len(ignored) > 20 else "") + ".")
    n = len(table.frame)
    out = pd.DataFrame(index=range(n))
    for spec in SPECS["patients"]:
        if spec.name in mapping:
            out[spec.name] = convert_column(table, spec, mapping[spec.name], problems, recognitions)
    _check_distinct(table, out, mapping, problems)
    ids = out["patient_id"]
    # duplicate ids
    first_row: dict[str, int] = {}
    for position, pid in enumerate(ids):
        if pid is None:
            continue
        if pid in first_row:
            problems.add(table.file, int(table.row_numbers[position]), mapping["patient_id"],
                         f"patient id {quoted(pid)} is also in row {first_row[pid]}: patient ids must be unique")
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
        if not _endpoint_usable(table, out, mapping, endpoint, notes):
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
                         f"glossary and form{'s its' if len(unmatched) == 1 else ' their'} own group: " + ", ".join(quoted(h) for h in unmatched[:12])
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
                    ae[spec.name] = convert_column(ae_table, spec, ae_mapping[spec.name], problems, recognitions)
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
                m[spec.name] = convert_column(assessment_table, spec, assessment_mapping[spec.name], problems, recognitions)
            for column in ("time_months", "pct_change"):
                empty = is_missing(assessment_table.frame[assessment_mapping[column]].astype(str))
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

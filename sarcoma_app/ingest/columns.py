"""The columns an upload may have and how a file's columns are matched to them (pure).

:data:`SPECS` lists, per file (role), the columns the app reads; the patients'
are generated from the variable registry (:mod:`data.registry`: label, unit,
range, synonyms). :func:`suggest_mapping` matches a file's column names to
them (same name first, then synonyms, then synonyms once a unit is removed);
:func:`time_unit` reads the unit a time column's name states.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from data import registry

ROLES = ("patients", "adverse_events", "assessments")
ROLE_LABELS = {"patients": "patients", "adverse_events": "adverse events", "assessments": "tumour assessments"}

DAYS_PER_MONTH = 30.4375


def normalise_name(text: str) -> str:
    """Lower case, accents removed, '%' as 'percent', punctuation as single spaces."""
    text = unicodedata.normalize("NFKD", str(text))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower().replace("%", " percent ")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


# --------------------------------------------------------------------------- #
# Column specification
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class ColumnSpec:
    """A column the app reads from an uploaded file.

    ``kind`` says how values are read: id, text, int, float, time (months,
    >= 0), bool, response (RECIST), event (0/1), sex, grade (CTCAE 1-5),
    pct (% change), stage, status.
    """

    name: str
    role: str
    kind: str
    required: bool
    label: str
    description: str
    unit: str = ""
    allowed: str = ""
    synonyms: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None


REQUIRED_PATIENT_COLUMNS = ("patient_id", "histology", "best_response")
#: Time-to-event endpoints (registry): a file needs the time and the event of at least one.
ENDPOINT_COLUMNS = tuple((e.time, e.event) for e in registry.ENDPOINT_LIST)
#: Header words meaning the event column is coded the other way round (1 = censored; ADaM's CNSR too).
INVERTED_EVENT_HEADERS = frozenset({"censored", "censor", "pfs censored", "pfs censor", "censoring", "os censored",
                                    "os censor", "cnsr", "pfs cnsr", "os cnsr"})


def _patient_specs() -> tuple[ColumnSpec, ...]:
    """Upload specs of the patients file, generated from the variable registry (required columns first)."""
    ordered = list(REQUIRED_PATIENT_COLUMNS) + [c for c in registry.PATIENT_COLUMNS if c not in REQUIRED_PATIENT_COLUMNS]
    specs = []
    for name in ordered:
        variable = registry.VARIABLES[name]
        kind = variable.upload_kind
        minimum = variable.minimum if kind not in ("sex", "stage", "status", "response", "event", "bool") else None
        maximum = variable.upload_maximum if variable.upload_maximum is not None else variable.maximum
        if kind in ("sex", "stage", "status", "response", "event", "bool"):
            maximum = None
        description = variable.description.split(";")[0].split(" (derived")[0]
        specs.append(ColumnSpec(name, "patients", kind, name in REQUIRED_PATIENT_COLUMNS, variable.label, description,
                                variable.unit, variable.upload_format or variable.allowed_values, variable.synonyms,
                                minimum, maximum))
    return tuple(specs)


_ID_SYNONYMS = registry.VARIABLES["patient_id"].synonyms
SPECS: dict[str, tuple[ColumnSpec, ...]] = {
    "patients": _patient_specs(),
    "adverse_events": (
        ColumnSpec("patient_id", "adverse_events", "id", True, "Patient ID", "Patient the event belongs to (must be "
                   "in the patients file)", "", "a patient_id of the patients file", _ID_SYNONYMS),
        ColumnSpec("term", "adverse_events", "text", True, "AE term", "Adverse event term (e.g. CTCAE term)", "",
                   "text", ("term", "ae", "ae term", "adverse event", "adverse event term", "event", "toxicity",
                            "ctcae term", "description")),
        ColumnSpec("grade", "adverse_events", "grade", False, "Grade", "CTCAE grade; empty = not stated",
                   "CTCAE grade", "1–5", ("grade", "ctcae grade", "ae grade", "toxicity grade", "severity grade"),
                   1, 5),
    ),
    "assessments": (
        ColumnSpec("patient_id", "assessments", "id", True, "Patient ID", "Patient assessed (must be in the patients "
                   "file)", "", "a patient_id of the patients file", _ID_SYNONYMS),
        ColumnSpec("time_months", "assessments", "time", True, "Time (months)", "Time of the assessment since the "
                   "start of treatment", "months", "≥ 0 (a column in days or weeks is converted)",
                   ("time", "months", "time months", "month", "time since start", "time since start months",
                    "assessment time", "time from start", "time weeks", "weeks", "week", "time days", "days", "day",
                    "assessment week", "assessment day"), 0, None),
        ColumnSpec("pct_change", "assessments", "pct", True, "% change", "Change of the sum of target-lesion "
                   "diameters from baseline (RECIST), in percent", "%", "≥ −100, e.g. −35 or −35%",
                   ("pct change", "percent change", "change percent", "percent change from baseline",
                    "change from baseline percent", "change from baseline", "sld change", "sld change percent",
                    "sum of diameters change", "target lesion change", "target lesions change", "tumour change",
                    "tumor change", "change", "best percent change", "relative change"), -100, None),
    ),
}
SPEC_BY_NAME = {role: {spec.name: spec for spec in specs} for role, specs in SPECS.items()}


# --------------------------------------------------------------------------- #
# Mapping file columns to app columns
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class ColumnMatch:
    """How a file column was matched to an app column (shown to the user)."""

    column: str  # app column
    file_column: str
    how: str  # "same name" | "recognised name"


def _strip_unit(normalised: str) -> str:
    return re.sub(r"\b(in )?(months?|mo|days?|weeks?|wks?|years?|yrs?|percent)\b", " ", normalised).strip()


def suggest_mapping(columns: list[str], role: str = "patients") -> list[ColumnMatch]:
    """App column -> file column for the names the app recognises.

    Exact names (case, spaces and punctuation aside) win over synonyms; a
    file column is used at most once. The user sees the result and may change it.
    """
    specs = SPECS[role]
    normalised = {column: normalise_name(column) for column in columns}
    used: set[str] = set()
    matches: list[ColumnMatch] = []
    for pass_ in ("exact", "synonym", "no unit"):
        for spec in specs:
            if any(m.column == spec.name for m in matches):
                continue
            for column in columns:
                if column in used:
                    continue
                name = normalised[column]
                if pass_ == "exact":
                    hit = name == normalise_name(spec.name)
                elif pass_ == "synonym":
                    hit = name in spec.synonyms
                else:
                    hit = _strip_unit(name) in spec.synonyms and _strip_unit(name) != ""
                if hit:
                    matches.append(ColumnMatch(spec.name, column, "same name" if pass_ == "exact" else
                                               "recognised name"))
                    used.add(column)
                    break
    order = {spec.name: i for i, spec in enumerate(specs)}
    return sorted(matches, key=lambda m: order[m.column])


def mapping_dict(matches: list[ColumnMatch]) -> dict[str, str]:
    """``{app column: file column}`` of a list of matches."""
    return {m.column: m.file_column for m in matches}


def time_unit(file_column: str) -> tuple[str, float]:
    """Unit a time column's name states and the factor to months: ('days', 1/30.4375)..."""
    words = set(normalise_name(file_column).split())
    if words & {"day", "days", "d"}:
        return "days", 1 / DAYS_PER_MONTH
    if words & {"week", "weeks", "wk", "wks", "w"}:
        return "weeks", 7 / DAYS_PER_MONTH
    if words & {"year", "years", "yr", "yrs", "y"}:
        return "years", 12.0
    return "months", 1.0


def column_help(spec: ColumnSpec) -> str:
    """What the matching editor says of an app column: label, meaning, unit and how to write it."""
    return (f"{spec.label}: {spec.description}" + (f" ({spec.unit})" if spec.unit else "")
            + (f". {spec.allowed}" if spec.allowed else ""))


def duplicated_file_columns(mapping: dict[str, str]) -> list[str]:
    """File columns matched to more than one app column (sorted)."""
    used = list(mapping.values())
    return sorted({c for c in used if used.count(c) > 1})


def renamed_matches(role: str, suggested: dict[str, str]) -> list[tuple[str, str]]:
    """(app column, file column) of the suggested matches whose names differ (recognised, not the same name)."""
    return [(spec.name, suggested[spec.name]) for spec in SPECS[role] if spec.name in suggested
            and normalise_name(suggested[spec.name]) != normalise_name(spec.name)]

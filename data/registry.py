"""The clinical data model: one definition of every patient variable and of what the app does with it.

Each :class:`Variable` is a column of ``patients`` with its type, allowed values or range, unit, label,
description, roles, upload synonyms and derivation. The sidebar filters (:class:`Filter`), groupings
(:class:`Grouping`), Cox covariates (:class:`Covariate`) and time-to-event endpoints (:class:`Endpoint`)
are declared here too, each naming the variable it reads. Everything else is generated from this module:

* the DuckDB DDL and its CHECK constraints (:func:`patients_ddl`, used by ``data/build.py`` and every
  in-memory source);
* the data dictionary rows of ``patients`` (:func:`dictionary_rows`);
* the filters' SQL, the groupings' labels and the covariates' columns (``sarcoma_app``);
* the upload column specifications (synonyms, how values are read, ranges);
* the simulated-cohort schema (``data/simulate.py``).

Adding a filter on a recorded variable is one :class:`Filter` entry here; a grouping one :class:`Grouping`
entry. A page offers a control only when the active data have the column with a recorded value
(:func:`available_filters`, :func:`available_groupings`, :func:`available_covariates`,
:func:`available_endpoints`).

No streamlit, no database: plain data and pure functions.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable, Mapping

if TYPE_CHECKING:  # pandas is imported where it is used: the URL parser reads this module at start-up
    import pandas as pd

#: Token of "not reported" (NULL) in every filter.
UNKNOWN = "unknown"
#: Label of a missing grouping value.
NOT_REPORTED = "not reported"

#: What a variable can be used for.
ROLES = ("key", "filter", "grouping", "covariate", "endpoint", "display")
#: Dictionary type -> DuckDB type.
SQL_TYPES = {"text": "VARCHAR", "integer": "INTEGER", "double": "DOUBLE", "boolean": "BOOLEAN"}
#: How an upload reads a column's cells (see sarcoma_app.ingest.values).
UPLOAD_KINDS = ("id", "text", "int", "float", "time", "bool", "response", "event", "sex", "grade", "stage",
                "status")


@dataclass(frozen=True)
class Variable:
    """One column of ``patients``.

    Attributes
    ----------
    name : str
        Column name.
    type : {"text", "integer", "double", "boolean"}
        Data type (:data:`SQL_TYPES`).
    label : str
        Human label, as shown in the app.
    description : str
        Meaning, as in the data dictionary.
    roles : tuple of str
        Subset of :data:`ROLES`. ``filter``, ``grouping``, ``covariate`` and
        ``endpoint`` must be backed by an entry of :data:`FILTERS`,
        :data:`GROUPINGS`, :data:`COVARIATES` or :data:`ENDPOINTS`.
    unit : str
        Unit ('' when none).
    values : tuple of str
        Allowed values of a text column (a CHECK constraint); empty = free text.
    minimum, maximum : float, optional
        Allowed range of a number (a CHECK constraint).
    upload_kind : str
        How an uploaded cell is read (:data:`UPLOAD_KINDS`).
    upload_format : str
        How to write the value in a file (upload help).
    upload_maximum : float, optional
        A stricter plausibility bound for uploads than the database's.
    synonyms : tuple of str
        Column names recognised in uploads (normalised: lower case, single spaces).
    derivation : str
        How the column is derived from others ('' when read from the source).
    not_null : bool
        NOT NULL in the schema.
    allowed_text : str
        The dictionary's 'allowed values' where it is not generated from ``values`` or the range.
    """

    name: str
    type: str
    label: str
    description: str
    roles: tuple[str, ...] = ("display",)
    unit: str = ""
    values: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    upload_kind: str = "text"
    upload_format: str = ""
    upload_maximum: float | None = None
    synonyms: tuple[str, ...] = ()
    derivation: str = ""
    not_null: bool = False
    allowed_text: str = ""

    @property
    def allowed_values(self) -> str:
        """The dictionary's 'allowed values' text."""
        if self.allowed_text:
            return self.allowed_text
        if self.values:
            return " | ".join(self.values)
        if self.minimum is not None and self.maximum is not None:
            return f"{_number(self.minimum)}-{_number(self.maximum)}"
        if self.minimum is not None:
            return f">= {_number(self.minimum)}"
        return ""


def _number(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True)
class Filter:
    """A sidebar filter.

    ``key`` is the URL parameter. ``bucket_sql`` is a constant SQL expression
    giving the option a patient belongs to (default from the variable's type:
    the value as text, 'yes'/'no' for booleans, :data:`UNKNOWN` for NULL).
    ``values`` fixes the options in display order (empty: read from the data);
    ``value_labels`` labels them.
    """

    key: str
    variable: str
    label: str
    help: str
    section: str
    bucket_sql: str = ""
    values: tuple[str, ...] = ()
    value_labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def sql(self) -> str:
        """The bucket expression (constant SQL)."""
        if self.bucket_sql:
            return self.bucket_sql
        variable = VARIABLES[self.variable]
        column = variable.name
        if variable.type == "boolean":
            return f"CASE WHEN {column} THEN 'yes' WHEN NOT {column} THEN 'no' ELSE '{UNKNOWN}' END"
        if variable.type in ("integer", "double"):
            return f"coalesce(CAST({column} AS VARCHAR), '{UNKNOWN}')"
        return f"coalesce({column}, '{UNKNOWN}')"

    @property
    def fixed_values(self) -> tuple[str, ...]:
        """Options that do not depend on the data (booleans: yes / no / unknown)."""
        if self.values:
            return self.values
        if VARIABLES[self.variable].type == "boolean":
            return ("yes", "no", UNKNOWN)
        return ()

    def option_label(self, value: str) -> str:
        """Display text of one option (without its count)."""
        if value in self.value_labels:
            return self.value_labels[value]
        if value == UNKNOWN:
            return "unknown (not reported)"
        return str(value)


@dataclass(frozen=True)
class Grouping:
    """A grouping of the Response and Survival pages (``?response_by=``, ``?km_by=``).

    ``value_format`` formats a recorded value ('{value}' for the value as it is,
    e.g. 'ECOG {value}'); ``value_labels`` labels booleans or codes;
    ``missing_label`` names a missing value; ``forest`` puts the grouping in the
    Response page's subgroup forest plot.
    """

    key: str
    variable: str
    label: str
    value_format: str = "{value}"
    value_labels: Mapping[object, str] = field(default_factory=dict)
    missing_label: str = NOT_REPORTED
    plural_format: str = ""
    forest: bool = True

    def value_label(self, value: object) -> str:
        """Display label of one recorded value (missing -> :attr:`missing_label`)."""
        if is_missing(value):
            return self.missing_label
        if value in self.value_labels:
            return self.value_labels[value]
        if VARIABLES[self.variable].type == "integer":
            value = int(value)
            if self.plural_format and value != 1:
                return self.plural_format.format(value=value)
        return self.value_format.format(value=value)


@dataclass(frozen=True)
class Covariate:
    """A candidate covariate of the Cox models (``?cox_terms=``).

    ``kind``: ``flag`` (``variable == level`` vs the rest), ``at_least``
    (``variable >= threshold`` vs below), ``factor`` (one HR per level, the
    most frequent level as reference), ``numeric`` (per unit).
    ``reference`` names the 0 / False side of a flag; ``term_label`` prefixes a
    factor's terms ('Histology group: Leiomyosarcoma').
    """

    key: str
    variable: str
    kind: str
    label: str
    meaning: str
    level: object = None
    threshold: float | None = None
    reference: str = "all others"
    term_label: str = ""


@dataclass(frozen=True)
class Endpoint:
    """A time-to-event endpoint: a time column and an event column (1 = event, 0 = censored)."""

    key: str
    label: str
    short: str
    time: str
    event: str
    event_label: str


def is_missing(value: object) -> bool:
    """None, NA or NaN."""
    if value is None or type(value).__name__ == "NAType":  # pandas.NA, without importing pandas
        return True
    try:
        return bool(math.isnan(value))  # type: ignore[arg-type]
    except TypeError:
        return False


# --------------------------------------------------------------------------- #
# Variables
# --------------------------------------------------------------------------- #
_TIME_SYNONYMS = ("{p}", "{p} months", "{p} mo", "{p} month", "{p} time", "{p} in months", "{p} days", "{p} weeks",
                  "{p} time months")


def _time_synonyms(prefix: str, words: str) -> tuple[str, ...]:
    return tuple(s.format(p=prefix) for s in _TIME_SYNONYMS) + (words, f"{words} months", f"{words} days",
                                                                   f"{words} weeks")


VARIABLE_LIST: tuple[Variable, ...] = (
    Variable("study_id", "text", "Study", "Study", ("key", "filter", "grouping"), not_null=True,
             allowed_text="see studies", upload_format="optional; default: the cohort name you type",
             synonyms=("study", "study id", "cohort", "trial", "study name", "cohort name")),
    Variable("patient_id", "text", "Patient ID",
             "Patient key (NAB numbers follow seed 002 Table 1; NIVO numbers are the project's: PR, SD, PD, then not "
             "evaluable)", ("key", "display"), not_null=True, allowed_text="NAB-01..NAB-28, NIVO-01..NIVO-28",
             upload_kind="id", upload_format="any text, unique per patient",
             synonyms=("patient", "patient id", "patient no", "patient number", "patient nr", "pt", "pt id", "id",
                       "subject", "subject id", "case", "case id", "record id")),
    Variable("patient_label", "text", "Label", "Project label summarising the row (derived)",
             derivation="project label summarising the row, for display", synonyms=("label", "patient label")),
    Variable("age", "integer", "Age", "Age; NULL where not stated", unit="years", minimum=0, maximum=120,
             upload_kind="int", upload_format="whole years, 0–120",
             synonyms=("age", "age years", "age at diagnosis", "age at treatment", "age at start", "age yrs")),
    Variable("sex", "text", "Sex", "Sex; NULL where not stated", ("filter", "grouping", "covariate", "display"),
             values=("Female", "Male"), upload_kind="sex", upload_format="Female / Male (also F / M)",
             synonyms=("sex", "gender", "sexe", "geschlecht")),
    Variable("histology", "text", "Histology", "Histological subtype", ("filter", "grouping", "display"),
             allowed_text="see histology_glossary",
             upload_format="as you name it (names and codes of the app's glossary are recognised)",
             synonyms=("histology", "histological subtype", "histologic subtype", "histotype", "subtype", "diagnosis",
                       "histology subtype", "tumour histology", "tumor histology", "histological diagnosis",
                       "histological type", "histologie", "histologia")),
    Variable("histology_code", "text", "Histology code", "Abbreviation", allowed_text="see histology_glossary",
             synonyms=("histology code", "histology abbreviation", "code")),
    Variable("histology_group", "text", "Histology group", "Cross-study group (derived)",
             ("filter", "grouping", "covariate", "display"), allowed_text="see histology_glossary",
             derivation="project grouping of histology_code (histology_glossary.histology_group)",
             upload_format="default: the glossary group, else the histology itself",
             synonyms=("histology group", "subtype group")),
    Variable("primary_site", "text", "Primary site", "Primary site as stated", ("covariate", "display"),
             synonyms=("primary site", "primary tumour site", "primary tumor site", "site of primary", "primary",
                       "tumour site", "tumor site", "site", "location")),
    Variable("primary_site_group", "text", "Primary site group", "Project grouping of primary_site (derived)",
             ("filter", "grouping", "covariate", "display"),
             allowed_text="Head and neck | Extremity | Trunk | Abdomen/pelvis | Chest",
             derivation="project grouping of primary_site (primary_site_groups.csv)",
             upload_format="default: the app's grouping of the site when known",
             synonyms=("site group", "primary site group")),
    Variable("metastatic_site", "text", "Metastatic sites", "Metastatic sites as stated",
             synonyms=("metastatic site", "metastatic sites", "metastases", "sites of metastasis", "metastasis")),
    Variable("stage", "text", "Stage", "Stage", values=("IV", "Unresectable"), upload_kind="stage",
             upload_format="IV or Unresectable", synonyms=("stage", "disease stage")),
    Variable("ecog", "integer", "ECOG", "ECOG performance status", ("filter", "grouping", "covariate", "display"),
             minimum=0, maximum=4, upload_kind="int", upload_format="0–4",
             synonyms=("ecog", "ecog ps", "ecog performance status", "performance status", "ps")),
    Variable("prior_lines", "integer", "Prior lines", "Previous lines of chemotherapy",
             ("filter", "grouping", "covariate", "display"), unit="lines", minimum=0, allowed_text="0+",
             upload_kind="int", upload_format="whole number ≥ 0", upload_maximum=50,
             synonyms=("prior lines", "previous lines", "prior lines of therapy", "prior lines of chemotherapy",
                       "number of prior lines", "lines of prior therapy", "prior therapies", "prior treatment lines",
                       "previous lines of therapy")),
    Variable("pazopanib", "boolean", "Pazopanib", "Concomitant pazopanib",
             ("filter", "grouping", "covariate", "display"), allowed_text="true | false | NULL (unknown)",
             upload_kind="bool", upload_format="yes / no",
             synonyms=("pazopanib", "concomitant pazopanib", "pazopanib co treatment", "with pazopanib")),
    Variable("evaluable", "boolean", "Evaluable", "Evaluable for RECIST response", not_null=True,
             allowed_text="true | false", upload_kind="bool",
             upload_format="yes / no; default: yes when a best response is given",
             synonyms=("evaluable", "evaluable for response", "response evaluable")),
    Variable("not_evaluable_reason", "text", "Why not evaluable", "Why not evaluable, as stated",
             synonyms=("reason not evaluable", "not evaluable reason", "why not evaluable")),
    Variable("best_response", "text", "Best response", "Best overall response, RECIST 1.1",
             ("filter", "grouping", "display"), values=("CR", "PR", "SD", "PD"),
             allowed_text="CR | PR | SD | PD | NULL (not evaluable or not stated)", upload_kind="response",
             upload_format="CR, PR, SD, PD or NE (or the words: Complete response, …)",
             synonyms=("best response", "best overall response", "bor", "response", "recist", "recist response",
                       "best recist response", "recist 1 1", "overall response", "best response recist")),
    Variable("pfs_months", "double", "PFS (months)",
             "Progression-free survival; NULL where not published (all of seed 000)", ("endpoint", "display"),
             unit="months", minimum=0, upload_kind="time",
             upload_format="months ≥ 0 (a column in days or weeks is converted)",
             synonyms=_time_synonyms("pfs", "progression free survival")),
    Variable("pfs_event", "integer", "PFS event",
             "PFS event indicator (derived for seed 002: see patient_value_sources)", ("endpoint",),
             values=("0", "1"), allowed_text="1 = progression, 0 = censored", upload_kind="event",
             upload_format="1 = progression or death, 0 = censored (also yes / no, progressed / censored)",
             synonyms=("pfs event", "event", "pfs status", "progression", "progressed", "progression event",
                       "progression status", "pd event", "event pfs", "censored", "censor", "pfs censored",
                       "pfs censor", "censoring")),
    Variable("os_months", "double", "OS (months)", "Overall survival; NULL where not published (both seeds)",
             ("endpoint", "display"), unit="months", minimum=0, upload_kind="time",
             upload_format="months ≥ 0 (a column in days or weeks is converted)",
             synonyms=_time_synonyms("os", "overall survival")),
    Variable("os_event", "integer", "OS event", "Death indicator of overall survival", ("endpoint",),
             values=("0", "1"), allowed_text="1 = death, 0 = censored (alive at last follow-up)", upload_kind="event",
             upload_format="1 = died, 0 = alive (censored); also yes / no, dead / alive",
             synonyms=("os event", "os status", "death event", "vital status", "event os", "os censored",
                       "os censor")),
    Variable("n_adverse_events", "integer", "Number of AEs",
             "Number of AEs per patient; NULL where not published (both seeds)", ("filter",), unit="events",
             minimum=0, upload_kind="int", upload_format="whole number ≥ 0; default: counted from the AE file",
             synonyms=("n adverse events", "number of adverse events", "n aes", "number of aes", "ae count")),
    Variable("worst_ae_grade", "integer", "Worst AE grade", "Worst AE grade; NULL where not published",
             ("filter",), unit="CTCAE grade", minimum=1, maximum=5, upload_kind="grade",
             upload_format="1–5; default: from the AE file",
             synonyms=("worst ae grade", "worst grade", "max ae grade", "maximum ae grade", "highest ae grade")),
    Variable("cycles_to_response", "integer", "Cycles to response",
             "Cycle after which the best response was first reported", unit="cycles", minimum=0, upload_kind="int",
             synonyms=("cycles to response",)),
    Variable("cycles_to_progression", "integer", "Cycles to progression",
             "Cycle after which progression was reported", unit="cycles", minimum=0, upload_kind="int",
             synonyms=("cycles to progression",)),
    Variable("cycles_last_reported", "integer", "Cycles",
             "Last cycle count the paper gives for the patient (a lower bound on cycles received)", unit="cycles",
             minimum=0, upload_kind="int", synonyms=("cycles", "cycles received", "number of cycles", "cycles last reported")),
    Variable("weeks_on_nivolumab_derived", "integer", "Weeks on nivolumab",
             "cycles_last_reported x 2 for the 2-weekly nivolumab regimen (derived)", unit="weeks", minimum=0, upload_kind="int",
             derivation="cycles_last_reported x 2 (nivolumab every 2 weeks); a lower bound on time on treatment",
             synonyms=("weeks on nivolumab",)),
    Variable("treatment_status", "text", "Treatment status", "Treatment status at the paper's last report",
             values=("ongoing", "stopped"), allowed_text="ongoing | stopped | NULL", upload_kind="status",
             upload_format="ongoing / stopped", synonyms=("treatment status", "status on treatment", "on treatment")),
    Variable("died", "boolean", "Died", "Death reported in the paper", allowed_text="true | NULL",
             upload_kind="bool", upload_format="yes / no", synonyms=("died", "death", "dead", "deceased")),
    Variable("source", "text", "Source",
             "Where in the seed the row comes from; per-value detail in patient_value_sources", not_null=True,
             upload_format="default: the file and row", synonyms=("source", "data source")),
    Variable("notes", "text", "Notes", "What the paper says about the patient beyond the columns",
             synonyms=("notes", "note", "comments", "comment", "remarks", "remarques", "commentaires")),
)
VARIABLES: dict[str, Variable] = {variable.name: variable for variable in VARIABLE_LIST}
#: Columns of ``patients`` in schema order.
PATIENT_COLUMNS: tuple[str, ...] = tuple(VARIABLES)
#: Columns of the per-patient table, in the order a clinician reads them: who, what they had, how they did.
PATIENT_TABLE_ORDER = (
    "patient_id", "study_id", "histology", "best_response", "pfs_months", "pfs_event", "os_months", "os_event",
    "pazopanib", "sex", "age", "ecog", "prior_lines", "primary_site", "primary_site_group", "metastatic_site", "stage",
    "histology_group", "histology_code", "evaluable", "not_evaluable_reason", "cycles_to_response",
    "cycles_to_progression", "cycles_last_reported", "weeks_on_nivolumab_derived", "treatment_status", "died",
    "n_adverse_events", "worst_ae_grade", "notes",
)
#: Table-level constraints of ``patients``.
PATIENT_TABLE_CHECKS = ("CHECK (evaluable OR best_response IS NULL)",
                        "CHECK (evaluable OR not_evaluable_reason IS NOT NULL)")

# --------------------------------------------------------------------------- #
# Endpoints
# --------------------------------------------------------------------------- #
ENDPOINT_LIST: tuple[Endpoint, ...] = (
    Endpoint("pfs", "Progression-free survival", "PFS", "pfs_months", "pfs_event", "progression or death"),
    Endpoint("os", "Overall survival", "OS", "os_months", "os_event", "death"),
)
ENDPOINTS: dict[str, Endpoint] = {endpoint.key: endpoint for endpoint in ENDPOINT_LIST}
#: The columns :func:`available_endpoints` reads (time and event of each endpoint).
ENDPOINT_VARIABLES: tuple[str, ...] = tuple(dict.fromkeys(c for e in ENDPOINT_LIST for c in (e.time, e.event)))
DEFAULT_ENDPOINT = "pfs"

# --------------------------------------------------------------------------- #
# Filters (sidebar sections in display order)
# --------------------------------------------------------------------------- #
FILTER_SECTIONS = ("Cohort", "Patient", "Outcome", "Adverse events")
RESPONSE_LABELS = {"CR": "CR – complete response", "PR": "PR – partial response", "SD": "SD – stable disease",
                   "PD": "PD – progressive disease", "NE": "NE – not evaluable"}
_YES_NO = {"yes": "yes", "no": "no", UNKNOWN: "unknown (not reported)"}
FILTER_LIST: tuple[Filter, ...] = (
    Filter("study", "study_id", "Study", "Published cohort (one regimen each).", "Cohort", bucket_sql="study_id"),
    Filter("histology_group", "histology_group", "Histology group",
           "Project grouping of the histological subtypes (see Data & methods, histology glossary).", "Cohort"),
    Filter("histology", "histology", "Specific histology", "Histological subtype as published.", "Cohort"),
    Filter("pazopanib", "pazopanib", "Pazopanib co-treatment",
           "Concomitant pazopanib. 'unknown' = not reported for the patient.", "Cohort", value_labels=_YES_NO),
    Filter("sex", "sex", "Sex", "Sex as recorded. 'unknown' = not reported for the patient.", "Patient"),
    Filter("ecog", "ecog", "ECOG performance status",
           "Eastern Cooperative Oncology Group performance status (0 = fully active).", "Patient"),
    Filter("primary_site", "primary_site_group", "Primary site (group)", "Project grouping of the primary tumour site.",
           "Patient"),
    Filter("prior_lines", "prior_lines", "Prior lines of chemotherapy", "Previous lines of systemic chemotherapy.",
           "Patient"),
    Filter("response", "best_response", "Best response", "RECIST 1.1 best overall response. NE = not evaluable.",
           "Outcome", bucket_sql="coalesce(best_response, 'NE')", values=("CR", "PR", "SD", "PD", "NE"),
           value_labels=RESPONSE_LABELS),
    Filter("ae_count", "n_adverse_events", "Number of adverse events",
           "AEs per patient. 'not reported' keeps the patients whose AEs are not published per patient.",
           "Adverse events",
           bucket_sql=(f"CASE WHEN n_adverse_events IS NULL THEN '{UNKNOWN}' WHEN n_adverse_events = 0 THEN '0' "
                       "WHEN n_adverse_events <= 2 THEN '1-2' ELSE '3-or-more' END"),
           values=("0", "1-2", "3-or-more", UNKNOWN),
           value_labels={"0": "0", "1-2": "1–2", "3-or-more": "≥ 3", UNKNOWN: "not reported"}),
    Filter("ae_grade3", "worst_ae_grade", "Any AE of grade ≥ 3",
           "Worst CTCAE grade ≥ 3. 'unknown' = not reported.", "Adverse events",
           # no AE at all means no grade >= 3 AE (as analysis.adverse_events.ae_burden_category)
           bucket_sql=(f"CASE WHEN n_adverse_events = 0 THEN 'no' WHEN worst_ae_grade IS NULL THEN '{UNKNOWN}' "
                       "WHEN worst_ae_grade >= 3 THEN 'yes' ELSE 'no' END"),
           values=("yes", "no", UNKNOWN), value_labels=_YES_NO),
)
FILTERS: dict[str, Filter] = {f.key: f for f in FILTER_LIST}

# --------------------------------------------------------------------------- #
# Groupings (Response and Survival pages)
# --------------------------------------------------------------------------- #
NO_GROUPING = "none"
GROUPING_LIST: tuple[Grouping, ...] = (
    Grouping("study", "study_id", "study"),
    Grouping("histology_group", "histology_group", "histology group"),
    Grouping("histology", "histology", "specific histology", forest=False),
    Grouping("pazopanib", "pazopanib", "pazopanib co-treatment",
             value_labels={True: "on pazopanib", False: "no pazopanib"}),
    Grouping("sex", "sex", "sex"),
    Grouping("best_response", "best_response", "best response", missing_label="NE", forest=False),
    Grouping("ecog", "ecog", "ECOG performance status", value_format="ECOG {value}"),
    Grouping("primary_site", "primary_site_group", "primary site (group)"),
    Grouping("prior_lines", "prior_lines", "prior lines of chemotherapy", value_format="{value} prior line",
             plural_format="{value} prior lines"),
)
GROUPINGS: dict[str, Grouping] = {g.key: g for g in GROUPING_LIST}
#: URL values of the grouping choice: "none" first, then the groupings.
GROUPING_KEYS: tuple[str, ...] = (NO_GROUPING, *GROUPINGS)
#: The columns :func:`available_groupings` reads.
GROUPING_VARIABLES: tuple[str, ...] = tuple(dict.fromkeys(g.variable for g in GROUPING_LIST))

# --------------------------------------------------------------------------- #
# Cox covariates
# --------------------------------------------------------------------------- #
COVARIATE_LIST: tuple[Covariate, ...] = (
    Covariate("angiosarcoma", "histology_group", "flag", "Angiosarcoma vs other subtypes",
              "HR of angiosarcoma relative to all other histologies (as seed 002).", level="Angiosarcoma",
              reference="other subtypes"),
    Covariate("histology_group", "histology_group", "factor", "Histology group (reference: most frequent)",
              "One HR per histology group relative to the most frequent group.", term_label="Histology group"),
    Covariate("primary_site", "primary_site", "factor", "Primary site as published (reference: most frequent)",
              "One HR per published primary site relative to the most frequent site "
              "(seed 002's 'head' HR is Head vs Extremities in this model).", term_label="Primary site"),
    Covariate("head_neck_primary", "primary_site_group", "flag", "Head and neck primary vs other sites",
              "HR of a head-and-neck primary relative to all other site groups.", level="Head and neck",
              reference="other sites"),
    Covariate("ecog", "ecog", "at_least", "ECOG 1 or more vs 0",
              "HR of ECOG performance status >= 1 relative to ECOG 0.", threshold=1, reference="ECOG 0"),
    Covariate("prior_lines", "prior_lines", "numeric", "Prior lines of chemotherapy (per line)",
              "HR per additional prior line of chemotherapy."),
    Covariate("pazopanib", "pazopanib", "flag", "Pazopanib co-treatment vs none",
              "HR of concomitant pazopanib relative to no pazopanib.", level=True, reference="no pazopanib"),
    Covariate("sex", "sex", "flag", "Female vs male", "HR of female relative to male patients.", level="Female",
              reference="male"),
)
COVARIATES: dict[str, Covariate] = {c.key: c for c in COVARIATE_LIST}
#: The default multivariable model, where the data have both.
DEFAULT_COX_TERMS = ("angiosarcoma", "ecog")


# --------------------------------------------------------------------------- #
# Generated schema and dictionary
# --------------------------------------------------------------------------- #
def _quote(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def column_ddl(variable: Variable, primary_key: bool = False) -> str:
    """``name TYPE [NOT NULL] [PRIMARY KEY] [CHECK (...)]`` of one variable."""
    parts = [variable.name, SQL_TYPES[variable.type]]
    if variable.not_null and not primary_key:
        parts.append("NOT NULL")
    if primary_key:
        parts.append("PRIMARY KEY")
    checks = []
    if variable.values:
        literals = variable.values if variable.type == "text" else tuple(str(int(v)) for v in variable.values)
        rendered = ", ".join(_quote(v) if variable.type == "text" else v for v in literals)
        checks.append(f"{variable.name} IN ({rendered})")
    if variable.minimum is not None and variable.maximum is not None:
        checks.append(f"{variable.name} BETWEEN {_number(variable.minimum)} AND {_number(variable.maximum)}")
    elif variable.minimum is not None:
        checks.append(f"{variable.name} >= {_number(variable.minimum)}")
    if checks:
        parts.append("CHECK (" + " AND ".join(checks) + ")")
    return " ".join(parts)


def patients_ddl(primary_key: str | None = "patient_id", foreign_keys: Mapping[str, str] | None = None) -> str:
    """Column definitions of ``patients`` (for ``CREATE TABLE patients (...)``).

    Parameters
    ----------
    primary_key : str, optional
        Column declared PRIMARY KEY (None for none).
    foreign_keys : mapping, optional
        Column -> ``REFERENCES ...`` clause.
    """
    foreign_keys = foreign_keys or {}
    columns = []
    for variable in VARIABLE_LIST:
        text = column_ddl(variable, primary_key=variable.name == primary_key)
        columns.append(f"{text} {foreign_keys[variable.name]}" if variable.name in foreign_keys else text)
    return ",\n        ".join(columns + list(PATIENT_TABLE_CHECKS))


def dictionary_rows() -> pd.DataFrame:
    """The data dictionary rows of ``patients`` (table, column, type, unit, allowed_values, description)."""
    import pandas as pd

    return pd.DataFrame([{"table": "patients", "column": v.name, "type": v.type, "unit": v.unit,
                          "allowed_values": v.allowed_values, "description": v.description}
                         for v in VARIABLE_LIST])


def derived_columns() -> dict[str, str]:
    """Column -> derivation, for the columns computed from others."""
    return {v.name: v.derivation for v in VARIABLE_LIST if v.derivation}


# --------------------------------------------------------------------------- #
# What the active data can answer
# --------------------------------------------------------------------------- #
def recorded_counts(patients: pd.DataFrame, columns: Iterable[str] | None = None) -> dict[str, tuple[int, int]]:
    """Column -> (patients with a recorded value, distinct recorded values); (0, 0) for absent columns.

    ``columns`` (default: every patient column) bounds the work on a large selection to what the caller
    reads, e.g. :data:`ENDPOINT_VARIABLES` for :func:`available_endpoints`.
    """
    import pandas as pd

    out = {}
    for column in columns or PATIENT_COLUMNS:
        if column not in patients.columns:
            out[column] = (0, 0)
            continue
        codes, distinct = pd.factorize(patients[column], use_na_sentinel=True)  # one pass; missing -> -1
        out[column] = (int((codes >= 0).sum()), len(distinct))
    return out


def available_filters(recorded: Mapping[str, tuple[int, int]]) -> tuple[str, ...]:
    """Filters whose variable has at least one recorded value (the study filter: always)."""
    return tuple(f.key for f in FILTER_LIST if f.key == "study" or recorded.get(f.variable, (0, 0))[0] > 0)


def available_groupings(recorded: Mapping[str, tuple[int, int]]) -> tuple[str, ...]:
    """``none`` and the groupings whose variable has at least two recorded values."""
    return (NO_GROUPING,) + tuple(g.key for g in GROUPING_LIST if recorded.get(g.variable, (0, 0))[1] >= 2)


def available_covariates(recorded: Mapping[str, tuple[int, int]]) -> tuple[str, ...]:
    """Covariates whose variable has at least two recorded values."""
    return tuple(c.key for c in COVARIATE_LIST if recorded.get(c.variable, (0, 0))[1] >= 2)


def available_endpoints(recorded: Mapping[str, tuple[int, int]]) -> tuple[str, ...]:
    """Endpoints whose time and event columns both have a recorded value."""
    return tuple(e.key for e in ENDPOINT_LIST
                 if recorded.get(e.time, (0, 0))[0] > 0 and recorded.get(e.event, (0, 0))[0] > 0)

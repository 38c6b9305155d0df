"""Read-only DuckDB access: one cached connection, a cursor per query, cached results.

Queries go to the data source of the view (:mod:`sarcoma_app.sources.cohort`): the
bundled file (cached with ``st.cache_data``, shared), or the in-memory database
of a simulated cohort or of this session's upload (memoised per session only).

SQL text only ever comes from constants of this package (see
:mod:`sarcoma_app.sources.filter_sql`); values travel as ``?`` parameters and table
names are checked against :data:`READABLE_TABLES`.
"""
from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import streamlit as st

from data import build
from sarcoma_app import limits
from sarcoma_app.sources import cohort, count_sql, filter_sql
from analysis.reconcile import reconcile
from data import registry
from sarcoma_app.viewstate.url_state import DATA_DRIVEN_FILTERS, UNKNOWN, AllowedValues, FilterState

#: Tables a page may read whole, with their display order.
READABLE_TABLES = {
    "studies": "study_id",
    "histology_glossary": "histology_group, histology",
    "published_results": "study_id, result_id",
    "published_characteristics": "study_id",
    "published_response_by_histology": "study_id",
    "published_adverse_events": "study_id, rowid",  # the paper's row order (the source file follows the paper)
    "source_conflicts": "conflict_id",
    "patient_value_sources": "study_id, patient_id, field",
    "data_dictionary": None,  # keep the file's order
}


REBUILT_KEY = "_database_rebuilt"


@st.cache_resource(show_spinner="Preparing the database…")
def database_path() -> str:
    """Path of a current database (built into the temp dir if needed)."""
    return str(build.ensure_database(build.DEFAULT_DB_PATH))


@st.cache_resource(show_spinner=False)
def connection(path: str) -> duckdb.DuckDBPyConnection:
    """One read-only connection per database file, shared by all sessions."""
    return duckdb.connect(str(Path(path)), read_only=True)


@st.cache_data(show_spinner=False, max_entries=2048)
def _fetch(path: str, sql: str, parameters: tuple) -> pd.DataFrame:
    """Run one query on its own cursor (thread-safe) and return a DataFrame."""
    cursor = connection(path).cursor()
    try:
        return cursor.execute(sql, list(parameters)).df()
    finally:
        cursor.close()


def query(sql: str, parameters: tuple = (), copy: bool = True) -> pd.DataFrame:
    """Run a constant SQL statement with ``?`` parameters on the view's data source (cached).

    ``copy=False``: the caller only reads the result (no defensive copy of a
    memoised frame of a non-bundled source).
    """
    if not cohort.is_bundled():
        return cohort.run_query(sql, tuple(parameters), copy=copy)
    try:
        return _fetch(database_path(), sql, tuple(parameters))
    except (duckdb.ParserException, duckdb.BinderException):  # a mistake in the SQL: rebuilding cannot help
        raise
    except duckdb.Error:  # the file was damaged or removed while the app ran: rebuild once, then retry
        rebuild_database()
        return _fetch(database_path(), sql, tuple(parameters))


def rebuild_database() -> None:
    """Forget the cached connection, path and results, and make a current database again.

    :func:`data.build.ensure_database` finds the damaged file no longer
    current and builds a fresh copy (into the temp dir; the repository file
    is never overwritten at run time). The session that hit the failure is
    told so on its page (:func:`take_rebuilt_notice`).
    """
    _fetch.clear()
    connection.clear()
    database_path.clear()
    database_path()
    st.session_state[REBUILT_KEY] = True


def take_rebuilt_notice() -> bool:
    """True once after this session's query made the database be rebuilt."""
    return bool(st.session_state.pop(REBUILT_KEY, False))


def _hide_simulated() -> bool:
    """Simulated studies are left out of the default selection of the bundled data only.

    A simulated source holds one simulated cohort and nothing else, so there
    is nothing to pool it with.
    """
    return cohort.is_bundled()


def read_table(name: str) -> pd.DataFrame:
    """A whole reference table (name from :data:`READABLE_TABLES` only)."""
    if name not in READABLE_TABLES:
        raise ValueError(f"table {name!r} is not readable by the app")
    order = READABLE_TABLES[name]
    sql = f"SELECT * FROM {name}" + (f" ORDER BY {order}" if order else "")
    return query(sql)


def reconciliation() -> pd.DataFrame:
    """Every published number beside its recomputation from the whole published cohorts (filters not applied).

    One call for every page that shows it, so the verdicts are the same everywhere: the software each paper
    names and the values it leaves open (``patient_value_sources.alternative_value``) are always considered.
    """
    return reconcile(read_table("published_results"), load_patients(FilterState()), studies=read_table("studies"),
                     assumptions=read_table("patient_value_sources"))


def load_patients(filters: FilterState) -> pd.DataFrame:
    """Patients matching ``filters`` (whitelisted columns, ordered by study and patient).

    The filter runs in DuckDB and returns row ids only; the rows are taken
    from the source's whole patient table, read once and cached (a
    100,000-patient filter change then costs milliseconds, not a conversion
    of every text column).
    """
    if not cohort.is_bundled() and count_all_patients() > limits.SCALE.patients_loaded.value:  # filter in DuckDB,
        # never read the whole table (a smaller source is read once and cached, as below)
        if (n_selected := too_many_to_load(filters)) is not None:
            refuse_large_selection(n_selected)
        return cohort.run_uncached(*filter_sql.patients_sql(filters, hide_simulated=_hide_simulated()))
    everyone = query(filter_sql.ALL_PATIENTS_SQL, copy=False)  # read only: a new frame is built below
    sql, parameters = filter_sql.patient_rows_sql(filters, hide_simulated=_hide_simulated())
    if sql is None:
        return everyone.drop(columns="row_id")
    matching = query(sql, parameters, copy=False)["row_id"].to_numpy()
    selected = everyone.take(np.flatnonzero(np.isin(everyone["row_id"].to_numpy(), matching)))
    selected.index = pd.RangeIndex(len(selected))  # in place: cheaper than reset_index / iloc with columns
    del selected["row_id"]
    return selected


#: Sidebar filters a refused page suggests (labels from the registry).
NARROWING_FILTERS = ("histology_group", "histology", "pazopanib")


def too_many_text(n_selected: int, needing: str = "This page needs each patient",
                  narrowing_filters: tuple[str, ...] = NARROWING_FILTERS) -> str:
    """Why ``needing`` cannot be shown for a selection of ``n_selected`` patients, and how to narrow it (with
    ``narrowing_filters``, keys of :data:`data.registry.FILTERS`)."""
    limit = limits.SCALE.patients_loaded.amount
    narrowing = " or ".join(f"**{registry.FILTERS[key].label}**" for key in narrowing_filters)
    return (f"**{needing}, and the selection has {n_selected:,} patients** — more than the {limit} a page may "
            f"load into the server's memory. Narrow the selection in the sidebar to at most {limit} (e.g. with "
            f"{narrowing})")


def refuse_large_selection(n_selected: int) -> None:
    """Stop a page that needs each patient when the selection is larger than a page may load (says why:
    the limit, the filters that narrow the selection, and the pages the database counts at any size)."""
    st.warning(too_many_text(n_selected) + ", or open another page: the analyses are counted by the database at "
               "any size.", icon=":material/database:")
    st.stop()


def count_patients(filters: FilterState) -> int:
    """Number of patients matching ``filters`` (the N of 'Showing N of M')."""
    where, parameters = filter_sql.where_clause(filters, hide_simulated=_hide_simulated())
    return int(query(f"SELECT count(*) AS n FROM patients {where}", parameters)["n"].iloc[0])


def count_all_patients() -> int:
    """All patients in the data (the M of 'Showing N of M')."""
    return int(query("SELECT count(*) AS n FROM patients")["n"].iloc[0])


def option_counts(filters: FilterState) -> dict[str, dict[str, int]]:
    """Patients per option of every filter dimension, each under the other filters (one query)."""
    sql, parameters = filter_sql.all_option_counts_sql(filters, hide_simulated=_hide_simulated())
    frame = query(sql, parameters, copy=False)
    counts: dict[str, dict[str, int]] = {dimension.name: {} for dimension in filter_sql.DIMENSIONS}
    for dimension, value, n in zip(frame["dimension"], frame["value"], frame["n"]):
        counts[dimension][str(value)] = int(n)
    return counts


def _sort_options(values: list[str], numeric: bool) -> tuple[str, ...]:
    known = [v for v in values if v != UNKNOWN]
    key = (lambda v: (float(v), v)) if numeric else (lambda v: v.lower())
    ordered = sorted(known, key=key)
    return tuple(ordered + ([UNKNOWN] if UNKNOWN in values else []))


def recorded_counts() -> dict[str, tuple[int, int]]:
    """Per patient column of the active source: (patients with a value, distinct values) - one query."""
    row = query(filter_sql.recorded_counts_sql(), copy=False).iloc[0]
    return {c: (int(row[f"{c}__n"]), int(row[f"{c}__d"])) for c in filter_sql.PATIENT_COLUMNS}


def allowed_values() -> AllowedValues:
    """Values of the data-driven filters present in the data (URL whitelist), and the filters the data lack."""
    available = registry.available_filters(recorded_counts())
    options = {}
    for name in DATA_DRIVEN_FILTERS:
        if name not in available:
            continue
        values = [str(v) for v in query(filter_sql.option_values_sql(name))["value"]]
        variable = registry.VARIABLES[registry.FILTERS[name].variable]
        options[name] = _sort_options(values, numeric=variable.type in ("integer", "double"))
    unavailable = tuple(f.key for f in registry.FILTER_LIST if f.key not in available)
    return AllowedValues(**options, unavailable=unavailable)


def unknown_by_study(filters: FilterState, dimension: str) -> pd.DataFrame:
    """Per study: patients under the other filters, and how many have no value for ``dimension``."""
    spec = filter_sql.DIMENSION_BY_NAME[dimension]
    where, parameters = filter_sql.where_clause(filters, skip=dimension, hide_simulated=_hide_simulated())
    sql = (
        f"SELECT study_id, count(*) AS n, count(*) FILTER (WHERE ({spec.bucket_sql}) = ?) AS n_unknown "
        f"FROM patients {where} GROUP BY study_id ORDER BY study_id"
    )
    # the UNKNOWN placeholder comes first in the statement text
    return query(sql, (UNKNOWN,) + tuple(parameters))


_EVENT_LISTING = "a.study_id, a.patient_id, a.patient_ref, a.term, a.term_group, a.grade, a.source, a.note"
_EVENT_ORDER = "ORDER BY a.study_id, a.patient_id, a.term, a.grade, a.source, a.note"


def _adverse_events_sql(filters: FilterState) -> tuple[str, tuple]:
    where, parameters = filter_sql.where_clause(filters, hide_simulated=_hide_simulated())
    return (f"SELECT {_EVENT_LISTING} FROM adverse_events a "
            f"WHERE a.patient_id IN (SELECT patient_id FROM patients {where}) {_EVENT_ORDER}"), parameters


def load_adverse_events(filters: FilterState) -> pd.DataFrame:
    """Per-patient AE rows of the filtered patients, by study, patient, term and grade."""
    return query(*_adverse_events_sql(filters))


def first_adverse_events(filters: FilterState, limit: int) -> tuple[pd.DataFrame, bool]:
    """The first ``limit`` rows of :func:`load_adverse_events`, and whether there are more: a large source lists
    a page of its events without loading them all (a top-n query; counting them all too took as long again)."""
    sql, parameters = _adverse_events_sql(filters)
    rows = query(f"{sql} LIMIT ?", (*parameters, int(limit) + 1))
    return rows.iloc[:limit], len(rows) > limit


def load_untied_adverse_events(study_ids: tuple[str, ...]) -> pd.DataFrame:
    """AE rows the paper does not tie to a patient, for the given studies."""
    if not study_ids:
        return query("SELECT * FROM adverse_events WHERE false")
    placeholders = ", ".join("?" for _ in study_ids)
    sql = (
        "SELECT study_id, patient_ref, term, term_group, grade, source, note FROM adverse_events "
        f"WHERE patient_id IS NULL AND study_id IN ({placeholders}) ORDER BY study_id, patient_ref, term"
    )
    return query(sql, tuple(study_ids))


def load_value_sources(filters: FilterState) -> pd.DataFrame:
    """Provenance of every value of the filtered patients."""
    where, parameters = filter_sql.where_clause(filters, hide_simulated=_hide_simulated())
    sql = (
        "SELECT s.study_id, s.patient_id, s.field, s.value, s.source, s.derived, s.rule FROM patient_value_sources s "
        f"WHERE s.patient_id IN (SELECT patient_id FROM patients {where}) ORDER BY s.study_id, s.patient_id, s.field"
    )
    return query(sql, parameters)


def load_assessments(filters: FilterState) -> pd.DataFrame:
    """Tumour measurements (time, % change of target lesions) of the filtered patients.

    Only an uploaded cohort can have them; empty for the other sources.
    """
    if cohort.is_bundled():
        return pd.DataFrame(columns=["study_id", "patient_id", "time_months", "pct_change", "source"])
    where, parameters = filter_sql.where_clause(filters, hide_simulated=False)
    sql = (
        "SELECT m.study_id, m.patient_id, m.time_months, m.pct_change, m.source FROM assessments m "
        f"WHERE m.patient_id IN (SELECT patient_id FROM patients {where}) ORDER BY m.patient_id, m.time_months"
    )
    return query(sql, parameters)


def has_assessments() -> bool:
    """True when the active source holds tumour measurements (only an upload can)."""
    upload = cohort.uploaded_cohort() if cohort.active_source() == cohort.UPLOADED_SOURCE else None
    return upload is not None and upload.n_assessments > 0


def is_large() -> bool:
    """True when the active source is counted by the database (more patients than ``patients_counted`` of
    :data:`limits.SCALE`)."""
    return count_all_patients() > limits.SCALE.patients_counted.value


def too_many_to_load(filters: FilterState) -> int | None:
    """The number of patients matching ``filters`` when it is more than a page may load, else None."""
    if cohort.is_bundled() or not is_large():
        return None
    n_selected = count_patients(filters)
    return n_selected if n_selected > limits.SCALE.patients_loaded.value else None


def survival_counts(filters: FilterState, endpoint: str, grouping: str = "none",
                    stratify_by_study: bool = False) -> pd.DataFrame:
    """Events and censorings per (group, stratum, time) of the filtered patients, counted by DuckDB.

    Columns ``group`` (raw value), ``stratum``, ``time``, ``n_event``, ``n_censor``: the input of
    :func:`analysis.survival.kaplan_meier_by_group_from_counts` and ``logrank_table_from_counts``.
    """
    sql, parameters = count_sql.survival_counts_sql(filters, endpoint, grouping, stratify_by_study,
                                                    hide_simulated=_hide_simulated())
    return query(sql, parameters, copy=False)


def survival_counts_within(filters: FilterState, column: str, value: str, endpoint: str,
                           grouping: str = "none") -> pd.DataFrame:
    """:func:`survival_counts` of the filtered patients whose ``column`` equals ``value`` (one histology)."""
    sql, parameters = count_sql.survival_counts_within_sql(filters, column, value, endpoint, grouping,
                                                           hide_simulated=_hide_simulated())
    return query(sql, parameters, copy=False)


def studies_with_endpoint(filters: FilterState, endpoint: str) -> list[str]:
    """Studies (ids, sorted) with a filtered patient whose ``endpoint`` time and event are recorded."""
    sql, parameters = count_sql.studies_with_endpoint_sql(filters, endpoint, hide_simulated=_hide_simulated())
    return [str(s) for s in query(sql, parameters, copy=False)["study_id"]]


def response_counts(filters: FilterState, grouping: str = "none") -> pd.DataFrame:
    """Patients per (group, best response) of the filtered patients: ``group, best_response, n``."""
    sql, parameters = count_sql.response_counts_sql(filters, grouping, hide_simulated=_hide_simulated())
    return query(sql, parameters, copy=False)


def pattern_counts(filters: FilterState, columns) -> pd.DataFrame:
    """Patients per pattern of the patient ``columns`` of the selection (:func:`count_sql.pattern_counts_sql`)."""
    sql, parameters = count_sql.pattern_counts_sql(filters, columns, hide_simulated=_hide_simulated())
    return query(sql, parameters, copy=False)


def cox_counts(filters: FilterState, endpoint: str, variables) -> pd.DataFrame:
    """Events and censorings per (``variables``, time) of the filtered patients (:func:`count_sql.cox_counts_sql`),
    for :func:`analysis.cox.fit_cox_from_counts`; one row more than :data:`limits.SCALE` ``cox_count_rows`` at
    most."""
    sql, parameters = count_sql.cox_counts_sql(filters, endpoint, list(variables), hide_simulated=_hide_simulated(),
                                               max_rows=limits.SCALE.cox_count_rows.value)
    return query(sql, parameters, copy=False)


def count_studies(filters: FilterState) -> int:
    """Studies among the patients matching ``filters``."""
    where, parameters = filter_sql.where_clause(filters, hide_simulated=_hide_simulated())
    return int(query(f"SELECT count(DISTINCT study_id) AS n FROM patients {where}", parameters)["n"].iloc[0])


def adverse_event_counts(filters: FilterState) -> dict[str, pd.DataFrame]:
    """Counts for :func:`analysis.adverse_events.ae_table_from_counts` over the filtered patients (all together),
    and ``bars``: AE records per term and grade (one query, :func:`count_sql.adverse_event_counts_sql`)."""
    sql, parameters = count_sql.adverse_event_counts_sql(filters, hide_simulated=_hide_simulated())
    return count_sql.split_ae_counts(query(sql, parameters, copy=False))

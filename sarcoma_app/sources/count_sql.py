"""Pure SQL building for the count tables the analyses take (no streamlit, no connection).

A page that needs only counts lets DuckDB count over the filtered rows and
gets back a table that grows with the distinct times and patterns, not with
the patients: events and censorings per (group, stratum, time) for
Kaplan-Meier and the log-rank test, patients per (group, best response) for
the response tables. The analyses (:func:`analysis.survival.kaplan_meier_by_group_from_counts`,
:func:`analysis.survival.logrank_table_from_counts`,
:func:`analysis.response.response_table` with ``count_col``) are exact on them.

As in :mod:`sarcoma_app.sources.filter_sql`, every SQL fragment is a constant
of this package or of :mod:`data.registry`; user choices only travel as ``?``
parameters.
"""
from __future__ import annotations

from data import registry
from sarcoma_app.sources import filter_sql
from sarcoma_app.viewstate.url_state import FilterState

#: Grouping key -> patients column (the registry's groupings; "none" = one group).
GROUPING_COLUMNS = {g.key: g.variable for g in registry.GROUPING_LIST}
NO_GROUPING = "none"


def _grouping_sql(grouping: str) -> str:
    if grouping == NO_GROUPING:
        return "'All patients'"
    if grouping not in GROUPING_COLUMNS:
        raise ValueError(f"unknown grouping {grouping!r}")
    return GROUPING_COLUMNS[grouping]


def survival_counts_sql(filters: FilterState, endpoint: str, grouping: str = NO_GROUPING,
                        stratify_by_study: bool = False, hide_simulated: bool = True) -> tuple[str, tuple]:
    """Events and censorings per (group, stratum, time) of the filtered patients.

    Columns ``"group", stratum, time, n_event, n_censor`` (the raw group value,
    NULL when not recorded; the stratum is the study or 0). Patients whose
    time or event is not recorded are counted on a row with a NULL time, so
    the count functions report them as left out (R ``na.omit``).
    """
    spec = registry.ENDPOINTS[endpoint]
    where, parameters = filter_sql.where_clause(filters, hide_simulated=hide_simulated)
    group = _grouping_sql(grouping)
    stratum = "study_id" if stratify_by_study else "0"
    sql = (
        f'SELECT {group} AS "group", {stratum} AS stratum, '
        f"CASE WHEN {spec.event} IS NULL THEN NULL ELSE {spec.time} END AS time, "
        f"CAST(count(*) FILTER (WHERE {spec.event} = 1 AND {spec.time} IS NOT NULL) AS BIGINT) AS n_event, "
        f"CAST(count(*) FILTER (WHERE {spec.event} IS DISTINCT FROM 1 OR {spec.time} IS NULL) AS BIGINT) AS n_censor "
        f"FROM patients {where} GROUP BY ALL ORDER BY 1, 2, 3"
    )
    return sql, parameters


def response_counts_sql(filters: FilterState, grouping: str = NO_GROUPING,
                        hide_simulated: bool = True) -> tuple[str, tuple]:
    """Patients per (group, best response) of the filtered patients: ``"group", best_response, n``."""
    where, parameters = filter_sql.where_clause(filters, hide_simulated=hide_simulated)
    group = _grouping_sql(grouping)
    sql = (f'SELECT {group} AS "group", best_response, CAST(count(*) AS BIGINT) AS n FROM patients {where} '
           "GROUP BY ALL ORDER BY 1, 2")
    return sql, parameters


def adverse_event_counts_sql(filters: FilterState, grouping: str = NO_GROUPING,
                             hide_simulated: bool = True) -> dict[str, tuple[str, tuple]]:
    """Three queries for :func:`analysis.adverse_events.ae_table_from_counts` over the filtered patients.

    ``term_masks`` (``"group", term, grade_mask, n``), ``any_masks`` (``"group", grade_mask, n``) and
    ``denominators`` (``"group", n``); a patient's grade mask for a term is ``bit_or(1 << grade)`` over their
    events of the term, bit 0 for an unknown grade.
    """
    where, parameters = filter_sql.where_clause(filters, hide_simulated=hide_simulated)
    group = _grouping_sql(grouping)
    population = f'SELECT patient_id, {group} AS "group" FROM patients {where}'
    pairs = ('SELECT p.patient_id, p."group", a.term, bit_or(1 << coalesce(a.grade, 0)) AS grade_mask '
             f"FROM adverse_events a JOIN ({population}) p ON a.patient_id = p.patient_id GROUP BY ALL")
    return {
        "term_masks": (f'SELECT "group", term, grade_mask, CAST(count(*) AS BIGINT) AS n FROM ({pairs}) GROUP BY ALL',
                       parameters),
        "any_masks": ('SELECT "group", grade_mask, CAST(count(*) AS BIGINT) AS n FROM (SELECT patient_id, "group", '
                      f'bit_or(grade_mask) AS grade_mask FROM ({pairs}) GROUP BY ALL) GROUP BY ALL', parameters),
        "denominators": (f'SELECT "group", CAST(count(*) AS BIGINT) AS n FROM ({population}) GROUP BY ALL',
                         parameters),
    }


def adverse_event_bars_sql(filters: FilterState, hide_simulated: bool = True) -> tuple[str, tuple]:
    """AE records of the filtered patients per term and grade ('not stated' when missing): term, grade, value."""
    where, parameters = filter_sql.where_clause(filters, hide_simulated=hide_simulated)
    sql = ("SELECT a.term, CASE WHEN a.grade IS NULL THEN 'not stated' ELSE CAST(a.grade AS VARCHAR) END AS grade, "
           "CAST(count(*) AS BIGINT) AS value FROM adverse_events a "
           f"WHERE a.term IS NOT NULL AND a.patient_id IN (SELECT patient_id FROM patients {where}) "
           "GROUP BY ALL ORDER BY 1, 2")
    return sql, parameters

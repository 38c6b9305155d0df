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
    where, parameters = filter_sql.where_clause(filters, hide_simulated=hide_simulated)
    group = _grouping_sql(grouping)
    stratum = "study_id" if stratify_by_study else "0"
    sql = (f'SELECT {group} AS "group", {stratum} AS stratum, {_event_counts(endpoint)} '
           f"FROM patients {where} GROUP BY ALL ORDER BY 1, 2, 3")
    return sql, parameters


def survival_counts_within_sql(filters: FilterState, column: str, value: str, endpoint: str,
                               grouping: str = NO_GROUPING, hide_simulated: bool = True) -> tuple[str, tuple]:
    """:func:`survival_counts_sql` of the filtered patients whose ``column`` (a patient column) equals ``value``.

    Exact equality (a patient with no value never matches), unlike a filter's option bucket, where a
    missing value is the option 'unknown'. Subtype across studies: PFS by study of one histology.
    """
    _patient_columns([column])
    where, parameters = filter_sql.where_clause(filters, hide_simulated=hide_simulated)
    where = f"{where} AND {column} = ?" if where else f"WHERE {column} = ?"
    sql = (f'SELECT {_grouping_sql(grouping)} AS "group", 0 AS stratum, {_event_counts(endpoint)} '
           f"FROM patients {where} GROUP BY ALL ORDER BY 1, 2, 3")
    return sql, (*parameters, value)


def studies_with_endpoint_sql(filters: FilterState, endpoint: str, hide_simulated: bool = True) -> tuple[str, tuple]:
    """Studies (``study_id``, sorted) with a filtered patient whose ``endpoint`` time and event are recorded."""
    spec = registry.ENDPOINTS[endpoint]
    where, parameters = filter_sql.where_clause(filters, hide_simulated=hide_simulated)
    recorded = f"{spec.time} IS NOT NULL AND {spec.event} IS NOT NULL"
    where = f"{where} AND {recorded}" if where else f"WHERE {recorded}"
    return f"SELECT DISTINCT study_id FROM patients {where} ORDER BY study_id", parameters


def _event_counts(endpoint: str) -> str:
    """``time, n_event, n_censor`` of a grouped query (time NULL where the time or the event is missing)."""
    spec = registry.ENDPOINTS[endpoint]
    return (f"CASE WHEN {spec.event} IS NULL THEN NULL ELSE {spec.time} END AS time, "
            f"CAST(count(*) FILTER (WHERE {spec.event} = 1 AND {spec.time} IS NOT NULL) AS BIGINT) AS n_event, "
            f"CAST(count(*) FILTER (WHERE {spec.event} IS DISTINCT FROM 1 OR {spec.time} IS NULL) AS BIGINT) "
            "AS n_censor")


def _patient_columns(columns) -> str:
    """``columns`` (each a patient column of the registry, else ValueError) listed once each for SQL."""
    columns = list(dict.fromkeys(columns))
    unknown = [c for c in columns if c not in filter_sql.PATIENT_COLUMNS]
    if unknown or not columns:
        raise ValueError(f"not patient columns: {unknown or columns!r}")
    return ", ".join(columns)


def cox_counts_sql(filters: FilterState, endpoint: str, variables, hide_simulated: bool = True,
                   max_rows: int | None = None) -> tuple[str, tuple]:
    """Events and censorings per (covariate variables, time) of the filtered patients, for
    :func:`analysis.cox.fit_cox_from_counts`: the ``variables`` (patient columns), ``time, n_event, n_censor``.
    With ``max_rows``, at most one row more than that is returned (enough to tell the table is too long)."""
    listed = _patient_columns(variables)
    where, parameters = filter_sql.where_clause(filters, hide_simulated=hide_simulated)
    sql = f"SELECT {listed}, {_event_counts(endpoint)} FROM patients {where} GROUP BY ALL ORDER BY ALL"
    if max_rows is not None:
        sql, parameters = sql + " LIMIT ?", tuple(parameters) + (int(max_rows) + 1,)
    return sql, parameters


def response_counts_sql(filters: FilterState, grouping: str = NO_GROUPING,
                        hide_simulated: bool = True) -> tuple[str, tuple]:
    """Patients per (group, best response) of the filtered patients: ``"group", best_response, n``."""
    where, parameters = filter_sql.where_clause(filters, hide_simulated=hide_simulated)
    group = _grouping_sql(grouping)
    sql = (f'SELECT {group} AS "group", best_response, CAST(count(*) AS BIGINT) AS n FROM patients {where} '
           "GROUP BY ALL ORDER BY 1, 2")
    return sql, parameters


def pattern_counts_sql(filters: FilterState, columns, hide_simulated: bool = True) -> tuple[str, tuple]:
    """Patients per pattern of patient ``columns`` (registry names) of the filtered patients: the columns, ``n``.

    A missing value is its own pattern (NULL), as on the patient path.
    """
    listed = _patient_columns(columns)
    where, parameters = filter_sql.where_clause(filters, hide_simulated=hide_simulated)
    sql = (f"SELECT {listed}, CAST(count(*) AS BIGINT) AS n FROM patients {where} GROUP BY ALL "
           f"ORDER BY {listed}")
    return sql, parameters


_BAR_GRADE = "CASE WHEN grade IS NULL THEN 'not stated' ELSE CAST(grade AS VARCHAR) END"


def adverse_event_counts_sql(filters: FilterState, grouping: str = NO_GROUPING,
                             hide_simulated: bool = True) -> tuple[str, tuple]:
    """One query for :func:`analysis.adverse_events.ae_table_from_counts` and the AE bars of the filtered patients.

    Its rows have a ``part`` (see :func:`split_ae_counts`): ``term_masks`` (``"group", term, grade_mask, n``),
    ``any_masks`` (``"group", grade_mask, n``), ``denominators`` (``"group", n``) and ``bars`` (AE records per
    ``term`` and ``grade``, 'not stated' when missing). A patient's grade mask for a term is
    ``bit_or(1 << grade)`` over their events of the term, bit 0 for an unknown grade.

    The events of the selected patients are found once (materialised for the masks and the bars): a semi-join
    with the filtered patients when there is one group (what the page asks; an event is kept once, as the
    patient-level page's ``patient_id IN (...)``), a join when each patient's group is needed.
    """
    where, parameters = filter_sql.where_clause(filters, hide_simulated=hide_simulated)
    group = _grouping_sql(grouping)
    population = f'SELECT patient_id, {group} AS "group" FROM patients {where}'
    if grouping == NO_GROUPING:  # one group: no group column to carry through the big aggregations
        events = ("SELECT a.patient_id, a.term, a.grade FROM adverse_events a "
                  "SEMI JOIN population p USING (patient_id)")
        key, shown = "patient_id", group
    else:
        events = ('SELECT p.patient_id, p."group", a.term, a.grade FROM adverse_events a '
                  "JOIN population p ON a.patient_id = p.patient_id")
        key, shown = 'patient_id, "group"', '"group"'
    sql = (
        f"WITH population AS ({population}), events AS MATERIALIZED ({events}), "
        f"pairs AS MATERIALIZED (SELECT {key}, term, bit_or(1 << coalesce(grade, 0)) AS grade_mask "
        "FROM events GROUP BY ALL) "
        f"""SELECT 'term_masks' AS part, {shown} AS "group", term, grade_mask, CAST(NULL AS VARCHAR) AS grade, """
        "CAST(count(*) AS BIGINT) AS n FROM pairs GROUP BY ALL "
        f"""UNION ALL SELECT 'any_masks', {shown}, NULL, grade_mask, NULL, count(*) FROM (SELECT {key}, """
        "bit_or(grade_mask) AS grade_mask FROM pairs GROUP BY ALL) GROUP BY ALL "
        """UNION ALL SELECT 'denominators', "group", NULL, NULL, NULL, count(*) FROM population GROUP BY ALL """
        f"UNION ALL SELECT 'bars', NULL, term, NULL, {_BAR_GRADE}, count(*) FROM events WHERE term IS NOT NULL "
        "GROUP BY ALL"
    )
    return sql, parameters


#: Columns of each part of :func:`adverse_event_counts_sql`.
AE_COUNT_PARTS = {"term_masks": ["group", "term", "grade_mask", "n"], "any_masks": ["group", "grade_mask", "n"],
                  "denominators": ["group", "n"], "bars": ["term", "grade", "n"]}


def split_ae_counts(frame) -> dict:
    """The parts of an :func:`adverse_event_counts_sql` result, each with its columns (``bars``: term, grade,
    value; sorted by term and grade)."""
    parts = {name: frame.loc[frame["part"] == name, columns].reset_index(drop=True)
             for name, columns in AE_COUNT_PARTS.items()}
    parts["bars"] = (parts["bars"].rename(columns={"n": "value"}).sort_values(["term", "grade"], ignore_index=True))
    return parts

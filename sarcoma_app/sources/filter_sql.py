"""Pure SQL building for the patient filters (no streamlit, no connection).

Every SQL fragment here is a constant of this module or of :mod:`data.registry`;
user choices only ever travel as ``?`` parameters. Column names come from
:data:`PATIENT_COLUMNS` and the registry's filters, never from user text.
"""
from __future__ import annotations

from dataclasses import dataclass

from data import registry
from sarcoma_app.viewstate.url_state import FilterState

#: Columns of ``patients`` the app reads (whitelist: the registry's variables).
PATIENT_COLUMNS = registry.PATIENT_COLUMNS


@dataclass(frozen=True)
class Dimension:
    """One sidebar filter, as the SQL needs it (built from :data:`data.registry.FILTERS`).

    Attributes
    ----------
    name : str
        FilterState field and URL parameter.
    label : str
        Sidebar label.
    bucket_sql : str
        SQL expression (a constant of the registry) giving the option a patient belongs to.
    column : str
        Source column, to say which studies lack the data.
    help : str
        Help text.
    """

    name: str
    label: str
    bucket_sql: str
    column: str
    help: str


DIMENSIONS: tuple[Dimension, ...] = tuple(Dimension(f.key, f.label, f.sql, f.variable, f.help)
                                          for f in registry.FILTER_LIST)
DIMENSION_BY_NAME = {dimension.name: dimension for dimension in DIMENSIONS}
EVALUABLE_SQL = "evaluable"
#: Simulated cohorts (design.md: a study whose id says "simulated") are never in the default selection.
NOT_SIMULATED_SQL = "study_id NOT ILIKE '%simulated%'"


def where_clause(filters: FilterState, skip: str | None = None, hide_simulated: bool = True) -> tuple[str, tuple]:
    """``WHERE`` clause and its parameters for ``filters``.

    Parameters
    ----------
    filters : FilterState
    skip : str, optional
        Dimension left out (for the faceted option counts).
    hide_simulated : bool, default True
        Leave simulated studies out when no study is chosen. False for a data
        source that is itself one simulated cohort (nothing to pool it with).

    Notes
    -----
    With no study chosen, simulated studies are left out: they are shown
    only when picked explicitly in the study filter.

    Returns
    -------
    (str, tuple)
        SQL text made of module constants and ``?`` placeholders only, and
        the values for the placeholders.
    """
    conditions: list[str] = []
    parameters: list = []
    for dimension in DIMENSIONS:
        chosen = getattr(filters, dimension.name)
        if dimension.name == skip or not chosen:
            continue
        placeholders = ", ".join("?" for _ in chosen)
        conditions.append(f"({dimension.bucket_sql}) IN ({placeholders})")
        parameters.extend(chosen)
    if filters.evaluable_only and skip != "evaluable_only":
        conditions.append(EVALUABLE_SQL)
    if hide_simulated and not filters.study and skip != "study":
        conditions.append(NOT_SIMULATED_SQL)
    if not conditions:
        return "", ()
    return "WHERE " + " AND ".join(conditions), tuple(parameters)


def patients_sql(filters: FilterState, hide_simulated: bool = True) -> tuple[str, tuple]:
    """Query for the filtered patients (whitelisted columns, stable order)."""
    where, parameters = where_clause(filters, hide_simulated=hide_simulated)
    columns = ", ".join(PATIENT_COLUMNS)
    return f"SELECT {columns} FROM patients {where} ORDER BY study_id, patient_id", parameters


#: Every patient with DuckDB's row id (``row_id``), in the order of :func:`patients_sql`.
ALL_PATIENTS_SQL = f"SELECT rowid AS row_id, {', '.join(PATIENT_COLUMNS)} FROM patients ORDER BY study_id, patient_id"


def patient_rows_sql(filters: FilterState, hide_simulated: bool = True) -> tuple[str | None, tuple]:
    """Query for the row ids (``row_id``) of the filtered patients; None when no condition applies.

    With :data:`ALL_PATIENTS_SQL` read once per source, a filter change moves
    only integers out of DuckDB (selecting rows of the cached frame), not
    every text column of every matching patient.
    """
    where, parameters = where_clause(filters, hide_simulated=hide_simulated)
    if not where:
        return None, ()
    return f"SELECT rowid AS row_id FROM patients {where}", parameters


def option_counts_sql(filters: FilterState, dimension_name: str, hide_simulated: bool = True) -> tuple[str, tuple]:
    """Query counting patients per option of one dimension under the other filters."""
    dimension = DIMENSION_BY_NAME[dimension_name]
    where, parameters = where_clause(filters, skip=dimension_name, hide_simulated=hide_simulated)
    return f"SELECT {dimension.bucket_sql} AS value, count(*) AS n FROM patients {where} GROUP BY 1", parameters


def all_option_counts_sql(filters: FilterState, hide_simulated: bool = True) -> tuple[str, tuple]:
    """One query for the option counts of every dimension: columns ``dimension, value, n``.

    The :func:`option_counts_sql` of each dimension joined with ``UNION ALL``
    (one round trip instead of one per sidebar filter); the dimension names
    are constants of :data:`DIMENSIONS`.
    """
    parts, parameters = [], []
    for dimension in DIMENSIONS:
        sql, dimension_parameters = option_counts_sql(filters, dimension.name, hide_simulated=hide_simulated)
        parts.append(f"SELECT '{dimension.name}' AS dimension, value, n FROM ({sql})")
        parameters.extend(dimension_parameters)
    return " UNION ALL ".join(parts), tuple(parameters)


def option_values_sql(dimension_name: str) -> str:
    """Query listing every option of one dimension in the whole data set."""
    dimension = DIMENSION_BY_NAME[dimension_name]
    return f"SELECT DISTINCT {dimension.bucket_sql} AS value FROM patients"


def recorded_counts_sql() -> str:
    """One query: per registry column, the patients with a value (``<col>__n``) and its distinct values
    (``<col>__d``)."""
    parts = [f'count({c}) AS "{c}__n", count(DISTINCT {c}) AS "{c}__d"' for c in PATIENT_COLUMNS]
    return "SELECT " + ", ".join(parts) + " FROM patients"

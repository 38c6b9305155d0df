"""AE tables from DuckDB's counts of patients per grade mask equal ae_table on the patients."""
from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from analysis.adverse_events import ae_table, ae_table_from_counts
from data.build import ensure_database
from data.simulate import simulate_cohort
from sarcoma_app.sources import count_sql, filter_sql
from sarcoma_app.viewstate.url_state import FilterState


def bundled_or_simulated(which: str, n: int, seed: int) -> duckdb.DuckDBPyConnection:
    """The bundled database (read-only), or an in-memory one holding a simulated cohort and its AEs."""
    if which == "bundled":
        return duckdb.connect(str(ensure_database()), read_only=True)
    patients, events = simulate_cohort(n, seed=seed)
    connection = duckdb.connect(":memory:")
    for name, frame in (("patients", patients), ("adverse_events", events)):
        connection.register("frame", frame)
        connection.execute(f"CREATE TABLE {name} AS SELECT * FROM frame")
        connection.unregister("frame")
    return connection


@pytest.fixture(scope="module", params=["bundled", "simulated"])
def con(request):
    connection = bundled_or_simulated(request.param, 5_000, 4)
    yield connection
    connection.close()


@pytest.mark.parametrize("filters", [FilterState(), FilterState(pazopanib=("yes",)),
                                     FilterState(histology_group=("Leiomyosarcoma", "Liposarcoma"))])
@pytest.mark.parametrize("grouping", ["none", "pazopanib", "histology_group", "study"])
def test_ae_table_from_database_counts_equals_patient_path(con, grouping, filters):
    """Both forms of the query (semi-join for one group, join for groups), with and without a filter."""
    sql, parameters = filter_sql.patients_sql(filters, hide_simulated=False)
    patients = con.execute(sql, list(parameters)).df()
    events = con.execute("SELECT patient_id, term, grade FROM adverse_events WHERE patient_id IS NOT NULL").df()
    sql, parameters = count_sql.adverse_event_counts_sql(filters, grouping, hide_simulated=False)
    counts = count_sql.split_ae_counts(con.execute(sql, list(parameters)).df())
    group_col = None if grouping == "none" else count_sql.GROUPING_COLUMNS[grouping]
    expected = ae_table(events, patients.astype({group_col: object}) if group_col else patients, group_col=group_col)
    shown = ae_table_from_counts(counts["term_masks"], counts["any_masks"], counts["denominators"],
                                 grouped=group_col is not None)
    pd.testing.assert_frame_equal(shown, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("grouping", ["none", "pazopanib"])
def test_an_empty_selection_has_no_counts(con, grouping):
    """No patient: no row at all (not a denominator of 0), for one group as for several."""
    sql, parameters = count_sql.adverse_event_counts_sql(FilterState(histology=("no such histology",)), grouping,
                                                         hide_simulated=False)
    assert con.execute(sql, list(parameters)).df().empty


def test_invalid_counts_are_refused():
    masks = pd.DataFrame({"group": ["a"], "term": ["Rash"], "grade_mask": [2], "n": [-1]})
    anys = pd.DataFrame({"group": ["a"], "grade_mask": [2], "n": [1]})
    with pytest.raises(ValueError, match="whole numbers"):
        ae_table_from_counts(masks, anys, pd.DataFrame({"group": ["a"], "n": [3]}))

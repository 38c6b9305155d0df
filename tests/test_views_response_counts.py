"""The Response page of a large source (counts from DuckDB) shows the same numbers as the patient-level page."""
from __future__ import annotations

from dataclasses import replace

import duckdb
import numpy as np
import pandas as pd
import pytest

from data.simulate import simulate_cohort
from sarcoma_app.sources import count_sql, filter_sql
from sarcoma_app.views import response, response_counts
from sarcoma_app.views.blocks import Table, views_of
from sarcoma_app.viewstate.url_state import FilterState, MethodState
from tests.conftest import count_source


@pytest.fixture(scope="module", params=["bundled", "simulated"])
def con(request):
    connection = count_source(request.param, seed=4)
    yield connection
    connection.close()


def counted(con, filters: FilterState, methods: MethodState) -> dict[str, pd.DataFrame]:
    out = {}
    for part, columns in response_counts.queries(methods).items():
        sql, parameters = count_sql.pattern_counts_sql(filters, columns, hide_simulated=False)
        out[part] = con.execute(sql, list(parameters)).df()
    return out


def shown(blocks) -> dict[str, object]:
    out = {}
    for view in views_of(blocks):
        for part in view.parts:
            if isinstance(part, Table):
                out[part.name] = part.frame
        if view.slide_table is not None:
            out[view.key + "-slide"] = view.slide_table
        out[view.key + "-result"] = view.result
    return out


def assert_same(result, expected):
    if isinstance(result, pd.DataFrame):
        pd.testing.assert_frame_equal(result.reset_index(drop=True), expected.reset_index(drop=True),
                                      check_exact=False, rtol=1e-12, atol=1e-12, check_dtype=False)
    elif isinstance(result, dict):
        assert list(result) == list(expected)
        for key in result:
            assert_same(result[key], expected[key])
    else:
        left, right = vars(result), vars(expected)
        assert list(left) == list(right)
        for key in left:
            a, b = left[key], right[key]
            if isinstance(a, (pd.DataFrame, dict)):
                assert_same(a, b)
            elif isinstance(a, float) and np.isnan(a):
                assert np.isnan(b), key
            elif isinstance(a, (int, float)) and not isinstance(a, bool):
                assert a == pytest.approx(b, rel=1e-12, abs=1e-12), key
            else:
                assert a == b, key


@pytest.mark.parametrize("methods", [
    MethodState(),
    MethodState(response_by="histology_group", denominator="evaluable", ci="wilson"),
    MethodState(response_by="pazopanib", endpoint="dcr", p_adjust="holm"),
    MethodState(response_by="study", ci="jeffreys"),
    MethodState(response_by="ecog", endpoint="orr"),
    MethodState(stratify="none", endpoint="dcr"),
])
def test_count_page_shows_the_patient_page_numbers(con, methods):
    filters = FilterState()
    sql, parameters = filter_sql.patients_sql(filters, hide_simulated=False)
    patients = con.execute(sql, list(parameters)).df()
    by_patients = shown(response.build(patients, methods))
    by_counts = shown(response_counts.build(counted(con, filters, methods), len(patients), methods))
    assert "response_forest-result" in by_counts or "response_forest-result" not in by_patients
    assert set(by_counts) == set(by_patients)
    assert ("response_borrowing-result" in by_counts) or methods.response_by != "histology_group"
    for name, value in by_counts.items():
        assert_same(value, by_patients[name])


def test_stratification_is_offered_for_several_studies_and_no_patient_is_a_note():
    recorded = {c: (10, 3) for c in filter_sql.PATIENT_COLUMNS}
    fields = [c.field for c in response_counts.choices(recorded, MethodState(stratify="study"))]
    assert fields == ["response_by", "denominator", "ci", "endpoint"]
    fields = [c.field for c in response_counts.choices(recorded, MethodState(stratify="study"), n_studies=3)]
    assert fields == ["response_by", "denominator", "ci", "endpoint", "stratify"]
    assert response_counts.build({}, 0, MethodState())[0].text.startswith("No patient matches")


@pytest.mark.parametrize("endpoint", ["orr", "dcr"])
def test_the_stratified_forest_from_counts_is_the_patients_stratified_forest(endpoint):
    connection = duckdb.connect(":memory:")
    parts = [simulate_cohort(n, seed=seed, label=label, time_decimals=1)[0]
             for n, seed, label in ((700, 5, "a"), (300, 6, "b"), (120, 7, "c"))]
    connection.register("frame", pd.concat(parts, ignore_index=True))
    connection.execute("CREATE TABLE patients AS SELECT * FROM frame")
    methods = MethodState(stratify="study", endpoint=endpoint, response_by="pazopanib")
    sql, parameters = filter_sql.patients_sql(FilterState(), hide_simulated=False)
    patients = connection.execute(sql, list(parameters)).df()
    by_patients = shown(response.build(patients, methods))
    by_counts = shown(response_counts.build(counted(connection, FilterState(), methods), len(patients), methods))
    forest = by_counts["response_forest-result"]
    assert forest.attrs["n_strata"] == 3 and forest["stratified"].any()
    assert_same(forest, by_patients["response_forest-result"])
    assert_same(by_counts[f"{endpoint}-by-subgroup"], by_patients[f"{endpoint}-by-subgroup"])


def test_pattern_counts_name_only_patient_columns():
    with pytest.raises(ValueError, match="not patient columns"):
        count_sql.pattern_counts_sql(FilterState(), ["best_response; DROP TABLE patients"])

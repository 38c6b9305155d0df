"""Response tables from counts (rows = patients per group and best response) equal the patient-level ones."""
from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from analysis.response import response_comparison, response_table, subgroup_rates
from data.build import ensure_database
from data.simulate import simulate_cohort
from sarcoma_app.sources import count_sql, filter_sql
from sarcoma_app.viewstate.url_state import FilterState

SUBGROUPS = ["histology_group", "pazopanib", "ecog", "sex"]


@pytest.fixture(scope="module", params=["bundled", "simulated"])
def patients(request):
    if request.param == "simulated":
        return simulate_cohort(20_000, seed=5)[0]
    sql, parameters = filter_sql.patients_sql(FilterState(), hide_simulated=False)
    with duckdb.connect(str(ensure_database()), read_only=True) as con:
        return con.execute(sql, list(parameters)).df()


def counted(patients: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    keys = patients[columns + ["best_response"]].astype(object)
    return keys.groupby(columns + ["best_response"], dropna=False).size().reset_index(name="n")


@pytest.mark.parametrize("denominator", ["all", "evaluable"])
@pytest.mark.parametrize("group", [None, "histology_group", "pazopanib", "ecog"])
def test_response_table_from_counts(patients, group, denominator):
    counts = counted(patients, [group] if group else ["study_id"])
    by_counts = response_table(counts, group_col=group, denominator=denominator, count_col="n")
    by_patients = response_table(patients.astype({c: object for c in SUBGROUPS}), group_col=group,
                                 denominator=denominator)
    pd.testing.assert_frame_equal(by_counts, by_patients, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("endpoint", ["orr", "dcr"])
@pytest.mark.parametrize("group", ["pazopanib", "histology_group"])
def test_response_comparison_from_counts(patients, group, endpoint):
    counts = counted(patients, [group])
    by_counts = response_comparison(counts, group, endpoint=endpoint, count_col="n")
    by_patients = response_comparison(patients.astype({group: object}), group, endpoint=endpoint)
    for name in ("groups", "events", "denominators", "test", "note"):
        assert getattr(by_counts, name) == getattr(by_patients, name), name
    np.testing.assert_allclose([by_counts.p_value, by_counts.odds_ratio, by_counts.odds_ratio_lower,
                                by_counts.odds_ratio_upper],
                               [by_patients.p_value, by_patients.odds_ratio, by_patients.odds_ratio_lower,
                                by_patients.odds_ratio_upper], rtol=1e-12, atol=1e-12, equal_nan=True)


def test_subgroup_rates_from_counts(patients):
    counts = counted(patients, SUBGROUPS)
    by_counts = subgroup_rates(counts, SUBGROUPS, count_col="n")
    by_patients = subgroup_rates(patients.astype({c: object for c in SUBGROUPS}), SUBGROUPS)
    pd.testing.assert_frame_equal(by_counts, by_patients, rtol=1e-12, atol=1e-12)


def test_database_response_counts_sum_to_the_patients(patients):
    con = duckdb.connect(":memory:")
    con.register("patients", patients)
    sql, parameters = count_sql.response_counts_sql(FilterState(), "pazopanib", hide_simulated=False)
    counts = con.execute(sql, list(parameters)).df()
    assert int(counts["n"].sum()) == len(patients)
    by_counts = response_table(counts, group_col="group", count_col="n")
    by_patients = response_table(patients.assign(group=patients["pazopanib"].astype(object)), group_col="group")
    pd.testing.assert_frame_equal(by_counts, by_patients, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("bad", [[-1, 2], [0.5, 1], [np.nan, 1]])
def test_invalid_counts_are_refused(bad):
    counts = pd.DataFrame({"best_response": ["PR", "PD"], "n": bad})
    with pytest.raises(ValueError, match="whole numbers of patients"):
        response_table(counts, count_col="n")

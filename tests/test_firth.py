"""Tests for analysis.firth against an independent maximisation of the Firth-penalised partial likelihood in R
(tests/reference/firth_reference.R: optim over survival::coxph(init = beta, iter.max = 0), uniroot for the
profile limits; coxphf itself is not installed)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.cox import InsufficientDataError, fit_cox
from analysis.firth import firth_cox

REFERENCE = json.loads((Path(__file__).parent / "reference" / "firth_reference.json").read_text())
CASES = {case["name"]: case for case in REFERENCE["cases"]}
TOL = 1e-6


def reference_frame(name):
    data = REFERENCE["datasets"][name]
    factors = set(data["factors"])
    return pd.DataFrame({column: pd.Series(values, dtype=object) if column in factors
                         else pd.Series([np.nan if v is None else v for v in values], dtype=float)
                         for column, values in data["columns"].items()})


@pytest.fixture(params=sorted(CASES), scope="module")
def fitted(request):
    case = CASES[request.param]
    return case, firth_cox(reference_frame(case["dataset"]), case["duration"], case["event"], case["covariates"])


def test_terms_match_R(fitted):
    case, result = fitted
    assert list(result.index) == case["terms"]
    assert result.attrs["converged"]
    assert result.attrs["n"] == case["n"] and result.attrs["events"] == case["events"]


@pytest.mark.parametrize("column", ["coef", "se", "p"])
def test_estimates_against_R(fitted, column):
    case, result = fitted
    np.testing.assert_allclose(result[column].to_numpy(float), case[column], rtol=0, atol=TOL)


@pytest.mark.parametrize("column", ["hr_lower", "hr_upper"])
def test_profile_limits_against_R(fitted, column):
    case, result = fitted
    np.testing.assert_allclose(np.log(result[column].to_numpy(float)), np.log(case[column]), rtol=0, atol=TOL)
    np.testing.assert_allclose(result["hr"].to_numpy(float), case["hr"], rtol=TOL)


def test_penalised_loglik_against_R(fitted):
    case, result = fitted
    assert result.attrs["loglik"] == pytest.approx(case["penalised_loglik"], abs=TOL)


def test_reference_cases_include_monotone_likelihood():
    """The reference data really are the hard case: the ordinary estimate runs off (|coef| > 10) or is NA."""
    ordinary = CASES["no_events_in_group"]["ordinary_coef"][0]
    assert abs(ordinary) > 10
    assert CASES["one_patient_level"]["ordinary_coef"][0] is None
    frame = reference_frame("no_events_in_group")
    assert not fit_cox(frame, "time", "status", ["group"], ties="breslow")["estimable"].iloc[0]
    firth = firth_cox(frame, "time", "status", ["group"])
    assert np.isfinite(firth[["hr", "hr_lower", "hr_upper"]].to_numpy(float)).all()


def test_estimate_inside_profile_interval_and_p_agrees_with_interval():
    frame = reference_frame("lung_subset")
    result = firth_cox(frame, "time", "status", ["age", "sex", "ph.ecog"])
    assert ((result["hr_lower"] < result["hr"]) & (result["hr"] < result["hr_upper"])).all()
    excludes_one = (result["hr_lower"] > 1) | (result["hr_upper"] < 1)
    assert ((result["p"] < 0.05) == excludes_one).all()


def test_bad_input_is_a_clear_error():
    frame = pd.DataFrame({"t": [1.0, 2, 3], "e": [0, 0, 0], "x": [1.0, 2, 3]})
    with pytest.raises(InsufficientDataError, match="no events"):
        firth_cox(frame, "t", "e", ["x"])
    collinear = pd.DataFrame({"t": [1.0, 2, 3, 4], "e": [1, 0, 1, 1], "x": [1.0, 2, 3, 4], "y": [2.0, 4, 6, 8]})
    with pytest.raises(InsufficientDataError, match="singular"):
        firth_cox(collinear, "t", "e", ["x", "y"])

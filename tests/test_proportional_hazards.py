"""analysis.proportional_hazards.cox_zph against R survival 3.5 cox.zph (tests/reference/zph_reference.R)."""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.cox import InsufficientDataError
from analysis.proportional_hazards import cox_zph, ph_doubtful

REFERENCE = json.loads((Path(__file__).parent / "reference" / "zph_reference.json").read_text())
TOL = 1e-6
CASES = REFERENCE["cases"]


def frame(name):
    spec = REFERENCE["datasets"][name]
    df = pd.DataFrame({k: v for k, v in spec["columns"].items()})
    for column in df.columns:
        if column not in spec["factors"]:
            df[column] = pd.to_numeric(df[column])
    return df, spec["covariates"]


def values(v):
    return np.array([np.nan if x is None else x for x in v], dtype=float)


def close(actual, expected):
    actual, expected = np.asarray(actual, float), values(expected)
    return np.max(np.abs(actual - expected) / np.maximum(1.0, np.abs(expected)))


@pytest.mark.parametrize("case", CASES, ids=[f"{c['dataset']}-{c['ties']}-{c['transform']}" for c in CASES])
def test_cox_zph_matches_r(case):
    df, covariates = frame(case["dataset"])
    result = cox_zph(df, "time", "event", covariates, ties=case["ties"], transform=case["transform"])
    table = result["table"]
    assert list(table.index) == case["terms"]
    assert close(result["coef"], case["coef"]) < TOL
    assert close(table["chisq"], case["chisq"]) < TOL
    assert list(table["df"]) == case["df"]
    assert close(table["p"], case["p"]) < TOL
    residuals = result["residuals"]
    assert close(result["x"], case["x"]) < TOL
    assert close(result["time"], case["time"]) < TOL
    for term, expected in case["y"].items():
        assert close(residuals[term], expected) < TOL, term


def test_reference_covers_factor_ties_and_transforms():
    assert {c["transform"] for c in CASES} == {"km", "rank", "identity", "log"}
    assert {c["ties"] for c in CASES} == {"efron", "breslow"}
    assert any(max(c["df"][:-1]) > 1 for c in CASES)  # a factor term with several columns


def test_a_wrong_answer_is_detected():
    case = next(c for c in CASES if c["dataset"] == "lung" and c["ties"] == "efron")
    df, covariates = frame("lung")
    other = cox_zph(df, "time", "event", covariates, ties="breslow", transform=case["transform"])
    assert close(other["table"]["chisq"], case["chisq"]) > TOL


def test_doubtful_terms_and_global_excluded():
    table = pd.DataFrame({"chisq": [5.0, 0.1, 6.0], "df": [1, 1, 2], "p": [0.02, 0.7, 0.04]},
                         index=["a", "b", "GLOBAL"])
    assert ph_doubtful(table) == ["a"]


def test_bad_input_gives_clear_errors():
    df = pd.DataFrame({"time": [1.0, 2, 3, 4, 5, 6], "event": [1, 1, 0, 1, 0, 1],
                       "x": [0, 0, 0, 1, 1, 1]})
    with pytest.raises(ValueError, match="transform"):
        cox_zph(df, "time", "event", ["x"], transform="nope")
    with pytest.raises(InsufficientDataError):
        cox_zph(df.assign(event=0), "time", "event", ["x"])
    separated = pd.DataFrame({"time": [1.0, 2, 3, 4, 5, 6], "event": [1, 1, 1, 0, 0, 0],
                              "x": [1, 1, 1, 0, 0, 0]})
    with pytest.raises(InsufficientDataError, match="finite"):
        cox_zph(separated, "time", "event", ["x"])


def test_too_few_events_give_a_clear_error_and_terms_may_be_named_x():
    df = pd.DataFrame({"t": [1.0, 2, 3, 4, 5], "e": [1, 1, 0, 1, 0], "x": [0, 1, 0, 1, 1]})
    result = cox_zph(df, "t", "e", ["x"])
    assert list(result["residuals"].columns) == ["x"] and len(result["x"]) == 3
    with pytest.raises(InsufficientDataError):
        cox_zph(pd.DataFrame({"t": [1.0, 2, 3, 4], "e": [1, 0, 0, 0], "x": [0.5, 1, 0, 2]}), "t", "e", ["x"])

"""Firth-penalised Cox from events and censorings per (covariate pattern, time): R's values (1e-6) and the
patients' fit (1e-8)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.cox import InsufficientDataError
from analysis.firth import firth_cox, firth_cox_from_counts
from tests.test_firth import CASES, TOL, reference_frame

COLUMNS = ["coef", "se", "hr", "hr_lower", "hr_upper", "p"]


def counted(patients: pd.DataFrame, covariates: list[str], time: str, event: str) -> pd.DataFrame:
    """The patients' events and censorings per (covariates, time), as a database GROUP BY gives them."""
    return (patients.assign(n_event=patients[event].astype(int), n_censor=1 - patients[event].astype(int))
            .groupby([*covariates, time], as_index=False, dropna=False)[["n_event", "n_censor"]].sum()
            .rename(columns={time: "time"}))


def assert_same_fit(from_counts: pd.DataFrame, expected: pd.DataFrame, rtol: float = 1e-8):
    assert list(from_counts.index) == list(expected.index)
    np.testing.assert_allclose(from_counts[COLUMNS].to_numpy(float), expected[COLUMNS].to_numpy(float),
                               rtol=rtol, atol=1e-10)
    for key in ("n", "events", "converged"):
        assert from_counts.attrs[key] == expected.attrs[key], key
    assert from_counts.attrs["loglik"] == pytest.approx(expected.attrs["loglik"], rel=1e-10)
    assert list(from_counts[["n", "events"]].iloc[0]) == list(expected[["n", "events"]].iloc[0])


@pytest.mark.parametrize("name", sorted(CASES))
def test_counted_firth_is_the_r_reference(name):
    case = CASES[name]
    frame = reference_frame(case["dataset"]).dropna(subset=[case["duration"], case["event"]])
    counts = counted(frame, case["covariates"], case["duration"], case["event"])
    result = firth_cox_from_counts(counts, case["covariates"])
    assert list(result.index) == case["terms"] and result.attrs["converged"]
    assert result.attrs["n"] == case["n"] and result.attrs["events"] == case["events"]
    for column in ("coef", "se", "p"):
        np.testing.assert_allclose(result[column].to_numpy(float), case[column], rtol=0, atol=TOL)
    for column in ("hr_lower", "hr_upper"):
        np.testing.assert_allclose(np.log(result[column].to_numpy(float)), np.log(case[column]), rtol=0, atol=TOL)
    assert result.attrs["loglik"] == pytest.approx(case["penalised_loglik"], abs=TOL)
    assert_same_fit(result, firth_cox(frame, case["duration"], case["event"], case["covariates"]))


def monotone_cohort(n: int = 4000, seed: int = 7) -> pd.DataFrame:
    """Patients with tied times, a site whose patients have no event (a 0 HR for the ordinary Cox model)."""
    rng = np.random.default_rng(seed)
    site = rng.choice(["arm", "leg", "trunk", "rare"], n, p=[0.45, 0.3, 0.24, 0.01])
    event = np.where(site == "rare", 0, rng.integers(0, 2, n))
    return pd.DataFrame({"time": rng.integers(1, 40, n).astype(float), "event": event, "site": site,
                         "flag": rng.integers(0, 2, n).astype(bool)})


def test_counted_firth_of_a_level_without_events_with_ties_is_the_patients():
    patients = monotone_cohort(n=2000)
    covariates = ["site", "flag"]
    counts = counted(patients, covariates, "time", "event")
    assert (counts[["n_event", "n_censor"]].sum(axis=1) > 1).mean() > 0.5  # rows of several patients
    assert_same_fit(firth_cox_from_counts(counts, covariates), firth_cox(patients, "time", "event", covariates))


def test_counts_in_any_order_split_rows_missing_covariates_and_empty_rows_give_the_same_fit():
    patients = monotone_cohort(n=1500, seed=3).astype({"flag": float})
    patients.loc[patients.index[::9], "flag"] = np.nan
    counts = counted(patients, ["site", "flag"], "time", "event")
    half = counts.assign(n_event=counts["n_event"] // 2, n_censor=counts["n_censor"] // 2)
    split = pd.concat([half, counts.assign(n_event=counts["n_event"] - half["n_event"],
                                           n_censor=counts["n_censor"] - half["n_censor"])],
                      ignore_index=True).sample(frac=1.0, random_state=1)
    result = firth_cox_from_counts(split, ["site", "flag"])
    assert_same_fit(result, firth_cox(patients, "time", "event", ["site", "flag"]))
    dropped = int(patients["flag"].isna().sum())
    assert result.attrs["warnings"][0].startswith(f"{dropped:,} of {len(patients):,} rows dropped")


def test_a_wrong_count_changes_the_fit():
    patients = monotone_cohort(n=1500, seed=5)
    counts = counted(patients, ["site"], "time", "event")
    expected = firth_cox_from_counts(counts, ["site"])["coef"]
    moved = counts.copy()
    moved.loc[moved["n_event"].idxmax(), "n_event"] += 3
    assert not np.allclose(firth_cox_from_counts(moved, ["site"])["coef"], expected, rtol=1e-6)


def test_bad_counts_are_refused_by_name():
    counts = pd.DataFrame({"time": [1.0, 2, 3, 4], "n_event": [1, 1, 0, 1], "n_censor": [0, 1, 2, 0],
                           "x": [0.0, 1, 0, 1]})
    with pytest.raises(ValueError, match="n_censor"):
        firth_cox_from_counts(counts.assign(n_censor=-1), ["x"])
    with pytest.raises(ValueError, match="not found"):
        firth_cox_from_counts(counts.drop(columns="n_censor"), ["x"])
    with pytest.raises(InsufficientDataError, match="no events"):
        firth_cox_from_counts(counts.assign(n_event=0), ["x"])
    with pytest.raises(InsufficientDataError, match="no patient"):
        firth_cox_from_counts(counts.assign(n_event=0, n_censor=0), ["x"])


def test_a_million_patients_converge_where_rounding_keeps_the_steps_above_the_tolerance():
    """With 587,000 events the score's rounding keeps a flat coefficient's steps near 1e-9: the fit stops
    at the precision of its sums (it used to run all MAX_ITER iterations, unconverged, 36 s)."""
    rng = np.random.default_rng(5)
    n = 1_000_000
    site = rng.choice(["L0", "L1", "L2"], n, p=[0.49, 0.49, 0.02])
    event = (rng.random(n) < 0.6).astype(int)
    event[site == "L2"] = 0  # a level without events: its ordinary HR is 0
    counts = (pd.DataFrame({"site": site, "time": np.minimum(rng.exponential(3650 / 3, n), 3650).round(0),
                            "n_event": event, "n_censor": 1 - event})
              .groupby(["site", "time"], as_index=False).sum())
    result = firth_cox_from_counts(counts, ["site"])
    assert result.attrs["converged"] and result.attrs["iterations"] < 50 and not result.attrs["warnings"]
    assert result.attrs["events"] == int(event.sum()) and np.isfinite(result[COLUMNS].to_numpy(float)).all()
    assert result.loc["site[L2]", "hr_upper"] < 0.01  # the level without events: an HR bounded near 0

"""Charts of uploaded tumour measurements, and the shaping that keeps 100,000-patient sources responsive."""
from __future__ import annotations

import numpy as np
import pandas as pd

import charts
from analysis.survival import kaplan_meier
from charts.assessments import PD_THRESHOLD, PR_THRESHOLD
from data.simulate import simulate_cohort
from sarcoma_app.views import prepare


def test_waterfall_bars_run_from_growth_to_shrinkage_with_recist_thresholds():
    best = pd.DataFrame({"patient": ["a", "b", "c"], "best_change": [-40.0, 25.0, 0.0], "response": ["PR", "PD", "SD"]})
    spec = charts.waterfall_plot(best).to_dict()
    bars = spec["layer"][0]
    assert bars["mark"]["type"] == "bar"
    assert bars["encoding"]["x"]["sort"] == ["b", "c", "a"]
    thresholds = {row["value"] for layer in spec["layer"][1:] for sub in layer.get("layer", [layer])
                  for row in spec["datasets"][sub["data"]["name"]]}
    assert {PR_THRESHOLD, PD_THRESHOLD} <= thresholds


def test_spider_plot_draws_one_line_per_patient():
    lines = pd.DataFrame({"patient": ["a", "a", "b", "b"], "time_months": [0.0, 2.0, 0.0, 2.0],
                          "pct_change": [0.0, -35.0, 0.0, 22.0], "response": ["PR", "PR", "PD", "PD"]})
    spec = charts.spider_plot(lines).to_dict()
    line_layer = spec["layer"][0]["layer"][0]
    assert line_layer["mark"]["type"] == "line" and line_layer["encoding"]["detail"]["field"] == "patient"


def test_assessment_frames_take_the_best_change_and_add_a_baseline():
    measurements = pd.DataFrame({"patient_id": ["a", "a", "b", "z"], "time_months": [2.0, 4.0, 2.0, 2.0],
                                 "pct_change": [-20.0, -45.0, 30.0, 10.0]})
    patients = pd.DataFrame({"patient_id": ["a", "b"], "best_response": ["PR", "PD"]})
    best, lines = prepare.assessment_frames(measurements, patients)
    assert best.set_index("patient")["best_change"].to_dict() == {"b": 30.0, "a": -45.0}  # z is not selected
    assert best.attrs["n"] == 2
    assert len(lines[lines["time_months"] == 0]) == 2
    assert set(lines["response"]) == {"PR", "PD"}


def test_assessment_frames_keep_large_cohorts_drawable():
    n = 5_000
    measurements = pd.DataFrame({"patient_id": [f"p{i}" for i in range(n)], "time_months": 2.0,
                                 "pct_change": np.linspace(-100, 80, n)})
    patients = pd.DataFrame({"patient_id": measurements["patient_id"], "best_response": "SD"})
    best, lines = prepare.assessment_frames(measurements, patients)
    assert len(best) == prepare.MAX_WATERFALL_BARS and best.attrs["n"] == n
    assert best["best_change"].max() == 80 and best["best_change"].min() == -100  # the extremes are kept
    assert lines["patient"].nunique() == prepare.MAX_SPIDER_PATIENTS


def test_evenly_spaced_rows_keep_first_and_last():
    frame = pd.DataFrame({"x": range(1000)})
    kept = prepare.evenly_spaced_rows(frame, 60)
    assert len(kept) == 60 and kept["x"].iloc[0] == 0 and kept["x"].iloc[-1] == 999
    assert prepare.evenly_spaced_rows(frame.head(10), 60).equals(frame.head(10))


def test_km_curve_steps_only_at_event_times_and_identical_where_drawn():
    fit = kaplan_meier([1.0, 2.0, 2.5, 3.0, 4.0, 5.0], [1, 0, 0, 1, 0, 1])
    frame = prepare.km_curve_frame({"all": fit})
    assert frame["time"].tolist() == [0.0, 1.0, 3.0, 5.0]  # censor-only times carry no step
    assert not frame.attrs["thinned"]
    table = fit.table.set_index("time")
    for row in frame.iloc[1:].itertuples():
        assert row.survival == table.loc[row.time, "survival"]


def test_km_of_a_100k_cohort_is_drawn_with_a_bounded_number_of_points():
    patients, _ = simulate_cohort(100_000)
    groups = patients["histology_group"]
    fits = {g: kaplan_meier(patients.loc[groups == g, "pfs_months"], patients.loc[groups == g, "pfs_event"])
            for g in sorted(groups.unique())}
    curves = prepare.km_curve_frame(fits)
    assert len(curves) <= prepare.MAX_CURVE_POINTS + len(fits)
    assert curves.attrs["thinned"]
    for group, fit in fits.items():  # the last point of each curve is its last step, exactly
        drawn = curves[curves["group"] == group].iloc[-1]
        assert drawn["time"] == fit.table["time"].iloc[-1]
        assert drawn["survival"] == fit.table["survival"].iloc[-1]
    censors = prepare.km_censor_frame(fits)
    assert censors.empty and censors.attrs["omitted"] > prepare.MAX_CENSOR_MARKS  # a band of crosses hides the curve
    charts.kaplan_meier_plot(curves, censors, prepare.km_risk_frame(fits, prepare.risk_grid(40.0)),
                             list(fits)).to_dict()  # under Altair's 5,000-row limit


def test_a_thinned_curve_is_drawn_within_one_bin_of_the_exact_curve():
    patients, _ = simulate_cohort(100_000, seed=3)
    fit = kaplan_meier(patients["pfs_months"], patients["pfs_event"])
    curve = prepare.km_curve_frame({"all": fit})
    assert curve.attrs["thinned"] and len(curve) <= prepare.MAX_CURVE_STEPS + 1  # and the point at (0, 1)
    steps = fit.table[fit.table["n_event"] > 0]
    exact = lambda t: np.r_[1.0, steps["survival"].to_numpy()][np.searchsorted(steps["time"], t, side="right")]  # noqa: E731
    drawn = lambda t: curve["survival"].to_numpy()[np.searchsorted(curve["time"], t, side="right") - 1]  # noqa: E731
    width = float(fit.time.max()) / prepare.MAX_CURVE_STEPS  # one bin: half a pixel of the 600-pixel plot
    t = np.linspace(0, float(fit.time.max()), 20_001)
    assert np.all(drawn(t) >= exact(t) - 1e-15)  # a drawn step comes at most one bin late, never early
    assert np.all(drawn(t + width) <= exact(t) + 1e-15)
    assert np.any(drawn(t) != exact(t))  # thinned indeed: some steps are moved within their bin

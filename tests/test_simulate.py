"""The simulated registry cohorts of data/simulate.py.

Checks that the generator is deterministic, that its tables have the schema of
the bundled database (the very CREATE TABLE statements of data/build.py, with
their CHECK constraints, and the allowed values of the data dictionary), that
the rows are marked as simulated, that the adverse events agree with the
per-patient counts and worst grades, and that analysis/ recovers the simulated
effects. No timing assertions: speed is measured by bench/run.py.
"""
from __future__ import annotations

import math
import re

import duckdb
import numpy as np
import pandas as pd

from data import registry
import pytest

from analysis.cox import fit_cox
from analysis.response import response_table
from analysis.survival import kaplan_meier_by_group, logrank_table
from data import build
from data import simulate as sim

SIZE = 10_000  # large enough for the effects, small enough for a quick test


@pytest.fixture(scope="module")
def cohort():
    return sim.simulate_cohort(SIZE)


@pytest.fixture(scope="module")
def dictionary():
    return registry.dictionary_rows().set_index("column")


# --------------------------------------------------------------------------
# determinism
# --------------------------------------------------------------------------
def test_same_seed_gives_identical_tables():
    first = sim.simulate_cohort(3_000, seed=11)
    second = sim.simulate_cohort(3_000, seed=11)
    pd.testing.assert_frame_equal(first[0], second[0])
    pd.testing.assert_frame_equal(first[1], second[1])


def test_other_seed_gives_other_patients():
    first, _ = sim.simulate_cohort(3_000, seed=11)
    other, _ = sim.simulate_cohort(3_000, seed=12)
    assert not first["pfs_months"].equals(other["pfs_months"])
    assert other["source"].iloc[0] == "simulated by data/simulate.py (seed 12); not real patients"


def test_default_seed_is_documented():
    assert sim.DEFAULT_SEED == 20261121
    patients, _ = sim.simulate_cohort(10)
    assert "(seed 20261121)" in patients["source"].iloc[0]


@pytest.mark.parametrize("bad", [0, -5, 2.5, "100", True, None])
def test_invalid_size_is_refused(bad):
    with pytest.raises(ValueError, match="n_patients"):
        sim.simulate_cohort(bad)


@pytest.mark.parametrize("bad", [None, -1, 1.5])
def test_seed_must_make_the_data_reproducible(bad):
    with pytest.raises(ValueError, match="seed"):
        sim.simulate_cohort(10, seed=bad)


def test_a_single_patient_works():
    patients, events = sim.simulate_cohort(1)
    assert len(patients) == 1
    assert len(events) == int(patients["n_adverse_events"].iloc[0])


# --------------------------------------------------------------------------
# schema: the database's own DDL and the data dictionary
# --------------------------------------------------------------------------
def test_columns_are_those_of_the_dictionary(cohort, dictionary):
    patients, events = cohort
    assert list(patients.columns) == list(dictionary.index)
    ae_dictionary = pd.read_csv(build.SOURCES_DIR / "data_dictionary.csv", dtype=str, keep_default_na=False)
    assert list(events.columns) == list(ae_dictionary.loc[ae_dictionary["table"] == "adverse_events", "column"])


def test_dtypes_follow_the_dictionary(cohort, dictionary):
    patients, events = cohort
    expected = {"text": "object", "integer": "Int32", "double": "float64", "boolean": "boolean"}
    for column, spec in dictionary.iterrows():
        want = "bool" if column == "evaluable" else expected[spec["type"]]  # NOT NULL in the database
        assert str(patients[column].dtype) == want, column
    assert str(events["grade"].dtype) == "Int32"


def test_tables_load_into_the_database_schema_with_its_checks(cohort):
    """CREATE TABLE statements of data/build.py (types, keys, CHECKs) accept the rows unchanged."""
    patients, events = cohort
    con = duckdb.connect(":memory:")
    for table in ("studies", "patients", "adverse_events"):
        con.execute(f"CREATE TABLE {table} ({build.SCHEMA[table]})")
    studies = sim.study_record(patients)
    for table, frame in (("studies", studies), ("patients", patients), ("adverse_events", events)):
        con.register("incoming", frame)
        con.execute(f"INSERT INTO {table} SELECT * FROM incoming")
        con.unregister("incoming")
    assert con.execute("SELECT count(*) FROM patients").fetchone()[0] == SIZE
    round_trip = con.execute("SELECT * FROM patients ORDER BY patient_id").df()
    # what a page gets back from DuckDB is what the generator returned (DuckDB gives a column
    # without NULLs the non-nullable dtype: int32 for Int32, bool for boolean)
    expected = patients.sort_values("patient_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(round_trip, expected, check_dtype=False)
    nullable = {"int32": "Int32", "bool": "boolean"}
    for column in expected.columns:
        got, want = str(round_trip[column].dtype), str(expected[column].dtype)
        assert got == want or (nullable.get(got) == want and expected[column].notna().all()), column


def _allowed(spec: str):
    """(options or None, null allowed, (low, high) or None) from an allowed_values cell."""
    spec = spec.strip()
    if " | " in spec:
        options = [part.strip() for part in spec.split(" | ")]
        return ([o for o in options if not o.startswith("NULL")], any(o.startswith("NULL") for o in options), None)
    match = re.fullmatch(r"(\d+)-(\d+)", spec) or re.fullmatch(r"(\d+)\+", spec) or re.fullmatch(r">= (\d+)", spec)
    if match:
        low = float(match.group(1))
        high = float(match.group(2)) if match.re.pattern.startswith(r"(\d+)-") else math.inf
        return None, True, (low, high)
    return None, True, None


def test_values_are_allowed_by_the_dictionary(cohort, dictionary):
    patients, _ = cohort
    checked = set()
    for column, spec in dictionary.iterrows():
        options, null_allowed, bounds = _allowed(spec["allowed_values"])
        values = patients[column]
        present = values.dropna()
        if options is not None:
            if spec["type"] == "boolean":
                options = [o == "true" for o in options]
            assert set(present.unique()) <= set(options), column
            checked.add(column)
        if bounds is not None:
            assert present.between(*bounds).all(), column
            checked.add(column)
        if options is not None and not null_allowed and column != "sex":  # sex: "NULL where not stated"
            assert values.notna().all(), column
    assert {"sex", "primary_site_group", "stage", "pazopanib", "evaluable", "best_response", "treatment_status",
            "died", "age", "ecog", "prior_lines", "pfs_months", "n_adverse_events", "worst_ae_grade"} <= checked
    assert set(patients["pfs_event"].unique()) == {0, 1}


def test_histology_and_site_agree_with_the_glossary_and_site_groups(cohort):
    patients, _ = cohort
    glossary = pd.read_csv(build.SOURCES_DIR / "histology_glossary.csv", dtype=str).set_index("histology_code")
    assert (patients["histology"] == patients["histology_code"].map(glossary["histology"])).all()
    assert (patients["histology_group"] == patients["histology_code"].map(glossary["histology_group"])).all()
    sites = pd.read_csv(build.SOURCES_DIR / "primary_site_groups.csv", dtype=str).set_index("primary_site")
    assert (patients["primary_site_group"] == patients["primary_site"].map(sites["primary_site_group"])).all()
    assert patients["histology_group"].nunique() == len(sim.HISTOLOGY_GROUP_HAZARD_RATIOS)
    assert (patients.loc[patients["primary_site"].isin(["Uterus", "Vulva"]), "sex"] == "Female").all()


def test_patient_level_consistency(cohort):
    patients, _ = cohort
    evaluable = patients["evaluable"]
    assert patients.loc[evaluable, "best_response"].notna().all()
    assert patients.loc[~evaluable, "best_response"].isna().all()
    assert patients.loc[~evaluable, "not_evaluable_reason"].notna().all()
    assert patients.loc[evaluable, "not_evaluable_reason"].isna().all()
    # PD = progression before the first assessment: always an observed event
    pd_rows = patients["best_response"] == "PD"
    assert (patients.loc[pd_rows, "pfs_event"] == 1).all()
    assert (patients.loc[pd_rows, "pfs_months"] <= sim.FIRST_ASSESSMENT_MONTHS).all()
    assert (patients["pfs_months"] > 0).all() and patients["pfs_months"].notna().all()
    assert (patients.loc[patients["stage"] == "Unresectable", "metastatic_site"].isna()).all()
    assert (patients["cycles_to_progression"].notna() == (patients["pfs_event"] == 1)).all()
    assert patients["weeks_on_nivolumab_derived"].isna().all()  # not a nivolumab regimen
    assert 0.02 < patients["pazopanib"].isna().mean() < 0.08  # some pazopanib status unknown
    assert 0.3 < patients["pazopanib"].mean() < 0.5


# --------------------------------------------------------------------------
# marked as simulated
# --------------------------------------------------------------------------
def test_rows_say_they_are_simulated(cohort):
    patients, events = cohort
    assert (patients["study_id"] == "simulated_10k").all()
    assert (events["study_id"] == "simulated_10k").all()
    assert patients["source"].str.contains("simulated by data/simulate.py").all()
    assert patients["source"].str.contains("not real patients").all()
    assert events["source"].str.contains("not real patients").all()
    assert patients["patient_id"].is_unique
    assert patients["patient_id"].str.fullmatch(r"SIM-\d{7}").all()
    assert patients["patient_id"].iloc[0] == "SIM-0000001"
    assert patients["patient_label"].str.startswith("Simulated").all()
    study = sim.study_record(patients)
    assert study["study_id"].iloc[0] == "simulated_10k"
    assert "SIMULATED" in study["title_as_given"].iloc[0]
    assert study["n_treated"].iloc[0] == SIZE and study["n_evaluable"].iloc[0] == patients["evaluable"].sum()


@pytest.mark.parametrize("n, label", [(1_000, "1k"), (100_000, "100k"), (1_000_000, "1m"), (2_500, "2500"),
                                      (12_000, "12k")])
def test_study_label(n, label):
    assert sim.study_label(n) == label


def test_custom_label():
    patients, events = sim.simulate_cohort(50, label="demo")
    assert set(patients["study_id"]) == {"simulated_demo"}
    assert all("simulated" in study for study in set(events["study_id"]))


def test_simulating_does_not_touch_the_bundled_sources(tmp_path):
    before = build.sources_digest()
    patients, events = sim.simulate_cohort(200)
    sim.write_cohort(patients, events, tmp_path, "csv")
    assert build.sources_digest() == before


# --------------------------------------------------------------------------
# adverse events
# --------------------------------------------------------------------------
def test_adverse_events_match_counts_and_worst_grades(cohort):
    patients, events = cohort
    assert set(events["patient_id"]) <= set(patients["patient_id"])
    counts = events.groupby("patient_id").size().reindex(patients["patient_id"], fill_value=0)
    assert (counts.to_numpy() == patients["n_adverse_events"].to_numpy()).all()
    worst = events.groupby("patient_id")["grade"].max().reindex(patients["patient_id"])
    np.testing.assert_array_equal(worst.to_numpy(dtype=float, na_value=np.nan),
                                  patients["worst_ae_grade"].to_numpy(dtype=float, na_value=np.nan))
    assert (patients["worst_ae_grade"].isna() == (patients["n_adverse_events"] == 0)).all()
    assert 0.05 < (patients["n_adverse_events"] == 0).mean() < 0.35


def test_adverse_event_terms_grades_and_deaths(cohort):
    patients, events = cohort
    spec = pd.DataFrame(sim.AE_TERMS, index=["term_group", "weight", "weight_pazopanib", "max_grade"]).T
    assert set(events["term"]) <= set(spec.index)
    assert (events["term_group"] == events["term"].map(spec["term_group"])).all()
    assert (events["grade"] <= events["term"].map(spec["max_grade"]).astype(int)).all()
    assert events["grade"].between(1, 5).all()
    # a fatal AE ends PFS with an event, and the patient is recorded as dead
    assert patients["died"].dropna().all()
    assert (patients["died"].fillna(False) == (patients["worst_ae_grade"] == 5).fillna(False)).all()
    assert (patients.loc[patients["worst_ae_grade"] == 5, "pfs_event"] == 1).all()


def test_pazopanib_adds_adverse_events(cohort):
    patients, events = cohort
    mean = patients.groupby("pazopanib")["n_adverse_events"].mean()
    assert 1.3 < mean[True] / mean[False] < 2.0
    on = set(patients.loc[patients["pazopanib"].fillna(False), "patient_id"])
    hypertension = events[events["term"] == "Hypertension"]
    share_on = hypertension["patient_id"].isin(on).mean()
    assert share_on > 0.6  # 40% of patients, most of the hypertension


# --------------------------------------------------------------------------
# the simulated effects are recovered by analysis/
# --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def true_model_fit(cohort):
    patients, _ = cohort
    groups = [sim.REFERENCE_HISTOLOGY_GROUP] + sorted(
        g for g in sim.HISTOLOGY_GROUP_HAZARD_RATIOS if g != sim.REFERENCE_HISTOLOGY_GROUP)
    data = patients.assign(histology_group=pd.Categorical(patients["histology_group"], categories=groups),
                           pfs_event=patients["pfs_event"].astype(int))
    # 99% Wald intervals, Bonferroni over the 10 histology terms for those
    covariates = ["histology_group", "pazopanib", "ecog", "prior_lines", "age", "sex"]
    return (fit_cox(data, "pfs_months", "pfs_event", covariates, alpha=0.01),
            fit_cox(data, "pfs_months", "pfs_event", covariates, alpha=0.001))


@pytest.mark.parametrize("term, truth", [
    ("pazopanib", sim.PAZOPANIB_HAZARD_RATIO),
    ("ecog", sim.ECOG_HAZARD_RATIO_PER_POINT),
    ("prior_lines", sim.PRIOR_LINE_HAZARD_RATIO),
    ("age", 1.0),
    ("sex[Male]", 1.0),
])
def test_cox_recovers_the_simulated_hazard_ratio(true_model_fit, term, truth):
    table = true_model_fit[0]
    assert table.loc[term, "hr_lower"] <= truth <= table.loc[term, "hr_upper"]


def test_cox_detects_the_pazopanib_effect(true_model_fit):
    table = true_model_fit[0]
    assert table.loc["pazopanib", "hr_upper"] < 1  # not only compatible: clearly protective
    assert table.attrs["n"] < SIZE  # rows with unknown pazopanib or age dropped (na.omit)


def test_cox_recovers_the_histology_hazard_ratios(true_model_fit):
    table = true_model_fit[1]
    for group, truth in sim.HISTOLOGY_GROUP_HAZARD_RATIOS.items():
        if group == sim.REFERENCE_HISTOLOGY_GROUP:
            continue
        row = table.loc[f"histology_group[{group}]"]
        assert row["hr_lower"] <= truth <= row["hr_upper"], group


def test_response_is_associated_with_pfs(cohort):
    patients, _ = cohort
    evaluable = patients[patients["evaluable"]]
    fits = kaplan_meier_by_group(evaluable["pfs_months"], evaluable["pfs_event"].astype(int),
                                 evaluable["best_response"]).fits
    assert fits["PD"].median < fits["SD"].median < fits["PR"].median
    test = logrank_table(evaluable["pfs_months"], evaluable["pfs_event"].astype(int), evaluable["best_response"])
    assert test.p_value < 1e-10


def test_response_and_censoring_rates_are_plausible(cohort):
    patients, _ = cohort
    overall = response_table(patients).iloc[-1]
    assert 0.10 < overall["orr"] < 0.25
    assert 0.55 < overall["dcr"] < 0.80
    assert 0.05 < 1 - patients["pfs_event"].mean() < 0.25  # censored
    by_pazopanib = response_table(patients.dropna(subset=["pazopanib"]), group_col="pazopanib")
    rates = by_pazopanib.set_index("group")["orr"]
    assert rates[True] > rates[False]  # pazopanib lengthens PFS, so more responses


def test_times_are_mostly_distinct_by_default_and_rounded_on_request():
    patients, _ = sim.simulate_cohort(SIZE)
    assert patients["pfs_months"].nunique() / SIZE > 0.95
    tied, _ = sim.simulate_cohort(SIZE, time_decimals=2)
    assert np.allclose(tied["pfs_months"] * 100, np.round(tied["pfs_months"] * 100))
    assert (tied["pfs_months"] >= 0.01).all()


# --------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------
def test_command_line_writes_csv(tmp_path, capsys):
    assert sim.main(["--patients", "500", "--out", str(tmp_path), "--format", "csv", "--seed", "3"]) == 0
    assert "simulated 500 patients" in capsys.readouterr().out
    patients = pd.read_csv(tmp_path / "patients.csv", dtype=str, keep_default_na=False)
    studies = pd.read_csv(tmp_path / "studies.csv", dtype=str, keep_default_na=False)
    assert len(patients) == 500 and set(patients["study_id"]) == {"simulated_500"}
    assert set(patients["pazopanib"]) == {"true", "false", ""}  # as data/sources: NULL is an empty cell
    assert studies["study_id"].tolist() == ["simulated_500"]
    events = pd.read_csv(tmp_path / "adverse_events.csv")
    assert len(events) == pd.to_numeric(patients["n_adverse_events"]).sum()


def test_parquet_keeps_the_dtypes(tmp_path):
    pytest.importorskip("pyarrow")
    patients, events = sim.simulate_cohort(300)
    written = sim.write_cohort(patients, events, tmp_path, "parquet")
    assert [p.name for p in written] == ["patients.parquet", "adverse_events.parquet", "studies.parquet"]
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "patients.parquet"), patients)

"""Published results of both seeds recomputed from the bundled patients."""
import duckdb
import pandas as pd
import pytest

from analysis.reconcile import DIFFERS, NOT_COMPUTABLE, REPRODUCED, REPRODUCED_UNDER_ASSUMPTION, reconcile
from data import build


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    path = build.build(tmp_path_factory.mktemp("db") / "reconcile.duckdb")
    with duckdb.connect(str(path), read_only=True) as con:
        return (con.sql("SELECT * FROM published_results").df(), con.sql("SELECT * FROM patients").df(),
                con.sql("SELECT * FROM studies").df(), con.sql("SELECT * FROM patient_value_sources").df())


@pytest.fixture(scope="module")
def reconciled(tables):
    published, patients, studies, assumptions = tables
    return reconcile(published, patients, studies=studies, assumptions=assumptions).set_index("result_id")


@pytest.mark.parametrize("result_id", [
    "nab_orr", "nab_dcr", "nab_pfs_4m", "nab_pfs_6m", "nab_n_cr", "nab_n_pr", "nab_n_sd", "nab_n_pd", "nivo_cbr",
    "nivo_n_pr", "nivo_n_sd", "nivo_n_pd", "nivo_n_evaluable", "nivo_n_pazopanib",
])
def test_published_number_is_reproduced(reconciled, result_id):
    row = reconciled.loc[result_id]
    assert row["status"] == REPRODUCED, row["explanation"]


@pytest.mark.parametrize("result_id", ["nab_median_pfs", "nab_hr_angiosarcoma", "nab_hr_head"])
def test_published_number_is_reproduced_only_under_a_named_assumption(reconciled, result_id):
    row = reconciled.loc[result_id]
    assert row["status"] == REPRODUCED_UNDER_ASSUMPTION and row["assumption"], row["explanation"]


def test_seed_002_headline_figures_to_printed_precision(reconciled):
    def rounded(result_id, decimals):
        row = reconciled.loc[result_id]
        return [round(row[f"recomputed_{q}"], decimals) for q in ("estimate", "ci_lower", "ci_upper")]
    assert rounded("nab_orr", 3) == [0.25, 0.107, 0.449]
    assert rounded("nab_dcr", 3) == [0.5, 0.306, 0.694]
    assert rounded("nab_median_pfs", 2) == [2.25, 1.8, 3.0]
    assert rounded("nab_pfs_4m", 3) == [0.179, 0.081, 0.395]
    assert rounded("nab_pfs_6m", 3) == [0.071, 0.019, 0.272]
    assert rounded("nab_hr_angiosarcoma", 2) == [0.2, 0.06, 0.7]
    assert round(reconciled.loc["nab_hr_angiosarcoma", "recomputed_p_value"], 3) == 0.012
    assert round(reconciled.loc["nab_hr_head", "recomputed_p_value"], 3) == 0.048


@pytest.mark.parametrize("result_id, missing", [
    ("nab_hr_ae3", "n_adverse_events"),
    ("nivo_n_grade34_safety", "worst_ae_grade"),
])
def test_not_computable_says_what_is_missing(reconciled, result_id, missing):
    row = reconciled.loc[result_id]
    assert row["status"] == NOT_COMPUTABLE
    assert missing in row["explanation"]


def test_a_wrong_published_number_is_flagged(tables):
    published, patients, _, _ = tables
    tampered = published[published.result_id == "nab_median_pfs"].assign(estimate=2.0)
    row = reconcile(tampered, patients).iloc[0]
    assert row["status"] == DIFFERS
    assert "published 2" in row["explanation"] and "2.25" in row["explanation"]


def test_head_hazard_ratio_against_all_other_sites_differs(tables):
    published, patients, _, _ = tables
    versus_rest = published[published.result_id == "nab_hr_head"].assign(alternative_reference_level=None)
    row = reconcile(versus_rest, patients).iloc[0]
    assert row["status"] == DIFFERS  # recorded as conflict C13


def test_missing_study_is_not_computable(tables):
    published, patients, _, _ = tables
    row = reconcile(published.head(1), patients[patients.study_id != "nab_paclitaxel_sintilimab"]).iloc[0]
    assert row["status"] == NOT_COMPUTABLE and "no patients" in row["explanation"]

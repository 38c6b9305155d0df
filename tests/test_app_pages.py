"""Every page under Streamlit's AppTest: no exception, key numbers, URL state, tampered links.

Expected numbers come from the published results stored in the database or
from the analysis API applied to data read straight from DuckDB - never from
numbers our own code printed before.
"""
from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analysis.response import proportion_ci, response_table
from analysis.survival import kaplan_meier
from data.build import ensure_database
from tests.apptest_helpers import run_app, caption

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["pages/overview.py", "pages/response.py", "pages/survival.py", "pages/hazard-ratios.py",
         "pages/adverse-events.py", "pages/patients.py", "pages/data-methods.py"]
NAB = "nab_paclitaxel_sintilimab"


def sql(statement: str, parameters: tuple = ()) -> pd.DataFrame:
    """Read the bundled database directly (independent of the app's code)."""
    with duckdb.connect(str(ensure_database()), read_only=True) as con:
        return con.execute(statement, list(parameters)).df()


def published(result_id: str) -> pd.Series:
    return sql("SELECT * FROM published_results WHERE result_id = ?", (result_id,)).iloc[0]


def percent_ci(estimate: float, lower: float, upper: float) -> str:
    return f"{100 * estimate:.1f}% ({100 * lower:.1f}–{100 * upper:.1f})"


def all_frames(at: AppTest) -> list[pd.DataFrame]:
    return [d.value for d in at.dataframe]


def frame_with_column(at: AppTest, column: str) -> pd.DataFrame:
    matches = [f for f in all_frames(at) if column in f.columns]
    assert matches, f"no table with column {column!r}"
    return matches[0]


def overview_column(at: AppTest, study: str) -> pd.Series:
    """One study's column of the overview's headline table, indexed by quantity."""
    return frame_with_column(at, study).set_index("Per study")[study]


def warnings_text(at: AppTest) -> str:
    return "\n".join(w.value for w in at.warning)


@pytest.fixture(scope="module")
def n_all() -> int:
    return int(sql("SELECT count(*) AS n FROM patients")["n"].iloc[0])


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_and_shows_the_caption(page, n_all):
    at = run_app(page=page)
    assert caption(at) == f"Showing {n_all} of {n_all} patients"
    assert at.title[0].value  # the page has its title ...
    assert at.markdown[0].value.startswith("##### ")  # ... and its question as subtitle
    assert not at.query_params or all(v in ("", []) for v in at.query_params.values())  # defaults: clean URL


def test_bundled_data_have_56_patients(n_all):
    assert n_all == 56


def test_pazopanib_link_gives_18_of_56():
    expected = int(sql("SELECT count(*) AS n FROM patients WHERE pazopanib")["n"].iloc[0])
    assert expected == 18  # 14 evaluable + 4 not evaluable (derived: Fig. 1a and the Discussion)
    at = run_app({"pazopanib": "yes"})
    assert caption(at) == "Showing 18 of 56 patients"


@pytest.mark.parametrize("page", PAGES)
def test_filters_carry_across_page_switches(page):
    at = run_app({"pazopanib": "yes", "ci": "wilson"})
    at.switch_page(page).run()
    assert not at.exception
    assert caption(at) == "Showing 18 of 56 patients"
    assert at.query_params.get("pazopanib") in ("yes", ["yes"])
    assert at.query_params.get("ci") in ("wilson", ["wilson"])


def test_overview_reproduces_the_published_nab_paclitaxel_numbers():
    at = run_app({"study": NAB})
    row = overview_column(at, "Nab-paclitaxel + sintilimab")
    orr, dcr, median = published("nab_orr"), published("nab_dcr"), published("nab_median_pfs")
    assert row["ORR % (95% CI)"] == percent_ci(orr["estimate"], orr["ci_lower"], orr["ci_upper"])
    assert row["ORR % (95% CI)"] == "25.0% (10.7–44.9)"
    assert row["DCR % (95% CI)"] == percent_ci(dcr["estimate"], dcr["ci_lower"], dcr["ci_upper"])
    assert row["ORR n/N"] == f"{orr['numerator']}/{orr['denominator']}"
    assert row["Median PFS, months (95% CI)"] == (f"{median['estimate']:.2f} ({median['ci_lower']:.2f}–"
                                                  f"{median['ci_upper']:.2f})")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Median PFS"] == "2.25"
    assert metrics["ORR"] == "25.0%"


def test_overview_states_pfs_is_only_published_for_nab_paclitaxel():
    at = run_app()
    # the reason prepare.endpoint_data gives (the page used prepare.pfs_data's "PFS not published" before)
    assert overview_column(at, "Nivolumab ± pazopanib")["Median PFS, months (95% CI)"] == "PFS time not recorded"


def test_overview_rates_follow_the_chosen_denominator_and_ci_method():
    at = run_app({"study": "nivolumab_pazopanib", "denominator": "evaluable", "ci": "jeffreys"})
    patients = sql("SELECT * FROM patients WHERE study_id = ?", ("nivolumab_pazopanib",))
    expected = response_table(patients, denominator="evaluable", method="jeffreys").iloc[-1]
    row = overview_column(at, "Nivolumab ± pazopanib")
    assert row["DCR % (95% CI)"] == percent_ci(expected["dcr"], expected["dcr_lower"], expected["dcr_upper"])
    assert row["DCR n/N"] == "12/24"  # published: 12 of 24 evaluable had clinical benefit
    assert row["Denominator"] == "24 evaluable"


def test_response_table_matches_the_analysis_api_by_study():
    at = run_app({"response_by": "study"}, page="pages/response.py")
    table = frame_with_column(at, "ORR % (95% CI)").set_index("Group")
    for study_id, label in [(NAB, "Nab-paclitaxel + sintilimab"), ("nivolumab_pazopanib", "Nivolumab ± pazopanib")]:
        patients = sql("SELECT * FROM patients WHERE study_id = ?", (study_id,))
        k = int(patients["best_response"].isin(["CR", "PR"]).sum())
        estimate, lower, upper = proportion_ci(k, len(patients))
        assert table.loc[label, "ORR % (95% CI)"] == percent_ci(estimate, lower, upper)
    assert "pooled" in " ".join(table.index)  # the all-patients row says it pools regimens


def test_response_page_offers_fisher_tests_and_adjusted_subgroup_p_values():
    at = run_app({"study": NAB}, page="pages/response.py")
    assert any("p" in f.columns and "Test" in f.columns for f in all_frames(at))
    forest = frame_with_column(at, "p adjusted (BH)")
    assert len(forest) > 1


def test_survival_page_reproduces_seed_002_table_3():
    at = run_app({"study": NAB}, page="pages/survival.py")
    table = frame_with_column(at, "Median, months (95% CI)").iloc[0]
    median, at4, at6 = published("nab_median_pfs"), published("nab_pfs_4m"), published("nab_pfs_6m")
    assert table["Median, months (95% CI)"] == f"{median['estimate']:.2f} ({median['ci_lower']:.2f}–{median['ci_upper']:.2f})"
    assert table["PFS at 4 mo (95% CI) · at risk"].startswith(
        percent_ci(at4["estimate"], at4["ci_lower"], at4["ci_upper"]) + " · ")
    assert table["PFS at 6 mo (95% CI) · at risk"].startswith(
        percent_ci(at6["estimate"], at6["ci_lower"], at6["ci_upper"]) + " · ")
    assert table["Patients"] == 28 and table["Events"] == 28


def test_survival_page_says_how_many_patients_were_excluded_and_why():
    at = run_app(page="pages/survival.py")
    info = "\n".join(i.value for i in at.info)
    assert "28 of 56 selected patients are analysable" in info
    assert "PFS time not recorded" in info


def test_survival_groups_and_log_rank_match_the_analysis_api():
    at = run_app({"study": NAB, "km_by": "histology_group", "conf_type": "log-log"}, page="pages/survival.py")
    medians = frame_with_column(at, "Median, months (95% CI)").set_index("Group")
    patients = sql("SELECT * FROM patients WHERE study_id = ? AND histology_group = ?", (NAB, "Angiosarcoma"))
    fit = kaplan_meier(patients["pfs_months"].astype(float), patients["pfs_event"].astype(int), conf_type="log-log")
    lower, upper = fit.median_ci
    as_text = lambda v: "NR" if v != v else f"{v:.2f}"  # noqa: E731
    assert medians.loc["Angiosarcoma", "Median, months (95% CI)"] == (
        f"{as_text(fit.median)} ({as_text(lower)}–{as_text(upper)})")
    assert medians.loc["Angiosarcoma", "Events"] == fit.n_events
    assert any("Observed events" in f.columns for f in all_frames(at))
    assert any("p =" in m.value for m in at.markdown)


def test_hazard_ratio_page_reproduces_seed_002_angiosarcoma():
    at = run_app({"study": NAB}, page="pages/hazard-ratios.py")
    table = frame_with_column(at, "HR (95% CI)").set_index("Characteristic")
    hr = published("nab_hr_angiosarcoma")
    row = table.loc["Angiosarcoma vs other subtypes"]
    assert row["HR (95% CI)"] == f"{hr['estimate']:.2f} ({hr['ci_lower']:.2f}–{hr['ci_upper']:.2f})"
    assert row["HR (95% CI)"] == "0.20 (0.06–0.70)"
    assert row["p (Wald)"] == f"{hr['p_value']:.3f}" == "0.012"


def test_hazard_ratio_page_warns_about_few_events_per_covariate():
    at = run_app({"study": NAB, "cox_terms": "angiosarcoma,primary_site"}, page="pages/hazard-ratios.py")
    assert "events per covariate term" in warnings_text(at)


def test_adverse_events_page_shows_published_tables_as_published():
    at = run_app(page="pages/adverse-events.py")
    n_null = int(sql("SELECT count(*) AS n FROM published_adverse_events WHERE n_patients IS NULL")["n"].iloc[0])
    published_tables = [f for f in all_frames(at) if any(str(c).startswith("Grade 1-2 ·") for c in f.columns)]
    assert len(published_tables) == int(sql("SELECT count(DISTINCT study_id) AS n FROM published_adverse_events")["n"].iloc[0])
    shown = sum(int(f.astype(str).apply(lambda column: column.str.startswith("not reported")).to_numpy().sum())
                for f in published_tables)
    assert shown == n_null
    untied = sql("SELECT count(DISTINCT patient_ref) AS n FROM adverse_events WHERE patient_id IS NULL")
    assert f"{int(untied['n'].iloc[0])} patients are not tied to a patient" in warnings_text(at)


def test_adverse_event_counts_follow_the_filter():
    at = run_app({"pazopanib": "no"}, page="pages/adverse-events.py")
    tied = sql("SELECT a.* FROM adverse_events a JOIN patients p USING (patient_id) WHERE NOT p.pazopanib")
    counts = [f for f in all_frames(at) if "Any grade (incl. grade not stated)" in f.columns]
    if tied.empty:
        assert not counts
        assert any("None of the selected patients" in i.value for i in at.info)
    else:
        assert counts


def test_patients_page_lists_the_filtered_patients_with_provenance():
    at = run_app({"histology_group": "Angiosarcoma"}, page="pages/patients.py")
    expected = sql("SELECT patient_id FROM patients WHERE histology_group = ? ORDER BY patient_id", ("Angiosarcoma",))
    table = frame_with_column(at, "Derived values")
    assert sorted(table["Patient ID"]) == expected["patient_id"].tolist()
    assert any("Derived?" in f.columns for f in all_frames(at))


def test_data_page_lists_every_source_conflict():
    at = run_app(page="pages/data-methods.py")
    n_conflicts = int(sql("SELECT count(*) AS n FROM source_conflicts")["n"].iloc[0])
    assert len(frame_with_column(at, "Value used")) == n_conflicts


@pytest.mark.parametrize("query", [
    {"pazopanib": "maybe"},
    {"ci": "<script>alert(1)</script>"},
    {"histology": "'; DROP TABLE patients; --"},
    {"landmarks": "abc,-4"},
    {"nonsense": "1"},
])
def test_tampered_link_gives_a_warning_not_an_exception(query):
    at = run_app(query)
    (parameter, value), = query.items()
    text = warnings_text(at)
    assert f"**{parameter}**" in text
    assert caption(at) == "Showing 56 of 56 patients"
    assert parameter not in at.query_params  # the bad value is dropped from the URL


def test_tampered_value_is_named_in_the_warning():
    at = run_app({"pazopanib": "maybe"})
    assert "maybe" in warnings_text(at)


def test_changing_a_filter_updates_caption_and_url():
    at = run_app()
    pazopanib = next(w for w in at.sidebar.multiselect if w.label == "Pazopanib co-treatment")
    assert any(option.startswith("yes (18)") for option in pazopanib.options)  # counts beside each option
    pazopanib.select("yes").run()
    assert caption(at) == "Showing 18 of 56 patients"
    assert at.query_params.get("pazopanib") in ("yes", ["yes"])
    at.switch_page("pages/survival.py").run()
    assert caption(at) == "Showing 18 of 56 patients"


def test_filter_on_a_column_a_study_lacks_is_announced():
    at = run_app({"ecog": "0"})
    text = warnings_text(at)
    assert "ECOG performance status" in text and "Nivolumab ± pazopanib" in text


@pytest.mark.parametrize("query", [
    {"study": NAB, "pazopanib": "yes"},                      # nobody
    {"histology": "Angiosarcoma", "response": "CR"},          # one patient, one event
    {"study": "nivolumab_pazopanib"},                        # no PFS at all
    {"histology_group": "Angiosarcoma", "km_by": "best_response", "cox_terms": "histology_group"},  # tiny groups
    {"response": "NE"},                                      # not evaluable only
])
@pytest.mark.parametrize("page", PAGES)
def test_edge_selections_never_raise(query, page):
    at = run_app(query, page=page)
    assert caption(at).startswith("Showing ")

"""Reproducible code: each view's snippet, run on the CSV the app offers, gives the page's numbers.

The Python snippet is executed in a fresh namespace in a temporary directory
holding the filtered-patients CSV (written exactly as the app's download);
its table is compared with what the page computes through the analysis API
for the same filter. Where Rscript is installed, the R snippet is run too and
its medians, landmark rates, log-rank statistic and hazard ratios are compared
with the page's at 1e-6.
"""
from __future__ import annotations

import ast
import math
import shutil
import subprocess
from dataclasses import replace

import duckdb
import numpy as np
import pandas as pd
import pytest

from analysis.cox import fit_cox, univariate_cox
from analysis.reconcile import reconcile
from analysis.survival import kaplan_meier_by_group, logrank_table
from data.build import ensure_database
from sarcoma_app.exports import downloads, snippets
from sarcoma_app.sources import filter_sql
from sarcoma_app.views import prepare
from data import registry
from data.registry import GROUPING_KEYS
from sarcoma_app.views.covariates import COVARIATES, covariate_frame, offered
from sarcoma_app.views import hazard_ratios as hazard_ratios_view
from sarcoma_app.views import overview as overview_view
from sarcoma_app.views import published as published_view
from sarcoma_app.views import subtype as subtype_view
from sarcoma_app.views import response as response_view
from sarcoma_app.views import survival as survival_view
from sarcoma_app.views.blocks import views_of
from sarcoma_app.viewstate.url_state import FilterState, MethodState

NAB = "nab_paclitaxel_sintilimab"
RSCRIPT = shutil.which("Rscript")
needs_r = pytest.mark.skipif(RSCRIPT is None, reason="Rscript is not installed")
TOL = 1e-6


def load_patients(filters: FilterState) -> pd.DataFrame:
    """The filtered patients, read as the app reads them (same SQL, straight from DuckDB)."""
    sql, parameters = filter_sql.patients_sql(filters)
    with duckdb.connect(str(ensure_database()), read_only=True) as con:
        return con.execute(sql, list(parameters)).df()


def read_table(name: str) -> pd.DataFrame:
    with duckdb.connect(str(ensure_database()), read_only=True) as con:
        return con.execute(f"SELECT * FROM {name}").df()


def run_python(snippet: snippets.Snippet, directory, monkeypatch, files: dict[str, pd.DataFrame]) -> dict:
    """Write the CSVs as the app's download buttons do, then execute the snippet there."""
    for name, frame in files.items():
        (directory / name).write_bytes(downloads.csv_bytes(frame))
    monkeypatch.chdir(directory)
    namespace: dict = {"__name__": "__snippet__"}
    exec(compile(snippet.python, "<snippet>", "exec"), namespace)
    return namespace


def run_r(snippet: snippets.Snippet, directory, patients: pd.DataFrame, extraction: str) -> None:
    (directory / snippets.PATIENTS_CSV).write_bytes(downloads.csv_bytes(patients))
    (directory / "view.R").write_text(snippet.r + "\n# --- test extraction ---\n" + extraction)
    result = subprocess.run([RSCRIPT, "--vanilla", "view.R"], cwd=directory, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]


def close(a, b, tol=TOL) -> bool:
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= tol * max(1.0, abs(b))


def assert_columns_close(ours: pd.DataFrame, expected: pd.DataFrame, columns, key="group"):
    ours, expected = ours.set_index(key), expected.set_index(key)
    assert sorted(map(str, ours.index)) == sorted(map(str, expected.index))
    for level in expected.index:
        for column in columns:
            assert close(ours.at[level, column], expected.at[level, column]), (level, column)


# --------------------------------------------------------------------------- #
# Response
# --------------------------------------------------------------------------- #
RESPONSE_CASES = [
    (FilterState(), "histology_group", "all", "clopper-pearson"),
    (FilterState(), "study", "evaluable", "wilson"),
    (FilterState(pazopanib=("yes", "no")), "pazopanib", "all", "jeffreys"),
    (FilterState(study=(NAB,)), "none", "all", "clopper-pearson"),
    (FilterState(study=(NAB,)), "prior_lines", "evaluable", "clopper-pearson"),
    (FilterState(), "ecog", "all", "wilson"),
    (FilterState(), "best_response", "all", "clopper-pearson"),
    (FilterState(), "primary_site", "evaluable", "jeffreys"),
    (FilterState(histology_group=("Leiomyosarcoma", "Chondrosarcoma")), "histology", "all", "clopper-pearson"),
]


def page_response(filters, **methods):
    """What the Response page shows (its pure view builder), with the methods resolved as the page's controls
    resolve them: the patients and the views by key."""
    patients = load_patients(filters)
    wanted = MethodState(**methods)
    used = replace(wanted, **{choice.field: choice.value for choice in response_view.choices(patients, wanted)})
    assert used == wanted, "a case asks for a method the page cannot use on these patients"
    return patients, {view.key: view for view in views_of(response_view.build(patients, used))}


@pytest.mark.parametrize("filters, grouping, denominator, ci", RESPONSE_CASES)
def test_response_rates_snippet_gives_the_page_numbers(filters, grouping, denominator, ci, tmp_path, monkeypatch):
    patients, views = page_response(filters, response_by=grouping, denominator=denominator, ci=ci)
    view = views["response_table"]
    assert view.code == snippets.response_rates(grouping, denominator, ci)
    namespace = run_python(view.code, tmp_path, monkeypatch, {snippets.PATIENTS_CSV: view.patients})
    ours, expected = namespace["table"], view.result
    assert len(expected) > 0
    assert_columns_close(ours, expected, ["n_treated", "n_evaluable", "CR", "PR", "SD", "PD", "denominator",
                                          "orr_count", "orr", "orr_lower", "orr_upper", "dcr_count", "dcr",
                                          "dcr_lower", "dcr_upper"])


@pytest.mark.parametrize("filters, grouping, denominator", [
    (FilterState(), "study", "all"), (FilterState(), "histology_group", "evaluable"),
    (FilterState(study=(NAB,)), "ecog", "all"),
])
def test_fisher_snippet_gives_the_page_p_values(filters, grouping, denominator, tmp_path, monkeypatch):
    patients, views = page_response(filters, response_by=grouping, denominator=denominator)
    view = views["response_fisher"]
    assert view.code == snippets.fisher_tests(grouping, denominator)
    namespace = run_python(view.code, tmp_path, monkeypatch, {snippets.PATIENTS_CSV: patients})
    for endpoint in ("orr", "dcr"):
        expected = view.result[endpoint]
        ours = namespace["results"][endpoint]
        assert close(ours.p_value, expected.p_value)
        assert list(ours.events) == list(expected.events) and list(ours.groups) == list(expected.groups)


DIFFERENCE_CASES = [
    (FilterState(pazopanib=("yes", "no")), "pazopanib", "all"),
    (FilterState(), "pazopanib", "evaluable"),
]
DIFFERENCE_FIELDS = ("difference", "lower", "upper", "fisher_p", "odds_ratio", "odds_ratio_lower", "odds_ratio_upper")


@pytest.mark.parametrize("filters, grouping, denominator", DIFFERENCE_CASES)
def test_difference_snippet_gives_the_page_numbers(filters, grouping, denominator, tmp_path, monkeypatch):
    _, views = page_response(filters, response_by=grouping, denominator=denominator)
    view = views["response_difference"]
    assert set(view.result) == {"orr", "dcr"}
    namespace = run_python(view.code, tmp_path, monkeypatch, {snippets.PATIENTS_CSV: view.patients})
    for endpoint, expected in view.result.items():
        ours = namespace["differences"][endpoint]
        assert (ours.k1, ours.n1, ours.k2, ours.n2) == (expected.k1, expected.n1, expected.k2, expected.n2)
        for name in DIFFERENCE_FIELDS:
            assert close(getattr(ours, name), getattr(expected, name)), (endpoint, name)


@needs_r
@pytest.mark.parametrize("filters, grouping, denominator", DIFFERENCE_CASES)
def test_difference_R_snippet_gives_the_page_numbers(filters, grouping, denominator, tmp_path):
    patients, views = page_response(filters, response_by=grouping, denominator=denominator)
    view = views["response_difference"]
    run_r(view.code, tmp_path, patients, 'write.csv(differences, "r_difference.csv", row.names = FALSE)\n')
    r = pd.read_csv(tmp_path / "r_difference.csv").set_index("endpoint")
    for endpoint, expected in view.result.items():
        for name, column in zip(DIFFERENCE_FIELDS, ("difference", "lower", "upper", "fisher_p", "odds_ratio",
                                                    "or_lower", "or_upper")):
            assert close(getattr(expected, name), r.at[endpoint, column]), (endpoint, name)


@pytest.mark.parametrize("filters, endpoint, denominator, ci, p_adjust", [
    (FilterState(), "orr", "all", "clopper-pearson", "BH"),
    (FilterState(study=(NAB,)), "dcr", "evaluable", "wilson", "holm"),
    (FilterState(pazopanib=("no",)), "orr", "all", "jeffreys", "none"),
])
def test_subgroup_snippet_gives_the_forest_table(filters, endpoint, denominator, ci, p_adjust, tmp_path, monkeypatch):
    patients, views = page_response(filters, endpoint=endpoint, denominator=denominator, ci=ci, p_adjust=p_adjust)
    view = views["response_forest"]
    namespace = run_python(view.code, tmp_path, monkeypatch, {snippets.PATIENTS_CSV: patients})
    ours, expected = namespace["rates"], view.result
    assert len(ours) == len(expected) > 0
    for column in ("n", "k", "rate", "lower", "upper", "p_value", "p_adjusted"):
        assert all(close(a, b) for a, b in zip(ours[column], expected[column])), column
    assert ours["level"].tolist() == expected["level"].tolist()


def test_response_counts_snippet(tmp_path, monkeypatch):
    patients = load_patients(FilterState())
    namespace = run_python(snippets.response_counts(), tmp_path, monkeypatch, {snippets.PATIENTS_CSV: patients})
    counts = namespace["counts"]
    assert int(counts.to_numpy().sum()) == len(patients)
    assert int(counts.loc[(NAB, "Angiosarcoma"), "CR"]) == int(
        ((patients["histology"] == "Angiosarcoma") & (patients["best_response"] == "CR")).sum())


@pytest.mark.parametrize("filters", [FilterState(), FilterState(histology_group=("Leiomyosarcoma",))])
def test_per_study_snippet_gives_the_overview_numbers(filters, tmp_path, monkeypatch):
    patients = load_patients(filters)
    namespace = run_python(snippets.per_study("evaluable", "wilson", "log-log"), tmp_path, monkeypatch,
                           {snippets.PATIENTS_CSV: patients})
    table = namespace["table"].set_index("study")
    methods = MethodState(denominator="evaluable", ci="wilson", conf_type="log-log")
    (headline,) = views_of(overview_view.build(patients, methods, read_table("studies")))
    assert headline.key == "overview_headline"
    assert sorted(headline.result) == sorted(patients["study_id"].unique())
    for study_id, shown in headline.result.items():
        rates, km = shown["rates"], shown["km"]
        for column in ("orr", "orr_lower", "orr_upper", "dcr", "dcr_lower", "dcr_upper", "denominator"):
            assert close(table.at[study_id, column], rates[column])
        if km is not None:
            assert close(table.at[study_id, "median_pfs"], km.median)
            assert close(table.at[study_id, "median_lower"], km.median_ci[0])
            assert close(table.at[study_id, "median_upper"], km.median_ci[1])
        else:
            assert "median_pfs" not in table or pd.isna(table.at[study_id, "median_pfs"])


def test_per_study_snippet_gives_the_overview_numbers_with_each_papers_denominator(tmp_path, monkeypatch):
    """Bundled papers: the headline uses each study's published denominator; ``both`` has the other one too."""
    patients = load_patients(FilterState())
    studies = read_table("studies")
    published = reconcile(read_table("published_results"), patients, studies=studies,
                          assumptions=read_table("patient_value_sources"))
    (headline,) = views_of(overview_view.build(patients, MethodState(), studies, published))
    namespace = run_python(headline.code, tmp_path, monkeypatch, {snippets.PATIENTS_CSV: patients})
    table, both = namespace["table"].set_index("study"), namespace["both"]
    for study_id, shown in headline.result.items():
        for column in ("orr", "orr_lower", "orr_upper", "dcr", "dcr_lower", "dcr_upper", "denominator"):
            assert close(table.at[study_id, column], shown["rates"][column]), (study_id, column)
        other = both[(both["study"] == study_id) & ~both["headline"]].iloc[0]
        if shown["other_rates"] is not None:
            for column in ("dcr", "dcr_lower", "dcr_upper", "denominator"):
                assert close(other[column], shown["other_rates"][column]), (study_id, column)
    assert table.at["nivolumab_pazopanib", "population"] == "evaluable"
    assert table.at[NAB, "population"] == "all treated"


@pytest.mark.parametrize("chosen, pooled", [("group:Leiomyosarcoma", False), ("group:Angiosarcoma", True),
                                            ("histology:Pleomorphic liposarcoma", False)])
def test_per_study_snippet_gives_the_subtype_page_numbers(chosen, pooled, tmp_path, monkeypatch):
    """The Subtype page's per-study table (its pure view builder) against its code, run on the view's CSV."""
    everyone = load_patients(FilterState())
    methods = MethodState(denominator="evaluable", ci="jeffreys", conf_type="log-log")
    view, = [v for v in views_of(subtype_view.build(everyone, methods, every_patient=everyone, chosen=chosen,
                                                     pooled=pooled, studies=read_table("studies")))
             if v.key == "subtype_table"]
    summaries = view.result
    namespace = run_python(view.code, tmp_path, monkeypatch, {snippets.PATIENTS_CSV: view.patients})
    table = namespace["table"].set_index("study")
    per_study = summaries[summaries["study_id"].notna()].set_index("study_id")
    assert sorted(table.index) == sorted(per_study.index) and len(per_study) >= 1
    for study_id, row in per_study.iterrows():
        for column in ("orr", "orr_lower", "orr_upper", "dcr", "dcr_lower", "dcr_upper", "denominator"):
            assert close(table.at[study_id, column], row[column]), (study_id, column)
        if row["pfs_n"]:
            for ours, theirs in (("median_pfs", "median"), ("median_lower", "median_lower"),
                                 ("median_upper", "median_upper")):
                assert close(table.at[study_id, ours], row[theirs]), (study_id, ours)


# --------------------------------------------------------------------------- #
# Survival
# --------------------------------------------------------------------------- #
SURVIVAL_CASES = [
    (FilterState(), "none", "log", (4.0, 6.0)),
    (FilterState(study=(NAB,)), "histology_group", "log-log", (3.0, 6.0)),
    (FilterState(), "ecog", "plain", (2.5,)),
    (FilterState(study=(NAB,)), "primary_site", "log", (4.0, 6.0, 9.0)),
    (FilterState(), "prior_lines", "log", (4.0,)),
    (FilterState(), "histology_group", "logit", (2.0, 4.0)),
    (FilterState(study=(NAB,)), "none", "arcsin", (1.5, 6.0)),
]


def page_survival(filters, grouping, conf_type, landmarks):
    """What the Survival page shows (its pure view builder): the patients, the KM fits and the log-rank test."""
    patients = load_patients(filters)
    methods = MethodState(km_by=grouping, conf_type=conf_type, landmarks=tuple(landmarks))
    shown = {view.key: view.result for view in views_of(survival_view.build(patients, methods))}
    return patients, shown.get("survival_logrank"), shown["survival_km"]


@pytest.mark.parametrize("filters, grouping, conf_type, landmarks", SURVIVAL_CASES)
def test_survival_snippet_gives_the_page_medians_and_landmarks(filters, grouping, conf_type, landmarks, tmp_path,
                                                              monkeypatch):
    patients, _, expected = page_survival(filters, grouping, conf_type, landmarks)
    namespace = run_python(snippets.survival(grouping, conf_type, landmarks), tmp_path, monkeypatch,
                           {snippets.PATIENTS_CSV: patients})
    columns = [c for c in expected.summary.columns if c != "group"]
    assert_columns_close(namespace["table"], expected.summary, columns)


@pytest.mark.parametrize("filters, grouping", [(FilterState(), "histology_group"), (FilterState(), "ecog"),
                                               (FilterState(study=(NAB,)), "primary_site")])
def test_logrank_snippet_gives_the_page_test(filters, grouping, tmp_path, monkeypatch):
    patients, expected, _ = page_survival(filters, grouping, "log", ())
    namespace = run_python(snippets.logrank(grouping), tmp_path, monkeypatch, {snippets.PATIENTS_CSV: patients})
    assert close(namespace["test"].statistic, expected.statistic)
    assert close(namespace["test"].p_value, expected.p_value)
    assert namespace["test"].df == expected.df


def page_pairwise(filters, grouping, p_adjust):
    """The Survival page's pairwise log-rank table (its pure view builder) and the patients behind it."""
    patients = load_patients(filters)
    methods = MethodState(km_by=grouping, p_adjust=p_adjust)
    shown = {view.key: view.result for view in views_of(survival_view.build(patients, methods))}
    return patients, shown["survival_pairwise"]


PAIRWISE_CASES = [(FilterState(), "histology_group", "BH"), (FilterState(), "best_response", "holm"),
                  (FilterState(study=(NAB,)), "primary_site", "bonferroni"), (FilterState(), "prior_lines", "none")]


@pytest.mark.parametrize("filters, grouping, p_adjust", PAIRWISE_CASES)
def test_pairwise_snippet_gives_the_page_table(filters, grouping, p_adjust, tmp_path, monkeypatch):
    patients, expected = page_pairwise(filters, grouping, p_adjust)
    assert len(expected) >= 3
    namespace = run_python(snippets.pairwise_logrank(grouping, p_adjust), tmp_path, monkeypatch,
                           {snippets.PATIENTS_CSV: patients})
    ours = namespace["pairs"]
    assert list(zip(ours["group_1"], ours["group_2"])) == list(zip(expected["group_1"], expected["group_2"]))
    for column in ["statistic", "p_value", "p_adjusted"]:
        assert all(close(a, b) for a, b in zip(ours[column], expected[column])), column


@needs_r
@pytest.mark.parametrize("filters, grouping, p_adjust", PAIRWISE_CASES[:3])
def test_pairwise_R_snippet_gives_the_page_table(filters, grouping, p_adjust, tmp_path):
    patients, expected = page_pairwise(filters, grouping, p_adjust)
    run_r(snippets.pairwise_logrank(grouping, p_adjust), tmp_path, patients,
          'write.csv(pairwise, "r_pairwise.csv", row.names = FALSE)\n')
    result = pd.read_csv(tmp_path / "r_pairwise.csv", keep_default_na=False, na_values=["NA"])
    assert list(zip(result["group_1"].astype(str), result["group_2"].astype(str))) == list(
        zip(expected["group_1"].astype(str), expected["group_2"].astype(str)))
    for ours, theirs in [("statistic", "chisq"), ("p_value", "p"), ("p_adjusted", "p_adjusted")]:
        assert all(close(a, b) for a, b in zip(expected[ours], result[theirs])), ours


R_SURVIVAL_EXTRACTION = """
tab <- summary(fit)$table
if (is.null(dim(tab))) tab <- t(as.matrix(tab))
groups <- if (is.null(fit$strata)) "All patients" else sub("^group=", "", names(fit$strata))
write.csv(data.frame(group = groups, median = tab[, "median"], lower = tab[, "0.95LCL"], upper = tab[, "0.95UCL"]),
          "r_medians.csv", row.names = FALSE)
s <- summary(fit, times = LANDMARKS, extend = TRUE)
strata <- if (is.null(s$strata)) rep("All patients", length(s$time)) else sub("^group=", "", as.character(s$strata))
write.csv(data.frame(group = strata, time = s$time, surv = s$surv, lower = s$lower, upper = s$upper,
                     n_risk = s$n.risk), "r_landmarks.csv", row.names = FALSE)
"""


@needs_r
@pytest.mark.parametrize("filters, grouping, conf_type, landmarks", SURVIVAL_CASES)
def test_survival_R_snippet_gives_the_page_numbers(filters, grouping, conf_type, landmarks, tmp_path):
    patients, _, expected = page_survival(filters, grouping, conf_type, landmarks)
    extraction = R_SURVIVAL_EXTRACTION.replace("LANDMARKS", "c(" + ", ".join(f"{t:g}" for t in landmarks) + ")")
    run_r(snippets.survival(grouping, conf_type, landmarks), tmp_path, patients, extraction)
    medians = pd.read_csv(tmp_path / "r_medians.csv", keep_default_na=True)
    summary = expected.summary.rename(columns={"median_lower": "lower", "median_upper": "upper"})
    assert_columns_close(medians, summary, ["median", "lower", "upper"])
    r_landmarks = pd.read_csv(tmp_path / "r_landmarks.csv")
    for row in expected.landmarks.itertuples():
        match = r_landmarks[(r_landmarks["group"] == row.group) & np.isclose(r_landmarks["time"], row.time)]
        assert len(match) == 1, (row.group, row.time)
        assert close(match["surv"].iloc[0], row.survival)
        assert int(match["n_risk"].iloc[0]) == int(row.n_risk)
        if row.survival > 0:  # R gives NA limits where S(t) = 0, as we do
            assert close(match["lower"].iloc[0], row.lower) and close(match["upper"].iloc[0], row.upper)


@needs_r
@pytest.mark.parametrize("filters, grouping", [(FilterState(), "histology_group"), (FilterState(), "ecog")])
def test_logrank_R_snippet_gives_the_page_test(filters, grouping, tmp_path):
    patients, expected, _ = page_survival(filters, grouping, "log", ())
    run_r(snippets.logrank(grouping), tmp_path, patients,
          'write.csv(data.frame(chisq = lr$chisq, p = pchisq(lr$chisq, sum(lr$exp > 0) - 1, lower.tail = FALSE)), '
          '"r_logrank.csv", row.names = FALSE)\n')
    result = pd.read_csv(tmp_path / "r_logrank.csv").iloc[0]
    assert close(result["chisq"], expected.statistic) and close(result["p"], expected.p_value)


# --------------------------------------------------------------------------- #
# Restricted mean survival time and median follow-up
# --------------------------------------------------------------------------- #
RMST_CASES = [("bundled", "none", "pfs", 0.0), ("bundled", "histology_group", "pfs", 0.0),
              ("bundled", "histology_group", "pfs", 1.2), ("simulated", "sex", "os", 0.0),
              ("simulated", "sex", "pfs", 12.5), ("simulated", "ecog", "os", 20.0),
              ("simulated", "pazopanib", "os", 0.0)]
RMST_FIELDS = ("difference", "difference_lower", "difference_upper", "difference_p", "ratio", "ratio_lower",
               "ratio_upper", "ratio_p")


def page_rmst(source, full_cohort, grouping, endpoint, tau):
    """The Survival page's RMST view and its median follow-up (pure view builder)."""
    patients = load_patients(FilterState()) if source == "bundled" else full_cohort
    methods = MethodState(km_by=grouping, survival_endpoint=endpoint, rmst_tau=tau)
    blocks = survival_view.build(patients, methods)
    view = {view.key: view for view in views_of(blocks)}["survival_rmst"]
    analysable, _ = prepare.endpoint_data(patients, endpoint)
    from analysis.follow_up import median_follow_up
    return patients, view, median_follow_up(analysable["time"], analysable["event"].astype(int))


@pytest.mark.parametrize("source, grouping, endpoint, tau", RMST_CASES)
def test_rmst_snippet_gives_the_page_numbers(full_cohort, source, grouping, endpoint, tau, tmp_path, monkeypatch):
    from analysis.rmst import rmst_contrast
    patients, view, follow = page_rmst(source, full_cohort, grouping, endpoint, tau)
    expected = view.result
    namespace = run_python(view.code, tmp_path, monkeypatch, {snippets.PATIENTS_CSV: patients})
    assert close(namespace["result"].tau, expected.tau)
    assert_columns_close(namespace["table"], expected.table, ["n", "events", "rmst", "se", "lower", "upper"])
    if len(expected.groups) == 2:
        ours, theirs = namespace["contrast"], rmst_contrast(expected)
        assert all(close(getattr(ours, name), getattr(theirs, name)) for name in RMST_FIELDS)
    got = namespace["follow"]
    assert all(close(a, b) for a, b in zip((got.median, got.lower, got.upper),
                                           (follow.median, follow.lower, follow.upper)))


R_RMST_EXTRACTION = """
write.csv(rmst, "r_rmst.csv", row.names = FALSE)
write.csv(data.frame(tau = tau), "r_tau.csv", row.names = FALSE)
if (nrow(rmst) == 2) write.csv(contrast, "r_contrast.csv", row.names = FALSE)
ftab <- summary(follow)$table
write.csv(data.frame(median = ftab[["median"]], lower = ftab[["0.95LCL"]], upper = ftab[["0.95UCL"]]),
          "r_follow.csv", row.names = FALSE)
"""


@needs_r
@pytest.mark.parametrize("source, grouping, endpoint, tau", RMST_CASES)
def test_rmst_R_snippet_gives_the_page_numbers(full_cohort, source, grouping, endpoint, tau, tmp_path):
    from analysis.rmst import rmst_contrast
    patients, view, follow = page_rmst(source, full_cohort, grouping, endpoint, tau)
    expected = view.result
    run_r(view.code, tmp_path, patients, R_RMST_EXTRACTION)
    assert close(pd.read_csv(tmp_path / "r_tau.csv")["tau"].iloc[0], expected.tau)
    assert_columns_close(pd.read_csv(tmp_path / "r_rmst.csv"), expected.table, ["rmst", "se", "lower", "upper"])
    if len(expected.groups) == 2:
        r_contrast, ours = pd.read_csv(tmp_path / "r_contrast.csv").iloc[0], rmst_contrast(expected)
        for name in RMST_FIELDS:
            assert close(r_contrast[name], getattr(ours, name)), name
    r_follow = pd.read_csv(tmp_path / "r_follow.csv").iloc[0]
    for name in ("median", "lower", "upper"):
        assert close(r_follow[name], getattr(follow, name)), name


# --------------------------------------------------------------------------- #
# Cox
# --------------------------------------------------------------------------- #
def offered_keys(filters=None) -> list[str]:
    """The covariates the Hazard ratios page screens: those with two or more values among the analysable."""
    analysable, _ = prepare.endpoint_data(load_patients(filters or FilterState()))
    return list(offered(analysable))


ALL_KEYS = offered_keys()
COX_CASES = [
    (FilterState(), ("angiosarcoma", "ecog"), "efron"),
    (FilterState(), ("angiosarcoma", "primary_site"), "breslow"),
    (FilterState(study=(NAB,)), ("histology_group",), "efron"),
    (FilterState(study=(NAB,)), ("head_neck_primary", "prior_lines", "ecog"), "breslow"),
]


def page_cox(filters, keys, ties, p_adjust="BH"):
    """What the Hazard ratios page shows (its pure view builder): the patients, then the screening view and the
    view of the multivariable model of ``keys`` (None when it cannot be fitted); each has its code and, as
    ``result``, the numbers the page formats."""
    patients = load_patients(filters)
    methods = MethodState(cox_terms=tuple(keys), ties=ties, p_adjust=p_adjust)
    shown = {view.key: view for view in views_of(hazard_ratios_view.build(patients, methods))}
    return patients, shown["cox_univariate"], shown.get("cox_multivariable")


def r_term(covariate: str, level) -> str:
    """R's name of a coxph term."""
    if level is True or str(level) == "True":
        return f"{covariate}TRUE"
    if level is None or (isinstance(level, float) and math.isnan(level)):
        return covariate
    return f"{covariate}{level}"


@pytest.mark.parametrize("ties, p_adjust", [("efron", "BH"), ("breslow", "none"), ("efron", "holm")])
def test_cox_univariate_snippet_gives_the_page_table(ties, p_adjust, tmp_path, monkeypatch):
    patients, screening, _ = page_cox(FilterState(), registry.DEFAULT_COX_TERMS, ties, p_adjust)
    expected = screening.result
    assert list(dict.fromkeys(expected["covariate"])) == ALL_KEYS  # the page screens every offered covariate
    namespace = run_python(screening.code, tmp_path, monkeypatch, {snippets.PATIENTS_CSV: patients})
    ours = namespace["screen"]
    assert ours["term"].tolist() == expected["term"].tolist()
    for column in ("hr", "hr_lower", "hr_upper", "p"):
        assert all(close(a, b) for a, b in zip(ours[column], expected[column])), column
    if p_adjust != "none":
        assert all(close(a, b) for a, b in zip(ours["p_adjusted"], expected["p_adjusted"]))


@pytest.mark.parametrize("filters, keys, ties", COX_CASES)
def test_cox_multivariable_snippet_gives_the_page_model(filters, keys, ties, tmp_path, monkeypatch):
    patients, _, model = page_cox(filters, keys, ties)
    expected = model.result
    assert list(dict.fromkeys(expected.reset_index()["covariate"])) == list(keys)
    namespace = run_python(model.code, tmp_path, monkeypatch, {snippets.PATIENTS_CSV: patients})
    ours = namespace["model"]
    assert ours.index.tolist() == expected.index.tolist()
    for column in ("hr", "hr_lower", "hr_upper", "p"):
        assert all(close(a, b) for a, b in zip(ours[column], expected[column])), column
    assert close(ours.attrs["lr_p"], expected.attrs["lr_p"])


R_COX_UNIVARIATE_EXTRACTION = """
rows <- lapply(names(screen), function(covariate) {
  fit <- screen[[covariate]]
  ci <- summary(fit)$conf.int
  data.frame(term = rownames(ci), hr = ci[, "exp(coef)"], lower = ci[, "lower .95"], upper = ci[, "upper .95"],
             p = summary(fit)$coefficients[, "Pr(>|z|)"])
})
write.csv(do.call(rbind, rows), "r_cox.csv", row.names = FALSE)
"""
R_COX_MODEL_EXTRACTION = """
ci <- summary(model)$conf.int
write.csv(data.frame(term = rownames(ci), hr = ci[, "exp(coef)"], lower = ci[, "lower .95"], upper = ci[, "upper .95"],
                     p = summary(model)$coefficients[, "Pr(>|z|)"]), "r_cox.csv", row.names = FALSE)
"""


def assert_cox_matches_r(path, expected: pd.DataFrame):
    r = pd.read_csv(path).set_index("term")
    assert len(r) == len(expected)
    for row in expected.reset_index().itertuples():
        name = r_term(row.covariate, row.level)
        for ours, theirs in ((row.hr, "hr"), (row.hr_lower, "lower"), (row.hr_upper, "upper"), (row.p, "p")):
            assert close(ours, r.at[name, theirs]), (name, theirs, ours, r.at[name, theirs])


@needs_r
@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_cox_univariate_R_snippet_gives_the_page_hazard_ratios(ties, tmp_path):
    patients, screening, _ = page_cox(FilterState(), registry.DEFAULT_COX_TERMS, ties)
    run_r(screening.code, tmp_path, patients, R_COX_UNIVARIATE_EXTRACTION)
    assert_cox_matches_r(tmp_path / "r_cox.csv", screening.result)


@needs_r
@pytest.mark.parametrize("filters, keys, ties", COX_CASES)
def test_cox_multivariable_R_snippet_gives_the_page_hazard_ratios(filters, keys, ties, tmp_path):
    patients, _, model = page_cox(filters, keys, ties)
    run_r(model.code, tmp_path, patients, R_COX_MODEL_EXTRACTION)
    assert_cox_matches_r(tmp_path / "r_cox.csv", model.result)


ZPH_CASES = COX_CASES + [(FilterState(study=(NAB,)), ("angiosarcoma",), "efron")]


@pytest.mark.parametrize("filters, keys, ties", ZPH_CASES)
def test_cox_zph_snippet_gives_the_page_test(filters, keys, ties, tmp_path, monkeypatch):
    patients = load_patients(filters)
    methods = MethodState(cox_terms=tuple(keys), ties=ties)
    view = {v.key: v for v in views_of(hazard_ratios_view.build(patients, methods))}["cox_zph"]
    expected = view.result
    namespace = run_python(view.code, tmp_path, monkeypatch, {snippets.PATIENTS_CSV: patients})
    ours = namespace["zph"]
    assert ours["table"].index.tolist() == expected["table"].index.tolist() == [*keys, "GLOBAL"]
    for column in ("chisq", "df", "p"):
        assert all(close(a, b) for a, b in zip(ours["table"][column], expected["table"][column])), column
    for key in keys:
        assert all(close(a, b) for a, b in zip(ours["residuals"][key], expected["residuals"][key])), key


R_ZPH_EXTRACTION = """
write.csv(data.frame(term = rownames(zph$table), zph$table), "r_zph.csv", row.names = FALSE)
write.csv(data.frame(x = zph$x, zph$y, check.names = FALSE), "r_zph_residuals.csv", row.names = FALSE)
"""


@needs_r
@pytest.mark.parametrize("filters, keys, ties", ZPH_CASES)
def test_cox_zph_R_snippet_gives_the_page_test(filters, keys, ties, tmp_path):
    patients = load_patients(filters)
    methods = MethodState(cox_terms=tuple(keys), ties=ties)
    view = {v.key: v for v in views_of(hazard_ratios_view.build(patients, methods))}["cox_zph"]
    expected = view.result
    run_r(view.code, tmp_path, patients, R_ZPH_EXTRACTION)
    r = pd.read_csv(tmp_path / "r_zph.csv").set_index("term")
    assert r.index.tolist() == expected["table"].index.tolist()
    for term in r.index:
        for column in ("chisq", "df", "p"):
            assert close(expected["table"].at[term, column], r.at[term, column]), (term, column)
    residuals = pd.read_csv(tmp_path / "r_zph_residuals.csv")
    assert all(close(a, b) for a, b in zip(expected["x"], residuals["x"]))
    for key in keys:
        assert all(close(a, b) for a, b in zip(expected["residuals"][key], residuals[key])), key


FIRTH_FILTERS = FilterState(histology_group=("Angiosarcoma", "Synovial sarcoma"))


def page_firth(view_key):
    """The Hazard ratios page on a selection with perfect separation: its Firth-penalised view."""
    patients = load_patients(FIRTH_FILTERS)
    blocks = hazard_ratios_view.build(patients, MethodState(cox_terms=("angiosarcoma", "ecog")))
    return patients, {view.key: view for view in views_of(blocks)}[view_key]


@pytest.mark.parametrize("view_key", ["cox_univariate_firth", "cox_multivariable_firth"])
def test_firth_snippet_gives_the_page_numbers(view_key, tmp_path, monkeypatch):
    patients, view = page_firth(view_key)
    namespace = run_python(view.code, tmp_path, monkeypatch, {snippets.PATIENTS_CSV: patients})
    ours, expected = namespace["firth"], view.result
    assert ours.index.tolist() == expected.index.tolist() and len(expected) > 0
    for column in ("hr", "hr_lower", "hr_upper", "p"):
        assert all(close(a, b) for a, b in zip(ours[column], expected[column])), column


@needs_r
@pytest.mark.parametrize("view_key", ["cox_univariate_firth", "cox_multivariable_firth"])
def test_firth_R_snippet_gives_the_page_numbers(view_key, tmp_path):
    patients, view = page_firth(view_key)
    run_r(view.code, tmp_path, patients, 'write.csv(firth, "r_firth.csv", row.names = FALSE)\n')
    r = pd.read_csv(tmp_path / "r_firth.csv").set_index("term")
    expected = view.result.reset_index()
    assert len(r) == len(expected)
    for row in expected.itertuples():
        name = r_term(row.covariate, row.level)
        for ours, theirs in ((row.hr, "hr"), (row.hr_lower, "lower"), (row.hr_upper, "upper"), (row.p, "p")):
            # limits compared on the log scale (an upper limit can be in the thousands)
            assert abs(math.log(ours) - math.log(r.at[name, theirs])) <= TOL if theirs != "p" \
                else close(ours, r.at[name, theirs]), (name, theirs, ours, r.at[name, theirs])


# --------------------------------------------------------------------------- #
# Published vs recomputed
# --------------------------------------------------------------------------- #
def test_reconciliation_snippet_gives_the_page_statuses(tmp_path, monkeypatch):
    published = read_table("published_results")
    patients = load_patients(FilterState())
    studies, value_sources = read_table("studies"), read_table("patient_value_sources")
    expected = reconcile(published, patients, studies=studies, assumptions=value_sources)
    assert (expected["status"] == "reproduced under an assumption").sum() == 3  # the snippet must see the assumptions
    # the page's view (its pure builder) offers the code and the CSVs it reads
    view, = [v for v in views_of(published_view.build(
        patients, comparison=expected, published_results=published, conflicts=read_table("source_conflicts"),
        value_sources=value_sources, studies=studies)) if v.key == "published_table"]
    assert set(view.data_files) == {snippets.PUBLISHED_CSV, snippets.ALL_PATIENTS_CSV, snippets.STUDIES_CSV,
                                    snippets.VALUE_SOURCES_CSV}
    namespace = run_python(view.code, tmp_path, monkeypatch, view.data_files)
    ours = namespace["result"].set_index("result_id")
    assert ours.loc[expected["result_id"], "status"].tolist() == expected["status"].tolist()
    for row in expected.itertuples():
        assert close(ours.at[row.result_id, "recomputed_estimate"], row.recomputed_estimate)


# --------------------------------------------------------------------------- #
# Safety of the generated code
# --------------------------------------------------------------------------- #
def test_unknown_choices_are_refused():
    with pytest.raises(ValueError):
        snippets.response_rates("__import__('os')", "all", "wilson")
    with pytest.raises(ValueError):
        snippets.survival("none", "log); system('x'", (4,))
    with pytest.raises(ValueError):
        snippets.cox_multivariable(["ecog; rm"], "efron", {})
    with pytest.raises(ValueError):
        snippets.cox_firth(["ecog; rm"], {}, separately=False)
    with pytest.raises(ValueError):
        snippets.proportion_difference("pazopanib", "all", {"orr); system('x'": (1, 2, 1, 2)})
    with pytest.raises(ValueError):
        snippets.proportion_difference("pazopanib", "all", {"orr": ("1); system('x'", 2, 1, 2)})


def test_data_values_in_code_are_quoted_literals():
    hostile = 'Extremities"); system("touch pwned"); x <- ("' + "')\nimport os #"
    snippet = snippets.cox_multivariable(["primary_site"], "efron", {"primary_site": hostile})
    tree = ast.parse(snippet.python)  # still valid Python ...
    references = [node.value for node in ast.walk(tree) if isinstance(node, ast.Assign)
                  and any(isinstance(t, ast.Name) and t.id == "reference" for t in node.targets)]
    assert len(references) == 1 and isinstance(references[0], ast.Constant)
    assert references[0].value == hostile  # ... where the value is one string literal
    assert not [node for node in ast.walk(tree) if isinstance(node, ast.Import) and node.names[0].name == "os"]
    assert 'system(\\"touch pwned\\")' in snippet.r  # escaped inside an R string
    assert snippets.r_string('a"b\\c\n') == '"a\\"b\\\\c\\n"'


def test_every_page_snippet_compiles():
    cases = [snippets.response_counts(), snippets.response_rates("histology", "all", "wilson"),
             snippets.fisher_tests("study", "all"), snippets.subgroup_forest("dcr", "all", "jeffreys", "BH"),
             snippets.per_study("all", "clopper-pearson", "log"), snippets.survival("pazopanib", "log", (4, 6)),
             snippets.logrank("best_response"), snippets.pairwise_logrank("ecog", "holm"),
             snippets.rmst("sex", None), snippets.rmst("none", 6.5, endpoint="os"),
             snippets.cox_univariate(ALL_KEYS, "efron", "BH", {}),
             snippets.cox_multivariable(["ecog"], "breslow", {}), snippets.reconciliation(),
             snippets.cox_zph(["ecog"], "breslow", {}),
             snippets.proportion_difference("pazopanib", "all", {"orr": (1, 2, 0, 3)}),
             snippets.cox_firth(["ecog", "primary_site"], {}, separately=True),
             snippets.cox_firth(["ecog", "primary_site"], {"primary_site": "Limb"}, separately=False)]
    for snippet in cases:
        compile(snippet.python, "<snippet>", "exec")
        assert "import pandas as pd" in snippet.python and "read_csv" in snippet.python


@needs_r
def test_hostile_reference_stays_a_string_in_R(tmp_path):
    hostile = 'Extremities"); system("touch pwned"); x <- ("'
    snippet = snippets.cox_multivariable(["primary_site"], "efron", {"primary_site": hostile})
    (tmp_path / "view.R").write_text(snippet.r)
    check = 'cat(any(all.names(parse("view.R")) == "system"))'
    result = subprocess.run([RSCRIPT, "--vanilla", "-e", check], cwd=tmp_path, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "FALSE"


# --------------------------------------------------------------------------- #
# Every registry grouping and covariate, both endpoints (snippets generated from the registry)
# --------------------------------------------------------------------------- #
@pytest.fixture(scope="module")
def full_cohort() -> pd.DataFrame:
    """A simulated cohort that records every column (sex, pazopanib, OS ...), as the app reads it."""
    from data.simulate import simulate_cohort
    patients, _ = simulate_cohort(400, seed=7, time_decimals=1)
    return patients


def app_views(patients: pd.DataFrame, builder, **methods) -> dict:
    """The views a page's builder shows for ``patients`` with these method choices, by key."""
    return {view.key: view for view in views_of(builder.build(patients, MethodState(**methods)))}


@pytest.mark.parametrize("grouping", [g for g in GROUPING_KEYS if g != "none"])
@pytest.mark.parametrize("endpoint", ["pfs", "os"])
def test_every_grouping_snippet_gives_the_app_curves(full_cohort, grouping, endpoint, tmp_path, monkeypatch):
    view = app_views(full_cohort, survival_view, km_by=grouping, survival_endpoint=endpoint,
                     landmarks=(6.0,))["survival_km"]
    assert len(view.result.fits) > 1 or grouping == "study", "the grouping must split the curves (one study here)"
    namespace = run_python(view.code, tmp_path, monkeypatch, {snippets.PATIENTS_CSV: full_cohort})
    columns = [c for c in view.result.summary.columns if c != "group"]
    assert_columns_close(namespace["table"], view.result.summary, columns)


@needs_r
@pytest.mark.parametrize("grouping", ["sex", "pazopanib", "prior_lines", "ecog", "best_response"])
def test_every_grouping_R_snippet_gives_the_app_medians(full_cohort, grouping, tmp_path):
    view = app_views(full_cohort, survival_view, km_by=grouping, survival_endpoint="os",
                     landmarks=(6.0,))["survival_km"]
    run_r(view.code, tmp_path, full_cohort, R_SURVIVAL_EXTRACTION.replace("LANDMARKS", "c(6)"))
    medians = pd.read_csv(tmp_path / "r_medians.csv", keep_default_na=True)
    summary = view.result.summary.rename(columns={"median_lower": "lower", "median_upper": "upper"})
    assert_columns_close(medians, summary, ["median", "lower", "upper"])


@pytest.mark.parametrize("endpoint", ["pfs", "os"])
def test_every_covariate_snippet_gives_the_app_model(full_cohort, endpoint, tmp_path, monkeypatch):
    screening = app_views(full_cohort, hazard_ratios_view, survival_endpoint=endpoint, p_adjust="none")["cox_univariate"]
    expected = screening.result
    assert set(expected["covariate"]) == set(COVARIATES)  # the simulated cohort records every covariate
    ours = run_python(screening.code, tmp_path, monkeypatch, {snippets.PATIENTS_CSV: full_cohort})["screen"]
    assert ours["term"].tolist() == expected["term"].tolist()
    for column in ("hr", "hr_lower", "hr_upper", "p"):
        assert all(close(a, b) for a, b in zip(ours[column], expected[column])), column


@needs_r
def test_every_covariate_R_snippet_gives_the_app_hazard_ratios(full_cohort, tmp_path):
    keys = ("sex", "pazopanib", "ecog", "prior_lines", "head_neck_primary")
    model = app_views(full_cohort, hazard_ratios_view, survival_endpoint="os", cox_terms=keys)["cox_multivariable"]
    assert list(dict.fromkeys(model.result["covariate"])) == list(keys)
    run_r(model.code, tmp_path, full_cohort, R_COX_MODEL_EXTRACTION)
    assert_cox_matches_r(tmp_path / "r_cox.csv", model.result)


# --------------------------------------------------------------------------- #
# Stratified by study (a selection spanning several studies)
# --------------------------------------------------------------------------- #
@pytest.fixture(scope="module")
def three_studies(full_cohort) -> pd.DataFrame:
    """The simulated cohort split into three studies of different sizes (every column recorded)."""
    study = np.array(["sim_a", "sim_b", "sim_c"])[np.arange(len(full_cohort)) % 5 % 3]
    return full_cohort.assign(study_id=study)


def stratified_views(patients, page, **methods) -> dict:
    wanted = MethodState(**methods)
    used = replace(wanted, **{choice.field: choice.value for choice in page.choices(patients, wanted)})
    assert used.stratify == "study"
    return {view.key: view for view in views_of(page.build(patients, used))}


def test_stratify_is_offered_only_across_studies(three_studies, full_cohort):
    for page in (response_view, survival_view, hazard_ratios_view):
        assert "stratify" in [c.field for c in page.choices(three_studies, MethodState())]
        assert "stratify" not in [c.field for c in page.choices(full_cohort, MethodState())]


@pytest.mark.parametrize("endpoint", ["pfs", "os"])
def test_stratified_logrank_snippet_gives_the_page_test(three_studies, endpoint, tmp_path, monkeypatch):
    view = stratified_views(three_studies, survival_view, km_by="sex", survival_endpoint=endpoint)["survival_logrank"]
    assert "strata=" in view.code.python and "strata(study_id)" in view.code.r
    assert "Stratified by study (3 studies)" in view.parts[2].caption
    expected = view.result
    assert expected.n_strata == 3
    analysable, _ = prepare.endpoint_data(three_studies, endpoint)
    pooled = logrank_table(analysable["time"], analysable["event"], prepare.group_labels(analysable, "sex"))
    assert not close(pooled.statistic, expected.statistic)  # the strata change the test
    namespace = run_python(view.code, tmp_path, monkeypatch, {snippets.PATIENTS_CSV: three_studies})
    assert close(namespace["test"].statistic, expected.statistic)
    assert close(namespace["test"].p_value, expected.p_value)


@needs_r
def test_stratified_logrank_R_snippet_gives_the_page_test(three_studies, tmp_path):
    view = stratified_views(three_studies, survival_view, km_by="ecog")["survival_logrank"]
    run_r(view.code, tmp_path, three_studies,
          'write.csv(data.frame(chisq = lr$chisq, p = pchisq(lr$chisq, sum(rowSums(as.matrix(lr$exp)) > 0) - 1, '
          'lower.tail = FALSE)), "r_logrank.csv", row.names = FALSE)\n')
    result = pd.read_csv(tmp_path / "r_logrank.csv").iloc[0]
    assert close(result["chisq"], view.result.statistic) and close(result["p"], view.result.p_value)


STRATIFIED_KEYS = ("sex", "ecog", "primary_site")


def test_stratified_cox_snippets_give_the_page_models(three_studies, tmp_path, monkeypatch):
    views = stratified_views(three_studies, hazard_ratios_view, cox_terms=STRATIFIED_KEYS, ties="breslow")
    screening, model = views["cox_univariate"], views["cox_multivariable"]
    assert 'strata="study_id"' in screening.code.python and "strata(study_id)" in model.code.r
    assert model.result.attrs["strata"] == 3
    namespace = run_python(screening.code, tmp_path, monkeypatch, {snippets.PATIENTS_CSV: three_studies})
    for column in ("hr", "hr_lower", "hr_upper", "p"):
        assert all(close(a, b) for a, b in zip(namespace["screen"][column], screening.result[column])), column
    namespace = run_python(model.code, tmp_path, monkeypatch, {snippets.PATIENTS_CSV: three_studies})
    for column in ("hr", "hr_lower", "hr_upper", "p"):
        assert all(close(a, b) for a, b in zip(namespace["model"][column], model.result[column])), column


@needs_r
@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_stratified_cox_R_snippets_give_the_page_hazard_ratios(three_studies, ties, tmp_path):
    views = stratified_views(three_studies, hazard_ratios_view, cox_terms=STRATIFIED_KEYS, ties=ties)
    run_r(views["cox_multivariable"].code, tmp_path, three_studies, R_COX_MODEL_EXTRACTION)
    assert_cox_matches_r(tmp_path / "r_cox.csv", views["cox_multivariable"].result)
    run_r(views["cox_univariate"].code, tmp_path, three_studies, R_COX_UNIVARIATE_EXTRACTION)
    assert_cox_matches_r(tmp_path / "r_cox.csv", views["cox_univariate"].result)


def test_stratified_forest_snippet_gives_the_page_table(three_studies, tmp_path, monkeypatch):
    view = stratified_views(three_studies, response_view, endpoint="dcr", p_adjust="holm")["response_forest"]
    assert "subgroup_rates_stratified" in view.code.python
    expected = view.result
    assert expected["stratified"].any()
    namespace = run_python(view.code, tmp_path, monkeypatch, {snippets.PATIENTS_CSV: three_studies})
    ours = namespace["rates"]
    assert len(ours) == len(expected) > 0
    for column in ("n", "k", "rate", "p_value", "p_adjusted", "odds_ratio", "or_lower", "or_upper"):
        assert all(close(a, b) for a, b in zip(ours[column], expected[column])), column

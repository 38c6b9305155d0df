"""The Hazard ratios and Overview pages through their pure view builders (no Streamlit): the bundled papers, an
empty selection, an upload with only the required columns, and a cohort recording both PFS and OS."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from analysis.reconcile import reconcile
from sarcoma_app.text import escape_markdown, study_label
from sarcoma_app.views import common, hazard_ratios, overview
from sarcoma_app.views.blocks import Cards, Choice, Controls, Expander, Note, Table, blocks_text, views_of
from sarcoma_app.viewstate.url_state import FilterState, MethodState
from tests.test_snippets import NAB, load_patients, read_table

NAN = re.compile(r"\bnan\b", re.IGNORECASE)


@pytest.fixture(scope="module")
def bundled() -> pd.DataFrame:
    return load_patients(FilterState())


@pytest.fixture(scope="module")
def reconciliation(bundled) -> pd.DataFrame:
    return reconcile(read_table("published_results"), bundled, studies=read_table("studies"),
                     assumptions=read_table("patient_value_sources"))


def upload_like(n: int = 40, seed: int = 7, groups=("Leiomyosarcoma", "Angiosarcoma", "UPS")) -> pd.DataFrame:
    """An upload with the five required columns, plus the study and histology group the app derives."""
    rng = np.random.default_rng(seed)
    histology_group = [groups[i % len(groups)] for i in range(n)]
    scale = np.array([4.0 if g == "Angiosarcoma" else 9.0 for g in histology_group])
    return pd.DataFrame({
        "patient_id": [f"P{i}" for i in range(n)], "histology": histology_group,
        "best_response": [("PR", "SD", "PD")[i % 3] for i in range(n)],
        "pfs_months": np.round(rng.exponential(scale), 2), "pfs_event": (rng.random(n) < 0.8).astype(int),
        "study_id": "uploaded", "histology_group": histology_group,
    })


def upload_studies(patients: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"study_id": ["uploaded"], "regimen": ["Not stated (uploaded cohort)"],
                         "n_treated": [len(patients)], "n_evaluable": [len(patients)]})


def terms_choice(blocks) -> Choice:
    (choice,) = [c for b in blocks if isinstance(b, Controls) for c in b.choices]
    assert choice.field == "cox_terms" and choice.kind == "multiselect"
    return choice


def model_covariates(blocks) -> list[str]:
    model = {v.key: v for v in views_of(blocks)}["cox_multivariable"].result
    return list(dict.fromkeys(model.reset_index()["covariate"]))


# --------------------------------------------------------------------------- #
# Bundled papers
# --------------------------------------------------------------------------- #
def test_hazard_ratios_on_the_bundled_papers(bundled, reconciliation):
    nab = bundled[bundled["study_id"] == NAB]
    choices = hazard_ratios.choices(nab, MethodState())
    assert [c.field for c in choices] == ["survival_endpoint", "ties", "p_adjust"]
    blocks = hazard_ratios.build(nab, MethodState(), reconciliation)
    views = {v.key: v for v in views_of(blocks)}
    assert list(views) == ["cox_univariate", "cox_multivariable", "cox_zph"]
    screen = views["cox_univariate"].result.set_index("covariate")
    assert f"{screen.at['angiosarcoma', 'hr']:.2f}" == "0.20"  # seed 002: HR 0.20 (0.06–0.70), p = 0.012
    assert "0.20 (0.06–0.70)" in views["cox_univariate"].table.frame["HR (95% CI)"].tolist()
    assert model_covariates(blocks) == ["angiosarcoma", "ecog"]  # the default model
    assert views["cox_multivariable"].code is not None and "coxph(" in views["cox_multivariable"].code.r
    assert any(isinstance(b, Expander) and b.label.startswith("Published hazard ratios") for b in blocks)
    assert not NAN.search(blocks_text(blocks))
    # no published tables (another data source), or OS chosen: no published hazard ratios
    assert not any(isinstance(b, Expander) for b in hazard_ratios.build(nab, MethodState()))


def test_not_estimable_terms_get_the_firth_penalised_estimate():
    """Angiosarcoma and synovial sarcoma only: every angiosarcoma event comes last in its risk set (perfect
    separation), so the ordinary HR is 0; the page offers the Firth-penalised HR, profile CI and p."""
    patients = load_patients(FilterState(histology_group=("Angiosarcoma", "Synovial sarcoma")))
    blocks = hazard_ratios.build(patients, MethodState(cox_terms=("angiosarcoma", "ecog")))
    views = {view.key: view for view in views_of(blocks)}
    assert list(views) == ["cox_univariate", "cox_univariate_firth", "cox_multivariable", "cox_multivariable_firth"]
    screening = views["cox_univariate"].result
    flagged = screening.loc[hazard_ratios.monotone(screening), "term"].tolist()
    assert "angiosarcoma" in flagged
    firth = views["cox_univariate_firth"].result
    assert set(flagged) <= set(firth.index)
    assert np.isfinite(firth[["hr", "hr_lower", "hr_upper", "p"]].to_numpy(float)).all()
    table = views["cox_univariate_firth"].parts[1]
    assert "Firth-penalised" in table.caption and "profile" in table.caption
    row = table.frame.set_index("Term").loc["Angiosarcoma vs other subtypes"]
    assert row["Firth-penalised HR (95% profile CI)"].startswith("0.0")
    assert row["Ordinary Cox"] == "not estimable"
    assert "perfect separation" in row["Why not estimable (ordinary Cox)"]
    model = views["cox_multivariable_firth"].result
    assert list(model.index) == ["angiosarcoma", "ecog"] and model.attrs["converged"]
    # the bundled papers: every term estimable, no Firth view
    assert not any("firth" in view.key for view in views_of(hazard_ratios.build(load_patients(FilterState()),
                                                                                  MethodState())))


def test_firth_on_too_large_data_says_so_instead_of_fitting(monkeypatch):
    monkeypatch.setattr(hazard_ratios, "FIRTH_MAX_SIZE", 1)
    patients = load_patients(FilterState(histology_group=("Angiosarcoma", "Synovial sarcoma")))
    blocks = hazard_ratios.build(patients, MethodState(cox_terms=("angiosarcoma", "ecog")))
    assert not any("firth" in view.key for view in views_of(blocks))
    assert "more than the page fits on the fly" in blocks_text(blocks)


def test_monotone_excludes_collinear_and_unfittable_terms():
    terms = pd.DataFrame({"estimable": [False, False, False, True, False],
                          "note": ["not estimable: collinear with other terms (NA in R)",
                                   "not estimable: no events among the 3 complete rows: hazard ratios cannot be "
                                   "estimated",
                                   "not estimable: infinite HR (monotone likelihood: one patient in head, with an "
                                   "event; NA in R)", "", "not estimable: coefficient may be infinite (monotone "
                                                          "likelihood)"]})
    assert hazard_ratios.monotone(terms).tolist() == [False, False, True, False, True]


def test_hazard_ratio_model_follows_the_chosen_covariates(bundled):
    blocks = hazard_ratios.build(bundled, MethodState(cox_terms=("histology_group",), ties="breslow"))
    assert terms_choice(blocks).value == ("histology_group",)
    assert model_covariates(blocks) == ["histology_group"]
    empty = hazard_ratios.build(bundled, MethodState(cox_terms=()))
    assert "cox_multivariable" not in {v.key for v in views_of(empty)}
    assert "Choose at least one covariate" in blocks_text(empty)


def test_overview_on_the_bundled_papers(bundled, reconciliation):
    studies = read_table("studies")
    blocks = overview.build(bundled, MethodState(), studies, reconciliation)
    (headline,) = views_of(blocks)
    assert headline.key == "overview_headline"
    assert headline.result[NAB]["km"].median == pytest.approx(2.25)
    assert headline.result["nivolumab_pazopanib"]["km"] is None
    table = headline.table.frame.set_index("Per study")
    assert table.loc["Median PFS, months (95% CI)", study_label("nivolumab_pazopanib")] == "PFS time not recorded"
    assert table.loc["ORR % (95% CI)", study_label(NAB)] == "25.0% (10.7–44.9)"
    (cards,) = [b for b in blocks if isinstance(b, Cards)]
    # card titles are Markdown: the study names escaped
    assert [c.title for c in cards.cards] == [escape_markdown(study_label(s)) for s in (NAB, "nivolumab_pazopanib")]
    metrics = {m.label: m.value for m in cards.cards[0].metrics}
    assert metrics == {"Patients": "28", "ORR": "25.0%", "DCR": "50.0%", "Median PFS": "2.25"}
    assert f"Only {escape_markdown(study_label(NAB))} publishes per-patient PFS." in headline.table.caption
    assert any(isinstance(b, Expander) and b.label.startswith("Do our numbers") for b in blocks)
    assert not NAN.search(blocks_text(blocks))
    other_source = overview.build(bundled, MethodState(), studies)
    assert common.not_available("Published results and their comparison with our recomputation") in other_source
    assert "As recorded for this data source" in blocks_text(other_source)


# --------------------------------------------------------------------------- #
# Empty selection
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("empty", ["no rows", "no columns"])
def test_empty_selection_gives_a_message(bundled, empty):
    patients = bundled.iloc[:0] if empty == "no rows" else pd.DataFrame()
    for builder in (hazard_ratios, overview):
        assert builder.choices(patients, MethodState()) == []
    assert hazard_ratios.build(patients, MethodState()) == [common.NO_PATIENTS]
    assert overview.build(patients, MethodState(), read_table("studies")) == [common.NO_PATIENTS]


def test_hazard_ratios_without_events_or_endpoint_say_so():
    patients = upload_like().assign(pfs_event=0)
    blocks = hazard_ratios.build(patients, MethodState())
    assert views_of(blocks) == [] and "hazard ratios cannot be estimated" in blocks_text(blocks)
    no_endpoint = upload_like().drop(columns=["pfs_months", "pfs_event"])
    assert hazard_ratios.choices(no_endpoint, MethodState()) == []
    assert hazard_ratios.build(no_endpoint, MethodState()) == [common.no_endpoint()]


def test_proportional_hazards_check_of_the_model(bundled):
    blocks = hazard_ratios.build(bundled, MethodState(cox_terms=("angiosarcoma", "primary_site")))
    view = {v.key: v for v in views_of(blocks)}["cox_zph"]
    table = view.table.frame
    assert table["Term"].tolist()[-1] == "Global (all terms)" and len(table) == 3
    assert table["df"].tolist() == [1, 3, 4]  # the factor's levels tested together
    assert view.code is not None and "cox.zph(model" in view.code.r
    assert "doubtful" not in blocks_text(blocks)  # all p >= 0.05 here
    assert not NAN.search(blocks_text(blocks))


def test_non_proportional_hazards_are_flagged():
    patients = upload_like(n=80, seed=3)
    angio = patients["histology_group"].eq("Angiosarcoma").to_numpy()
    rng = np.random.default_rng(11)
    # angiosarcoma: many early progressions but long survivors; the others: all progress at 6-10 months
    early = rng.random(len(patients)) < 0.5
    patients["pfs_months"] = np.where(angio, np.where(early, rng.uniform(0.5, 2, len(patients)),
                                                      rng.uniform(20, 30, len(patients))),
                                      rng.uniform(6, 10, len(patients))).round(2)
    patients["pfs_event"] = 1
    blocks = hazard_ratios.build(patients, MethodState(cox_terms=("angiosarcoma",)))
    view = {v.key: v for v in views_of(blocks)}["cox_zph"]
    assert view.result["table"].at["angiosarcoma", "p"] < 0.05
    (warning,) = [p for p in view.parts if isinstance(p, Note) and "doubtful" in p.text]
    assert warning.kind == "warning" and "Angiosarcoma" in warning.text
    assert "stratified model or RMST" in warning.text


def test_proportional_hazards_check_with_too_few_events_says_so():
    patients = upload_like(n=6, seed=2).assign(pfs_event=[1, 0, 0, 0, 0, 0])
    blocks = hazard_ratios.build(patients, MethodState(cox_terms=("angiosarcoma",)))
    assert "cox_zph" not in {v.key for v in views_of(blocks)}


# --------------------------------------------------------------------------- #
# An upload with the required columns only
# --------------------------------------------------------------------------- #
def test_upload_offers_only_covariates_it_records_with_two_levels():
    patients = upload_like()
    blocks = hazard_ratios.build(patients, MethodState())
    choice = terms_choice(blocks)
    assert choice.options == ("angiosarcoma", "histology_group")  # ECOG, sex, site... are not recorded
    screen = views_of(blocks)[0].result
    assert set(screen["covariate"]) == {"angiosarcoma", "histology_group"}
    # the default model (angiosarcoma + ECOG) keeps only what the data have, and says what it left out
    assert choice.value == ("angiosarcoma",) and model_covariates(blocks) == ["angiosarcoma"]
    text = blocks_text(blocks)
    assert "Not in the model (not recorded or constant among these patients): ECOG 1 or more vs 0." in text
    assert "Not offered" in text and "Female vs male" in text
    assert not NAN.search(text)


def test_upload_with_a_constant_column_does_not_offer_it():
    patients = upload_like().assign(sex="Female")  # one recorded level: nothing to compare
    options = terms_choice(hazard_ratios.build(patients, MethodState())).options
    assert "sex" not in options and options == ("angiosarcoma", "histology_group")


def test_default_model_falls_back_to_covariates_the_data_have():
    patients = upload_like(groups=("Leiomyosarcoma", "UPS"))  # no angiosarcoma: neither default term available
    blocks = hazard_ratios.build(patients, MethodState())
    choice = terms_choice(blocks)
    assert choice.options == ("histology_group",) and choice.value == ("histology_group",)
    assert model_covariates(blocks) == ["histology_group"]
    # a choice the user made (not the default) is not replaced
    chosen = hazard_ratios.build(patients, MethodState(cox_terms=("sex",)))
    assert terms_choice(chosen).value == () and "Choose at least one covariate" in blocks_text(chosen)


def test_overview_of_an_upload():
    patients = upload_like()
    blocks = overview.build(patients, MethodState(), upload_studies(patients))
    (headline,) = views_of(blocks)
    assert headline.result["uploaded"]["km"].n == len(patients)
    text = blocks_text(blocks)
    assert not NAN.search(text)
    assert "exist for the two published papers only" in text
    (cards,) = [b for b in blocks if isinstance(b, Cards)]
    assert cards.cards[0].title == "uploaded"
    # a studies table that records nothing but the study: dashes, not "nan"
    bare = overview.build(patients, MethodState(), pd.DataFrame({"study_id": ["uploaded"]}))
    assert not NAN.search(blocks_text(bare))
    assert views_of(bare)[0].table.frame.set_index("Per study").loc["Regimen", "uploaded"] == "–"


# --------------------------------------------------------------------------- #
# PFS and OS
# --------------------------------------------------------------------------- #
def test_endpoint_choice_offers_pfs_and_os_and_switching_changes_the_numbers():
    rng = np.random.default_rng(3)
    patients = upload_like(60).assign(os_months=lambda f: f["pfs_months"] + np.round(rng.exponential(6.0, len(f)), 2),
                                      os_event=lambda f: (rng.random(len(f)) < 0.6).astype(int))
    (endpoint, *_) = hazard_ratios.choices(patients, MethodState())
    assert endpoint.field == "survival_endpoint" and endpoint.options == ("pfs", "os")
    assert endpoint.value == "pfs"
    shown = {}
    for key in endpoint.options:
        blocks = hazard_ratios.build(patients, MethodState(survival_endpoint=key))
        views = {v.key: v for v in views_of(blocks)}
        shown[key] = views["cox_univariate"].result.set_index("term")["hr"].astype(float)
        assert views["cox_univariate"].title == f"Univariate hazard ratios for {key.upper()} (95% CI)"
        assert views["cox_univariate"].n_text.startswith(f"60 patients with {key.upper()} recorded")
        assert not NAN.search(blocks_text(blocks))
    assert shown["pfs"].index.tolist() == shown["os"].index.tolist()
    assert not np.allclose(shown["pfs"].to_numpy(), shown["os"].to_numpy())
    # a link asking for an endpoint the data lack falls back to one they record, and says so
    only_pfs = upload_like()
    (fallback, *_) = hazard_ratios.choices(only_pfs, MethodState(survival_endpoint="os"))
    assert fallback.options == ("pfs",) and fallback.value == "pfs" and "cannot be shown here" in fallback.note


def test_tables_of_the_views_have_downloads_named():
    blocks = hazard_ratios.build(upload_like(), MethodState())
    names = [p.name for v in views_of(blocks) for p in v.parts if isinstance(p, Table)]
    assert names == ["cox-univariate", "cox-multivariable", "cox-zph"]
    assert all(isinstance(p, Note) for p in views_of(blocks)[1].parts[:1])


def test_stratify_is_offered_only_when_the_analysable_patients_span_several_studies(bundled):
    """On the papers only seed 002 has PFS: stratifying the Cox models by study would change nothing."""
    assert "stratify" not in [c.field for c in hazard_ratios.choices(bundled, MethodState())]
    two_studies = upload_like(40).assign(study_id=["a", "b"] * 20)
    assert "stratify" in [c.field for c in hazard_ratios.choices(two_studies, MethodState())]


def test_overview_numbers_equal_the_papers(bundled, reconciliation):
    """Each study's ORR and DCR as its paper reports them, with the paper's denominator (seed 000: 12 of 24
    evaluable, 50%; seed 002: ORR 7/28 = 25.0%, DCR 14/28 = 50.0% of all treated), and the other denominator
    beside it where its count differs (seed 000: 12/28 treated)."""
    blocks = overview.build(bundled, MethodState(), read_table("studies"), reconciliation)
    (headline,) = views_of(blocks)
    published = read_table("published_results").set_index("result_id")
    nivo = "nivolumab_pazopanib"
    for study_id, result_id, name in ((NAB, "nab_orr", "orr"), (NAB, "nab_dcr", "dcr"), (nivo, "nivo_cbr", "dcr")):
        paper, rates = published.loc[result_id], headline.result[study_id]["rates"]
        assert rates["denominator_label"] == paper["population"]
        assert (rates[f"{name}_count"], rates["denominator"]) == (paper["numerator"], paper["denominator"])
        assert round(rates[name], 3) == paper["estimate"]
        if paper["ci_lower"] == paper["ci_lower"]:  # published CI
            assert (round(rates[f"{name}_lower"], 3), round(rates[f"{name}_upper"], 3)) == (
                paper["ci_lower"], paper["ci_upper"])
    # seed 000 publishes no ORR: it is shown with the paper's denominator of its DCR (evaluable): 3/24
    assert headline.result[nivo]["rates"]["denominator"] == 24
    table = headline.table.frame.set_index("Per study")
    assert table.loc["DCR, both denominators", study_label(nivo)] == "12/24 evaluable = 50.0%; 12/28 all treated = 42.9%"
    assert table.loc["DCR, both denominators", study_label(NAB)] == "14/28 all treated = 50.0%"
    assert table.loc["DCR % (95% CI)", study_label(nivo)].startswith("50.0%")
    assert table.loc["ORR n/N", study_label(NAB)] == "7/28"
    (cards,) = [b for b in blocks if isinstance(b, Cards)]
    nivo_card = {m.label: m for m in cards.cards[1].metrics}
    assert nivo_card["DCR"].value == "50.0%"
    assert "12/24 evaluable" in nivo_card["DCR"].caption and "12/28 all treated = 42.9%" in nivo_card["DCR"].caption
    assert "as the paper reports" in blocks_text(blocks)


def test_overview_without_published_tables_uses_the_chosen_denominator(bundled):
    blocks = overview.build(bundled, MethodState(denominator="all"), read_table("studies"))
    (headline,) = views_of(blocks)
    assert headline.result["nivolumab_pazopanib"]["rates"]["denominator"] == 28
    assert "as the paper reports" not in blocks_text(blocks)


def test_overview_cohorts_are_one_column_per_study(bundled, reconciliation):
    blocks = overview.build(bundled, MethodState(), read_table("studies"), reconciliation)
    (cohorts,) = [b for b in blocks if isinstance(b, Table) and b.name == "cohorts"]
    frame = cohorts.frame.set_index("Per study")
    assert sorted(frame.columns) == sorted([study_label(NAB), study_label("nivolumab_pazopanib")])
    assert "Dose and schedule" in frame.index and frame.loc["Treated", study_label(NAB)] == "28"

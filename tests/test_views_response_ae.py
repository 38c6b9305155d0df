"""The Response and Adverse events view builders, called directly (no Streamlit session).

On the bundled data, on an empty selection, and on a small upload-like frame that records only the required
columns; a control is offered only when the data record its column.
"""
from __future__ import annotations

from dataclasses import replace

import duckdb
import pandas as pd
import pytest

from analysis.proportions import newcombe_difference
from analysis.response import proportion_ci
from data.build import ensure_database
from sarcoma_app.sources import filter_sql
from sarcoma_app.text import escape_markdown, fmt_rate_ci, study_label
from sarcoma_app.views import adverse_events, common, response
from sarcoma_app.views.blocks import Controls, Expander, Heading, Note, Table, View, blocks_text, views_of
from sarcoma_app.viewstate.url_state import FilterState, MethodState

NAB = "nab_paclitaxel_sintilimab"
NIVO = "nivolumab_pazopanib"


def sql(statement: str, parameters: tuple = ()) -> pd.DataFrame:
    with duckdb.connect(str(ensure_database()), read_only=True) as con:
        return con.execute(statement, list(parameters)).df()


def load_patients(filters: FilterState) -> pd.DataFrame:
    """The filtered patients, read as the app reads them (same SQL, straight from DuckDB)."""
    statement, parameters = filter_sql.patients_sql(filters)
    return sql(statement, tuple(parameters))


def load_events(patients: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The events tied to ``patients`` and the untied events of their studies (as sources.db loads them)."""
    events = sql("SELECT study_id, patient_id, patient_ref, term, term_group, grade, source, note FROM adverse_events "
                 "WHERE patient_id IS NOT NULL ORDER BY study_id, patient_id, term")
    events = events[events["patient_id"].isin(patients["patient_id"])].reset_index(drop=True)
    untied = sql("SELECT study_id, patient_ref, term, term_group, grade, source, note FROM adverse_events "
                 "WHERE patient_id IS NULL ORDER BY study_id, patient_ref, term")
    untied = untied[untied["study_id"].isin(adverse_events.studies_of(patients))].reset_index(drop=True)
    return events, untied


def resolved(patients: pd.DataFrame, methods: MethodState) -> MethodState:
    """The methods the page uses: the state's, resolved by the page's choices (as blocks.controls does)."""
    return replace(methods, **{c.field: c.value for c in response.choices(patients, methods)})


def upload_like() -> pd.DataFrame:
    """An uploaded cohort with the required columns only (no sex, ECOG, pazopanib, evaluable, ...)."""
    return pd.DataFrame({
        "patient_id": [f"P{i}" for i in range(1, 9)],
        "histology": ["Angiosarcoma", "Angiosarcoma", "Leiomyosarcoma", "Leiomyosarcoma", "Liposarcoma",
                      "Liposarcoma", "Angiosarcoma", "Leiomyosarcoma"],
        "histology_group": ["Angiosarcoma", "Angiosarcoma", "Leiomyosarcoma", "Leiomyosarcoma", "Liposarcoma",
                            "Liposarcoma", "Angiosarcoma", "Leiomyosarcoma"],
        "study_id": ["mine"] * 8,
        "best_response": ["PR", "CR", "SD", "PD", "PD", "SD", "PR", "PD"],
        "pfs_months": [6.0, 9.5, 4.0, 1.5, 2.0, 5.0, 7.0, 1.0],
        "pfs_event": [1, 0, 1, 1, 1, 0, 1, 1],
    })


def by_key(blocks) -> dict[str, View]:
    return {view.key: view for view in views_of(blocks)}


# --------------------------------------------------------------------------- #
# Response
# --------------------------------------------------------------------------- #
def test_response_on_the_bundled_data_by_study():
    patients = load_patients(FilterState())
    methods = resolved(patients, MethodState(response_by="study"))
    blocks = response.build(patients, methods)
    views = by_key(blocks)
    assert list(views) == ["response_bars", "response_table", "response_fisher", "response_difference",
                           "response_forest", "response_borrowing"]
    # the ORR/DCR table: numbers from the analysis result, text as shown
    table = views["response_table"].result.set_index("group")
    assert table.loc[study_label(NAB), "orr_count"] == 7 and table.loc[study_label(NAB), "denominator"] == 28
    assert table.loc["All", "n_treated"] == 56 and table.loc["All", "orr_count"] == 10
    shown = views["response_table"].table.frame.set_index("Group")
    assert shown.loc[study_label(NAB), "ORR % (95% CI)"] == "25.0% (10.7–44.9)"
    assert shown.loc[study_label(NIVO), "ORR n/N (all treated)"] == "3/28"
    assert "All selected patients (pooled)" in shown.index
    estimate, lower, upper = proportion_ci(10, 56)
    assert shown.loc["All selected patients (pooled)", "ORR % (95% CI)"] == fmt_rate_ci(estimate, lower, upper)
    # two studies: the page says the rates pool regimens
    assert "The selection holds 2 studies with different regimens" in blocks_text(blocks)
    # Fisher test of the two studies
    fisher = views["response_fisher"].result
    assert fisher["orr"].groups == (study_label(NAB), study_label(NIVO))
    assert fisher["orr"].events == (7, 3) and fisher["orr"].denominators == (28, 28)
    assert fisher["orr"].p_value == pytest.approx(0.2954636692, abs=1e-9)
    assert views["response_fisher"].title == "Do ORR and DCR differ by study?"
    # the bar chart's slide carries the counts behind the bars
    counts = views["response_bars"].slide_table
    assert list(counts.columns) == ["Study", "Histology", "CR", "PR", "SD", "PD", "NE"]
    assert int(counts[["CR", "PR", "SD", "PD", "NE"]].to_numpy().sum()) == 56


def test_two_groups_get_the_difference_in_orr_and_dcr():
    patients = load_patients(FilterState())
    views = by_key(response.build(patients, resolved(patients, MethodState(response_by="study"))))
    view = views["response_difference"]
    assert view.title == "Difference in ORR and DCR"
    orr = view.result["orr"]
    assert (orr.k1, orr.n1, orr.k2, orr.n2) == (7, 28, 3, 28)
    expected = newcombe_difference(7, 28, 3, 28)
    assert (orr.difference, orr.lower, orr.upper) == expected
    assert orr.fisher_p == views["response_fisher"].result["orr"].p_value
    assert orr.odds_ratio == views["response_fisher"].result["orr"].odds_ratio
    shown = view.parts[1].frame.set_index("Endpoint")
    row = shown.loc["ORR (CR + PR)"]
    assert row["Difference (95% CI)"] == response.fmt_difference_ci(*expected)
    assert row["Difference (95% CI)"].startswith("+14.3 pp (")
    assert row[study_label(NAB)] == "7/28 (25.0%)" and row["Fisher p"] == "0.30"
    assert "Newcombe" in view.parts[1].caption and view.code.r and "fisher.test" in view.code.r


def test_difference_view_only_for_exactly_two_groups_and_without_crash_on_degenerate_counts():
    patients = load_patients(FilterState())
    views = by_key(response.build(patients, resolved(patients, MethodState(response_by="histology_group"))))
    assert "response_difference" not in views and "response_fisher" in views
    # two groups, nobody responds: the difference and its interval exist, the odds ratio does not
    cohort = upload_like().assign(best_response="PD", histology_group=["A", "B"] * 4)
    views = by_key(response.build(cohort, resolved(cohort, MethodState(response_by="histology_group"))))
    shown = views["response_difference"].parts[1].frame.set_index("Endpoint")
    assert shown.loc["ORR (CR + PR)", "Odds ratio (95% CI)"] == "not estimable"
    assert shown.loc["ORR (CR + PR)", "Difference (95% CI)"].startswith("+0.0 pp (")


def test_response_forest_uses_the_chosen_adjustment_and_offers_it_above_the_plot():
    patients = load_patients(FilterState(study=(NAB,)))
    methods = resolved(patients, MethodState(endpoint="dcr", p_adjust="holm"))
    blocks = response.build(patients, methods)
    controls = [b for b in blocks if isinstance(b, Controls)]
    assert [c.field for block in controls for c in block.choices] == ["p_adjust", "borrow_endpoint", "borrow_threshold",
                                                                       "heterogeneity", "borrow_model"]
    assert controls[0].choices[0].value == "holm"
    forest = by_key(blocks)["response_forest"]
    assert forest.title == "DCR by subgroup (95% CI)"
    rates = forest.result
    assert (rates.groupby("subgroup")["level"].size() > 1).all()  # single levels compare nothing
    assert (rates["p_adjusted"].dropna() >= rates.loc[rates["p_adjusted"].notna(), "p_value"] - 1e-12).all()
    assert "p adjusted (holm)" in forest.table.frame.columns
    assert "Study" not in set(rates["subgroup"])  # one study selected: no study subgroup
    assert "DCR by subgroup" in [b.text for b in blocks if isinstance(b, Heading)]


def test_response_on_an_empty_selection_says_so():
    patients = load_patients(FilterState()).iloc[0:0]
    assert response.choices(patients, MethodState()) == []
    assert response.build(patients, MethodState()) == [common.NO_PATIENTS]


def test_response_on_an_upload_without_optional_columns():
    patients = upload_like()
    methods = resolved(patients, MethodState())
    blocks = response.build(patients, methods)
    views = by_key(blocks)
    assert list(views) == ["response_bars", "response_table", "response_fisher", "response_forest",
                           "response_borrowing"]
    table = views["response_table"].result.set_index("group")
    assert table.loc["Angiosarcoma", "orr_count"] == 3 and table.loc["Angiosarcoma", "denominator"] == 3
    assert table.loc["All", "orr_count"] == 3 and table.loc["All", "dcr_count"] == 5
    assert views["response_fisher"].result["orr"].groups == ("Angiosarcoma", "Leiomyosarcoma", "Liposarcoma")
    # one study: no pooling note, no study subgroup, and no subgroup the upload does not record
    assert "studies with different regimens" not in blocks_text(blocks)
    assert set(views["response_forest"].result["subgroup"]) <= {"Histology group", "Histology", "Best response"}


def test_a_grouping_is_offered_only_when_the_data_record_it():
    bundled = {c.field: c for c in response.choices(load_patients(FilterState()), MethodState())}
    assert {"study", "ecog", "sex", "pazopanib"} <= set(bundled["response_by"].options)
    upload = {c.field: c for c in response.choices(upload_like(), MethodState(response_by="ecog"))}
    options = upload["response_by"].options
    assert {"ecog", "sex", "pazopanib", "study"}.isdisjoint(options)
    assert "histology_group" in options
    # a link asking for ECOG on a file without it: the page shows the first option and says why
    assert upload["response_by"].value == options[0] == "none"
    assert "cannot be shown here" in upload["response_by"].note
    # the forest plot only tests subgroups the data record
    assert "ecog" in response.forest_subgroups(load_patients(FilterState()))
    assert "ecog" not in response.forest_subgroups(upload_like())


def test_tumour_measurements_are_shown_when_the_upload_has_them():
    patients = upload_like()
    assessments = pd.DataFrame({"study_id": "mine", "patient_id": ["P1", "P1", "P2", "P4"],
                                "time_months": [2.0, 4.0, 2.0, 2.0], "pct_change": [-20.0, -35.0, -100.0, 25.0],
                                "source": "upload"})
    methods = resolved(patients, MethodState())
    assert "response_measurements" not in by_key(response.build(patients, methods))
    view = by_key(response.build(patients, methods, assessments=assessments))["response_measurements"]
    assert not view.tools and [p.text for p in view.parts if isinstance(p, Heading)] == ["Tumour measurements"]
    assert view.result.set_index("patient")["best_change"].to_dict() == {"P4": 25.0, "P1": -35.0, "P2": -100.0}
    assert view.parts[1].caption.startswith("3 selected patients with measurements.")


# --------------------------------------------------------------------------- #
# Adverse events
# --------------------------------------------------------------------------- #
def test_adverse_events_on_the_bundled_data():
    patients = load_patients(FilterState())
    events, untied = load_events(patients)
    published = sql("SELECT * FROM published_adverse_events")
    blocks = adverse_events.build(patients, events, untied=untied, published=published)
    views = by_key(blocks)
    studies = sorted(published["study_id"].unique())
    assert list(views) == [f"ae_published_{s}" for s in studies] + ["ae_published_chart", "ae_patient_chart"]
    # published tables as published: every blank cell says so
    shown = [views[f"ae_published_{s}"].table.frame for s in studies]
    n_null = int(published["n_patients"].isna().sum())
    assert n_null > 0
    assert sum(int(f.astype(str).apply(lambda c: c.str.startswith("not reported")).to_numpy().sum())
               for f in shown) == n_null
    assert all(any(str(c).startswith("Grade 1-2 ·") for c in f.columns) for f in shown)
    # the chart takes the Total column of a table by arm, and says whose (from the data, not written in code)
    by_arm = sorted(published.loc[published["group"] == "total", "study_id"].unique())
    assert by_arm == [NIVO]
    assert views["ae_published_chart"].chart.caption.startswith(
        f"Whole cohorts as published ({study_label(NIVO)}: 'Total' column). ")
    # per-patient counts: distinct patients per term
    counts = views["ae_patient_chart"].result.set_index("Term")["Any grade (incl. grade not stated)"]
    expected = events.groupby("term")["patient_id"].nunique().to_dict()
    assert counts.to_dict() == expected | {"Any adverse event": events["patient_id"].nunique()} and len(expected) > 0
    # untied events: one warning per study, listed in an expander
    assert len(untied) > 0
    text = blocks_text(blocks)
    per_study = untied.groupby("study_id").agg(n=("term", "size"), p=("patient_ref", "nunique"))
    for study_id, row in per_study.iterrows():
        assert (f"In *{escape_markdown(study_label(study_id))}*, {row['n']} events of {row['p']} patients are not "
                "tied to a patient") in text
    expanders = [b for b in blocks if isinstance(b, Expander)]
    assert [e.label for e in expanders] == [f"Events not tied to a patient ({len(untied)})"]
    listing = [b for b in blocks if isinstance(b, Table) and b.name == "patient-ae-events"]
    assert len(listing) == 1 and len(listing[0].frame) == len(events)
    assert set(listing[0].frame["Study"]) <= {study_label(s) for s in studies}


def test_adverse_events_on_an_empty_selection_keep_the_published_tables_and_say_so():
    patients = load_patients(FilterState()).iloc[0:0]
    events, untied = load_events(patients)
    assert untied.empty
    published = sql("SELECT * FROM published_adverse_events")
    blocks = adverse_events.build(patients, events, untied=untied, published=published)
    assert blocks[-1] == common.NO_PATIENTS
    assert "ae_published_chart" in by_key(blocks) and "ae_patient_chart" not in by_key(blocks)


def test_adverse_events_on_an_upload_without_events_or_published_tables():
    patients = upload_like()
    events = pd.DataFrame(columns=["study_id", "patient_id", "patient_ref", "term", "term_group", "grade", "source",
                                   "note"])
    blocks = adverse_events.build(patients, events)
    assert views_of(blocks) == []
    assert blocks[1] == common.not_available("The published AE tables")
    assert blocks[3].text == "Every adverse event of the data source that belongs to a selected patient."
    assert blocks[-1] == Note("None of the selected patients has an adverse event recorded individually.",
                              kind="info")


def test_adverse_events_of_an_upload_are_counted_per_patient_and_grade():
    patients = upload_like()
    events = pd.DataFrame({"study_id": "mine", "patient_id": ["P1", "P1", "P2", "P3"],
                           "patient_ref": None, "term": ["Fatigue", "Fatigue", "Fatigue", "Rash"],
                           "term_group": None, "grade": [1, 3, 1, None], "source": "upload", "note": None})
    view = by_key(adverse_events.build(patients, events))["ae_patient_chart"]
    counts = view.result.set_index("Term")
    assert counts.loc["Fatigue", "Grade 1"] == 2 and counts.loc["Fatigue", "Grade 3"] == 1
    assert counts.loc["Fatigue", "Any grade (incl. grade not stated)"] == 2
    assert counts.loc["Rash", "Any grade (incl. grade not stated)"] == 1
    assert counts.loc["Any adverse event", "Any grade (incl. grade not stated)"] == 3
    assert view.table.caption.startswith("Patients with at least one event of the term at that grade, among the 8 ")


def test_study_names_in_markdown_are_escaped():
    patients = upload_like().assign(study_id="my*study_[x]")
    untied = pd.DataFrame({"study_id": ["my*study_[x]"], "patient_ref": ["#3"], "term": ["Rash"],
                           "term_group": [None], "grade": [2], "source": ["x"], "note": [None]})
    events = pd.DataFrame(columns=list(untied.columns) + ["patient_id"])
    blocks = adverse_events.build(patients, events, untied=untied)
    warnings = [b.text for b in blocks if isinstance(b, Note) and b.kind == "warning"]
    assert warnings and warnings[0].startswith(f"In *{escape_markdown('my*study_[x]')}*, 1 events of 1 patients")
    assert "my*study" not in warnings[0]


def test_published_ae_tables_follow_the_papers_order_without_an_empty_category():
    """Rows in the source file's order (the paper's); a paper without categories has no Category column."""
    import csv
    from pathlib import Path
    from sarcoma_app.sources import db
    # the order the app reads the table in (sarcoma_app.sources.db.read_table)
    published = sql(f"SELECT * FROM published_adverse_events ORDER BY {db.READABLE_TABLES['published_adverse_events']}")
    with open(Path("data/sources/published_adverse_events.csv"), encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    blocks = adverse_events.build(load_patients(FilterState()), *load_events(load_patients(FilterState())),
                                  published=published)
    views = by_key(blocks)
    for study_id in sorted(published["study_id"].unique()):
        frame = views[f"ae_published_{study_id}"].table.frame
        paper_order = list(dict.fromkeys(r["term"] for r in rows if r["study_id"] == study_id))
        assert frame["Term"].tolist() == paper_order
        categories = [r["category"] for r in rows if r["study_id"] == study_id]
        assert ("Category" in frame) == any(categories)
        config = views[f"ae_published_{study_id}"].table.column_config
        assert all(config[c]["help"] == c and len(config[c]["label"]) < 20 for c in frame if c.startswith("Grade"))

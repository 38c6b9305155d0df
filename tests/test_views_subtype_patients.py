"""The Subtype and Patients pages' pure view builders, called directly (no streamlit).

Bundled data are read as the app reads them (tests/test_snippets.load_patients); expected numbers come from
the database through SQL-free pandas counts, never from the builders' own output.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sarcoma_app.views import common, prepare
from sarcoma_app.views import patients as patients_view
from sarcoma_app.views import subtype
from sarcoma_app.views.blocks import Chart, Expander, Note, Pick, Table, View, blocks_text, picks_of, views_of
from sarcoma_app.viewstate.url_state import FilterState, MethodState
from tests.test_snippets import load_patients, read_table

NAB, NIVO = "nab_paclitaxel_sintilimab", "nivolumab_pazopanib"
NAB_LABEL, NIVO_LABEL = "Nab-paclitaxel + sintilimab", "Nivolumab ± pazopanib"


@pytest.fixture(scope="module")
def everyone() -> pd.DataFrame:
    return load_patients(FilterState())


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return {name: read_table(name) for name in ("studies", "published_response_by_histology", "source_conflicts",
                                                "patient_value_sources")}


def subtype_blocks(patients, tables, chosen="group:Leiomyosarcoma", pooled=False, every=None, methods=None):
    return subtype.build(patients, methods or MethodState(), every_patient=patients if every is None else every,
                         chosen=chosen, pooled=pooled, studies=tables["studies"],
                         printed=tables["published_response_by_histology"], conflicts=tables["source_conflicts"])


def upload_like(n: int = 6) -> pd.DataFrame:
    """An uploaded cohort with the required columns only (and a study id): no PFS, no cycles, no codes."""
    return pd.DataFrame({
        "study_id": ["uploaded"] * n, "patient_id": [f"P{i}" for i in range(n)],
        "histology": ["Leiomyosarcoma", "Leiomyosarcoma", "Angiosarcoma", "Angiosarcoma", "Angiosarcoma",
                      "Myxofibrosarcoma"][:n],
        "histology_group": ["Leiomyosarcoma", "Leiomyosarcoma", "Angiosarcoma", "Angiosarcoma", "Angiosarcoma",
                            "Fibrosarcoma"][:n],
        "best_response": ["PR", "PD", "CR", "SD", None, "PD"][:n],
    })


# --------------------------------------------------------------------------- #
# Subtype across studies
# --------------------------------------------------------------------------- #
def test_subtype_leiomyosarcoma_per_study_with_pfs_only_where_recorded(everyone, tables):
    blocks = subtype_blocks(everyone, tables)
    views = {view.key: view for view in views_of(blocks)}
    assert list(views) == ["subtype_table", "subtype_bars", "subtype_rates", "subtype_borrowing", "subtype_km", "subtype_printed"]
    summaries = views["subtype_table"].result.set_index("study_id")
    lms = everyone[everyone["histology_group"] == "Leiomyosarcoma"]
    assert summaries["n"].to_dict() == lms.groupby("study_id").size().to_dict() == {NAB: 2, NIVO: 7}
    assert (summaries.at[NIVO, "SD"], summaries.at[NIVO, "PD"]) == (3, 4)  # Fig. 1a: 3 LMS with SD, 4 with PD
    assert summaries.at[NAB, "pfs_n"] == 2 and summaries.at[NIVO, "pfs_n"] == 0
    assert not math.isnan(summaries.at[NAB, "median"]) and math.isnan(summaries.at[NIVO, "median"])
    shown = views["subtype_table"].table.frame.set_index("Per study")
    assert shown.columns.tolist() == [NAB_LABEL, NIVO_LABEL]
    assert shown.at["Median PFS, months (95% CI)", NIVO_LABEL] == "PFS not published per patient"
    assert shown.at["ORR n/N", NAB_LABEL] == "0/2" and shown.at["DCR n/N", NIVO_LABEL] == "3/7"
    assert "Nivolumab" in shown.at["Regimen", NIVO_LABEL]  # from the studies table
    km = views["subtype_km"].result
    assert [str(g) for g in km.fits] == [NAB_LABEL] and km.fits[NAB_LABEL].n == 2
    assert views["subtype_km"].slide_table.columns.tolist() == ["Study", "PFS patients (events)",
                                                                "Median PFS, months (95% CI)"]
    assert subtype.POOLED_LABEL not in views["subtype_table"].result["study"].tolist()
    picks = picks_of(blocks)
    assert picks[subtype.CHOICE_KEY].value == "group:Leiomyosarcoma"
    assert picks[subtype.POOLED_KEY].value is False and not picks[subtype.POOLED_KEY].disabled


def test_subtype_pooled_column_is_labelled_and_warned(everyone, tables):
    blocks = subtype_blocks(everyone, tables, pooled=True)
    table_view = views_of(blocks)[0]
    assert table_view.result["study"].tolist()[-1] == subtype.POOLED_LABEL
    assert table_view.result["n"].tolist()[-1] == 9
    warnings = [p for p in table_view.parts if isinstance(p, Note) and p.kind == "warning"]
    assert warnings and "descriptive only" in warnings[0].text


def test_subtype_without_pfs_names_the_study_that_records_it_from_the_data(everyone, tables):
    text = blocks_text(subtype_blocks(everyone, tables, chosen="group:Osteosarcoma"))
    assert "per-patient PFS is published only by the Nab\\-paclitaxel \\+ sintilimab study" in text
    assert "subtype_km" not in [v.key for v in views_of(subtype_blocks(everyone, tables, chosen="group:Osteosarcoma"))]
    # rename the study with PFS: the message follows the data, it is not written in code
    renamed = everyone.assign(study_id=everyone["study_id"].replace({NAB: "another_trial"}))
    text = blocks_text(subtype_blocks(renamed, tables, chosen="group:Osteosarcoma"))
    assert "published only by the another\\_trial study" in text and "sintilimab" not in text.split("PFS")[-1]
    no_pfs = everyone.assign(pfs_months=np.nan)
    assert "no study of this data source records per-patient PFS" in blocks_text(
        subtype_blocks(no_pfs, tables, chosen="group:Osteosarcoma"))


def test_subtype_uses_endpoint_data_with_the_new_exclusion_reasons():
    patients = pd.DataFrame({"study_id": ["a", "a", "b"], "pfs_months": [1.0, np.nan, 2.0],
                             "pfs_event": pd.array([1, pd.NA, pd.NA], dtype="Int64")})
    analysable, excluded = prepare.endpoint_data(patients, "pfs")
    assert analysable["time"].tolist() == [1.0] and analysable["event"].tolist() == [1]
    assert excluded["reason"].tolist() == ["PFS time not recorded", "PFS event status not recorded"]
    assert subtype.studies_with_pfs(patients) == ["a"]


def test_subtype_menu_falls_back_to_the_default_and_says_which_studies(everyone, tables):
    blocks = subtype_blocks(everyone, tables, chosen="group:No such group")
    assert picks_of(blocks)[subtype.CHOICE_KEY].value == "group:Leiomyosarcoma"
    pick = picks_of(blocks)[subtype.CHOICE_KEY]
    assert pick.format("group:Leiomyosarcoma") == "Leiomyosarcoma · group · 9 patients in 2 studies"
    angio = subtype_blocks(everyone, tables, chosen="group:Angiosarcoma")
    text = blocks_text(angio)
    assert "Only one study (Nab\\-paclitaxel \\+ sintilimab) has patients with Angiosarcoma" in text
    assert picks_of(angio)[subtype.POOLED_KEY].disabled  # one study: nothing to pool
    printed, = [b for b in angio if isinstance(b, Expander)]
    rows = views_of([printed])[0].result
    assert rows["Table"].tolist() == ["Table 2"] and rows["Study"].tolist() == [NAB_LABEL]
    assert "conflict C01 on Data & methods" in blocks_text([printed])  # the angiosarcoma conflict, from the data


def test_subtype_other_filters_apply_and_the_histology_filter_is_said_to_be_ignored(everyone, tables):
    nivo = everyone[everyone["study_id"] == NIVO]
    blocks = subtype.build(nivo, MethodState(), every_patient=everyone, chosen="group:Leiomyosarcoma",
                           studies=tables["studies"], histology_filtered=True)
    assert views_of(blocks)[0].result["study"].tolist() == [NIVO_LABEL]
    assert "except its histology filters" in blocks_text(blocks)
    assert not [b for b in blocks if isinstance(b, Expander)]  # no printed tables given: none shown


def test_subtype_empty_selection_and_no_histology_give_a_message(everyone, tables):
    empty = everyone.iloc[0:0]
    blocks = subtype_blocks(empty, tables, every=everyone)
    assert common.NO_PATIENTS in blocks and not views_of(blocks)
    blocks = subtype_blocks(empty, tables)
    assert [b.text for b in blocks] == ["No patient has a histology recorded."]


def test_subtype_on_an_upload_without_optional_columns(tables):
    upload = upload_like()
    blocks = subtype.build(upload, MethodState(), every_patient=upload, chosen="group:Angiosarcoma")
    views = {view.key: view for view in views_of(blocks)}
    assert list(views) == ["subtype_table", "subtype_bars", "subtype_rates", "subtype_borrowing"]  # no PFS recorded: no curve
    row = views["subtype_table"].result.iloc[0]
    assert (row["study"], row["n"], row["CR"], row["SD"], row["NE"], row["orr_count"]) == ("uploaded", 3, 1, 1, 1, 1)
    assert "no study of this data source records per-patient PFS" in blocks_text(blocks)
    assert isinstance(views["subtype_bars"].chart, Chart)


# --------------------------------------------------------------------------- #
# Patients
# --------------------------------------------------------------------------- #
def patient_blocks(patients, tables, chosen=None, published_tables=True, max_lanes=60):
    sources = tables["patient_value_sources"]
    return patients_view.build(patients, MethodState(), value_sources=sources[sources["patient_id"].isin(
        patients["patient_id"])], studies=tables["studies"], published_tables=published_tables, chosen=chosen,
        max_lanes=max_lanes)


def test_patients_swimmers_per_study_with_the_unit_each_study_records(everyone, tables):
    blocks = patient_blocks(everyone, tables)
    views = {view.key: view for view in views_of(blocks)}
    assert [k for k in views if k.startswith("swimmer_")] == [f"swimmer_{NAB}", f"swimmer_{NIVO}"]
    nab, nivo = views[f"swimmer_{NAB}"], views[f"swimmer_{NIVO}"]
    assert len(nab.result) == everyone.loc[everyone["study_id"] == NAB, "pfs_months"].notna().sum() == 28
    assert len(nivo.result) == everyone.loc[everyone["study_id"] == NIVO, "cycles_last_reported"].notna().sum() == 25
    assert nab.n_text == "28 of 28 selected patients with a time on treatment"
    assert nivo.methods_text == "as published per patient: the last treatment cycle reported"
    text = blocks_text(blocks)
    assert ("PFS in months where the paper gives it (Nab\\-paclitaxel \\+ sintilimab), otherwise the last treatment "
            "cycle the paper reports (Nivolumab ± pazopanib; a lower bound on time on treatment; one cycle = 2 "
            "weeks)") in text
    assert "nivolumab cycle" not in text.lower()
    assert "Not drawn (no time published): NIVO\\-26, NIVO\\-27, NIVO\\-28." in text
    _, _, label, n_with_time, _ = patients_view.swimmer_frames(everyone[everyone["study_id"] == NIVO],
                                                                tables["studies"])
    assert label == "Treatment cycles (last reported; 1 cycle = 2 weeks)" and n_with_time == 25


def test_patients_cycle_study_is_named_from_the_data(everyone, tables):
    renamed = everyone.assign(study_id=everyone["study_id"].replace({NIVO: "registry_x"}))
    caption = patients_view.time_caption(renamed, tables["studies"])
    assert "the last treatment cycle the paper reports (registry\\_x; a lower bound on time on treatment)" in caption
    assert "Nivolumab" not in caption  # its schedule is not in the studies table: no cycle length either


def test_patients_table_shades_derived_values_and_shows_provenance(everyone, tables):
    blocks = patient_blocks(everyone, tables, chosen="NAB-04")
    table, = [b for b in blocks if isinstance(b, Table) and b.name == "patients"]
    assert len(table.frame) == 56 and "Derived values" in table.frame.columns
    sources = tables["patient_value_sources"]
    derived = sources[sources["derived"].astype(bool)]
    assert (table.frame["Derived values"] != "").sum() == derived["patient_id"].nunique() > 0
    assert "#FFE8A3" in table.styler(table.frame).to_html()
    assert table.column_config == {"Notes": {"width": "large"}}
    pick = picks_of(blocks)[patients_view.PROVENANCE_KEY]
    assert pick.value == "NAB-04" and len(pick.options) == 56
    provenance = {v.key: v for v in views_of(blocks)}["patients_provenance"].result
    assert len(provenance) == (sources["patient_id"] == "NAB-04").sum() > 0
    assert set(provenance["Derived?"]) <= {"derived", "as published"}
    # a patient no longer selected: the first one
    angio = everyone[everyone["histology_group"] == "Angiosarcoma"]
    assert picks_of(patient_blocks(angio, tables, chosen="NIVO-01"))[patients_view.PROVENANCE_KEY].value == \
        angio["patient_id"].iloc[0]


def test_patients_large_cohort_draws_evenly_spaced_lanes(everyone, tables):
    views = {v.key: v for v in views_of(patient_blocks(everyone, tables, max_lanes=10))}
    assert len(views[f"swimmer_{NAB}"].result) == 10
    assert "**10 drawn**" in blocks_text(views[f"swimmer_{NAB}"].parts)


def test_patients_empty_selection_gives_a_message(everyone, tables):
    assert patient_blocks(everyone.iloc[0:0], tables) == [common.NO_PATIENTS]


def test_patients_on_an_upload_without_optional_columns(tables):
    blocks = patients_view.build(upload_like(), MethodState(), published_tables=False)
    text = blocks_text(blocks)
    assert "No time on treatment is published for the selected patients of this study." in text
    assert "no study of the selection records a time on treatment" in text
    assert not views_of(blocks)
    table, = [b for b in blocks if isinstance(b, Table)]
    assert table.frame["Patient ID"].tolist() == [f"P{i}" for i in range(6)]
    assert (table.frame["Derived values"] == "").all()
    assert "Per-value provenance" in blocks[-1].text and patients_view.PROVENANCE_KEY not in picks_of(blocks)


def test_subtype_defaults_to_the_most_patients_and_lists_few_patients_instead_of_a_curve(everyone, tables):
    blocks = subtype_blocks(everyone, tables, chosen=None)
    sizes = everyone.groupby("histology_group").size()
    assert picks_of(blocks)[subtype.CHOICE_KEY].value == f"group:{sizes.idxmax()}"
    km = {view.key: view for view in views_of(blocks)}["subtype_km"]  # leiomyosarcoma: 2 patients with PFS
    assert km.chart is None and km.table.frame["Patient"].nunique() == 2
    assert "listed instead of a Kaplan–Meier curve" in blocks_text(blocks)
    # enough patients: a curve
    angio = {view.key: view for view in views_of(subtype_blocks(everyone, tables, chosen="group:Angiosarcoma"))}
    assert angio["subtype_km"].chart is not None

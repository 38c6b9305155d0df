"""Adverse events page of a large source: patients per term and grade, and AE records, counted by DuckDB.

Above ``patients_counted`` of :data:`sarcoma_app.limits.SCALE` the page gets counts of patients per grade mask
(:func:`sarcoma_app.sources.db.adverse_event_counts`) and shows the table and chart of
:func:`sarcoma_app.views.adverse_events.build` computed from them (equal on the same patients,
tests/test_views_ae_counts.py), and the first rows of the list of events (a page of the table, saying when
there are more).
"""
from __future__ import annotations

import pandas as pd

import charts
from analysis.adverse_events import ae_table_from_counts
from sarcoma_app.views import common
from sarcoma_app.views.adverse_events import GRADE_BANDS_SINGLE, event_listing, wide_counts
from sarcoma_app.views.blocks import Block, Chart, Heading, Note, Table, View


def patient_counts(counts: dict) -> pd.DataFrame:
    """Patients with at least one event of each term at each grade, wide (as the patient-level page)."""
    table = ae_table_from_counts(counts["term_masks"], counts["any_masks"], counts["denominators"], grouped=False,
                                 grade_bands=GRADE_BANDS_SINGLE, include_any_grade=True)
    return wide_counts(table)


def build(counts: dict, n_selected: int, first_events: pd.DataFrame | None = None, more: bool = False) -> list[Block]:
    """The page's blocks from :func:`sources.db.adverse_event_counts` of ``n_selected`` patients, with
    ``first_events``, the first rows of their events, and whether there are ``more``
    (:func:`sources.db.first_adverse_events`)."""
    blocks: list[Block] = [Heading("Events tied to individual patients (current filter)"),
                           Note("Every adverse event of the data source that belongs to a selected patient.")]
    if n_selected == 0:
        return blocks + [common.NO_PATIENTS]
    if counts["bars"].empty:
        return blocks + [Note("None of the selected patients has an adverse event recorded individually.",
                              kind="info")]
    wide = patient_counts(counts)
    table = Table(wide, "patient-ae-term-by-grade",
                  caption=f"Patients with at least one event of the term at that grade, among the {n_selected:,} "
                          "selected patients (a patient counts once per term and grade).")
    bars = counts["bars"].assign(panel="Events tied to selected patients")[["panel", "term", "grade", "value"]]
    chart = Chart(charts.adverse_event_bars(bars, value_title="Events"), "patient-ae-events",
                  title="Adverse events tied to selected patients, by CTCAE grade")
    blocks.append(View("ae_patient_chart", "Adverse events tied to selected patients, by CTCAE grade",
                       [table, chart], result=wide, n_text=f"{n_selected:,} selected patients",
                       methods_text="patients with at least one event of the term at that grade"))
    if first_events is not None and len(first_events):
        charted = int(counts["bars"]["value"].sum())
        blocks.append(Table(event_listing(first_events), "patient-ae-events", caption="" if not more else (
            f"The first {len(first_events):,} events of the selected patients, by study, patient, term and grade "
            f"(the chart counts all {charted:,} with a term; the CSV holds the rows shown): narrow the filters to "
            "list the others.")))
    return blocks + [Note(f"Large source: counted by the database over the {n_selected:,} selected patients, so the "
                          "page stays quick.", kind="info")]

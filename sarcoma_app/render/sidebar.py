"""The sidebar shared by every page: filters with counts and the patient caption."""
from __future__ import annotations

import streamlit as st

from data import registry
from sarcoma_app.sources import db
from sarcoma_app.viewstate import state
from sarcoma_app.sources.filter_sql import DIMENSION_BY_NAME, DIMENSIONS
from sarcoma_app.text import escape_markdown, option_label, study_label
from sarcoma_app.viewstate.url_state import UNKNOWN, AllowedValues, FilterState

#: Sidebar sections and the filters in each (registry order).
SECTIONS = tuple((section, tuple(f.key for f in registry.FILTER_LIST if f.section == section))
                 for section in registry.FILTER_SECTIONS)


def patient_caption(n_shown: int, n_total: int) -> str:
    """The sidebar caption, e.g. 'Showing 18 of 56 patients'."""
    return f"Showing {n_shown:,} of {n_total:,} patients"


def render_sidebar(allowed: AllowedValues) -> FilterState:
    """Draw the filters and the caption; return the current filters."""
    filters = state.current_state().filters
    n_total = db.count_all_patients()
    n_shown = db.count_patients(filters)
    sidebar = st.sidebar
    sidebar.caption(patient_caption(n_shown, n_total))
    header_left, header_right = sidebar.columns([3, 2], vertical_alignment="center")
    header_left.markdown("**Filters**")
    header_right.button("Reset", key="reset_filters", on_click=state.reset_filters,
                        disabled=filters.is_default(), help="Clear every filter", width="stretch")
    all_counts = db.option_counts(filters)
    recorded = db.recorded_counts()
    for title, names in SECTIONS:
        names = [name for name in names if name not in allowed.unavailable]  # only what the data record
        if not names:
            continue
        sidebar.caption(title.upper())
        for name in names:
            dimension = DIMENSION_BY_NAME[name]
            counts = all_counts[name]
            options = allowed.for_filter(name)

            def label_with_count(value: str, dimension_name: str = name, counts: dict = counts) -> str:
                return f"{option_label(dimension_name, value)} ({counts.get(value, 0)})"

            n_recorded = recorded[registry.FILTERS[name].variable][0]
            coverage = "" if n_recorded == n_total else f" Recorded for {n_recorded:,} of {n_total:,} patients."
            state.filter_multiselect(sidebar, name, dimension.label, options, label_with_count,
                                     help=dimension.help + coverage + " Counts: patients with this value among "
                                     "those matching the other filters.")
    state.filter_toggle(sidebar, "evaluable_only", "Evaluable for response only",
                        help="Keep only patients with a RECIST response assessment.")
    return state.current_state().filters


def applicability_notes(filters: FilterState) -> list[str]:
    """Markdown lines saying where an active filter drops patients who lack the value.

    A filter on a column that is not reported for some patients (NULL) keeps
    them only when 'unknown' is chosen; this says so per study instead of
    dropping them silently.
    """
    notes = []
    for dimension in DIMENSIONS:
        chosen = getattr(filters, dimension.name)
        if not chosen or UNKNOWN in chosen or dimension.name == "study":
            continue
        per_study = db.unknown_by_study(filters, dimension.name)
        for row in per_study.itertuples():
            if row.n_unknown == 0:
                continue
            study = escape_markdown(study_label(row.study_id))
            label = dimension.label.lower()
            keep = option_label(dimension.name, UNKNOWN)
            if row.n_unknown == row.n:
                notes.append(f"**{dimension.label}** is not reported for any patient of *{study}*: "
                             f"this filter cannot apply to that study, and its {row.n:,} patients are left out. "
                             f"Add '{keep}' to the filter to keep them.")
            else:
                notes.append(f"**{dimension.label}**: {row.n_unknown:,} of {row.n:,} patients of *{study}* have no "
                             f"{label} recorded and are left out (add '{keep}' to the filter to keep them).")
    return notes

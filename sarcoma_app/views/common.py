"""Blocks and choices several pages share: the empty selection, endpoints, groupings and exclusions."""
from __future__ import annotations

import pandas as pd

from analysis.methods import STRATIFY_METHODS
from data import registry
from sarcoma_app import limits
from sarcoma_app.text import GROUPING_LABELS, STRATIFY_LABELS, SURVIVAL_ENDPOINT_LABELS, escape_markdown
from sarcoma_app.views import prepare
from sarcoma_app.views.blocks import Choice, Note, resolve

NO_PATIENTS = Note("No patient matches the current filters. Widen the filters in the sidebar (or press Reset).",
                   kind="info", icon=":material/filter_alt_off:")


def no_endpoint() -> Note:
    """The message for a selection without any recorded time-to-event endpoint."""
    labels = " or ".join(f"{e.label} ({e.short}: time and event)" for e in registry.ENDPOINT_LIST)
    return Note(f"No selected patient has a recorded {labels}, so no survival analysis can be done. Select a "
                "study or upload a cohort that records one.", kind="warning", icon=":material/timeline:")


def selected(field: str, label: str, options: tuple, wanted: object, format=str, help: str | None = None) -> Choice:
    """A select choice over ``options``, resolved against ``wanted`` (the state's value)."""
    value, note = resolve(wanted, options, format)
    return Choice(field, label, tuple(options), value, format, help, note=note)


def endpoint_choice(patients: pd.DataFrame, wanted: str) -> Choice | None:
    """The endpoint choice over the endpoints ``patients`` record (None when they record none)."""
    endpoints = registry.available_endpoints(registry.recorded_counts(patients, registry.ENDPOINT_VARIABLES))
    if not endpoints:
        return None
    return selected("survival_endpoint", "Endpoint", endpoints, wanted, SURVIVAL_ENDPOINT_LABELS.get,
                    help="Time-to-event endpoints the data record (a time and an event indicator).")


def n_studies(patients: pd.DataFrame) -> int:
    """Number of studies in the selection (0 without a study column)."""
    return int(patients["study_id"].nunique()) if "study_id" in patients else 0


def stratify_choice(patients: pd.DataFrame, wanted: str) -> Choice | None:
    """The stratification choice (by study or none), offered only when the selection spans several studies."""
    if n_studies(patients) < 2:
        return None
    return selected("stratify", "Stratify by study", STRATIFY_METHODS, wanted, STRATIFY_LABELS.get,
                    help="Tests and Cox models compare patients within each study (R strata(study_id)), so that "
                         "differences between the studies' regimens do not confound the comparison.")


def stratified(patients: pd.DataFrame, stratify: str) -> bool:
    """Whether the analyses are stratified by study: several studies selected and ``stratify`` is "study"."""
    return stratify == "study" and n_studies(patients) > 1


def stratified_text(patients: pd.DataFrame) -> str:
    """The caption prefix of a stratified analysis, e.g. "Stratified by study (2 studies): "."""
    return f"Stratified by study ({n_studies(patients)} studies): "


def grouping_choice(field: str, label: str, patients: pd.DataFrame, wanted: str, help: str) -> Choice:
    """A grouping choice over the groupings with two or more recorded values among ``patients``."""
    groupings = registry.available_groupings(registry.recorded_counts(patients, registry.GROUPING_VARIABLES))
    return selected(field, label, groupings, wanted, GROUPING_LABELS.get, help=help)


def exclusion(analysable: pd.DataFrame, patients: pd.DataFrame, excluded: pd.DataFrame) -> list[Note]:
    """How many selected patients lack the endpoint, per study and reason (nothing when none does)."""
    if excluded.empty:
        return []
    summary = prepare.exclusion_summary(excluded)
    reasons = "; ".join(f"{r.Study}: {r.Patients:,} ({r.Reason})" for r in summary.itertuples())
    return [Note(f"**{len(analysable):,} of {len(patients):,} selected patients are analysable.** "
                 f"{len(excluded):,} left out — {escape_markdown(reasons)}.", kind="info", icon=":material/info:")]


def too_many_levels(what: str, n: int, instead: str) -> Note:
    """Say that ``what`` has too many levels to compare (see :data:`prepare.MAX_COMPARED_LEVELS`)."""
    return Note(f"**{escape_markdown(what)}** has {n:,} levels in the selection: at most "
                f"{prepare.MAX_COMPARED_LEVELS} are compared (curves, tests and Cox terms grow with every level). "
                f"{instead}", kind="warning", icon=":material/dataset:")


def grouped_or_all(frame: pd.DataFrame, grouping: str, instead: str) -> tuple[str, pd.DataFrame, list[Note]]:
    """``frame`` with a ``group`` column; all patients together (grouping "none") when the grouping has more
    levels than are compared, with a note saying so and what is shown ``instead``."""
    labels = prepare.group_labels(frame, grouping)
    n = prepare.n_levels(labels)
    notes = []
    if n > prepare.MAX_COMPARED_LEVELS:
        notes = [too_many_levels(GROUPING_LABELS[grouping], n, instead)]
        grouping, labels = "none", prepare.group_labels(frame, "none")
    grouped = frame.copy(deep=False)  # the same column arrays and one new column (assign copied every column)
    grouped["group"] = labels
    return grouping, grouped, notes


def counted_note(left_out: str = "") -> Note:
    """The note of a counted page (a source above ``patients_counted`` of :data:`sarcoma_app.limits.SCALE`):
    the database counted it, a view's code loads the patients when opened, and what is ``left_out`` (project
    text: "The patient ids of a short PFS listing need each patient's record")."""
    loaded = limits.SCALE.patients_loaded.amount
    return Note(f"Large source: counted by the database over the selected patients, so the page stays quick. "
                f"\"Show the code\" under a view loads the selected patients (up to {loaded}) when it is opened."
                + (f" {left_out} and are not shown for a source above {limits.SCALE.patients_counted.amount}."
                   if left_out else ""), kind="info")


def not_available(what: str) -> Note:
    """Say that a part of a page exists for the bundled papers only (``what`` is project text)."""
    return Note(f"{what} exist for the two published papers only, not for this data source. Choose *Published "
                "cohorts* under **Data source** in the sidebar to see them.", kind="info", icon=":material/info:")

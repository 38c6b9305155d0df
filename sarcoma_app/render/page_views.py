"""What each page with slides shows, as one function per page: its data read for a view state, its builder.

The page scripts (``pages/*.py``) draw what these return; a link's deck
(:mod:`sarcoma_app.viewstate.deck_link`) rebuilds a slide by calling the same
function with the slide's state. So a slide from a link and one added on the
page come from one path.

On a counted source (:func:`sarcoma_app.sources.db.is_large`) a page is built
from the database's counts; each of its views gets the code of the same view
built from the patients, which loads them only when its "Show the code" is
opened (:func:`_with_code_of_patients`).

Each function takes the view state, ``controls`` (the page's
:class:`~sarcoma_app.views.blocks.Choice` list -> the methods the view uses:
:func:`sarcoma_app.render.blocks.controls` on the page, :func:`resolve` for a
slide) and ``picked`` (a page control's kept value, as
:func:`sarcoma_app.render.blocks.picked`).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial
from typing import Callable, Sequence

from sarcoma_app.sources import cohort, db
from sarcoma_app.views import (
    adverse_events, adverse_events_counts, common, hazard_ratios, hazard_ratios_counts, overview, overview_counts,
    patients as patients_view, published, response, response_counts, subtype, subtype_counts, survival, survival_counts,
)
from sarcoma_app.views.blocks import Block, Choice, Columns, Expander, Note, Pick, Tabs, View
from sarcoma_app.viewstate.url_state import FilterState, MethodState, ViewState

Controls = Callable[[Sequence[Choice]], MethodState]
Picked = Callable[..., object]
#: A page's function: the view state, its controls and its picks -> its blocks.
PageBuild = Callable[[ViewState, Controls, Picked], list[Block]]


def resolve(choices: Sequence[Choice], methods: MethodState) -> MethodState:
    """The methods a view uses: ``methods`` with each choice's value resolved against the data."""
    return replace(methods, **{choice.field: choice.value for choice in choices})


def _with_code_of_patients(blocks: list[Block], of_patients: PageBuild, state: ViewState, methods: MethodState,
                           picked: Picked, selection: FilterState | None = None,
                           narrowing_filters: tuple[str, ...] = db.NARROWING_FILTERS) -> list[Block]:
    """The views of a counted page, each with its code: the same view of the page built from each patient by
    ``of_patients`` (with ``methods``, as the counted page resolved them), once per run and only when a "Show
    the code" is opened. Instead, why not: when ``selection`` (the patients it loads; default: the state's
    filters) is too large to load (``narrowing_filters`` narrow it), or when the choices resolve otherwise on
    the patients than on the counts (a grouping with a single value among them): the code would not be this
    view's."""
    selection = state.filters if selection is None else selection
    built: dict[str, list[Block] | str] = {}

    def patient_page() -> list[Block] | str:
        if (too_many := db.too_many_to_load(selection)) is not None:
            return db.too_many_text(too_many, "The code reads each patient's row", narrowing_filters) + "."
        offered: list[Choice] = []

        def resolving(choices: Sequence[Choice]) -> MethodState:
            offered.extend(choices)
            return resolve(choices, methods)

        page = of_patients(replace(state, methods=methods), resolving, picked)
        changed = [choice.label for choice in offered if getattr(methods, choice.field) != choice.value]
        if changed:
            return ("The code is not shown for these choices: on the selected patients the page would resolve "
                    f"{', '.join(f'**{label}**' for label in changed)} otherwise than the counts do (e.g. a grouping "
                    "with a single value among them), so it would not compute this view. Change that choice, or "
                    "the filters.")
        return page

    def patient_view(key: str) -> View | str:
        if "page" not in built:
            built["page"] = patient_page()
        page = built["page"]
        if isinstance(page, str):
            return page
        return find_view(page, key) or "This view has no code for these data."

    return _with_views(blocks, lambda view: replace(view, code_view=partial(patient_view, view.key))
                       if view.tools and view.code is None else view)


def overview_page(state: ViewState, controls: Controls, picked: Picked) -> list[Block]:
    reconciliation = db.reconciliation() if cohort.has_published_tables() else None
    if db.is_large():  # counts only: the patients are loaded for a view's code only
        counts = {part: db.pattern_counts(state.filters, columns) for part, columns in overview_counts.QUERIES.items()}
        methods = controls([])
        blocks = overview_counts.build(counts, methods, db.read_table("studies"), reconciliation)
        return _with_code_of_patients(blocks, _overview_of_patients, state, methods, picked)
    return _overview_of_patients(state, controls, picked)


def _overview_of_patients(state: ViewState, controls: Controls, picked: Picked) -> list[Block]:
    reconciliation = db.reconciliation() if cohort.has_published_tables() else None
    patients = db.load_patients(state.filters)
    methods = controls(overview.choices(patients, state.methods))
    return overview.build(patients, methods, db.read_table("studies"), reconciliation)


def response_page(state: ViewState, controls: Controls, picked: Picked) -> list[Block]:
    if db.is_large():  # counts only: the patients are loaded for tumour measurements and a view's code only
        filters = state.filters
        methods = controls(response_counts.choices(db.recorded_counts(), state.methods, db.count_studies(filters)))
        counts = {part: db.pattern_counts(filters, columns)
                  for part, columns in response_counts.queries(methods).items()}
        blocks = response_counts.build(counts, db.count_patients(filters), methods)
        if db.has_assessments():
            if (too_many := db.too_many_to_load(filters)) is not None:
                blocks.append(Note(db.too_many_text(too_many, "The tumour measurements need each patient") + ".",
                                   kind="info"))
            elif len(assessments := db.load_assessments(filters)):
                blocks += response.measurement_blocks(db.load_patients(filters), assessments)
        return _with_code_of_patients(blocks, _response_of_patients, state, methods, picked)
    return _response_of_patients(state, controls, picked)


def _response_of_patients(state: ViewState, controls: Controls, picked: Picked) -> list[Block]:
    patients = db.load_patients(state.filters)
    methods = controls(response.choices(patients, state.methods))
    return response.build(patients, methods, assessments=db.load_assessments(state.filters))


def survival_page(state: ViewState, controls: Controls, picked: Picked) -> list[Block]:
    filters = state.filters
    if db.is_large():  # counts only: the patients are loaded for a view's code only
        methods = controls(survival_counts.choices(db.recorded_counts(), db.count_studies(filters), state.methods))
        counts = db.survival_counts(filters, methods.survival_endpoint, methods.km_by, methods.stratify == "study")
        blocks = survival_counts.build(counts, db.count_patients(filters), methods, methods.km_by)
        return _with_code_of_patients(blocks, _survival_of_patients, state, methods, picked)
    return _survival_of_patients(state, controls, picked)


def _survival_of_patients(state: ViewState, controls: Controls, picked: Picked) -> list[Block]:
    patients = db.load_patients(state.filters)
    return survival.build(patients, controls(survival.choices(patients, state.methods)))


def hazard_ratios_page(state: ViewState, controls: Controls, picked: Picked) -> list[Block]:
    filters = state.filters
    if db.is_large():  # counts only: the patients are loaded for a view's code only
        recorded, n_studies = db.recorded_counts(), db.count_studies(filters)
        methods = controls(hazard_ratios_counts.choices(recorded, n_studies, state.methods))
        blocks = hazard_ratios_counts.page(lambda columns: db.cox_counts(filters, methods.survival_endpoint, columns),
                                           recorded, n_studies, db.count_patients(filters), methods)
        return _with_code_of_patients(blocks, _hazard_ratios_of_patients, state, methods, picked)
    return _hazard_ratios_of_patients(state, controls, picked)


def _hazard_ratios_of_patients(state: ViewState, controls: Controls, picked: Picked) -> list[Block]:
    patients = db.load_patients(state.filters)
    methods = controls(hazard_ratios.choices(patients, state.methods))
    reconciliation = (db.reconciliation() if cohort.has_published_tables() and methods.survival_endpoint == "pfs"
                      else None)
    return hazard_ratios.build(patients, methods, reconciliation)


def _subtype_selection(filters: FilterState) -> FilterState:
    """The Subtype page's patients: it picks the histology itself; the sidebar's other filters (study,
    pazopanib, ECOG...) still apply."""
    return replace(filters, histology=(), histology_group=())


def subtype_page(state: ViewState, controls: Controls, picked: Picked) -> list[Block]:
    filters = state.filters
    selection = _subtype_selection(filters)
    if db.is_large():  # counts only: the patients are loaded for a view's code only
        printed = db.read_table("published_response_by_histology") if cohort.has_published_tables() else None
        conflicts = db.read_table("source_conflicts") if cohort.has_published_tables() else None
        menu_counts = db.pattern_counts(FilterState(), subtype.MENU_COLUMNS)
        choice = subtype_counts.chosen(menu_counts, picked(subtype.CHOICE_KEY))
        pfs = (None if choice is None else
               db.survival_counts_within(selection, choice.column, choice.value, subtype_counts.ENDPOINT, "study"))
        blocks = subtype_counts.build(
            menu_counts, db.pattern_counts(selection, subtype.COUNTED_COLUMNS), pfs, state.methods,
            chosen=picked(subtype.CHOICE_KEY), pooled=bool(picked(subtype.POOLED_KEY, False)),
            studies=db.read_table("studies"), histology_filtered=bool(filters.histology or filters.histology_group),
            printed=printed, conflicts=conflicts,
            with_pfs=lambda: db.studies_with_endpoint(FilterState(), subtype_counts.ENDPOINT))
        return _with_code_of_patients(blocks, _subtype_of_selected_patients, state, state.methods, picked, selection,
                                      SUBTYPE_NARROWING_FILTERS)
    return _subtype_of_patients(state, controls, picked)


#: Sidebar filters that narrow the Subtype page's selection (it ignores the histology filters).
SUBTYPE_NARROWING_FILTERS = ("study", "pazopanib")


def _subtype_of_selected_patients(state: ViewState, controls: Controls, picked: Picked) -> list[Block]:
    """The Subtype page's views from the selected patients, its menu from counts: the code of a counted page
    (which need not load every patient of the source, as :func:`_subtype_of_patients` does for its menu)."""
    filters = state.filters
    choice = subtype_counts.chosen(db.pattern_counts(FilterState(), subtype.MENU_COLUMNS), picked(subtype.CHOICE_KEY))
    if choice is None:
        return []
    printed = db.read_table("published_response_by_histology") if cohort.has_published_tables() else None
    conflicts = db.read_table("source_conflicts") if cohort.has_published_tables() else None
    return subtype.choice_blocks(
        db.load_patients(_subtype_selection(filters)), state.methods, choice,
        pooled=bool(picked(subtype.POOLED_KEY, False)), studies=db.read_table("studies"), printed=printed,
        histology_filtered=bool(filters.histology or filters.histology_group), conflicts=conflicts,
        with_pfs=lambda: db.studies_with_endpoint(FilterState(), subtype_counts.ENDPOINT))


def _subtype_of_patients(state: ViewState, controls: Controls, picked: Picked) -> list[Block]:
    filters = state.filters
    printed = db.read_table("published_response_by_histology") if cohort.has_published_tables() else None
    conflicts = db.read_table("source_conflicts") if cohort.has_published_tables() else None
    return subtype.build(
        db.load_patients(_subtype_selection(filters)), state.methods, every_patient=db.load_patients(FilterState()),
        chosen=picked(subtype.CHOICE_KEY), pooled=bool(picked(subtype.POOLED_KEY, False)),
        studies=db.read_table("studies"), histology_filtered=bool(filters.histology or filters.histology_group),
        printed=printed, conflicts=conflicts)


def adverse_events_page(state: ViewState, controls: Controls, picked: Picked) -> list[Block]:
    filters = state.filters
    if db.is_large():  # counts, and a page of the events: neither the patients nor all their events are loaded
        first_events, more = db.first_adverse_events(filters, cohort.MAX_TABLE_ROWS)
        return ([common.not_available("The published AE tables")]
                + adverse_events_counts.build(db.adverse_event_counts(filters), db.count_patients(filters),
                                              first_events, more))
    patients = db.load_patients(filters)
    printed = db.read_table("published_adverse_events") if cohort.has_published_tables() else None
    return adverse_events.build(patients, db.load_adverse_events(filters),
                                untied=db.load_untied_adverse_events(adverse_events.studies_of(patients)),
                                published=printed)


def patients_page(state: ViewState, controls: Controls, picked: Picked, patients=None) -> list[Block]:
    """``patients``: the filtered patients when the caller has them already (the page's cohort exports)."""
    patients = db.load_patients(state.filters) if patients is None else patients
    return patients_view.build(
        patients, state.methods, value_sources=db.load_value_sources(state.filters),
        studies=db.read_table("studies"), published_tables=cohort.has_published_tables(),
        chosen=picked(patients_view.PROVENANCE_KEY))


def published_page(state: ViewState, controls: Controls, picked: Picked) -> list[Block]:
    if not cohort.has_published_tables():
        return [published.UNAVAILABLE]
    return published.build(
        db.load_patients(FilterState()), state.methods,  # the papers' numbers: whole cohorts
        comparison=db.reconciliation(), published_results=db.read_table("published_results"),
        conflicts=db.read_table("source_conflicts"), value_sources=db.read_table("patient_value_sources"),
        studies=db.read_table("studies"), status=picked(published.STATUS_KEY), detail=picked(published.DETAIL_KEY))


@dataclass(frozen=True)
class PageViews:
    """A page with slides: its title (a slide's ``page``), its function and the keys of its own controls."""

    title: str
    build: PageBuild
    picks: tuple[str, ...] = ()


#: Page id (its script's name, as in its URL) -> what it shows.
PAGES = {
    "overview": PageViews(overview.TITLE, overview_page),
    "response": PageViews(response.TITLE, response_page),
    "survival": PageViews(survival.TITLE, survival_page),
    "hazard_ratios": PageViews(hazard_ratios.TITLE, hazard_ratios_page),
    "subtype": PageViews(subtype.TITLE, subtype_page, (subtype.CHOICE_KEY, subtype.POOLED_KEY)),
    "adverse_events": PageViews(adverse_events.TITLE, adverse_events_page),
    "patients": PageViews(patients_view.TITLE, patients_page, (patients_view.PROVENANCE_KEY,)),
    "published": PageViews(published.TITLE, published_page, (published.STATUS_KEY, published.DETAIL_KEY)),
}


def page_id(title: str) -> str | None:
    """The id of the page titled ``title`` (None for a page without slides)."""
    return next((page for page, views in PAGES.items() if views.title == title), None)


def _walk(blocks: Sequence[Block]):
    """Every block of ``blocks``, those in expanders, columns and tabs too, in order."""
    for block in blocks:
        yield block
        if isinstance(block, Expander):
            yield from _walk(block.blocks)
        elif isinstance(block, Columns):
            for column in block.columns:
                yield from _walk(column)
        elif isinstance(block, Tabs):
            for _, tab in block.tabs:
                yield from _walk(tab)


def _with_views(blocks: Sequence[Block], change: Callable[[View], View]) -> list[Block]:
    """``blocks`` with each :class:`View` among them (those in expanders, columns and tabs too) changed."""
    def one(block: Block) -> Block:
        if isinstance(block, View):
            return change(block)
        if isinstance(block, Expander):
            return replace(block, blocks=[one(b) for b in block.blocks])
        if isinstance(block, Columns):
            return replace(block, columns=[[one(b) for b in column] for column in block.columns])
        if isinstance(block, Tabs):
            return replace(block, tabs=[(label, [one(b) for b in tab]) for label, tab in block.tabs])
        return block

    return [one(block) for block in blocks]


def find_view(blocks: Sequence[Block], key: str) -> View | None:
    """The :class:`View` keyed ``key`` among ``blocks``."""
    return next((block for block in _walk(blocks) if isinstance(block, View) and block.key == key), None)


def shown_picks(blocks: Sequence[Block], keys: Sequence[str]) -> tuple[tuple[str, str | bool], ...]:
    """The values the page's own controls ``keys`` show in ``blocks`` (as resolved by the builder)."""
    return tuple((block.key, block.value) for block in _walk(blocks)
                 if isinstance(block, Pick) and block.key in keys and isinstance(block.value, (str, bool)))

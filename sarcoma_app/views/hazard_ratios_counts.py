"""Hazard ratios page of a large source: the univariate screening and the multivariable model from counts.

Above ``patients_counted`` of :data:`sarcoma_app.limits.SCALE` the page gets events and censorings per
(covariate value, time) from
DuckDB, one count table per covariate and one for the model (:func:`sarcoma_app.sources.db.cox_counts`, see
:func:`queries`; the covariates' tables are summed from a few joint queries, :func:`joint_queries` and
:func:`marginal`, the model's first), and fits them with :func:`analysis.cox.univariate_cox_from_counts` and
:func:`analysis.cox.fit_cox_from_counts`: the same tables as :func:`sarcoma_app.views.hazard_ratios.build` on
the same patients (tests/test_views_hazard_ratios_counts.py), the proportional-hazards check
(:func:`analysis.proportional_hazards.cox_zph_from_counts`) and the Firth-penalised fits
(:func:`analysis.firth.firth_cox_from_counts`) included. A view's code, which reads
the patients' CSV, is built from the patients only when it is opened (:mod:`sarcoma_app.render.page_views`).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from analysis.cox import InsufficientDataError, fit_cox_from_counts, univariate_cox_from_counts
from analysis.firth import firth_cox_from_counts
from analysis.proportional_hazards import cox_zph_from_counts
from data import registry
from sarcoma_app import limits
from sarcoma_app.text import escape_markdown
from sarcoma_app.views import common, hazard_ratios, prepare
from sarcoma_app.views.blocks import Block, Choice, Heading, Note
from sarcoma_app.views.covariates import COVARIATES
from sarcoma_app.viewstate.url_state import MethodState

#: The stratum column of a stratified count table (the patient page's strata).
STRATUM = "study_id"
COUNTS = ["n_event", "n_censor"]


def choices(recorded: dict[str, tuple[int, int]], n_studies: int, methods: MethodState) -> list[Choice]:
    """The page's choices from per-column counts of the source (:func:`sources.db.recorded_counts`) and the
    number of selected studies (stratification is offered for two or more)."""
    endpoints = registry.available_endpoints(recorded)
    if not endpoints:
        return []
    template = {c.field: c for c in hazard_ratios.choices(_placeholder(endpoints, n_studies), methods)}
    template["survival_endpoint"] = common.selected(
        "survival_endpoint", "Endpoint", endpoints, methods.survival_endpoint,
        template["survival_endpoint"].format, help=template["survival_endpoint"].help)
    return [template[field] for field in ("survival_endpoint", "ties", "p_adjust", "stratify") if field in template]


def _placeholder(endpoints: tuple[str, ...], n_studies: int) -> pd.DataFrame:
    """Made-up rows recording the source's endpoints and studies (only to reuse the choices' texts)."""
    rows = max(n_studies, 2)
    columns = {"study_id": [f"study {i % max(n_studies, 1)}" for i in range(rows)]}
    for endpoint in endpoints:
        spec = registry.ENDPOINTS[endpoint]
        columns[spec.time], columns[spec.event] = [float(i + 1) for i in range(rows)], [i % 2 for i in range(rows)]
    return pd.DataFrame(columns)


def stratified(methods: MethodState, n_studies: int) -> bool:
    """Whether the count tables carry the study (the models are stratified where two or more are analysable)."""
    return methods.stratify == "study" and n_studies > 1


def recorded_covariates(recorded: dict[str, tuple[int, int]]) -> tuple[str, ...]:
    """Covariates whose column the source records with two or more values, in registry order."""
    return tuple(key for key in COVARIATES
                 if recorded.get(registry.COVARIATES[key].variable, (0, 0))[1] >= 2)


def variables(keys, with_stratum: bool) -> tuple[str, ...]:
    """The patient columns a count table of the covariates ``keys`` groups by (each once, then the stratum)."""
    columns = dict.fromkeys(registry.COVARIATES[key].variable for key in keys)
    return tuple(columns) + ((STRATUM,) if with_stratum else ())


def queries(recorded: dict[str, tuple[int, int]], with_stratum: bool) -> dict[str, tuple[str, ...]]:
    """Covariate -> the columns of its screening count table (covariates on one column share one table)."""
    return {key: variables([key], with_stratum) for key in recorded_covariates(recorded)}


#: Most value combinations (each column's values and missing, multiplied) of the columns one joint count
#: query groups by for the screening (:func:`joint_queries`): its table stays a few times one column's.
JOINT_PATTERNS = 72


def joint_queries(recorded: dict[str, tuple[int, int]], with_stratum: bool,
                  wanted: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The count queries that give every screening table (:func:`queries`), each by :func:`marginal`.

    DuckDB's cost is the pass over the patients, little more for two or three columns than for one
    (1,000,000 patients: about 50 ms for ecog, 85 ms for ecog, pazopanib and sex together), so columns
    with few values are counted together, up to :data:`JOINT_PATTERNS` combinations. The first query is
    the model's of the ``wanted`` covariates the source records (its table is the model's when the page
    resolves the same terms, :func:`model_terms`).
    """
    keys = recorded_covariates(recorded)
    model = list(variables([key for key in wanted if key in keys], False))
    others = [c for c in dict.fromkeys(registry.COVARIATES[key].variable for key in keys) if c not in model]
    stratum = (STRATUM,) if with_stratum else ()
    return [tuple(group) + stratum for group in ([model] if model else []) + packed(others, recorded)]


def packed(columns, recorded: dict[str, tuple[int, int]]) -> list[list[str]]:
    """``columns`` in order, in groups of at most :data:`JOINT_PATTERNS` value combinations (a column with more
    values alone)."""
    groups: list[list[str]] = []
    size = JOINT_PATTERNS + 1
    for column in columns:
        values = recorded.get(column, (0, 0))[1] + 1  # and missing
        if size * values > JOINT_PATTERNS:
            groups.append([])
            size = 1
        groups[-1].append(column)
        size *= values
    return groups


def marginal(counts: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """The count table of ``columns`` from a table of more columns (:func:`sources.db.cox_counts`): events
    and censorings summed over the other columns' values, rows ordered as the query orders them (``ORDER BY
    ALL``: by the columns then the time, missing last), each value as the query returns it (a row of the
    group's). The same table as the query of ``columns`` (tests/test_views_hazard_ratios_counts.py)."""
    keys = [*columns, "time"]
    if list(counts.columns) == [*keys, *COUNTS]:
        return counts
    codes, sizes = [], []
    for key in keys:  # each value's rank (sorted as the query sorts; missing last)
        code, levels = pd.factorize(counts[key], sort=True)
        codes.append(np.where(code < 0, len(levels), code))
        sizes.append(len(levels) + 1)
    groups, first, group = np.unique(np.ravel_multi_index(codes, sizes), return_index=True, return_inverse=True)
    table = pd.DataFrame({key: counts[key].iloc[first].reset_index(drop=True) for key in keys})
    for column in COUNTS:  # whole numbers far below 2**53: summed exactly
        table[column] = np.bincount(group, weights=counts[column].to_numpy(), minlength=groups.size).astype(
            counts[column].dtype)
    return table


def covariate_table(counts: pd.DataFrame, keys, with_stratum: bool) -> pd.DataFrame:
    """The analysable rows of a count table (time known) with the covariates ``keys`` built as on the patient
    page (a factor's reference: the most frequent level by patients)."""
    analysable = counts[counts["time"].notna()]
    weights = analysable["n_event"] + analysable["n_censor"]
    table = analysable[["time", *COUNTS] + ([STRATUM] if with_stratum else [])].copy()
    for key in keys:
        table[key] = COVARIATES[key].build(analysable, weights)
    return table.reset_index(drop=True)


def compared_covariates(tables: dict[str, pd.DataFrame]) -> tuple[list[str], dict[str, int]]:
    """As :func:`hazard_ratios.compared_covariates`: the covariates with two or more values among the
    analysable patients and not too many levels, and the crowded ones with their number of levels."""
    levels = {key: prepare.n_levels(table[key]) for key, table in tables.items()}
    offered = [key for key, n in levels.items() if n >= 2]
    crowded = {key: levels[key] for key in offered if levels[key] > prepare.MAX_COMPARED_LEVELS}
    return [key for key in offered if key not in crowded], crowded


def model_terms(tables: dict[str, pd.DataFrame], methods: MethodState) -> list[str]:
    """The covariates of the multivariable model (the page's choice, resolved as on the patient page)."""
    keys, _ = compared_covariates(tables)
    return list(hazard_ratios.terms_choice(keys, methods.cox_terms).value)


def page(fetch: Callable[[tuple[str, ...]], pd.DataFrame], recorded: dict[str, tuple[int, int]], n_studies: int,
         n_selected: int, methods: MethodState) -> list[Block]:
    """The page from ``fetch(columns)``: the count table of those patient columns (as
    :func:`sources.db.cox_counts` for the chosen endpoint). One query per distinct set of columns: those of
    :func:`joint_queries` (the model's first), whose :func:`marginal` tables are the screening tables of
    :func:`queries`, then the model's if its resolved terms differ."""
    if n_selected == 0:
        return [common.NO_PATIENTS]
    if methods.survival_endpoint not in registry.available_endpoints(recorded):
        return [common.no_endpoint()]
    with_stratum = stratified(methods, n_studies)
    fetched: dict[tuple[str, ...], pd.DataFrame] = {}

    def counts(columns: tuple[str, ...]) -> pd.DataFrame:
        if columns not in fetched:
            fetched[columns] = fetch(columns)
        if len(fetched[columns]) > limits.SCALE.cox_count_rows.value:
            raise _Uncompressed(columns)
        return fetched[columns]

    try:
        screening = _screening_counts(recorded, with_stratum, methods, counts)
    except _Uncompressed as error:
        return [_uncompressed_note(error.columns, n_selected)]
    tables = _screening_tables(screening, methods)
    terms = model_terms(tables, methods)
    try:
        model = counts(variables(terms, with_stratum)) if terms else None
    except _Uncompressed as error:  # the screening stands; only the model's table is too long
        return build(screening, None, n_selected, methods, tables,
                     model_refused=_uncompressed_note(error.columns, n_selected, "The multivariable model is"))
    return build(screening, model, n_selected, methods, tables)


def _screening_counts(recorded, with_stratum: bool, methods: MethodState, counts) -> dict[str, pd.DataFrame]:
    """Covariate -> its screening count table, from the :func:`joint_queries`; a column whose joint table is
    too long is queried alone (and refused there as before when that is too long too)."""
    tables: dict[tuple[str, ...], pd.DataFrame] = {}
    stratum = (STRATUM,) if with_stratum else ()
    groups = joint_queries(recorded, with_stratum, methods.cox_terms)
    while groups:
        group = groups.pop(0)
        data = group[:len(group) - len(stratum)]
        try:
            joint = counts(group)
        except _Uncompressed:  # e.g. the model's many columns: in smaller groups, if they make any
            smaller = packed(data, recorded)
            groups[:0] = [tuple(g) + stratum for g in smaller] if len(smaller) > 1 else []
            continue
        for column in data:
            tables[(column, *stratum)] = marginal(joint, (column, *stratum))
    return {key: tables[columns] if columns in tables else counts(columns)
            for key, columns in queries(recorded, with_stratum).items()}


class _Uncompressed(Exception):
    """A count table longer than :data:`limits.SCALE` ``cox_count_rows``."""

    def __init__(self, columns: tuple[str, ...]):
        super().__init__(columns)
        self.columns = columns


def _uncompressed_note(columns: tuple[str, ...], n_selected: int, what: str = "Hazard ratios are") -> Note:
    limit = limits.SCALE.cox_count_rows
    return Note(f"{what} not fitted for these {n_selected:,} patients: counted by "
                f"{escape_markdown(', '.join(columns))} and time, they still make more than {limit.amount} (many "
                "combinations of the covariates' values, or times taking nearly as many values as there are "
                "patients), and a Cox model on so many rows costs seconds each. "
                + ("Choose fewer covariates, filter" if len(columns) > 1 else "Filter")
                + f" the selection to {limit.value:,} patients or fewer (a count table has at most a "
                "row per patient), or round the times "
                "in the registry (e.g. to days).", kind="warning", icon=":material/warning:")


def _with_stratum(screening_counts: dict[str, pd.DataFrame], methods: MethodState) -> bool:
    return methods.stratify == "study" and any(STRATUM in t for t in screening_counts.values())


def _screening_tables(screening_counts: dict[str, pd.DataFrame], methods: MethodState) -> dict[str, pd.DataFrame]:
    with_stratum = _with_stratum(screening_counts, methods)
    return {key: covariate_table(counts, [key], with_stratum) for key, counts in screening_counts.items()}


def build(screening_counts: dict[str, pd.DataFrame], model_counts: pd.DataFrame | None, n_selected: int,
          methods: MethodState, tables: dict[str, pd.DataFrame] | None = None,
          model_refused: Note | None = None) -> list[Block]:
    """The page's blocks from the count tables of :func:`queries` (``screening_counts``: covariate -> its
    table) and of the model's covariates (:func:`model_terms`; None when none is chosen, or when its table was
    refused: ``model_refused`` says why, under the model's choices). ``tables``: the screening tables with the
    covariates built (:func:`covariate_table`), when the caller has them."""
    if n_selected == 0:
        return [common.NO_PATIENTS]
    endpoint, ties, p_adjust = methods.survival_endpoint, methods.ties, methods.p_adjust
    spec = registry.ENDPOINTS[endpoint]
    with_stratum = _with_stratum(screening_counts, methods)
    tables = _screening_tables(screening_counts, methods) if tables is None else tables
    any_table = next(iter(screening_counts.values()), None)
    if any_table is None or not (any_table["time"].notna() & (any_table["n_event"] + any_table["n_censor"] > 0)).any():
        return [common.no_endpoint()]
    analysable = any_table[any_table["time"].notna()]
    n_analysable, n_events = int(analysable[COUNTS].to_numpy().sum()), int(analysable["n_event"].sum())
    blocks: list[Block] = []
    if n_analysable < n_selected:
        blocks.append(Note(f"**{n_analysable:,} of {n_selected:,} selected patients are analysable.** "
                           f"{n_selected - n_analysable:,} left out ({spec.short} time or event not recorded).",
                           kind="info", icon=":material/info:"))
    if n_events == 0:
        blocks.append(Note(f"No analysable patient with an event ({spec.event_label}) in the selection: hazard "
                           "ratios cannot be estimated.", kind="warning"))
        return blocks
    n_studies = int(analysable[STRATUM].nunique()) if with_stratum else 0
    strata = STRATUM if n_studies > 1 else None
    blocks.append(Heading("Univariate screening (one Cox model per characteristic)"))
    keys, crowded = compared_covariates(tables)
    blocks += [common.too_many_levels(COVARIATES[key].label, n, "It is left out of the Cox models on this page.")
               for key, n in crowded.items()]
    not_offered = [COVARIATES[key].label for key in COVARIATES if key not in set(keys) | set(crowded)]
    if not keys:
        blocks.append(Note("No characteristic takes two or more values among the analysable patients, so there is "
                           "nothing to compare.", kind="info"))
        return blocks
    if not_offered:
        blocks.append(Note(f"Not offered (not recorded, or one value only, among these {n_analysable:,} "
                           f"patients): {escape_markdown('; '.join(not_offered))}."))
    strata_text = _strata_text(n_studies)
    screen = univariate_cox_from_counts({key: tables[key] for key in keys}, ties=ties, strata=strata)
    blocks.append(hazard_ratios.screening_view(
        screen, spec, ties, p_adjust, strata_text,
        n_text=f"{n_analysable:,} patients with {spec.short} recorded, {n_events:,} events"))
    budget = hazard_ratios.FirthBudget()
    blocks += hazard_ratios.firth_blocks(
        screen, spec, separately=True, fit=lambda group: firth_cox_from_counts(tables[group[0]], group),
        size=lambda group: (len(tables[group[0]]), "rows of counts"), budget=budget)
    blocks += _model_blocks(model_counts, keys, methods, spec, ties, strata, strata_text, budget)
    if model_refused is not None:
        blocks.append(model_refused)
    blocks.append(common.counted_note())
    return blocks


def _strata_text(n_studies: int) -> str:
    if n_studies < 2:
        return ""
    return (f"Stratified by study ({n_studies} studies): one baseline hazard per study (R `strata(study_id)`), "
            "the hazard ratios compare patients within each study. ")


def _model_blocks(model_counts, keys, methods, spec, ties, strata, strata_text,
                  budget: hazard_ratios.FirthBudget) -> list[Block]:
    terms, blocks = hazard_ratios.model_choice_blocks(keys, methods.cox_terms)
    if not terms or model_counts is None:
        return blocks
    table = covariate_table(model_counts, terms, strata is not None)
    try:
        fitted = fit_cox_from_counts(table, terms, ties=ties, strata=strata)
    except InsufficientDataError as error:
        blocks.append(Note(f"The model cannot be fitted: {escape_markdown(error)}.", kind="warning"))
        return blocks
    view = hazard_ratios.model_view(fitted, spec, ties, strata_text)
    check = hazard_ratios.zph_block(  # of the same covariates without strata, as the patient page
        lambda: cox_zph_from_counts(table, terms, ties=ties, transform=hazard_ratios.ZPH_TRANSFORM,
                                    fitted=fitted if strata is None else None), spec, ties,
        stratified=strata is not None)
    firth = hazard_ratios.firth_blocks(view.result.reset_index(), spec, separately=False,
                                       fit=lambda group: firth_cox_from_counts(table, group),
                                       size=lambda group: (len(table), "rows of counts"), budget=budget)
    return blocks + [view, check] + firth

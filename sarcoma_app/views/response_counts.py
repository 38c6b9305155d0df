"""Response page of a large source: best response, ORR/DCR, Fisher tests and the forest plot from counts.

Above ``patients_counted`` of :data:`sarcoma_app.limits.SCALE` the page gets patients per pattern of a
few columns and the best
response from DuckDB (:func:`sarcoma_app.sources.db.pattern_counts`, one query per table: see
:func:`queries`) and shows what :func:`sarcoma_app.views.response.build` shows on the same patients
(tests/test_views_response_counts.py), computed by :mod:`analysis.response` with ``count_col``. The tumour
measurements (an upload's) and a view's code, which need each patient, come from the patients
(:mod:`sarcoma_app.render.page_views`; the code only when it is opened).
"""
from __future__ import annotations


import pandas as pd

from data import registry
from sarcoma_app.text import GROUPING_LABELS
from sarcoma_app.views import borrowing, common, prepare, response
from sarcoma_app.views.blocks import Block, Choice
from sarcoma_app.viewstate.url_state import MethodState

#: The count column of every table of this page.
COUNT = "n"


def queries(methods: MethodState) -> dict[str, list[str]]:
    """The patient columns counted for each part of the page (each gets ``n``, patients per pattern)."""
    grouping = [] if methods.response_by == "none" else [prepare.GROUPING_COLUMNS[methods.response_by]]
    forest = [prepare.GROUPING_COLUMNS[g.key] for g in registry.GROUPING_LIST if g.forest]
    return {"bars": ["study_id", "histology", "best_response"],
            "rates": ["study_id"] + grouping + ["best_response"],
            "forest": ["study_id"] + forest + ["best_response"]}


def choices(recorded: dict[str, tuple[int, int]], methods: MethodState, n_studies: int = 1) -> list[Choice]:
    """The Response page's choices from per-column counts of the source and the number of selected studies
    (the forest's study-stratified tests are offered for two or more)."""
    studies = pd.DataFrame({"study_id": [f"study {i}" for i in range(max(n_studies, 1))]})
    template = {c.field: c for c in response.choices(studies, methods)}
    grouping = template["response_by"]
    return [common.selected("response_by", grouping.label, registry.available_groupings(recorded),
                            methods.response_by, grouping.format, help=grouping.help),
            template["denominator"], template["ci"], template["endpoint"]] \
        + ([template["stratify"]] if "stratify" in template else [])


def build(counts: dict[str, pd.DataFrame], n_selected: int, methods: MethodState) -> list[Block]:
    """The page's blocks from ``counts`` (part -> :func:`sources.db.pattern_counts` of :func:`queries`)."""
    if n_selected == 0:
        return [common.NO_PATIENTS]
    rates = counts["rates"]
    n_studies = rates["study_id"].nunique()
    blocks: list[Block] = response.studies_note(n_studies)
    blocks += response.best_response_blocks(counts["bars"], count_col=COUNT)
    grouping, grouped, notes = common.grouped_or_all(
        rates, methods.response_by, "The table shows all patients together, without a test; choose a coarser "
                                    "grouping, or filter the patients first.")
    blocks += notes
    blocks += response.rates_blocks(None, grouped, grouping, methods, n_studies, count_col=COUNT)
    if grouping != "none":
        blocks += response.fisher_blocks(None, grouped, grouping, methods.denominator, count_col=COUNT)
    blocks += response.forest_blocks(counts["forest"], methods, n_studies, count_col=COUNT)
    if grouping not in ("none", "best_response"):  # as the patient page
        blocks += borrowing.section(grouped, grouped["group"], GROUPING_LABELS[grouping], methods,
                                    key="response_borrowing", missing=registry.GROUPINGS[grouping].missing_label,
                                    grouping=grouping, count_col=COUNT)
    blocks.append(common.counted_note())
    return blocks

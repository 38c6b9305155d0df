"""Subtype across studies of a large source: per-study response, PFS and borrowing from counts.

When a source is counted (more patients than ``patients_counted`` of :data:`sarcoma_app.limits.SCALE`), the page gets
patients per (histology group, histology, study) for its menu, patients per pattern of
:data:`sarcoma_app.views.subtype.COUNTED_COLUMNS` over the selection, and PFS events and censorings per
(study, time) of the chosen subtype (:func:`sarcoma_app.sources.db.survival_counts_within`), all counted by
DuckDB, and shows what :func:`sarcoma_app.views.subtype.build` shows on the same patients
(tests/test_views_subtype_counts.py), through the same builders with ``count_col``. The patient ids of
a PFS listing are left out with a note; a view's code, which reads the patients' CSV, is built from the
patients only when it is opened (:mod:`sarcoma_app.render.page_views`).
"""
from __future__ import annotations

from typing import Callable

import pandas as pd

from data import registry
from sarcoma_app.views import common, subtype
from sarcoma_app.views.blocks import Block
from sarcoma_app.viewstate.url_state import MethodState

#: The count column of every table of this page.
COUNT = "n"
#: The endpoint of the page's survival part (as on the patient page).
ENDPOINT = registry.DEFAULT_ENDPOINT


def chosen(menu_counts: pd.DataFrame, wanted: str | None) -> subtype.SubtypeChoice | None:
    """The choice the menu resolves ``wanted`` to (its default: the subtype with the most patients).

    ``menu_counts``: patients per pattern of :data:`sarcoma_app.views.subtype.MENU_COLUMNS` of every patient.
    """
    return subtype.menu(menu_counts, wanted, count_col=COUNT)[2]


def build(menu_counts: pd.DataFrame, selection: pd.DataFrame, pfs: pd.DataFrame | None, methods: MethodState, *,
          chosen: str | None = None, pooled: bool = False, studies: pd.DataFrame | None = None,
          printed: pd.DataFrame | None = None, histology_filtered: bool = False,
          conflicts: pd.DataFrame | None = None, with_pfs: Callable[[], list[str]] = list) -> list[Block]:
    """The page's blocks from counts.

    Parameters
    ----------
    menu_counts : DataFrame
        Patients (``n``) per pattern of :data:`~sarcoma_app.views.subtype.MENU_COLUMNS` of every patient of
        the data source (the menu).
    selection : DataFrame
        Patients (``n``) per pattern of :data:`~sarcoma_app.views.subtype.COUNTED_COLUMNS` of the sidebar's
        filters except its histology filters.
    pfs : DataFrame or None
        PFS events and censorings per (``group`` = study id, ``time``) of the selection's patients with the
        chosen histology (:func:`sarcoma_app.sources.db.survival_counts_within` for :func:`chosen`); a NULL
        time holds those without PFS.
    methods : MethodState
    chosen, pooled, studies, printed, histology_filtered, conflicts
        As in :func:`sarcoma_app.views.subtype.build`.
    with_pfs : callable
        The studies (ids) of the data source recording PFS (asked only when no patient of the subtype has it).
    """
    pick, notes, choice = subtype.menu(menu_counts, chosen, count_col=COUNT)
    if choice is None:
        return notes
    blocks = [pick, *notes] + subtype.choice_blocks(
        selection, methods, choice, pooled=pooled, studies=studies, printed=printed,
        histology_filtered=histology_filtered, conflicts=conflicts, with_pfs=with_pfs, count_col=COUNT,
        pfs=pfs if pfs is not None else empty_pfs())
    blocks.append(common.counted_note("The patient ids of a short PFS listing need each patient's record"))
    return blocks


def empty_pfs() -> pd.DataFrame:
    """A PFS count table without rows (no patient)."""
    return pd.DataFrame({"group": pd.Series(dtype=object), "stratum": pd.Series(dtype="int64"),
                         "time": pd.Series(dtype=float), "n_event": pd.Series(dtype="int64"),
                         "n_censor": pd.Series(dtype="int64")})

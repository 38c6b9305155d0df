"""Overview page of a large source: each study's headline response, median PFS and follow-up from counts.

Above ``patients_counted`` of :data:`sarcoma_app.limits.SCALE` the page gets patients per (study, best
response) and per (study, PFS
time, PFS event) from DuckDB (:func:`sarcoma_app.sources.db.pattern_counts` of :data:`QUERIES`) and shows
what :func:`sarcoma_app.views.overview.build` shows on the same patients (tests/test_views_overview_counts.py):
rates by :func:`analysis.response.response_table` with ``count_col``, the Kaplan–Meier median and the
reverse Kaplan–Meier follow-up by :func:`analysis.survival.kaplan_meier_from_counts`.
"""
from __future__ import annotations

import pandas as pd

from analysis.response import DENOMINATORS, response_table
from analysis.survival import kaplan_meier_from_counts
from data import registry
from sarcoma_app.views import common, overview, prepare, survival_counts
from sarcoma_app.views.blocks import Block
from sarcoma_app.viewstate.url_state import MethodState

_SPEC = registry.ENDPOINTS[overview.ENDPOINT]
#: Part -> the patient columns counted (each gets ``n``, patients per pattern).
QUERIES = {"responses": ["study_id", "best_response"], "pfs": ["study_id", _SPEC.time, _SPEC.event]}


def event_counts(pfs: pd.DataFrame) -> pd.DataFrame:
    """Events and censorings per PFS time (``time, n_event, n_censor``) of the analysable patterns of ``pfs``."""
    known = pfs[pfs[_SPEC.time].notna() & pfs[_SPEC.event].notna()]
    event = known[_SPEC.event].astype(int) == 1
    frame = pd.DataFrame({"time": known[_SPEC.time].astype(float), "n_event": known["n"].where(event, 0),
                          "n_censor": known["n"].where(~event, 0)})
    return frame.groupby("time", as_index=False, sort=True)[["n_event", "n_censor"]].sum()


def study_summary(responses: pd.DataFrame, pfs: pd.DataFrame, methods: MethodState, denominator: str) -> dict:
    """:func:`views.overview.study_summary` of one study from its counted ``responses`` and ``pfs`` patterns."""
    rates = response_table(responses, denominator=denominator, method=methods.ci, count_col="n").iloc[-1]
    other = response_table(responses, denominator=next(d for d in DENOMINATORS if d != denominator),
                           method=methods.ci, count_col="n").iloc[-1]
    counts = event_counts(pfs)
    analysable = int(counts[["n_event", "n_censor"]].to_numpy().sum())
    km = follow = None
    if analysable:
        km = kaplan_meier_from_counts(counts["time"], counts["n_event"], counts["n_censor"],
                                      conf_type=methods.conf_type)
        follow = survival_counts.follow_up(counts)
    missing = pfs[pfs[_SPEC.time].isna() | pfs[_SPEC.event].isna()]
    reasons = (pd.Series(missing["n"].to_numpy(), index=prepare.exclusion_reasons(
        missing[_SPEC.time].isna().to_numpy(), overview.ENDPOINT)).groupby(level=0, sort=False).sum()
               .sort_values(ascending=False, kind="stable"))
    return {"rates": rates, "other_rates": other if other["denominator"] != rates["denominator"] else None,
            "km": km, "reason": str(reasons.index[0]) if len(reasons) else "", "follow_up": follow,
            "denominator": denominator}


def build(counts: dict[str, pd.DataFrame], methods: MethodState, studies: pd.DataFrame,
          reconciliation: pd.DataFrame | None = None) -> list[Block]:
    """The page's blocks from ``counts`` (part of :data:`QUERIES` -> :func:`sources.db.pattern_counts`)."""
    responses, pfs = counts["responses"], counts["pfs"]
    if responses.empty or int(responses["n"].sum()) == 0:
        return [common.NO_PATIENTS]
    denominators = overview.study_denominators(responses["study_id"].unique(), methods, reconciliation)
    summaries = {study_id: study_summary(responses[responses["study_id"] == study_id],
                                         pfs[pfs["study_id"] == study_id], methods, denominator)
                 for study_id, denominator in denominators.items()}
    sizes = responses.groupby("study_id")["n"].sum().astype(int).to_dict()
    return overview.summary_blocks(sizes, summaries, methods, studies, reconciliation) + [common.counted_note()]

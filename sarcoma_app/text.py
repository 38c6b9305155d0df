"""Display text: labels, number formats and markdown escaping (pure, no streamlit)."""
from __future__ import annotations

import math
import re

from analysis.methods import (  # noqa: F401 (labels)
    CI_METHOD_LABELS, CONF_TYPE_LABELS, P_ADJUST_LABELS, RISK_TABLE_LABELS, STRATIFY_LABELS, TIES_LABELS,
)
from data import registry
from data.studies import bundled_study_labels
from sarcoma_app.viewstate.url_state import UNKNOWN

EN_DASH = "\u2013"

#: Short names of the bundled studies: the ``short_label`` column of the ``studies`` table (its source CSV,
#: which the database is built from); other study ids are shown as they are.
STUDY_LABELS = bundled_study_labels()
DENOMINATOR_LABELS = {"all": "all treated patients", "evaluable": "evaluable patients only"}
ENDPOINT_LABELS = {"orr": "ORR (CR + PR)", "dcr": "DCR (CR + PR + SD)"}
#: Grouping variable -> label (the registry's groupings).
GROUPING_LABELS = {registry.NO_GROUPING: "no grouping (all patients)",
                   **{g.key: g.label for g in registry.GROUPING_LIST}}
#: Time-to-event endpoint -> label.
SURVIVAL_ENDPOINT_LABELS = {e.key: e.label for e in registry.ENDPOINT_LIST}

#: Abbreviations used anywhere in the app.
GLOSSARY = {
    "AE": "Adverse event",
    "BH": "Benjamini–Hochberg false-discovery-rate adjustment of p values",
    "CI": "Confidence interval (95% unless stated)",
    "CR": "Complete response (RECIST 1.1)",
    "CTCAE": "Common Terminology Criteria for Adverse Events (NCI), v4.0 in both studies",
    "DCR": "Disease control rate: CR + PR + SD, divided by the stated denominator",
    "ECOG": "Eastern Cooperative Oncology Group performance status (0 = fully active … 4 = bedbound)",
    "EPV": "Events per variable (covariate) in a Cox model; < 10 makes estimates unstable",
    "HR": "Hazard ratio (Cox proportional hazards model); < 1 = longer PFS",
    "KM": "Kaplan–Meier estimate of the survival function",
    "LFTs": "Liver function tests (transaminases, alkaline phosphatase, bilirubin)",
    "NE": "Not evaluable for response",
    "NR": "Not reached (the survival curve or its confidence limit never falls to 50%)",
    "ORR": "Objective response rate: CR + PR, divided by the stated denominator",
    "PD": "Progressive disease (RECIST 1.1)",
    "PFS": "Progression-free survival, in months",
    "PR": "Partial response (RECIST 1.1)",
    "RECIST": "Response Evaluation Criteria in Solid Tumours, version 1.1",
    "SD": "Stable disease (RECIST 1.1)",
}


def study_label(study_id: object) -> str:
    """Short display name of a study (a simulated study says it is not real patients)."""
    key = str(study_id)
    if key in STUDY_LABELS:
        return STUDY_LABELS[key]
    if key.startswith("simulated_"):
        return f"Simulated registry {key.removeprefix('simulated_')} (not real patients)"
    return key


def option_label(dimension: str, value: str) -> str:
    """Display text of a filter option (without its count)."""
    if dimension == "study":
        return study_label(value)
    if dimension in registry.FILTERS:
        return registry.FILTERS[dimension].option_label(value)
    return "unknown (not reported)" if value == UNKNOWN else value


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return bool(math.isnan(value))  # type: ignore[arg-type]
    except TypeError:
        return False


def fmt_percent(value: float, digits: int = 1) -> str:
    """0.25 -> '25.0%'; missing -> '–'."""
    return EN_DASH if _is_missing(value) else f"{100 * value:.{digits}f}%"


def fmt_rate_ci(estimate: float, lower: float, upper: float, digits: int = 1) -> str:
    """'25.0% (10.7–44.9)' for proportions on the 0–1 scale."""
    if _is_missing(estimate):
        return "not estimable"
    if _is_missing(lower) or _is_missing(upper):
        return f"{100 * estimate:.{digits}f}% (CI not defined)"
    return f"{100 * estimate:.{digits}f}% ({100 * lower:.{digits}f}{EN_DASH}{100 * upper:.{digits}f})"


def fmt_time(value: float, digits: int = 2) -> str:
    """A time in months; NaN -> 'NR' (not reached)."""
    return "NR" if _is_missing(value) else f"{value:.{digits}f}"


def fmt_median_ci(median: float, lower: float, upper: float, digits: int = 2) -> str:
    """'2.25 (1.80–3.00)'; any part not reached is 'NR'."""
    return f"{fmt_time(median, digits)} ({fmt_time(lower, digits)}{EN_DASH}{fmt_time(upper, digits)})"


def fmt_ratio_ci(estimate: float, lower: float, upper: float, digits: int = 2) -> str:
    """'0.20 (0.06–0.70)'; missing -> 'not estimable'."""
    if any(_is_missing(v) or math.isinf(v) for v in (estimate, lower, upper)):
        return "not estimable"
    return f"{estimate:.{digits}f} ({lower:.{digits}f}{EN_DASH}{upper:.{digits}f})"


def fmt_p(value: float) -> str:
    """P value as usually printed: '0.012', '<0.001'; missing -> '–'."""
    if _is_missing(value):
        return EN_DASH
    if value < 0.001:
        return "<0.001"
    return f"{value:.3f}" if value < 0.1 else f"{value:.2f}"


def fmt_count(k: int, n: int) -> str:
    """'7/28'; '1,098/5,114' for a registry."""
    return f"{int(k):,}/{int(n):,}"


#: Every line break :meth:`str.splitlines` knows, tabs and other control characters.
_BREAKS_AND_CONTROLS = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]+")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$=&@])")  # "@": no e-mail autolink
_SHORTCODE = re.compile(r":(?=[A-Za-z0-9_/+-])")  # "/" too: a bare http:// would become a link


def one_line(text: object, limit: int | None = None) -> str:
    """``text`` on one line: line breaks, tabs and control characters become single spaces.

    Parameters
    ----------
    text : object
        Any value (``str()`` is taken).
    limit : int, optional
        Cut to this many characters (an ellipsis marks the cut).

    Examples
    --------
    >>> one_line("Leiomyo-" + chr(10) + "sarcoma")
    'Leiomyo- sarcoma'
    """
    flat = _BREAKS_AND_CONTROLS.sub(" ", str(text)).strip()
    if limit is not None and len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    return flat


def escape_markdown(text: object) -> str:
    """User or uploaded text made inert in any Streamlit Markdown (the one helper for "text into Markdown").

    Every Markdown / HTML special character is backslash-escaped (links and
    images ``[``, ``![``, raw HTML ``<``, emphasis ``*`` ``_``, code
    backticks, LaTeX ``$``, entities ``&``...), a colon that could open an
    emoji shortcode, an icon or a ``:color[...]`` directive is followed by a
    zero-width space (which also breaks a bare ``http://`` autolink, where
    backslash escapes do not apply), and line breaks become spaces (no heading, list or
    block quote can start). Use it for every data value that goes into
    ``st.markdown``, ``st.caption``, ``st.subheader``, ``st.toast``, alerts,
    labels and help texts.

    Examples
    --------
    >>> escape_markdown("*x* <b>")
    '\\\\*x\\\\* \\\\<b\\\\>'
    """
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", one_line(text))
    return _SHORTCODE.sub(":\u200b", escaped)


def fmt_value(value: float, unit: str) -> str:
    """A published or recomputed value in its unit ('proportion', 'months', 'ratio', 'patients')."""
    if _is_missing(value):
        return EN_DASH
    if unit == "proportion":
        return f"{100 * value:.1f}%"
    if unit == "patients":
        return f"{value:.0f}"
    return f"{value:.2f}"


def fmt_value_ci(estimate: float, lower: float, upper: float, unit: str) -> str:
    """Value with its CI when there is one: '25.0% (10.7–44.9)'."""
    text = fmt_value(estimate, unit)
    if _is_missing(lower) or _is_missing(upper) or text == EN_DASH:
        return text
    return f"{text} ({fmt_value(lower, unit).rstrip('%')}{EN_DASH}{fmt_value(upper, unit)})"

"""Pure parsing and serialisation of the view state <-> URL query parameters.

No streamlit import: this module is property-tested on its own
(``tests/test_url_state.py``). :mod:`sarcoma_app.viewstate.state` syncs it with
``st.query_params``.

URL conventions
---------------
* Parameter names are readable snake_case words (``pazopanib``,
  ``histology``, ``conf_type``...); values are the words shown in the app
  (``yes``, ``Angiosarcoma``, ``log-log``), matched case-insensitively.
* Several values of one parameter are written as repeated keys
  (``?response=CR&response=PR``: browsers show them without escapes, and
  a value may contain a comma). Comma-separated values
  (``?response=CR,PR``, handy when typing a link) are read too.
* A parameter at its default value is left out, so the default view has a
  clean URL with no query string.
* Anything not allowed (unknown parameter, unknown value, malformed number)
  is dropped and reported as a :class:`Notice`; nothing from the URL ever
  reaches SQL as text - only values from the allowed lists are kept.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, fields, make_dataclass, replace
from typing import Iterable, Mapping, Sequence

from analysis.methods import (
    BANDS, BORROWING_MODELS, CI_METHODS, CONF_TYPES, HETEROGENEITY_PRIORS, RISK_TABLES, STRATIFY_METHODS,
    TIES_METHODS,
)
from analysis.methods import P_ADJUST_METHODS as _P_ADJUST_ALIASES
from data import registry

#: Token for "not reported" (NULL) in every filter.
UNKNOWN = registry.UNKNOWN

# Vocabularies: the filters' fixed options from the registry, the methods from analysis/ ----------------
PAZOPANIB_VALUES = registry.FILTERS["pazopanib"].fixed_values
AE_COUNT_VALUES = registry.FILTERS["ae_count"].fixed_values
AE_GRADE3_VALUES = registry.FILTERS["ae_grade3"].fixed_values
RESPONSE_VALUES = registry.FILTERS["response"].fixed_values
YES_VALUES = ("yes", "true", "1", "on")

TIES = TIES_METHODS
#: Stratification by study (``?stratify=none`` pools the studies), offered when the selection spans several.
STRATIFY = STRATIFY_METHODS
#: Multiplicity adjustments by their canonical (R ``p.adjust``) names.
P_ADJUST_METHODS = tuple(dict.fromkeys(_P_ADJUST_ALIASES.values()))
DENOMINATORS = ("all", "evaluable")
ENDPOINTS = ("orr", "dcr")
#: Time-to-event endpoints (``?survival_endpoint=``), from the registry.
SURVIVAL_ENDPOINTS = tuple(registry.ENDPOINTS)
#: Grouping variables offered on the Response and Survival pages (a whitelist of the registry's groupings).
GROUPINGS = registry.GROUPING_KEYS
#: Candidate covariates of the multivariable Cox model (the registry's covariates).
COX_TERMS = tuple(registry.COVARIATES)

MAX_LANDMARKS = 6
MAX_LANDMARK_MONTHS = 240.0
MAX_VALUES_PER_PARAM = 200
MAX_VALUE_LENGTH = 200
#: A query with more parameter names than this is ignored as a whole (with one notice). The app has about
#: 25 keys. (Streamlit itself drops a query string of more than 1,000 fields or 512 Ki characters before
#: the script runs - ``streamlit.runtime.state.query_params.sanitize_query_string`` - so the app never
#: sees those and cannot say so; this bound makes 101 to 1,000 parameters cheap and stated.)
MAX_QUERY_PARAMS = 100
#: Notices listed for one link at most; the rest are counted in a last notice.
MAX_NOTICES = 20
#: Decimals kept of a landmark time (the URL writes what is kept, so parse -> format -> parse is a fixed point).
LANDMARK_DECIMALS = 2
#: Decimals kept of the borrowing section's response-rate threshold (a percentage from 0 to 100).
THRESHOLD_DECIMALS = 1
#: Query parameters Streamlit itself understands; never reported as unknown.
STREAMLIT_RESERVED = ("embed", "embed_options")
#: The tumour-board deck of a link (read by :mod:`sarcoma_app.viewstate.deck_link`, not by :func:`parse_query`).
DECK_PARAM = "deck"

#: Data sources (URL parameter ``source``; see :mod:`sarcoma_app.sources.cohort`). The published
#: cohorts are the default; ``uploaded`` exists only in the session that uploaded a cohort;
#: the simulated registries are never selected by default and never pooled with real patients.
DEFAULT_SOURCE = "bundled"
UPLOADED_SOURCE = "uploaded"
SIMULATED_SOURCES = ("simulated-1k", "simulated-10k", "simulated-100k")
#: A registry the server is configured to read in place (Parquet or DuckDB; offered only when configured).
REGISTRY_SOURCE = "registry"
SOURCES = (DEFAULT_SOURCE, UPLOADED_SOURCE) + SIMULATED_SOURCES + (REGISTRY_SOURCE,)


def _is_default(self) -> bool:
    """True when no filter is set."""
    return self == type(self)()


#: Sidebar filters; an empty tuple means "no restriction". One field per registry filter (its URL
#: parameter), plus ``evaluable_only``.
FilterState = make_dataclass(
    "FilterState",
    [(f.key, tuple[str, ...], field(default=())) for f in registry.FILTER_LIST] + [("evaluable_only", bool, False)],
    frozen=True, namespace={"is_default": _is_default, "__module__": __name__},
)


@dataclass(frozen=True)
class MethodState:
    """Statistical method choices; every field name is its URL parameter name."""

    ci: str = "clopper-pearson"
    conf_type: str = "log"
    ties: str = "efron"
    landmarks: tuple[float, ...] = (4.0, 6.0)
    response_by: str = "histology_group"
    km_by: str = "none"
    denominator: str = "all"
    endpoint: str = "orr"
    p_adjust: str = "BH"
    cox_terms: tuple[str, ...] = registry.DEFAULT_COX_TERMS
    survival_endpoint: str = registry.DEFAULT_ENDPOINT
    #: RMST horizon in months; 0 = the default rule (the shortest group's last follow-up).
    rmst_tau: float = 0.0
    stratify: str = "study"
    risk_table: str = "kmunicate"
    #: Borrowing across subtypes (Response page): endpoint, threshold (%) of P(rate > threshold), the prior
    #: scale of the between-subtype heterogeneity and the model (EX or EXNEX).
    borrow_endpoint: str = "orr"
    borrow_threshold: float = 20.0
    heterogeneity: str = "moderate"
    borrow_model: str = "ex"
    bands: str = "auto"


@dataclass(frozen=True)
class ViewState:
    """Everything a shared link restores.

    ``present`` is presentation mode (``?present=1``): larger type, no
    sidebar, tables folded, for a projector.
    """

    filters: FilterState = field(default_factory=FilterState)
    methods: MethodState = field(default_factory=MethodState)
    present: bool = False
    source: str = DEFAULT_SOURCE


#: Filters whose options come from the data (the others have fixed options).
DATA_DRIVEN_FILTERS = tuple(f.key for f in registry.FILTER_LIST if not f.fixed_values)


def _for_filter(self, name: str) -> tuple[str, ...]:
    """Allowed values of filter ``name`` in display order (empty when the data do not record it)."""
    if name in self.unavailable:
        return ()
    fixed = registry.FILTERS[name].fixed_values
    return fixed if fixed else getattr(self, name)


#: Values the data-driven filters accept, one field per :data:`DATA_DRIVEN_FILTERS` (display order, with
#: :data:`UNKNOWN` where the column has NULLs); ``unavailable`` lists the filters whose variable the active data
#: do not record (no option, a link naming them gets a notice); ``sources`` the data sources this session may
#: select (``uploaded`` only once it uploaded a cohort).
AllowedValues = make_dataclass(
    "AllowedValues",
    [(name, tuple[str, ...], field(default=())) for name in DATA_DRIVEN_FILTERS]
    + [("unavailable", tuple[str, ...], field(default=())),
       ("sources", tuple[str, ...], field(default=(DEFAULT_SOURCE,) + SIMULATED_SOURCES))],
    frozen=True, namespace={"for_filter": _for_filter, "__module__": __name__},
)


@dataclass(frozen=True)
class Notice:
    """A query parameter (or one of its values) that was ignored."""

    parameter: str
    value: str
    reason: str


FILTER_PARAMS = tuple(f.name for f in fields(FilterState))
METHOD_PARAMS = tuple(f.name for f in fields(MethodState))
_MULTI_FILTERS = tuple(name for name in FILTER_PARAMS if name != "evaluable_only")
_CHOICES = {
    "ci": CI_METHODS,
    "conf_type": CONF_TYPES,
    "ties": TIES,
    "response_by": GROUPINGS,
    "km_by": GROUPINGS,
    "denominator": DENOMINATORS,
    "endpoint": ENDPOINTS,
    "p_adjust": P_ADJUST_METHODS,
    "survival_endpoint": SURVIVAL_ENDPOINTS,
    "stratify": STRATIFY,
    "risk_table": RISK_TABLES,
    "borrow_endpoint": ENDPOINTS,
    "heterogeneity": HETEROGENEITY_PRIORS,
    "borrow_model": BORROWING_MODELS,
    "bands": BANDS,
}
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


# --------------------------------------------------------------------------- #
# Parsing
# --------------------------------------------------------------------------- #
def _raw_values(value: object) -> list[str]:
    """A query value (str, or list of str for repeated keys) as a list of str."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(item) for item in value]
    return [str(value)]


def _clean(text: str) -> str:
    return _CONTROL_CHARACTERS.sub("", text).strip()


def _split(raw_items: Iterable[str], allowed_lower: Mapping[str, str]) -> list[str]:
    """Split comma-separated items unless the whole item is an allowed value."""
    pieces: list[str] = []
    for item in raw_items:
        if item.strip().lower() in allowed_lower:
            pieces.append(item)
        else:
            pieces.extend(item.split(","))
    return pieces


def shorten(text: str, limit: int = 60) -> str:
    """Text cut to ``limit`` characters for a notice (control characters removed)."""
    text = _CONTROL_CHARACTERS.sub(" ", str(text))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _parse_multi(
    name: str, raw: object, allowed: Sequence[str], notices: list[Notice]
) -> tuple[str, ...]:
    allowed_lower = {value.lower(): value for value in allowed}
    chosen: set[str] = set()
    items = _raw_values(raw)
    if len(items) > MAX_VALUES_PER_PARAM:
        notices.append(Notice(name, f"{len(items)} values", "too many values; parameter ignored"))
        return ()
    for piece in _split(items, allowed_lower):
        cleaned = _clean(piece)
        if not cleaned:
            continue
        match = allowed_lower.get(cleaned.lower()) if len(cleaned) <= MAX_VALUE_LENGTH else None
        if match is None:
            notices.append(Notice(name, shorten(cleaned), "not an allowed value"))
        else:
            chosen.add(match)
    return tuple(value for value in allowed if value in chosen)


def _parse_choice(name: str, raw: object, allowed: Sequence[str], notices: list[Notice]) -> str | None:
    items = [_clean(item) for item in _raw_values(raw)]
    items = [item for item in items if item]
    if not items:
        return None
    allowed_lower = {value.lower(): value for value in allowed}
    match = allowed_lower.get(items[-1].lower()) if len(items[-1]) <= MAX_VALUE_LENGTH else None
    if match is None:
        notices.append(Notice(name, shorten(items[-1]), "not an allowed value"))
    return match


def _parse_bool(name: str, raw: object, notices: list[Notice]) -> bool:
    items = [_clean(item) for item in _raw_values(raw)]
    items = [item for item in items if item]
    if not items:
        return False
    value = items[-1].lower()
    if value in YES_VALUES:
        return True
    if value not in ("no", "false", "0", "off"):
        notices.append(Notice(name, shorten(items[-1]), "expected yes or no"))
    return False


def _parse_landmarks(raw: object, notices: list[Notice]) -> tuple[float, ...] | None:
    items = _raw_values(raw)
    if not items:
        return None
    values: list[float] = []
    for piece in _split(items, {}):
        cleaned = _clean(piece)
        if not cleaned:
            continue
        try:
            number = float(cleaned) if len(cleaned) <= 20 else math.nan
        except ValueError:
            number = math.nan
        # judged after rounding: 0.001 would be kept as 0, written to the URL and refused when read back
        number = round(number, LANDMARK_DECIMALS) if math.isfinite(number) else number
        if not math.isfinite(number) or not 0 < number <= MAX_LANDMARK_MONTHS:
            smallest = 10.0 ** -LANDMARK_DECIMALS
            notices.append(Notice("landmarks", shorten(cleaned), f"expected a number of months from {smallest:g} "
                                                                 f"to {MAX_LANDMARK_MONTHS:g}"))
            continue
        values.append(number)
    unique = tuple(sorted(set(values)))
    if len(unique) > MAX_LANDMARKS:
        notices.append(Notice("landmarks", f"{len(unique)} times", f"at most {MAX_LANDMARKS} landmark times; the first {MAX_LANDMARKS} kept"))
        unique = unique[:MAX_LANDMARKS]
    return unique if unique else None


def _parse_rmst_tau(raw: object, notices: list[Notice]) -> float | None:
    """One number of months from 0.01 to :data:`MAX_LANDMARK_MONTHS`, or 0 / empty for the default rule; None
    (with a notice) for anything else."""
    pieces = [cleaned for cleaned in (_clean(piece) for piece in _split(_raw_values(raw), {})) if cleaned]
    if not pieces:
        return 0.0
    if len(pieces) > 1:
        notices.append(Notice("rmst_tau", shorten(", ".join(pieces)), "expected one number of months"))
        return None
    try:
        number = float(pieces[0]) if len(pieces[0]) <= 20 else math.nan
    except ValueError:
        number = math.nan
    rounded = round(number, LANDMARK_DECIMALS) if math.isfinite(number) else number
    if not math.isfinite(rounded) or not 0 <= rounded <= MAX_LANDMARK_MONTHS or (rounded == 0 and number != 0):
        notices.append(Notice("rmst_tau", shorten(pieces[0]), f"expected a number of months from "
                                                              f"{10.0 ** -LANDMARK_DECIMALS:g} to "
                                                              f"{MAX_LANDMARK_MONTHS:g}, or empty for the default"))
        return None
    return rounded + 0.0  # -0 -> 0


def _parse_threshold(raw: object, notices: list[Notice]) -> float | None:
    """One percentage from 0 to 100 (a trailing % allowed); None (with a notice) for anything else."""
    pieces = [cleaned for cleaned in (_clean(piece) for piece in _split(_raw_values(raw), {})) if cleaned]
    if not pieces:
        return None
    text = pieces[0].removesuffix("%").strip() if len(pieces) == 1 else ""
    try:
        number = float(text) if 0 < len(text) <= 20 else math.nan
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or not 0 <= round(number, THRESHOLD_DECIMALS) <= 100:
        notices.append(Notice("borrow_threshold", shorten(", ".join(pieces)), "expected one percentage from 0 to 100"))
        return None
    return round(number, THRESHOLD_DECIMALS) + 0.0  # -0 -> 0


def parse_query(params: Mapping[str, object], allowed: AllowedValues) -> tuple[ViewState, list[Notice]]:
    """Read a view state from query parameters; never raises.

    Parameters
    ----------
    params : mapping
        Parameter name -> value (str) or values (list of str, for repeated
        keys), as ``{k: st.query_params.get_all(k)}``.
    allowed : AllowedValues
        Values the data-driven filters accept.

    Returns
    -------
    (ViewState, list of Notice)
        The state (defaults where a parameter is absent or invalid) and one
        notice per ignored parameter or value.
    """
    notices: list[Notice] = []
    filter_values: dict[str, object] = {}
    method_values: dict[str, object] = {}
    present = False
    source = DEFAULT_SOURCE
    try:
        n_params = len(params)
        if n_params > MAX_QUERY_PARAMS:  # bounded work: not even the names are read
            return ViewState(), [Notice("query", f"{n_params:,} parameters",
                                        f"more than {MAX_QUERY_PARAMS:,} parameters; the whole link was ignored")]
        items = list(params.items())
    except Exception:  # a hostile mapping: fall back to defaults
        return ViewState(), [Notice("query", "", "could not be read")]
    for raw_name, raw_value in items:
        name = _clean(str(raw_name))
        if name in STREAMLIT_RESERVED or name == DECK_PARAM:
            continue
        if name in _MULTI_FILTERS and name in allowed.unavailable:
            values = [v for v in (_clean(item) for item in _raw_values(raw_value)) if v]
            if values:
                notices.append(Notice(name, shorten(", ".join(values)), "this data source does not record "
                                      f"{registry.FILTERS[name].label.lower()}; filter ignored"))
        elif name in _MULTI_FILTERS:
            filter_values[name] = _parse_multi(name, raw_value, allowed.for_filter(name), notices)
        elif name == "evaluable_only":
            filter_values[name] = _parse_bool(name, raw_value, notices)
        elif name in _CHOICES:
            choice = _parse_choice(name, raw_value, _CHOICES[name], notices)
            if choice is not None:
                method_values[name] = choice
        elif name == "landmarks":
            landmarks = _parse_landmarks(raw_value, notices)
            if landmarks is not None:
                method_values[name] = landmarks
        elif name == "rmst_tau":
            tau = _parse_rmst_tau(raw_value, notices)
            if tau is not None:
                method_values[name] = tau
        elif name == "borrow_threshold":
            threshold = _parse_threshold(raw_value, notices)
            if threshold is not None:
                method_values[name] = threshold
        elif name == "cox_terms":
            method_values[name] = _parse_multi(name, raw_value, COX_TERMS, notices)
        elif name == "present":
            present = _parse_bool(name, raw_value, notices)
        elif name == "source":
            source = _parse_source(raw_value, allowed.sources, notices)
        else:
            notices.append(Notice(shorten(name, 40), "", "unknown parameter"))
    state = ViewState(FilterState(**filter_values), MethodState(**method_values), present, source)
    if len(notices) > MAX_NOTICES:
        hidden = len(notices) - MAX_NOTICES + 1
        notices = notices[: MAX_NOTICES - 1] + [Notice("query", f"{hidden:,} more", "further parameters or values "
                                                                                  "ignored as well")]
    return state, notices


def _parse_source(raw: object, sources: Sequence[str], notices: list[Notice] | None = None) -> str:
    """The data source named by a ``source`` parameter (default when absent or not available)."""
    items = [_clean(item) for item in _raw_values(raw)]
    items = [item for item in items if item]
    if not items:
        return DEFAULT_SOURCE
    wanted = items[-1].lower() if len(items[-1]) <= MAX_VALUE_LENGTH else ""
    if wanted in sources:
        return wanted
    if notices is not None:
        reason = ("no cohort has been uploaded in this browser session (an upload is never shared, "
                  "not even by a link)" if wanted == UPLOADED_SOURCE else "not an allowed value")
        notices.append(Notice("source", shorten(items[-1]), reason))
    return DEFAULT_SOURCE


def source_from_query(params: Mapping[str, object], sources: Sequence[str]) -> str:
    """The data source a query string asks for, before the rest is parsed (never raises).

    The filters' allowed values depend on the source, so the app reads the
    source first, then parses the whole query with :func:`parse_query`.
    """
    try:
        raw = {_clean(str(k)): v for k, v in params.items()}.get("source")
    except Exception:
        return DEFAULT_SOURCE
    return _parse_source(raw, sources)


# --------------------------------------------------------------------------- #
# Serialising
# --------------------------------------------------------------------------- #
def _format_number(value: float) -> str:
    return f"{value:g}"


def _repeated(values: Sequence[str]) -> list[str]:
    """Values of a multi-valued parameter, one repeated key each."""
    return list(values)


def to_query(state: ViewState) -> dict[str, str | list[str]]:
    """Query parameters for ``state``: defaults are left out.

    Returns
    -------
    dict
        Name -> str (a list of str means repeated keys), in a fixed order.
    """
    query: dict[str, str | list[str]] = {}
    if state.source != DEFAULT_SOURCE:
        query["source"] = state.source
    default_filters, default_methods = FilterState(), MethodState()
    for name in FILTER_PARAMS:
        value = getattr(state.filters, name)
        if value == getattr(default_filters, name):
            continue
        if name == "evaluable_only":
            query[name] = "yes"
        else:
            query[name] = _repeated(value)
    for name in METHOD_PARAMS:
        value = getattr(state.methods, name)
        if value == getattr(default_methods, name):
            continue
        if name == "landmarks":
            query[name] = [_format_number(v) for v in value]
        elif name in ("rmst_tau", "borrow_threshold"):
            query[name] = _format_number(value)
        elif name == "cox_terms":
            query[name] = _repeated(value) if value else ""  # an empty key keeps "no covariate"
        else:
            query[name] = value
    if state.present:
        query["present"] = "1"
    return query


def query_signature(params: Mapping[str, object]) -> tuple:
    """A comparable, order-independent form of raw query parameters."""
    return tuple(sorted((str(k), tuple(_raw_values(v))) for k, v in params.items()))


def with_filter(state: ViewState, **changes: object) -> ViewState:
    """``state`` with some filter fields replaced."""
    return replace(state, filters=replace(state.filters, **changes))


def with_methods(state: ViewState, **changes: object) -> ViewState:
    """``state`` with some method fields replaced."""
    return replace(state, methods=replace(state.methods, **changes))


def allowed_for(name: str, allowed: AllowedValues) -> tuple[str, ...]:
    """Allowed values of a parameter, for a notice (empty when free-form or unknown)."""
    if name in _MULTI_FILTERS:
        return allowed.for_filter(name)
    if name in _CHOICES:
        return _CHOICES[name]
    if name == "cox_terms":
        return COX_TERMS
    if name == "evaluable_only":
        return ("yes", "no")
    if name == "present":
        return ("1", "0")
    if name == "source":
        return allowed.sources
    return ()


def parse_rmst_tau_text(text: str) -> float | None:
    """An RMST horizon typed by a user ('12'; empty or 0 for the default rule); None when invalid."""
    notices: list[Notice] = []
    value = _parse_rmst_tau(str(text), notices)
    return None if notices else value


def parse_threshold_text(text: str) -> float | None:
    """A threshold typed by a user ('20' or '20%', a percentage from 0 to 100); None when invalid."""
    notices: list[Notice] = []
    value = _parse_threshold(str(text), notices)
    return None if notices else value


def parse_landmarks_text(text: str) -> tuple[float, ...] | None:
    """Landmark times typed by a user ('4, 6'); None when any part is invalid."""
    notices: list[Notice] = []
    values = _parse_landmarks(str(text).replace(";", ","), notices)
    if notices or values is None:
        return None
    return values

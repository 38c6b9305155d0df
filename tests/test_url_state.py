"""URL state: round trips, defaults give a clean URL, hostile query strings never raise."""
from __future__ import annotations

import math
from dataclasses import fields

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sarcoma_app.viewstate.url_state import (
    BANDS,
    AE_COUNT_VALUES, CI_METHODS, CONF_TYPES, COX_TERMS, DENOMINATORS, ENDPOINTS, GROUPINGS, MAX_LANDMARKS,
    P_ADJUST_METHODS, PAZOPANIB_VALUES, RESPONSE_VALUES, RISK_TABLES, TIES, UNKNOWN, AllowedValues, FilterState, MethodState,
    ViewState, parse_landmarks_text, parse_query, to_query,
)

ALLOWED = AllowedValues(
    study=("nab_paclitaxel_sintilimab", "nivolumab_pazopanib"),
    histology_group=("Angiosarcoma", "Leiomyosarcoma", UNKNOWN),
    histology=("Angiosarcoma", "Epithelioid sarcoma (proximal, type)", "Leiomyosarcoma", UNKNOWN),
    ecog=("0", "1", UNKNOWN),
    primary_site=("Extremity", "Head and neck", UNKNOWN),
    prior_lines=("1", "2", "3", UNKNOWN),
    sex=("Female", "Male", UNKNOWN),
)
MULTI_FILTERS = [f.name for f in fields(FilterState) if f.name != "evaluable_only"]
CHOICES = {"ci": CI_METHODS, "conf_type": CONF_TYPES, "ties": TIES, "response_by": GROUPINGS, "km_by": GROUPINGS,
           "denominator": DENOMINATORS, "endpoint": ENDPOINTS, "p_adjust": P_ADJUST_METHODS, "risk_table": RISK_TABLES,
           "bands": BANDS}


def subsets(values):
    """Strategy: a subset of ``values`` in their canonical order."""
    return st.sets(st.sampled_from(values)).map(lambda chosen: tuple(v for v in values if v in chosen))


filter_states = st.builds(
    FilterState,
    **{name: subsets(ALLOWED.for_filter(name)) for name in MULTI_FILTERS},
    evaluable_only=st.booleans(),
)
method_states = st.builds(
    MethodState,
    **{name: st.sampled_from(values) for name, values in CHOICES.items()},
    landmarks=st.lists(st.integers(1, 2400).map(lambda v: v / 10), min_size=1, max_size=MAX_LANDMARKS, unique=True)
    .map(lambda values: tuple(sorted(values))),
    cox_terms=subsets(COX_TERMS),
)
view_states = st.builds(ViewState, filters=filter_states, methods=method_states)


def test_defaults_give_a_clean_url():
    assert to_query(ViewState()) == {}


def test_brief_example_is_readable_and_restores():
    query = {"pazopanib": "yes", "histology": "Angiosarcoma"}
    state, notices = parse_query(query, ALLOWED)
    assert notices == []
    assert state.filters.pazopanib == ("yes",)
    assert state.filters.histology == ("Angiosarcoma",)
    assert to_query(state) == {"histology": ["Angiosarcoma"], "pazopanib": ["yes"]}


def test_multi_values_repeated_keys_or_comma_separated():
    by_comma, _ = parse_query({"response": "PR,CR"}, ALLOWED)
    by_repeat, _ = parse_query({"response": ["CR", "PR"]}, ALLOWED)
    assert by_comma == by_repeat
    assert by_comma.filters.response == ("CR", "PR")  # canonical order
    assert to_query(by_comma) == {"response": ["CR", "PR"]}  # written as repeated keys


def test_value_with_a_comma_survives_the_round_trip():
    state = ViewState(FilterState(histology=("Angiosarcoma", "Epithelioid sarcoma (proximal, type)")))
    query = to_query(state)
    assert query["histology"] == ["Angiosarcoma", "Epithelioid sarcoma (proximal, type)"]
    assert parse_query(query, ALLOWED)[0] == state


def test_landmarks_are_written_as_plain_numbers():
    state = ViewState(methods=MethodState(landmarks=(3.0, 6.5)))
    assert to_query(state) == {"landmarks": ["3", "6.5"]}
    assert parse_query({"landmarks": "3,6.5"}, ALLOWED)[0] == state


def test_values_match_case_insensitively():
    state, notices = parse_query({"pazopanib": "YES", "ci": "Wilson", "study": "NAB_PACLITAXEL_SINTILIMAB"}, ALLOWED)
    assert notices == []
    assert state.filters.pazopanib == ("yes",)
    assert state.methods.ci == "wilson"
    assert state.filters.study == ("nab_paclitaxel_sintilimab",)


def test_invalid_value_is_dropped_with_a_notice_naming_parameter_and_value():
    state, notices = parse_query({"pazopanib": "maybe,yes", "conf_type": "<script>"}, ALLOWED)
    assert state.filters.pazopanib == ("yes",)
    assert state.methods.conf_type == MethodState().conf_type
    assert {(n.parameter, n.value) for n in notices} == {("pazopanib", "maybe"), ("conf_type", "<script>")}


def test_unknown_parameter_gives_a_notice_and_streamlit_params_are_ignored():
    state, notices = parse_query({"colour": "red", "embed": "true"}, ALLOWED)
    assert state == ViewState()
    assert [(n.parameter, n.reason) for n in notices] == [("colour", "unknown parameter")]


@pytest.mark.parametrize("text, expected", [
    ("4,6", (4.0, 6.0)), ("6; 4", (4.0, 6.0)), (" 12 ", (12.0,)), ("4,4", (4.0,)),
    ("abc", None), ("-1", None), ("0", None), ("nan", None), ("inf", None), ("1e400", None), ("4,x", None),
    ("1,2,3,4,5,6,7", None), ("", None),
])
def test_landmark_text(text, expected):
    assert parse_landmarks_text(text) == expected


def test_empty_cox_terms_round_trip():
    state = ViewState(methods=MethodState(cox_terms=()))
    assert to_query(state) == {"cox_terms": ""}
    assert parse_query(to_query(state), ALLOWED)[0] == state


@given(view_states)
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_round_trip(state):
    query = to_query(state)
    restored, notices = parse_query(query, ALLOWED)
    assert notices == []
    assert restored == state
    for value in query.values():  # readable: plain strings, no Python reprs
        for item in (value if isinstance(value, list) else [value]):
            assert isinstance(item, str) and "(" not in item.replace("(proximal, type)", "")


hostile_text = st.one_of(
    st.text(max_size=300),
    st.sampled_from(["'; DROP TABLE patients; --", "<script>alert(1)</script>", "=cmd|' /C calc'!A0", "%00",
                     "\x00\r\n", "yes" * 200, ",,,", "nan", "-inf", "1e999", "[x](javascript:alert(1))", ":red[x]"]),
)
hostile_values = st.one_of(hostile_text, st.lists(hostile_text, max_size=5), st.none(), st.integers())
known_keys = st.sampled_from(MULTI_FILTERS + ["evaluable_only", "landmarks", "cox_terms"] + list(CHOICES))
hostile_queries = st.dictionaries(st.one_of(known_keys, st.text(max_size=40)), hostile_values, max_size=12)


@given(hostile_queries)
@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
def test_hostile_queries_never_raise_and_yield_only_allowed_values(query):
    state, notices = parse_query(query, ALLOWED)
    for name in MULTI_FILTERS:
        assert set(getattr(state.filters, name)) <= set(ALLOWED.for_filter(name))
    assert isinstance(state.filters.evaluable_only, bool)
    for name, allowed in CHOICES.items():
        assert getattr(state.methods, name) in allowed
    assert set(state.methods.cox_terms) <= set(COX_TERMS)
    assert len(state.methods.landmarks) <= MAX_LANDMARKS
    assert all(math.isfinite(t) and 0 < t <= 240 for t in state.methods.landmarks)
    assert all(len(n.value) <= 60 and len(n.parameter) <= 60 for n in notices)
    # whatever came in, the state serialises and reads back to itself
    assert parse_query(to_query(state), ALLOWED)[0] == state


def test_fixed_vocabularies_are_what_the_sidebar_offers():
    assert PAZOPANIB_VALUES == ("yes", "no", UNKNOWN)
    assert RESPONSE_VALUES[-1] == "NE"
    assert AE_COUNT_VALUES[-1] == UNKNOWN


def test_the_url_parser_imports_no_numerical_library():
    """A link's filters are kept by the first lines of app.py; a slow import before them (scipy, pandas) let an
    early page click on a cold server drop the link (tests/browser/test_hosted_safely_browser.py)."""
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys; import sarcoma_app.viewstate.url_state, sarcoma_app.text; "
            "print(sorted(m for m in ('numpy', 'scipy', 'pandas') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"

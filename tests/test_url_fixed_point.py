"""parse -> format -> parse is a fixed point for every URL key, and hostile link sizes are bounded.

Whatever a link holds, the state the app adopts is written back to the URL (``to_query``) and
must read back as the same state with no notice: otherwise a shared link changes, or warns,
the second time it is opened (``?landmarks=0.001`` was rounded to 0 and then refused).
"""
from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st

from sarcoma_app.viewstate.url_state import (
    _CHOICES, COX_TERMS, FILTER_PARAMS, MAX_NOTICES, MAX_QUERY_PARAMS, METHOD_PARAMS, SOURCES, AllowedValues,
    parse_query, to_query,
)

ALLOWED = AllowedValues(
    study=("nivolumab_pazopanib", "nab_paclitaxel_sintilimab", "Study, with comma"),
    histology_group=("Leiomyosarcoma", "Angiosarcoma", "unknown"),
    histology=("Leiomyosarcoma", "Epithelioid angiosarcoma", "UPS, pleomorphic", "unknown"),
    ecog=("0", "1", "2"),
    primary_site=("Head and neck", "Extremities"),
    prior_lines=("0", "1", "2.5"),
    sources=SOURCES,
)
KEYS = FILTER_PARAMS + METHOD_PARAMS + ("present", "source", "embed", "unknown_key")
#: The free-form key (numbers) drawn more often than the whitelisted ones.
WEIGHTED_KEYS = KEYS + ("landmarks",) * 8
#: Text a link may hold: allowed words in any case, numbers of every shape, separators, junk.
WORDS = sorted({v for name in FILTER_PARAMS if name != "evaluable_only" for v in ALLOWED.for_filter(name)}
               | {v for values in _CHOICES.values() for v in values} | set(COX_TERMS) | set(SOURCES)
               | {"yes", "no", "1", "0", "true", "on"})
numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr),
                    st.decimals(min_value=-1, max_value=300, places=4).map(str),
                    st.sampled_from(["0.001", "0.004", "0.005", "0.006", "239.999", "240", "240.004", "1e-3", "-0",
                                     "4,6", " 4 ; 6 ", ""]))
texts = st.one_of(st.sampled_from(WORDS), st.sampled_from(WORDS).map(str.upper), numbers, numbers,
                  st.text(max_size=12), st.lists(st.sampled_from(WORDS), max_size=3).map(",".join))
queries = st.dictionaries(st.sampled_from(WEIGHTED_KEYS), st.one_of(texts, st.lists(texts, max_size=4)), max_size=8)


@settings(max_examples=600, deadline=None)
@given(queries)
def test_parse_format_parse_is_a_fixed_point(query):
    state, _ = parse_query(query, ALLOWED)
    written = to_query(state)
    again, notices = parse_query(written, ALLOWED)
    assert again == state, (query, written)
    assert notices == [], (query, written, notices)
    assert to_query(again) == written


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=-1, max_value=400, allow_nan=False))
def test_every_accepted_landmark_is_written_as_a_value_that_is_accepted(value):
    state, notices = parse_query({"landmarks": repr(value)}, ALLOWED)
    again, second = parse_query(to_query(state), ALLOWED)
    assert again == state and second == []
    if not notices:  # accepted: then it is a time in (0, 240] months
        assert all(0 < t <= 240 for t in state.methods.landmarks)


def test_a_landmark_that_rounds_to_zero_is_refused_with_a_notice():
    state, notices = parse_query({"landmarks": "0.001"}, ALLOWED)
    assert state.methods.landmarks == (4.0, 6.0)  # the default stays
    assert [n.parameter for n in notices] == ["landmarks"] and "0.01" in notices[0].reason


def test_a_link_with_too_many_parameters_is_ignored_with_a_notice_in_bounded_time():
    query = {f"p{i}": "x" for i in range(MAX_QUERY_PARAMS + 1)}
    query["pazopanib"] = "yes"
    started = time.perf_counter()
    state, notices = parse_query(query, ALLOWED)
    assert time.perf_counter() - started < 5  # a guard against a hang, not a speed test
    assert state.filters.pazopanib == ()
    assert len(notices) == 1 and "whole link was ignored" in notices[0].reason
    assert notices[0].value == f"{MAX_QUERY_PARAMS + 2:,} parameters"


def test_many_bad_parameters_give_a_bounded_list_of_notices():
    query = {f"p{i}": "x" for i in range(MAX_QUERY_PARAMS)}
    _, notices = parse_query(query, ALLOWED)
    assert len(notices) == MAX_NOTICES
    assert notices[-1].parameter == "query" and notices[-1].value == f"{MAX_QUERY_PARAMS - MAX_NOTICES + 1:,} more"

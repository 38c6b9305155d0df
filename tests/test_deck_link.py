"""The deck in a link (sarcoma_app.viewstate.deck_link): round trips, bounds, hostile values named not obeyed."""
from __future__ import annotations

import base64
import json
import zlib

from hypothesis import given, settings
from hypothesis import strategies as st

from sarcoma_app.limits import DECK, MAX_DECK_SLIDES
from sarcoma_app.viewstate.deck_link import (
    DECK_LINK_VERSION, SlideRef, decode_deck, encode_deck, fits_in_link, shareable,
)
from sarcoma_app.viewstate.url_state import (
    DECK_PARAM, FilterState, ViewState, parse_query, with_filter, with_methods,
)
from tests.test_url_state import ALLOWED, view_states

PAGES = ("overview", "response", "survival", "subtype")
NAB = "nab_paclitaxel_sintilimab"


def pack(records: object) -> str:
    """A deck parameter holding ``records`` as they are (a hand-made, possibly hostile link)."""
    text = json.dumps(records).encode()
    return f"{DECK_LINK_VERSION}." + base64.urlsafe_b64encode(zlib.compress(text)).decode().rstrip("=")


def test_a_deck_round_trips_with_its_states_picks_and_titles():
    km = SlideRef("survival", "survival_km", with_methods(with_filter(ViewState(), study=(NAB,)), km_by="histology_group"),
                  title="Progression-free survival (Kaplan–Meier)")
    subtype = SlideRef("subtype", "subtype_km", ViewState(source="simulated-1k"),
                       picks=(("w_subtype", "group:Leiomyosarcoma"), ("subtype_pooled", True)), title="Leiomyosarcoma")
    text = encode_deck([km, subtype])
    assert text.startswith("1.") and all(c.isalnum() or c in "._-" for c in text)  # URL-safe, no escapes needed
    refs, notices = decode_deck(text, ALLOWED, PAGES)
    assert notices == [] and refs == [km, subtype]
    assert decode_deck([text], ALLOWED, PAGES)[0] == refs  # as st.query_params.get_all gives it


@settings(max_examples=40, deadline=None)
@given(states=st.lists(view_states, min_size=1, max_size=5))
def test_any_view_state_round_trips(states):
    refs = [SlideRef("response", f"response_view_{i}", state) for i, state in enumerate(states)]
    assert decode_deck(encode_deck(refs), ALLOWED, PAGES) == (refs, [])


def test_an_empty_deck_writes_nothing_and_reads_nothing():
    assert encode_deck([]) == ""
    assert decode_deck("", ALLOWED, PAGES) == ([], []) and decode_deck(None, ALLOWED, PAGES) == ([], [])


def test_a_deck_of_an_uploaded_cohort_is_not_put_in_a_link():
    uploaded = SlideRef("survival", "survival_km", ViewState(source="uploaded"))
    assert not shareable(uploaded) and encode_deck([uploaded]) == ""
    refs, notices = decode_deck(pack([{"p": "survival", "v": "survival_km", "s": "uploaded"}]), ALLOWED, PAGES)
    assert refs == [] and "uploaded cohort stays in the browser session" in notices[0].reason


def test_the_deck_is_bounded_in_slides_and_characters():
    many = [SlideRef("survival", f"view_{i}") for i in range(MAX_DECK_SLIDES + 5)]
    assert len(decode_deck(encode_deck(many), ALLOWED, PAGES)[0]) == MAX_DECK_SLIDES  # the encoder keeps 40
    refs, notices = decode_deck(pack([{"p": "survival", "v": f"view_{i}"} for i in range(60)]), ALLOWED, PAGES)
    assert len(refs) == MAX_DECK_SLIDES and "at most 40 slides" in notices[0].reason
    too_long = "1." + "A" * DECK.link_chars.value
    refs, notices = decode_deck(too_long, ALLOWED, PAGES)
    assert refs == [] and "longer than 8,000 characters" in notices[0].reason
    assert fits_in_link(many)


def test_a_small_link_cannot_unpack_to_a_large_text():
    bomb = f"{DECK_LINK_VERSION}." + base64.urlsafe_b64encode(zlib.compress(b"[" + b" " * 5_000_000 + b"]")).decode()
    assert len(bomb) < DECK.link_chars.value
    refs, notices = decode_deck(bomb, ALLOWED, PAGES)
    assert refs == [] and "unpacks to more than" in notices[0].reason


def test_tampered_values_are_dropped_and_named():
    records = [
        {"p": "survival", "v": "survival_km", "q": {"study": [NAB, "zqx'; DROP TABLE"], "km_by": "zqx"}, "t": "KM"},
        {"p": "nowhere", "v": "survival_km"},
        {"p": "survival", "v": "Not a key!"},
        {"p": "survival", "v": "survival_km", "q": {"study": [1, 2]}},
        {"p": "survival", "v": "survival_km", "k": {"w_subtype": {"nested": 1}}},
        {"p": "survival", "v": "survival_km", "q": {"source": "uploaded", "present": "1", "deck": "1.x"}},
        "not a slide",
    ]
    refs, notices = decode_deck(pack(records), ALLOWED, PAGES)
    # the first slide is kept with what was allowed; the tampered values are named with the slide
    assert refs[0] == SlideRef("survival", "survival_km", with_filter(ViewState(), study=(NAB,)), title="KM")
    assert refs[1] == SlideRef("survival", "survival_km")  # source, present and deck inside a slide: not obeyed
    assert len(refs) == 2
    texts = [f"{n.value}: {n.reason}" for n in notices]
    assert all(n.parameter == DECK_PARAM for n in notices)
    assert any("slide 1 “KM” (survival / survival_km)" in t and "study = “zqx'; DROP TABLE” ignored: not an allowed value" in t for t in texts)
    assert any("slide 1" in t and "km_by = “zqx” ignored: not an allowed value" in t for t in texts)
    assert any(t.startswith("slide 2: left out: the page “nowhere”") for t in texts)
    assert any(t.startswith("slide 3: left out: the view “Not a key!”") for t in texts)
    assert any(t.startswith("slide 4: left out: its parameter “study” is not text") for t in texts)
    assert any(t.startswith("slide 5: left out: its page choice “w_subtype”") for t in texts)
    assert any(t.startswith("slide 7: left out: it is not a slide") for t in texts)


@settings(max_examples=200, deadline=None)
@given(text=st.one_of(st.text(max_size=300), st.text(max_size=300).map(lambda t: "1." + t),
                      st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20)),
                                   lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                           st.dictionaries(st.sampled_from("pvqkst"), inner,
                                                                           max_size=5)),
                                   max_leaves=30).map(pack)))
def test_any_deck_text_never_raises(text):
    refs, notices = decode_deck(text, ALLOWED, PAGES)
    assert all(ref.page in PAGES for ref in refs) and len(refs) <= MAX_DECK_SLIDES
    assert all(ref.state.source != "uploaded" for ref in refs)


def test_wrong_version_and_garbage_are_named():
    for text, reason in [("2.abc", "version “2”"), ("abc", "version “abc”"), ("1.a b", "characters a deck never has"),
                         ("1.AAAA", "cannot be decoded"), (pack({"p": "survival"}), "not a list of slides")]:
        refs, notices = decode_deck(text, ALLOWED, PAGES)
        assert refs == [] and reason in notices[0].reason and "deck of the link was ignored" in notices[0].reason


def test_the_link_parser_leaves_the_deck_to_its_own_reader():
    state, notices = parse_query({"deck": "1.whatever", "pazopanib": "yes"}, ALLOWED)
    assert notices == [] and state.filters == FilterState(pazopanib=("yes",))


def test_the_deck_link_is_pure():
    """Like the URL parser: no streamlit, no database, nothing slow (it runs before a link's slides are rebuilt)."""
    from pathlib import Path

    from tests.test_architecture import imported_modules

    path = Path(__file__).resolve().parents[1] / "sarcoma_app" / "viewstate" / "deck_link.py"
    assert not imported_modules(path) & {"streamlit", "duckdb", "numpy", "pandas", "scipy"}
    assert not [name for name in imported_modules(path, full=True) if name.startswith(("sarcoma_app.render",
                                                                                       "sarcoma_app.sources"))]

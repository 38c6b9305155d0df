"""Random and hostile links fed to the running app (AppTest), with every SQL statement recorded.

Each generated value carries the marker ``zqx``: if any SQL text the app sends
to DuckDB ever contains it, user text reached SQL.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

import sarcoma_app.sources.db as db
from sarcoma_app.render.page_views import PAGES as PAGES_WITH_SLIDES
from sarcoma_app.viewstate.deck_link import decode_deck
from sarcoma_app.viewstate.url_state import FILTER_PARAMS, METHOD_PARAMS, AllowedValues

ROOT = Path(__file__).resolve().parents[1]
PAGES = ["pages/overview.py", "pages/response.py", "pages/survival.py", "pages/hazard-ratios.py",
         "pages/adverse-events.py", "pages/patients.py", "pages/data-methods.py"]
MARKER = "zqx"
NAB = "nab_paclitaxel_sintilimab"

hostile_fragments = st.sampled_from([
    "'; DROP TABLE patients; --", "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "%00", "\x00",
    "../../etc/passwd", "1 OR 1=1", "${7*7}", "{{7*7}}", "=HYPERLINK(\"http://x\")", "NaN", "inf", "-1e309",
    "é漢字🙂", "\u202e", " " * 50, "A" * 5000, ",,,,", "yes,no,yes", "true", "4,6,1e6",
])
hostile_values = st.builds(lambda fragment, text: f"{MARKER}{fragment}{text}", hostile_fragments,
                           st.text(max_size=30))
parameter_names = st.one_of(st.sampled_from(FILTER_PARAMS + METHOD_PARAMS), st.text(min_size=1, max_size=20))
queries = st.dictionaries(parameter_names, st.one_of(hostile_values, st.lists(hostile_values, min_size=1, max_size=4)),
                          min_size=1, max_size=6)


@pytest.fixture
def recorded_sql(monkeypatch):
    statements: list[str] = []
    original = db._fetch

    def recording_fetch(path, sql, parameters):
        statements.append(sql)
        return original(path, sql, parameters)

    monkeypatch.setattr(db, "_fetch", recording_fetch)
    return statements


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(query=queries, page=st.sampled_from(PAGES))
def test_hostile_link_never_raises_and_never_reaches_sql(recorded_sql, query, page):
    recorded_sql.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    captions = [c.value for c in at.sidebar.caption if c.value.startswith("Showing ")]
    assert len(captions) == 1
    assert recorded_sql, "the app ran no query: the recorder is not in the path"
    leaked = [sql for sql in recorded_sql if MARKER in sql.lower()]
    assert leaked == []
    remaining = " ".join(str(v) for v in at.query_params.values())
    assert MARKER not in remaining.lower(), "an invalid value stayed in the URL"
    assert at.warning, "an ignored parameter must be announced"


def test_a_hostile_deck_in_a_link_is_named_never_obeyed_and_never_reaches_sql(recorded_sql):
    """Slides of a link's deck carrying hostile values: each value is dropped and named, none reaches SQL."""
    import base64
    import json
    import zlib

    fragments = ["'; DROP TABLE patients; --", "<script>alert(1)</script>", "A" * 500, "\x00", "${7*7}"]
    records = [{"p": "response", "v": "response_table", "t": f"{MARKER}<b>title</b>",
                "q": {"study": [f"{MARKER}{f}" for f in fragments], "km_by": f"{MARKER}x", f"{MARKER}name": "1"},
                "k": {"w_subtype": f"{MARKER}{fragments[0]}"}},
               {"p": f"{MARKER}page", "v": "x"}, {"p": "survival", "v": f"{MARKER}view"}]
    packed = base64.urlsafe_b64encode(zlib.compress(json.dumps(records).encode())).decode()
    for deck_value in (f"1.{packed}", f"{MARKER}{fragments[0]}", "1." + "A" * 20_000):
        recorded_sql.clear()
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.query_params["deck"] = deck_value
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert recorded_sql and not [sql for sql in recorded_sql if MARKER in sql.lower()]
        assert MARKER not in " ".join(str(v) for v in at.query_params.values()).lower()
        refs, _ = decode_deck(at.query_params.get("deck", ""), AllowedValues(study=(NAB,)), tuple(PAGES_WITH_SLIDES))
        assert MARKER not in repr(refs).lower(), "a hostile value stayed in the URL's deck"
        if deck_value.startswith("1.") and len(deck_value) < 20_000:  # its one good slide, clean
            assert [(r.page, r.view, r.picks) for r in refs] == [("response", "response_table", ())]
            assert [s.page for s in at.session_state["_deck"]] == ["Response"]
        assert [w for w in at.warning if "Deck of the link" in w.value], "an ignored deck must be announced"
        for warning in at.warning:  # text shown as text: no Markdown or HTML from the link
            assert "<b>" not in warning.value and "<script>" not in warning.value

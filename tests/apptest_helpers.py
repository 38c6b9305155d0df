"""Shared AppTest helpers: run the app (optionally on a page, with query params) and read the caption."""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def run_app(query: dict | None = None, page: str | None = None, timeout: float = 180) -> AppTest:
    """Run app.py with ``query`` as URL parameters, switch to ``page``; fail on any exception."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    if page is not None:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def caption(at: AppTest) -> str:
    """The sidebar's single 'Showing N of M patients' caption."""
    captions = [c.value for c in at.sidebar.caption if c.value.startswith("Showing ")]
    assert len(captions) == 1, captions
    return captions[0]


def open_code_expanders(at: AppTest) -> AppTest:
    """Open every view's "Show the code" expander, as a click does (its state is its key's), and rerun: closed,
    an expander's code is not sent. The views are those with an "Add to deck" button (``<view>_deck``)."""
    from sarcoma_app.render import tools

    views = [key[:-len("_deck")] for key in (b.key for b in at.button) if key and key.endswith("_deck")]
    for view in views:
        at.session_state[tools.code_expander_key(view)] = True
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


#: Page states whose charts the chart tests compare: every chart function a page shows, on the papers and on a
#: simulated source (with OS).
CHART_PAGES = [
    ("pages/survival.py", {"km_by": "pazopanib"}),
    ("pages/response.py", {"response_by": "pazopanib"}),
    ("pages/hazard-ratios.py", {}),
    ("pages/adverse-events.py", {}),
    ("pages/subtype.py", {}),
    ("pages/patients.py", {}),
    ("pages/survival.py", {"source": "simulated-1k"}),
    ("pages/response.py", {"source": "simulated-1k"}),
]


def shown_charts(monkeypatch, page: str, query: dict) -> list[tuple[object, dict]]:
    """Run ``page`` and return each chart it shows with the spec sent for it (``render.vega.vega_lite_spec``)."""
    from sarcoma_app.render import vega

    shown = []
    spec_of = vega.vega_lite_spec
    with monkeypatch.context() as patch:
        patch.setattr(vega, "vega_lite_spec", lambda chart: shown.append((chart, spec_of(chart))) or shown[-1][1])
        run_app(query, page=page)
    return shown

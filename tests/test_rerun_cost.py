"""What every rerun of every page costs the server, kept small without losing a check:

* the long-lived objects are frozen out of Streamlit's full GC pass after each rerun, and a rerun's own cyclic
  garbage is still collected;
* Altair does not validate each schema object as it is made, and the tests validate each chart whole when shown;
* a table's CSV is built when its button is pressed, not at each rerun.
"""
from __future__ import annotations

import gc
import weakref

import altair as alt
import pandas as pd
import pytest
from altair.utils import schemapi

from sarcoma_app.exports import downloads
from sarcoma_app.render import memory
from tests.apptest_helpers import CHART_PAGES, run_app, shown_charts


class _Node:
    pass


def _unfreeze(monkeypatch):
    gc.unfreeze()
    monkeypatch.setattr(memory, "_frozen", False)
    assert gc.get_freeze_count() == 0


def test_the_app_freezes_the_long_lived_objects_once_per_process(monkeypatch):
    _unfreeze(monkeypatch)
    freezes = []
    real_freeze = gc.freeze
    monkeypatch.setattr(gc, "freeze", lambda: (freezes.append(1), real_freeze()))
    run_app()
    assert gc.get_freeze_count() > 10_000  # the modules and Altair's schema, at the least
    run_app()
    assert len(freezes) == 1  # a second session freezes nothing more
    assert memory.freeze_long_lived() is False


def test_garbage_made_after_the_freeze_is_still_collected(monkeypatch):
    _unfreeze(monkeypatch)
    assert memory.freeze_long_lived() is True
    node = _Node()
    node.self = node  # a cycle: only the collector frees it
    alive = weakref.ref(node)
    del node
    gc.collect(2)  # what Streamlit runs after each script run
    assert alive() is None


def test_a_full_pass_after_the_freeze_visits_far_fewer_objects(monkeypatch):
    _unfreeze(monkeypatch)
    import altair  # noqa: F401  (loaded, as in the app)
    before = len(gc.get_objects())
    memory.freeze_long_lived()
    assert len(gc.get_objects()) < before / 10


def _invalid_chart() -> alt.Chart:
    return alt.Chart(pd.DataFrame({"x": [1]})).mark_point(size="big").encode(x="x:Q")  # no error when made


def test_charts_are_built_without_per_object_validation_and_validated_when_shown_under_the_tests(monkeypatch):
    from sarcoma_app.render import ui, vega  # noqa: F401  (the app's rendering turns the debug mode off)

    assert schemapi.DEBUG_MODE is False
    assert vega.validating()  # tests/conftest.py: every chart the suite shows is checked
    with pytest.raises(schemapi.SchemaValidationError):
        vega.vega_lite_spec(_invalid_chart())
    monkeypatch.delenv(vega.VALIDATE_ENV)  # as served
    assert not vega.validating()
    assert vega.vega_lite_spec(_invalid_chart())["mark"] == {"type": "point", "size": "big"}


@pytest.mark.parametrize("page, query", CHART_PAGES)
def test_a_shown_chart_is_the_spec_st_altair_chart_would_send(monkeypatch, page, query):
    """The same dict as Streamlit's own conversion, datasets (Arrow bytes under their hash) included."""
    from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec

    shown = shown_charts(monkeypatch, page, query)
    assert shown
    for chart, spec in shown:
        assert spec["datasets"] and all(isinstance(data, bytes) for data in spec["datasets"].values())
        assert spec == _convert_altair_to_vega_lite_spec(chart)


def test_outside_the_app_a_chart_converts_as_altair_does():
    """The app's data transformer defers to Altair's own outside vega_lite_spec (PNG/SVG exports, to_dict)."""
    from sarcoma_app.render import vega  # noqa: F401  (installs the transformer)

    chart = alt.Chart(pd.DataFrame({"x": [1, 2]})).mark_point().encode(x="x:Q")
    assert alt.data_transformers.active == vega.TRANSFORMER
    assert list(chart.to_dict()["datasets"].values()) == [[{"x": 1}, {"x": 2}]]


def test_a_chart_converts_under_the_lock_st_altair_chart_takes(monkeypatch):
    """Altair's transformer and theme are process-wide; st.altair_chart switches them under its lock."""
    from streamlit.elements import vega_charts

    from sarcoma_app.render import vega

    assert vega._ALTAIR_GLOBALS is vega_charts._altair_globals_lock
    held = []
    to_dict = alt.Chart.to_dict
    monkeypatch.setattr(alt.Chart, "to_dict", lambda self, *a, **k: (held.append(vega._ALTAIR_GLOBALS.locked()),
                                                                    to_dict(self, *a, **k))[1])
    vega.vega_lite_spec(alt.Chart(pd.DataFrame({"x": [1, 2]})).mark_point().encode(x="x:Q"))
    assert held == [True] and not vega._ALTAIR_GLOBALS.locked()


def test_a_pages_csv_downloads_are_built_only_when_pressed(monkeypatch):
    built = []
    real = downloads.csv_bytes
    monkeypatch.setattr(downloads, "csv_bytes", lambda frame: (built.append(len(frame)), real(frame))[1])
    at = run_app(page="pages/data-methods.py")
    assert len(at.get("download_button")) >= 5  # the page's tables have their CSV buttons
    assert built == []

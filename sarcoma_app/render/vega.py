"""An Altair chart as the Vega-Lite spec ``st.altair_chart`` sends, with the schema check left to the tests.

``st.altair_chart`` converts a chart with ``chart.to_dict()``, which validates the whole spec against the
Vega-Lite JSON schema: 55 ms of a forest plot's 130 ms conversion here, and 0.07–0.13 s of every Response
redraw (three charts). The charts are pure functions of their data, and every chart the test suite shows is
validated (:data:`VALIDATE_ENV`, set by tests/conftest.py for AppTest and for the browser tests' server), so the
served app converts with ``validate=False`` and sends the same spec through ``st.vega_lite_chart``: the data as
Arrow under the content hash of its bytes, as Streamlit names it (tests/test_rerun_cost.py compares the two).

Altair's data transformer and theme are process-wide. ``st.altair_chart`` switches both for the length of its
``to_dict()`` under a module lock; :func:`vega_lite_spec` takes the same lock, so a session converting a chart
never sees another session's switch (the app itself never calls ``st.altair_chart``: tests/test_architecture.py).
"""
from __future__ import annotations

import os
import threading

import altair as alt
from streamlit import dataframe_util
from streamlit.util import calc_hash

try:  # the lock st.altair_chart holds while Altair's globals are switched (private in Streamlit 1.5x)
    from streamlit.elements.vega_charts import _altair_globals_lock as _ALTAIR_GLOBALS
except ImportError:  # pragma: no cover - a Streamlit without it switches nothing we could collide with
    _ALTAIR_GLOBALS = threading.Lock()

#: Set to "1" to validate each chart against the Vega-Lite schema when it is shown (the tests set it).
VALIDATE_ENV = "SARCOMA_VALIDATE_CHARTS"
TRANSFORMER = "sarcoma_arrow"

_collecting = threading.local()
_previous_transformer = alt.data_transformers.get()


def _arrow_by_name(data, **options):
    """Data transformer: inside :func:`vega_lite_spec` (this thread), the frame as Arrow bytes under its hash;
    anywhere else (a PNG export, a test's ``to_dict()``), whatever transformer was active before."""
    datasets = getattr(_collecting, "datasets", None)
    if datasets is None:
        return _previous_transformer(data, **options)
    data_bytes = dataframe_util.convert_anything_to_arrow_bytes(data)
    name = calc_hash(data_bytes)
    datasets[name] = data_bytes
    return {"name": name}


alt.data_transformers.register(TRANSFORMER, _arrow_by_name)
alt.data_transformers.enable(TRANSFORMER)  # once per process; outside vega_lite_spec it defers to the previous one


def validating() -> bool:
    """Whether shown charts are checked against the Vega-Lite schema (:data:`VALIDATE_ENV`)."""
    return os.environ.get(VALIDATE_ENV) == "1"


def vega_lite_spec(chart: alt.TopLevelMixin, validate: bool | None = None) -> dict:
    """``chart`` as the spec ``st.altair_chart`` would send: ``to_dict()`` with the data moved into ``datasets``
    as Arrow IPC bytes, checked against the schema only when ``validate`` (default :func:`validating`)."""
    _collecting.datasets = datasets = {}
    try:
        with _ALTAIR_GLOBALS:
            spec = chart.to_dict(validate=validating() if validate is None else validate)
    finally:
        _collecting.datasets = None
    spec["datasets"] = {**spec["datasets"], **datasets} if isinstance(spec.get("datasets"), dict) else datasets
    return spec

"""The layer rules of design.md, enforced by parsing imports."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "sarcoma_app"


def imported_modules(path: Path, full: bool = False) -> set[str]:
    """Top-level packages (or, with ``full``, dotted modules and imported names) that ``path`` imports."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name if full else alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if full:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
            else:
                names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("folder, forbidden", [
    ("analysis", {"streamlit", "altair", "duckdb", "sarcoma_app", "charts"}),
    ("charts", {"streamlit", "duckdb", "sarcoma_app"}),
    ("pages", {"duckdb"}),
    # the streamlit-free parts of the app package: pure, callable from a test or a script
    ("sarcoma_app/views", {"streamlit", "duckdb"}),
    ("sarcoma_app/exports", {"streamlit", "duckdb"}),
    ("sarcoma_app/ingest", {"streamlit", "duckdb", "altair"}),
    ("sarcoma_app/ingest/formats", {"streamlit", "duckdb", "altair"}),
])
def test_layer_does_not_import(folder, forbidden):
    files = sorted((ROOT / folder).glob("*.py"))
    assert [f for f in files if f.name != "__init__.py"], f"{folder}/ has no modules"
    offenders = {f.name: sorted(imported_modules(f) & forbidden) for f in files if imported_modules(f) & forbidden}
    assert offenders == {}


#: Parts of sarcoma_app that the pure parts must not reach (they hold the session or draw).
STATEFUL = ("sarcoma_app.render", "sarcoma_app.sources.db", "sarcoma_app.sources.cohort", "sarcoma_app.viewstate.state")


@pytest.mark.parametrize("folder", ["views", "exports", "ingest", "ingest/formats"])
def test_pure_parts_do_not_reach_session_or_rendering(folder):
    files = sorted((APP / folder).glob("*.py"))
    offenders = {f.name: sorted(name for name in imported_modules(f, full=True) if name.startswith(STATEFUL))
                 for f in files}
    assert {name: found for name, found in offenders.items() if found} == {}


def test_url_state_is_pure():
    """The URL parser never needs streamlit (nor numpy: it runs before anything slow)."""
    found = imported_modules(APP / "viewstate" / "url_state.py")
    assert not found & {"streamlit", "duckdb", "numpy", "pandas", "scipy"}


def test_app_package_has_no_loose_modules_but_shared_text():
    """Every module of sarcoma_app is in a part named by its job (text and limits are shared by all)."""
    loose = sorted(p.name for p in APP.glob("*.py") if p.name != "__init__.py")
    assert loose == ["limits.py", "text.py"]


def test_app_opens_duckdb_read_only():
    sources = "\n".join(p.read_text() for p in APP.rglob("*.py"))
    connects = [line for line in sources.splitlines() if "duckdb.connect(" in line]
    assert connects, "the app must open the bundled database somewhere in sarcoma_app/"
    assert all("read_only=True" in line for line in connects if "memory" not in line), connects


#: Longest module of sarcoma_app/ingest/ (the reading, mapping and checking of an upload, split by job).
MAX_INGEST_MODULE_LINES = 450


def long_modules(folder: Path, limit: int) -> dict[str, int]:
    """Modules of ``folder`` longer than ``limit`` lines, with their lengths."""
    lengths = {path.name: len(path.read_text().splitlines()) for path in sorted(folder.glob("*.py"))}
    return {name: n for name, n in lengths.items() if n > limit}


def test_no_ingest_module_is_longer_than_the_limit():
    """The upload code stays split by responsibility: no module grows back into the whole pipeline."""
    assert len(list((APP / "ingest").glob("*.py"))) > 2, "sarcoma_app/ingest/ has no modules"
    assert long_modules(APP / "ingest", MAX_INGEST_MODULE_LINES) == {}
    assert long_modules(APP / "ingest" / "formats", MAX_INGEST_MODULE_LINES) == {}  # one module per format


def test_the_module_length_check_can_fail(tmp_path):
    (tmp_path / "short.py").write_text("x = 1\n" * MAX_INGEST_MODULE_LINES)
    (tmp_path / "long.py").write_text("x = 1\n" * (MAX_INGEST_MODULE_LINES + 1))
    assert long_modules(tmp_path, MAX_INGEST_MODULE_LINES) == {"long.py": MAX_INGEST_MODULE_LINES + 1}


def test_the_renderer_draws_every_kind_of_block():
    """A block kind a builder may return but the renderer does not draw would fail only at run time."""
    import typing

    from sarcoma_app.views.blocks import Block

    renderer = (APP / "render" / "blocks.py").read_text()
    missing = [kind.__name__ for kind in typing.get_args(Block)
               if f"isinstance(block, {kind.__name__})" not in renderer]
    assert missing == []


def test_every_page_file_is_named_as_its_url():
    """Until a session has run app.py, Streamlit serves ``pages/`` in its legacy mode, which finds a page by its
    file name: a shared link to ``/hazard-ratios`` on a cold server showed "Page not found" while the file was
    ``hazard_ratios.py``. Each page file is therefore named exactly as its URL path."""
    from sarcoma_app.render.navigation import PAGE_SPECS

    for path, _title, _icon, url_path in PAGE_SPECS:
        assert Path(path).stem == url_path, path
    listed = {Path(path).name for path, *_ in PAGE_SPECS}
    assert listed == {p.name for p in (ROOT / "pages").glob("*.py")}


#: Streamlit's Altair-backed elements: each switches Altair's process-wide transformer and theme while it
#: converts (sarcoma_app/render/vega.py shows charts through st.vega_lite_chart instead).
ALTAIR_ELEMENTS = {"altair_chart", "line_chart", "bar_chart", "area_chart", "scatter_chart"}


def test_no_code_shows_a_chart_through_streamlits_altair_elements():
    files = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py")), *sorted(APP.rglob("*.py")),
             *sorted((ROOT / "charts").glob("*.py"))]
    calls = [f"{path.relative_to(ROOT)}:{node.lineno}" for path in files
             for node in ast.walk(ast.parse(path.read_text()))
             if isinstance(node, ast.Attribute) and node.attr in ALTAIR_ELEMENTS]
    assert len(files) > 20 and calls == []

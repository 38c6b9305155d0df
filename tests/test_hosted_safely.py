"""Issue 19, hosted safely: uploaded text is never interpreted, links survive the server's state.

* An upload whose text fields hold Markdown, HTML, LaTeX, colour-directive and code payloads is
  loaded through the Upload page; every page runs on it (views added to the deck, so the toast
  counts too) and every Markdown-rendered text (markdown, captions, alerts, headers, toasts,
  expander / tab / metric labels, help texts) must hold the payloads only escaped; every
  generated snippet must parse, with the payloads only inside comments or string literals.
* The one Markdown helper and the one code-comment helper, on their own.
* Links: a first run cut short keeps the link's filters; a tab that outlived its server session
  is told so; ``?source=uploaded`` without an upload says the upload must be made again; a
  damaged database file is rebuilt with a message.
"""
from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path

import pytest
import streamlit as st
from streamlit.runtime.state.safe_session_state import SafeSessionState
from streamlit.runtime.state.session_state import SessionState
from streamlit.testing.v1.app_test import TESTING_KEY

from sarcoma_app.exports import snippets
from sarcoma_app.text import escape_markdown, one_line
from tests.apptest_helpers import caption, open_code_expanders, run_app
from tests.test_upload_page import UPLOADERS, load_button

IMAGE_URL = "http://127.0.0.1:9/x.png"
#: Marker of the code payload: it must never be code (only comment or string text).
MARKER = "PWNED"
PAYLOADS = {
    "image_and_code": f"![x]({IMAGE_URL})\nimport os; os.system('echo {MARKER}')  #",
    "html": "<img src=x onerror=alert(1)>",
    "latex": "$\\frac{1}{2}$",
    "directive": ":red[x] :material/warning: **bold** _it_ `tick`",
    "link": "[link](http://127.0.0.1:9/)",
    "autolink": "http://127.0.0.1:9/bare a@b.co www.evil.example",
}
#: Text that shows a payload interpreted: an image / link, raw HTML, LaTeX, a directive, emphasis.
RAW_SIGNS = (re.compile(r"(?<!\\)!(?<!\\)\[x(?<!\\)\]"), re.compile(r"(?<!\\)\[link(?<!\\)\]"),
             re.compile(r"(?<!\\)<img"), re.compile(r"(?<!\\)\$\\frac"), re.compile(r":red(?<!\\)\["),
             re.compile(r":material/warning"), re.compile(r"(?<!\\)\*\*bold"), re.compile(r"(?<!\\)`tick"),
             re.compile(r"https?://"), re.compile(r"\w@\w"), re.compile(r"www\.evil"))  # bare autolinks
PAGES = ["pages/overview.py", "pages/response.py", "pages/survival.py", "pages/hazard-ratios.py",
         "pages/adverse-events.py", "pages/patients.py", "pages/subtype.py", "pages/published.py",
         "pages/data-methods.py", "pages/upload.py"]
MARKDOWN_ELEMENTS = ("markdown", "caption", "info", "warning", "error", "success", "title", "header", "subheader",
                     "toast")


def quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def hostile_csv() -> bytes:
    """Ten patients whose histology, id and site carry the payloads (two histologies, both with PFS)."""
    rows = ["patient_id,histology,best_response,pfs_months,pfs_event,primary_site,ecog"]
    for i in range(10):
        histology = PAYLOADS["image_and_code"] if i % 2 == 0 else PAYLOADS["html"]
        site = PAYLOADS["latex"] if i % 2 == 0 else PAYLOADS["directive"] + " " + PAYLOADS["autolink"]
        rows.append(",".join([quoted(f"{PAYLOADS['link']}{i}"), quoted(histology), ["PR", "SD", "PD"][i % 3],
                              str(2 + i), str(i % 2 or int(i == 4)), quoted(site), str(i % 2)]))
    return ("\n".join(rows) + "\n").encode()


def markdown_texts(at) -> list[tuple[str, str]]:
    """Every text of the run that Streamlit renders as Markdown, with its element type."""
    texts = [(kind, str(element.value)) for kind in MARKDOWN_ELEMENTS for element in getattr(at, kind)]
    for kind in ("expander", "tab", "metric", "button", "selectbox", "multiselect", "toggle", "download_button",
                 "text_input", "page_link"):
        for element in at.get(kind):
            proto = getattr(element, "proto", None)
            for field in ("label", "help", "caption"):
                value = getattr(proto, field, "") if proto is not None else ""
                if value:
                    texts.append((f"{kind} {field}", str(value)))
    return texts


def assert_inert(texts: list[tuple[str, str]], where: str) -> None:
    for kind, text in texts:
        for sign in RAW_SIGNS:
            assert not sign.search(text), f"{where}: {kind} renders a payload ({sign.pattern}): {text[:300]!r}"
        assert IMAGE_URL.replace(":", r"\:") not in text


def strip_literals_and_comments(source: str) -> str:
    """Source text with double-quoted string literals and # comments removed (Python and R)."""
    without_strings = re.sub(r'"(?:[^"\\\n]|\\.)*"', '""', source)
    return "\n".join(line.split("#", 1)[0] for line in without_strings.splitlines())


def assert_snippet_is_only_the_template(code: str, language: str, where: str) -> None:
    if language == "python":
        tree = ast.parse(code)  # the payload must not break the snippet either
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [alias.name for alias in node.names] + [getattr(node, "module", None) or ""]
                assert not any(name.split(".")[0] == "os" for name in names), f"{where}: import os in {code[:400]}"
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                assert node.func.attr != "system", f"{where}: os.system call in {code[:400]}"
    assert MARKER not in strip_literals_and_comments(code), f"{where}: payload became {language} code"


@pytest.fixture(scope="module")
def hostile_session():
    """A session with the hostile cohort loaded through the Upload page, named by a payload too."""
    at = run_app(page="pages/upload.py")
    uploader = next(u for u in at.file_uploader if u.label == UPLOADERS["patients"])
    uploader.upload("hostile.csv", hostile_csv(), "text/csv")
    at.run()
    name = next(t for t in at.text_input if t.label == "Cohort name")
    name.input(PAYLOADS["directive"]).run()
    load_button(at).click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert caption(at) == "Showing 10 of 10 patients"
    return at


@pytest.mark.parametrize("page", PAGES)
def test_no_page_interprets_uploaded_text(hostile_session, page):
    at = hostile_session
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    texts = markdown_texts(at)
    # every "Add to deck" once: the toast repeats the view's title (a histology on the Subtype page)
    for key in [b.key for b in at.button if str(b.key or "").endswith("_deck")][:4]:
        button = next(b for b in at.button if b.key == key)
        if not button.disabled:
            button.click().run()
            assert not at.exception, [e.value for e in at.exception]
            texts += markdown_texts(at)
    assert_inert(texts, page)
    open_code_expanders(at)
    assert_inert(markdown_texts(at), page)
    snippets_seen = [(c.language or "", c.value) for c in at.code]
    assert bool(snippets_seen) == any(e.label.startswith("Show the code") for e in at.expander), page
    for language, code in snippets_seen:
        assert_snippet_is_only_the_template(code, "python" if language == "python" else "r", page)


def test_the_subtype_page_shows_the_payload_as_text_and_its_code_runs_nothing(hostile_session):
    at = hostile_session
    open_code_expanders(at.switch_page("pages/subtype.py").run())
    heading = at.subheader[0].value
    assert heading.startswith(escape_markdown(PAYLOADS["image_and_code"]))  # the histology, as plain text
    python = [c.value for c in at.code if c.language == "python"]
    assert python, "the Subtype page offers its code"
    assert any("# " + snippets.comment(PAYLOADS["image_and_code"]) in code for code in python)
    r_code = [c.value for c in at.code if c.language == "r"]
    assert r_code, "the survival view offers R"


@pytest.mark.parametrize("payload", list(PAYLOADS.values()) + ["a\rb", "a\u2028b", "a\x0bb", "a\x85b", "a\x1cb"])
def test_escape_markdown_leaves_no_special_character_unescaped(payload):
    escaped = escape_markdown(payload)
    assert "\n" not in escaped and "\r" not in escaped and len(escaped.splitlines()) <= 1
    unescaped = re.findall(r"(?<!\\)[\[\]()<>*_`$!#|~]", escaped)
    assert not unescaped, (payload, escaped)
    assert not re.search(r":[A-Za-z0-9_/]", escaped)  # every shortcode / directive colon is broken


@pytest.mark.parametrize("line_break", ["\n", "\r", "\r\n", "\u2028", "\u2029", "\x0b", "\x0c", "\x1c", "\x85"])
def test_a_comment_cannot_be_left_by_a_line_break(line_break):
    title = f"Leiomyosarcoma{line_break}import os; os.system('echo {MARKER}')"
    code = f"# {snippets.comment(title)}\nx = 1\n"
    tree = ast.parse(code)
    assert [type(node).__name__ for node in tree.body] == ["Assign"]
    assert len(code.splitlines()) == 2
    assert one_line(title) == snippets.comment(title)


def test_string_literals_of_snippets_keep_their_text():
    nasty = f"a\"b\\c\nimport os; os.system('{MARKER}')"
    assert ast.literal_eval(snippets.py_string(nasty)) == nasty
    assert "\n" not in snippets.r_string(nasty)


# --------------------------------------------------------------------------- #
# Links and the server's state
# --------------------------------------------------------------------------- #
def pazopanib_yes_caption() -> str:
    at = run_app({"pazopanib": "yes"})
    return caption(at)


def test_a_first_run_cut_short_keeps_the_links_filters(monkeypatch):
    """A page click while the first run still builds data: the query is cleared, the filters are not."""
    expected = pazopanib_yes_caption()
    assert expected != "Showing 56 of 56 patients"
    from streamlit.testing.v1 import AppTest

    from sarcoma_app.sources import cohort
    from tests.apptest_helpers import APP

    real = cohort.available_sources
    calls = []

    def slow_first_run():  # the first run is stopped while it builds (a click on a page)
        calls.append(1)
        if len(calls) == 1:
            st.stop()
        return real()

    monkeypatch.setattr(cohort, "available_sources", slow_first_run)
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["pazopanib"] = "yes"
    at.run()
    assert len(calls) == 1 and not at.sidebar.caption  # cut short before the sidebar
    at.query_params.clear()  # Streamlit clears the query string on a page switch
    at.switch_page("pages/survival.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert caption(at) == expected
    assert at.query_params.get("pazopanib") in ("yes", ["yes"])  # and the URL shows the link again


def test_a_tab_that_outlived_its_server_session_is_told_so():
    at = run_app({"pazopanib": "yes"})
    assert caption(at) != "Showing 56 of 56 patients"
    # the server restarts: a new, empty session; the open tab still has its widgets and clicks a page
    widgets = at._tree.get_widget_states()  # what the browser sends with the click (AppTest internals)
    fresh = SessionState()
    fresh[TESTING_KEY] = {}
    at._session_state = SafeSessionState(fresh, lambda: None)
    at.session_state = type(at.session_state)(at._session_state)
    at.query_params.clear()
    at.switch_page("pages/survival.py")._run(widgets)
    assert not at.exception, [e.value for e in at.exception]
    assert caption(at) == "Showing 56 of 56 patients"
    warnings = "\n".join(w.value for w in at.warning)
    assert "opened before the server restarted" in warnings and "Open your link again" in warnings


def test_a_fresh_visit_without_a_link_has_no_restart_notice():
    at = run_app(page="pages/survival.py")
    assert not any("server restarted" in w.value for w in at.warning)


def test_a_shared_uploaded_link_says_the_upload_must_be_made_again():
    at = run_app({"source": "uploaded", "pazopanib": "yes"}, page=None)
    warnings = "\n".join(w.value for w in at.warning)
    assert "not on this server session" in warnings and "Upload the file again" in warnings
    assert caption(at) == pazopanib_yes_caption()  # the rest of the link still applies, to the published cohorts


@pytest.fixture
def database_copy(tmp_path, monkeypatch):
    """The app reads a copy of the database (so it can be damaged); caches reset before and after."""
    from data import build
    from sarcoma_app.sources import db

    copy = tmp_path / "sarcoma.duckdb"
    shutil.copy(build.ensure_database(), copy)
    monkeypatch.setattr(build, "DEFAULT_DB_PATH", copy)
    monkeypatch.setattr(build.tempfile, "gettempdir", lambda: str(tmp_path))  # a rebuild lands here too

    def reset():
        db._fetch.clear()
        db.connection.clear()
        db.database_path.clear()

    reset()
    yield copy
    reset()


def test_a_database_damaged_while_running_is_rebuilt_with_a_message(database_copy):
    from sarcoma_app.sources import db

    at = run_app()
    assert caption(at) == "Showing 56 of 56 patients"
    assert db.database_path() == str(database_copy)
    database_copy.write_bytes(b"not a database" * 1000)  # damaged under the running app
    db.connection(str(database_copy)).close()  # its open handle fails from now on, as on a real fault
    db._fetch.clear()
    at.switch_page("pages/survival.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert caption(at) == "Showing 56 of 56 patients"
    assert any("was rebuilt" in w.value for w in at.warning)
    assert Path(db.database_path()) != database_copy and Path(db.database_path()).is_file()
    at.switch_page("pages/overview.py").run()  # said once
    assert not any("was rebuilt" in w.value for w in at.warning)


# --------------------------------------------------------------------------- #
# Work bounded by the number of levels, not by what an upload holds
# --------------------------------------------------------------------------- #
def many_histologies_session(n: int = 90):
    """An upload with one histology per patient (each its own group), loaded through the Upload page."""
    rows = ["patient_id,histology,best_response,pfs_months,pfs_event,ecog"]
    rows += [f"P{i},Histology {i:03d},{['PR', 'SD', 'PD'][i % 3]},{1 + i % 13},{int(i % 4 != 0)},{i % 2}"
             for i in range(n)]
    at = run_app(page="pages/upload.py")
    uploader = next(u for u in at.file_uploader if u.label == UPLOADERS["patients"])
    uploader.upload("many.csv", ("\n".join(rows) + "\n").encode(), "text/csv")
    at.run()
    load_button(at).click().run()
    assert caption(at) == f"Showing {n} of {n} patients"
    return at


def test_groupings_with_too_many_levels_are_not_compared_and_say_so():
    from sarcoma_app.views.prepare import MAX_COMPARED_LEVELS

    at = many_histologies_session()
    at.query_params.update({"source": "uploaded", "km_by": "histology", "response_by": "histology",
                            "cox_terms": ["histology_group", "ecog"]})
    at.run()
    assert MAX_COMPARED_LEVELS < 90
    for page, expected in [("pages/survival.py", "all patients together"),
                           ("pages/response.py", "all patients together"),
                           ("pages/hazard-ratios.py", "left out of the Cox models")]:
        at.switch_page(page).run()
        assert not at.exception, [e.value for e in at.exception]
        warnings = "\n".join(w.value for w in at.warning)
        assert "90 levels" in warnings and expected in warnings, (page, warnings)
    at.switch_page("pages/response.py").run()
    assert any("Left out of the forest plot" in c.value and "Histology group (90)" in c.value for c in at.caption)


def test_the_best_response_chart_keeps_one_bar_per_histology_up_to_its_limit():
    import pandas as pd

    from sarcoma_app.views.prepare import best_response_counts

    n = 500
    patients = pd.DataFrame({"study_id": ["s"] * n, "histology": [f"H{i:03d}" for i in range(n)],
                             "best_response": ["PR", "SD"] * (n // 2)})
    patients.loc[:9, "histology"] = "Common"  # the largest histology keeps its bar
    counts = best_response_counts(patients, max_histologies=20)
    assert counts["n"].sum() == n and counts["histology"].nunique() == 20
    assert counts.loc[counts["histology"] == "Common", "n"].sum() == 10
    assert f"{n - 10 - 18:,} other histologies" in set(counts["histology"])
    small = best_response_counts(patients.head(15), max_histologies=20)
    assert set(small["histology"]) == set(patients.head(15)["histology"])  # under the limit: as it was


def test_a_link_with_hundreds_of_parameters_is_ignored_with_a_notice():
    """Up to Streamlit's own limit (1,000 fields, dropped before the script runs) the app says so."""
    query = {f"p{i}": "x" for i in range(500)}
    query["pazopanib"] = "yes"
    at = run_app(query)
    assert caption(at) == "Showing 56 of 56 patients"
    warnings = [w.value for w in at.warning]
    assert len(warnings) == 1 and "501 parameters" in warnings[0] and "whole link was ignored" in warnings[0]

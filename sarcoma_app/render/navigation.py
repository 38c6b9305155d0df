"""The page list, shared by app.py and the guard that every page calls first."""
from __future__ import annotations

import threading

import streamlit as st

# Per script thread: is a page being run by app.py right now? (A thread-local, not
# session state, so resetting it cannot trip over st.stop() or st.rerun().)
_frame = threading.local()

PAGE_SPECS = (
    # (file, title, icon, url path)
    ("pages/overview.py", "Overview", ":material/dashboard:", "overview"),
    ("pages/response.py", "Response", ":material/stacked_bar_chart:", "response"),
    ("pages/survival.py", "Survival", ":material/show_chart:", "survival"),
    ("pages/hazard-ratios.py", "Hazard ratios", ":material/tune:", "hazard-ratios"),
    ("pages/adverse-events.py", "Adverse events", ":material/medication:", "adverse-events"),
    ("pages/patients.py", "Patients", ":material/group:", "patients"),
    ("pages/subtype.py", "Subtype across studies", ":material/compare_arrows:", "subtype"),
    ("pages/published.py", "Published vs recomputed", ":material/fact_check:", "published"),
    ("pages/upload.py", "Upload a cohort", ":material/upload_file:", "upload"),
    ("pages/data-methods.py", "Data & methods", ":material/menu_book:", "data-methods"),
)


def app_pages() -> list:
    """``st.Page`` objects for ``st.navigation`` (the first is the default page)."""
    return [st.Page(path, title=title, icon=icon, url_path=url_path, default=index == 0)
            for index, (path, title, icon, url_path) in enumerate(PAGE_SPECS)]


def run_page_in_frame(page) -> None:
    """Run the selected page, marking that it runs inside app.py."""
    _frame.inside = True
    try:
        page.run()
    finally:
        _frame.inside = False


def require_app_frame() -> None:
    """Make sure the page runs inside app.py (sidebar, filters, URL state).

    Until some session has run app.py, Streamlit serves the ``pages/``
    folder in its legacy mode, which runs a page file without app.py (e.g.
    the very first request of a fresh server for ``/survival?pazopanib=yes``,
    and every ``AppTest`` page switch). Calling
    ``st.navigation`` switches the server to app.py's navigation for good
    (documented behaviour); the rerun then goes through app.py to the same page.
    """
    if getattr(_frame, "inside", False):
        return
    st.navigation(app_pages(), position="hidden")
    st.rerun()

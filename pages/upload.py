"""Upload a cohort: an institution's own patients, explored with every page, only in this session.

Reading, column matching and validation are pure functions of :mod:`sarcoma_app.ingest`;
the drawing is :mod:`sarcoma_app.render.upload`; the session's in-memory database is kept
by :mod:`sarcoma_app.sources.cohort`. Nothing here writes to disk or to a shared cache.
"""
import streamlit as st

from sarcoma_app.render import ui, upload
from sarcoma_app.render.navigation import require_app_frame
from sarcoma_app.sources import cohort as data_source

require_app_frame()
ui.page_header("Upload a cohort", "Can I explore my own patients with every page of the app?")
upload.introduction()
current = data_source.uploaded_cohort()
upload.status(current)
upload.preparation()

files = upload.uploaders()
standard = upload.standard_uploader()
if files["patients"] is None and not standard:
    upload.ask_for_patients_file(files)
    st.stop()
tables = upload.standard_tables(standard) if standard else upload.read_files(files)
if tables is None:
    st.stop()
mappings = upload.column_matching(tables)
cohort_name = upload.cohort_name_input(standard or files["patients"])
prepared = upload.checked_cohort(files, tables, mappings, cohort_name)
if not upload.check_results(prepared):
    st.stop()
upload.checked_summary(prepared)
upload.load_button(current, cohort_name, tables, len(prepared.patients))
upload.measurements(prepared)
upload.downloads_note()

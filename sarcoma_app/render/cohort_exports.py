"""Downloads of the filtered cohort in standard formats (cBioPortal clinical files, ADSL/ADTTE/ADRS-like CSVs).

The files are made by :mod:`sarcoma_app.exports.formats` (pure) when a button is
pressed; the app's format readers read them back to the same numbers.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from sarcoma_app.exports import formats

LABELS = {"data_clinical_patient.txt": "cBioPortal patient file", "data_clinical_sample.txt": "cBioPortal sample file",
          "adsl.csv": "ADSL-like CSV", "adtte.csv": "ADTTE-like CSV", "adrs.csv": "ADRS-like CSV"}


def show(patients: pd.DataFrame) -> None:
    """An expander with one download per file, for the patients shown (the filters applied)."""
    with st.expander(f"Export these {len(patients):,} patients in standard formats (cBioPortal, CDISC ADaM-like)"):
        st.caption("The cBioPortal clinical files follow the cBioPortal File Formats documentation; the ADSL-, "
                   "ADTTE- and ADRS-like CSVs use ADaM variable names (AVAL in months, AVALU = MONTHS, CNSR = 1 − "
                   "event) but are not submission datasets (no define.xml). Upload them again and the app reads "
                   "the same numbers. Not reported stays empty.")
        columns = st.columns(len(LABELS))
        makers = {name: (formats.cbioportal_files if name.endswith(".txt") else formats.adam_files) for name in LABELS}
        for column, (name, label) in zip(columns, LABELS.items()):
            column.download_button(label, data=lambda name=name: makers[name](patients)[name], file_name=name,
                                   mime="text/plain" if name.endswith(".txt") else "text/csv",
                                   key=f"export_format_{name}", icon=":material/download:", on_click="ignore",
                                   width="stretch")

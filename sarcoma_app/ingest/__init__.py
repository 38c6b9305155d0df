"""Reading and checking uploaded cohorts: bounded file reading, column mapping, value conversion and the
checked cohort. No Streamlit here."""

"""Streamlit glue of the sarcoma explorer: database access, filters, URL state, downloads."""

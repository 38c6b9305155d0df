"""Pure statistics for the sarcoma explorer: no streamlit, no altair, no database."""

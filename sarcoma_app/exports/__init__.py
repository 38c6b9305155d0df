"""Files a user takes away: CSV/PNG/SVG downloads, the tumour-board deck (PPTX, HTML) and code snippets.
No Streamlit here."""

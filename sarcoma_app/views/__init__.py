"""What each page shows, as pure functions: (patients, filters, methods) -> view blocks. No Streamlit here."""

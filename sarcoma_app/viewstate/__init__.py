"""The view state: filters and method choices, their URL form (pure, never raising) and the Streamlit
session and widgets bound to it."""

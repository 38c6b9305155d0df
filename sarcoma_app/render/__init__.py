"""Streamlit rendering: page frame, sidebar, view blocks with their downloads, and the deck/code tools."""

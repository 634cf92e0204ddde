"""Streamlit helpers shared by the pages: session state, translation, sidebar and cached loaders."""

"""Figures shared by the report and the explorer (Plotly), with one palette and one set of names."""

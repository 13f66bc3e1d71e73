"""The DuckDB store: the only place that holds SQL."""

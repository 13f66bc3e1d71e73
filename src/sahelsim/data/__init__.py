"""The data layer: readers (files -> frames), the DuckDB store (all SQL), downloads, ingest."""

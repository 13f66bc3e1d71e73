"""Canonical names and ids, errors, configuration, table schemas. Imports nothing of sahelsim."""

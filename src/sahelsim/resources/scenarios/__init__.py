"""Shipped scenario files."""

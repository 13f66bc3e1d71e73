"""Scenarios (levers, flags) and running them on the model."""

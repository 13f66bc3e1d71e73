"""Observation model, posterior, calibration."""

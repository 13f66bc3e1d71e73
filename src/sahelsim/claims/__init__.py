"""The claims audit: each claim against data and model."""

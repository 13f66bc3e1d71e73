"""Baselines, proper scores, ViEWS I/O and rolling-origin backtests."""

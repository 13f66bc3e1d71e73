"""Settings the server passes to the explorer page (environment variable names, defaults); kept
apart so :func:`sahelsim.app.serve` can name them without importing the library's run code."""

from __future__ import annotations

from pathlib import Path

__all__ = ["DEFAULT_CLAIMS_CSV", "ENV_CLAIMS", "ENV_GRID"]

#: The environment variables the server passes to the page (see :func:`sahelsim.app.serve`).
ENV_GRID = "SAHELSIM_APP_GRID"  # "synthetic" forces the synthetic grid
ENV_CLAIMS = "SAHELSIM_APP_CLAIMS"  # path of a cached claims_audit.csv
DEFAULT_CLAIMS_CSV = Path("out") / "claims" / "claims_audit.csv"

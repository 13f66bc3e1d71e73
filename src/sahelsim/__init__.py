"""sahelsim: evidence, simulation and scenarios for the Central Sahel conflict system.

The package is layered: ``canon`` (names, ids, grid maths) and the numeric kernels import only
NumPy/SciPy; readers, the DuckDB store, indicators and the CLI sit on top of them.
"""

from __future__ import annotations

import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

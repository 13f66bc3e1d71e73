"""The Ray backend (``pip install 'sahelsim[distributed]'``): pass ``make_backend("ray")`` as
``backend=`` to :func:`~sahelsim.scenarios.run.run_scenario`,
:func:`~sahelsim.inference.calibrate.run_calibration` (or ``Calibrator``) and
:func:`~sahelsim.forecast.backtest.run_backtest`; see ``docs/scaling.md``."""

from sahelsim.core.backend import Backend, ChunkFailure, LocalBackend
from sahelsim.distributed.ray_backend import INSTALL_HINT, RayBackend, make_backend

__all__ = ["INSTALL_HINT", "Backend", "ChunkFailure", "LocalBackend", "RayBackend", "make_backend"]

"""The explorer's server process: ``python -m sahelsim.app.server [streamlit options]``.

It imports the library, starts Streamlit on the page (:data:`sahelsim.app.APP_FILE`) in this
process and, on a thread alongside, runs the page's default request (scenario, members, seed,
horizon as a URL without parameters asks for) from the cached present and draws its fan charts,
so the first visitor's page finds them in the run cache instead of paying the imports, the
engine load and the first run. Then it starts the run pool's worker processes (niced, so their
start does not slow the first visitor's runs). Nothing here changes a number: the warm-up is
the same request the page would make.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Sequence

from streamlit.web import cli as stcli

from sahelsim.app import APP_FILE, core
from sahelsim.app.inputs import DEFAULT_SCENARIO

__all__ = ["main", "warm_up"]

log = logging.getLogger(__name__)


def warm_up() -> None:
    """The default request's run and fan charts into the caches, then the worker pool."""
    try:
        data_dir = core.default_data_dir()
        req = core.make_request(DEFAULT_SCENARIO, data_dir=data_dir)
        core.run_cached(req)
        core.fan_figures_for(req)
        core.RUNNER.prestart(core.warm_worker, data_dir)
    except Exception:  # the page reports problems itself; a failed warm-up only costs time
        log.exception("explorer: warm-up failed")


def main(argv: Sequence[str]) -> int:
    threading.Thread(target=warm_up, name="sahelsim-warm-up", daemon=True).start()
    sys.argv = ["streamlit", "run", str(APP_FILE), *argv]
    stcli.main()  # runs the server until it stops (click exits with its code)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The explorer's server process: ``python -m sahelsim.app.server [streamlit options]``.

It imports the library, starts Streamlit on the page (:data:`sahelsim.app.APP_FILE`) in this
process and, on a thread alongside, puts the page's default request (scenario, members, seed,
horizon as a URL without parameters asks for) in the caches: read from disk when a stored run
exists (``serve --prebuild`` writes one per shipped scenario), else simulated from the cached
present (its preview and the preview's fan charts first, so a visitor who comes early sees
them, then the full ensemble); then its fan charts; then it loads the engine and the present,
so the first visitor's page and first lever change pay neither. The run pool's worker processes start
:data:`POOL_AFTER_PAGE_S` after the first page has been sent (the browser is still drawing it:
its first Plotly chart loads Plotly.js), or after :data:`POOL_DELAY_S` without a visitor, so
their start (imports, the grid) does not compete with the first page. Nothing here changes a number: the warm-up is the
same request the page would make.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Sequence

from streamlit.web import cli as stcli

from sahelsim.app import APP_FILE, core
from sahelsim.app.inputs import DEFAULT_SCENARIO

__all__ = ["POOL_AFTER_PAGE_S", "POOL_DELAY_S", "main", "warm_up"]

log = logging.getLogger(__name__)

#: Seconds the worker pool waits for the first page to be sent before it starts anyway.
POOL_DELAY_S = 30.0
#: Seconds from the first page sent to the pool's start.
POOL_AFTER_PAGE_S = 10.0


def warm_up(pool_delay_s: float = POOL_DELAY_S, after_page_s: float = POOL_AFTER_PAGE_S) -> None:
    """The default request into the caches: read from disk when a stored run exists
    (:mod:`sahelsim.app.stored`, written by ``serve --prebuild`` or an earlier server), else its
    preview and full run simulated; its fan charts built; then the engine and the present
    loaded (so the first lever change does not pay for them); then (after the first page and
    ``after_page_s``, or ``pool_delay_s`` without one) the worker pool."""
    try:
        data_dir = core.default_data_dir()
        req = core.make_request(DEFAULT_SCENARIO, data_dir=data_dir)
        if not core.has_stored(req):
            core.preview_cached(req)
            core.fan_charts_for(req, preview=True)
        core.run_cached(req)
        core.fan_charts_for(req)
        core.warm_engine(req)
        if core.PAGE_DRAWN.wait(pool_delay_s):
            time.sleep(after_page_s)
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

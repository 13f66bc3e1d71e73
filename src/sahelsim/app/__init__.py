"""Interactive scenario explorer in the browser (Streamlit; ``pip install 'sahelsim[app]'``).

:func:`serve` starts the server in a subprocess bound to 127.0.0.1 unless told otherwise, in its
own process group (session), and stops that whole group when it returns, on Ctrl-C, SIGTERM or
interpreter exit (:func:`stop`), so no Streamlit process is left listening. It checks that
Streamlit is installed before anything starts (:func:`require_streamlit`); callers announce the
address through ``on_start`` (called only once the server process is running). The
page (:mod:`sahelsim.app.streamlit_app`) is a thin client of :mod:`sahelsim.app.core`, which
holds the request validation, the run cache and the figure builders; importing this package does
not import Streamlit.
"""

from __future__ import annotations

import atexit
import functools
import importlib.util
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType

from sahelsim.app.settings import ENV_GRID
from sahelsim.core.errors import SahelsimError

__all__ = ["APP_FILE", "AppUnavailable", "require_streamlit", "serve", "server_command", "stop"]

log = logging.getLogger(__name__)

#: The Streamlit script.
APP_FILE = Path(__file__).with_name("streamlit_app.py")


class AppUnavailable(SahelsimError):
    """The browser app's dependencies are not installed."""


def require_streamlit() -> None:
    """Raise :class:`AppUnavailable` when Streamlit is not installed (nothing is started)."""
    if importlib.util.find_spec("streamlit") is None:
        raise AppUnavailable("the scenario explorer needs Streamlit: pip install 'sahelsim[app]'")


def stop(proc: subprocess.Popen[bytes], timeout: float = 10) -> int:
    """Stop a server started by :func:`serve` and every process in its group (SIGTERM, then
    SIGKILL after ``timeout`` seconds); returns its exit code."""
    if proc.poll() is not None:
        _kill_group(proc.pid, signal.SIGKILL)  # children it may have left behind
        return int(proc.returncode)
    _kill_group(proc.pid, signal.SIGTERM)
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc.pid, signal.SIGKILL)
        code = proc.wait()
    _kill_group(proc.pid, signal.SIGKILL)
    return int(code)


def _kill_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def server_command(host: str = "127.0.0.1", port: int = 8501) -> list[str]:
    """The command line that serves the app (:mod:`sahelsim.app.server`: Streamlit plus a
    warm-up of the default run; headless, no usage statistics, no file watcher, static files
    on for the offline map assets)."""
    return [
        sys.executable, "-m", "sahelsim.app.server",
        "--server.address", host,
        "--server.port", str(int(port)),
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        "--server.enableStaticServing", "true",
        "--server.fileWatcherType", "none",
        "--server.runOnSave", "false",
        "--client.toolbarMode", "minimal",
        "--theme.base", "light",
    ]  # fmt: skip


def serve(
    host: str = "127.0.0.1",
    port: int = 8501,
    data_dir: str | os.PathLike[str] | None = None,
    *,
    synthetic: bool = False,
    wait: bool = True,
    extra_args: Sequence[str] = (),
    env: dict[str, str] | None = None,
    log_file: str | os.PathLike[str] | None = None,
    on_start: Callable[[str], None] | None = None,
) -> int | subprocess.Popen[bytes]:
    """Start the scenario explorer at ``http://host:port``.

    ``data_dir``: the staged data (default: ``$SAHELSIM_DATA`` or the user cache; the synthetic
    grid when it holds no grid inputs); ``synthetic``: force the synthetic grid. With ``wait``
    (default) block until the server stops and return its exit code (Ctrl-C stops it);
    otherwise return the running :class:`subprocess.Popen` (the caller stops it).
    ``log_file``: write the server's output there instead of to this process's terminal.
    ``on_start(url)``: called once the server process runs (e.g. to print the address); never
    called when Streamlit is missing (:class:`AppUnavailable` is raised first).
    The server runs in its own process group; with ``wait`` the group is stopped when this
    returns (Ctrl-C, SIGTERM); without, at interpreter exit unless the caller stops it first
    (:func:`stop`).
    """
    require_streamlit()
    child_env = dict(os.environ if env is None else env)
    if data_dir is not None:
        child_env["SAHELSIM_DATA"] = str(Path(data_dir).expanduser().resolve())
    if synthetic:
        child_env[ENV_GRID] = "synthetic"
    cmd = [*server_command(host, port), *extra_args]
    if log_file is None:
        proc = subprocess.Popen(cmd, env=child_env, start_new_session=True)
    else:
        with open(log_file, "ab") as out:
            proc = subprocess.Popen(
                cmd, env=child_env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
    cleanup = functools.partial(stop, proc)
    atexit.register(cleanup)
    log.info("explorer: server pid %d on http://%s:%d", proc.pid, host, port)
    if on_start is not None:
        on_start(f"http://{host}:{port}")
    if not wait:
        return proc
    main = threading.current_thread() is threading.main_thread()
    old = signal.signal(signal.SIGTERM, _interrupt) if main else None
    try:
        return proc.wait()
    except KeyboardInterrupt:
        return stop(proc)
    finally:
        stop(proc)
        atexit.unregister(cleanup)
        if main:
            signal.signal(signal.SIGTERM, old)

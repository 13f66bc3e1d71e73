"""Interactive scenario explorer in the browser (Streamlit; ``pip install 'sahelsim[app]'``).

:func:`serve` starts the server in a subprocess bound to 127.0.0.1 unless told otherwise. The
page (:mod:`sahelsim.app.streamlit_app`) is a thin client of :mod:`sahelsim.app.core`, which
holds the request validation, the run cache and the figure builders; importing this package does
not import Streamlit.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from sahelsim.app.settings import ENV_GRID
from sahelsim.core.errors import SahelsimError

__all__ = ["APP_FILE", "AppUnavailable", "serve", "server_command"]

#: The Streamlit script.
APP_FILE = Path(__file__).with_name("streamlit_app.py")


class AppUnavailable(SahelsimError):
    """The browser app's dependencies are not installed."""


def _check() -> None:
    if importlib.util.find_spec("streamlit") is None:
        raise AppUnavailable("the scenario explorer needs Streamlit: pip install 'sahelsim[app]'")


def server_command(host: str = "127.0.0.1", port: int = 8501) -> list[str]:
    """The command line that serves the app (headless, no usage statistics, no file watcher,
    static files on for the offline map assets)."""
    return [
        sys.executable, "-m", "streamlit", "run", str(APP_FILE),
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
) -> int | subprocess.Popen[bytes]:
    """Start the scenario explorer at ``http://host:port``.

    ``data_dir``: the staged data (default: ``$SAHELSIM_DATA`` or the user cache; the synthetic
    grid when it holds no grid inputs); ``synthetic``: force the synthetic grid. With ``wait``
    (default) block until the server stops and return its exit code (Ctrl-C stops it);
    otherwise return the running :class:`subprocess.Popen` (the caller stops it).
    ``log_file``: write the server's output there instead of to this process's terminal.
    """
    _check()
    child_env = dict(os.environ if env is None else env)
    if data_dir is not None:
        child_env["SAHELSIM_DATA"] = str(Path(data_dir).expanduser().resolve())
    if synthetic:
        child_env[ENV_GRID] = "synthetic"
    cmd = [*server_command(host, port), *extra_args]
    if log_file is None:
        proc = subprocess.Popen(cmd, env=child_env)
    else:
        with open(log_file, "ab") as out:
            proc = subprocess.Popen(cmd, env=child_env, stdout=out, stderr=subprocess.STDOUT)
    if not wait:
        return proc
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        try:
            return proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()

"""``sahelsim serve``: Streamlit is checked before an address is printed; stopping the command
stops the Streamlit server and its children; ``--prebuild`` fills the explorer's caches."""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from browser import free_port  # tools/, on sys.path via conftest

from sahelsim.app import core
from sahelsim.cli.main import main


def test_serve_without_streamlit_prints_no_address(monkeypatch, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "streamlit" else real(name, *a))  # fmt: skip
    code = main(["serve", "--synthetic", "--port", str(free_port())])
    out = capsys.readouterr()
    assert code != 0
    assert "needs Streamlit" in out.out + out.err
    assert "http://" not in out.out + out.err


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _default_signals() -> None:
    """A child inherits ignored signals (SIG_IGN survives exec): an earlier test or library in
    this pytest process may have left SIGINT ignored, and Python then never raises
    KeyboardInterrupt in the child. Start it as a terminal would, with the default handlers."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_stopping_serve_stops_the_server_and_its_children(tmp_path, sig):
    pytest.importorskip("streamlit")
    port = free_port()
    env = dict(os.environ, SAHELSIM_APP_CACHE=str(tmp_path))
    proc = subprocess.Popen(
        [sys.executable, "-m", "sahelsim.cli.main", "serve", "--synthetic", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        preexec_fn=_default_signals,
    )  # fmt: skip
    try:
        t0 = time.monotonic()
        while True:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/_stcore/health", timeout=2
                ) as r:
                    if r.read().strip() == b"ok":
                        break
            except OSError:
                pass
            assert proc.poll() is None, proc.stdout.read().decode()[-2000:]
            assert time.monotonic() - t0 < 90, "server did not start"
            time.sleep(0.3)
        # the Streamlit server is a child in its own process group
        kids = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True)
        child = int(kids.stdout.split()[0])
        assert os.getpgid(child) == child != os.getpgid(proc.pid)
        os.kill(proc.pid, sig)
        assert proc.wait(60) is not None  # generous: on a fresh machine the server may be compiling
        out = proc.stdout.read().decode()
        assert f"scenario explorer on http://127.0.0.1:{port}" in out
        t0 = time.monotonic()
        while _group_alive(child) and time.monotonic() - t0 < 15:
            time.sleep(0.2)
        assert not _group_alive(child), "the Streamlit process group is still running"
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0, "something still listens"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        proc.stdout.close()


def test_prebuild_fills_the_present_cache(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SAHELSIM_APP_CACHE", str(tmp_path))
    monkeypatch.delenv(core.ENV_GRID, raising=False)
    core.set_provider(None)
    try:
        assert main(["serve", "--prebuild", "--synthetic", "--members", "3", "--seed", "2"]) == 0
        out = capsys.readouterr().out
        assert "acceleration: projections start from a spin-up" in out
        built = list((tmp_path / "present").glob("*/state.npz"))
        assert built, "no present state written"
        core.set_provider(None)  # a new server: reads the cache, spins up nothing
        req = core.make_request("acceleration", members=3, seed=2, months=6)
        res, _ = core.run_cached(req, compute=core._simulate)
        assert core.provider().built == 0
        assert "spin-up" in res.meta["present"]
        assert main(["serve", "--prebuild", "--members", "0"]) == 2
        assert "2..1000" in capsys.readouterr().err
    finally:
        core.set_provider(None)


def test_serve_present_option_names_a_bad_folder(tmp_path, capsys):
    assert main(["serve", "--present", str(tmp_path / "nowhere"), "--prebuild", "--synthetic"]) == 2
    err = capsys.readouterr().err
    assert "--present" in err and "no filtered ensemble" in err

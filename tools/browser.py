"""Debian's Chromium for the browser tests and the app benchmark (never a downloaded browser).

The flags come from shared/PITFALLS.md: without the background-networking flags Chromium keeps
trying to reach Google's hosts on this closed network. Playwright's persistent context adds a
fresh ``--user-data-dir``.
"""

from __future__ import annotations

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    """A free TCP port on the loopback interface (for a test or benchmark server)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(pw, profile, width: int = 1400, height: int = 1000, **options):
    """Debian's Chromium, headless with :data:`CHROMIUM_FLAGS`, in a fresh persistent profile
    folder ``profile`` (Playwright's ``launch_persistent_context``; ``options`` such as
    ``accept_downloads`` are passed on)."""
    return pw.chromium.launch_persistent_context(
        str(profile), executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True,
        viewport={"width": width, "height": height}, **options,
    )  # fmt: skip


def sync_playwright_or_skip(*, streamlit: bool = False):
    """Playwright's ``sync_playwright``, or skip the calling test when Chromium, Playwright (or,
    with ``streamlit``, the app extra) is missing."""
    import pytest

    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium")
    if streamlit:
        pytest.importorskip(
            "streamlit", reason="the app extra is not installed: pip install '.[app]'"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright for Python is not installed: pip install playwright")
    return sync_playwright

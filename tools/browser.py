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

"""Where data, the cache and the store live."""

from __future__ import annotations

import os
from pathlib import Path

ENV_DATA = "SAHELSIM_DATA"
ENV_CACHE = "SAHELSIM_CACHE"


def cache_dir() -> Path:
    """The user cache (downloads land here): ``$SAHELSIM_CACHE`` or ``~/.cache/sahelsim``."""
    env = os.environ.get(ENV_CACHE)
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sahelsim"


def resolve_data_dir(cli_value: str | os.PathLike[str] | None = None) -> Path:
    """``--data-dir`` if given, else ``$SAHELSIM_DATA``, else the user cache's ``data`` folder."""
    if cli_value:
        return Path(cli_value).expanduser().resolve()
    env = os.environ.get(ENV_DATA)
    if env:
        return Path(env).expanduser().resolve()
    return cache_dir() / "data"

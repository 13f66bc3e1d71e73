"""Where data, the cache and the store live; reading TOML configuration files."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


def parse_toml(
    data: bytes, where: str, error: Callable[[str, list[str]], Exception]
) -> dict[str, Any]:
    """``data`` (UTF-8 TOML text) as a dict; a file that is not UTF-8 or not valid TOML raises
    ``error(where, [problem])`` (e.g. a :class:`~sahelsim.core.errors.SahelsimError` subclass
    that takes the file and its problems)."""
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise error(where, [f"not UTF-8 text: {exc}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise error(where, [f"not valid TOML: {exc}"]) from None

"""Atomic file writes: a crash, a full disk or a failing writer leaves the previous file (or
none), never half a file; :func:`write_all_atomic` does the same for a set of files."""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "TMP_SUFFIX", "Writer", "make_folder", "text_writer", "write_all_atomic", "write_atomic",
    "write_bytes_atomic", "write_text_atomic",
]  # fmt: skip

#: Suffix of the temporary files (named ``.NAME.<random>.tmp`` next to their target).
TMP_SUFFIX = ".tmp"

#: ``write(tmp_path)`` writes one file's content to ``tmp_path``.
Writer = Callable[[Path], Any]


def _temp_for(path: Path) -> Path:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the usual file mode
    return Path(tmp)


def make_folder(folder: Path) -> Path:
    """Create ``folder`` (and its parents); a path there that is not a folder is an
    :class:`NotADirectoryError` naming it (not the bare ``FileExistsError`` of ``mkdir``)."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "not a folder", str(folder))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_all_atomic(items: Sequence[tuple[Path, Writer]]) -> list[Path]:
    """Write every ``(path, write)`` to a temporary file in its target's folder and, only when
    all of them succeeded, rename each over its target (:func:`os.replace`). On any failure
    the temporaries are removed, the error propagates and the previous files are untouched."""
    temps: list[Path] = []
    try:
        for path, write in items:
            make_folder(Path(path).parent)
            tmp = _temp_for(Path(path))
            temps.append(tmp)
            write(tmp)
        for tmp, (path, _) in zip(temps, items, strict=True):
            os.replace(tmp, path)
    except BaseException:
        for tmp in temps:
            tmp.unlink(missing_ok=True)
        raise
    return [Path(p) for p, _ in items]


def write_atomic(path: Path, write: Writer) -> Path:
    """``write(tmp)`` into a temporary file next to ``path``, then rename it over ``path``."""
    return write_all_atomic([(Path(path), write)])[0]


def text_writer(text: str) -> Writer:
    """A writer of UTF-8 ``text`` (newlines kept as they are)."""
    return lambda tmp: Path(tmp).write_text(text, encoding="utf-8", newline="")


def write_text_atomic(path: Path, text: str) -> Path:
    return write_atomic(path, text_writer(text))


def write_bytes_atomic(path: Path, data: bytes) -> Path:
    return write_atomic(path, lambda tmp: Path(tmp).write_bytes(data))

"""The registry of data sources (``sahelsim/resources/sources.toml``)."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import PurePosixPath
from typing import Any

from sahelsim.core.errors import DownloadError

KINDS = ("file", "zip", "ucdp_api", "acled_api")
SHA_RE = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class RemoteFile:
    """One file of a source: where it goes (relative to the folder) and where it comes from."""

    filename: str
    url: str
    sha256: str = ""


@dataclass(frozen=True)
class Source:
    """One entry of ``sources.toml``."""

    name: str
    title: str
    folder: str
    filename: str
    url: str
    license: str
    kind: str = "file"
    sha256: str = ""
    citation: str = ""
    homepage: str = ""
    version: str = ""
    notes: str = ""
    auth_env: tuple[str, ...] = ()
    extra_files: tuple[RemoteFile, ...] = ()

    @property
    def is_api(self) -> bool:
        return self.kind in ("ucdp_api", "acled_api")

    def files(self) -> list[RemoteFile]:
        """The main file followed by the extra files."""
        return [RemoteFile(self.filename, self.url, self.sha256), *self.extra_files]


def _check_relpath(name: str, value: str, what: str) -> None:
    p = PurePosixPath(value)
    if not value or p.is_absolute() or ".." in p.parts or "\\" in value:
        raise DownloadError(f"source '{name}': {what} {value!r} must be a relative path")


def _parse_source(entry: Mapping[str, Any]) -> Source:
    name = str(entry.get("name", ""))
    required = ("name", "title", "folder", "filename", "url", "license", "kind")
    missing = [k for k in required if not entry.get(k)]
    if missing:
        raise DownloadError(f"sources.toml: entry {name or '?'} lacks {', '.join(missing)}")
    if entry["kind"] not in KINDS:
        raise DownloadError(f"source '{name}': kind {entry['kind']!r} not one of {KINDS}")
    _check_relpath(name, str(entry["folder"]), "folder")
    extras = []
    for ex in entry.get("extra_files", []):
        extras.append(RemoteFile(str(ex["filename"]), str(ex["url"]), str(ex.get("sha256", ""))))
    src = Source(
        name=name,
        title=str(entry["title"]),
        folder=str(entry["folder"]),
        filename=str(entry["filename"]),
        url=str(entry["url"]),
        license=str(entry["license"]),
        kind=str(entry["kind"]),
        sha256=str(entry.get("sha256", "")).lower(),
        citation=str(entry.get("citation", "")),
        homepage=str(entry.get("homepage", "")),
        version=str(entry.get("version", "")),
        notes=str(entry.get("notes", "")),
        auth_env=tuple(str(e) for e in entry.get("auth_env", [])),
        extra_files=tuple(extras),
    )
    for rf in src.files():
        _check_relpath(name, rf.filename, "filename")
        if rf.sha256 and not SHA_RE.match(rf.sha256.lower()):
            raise DownloadError(f"source '{name}': sha256 of {rf.filename} is not 64 hex digits")
    return src


@lru_cache(maxsize=1)
def _registry() -> tuple[Source, ...]:
    text = (
        resources.files("sahelsim.resources").joinpath("sources.toml").read_text(encoding="utf-8")
    )
    doc = tomllib.loads(text)
    sources = tuple(_parse_source(e) for e in doc.get("source", []))
    names = [s.name for s in sources]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise DownloadError(f"sources.toml: duplicate source name(s): {', '.join(dupes)}")
    return sources


def list_sources() -> list[Source]:
    """Every source of the registry, in file order."""
    return list(_registry())


def get_source(name: str) -> Source:
    """The source called ``name``; unknown names raise :class:`DownloadError` listing valid ones."""
    for src in _registry():
        if src.name == name:
            return src
    valid = ", ".join(s.name for s in _registry())
    raise DownloadError(f"unknown data source {name!r}; valid names: {valid}")

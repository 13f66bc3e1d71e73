"""Folders of API pages (``page_NNNN.json``): resuming, query checks and the manifest entry."""

from __future__ import annotations

import datetime as dt
import json
import logging
import urllib.parse
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from sahelsim.core.errors import DownloadError
from sahelsim.data.download.transfer import (
    default_data_dir,
    now_utc,
    read_manifest,
    redact,
    update_manifest,
    write_atomic,
)
from sahelsim.data.readers.base import sha256_file

log = logging.getLogger(__name__)

MAX_PAGES = 100_000


def iso_date(value: str | dt.date | None, what: str) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        return dt.date.fromisoformat(str(value)).isoformat()
    except ValueError as exc:
        raise DownloadError(f"{what} {value!r} is not a date (YYYY-MM-DD)") from exc


def _page_path(folder: Path, index: int) -> Path:
    return folder / f"page_{index:04d}.json"


def _existing_pages(folder: Path) -> list[Path]:
    return sorted(folder.glob("page_*.json"))


def prepare_page_folder(folder: Path, query: dict[str, Any], source: str, *, force: bool) -> None:
    """Make sure pages on disk belong to the same query (else refuse unless ``force``)."""
    folder.mkdir(parents=True, exist_ok=True)
    pages = _existing_pages(folder)
    entry = read_manifest(folder)["files"].get("page_*.json", {})
    if pages and not force and entry.get("query") != query:
        raise DownloadError(
            f"{folder} holds pages of another query ({entry.get('query', 'unknown')}); pass"
            " force=True to replace them or choose another data directory"
        )
    if force:
        for p in pages:
            p.unlink()
    if force or not pages:
        update_manifest(
            folder, "page_*.json", {"source": source, "query": query, "complete": False}
        )


def _load_page(path: Path, key: str) -> dict[str, Any] | None:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        log.warning("%s is unreadable (%s): fetching it again", path, exc)
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get(key), list):
        log.warning("%s has no '%s' list: fetching it again", path, key)
        return None
    return doc


def _save_page(path: Path, doc: dict[str, Any]) -> None:
    write_atomic(path, json.dumps(doc, ensure_ascii=False).encode("utf-8"))


def cached_page(
    folder: Path, index: int, key: str, fetch: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    """Page ``index`` of ``folder``: the file on disk when it holds a ``key`` list, else
    ``fetch()`` (which returns a checked page) saved atomically."""
    path = _page_path(folder, index)
    doc = _load_page(path, key) if path.exists() else None
    if doc is None:
        doc = fetch()
        _save_page(path, doc)
    return doc


def paged_url(base: str, params: Mapping[str, Any], *, safe: str) -> str:
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}{urllib.parse.urlencode(dict(params), safe=safe)}"


def page_folder(data_dir: Path | None, folder: str) -> Path:
    return (Path(data_dir) if data_dir is not None else default_data_dir()) / folder


def finish_pages(
    folder: Path,
    src_name: str,
    query: dict[str, Any],
    *,
    url: str,
    pages: int,
    rows: int,
    total: int | None,
    version: str,
    license: str,
) -> None:
    shas = {p.name: sha256_file(p) for p in _existing_pages(folder)[:pages]}
    update_manifest(
        folder,
        "page_*.json",
        {
            "source": src_name,
            "url": redact(url),
            "query": query,
            "complete": True,
            "pages": pages,
            "rows": rows,
            "total_count": total,
            "sha256": shas,
            "bytes": sum((folder / n).stat().st_size for n in shas),
            "time": now_utc(),
            "version": version,
            "license": license,
        },
    )


def same_origin(a: str, b: str) -> bool:
    pa, pb = urllib.parse.urlsplit(a), urllib.parse.urlsplit(b)
    return (pa.scheme, pa.netloc.lower()) == (pb.scheme, pb.netloc.lower())

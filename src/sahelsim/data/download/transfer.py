"""HTTP transfers: streaming into ``<file>.part`` with ``Range`` resume and retries, JSON
GETs, SHA-256 sidecars and the ``DOWNLOAD.json`` manifest of a folder."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import logging
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from sahelsim.core import config
from sahelsim.core.atomic import (
    write_bytes_atomic,
)
from sahelsim.core.errors import DownloadError
from sahelsim.data.download.registry import SHA_RE

log = logging.getLogger(__name__)

MANIFEST = "DOWNLOAD.json"
CHUNK = 1 << 16
USER_AGENT = "sahelsim-download/0.1 (Python urllib)"
_SECRET_PARAMS = ("key", "email", "password", "token", "access_token")

Progress = Callable[[int, int | None], None]


def default_data_dir() -> Path:
    return config.cache_dir() / "data"


def now_utc() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def redact(url: str) -> str:
    """``url`` with secret query values (key, email, token...) replaced by ``***``."""
    parts = urllib.parse.urlsplit(url)
    if not parts.query:
        return url
    pairs = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    clean = [(k, "***" if k.lower() in _SECRET_PARAMS else v) for k, v in pairs]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(clean, safe=",|*")))


def write_atomic(path: Path, data: bytes) -> None:
    """``data`` to ``path`` through a temporary file in the same folder (no half files)."""
    write_bytes_atomic(path, data)


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def read_sidecar(path: Path) -> str:
    side = _sidecar(path)
    if not side.exists():
        return ""
    words = side.read_text(encoding="utf-8").split()
    return words[0].lower() if words and SHA_RE.match(words[0].lower()) else ""


def write_sidecar(path: Path, digest: str) -> None:
    write_atomic(_sidecar(path), f"{digest}  {path.name}\n".encode())


def read_manifest(folder: Path) -> dict[str, Any]:
    """The ``DOWNLOAD.json`` of a folder (``{"files": {}}`` when absent or unreadable)."""
    path = Path(folder) / MANIFEST
    if path.exists():
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(doc, dict) and isinstance(doc.get("files"), dict):
                return doc
            log.warning("%s has an unexpected layout; starting a new one", path)
        except (OSError, ValueError) as exc:
            log.warning("cannot read %s (%s); starting a new one", path, exc)
    return {"files": {}}


def update_manifest(folder: Path, key: str, entry: dict[str, Any]) -> None:
    doc = read_manifest(folder)
    doc["files"][key] = entry
    write_atomic(folder / MANIFEST, (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode())


class Retryable(Exception):
    """A failure worth another try (connection error, timeout, 5xx, 429)."""


class _Restart(Exception):
    """The partial file cannot be resumed: start again from byte 0."""


_TRANSIENT = (urllib.error.URLError, http.client.HTTPException, OSError)


def _http_error(exc: urllib.error.HTTPError, url: str) -> Exception:
    code = exc.code
    exc.close()
    if code >= 500 or code in (408, 429):
        return Retryable(f"HTTP {code} {exc.reason}")
    hint = ""
    if code in (401, 403):
        hint = " (credentials missing, wrong or without access to this resource)"
    elif code == 404:
        hint = " (not found: check the URL or the release name)"
    return DownloadError(f"HTTP {code} {exc.reason} for {redact(url)}{hint}")


def with_retries(what: Callable[[], Any], url: str, *, retries: int, backoff: float) -> Any:
    """Call ``what`` up to ``retries`` times, sleeping ``backoff * 2**n`` between tries."""
    attempts = max(1, retries)
    for attempt in range(1, attempts + 1):
        try:
            return what()
        except Retryable as exc:
            if attempt >= attempts:
                raise DownloadError(
                    f"giving up on {redact(url)} after {attempt} attempt(s): {exc}"
                ) from exc
            delay = backoff * 2 ** (attempt - 1)
            log.warning(
                "%s: %s; retry %d/%d in %.1fs", redact(url), exc, attempt, attempts - 1, delay
            )
            time.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


def _content_range_start(value: str | None) -> int | None:
    m = re.match(r"\s*bytes\s+(\d+)-(\d+)/(\d+|\*)", value or "")
    return int(m.group(1)) if m else None


def _stream_once(url: str, part: Path, *, timeout: float, progress: Progress | None) -> None:
    """One request: append to ``part`` after a 206, rewrite it after a 200."""
    have = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if have:
        headers["Range"] = f"bytes={have}-"
    req = urllib.request.Request(url, headers=headers)
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:
            exc.close()
            raise _Restart("server refused the range (416)") from None
        raise _http_error(exc, url) from None
    except _TRANSIENT as exc:
        raise Retryable(f"{type(exc).__name__}: {exc}") from exc
    with resp:
        length = resp.headers.get("Content-Length")
        if have and resp.status == 206:
            start = _content_range_start(resp.headers.get("Content-Range"))
            if start != have:
                raise _Restart(f"server answered range starting at {start}, wanted {have}")
            mode = "ab"
            log.info("resuming %s at byte %d", redact(url), have)
        else:
            if have:
                log.info("server ignored the Range request for %s: restarting", redact(url))
            have, mode = 0, "wb"
        total = have + int(length) if length and length.isdigit() else None
        done = have
        try:
            with open(part, mode) as fh:
                while chunk := resp.read(CHUNK):
                    fh.write(chunk)
                    done += len(chunk)
                    if progress:
                        progress(done, total)
        except _TRANSIENT as exc:
            raise Retryable(f"transfer interrupted at byte {done}: {exc}") from exc
    if total is not None and done < total:
        raise Retryable(f"connection closed at byte {done} of {total}")


def fetch_to_part(
    url: str,
    part: Path,
    *,
    timeout: float,
    retries: int,
    backoff: float,
    progress: Progress | None,
) -> None:
    def attempt() -> None:
        try:
            _stream_once(url, part, timeout=timeout, progress=progress)
        except _Restart as exc:
            log.warning("%s: %s; downloading from the start", redact(url), exc)
            part.unlink(missing_ok=True)
            _stream_once(url, part, timeout=timeout, progress=progress)

    with_retries(attempt, url, retries=retries, backoff=backoff)


def get_json(
    url: str,
    headers: Mapping[str, str],
    *,
    timeout: float,
    retries: int,
    backoff: float,
) -> Any:
    """GET ``url`` and decode JSON, retrying transient failures."""

    def attempt() -> Any:
        req = urllib.request.Request(
            url, headers={"User-Agent": USER_AGENT, "Accept": "application/json", **headers}
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                body = resp.read()
        except urllib.error.HTTPError as exc:
            raise _http_error(exc, url) from None
        except _TRANSIENT as exc:
            raise Retryable(f"{type(exc).__name__}: {exc}") from exc
        try:
            return json.loads(body)
        except ValueError as exc:
            snippet = body[:120].decode("utf-8", "replace")
            raise DownloadError(f"{redact(url)} did not return JSON ({exc}): {snippet!r}") from exc

    return with_retries(attempt, url, retries=retries, backoff=backoff)

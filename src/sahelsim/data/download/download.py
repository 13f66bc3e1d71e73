"""Download the project's data sources into the data directory.

Sources are listed in ``sahelsim/resources/sources.toml``. Files are streamed into ``<file>.part``,
resumed with HTTP ``Range`` requests, checked against a known SHA-256 (or the checksum is
recorded on first download), then renamed into place. Each download leaves a sidecar
``<file>.sha256`` and an entry in ``<folder>/DOWNLOAD.json``. The UCDP and ACLED APIs are
fetched page by page into ``page_NNNN.json`` files; pages already on disk are not fetched again.

Set ``SAHELSIM_MIRROR`` to a base URL serving the data-directory layout
(``MIRROR/<folder>/<filename>``) to fetch files from a mirror instead of the origins.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import http.client
import json
import logging
import os
import posixpath
import re
import time
import tomllib
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any

from sahelsim.core import canon, config
from sahelsim.core.errors import DownloadError

log = logging.getLogger(__name__)

ENV_MIRROR = "SAHELSIM_MIRROR"
ENV_UCDP_TOKEN = "UCDP_API_TOKEN"
ENV_ACLED_KEY = "ACLED_API_KEY"
ENV_ACLED_EMAIL = "ACLED_EMAIL"
ENV_ACLED_TOKEN = "ACLED_ACCESS_TOKEN"

KINDS = ("file", "zip", "ucdp_api", "acled_api")
MANIFEST = "DOWNLOAD.json"
CHUNK = 1 << 16
USER_AGENT = "sahelsim-download/0.1 (Python urllib)"
UCDP_API_BASE = "https://ucdpapi.pcr.uu.se/api/gedevents"
UCDP_TOKEN_HEADER = "x-ucdp-access-token"
ACLED_API_URL = "https://acleddata.com/api/acled/read"
#: Gleditsch-Ward ids of the study region (AES core first), used as the UCDP API filter.
REGION_GW_IDS: tuple[int, ...] = tuple(c.gwno for c in canon.COUNTRIES)
#: ISO 3166-1 numeric codes of the study region, used as the ACLED ``iso`` filter.
REGION_ISO_NUMERIC: tuple[int, ...] = tuple(canon.ISONUM_TO_ISO3)
_MAX_PAGES = 100_000
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")
_SECRET_PARAMS = ("key", "email", "password", "token", "access_token")

Progress = Callable[[int, int | None], None]


# ------------------------------------------------------------------------------------------
# Registry
# ------------------------------------------------------------------------------------------


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
        if rf.sha256 and not _SHA_RE.match(rf.sha256.lower()):
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


# ------------------------------------------------------------------------------------------
# Small helpers
# ------------------------------------------------------------------------------------------


def _default_data_dir() -> Path:
    return config.cache_dir() / "data"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _redact(url: str) -> str:
    """``url`` with secret query values (key, email, token...) replaced by ``***``."""
    parts = urllib.parse.urlsplit(url)
    if not parts.query:
        return url
    pairs = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    clean = [(k, "***" if k.lower() in _SECRET_PARAMS else v) for k, v in pairs]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(clean, safe=",|*")))


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _read_sidecar(path: Path) -> str:
    side = _sidecar(path)
    if not side.exists():
        return ""
    words = side.read_text(encoding="utf-8").split()
    return words[0].lower() if words and _SHA_RE.match(words[0].lower()) else ""


def _write_sidecar(path: Path, digest: str) -> None:
    _write_atomic(_sidecar(path), f"{digest}  {path.name}\n".encode())


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


def _update_manifest(folder: Path, key: str, entry: dict[str, Any]) -> None:
    doc = read_manifest(folder)
    doc["files"][key] = entry
    _write_atomic(folder / MANIFEST, (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode())


# ------------------------------------------------------------------------------------------
# HTTP
# ------------------------------------------------------------------------------------------


class _Retryable(Exception):
    """A failure worth another try (connection error, timeout, 5xx, 429)."""


class _Restart(Exception):
    """The partial file cannot be resumed: start again from byte 0."""


_TRANSIENT = (urllib.error.URLError, http.client.HTTPException, OSError)


def _http_error(exc: urllib.error.HTTPError, url: str) -> Exception:
    code = exc.code
    exc.close()
    if code >= 500 or code in (408, 429):
        return _Retryable(f"HTTP {code} {exc.reason}")
    hint = ""
    if code in (401, 403):
        hint = " (credentials missing, wrong or without access to this resource)"
    elif code == 404:
        hint = " (not found: check the URL or the release name)"
    return DownloadError(f"HTTP {code} {exc.reason} for {_redact(url)}{hint}")


def _with_retries(what: Callable[[], Any], url: str, *, retries: int, backoff: float) -> Any:
    """Call ``what`` up to ``retries`` times, sleeping ``backoff * 2**n`` between tries."""
    attempts = max(1, retries)
    for attempt in range(1, attempts + 1):
        try:
            return what()
        except _Retryable as exc:
            if attempt >= attempts:
                raise DownloadError(
                    f"giving up on {_redact(url)} after {attempt} attempt(s): {exc}"
                ) from exc
            delay = backoff * 2 ** (attempt - 1)
            log.warning(
                "%s: %s; retry %d/%d in %.1fs", _redact(url), exc, attempt, attempts - 1, delay
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
        raise _Retryable(f"{type(exc).__name__}: {exc}") from exc
    with resp:
        length = resp.headers.get("Content-Length")
        if have and resp.status == 206:
            start = _content_range_start(resp.headers.get("Content-Range"))
            if start != have:
                raise _Restart(f"server answered range starting at {start}, wanted {have}")
            mode = "ab"
            log.info("resuming %s at byte %d", _redact(url), have)
        else:
            if have:
                log.info("server ignored the Range request for %s: restarting", _redact(url))
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
            raise _Retryable(f"transfer interrupted at byte {done}: {exc}") from exc
    if total is not None and done < total:
        raise _Retryable(f"connection closed at byte {done} of {total}")


def _fetch_to_part(
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
            log.warning("%s: %s; downloading from the start", _redact(url), exc)
            part.unlink(missing_ok=True)
            _stream_once(url, part, timeout=timeout, progress=progress)

    _with_retries(attempt, url, retries=retries, backoff=backoff)


def _get_json(
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
            raise _Retryable(f"{type(exc).__name__}: {exc}") from exc
        try:
            return json.loads(body)
        except ValueError as exc:
            snippet = body[:120].decode("utf-8", "replace")
            raise DownloadError(f"{_redact(url)} did not return JSON ({exc}): {snippet!r}") from exc

    return _with_retries(attempt, url, retries=retries, backoff=backoff)


# ------------------------------------------------------------------------------------------
# Files
# ------------------------------------------------------------------------------------------


def _file_url(src: Source, rf: RemoteFile, url: str | None) -> str:
    if url:
        if rf.filename == src.filename:
            return url
        rel = posixpath.relpath(rf.filename, posixpath.dirname(src.filename) or ".")
        return urllib.parse.urljoin(url, urllib.parse.quote(rel))
    mirror = os.environ.get(ENV_MIRROR, "").strip()
    if mirror:
        path = urllib.parse.quote(f"{src.folder}/{rf.filename}")
        return f"{mirror.rstrip('/')}/{path}"
    return rf.url


def _check_zip(path: Path, url: str) -> None:
    try:
        with zipfile.ZipFile(path) as zf:
            bad = zf.testzip()
            if not zf.namelist():
                raise DownloadError(f"{_redact(url)}: the zip archive is empty")
    except zipfile.BadZipFile as exc:
        raise DownloadError(f"{_redact(url)}: not a valid zip archive ({exc})") from exc
    if bad is not None:
        raise DownloadError(f"{_redact(url)}: zip member {bad} is corrupt")


def _download_file(
    src: Source,
    rf: RemoteFile,
    folder: Path,
    *,
    url: str,
    force: bool,
    progress: Progress | None,
    timeout: float,
    retries: int,
    backoff: float,
) -> Path:
    dest = folder / rf.filename
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    expected = rf.sha256.lower()
    if dest.exists() and not force:
        reference = expected or _read_sidecar(dest)
        if reference:
            actual = _sha256(dest)
            if actual == reference:
                log.info("%s already present and verified: %s", src.name, dest)
                if not _read_sidecar(dest):
                    _write_sidecar(dest, actual)
                return dest
            log.warning("%s exists but its checksum differs (%s): downloading again", dest, actual)
        else:
            log.info("%s exists without a recorded checksum: downloading again", dest)
    if force:
        part.unlink(missing_ok=True)
    log.info("downloading %s -> %s", _redact(url), dest)
    _fetch_to_part(url, part, timeout=timeout, retries=retries, backoff=backoff, progress=progress)
    actual = _sha256(part)
    if expected and actual != expected:
        part.unlink(missing_ok=True)
        raise DownloadError(
            f"checksum mismatch for {_redact(url)}: expected sha256 {expected}, got {actual};"
            " the partial file was deleted"
        )
    if src.kind == "zip" and rf.filename.lower().endswith(".zip"):
        try:
            _check_zip(part, url)
        except DownloadError:
            part.unlink(missing_ok=True)
            raise
    if not expected:
        previous = _read_sidecar(dest)
        if previous and previous != actual:
            log.warning("%s changed upstream: sha256 was %s, now %s", rf.filename, previous, actual)
        log.info("no published checksum for %s; recorded sha256 %s", rf.filename, actual)
    os.replace(part, dest)
    _write_sidecar(dest, actual)
    _update_manifest(
        folder,
        rf.filename,
        {
            "source": src.name,
            "url": _redact(url),
            "sha256": actual,
            "sha256_known": bool(expected),
            "bytes": dest.stat().st_size,
            "time": _now(),
            "version": src.version,
            "license": src.license,
        },
    )
    return dest


def download(
    name: str | Source,
    data_dir: Path | None = None,
    *,
    force: bool = False,
    url: str | None = None,
    progress: Progress | None = None,
    timeout: float = 60,
    retries: int = 3,
    backoff: float = 1.0,
) -> Path:
    """Fetch a source into ``data_dir/<folder>/<filename>`` and return that path.

    ``url`` replaces the origin (extra files are looked up next to it); ``SAHELSIM_MIRROR``
    does the same for every file. API sources return their folder of pages.
    """
    src = name if isinstance(name, Source) else get_source(name)
    root = Path(data_dir) if data_dir is not None else _default_data_dir()
    common: dict[str, Any] = {
        "force": force,
        "timeout": timeout,
        "retries": retries,
        "backoff": backoff,
        "progress": progress,
        "folder": src.folder,
    }
    if src.kind == "ucdp_api":
        return download_ucdp_api(src.version, root, base_url=url or src.url, **common)
    if src.kind == "acled_api":
        return download_acled_api(root, base_url=url or src.url, **common)
    folder = root / src.folder
    folder.mkdir(parents=True, exist_ok=True)
    main: Path | None = None
    for rf in src.files():
        path = _download_file(
            src,
            rf,
            folder,
            url=_file_url(src, rf, url),
            force=force,
            progress=progress,
            timeout=timeout,
            retries=retries,
            backoff=backoff,
        )
        main = main or path
    assert main is not None
    return main


# ------------------------------------------------------------------------------------------
# Paged APIs
# ------------------------------------------------------------------------------------------


def _iso_date(value: str | dt.date | None, what: str) -> str | None:
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


def _prepare_page_folder(folder: Path, query: dict[str, Any], source: str, *, force: bool) -> None:
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
        _update_manifest(
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
    _write_atomic(path, json.dumps(doc, ensure_ascii=False).encode("utf-8"))


def _finish_pages(
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
    shas = {p.name: _sha256(p) for p in _existing_pages(folder)[:pages]}
    _update_manifest(
        folder,
        "page_*.json",
        {
            "source": src_name,
            "url": _redact(url),
            "query": query,
            "complete": True,
            "pages": pages,
            "rows": rows,
            "total_count": total,
            "sha256": shas,
            "bytes": sum((folder / n).stat().st_size for n in shas),
            "time": _now(),
            "version": version,
            "license": license,
        },
    )


def _same_origin(a: str, b: str) -> bool:
    pa, pb = urllib.parse.urlsplit(a), urllib.parse.urlsplit(b)
    return (pa.scheme, pa.netloc.lower()) == (pb.scheme, pb.netloc.lower())


def download_ucdp_api(
    version: str = "25.1",
    data_dir: Path | None = None,
    *,
    country_ids: Sequence[int] | None = REGION_GW_IDS,
    start_date: str | dt.date | None = None,
    end_date: str | dt.date | None = None,
    pagesize: int = 1000,
    token: str | None = None,
    base_url: str | None = None,
    folder: str | None = None,
    force: bool = False,
    timeout: float = 60,
    retries: int = 3,
    backoff: float = 1.0,
    progress: Progress | None = None,
) -> Path:
    """Page through the UCDP GED API into ``page_NNNN.json`` files and return their folder.

    ``country_ids`` are Gleditsch-Ward codes (``Country=`` filter; ``None`` = all); the token
    comes from ``token`` or ``$UCDP_API_TOKEN`` and is sent as ``x-ucdp-access-token``.
    ``progress`` receives (pages done, total pages).
    """
    token = token or os.environ.get(ENV_UCDP_TOKEN, "").strip()
    if not token:
        raise DownloadError(
            f"the UCDP API needs an access token: set {ENV_UCDP_TOKEN} (request a token from"
            " the UCDP API maintainer, see https://ucdp.uu.se/apidocs/) or use the ucdp_ged"
            " CSV download instead"
        )
    if not 1 <= pagesize <= 1000:
        raise DownloadError(f"pagesize must be between 1 and 1000, got {pagesize}")
    base = (base_url or f"{UCDP_API_BASE}/{version}").rstrip("/")
    params: dict[str, Any] = {"pagesize": pagesize}
    if country_ids:
        params["Country"] = ",".join(str(int(c)) for c in country_ids)
    start = _iso_date(start_date, "start_date")
    end = _iso_date(end_date, "end_date")
    if start:
        params["StartDate"] = start
    if end:
        params["EndDate"] = end
    query = {"base_url": base, "version": version, **params}
    root = Path(data_dir) if data_dir is not None else _default_data_dir()
    out = root / (folder or f"ucdp-ged-api-v{version}")
    _prepare_page_folder(out, query, "ucdp_ged_api", force=force)
    headers = {UCDP_TOKEN_HEADER: token}

    def page_url(i: int) -> str:
        sep = "&" if "?" in base else "?"
        return f"{base}{sep}{urllib.parse.urlencode({**params, 'page': i}, safe=',')}"

    index, total_pages, total_count, rows, next_url = 0, 1, None, 0, ""
    while index < total_pages and index < _MAX_PAGES:
        path = _page_path(out, index)
        doc = _load_page(path, "Result") if path.exists() else None
        if doc is None:
            use_next = next_url.startswith(("http://", "https://")) and _same_origin(next_url, base)
            url = next_url if use_next else page_url(index)
            doc = _get_json(url, headers, timeout=timeout, retries=retries, backoff=backoff)
            if not isinstance(doc, dict) or not isinstance(doc.get("Result"), list):
                raise DownloadError(f"{url}: the answer has no 'Result' list")
            _save_page(path, doc)
            n_pages = doc.get("TotalPages")
            log.info(
                "UCDP API page %d/%s saved (%d events)", index + 1, n_pages, len(doc["Result"])
            )
        total_pages = max(int(doc.get("TotalPages") or 0), 1)
        total_count = doc.get("TotalCount", total_count)
        rows += len(doc["Result"])
        next_url = str(doc.get("NextPageUrl") or "")
        index += 1
        if progress:
            progress(index, total_pages)
    if total_count is not None and rows != int(total_count):
        log.warning(
            "UCDP API: %d events in %d pages, TotalCount says %s (data changed?)",
            rows,
            index,
            total_count,
        )
    _finish_pages(
        out,
        "ucdp_ged_api",
        query,
        url=page_url(0),
        pages=index,
        rows=rows,
        total=total_count,
        version=version,
        license="CC BY 4.0",
    )
    return out


def download_acled_api(
    data_dir: Path | None = None,
    *,
    iso_codes: Sequence[int] | None = REGION_ISO_NUMERIC,
    start_date: str | dt.date | None = None,
    end_date: str | dt.date | None = None,
    limit: int = 5000,
    key: str | None = None,
    email: str | None = None,
    access_token: str | None = None,
    base_url: str | None = None,
    folder: str | None = None,
    force: bool = False,
    timeout: float = 60,
    retries: int = 3,
    backoff: float = 1.0,
    progress: Progress | None = None,
) -> Path:
    """Page through the ACLED API into ``page_NNNN.json`` files and return their folder.

    Credentials: ``key``/``email`` (or ``$ACLED_API_KEY``/``$ACLED_EMAIL``), or an OAuth
    bearer token (``access_token`` or ``$ACLED_ACCESS_TOKEN``). ACLED's terms forbid
    redistributing the rows. ``progress`` receives (pages done, None).
    """
    key = key or os.environ.get(ENV_ACLED_KEY, "").strip()
    email = email or os.environ.get(ENV_ACLED_EMAIL, "").strip()
    access_token = access_token or os.environ.get(ENV_ACLED_TOKEN, "").strip()
    if not access_token and not (key and email):
        lacking = [n for n, v in ((ENV_ACLED_KEY, key), (ENV_ACLED_EMAIL, email)) if not v]
        raise DownloadError(
            f"ACLED needs an account: {' and '.join(lacking)} not set. Register at"
            f" https://acleddata.com/, then set {ENV_ACLED_KEY} and {ENV_ACLED_EMAIL} (or"
            f" {ENV_ACLED_TOKEN} with an OAuth token). ACLED rows may not be redistributed."
        )
    if limit < 1:
        raise DownloadError(f"limit must be positive, got {limit}")
    base = base_url or ACLED_API_URL
    params: dict[str, Any] = {"_format": "json", "limit": limit}
    if iso_codes:
        params["iso"] = "|".join(str(int(c)) for c in iso_codes)
    start = _iso_date(start_date, "start_date")
    end = _iso_date(end_date, "end_date")
    if start or end:
        params["event_date"] = f"{start or '1997-01-01'}|{end or dt.date.today().isoformat()}"
        params["event_date_where"] = "BETWEEN"
    query = {"base_url": base, **params}
    secrets = {} if access_token else {"key": key, "email": email}
    headers = {"Authorization": f"Bearer {access_token}"} if access_token else {}
    root = Path(data_dir) if data_dir is not None else _default_data_dir()
    out = root / (folder or "acled")
    _prepare_page_folder(out, query, "acled", force=force)

    def page_url(page: int) -> str:
        sep = "&" if "?" in base else "?"
        q = urllib.parse.urlencode({**params, "page": page, **secrets}, safe=",|")
        return f"{base}{sep}{q}"

    index, rows = 0, 0
    while index < _MAX_PAGES:
        path = _page_path(out, index)
        doc = _load_page(path, "data") if path.exists() else None
        if doc is None:
            url = page_url(index + 1)
            doc = _get_json(url, headers, timeout=timeout, retries=retries, backoff=backoff)
            if not isinstance(doc, dict):
                raise DownloadError(f"{_redact(url)}: unexpected answer {str(doc)[:120]!r}")
            if doc.get("success") is False or doc.get("error"):
                raise DownloadError(f"ACLED API refused {_redact(url)}: {doc.get('error', doc)}")
            if not isinstance(doc.get("data"), list):
                raise DownloadError(f"{_redact(url)}: the answer has no 'data' list")
            _save_page(path, doc)
            log.info("ACLED page %d saved (%d events)", index + 1, len(doc["data"]))
        n = len(doc["data"])
        rows += n
        index += 1
        if progress:
            progress(index, None)
        if n < limit:
            break
    _finish_pages(
        out,
        "acled",
        query,
        url=page_url(1),
        pages=index,
        rows=rows,
        total=rows,
        version=f"export {dt.date.today().isoformat()}",
        license="ACLED Terms of Use (no redistribution)",
    )
    return out

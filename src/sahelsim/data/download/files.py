"""Plain files and zip archives: download, verify, put in place; :func:`download` for any
source of the registry."""

from __future__ import annotations

import logging
import os
import posixpath
import urllib.parse
import zipfile
from pathlib import Path
from typing import Any

from sahelsim.core.errors import DownloadError
from sahelsim.data.download.acled_api import download_acled_api
from sahelsim.data.download.registry import RemoteFile, Source, get_source
from sahelsim.data.download.transfer import (
    Progress,
    default_data_dir,
    fetch_to_part,
    now_utc,
    read_sidecar,
    redact,
    update_manifest,
    write_sidecar,
)
from sahelsim.data.download.ucdp_api import download_ucdp_api
from sahelsim.data.readers.base import sha256_file

log = logging.getLogger(__name__)

ENV_MIRROR = "SAHELSIM_MIRROR"


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
                raise DownloadError(f"{redact(url)}: the zip archive is empty")
    except zipfile.BadZipFile as exc:
        raise DownloadError(f"{redact(url)}: not a valid zip archive ({exc})") from exc
    if bad is not None:
        raise DownloadError(f"{redact(url)}: zip member {bad} is corrupt")


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
        reference = expected or read_sidecar(dest)
        if reference:
            actual = sha256_file(dest)
            if actual == reference:
                log.info("%s already present and verified: %s", src.name, dest)
                if not read_sidecar(dest):
                    write_sidecar(dest, actual)
                return dest
            log.warning("%s exists but its checksum differs (%s): downloading again", dest, actual)
        else:
            log.info("%s exists without a recorded checksum: downloading again", dest)
    if force:
        part.unlink(missing_ok=True)
    log.info("downloading %s -> %s", redact(url), dest)
    fetch_to_part(url, part, timeout=timeout, retries=retries, backoff=backoff, progress=progress)
    actual = sha256_file(part)
    if expected and actual != expected:
        part.unlink(missing_ok=True)
        raise DownloadError(
            f"checksum mismatch for {redact(url)}: expected sha256 {expected}, got {actual};"
            " the partial file was deleted"
        )
    if src.kind == "zip" and rf.filename.lower().endswith(".zip"):
        try:
            _check_zip(part, url)
        except DownloadError:
            part.unlink(missing_ok=True)
            raise
    if not expected:
        previous = read_sidecar(dest)
        if previous and previous != actual:
            log.warning("%s changed upstream: sha256 was %s, now %s", rf.filename, previous, actual)
        log.info("no published checksum for %s; recorded sha256 %s", rf.filename, actual)
    os.replace(part, dest)
    write_sidecar(dest, actual)
    update_manifest(
        folder,
        rf.filename,
        {
            "source": src.name,
            "url": redact(url),
            "sha256": actual,
            "sha256_known": bool(expected),
            "bytes": dest.stat().st_size,
            "time": now_utc(),
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
    root = Path(data_dir) if data_dir is not None else default_data_dir()
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

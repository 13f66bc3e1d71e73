"""The ACLED API, page by page (an account is needed; the rows may not be redistributed)."""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sahelsim.core import canon
from sahelsim.core.errors import DownloadError
from sahelsim.data.download.pages import (
    MAX_PAGES,
    cached_page,
    finish_pages,
    iso_date,
    page_folder,
    paged_url,
    prepare_page_folder,
)
from sahelsim.data.download.transfer import Progress, get_json, redact

log = logging.getLogger(__name__)

ENV_ACLED_KEY = "ACLED_API_KEY"
ENV_ACLED_EMAIL = "ACLED_EMAIL"
ENV_ACLED_TOKEN = "ACLED_ACCESS_TOKEN"
ACLED_API_URL = "https://acleddata.com/api/acled/read"
#: ISO 3166-1 numeric codes of the study region, used as the ACLED ``iso`` filter.
REGION_ISO_NUMERIC: tuple[int, ...] = tuple(canon.ISONUM_TO_ISO3)


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
    start = iso_date(start_date, "start_date")
    end = iso_date(end_date, "end_date")
    if start or end:
        params["event_date"] = f"{start or '1997-01-01'}|{end or dt.date.today().isoformat()}"
        params["event_date_where"] = "BETWEEN"
    query = {"base_url": base, **params}
    secrets = {} if access_token else {"key": key, "email": email}
    headers = {"Authorization": f"Bearer {access_token}"} if access_token else {}
    out = page_folder(data_dir, folder or "acled")
    prepare_page_folder(out, query, "acled", force=force)

    def page_url(page: int) -> str:
        return paged_url(base, {**params, "page": page, **secrets}, safe=",|")

    index, rows = 0, 0
    while index < MAX_PAGES:

        def fetch(index: int = index) -> dict[str, Any]:
            url = page_url(index + 1)
            doc = get_json(url, headers, timeout=timeout, retries=retries, backoff=backoff)
            if not isinstance(doc, dict):
                raise DownloadError(f"{redact(url)}: unexpected answer {str(doc)[:120]!r}")
            if doc.get("success") is False or doc.get("error"):
                raise DownloadError(f"ACLED API refused {redact(url)}: {doc.get('error', doc)}")
            if not isinstance(doc.get("data"), list):
                raise DownloadError(f"{redact(url)}: the answer has no 'data' list")
            log.info("ACLED page %d (%d events)", index + 1, len(doc["data"]))
            return doc

        doc = cached_page(out, index, "data", fetch)
        n = len(doc["data"])
        rows += n
        index += 1
        if progress:
            progress(index, None)
        if n < limit:
            break
    finish_pages(
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

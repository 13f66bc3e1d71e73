"""The UCDP GED API, page by page."""

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
    same_origin,
)
from sahelsim.data.download.transfer import Progress, get_json

log = logging.getLogger(__name__)

ENV_UCDP_TOKEN = "UCDP_API_TOKEN"
UCDP_API_BASE = "https://ucdpapi.pcr.uu.se/api/gedevents"
UCDP_TOKEN_HEADER = "x-ucdp-access-token"
#: Gleditsch-Ward ids of the study region (AES core first), used as the UCDP API filter.
REGION_GW_IDS: tuple[int, ...] = tuple(c.gwno for c in canon.COUNTRIES)


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
    start = iso_date(start_date, "start_date")
    end = iso_date(end_date, "end_date")
    if start:
        params["StartDate"] = start
    if end:
        params["EndDate"] = end
    query = {"base_url": base, "version": version, **params}
    out = page_folder(data_dir, folder or f"ucdp-ged-api-v{version}")
    prepare_page_folder(out, query, "ucdp_ged_api", force=force)
    headers = {UCDP_TOKEN_HEADER: token}

    def page_url(i: int) -> str:
        return paged_url(base, {**params, "page": i}, safe=",")

    index, total_pages, total_count, rows, next_url = 0, 1, None, 0, ""
    while index < total_pages and index < MAX_PAGES:

        def fetch(index: int = index, next_url: str = next_url) -> dict[str, Any]:
            use_next = next_url.startswith(("http://", "https://")) and same_origin(next_url, base)
            url = next_url if use_next else page_url(index)
            doc = get_json(url, headers, timeout=timeout, retries=retries, backoff=backoff)
            if not isinstance(doc, dict) or not isinstance(doc.get("Result"), list):
                raise DownloadError(f"{url}: the answer has no 'Result' list")
            n_pages = doc.get("TotalPages")
            log.info("UCDP API page %d/%s (%d events)", index + 1, n_pages, len(doc["Result"]))
            return doc

        doc = cached_page(out, index, "Result", fetch)
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
    finish_pages(
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

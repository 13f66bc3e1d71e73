"""Download the project's data sources into the data directory.

Sources are listed in ``sahelsim/resources/sources.toml`` (:mod:`.registry`). Files are streamed
into ``<file>.part``, resumed with HTTP ``Range`` requests, checked against a known SHA-256 (or
the checksum is recorded on first download), then renamed into place (:mod:`.transfer`,
:mod:`.files`). Each download leaves a sidecar ``<file>.sha256`` and an entry in
``<folder>/DOWNLOAD.json``. The UCDP and ACLED APIs are fetched page by page into
``page_NNNN.json`` files; pages already on disk are not fetched again (:mod:`.pages`,
:mod:`.ucdp_api`, :mod:`.acled_api`).

Set ``SAHELSIM_MIRROR`` to a base URL serving the data-directory layout
(``MIRROR/<folder>/<filename>``) to fetch files from a mirror instead of the origins.
"""

from sahelsim.data.download.acled_api import (
    ACLED_API_URL,
    ENV_ACLED_EMAIL,
    ENV_ACLED_KEY,
    ENV_ACLED_TOKEN,
    REGION_ISO_NUMERIC,
    download_acled_api,
)
from sahelsim.data.download.files import ENV_MIRROR, download
from sahelsim.data.download.registry import KINDS, RemoteFile, Source, get_source, list_sources
from sahelsim.data.download.transfer import MANIFEST, USER_AGENT, Progress, read_manifest
from sahelsim.data.download.ucdp_api import (
    ENV_UCDP_TOKEN,
    REGION_GW_IDS,
    UCDP_API_BASE,
    UCDP_TOKEN_HEADER,
    download_ucdp_api,
)
from sahelsim.data.readers.base import sha256_file

__all__ = [
    "ACLED_API_URL", "ENV_ACLED_EMAIL", "ENV_ACLED_KEY", "ENV_ACLED_TOKEN", "ENV_MIRROR",
    "ENV_UCDP_TOKEN", "KINDS", "MANIFEST", "REGION_GW_IDS", "REGION_ISO_NUMERIC",
    "UCDP_API_BASE", "UCDP_TOKEN_HEADER", "USER_AGENT", "Progress", "RemoteFile", "Source",
    "download", "download_acled_api", "download_ucdp_api", "get_source", "list_sources",
    "read_manifest", "sha256_file",
]  # fmt: skip

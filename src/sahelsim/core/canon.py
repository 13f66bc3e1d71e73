"""Canonical names, identifiers and grid arithmetic (NumPy only).

Conventions (see ``docs/data.md``):

* ``priogrid_gid``: PRIO-GRID cell id, ``gid = row * 720 + col + 1`` with
  ``row = floor((lat + 90) / 0.5)`` and ``col = floor((lon + 180) / 0.5)``.
* ``month_id``: VIEWS month index, 1 = January 1980.
* Countries: ISO 3166-1 alpha-3 plus Gleditsch-Ward numeric ids (``gwno``).
* ``type_of_violence``: UCDP, 1 state-based, 2 non-state, 3 one-sided.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CELL_DEG = 0.5
NCOLS = 720
NROWS = 360


@dataclass(frozen=True)
class Country:
    """A country of the data region: ISO3, Gleditsch-Ward code, English name, AES membership."""

    iso3: str
    gwno: int
    name: str
    core: bool  # one of the three AES states


#: (iso3, gwno, name) of the three AES states, then of their neighbours / data-region peers.
_AES_CORE = (("MLI", 432, "Mali"), ("BFA", 439, "Burkina Faso"), ("NER", 436, "Niger"))
_PEERS = (
    ("BEN", 434, "Benin"), ("TGO", 461, "Togo"), ("GHA", 452, "Ghana"),
    ("CIV", 437, "Cote d'Ivoire"), ("NGA", 475, "Nigeria"), ("MRT", 435, "Mauritania"),
    ("DZA", 615, "Algeria"), ("TCD", 483, "Chad"), ("SEN", 433, "Senegal"),
    ("GIN", 438, "Guinea"),
)  # fmt: skip
#: Countries the project knows about: the AES core and their neighbours / data-region peers.
COUNTRIES: tuple[Country, ...] = tuple(Country(*c, core=True) for c in _AES_CORE) + tuple(
    Country(*c, core=False) for c in _PEERS
)
CORE_ISO3: tuple[str, ...] = tuple(c.iso3 for c in COUNTRIES if c.core)
ISO3_TO_GW: dict[str, int] = {c.iso3: c.gwno for c in COUNTRIES}
GW_TO_ISO3: dict[int, str] = {c.gwno: c.iso3 for c in COUNTRIES}
ISO3_TO_NAME: dict[str, str] = {c.iso3: c.name for c in COUNTRIES}

#: Headings of the seed article (``shared/seed/000_26e342f7357a83bf.txt``); timeline events,
#: levers and claims name the section they come from.
ARTICLE_SECTIONS: tuple[str, ...] = (
    "The Alliance That Cannot Win",
    "Sovereignty as Strategy",
    "The Counterterrorism Illusion",
    "The Russian Calculation",
    "Fragmentation's Feedback Loops",
    "The Jihadist Adaptation",
    "Three Futures",
    "The Sovereignty Paradox",
    "What Comes After",
)
#: Bounding box (lon_min, lat_min, lon_max, lat_max) of the study region (AES + neighbours).
#: Events further than ``REGION_MARGIN_DEG`` outside it are "far outside the region".
REGION_BBOX: tuple[float, float, float, float] = (-17.6, 4.0, 16.1, 25.1)
REGION_MARGIN_DEG = 5.0

#: UCDP type_of_violence codes.
TYPE_OF_VIOLENCE = {1: "state-based", 2: "non-state", 3: "one-sided"}

#: ISO 3166-1 numeric (used by ACLED's ``iso`` column) to ISO3 for the region.
ISONUM_TO_ISO3 = {
    466: "MLI",
    854: "BFA",
    562: "NER",
    204: "BEN",
    768: "TGO",
    288: "GHA",
    384: "CIV",
    566: "NGA",
    478: "MRT",
    12: "DZA",
    148: "TCD",
    686: "SEN",
    324: "GIN",
}


#: ViEWS ``country_id`` (ViEWS's own country key, not Gleditsch-Ward) to ISO3 for the region,
#: from the ViEWS 2020 competition's ``country.parquet`` (see the staged PROVENANCE.md).
VIEWS_COUNTRY_TO_ISO3 = {
    50: "MLI",
    47: "BFA",
    78: "NER",
    74: "BEN",
    81: "TGO",
    42: "GHA",
    41: "CIV",
    79: "NGA",
    244: "MRT",
    67: "DZA",
    214: "TCD",
    52: "SEN",
    48: "GIN",
}


def month_id(year, month):
    """VIEWS month id (1 = January 1980); works on scalars and arrays."""
    return (np.asarray(year) - 1980) * 12 + np.asarray(month)


def month_id_to_year_month(mid):
    """Inverse of :func:`month_id`: returns ``(year, month)``."""
    mid = np.asarray(mid)
    return 1980 + (mid - 1) // 12, (mid - 1) % 12 + 1


def priogrid_gid(lat, lon):
    """PRIO-GRID gid of the 0.5° cell containing (lat, lon). Scalars or arrays."""
    lat = np.asarray(lat, dtype=float)
    lon = np.asarray(lon, dtype=float)
    row = np.floor((lat + 90.0) / CELL_DEG).astype(np.int64)
    col = np.floor((lon + 180.0) / CELL_DEG).astype(np.int64)
    row = np.clip(row, 0, NROWS - 1)
    col = np.clip(col, 0, NCOLS - 1)
    return row * NCOLS + col + 1


def gid_to_row_col(gid):
    """``(row, col)`` of a gid, both counted from 0 at (-90, -180)."""
    g = np.asarray(gid, dtype=np.int64) - 1
    return g // NCOLS, g % NCOLS


def gid_centroid(gid):
    """``(lat, lon)`` of the centre of a cell."""
    row, col = gid_to_row_col(gid)
    return -90.0 + (row + 0.5) * CELL_DEG, -180.0 + (col + 0.5) * CELL_DEG


def gid_from_row_col(row, col):
    return np.asarray(row, dtype=np.int64) * NCOLS + np.asarray(col, dtype=np.int64) + 1


#: Approximate bounding boxes (lon_min, lat_min, lon_max, lat_max) per country; an event more
#: than ``BBOX_MARGIN_DEG`` outside its country's box is quarantined as mis-located.
COUNTRY_BBOX: dict[str, tuple[float, float, float, float]] = {
    "MLI": (-12.3, 10.1, 4.3, 25.0),
    "BFA": (-5.6, 9.4, 2.4, 15.1),
    "NER": (0.1, 11.7, 16.0, 23.5),
    "BEN": (0.7, 6.1, 3.9, 12.5),
    "TGO": (-0.2, 6.0, 1.9, 11.2),
    "GHA": (-3.3, 4.7, 1.3, 11.2),
    "CIV": (-8.6, 4.3, -2.5, 10.8),
    "NGA": (2.6, 4.2, 14.7, 13.9),
    "MRT": (-17.1, 14.7, -4.8, 27.3),
    "DZA": (-8.7, 18.9, 12.0, 37.1),
    "TCD": (13.4, 7.4, 24.0, 23.5),
    "SEN": (-17.6, 12.3, -11.3, 16.7),
    "GIN": (-15.1, 7.2, -7.6, 12.7),
}
BBOX_MARGIN_DEG = 1.0

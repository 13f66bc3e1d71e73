"""Readers for the UNHCR Refugee Population Statistics tables (R package ``refugees``).

``population``, ``flows``, ``solutions`` and ``idmc`` are origin x asylum x year tables with one
column per measure. They are returned in the LONG layout of :data:`sahelsim.schema.DISPLACEMENT`:
one row per (CSV row, measure), ``date`` = 31 December of ``year``, ``origin_iso3`` /
``asylum_iso3`` from ``coo_iso`` / ``coa_iso``. An empty / NaN cell means "not reported": it
produces no long row and is counted in ``meta["values_missing"]``; a reported 0 stays 0.
The ``idmc`` column ``total`` becomes measure ``idps`` (IDMC conflict IDPs, source ``idmc``).

Row accounting is in CSV rows: ``rows_read == rows_accepted + rows_quarantined``;
``meta["long_rows"]`` is the number of rows in ``data``. Rows where neither ``coo_iso`` nor
``coa_iso`` is a region country (:data:`sahelsim.canon.COUNTRIES`) are *filtered*
(``meta["rows_filtered"]``, not part of ``rows_read``;
``rows_in_file = rows_read + rows_filtered``); pass ``region_only=False`` to keep them.

Checks: wrong field count; year missing or outside 1950..current year; ``coo_iso`` / ``coa_iso``
missing or not a 3-letter code (any 3-letter code is accepted, e.g. UNHCR's ``UKN``); a measure
that is not a number, not finite or negative; a repeated ``(year, coo_iso, coa_iso)`` (the later
row: ``duplicate key``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from sahelsim.core.canon import ISO3_TO_GW
from sahelsim.core.schema import DISPLACEMENT
from sahelsim.data.readers.base import ReadResult, RowChecker, filtered_result, read_small_csv

log = logging.getLogger(__name__)

TABLE = "displacement"
VERSION = "2025.12.1"
LICENSE = "CC BY 4.0"
LICENSE_IDMC = "CC BY-NC 4.0 (IDMC data redistributed by UNHCR; treat as non-commercial)"
CITATION = (
    "UNHCR Refugee Population Statistics Database (Refugee Data Finder), via the R package "
    "'refugees' version 2025.12.1 (UNHCR, CRAN)."
)
CITATION_IDMC = (
    "Internal Displacement Monitoring Centre (IDMC), Global Internal Displacement Database, as "
    "redistributed in the UNHCR R package 'refugees' version 2025.12.1."
)
MIN_YEAR = 1950
KEY = ("year", "coo_iso", "coa_iso")
DUPLICATE_FIELD = ",".join(KEY)

POPULATION_MEASURES = (
    "refugees", "asylum_seekers", "returned_refugees", "idps", "returned_idps", "stateless",
    "ooc", "oip", "hst",
)  # fmt: skip
#: per table: (source, {csv column: measure}).
TABLES: dict[str, tuple[str, dict[str, str]]] = {
    "population": (
        "unhcr_population",
        {c: c for c in POPULATION_MEASURES},
    ),
    "flows": (
        "unhcr_flows",
        {c: c for c in ("refugees", "asylum_seekers", "refugee_like", "oip")},
    ),
    "solutions": (
        "unhcr_solutions",
        {c: c for c in ("returned_refugees", "resettlement", "naturalisation", "returned_idps")},
    ),
    "idmc": ("idmc", {"total": "idps"}),
}


def _iso(s: pd.Series) -> pd.Series:
    return s.astype("string").str.strip().str.upper().fillna("")


def _is_code(s: pd.Series) -> np.ndarray:
    return s.str.fullmatch(r"[A-Z]{3}").fillna(False).to_numpy(dtype=bool)


def _dec31(years: np.ndarray) -> np.ndarray:
    """31 December of each year (1 January of the next year minus one day)."""
    jan1 = (np.asarray(years, dtype=np.int64) + 1 - 1970).astype("datetime64[Y]")
    return (jan1.astype("datetime64[D]") - np.timedelta64(1, "D")).astype("datetime64[s]")


def _read_table(
    path: str | Path,
    table: str,
    *,
    region_only: bool,
    version: str,
    license: str = LICENSE,
    citation: str = CITATION,
) -> ReadResult:
    source, measures = TABLES[table]
    file = str(path)
    required = ["year", "coo_iso", "coa_iso", *measures]
    frame, rejects, n_rows = read_small_csv(path, required, source=source)

    outside = np.zeros(len(frame), dtype=bool)
    if region_only:
        coo, coa = _iso(frame["coo_iso"]), _iso(frame["coa_iso"])
        region = list(ISO3_TO_GW)
        outside = (
            _is_code(coo)
            & _is_code(coa)
            & ~coo.isin(region).to_numpy()
            & ~coa.isin(region).to_numpy()
        )
    n_filtered = int(outside.sum())
    sub = frame.loc[~outside].reset_index(drop=True)

    chk = RowChecker(sub, source=source, file=file)
    year = chk.integer("year", lo=MIN_YEAR, hi=pd.Timestamp.now().year, allow_missing=False)
    codes: dict[str, pd.Series] = {}
    for col in ("coo_iso", "coa_iso"):
        s = _iso(sub[col])
        chk.flag((s == "").to_numpy(), col, f"{col}: missing value")
        chk.flag(~_is_code(s), col, f"{col}: not a 3-letter code")
        codes[col] = s
    vals = chk.finite(list(measures), lo=0)

    chk.flag_duplicates({"y": year, "o": codes["coo_iso"], "a": codes["coa_iso"]}, DUPLICATE_FIELD)

    good, quarantine = chk.finish(rejects, columns=[c for c in frame.columns if c != "_line"])

    gv = vals[good]
    reported = ~np.isnan(gv)
    rows, cols = np.nonzero(reported)  # row-major: CSV row order, then measure order
    years = year[good][rows].astype(np.int64)
    measure_names = np.array(list(measures.values()), dtype=object)
    n = len(rows)
    none = pd.array([None] * n, dtype="string")
    data = pd.DataFrame(
        {
            "source": pd.array([source] * n, dtype="string"),
            "year": years,
            "date": _dec31(years),
            "origin_iso3": pd.array(codes["coo_iso"].to_numpy()[good][rows], dtype="string"),
            "asylum_iso3": pd.array(codes["coa_iso"].to_numpy()[good][rows], dtype="string"),
            "admin1": none,
            "admin1_pcode": none,
            "admin2": none,
            "admin2_pcode": none,
            "admin3": none,
            "admin3_pcode": none,
            "measure": pd.array(measure_names[cols], dtype="string"),
            "value": gv[rows, cols].astype(float),
        }
    )[list(DISPLACEMENT)]

    values_missing = int((~reported).sum())
    return filtered_result(
        source, TABLE, path, data, quarantine, n_rows=n_rows, n_filtered=n_filtered,
        what_filtered="neither country in the region", rows_accepted=int(good.sum()),
        accepted_detail=f" ({n} long rows, {values_missing} values not reported)",
        counts={"long_rows": n, "values_missing": values_missing, "measures": list(measures.values())},
        version=version, license=license, citation=citation,
    )  # fmt: skip


def _table_reader(table: str, doc: str, **attribution: str) -> Callable[..., ReadResult]:
    """The public reader of one UNHCR table: ``read(path, *, region_only=True, version=VERSION)``."""

    def read(path: str | Path, *, region_only: bool = True, version: str = VERSION) -> ReadResult:
        return _read_table(path, table, region_only=region_only, version=version, **attribution)

    read.__name__ = read.__qualname__ = f"read_unhcr_{table}"
    read.__doc__ = doc
    return read


read_unhcr_population = _table_reader(
    "population", "UNHCR ``population`` (end-year stocks: refugees, asylum_seekers, idps, ...)."
)
read_unhcr_flows = _table_reader(
    "flows", "UNHCR ``flows`` (new arrivals during the year: refugees, asylum_seekers, ...)."
)
read_unhcr_solutions = _table_reader(
    "solutions", "UNHCR ``solutions`` (returns, resettlement, naturalisation)."
)
read_unhcr_idmc = _table_reader(
    "idmc",
    "IDMC conflict IDPs as redistributed by UNHCR (column ``total`` -> measure ``idps``).",
    license=LICENSE_IDMC,
    citation=CITATION_IDMC,
)


COUNTRY_COLUMNS = {  # output -> source
    "iso3": "iso_code",
    "unhcr_code": "unhcr_code",
    "name": "name",
    "unhcr_region": "unhcr_region",
    "unsd_region": "unsd_region",
    "unsd_subregion": "unsd_subregion",
    "unsd_imregion": "unsd_imregion",
}


def read_unhcr_countries(path: str | Path) -> pd.DataFrame:
    """UNHCR country lookup (``countries`` table): ISO3 <-> UNHCR code, name and regions.

    A plain DataFrame (no store table); empty cells are NULL. Rows with the wrong number of
    fields are logged and skipped.
    """
    frame, rejects, _ = read_small_csv(
        path, ["iso_code", "unhcr_code", "name"], source="unhcr_countries"
    )
    for r in rejects:
        log.warning("%s, line %s: %s (row skipped)", path, r["line"], r["reason"])
    out = pd.DataFrame(index=range(len(frame)))
    for col, src in COUNTRY_COLUMNS.items():
        if src not in frame.columns:
            out[col] = pd.array([None] * len(frame), dtype="string")
            continue
        s = frame[src].astype("string").str.strip().reset_index(drop=True)
        out[col] = s.where(s != "")
    out["iso3"] = out["iso3"].str.upper()
    out["unhcr_code"] = out["unhcr_code"].str.upper()
    return out

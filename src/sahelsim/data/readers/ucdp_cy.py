"""Reader for the UCDP Country-Year Dataset on Organized Violence within Country Borders.

Maps the ``*_cy`` columns of ``organizedviolencecy_v25_1.csv`` (or the region subset staged
in ``shared/data/ucdp-organized-violence-cy-v25.1``) to :data:`sahelsim.schema.UCDP_COUNTRY_YEAR`.

Row accounting: the unfiltered upstream file holds every country in the world. Rows whose
Gleditsch-Ward code (``country_id_cy``) is not one of :data:`sahelsim.canon.COUNTRIES` (and, when
the file has an ``iso3`` column, whose ``iso3`` is not a region code either) are *filtered*: they
are counted in ``meta["rows_filtered"]`` and not in ``rows_read``. So
``rows_read == rows_accepted + rows_quarantined`` and
``meta["rows_in_file"] == rows_read + rows_filtered``.

Checks (first failing check is the row's quarantine reason): wrong field count, gwno
missing/not an integer/not a region code (only reachable when ``iso3`` names a region country),
``iso3`` not matching the gwno, year outside 1946..current year, unparseable, non-finite or
negative death counts, ``low <= best <= high`` for state-based, non-state and one-sided deaths,
and a repeated ``(gwno, year)`` (the later row is quarantined with reason ``duplicate key``).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from sahelsim.core.canon import GW_TO_ISO3, ISO3_TO_GW
from sahelsim.core.schema import UCDP_COUNTRY_YEAR
from sahelsim.data.readers.base import ReadResult, RowChecker, filtered_result, read_small_csv

log = logging.getLogger(__name__)

SOURCE = "ucdp_cy"
TABLE = "ucdp_country_year"
LICENSE = "CC BY 4.0"
CITATION = (
    "Davies, S., Pettersson, T., Sollenberg, M., & Öberg, M. (2025). Organized violence "
    "1989-2024, and the challenges of identifying civilian victims. Journal of Peace Research "
    "62(4); UCDP Country-Year Dataset on Organized Violence within Country Borders, codebook "
    "v25.1 (Uppsala Conflict Data Program)."
)
MIN_YEAR = 1946

#: canonical numeric column -> source column.
NUMERIC_MAP: dict[str, str] = {
    "sb_best": "sb_total_deaths_best_cy",
    "sb_low": "sb_total_deaths_low_cy",
    "sb_high": "sb_total_deaths_high_cy",
    "sb_deaths_parties": "sb_deaths_parties_cy",
    "sb_deaths_civilians": "sb_deaths_civilians_cy",
    "sb_deaths_unknown": "sb_deaths_unknown_cy",
    "ns_best": "ns_total_deaths_best_cy",
    "ns_low": "ns_total_deaths_low_cy",
    "ns_high": "ns_total_deaths_high_cy",
    "ns_deaths_parties": "ns_deaths_parties_cy",
    "ns_deaths_civilians": "ns_deaths_civilians_cy",
    "ns_deaths_unknown": "ns_deaths_unknown_cy",
    "os_best": "os_total_deaths_best_cy",
    "os_low": "os_total_deaths_low_cy",
    "os_high": "os_total_deaths_high_cy",
    "os_govt_best": "os_any_govt_killings_best_cy",
    "os_nsgroup_best": "os_nsgroup_killings_best_cy",
    "os_unknown_best": "os_killings_unknown_cy",
}
#: canonical dyad-name column -> source column (``NO_DYAD`` becomes NULL).
NAME_MAP: dict[str, str] = {
    "sb_dyad_names": "sb_dyad_names_cy",
    "ns_dyad_names": "ns_dyad_names_cy",
    "os_dyad_names": "os_dyad_names_cy",
}
GWNO_COL = "country_id_cy"
YEAR_COL = "year_cy"
VERSION_COL = "version"
REQUIRED: list[str] = [GWNO_COL, YEAR_COL, *NUMERIC_MAP.values(), *NAME_MAP.values(), VERSION_COL]
DUPLICATE_FIELD = f"{GWNO_COL},{YEAR_COL}"
NO_DYAD = "NO_DYAD"


def _strip_upper(s: pd.Series) -> pd.Series:
    return s.astype("string").str.strip().str.upper().fillna("")


def _text_or_none(s: pd.Series, nulls: tuple[str, ...] = ("",)) -> list[str | None]:
    vals = s.astype("string").str.strip()
    return [None if (v is pd.NA or v in nulls) else str(v) for v in vals]


def _version_of(values: list[str | None]) -> str | None:
    found = sorted({v for v in values if v})
    if len(found) > 1:
        log.warning("several versions in one file: %s", ", ".join(found))
    return ",".join(found) if found else None


def read_ucdp_cy(path: str | Path, *, strict_bounds: bool = True) -> ReadResult:
    """Read a UCDP organized-violence country-year CSV (plain, ``.gz`` or ``.zip``).

    ``strict_bounds=False`` keeps rows whose ``low <= best <= high`` ordering is broken (logged
    and counted in ``meta["bounds_violations"]``) instead of quarantining them; the v25.1 file
    has two such rows (Mali 1995 sb low > best, Chad 2015 sb best > high).
    """
    file = str(path)
    frame, rejects, n_rows = read_small_csv(path, REQUIRED, source=SOURCE)
    has_iso3 = "iso3" in frame.columns

    # Region filter, decided only on rows whose gwno parses (others are checked below).
    gw_raw = pd.to_numeric(frame[GWNO_COL].astype("string").str.strip(), errors="coerce")
    gw_raw = gw_raw.to_numpy(dtype=float, na_value=np.nan)
    outside = ~np.isnan(gw_raw) & ~np.isin(gw_raw, list(GW_TO_ISO3))
    if has_iso3:
        outside &= ~_strip_upper(frame["iso3"]).isin(list(ISO3_TO_GW)).to_numpy()
    n_filtered = int(outside.sum())
    sub = frame.loc[~outside].reset_index(drop=True)

    chk = RowChecker(sub, source=SOURCE, file=file)
    gw = chk.integer(GWNO_COL, allow_missing=False)
    known = np.isin(gw, list(GW_TO_ISO3))
    chk.flag(~np.isnan(gw) & ~known, GWNO_COL, f"{GWNO_COL}: unknown gwno")
    gw_iso = np.array(
        [GW_TO_ISO3.get(int(g)) if k else None for g, k in zip(gw, known, strict=True)],
        dtype=object,
    )
    if has_iso3:
        iso_file = _strip_upper(sub["iso3"]).to_numpy(dtype=object)
        mismatch = (iso_file != "") & known & (iso_file != gw_iso)
        chk.flag(mismatch, "iso3", f"iso3: does not match {GWNO_COL}")
    year = chk.integer(YEAR_COL, lo=MIN_YEAR, hi=pd.Timestamp.now().year, allow_missing=False)
    mat = chk.finite(list(NUMERIC_MAP.values()), lo=0, allow_missing=False)
    nums = {c: mat[:, j] for j, c in enumerate(NUMERIC_MAP)}

    bounds_bad = np.zeros(len(sub), dtype=bool)
    for p in ("sb", "ns", "os"):
        lo_src, best_src, hi_src = (NUMERIC_MAP[f"{p}_{k}"] for k in ("low", "best", "high"))
        low_gt = nums[f"{p}_low"] > nums[f"{p}_best"]
        best_gt = nums[f"{p}_best"] > nums[f"{p}_high"]
        if strict_bounds:
            chk.flag(low_gt, lo_src, f"{lo_src} > {best_src}")
            chk.flag(best_gt, hi_src, f"{best_src} > {hi_src}")
        else:
            bounds_bad |= (low_gt | best_gt) & (chk.reason == None)  # noqa: E711

    chk.flag_duplicates({"g": gw, "y": year}, DUPLICATE_FIELD)

    good, quarantine = chk.finish(rejects, columns=[c for c in frame.columns if c != "_line"])

    g = sub.loc[good]
    iso3 = gw_iso[good]
    if has_iso3:
        iso_good = iso_file[good]
        iso3 = np.where(iso_good != "", iso_good, iso3)
    data = pd.DataFrame(
        {
            "iso3": pd.array(list(iso3), dtype="string"),
            "gwno": gw[good].astype(np.int64),
            "year": year[good].astype(np.int64),
        }
    )
    for canon_col in NUMERIC_MAP:
        data[canon_col] = nums[canon_col][good].astype(float)
    for canon_col, src in NAME_MAP.items():
        data[canon_col] = pd.array(_text_or_none(g[src], ("", NO_DYAD)), dtype="string")
    versions = _text_or_none(g[VERSION_COL])
    data["version"] = pd.array(versions, dtype="string")
    data = data[list(UCDP_COUNTRY_YEAR)]

    n_bounds = int(bounds_bad[good].sum())
    if n_bounds:
        log.warning("%s: %d accepted rows break low <= best <= high", file, n_bounds)
    return filtered_result(
        SOURCE, TABLE, path, data, quarantine, n_rows=n_rows, n_filtered=n_filtered,
        what_filtered="outside the region", version=_version_of(versions), license=LICENSE,
        citation=CITATION, bounds_violations=n_bounds,
    )  # fmt: skip

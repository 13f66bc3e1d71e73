"""Reader for World Bank total population (WDI ``SP.POP.TOTL``), country-year.

Input: the ``datasets/population`` CSV (``Country Name, Country Code, Year, Value``) or its region
subset. Output: :data:`sahelsim.schema.POPULATION` with ``source = "worldbank"`` and
``priogrid_gid`` NULL.

Row accounting: rows whose ``Country Code`` is a valid 3-letter code outside the region
(:data:`sahelsim.canon.COUNTRIES`; this includes World Bank aggregates such as ``WLD``) are
*filtered* (``meta["rows_filtered"]``, not part of ``rows_read``); pass ``region_only=False`` to
keep them. ``rows_read == rows_accepted + rows_quarantined``.

Checks: wrong field count; ``Country Code`` missing or not 3 letters; ``Year`` missing, not an
integer or outside 1950..current year; ``Value`` missing, not a number, not finite or negative;
a repeated ``(Country Code, Year)`` (the later row: ``duplicate key``).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from sahelsim.core.canon import ISO3_TO_GW
from sahelsim.core.schema import POPULATION
from sahelsim.data.readers.base import ReadResult, RowChecker, filtered_result, read_small_csv

log = logging.getLogger(__name__)

SOURCE = "worldbank_population"
DATA_SOURCE = "worldbank"  # value of the ``source`` column (see schema.POPULATION)
TABLE = "population"
VERSION = "WDI SP.POP.TOTL via datasets/population@425fc447 (2026-03-06)"
LICENSE = "CC BY 4.0 (World Bank WDI); packaging ODC-PDDL-1.0"
CITATION = "World Bank, World Development Indicators: Population, total (SP.POP.TOTL)."
REQUIRED = ["Country Code", "Year", "Value"]
MIN_YEAR = 1950
DUPLICATE_FIELD = "Country Code,Year"


def read_worldbank_population(
    path: str | Path, *, region_only: bool = True, version: str = VERSION
) -> ReadResult:
    """Read World Bank total population per country and year (plain, ``.gz`` or ``.zip``)."""
    file = str(path)
    frame, rejects, n_rows = read_small_csv(path, REQUIRED, source=SOURCE)
    code_all = frame["Country Code"].astype("string").str.strip().str.upper().fillna("")
    is_code_all = code_all.str.fullmatch(r"[A-Z]{3}").fillna(False).to_numpy(dtype=bool)
    outside = np.zeros(len(frame), dtype=bool)
    if region_only:
        outside = is_code_all & ~code_all.isin(list(ISO3_TO_GW)).to_numpy()
    n_filtered = int(outside.sum())
    sub = frame.loc[~outside].reset_index(drop=True)
    code = code_all[~outside].reset_index(drop=True)

    chk = RowChecker(sub, source=SOURCE, file=file)
    chk.flag((code == "").to_numpy(), "Country Code", "Country Code: missing value")
    chk.flag(~is_code_all[~outside], "Country Code", "Country Code: not a 3-letter code")
    year = chk.integer("Year", lo=MIN_YEAR, hi=pd.Timestamp.now().year, allow_missing=False)
    value = chk.number("Value", lo=0, allow_missing=False)

    ok = chk.reason == None  # noqa: E711
    idx = np.flatnonzero(ok)
    dup = (
        pd.DataFrame({"c": code.to_numpy()[idx], "y": year[idx]})
        .duplicated(keep="first")
        .to_numpy()
    )
    dup_mask = np.zeros(len(sub), dtype=bool)
    dup_mask[idx[dup]] = True
    chk.flag(dup_mask, DUPLICATE_FIELD, "duplicate key")

    good, quarantine = chk.finish(rejects, columns=[c for c in frame.columns if c != "_line"])

    n = int(good.sum())
    data = pd.DataFrame(
        {
            "source": pd.array([DATA_SOURCE] * n, dtype="string"),
            "iso3": pd.array(code.to_numpy()[good], dtype="string"),
            "priogrid_gid": pd.array([None] * n, dtype="Int64"),
            "year": year[good].astype(np.int64),
            "value": value[good].astype(float),
        }
    )[list(POPULATION)]

    return filtered_result(
        SOURCE, TABLE, path, data, quarantine, n_rows=n_rows, n_filtered=n_filtered,
        what_filtered="outside the region", version=version, license=LICENSE, citation=CITATION,
    )  # fmt: skip

"""UCDP GED deaths by type of violence per country-month, as aggregated by ViEWS for the 2020
prediction competition (``ged_cm_postpatch``), staged as a region subset CSV.

Columns: ``month_id, year, month, country_id`` (ViEWS key, not Gleditsch-Ward), ``isoab``
(ISO3), ``name``, ``ged_best_sb/ns/os`` (deaths, UCDP type 1/2/3, best estimate) and
``ged_count_sb/ns/os`` (number of events). ViEWS country ids are mapped to ISO3 and
Gleditsch-Ward with :data:`sahelsim.core.canon.VIEWS_COUNTRY_TO_ISO3`; rows of countries outside
the study region are counted as filtered. Every row is checked: the month id must agree with
``year``/``month``, ``isoab`` with ``country_id``, deaths and counts must be non-negative, and a
(country, month) pair may appear once.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sahelsim.core.canon import ISO3_TO_GW, VIEWS_COUNTRY_TO_ISO3, month_id
from sahelsim.core.schema import GED_COUNTRY_MONTH
from sahelsim.data.readers.base import ReadResult, RowChecker, filtered_result, read_small_csv

SOURCE = "ucdp_ged_cm"
TABLE = "ged_country_month"
FOLDER = "ucdp-ged-country-month-views2020"
FILE = "ged_cm_westafrica_1989_2021h1.csv.gz"
VERSION = "ViEWS 2020 competition, ged_cm_postpatch (views_competition@1fa2a8d)"
LICENSE = "CC BY-NC 4.0 (UCDP / ViEWS, Uppsala University); underlying UCDP GED CC BY 4.0"
CITATION = (
    "Hegre, H., Vesco, P. & Colaresi, M. (2022). Lessons from an escalation prediction"
    " competition. International Interactions 48(4); UCDP Georeferenced Event Dataset"
    " (Sundberg & Melander 2013), aggregated to country-month by ViEWS (Uppsala University)."
)
DEATHS = ["ged_best_sb", "ged_best_ns", "ged_best_os"]
COUNTS = ["ged_count_sb", "ged_count_ns", "ged_count_os"]
REQUIRED = ["month_id", "year", "month", "country_id", "isoab", *DEATHS, *COUNTS]
DUPLICATE_FIELD = "country_id,month_id"
#: ViEWS month ids cover 1989 onwards in this file; anything before 1980 is not a month id.
MIN_YEAR = 1980


def _iso(s: pd.Series) -> np.ndarray:
    return s.astype("string").str.strip().str.upper().fillna("").to_numpy(dtype=object)


def read_ged_cm(path: str | Path, *, version: str = VERSION) -> ReadResult:
    """Read the ViEWS GED country-month CSV (plain, ``.gz`` or ``.zip``).

    ``rows_in_file == rows_accepted + rows_quarantined + rows_filtered``.
    """
    file = str(path)
    frame, rejects, n_rows = read_small_csv(path, REQUIRED, source=SOURCE)

    # region filter, decided only on rows whose country is identifiable
    cid_raw = pd.to_numeric(frame["country_id"].astype("string").str.strip(), errors="coerce")
    cid_raw = cid_raw.to_numpy(dtype=float, na_value=np.nan)
    iso_file = _iso(frame["isoab"])
    known_id = np.isin(cid_raw, list(VIEWS_COUNTRY_TO_ISO3))
    region_iso = np.isin(iso_file, list(ISO3_TO_GW))
    outside = ~np.isnan(cid_raw) & ~known_id & ~region_iso
    n_filtered = int(outside.sum())
    sub = frame.loc[~outside].reset_index(drop=True)
    iso_file = iso_file[~outside]

    chk = RowChecker(sub, source=SOURCE, file=file)
    cid = chk.integer("country_id", allow_missing=False)
    known = np.isin(cid, list(VIEWS_COUNTRY_TO_ISO3))
    chk.flag(
        ~np.isnan(cid) & ~known, "country_id", "country_id: unknown ViEWS id for a region country"
    )
    iso3 = np.array(
        [VIEWS_COUNTRY_TO_ISO3.get(int(c)) if k else None for c, k in zip(cid, known, strict=True)],
        dtype=object,
    )
    chk.flag(
        known & (iso_file != "") & (iso_file != iso3), "isoab", "isoab: does not match country_id"
    )
    mid = chk.integer("month_id", lo=1, allow_missing=False)
    year = chk.integer("year", lo=MIN_YEAR, hi=pd.Timestamp.now().year, allow_missing=False)
    month = chk.integer("month", lo=1, hi=12, allow_missing=False)
    ok = ~np.isnan(mid) & ~np.isnan(year) & ~np.isnan(month)
    expected = np.where(ok, month_id(np.nan_to_num(year), np.nan_to_num(month)), np.nan)
    chk.flag(ok & (mid != expected), "month_id", "month_id: does not match year and month")
    deaths = chk.finite(DEATHS, lo=0, allow_missing=False)
    counts = chk.finite(COUNTS, lo=0, allow_missing=False)
    for j, col in enumerate(COUNTS):
        v = counts[:, j]
        chk.flag(~np.isnan(v) & (np.floor(v) != v), col, f"{col}: not an integer")

    chk.flag_duplicates({"c": cid, "m": mid}, DUPLICATE_FIELD, "duplicate country-month")

    good, quarantine = chk.finish(rejects, columns=[c for c in frame.columns if c != "_line"])
    iso_good = iso3[good]
    data = pd.DataFrame(
        {
            "iso3": pd.array(list(iso_good), dtype="string"),
            "gwno": np.array([ISO3_TO_GW[i] for i in iso_good], dtype=np.int64),
            "views_country_id": cid[good].astype(np.int64),
            "month_id": mid[good].astype(np.int64),
            "year": year[good].astype(np.int64),
            "month": month[good].astype(np.int64),
        }
    )
    for j, col in enumerate(DEATHS):
        data[col] = deaths[good, j].astype(float)
    for j, col in enumerate(COUNTS):
        data[col] = counts[good, j].astype(np.int64)
    data["version"] = pd.array([version] * len(data), dtype="string")
    data = data[list(GED_COUNTRY_MONTH)]
    return filtered_result(
        SOURCE, TABLE, path, data, quarantine, n_rows=n_rows, n_filtered=n_filtered,
        what_filtered="outside the region", version=version, license=LICENSE, citation=CITATION,
    )  # fmt: skip

"""Reader for the harmonised IOM DTM Mali baseline assessments (IDPs and returnees, 2014-2020).

Input: ``dtm_mali_baseline_idps_admin2_2014_2020.csv`` (one row per admin unit and snapshot;
see ``shared/data/iom-dtm-mali-baseline-2014-2020/PROVENANCE.md``). Output: the LONG layout of
:data:`sahelsim.schema.DISPLACEMENT`, measures ``idp_hh``, ``idp_ind``, ``returnee_hh``,
``returnee_ind``; ``date`` = ``snapshot_date``; ``origin_iso3 = asylum_iso3 = "MLI"``. Admin
names are stripped but otherwise kept as spelled in the source ('KaYes', 'Koulikouro'); P-codes
are stripped and upper-cased. An empty value cell means "not reported": no long row, counted in
``meta["values_missing"]``.

P-codes are NOT stable across rounds: the Dec 2017, Dec 2018 and Apr 2020 rounds number cercles
alphabetically (``MLI0801`` = Abeibara), the 2014-2016 rounds in another order (``MLI0801`` =
Kidal), and the Dec 2019 round uses a long form (``MLI008001``) in which two codes are each given
to two cercles (``MLI003005`` = Kita and Koutiala, ``MLI008002`` = Kadiolo and Tin-Essako).
:func:`dtm_by_admin2` therefore groups by ``admin1_pcode`` plus the normalised admin2 *name*
(:func:`admin_key`). Rows whose ``admin2_pcode`` does not start with their ``admin1_pcode`` are
kept (the totals match IOM's published ones) but listed in ``meta["pcode_mismatch_lines"]``.

Checks: wrong field count; ``snapshot_date`` missing, unparseable, before 2000 or in the future;
``admin1_pcode`` missing; a value that is not a number, not finite or negative; the same admin
unit twice in one snapshot (the later row: ``duplicate key``).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd

from sahelsim.core.schema import DISPLACEMENT
from sahelsim.data.readers.base import ReadResult, RowChecker, read_small_csv, sha256_file

log = logging.getLogger(__name__)

SOURCE = "iom_dtm_mali"
TABLE = "displacement"
VERSION = "baseline rounds 12-64 (2014-12-31..2020-04-30)"
LICENSE = "CC BY-IGO 3.0 (as listed on HDX; not verified from the files)"
CITATION = "IOM, Displacement Tracking Matrix (DTM), Mali - Baseline Assessments, 2014-2020."
MEASURES = ("idp_hh", "idp_ind", "returnee_hh", "returnee_ind")
ADMIN = ("admin1", "admin1_pcode", "admin2", "admin2_pcode", "admin3", "admin3_pcode")
REQUIRED = ["snapshot_date", *ADMIN, *MEASURES]
EARLIEST = pd.Timestamp("2000-01-01")
KEY = ("snapshot_date", "admin1_pcode", "admin2_pcode", "admin2", "admin3_pcode", "admin3")
DUPLICATE_FIELD = ",".join(KEY)
_SEP = re.compile(r"[\s\-_'’]+")


def admin_key(name: object) -> str | None:
    """Comparison key of an admin name: accents dropped, case-folded, separators to one space.

    >>> admin_key(" Ségou ") == admin_key("SEGOU") == "segou"
    True
    >>> admin_key("Tin-Essako") == admin_key("Tin Essako")
    True
    """
    if name is None or name is pd.NA or (isinstance(name, float) and np.isnan(name)):
        return None
    text = unicodedata.normalize("NFKD", str(name))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    text = _SEP.sub(" ", text).strip()
    return text or None


def _clean(s: pd.Series, *, upper: bool = False) -> pd.Series:
    out = s.astype("string").str.strip()
    if upper:
        out = out.str.upper()
    return out.fillna("")


def read_iom_dtm_mali(path: str | Path, *, version: str = VERSION) -> ReadResult:
    """Read the harmonised DTM Mali baseline CSV (plain, ``.gz`` or ``.zip``)."""
    file = str(path)
    frame, rejects, n_rows = read_small_csv(path, REQUIRED, source=SOURCE)
    chk = RowChecker(frame, source=SOURCE, file=file)
    date = chk.date("snapshot_date")
    chk.flag(
        (date < EARLIEST).fillna(False).to_numpy(dtype=bool),
        "snapshot_date",
        f"snapshot_date: before {EARLIEST.date()}",
    )
    admin = {c: _clean(frame[c], upper=c.endswith("pcode")) for c in ADMIN}
    chk.flag(
        (admin["admin1_pcode"] == "").to_numpy(), "admin1_pcode", "admin1_pcode: missing value"
    )
    vals = chk.finite(list(MEASURES), lo=0)

    ok = chk.reason == None  # noqa: E711
    idx = np.flatnonzero(ok)
    keys = pd.DataFrame(
        {
            k: (
                date.to_numpy()[idx]
                if k == "snapshot_date"
                else [admin_key(v) for v in admin[k].to_numpy()[idx]]
                if k in ("admin2", "admin3")
                else admin[k].to_numpy()[idx]
            )
            for k in KEY
        }
    )
    dup = keys.duplicated(keep="first").to_numpy()
    dup_mask = np.zeros(len(frame), dtype=bool)
    dup_mask[idx[dup]] = True
    chk.flag(dup_mask, DUPLICATE_FIELD, "duplicate key")

    good, quarantine = chk.finish(rejects)

    a1 = admin["admin1_pcode"].to_numpy()[good]
    a2 = admin["admin2_pcode"].to_numpy()[good]
    lines = frame["_line"].to_numpy()[good]
    mismatch = [
        int(ln)
        for p1, p2, ln in zip(a1, a2, lines, strict=True)
        if p2 and not (p2.startswith(p1) or p2.startswith("MLI0" + p1[3:]))
    ]
    if mismatch:
        log.warning(
            "%s: %d rows have an admin2_pcode outside their admin1_pcode (lines %s); kept",
            file, len(mismatch), ", ".join(map(str, mismatch[:10])),
        )  # fmt: skip

    gv = vals[good]
    reported = ~np.isnan(gv)
    rows, cols = np.nonzero(reported)
    n = len(rows)
    d = date.to_numpy()[good][rows].astype("datetime64[s]")
    data = pd.DataFrame(
        {
            "source": pd.array([SOURCE] * n, dtype="string"),
            "year": pd.DatetimeIndex(d).year.to_numpy(dtype=np.int64),
            "date": d,
            "origin_iso3": pd.array(["MLI"] * n, dtype="string"),
            "asylum_iso3": pd.array(["MLI"] * n, dtype="string"),
        }
    )
    for c in ADMIN:
        v = admin[c].to_numpy()[good][rows]
        data[c] = pd.array([x if x else None for x in v], dtype="string")
    data["measure"] = pd.array(np.array(MEASURES, dtype=object)[cols], dtype="string")
    data["value"] = gv[rows, cols].astype(float)
    data = data[list(DISPLACEMENT)]

    n_good = int(good.sum())
    meta = {
        "source": SOURCE,
        "file": file,
        "sha256": sha256_file(path),
        "version": version,
        "license": LICENSE,
        "citation": CITATION,
        "rows_read": n_rows,
        "rows_accepted": n_good,
        "rows_quarantined": len(quarantine),
        "long_rows": n,
        "values_missing": int((~reported).sum()),
        "measures": list(MEASURES),
        "snapshots": sorted({str(x)[:10] for x in data["date"].dt.date.unique()}),
        "pcode_mismatch_lines": mismatch,
    }
    log.info(
        "%s: read %d, accepted %d (%d long rows, %d values not reported), quarantined %d",
        file, n_rows, n_good, n, meta["values_missing"], len(quarantine),
    )  # fmt: skip
    return ReadResult(SOURCE, TABLE, data, quarantine, meta)


def _single(values: pd.Series) -> str | None:
    """The one distinct non-null value, or None when there are none or several."""
    u = values.dropna().unique()
    return str(u[0]) if len(u) == 1 else None


def dtm_by_admin2(frame: pd.DataFrame) -> pd.DataFrame:
    """Sum a long DTM frame (``read_iom_dtm_mali(...).data``) to admin2 (cercle) per snapshot.

    The lowest level differs by round (cercle or commune), so compare rounds only after this.
    Groups are ``(date, admin1_pcode, admin_key(admin2), measure)`` (P-codes alone are not
    reliable, see the module docstring). Returns the :data:`~sahelsim.schema.DISPLACEMENT`
    columns (admin3 columns NULL; ``admin1`` / ``admin2`` = first spelling seen;
    ``admin2_pcode`` NULL when the group's rows carry several different codes) plus
    ``admin2_key`` and ``n_units`` (number of source rows summed).
    """
    missing = [c for c in DISPLACEMENT if c not in frame.columns]
    if missing:
        raise ValueError(f"dtm_by_admin2: frame lacks column(s) {missing}")
    df = frame.copy()
    df["admin2_key"] = pd.array([admin_key(v) for v in df["admin2"]], dtype="string")
    by = ["source", "date", "origin_iso3", "asylum_iso3", "admin1_pcode", "admin2_key", "measure"]
    g = df.groupby(by, sort=True, dropna=False)
    out = g.agg(
        year=("year", "first"),
        admin1=("admin1", "first"),
        admin2=("admin2", "first"),
        admin2_pcode=("admin2_pcode", _single),
        value=("value", "sum"),
        n_units=("value", "size"),
    ).reset_index()
    for c in ("admin3", "admin3_pcode"):
        out[c] = pd.array([None] * len(out), dtype="string")
    for c in ("admin1", "admin2", "admin2_pcode"):
        out[c] = out[c].astype("string")
    return out[[*DISPLACEMENT, "admin2_key", "n_units"]]

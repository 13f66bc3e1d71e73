"""Reader for the UCDP Actor Dataset (``ucdp-actor-221.csv`` or its region subset).

Maps ``ActorId, NameData, NameOrigFullEng, Org, GWNOLoc, Location, DyadId, Version`` to
:data:`sahelsim.schema.UCDP_ACTORS`. ``gwno_loc`` and ``dyad_ids`` are written as
comma-separated integers without spaces (``"432,436"``); an empty ``DyadId`` becomes NULL.

Row accounting: actors whose ``GWNOLoc`` lists no region country (:data:`sahelsim.canon.COUNTRIES`)
are *filtered* (``meta["rows_filtered"]``, not part of ``rows_read``), so
``rows_read == rows_accepted + rows_quarantined`` and
``meta["rows_in_file"] == rows_read + rows_filtered``.

Checks: wrong field count; ``ActorId`` missing / not a positive integer; ``NameData`` missing;
``Org`` not an integer; ``GWNOLoc`` missing or not a list of integers; ``DyadId`` not a list of
integers; a repeated ``ActorId`` (the later row: ``duplicate key``).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd

from sahelsim.core.canon import GW_TO_ISO3
from sahelsim.core.schema import UCDP_ACTORS
from sahelsim.data.readers.base import ReadResult, RowChecker, filtered_result, read_small_csv

log = logging.getLogger(__name__)

SOURCE = "ucdp_actors"
TABLE = "ucdp_actors"
LICENSE = "CC BY 4.0"
CITATION = (
    "UCDP Actor Dataset version 22.1, Uppsala Conflict Data Program (ucdp.uu.se); see the UCDP "
    "Actor Dataset codebook v22.1."
)
COLUMN_MAP: dict[str, str] = {  # canonical -> source
    "actor_id": "ActorId",
    "name": "NameData",
    "name_full": "NameOrigFullEng",
    "org": "Org",
    "gwno_loc": "GWNOLoc",
    "location": "Location",
    "dyad_ids": "DyadId",
    "version": "Version",
}
REQUIRED: list[str] = list(COLUMN_MAP.values())
_INT_LIST = re.compile(r"[0-9]+(\s*,\s*[0-9]+)*")
MAX_INT32 = 2_147_483_647


def _strings(s: pd.Series) -> pd.Series:
    return s.astype("string").str.strip().fillna("")


def _int_list(text: str) -> str:
    """``"731, 732"`` -> ``"731,732"`` (input already validated)."""
    return ",".join(p.strip() for p in text.split(","))


def read_ucdp_actors(path: str | Path) -> ReadResult:
    """Read a UCDP Actor Dataset CSV (plain, ``.gz`` or ``.zip``)."""
    file = str(path)
    frame, rejects, n_rows = read_small_csv(path, REQUIRED, source=SOURCE)

    loc = _strings(frame["GWNOLoc"])
    loc_ok = loc.str.fullmatch(_INT_LIST.pattern).fillna(False).to_numpy(dtype=bool)
    region = {str(g) for g in GW_TO_ISO3}
    in_region = np.array(
        [bool(region.intersection(p.strip() for p in v.split(","))) for v in loc], dtype=bool
    )
    outside = loc_ok & ~in_region
    n_filtered = int(outside.sum())
    sub = frame.loc[~outside].reset_index(drop=True)

    chk = RowChecker(sub, source=SOURCE, file=file)
    actor_id = chk.integer("ActorId", lo=1, hi=MAX_INT32, allow_missing=False)
    name = _strings(sub["NameData"])
    chk.flag((name == "").to_numpy(), "NameData", "NameData: missing value")
    org = chk.integer("Org", lo=0, hi=99)
    sloc = _strings(sub["GWNOLoc"])
    chk.flag((sloc == "").to_numpy(), "GWNOLoc", "GWNOLoc: missing value")
    bad_loc = ~sloc.str.fullmatch(_INT_LIST.pattern).fillna(False).to_numpy(dtype=bool)
    chk.flag(bad_loc, "GWNOLoc", "GWNOLoc: not a comma-separated list of integers")
    dyads = _strings(sub["DyadId"])
    bad_dyads = (dyads != "").to_numpy() & ~dyads.str.fullmatch(_INT_LIST.pattern).fillna(
        False
    ).to_numpy(dtype=bool)
    chk.flag(bad_dyads, "DyadId", "DyadId: not a comma-separated list of integers")

    ok = chk.reason == None  # noqa: E711
    idx = np.flatnonzero(ok)
    dup = pd.Series(actor_id[idx]).duplicated(keep="first").to_numpy()
    dup_mask = np.zeros(len(sub), dtype=bool)
    dup_mask[idx[dup]] = True
    chk.flag(dup_mask, "ActorId", "duplicate key")

    good, quarantine = chk.finish(rejects, columns=[c for c in frame.columns if c != "_line"])

    g = sub.loc[good]

    def text(col: str) -> pd.Series:
        s = _strings(g[col])
        return pd.Series(s.where(s != "").to_numpy(), dtype="string")

    org_good = org[good]
    data = pd.DataFrame(
        {
            "actor_id": actor_id[good].astype(np.int64),
            "name": text("NameData"),
            "name_full": text("NameOrigFullEng"),
            "org": pd.array([None if np.isnan(v) else int(v) for v in org_good], dtype="Int64"),
            "gwno_loc": pd.array([_int_list(v) for v in sloc[good]], dtype="string"),
            "location": text("Location"),
            "dyad_ids": pd.array(
                [_int_list(v) if v else None for v in dyads[good]], dtype="string"
            ),
            "version": text("Version"),
        }
    )[list(UCDP_ACTORS)]

    versions = sorted(set(data["version"].dropna()))
    return filtered_result(
        SOURCE, TABLE, path, data, quarantine, n_rows=n_rows, n_filtered=n_filtered,
        what_filtered="no region country", version=",".join(versions) if versions else None,
        license=LICENSE, citation=CITATION,
    )  # fmt: skip

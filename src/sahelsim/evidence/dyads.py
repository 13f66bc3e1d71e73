"""UCDP dyad names ("A - B", lists joined by ";", sides joined by ","): splitting them into
actor names and classifying the perpetrators with the actor map (:mod:`.actors`)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from sahelsim.evidence.actors import (
    ActorMap,
    as_series,
    is_missing,
    load_actor_map,
    normalise_name,
)

log = logging.getLogger(__name__)

#: UCDP actor names that contain the dyad separator " - " themselves (UCDP actor list v22.1).
UCDP_HYPHENATED_NAMES: tuple[str, ...] = (
    "GIA - El Ahd Battalion",
    "GIA - El Forkane",
    "GIA - El Khadra Battalion",
    "MFDC - FN",
    "MFDC Front Nord - MD",
    "MFDC - S",
    "FN - IC",
    "ULIMO - K",
)
_NO_DYAD = {"", "no_dyad", "nan", "none"}
_DYAD_SEP = re.compile(r"\s+-\s+")
_LIST_SEP = re.compile(r"\s*;\s*")
_MEMBER_SEP = re.compile(r"\s*,\s*")


def _norm_key(text: str) -> str:
    return normalise_name(text).casefold()


_KNOWN_HYPHENATED = frozenset(_norm_key(n) for n in UCDP_HYPHENATED_NAMES)


def split_side(side: str) -> list[str]:
    """Actors of one dyad side: UCDP joins co-belligerents with ``", "`` (``"GATIA, MSA"``)."""
    return [m for m in _MEMBER_SEP.split(side.strip()) if m]


def split_dyad(name: str, known: Iterable[str] | None = None) -> tuple[str, str]:
    """Split a UCDP dyad name ``"side A - side B"`` into its two sides.

    The separator is a hyphen with white space on both sides; hyphens inside names
    (``"CM-FPR"``, ``"Signed-in-Blood Battalion"``, ``"Ikot-Offiong"``) never split. When a
    name has several separators, the split is chosen so that no side contains a ``" - "`` that
    is not part of a known actor name (:data:`UCDP_HYPHENATED_NAMES` plus ``known``), e.g.
    ``"MFDC Front Nord - MD - MFDC - S"`` -> ``("MFDC Front Nord - MD", "MFDC - S")``. If that
    leaves several choices or none, a split leaving ``"Civilians"`` on side B is preferred, then
    the first separator (with a warning in the log).

    Each side may still list several actors joined by ``", "``: see :func:`split_side`.
    ``"NO_DYAD"`` (UCDP's filler) and blanks give ``("", "")``; any other text without a
    separator raises ``ValueError``.
    """
    text = str(name).strip()
    if text.casefold() in _NO_DYAD:
        return "", ""
    seps = list(_DYAD_SEP.finditer(text))
    if not seps:
        raise ValueError(f"not a UCDP dyad name (no ' - ' separator): {name!r}")
    if len(seps) == 1:
        m = seps[0]
        return text[: m.start()].strip(), text[m.end() :].strip()
    known_keys = set(_KNOWN_HYPHENATED)
    if known is not None:
        known_keys |= {_norm_key(k) for k in known if _DYAD_SEP.search(str(k))}

    def side_ok(side: str) -> bool:
        return all(not _DYAD_SEP.search(m) or _norm_key(m) in known_keys for m in split_side(side))

    cands = [(text[: m.start()].strip(), text[m.end() :].strip()) for m in seps]
    valid = [c for c in cands if side_ok(c[0]) and side_ok(c[1])]
    if len(valid) == 1:
        return valid[0]
    pool = valid or cands
    civ = [c for c in pool if c[1].casefold() == "civilians"]
    choice = civ[0] if civ else pool[0]
    log.warning("ambiguous UCDP dyad name %r: split as %r", text, choice)
    return choice


def ucdp_dyad_actor_names(cells: Iterable[object]) -> list[str]:
    """Sorted distinct single actor names in UCDP dyad-name cells (``"A - B; C, D - E"``)."""
    names: set[str] = set()
    for cell in cells:
        if is_missing(cell):
            continue
        for dyad in _LIST_SEP.split(str(cell)):
            a, b = split_dyad(dyad)
            names.update(split_side(a))
            names.update(split_side(b))
    names.discard("")
    return sorted(names)


def classify_ucdp_dyads(
    cells: Sequence[str] | np.ndarray | pd.Series, *, actor_map: ActorMap | None = None
) -> pd.DataFrame:
    """Explode UCDP dyad-name cells into one row per actor and classify each actor.

    ``cells`` are values of ``sb_/ns_/os_dyad_names_cy`` (or GED ``dyad_name``): dyads joined by
    ``"; "``, sides by ``" - "``, co-belligerents by ``", "``. ``"NO_DYAD"`` and missing cells
    give no rows. Columns: ``cell`` (index label of the input cell), ``dyad_no`` (0-based within
    the cell), ``dyad``, ``dyad_side`` (``"a"``/``"b"``), ``member_no``, then the columns of
    :meth:`ActorMap.classify`.
    """
    amap = actor_map or load_actor_map()
    series = as_series(cells)
    rows: list[tuple[Any, int, str, str, int, str]] = []
    for label, cell in series.items():
        if is_missing(cell):
            continue
        dyads = [d for d in _LIST_SEP.split(str(cell).strip()) if d.strip()]
        for k, dyad in enumerate(dyads):
            a, b = split_dyad(dyad)
            if not a and not b:
                continue
            for side_name, side in (("a", a), ("b", b)):
                for j, member in enumerate(split_side(side)):
                    rows.append((label, k, dyad.strip(), side_name, j, member))
    cols = ["cell", "dyad_no", "dyad", "dyad_side", "member_no", "raw_name"]
    frame = pd.DataFrame(rows, columns=cols)
    cls = amap.classify(frame["raw_name"])
    return pd.concat([frame, cls.drop(columns="raw_name")], axis=1)


# -- perpetrators ----------------------------------------------------------------------------------


def perpetrator_class(
    side_a: Sequence[str] | np.ndarray | pd.Series,
    side_b: Sequence[str] | np.ndarray | pd.Series,
    type_of_violence: Sequence[int] | np.ndarray | pd.Series,
    *,
    actor_map: ActorMap | None = None,
) -> pd.Series:
    """Perpetrator class per event (vectorised).

    One-sided violence (``type_of_violence == 3``): the class of side A, the perpetrator in
    UCDP; if side A is the civilians (ACLED-style ordering) the class of side B. State-based
    and non-state violence (1, 2): the pair of classes, sorted and joined by ``" vs "``
    (``"jihadist vs state"``), so the order of the sides does not matter. Names no rule matches
    count as class ``"unmatched"``, missing names as ``"none"``. The result is a Series named
    ``perpetrator`` with the index of ``side_a`` when it is a Series.
    """
    amap = actor_map or load_actor_map()
    sa, sb = as_series(side_a), as_series(side_b)
    tov = np.asarray(type_of_violence)
    if not (len(sa) == len(sb) == len(tov)):
        raise ValueError(
            f"lengths differ: side_a {len(sa)}, side_b {len(sb)}, type_of_violence {len(tov)}"
        )
    ca = amap.classify(sa)["actor_class"].to_numpy(dtype=object)
    cb = amap.classify(sb)["actor_class"].to_numpy(dtype=object)
    ca = np.where(pd.isna(ca), "none", ca).astype(object)
    cb = np.where(pd.isna(cb), "none", cb).astype(object)
    one_sided = np.where(ca == "civilians", cb, ca)
    lo = np.where(ca <= cb, ca, cb)
    hi = np.where(ca <= cb, cb, ca)
    pair = (pd.Series(lo, dtype=object) + " vs " + pd.Series(hi, dtype=object)).to_numpy(object)
    out = np.where(tov == 3, one_sided, pair)
    index = sa.index if isinstance(side_a, pd.Series) else None
    return pd.Series(out, index=index, name="perpetrator", dtype=object)

"""The claims audit: every checkable claim of the seed article against the data and the model.

The claims live in ``sahelsim/resources/claims.toml`` (see :mod:`sahelsim.claims.load`).
:func:`audit` runs one test per claim and returns one row per claim with a verdict:

* ``supported`` / ``contradicted`` / ``mixed``: the rule stated in the claim's ``data_test`` or
  ``model_test`` decided;
* ``not testable with the data present``: neither the store nor the model can decide (or the
  model was not run).

Data verdicts come from the store (UCDP country-year for deaths, UNHCR/IDMC for displacement,
the packaged timeline for dates): :mod:`sahelsim.claims.data_tests` and
:mod:`sahelsim.claims.source_tests`. Model verdicts (``evidence == "model"``,
:mod:`sahelsim.claims.model_tests`) compare scenarios of the model: paired members (common
random numbers) and the 5-95 % range of their differences. They state what the model's
assumptions imply, never what happened, and every such row says so.

The package prints nothing; it logs to ``sahelsim.claims``.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

# the test modules register their tests in TESTS when imported
from sahelsim.claims import data_tests, model_tests, source_tests  # noqa: F401
from sahelsim.claims.context import TESTS, Context
from sahelsim.claims.load import REQUIRED_IDS, SECTIONS, Claim, ClaimsError, load_claims
from sahelsim.claims.runner import ModelRuns, model_label
from sahelsim.claims.verdicts import (
    CONTRADICTED,
    EVIDENCE,
    MIXED,
    NOT_TESTABLE,
    SUPPORTED,
    VERDICTS,
    Result,
    Untestable,
)
from sahelsim.core.canon import month_id
from sahelsim.data.store.store import Store
from sahelsim.scenarios.run import HISTORY_START

log = logging.getLogger(__name__)

__all__ = [
    "AUDIT_COLUMNS",
    "CONTRADICTED",
    "EVIDENCE",
    "MIXED",
    "NOT_TESTABLE",
    "REQUIRED_IDS",
    "SECTIONS",
    "SUPPORTED",
    "TESTS",
    "VERDICTS",
    "Claim",
    "ClaimsError",
    "audit",
    "load_claims",
    "model_label",
    "write_claims",
]

#: Columns of :func:`audit`, in order.
AUDIT_COLUMNS: tuple[str, ...] = (
    "id",
    "claim",
    "section",
    "verdict",
    "figure",
    "source",
    "definitions",
    "why_sources_differ",
    "evidence",
    "interval",
)


_MIN_END = int(month_id(2025, 12))


def audit(
    store: Store,
    *,
    model: bool = True,
    members: int = 100,
    seed: int = 0,
    data_dir: str | Path | None = None,
    months: int = 192,
    claims: Sequence[Claim] | None = None,
) -> pd.DataFrame:
    """One row per claim (columns :data:`AUDIT_COLUMNS`) with its verdict and the evidence.

    ``store``: an ingested :class:`~sahelsim.store.Store` (UCDP country-year, UNHCR/IDMC; GED
    events are used where present). ``model``: also run the scenario comparisons (otherwise the
    model-only claims are "not testable with the data present"). ``members``, ``seed``: the
    ensemble; ``data_dir``: the staged data, for the real study grid (None = the synthetic grid,
    illustrations only); ``months``: length of each run from 2012-01 (default 192, to 2027-12;
    at least 168, to 2025-12). ``claims``: defaults to :func:`load_claims`.
    """
    if members < 2:
        raise ValueError(f"members must be at least 2 for intervals, got {members}")
    claims = list(load_claims() if claims is None else claims)
    mdl = None
    if model:
        if HISTORY_START + months - 1 < _MIN_END:
            raise ValueError(
                f"months={months} ends before 2025-12; the audit needs at least "
                f"{_MIN_END - HISTORY_START + 1} months from 2012-01"
            )
        mdl = ModelRuns(Path(data_dir) if data_dir is not None else None, members, seed, months)
        if data_dir is None:
            log.warning("claims audit: no data directory, the model runs on the synthetic grid")
    ctx = Context(store, mdl)
    rows = []
    for c in claims:
        fn = TESTS.get(c.id)
        if fn is None:
            res = Result(NOT_TESTABLE, "no automated test for this claim", "none",
                          c.measure, "none")  # fmt: skip
        else:
            try:
                res = fn(c, ctx)
            except Untestable as exc:
                res = Result(NOT_TESTABLE, str(exc), "none", c.measure, "none")
        if res.verdict not in VERDICTS or res.evidence not in EVIDENCE:
            raise RuntimeError(f"test of {c.id} returned {res.verdict!r} / {res.evidence!r}")
        log.debug("claim %s: %s", c.id, res.verdict)
        rows.append(
            {
                "id": c.id,
                "claim": c.claim,
                "section": c.section,
                "verdict": res.verdict,
                "figure": res.figure,
                "source": res.source,
                "definitions": res.definitions,
                "why_sources_differ": c.sources_differ,
                "evidence": res.evidence,
                "interval": res.interval,
            }
        )
    return pd.DataFrame(rows, columns=list(AUDIT_COLUMNS))


def write_claims(df: pd.DataFrame, out_dir: str | Path) -> list[Path]:
    """Write the audit table as ``claims_audit.csv`` and ``claims_audit.json`` (records)."""
    missing = [c for c in AUDIT_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"not an audit table: missing column(s) {missing}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    csv, js = out / "claims_audit.csv", out / "claims_audit.json"
    records = json.loads(df.to_json(orient="records", force_ascii=False))
    _write_atomic(csv, df.to_csv(index=False))
    _write_atomic(js, json.dumps(records, indent=2, ensure_ascii=False) + "\n")
    return [csv, js]


def _write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder (no half files)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

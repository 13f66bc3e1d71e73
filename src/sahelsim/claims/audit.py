"""The claims audit: every checkable claim of the seed article against the data and the model.

The claims live in ``sahelsim/resources/claims.toml`` (see :mod:`sahelsim.claims.load`).
:func:`audit` runs one test per claim and returns one row per claim with a verdict:

* ``supported`` / ``contradicted`` / ``mixed``: the rule stated in the claim's ``data_test``
  decided;
* ``consistent with the data`` / ``not consistent with the data``: a claimed count against
  UCDP, a conservative floor (a lower floor does not refute a larger count);
* ``model: consistent`` / ``model: not consistent`` / ``model: mixed``: the rule of the claim's
  ``model_test`` on scenario runs, for quantities the model was not fitted to;
* ``not testable with the data present``: neither the store nor the model can decide (or the
  model was not run).

Data verdicts come from the store (UCDP country-year for deaths, UNHCR/IDMC for displacement,
the packaged timeline for dates): :mod:`sahelsim.claims.data_tests` and
:mod:`sahelsim.claims.source_tests`. Model verdicts (``evidence == "model"``,
:mod:`sahelsim.claims.model_tests`) compare scenarios of the model: paired members (common
random numbers) and the 5-95 % range of their differences. They state what the model's
assumptions imply, never what happened, and their verdicts say so. How the model's parameters
were set is stated once per table (:func:`audit_provenance`, ``df.attrs["provenance"]``, written to
``claims_audit_meta.json``), not in every row.

The package prints nothing; it logs to ``sahelsim.claims``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from sahelsim.claims import data_tests, model_tests, source_tests  # noqa: F401
from sahelsim.claims.context import TESTS, Context
from sahelsim.claims.load import REQUIRED_IDS, SECTIONS, Claim, ClaimsError, load_claims
from sahelsim.claims.runner import ModelRuns, model_label
from sahelsim.claims.verdicts import (
    CONSISTENT,
    CONTRADICTED,
    EVIDENCE,
    MIXED,
    MODEL_CONSISTENT,
    MODEL_MIXED,
    MODEL_NOT_CONSISTENT,
    NOT_CONSISTENT,
    NOT_TESTABLE,
    SUPPORTED,
    VERDICTS,
    Result,
    Untestable,
)

# the test modules register their tests in TESTS when imported
from sahelsim.core.atomic import (
    text_writer,
    write_all_atomic,
)
from sahelsim.core.canon import month_id
from sahelsim.data.store.store import Store
from sahelsim.scenarios.run import HISTORY_START

log = logging.getLogger(__name__)

__all__ = [
    "AUDIT_COLUMNS",
    "CONSISTENT",
    "CONTRADICTED",
    "EVIDENCE",
    "MIXED",
    "MODEL_CONSISTENT",
    "MODEL_MIXED",
    "MODEL_NOT_CONSISTENT",
    "NOT_CONSISTENT",
    "NOT_TESTABLE",
    "REQUIRED_IDS",
    "SECTIONS",
    "SUPPORTED",
    "TESTS",
    "VERDICTS",
    "Claim",
    "ClaimsError",
    "audit",
    "audit_provenance",
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
    df = pd.DataFrame(rows, columns=list(AUDIT_COLUMNS))
    df.attrs["provenance"] = audit_provenance(mdl)
    return df


def audit_provenance(model: ModelRuns | None) -> dict[str, Any]:
    """What every row of an audit shares, stated once for the table (not in each row).

    ``model`` is how the model's parameters were set (:func:`model_label`) and the ensemble, or
    ``None`` when the model was not run.
    """
    out: dict[str, Any] = {
        "verdicts": {
            "supported / contradicted / mixed": "decided by the data named in the row",
            "consistent / not consistent with the data": (
                "a claimed count against UCDP, a conservative floor: a lower UCDP count says "
                "the sources differ, not that the claim is wrong"
            ),
            "model: consistent / not consistent / mixed": (
                "what the model's assumptions imply for a quantity it was not fitted to; "
                "never evidence of what happened"
            ),
        },
        "model": None,
    }
    if model is not None:
        out["model"] = {
            "parameters": model_label(),
            "members": model.members,
            "seed": model.seed,
            "grid": str(model.data_dir) if model.data_dir else "synthetic",
            "months": f"{model.month(model.start)}..{model.month(model.end)}",
        }
    return out


def write_claims(
    df: pd.DataFrame, out_dir: str | Path, provenance: Mapping[str, Any] | None = None
) -> list[Path]:
    """Write the audit table as ``claims_audit.csv``, ``claims_audit.json`` (records) and
    ``claims_audit_meta.json`` (the table's provenance: ``provenance``, default the one
    :func:`audit` attached to ``df.attrs``)."""
    missing = [c for c in AUDIT_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"not an audit table: missing column(s) {missing}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    csv, js, meta = (out / f"claims_audit{s}" for s in (".csv", ".json", "_meta.json"))
    records = json.loads(df.to_json(orient="records", force_ascii=False))
    prov = dict(df.attrs.get("provenance", {}) if provenance is None else provenance)
    return write_all_atomic([
        (csv, text_writer(df.to_csv(index=False))),
        (js, text_writer(_json_text(records))),
        (meta, text_writer(_json_text({"provenance": prov, "rows": len(df)}))),
    ])  # fmt: skip


def _json_text(obj: Any) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False) + "\n"

"""What the claim tests share: the :class:`Context` (store, country-year table, timeline, model
runs, each loaded once) and the registry of tests by claim id (:data:`TESTS`, filled by
:func:`claim_test` in ``data_tests``, ``source_tests`` and ``model_tests``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from sahelsim.claims.load import Claim
from sahelsim.claims.runner import ModelRuns
from sahelsim.claims.verdicts import Result, Untestable
from sahelsim.core.canon import CORE_ISO3
from sahelsim.data.store.store import Store
from sahelsim.evidence.indicators import country_year
from sahelsim.evidence.timeline import load_timeline

#: A claim test: the claim and the shared context in, its result out.
ClaimTest = Callable[[Claim, "Context"], Result]


class Context:
    """Data and model runs shared by the tests (each loaded once, on first use).

    ``cy``: a country-year table like :func:`sahelsim.evidence.indicators.country_year`'s, used
    instead of reading it from the store (tests pass crafted tables).
    """

    def __init__(
        self, store: Store, model: ModelRuns | None, cy: pd.DataFrame | None = None
    ) -> None:
        self.store = store
        self.model = model
        self._cy: pd.DataFrame | None = cy
        self._tl: pd.DataFrame | None = None

    @property
    def cy(self) -> pd.DataFrame:
        if self._cy is None:
            try:
                self._cy = country_year(self.store, CORE_ISO3)
            except LookupError as exc:
                raise Untestable(str(exc)) from None
            if self._cy.empty:
                raise Untestable("no UCDP country-year rows for MLI, BFA, NER in the store")
        return self._cy

    def series(self, iso3: str, column: str | pd.Series) -> pd.Series:
        cy = self.cy
        vals = cy[column] if isinstance(column, str) else column
        s = pd.Series(vals.to_numpy(dtype=float), index=cy["year"].to_numpy())
        return s[(cy["iso3"] == iso3).to_numpy()]

    @property
    def ucdp_source(self) -> str:
        v = sorted({str(x) for x in self.cy["ucdp_version"].dropna()})
        return f"UCDP country-year v{'/'.join(v) or '?'}"

    def version(self, source: str) -> str | None:
        led = self.store.ledger()
        led = led[(led["source"] == source) & ~led["superseded"].astype(bool)]
        vals = sorted({str(v) for v in led["version"].dropna()})
        return "/".join(vals) if vals else None

    @property
    def timeline(self) -> pd.DataFrame:
        if self._tl is None:
            self._tl = load_timeline(expand=False)
        return self._tl

    def event(self, event_id: str) -> Any:
        tl = self.timeline
        row = tl[tl["id"] == event_id]
        if row.empty:
            raise Untestable(f"timeline event {event_id!r} not found")
        return next(row.itertuples(index=False))

    def require_model(self) -> ModelRuns:
        if self.model is None:
            raise Untestable("model not run (audit with model=True to get the model's answer)")
        return self.model


#: The test of each claim id.
TESTS: dict[str, ClaimTest] = {}


def claim_test(claim_id: str) -> Callable[[ClaimTest], ClaimTest]:
    """Register the decorated function as the test of ``claim_id``."""

    def deco(fn: ClaimTest) -> ClaimTest:
        if claim_id in TESTS:
            raise RuntimeError(f"two tests for claim {claim_id!r}")
        TESTS[claim_id] = fn
        return fn

    return deco

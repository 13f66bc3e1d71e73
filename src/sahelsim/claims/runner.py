"""The scenario runs behind the model tests (:class:`ModelRuns`) and how the model's parameters
were set (:func:`model_label`).

Model verdicts compare scenarios of the model: paired members (common random numbers) and the
5-95 % range of their differences, from :func:`sahelsim.scenarios.run.compare`. They state what
the model's assumptions imply, never what happened.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import xarray as xr

from sahelsim.core.canon import CORE_ISO3
from sahelsim.model.engine import Record
from sahelsim.scenarios.posterior import load_posterior
from sahelsim.scenarios.run import (
    HISTORY_START,
    PROJECTION_START,
    compare,
    month_label,
    run_scenario,
)
from sahelsim.scenarios.scenario import Scenario, load_scenario

log = logging.getLogger(__name__)

#: Runs a scenario like :func:`sahelsim.scenarios.run.run_scenario` (same keywords).
RunFunction = Callable[..., xr.Dataset]


@functools.cache
def model_label() -> str:
    """How the model's parameters were set: the shipped posterior, or the priors.

    Computed on first use (it reads the packaged posterior) and cached for the process.
    """
    post = load_posterior()
    if post is None:
        return "UNCALIBRATED model (default priors)"
    years = post.meta.get("settings", {}).get("years", ["?", "?"])
    return (
        f"model calibrated by ABC-SMC on UCDP/UNHCR country-years {years[0]}-{years[1]} "
        f"(posterior draws per member; data hash {str(post.meta.get('data_hash', ''))[:12]})"
    )


class ModelRuns:
    """Scenario runs of the model, each run once on first use.

    ``run_fn`` runs one scenario (default :func:`~sahelsim.scenarios.run.run_scenario`); tests
    pass a function returning a crafted dataset so the verdicts can be checked exactly.
    """

    def __init__(
        self,
        data_dir: Path | None,
        members: int,
        seed: int,
        months: int,
        run_fn: RunFunction | None = None,
    ) -> None:
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.members, self.seed, self.months = int(members), int(seed), int(months)
        self.start = HISTORY_START
        self.projection_start = PROJECTION_START
        self.end = HISTORY_START + self.months - 1
        self.effective = month_label(PROJECTION_START)
        self._run_fn = run_fn
        self._runs: dict[str, xr.Dataset] = {}

    @staticmethod
    def month(mid: int) -> str:
        """``YYYY-MM`` of a month id."""
        return month_label(mid)

    def label(self, *scenarios: str) -> str:
        """The source of a model row: scenarios, members, seed, grid and months (how the
        parameters were set is the table's provenance, :func:`model_label`, not repeated here)."""
        grid = f"real grid ({self.data_dir})" if self.data_dir else "synthetic grid"
        return (
            f"sahelsim model; scenario(s) {', '.join(scenarios)}; "
            f"{self.members} members, seed {self.seed}, {grid}, "
            f"{self.month(self.start)}..{self.month(self.end)}"
        )

    def scenario(self, key: str) -> Scenario:
        """The scenario behind a run key (the packaged scenarios and the audit's variants)."""
        acc = load_scenario("acceleration")
        if key == "acceleration":
            return acc
        if key == "accommodation":
            return load_scenario("accommodation")
        if key == "accords_only":
            data = load_scenario("accommodation").model_dump()
            data["name"] = "accommodation_accords_only"
            data["changes"] = [c for c in data["changes"] if c["lever"] != "restraint"]
            return Scenario.model_validate(data)
        eff = self.effective
        if key == "russia_x2":
            now = acc.lever_series(self.projection_start, 1)["russia_personnel"][0]
            doubled = {c: float(2 * v) for c, v in zip(CORE_ISO3, now, strict=True)}
            return acc.with_overrides(effective=eff, russia_personnel=doubled)
        if key == "joint_force_0":
            return acc.with_overrides(effective=eff, joint_force=0.0)
        if key == "joint_force_15000":
            return acc.with_overrides(effective=eff, joint_force=15000.0)
        if key == "restraint_0.8":
            return acc.with_overrides(effective=eff, restraint=0.8)
        raise KeyError(key)

    def run(self, key: str) -> xr.Dataset:
        """The run of scenario ``key`` (simulated on first use)."""
        if key not in self._runs:
            log.info("claims audit: running %s (%d members, %d months)", key, self.members,
                     self.months)  # fmt: skip
            run_fn = self._run_fn or run_scenario
            self._runs[key] = run_fn(
                self.scenario(key),
                data_dir=self.data_dir,
                synthetic=self.data_dir is None,
                members=self.members,
                months=self.months,
                seed=self.seed,
                record=Record(cells=()),
            )
        return self._runs[key]

    def compare(self, a: str, b: str) -> pd.DataFrame:
        """``run.compare`` of B minus A over the projection, indexed by (outcome, country)."""
        c = compare(self.run(a), self.run(b), self.projection_start)
        return c.set_index(["outcome", "country"])

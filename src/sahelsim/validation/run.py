"""Run the pattern scorecard: simulate the shipped posterior over the history, measure each
pattern of ``resources/patterns.toml`` and return one row per pattern and unit.

A failed pattern is a result, never an exception; a pattern whose data are absent is "not
evaluated" with the reason. :func:`render_table` gives the rich table for the command line.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely
import xarray as xr
from rich.table import Table
from rich.text import Text

from sahelsim.core.atomic import (
    text_writer,
    write_all_atomic,
)
from sahelsim.core.backend import Backend
from sahelsim.core.canon import month_id
from sahelsim.data.readers import ged_cm as ged_cm_reader
from sahelsim.data.readers.dtm import SOURCE as DTM_SOURCE
from sahelsim.data.readers.naturalearth import ADMIN1_FILE, read_admin1
from sahelsim.data.store.store import Store
from sahelsim.evidence.indicators import country_year
from sahelsim.evidence.ingest import ingest_all
from sahelsim.grid.build import NATURALEARTH_FOLDER
from sahelsim.model.engine import Record
from sahelsim.model.space import Space
from sahelsim.scenarios.posterior import load_posterior
from sahelsim.scenarios.run import HISTORY_START, make_space, run_scenario
from sahelsim.validation.context import Context, NotEvaluated
from sahelsim.validation.measures import MEASURES
from sahelsim.validation.patterns import Pattern, load_patterns

log = logging.getLogger(__name__)

GED_CM_FOLDER = ged_cm_reader.FOLDER
GED_CM_FILE = ged_cm_reader.FILE
GED_CM_TYPES = {"ged_best_sb": "deaths_state_based", "ged_best_ns": "deaths_non_state",
                "ged_best_os": "deaths_one_sided"}  # fmt: skip
COLUMNS = ["pattern", "title", "unit", "unit_name", "measures", "display", "observed", "target",
           "tolerance", "median", "q05", "q95", "status", "note"]  # fmt: skip
STATUSES = ("pass", "fail", "not evaluated", "reported")
Progress = Callable[[str, int, int], None]


@dataclass
class ValidationResult:
    """The scorecard: ``rows`` (columns :data:`COLUMNS`) and run metadata."""

    rows: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        vc = self.rows["status"].value_counts()
        return {s: int(vc.get(s, 0)) for s in STATUSES}

    def write(self, out: Path) -> list[Path]:
        """``validate.csv`` and ``validate.json`` in ``out``, written atomically as a set."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        doc = {"meta": self.meta, "counts": self.counts(),
               "rows": json.loads(self.rows.to_json(orient="records"))}  # fmt: skip
        paths = [out / "validate.csv", out / "validate.json"]
        return write_all_atomic([
            (paths[0], text_writer(self.rows.to_csv(index=False))),
            (paths[1], text_writer(json.dumps(doc, indent=2, ensure_ascii=False))),
        ])  # fmt: skip


# -- inputs --------------------------------------------------------------------------------------
def cell_areas(lon: np.ndarray, lat: np.ndarray, polygons: pd.DataFrame) -> np.ndarray:
    """Name of the polygon (``polygons``: name, geometry) containing each point; None outside."""
    pts = shapely.points(np.asarray(lon, float), np.asarray(lat, float))
    geoms = polygons["geometry"].to_numpy()
    tree = shapely.STRtree(geoms)
    pi, gi = tree.query(pts, predicate="within")
    out = np.full(len(pts), None, dtype=object)
    out[pi] = polygons["name"].to_numpy(dtype=object)[gi]
    return out


def read_observed(ctx: Context, data_dir: Path | None, store: Store | Path | None) -> None:
    """Fill the observed tables of ``ctx`` from ``store`` (a Store, a store file, or None: a
    temporary store ingested from ``data_dir``)."""
    if store is None and data_dir is None:
        ctx.missing.update(observed_cy="no data directory", dtm="no data directory")
        return
    with tempfile.TemporaryDirectory(prefix="sahelsim-validate-") as tmp:
        opened = None
        try:
            if isinstance(store, Store):
                st = store
            elif store is not None:
                if not Path(store).exists():
                    raise FileNotFoundError(f"store {store} does not exist")
                st = opened = Store(Path(store), read_only=True)
            else:
                st = opened = Store(Path(tmp) / "validate.duckdb")
                ingest_all(Path(data_dir), st)
            _read_store(ctx, st)
        except (FileNotFoundError, OSError, LookupError, ValueError) as exc:
            log.warning("observed data unavailable: %s", exc)
            ctx.missing.setdefault("observed_cy", f"observed data unavailable: {exc}")
            ctx.missing.setdefault("dtm", f"observed data unavailable: {exc}")
        finally:
            if opened is not None:
                opened.close()


def _read_store(ctx: Context, st: Store) -> None:
    try:
        ctx.observed_cy = country_year(st)
    except LookupError as exc:
        ctx.missing["observed_cy"] = str(exc)
    has = st.sql("SELECT count(*) AS n FROM information_schema.tables WHERE table_name = ?",
                 ["displacement"])["n"].iloc[0]  # fmt: skip
    dtm = st.sql("SELECT * FROM displacement WHERE source = ?", [DTM_SOURCE]) if has else None
    if dtm is None or dtm.empty:
        ctx.missing["dtm"] = "no IOM DTM Mali rows in the store"
    else:
        ctx.dtm = dtm


def read_ged_cm(data_dir: Path) -> pd.DataFrame:
    """The ViEWS UCDP GED country-month file as a long frame (iso3, month_id, type, value),
    read by the project's checked reader (:func:`sahelsim.data.readers.ged_cm.read_ged_cm`)."""
    path = Path(data_dir) / GED_CM_FOLDER / GED_CM_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} not found (UCDP GED country-month, ViEWS 2020)")
    data = ged_cm_reader.read_ged_cm(path).data
    long = data.melt(id_vars=["iso3", "month_id"], value_vars=list(GED_CM_TYPES),
                     var_name="column", value_name="value")  # fmt: skip
    long["type"] = long["column"].map(GED_CM_TYPES)
    return long[["iso3", "month_id", "type", "value"]]


def _geography(ctx: Context, space: Space, data_dir: Path | None, synthetic: bool) -> None:
    ctx.cell_country = space.country
    ctx.core = space.core
    if synthetic or data_dir is None:
        ctx.missing["cell_admin1"] = "synthetic grid: no admin-1 polygons"
        return
    try:
        admin1 = read_admin1(Path(data_dir) / NATURALEARTH_FOLDER / ADMIN1_FILE).data
    except (FileNotFoundError, OSError, ValueError) as exc:
        ctx.missing["cell_admin1"] = f"Natural Earth admin-1 unavailable: {exc}"
        return
    ctx.cell_admin1 = cell_areas(space.lon, space.lat, admin1)
    ctx.missing["cell_admin2"] = "no admin-2 (cercle) polygons in the data folder"


def _lever_runner(space: Space, data_dir, members: int, seed: int, backend, progress):
    cache: dict[tuple[str, int, int], xr.Dataset] = {}

    def run(name: str, y0: int, y1: int) -> xr.Dataset:
        if (name, y0, y1) not in cache:
            log.info("lever run %s %d-%d, %d members", name, y0, y1, members)
            cache[(name, y0, y1)] = run_scenario(
                name, data_dir=data_dir, members=members, start=f"{y0}-01",
                months=(y1 - y0 + 1) * 12, seed=seed, record=Record(cells=()), space=space,
                backend=backend, progress=progress)  # fmt: skip
        return cache[(name, y0, y1)]

    return lambda ref, name, y0, y1: (run(ref, y0, y1), run(name, y0, y1))


# -- the scorecard -------------------------------------------------------------------------------
def evaluate(patterns: list[Pattern], ctx: Context) -> pd.DataFrame:
    """One row per pattern and unit (see :data:`COLUMNS`); never raises on a pattern."""
    rows = []
    for p in patterns:
        fn = MEASURES[p.measure]
        for u in p.unit:
            row = {"pattern": p.id, "title": p.title, "unit": u.unit, "unit_name": u.name,
                   "measures": p.measures, "display": p.display, "observed": "",
                   "target": u.target_text(p.display),
                   "tolerance": u.tolerance, "median": np.nan, "q05": np.nan, "q95": np.nan}  # fmt: skip
            try:
                m = fn(p, u, ctx)
            except NotEvaluated as exc:
                row.update(status="not evaluated", note=str(exc))
                rows.append(row)
                continue
            if m.passed is not None:
                status = "pass" if m.passed else "fail"
            elif u.reported:
                status = "reported"
            else:
                status = "pass" if np.isfinite(m.value) and u.passes(m.value) else "fail"
            row.update(observed=m.observed, median=m.value, q05=m.q05, q95=m.q95,
                       status=status, note=m.note)  # fmt: skip
            if m.target:
                row["target"] = m.target
            rows.append(row)
            log.info("%s %s: %s (%s)", p.id, u.name, status, m.note)
    return pd.DataFrame(rows, columns=COLUMNS)


def run_validation(
    *,
    data_dir: Path | None,
    store: Store | Path | None = None,
    members: int = 200,
    seed: int = 0,
    years: tuple[int, int] = (2012, 2024),
    out: Path | None = None,
    backend: Backend | None = None,
    progress: Progress | None = None,
    synthetic: bool = False,
    lever_members: int | None = None,
    patterns: list[Pattern] | None = None,
) -> ValidationResult:
    """Simulate the acceleration scenario (the timeline history) from ``years[0]``-01 for the
    years given with the shipped posterior, measure every pattern and return the scorecard;
    with ``out``, also write ``validate.csv`` and ``validate.json`` there.

    ``store``: an open Store or a store file with the ingested data (None: a temporary store
    ingested from ``data_dir``). ``synthetic``: run on the synthetic grid (patterns needing
    real data are not evaluated). ``lever_members``: members of the P8 scenario runs (default
    the pattern's ``members`` parameter).
    """
    t0 = time.perf_counter()
    patterns = patterns if patterns is not None else load_patterns(measures=MEASURES)
    data_dir = Path(data_dir) if data_dir is not None else None
    space = make_space(data_dir, HISTORY_START, synthetic=synthetic)
    if not synthetic and (data_dir is None or np.array_equal(space.gid, Space.synthetic().gid)):
        synthetic = True  # make_space fell back to the synthetic grid (logged there)
    start = int(month_id(years[0], 1))
    ds = run_scenario("acceleration", data_dir=data_dir, members=members, start=start,
                      months=(years[1] - years[0] + 1) * 12, seed=seed, space=space,
                      record=Record(cells=("deaths", "idp")), backend=backend,
                      progress=progress)  # fmt: skip
    ctx = Context(ds=ds)
    post = load_posterior()
    obs_model = (post.meta.get("observation") or {}) if post is not None else {}
    ctx.obs_sizes = {lvl: float(obs_model[f"size_{lvl}"]) for lvl in ("year", "month")
                     if f"size_{lvl}" in obs_model}  # fmt: skip
    _geography(ctx, space, data_dir, synthetic)
    if synthetic:
        reason = "synthetic grid: observed data are not compared"
        ctx.missing.update(observed_cy=reason, dtm=reason, ged_cm=reason)
    else:
        read_observed(ctx, data_dir, store)
        try:
            ctx.ged_cm = read_ged_cm(data_dir)
        except (FileNotFoundError, ValueError) as exc:
            ctx.missing["ged_cm"] = str(exc)
    p8 = next((p for p in patterns if p.measure == "lever_response"), None)
    n_lever = lever_members or int(p8.params.get("members", 100) if p8 else 100)
    ctx.lever = _lever_runner(space, data_dir, n_lever, seed, backend, progress)
    rows = evaluate(patterns, ctx)
    meta = {"members": int(members), "lever_members": n_lever, "seed": int(seed),
            "years": list(years), "data_dir": str(data_dir) if data_dir else None,
            "synthetic": bool(synthetic), "cells": int(space.n_cells),
            "seconds": round(time.perf_counter() - t0, 1)}  # fmt: skip
    result = ValidationResult(rows, meta)
    if out is not None:
        result.write(Path(out))
    return result


# -- display -------------------------------------------------------------------------------------
_STYLE = {"pass": "green", "fail": "red", "not evaluated": "yellow", "reported": "cyan"}


def _cell(x: float, display: str = "number") -> str:
    if not np.isfinite(x):
        return ""
    if display == "year":
        return f"{x:.0f}" if float(x).is_integer() else f"{x:.1f}"
    if display == "percent":
        return f"{100 * x:.0f} %"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def render_table(result: ValidationResult) -> Table:
    """The scorecard as a rich table (pattern, unit, target, median, 90 % interval, status)."""
    t = Table(title="Pattern scorecard", show_lines=False)
    for col in ("Pattern", "Unit", "Target", "Median", "90 % interval", "Status", "How / why"):
        t.add_column(col, overflow="fold")
    for r in result.rows.itertuples(index=False):
        d = r.display
        interval = f"{_cell(r.q05, d)}–{_cell(r.q95, d)}" if np.isfinite(r.q05) else ""
        tol = f"{100 * r.tolerance:g} points" if d == "percent" else f"{r.tolerance:g}"
        target = r.target + (f" ±{tol}" if r.tolerance else "")
        t.add_row(Text(f"{r.pattern} {r.title}"), Text(r.unit_name), Text(target),
                  _cell(r.median, d), interval, Text(r.status, style=_STYLE.get(r.status, "")),
                  Text(r.note))  # fmt: skip
    c = result.counts()
    t.caption = ", ".join(f"{v} {k}" for k, v in c.items())
    return t

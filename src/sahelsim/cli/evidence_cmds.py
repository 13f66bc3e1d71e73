"""Evidence commands: indicator tables, the institutional timeline, the claims audit."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from sahelsim.claims.audit import audit, write_claims
from sahelsim.cli.console import Bar, progress, say, table, write_tables
from sahelsim.cli.data_cmds import print_reports
from sahelsim.cli.options import DataDir, Members, Out, Seed, Store, check_members
from sahelsim.cli.seams import DEFAULT_OUT, data_or_none, ingested_store
from sahelsim.core.canon import CORE_ISO3
from sahelsim.evidence import indicators as ind
from sahelsim.evidence.timeline import compare_around, load_timeline

#: Months the claims audit simulates (its default).
CLAIMS_MONTHS = 192


def compute_indicators(st: Any, out: Path, bar: Bar | None = None) -> dict[str, Any]:
    """Indicator tables of an ingested store, with before/after comparisons around the
    timeline's events, written as CSV + Parquet under ``out/indicators``."""
    if bar:
        bar("indicators", 1, 2)
    res = ind.compute(st)
    tables = res.tables()
    tl = load_timeline()
    cy = res.country_year
    tables["before_after"] = compare_around(cy[cy["iso3"].isin(CORE_ISO3)], timeline=tl, window=3)
    tables["timeline"] = tl
    if bar:
        bar("write", 2, 2)
    paths = write_tables(tables, out / "indicators")
    return {"indicators": res, "tables": tables, "paths": paths}


def print_indicators(reports: list[Any], res: dict[str, Any], out: Path, t0: float) -> None:
    print_reports(reports)
    _print_country_year(res["indicators"].country_year)
    ba = res["tables"]["before_after"]
    if len(ba):
        _print_before_after(ba)
    say(f"wrote {len(res['paths'])} files under {out / 'indicators'}"
        f" in {time.perf_counter() - t0:.1f} s")  # fmt: skip


def _print_country_year(cy: Any, years: int = 8) -> None:
    last = int(cy["year"].max())
    sub = cy[cy["iso3"].isin(CORE_ISO3) & (cy["year"] > last - years)]
    cols = ["iso3", "year", "deaths_state_based", "deaths_non_state", "deaths_one_sided",
            "deaths_total", "civilians_killed_by_government", "civilians_killed_by_nonstate",
            "deaths_per_100k", "idps"]  # fmt: skip

    def fmt(c: str, v: Any) -> str:
        if c in ("iso3", "year"):
            return str(v)
        if v != v:  # NaN
            return "-"
        return f"{v:.1f}" if c == "deaths_per_100k" else f"{v:,.0f}"

    rows = [[fmt(c, v) for c, v in zip(cols, r, strict=True)]
            for r in sub[cols].itertuples(index=False)]  # fmt: skip
    table(f"UCDP deaths in organized violence, best estimates ({last - years + 1}-{last})",
          cols, rows, right=cols[1:])  # fmt: skip


def _print_before_after(ba: Any) -> None:
    keep = ba[ba["measure"] == "deaths_total"] if "measure" in ba else ba
    cols = [c for c in ("event_id", "iso3", "measure", "rate_before", "rate_after", "rate_ratio",
                        "rr_low_overdispersed", "rr_high_overdispersed") if c in keep]  # fmt: skip
    rows = [[f"{v:.2f}" if isinstance(v, float) else str(v) for v in r]
            for r in keep[cols].head(30).itertuples(index=False)]  # fmt: skip
    table("Before/after institutional events (UCDP deaths, 3 years each side)", cols, rows)


def indicators(data_dir: DataDir = None, store: Store = None, out: Out = DEFAULT_OUT) -> int:
    """Ingest the data directory and write the indicator tables (CSV + Parquet)."""
    t0 = time.perf_counter()
    with progress() as p:
        bar = Bar(p, "ingest")
        st, _, reports = ingested_store(data_dir, store, out, progress=bar)
        with st:
            res = compute_indicators(st, out, bar)
    print_indicators(reports, res, out, t0)
    return 0


def timeline() -> int:
    """The dated institutional timeline (coups, charters, withdrawals) used by the indicators."""
    tl = load_timeline()
    table("Institutional timeline", ("date", "iso3", "kind", "label", "source"),
          [(str(r.date)[:10], r.iso3, r.kind, r.label, r.source) for r in tl.itertuples()])  # fmt: skip
    return 0


_COLOUR = {
    "supported": "green", "contradicted": "red", "mixed": "yellow",
    "consistent with the data": "green", "not consistent with the data": "red",
    "model: consistent": "cyan", "model: not consistent": "magenta", "model: mixed": "yellow",
}  # fmt: skip


def print_claims(df: Any) -> None:
    rows = [(r.id, Text(str(r.verdict), style=_COLOUR.get(str(r.verdict), "white")), r.figure,
             r.evidence) for r in df.itertuples()]  # fmt: skip
    table("Claims audit", ("id", "verdict", "figure", "evidence"), rows, show_lines=True)


def claims(
    data_dir: DataDir = None,
    store: Store = None,
    out: Out = DEFAULT_OUT,
    members: Members = 100,
    seed: Seed = 0,
    no_model: Annotated[
        bool, typer.Option("--no-model", help="Data verdicts only (no model runs).")
    ] = False,
) -> int:
    """Audit the article's claims against the data and the model."""
    if not no_model:
        check_members(members, CLAIMS_MONTHS, runs=2)
    st, dd, _ = ingested_store(data_dir, store, out)
    with st:
        df = audit(st, model=not no_model, members=members, seed=seed, data_dir=data_or_none(dd))
    paths = write_claims(df, out / "claims")
    print_claims(df)
    for p in paths:
        say(f"wrote {p}")
    return 0

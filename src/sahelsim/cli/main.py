"""Command-line interface. The only place that configures logging and draws progress bars."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sahelsim import __version__
from sahelsim.core.config import resolve_data_dir
from sahelsim.core.errors import SahelsimError

console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)
log = logging.getLogger("sahelsim.cli")

DEFAULT_OUT = Path("out")


def _setup_logging(verbosity: int) -> None:
    level = logging.WARNING - 10 * verbosity
    logging.basicConfig(
        level=max(level, logging.DEBUG),
        format="%(message)s",
        handlers=[RichHandler(console=err_console, show_path=False)],
        force=True,
    )


def _store_path(args: argparse.Namespace) -> Path:
    if getattr(args, "store", None):
        return Path(args.store)
    return Path(getattr(args, "out", None) or DEFAULT_OUT) / "sahelsim.duckdb"


class _Bar:
    """Adapts a Rich progress bar to the library's ``progress(label, done, total)`` callback."""

    def __init__(self, progress: Progress, label: str) -> None:
        self.p = progress
        self.task = progress.add_task(label, total=None)

    def __call__(self, label: str, done: int, total: int) -> None:
        self.p.update(self.task, description=label, completed=done, total=total)


def _progress() -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    )


# -- data ----------------------------------------------------------------------------------
def cmd_data_ingest(args: argparse.Namespace) -> int:
    from sahelsim.data.store.store import Store
    from sahelsim.evidence.ingest import ingest_all

    data_dir = resolve_data_dir(args.data_dir)
    with Store(_store_path(args)) as st:
        if args.file:
            rep = st.ingest_events(
                Path(args.file), fmt=args.format, source=args.source, encoding=args.encoding
            )
            reports = [rep]
        else:
            with _progress() as p:
                reports = ingest_all(data_dir, st, progress=_Bar(p, "ingest"))
        _print_reports(reports)
    return 0


def _print_reports(reports: Sequence[Any]) -> None:
    t = Table(title="Ingest")
    for c in ("source", "file", "read", "accepted", "quarantined", "filtered", "merged", "status"):
        t.add_column(c, justify="right" if c not in ("source", "file", "status") else "left")
    for r in reports:
        t.add_row(
            r.source, Path(r.file).name, f"{r.rows_read:,}", f"{r.rows_accepted:,}",
            f"{r.rows_quarantined:,}", f"{r.rows_filtered:,}", f"{r.rows_merged:,}",
            "unchanged (already ingested)" if r.skipped else "loaded",
        )  # fmt: skip
    console.print(t)
    skipped = sum(1 for r in reports if r.skipped)
    if skipped:
        console.print(f"{skipped} file(s) already ingested (same sha256): unchanged")


def _provenance(folder: Path) -> tuple[str, str]:
    """(title, license) from a folder's PROVENANCE.md or DOWNLOAD.json."""
    prov = folder / "PROVENANCE.md"
    title, lic = "", ""
    if prov.exists():
        for line in prov.read_text(encoding="utf-8").splitlines():
            if line.startswith("# ") and not title:
                title = line[2:].strip()
            if "**License**" in line and not lic:
                lic = line.split(":", 1)[-1].strip().strip("*").strip()
    dl = folder / "DOWNLOAD.json"
    if dl.exists() and not lic:
        try:
            meta = json.loads(dl.read_text(encoding="utf-8"))
            lic = str(meta.get("license", ""))
            title = title or str(meta.get("url", ""))
        except json.JSONDecodeError:
            pass
    return title, lic


def cmd_data_status(args: argparse.Namespace) -> int:
    from sahelsim.data.ingest import present_sources
    from sahelsim.data.store.store import Store

    data_dir = resolve_data_dir(args.data_dir)
    console.print(f"data directory: [bold]{data_dir}[/]  (exists: {data_dir.exists()})")
    store_path = _store_path(args)
    ledger = None
    unmatched: list[str] = []
    if store_path.exists():
        with Store(store_path, read_only=True) as st:
            ledger = st.ledger()
            an = st.table("actor_names")
            unmatched = sorted(an.loc[an["actor"] == "unmatched", "raw_name"].astype(str))
    t = Table(title="Sources", show_lines=False)
    for c in ("source", "files", "provenance", "license", "read", "accepted", "quarantined",
              "filtered"):  # fmt: skip
        t.add_column(c, overflow="fold")
    for spec, files in present_sources(data_dir):
        if files:
            title, lic = _provenance(files[0].parent)
        else:
            title, lic = "absent (sahelsim data download " + spec.name + ")", spec.license
        counts = ["", "", "", ""]
        if ledger is not None and len(ledger):
            sub = ledger[(ledger["source"] == spec.name) & (~ledger["superseded"])]
            if len(sub):
                counts = [f"{int(sub[c].sum()):,}" for c in ("rows_read", "rows_accepted",
                          "rows_quarantined", "rows_filtered")]  # fmt: skip
        t.add_row(spec.name, ", ".join(f.name for f in files[:3]) or "-", title[:70],
                  lic or spec.license, *counts)  # fmt: skip
    console.print(t)
    if ledger is None:
        console.print(f"store {store_path} not created yet: run `sahelsim data ingest`")
    else:
        console.print(f"store: {store_path}; {len(ledger)} file(s) in the ledger")
        if unmatched:
            console.print(
                f"[yellow]{len(unmatched)} actor name(s) match no model actor[/] (kept, classed"
                " 'unmatched'):"
            )
            for n in unmatched[:60]:
                console.print(f"  - {n}")
            if len(unmatched) > 60:
                console.print(
                    f"  ... and {len(unmatched) - 60} more (table actor_names, actor = 'unmatched')"
                )
        else:
            console.print("every actor name in the store maps to a model actor")
    return 0


def cmd_data_list(args: argparse.Namespace) -> int:
    from sahelsim.data.download import list_sources

    t = Table(title="Downloadable sources")
    for c in ("name", "title", "license", "url"):
        t.add_column(c, overflow="fold")
    for s in list_sources():
        t.add_row(s.name, s.title, s.license, s.url)
    console.print(t)
    return 0


def cmd_data_download(args: argparse.Namespace) -> int:
    from sahelsim.data.download import download

    data_dir = resolve_data_dir(args.data_dir)
    with _progress() as p:
        task = p.add_task(f"download {args.name}", total=None)

        def cb(done: int, total: int | None) -> None:
            p.update(task, completed=done, total=total)

        path = download(args.name, data_dir, force=args.force, url=args.url, progress=cb)
    console.print(f"{args.name}: {path}")
    return 0


def cmd_data_quarantine(args: argparse.Namespace) -> int:
    from sahelsim.data.store.store import Store

    with Store(_store_path(args), read_only=True) as st:
        q = st.quarantine(args.source)
    t = Table(title=f"Quarantine ({len(q)} rows)")
    for c in ("source", "file", "line", "field", "reason"):
        t.add_column(c, overflow="fold")
    for r in q.head(args.limit).itertuples():
        t.add_row(str(r.source), Path(str(r.source_file)).name, str(r.line), str(r.field),
                  str(r.reason))  # fmt: skip
    console.print(t)
    return 0


# -- indicators ----------------------------------------------------------------------------
def _write_tables(tables: dict[str, Any], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, df in tables.items():
        for ext in ("csv", "parquet"):
            p = out / f"{name}.{ext}"
            if ext == "csv":
                df.to_csv(p, index=False)
            else:
                df.to_parquet(p, index=False)
            written.append(p)
    return written


def run_indicators(args: argparse.Namespace) -> dict[str, Any]:
    from sahelsim.core.canon import CORE_ISO3
    from sahelsim.data.store.store import Store
    from sahelsim.evidence import indicators as ind
    from sahelsim.evidence.ingest import ingest_all
    from sahelsim.evidence.timeline import compare_around, load_timeline

    data_dir = resolve_data_dir(args.data_dir)
    out = Path(args.out)
    with Store(_store_path(args)) as st:
        with _progress() as p:
            bar = _Bar(p, "ingest")
            reports = ingest_all(data_dir, st, progress=bar)
            bar("grid", 0, 1)
            _ensure_grid(st, data_dir)
            bar("indicators", 1, 2)
            res = ind.compute(st)
            tables = res.tables()
            tl = load_timeline()
            cy = res.country_year
            ba = compare_around(cy[cy["iso3"].isin(CORE_ISO3)], timeline=tl, window=3)
            tables["before_after"] = ba
            tables["timeline"] = tl
            bar("write", 2, 2)
        paths = _write_tables(tables, out / "indicators")
    return {"reports": reports, "indicators": res, "tables": tables, "paths": paths}


def _ensure_grid(st: Any, data_dir: Path) -> None:
    """Build the PRIO-GRID study grid into the store (once per store)."""
    if st.count("cells"):
        return
    from sahelsim.grid.build import build_grid

    try:
        grid = build_grid(data_dir)
    except FileNotFoundError as exc:
        log.warning("grid not built: %s", exc)
        return
    st.replace_cells(grid.cells)


def _print_country_year(cy: Any, years: int = 8) -> None:
    from sahelsim.core.canon import CORE_ISO3

    last = int(cy["year"].max())
    sub = cy[cy["iso3"].isin(CORE_ISO3) & (cy["year"] > last - years)]
    t = Table(
        title=f"UCDP deaths in organized violence, best estimates ({last - years + 1}-{last})"
    )
    cols = ["iso3", "year", "deaths_state_based", "deaths_non_state", "deaths_one_sided",
            "deaths_total", "civilians_killed_by_government", "civilians_killed_by_nonstate",
            "deaths_per_100k", "idps"]  # fmt: skip
    for c in cols:
        t.add_column(c.replace("_", " "), justify="left" if c == "iso3" else "right")
    for r in sub[cols].itertuples(index=False):
        vals = []
        for c, v in zip(cols, r, strict=True):
            if c in ("iso3", "year"):
                vals.append(str(v))
            elif v != v:  # NaN
                vals.append("-")
            elif c == "deaths_per_100k":
                vals.append(f"{v:.1f}")
            else:
                vals.append(f"{v:,.0f}")
        t.add_row(*vals)
    console.print(t)


def cmd_indicators(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    res = run_indicators(args)
    _print_reports(res["reports"])
    _print_country_year(res["indicators"].country_year)
    ba = res["tables"]["before_after"]
    if len(ba):
        _print_before_after(ba)
    console.print(f"wrote {len(res['paths'])} files under {Path(args.out) / 'indicators'}"
                  f" in {time.perf_counter() - t0:.1f} s")  # fmt: skip
    return 0


def _print_before_after(ba: Any) -> None:
    keep = ba[ba["measure"] == "deaths_total"] if "measure" in ba else ba
    t = Table(title="Before/after institutional events (UCDP deaths, 3 years each side)")
    cols = [c for c in ("event_id", "iso3", "measure", "rate_before", "rate_after", "rate_ratio",
                        "rr_low_overdispersed", "rr_high_overdispersed") if c in keep]  # fmt: skip
    for c in cols:
        t.add_column(c.replace("_", " "))
    for r in keep[cols].head(30).itertuples(index=False):
        t.add_row(*[f"{v:.2f}" if isinstance(v, float) else str(v) for v in r])
    console.print(t)


def cmd_timeline(args: argparse.Namespace) -> int:
    from sahelsim.evidence.timeline import load_timeline

    tl = load_timeline()
    t = Table(title="Institutional timeline")
    for c in ("date", "iso3", "kind", "label", "source"):
        t.add_column(c, overflow="fold")
    for r in tl.itertuples():
        t.add_row(str(r.date)[:10], str(r.iso3), str(r.kind), str(r.label), str(r.source))
    console.print(t)
    return 0


# -- model -----------------------------------------------------------------------------------
def _is_local(args: argparse.Namespace) -> bool:
    """The default path: everything in this process (no ``--backend ray``, no ``--address``)."""
    return getattr(args, "backend", "local") == "local" and not getattr(args, "address", None)


def _backend(args: argparse.Namespace) -> Any:
    """The backend of ``--backend``/``--address`` (a context manager; see docs/scaling.md)."""
    from sahelsim.distributed.ray_backend import make_backend

    return make_backend(args.backend, args.address)


def _sim_args(args: argparse.Namespace) -> dict[str, Any]:
    data_dir = resolve_data_dir(args.data_dir)
    return {
        "data_dir": data_dir if data_dir.exists() else None,
        "members": args.members,
        "months": args.months,
        "start": args.start,
        "seed": args.seed,
        "synthetic": args.synthetic,
    }


def cmd_simulate(args: argparse.Namespace) -> int:
    from sahelsim.scenarios.run import month_label, run_scenario, summary_frame, write_outputs

    t0 = time.perf_counter()
    if _is_local(args):
        with _progress() as p:
            ds = run_scenario(args.scenario, progress=_Bar(p, "simulate"), **_sim_args(args))
    else:
        from sahelsim.distributed import ray_backend as distributed

        with _backend(args) as be, _progress() as p:
            ds = distributed.run_scenario(args.scenario, backend=be,
                                          progress=_Bar(p, "simulate"), **_sim_args(args))  # fmt: skip
    paths = write_outputs(ds, Path(args.out))
    sm = summary_frame(ds)
    last = int(sm["month_id"].max())
    t = Table(title=f"{args.scenario}: {args.members} members, {month_label(last)}")
    for c in ("variable", "country", "median", "50% interval", "90% interval"):
        t.add_column(c)
    show = ("deaths_total", "territory_state", "territory_jnim", "idps", "fighters_jnim",
            "legitimacy")  # fmt: skip
    sub = sm[
        (sm.month_id == last) & sm.variable.isin(show) & sm.country.isin(["MLI", "BFA", "NER"])
    ]
    for r in sub.sort_values(["variable", "country"]).itertuples():
        t.add_row(r.variable, r.country, f"{r.median:,.2f}", f"{r.q25:,.2f} - {r.q75:,.2f}",
                  f"{r.q05:,.2f} - {r.q95:,.2f}")  # fmt: skip
    console.print(t)
    for pth in paths:
        console.print(f"wrote {pth}")
    console.print(f"{time.perf_counter() - t0:.1f} s")
    return 0


def cmd_scenarios(args: argparse.Namespace) -> int:
    from sahelsim.scenarios.scenario import list_scenarios, load_scenario

    if args.action == "list":
        t = Table(title="Scenarios")
        for c in ("name", "title", "article section"):
            t.add_column(c, overflow="fold")
        for name in list_scenarios():
            sc = load_scenario(name)
            t.add_row(sc.name, sc.title, sc.article_section)
        console.print(t)
        return 0
    if args.action == "show":
        if not args.names:
            raise SahelsimError("scenarios show needs a scenario name")
        sc = load_scenario(args.names[0])
        console.print(f"[bold]{sc.name}[/]: {sc.title}\n{sc.description}")
        console.print(f"article section: {sc.article_section}")
        for ch in sc.changes:
            where = ch.country or "all"
            console.print(
                f"  {ch.date} {ch.lever} = {ch.value} ({where}; ramp {ch.ramp_months} months)"
            )
        return 0
    # compare
    if len(args.names) != 2:
        raise SahelsimError("scenarios compare needs two scenario names: A B")
    from sahelsim.scenarios.run import PROJECTION_START, compare, run_scenario

    a_name, b_name = args.names
    with _progress() as p:
        a = run_scenario(a_name, progress=_Bar(p, a_name), **_sim_args(args))
        b = run_scenario(b_name, progress=_Bar(p, b_name), **_sim_args(args))
    start = max(PROJECTION_START, int(a.month.min()))
    cmp = compare(a, b, start)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cmp.to_csv(out / f"compare_{a_name}_{b_name}.csv", index=False)
    t = Table(title=f"{b_name} minus {a_name} (paired members, projection window)")
    for c in ("outcome", "country", a_name, b_name, "difference", "90% interval", "P(B>A)"):
        t.add_column(c)
    for r in cmp[cmp.country.isin(["MLI", "BFA", "NER"])].itertuples():
        t.add_row(r.outcome, r.country, f"{r.a_median:,.2f}", f"{r.b_median:,.2f}",
                  f"{r.diff_median:+,.2f}", f"{r.diff_q05:+,.2f} .. {r.diff_q95:+,.2f}",
                  f"{r.share_b_higher:.2f}")  # fmt: skip
    console.print(t)
    console.print(f"wrote {out / f'compare_{a_name}_{b_name}.csv'}")
    return 0


# -- evidence from the model -----------------------------------------------------------------
def _store_with_data(args: argparse.Namespace) -> Any:
    from sahelsim.data.store.store import Store
    from sahelsim.evidence.ingest import ingest_all

    data_dir = resolve_data_dir(getattr(args, "data_dir", None))
    st = Store(_store_path(args))
    ingest_all(data_dir, st)
    _ensure_grid(st, data_dir)
    return st, data_dir


def cmd_claims(args: argparse.Namespace) -> int:
    from sahelsim.claims.audit import audit, write_claims

    st, data_dir = _store_with_data(args)
    with st:
        df = audit(st, model=not args.no_model, members=args.members, seed=args.seed,
                   data_dir=data_dir if data_dir.exists() else None)  # fmt: skip
    paths = write_claims(df, Path(args.out) / "claims")
    t = Table(title="Claims audit", show_lines=True)
    for c in ("id", "verdict", "figure", "evidence"):
        t.add_column(c, overflow="fold")
    colour = {"supported": "green", "contradicted": "red", "mixed": "yellow"}
    for r in df.itertuples():
        v = str(r.verdict)
        t.add_row(str(r.id), f"[{colour.get(v, 'white')}]{v}[/]", str(r.figure), str(r.evidence))
    console.print(t)
    for p in paths:
        console.print(f"wrote {p}")
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from sahelsim.inference.calibrate import run_calibration

    y0, y1 = (int(x) for x in args.years.split("-"))
    be = None if _is_local(args) else _backend(args)
    st, data_dir = _store_with_data(args)
    t0 = time.perf_counter()
    dd = data_dir if data_dir.exists() else None
    extra: dict[str, Any] = {}
    if be is not None:
        from sahelsim.distributed.ray_backend import calibration_simulator

        extra["simulator"] = calibration_simulator(be, years=(y0, y1), seed=args.seed,
                                                   data_dir=dd, synthetic=args.synthetic)  # fmt: skip
    try:
        with st, _progress() as p:
            res = run_calibration(
                st, out=Path(args.out) / "calibration", install=args.install,
                data_dir=dd, progress=_Bar(p, "calibrate"),
                n_particles=args.particles, generations=args.generations, years=(y0, y1),
                seed=args.seed, max_simulations=args.max_simulations, synthetic=args.synthetic,
                **extra,
            )  # fmt: skip
    finally:
        if be is not None:
            be.close()
    post = res["posterior"]
    sm = post.summary()
    t = Table(title=f"Posterior ({len(post.weights)} particles)")
    for c in ("parameter", "median", "50% interval", "90% interval"):
        t.add_column(c)
    for r in sm.itertuples():
        t.add_row(
            r.parameter, f"{r.q50:.4g}", f"{r.q25:.4g} - {r.q75:.4g}", f"{r.q05:.4g} - {r.q95:.4g}"
        )
    console.print(t)
    d = res["calibrator"].diagnostics_
    console.print(f"tolerances {[round(e, 3) for e in d['epsilon'][1:]]}; acceptance "
                  f"{[round(a, 3) for a in d['acceptance'][1:]]}; {d['n_simulations']} simulations")  # fmt: skip
    ppc = res["ppc"]
    cov = ppc["in_90"].dropna().astype(bool).mean()
    console.print(
        f"posterior predictive: {cov:.0%} of observed country-years inside the 90 % interval"
    )
    console.print(res["attrition"])
    for k, pth in res["paths"].items():
        console.print(f"{k}: {pth}")
    console.print(f"{time.perf_counter() - t0:.0f} s; data hash {post.meta['data_hash'][:16]}")
    return 0


def cmd_forecast(args: argparse.Namespace) -> int:
    from sahelsim.forecast.backtest import forecast
    from sahelsim.scenarios.posterior import load_posterior

    data_dir = resolve_data_dir(args.data_dir)
    years = tuple(int(y) for y in args.years.split(","))
    if load_posterior() is None:
        log.warning("no calibrated posterior ships with this install: forecasting with priors")
    paths = forecast(years=years, draws=args.draws, seed=args.seed, scenario=args.scenario,
                     data_dir=data_dir if data_dir.exists() else None,
                     synthetic=args.synthetic, out=Path(args.out) / "forecast")  # fmt: skip
    from sahelsim.forecast.views_io import read_views_parquet

    t = Table(title=f"Forecast ({args.draws} draws, scenario {args.scenario})")
    for c in ("target", "year", "country_id", "median", "90% interval"):
        t.add_column(c)
    for tgt in ("sb", "ns", "os"):
        df = read_views_parquet(paths[tgt])
        for (y, cid), g in df.groupby(["year", "country_id"]):
            q = np.quantile(g["outcome"], [0.05, 0.5, 0.95])
            t.add_row(tgt, str(y), str(cid), f"{q[1]:,.0f}", f"{q[0]:,.0f} - {q[2]:,.0f}")
    console.print(t)
    for k, pth in paths.items():
        console.print(f"{k}: {pth}")
    return 0


def cmd_backtest(args: argparse.Namespace) -> int:
    from sahelsim.forecast.backtest import run_backtest

    o0, o1 = (int(x) for x in args.origins.split("-"))
    st, data_dir = _store_with_data(args)
    if _is_local(args):
        with st, _progress() as p:
            res = run_backtest(st, origins=(o0, o1), n_particles=args.particles,
                               generations=args.generations, draws=args.draws, seed=args.seed,
                               data_dir=data_dir if data_dir.exists() else None,
                               synthetic=args.synthetic, progress=_Bar(p, "backtest"))  # fmt: skip
    else:
        from sahelsim.distributed.ray_backend import run_backtest_parallel

        with st, _backend(args) as be, _progress() as p:
            res = run_backtest_parallel(st, origins=(o0, o1), n_particles=args.particles,
                                        generations=args.generations, draws=args.draws,
                                        seed=args.seed,
                                        data_dir=data_dir if data_dir.exists() else None,
                                        synthetic=args.synthetic, backend=be,
                                        progress=_Bar(p, "backtest"))  # fmt: skip
    out = Path(args.out) / "backtest"
    out.mkdir(parents=True, exist_ok=True)
    for name in ("scores", "overall", "by_target", "verdict"):
        res[name].to_csv(out / f"{name}.csv", index=False)
    fc = res["forecasts"].copy()
    fc["draws_median"] = fc["draws"].map(np.median)
    fc["draws_q05"] = fc["draws"].map(lambda a: np.quantile(a, 0.05))
    fc["draws_q95"] = fc["draws"].map(lambda a: np.quantile(a, 0.95))
    fc.drop(columns="draws").to_csv(out / "forecasts.csv", index=False)
    sc = res["scores"]
    t = Table(title="Backtest CRPS by country and violence type (lower is better)")
    names = ["model", "zero", "last_value", "conflictology", "negbin"]
    for c in ("country", "type", *names):
        t.add_column(c)
    for (iso, tgt), g in sc.groupby(["iso3", "target"]):
        vals = {r.forecaster: r.crps for r in g.itertuples()}
        cells = [f"[bold]{vals[n]:,.1f}[/]" if vals[n] == min(vals.values()) else f"{vals[n]:,.1f}"
                 for n in names]  # fmt: skip
        t.add_row(iso, tgt, *cells)
    console.print(t)
    console.print(res["overall"].round(3).to_string(index=False))
    v = res["verdict"].iloc[0]
    msg = (f"model CRPS {v.model_crps:,.1f} vs best baseline ({v.best_baseline}) "
           f"{v.best_baseline_crps:,.1f}: ratio {v.ratio:.2f} (aim <= 0.85: "
           f"{'met' if v.meets_crps_aim else 'NOT met'}); 90 % coverage {v.model_coverage90:.0%} "
           f"(aim 80-95 %: {'met' if v.meets_coverage_aim else 'NOT met'})")  # fmt: skip
    console.print(msg)
    console.print(f"wrote {out}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from sahelsim.report.build import build_report

    st, data_dir = _store_with_data(args)
    out = Path(args.out)
    bt = Path(args.backtest_dir) if args.backtest_dir else None
    with st, _progress() as p:
        path = build_report(st, data_dir=data_dir if data_dir.exists() else None, out=out,
                            members=args.members, seed=args.seed, backtest_dir=bt,
                            progress=_Bar(p, "report"))  # fmt: skip
    console.print(f"report: {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from sahelsim.app import serve

    console.print(f"scenario explorer on http://{args.host}:{args.port} (Ctrl-C stops it)")
    return int(serve(host=args.host, port=args.port, data_dir=args.data_dir,
                     synthetic=args.synthetic))  # fmt: skip


def cmd_run(args: argparse.Namespace) -> int:
    """The main job on the default data: ingest and indicators, the claims audit, calibrated
    forecasts (shipped posterior) and, when the report module is present, the HTML report."""
    t0 = time.perf_counter()
    cmd_indicators(args)
    from sahelsim.claims.audit import audit, write_claims
    from sahelsim.forecast.backtest import forecast

    st, data_dir = _store_with_data(args)
    dd = data_dir if data_dir.exists() else None
    out = Path(args.out)
    with st:
        claims = audit(st, model=True, members=args.members, seed=args.seed, data_dir=dd)
        paths = write_claims(claims, out / "claims")
        counts = claims["verdict"].value_counts().to_dict()
        console.print(f"claims audit: {counts}; wrote {paths[0]}")
        fc = forecast(years=(2025, 2026), draws=1000, seed=args.seed, data_dir=dd,
                      out=out / "forecast")  # fmt: skip
        console.print(f"forecasts (VIEWS layout): {fc['sb'].parent}")
        try:
            from sahelsim.report.build import build_report
        except ImportError:  # pragma: no cover - the report lands with its own issue
            build_report = None
        if build_report is not None:
            backtest_dir = out / "backtest" if (out / "backtest" / "overall.csv").exists() else None
            with _progress() as p:
                rep = build_report(st, data_dir=dd, out=out, members=args.members, seed=args.seed,
                                   backtest_dir=backtest_dir, claims=claims,
                                   progress=_Bar(p, "report"))  # fmt: skip
            console.print(f"report: {rep}")
    console.print(f"main job done in {time.perf_counter() - t0:.0f} s")
    return 0


def cmd_versions(args: argparse.Namespace) -> int:
    import importlib.metadata as md
    import platform

    console.print(f"sahelsim {__version__}; Python {platform.python_version()} on"
                  f" {platform.platform()}")  # fmt: skip
    for pkg in ("numpy", "scipy", "pandas", "pyarrow", "duckdb", "shapely", "rich", "pydantic"):
        try:
            console.print(f"  {pkg} {md.version(pkg)}")
        except md.PackageNotFoundError:
            console.print(f"  {pkg} not installed")
    console.print(f"  data dir: {resolve_data_dir(None)}")
    return 0


# -- parser --------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sahelsim", description=__doc__)
    p.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-v, -vv)")
    p.add_argument("-q", "--quiet", action="store_true", help="warnings only")
    p.add_argument("--version", action="version", version=f"sahelsim {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--data-dir", help="data directory (default: $SAHELSIM_DATA or cache)")
        sp.add_argument("--store", help="DuckDB store (default: OUT/sahelsim.duckdb)")
        sp.add_argument("--out", default=str(DEFAULT_OUT), help="output directory")

    def backend_opts(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--backend", choices=["local", "ray"], default="local",
                        help="run in this process (default) or on a Ray cluster "
                        "(pip install 'sahelsim[distributed]'; docs/scaling.md)")  # fmt: skip
        sp.add_argument("--address", help="Ray cluster for --backend ray: 'auto' or "
                        "'ray://HEAD:10001' (default: $RAY_ADDRESS, else a local cluster)")  # fmt: skip

    data = sub.add_parser("data", help="download, ingest and inspect sources")
    dsub = data.add_subparsers(dest="data_command", required=True)
    s = dsub.add_parser("status", help="every source with provenance and counts")
    common(s)
    s.set_defaults(func=cmd_data_status)
    s = dsub.add_parser("list", help="downloadable sources")
    s.set_defaults(func=cmd_data_list)
    s = dsub.add_parser("download", help="download a source into the data directory")
    s.add_argument("name")
    s.add_argument("--data-dir")
    s.add_argument("--force", action="store_true")
    s.add_argument("--url", help="override the origin URL (mirror)")
    s.set_defaults(func=cmd_data_download)
    s = dsub.add_parser("ingest", help="load the data directory (or one event file) into the store")
    common(s)
    s.add_argument("--file", help="one event file (GED CSV/zip, API JSON folder, ACLED CSV)")
    s.add_argument(
        "--format", default="ged_csv", choices=["ged_csv", "ged_json", "acled_csv", "acled_json"]
    )
    s.add_argument("--source", help="source name for --file (default from the format)")
    s.add_argument("--encoding", default="utf-8")
    s.set_defaults(func=cmd_data_ingest)
    s = dsub.add_parser("quarantine", help="rows rejected at ingest, with reasons")
    common(s)
    s.add_argument("--source")
    s.add_argument("--limit", type=int, default=50)
    s.set_defaults(func=cmd_data_quarantine)

    s = sub.add_parser("indicators", help="compute indicator tables (CSV + Parquet)")
    common(s)
    s.set_defaults(func=cmd_indicators)

    def simopts(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--members", type=int, default=100, help="ensemble size")
        sp.add_argument("--months", type=int, default=168, help="months to simulate")
        sp.add_argument("--start", default="2012-01", help="first month, YYYY-MM")
        sp.add_argument("--seed", type=int, default=0)
        sp.add_argument("--data-dir")
        sp.add_argument("--synthetic", action="store_true", help="use the synthetic grid")

    s = sub.add_parser("simulate", help="run a scenario ensemble (NetCDF + Parquet + summary)")
    s.add_argument("--scenario", default="acceleration")
    s.add_argument("--out", default=str(DEFAULT_OUT / "simulate"))
    simopts(s)
    backend_opts(s)
    s.set_defaults(func=cmd_simulate)
    s = sub.add_parser("scenarios", help="list, show or compare scenarios")
    s.add_argument("action", choices=["list", "show", "compare"])
    s.add_argument("names", nargs="*")
    s.add_argument("--out", default=str(DEFAULT_OUT / "compare"))
    simopts(s)
    s.set_defaults(func=cmd_scenarios)
    s = sub.add_parser("claims", help="audit the article's claims against data and model")
    common(s)
    s.add_argument("--members", type=int, default=100)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--no-model", action="store_true", help="data verdicts only")
    s.set_defaults(func=cmd_claims)
    s = sub.add_parser("calibrate", help="ABC-SMC calibration on country-year data")
    common(s)
    s.add_argument("--particles", type=int, default=400)
    s.add_argument("--generations", type=int, default=6)
    s.add_argument("--years", default="2012-2023", help="calibration window, Y0-Y1")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--max-simulations", type=int, default=20000)
    s.add_argument("--synthetic", action="store_true", help="synthetic grid (tests)")
    s.add_argument(
        "--install",
        action="store_true",
        help="write the posterior into the package (used by default afterwards)",
    )
    backend_opts(s)
    s.set_defaults(func=cmd_calibrate)
    s = sub.add_parser("forecast", help="country-year forecasts in the VIEWS layout")
    s.add_argument("--years", default="2025,2026")
    s.add_argument("--draws", type=int, default=1000)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--scenario", default="acceleration")
    s.add_argument("--data-dir")
    s.add_argument("--out", default=str(DEFAULT_OUT))
    s.add_argument("--synthetic", action="store_true")
    s.set_defaults(func=cmd_forecast)
    s = sub.add_parser("backtest", help="rolling-origin backtest against the baselines")
    common(s)
    s.add_argument("--origins", default="2014-2023", help="first-last origin year")
    s.add_argument("--particles", type=int, default=150)
    s.add_argument("--generations", type=int, default=3)
    s.add_argument("--draws", type=int, default=500)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--synthetic", action="store_true")
    backend_opts(s)
    s.set_defaults(func=cmd_backtest)
    s = sub.add_parser("report", help="one self-contained offline HTML report")
    common(s)
    s.add_argument("--members", type=int, default=200)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--backtest-dir", help="folder with backtest CSVs (default OUT/backtest)")
    s.set_defaults(func=cmd_report)
    s = sub.add_parser("serve", help="interactive scenario explorer in the browser")
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
    s.add_argument("--port", type=int, default=8501)
    s.add_argument("--data-dir", help="data directory (default: $SAHELSIM_DATA or cache)")
    s.add_argument("--synthetic", action="store_true", help="use the synthetic grid")
    s.set_defaults(func=cmd_serve)
    s = sub.add_parser("timeline", help="the dated institutional timeline")
    s.set_defaults(func=cmd_timeline)
    s = sub.add_parser("run", help="the main job on the default data")
    common(s)
    s.add_argument("--members", type=int, default=200, help="ensemble size for the model parts")
    s.add_argument("--seed", type=int, default=0)
    s.set_defaults(func=cmd_run)
    s = sub.add_parser("versions", help="versions of sahelsim and its dependencies")
    s.set_defaults(func=cmd_versions)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(0 if args.quiet else args.verbose)
    try:
        return int(args.func(args) or 0)
    except SahelsimError as exc:
        err_console.print(f"[red]error:[/] {escape(str(exc))}")
        return 2
    except FileNotFoundError as exc:
        err_console.print(f"[red]error:[/] {escape(str(exc))}")
        return 2
    except LookupError as exc:
        err_console.print(f"[red]error:[/] {escape(str(exc))}")
        return 2


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())

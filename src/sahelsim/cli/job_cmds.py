"""The report, the explorer, the main job and ``versions``."""

from __future__ import annotations

import importlib.metadata as md
import logging
import os
import platform
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from sahelsim import __version__
from sahelsim.app import serve as serve_app
from sahelsim.app.core import default_data_dir
from sahelsim.app.core import prebuild as prebuild_present
from sahelsim.app.inputs import DEFAULT_MEMBERS, MAX_MEMBERS, MIN_MEMBERS
from sahelsim.app.present import ENV_PRESENT
from sahelsim.app.settings import ENV_GRID
from sahelsim.claims.audit import audit, write_claims
from sahelsim.cli.console import Bar, progress, say
from sahelsim.cli.evidence_cmds import CLAIMS_MONTHS, compute_indicators, print_indicators
from sahelsim.cli.options import (
    DataDir,
    Members,
    Out,
    Seed,
    Store,
    Synthetic,
    check_members,
    int_option,
)  # fmt: skip
from sahelsim.cli.seams import DEFAULT_OUT, data_or_none, ingested_store
from sahelsim.core.canon import month_id_to_year_month
from sahelsim.core.config import resolve_data_dir
from sahelsim.forecast.backtest import forecast
from sahelsim.forecast.filtered import FilteredForecaster
from sahelsim.forecast.origin import forecast_from_origin
from sahelsim.inference.assimilate import FILES, NoObservations, load_recent, plan_present
from sahelsim.report.build import build_report
from sahelsim.scenarios.run import HISTORY_START, make_space, month_label
from sahelsim.validation.run import run_validation

log = logging.getLogger("sahelsim.cli")

#: What ``run`` forecasts: the two years after the latest data, 1000 draws.
RUN_YEARS = (2025, 2026)
RUN_DRAWS = 1000
REPORT_MONTHS = 192


def report(
    data_dir: DataDir = None,
    store: Store = None,
    out: Out = DEFAULT_OUT,
    members: Members = 200,
    seed: Seed = 0,
    backtest_dir: Annotated[
        Path | None,
        typer.Option(
            "--backtest-dir",
            file_okay=False,
            show_default=False,
            help="Folder with the backtest CSVs to include (default: OUT/backtest when present).",
        ),
    ] = None,
) -> int:
    """One self-contained offline HTML report (figures, claims, forecasts, backtest)."""
    check_members(members, REPORT_MONTHS, runs=2)
    st, dd, _ = ingested_store(data_dir, store, out)
    with st, progress() as p:
        path = build_report(st, data_dir=data_or_none(dd), out=out, members=members, seed=seed,
                            backtest_dir=backtest_dir, progress=Bar(p, "report"))  # fmt: skip
    say(f"report: {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


def serve(
    host: Annotated[
        str, typer.Option("--host", help="Address to bind (loopback only by default).")
    ] = "127.0.0.1",
    port: Annotated[int, int_option("--port", "TCP port", 1, 65535)] = 8501,
    data_dir: DataDir = None,
    synthetic: Synthetic = False,
    prebuild: Annotated[
        bool,
        typer.Option(
            "--prebuild",
            help="Build the explorer's caches for --members and --seed, then exit: the present"
            " (a 2012-2024 spin-up per scenario history, or the filtered ensemble of"
            " --present), the full run of every shipped scenario (stored on disk, so a new"
            " server's first page and scenario switches simulate nothing) and the observed"
            " panel.",
        ),
    ] = False,
    members: Annotated[
        int, int_option("--members", "Ensemble size to prebuild", MIN_MEMBERS, MAX_MEMBERS)
    ] = DEFAULT_MEMBERS,
    seed: Seed = 0,
    present: Annotated[
        str,
        typer.Option(
            "--present",
            metavar="DIR|auto|none",
            help="Where the explorer's projections start: a filtered ensemble folder"
            " (sahelsim assimilate); 'auto' uses out/assimilate when it holds one (make run"
            " writes it), else the 2012-2024 spin-up; 'none' always the spin-up.",
        ),
    ] = "auto",
) -> int:
    """The interactive scenario explorer in the browser (needs the 'app' extra)."""
    where = _explorer_present(present, synthetic)
    if where is not None:
        os.environ[ENV_PRESENT] = str(where)
        say(f"explorer projections start from the filtered ensemble in {where}")
    elif not os.environ.get(ENV_PRESENT):
        say("explorer projections start from the 2012-2024 spin-up (no filtered ensemble: "
            "run `sahelsim assimilate` or `make run` first)")  # fmt: skip
    if prebuild:
        if data_dir is not None:  # as serve passes it to the page
            os.environ["SAHELSIM_DATA"] = str(Path(data_dir).expanduser().resolve())
        if synthetic:
            os.environ[ENV_GRID] = "synthetic"
        dd = default_data_dir()
        with progress() as p:
            built = prebuild_present(dd, members=members, seed=seed,
                                     progress=Bar(p, "explorer cache"))  # fmt: skip
        for name, where in built:
            say(f"{name}: projections start from {where}")
        return 0
    return int(serve_app(host=host, port=port, data_dir=data_dir, synthetic=synthetic,
                         on_start=lambda url: say(f"scenario explorer on {url} (Ctrl-C stops it)")))  # fmt: skip


def _explorer_present(choice: str, synthetic: bool = False) -> Path | None:
    """The filtered folder ``serve --present`` names (None: the spin-up; ``auto`` on the
    synthetic grid too, since the filtered ensembles are of the study grid)."""
    if choice == "none" or (choice == "auto" and synthetic):
        return None
    folder = DEFAULT_OUT / "assimilate" if choice == "auto" else Path(choice).expanduser()
    ok = all((folder / FILES[k]).is_file() for k in ("summary", "state"))
    if choice != "auto" and not ok:
        raise typer.BadParameter(f"{folder} holds no filtered ensemble (summary.json and "
                                 "state.npz, written by `sahelsim assimilate`)",
                                 param_hint="'--present'")  # fmt: skip
    return folder.resolve() if ok else None


def run(
    data_dir: DataDir = None,
    store: Store = None,
    out: Out = DEFAULT_OUT,
    members: Members = 200,
    seed: Seed = 0,
) -> int:
    """The main job: indicators, claims audit, the ensemble filtered on the data to their last
    December and 2025-2026 forecasts from it, the validation scorecard and the HTML report."""
    check_members(members, max(CLAIMS_MONTHS, REPORT_MONTHS), runs=2)
    t0 = time.perf_counter()
    with progress() as p:
        bar = Bar(p, "ingest")
        st, dd, reports = ingested_store(data_dir, store, out, progress=bar)
    with st:
        with progress() as p:
            res = compute_indicators(st, out, Bar(p, "indicators"))
        print_indicators(reports, res, out, t0)
        data = data_or_none(dd)
        claims = audit(st, model=True, members=members, seed=seed, data_dir=data)
        paths = write_claims(claims, out / "claims")
        say(f"claims audit: {claims['verdict'].value_counts().to_dict()}; wrote {paths[0]}")
        fc = _filtered_forecast(st, data, out, members, seed)
        say(f"forecasts (VIEWS layout): {fc['sb'].parent}")
        with progress() as p:
            val = run_validation(data_dir=data, store=st, members=members, seed=seed,
                                 out=out / "validate", lever_members=min(members, 100),
                                 synthetic=data is None, progress=Bar(p, "validate"))  # fmt: skip
        say(f"validation scorecard: {val.counts()}; wrote {out / 'validate'}")
        backtest_dir = out / "backtest" if (out / "backtest" / "overall.csv").exists() else None
        with progress() as p:
            rep = build_report(st, data_dir=data, out=out, members=members, seed=seed,
                               backtest_dir=backtest_dir, claims=claims,
                               progress=Bar(p, "report"))  # fmt: skip
        say(f"report: {rep}")
    say(f"main job done in {time.perf_counter() - t0:.0f} s")
    return 0


def _filtered_forecast(st: Any, data: Path | None, out: Path, members: int,
                       seed: int) -> dict[str, Path]:  # fmt: skip
    """Filter the ensemble on the data up to their last December (``out/assimilate``, reused
    when it already holds that filter), then forecast the next two calendar years from that
    present (``out/forecast``). Without observations (no data), the free-running forecast of
    the shipped posterior."""
    try:
        plan = plan_present(st, out=out / "assimilate", members=members, seed=seed)
    except NoObservations:
        log.warning("no observations to filter on: forecasts run freely from 2012")
        return forecast(years=RUN_YEARS, draws=RUN_DRAWS, seed=seed, data_dir=data,
                        out=out / "forecast")  # fmt: skip
    end = plan.until
    origin = end - (month_id_to_year_month(end)[1] % 12)  # the last December in the data
    if origin != end:
        plan = plan_present(st, out=out / "assimilate", members=members, seed=seed, until=origin)
    space = make_space(data, HISTORY_START, synthetic=data is None)
    with progress() as p:
        got = plan.ensure(space, grid="synthetic" if data is None else "study grid",
                          progress=Bar(p, "assimilate"))  # fmt: skip
    d = got.diagnostics()
    say(f"{'reused' if got.reused else 'filtered'} {members} members on the data to "
        f"{month_label(origin)}: final ESS {d['ess'].iloc[-1]:.0f}; "
        f"{'read' if got.reused else 'wrote'} {got.folder}")  # fmt: skip
    say(f"forecasts start from {got.describe()}")
    # the origin is the data's end: dated events after it are today's known present
    fc = FilteredForecaster(plan.obs, space=space, members=members, origins=(origin,),
                            noise_level="year", history_until_origin=False)  # fmt: skip
    fc.seed_with(origin, seed, got.state, got.param_matrix, recent=load_recent(got.folder))
    return forecast_from_origin(None, origin=origin, horizon=len(RUN_YEARS), level="cy",
                                out=out / "forecast", draws=RUN_DRAWS, seed=seed,
                                data_end=origin, model_forecaster=fc)  # fmt: skip


def versions() -> int:
    """Versions of sahelsim, Python and the main dependencies; the data directory."""
    say(f"sahelsim {__version__}; Python {platform.python_version()} on {platform.platform()}")
    for pkg in ("numpy", "scipy", "pandas", "pyarrow", "duckdb", "shapely", "rich", "pydantic",
                "typer"):  # fmt: skip
        try:
            say(f"  {pkg} {md.version(pkg)}")
        except md.PackageNotFoundError:
            say(f"  {pkg} not installed")
    say(f"  data dir: {resolve_data_dir(None)}")
    return 0

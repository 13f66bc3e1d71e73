"""Model commands: ``simulate`` and ``scenarios list|show|compare``.

Where a projection starts (``--present``): ``auto`` (default) is the ensemble filtered on the
data to their last month, reused from ``out/assimilate`` when its summary matches (same cut-off,
seed, members, data, grid, starting ensemble and code) and filtered and written there otherwise;
a folder is a filtered ensemble written by ``sahelsim assimilate``; ``none`` is the free run from
``--start`` (the spin-up from 2012). ``--start`` without ``--present`` means ``none``; with an
explicit ``--present auto`` or folder it is a usage error. ``auto`` falls back to the free run,
and says so, when there are no observations (no data directory, nothing ingested) and on the
synthetic grid (the observations are of the real countries).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
import xarray as xr

from sahelsim.cli.console import Bar, progress, say, table, write_csv
from sahelsim.cli.options import (
    AUTO,
    FREE_START,
    HORIZON_END,
    NONE,
    Address,
    Backend,
    BackendName,
    DataDir,
    FilterMembers,
    Members,
    Months,
    Out,
    Present,
    PresentStore,
    Scenario,
    Seed,
    Start,
    Synthetic,
    check_members,
    parse_scenario,
)  # fmt: skip
from sahelsim.cli.seams import DEFAULT_OUT, data_or_none, ingested_store, open_backend
from sahelsim.core.config import resolve_data_dir
from sahelsim.core.errors import SahelsimError
from sahelsim.inference.assimilate import Filtered, NoObservations, plan_present
from sahelsim.model.space import Space
from sahelsim.scenarios.run import (
    HISTORY_START,
    PROJECTION_START,
    compare,
    make_space,
    month_label,
    parse_month,
    project_scenario,
    run_scenario,
    summary_frame,
    write_outputs,
)  # fmt: skip
from sahelsim.scenarios.scenario import list_scenarios, load_scenario

CORE = ["MLI", "BFA", "NER"]
SHOW = ("deaths_total", "territory_state", "territory_jnim", "idps", "fighters_jnim", "legitimacy")
#: Where ``--present auto`` keeps the filtered ensemble (the folder ``sahelsim assimilate``
#: writes by default, so one made by hand is reused).
AUTO_FOLDER = DEFAULT_OUT / "assimilate"


@dataclass
class Origin:
    """Where a command's projections start: a filtered ensemble (``filtered``) or a free run
    from ``start``; ``months`` projected months; ``line`` is what the reader is told."""

    start: int
    months: int
    line: str
    filtered: Filtered | None = None
    space: Space | None = None
    data_dir: Path | None = None
    synthetic: bool = False

    @property
    def kind(self) -> str:
        return "filtered" if self.filtered is not None else "free"


def default_months(first: int, months: int | None) -> int:
    """``--months``, else the months from ``first`` to :data:`HORIZON_END` (at least 12)."""
    if months is not None:
        return months
    return max(12, parse_month(HORIZON_END) - first + 1)


def _free(start: str | None, months: int | None, members: int, runs: int, why: str,
          data: Path | None, synthetic: bool) -> Origin:  # fmt: skip
    first = start or FREE_START
    n = default_months(parse_month(first), months)
    check_members(members, n, runs=runs, start=first)
    spin = " (simulating the history from 2012-01 first)" if first != FREE_START else ""
    return Origin(parse_month(first), n, f"projections start from a free run from {first}"
                  f"{spin}: {why}", data_dir=data, synthetic=synthetic)  # fmt: skip


def _check_grid(got: Filtered, space: Space, option: str = "--present") -> None:
    cells = int(got.meta.get("cells", got.state.cells.shape[-1]))
    if cells != space.n_cells:
        raise typer.BadParameter(
            f"{got.folder} was filtered on a grid of {cells} cells ({got.meta.get('grid', '?')})"
            f" but this run's grid has {space.n_cells}: use the same grid (--synthetic or the"
            " study grid of --data-dir)", param_hint=f"'{option}'")  # fmt: skip


def resolve_origin(present: str | None, start: str | None, months: int | None, *, members: int,
                   runs: int, data_dir: Path | None, store: Path | None, synthetic: bool,
                   filter_members: int, seed: int) -> Origin:  # fmt: skip
    """The :class:`Origin` of ``--present``/``--start``/``--months`` (see the module docstring);
    usage errors before anything long runs; ``auto`` filters (or reuses) here."""
    if present is not None and present != NONE and start is not None:
        raise typer.BadParameter(
            f"{start} cannot be combined with --present {present}: a projection from a filtered"
            " present starts the month after its last filtered month (drop --start, or add"
            " --present none for a free run from --start)", param_hint="'--start'")  # fmt: skip
    mode = present if present is not None else (NONE if start is not None else AUTO)
    data = data_or_none(resolve_data_dir(data_dir))
    if mode == NONE:
        why = "--present none" if present == NONE else "--start given (--present none)"
        return _free(start, months, members, runs, why, data, synthetic)
    if mode != AUTO:
        return _from_folder(Path(mode).expanduser(), months, members, runs, data, synthetic)
    if synthetic:
        return _free(None, months, members, runs, "the synthetic grid has no observations of "
                     "its own (--present auto on --synthetic means none; give --present DIR "
                     "for a filtered synthetic ensemble)", data, synthetic)  # fmt: skip
    if data is None:
        return _free(None, months, members, runs, "no observations to filter on (no data "
                     f"directory {resolve_data_dir(data_dir)})", None, synthetic)  # fmt: skip
    st, _, _ = ingested_store(data, store, DEFAULT_OUT)
    with st:
        try:
            plan = plan_present(st, out=AUTO_FOLDER, members=filter_members, seed=seed)
        except NoObservations as exc:
            return _free(None, months, members, runs, f"no observations to filter on ({exc})",
                         data, synthetic)  # fmt: skip
    n = default_months(plan.until + 1, months)
    check_members(members, n, runs=runs)
    check_members(filter_members, plan.until - HISTORY_START + 1, option="--filter-members")
    space = make_space(data, HISTORY_START)
    with progress() as p:
        got = plan.ensure(space, progress=Bar(p, "assimilate"))
    if got.reused:
        say(f"reusing {got.folder}: filtered to {month_label(got.until)} on the same data, seed"
            f" and members (delete it to filter again)")  # fmt: skip
    else:
        d = got.diagnostics()
        say(f"filtered {got.members} members on the data to {month_label(got.until)}: final "
            f"ESS {d['ess'].iloc[-1]:.0f}; wrote {got.folder}")  # fmt: skip
    return Origin(got.first_month, n, f"projections start from {got.describe()}", got, space,
                  data)  # fmt: skip


def _from_folder(folder: Path, months: int | None, members: int, runs: int, data: Path | None,
                 synthetic: bool) -> Origin:  # fmt: skip
    try:
        got = Filtered.from_folder(folder)
    except SahelsimError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--present'") from None
    n = default_months(got.first_month, months)
    check_members(members, n, runs=runs)
    space = make_space(data, HISTORY_START, synthetic=synthetic)
    _check_grid(got, space)
    return Origin(got.first_month, n, f"projections start from {got.describe()}", got, space,
                  data, synthetic)  # fmt: skip


def run_from(origin: Origin, scenario: str, *, members: int, seed: int, progress_cb: Any,
             backend: Any = None) -> xr.Dataset:  # fmt: skip
    """One scenario from ``origin``; the dataset's attributes say where it started."""
    f = origin.filtered
    if f is not None and origin.space is not None:
        ds = project_scenario(scenario, state0=f.state, param_matrix=f.param_matrix,
                              start=origin.start, months=origin.months, space=origin.space,
                              members=members, seed=seed, present=f.describe(),
                              progress=progress_cb, backend=backend)  # fmt: skip
        ds.attrs.update(present_folder=str(f.folder), present_until=month_label(f.until))
    else:
        ds = run_scenario(scenario, data_dir=origin.data_dir, members=members,
                          months=origin.months, start=month_label(origin.start), seed=seed,
                          synthetic=origin.synthetic, progress=progress_cb, backend=backend)  # fmt: skip
        ds.attrs["present"] = origin.line.removeprefix("projections start from ")
    ds.attrs["start_kind"] = origin.kind
    return ds


def simulate(
    scenario: Scenario = "acceleration",
    out: Out = DEFAULT_OUT / "simulate",
    members: Members = 100,
    months: Months = None,
    present: Present = None,
    start: Start = None,
    filter_members: FilterMembers = 200,
    seed: Seed = 0,
    data_dir: DataDir = None,
    store: PresentStore = None,
    synthetic: Synthetic = False,
    backend: Backend = BackendName.local,
    address: Address = None,
) -> int:
    """Run a scenario ensemble from the filtered present (default) or freely from --start;
    write NetCDF, Parquet and a summary table."""
    t0 = time.perf_counter()
    origin = resolve_origin(present, start, months, members=members, runs=1, data_dir=data_dir,
                            store=store, synthetic=synthetic, filter_members=filter_members,
                            seed=seed)  # fmt: skip
    say(origin.line)
    with open_backend(backend.value, address) as be, progress() as p:
        ds = run_from(origin, scenario, members=members, seed=seed,
                      progress_cb=Bar(p, "simulate"), backend=be)  # fmt: skip
    paths = write_outputs(ds, out)
    sm = summary_frame(ds)
    last = int(sm["month_id"].max())
    sub = sm[(sm.month_id == last) & sm.variable.isin(SHOW) & sm.country.isin(CORE)]
    rows = [(r.variable, r.country, f"{r.median:,.2f}", f"{r.q25:,.2f} - {r.q75:,.2f}",
             f"{r.q05:,.2f} - {r.q95:,.2f}")
            for r in sub.sort_values(["variable", "country"]).itertuples()]  # fmt: skip
    table(f"{ds.attrs.get('scenario', scenario)}: {members} members, {month_label(last)}",
          ("variable", "country", "median", "50% interval", "90% interval"), rows)  # fmt: skip
    for pth in paths:
        say(f"wrote {pth}")
    say(f"{time.perf_counter() - t0:.1f} s")
    return 0


scenarios_app = typer.Typer(help="List, show or compare scenarios.")


@scenarios_app.command("list")
def scenarios_list() -> int:
    """Every shipped scenario with its title and article section."""
    rows = []
    for name in list_scenarios():
        sc = load_scenario(name)
        rows.append((sc.name, sc.title, sc.article_section))
    table("Scenarios", ("name", "title", "article section"), rows)
    return 0


ScenarioName = Annotated[
    str,
    typer.Argument(parser=parse_scenario, metavar="SCENARIO",
                   help="A shipped scenario name (`sahelsim scenarios list`) or a TOML file."),
]  # fmt: skip


@scenarios_app.command("show")
def scenarios_show(name: ScenarioName) -> int:
    """A scenario's description and its dated lever changes."""
    sc = load_scenario(name)
    say(f"{sc.name}: {sc.title}\n{sc.description}")
    say(f"article section: {sc.article_section}")
    for ch in sc.changes:
        where = ch.country or "all"
        say(f"  {ch.date} {ch.lever} = {ch.value} ({where}; ramp {ch.ramp_months} months)")
    return 0


@scenarios_app.command("compare")
def scenarios_compare(
    a_name: ScenarioName,
    b_name: ScenarioName,
    out: Out = DEFAULT_OUT / "compare",
    members: Members = 100,
    months: Months = None,
    present: Present = None,
    start: Start = None,
    filter_members: FilterMembers = 200,
    seed: Seed = 0,
    data_dir: DataDir = None,
    store: PresentStore = None,
    synthetic: Synthetic = False,
) -> int:
    """B minus A on paired members (the same present members, parameters and seed) over the
    projection window, each scenario's levers applied from the projection month on; each run's
    outputs are written as soon as it finishes (B's under OUT/b when both have one name)."""
    origin = resolve_origin(present, start, months, members=members, runs=2, data_dir=data_dir,
                            store=store, synthetic=synthetic, filter_members=filter_members,
                            seed=seed)  # fmt: skip
    say(origin.line)
    a_lab, b_lab = load_scenario(a_name).name, load_scenario(b_name).name
    written = []
    with progress() as p:
        a = run_from(origin, a_name, members=members, seed=seed, progress_cb=Bar(p, a_lab))
        written += write_outputs(a, out)
        b = run_from(origin, b_name, members=members, seed=seed, progress_cb=Bar(p, b_lab))
        written += write_outputs(b, out if b_lab != a_lab else out / "b")
    window = origin.start if origin.kind == "filtered" else max(PROJECTION_START, origin.start)
    cmp = compare(a, b, window)
    written.append(write_csv(cmp, out / f"compare_{a_lab}_{b_lab}.csv"))
    rows = [(r.outcome, r.country, f"{r.a_median:,.2f}", f"{r.b_median:,.2f}",
             f"{r.diff_median:+,.2f}", f"{r.diff_q05:+,.2f} .. {r.diff_q95:+,.2f}",
             f"{r.share_b_higher:.2f}") for r in cmp[cmp.country.isin(CORE)].itertuples()]  # fmt: skip
    table(f"{b_lab} minus {a_lab} (paired members, {month_label(window)} on)",
          ("outcome", "country", a_lab, b_lab, "difference", "90% interval", "P(B>A)"), rows)  # fmt: skip
    for path in written:
        say(f"wrote {path}")
    return 0

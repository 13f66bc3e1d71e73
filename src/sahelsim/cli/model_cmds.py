"""Model commands: ``simulate`` and ``scenarios list|show|compare``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from sahelsim.cli.console import Bar, progress, say, table, write_csv
from sahelsim.cli.options import (
    Address,
    Backend,
    BackendName,
    DataDir,
    Members,
    Months,
    Out,
    Scenario,
    Seed,
    Start,
    Synthetic,
    check_members,
    parse_scenario,
)  # fmt: skip
from sahelsim.cli.seams import DEFAULT_OUT, data_or_none, open_backend
from sahelsim.core.config import resolve_data_dir
from sahelsim.scenarios.run import (
    PROJECTION_START,
    compare,
    month_label,
    run_scenario,
    summary_frame,
    write_outputs,
)  # fmt: skip
from sahelsim.scenarios.scenario import list_scenarios, load_scenario

CORE = ["MLI", "BFA", "NER"]
SHOW = ("deaths_total", "territory_state", "territory_jnim", "idps", "fighters_jnim", "legitimacy")


def sim_args(data_dir: Path | None, members: int, months: int, start: str, seed: int,
             synthetic: bool) -> dict[str, Any]:  # fmt: skip
    """Keyword arguments of :func:`~sahelsim.scenarios.run.run_scenario` from the options."""
    return {"data_dir": data_or_none(resolve_data_dir(data_dir)), "members": members,
            "months": months, "start": start, "seed": seed, "synthetic": synthetic}  # fmt: skip


def simulate(
    scenario: Scenario = "acceleration",
    out: Out = DEFAULT_OUT / "simulate",
    members: Members = 100,
    months: Months = 168,
    start: Start = "2012-01",
    seed: Seed = 0,
    data_dir: DataDir = None,
    synthetic: Synthetic = False,
    backend: Backend = BackendName.local,
    address: Address = None,
) -> int:
    """Run a scenario ensemble; write NetCDF, Parquet and a summary table."""
    check_members(members, months, start=start)
    t0 = time.perf_counter()
    kw = sim_args(data_dir, members, months, start, seed, synthetic)
    with open_backend(backend.value, address) as be, progress() as p:
        ds = run_scenario(scenario, progress=Bar(p, "simulate"), backend=be, **kw)
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
    months: Months = 168,
    start: Start = "2012-01",
    seed: Seed = 0,
    data_dir: DataDir = None,
    synthetic: Synthetic = False,
) -> int:
    """B minus A on paired members (same seed) over the projection window; each run's outputs
    are written as soon as it finishes (B's under OUT/b when both scenarios have one name)."""
    check_members(members, months, runs=2, start=start)
    kw = sim_args(data_dir, members, months, start, seed, synthetic)
    a_lab, b_lab = load_scenario(a_name).name, load_scenario(b_name).name
    written = []
    with progress() as p:
        a = run_scenario(a_name, progress=Bar(p, a_lab), **kw)
        written += write_outputs(a, out)
        b = run_scenario(b_name, progress=Bar(p, b_lab), **kw)
        written += write_outputs(b, out if b_lab != a_lab else out / "b")
    cmp = compare(a, b, max(PROJECTION_START, int(a.month.min())))
    written.append(write_csv(cmp, out / f"compare_{a_lab}_{b_lab}.csv"))
    rows = [(r.outcome, r.country, f"{r.a_median:,.2f}", f"{r.b_median:,.2f}",
             f"{r.diff_median:+,.2f}", f"{r.diff_q05:+,.2f} .. {r.diff_q95:+,.2f}",
             f"{r.share_b_higher:.2f}") for r in cmp[cmp.country.isin(CORE)].itertuples()]  # fmt: skip
    table(f"{b_lab} minus {a_lab} (paired members, projection window)",
          ("outcome", "country", a_lab, b_lab, "difference", "90% interval", "P(B>A)"), rows)  # fmt: skip
    for path in written:
        say(f"wrote {path}")
    return 0

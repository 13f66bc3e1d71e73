"""``sahelsim assimilate``: the particle filter from January 2012 to a month, on the data known
then; writes the filtered ensemble (state, parameters, diagnostics) for projections."""

from __future__ import annotations

import logging
import time
from typing import Annotated

import typer

from sahelsim.cli.console import Bar, progress, say, table
from sahelsim.cli.options import (
    DataDir,
    Members,
    Out,
    Seed,
    Store,
    Synthetic,
    check_members,
    parse_month,
)
from sahelsim.cli.seams import DEFAULT_OUT, data_or_none, ingested_store
from sahelsim.core.canon import ISO3_TO_NAME
from sahelsim.core.errors import SahelsimError
from sahelsim.inference.assimilate import FILES, MIN_UNTIL, NoObservations, plan_present
from sahelsim.scenarios.run import HISTORY_START, make_space, month_label
from sahelsim.scenarios.run import parse_month as month_id_of

log = logging.getLogger("sahelsim.cli")

Until = Annotated[
    str,
    typer.Option("--until", parser=parse_month, metavar="YYYY-MM",
                 help="Last month of data the filter uses (2012-02 to the data's last month)."),
]  # fmt: skip


def assimilate(
    until: Until,
    out: Out = DEFAULT_OUT / "assimilate",
    members: Members = 200,
    seed: Seed = 0,
    data_dir: DataDir = None,
    store: Store = None,
    synthetic: Synthetic = False,
) -> int:
    """Filter the ensemble on the observations up to --until (UCDP deaths by type, UNHCR/IDMC
    IDP stocks, the Burkina Faso territory range) and write it to --out. Members start from the
    shipped posterior (priors without one). A folder already holding this filter (same
    cut-off, seed, members, data, grid and code) is reused."""
    until_id = month_id_of(until)
    if until_id < MIN_UNTIL:  # before reading any data (the upper bound needs the data)
        raise typer.BadParameter(f"{until} is before {month_label(MIN_UNTIL)}, the first month the"
                                 " filter can stop at (it starts in 2012-01)",
                                 param_hint="'--until'")  # fmt: skip
    check_members(members, until_id - HISTORY_START + 1)
    t0 = time.perf_counter()
    st, dd, _ = ingested_store(data_dir, store, out)
    with st:
        try:
            plan = plan_present(st, out=out, members=members, seed=seed, until=until_id)
        except NoObservations as exc:
            raise typer.BadParameter(str(exc)) from None
        except SahelsimError as exc:
            raise typer.BadParameter(
                str(exc).removeprefix("--until "), param_hint="'--until'"
            ) from None
    space = make_space(data_or_none(dd), HISTORY_START, synthetic=synthetic)
    with progress() as p:
        got = plan.ensure(space, grid="synthetic" if synthetic else "study grid",
                          progress=Bar(p, "assimilate"))  # fmt: skip
    if got.reused:
        say(f"{out} already holds this filter (same cut-off, seed, members, data, grid, starting"
            " ensemble and code): reused it; delete the folder to filter again")  # fmt: skip
    d, loglik = got.diagnostics(), float(got.meta["loglik"])
    say(f"filtered {members} members from 2012-01 to {until} on {int(d['n_obs'].sum())} "
        f"observations at {len(d)} times: log-likelihood {loglik:,.1f}; final ESS "
        f"{d['ess'].iloc[-1]:.0f}; {int(d['resampled'].sum())} resamplings; "
        f"{int(d['degenerate'].sum())} degenerate times")  # fmt: skip
    checks = got.checks()
    last = checks[checks["month_id"] == checks["month_id"].max()]
    rows = [(ISO3_TO_NAME.get(r.iso3, r.iso3), r.observable, f"{r.value:,.0f}" if r.value == r.value
             else f"{r.lo:.0%}-{r.hi:.0%}", f"{r.sim_q05:,.0f} - {r.sim_q95:,.0f}"
             if r.observable != "territory_state" else f"{r.sim_q05:.0%} - {r.sim_q95:.0%}",
             "yes" if r.sim_in_90 else "no", "yes" if r.pred_in_90 else "no")
            for r in last.itertuples()]  # fmt: skip
    table(f"Last observation time ({int(last['month_id'].iloc[0])}): filtered 90 % intervals",
          ("country", "observable", "observed", "filtered 90 %", "inside",
           "inside predictive 90 %"), rows)  # fmt: skip
    for k, name in FILES.items():
        say(f"{k}: {out / name}")
    say(f"{time.perf_counter() - t0:.0f} s")
    return 0

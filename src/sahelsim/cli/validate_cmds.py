"""``sahelsim validate``: the pattern scorecard (pattern-oriented modelling) of the shipped
posterior over the documented history."""

from __future__ import annotations

from typing import Annotated

import typer

from sahelsim.cli.console import Bar, console, progress, say
from sahelsim.cli.options import (
    Address,
    Backend,
    BackendName,
    DataDir,
    Members,
    Out,
    Seed,
    Store,
    Synthetic,
    check_members,
)
from sahelsim.cli.seams import DEFAULT_OUT, data_or_none, open_backend
from sahelsim.core.config import resolve_data_dir
from sahelsim.validation.run import render_table, run_validation

#: Months of the history run (2012-01..2024-12).
HISTORY_MONTHS = 156


def validate(
    data_dir: DataDir = None,
    store: Store = None,
    out: Out = DEFAULT_OUT,
    members: Members = 200,
    seed: Seed = 0,
    lever_members: Annotated[
        int,
        typer.Option("--lever-members", min=2, help="Members of each lever-response run (P8)."),
    ] = 100,
    synthetic: Synthetic = False,
    backend: Backend = BackendName.local,
    address: Address = None,
) -> int:
    """Score the model against the documented patterns of the war (timing, geography,
    concentration, territory, displacement, heavy tail, lever response); writes
    OUT/validate/validate.csv and validate.json. A failed pattern is a result, not an error:
    the command exits 0 whatever passes."""
    check_members(members, HISTORY_MONTHS, runs=2)
    dd = data_or_none(resolve_data_dir(data_dir))
    target = out / "validate"
    st = store or out / "sahelsim.duckdb"  # an ingested store when there is one, else a fresh one
    with open_backend(backend.value, address) as be, progress() as p:
        res = run_validation(data_dir=dd, store=st if st.exists() else None, members=members, seed=seed, out=target,
                             backend=be, progress=Bar(p, "validate"), synthetic=synthetic,
                             lever_members=lever_members)  # fmt: skip
    console.print(render_table(res))
    counts = res.counts()
    say(", ".join(f"{v} {k}" for k, v in counts.items()) + f"; wrote {target}")
    return 0

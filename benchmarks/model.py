"""Model benchmark: throughput and peak memory of the ensemble engine, its ratio against a Mesa 3
baseline of the same core rules, and its distance from the memory-streaming bound. Prints one
JSON object on stdout (progress goes to stderr).

    python benchmarks/model.py [--members 1000] [--months 120] [--repeat 3] [--quick]
                               [--mesa-months 24] [--mesa-budget 60]

(a) full run: ``simulate`` of ``members`` x the study grid x ``months`` months with
    ``Record(cells=("deaths", "hold"))``; wall time, cell-member-months per second, peak memory.
(b) Mesa ratio: the Mesa baseline (``benchmarks/mesa_baseline.py``, 1 member) for
    ``--mesa-months`` months (fewer if it passes ``--mesa-budget`` seconds), and the engine at 1
    member and at ``members`` members for the same months; ratio of throughputs (engine
    cell-member-months/s over Mesa cell-months/s).
(c) streaming bound: time to read and write once every (members, cells) float64 array of the
    state (one per ``state.CELL_FIELDS``) with ``np.add(a, 1.0, out=a)``, median of 5: the
    physical lower bound of a month that touches the whole state once.
(d) machine information.

Every measurement runs in a fresh subprocess so its peak memory (``VmHWM`` from
``/proc/self/status``) is its own; medians over ``--repeat`` subprocesses are reported.
``--quick`` (smoke runs) uses 100 members x 24 months.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
DATA = Path("/work/shared/data")


def log(msg: str) -> None:
    print(f"[model-bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# -- child side -----------------------------------------------------------------------------
def _proc_status(key: str) -> float:
    """A ``/proc/self/status`` memory line in MiB (NaN where /proc is absent)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0: write 5 to /proc/self/clear_refs), so the
    warm-up's transient memory (e.g. JIT compilation) is not counted as the run's peak."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _space(data: str):
    from sahelsim.model.space import Space

    if data and Path(data).is_dir():
        from sahelsim.grid.build import build_grid
        from sahelsim.scenarios.setup import space_from_grid

        return space_from_grid(build_grid(Path(data)), 2012.0), "study grid"
    return Space.synthetic(rows=30, cols=40), "synthetic 30x40 (data directory absent)"


def _child_numpy(spec: dict) -> dict:
    import numpy as np

    from sahelsim.core.canon import month_id
    from sahelsim.model.engine import Record, simulate
    from sahelsim.model.params import Params
    from sahelsim.scenarios.setup import build_drivers

    space, grid = _space(spec["data"])
    M, T = spec["members"], spec["months"]
    drivers = build_drivers(space, month_id(2012, 1), T)
    params = Params.default()
    # warm-up (1 member, 2 months): JIT loading/compilation, if the engine has any, is not
    # part of the measurement; its time is reported apart
    t0 = time.perf_counter()
    simulate(space, params, build_drivers(space, month_id(2012, 1), 2), members=1, seed=0)
    warmup = time.perf_counter() - t0
    peak_reset = _reset_peak()
    rss_before = _proc_status("VmRSS")
    secs, ds = [], None
    for _ in range(spec.get("inner", 1)):
        ds = None  # free the previous result before the next run
        t0 = time.perf_counter()
        ds = simulate(
            space,
            params,
            drivers,
            members=M,
            seed=spec["seed"],
            record=Record(cells=("deaths", "hold")),
        )
        secs.append(time.perf_counter() - t0)
    core = slice(0, 3)
    m0 = {
        f"{v}_{c}": float(ds[v].values[0, -1, k])
        for v in ("fighters_jnim", "fighters_issp", "idps")
        for k, c in enumerate(space.countries[core])
    }
    m0.update(
        {
            f"deaths_total_{c}": float(ds["deaths_total"].values[0, :, k].sum())
            for k, c in enumerate(space.countries[core])
        }
    )
    return {
        "grid": grid,
        "members": M,
        "months": T,
        "cells": space.n_cells,
        "seconds": statistics.median(secs),
        "seconds_all": secs,
        "warmup_seconds": warmup,
        "peak_reset_after_warmup": peak_reset,
        "result_mib": sum(v.nbytes for v in ds.data_vars.values()) / 2**20,
        "rss_before_simulate_mib": rss_before,
        "peak_rss_mib": _proc_status("VmHWM"),
        "member0_final": m0,
        "numpy": np.__version__,
    }


def _child_mesa(spec: dict) -> dict:
    sys.path.insert(0, str(HERE))
    from mesa_baseline import run_mesa

    space, grid = _space(spec["data"])
    out = run_mesa(space, spec["months"], spec["seed"], time_budget=spec["budget"])
    out["grid"] = grid
    out["peak_rss_mib"] = _proc_status("VmHWM")
    return out


def _child_stream(spec: dict) -> dict:
    import numpy as np

    try:  # the state's (members, cells) float64 arrays
        from sahelsim.model.state import CELL_FIELDS

        source = "sahelsim.model.state.CELL_FIELDS"
    except ImportError:  # packed layout: one (members, N_CELL_FIELDS, cells) array
        from sahelsim.model.layout import CELL_NAMES as CELL_FIELDS

        source = "sahelsim.model.layout.CELL_NAMES"

    space, grid = _space(spec["data"])
    M, C = spec["members"], space.n_cells
    arrays = [np.ones((M, C)) for _ in CELL_FIELDS]  # touched: pages are resident
    for a in arrays:  # warm-up pass
        np.add(a, 1.0, out=a)
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        for a in arrays:
            np.add(a, 1.0, out=a)
        times.append(time.perf_counter() - t0)
    sec = statistics.median(times)
    nbytes = len(arrays) * M * C * 8
    return {
        "grid": grid,
        "members": M,
        "cells": C,
        "arrays": len(arrays),
        "array_fields": list(CELL_FIELDS),
        "fields_source": source,
        "state_mib": nbytes / 2**20,
        "seconds": sec,
        "seconds_all": times,
        "bandwidth_gb_per_s_read_plus_write": 2 * nbytes / sec / 1e9,
        "peak_rss_mib": _proc_status("VmHWM"),
    }


def _child(spec: dict) -> None:
    sys.path.insert(0, str(SRC))
    fn = {"numpy": _child_numpy, "mesa": _child_mesa, "stream": _child_stream}[spec["kind"]]
    print(json.dumps(fn(spec)))


# -- parent side ----------------------------------------------------------------------------
def _run(spec: dict, timeout: float) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SRC), str(HERE)]))
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec)],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"measurement {spec} failed (exit {proc.returncode})")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    log(
        f"{spec['kind']} { ({k: v for k, v in spec.items() if k not in ('kind', 'data')}) }: "
        f"{out['seconds'] if 'seconds' in out else out.get('wall_seconds'):.3f} s, "
        f"peak {out['peak_rss_mib']:.0f} MiB ({time.perf_counter() - t0:.1f} s with start-up)"
    )
    return out


def _median(rows: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in rows)


def _machine() -> dict:
    import numpy as np

    cpu = ""
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(
                (ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), ""
            )
    except OSError:
        pass
    mem = float("nan")
    try:
        with open("/proc/meminfo") as fh:
            mem = int(next(ln for ln in fh if ln.startswith("MemTotal")).split()[1]) / 2**20
    except (OSError, StopIteration):
        pass
    try:
        import mesa

        mesa_v = mesa.__version__
    except ImportError:
        mesa_v = None
    versions = {}
    for mod in ("scipy", "numba", "xarray"):
        try:
            versions[mod] = __import__(mod).__version__
        except ImportError:
            versions[mod] = None
    return {
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_model": cpu,
        "mem_total_gib": round(mem, 1),
        "python": platform.python_version(),
        "numpy": np.__version__,
        **versions,
        "mesa": mesa_v,
        "platform": platform.platform(),
        "thread_env": {
            k: os.environ[k]
            for k in (
                "OMP_NUM_THREADS",
                "OPENBLAS_NUM_THREADS",
                "MKL_NUM_THREADS",
                "NUMBA_NUM_THREADS",
            )
            if k in os.environ
        },
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=1000)
    ap.add_argument("--months", type=int, default=120)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="100 members x 24 months (smoke run)")
    ap.add_argument("--mesa-months", type=int, default=24)
    ap.add_argument("--mesa-budget", type=float, default=60.0, help="seconds of Mesa stepping")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--timeout", type=float, default=1800.0, help="per measurement (s)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        _child(json.loads(a.child))
        return
    try:
        import mesa  # noqa: F401
    except ImportError:
        raise SystemExit(
            "benchmarks/model.py needs Mesa 3 for the baseline (benchmark-only, not a sahelsim "
            "dependency): pip install 'mesa>=3.0,<4'"
        ) from None
    if a.quick:
        a.members, a.months = 100, 24
    R = max(a.repeat, 1)
    base = {"data": a.data, "seed": a.seed}
    # the machine may be shared: its 1/5/15-minute load averages before and after the runs
    load_before = [round(x, 2) for x in os.getloadavg()]
    t_start = time.perf_counter()

    # (a) the full run
    log(f"(a) full run: {a.members} members x {a.months} months, {R} repeat(s)")
    full = [
        _run({"kind": "numpy", **base, "members": a.members, "months": a.months}, a.timeout)
        for _ in range(R)
    ]
    cells = full[0]["cells"]
    full_sec = _median(full, "seconds")
    full_cmm = a.members * cells * a.months / full_sec

    # (b) the Mesa ratio
    log(f"(b) Mesa baseline: 1 member x {a.mesa_months} months (budget {a.mesa_budget:.0f} s)")
    mesa_runs = [
        _run({"kind": "mesa", **base, "months": a.mesa_months, "budget": a.mesa_budget}, a.timeout)
        for _ in range(R)
    ]
    months_b = min(r["steps"] for r in mesa_runs)
    mesa_cm = statistics.median(r["steps"] * r["cells"] / r["wall_seconds"] for r in mesa_runs)
    one = [
        _run({"kind": "numpy", **base, "members": 1, "months": months_b, "inner": 5}, a.timeout)
        for _ in range(R)
    ]
    many = [
        _run({"kind": "numpy", **base, "members": a.members, "months": months_b}, a.timeout)
        for _ in range(R)
    ]
    one_cmm = cells * months_b / _median(one, "seconds")
    many_cmm = a.members * cells * months_b / _median(many, "seconds")

    # (c) the streaming bound
    log(f"(c) streaming bound for the ({a.members}, {cells}) state")
    stream = _run({"kind": "stream", **base, "members": a.members}, a.timeout)
    step_month = full_sec / a.months
    stream_month = stream["seconds"]

    r3 = lambda x: round(x, 3)  # noqa: E731
    result = {
        "benchmark": "sahelsim model",
        "grid": full[0]["grid"],
        "cells": cells,
        "seed": a.seed,
        "repeat": R,
        "quick": a.quick,
        "load_before": load_before,
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "full_run": {
            "members": a.members,
            "months": a.months,
            "record_cells": ["deaths", "hold"],
            "seconds_median": r3(full_sec),
            "seconds_all": [r3(r["seconds"]) for r in full],
            "cell_member_months_per_s": round(full_cmm),
            "peak_rss_mib_median": round(_median(full, "peak_rss_mib"), 1),
            "peak_rss_mib_max": round(max(r["peak_rss_mib"] for r in full), 1),
            "rss_before_simulate_mib": round(full[0]["rss_before_simulate_mib"], 1),
            "warmup_seconds_median": r3(_median(full, "warmup_seconds")),
            "peak_reset_after_warmup": all(r["peak_reset_after_warmup"] for r in full),
            "result_dataset_mib": round(full[0]["result_mib"], 1),
            "seconds_per_month": round(step_month, 4),
        },
        "mesa_ratio": {
            "months": months_b,
            "mesa_steps_requested": a.mesa_months,
            "mesa_budget_s": a.mesa_budget,
            "mesa_version": mesa_runs[0]["mesa_version"],
            "mesa_seconds_median": r3(_median(mesa_runs, "wall_seconds")),
            "mesa_setup_seconds_median": r3(_median(mesa_runs, "setup_seconds")),
            "mesa_cell_months_per_s": round(mesa_cm),
            "mesa_peak_rss_mib": round(_median(mesa_runs, "peak_rss_mib"), 1),
            "numpy_1_member_seconds_median": round(_median(one, "seconds"), 4),
            "numpy_1_member_cell_member_months_per_s": round(one_cmm),
            "numpy_members": a.members,
            "numpy_members_seconds_median": r3(_median(many, "seconds")),
            "numpy_members_cell_member_months_per_s": round(many_cmm),
            "numpy_members_peak_rss_mib": round(_median(many, "peak_rss_mib"), 1),
            "ratio_numpy_1_member_vs_mesa": round(one_cmm / mesa_cm, 2),
            "ratio_numpy_members_vs_mesa": round(many_cmm / mesa_cm, 2),
            "mesa_final_member": mesa_runs[0]["final"],
            "mesa_deaths_summed": mesa_runs[0]["summed_over_months"],
            "numpy_1_member_final_member0": one[0]["member0_final"],
            "note": "Mesa runs a subset of the rules (see benchmarks/mesa_baseline.py): "
            "per cell-month it does less work than the engine, so the ratio is conservative.",
        },
        "streaming_bound": {
            "state_arrays": stream["arrays"],
            "array_shape": [a.members, cells],
            "state_mib": round(stream["state_mib"], 1),
            "stream_seconds_per_month": round(stream_month, 5),
            "stream_seconds_all": [round(x, 5) for x in stream["seconds_all"]],
            "bandwidth_gb_per_s_read_plus_write": round(
                stream["bandwidth_gb_per_s_read_plus_write"], 2
            ),
            "step_seconds_per_month": round(step_month, 4),
            "step_over_stream": round(step_month / stream_month, 1),
            "share_of_streaming_bound": round(stream_month / step_month, 4),
            "peak_rss_mib": round(stream["peak_rss_mib"], 1),
            "fields_source": stream["fields_source"],
            "note": "one float64 (members, cells) array per cell field, each read and written "
            "once with np.add(a, 1.0, out=a); median of 5",
        },
        "machine": _machine(),
        "benchmark_wall_seconds": round(time.perf_counter() - t_start, 1),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

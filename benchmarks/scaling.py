"""Scaling benchmark of the Ray backend (``sahelsim.distributed``). Prints one JSON object on
stdout (progress goes to stderr).

    python benchmarks/scaling.py [--members 1000] [--months 60] [--chunk 50]
                                 [--particles 200] [--generations 2] [--cal-years 2012-2016]
                                 [--workers 1,2] [--empty-tasks 300] [--quick]

For each worker count N (a fresh local Ray cluster with ``num_cpus=N`` in its own subprocess,
so Ray restarts between counts) it measures:

(a) start-up: ``ray.init`` and the warm-up of the workers (process start, imports, loading the
    engine's compiled code from Numba's cache), reported apart from the runs;
(b) per-task overhead: ``--empty-tasks`` tasks that do nothing, wall time / tasks;
(c) result transfer: a task returning a 64 MiB array against one returning nothing;
(d) a large ensemble: ``simulate_members`` of ``--members`` members x the study grid (real data
    at /work/shared/data, else a synthetic 30x40 grid) x ``--months`` months, country
    aggregates only (``Record(cells=())``), chunks of ``--chunk`` members;
(e) a small calibration: ABC-SMC with ``--particles`` particles x ``--generations``
    generations over ``--cal-years``, each simulator batch split into tasks by the backend's
    default (about two per worker) or ``--cal-chunk`` particles, against statistics simulated
    at the default parameters;
(f) in the reference process, on one thread (as in a worker): the fixed cost of a task (c:
    launching the engine, building and summarising its result) and the cost per member or
    particle, from tasks of 1 and of ``--chunk`` members (25 particles).

Workers are single-threaded: ``NUMBA_NUM_THREADS=1`` in their runtime environment (and
``numba.set_num_threads(1)`` in each task), so N workers use N cores. The in-process run (the
engine's own Numba ``prange`` over both cores, no Ray) is measured too, as the reference, and
every run's results must be identical to it (sha256 of the ensemble's deaths and of the
posterior). The parent waits for the machine to be quiet (load average below
``--quiet-load``) before each measurement and reports the load averages.

The cost model (``docs/scaling.md``), fitted on the 1-worker run:

    T(N) = o * k + ceil(k / N) * (c + W / k) + b * R

with o the per-task overhead (b), k tasks, c the fixed compute of a task (f), W the compute
work (seconds of one worker), b the driver's seconds per byte of result (c) and R the result
bytes. The ensemble keeps the measured chunk size unless there would be fewer tasks than
workers (k = max(k_measured, N)). A calibration pays it once per simulator call, with the
batch sizes it actually had (W = w x batch, k = min(batch, 2N)), plus the driver's own ABC
bookkeeping D between calls.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
DATA = Path("/work/shared/data")
PROJECT_N = (1, 2, 4, 8, 16, 64)


def log(msg: str) -> None:
    print(f"[scaling-bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# -- shared setup ----------------------------------------------------------------------------
def _space(data: str, start_year: float = 2012.0):
    from sahelsim.model.space import Space

    if data and Path(data).is_dir():
        from sahelsim.grid.build import build_grid
        from sahelsim.scenarios.setup import space_from_grid

        return space_from_grid(build_grid(Path(data)), start_year), "study grid"
    return Space.synthetic(rows=30, cols=40), "synthetic 30x40 (data directory absent)"


def _ensemble_inputs(spec: dict):
    from sahelsim.core.canon import month_id
    from sahelsim.model.params import Params
    from sahelsim.scenarios.scenario import load_scenario
    from sahelsim.scenarios.setup import build_drivers

    space, grid = _space(spec["data"])
    start, T = int(month_id(2012, 1)), spec["months"]
    sc = load_scenario("acceleration")
    drivers = build_drivers(space, start, T, levers=sc.lever_series(start, T), flags=sc.flags,
                            projection_start=None)  # fmt: skip
    return space, grid, Params.default(), drivers


def _observed(spec: dict):
    """Statistics simulated at the default parameters (member 10**6): the calibration target."""
    import numpy as np

    from sahelsim.inference.calibrate import CALIBRATED, Calibrator
    from sahelsim.model.params import Params

    cal = Calibrator(years=spec["cal_years"], seed=0, data_dir=_data_dir(spec))
    base = Params.default()
    theta0 = np.array([[base.values[n] for n in CALIBRATED]])
    return cal.batch_simulator()(theta0, np.array([10**6]))[0]


def _data_dir(spec: dict):
    return Path(spec["data"]) if spec["data"] and Path(spec["data"]).is_dir() else None


class _Timed:
    """Wraps a batch simulator: counts calls and the seconds spent inside them."""

    def __init__(self, sim) -> None:
        self.sim, self.calls, self.seconds, self.batches = sim, 0, 0.0, []

    def __call__(self, theta, members):
        t0 = time.perf_counter()
        out = self.sim(theta, members)
        self.seconds += time.perf_counter() - t0
        self.calls += 1
        self.batches.append(int(theta.shape[0]))
        return out


def _digest(arr) -> str:
    """Exact fingerprint of an array's values (independent of its memory layout)."""
    import hashlib

    import numpy as np

    return hashlib.sha256(np.ascontiguousarray(arr).tobytes()).hexdigest()[:16]


def _calibrate(spec: dict, simulator, obs) -> dict:

    from sahelsim.inference.calibrate import Calibrator

    timed = _Timed(simulator)
    cal = Calibrator(n_particles=spec["particles"], generations=spec["generations"],
                     years=spec["cal_years"], seed=0, data_dir=_data_dir(spec),
                     simulator=timed)  # fmt: skip
    t0 = time.perf_counter()
    cal.fit(obs)
    wall = time.perf_counter() - t0
    post = cal.posterior_
    return {
        "seconds": wall,
        "simulator_calls": timed.calls,
        "simulator_seconds": timed.seconds,
        "driver_seconds": wall - timed.seconds,
        "simulations": int(cal.diagnostics_["n_simulations"]),
        "batch_sizes": timed.batches,
        "particles_kept": int(post.particles.shape[0]),
        "checksum": _digest(post.particles) + _digest(post.weights),
    }


# -- tasks shipped to the workers (by value: this file is __main__ in the child) ---------------
def _noop(_item):
    return None


def _payload(nbytes):
    import numpy as np

    return np.ones(int(nbytes) // 8)


def _warm(sim, _item):
    """Start-up of one worker: imports and the engine's compiled code (Numba cache), one
    particle of the calibration simulator (shipped with the task, as in a calibration)."""
    import numpy as np

    from sahelsim.inference.calibrate import CALIBRATED
    from sahelsim.model.params import SPECS

    t0 = time.perf_counter()
    default = {s.name: s.default for s in SPECS}
    sim(np.array([[default[n] for n in CALIBRATED]]), np.array([0]))
    time.sleep(0.5)  # hold this worker so the next warm-up task starts another one
    return {"pid": os.getpid(), "seconds": time.perf_counter() - t0 - 0.5}


# -- child side ------------------------------------------------------------------------------------
def _child_local(spec: dict) -> dict:
    """Reference: everything in this process, the engine on both cores (Numba prange)."""

    from sahelsim.model.engine import Record, simulate

    space, grid, params, drivers = _ensemble_inputs(spec)
    simulate(space, params, drivers, members=2, seed=0, record=Record(cells=()))  # warm-up
    t0 = time.perf_counter()
    ds = simulate(space, params, drivers, members=spec["members"], seed=0,
                  record=Record(cells=()))  # fmt: skip
    ens = time.perf_counter() - t0
    ens_sum = _digest(ds["deaths_total"].values)
    del ds
    obs = _observed(spec)
    from sahelsim.inference.calibrate import Calibrator

    cal_sim = Calibrator(years=spec["cal_years"], seed=0, data_dir=_data_dir(spec))
    sim = cal_sim.batch_simulator()
    cal = _calibrate(spec, sim, obs)
    return {
        "grid": grid,
        "cells": space.n_cells,
        "countries": space.n_countries,
        "numba_threads": __import__("numba").config.NUMBA_NUM_THREADS,
        "ensemble_seconds": ens,
        "ensemble_checksum": ens_sum,
        "calibration": cal,
        "single_thread": _task_costs(spec, space, params, drivers, sim),
    }


def _task_costs(spec: dict, space, params, drivers, sim) -> dict:
    """One thread (as in a worker): the fixed cost of a task (c, building and summarising the
    result) and the cost per member or particle (w), from tasks of 1 and of n units."""
    import statistics

    import numba
    import numpy as np

    from sahelsim.inference.calibrate import Calibrator
    from sahelsim.model.engine import Record, simulate

    numba.set_num_threads(1)

    def timed(fn, reps=3):
        out = []
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
        return statistics.median(out)

    n = spec["chunk"]
    e1 = timed(lambda: simulate(space, params, drivers, members=1, record=Record(cells=())))
    en = timed(lambda: simulate(space, params, drivers, members=n, record=Record(cells=())))
    lo, hi = Calibrator()._bounds()
    theta = lo + (hi - lo) * np.random.default_rng(0).random((25, lo.size))
    c1 = timed(lambda: sim(theta[:1], np.arange(1)))
    cn = timed(lambda: sim(theta, np.arange(25)))
    we, wc = (en - e1) / (n - 1), (cn - c1) / 24
    return {
        "ensemble_task_fixed_seconds": max(e1 - we, 0.0),
        "ensemble_seconds_per_member": we,
        "calibration_task_fixed_seconds": max(c1 - wc, 0.0),
        "calibration_seconds_per_particle": wc,
    }


def _child_ray(spec: dict) -> dict:
    import pickle

    import ray

    from sahelsim.distributed import RayBackend
    from sahelsim.inference.calibrate import Calibrator, ChunkedSimulator
    from sahelsim.model.engine import Record
    from sahelsim.scenarios.ensemble import simulate_members

    n = spec["workers"]
    space, _grid, params, drivers = _ensemble_inputs(spec)
    obs = _observed(spec)
    out: dict = {"workers": n}
    t0 = time.perf_counter()
    be = RayBackend(num_cpus=n, worker_threads=1, init_kwargs={"log_to_driver": False})
    be.connect()
    out["ray_init_seconds"] = time.perf_counter() - t0
    cal_sim = Calibrator(
        years=spec["cal_years"], seed=0, data_dir=_data_dir(spec)
    ).batch_simulator()
    t0 = time.perf_counter()
    warm = be.map(functools.partial(_warm, cal_sim), [None] * (2 * n))
    out["warmup_seconds"] = time.perf_counter() - t0
    out["worker_processes"] = len({w["pid"] for w in warm})
    out["worker_warmup_seconds_each"] = max(w["seconds"] for w in warm)

    # (b) per-task overhead
    be.map(_noop, list(range(20)))
    t0 = time.perf_counter()
    be.map(_noop, list(range(spec["empty_tasks"])))
    out["per_task_overhead_seconds"] = (time.perf_counter() - t0) / spec["empty_tasks"]

    # (c) result transfer
    big = 64 * 2**20
    times = {}
    for nbytes in (0, big):
        be.map(_payload, [nbytes])
        t0 = time.perf_counter()
        for _ in range(3):
            be.map(_payload, [nbytes])
        times[nbytes] = (time.perf_counter() - t0) / 3
    out["transfer_seconds_per_mib"] = max(times[big] - times[0], 0.0) / 64

    # (d) ensemble
    t0 = time.perf_counter()
    be.chunk = spec["chunk"]
    ds = simulate_members(space, params, drivers, members=spec["members"], seed=0,
                          record=Record(cells=()), backend=be)  # fmt: skip
    out["ensemble_seconds"] = time.perf_counter() - t0
    out["ensemble_tasks"] = math.ceil(spec["members"] / spec["chunk"])
    out["ensemble_checksum"] = _digest(ds["deaths_total"].values)
    out["result_bytes"] = int(ds.nbytes)
    one = ds.isel(member=slice(0, spec["chunk"]))
    out["pickled_bytes_per_member"] = len(pickle.dumps(one, protocol=5)) / spec["chunk"]
    del ds, one

    # (e) calibration
    be.chunk = spec["cal_chunk"]  # None: about two tasks per worker
    out["calibration"] = _calibrate(spec, ChunkedSimulator(cal_sim, be), obs)
    out["calibration"]["tasks"] = [
        math.ceil(b / (spec["cal_chunk"] or be.default_chunk(b)))
        for b in out["calibration"]["batch_sizes"]
    ]
    out["ray_version"] = ray.__version__
    be.close()
    return out


def _child(spec: dict) -> None:
    sys.path.insert(0, str(SRC))
    fn = {"local": _child_local, "ray": _child_ray}[spec["kind"]]
    print(json.dumps(fn(spec)))


# -- parent side -----------------------------------------------------------------------------------
def _run(spec: dict, timeout: float) -> dict:
    env = dict(os.environ, PYTHONPATH=str(SRC))
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)], env=env,
                          capture_output=True, text=True, timeout=timeout)  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"child {spec['kind']} failed:\n{proc.stderr[-4000:]}")
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    log(f"{spec['kind']} (workers={spec.get('workers', '-')}) done in "
        f"{time.perf_counter() - t0:.1f} s")  # fmt: skip
    return res


def _model(one: dict, local: dict, months: int, members: int) -> dict:
    """Fit the cost model on the 1-worker run; project T(N) and the speed-up."""
    st = local["single_thread"]
    o = one["per_task_overhead_seconds"]
    b = one["transfer_seconds_per_mib"] / 2**20
    R = one["result_bytes"]
    k1 = one["ensemble_tasks"]
    ce = st["ensemble_task_fixed_seconds"]
    W = max(one["ensemble_seconds"] - k1 * (o + ce) - b * R, 1e-9)
    c = one["calibration"]
    cc = st["calibration_task_fixed_seconds"]
    B = c["batch_sizes"]
    D = c["driver_seconds"]
    wc = max((c["simulator_seconds"] - sum(k * (o + cc) for k in c["tasks"])) / sum(B), 1e-9)
    full = [B[0]] * math.ceil(sum(B) / B[0])

    def t_ens(N: int) -> float:
        k = max(k1, N)
        return o * k + math.ceil(k / N) * (ce + W / k) + b * R

    def t_cal(N: int, batches: list[int] = B) -> float:
        total = D
        for batch in batches:
            k = min(batch, 2 * N)  # the backend's default: about two tasks per worker
            total += o * k + math.ceil(k / N) * (cc + wc * batch / k)
        return total

    return {
        "formula": "T(N) = o*k + ceil(k/N)*(c + W/k) + b*R; ensemble k = max(k_measured, N); "
        "calibration: D + sum over simulator calls of the same with W = w*batch, "
        "k = min(batch, 2N)",
        "o_per_task_seconds": o,
        "b_seconds_per_byte": b,
        "ensemble": {
            "W_seconds": W,
            "c_task_fixed_seconds": ce,
            "R_bytes": R,
            "tasks_measured": k1,
            "bytes_per_member_month": R / (members * months),
        },
        "calibration": {
            "w_seconds_per_particle": wc,
            "c_task_fixed_seconds": cc,
            "calls": len(B),
            "particles_per_call_mean": sum(B) / len(B),
            "driver_seconds_D": D,
        },
        "projected_seconds": {
            "ensemble": {str(N): t_ens(N) for N in PROJECT_N},
            "calibration": {str(N): t_cal(N) for N in PROJECT_N},
        },
        "projected_speedup": {
            "ensemble": {str(N): t_ens(1) / t_ens(N) for N in PROJECT_N},
            "calibration": {str(N): t_cal(1) / t_cal(N) for N in PROJECT_N},
            # what if: the same simulations in full batches of n_particles (the sampler tops
            # its proposal batches up to n_particles)
            "calibration_full_batches": {
                str(N): t_cal(1, full) / t_cal(N, full) for N in PROJECT_N
            },
        },
    }


def _load() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def _wait_quiet(limit: float, budget: float) -> float:
    """Wait (up to ``budget`` seconds) until the 1-minute load average is below ``limit``."""
    t0 = time.monotonic()
    while _load() >= limit and time.monotonic() - t0 < budget:
        time.sleep(5)
    return _load()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=1000)
    ap.add_argument("--months", type=int, default=60)
    ap.add_argument("--chunk", type=int, default=50)
    ap.add_argument("--particles", type=int, default=200)
    ap.add_argument("--generations", type=int, default=2)
    ap.add_argument("--cal-years", default="2012-2016")
    ap.add_argument("--cal-chunk", type=int, default=None,
                    help="particles per task (default: the backend's, ~2 tasks per worker)")  # fmt: skip
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--empty-tasks", type=int, default=300)
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--quiet-load", type=float, default=0.7,
                    help="wait (up to 10 min) for the load average to fall below this")  # fmt: skip
    ap.add_argument("--quick", action="store_true", help="smoke run: 100 members x 12 months")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(json.loads(args.child))
        return
    if args.quick:
        args.members, args.months, args.chunk = 100, 12, 25
        args.particles, args.generations, args.cal_years = 40, 1, "2012-2013"
        args.empty_tasks = 50
    y0, y1 = (int(x) for x in args.cal_years.split("-"))
    base = {"members": args.members, "months": args.months, "chunk": args.chunk,
            "particles": args.particles, "generations": args.generations,
            "cal_years": [y0, y1], "cal_chunk": args.cal_chunk,
            "empty_tasks": args.empty_tasks, "data": args.data}  # fmt: skip
    loads = {"before": _wait_quiet(args.quiet_load, 600)}
    log(f"load average {loads['before']:.2f}; in-process reference (Numba on all cores, no Ray)")
    local = _run(base | {"kind": "local"}, timeout=3600)
    ray_runs = {}
    for n in (int(x) for x in args.workers.split(",")):
        loads[f"before_{n}_workers"] = _wait_quiet(args.quiet_load, 600)
        log(f"Ray, {n} single-threaded worker(s)")
        ray_runs[str(n)] = _run(base | {"kind": "ray", "workers": n}, timeout=3600)
    loads["after"] = _load()
    identical = all(
        r["ensemble_checksum"] == local["ensemble_checksum"]
        and r["calibration"]["checksum"] == local["calibration"]["checksum"]
        for r in ray_runs.values()
    )
    lc = local["calibration"]
    res: dict = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "ray": next(iter(ray_runs.values()), {}).get("ray_version"),
            "load_average_1min": loads,
        },
        "setup": base
        | {
            "grid": local["grid"],
            "cells": local["cells"],
            "countries": local["countries"],
            "workers_single_threaded": "NUMBA_NUM_THREADS=1 (runtime_env) and "
            "numba.set_num_threads(1) in each task",
        },
        "identical_to_in_process": identical,
        "in_process": {
            "numba_threads": local["numba_threads"],
            "ensemble_seconds": local["ensemble_seconds"],
            "calibration_seconds": lc["seconds"],
            "calibration_simulations": lc["simulations"],
            "calibration_simulator_calls": lc["simulator_calls"],
            "calibration_particles_per_call": lc["batch_sizes"],
            "single_thread_task_costs": local["single_thread"],
        },
        "ray": {
            n: {
                "ray_init_seconds": r["ray_init_seconds"],
                "warmup_seconds": r["warmup_seconds"],
                "worker_processes_warmed": r["worker_processes"],
                "worker_warmup_seconds_each": r["worker_warmup_seconds_each"],
                "per_task_overhead_ms": 1e3 * r["per_task_overhead_seconds"],
                "transfer_ms_per_mib": 1e3 * r["transfer_seconds_per_mib"],
                "ensemble_seconds": r["ensemble_seconds"],
                "ensemble_tasks": r["ensemble_tasks"],
                "calibration_seconds": r["calibration"]["seconds"],
                "calibration_simulator_calls": r["calibration"]["simulator_calls"],
                "calibration_tasks": sum(r["calibration"]["tasks"]),
                "calibration_simulations": r["calibration"]["simulations"],
                "result_mib": r["result_bytes"] / 2**20,
                "pickled_bytes_per_member": r["pickled_bytes_per_member"],
            }
            for n, r in ray_runs.items()
        },
    }
    if "1" in ray_runs:
        res["model"] = _model(ray_runs["1"], local, args.months, args.members)
        if "2" in ray_runs:
            r1, r2 = ray_runs["1"], ray_runs["2"]
            proj = res["model"]["projected_seconds"]
            res["model"]["check_2_workers"] = {
                "ensemble_measured": r2["ensemble_seconds"],
                "ensemble_predicted": proj["ensemble"]["2"],
                "calibration_measured": r2["calibration"]["seconds"],
                "calibration_predicted": proj["calibration"]["2"],
            }
            res["measured_speedup_2_vs_1"] = {
                "ensemble": r1["ensemble_seconds"] / r2["ensemble_seconds"],
                "calibration": r1["calibration"]["seconds"] / r2["calibration"]["seconds"],
            }
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()

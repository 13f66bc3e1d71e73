"""Calibration benchmark: simulations per second of the batch simulator, wall time and peak
memory of a full ABC-SMC calibration on the study grid. Prints JSON.

    python benchmarks/calibrate.py [--particles 500] [--generations 8] [--quick]

Each measurement runs in its own subprocess (peak RSS read from /proc/self/status VmHWM).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"

CHILD = r"""
import json, sys, time
sys.path.insert(0, {src!r})
from pathlib import Path
import numpy as np
from sahelsim.inference.calibrate import Calibrator
from sahelsim.evidence.ingest import ingest_all
from sahelsim.data.store.store import Store
from sahelsim.evidence import indicators
data, particles, generations, db = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
with Store(db) as st:
    ingest_all(Path(data), st)
    cy = indicators.country_year(st)
cal = Calibrator(n_particles=particles, generations=0, years=(2012, 2024), data_dir=Path(data))
sim = cal.batch_simulator()
sim(np.tile(cal._bounds()[0], (2, 1)), np.arange(2))  # compile / warm up
lo, hi = cal._bounds()
theta = lo + (hi - lo) * np.random.default_rng(0).random((particles, len(lo)))
t = time.perf_counter()
sim(theta, np.arange(particles))
batch_s = time.perf_counter() - t
t = time.perf_counter()
cal = Calibrator(n_particles=particles, generations=generations, years=(2012, 2024),
                 data_dir=Path(data)).fit(cy)
wall = time.perf_counter() - t
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")]
print(json.dumps(dict(
    particles=particles, generations_run=len(cal.diagnostics_["epsilon"]) - 1,
    simulations=cal.diagnostics_["n_simulations"], wall_seconds=round(wall, 2),
    simulations_per_second=round(cal.diagnostics_["n_simulations"] / wall, 1),
    batch_simulations_per_second=round(particles / batch_s, 1),
    months_per_simulation=156, cells=1126,
    peak_rss_mib=round(int(hwm[0].split()[1]) / 1024, 1),
    final_epsilon=round(cal.diagnostics_["epsilon"][-1], 4),
    acceptance=[round(a, 3) for a in cal.diagnostics_["acceptance"]],
)))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--particles", type=int, default=500)
    ap.add_argument("--generations", type=int, default=8)
    ap.add_argument(
        "--data", default=os.environ.get("SAHELSIM_DATA", str(HERE.parents[1] / "shared" / "data"))
    )
    ap.add_argument("--quick", action="store_true", help="60 particles, 2 generations")
    args = ap.parse_args()
    if args.quick:
        args.particles, args.generations = 60, 2
    db = Path("/tmp") / f"sahelsim-bench-cal-{os.getpid()}.duckdb"
    out = subprocess.run(
        [sys.executable, "-c", CHILD.format(src=str(SRC)), args.data, str(args.particles),
         str(args.generations), str(db)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    db.unlink(missing_ok=True)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res["aim_full_calibration_seconds"] = 600
    res["meets_aim"] = res["wall_seconds"] < 600
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()

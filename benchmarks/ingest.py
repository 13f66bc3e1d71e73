"""Ingest benchmark: rows/s for 1 M synthetic rows in each event format, peak memory, and the
ratio against a plain ``pandas.read_csv`` + per-row Python normalisation baseline measured in the
same run. Prints JSON.

    python benchmarks/ingest.py [--rows 1000000] [--repeat 3] [--baseline-rows 200000]

Each measurement runs in a fresh subprocess so peak RSS (``ru_maxrss``) is its own. 0.1 % of the
rows are corrupted so the quarantine path is exercised.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
sys.path.insert(0, str(SRC))

import numpy as np  # noqa: E402

from sahelsim.data.fixtures import (  # noqa: E402
    acled_frame,
    ged_frame,
    write_csv,
    write_ged_api_pages,
)

CHILD = r"""
import json, sys, time
from pathlib import Path
sys.path.insert(0, {src!r})
kind, path, fmt, db = sys.argv[1:5]
import duckdb, pandas, numpy  # imports are not part of the measurement
from sahelsim.data.store.store import Store
import baseline_ingest
t0 = time.perf_counter()
if kind == "sahelsim":
    with Store(db) as st:
        rep = st.ingest_events(Path(path), fmt=fmt)
    n = rep.rows_read
    extra = dict(accepted=rep.rows_accepted, quarantined=rep.rows_quarantined)
else:
    n, extra = baseline_ingest.run(path, fmt, db)
dt = time.perf_counter() - t0
# VmHWM is this process's own peak RSS (ru_maxrss would include the pre-exec parent copy)
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")]
rss = int(hwm[0].split()[1]) / 1024 if hwm else float("nan")
print(json.dumps(dict(rows=n, seconds=dt, peak_rss_mib=rss, **extra)))
"""


def _make_inputs(rows: int, folder: Path) -> dict[str, Path]:
    rng = np.random.default_rng(0)
    ged = ged_frame(rows, seed=1)
    bad = rng.choice(rows, max(1, rows // 1000), replace=False)
    ged.loc[bad, "best"] = "-1"
    acled = acled_frame(rows, seed=2)
    acled.loc[bad, "fatalities"] = "-1"
    out = {
        "ged_csv": write_csv(ged, folder / "GEDEvent_v25_1.csv"),
        "acled_csv": write_csv(acled, folder / "acled.csv"),
    }
    write_ged_api_pages(ged, folder / "pages", pagesize=1000)  # the API's page size
    out["ged_json"] = folder / "pages"
    return out


def _run(kind: str, path: Path, fmt: str, tmp: Path) -> dict:
    db = tmp / f"{kind}-{fmt}-{time.time_ns()}.duckdb"
    env = dict(os.environ, PYTHONPATH=f"{SRC}:{HERE}")
    out = subprocess.run(
        [sys.executable, "-c", CHILD.format(src=str(SRC)), kind, str(path), fmt, str(db)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    for p in (db, Path(str(db) + ".wal")):
        p.unlink(missing_ok=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--baseline-rows", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="sahelsim-bench-") as d:
        tmp = Path(d)
        inputs = _make_inputs(args.rows, tmp)
        (tmp / "small").mkdir()
        small = _make_inputs(args.baseline_rows, tmp / "small")
        result: dict = {"rows": args.rows, "baseline_rows": args.baseline_rows, "formats": {}}
        for fmt, path in inputs.items():
            ours = [_run("sahelsim", path, fmt, tmp) for _ in range(args.repeat)]
            base = [_run("baseline", small[fmt], fmt, tmp) for _ in range(args.repeat)]
            ours_rps = statistics.median(r["rows"] / r["seconds"] for r in ours)
            base_rps = statistics.median(r["rows"] / r["seconds"] for r in base)
            result["formats"][fmt] = {
                "sahelsim_rows_per_s_median": round(ours_rps),
                "sahelsim_seconds_median": round(statistics.median(r["seconds"] for r in ours), 3),
                "sahelsim_peak_rss_mib_max": round(max(r["peak_rss_mib"] for r in ours), 1),
                "quarantined": ours[0]["quarantined"],
                "baseline_rows_per_s_median": round(base_rps),
                "baseline_peak_rss_mib_max": round(max(r["peak_rss_mib"] for r in base), 1),
                "speedup_vs_baseline": round(ours_rps / base_rps, 2),
            }
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

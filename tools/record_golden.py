"""Record reference outputs of small model runs (used by tests/test_golden.py).

Run once before a restructure that must not change numbers; the test then compares every later
version against these files. Usage: python tools/record_golden.py [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

CASES = {
    # name: (scenario, members, months, start, seed, synthetic)
    "synthetic_acceleration": ("acceleration", 6, 48, "2012-01", 11, True),
    "synthetic_coup": ("coup", 5, 30, "2023-06", 3, True),
    "real_acceleration": ("acceleration", 4, 36, "2012-01", 5, False),
}


def run_case(name: str, data_dir: Path | None):
    try:
        from sahelsim.model.engine import Record
        from sahelsim.scenarios.run import run_scenario  # after the restructure
    except ImportError:  # before
        from sahelsim.model.engine import Record
        from sahelsim.scenarios.run import run_scenario
    sc, members, months, start, seed, synthetic = CASES[name]
    ds = run_scenario(
        sc,
        data_dir=data_dir,
        members=members,
        months=months,
        start=start,
        seed=seed,
        synthetic=synthetic,
        record=Record(cells=("deaths", "hold", "jnim", "issp", "idp", "civilian_deaths")),
    )
    arrays = {}
    for v in ds.data_vars:
        arrays[v] = np.asarray(ds[v].values)
    arrays["__month"] = ds.month.values
    return arrays


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", default=os.environ.get("SAHELSIM_DATA"))
    a = ap.parse_args()
    out = Path(__file__).resolve().parents[1] / "tests" / "golden"
    out.mkdir(exist_ok=True)
    for name in CASES:
        if not CASES[name][5] and not a.data_dir:
            continue
        arrays = run_case(name, Path(a.data_dir) if a.data_dir else None)
        np.savez_compressed(out / f"{name}.npz", **arrays)
        print(name, len(arrays))


if __name__ == "__main__":
    main()

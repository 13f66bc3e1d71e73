"""Data tests on other sources: displacement stocks (c10, UNHCR/IDMC), single GED events (c16),
UCDP dyad names (c20), the dated timeline (c18, c19) and electricity access (c21, not staged)."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from sahelsim.claims.context import Context, claim_test
from sahelsim.claims.data_tests import bfa_rows
from sahelsim.claims.load import Claim
from sahelsim.claims.verdicts import (
    CONTRADICTED,
    MIXED,
    NOT_TESTABLE,
    SUPPORTED,
    Result,
    Untestable,
    count_text,
)
from sahelsim.core.canon import CORE_ISO3


@claim_test("c10_two_million_displaced")
def _c10(claim: Claim, ctx: Context) -> Result:
    cy = ctx.cy
    thr = float(claim.article_value or 0)
    ok = cy.dropna(subset=["idps", "refugees_abroad"])
    counts = ok.groupby("year")["iso3"].nunique()
    full = counts[counts == len(CORE_ISO3)]
    if full.empty:
        raise Untestable("no year with IDP and refugee figures for all three countries")
    year = int(full.index.max())
    d = ok[ok["year"] == year].set_index("iso3").loc[list(CORE_ISO3)]
    idps, refs = float(d["idps"].sum()), float(d["refugees_abroad"].sum())
    total = idps + refs
    verdict = SUPPORTED if total > thr else CONTRADICTED
    via_idmc = [i for i in CORE_ISO3 if pd.isna(d.loc[i, "idps_unhcr"])]
    per = ", ".join(f"{i} {count_text(float(d.loc[i, 'idps']))}" for i in CORE_ISO3)
    fig = (
        f"{year}: IDPs {count_text(idps)} ({per}) + refugees and asylum seekers from the three "
        f"countries {count_text(refs)} = {count_text(total)} displaced vs the article's 'over' {count_text(thr)}"
    )
    bfa = cy[cy["iso3"] == "BFA"].set_index("year")["idps"]
    if year in bfa.index and (year - 1) in bfa.index and bfa[year] == bfa[year - 1]:
        fig += (
            f". Burkina Faso's IDP stock is frozen ({count_text(float(bfa[year]))} since the government "
            f"stopped publishing in 2023); without it the total is {count_text(total - float(bfa[year]))}"
        )
    unhcr = ctx.version("unhcr_population")
    src = f"UNHCR refugee statistics {unhcr or '?'} (IDPs, refugees, asylum seekers)"
    if via_idmc:
        src += f"; IDMC via UNHCR for IDPs of {', '.join(via_idmc)}"
    return Result(
        verdict=verdict,
        figure=fig,
        source=src,
        definitions=(
            "end-of-year stocks: internally displaced people (UNHCR; IDMC where UNHCR has none) + "
            "refugees and asylum seekers originating from MLI, BFA, NER in any country"
        ),
        evidence="data",
        interval=f"{count_text(total)} vs {count_text(thr)}",
    )


@claim_test("c16_nondin_soro_223")
def _c16(claim: Claim, ctx: Context) -> Result:
    thr = float(claim.article_value or 0)
    st = ctx.store
    srcs = []
    if st.count("events"):
        srcs = list(
            st.sql(
                "SELECT DISTINCT source FROM events WHERE source IN ('ucdp_ged', 'ucdp_candidate')"
                " AND iso3 = 'BFA' AND year = 2024 ORDER BY source"
            )["source"]
        )
    if not srcs:
        b = bfa_rows(ctx)
        govt = float(b.loc[2024, "civilians_killed_by_government"]) if 2024 in b.index else None
        fig = "no UCDP GED events for Burkina Faso 2024 in the store: a single event cannot be checked"
        if govt is not None:
            fig += (
                f"; the 2024 country-year total of government one-sided killings ({count_text(govt)}) is "
                f"large enough to include {count_text(thr)}, which is consistent but not a test"
            )
        return Result(NOT_TESTABLE, fig, ctx.ucdp_source, claim.measure, "none")
    src = srcs[0]
    q = st.sql(
        """
        SELECT count(*) AS n, coalesce(sum(best), 0) AS best, coalesce(sum(low), 0) AS low,
               coalesce(sum(high), 0) AS high, string_agg(DISTINCT location, '; ') AS places
        FROM events
        WHERE source = ? AND iso3 = 'BFA' AND type_of_violence = 3
          AND date_start BETWEEN DATE '2024-02-24' AND DATE '2024-02-26'
          AND side_a ILIKE 'Government of Burkina Faso%'
        """,
        [src],
    ).iloc[0]
    best, low, high = float(q["best"]), float(q["low"]), float(q["high"])
    if best >= thr or low <= thr <= high:
        verdict = SUPPORTED
    elif high < thr / 2:
        verdict = CONTRADICTED
    else:
        verdict = MIXED
    version = ctx.version(src)
    fig = (
        f"UCDP {src}: {int(q['n'])} one-sided event(s) by the government of Burkina Faso on "
        f"24-26 Feb 2024 ({q['places'] or 'no location'}), best {count_text(best)} (low-high "
        f"{count_text(low)}-{count_text(high)}) vs the article's {count_text(thr)}"
    )
    return Result(
        verdict,
        fig,
        f"UCDP {'GED' if src == 'ucdp_ged' else 'Candidate'} v{version or '?'} events",
        claim.measure,
        "data",
        f"low-high {count_text(low)}-{count_text(high)} vs {count_text(thr)}",
    )


@claim_test("c20_russians_in_all_three")
def _c20(claim: Claim, ctx: Context) -> Result:
    last = int(ctx.cy["year"].max())
    d = ctx.store.sql(
        "SELECT iso3, sb_dyad_names, ns_dyad_names, os_dyad_names FROM ucdp_country_year "
        "WHERE year = ? AND iso3 IN ('MLI', 'BFA', 'NER')",
        [last],
    ).set_index("iso3")
    found = {}
    for iso in CORE_ISO3:
        names = " ; ".join(str(x) for x in d.loc[iso].dropna()) if iso in d.index else ""
        found[iso] = "russia" in names.lower()
    n = sum(found.values())
    verdict = SUPPORTED if n == len(CORE_ISO3) else (MIXED if n else NOT_TESTABLE)
    fig = f"UCDP {last} dyads naming Russia: " + ", ".join(
        f"{iso} {'yes' if f else 'no'}" for iso, f in found.items()
    )
    if 0 < n < len(CORE_ISO3):
        fig += (
            "; where Russia is absent from UCDP it may still be present without being a party "
            "to deadly violence above the threshold"
        )
    return Result(
        verdict,
        fig,
        ctx.ucdp_source,
        "a country counts when 'Russia' appears in any state-based, non-state or one-sided "
        "dyad name of the latest UCDP year",
        "data",
    )


@claim_test("c18_institutional_chronology")
def _c18(claim: Claim, ctx: Context) -> Result:
    return _dates(claim, ctx)


def _month(ts: Any) -> str:
    t = pd.Timestamp(ts)
    return f"{t.year:04d}-{t.month:02d}"


def _dates(claim: Claim, ctx: Context) -> Result:
    dates = claim.article_dates or {}
    if not dates:
        raise Untestable("the claim lists no dates (article_dates)")
    hits, parts, srcs = 0, [], []
    for ev_id, claimed in dates.items():
        ev = ctx.event(ev_id)
        got = _month(ev.date)
        ok = got == claimed
        hits += ok
        parts.append(
            f"{ev_id}: article {claimed}, timeline {pd.Timestamp(ev.date).date()} "
            f"({'match' if ok else 'differs'})"
        )
        srcs.append(str(ev.source).split(",")[0])
    verdict = SUPPORTED if hits == len(dates) else (CONTRADICTED if hits == 0 else MIXED)
    return Result(
        verdict,
        "; ".join(parts),
        "sahelsim timeline (resources/timeline.toml): " + "; ".join(srcs),
        "month of each dated event in the project's sourced timeline",
        "data",
    )


@claim_test("c19_joint_force_announced_dec_2024")
def _c19(claim: Claim, ctx: Context) -> Result:
    ev = ctx.event("aes_joint_force_5000")
    troops = json.loads(ev.effects).get("joint_force_troops")
    claimed = (claim.article_dates or {}).get("aes_joint_force_5000", "2024-12")
    size_ok = troops is not None and float(troops) == float(claim.article_value or 0)
    date_ok = _month(ev.date) == claimed
    verdict = SUPPORTED if size_ok and date_ok else (MIXED if size_ok or date_ok else CONTRADICTED)
    fig = (
        f"timeline: {count_text(float(troops or 0))} troops first stated on {pd.Timestamp(ev.date).date()} "
        f"(article: {count_text(float(claim.article_value or 0))} in {claimed}); size "
        f"{'matches' if size_ok else 'differs'}, month {'matches' if date_ok else 'differs'}"
    )
    try:
        created = ctx.event("aes_joint_force_created")
        fig += f"; the force itself was announced on {pd.Timestamp(created.date).date()}"
    except Untestable:
        pass
    return Result(
        verdict,
        fig,
        f"sahelsim timeline (resources/timeline.toml): {ev.source}",
        claim.measure,
        "data",
    )


@claim_test("c21_grid_access_20pct")
def _c21(claim: Claim, ctx: Context) -> Result:
    return Result(
        NOT_TESTABLE,
        "no electricity-access data in the store (World Bank WDI EG.ELC.ACCS.ZS is not staged)",
        "none",
        claim.measure,
        "none",
    )

"""Data tests on UCDP country-year counts: before/after trends (c01, c02, c14, c15) and Burkina
Faso's yearly figures (c04, c17, c05, c06).

Trends are rate ratios of yearly counts (the event year left out), decided by the
over-dispersion-adjusted 90 % interval: with two or three years on a side these intervals are
wide, and the verdict says so rather than reading a point estimate as a finding.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from sahelsim.claims.context import Context, claim_test
from sahelsim.claims.load import Claim
from sahelsim.claims.verdicts import (
    CONSISTENT,
    CONTRADICTED,
    MIXED,
    NOT_CONSISTENT,
    SUPPORTED,
    Result,
    Untestable,
    count_text,
    period_ratio,
    pooled_verdict,
    rr_text,
    rr_verdict,
    years_text,
)
from sahelsim.core.canon import CORE_ISO3

_METHOD = (
    "UCDP 'best' estimates per calendar year; RR = yearly rate after / before, the event year "
    "left out (sahelsim.timeline.before_after); the over-dispersion-adjusted 90 % interval "
    "decides (pooled = the three countries summed)."
)


def _jihadist_deaths(cy: pd.DataFrame) -> pd.Series:
    return cy["deaths_state_based"] + cy["deaths_non_state"] + cy["civilians_killed_by_nonstate"]


def _trend(
    claim: Claim,
    ctx: Context,
    column: pd.Series,
    countries: Sequence[str],
    event_year: int,
    before: Sequence[int],
    sensitivity: tuple[Sequence[int], Sequence[int]] | None,
    label: str,
) -> Result:
    """Before/after trend per country and pooled; verdict from the pooled main comparison."""
    cy = ctx.cy
    last = int(cy["year"].max())
    after = list(range(event_year + 1, last + 1))
    if not after:
        raise Untestable(f"no UCDP year after {event_year} in the store (latest {last})")
    parts, verdicts = [], []
    pooled_counts: dict[int, float] = {}
    for iso in countries:
        s = ctx.series(iso, column)
        for y, v in s.items():
            pooled_counts[int(y)] = pooled_counts.get(int(y), 0.0) + float(v)
        r = period_ratio(s, before, after)
        v = rr_verdict(r)
        verdicts.append(v)
        text = (
            f"{iso}: {years_text(after)} {count_text(r.rate_after)}/yr vs {years_text(before)} "
            f"{count_text(r.rate_before)}/yr, {rr_text(r)} -> {v}"
        )
        if sensitivity is not None:
            rs = period_ratio(s, sensitivity[0], sensitivity[1])
            text += (
                f" [sensitivity {years_text(sensitivity[1])} vs {years_text(sensitivity[0])}: "
                f"{rr_text(rs)} -> {rr_verdict(rs)}]"
            )
        parts.append(text)
    if len(countries) > 1:
        rp = period_ratio(pooled_counts, before, after)
        pooled = rr_verdict(rp)
        verdict = pooled_verdict(pooled, verdicts)
        parts.append(
            f"pooled: {years_text(after)} {count_text(rp.rate_after)}/yr vs {years_text(before)} "
            f"{count_text(rp.rate_before)}/yr, {rr_text(rp)} -> {pooled}"
        )
        if sensitivity is not None:
            rs = period_ratio(pooled_counts, sensitivity[0], sensitivity[1])
            parts.append(
                f"pooled sensitivity {years_text(sensitivity[1])} vs {years_text(sensitivity[0])}: "
                f"{rr_text(rs)} -> {rr_verdict(rs)}"
            )
        main = rp
    else:
        verdict = verdicts[0]
        main = period_ratio(ctx.series(countries[0], column), before, after)
    interval = f"{'pooled ' if len(countries) > 1 else ''}{rr_text(main)}"
    if verdict == MIXED and math.isfinite(main.rate_ratio):
        way = {1: "higher", -1: "lower"}.get(int(np.sign(main.rate_ratio - 1)), "unchanged")
        parts.append(
            f"reading: the point estimate is {way} after, but the year-to-year swings of "
            "UCDP counts are too large for the change to be distinguished from them"
        )
    return Result(
        verdict=verdict,
        figure="; ".join(parts),
        source=ctx.ucdp_source,
        definitions=f"{label}. {_METHOD}",
        evidence="data",
        interval=interval,
    )


def _since_aes(claim: Claim, ctx: Context, column: pd.Series, label: str) -> Result:
    """The three countries, the two years before the AES charter against the years after it
    (sensitivity: the charter year counted as after)."""
    ev = int(ctx.event("aes_charter").year)
    before = [ev - 2, ev - 1]
    last = int(ctx.cy["year"].max())
    sensitivity = (before, list(range(ev, last + 1)))
    return _trend(claim, ctx, column, CORE_ISO3, ev, before, sensitivity, label)


@claim_test("c01_attacks_up_since_aes")
def _c01(claim: Claim, ctx: Context) -> Result:
    return _since_aes(
        claim,
        ctx,
        _jihadist_deaths(ctx.cy),
        "jihadist-violence deaths = UCDP state-based + non-state deaths + one-sided killings by "
        "non-state groups (a proxy for attacks: no event counts are staged)",
    )


@claim_test("c02_civilian_casualties_up_since_aes")
def _c02(claim: Claim, ctx: Context) -> Result:
    return _since_aes(
        claim,
        ctx,
        ctx.cy["civilian_deaths"],
        "civilian deaths = UCDP civilians killed in state-based and non-state fighting + all "
        "one-sided killings",
    )


@claim_test("c14_mali_attacks_up_after_minusma")
def _c14(claim: Claim, ctx: Context) -> Result:
    ev = int(ctx.event("minusma_withdrawal_complete").year)
    last = int(ctx.cy["year"].max())
    return _trend(
        claim,
        ctx,
        _jihadist_deaths(ctx.cy),
        ("MLI",),
        ev,
        [ev - 2, ev - 1],
        ([ev - 3, ev - 2, ev - 1], list(range(ev + 1, last + 1))),
        "jihadist-violence deaths in Mali = UCDP state-based (incl. the war with the separatist "
        "FLA) + non-state deaths + one-sided killings by non-state groups; MINUSMA left in 2023 "
        "(mandate ended 30 June, withdrawal completed 31 December)",
    )


@claim_test("c15_terrorism_deaths_up_since_coups")
def _c15(claim: Claim, ctx: Context) -> Result:
    coups = {"MLI": "mli_coup_2020", "BFA": "bfa_coup_2022_jan", "NER": "ner_coup_2023"}
    cy = ctx.cy
    col = _jihadist_deaths(cy)
    last = int(cy["year"].max())
    rel_counts: dict[int, float] = {}
    rel_expo: dict[int, float] = {}
    parts, verdicts = [], []
    for iso, ev_id in coups.items():
        cy_year = int(ctx.event(ev_id).year)
        s = ctx.series(iso, col)
        before = [cy_year - 3, cy_year - 2, cy_year - 1]
        after = list(range(cy_year + 1, last + 1))
        r = period_ratio(s, before, after)
        v = rr_verdict(r)
        verdicts.append(v)
        parts.append(
            f"{iso} (coup {cy_year}): {years_text(after)} {count_text(r.rate_after)}/yr vs "
            f"{years_text(before)} {count_text(r.rate_before)}/yr, {rr_text(r)} -> {v}"
        )
        for y in [*before, *after]:
            if y in s.index and not math.isnan(float(s[y])):
                k = y - cy_year
                rel_counts[k] = rel_counts.get(k, 0.0) + float(s[y])
                rel_expo[k] = rel_expo.get(k, 0.0) + 1.0
    after_rel = sorted(k for k in rel_counts if k > 0)
    rp = period_ratio(rel_counts, [-3, -2, -1], after_rel, rel_expo)
    pooled = rr_verdict(rp)
    parts.append(
        f"pooled (years relative to each coup): after {count_text(rp.rate_after)} vs before "
        f"{count_text(rp.rate_before)} per country-year, {rr_text(rp)} -> {pooled}"
    )
    return Result(
        verdict=pooled_verdict(pooled, verdicts),
        figure="; ".join(parts),
        source=f"{ctx.ucdp_source}; sahelsim timeline (coup dates)",
        definitions=(
            "jihadist-violence deaths = UCDP state-based + non-state deaths + one-sided killings "
            "by non-state groups (UCDP has no 'terrorism' category); three years before the "
            "coup year vs every year after it. " + _METHOD
        ),
        evidence="data",
        interval=f"pooled {rr_text(rp)}",
    )


# -- data tests: figures -----------------------------------------------------------------------


def bfa_rows(ctx: Context, need_2024: bool = False) -> pd.DataFrame:
    """Burkina Faso's UCDP country-year rows indexed by year (optionally requiring 2024)."""
    cy = ctx.cy
    b = cy[cy["iso3"] == "BFA"].set_index("year")
    if b.empty:
        raise Untestable("no UCDP country-year rows for Burkina Faso")
    if need_2024 and 2024 not in b.index:
        raise Untestable("UCDP country-year has no 2024 row for Burkina Faso")
    return b


def floor_verdict(strict: float, generous: float, claimed: float) -> str:
    """A claimed count against UCDP, a conservative floor: supported when the strict count
    reaches it, consistent when only the generous count does, not consistent otherwise (the
    floor stays below, which says the sources differ, not that the claim is wrong)."""
    if strict >= claimed:
        return SUPPORTED
    return CONSISTENT if generous >= claimed else NOT_CONSISTENT


_FLOOR_NOTE = (
    "UCDP counts only deaths it can attribute from confirmed reports, a conservative floor, so "
    "a lower UCDP count does not refute a larger one"
)


def _peak_year(claim: Claim, ctx: Context, column: str, label: str) -> Result:
    b = bfa_rows(ctx, need_2024=True)
    s = b[column].astype(float)
    peak = int(s.idxmax())
    rank = int((s > s[2024]).sum()) + 1
    verdict = SUPPORTED if peak == 2024 else CONTRADICTED
    if peak == 2024:
        prev = int(s.drop(2024).idxmax())
        fig = (
            f"UCDP {label}, Burkina Faso: 2024 {count_text(s[2024])} is the highest of "
            f"{len(s)} years ({b.index.min()}-{b.index.max()}); previous peak {prev} "
            f"{count_text(s[prev])}"
        )
    else:
        fig = (
            f"UCDP {label}, Burkina Faso: {peak} {count_text(s[peak])} > 2024 {count_text(s[2024])}; 2024 ranks "
            f"{rank} of {len(s)} years ({b.index.min()}-{b.index.max()})"
        )
    interval = ""
    if column == "deaths_total":
        lo, hi = b["deaths_total_low"], b["deaths_total_high"]
        interval = (
            f"UCDP low-high: 2024 {count_text(lo[2024])}-{count_text(hi[2024])}; {peak} {count_text(lo[peak])}-"
            f"{count_text(hi[peak])}"
        )
        if peak != 2024:
            civ = b["civilian_deaths"].astype(float)
            if int(civ.idxmax()) == 2024:
                prev = int(civ.drop(2024).idxmax())
                fig += (
                    f". On UCDP civilian deaths (closer to HRW's measure) 2024 is the peak: "
                    f"{count_text(civ[2024])} vs {count_text(civ[prev])} in {prev} (see c17)"
                )
            else:
                fig += f". UCDP civilian deaths peak in {int(civ.idxmax())}"
    return Result(
        verdict=verdict,
        figure=fig,
        source=ctx.ucdp_source,
        definitions=f"{claim.measure}; UCDP best estimates, all years in the table",
        evidence="data",
        interval=interval,
    )


@claim_test("c04_bfa_deadliest_year_2024")
def _c04(claim: Claim, ctx: Context) -> Result:
    return _peak_year(
        claim,
        ctx,
        "deaths_total",
        "organized-violence deaths (state-based + non-state + one-sided)",
    )


@claim_test("c17_bfa_deadliest_year_civilians")
def _c17(claim: Claim, ctx: Context) -> Result:
    return _peak_year(claim, ctx, "civilian_deaths", "civilian deaths")


@claim_test("c05_bfa_islamist_civilian_killings_2024")
def _c05(claim: Claim, ctx: Context) -> Result:
    b = bfa_rows(ctx, need_2024=True)
    x = b.loc[2024]
    thr = float(claim.article_value or 0)
    strict = float(x["civilians_killed_by_nonstate"])
    generous = float(x["civilian_deaths"] - x["civilians_killed_by_government"])
    verdict = floor_verdict(strict, generous, thr)
    fig = (
        f"UCDP 2024, Burkina Faso: one-sided killings by non-state groups {count_text(strict)}; "
        f"generous count (+ civilians killed in fighting + unknown perpetrator) "
        f"{count_text(generous)}; article: more than {count_text(thr)}. UCDP records "
        f"{strict / thr:.0%} of the article's figure ({generous / thr:.0%} with the generous "
        f"count). {_FLOOR_NOTE}"
    )
    return Result(
        verdict=verdict,
        figure=fig,
        source=ctx.ucdp_source,
        definitions=(
            "UCDP one-sided violence by non-state actors (os_nsgroup best): intentional killings "
            "of civilians by JNIM, IS and other groups above 25 deaths/year; the generous count "
            "adds civilians killed in state-based and non-state fighting and one-sided killings "
            "of unknown perpetrator"
        ),
        evidence="data",
        interval=(
            f"strict {count_text(strict)} - generous {count_text(generous)} vs threshold "
            f"{count_text(thr)}"
        ),
    )


@claim_test("c06_bfa_state_civilian_killings_2024")
def _c06(claim: Claim, ctx: Context) -> Result:
    b = bfa_rows(ctx, need_2024=True)
    thr = float(claim.article_value or 0)
    govt = float(b.loc[2024, "civilians_killed_by_government"])
    verdict = floor_verdict(govt, govt, thr)
    fig = (
        f"UCDP 2024, Burkina Faso: one-sided killings by the government {count_text(govt)} vs the "
        f"article's floor of {count_text(thr)} ({govt / thr:.1f} times the floor)"
    )
    if verdict != SUPPORTED:
        fig += f". {_FLOOR_NOTE}"
    prev = b["civilians_killed_by_government"].drop(2024)
    if len(prev):
        fig += f"; previous high {int(prev.idxmax())} {count_text(float(prev.max()))}"
    return Result(
        verdict=verdict,
        figure=fig,
        source=ctx.ucdp_source,
        definitions=(
            "UCDP one-sided violence by any government (os_any_govt best): intentional "
            "killings of civilians by state forces and auxiliaries under their command"
        ),
        evidence="data",
        interval=f"{count_text(govt)} vs floor {count_text(thr)}",
    )

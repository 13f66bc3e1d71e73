"""Data tests on UCDP country-year counts: before/after trends (c01, c02, c14, c15) and Burkina
Faso's yearly figures (c04, c17, c05, c06).

Trends are judged by a no-change forecast (:mod:`sahelsim.claims.trend`): is the observed level
of the years after the event outside what the years before it (their level and the series'
earlier year-to-year swings) would produce if nothing had changed?
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from sahelsim.claims.context import Context, claim_test
from sahelsim.claims.load import Claim
from sahelsim.claims.trend import (
    ACTIVE,
    SWING_YEARS,
    NoChange,
    comparison_text,
    disagreement_text,
    interval_text,
    mixed_reading,
    no_change,
    not_testable,
    pooled_ratio,
    pooled_ratio_verdict,
    range_position,
    sensitivity_text,
    trend_verdict,
)
from sahelsim.claims.verdicts import (
    CONSISTENT,
    CONTRADICTED,
    MIXED,
    NOT_CONSISTENT,
    SUPPORTED,
    Result,
    Untestable,
    count_text,
    pooled_verdict,
    years_text,
)
from sahelsim.core.canon import CORE_ISO3, ISO3_TO_NAME

_METHOD = (
    "UCDP 'best' estimates per calendar year, the event year left out. Each trend is judged "
    "by a no-change forecast: the yearly level of the years before the event (the geometric "
    "mean of count + 1, minus 1) and the series' year-to-year swings over the "
    f"{SWING_YEARS} years up to them (changes between years with at least {ACTIVE:.0f} "
    "deaths; never below counting noise) give the range of yearly levels (90 %) the years "
    "after would show if nothing had changed. Observed (the same kind of mean over the years "
    "after) above the range -> supported, below -> contradicted, inside -> mixed. Only years "
    "up to the last before year enter the forecast. A country or sensitivity comparison "
    "pointing the other way makes the verdict mixed."
)


def _jihadist_deaths(cy: pd.DataFrame) -> pd.Series:
    return cy["deaths_state_based"] + cy["deaths_non_state"] + cy["civilians_killed_by_nonstate"]


def _name(iso3: str) -> str:
    return ISO3_TO_NAME.get(iso3, iso3)


def _summed(ctx: Context, column: pd.Series, countries: Sequence[str]) -> pd.Series:
    """The countries' yearly counts summed, over the years every one of them has."""
    parts = [ctx.series(iso, column).dropna() for iso in countries]
    years = sorted(set.intersection(*(set(map(int, p.index)) for p in parts)))
    return pd.Series([sum(float(p[y]) for p in parts) for y in years], index=years, dtype=float)


def _trend(
    claim: Claim,
    ctx: Context,
    column: pd.Series,
    countries: Sequence[str],
    event_year: int,
    before: Sequence[int],
    sensitivity: tuple[str, Sequence[int], Sequence[int]] | None,
    label: str,
) -> Result:
    """Per country and pooled (the countries summed): the years after ``event_year`` against a
    no-change forecast from ``before``; the verdict from the pooled main comparison, mixed when
    a country or the sensitivity comparison (label, before, after) points the other way."""
    last = int(ctx.cy["year"].max())
    after = list(range(event_year + 1, last + 1))
    if not after:
        raise Untestable(f"no UCDP year after {event_year} in the store (latest {last})")
    series = {_name(iso): ctx.series(iso, column) for iso in countries}
    if len(countries) > 1:
        series["pooled"] = _summed(ctx, column, countries)
    forecasts = {name: no_change(s, before, after) for name, s in series.items()}
    verdicts = {name: trend_verdict(nc) for name, nc in forecasts.items()}
    sens: dict[str, str] = {}
    parts: list[str] = []
    for name, nc in forecasts.items():
        text = f"{name}: {comparison_text(nc)}"
        if sensitivity is not None:
            ns = no_change(series[name], sensitivity[1], sensitivity[2])
            sens[name] = trend_verdict(ns)
            text += f" {sensitivity_text(sensitivity[0], ns)}"
        parts.append(text)
    head = list(series)[-1]  # the pooled series, or the only country's
    main = forecasts[head]
    others = [v for n, v in verdicts.items() if n != head]
    if sensitivity is not None:
        others.append(sens[head])
    verdict = pooled_verdict(verdicts[head], others)
    differ = disagreement_text(verdicts)
    if differ:
        parts.append(differ)
    if sensitivity is not None and sens[head] != verdicts[head]:
        parts.append(
            f"the sensitivity comparison ({sensitivity[0]}) gives {sens[head]} where the main "
            f"one gives {verdicts[head]}"
        )
    if verdict == MIXED and verdicts[head] == MIXED:
        parts.append(mixed_reading(main))
    prefix = "pooled: " if len(countries) > 1 else ""
    return Result(
        verdict=verdict,
        figure="; ".join(p for p in parts if p),
        source=ctx.ucdp_source,
        definitions=f"{label}. {_METHOD}",
        evidence="data",
        interval=prefix + interval_text(main),
    )


def _since_aes(claim: Claim, ctx: Context, column: pd.Series, label: str) -> Result:
    """The three countries, the two years before the AES charter against the years after it
    (sensitivity: the charter year counted as after)."""
    ev = int(ctx.event("aes_charter").year)
    before = [ev - 2, ev - 1]
    last = int(ctx.cy["year"].max())
    sensitivity = (f"{ev} counted as after", before, list(range(ev, last + 1)))
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
    three = [ev - 3, ev - 2, ev - 1]
    return _trend(
        claim,
        ctx,
        _jihadist_deaths(ctx.cy),
        ("MLI",),
        ev,
        [ev - 2, ev - 1],
        (f"from {years_text(three)}", three, list(range(ev + 1, last + 1))),
        "jihadist-violence deaths in Mali = UCDP state-based (incl. the war with the separatist "
        "FLA) + non-state deaths + one-sided killings by non-state groups; MINUSMA left in 2023 "
        "(mandate ended 30 June, withdrawal completed 31 December)",
    )


@claim_test("c15_terrorism_deaths_up_since_coups")
def _c15(claim: Claim, ctx: Context) -> Result:
    """Each country's years after its coup against a no-change forecast from the three years
    before it; pooled: the countries' observed/forecast ratios averaged on the log scale."""
    coups = {"MLI": "mli_coup_2020", "BFA": "bfa_coup_2022_jan", "NER": "ner_coup_2023"}
    col = _jihadist_deaths(ctx.cy)
    last = int(ctx.cy["year"].max())
    parts: list[str] = []
    verdicts: dict[str, str] = {}
    forecasts: list[NoChange] = []
    for iso, ev_id in coups.items():
        cy_year = int(ctx.event(ev_id).year)
        before = [cy_year - 3, cy_year - 2, cy_year - 1]
        after = list(range(cy_year + 1, last + 1))
        if after:
            nc = no_change(ctx.series(iso, col), before, after)
        else:
            nc = not_testable(before, [cy_year + 1], f"no UCDP year after {cy_year}")
        forecasts.append(nc)
        verdicts[_name(iso)] = trend_verdict(nc)
        parts.append(f"{_name(iso)} (coup {cy_year}): {comparison_text(nc)}")
    p = pooled_ratio(forecasts)
    pooled = pooled_ratio_verdict(p)
    if p.series:
        where = range_position(p.ratio, p.low, p.high)
        parts.append(
            f"pooled ({p.series} countries, each against its own forecast): after the coups "
            f"{p.ratio:.2f} times the no-change forecasts (geometric mean); no change would "
            f"give {p.low:.2f}-{p.high:.2f} times (90 %, allowing for the countries' swings"
            f" moving together: correlation {p.correlation:.2f}) -> {where} ({pooled})"
        )
        interval = (
            f"pooled: expected {p.low:.2f}-{p.high:.2f} times the before-coup level (90 %, "
            "no-change forecasts from the three years before each coup); observed "
            f"{p.ratio:.2f} times"
        )
    else:
        parts.append("pooled: not testable (no country's forecast could be made)")
        interval = "not testable"
    differ = disagreement_text(verdicts)
    if differ:
        parts.append(differ)
    if pooled in (SUPPORTED, CONTRADICTED) and pooled not in verdicts.values():
        parts.append(
            f"no country alone is outside its expected range; the pooled verdict ({pooled}) "
            "rests on the countries moving the same way together"
        )
    verdict = pooled_verdict(pooled, verdicts.values())
    if verdict == MIXED and pooled == MIXED:
        parts.append(
            "reading: on average the years after the coups are within what each country's "
            "earlier level and swings would produce"
        )
    return Result(
        verdict=verdict,
        figure="; ".join(parts),
        source=f"{ctx.ucdp_source}; sahelsim timeline (coup dates)",
        definitions=(
            "jihadist-violence deaths = UCDP state-based + non-state deaths + one-sided killings "
            "by non-state groups (UCDP has no 'terrorism' category); the three years before the "
            "coup year forecast every year after it, per country; pooled = the mean over the "
            "countries of log((observed + 1) / (forecast + 1)), whose no-change range combines "
            "the countries' own. " + _METHOD
        ),
        evidence="data",
        interval=interval,
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

"""The indicators an analyst asks for first, computed from the store.

* country-year (always; UCDP country-year table + UNHCR/IDMC displacement + World Bank
  population): deaths by UCDP violence type, one-sided deaths by perpetrator class, civilian
  deaths, deaths per 100,000 people, IDPs, refugees from the country.
* country-month and cell-month (whenever event rows are present): fatalities by violence type
  and by perpetrator class, civilian deaths by perpetrator, event counts, active cells.

Events geo-coded only to a province or a country (UCDP ``where_prec`` >= 4, ACLED
``geo_precision`` 3) are not dropped on a centroid: at cell level their deaths are spread over
the country's cells in proportion to population, which conserves totals (VIEWS practice).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pandas as pd

from sahelsim.data.store.store import Store

log = logging.getLogger(__name__)

#: Perpetrator classes reported in the tables (from the actor map's ``class``/``side``).
PERPETRATOR_CLASSES = ("state", "russia", "state_aligned_militia", "jihadist", "armed_group",
                       "external", "unknown", "unmatched")  # fmt: skip


@dataclass
class Indicators:
    """All indicator tables; empty frames where the data needed are absent."""

    country_year: pd.DataFrame
    country_month: pd.DataFrame = field(default_factory=pd.DataFrame)
    cell_month: pd.DataFrame = field(default_factory=pd.DataFrame)
    event_sources: list[str] = field(default_factory=list)

    def tables(self) -> dict[str, pd.DataFrame]:
        out = {"country_year": self.country_year}
        if len(self.country_month):
            out["country_month"] = self.country_month
        if len(self.cell_month):
            out["cell_month"] = self.cell_month
        return out


def country_year(store: Store, iso3: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Country-year panel from UCDP country-year, UNHCR/IDMC displacement and WB population."""
    if store.count("ucdp_country_year") == 0:
        raise LookupError("no UCDP country-year rows in the store: run `sahelsim data ingest`")
    cy = store.sql(
        """
        SELECT iso3, gwno, year,
               sb_best AS deaths_state_based, ns_best AS deaths_non_state,
               os_best AS deaths_one_sided,
               sb_best + ns_best + os_best AS deaths_total,
               sb_low + ns_low + os_low AS deaths_total_low,
               sb_high + ns_high + os_high AS deaths_total_high,
               os_govt_best AS civilians_killed_by_government,
               os_nsgroup_best AS civilians_killed_by_nonstate,
               os_unknown_best AS civilians_killed_by_unknown,
               sb_deaths_civilians + ns_deaths_civilians + os_best AS civilian_deaths,
               version AS ucdp_version
        FROM ucdp_country_year
        """
    )
    pop = store.sql(
        "SELECT iso3, year, value AS population FROM population"
        " WHERE source IN ('worldbank', 'worldbank_population') AND iso3 IS NOT NULL"
    )
    disp = store.sql(
        """
        SELECT origin_iso3 AS iso3, year,
          sum(value) FILTER (source = 'unhcr_population' AND measure = 'idps'
                             AND origin_iso3 = asylum_iso3) AS idps_unhcr,
          sum(value) FILTER (source IN ('idmc', 'unhcr_idmc')) AS idps_idmc,
          sum(value) FILTER (source = 'unhcr_population' AND measure IN ('refugees',
                             'asylum_seekers') AND origin_iso3 <> asylum_iso3) AS refugees_abroad
        FROM displacement GROUP BY ALL
        """
    )
    out = cy.merge(pop, on=["iso3", "year"], how="left").merge(
        disp, on=["iso3", "year"], how="left"
    )
    out["deaths_per_100k"] = out["deaths_total"] / out["population"] * 1e5
    out["idps"] = out["idps_unhcr"].fillna(out["idps_idmc"])
    if iso3:
        out = out[out["iso3"].isin(iso3)]
    return out.sort_values(["iso3", "year"]).reset_index(drop=True)


_EVENT_BASE = """
WITH ev AS (
  SELECT e.*, coalesce(a.actor_class, 'unmatched') AS class_a,
         coalesce(b.actor_class, 'unmatched') AS class_b
  FROM events e
  LEFT JOIN actor_names a ON a.raw_name = e.side_a
  LEFT JOIN actor_names b ON b.raw_name = e.side_b
  WHERE e.source = ? AND e.iso3 IS NOT NULL
)
"""


def _perp_sql() -> str:
    """Perpetrator class of civilian deaths: side A of one-sided events (UCDP) / the actor
    that is not the civilians (ACLED)."""
    return "CASE WHEN class_a = 'civilians' THEN class_b ELSE class_a END"


def country_month(store: Store, source: str) -> pd.DataFrame:
    """Country-month indicators from the events of one source (never mixes sources)."""
    perp = _perp_sql()
    df = store.sql(
        _EVENT_BASE
        + f"""
        SELECT iso3, month_id, year, CAST(month(date_start) AS INTEGER) AS month,
          count(*) AS events,
          sum(best) AS deaths_total,
          coalesce(sum(best) FILTER (type_of_violence = 1), 0) AS deaths_state_based,
          coalesce(sum(best) FILTER (type_of_violence = 2), 0) AS deaths_non_state,
          coalesce(sum(best) FILTER (type_of_violence = 3), 0) AS deaths_one_sided,
          coalesce(sum(deaths_civilians), 0) AS civilian_deaths,
          coalesce(sum(deaths_civilians) FILTER (type_of_violence = 3 AND {perp} IN ('state',
                   'russia', 'state_aligned_militia', 'external')), 0)
                   AS civilians_killed_by_state_side,
          coalesce(sum(deaths_civilians) FILTER (type_of_violence = 3 AND {perp} = 'jihadist'),
                   0) AS civilians_killed_by_jihadists,
          coalesce(sum(deaths_civilians) FILTER (type_of_violence = 3 AND {perp} NOT IN ('state',
                   'russia', 'state_aligned_militia', 'external', 'jihadist')), 0)
                   AS civilians_killed_by_other_or_unknown,
          coalesce(sum(deaths_civilians) FILTER (type_of_violence IN (1, 2)), 0)
                   AS civilians_killed_in_fighting,
          coalesce(sum(best) FILTER ('state' IN (class_a, class_b)), 0) AS deaths_involving_state,
          coalesce(sum(best) FILTER ('russia' IN (class_a, class_b)), 0)
                   AS deaths_involving_russia,
          coalesce(sum(best) FILTER ('jihadist' IN (class_a, class_b)), 0)
                   AS deaths_involving_jihadists,
          count(DISTINCT priogrid_gid) FILTER (best > 0) AS active_cells,
          bool_and(fatalities_reliable) AS fatalities_reliable
        FROM ev GROUP BY ALL ORDER BY iso3, month_id
        """,
        [source],
    )
    df.insert(0, "source", source)
    return df


def cell_month(store: Store, source: str) -> pd.DataFrame:
    """Cell-month deaths by violence type; imprecise events spread by population share."""
    if store.count("cells") == 0:
        log.warning("no grid in the store: cell-month indicators use precise events only")
    df = store.sql(
        _EVENT_BASE
        + """
        , precise AS (
          SELECT priogrid_gid, iso3, month_id, type_of_violence, best, 1.0 AS w, 1 AS n
          FROM ev WHERE coalesce(where_prec, 1) <= CASE WHEN source = 'acled' THEN 2 ELSE 3 END
        ), coarse AS (
          SELECT ev.iso3, month_id, type_of_violence, best
          FROM ev WHERE coalesce(where_prec, 1) > CASE WHEN source = 'acled' THEN 2 ELSE 3 END
        ), weights AS (
          SELECT priogrid_gid, iso3, coalesce(pop_2020, 0) + 1e-9 AS p,
                 (coalesce(pop_2020, 0) + 1e-9)
                   / sum(coalesce(pop_2020, 0) + 1e-9) OVER (PARTITION BY iso3) AS share
          FROM cells WHERE iso3 IS NOT NULL
        ), spread AS (
          SELECT w.priogrid_gid, c.iso3, c.month_id, c.type_of_violence, c.best * w.share AS best,
                 w.share AS w, 0 AS n
          FROM coarse c JOIN weights w ON w.iso3 = c.iso3
        ), unspread AS (  -- coarse events of a country without grid cells stay unallocated
          SELECT NULL::INTEGER AS priogrid_gid, c.iso3, c.month_id, c.type_of_violence, c.best,
                 1.0 AS w, 0 AS n
          FROM coarse c WHERE c.iso3 NOT IN (SELECT DISTINCT iso3 FROM weights)
        ), allrows AS (
          SELECT * FROM precise UNION ALL SELECT * FROM spread UNION ALL SELECT * FROM unspread
        )
        SELECT priogrid_gid, iso3, month_id,
          sum(n) AS events_located,
          sum(best) AS deaths_total,
          coalesce(sum(best) FILTER (type_of_violence = 1), 0) AS deaths_state_based,
          coalesce(sum(best) FILTER (type_of_violence = 2), 0) AS deaths_non_state,
          coalesce(sum(best) FILTER (type_of_violence = 3), 0) AS deaths_one_sided
        FROM allrows GROUP BY ALL ORDER BY priogrid_gid, month_id
        """,
        [source],
    )
    df.insert(0, "source", source)
    return df


def event_sources(store: Store) -> list[str]:
    return list(store.sql("SELECT DISTINCT source FROM events ORDER BY source")["source"])


def compute(store: Store) -> Indicators:
    """Every indicator the data in the store allow."""
    cy = country_year(store)
    srcs = event_sources(store)
    cms = [country_month(store, s) for s in srcs]
    cells = [cell_month(store, s) for s in srcs]
    return Indicators(
        country_year=cy,
        country_month=pd.concat(cms, ignore_index=True) if cms else pd.DataFrame(),
        cell_month=pd.concat(cells, ignore_index=True) if cells else pd.DataFrame(),
        event_sources=srcs,
    )

"""Canonical table schemas of the store (column -> DuckDB type). One place, documented in
``docs/data.md``. Readers return frames with exactly these columns (minus ``file_id``, which the
store adds)."""

from __future__ import annotations

import datetime as _dt

#: the largest death count one event may carry; above it a row is quarantined (not an event)
MAX_DEATHS_PER_EVENT = 100_000
#: the earliest event date accepted (UCDP GED starts on 1 January 1989)
EARLIEST_EVENT_DATE = _dt.date(1989, 1, 1)

EVENTS: dict[str, str] = {
    "source": "VARCHAR",  # ucdp_ged | ucdp_candidate | acled
    "source_event_id": "VARCHAR",  # UCDP id / ACLED event_id_cnty
    "date_start": "DATE",
    "date_end": "DATE",
    "year": "INTEGER",
    "month_id": "INTEGER",  # VIEWS month id of date_start
    "iso3": "VARCHAR",
    "gwno": "INTEGER",
    "latitude": "DOUBLE",
    "longitude": "DOUBLE",
    "priogrid_gid": "INTEGER",
    "where_prec": "INTEGER",  # UCDP 1 exact .. 7 international waters; ACLED geo_precision 1..3
    "admin1": "VARCHAR",
    "admin2": "VARCHAR",
    "location": "VARCHAR",
    "type_of_violence": "INTEGER",  # 1 state-based, 2 non-state, 3 one-sided
    "event_type": "VARCHAR",  # ACLED event_type (NULL for UCDP)
    "sub_event_type": "VARCHAR",
    "side_a": "VARCHAR",  # UCDP side_a / ACLED actor1
    "side_b": "VARCHAR",  # UCDP side_b / ACLED actor2
    "assoc_a": "VARCHAR",
    "assoc_b": "VARCHAR",
    "dyad_name": "VARCHAR",
    "dyad_new_id": "INTEGER",
    "civilian_targeting": "BOOLEAN",
    "best": "DOUBLE",  # best fatality estimate (ACLED: fatalities)
    "low": "DOUBLE",
    "high": "DOUBLE",
    "deaths_a": "DOUBLE",
    "deaths_b": "DOUBLE",
    "deaths_civilians": "DOUBLE",
    "deaths_unknown": "DOUBLE",
    "fatalities_reliable": "BOOLEAN",  # False for ACLED (press-based, less reliable than UCDP)
    "version": "VARCHAR",
}

UCDP_COUNTRY_YEAR: dict[str, str] = {
    "iso3": "VARCHAR",
    "gwno": "INTEGER",
    "year": "INTEGER",
    "sb_best": "DOUBLE",
    "sb_low": "DOUBLE",
    "sb_high": "DOUBLE",
    "sb_deaths_parties": "DOUBLE",
    "sb_deaths_civilians": "DOUBLE",
    "sb_deaths_unknown": "DOUBLE",
    "sb_dyad_names": "VARCHAR",
    "ns_best": "DOUBLE",
    "ns_low": "DOUBLE",
    "ns_high": "DOUBLE",
    "ns_deaths_parties": "DOUBLE",
    "ns_deaths_civilians": "DOUBLE",
    "ns_deaths_unknown": "DOUBLE",
    "ns_dyad_names": "VARCHAR",
    "os_best": "DOUBLE",
    "os_low": "DOUBLE",
    "os_high": "DOUBLE",
    "os_govt_best": "DOUBLE",  # os_any_govt_killings_best_cy
    "os_nsgroup_best": "DOUBLE",  # os_nsgroup_killings_best_cy
    "os_unknown_best": "DOUBLE",  # os_killings_unknown_cy
    "os_dyad_names": "VARCHAR",
    "version": "VARCHAR",
}

UCDP_ACTORS: dict[str, str] = {
    "actor_id": "INTEGER",
    "name": "VARCHAR",  # NameData
    "name_full": "VARCHAR",  # NameOrigFullEng
    "org": "INTEGER",  # UCDP Org code (1 rebel, 4 government, ...)
    "gwno_loc": "VARCHAR",  # comma-separated GW codes
    "location": "VARCHAR",
    "dyad_ids": "VARCHAR",
    "version": "VARCHAR",
}

# UCDP GED deaths aggregated by ViEWS to country-month (2020 prediction competition).
GED_COUNTRY_MONTH: dict[str, str] = {
    "iso3": "VARCHAR",
    "gwno": "INTEGER",
    "views_country_id": "INTEGER",  # ViEWS country key (not Gleditsch-Ward)
    "month_id": "INTEGER",  # VIEWS month id, 1 = January 1980
    "year": "INTEGER",
    "month": "INTEGER",
    "ged_best_sb": "DOUBLE",  # deaths, UCDP type 1 (state-based), best estimate
    "ged_best_ns": "DOUBLE",  # type 2 (non-state)
    "ged_best_os": "DOUBLE",  # type 3 (one-sided)
    "ged_count_sb": "INTEGER",  # number of events
    "ged_count_ns": "INTEGER",
    "ged_count_os": "INTEGER",
    "version": "VARCHAR",
}

# Long format: one row per (source, date/year, place, measure).
DISPLACEMENT: dict[str, str] = {
    "source": "VARCHAR",  # unhcr_population | unhcr_flows | unhcr_solutions | idmc | iom_dtm_mali
    "year": "INTEGER",
    "date": "DATE",  # snapshot date (DTM) or 31 Dec of year
    "origin_iso3": "VARCHAR",
    "asylum_iso3": "VARCHAR",
    "admin1": "VARCHAR",
    "admin1_pcode": "VARCHAR",
    "admin2": "VARCHAR",
    "admin2_pcode": "VARCHAR",
    "admin3": "VARCHAR",
    "admin3_pcode": "VARCHAR",
    "measure": "VARCHAR",  # refugees | asylum_seekers | idps | returned_idps | ... | idp_ind
    "value": "DOUBLE",
}

POPULATION: dict[str, str] = {
    "source": "VARCHAR",  # worldbank | worldpop_priogrid
    "iso3": "VARCHAR",  # NULL for grid rows
    "priogrid_gid": "INTEGER",  # NULL for country rows
    "year": "INTEGER",
    "value": "DOUBLE",  # people
}

CELLS: dict[str, str] = {
    "priogrid_gid": "INTEGER",
    "row": "INTEGER",
    "col": "INTEGER",
    "lat": "DOUBLE",
    "lon": "DOUBLE",
    "iso3": "VARCHAR",  # majority-area country (Natural Earth)
    "gwno": "INTEGER",
    "core": "BOOLEAN",  # in MLI/BFA/NER (False = neighbour ring)
    "land_share": "DOUBLE",  # share of the cell's area on land of the 8 countries
    "area_km2": "DOUBLE",
    "pop_2000": "DOUBLE",
    "pop_2020": "DOUBLE",
    "urban_core": "BOOLEAN",
    "urban_name": "VARCHAR",
    "capital_distance_km": "DOUBLE",
}

SCHEMAS: dict[str, dict[str, str]] = {
    "events": EVENTS,
    "ucdp_country_year": UCDP_COUNTRY_YEAR,
    "ucdp_actors": UCDP_ACTORS,
    "ged_country_month": GED_COUNTRY_MONTH,
    "displacement": DISPLACEMENT,
    "population": POPULATION,
    "cells": CELLS,
}

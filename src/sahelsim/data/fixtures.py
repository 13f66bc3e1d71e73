"""Format-true synthetic data files (UCDP GED CSV / API JSON, ACLED CSV, ViEWS GED
country-month) for tests and benchmarks.

The column layouts follow the published codebooks (UCDP GED 25.1, ACLED 2023+ exports); the
values are random but plausible for the Central Sahel. Nothing here is real data.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from sahelsim.core.canon import ISO3_TO_NAME, VIEWS_COUNTRY_TO_ISO3, month_id, priogrid_gid

#: UCDP GED 25.1 CSV columns, in the distributed order.
GED_COLUMNS = [
    "id", "relid", "year", "active_year", "code_status", "type_of_violence", "conflict_dset_id",
    "conflict_new_id", "conflict_name", "dyad_dset_id", "dyad_new_id", "dyad_name",
    "side_a_dset_id", "side_a_new_id", "side_a", "side_b_dset_id", "side_b_new_id", "side_b",
    "number_of_sources", "source_article", "source_office", "source_date", "source_headline",
    "source_original", "where_prec", "where_coordinates", "where_description", "adm_1", "adm_2",
    "latitude", "longitude", "geom_wkt", "priogrid_gid", "country", "country_id", "region",
    "event_clarity", "date_prec", "date_start", "date_end", "deaths_a", "deaths_b",
    "deaths_civilians", "deaths_unknown", "best", "high", "low", "gwnoa", "gwnob",
]  # fmt: skip

#: ACLED export columns (2023+ layout, see shared/data/acled-notes/ACLED_COLUMNS.md).
ACLED_COLUMNS = [
    "event_id_cnty", "event_date", "year", "time_precision", "disorder_type", "event_type",
    "sub_event_type", "actor1", "assoc_actor_1", "inter1", "actor2", "assoc_actor_2", "inter2",
    "interaction", "civilian_targeting", "iso", "region", "country", "admin1", "admin2", "admin3",
    "location", "latitude", "longitude", "geo_precision", "source", "source_scale", "notes",
    "fatalities", "tags", "timestamp",
]  # fmt: skip

_COUNTRIES = [  # name, gwno, iso numeric, iso3, lat range, lon range, capital region
    ("Mali", 432, 466, "MLI", (11.0, 24.0), (-11.0, 4.0), "Mopti"),
    ("Burkina Faso", 439, 854, "BFA", (10.0, 15.0), (-5.0, 2.0), "Sahel"),
    ("Niger", 436, 562, "NER", (12.0, 22.0), (1.0, 15.0), "Tillaberi"),
]
_DYADS = [  # type_of_violence, side_a, side_b, dyad_new_id
    (1, "Government of {c}", "JNIM", 13637),
    (1, "Government of {c}", "IS", 13639),
    (2, "IS", "JNIM", 15000),
    (3, "JNIM", "Civilians", 921),
    (3, "Government of {c}", "Civilians", 922),
    (3, "IS", "Civilians", 923),
]
_ACLED_ACTORS = [
    ("JNIM: Group for Support of Islam and Muslims", "Rebel group", 2),
    ("Islamic State Sahel Province", "Rebel group", 2),
    ("Military Forces of {c} (2021-)", "State forces", 1),
    ("VDP: Volunteers for the Defense of the Homeland", "Identity militia", 4),
    ("Civilians ({c})", "Civilians", 7),
    ("Wagner Group", "External/Other forces", 8),
]
_EVENT_TYPES = [
    ("Battles", "Armed clash"),
    ("Violence against civilians", "Attack"),
    ("Explosions/Remote violence", "Remote explosive/landmine/IED"),
    ("Strategic developments", "Looting/property destruction"),
]


def _dates(rng: np.random.Generator, n: int, start: str, end: str) -> pd.DatetimeIndex:
    lo = pd.Timestamp(start).value // 86_400_000_000_000
    hi = pd.Timestamp(end).value // 86_400_000_000_000
    days = rng.integers(lo, hi + 1, n)
    return pd.to_datetime(days, unit="D")


def ged_frame(
    n: int, seed: int = 0, start: str = "2012-01-01", end: str = "2024-12-31"
) -> pd.DataFrame:
    """``n`` synthetic GED events (all valid) as strings, in the distributed column order."""
    rng = np.random.default_rng(seed)
    ci = rng.integers(0, len(_COUNTRIES), n)
    di = rng.integers(0, len(_DYADS), n)
    c = [_COUNTRIES[i] for i in range(len(_COUNTRIES))]
    lat = np.array([rng.uniform(*c[i][4]) for i in range(3)])[ci] * 0 + np.empty(n)
    lon = np.empty(n)
    for k in range(3):
        m = ci == k
        lat[m] = rng.uniform(*c[k][4], m.sum())
        lon[m] = rng.uniform(*c[k][5], m.sum())
    lat = np.round(lat, 4)
    lon = np.round(lon, 4)
    d0 = _dates(rng, n, start, end)
    d1 = d0 + pd.to_timedelta(rng.integers(0, 3, n), unit="D")
    # heavy-tailed deaths: negative binomial with small shape
    best = rng.negative_binomial(0.4, 0.4 / (0.4 + 6.0), n)
    low = np.floor(best * rng.uniform(0.6, 1.0, n)).astype(int)
    high = best + rng.poisson(2.0, n)
    tov = np.array([d[0] for d in _DYADS])[di]
    civ = np.where(tov == 3, best, 0)
    rest = best - civ
    da = rest // 3
    db = rest // 3
    du = rest - da - db
    names = np.array([x[0] for x in _COUNTRIES])[ci]
    side_a = np.array([d[1] for d in _DYADS], dtype=object)[di]
    side_b = np.array([d[2] for d in _DYADS], dtype=object)[di]
    side_a = np.array([s.format(c=nm) for s, nm in zip(side_a, names, strict=True)], dtype=object)
    side_b = np.array([s.format(c=nm) for s, nm in zip(side_b, names, strict=True)], dtype=object)
    ids = np.arange(1, n + 1) + seed * 10_000_000
    fmt = "%Y-%m-%d %H:%M:%S.000"
    df = pd.DataFrame(
        {
            "id": ids,
            "relid": [f"SYN-{i}" for i in ids],
            "year": d0.year,
            "active_year": 1,
            "code_status": "Clear",
            "type_of_violence": tov,
            "conflict_dset_id": 1000 + di,
            "conflict_new_id": 1000 + di,
            "conflict_name": [f"{a} - {b}" for a, b in zip(side_a, side_b, strict=True)],
            "dyad_dset_id": np.array([d[3] for d in _DYADS])[di],
            "dyad_new_id": np.array([d[3] for d in _DYADS])[di],
            "dyad_name": [f"{a} - {b}" for a, b in zip(side_a, side_b, strict=True)],
            "side_a_dset_id": 1,
            "side_a_new_id": 1,
            "side_a": side_a,
            "side_b_dset_id": 2,
            "side_b_new_id": 2,
            "side_b": side_b,
            "number_of_sources": rng.integers(1, 5, n),
            "source_article": "Synthetic wire report, with a comma",
            "source_office": "",
            "source_date": "",
            "source_headline": "",
            "source_original": "",
            "where_prec": rng.choice([1, 1, 1, 2, 3, 4], n),
            "where_coordinates": "Synthetic village",
            "where_description": "",
            "adm_1": np.array([x[6] for x in _COUNTRIES])[ci],
            "adm_2": "",
            "latitude": lat,
            "longitude": lon,
            "geom_wkt": [f"POINT ({x} {y})" for x, y in zip(lon, lat, strict=True)],
            "priogrid_gid": priogrid_gid(lat, lon),
            "country": names,
            "country_id": np.array([x[1] for x in _COUNTRIES])[ci],
            "region": "Africa",
            "event_clarity": 1,
            "date_prec": 1,
            "date_start": d0.strftime(fmt),
            "date_end": d1.strftime(fmt),
            "deaths_a": da,
            "deaths_b": db,
            "deaths_civilians": civ,
            "deaths_unknown": du,
            "best": best,
            "high": high,
            "low": low,
            "gwnoa": np.array([x[1] for x in _COUNTRIES])[ci],
            "gwnob": "",
        }
    )
    return df.astype(str)


def acled_frame(
    n: int, seed: int = 0, start: str = "2012-01-01", end: str = "2024-12-31"
) -> pd.DataFrame:
    """``n`` synthetic ACLED events (all valid) as strings, in the export column order."""
    rng = np.random.default_rng(seed + 7)
    ci = rng.integers(0, len(_COUNTRIES), n)
    ei = rng.integers(0, len(_EVENT_TYPES), n)
    a1 = rng.integers(0, len(_ACLED_ACTORS), n)
    a2 = rng.integers(0, len(_ACLED_ACTORS), n)
    names = np.array([x[0] for x in _COUNTRIES], dtype=object)[ci]
    lat = np.empty(n)
    lon = np.empty(n)
    for k in range(3):
        m = ci == k
        lat[m] = rng.uniform(*_COUNTRIES[k][4], m.sum())
        lon[m] = rng.uniform(*_COUNTRIES[k][5], m.sum())
    d0 = _dates(rng, n, start, end)
    fat = rng.negative_binomial(0.3, 0.3 / (0.3 + 4.0), n)
    act = np.array([a[0] for a in _ACLED_ACTORS], dtype=object)
    inter = np.array([a[1] for a in _ACLED_ACTORS], dtype=object)
    et = np.array([e[0] for e in _EVENT_TYPES], dtype=object)[ei]
    prefix = np.array(["MLI", "BFA", "NER"], dtype=object)[ci]
    ids = np.arange(1, n + 1) + seed * 10_000_000
    df = pd.DataFrame(
        {
            "event_id_cnty": [f"{p}{i}" for p, i in zip(prefix, ids, strict=True)],
            "event_date": d0.strftime("%Y-%m-%d"),
            "year": d0.year,
            "time_precision": rng.integers(1, 4, n),
            "disorder_type": "Political violence",
            "event_type": et,
            "sub_event_type": np.array([e[1] for e in _EVENT_TYPES], dtype=object)[ei],
            "actor1": [a.format(c=c) for a, c in zip(act[a1], names, strict=True)],
            "assoc_actor_1": "",
            "inter1": inter[a1],
            "actor2": [a.format(c=c) for a, c in zip(act[a2], names, strict=True)],
            "assoc_actor_2": "",
            "inter2": inter[a2],
            "interaction": [f"{x}-{y}" for x, y in zip(inter[a1], inter[a2], strict=True)],
            "civilian_targeting": np.where(
                et == "Violence against civilians", "Civilian targeting", ""
            ),
            "iso": np.array([x[2] for x in _COUNTRIES])[ci],
            "region": "Western Africa",
            "country": names,
            "admin1": np.array([x[6] for x in _COUNTRIES], dtype=object)[ci],
            "admin2": "",
            "admin3": "",
            "location": "Synthetic town",
            "latitude": np.round(lat, 4),
            "longitude": np.round(lon, 4),
            "geo_precision": rng.integers(1, 4, n),
            "source": "Synthetic; local partner",
            "source_scale": "Subnational",
            "notes": 'On date, "armed men" attacked a village; synthetic row.',
            "fatalities": fat,
            "tags": "",
            "timestamp": 1_700_000_000 + rng.integers(0, 10_000_000, n),
        }
    )
    return df.astype(str)


def write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a string frame as CSV the way the sources do (comma, double quotes, header)."""
    path = Path(path)
    compression = "gzip" if path.suffix == ".gz" else None
    if path.suffix == ".zip":
        data = frame.to_csv(index=False).encode("utf-8")
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(path.stem + ".csv", data)
        return path
    frame.to_csv(path, index=False, compression=compression)
    return path


def write_ged_api_pages(
    frame: pd.DataFrame, folder: str | Path, pagesize: int = 1000
) -> list[Path]:
    """Write GED rows as UCDP API JSON pages (``TotalCount``, ``TotalPages``, ``Result``...)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    numeric = {
        "id", "year", "active_year", "type_of_violence", "conflict_dset_id", "conflict_new_id",
        "dyad_dset_id", "dyad_new_id", "side_a_dset_id", "side_a_new_id", "side_b_dset_id",
        "side_b_new_id", "number_of_sources", "where_prec", "latitude", "longitude",
        "priogrid_gid", "country_id", "event_clarity", "date_prec", "deaths_a", "deaths_b",
        "deaths_civilians", "deaths_unknown", "best", "high", "low",
    }  # fmt: skip
    records = frame.to_dict(orient="records")
    pages = max(1, -(-len(records) // pagesize))
    paths = []
    for p in range(pages):
        chunk = records[p * pagesize : (p + 1) * pagesize]
        out = []
        for r in chunk:
            rr = {}
            for k, v in r.items():
                if k in numeric:
                    try:
                        rr[k] = float(v) if k in ("latitude", "longitude") else int(float(v))
                    except ValueError:
                        rr[k] = v
                elif k in ("date_start", "date_end"):
                    rr[k] = v.replace(" ", "T")[:19]
                else:
                    rr[k] = v
            out.append(rr)
        doc = {
            "TotalCount": len(records),
            "TotalPages": pages,
            "PreviousPageUrl": "",
            "NextPageUrl": "" if p == pages - 1 else f"page={p + 1}",
            "Result": out,
        }
        path = folder / f"page_{p:04d}.json"
        path.write_text(json.dumps(doc), encoding="utf-8")
        paths.append(path)
    return paths


#: columns of the staged ViEWS GED country-month CSV, in file order.
GED_CM_COLUMNS = [
    "month_id", "year", "month", "country_id", "isoab", "name", "ged_best_sb", "ged_best_ns",
    "ged_best_os", "ged_count_sb", "ged_count_ns", "ged_count_os",
]  # fmt: skip


def ged_cm_frame(
    months: int = 24, iso3: tuple[str, ...] = ("MLI", "BFA", "NER"), seed: int = 0,
    first: tuple[int, int] = (2012, 1),
) -> pd.DataFrame:  # fmt: skip
    """Synthetic ViEWS GED country-month rows (all valid) as strings, sorted like the staged
    file (country, then month)."""
    rng = np.random.default_rng(seed)
    views = {v: k for k, v in VIEWS_COUNTRY_TO_ISO3.items()}
    m0 = int(month_id(*first))
    rows = []
    for iso in iso3:
        for mid in range(m0, m0 + months):
            year, month = 1980 + (mid - 1) // 12, (mid - 1) % 12 + 1
            counts = rng.poisson(2.0, 3)
            deaths = [int(rng.negative_binomial(0.5, 0.5 / (0.5 + 4.0 * c))) if c else 0
                      for c in counts]  # fmt: skip
            rows.append([mid, year, month, views[iso], iso, ISO3_TO_NAME[iso], *deaths, *counts])
    return pd.DataFrame(rows, columns=GED_CM_COLUMNS).astype(str)

"""The naive baseline for benchmarks/ingest.py: pandas.read_csv (or json.load) then a Python loop
that normalises and checks each row, then one DataFrame insert into DuckDB."""

from __future__ import annotations

import json
import math
from datetime import date, datetime
from pathlib import Path

import duckdb
import pandas as pd

GW = {432: "MLI", 439: "BFA", 436: "NER"}


def _num(x: object) -> float | None:
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def _norm_ged(r: dict) -> tuple[dict | None, str | None]:
    try:
        ds = datetime.strptime(str(r["date_start"])[:10], "%Y-%m-%d").date()
    except ValueError:
        return None, "date_start"
    if ds > date.today():
        return None, "future"
    best, low, high = _num(r["best"]), _num(r["low"]), _num(r["high"])
    if best is None or best < 0 or (low is not None and low > best):
        return None, "best"
    if high is not None and best > high:
        return None, "high"
    lat, lon = _num(r["latitude"]), _num(r["longitude"])
    if lat is None or lon is None or abs(lat) > 90 or abs(lon) > 180:
        return None, "coords"
    gw = int(float(r["country_id"]))
    row = int((lat + 90) // 0.5)
    col = int((lon + 180) // 0.5)
    return {
        "source_event_id": str(r["id"]),
        "date_start": ds,
        "month_id": (ds.year - 1980) * 12 + ds.month,
        "iso3": GW.get(gw),
        "gwno": gw,
        "latitude": lat,
        "longitude": lon,
        "priogrid_gid": row * 720 + col + 1,
        "type_of_violence": int(float(r["type_of_violence"])),
        "side_a": r["side_a"],
        "side_b": r["side_b"],
        "best": best,
        "low": low,
        "high": high,
    }, None


def _norm_acled(r: dict) -> tuple[dict | None, str | None]:
    try:
        ds = datetime.strptime(str(r["event_date"]), "%Y-%m-%d").date()
    except ValueError:
        return None, "event_date"
    fat = _num(r["fatalities"])
    if fat is None or fat < 0:
        return None, "fatalities"
    lat, lon = _num(r["latitude"]), _num(r["longitude"])
    if lat is None or lon is None or abs(lat) > 90 or abs(lon) > 180:
        return None, "coords"
    row = int((lat + 90) // 0.5)
    col = int((lon + 180) // 0.5)
    et = r["event_type"]
    tov = 3 if et == "Violence against civilians" else (1 if "State" in str(r["inter1"]) else 2)
    return {
        "source_event_id": str(r["event_id_cnty"]),
        "date_start": ds,
        "month_id": (ds.year - 1980) * 12 + ds.month,
        "latitude": lat,
        "longitude": lon,
        "priogrid_gid": row * 720 + col + 1,
        "type_of_violence": tov,
        "side_a": r["actor1"],
        "side_b": r["actor2"],
        "best": fat,
    }, None


def run(path: str, fmt: str, db: str) -> tuple[int, dict]:
    if fmt == "ged_json":
        records = []
        for p in sorted(Path(path).glob("*.json")):
            records.extend(json.loads(p.read_text())["Result"])
        rows = records
    else:
        rows = pd.read_csv(path, dtype=str, keep_default_na=False).to_dict(orient="records")
    norm = _norm_acled if fmt == "acled_csv" else _norm_ged
    good, bad = [], []
    for i, r in enumerate(rows):
        out, why = norm(r)
        if out is None:
            bad.append((i, why, json.dumps(r)))
        else:
            good.append(out)
    con = duckdb.connect(db)
    frame = pd.DataFrame(good)
    con.register("f", frame)
    con.execute("CREATE TABLE events AS SELECT * FROM f")
    qf = pd.DataFrame(bad, columns=["line", "reason", "raw"])
    con.register("q", qf)
    con.execute("CREATE TABLE quarantine AS SELECT * FROM q")
    con.close()
    return len(rows), {"accepted": len(good), "quarantined": len(bad)}

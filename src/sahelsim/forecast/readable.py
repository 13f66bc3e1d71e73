"""The part of a forecast folder a person reads: ``forecast_summary.csv`` (country names, plain
names of what is forecast, units, median and 50 % / 90 % intervals per period) and
``README.txt`` (what each file holds and what its codes mean). The Parquet files stay in the
ViEWS layout (numeric Gleditsch-Ward ``country_id``, ``sb``/``ns``/``os`` in the names) for
machines and the ViEWS tooling."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from sahelsim.core.atomic import Writer, text_writer
from sahelsim.core.canon import GW_TO_ISO3, ISO3_TO_NAME
from sahelsim.forecast.forecasters import month_text
from sahelsim.forecast.views_io import IDP_FILE, forecast_file

__all__ = ["README_FILE", "SUMMARY_FILE", "TARGET_TEXT", "readable_items", "summary_table"]

SUMMARY_FILE = "forecast_summary.csv"
README_FILE = "README.txt"
#: What each target counts, in words (UCDP's type of violence for the deaths).
TARGET_TEXT = {
    "sb": "state-based deaths (UCDP type of violence 1: a government against an armed group)",
    "ns": "non-state deaths (UCDP type 2: armed groups against each other)",
    "os": "one-sided deaths (UCDP type 3: civilians killed by a government or an armed group)",
    "idps": "internally displaced people (stock at the end of December)",
}
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def _period_text(period: np.ndarray, level: str) -> list[str]:
    return [month_text(int(p)) if level == "cm" else str(int(p)) for p in period]


def summary_table(frames: Mapping[str, pd.DataFrame], level: str) -> pd.DataFrame:
    """One row per target, country and period of the ViEWS frames (``sb``/``ns``/``os``:
    ``month_id`` or ``year``, ``country_id``, ``draw``, ``outcome``; ``idps``: ``iso3``,
    ``year``, ``draw``, ``idps``): country name and codes, what is forecast and its unit, the
    median and the 5/25/75/95 % quantiles over the draws."""
    rows = []
    for target, frame in frames.items():
        if target == "idps":
            period_col, value_col, lvl = "year", "idps", "cy"
            iso = frame["iso3"].astype(str)
            unit = "people"
        else:
            period_col = "month_id" if level == "cm" else "year"
            value_col, lvl = "outcome", level
            iso = frame["country_id"].map(lambda g: GW_TO_ISO3.get(int(g), f"GW{int(g)}"))
            unit = "deaths per month" if level == "cm" else "deaths per year"
        f = pd.DataFrame({"iso3": iso.to_numpy(), "period": frame[period_col].to_numpy(),
                          "value": frame[value_col].to_numpy(dtype=float)})  # fmt: skip
        q = f.groupby(["iso3", "period"])["value"].quantile(list(QUANTILES)).unstack()
        draws = f.groupby(["iso3", "period"])["value"].size()
        q = q.reset_index()
        rows.append(
            pd.DataFrame(
                {
                    "country": [ISO3_TO_NAME.get(i, i) for i in q["iso3"]],
                    "iso3": q["iso3"],
                    "forecast": TARGET_TEXT[target],
                    "file_code": target,
                    "period": _period_text(q["period"].to_numpy(), lvl),
                    "unit": unit,
                    "median": q[0.5],
                    "q05": q[0.05],
                    "q25": q[0.25],
                    "q75": q[0.75],
                    "q95": q[0.95],
                    "draws": draws.to_numpy(),
                }
            )
        )
    if not rows:
        return pd.DataFrame()
    return pd.concat(rows, ignore_index=True)


def _readme(files: list[str], level: str, note: str) -> str:
    lines = [
        "sahelsim forecast",
        "",
        note.strip(),
        "",
        f"{SUMMARY_FILE}: for people. One row per country, forecast quantity and"
        f" {'month' if level == 'cm' else 'year'}: the median and the 5, 25, 75 and 95 %"
        " quantiles over the draws (a 90 % interval is q05 to q95), with units.",
        "",
        "Parquet files (ViEWS layout, for machines): one row per draw.",
    ]
    for f in files:
        code = next((c for c in TARGET_TEXT if f"_{c}_" in f), None)
        if code:
            lines.append(f"  {f}: {TARGET_TEXT[code]}")
    lines += [
        "  Columns: month_id (ViEWS month, 1 = January 1980) or year; country_id (Gleditsch-Ward"
        " code: 432 Mali, 439 Burkina Faso, 436 Niger); iso3; draw; outcome (deaths).",
        "  The IDP file has iso3, year, draw and idps (people).",
        "Deaths follow UCDP GED: best estimates of deaths in organised violence.",
    ]
    return "\n".join(lines) + "\n"


def readable_items(
    frames: Mapping[str, pd.DataFrame], folder: str | Path, level: str, note: str
) -> list[tuple[Path, Writer]]:
    """``(path, writer)`` pairs for :func:`~sahelsim.core.atomic.write_all_atomic`: the
    summary CSV of ``frames`` (see :func:`summary_table`) and the README (``note``: how the
    forecast was made, one line)."""
    folder = Path(folder)
    table = summary_table(frames, level)
    csv = table.to_csv(index=False, float_format="%.6g", lineterminator="\n")
    from_files = [IDP_FILE if t == "idps" else forecast_file(t, level) for t in frames]
    return [
        (folder / SUMMARY_FILE, text_writer(csv)),
        (folder / README_FILE, text_writer(_readme(from_files, level, note))),
    ]

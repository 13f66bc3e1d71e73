"""Where the report finds its forecast-skill tables and the filtered present.

Forecast skill, per level (``cm`` country-month, ``cy`` country-year):

1. the run's own folder (``out/backtest_cm`` from ``sahelsim backtest --level cm``,
   ``out/backtest`` from ``--level cy``) when it holds ``overall.csv``;
2. otherwise the shipped copy of the latest measured summary tables,
   ``sahelsim/resources/skill/{level}/*.csv`` with ``PROVENANCE.json`` (command, commit, date,
   machine; written by ``tools/ship_skill.py``), labelled "measured on <date> with <command>,
   not re-run for this report";
3. otherwise nothing: the report says "not measured".

The filtered present is the folder of ``sahelsim assimilate`` (``out/assimilate``):
``summary.json``, ``diagnostics.csv`` (ESS and unique particles per observation time) and
``checks.csv`` (every observation against the predictive and filtered 90 % intervals).

A table that cannot be read, or lacks a column the report needs, is left out and the problem
(file and missing columns) is kept in ``problems`` so the report can say it: one bad file does
not stop a report built from minutes of ensembles. All files are read as data only.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import pandas as pd

log = logging.getLogger(__name__)

__all__ = [
    "COMMANDS",
    "LEVELS",
    "PRESENT_FOLDER",
    "PROVENANCE_FILE",
    "RUN_FOLDERS",
    "SKILL_COLUMNS",
    "PresentInputs",
    "SkillTables",
    "load_present",
    "load_skill",
    "shipped_skill",
]

#: The two backtest levels, in the order the report shows them.
LEVELS: tuple[str, ...] = ("cm", "cy")
#: The run's folder of each level, relative to the output folder.
RUN_FOLDERS: dict[str, str] = {"cm": "backtest_cm", "cy": "backtest"}
#: The command that writes each level's folder.
COMMANDS: dict[str, str] = {
    "cm": "sahelsim backtest --level cm",
    "cy": "sahelsim backtest --level cy",
}
#: The filtered present, relative to the output folder.
PRESENT_FOLDER = "assimilate"
PROVENANCE_FILE = "PROVENANCE.json"
#: The summary tables the report reads (and ``tools/ship_skill.py`` ships), with the columns
#: each must have; ``overall`` is required, the rest are shown when present.
SKILL_COLUMNS: dict[str, tuple[str, ...]] = {
    "overall": ("forecaster", "crps"),
    "overall_by_seed": ("seed", "forecaster", "crps"),
    "by_target": ("forecaster", "target", "crps"),
    "by_horizon": ("forecaster", "horizon", "crps"),
    "scores": ("forecaster", "iso3", "target", "crps"),
    "seed_spread": ("forecaster", "crps", "crps_min", "crps_max"),
    "pit": ("seed", "forecaster"),
    "goals": ("goal", "forecaster", "value", "aim", "met"),
    "verdict": ("best_baseline", "best_baseline_crps"),
    "weights": ("seed", "origin"),
    "dropped": ("origin", "horizon"),
    "setup": ("item", "value"),
    "calibrations": ("calibrated_on", "first_origin", "last_origin"),
}
PRESENT_COLUMNS: dict[str, tuple[str, ...]] = {
    "diagnostics": ("month_id", "ess", "unique"),
    "checks": (
        "iso3",
        "year",
        "month_id",
        "observable",
        "resolution",
        "value",
        "pred_q05",
        "pred_q95",
        "sim_q05",
        "sim_q95",
        "pred_in_90",
        "sim_in_90",
    ),
}

Source = Path | Traversable


@dataclass(frozen=True)
class SkillTables:
    """One level's skill tables and where they came from.

    ``origin``: ``"run"`` (the run's folder) or ``"shipped"`` (the package copy); ``where``:
    the folder as the reader should see it; ``date``: when the tables were written (UTC,
    ``YYYY-MM-DD HH:MM``); ``command``: what wrote them; ``provenance``: the shipped copy's
    ``PROVENANCE.json`` (empty for a run folder); ``problems``: tables left out and why."""

    level: str
    tables: dict[str, pd.DataFrame]
    origin: str
    where: str
    date: str
    command: str
    provenance: Mapping[str, Any] = field(default_factory=dict)
    problems: tuple[str, ...] = ()

    def get(self, name: str) -> pd.DataFrame | None:
        t = self.tables.get(name)
        return t if t is not None and len(t) else None


@dataclass(frozen=True)
class PresentInputs:
    """The filtered present of ``sahelsim assimilate``: its summary, diagnostics and checks."""

    where: str
    summary: Mapping[str, Any]
    diagnostics: pd.DataFrame | None
    checks: pd.DataFrame | None
    date: str
    problems: tuple[str, ...] = ()


def _utc(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M")


def _read_csv(
    src: Source, name: str, need: tuple[str, ...], problems: list[str]
) -> pd.DataFrame | None:
    """``src/name`` as a frame with at least the columns ``need``; None (and a problem naming
    the file) when it is missing, unreadable or short of a column."""
    ref = src.joinpath(name)
    if not ref.is_file():
        return None
    try:
        with ref.open("r", encoding="utf-8") as fh:
            df = pd.read_csv(fh)
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        problems.append(f"{src}/{name}: unreadable ({exc})")
        return None
    missing = [c for c in need if c not in df.columns]
    if missing:
        problems.append(f"{src}/{name}: missing column(s) {', '.join(missing)}")
        return None
    return df


def _tables(src: Source, problems: list[str]) -> dict[str, pd.DataFrame]:
    out = {}
    for name, need in SKILL_COLUMNS.items():
        df = _read_csv(src, f"{name}.csv", need, problems)
        if df is not None:
            out[name] = df
    return out


def shipped_skill(level: str) -> Traversable:
    """The package folder of a level's shipped tables (it may hold nothing)."""
    return resources.files("sahelsim.resources").joinpath("skill").joinpath(level)


def _provenance(src: Source, problems: list[str]) -> dict[str, Any]:
    ref = src.joinpath(PROVENANCE_FILE)
    if not ref.is_file():
        problems.append(
            f"{src}/{PROVENANCE_FILE}: missing (where these numbers come from is unknown)"
        )
        return {}
    try:
        doc = json.loads(ref.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        problems.append(f"{src}/{PROVENANCE_FILE}: unreadable ({exc})")
        return {}
    if not isinstance(doc, dict):
        problems.append(f"{src}/{PROVENANCE_FILE}: not a JSON object")
        return {}
    return doc


def load_skill(
    level: str, folder: Path | None, *, shipped: Source | None = None
) -> SkillTables | None:
    """The skill tables of ``level``: from ``folder`` (the run's) when it holds
    ``overall.csv``, else from ``shipped`` (default: :func:`shipped_skill`), else None."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, got {level!r}")
    problems: list[str] = []
    if folder is not None and (Path(folder) / "overall.csv").is_file():
        folder = Path(folder)
        tables = _tables(folder, problems)
        if "overall" in tables:
            date = _utc((folder / "overall.csv").stat().st_mtime)
            return SkillTables(
                level, tables, "run", str(folder), date, COMMANDS[level], problems=tuple(problems)
            )
        log.warning("report: %s", "; ".join(problems))
    src = shipped if shipped is not None else shipped_skill(level)
    if not src.joinpath("overall.csv").is_file():
        for p in problems:
            log.warning("report: %s", p)
        return None
    tables = _tables(src, problems)
    if "overall" not in tables:
        log.warning("report: %s", "; ".join(problems))
        return None
    prov = _provenance(src, problems)
    date = str(prov.get("date") or "an unknown date")
    command = str(prov.get("command") or COMMANDS[level])
    for p in problems:
        log.warning("report: %s", p)
    return SkillTables(
        level,
        tables,
        "shipped",
        f"sahelsim/resources/skill/{level}",
        date,
        command,
        prov,
        tuple(problems),
    )


def load_present(folder: Path | None) -> PresentInputs | None:
    """The filtered present in ``folder`` (``summary.json``, ``diagnostics.csv``,
    ``checks.csv``); None when the folder has no ``summary.json``."""
    if folder is None:
        return None
    folder = Path(folder)
    sp = folder / "summary.json"
    if not sp.is_file():
        return None
    problems: list[str] = []
    try:
        summary = json.loads(sp.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        problems.append(f"{sp}: unreadable ({exc})")
        summary = {}
    if not isinstance(summary, dict):
        problems.append(f"{sp}: not a JSON object")
        summary = {}
    diag = _read_csv(folder, "diagnostics.csv", PRESENT_COLUMNS["diagnostics"], problems)
    checks = _read_csv(folder, "checks.csv", PRESENT_COLUMNS["checks"], problems)
    for name, df in (("diagnostics.csv", diag), ("checks.csv", checks)):
        if df is None and not any(name in p for p in problems):
            problems.append(f"{folder / name}: missing")
    for p in problems:
        log.warning("report: %s", p)
    return PresentInputs(
        str(folder), summary, diag, checks, _utc(sp.stat().st_mtime), tuple(problems)
    )

"""Sample forecasts in the VIEWS submission layout (long parquet: period, unit, draw, outcome).

The VIEWS prediction challenge takes one row per unit-period-draw with columns

* ``month_id`` (1 = January 1980) or ``year``;
* ``country_id`` (Gleditsch-Ward number) or ``priogrid_gid``;
* ``draw``: 0, 1, ..., n-1 for each unit-period (VIEWS: n = 1,000);
* ``outcome``: the predicted fatalities (non-negative).

:func:`to_views` builds that frame from the forecasters' ``{(unit, period): draws}`` dicts (see
:mod:`sahelsim.baselines`) or from a frame; :func:`write_views_parquet` and
:func:`read_views_parquet` validate it on the way out and in, and name the file, the column and
the problem when it is malformed (:class:`ViewsFormatError`). Column order and dtypes: period,
unit and draw int64, outcome float64, rows sorted by period, unit, draw.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from sahelsim.core.atomic import Writer, write_atomic
from sahelsim.core.canon import GW_TO_ISO3, ISO3_TO_GW, month_id_to_year_month
from sahelsim.core.errors import InputFormatError

log = logging.getLogger(__name__)

UnitCol = Literal["country_id", "priogrid_gid"]
PeriodCol = Literal["month_id", "year"]
UNIT_COLUMNS: tuple[str, ...] = ("country_id", "priogrid_gid")
PERIOD_COLUMNS: tuple[str, ...] = ("month_id", "year")
DRAW_COLUMN = "draw"
DEFAULT_OUTCOME = "outcome"
#: Optional columns :func:`validate_views` keeps when asked: the forecast origin, ISO3.
EXTRA_COLUMNS: tuple[str, ...] = ("origin", "iso3")


class ViewsFormatError(InputFormatError, ValueError):
    """A forecast frame or file does not follow the VIEWS layout (also a ``ValueError``)."""


def _country_id(unit: Hashable) -> int:
    if isinstance(unit, str):
        try:
            return ISO3_TO_GW[unit.upper()]
        except KeyError:
            raise ValueError(
                f"unknown ISO3 code {unit!r}: not in sahelsim.canon.ISO3_TO_GW "
                f"({sorted(ISO3_TO_GW)})"
            ) from None
    if isinstance(unit, (int, np.integer)) and not isinstance(unit, bool):
        if int(unit) not in GW_TO_ISO3:
            log.debug("country_id %s is not one of the project's countries", unit)
        return int(unit)
    raise ValueError(f"cannot read {unit!r} as a country: give an ISO3 code or a GW number")


def _int_unit(unit: Hashable) -> int:
    if isinstance(unit, (int, np.integer)) and not isinstance(unit, bool):
        return int(unit)
    raise ValueError(f"priogrid_gid units must be integers, got {unit!r}")


def _long_from_mapping(draws: Mapping[tuple[Hashable, int], np.ndarray]) -> pd.DataFrame:
    units: list[Hashable] = []
    periods: list[int] = []
    draw_idx: list[np.ndarray] = []
    values: list[np.ndarray] = []
    for key, d in draws.items():
        if not (isinstance(key, tuple) and len(key) == 2):
            raise ValueError(f"forecast keys must be (unit, period) tuples, got {key!r}")
        arr = np.asarray(d, dtype=np.float64).ravel()
        units.extend([key[0]] * arr.size)
        periods.extend([int(key[1])] * arr.size)
        draw_idx.append(np.arange(arr.size, dtype=np.int64))
        values.append(arr)
    return pd.DataFrame(
        {
            "unit": pd.Series(units, dtype=object),
            "period": np.asarray(periods, dtype=np.int64),
            DRAW_COLUMN: np.concatenate(draw_idx) if draw_idx else np.empty(0, np.int64),
            "value": np.concatenate(values) if values else np.empty(0),
        }
    )


def _long_from_frame(frame: pd.DataFrame) -> pd.DataFrame:
    cols = set(frame.columns)
    if {"unit", "period", "draws"} <= cols:
        mapping = {
            (u, p): d
            for u, p, d in zip(frame["unit"], frame["period"], frame["draws"], strict=True)
        }
        if len(mapping) != len(frame):
            raise ValueError("forecast frame has several rows for one (unit, period)")
        return _long_from_mapping(mapping)
    if {"unit", "period", DRAW_COLUMN, "value"} <= cols:
        return frame.loc[:, ["unit", "period", DRAW_COLUMN, "value"]].copy()
    raise ValueError(
        "forecast frame needs columns unit, period, draws (one array per row) or "
        f"unit, period, draw, value (one row per draw); got {list(frame.columns)}"
    )


def to_views(
    draws: Mapping[tuple[Hashable, int], np.ndarray] | pd.DataFrame,
    *,
    unit: UnitCol = "country_id",
    period: PeriodCol = "month_id",
    outcome_name: str = DEFAULT_OUTCOME,
) -> pd.DataFrame:
    """Forecast draws in the VIEWS layout: ``[period, unit, "draw", outcome_name]``.

    ``draws`` is ``{(unit, period): array}`` (the forecasters' output) or a frame with either
    ``unit, period, draws`` (array per row) or ``unit, period, draw, value`` (row per draw).
    With ``unit="country_id"`` the units may be ISO3 codes (mapped with
    :data:`sahelsim.canon.ISO3_TO_GW`) or Gleditsch-Ward numbers; ``priogrid_gid`` units must
    be integers. The result is validated like a file (:func:`validate_views`).
    """
    if unit not in UNIT_COLUMNS:
        raise ValueError(f"unit must be one of {UNIT_COLUMNS}, got {unit!r}")
    if period not in PERIOD_COLUMNS:
        raise ValueError(f"period must be one of {PERIOD_COLUMNS}, got {period!r}")
    long = _long_from_frame(draws) if isinstance(draws, pd.DataFrame) else _long_from_mapping(draws)
    convert = _country_id if unit == "country_id" else _int_unit
    lookup = {u: convert(u) for u in pd.unique(long["unit"])}
    out = pd.DataFrame(
        {
            period: long["period"].to_numpy(dtype=np.int64),
            unit: np.array([lookup[u] for u in long["unit"]], dtype=np.int64),
            DRAW_COLUMN: long[DRAW_COLUMN].to_numpy(dtype=np.int64),
            outcome_name: long["value"].to_numpy(dtype=np.float64),
        }
    )
    out = out.sort_values([period, unit, DRAW_COLUMN], kind="stable", ignore_index=True)
    return validate_views(out, source="<to_views>", outcome_name=outcome_name)


def _fail(source: str, message: str, field: str | None = None) -> ViewsFormatError:
    return ViewsFormatError(source, message, field=field)


def _integer_column(frame: pd.DataFrame, col: str, source: str, what: str) -> pd.Series:
    s = frame[col]
    if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
        raise _fail(source, f"wrong dtype {s.dtype} for {what}: expected integers", col)
    if s.isna().any():
        raise _fail(source, f"{int(s.isna().sum())} missing value(s)", col)
    if not pd.api.types.is_integer_dtype(s):
        v = s.to_numpy(dtype=np.float64)
        bad = np.flatnonzero(~np.isfinite(v) | (np.mod(v, 1) != 0))
        if bad.size:
            kind = "non-integer draw index" if col == DRAW_COLUMN else f"non-integer {what}"
            raise _fail(source, f"{kind} {v[bad[0]]!r} at row {int(bad[0])}", col)
    return s.astype(np.int64)


def _iso3_column(frame: pd.DataFrame, out: pd.DataFrame, ucol: str, source: str) -> np.ndarray:
    """``iso3`` as strings, checked against ``country_id`` (Gleditsch-Ward)."""
    iso = frame["iso3"].astype("string").fillna("").to_numpy(dtype=object)
    if ucol == "country_id":
        expected = np.array([GW_TO_ISO3.get(int(c), "") for c in out[ucol]], dtype=object)
        bad = np.flatnonzero(iso != expected)
        if bad.size:
            i = int(bad[0])
            raise _fail(source, f"iso3 {iso[i]!r} does not match country_id "
                        f"{int(out[ucol].iloc[i])} at row {i}", "iso3")  # fmt: skip
    return iso


def _exactly_one(cols: list[str], names: tuple[str, ...], what: str, source: str) -> str:
    """The one column of ``cols`` among ``names`` (a :class:`ViewsFormatError` otherwise)."""
    found = [c for c in names if c in cols]
    if len(found) != 1:
        problem = "missing column" if not found else f"more than one {what} column"
        raise _fail(
            source, f"{problem}: need exactly one of {names} (columns: {cols})", "/".join(names)
        )
    return found[0]


def validate_views(
    frame: pd.DataFrame,
    *,
    source: str = "<frame>",
    outcome_name: str = DEFAULT_OUTCOME,
    keep: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Check a frame against the VIEWS layout and return it normalised (column order, dtypes).

    Raises :class:`ViewsFormatError` naming ``source`` and the column when: a period column
    (``month_id``/``year``), a unit column (``country_id``/``priogrid_gid``), ``draw`` or the
    outcome column is missing or doubled; ids or draws are not integers; the draws of a
    unit-period are not exactly ``0..n-1``; outcomes are not numeric, not finite or negative.
    Columns named in ``keep`` (of :data:`EXTRA_COLUMNS`: ``origin``, the forecast origin
    month id or year, and ``iso3``, which must agree with ``country_id``) are kept and
    checked when present, the draw checks then run per origin; other columns are dropped.
    """
    cols = list(frame.columns)
    pcol = _exactly_one(cols, PERIOD_COLUMNS, "period", source)
    ucol = _exactly_one(cols, UNIT_COLUMNS, "unit", source)
    for col in (DRAW_COLUMN, outcome_name):
        if col not in cols:
            raise _fail(source, f"missing column '{col}' (columns: {cols})", col)
    unknown = [c for c in keep if c not in EXTRA_COLUMNS]
    if unknown:
        raise ValueError(f"keep: unknown column(s) {unknown}; allowed {EXTRA_COLUMNS}")
    kept = [c for c in EXTRA_COLUMNS if c in keep and c in cols]
    out = pd.DataFrame(
        {
            **({"origin": _integer_column(frame, "origin", source, "origin")}
               if "origin" in kept else {}),
            pcol: _integer_column(frame, pcol, source, "period"),
            ucol: _integer_column(frame, ucol, source, "unit id"),
        }
    )  # fmt: skip
    if "iso3" in kept:
        out["iso3"] = _iso3_column(frame, out, ucol, source)
    out[DRAW_COLUMN] = _integer_column(frame, DRAW_COLUMN, source, "draw index")
    y = frame[outcome_name]
    if pd.api.types.is_bool_dtype(y) or not pd.api.types.is_numeric_dtype(y):
        raise _fail(
            source, f"wrong dtype {y.dtype} for the outcome: expected numbers", outcome_name
        )
    yv = y.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = np.flatnonzero(~np.isfinite(yv))
    if bad.size:
        raise _fail(
            source,
            f"{bad.size} missing or infinite outcome(s), first at row {int(bad[0])}",
            outcome_name,
        )
    neg = np.flatnonzero(yv < 0)
    if neg.size:
        raise _fail(
            source,
            f"{neg.size} negative outcome(s), first {yv[neg[0]]!r} at row {int(neg[0])}",
            outcome_name,
        )
    out[outcome_name] = yv
    if (out[DRAW_COLUMN] < 0).any():
        raise _fail(source, "negative draw index", DRAW_COLUMN)
    key = (["origin"] if "origin" in kept else []) + [pcol, ucol]
    if out.duplicated([*key, DRAW_COLUMN]).any():
        raise _fail(source, f"duplicate ({', '.join(key)}, draw) rows", DRAW_COLUMN)
    stats = out.groupby(key, sort=False)[DRAW_COLUMN].agg(["size", "max"])
    gaps = stats[stats["max"] != stats["size"] - 1]
    if not gaps.empty:
        where, row = next(iter(gaps.iterrows()))
        named = ", ".join(f"{k}={v}" for k, v in zip(key, np.atleast_1d(where), strict=True))
        raise _fail(
            source,
            f"draw indices of {named} are not 0..n-1 ({row['size']} draws, max index {row['max']})",
            DRAW_COLUMN,
        )
    sizes = stats["size"].unique()
    if sizes.size > 1:
        log.info("%s: unit-periods have different numbers of draws (%s)", source, sorted(sizes))
    return out.reset_index(drop=True)


def write_views_parquet(
    frame: pd.DataFrame,
    path: str | Path,
    *,
    outcome_name: str = DEFAULT_OUTCOME,
    keep: tuple[str, ...] = (),
) -> Path:
    """Validate ``frame`` (:func:`validate_views`) and write it as parquet atomically (a failed
    write leaves the previous file); returns the path."""
    return write_atomic(*views_parquet_item(frame, path, outcome_name=outcome_name, keep=keep))


def views_parquet_item(
    frame: pd.DataFrame,
    path: str | Path,
    *,
    outcome_name: str = DEFAULT_OUTCOME,
    keep: tuple[str, ...] = (),
) -> tuple[Path, Writer]:
    """``(path, writer)`` of a validated forecast frame, for
    :func:`~sahelsim.core.atomic.write_all_atomic` (several files written as one set)."""
    path = Path(path)
    clean = validate_views(frame, source=str(path), outcome_name=outcome_name, keep=keep)

    def write(tmp: Path) -> None:
        clean.to_parquet(tmp, index=False)
        log.info("wrote %d forecast rows to %s", len(clean), path)

    return path, write


def read_views_parquet(
    path: str | Path, *, outcome_name: str = DEFAULT_OUTCOME, keep: tuple[str, ...] = ()
) -> pd.DataFrame:
    """Read a VIEWS forecast parquet file and validate it (:func:`validate_views`)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such forecast file")
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for corrupt files
        raise _fail(
            str(path), f"not a readable parquet file ({type(exc).__name__}: {exc})"
        ) from exc
    return validate_views(frame, source=str(path), outcome_name=outcome_name, keep=keep)


# -- forecast sets: one file per violence type (+ displaced stocks) ------------------------------
LEVEL_PERIOD: dict[str, PeriodCol] = {"cm": "month_id", "cy": "year"}
LEVEL_SUFFIX: dict[str, str] = {"cm": "country_month", "cy": "country_year"}
GED_TARGETS: tuple[str, ...] = ("sb", "ns", "os")
IDP_FILE = "forecast_idps_country_year.parquet"


def forecast_file(target: str, level: str) -> str:
    """``forecast_ged_{sb,ns,os}_country_month.parquet`` (or ``_country_year``)."""
    if level not in LEVEL_SUFFIX:
        raise ValueError(f"level must be one of {sorted(LEVEL_SUFFIX)}, got {level!r}")
    return f"forecast_ged_{target}_{LEVEL_SUFFIX[level]}.parquet"


def views_from_long(long: pd.DataFrame, target: str, level: str) -> pd.DataFrame:
    """One target of a long forecast frame (``month_id``/``year``, ``iso3``, ``target``,
    ``draw``, ``outcome`` [, ``origin``]) in the ViEWS layout: ``[origin,] period,
    country_id, iso3, draw, outcome``, validated."""
    pcol = LEVEL_PERIOD[level]
    missing = [c for c in (pcol, "iso3", "target", DRAW_COLUMN, DEFAULT_OUTCOME)
               if c not in long.columns]  # fmt: skip
    if missing:
        raise ValueError(f"forecast frame lacks column(s) {missing} (columns {list(long.columns)})")
    sub = long[long["target"] == target]
    frame = pd.DataFrame({pcol: sub[pcol].to_numpy(), "iso3": sub["iso3"].to_numpy(),
                          "country_id": [_country_id(u) for u in sub["iso3"]],
                          DRAW_COLUMN: sub[DRAW_COLUMN].to_numpy(),
                          DEFAULT_OUTCOME: sub[DEFAULT_OUTCOME].to_numpy()})  # fmt: skip
    order = [pcol, "country_id", DRAW_COLUMN]
    if "origin" in long.columns:
        frame.insert(0, "origin", sub["origin"].to_numpy())
        order = ["origin", *order]
    frame = frame.sort_values(order, kind="stable", ignore_index=True)
    return validate_views(frame, source=f"<{target} forecast>", keep=EXTRA_COLUMNS)


def idp_frame(long: pd.DataFrame) -> pd.DataFrame:
    """The ``idps`` rows of a long country-month forecast as ``[origin,] iso3, year, draw,
    idps`` (end-of-December stocks of internally displaced people)."""
    sub = long[long["target"] == "idps"]
    year, month = month_id_to_year_month(sub["month_id"].to_numpy(dtype=np.int64))
    if np.any(month != 12):
        raise ValueError("idps forecasts are December stocks: found non-December months")
    out = pd.DataFrame({"iso3": sub["iso3"].to_numpy(), "year": year.astype(np.int64),
                        DRAW_COLUMN: sub[DRAW_COLUMN].to_numpy(dtype=np.int64),
                        "idps": sub[DEFAULT_OUTCOME].to_numpy(dtype=np.float64)})  # fmt: skip
    if "origin" in long.columns:
        out.insert(0, "origin", sub["origin"].to_numpy(dtype=np.int64))
    if not np.all(np.isfinite(out["idps"])) or (out["idps"] < 0).any():
        raise ValueError("idps forecasts must be finite and non-negative")
    keys = [c for c in ("origin", "iso3", "year") if c in out.columns]
    return out.sort_values([*keys, DRAW_COLUMN], ignore_index=True)


def forecast_set_items(
    long: pd.DataFrame, folder: str | Path, level: str
) -> list[tuple[Path, Writer]]:
    """``(path, writer)`` pairs of a forecast set for
    :func:`~sahelsim.core.atomic.write_all_atomic`: one ViEWS file per violence type present
    and, when the frame has ``idps`` rows, :data:`IDP_FILE`."""
    folder = Path(folder)
    items: list[tuple[Path, Writer]] = []
    for t in GED_TARGETS:
        if (long["target"] == t).any():
            frame = views_from_long(long, t, level)
            items.append(views_parquet_item(frame, folder / forecast_file(t, level),
                                            keep=EXTRA_COLUMNS))  # fmt: skip
    if (long["target"] == "idps").any():
        idps = idp_frame(long)

        def write(tmp: Path, frame: pd.DataFrame = idps) -> None:
            frame.to_parquet(tmp, index=False)

        items.append((folder / IDP_FILE, write))
    return items

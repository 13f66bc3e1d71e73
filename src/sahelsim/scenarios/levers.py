"""The levers of scenarios, derived from the one lever table (:data:`sahelsim.model.fields_table.LEVERS`),
and the checks a lever name, value, country or date must pass (shared by files and overrides)."""

from __future__ import annotations

import datetime as _dt
import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
from pydantic_core import PydanticCustomError

from sahelsim.core.canon import CORE_ISO3, month_id
from sahelsim.model.drivers import lever_default_column
from sahelsim.model.fields_table import LEVERS, LeverSpec, Scalar

#: Every lever, by name (its one definition is in :data:`sahelsim.model.fields_table.LEVERS`).
LEVER_SPECS: dict[str, LeverSpec] = {s.name: s for s in LEVERS}
#: Values in force from 2025-01 when nothing sets them (per-country mappings where they differ).
DEFAULT_LEVERS: dict[str, Scalar | dict[str, float]] = {
    s.name: dict(s.default) if isinstance(s.default, Mapping) else s.default for s in LEVERS
}
NUMERIC_LEVERS: tuple[str, ...] = tuple(s.name for s in LEVERS if s.numeric)
FLAG_LEVERS: tuple[str, ...] = tuple(s.name for s in LEVERS if not s.numeric)

_COUNTRY_INDEX = {c: i for i, c in enumerate(CORE_ISO3)}
_DATE_RE = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_MIN_YEAR, _MAX_YEAR = 1980, 2100


def _g(x: float) -> str:
    return f"{x:g}"


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _g(value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {_fmt(v)}" for k, v in value.items())
    return str(value)


def _month_of(text: str) -> int:
    y, m = int(text[:4]), int(text[5:7])
    return int(month_id(y, m))


def _err(message: str, **ctx: Any) -> PydanticCustomError:
    return PydanticCustomError("scenario", "{message}", {"message": message, **ctx})


def _check_lever(name: Any) -> str:
    if not isinstance(name, str) or name not in LEVER_SPECS:
        valid = ", ".join(sorted(LEVER_SPECS))
        raise _err(f"unknown lever {_show(name)}; valid levers: {valid}")
    return name


def _check_value(lever: str, value: Any) -> Scalar:
    """The value converted for ``lever``; raises a message naming range and unit otherwise."""
    spec = LEVER_SPECS[lever]
    if spec.numeric:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _err(
                f"lever {lever!r} needs a number in {spec.range_text()} (unit: {spec.unit}), "
                f"got {_show(value)}"
            )
        try:
            v = float(value)
        except OverflowError:
            v = math.inf
        lo, hi = spec.bounds or (-math.inf, math.inf)
        if not (math.isfinite(v) and lo <= v <= hi):
            raise _err(
                f"{_show(value)} is out of range for lever {lever!r}: allowed "
                f"{spec.range_text()} (unit: {spec.unit})"
            )
        return v
    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise _err(f"lever {lever!r} needs true or false, got {_show(value)}")
        return value
    if not isinstance(value, str) or value not in (spec.choices or ()):
        raise _err(f"lever {lever!r} needs one of {spec.range_text()}, got {_show(value)}")
    return value


def _check_country(lever: str | None, country: Any) -> str:
    if not isinstance(country, str) or country not in _COUNTRY_INDEX:
        raise _err(f"unknown country {_show(country)}; valid: {', '.join(CORE_ISO3)}")
    if lever is not None and LEVER_SPECS[lever].scope == "alliance":
        raise _err(f"lever {lever!r} has one alliance-wide value and takes no country")
    return country


def _check_date(value: Any) -> str:
    if isinstance(value, _dt.datetime):
        raise _err(f"{_show(value)} is a date-time: give a date as YYYY-MM or YYYY-MM-DD")
    if isinstance(value, _dt.date):
        value = value.isoformat()
    if not isinstance(value, str):
        raise _err(f"{_show(value)} is not a date: give YYYY-MM or YYYY-MM-DD")
    m = _DATE_RE.match(value)
    problem = None
    if m is None:
        problem = "use YYYY-MM or YYYY-MM-DD"
    else:
        y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3) or 1)
        if not _MIN_YEAR <= y <= _MAX_YEAR:
            problem = f"the year must be within {_MIN_YEAR}..{_MAX_YEAR}"
        else:
            try:
                _dt.date(y, mo, d)
            except ValueError as exc:
                problem = str(exc)
    if problem:
        raise _err(f"{_show(value)} is not a valid date: {problem}")
    return value


def default_at(lever: str, month: int, country: str = "MLI") -> Scalar:
    """The default value of ``lever`` in force in ``month`` (a month_id) for a core country."""
    spec = LEVER_SPECS[_check_lever_plain(lever)]
    if country not in _COUNTRY_INDEX:
        raise ValueError(f"unknown country {country!r}; valid: {', '.join(CORE_ISO3)}")
    if not spec.numeric:
        return spec.default  # type: ignore[return-value]
    return float(_default_column(spec, country, np.array([int(month)]))[0])


def _check_lever_plain(lever: str) -> str:
    if lever not in LEVER_SPECS:
        raise KeyError(f"unknown lever {lever!r}; valid levers: {', '.join(sorted(LEVER_SPECS))}")
    return lever


def _default_column(spec: LeverSpec, country: str, months: np.ndarray) -> np.ndarray:
    """Default numeric values over ``months`` for one country (the dated default schedule)."""
    return lever_default_column(spec, country, months)

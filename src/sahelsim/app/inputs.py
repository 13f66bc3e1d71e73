"""What a user of the explorer asks for: validated into a canonical, hashable
:class:`RunRequest` (the run cache's key), or an :class:`InputError` listing every problem.

Lever semantics (:func:`apply_levers`): a lever the user sets holds that value from the
``effective`` month on (default: the first projection month, 2025-01), replacing the scenario's
own dated changes of that lever from that month; before it, the scenario runs as written. The
override itself goes through :meth:`Scenario.with_overrides`, so bounds, units and messages are
the library's.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sahelsim.core.canon import CORE_ISO3
from sahelsim.core.errors import SahelsimError
from sahelsim.scenarios.run import HISTORY_START, PROJECTION_START, month_label, parse_month
from sahelsim.scenarios.scenario import (
    LEVER_SPECS,
    LeverSpec,
    Scenario,
    ScenarioError,
    list_scenarios,
    load_scenario,
)

__all__ = [
    "DEFAULT_MEMBERS",
    "DEFAULT_MONTHS",
    "DEFAULT_SEED",
    "MAX_MEMBERS",
    "MAX_MONTHS",
    "MAX_SEED",
    "MIN_MEMBERS",
    "MIN_MONTHS",
    "InputError",
    "LeverItems",
    "RunRequest",
    "Value",
    "apply_levers",
    "build_scenario",
    "changed_levers",
    "lever_defaults",
    "make_request",
    "parse_lever_text",
    "request_from_params",
    "url_value",
]

#: URL parameters besides the levers (``lever`` or ``lever.ISO3``).
URL_FIELDS = ("scenario", "members", "seed", "months", "effective")
DEFAULT_SCENARIO = "acceleration"

#: Ensemble size, seed and projection horizon (months from 2025-01) the page starts with.
DEFAULT_MEMBERS = 100
DEFAULT_SEED = 0
DEFAULT_MONTHS = 60
MIN_MEMBERS, MAX_MEMBERS = 2, 1000
MIN_MONTHS, MAX_MONTHS = 6, 72  # the projection may run to 2030-12
MAX_SEED = 2**31 - 1
Value = float | bool | str
LeverItems = tuple[tuple[str, str | None, Value], ...]
_MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class InputError(SahelsimError, ValueError):
    """What the user asked for cannot be run; ``problems`` holds one line per problem."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = [str(p) for p in problems]
        super().__init__("; ".join(self.problems))


# -- requests ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunRequest:
    """One ensemble run, in canonical form (the cache key).

    ``levers``: sorted ``(lever, country or None, value)`` triples (None = every country, or the
    alliance); ``months``: projection months from 2025-01 (the run simulates the history from
    2012-01 first); ``data_dir``: the staged data or None for the synthetic grid.
    """

    scenario: str
    levers: LeverItems = ()
    effective: str = month_label(PROJECTION_START)
    members: int = DEFAULT_MEMBERS
    seed: int = DEFAULT_SEED
    months: int = DEFAULT_MONTHS
    data_dir: str | None = None

    @property
    def lever_mapping(self) -> dict[str, Value | dict[str, Value]]:
        """The levers as :meth:`Scenario.with_overrides` takes them."""
        out: dict[str, Any] = {}
        for lever, country, value in self.levers:
            if country is None:
                out[lever] = value
            else:
                out.setdefault(lever, {})[country] = value
        return out

    @property
    def label(self) -> str:
        return self.scenario + (" (edited)" if self.levers else "")

    @property
    def end_month(self) -> int:
        return PROJECTION_START + self.months - 1


def _canon_value(spec: LeverSpec, value: Any) -> Value:
    """A lever value in canonical form (floats rounded to 10 significant digits, so slider
    arithmetic such as 0.30000000000000004 hits the same cache entry as 0.3)."""
    if spec.numeric and isinstance(value, int | float) and not isinstance(value, bool):
        v = float(value)
        return float(f"{v:.10g}") if math.isfinite(v) else v
    return value


def _int_field(name: str, value: Any, lo: int, hi: int, problems: list[str]) -> int:
    if isinstance(value, str):
        text = value.strip()
        try:
            value = int(text)
        except ValueError:
            problems.append(f"{name}: needs a whole number in {lo}..{hi}, got {text!r}")
            return lo
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        problems.append(f"{name}: needs a whole number in {lo}..{hi}, got {value!r}")
        return lo
    if not lo <= int(value) <= hi:
        problems.append(f"{name}: must be in {lo}..{hi}, got {int(value)}")
    return int(value)


def make_request(
    scenario: str,
    levers: Mapping[str, Any] | None = None,
    *,
    members: Any = DEFAULT_MEMBERS,
    seed: Any = DEFAULT_SEED,
    months: Any = DEFAULT_MONTHS,
    effective: str | None = None,
    data_dir: str | Path | None = None,
) -> RunRequest:
    """Validate a user's choices into a :class:`RunRequest`; raises :class:`InputError`.

    ``levers`` maps a lever name to a value or to a mapping country -> value (as
    :meth:`Scenario.with_overrides`); the whole scenario is built once here so every lever
    problem is reported, with the library's messages (range and unit).
    """
    problems: list[str] = []
    names = list_scenarios()
    if scenario not in names:
        problems.append(f"scenario: no shipped scenario {scenario!r}; available: {names}")
    members = _int_field("members", members, MIN_MEMBERS, MAX_MEMBERS, problems)
    seed = _int_field("seed", seed, 0, MAX_SEED, problems)
    months = _int_field("horizon (months from 2025-01)", months, MIN_MONTHS, MAX_MONTHS, problems)
    eff = effective or month_label(PROJECTION_START)
    end = PROJECTION_START + max(months, MIN_MONTHS) - 1
    try:
        if not _MONTH_RE.match(str(eff).strip()):
            raise ValueError
        eff_id = parse_month(str(eff).strip())
        if not PROJECTION_START <= eff_id <= end:
            raise ValueError
        eff = month_label(eff_id)
    except ValueError:
        problems.append(
            f"effective month: needs YYYY-MM from {month_label(PROJECTION_START)} to "
            f"{month_label(end)}, got {eff!r}"
        )
    items: list[tuple[str, str | None, Value]] = []
    for lever, value in (levers or {}).items():
        spec = LEVER_SPECS.get(lever)
        entries = value.items() if isinstance(value, Mapping) else [(None, value)]
        for country, v in entries:
            cv = _canon_value(spec, v) if spec is not None else v
            items.append((str(lever), None if country is None else str(country), cv))
    if not problems and items:
        try:
            apply_levers(load_scenario(scenario), _mapping(items), eff)
        except ScenarioError as exc:
            problems.extend(exc.problems)
    if problems:
        raise InputError(problems)
    items.sort(key=lambda t: (t[0], t[1] or ""))
    return RunRequest(
        scenario=scenario,
        levers=tuple(items),
        effective=eff,
        members=members,
        seed=seed,
        months=months,
        data_dir=None if data_dir is None else str(data_dir),
    )


def _mapping(items: Sequence[tuple[str, str | None, Value]]) -> dict[str, Any]:
    return RunRequest(scenario="", levers=tuple(items)).lever_mapping


def parse_lever_text(text: str) -> dict[str, Any]:
    """Lever values typed as TOML lines (``restraint = 0.5``, ``russia_personnel = {MLI =
    3000}``); raises :class:`InputError` naming the line. Values are checked later, by
    :func:`make_request`. The text is parsed as data only; nothing in it is evaluated."""
    if not text.strip():
        return {}
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(
            [f"lever text is not valid TOML ('lever = value' per line): {exc}"]
        ) from None


def apply_levers(sc: Scenario, levers: Mapping[str, Any], effective: str) -> Scenario:
    """The scenario with ``levers`` holding from ``effective`` on (see the module docstring).

    A scenario change of an overridden lever dated at or after ``effective`` is dropped for the
    overridden countries (a change for all countries is kept for the others); one-off pulses
    (``legitimacy_shock``) are added, not replaced. Raises :class:`ScenarioError`.
    """
    if not levers:
        return sc
    eff = parse_month(effective)
    keep = []
    for c in sc.changes:
        spec = LEVER_SPECS[c.lever]
        if c.lever not in levers or spec.kind == "impulse" or c.month_id < eff:
            keep.append(c)
            continue
        value = levers[c.lever]
        over = set(value) if isinstance(value, Mapping) else set(CORE_ISO3)
        affected = {c.country} if c.country else set(CORE_ISO3)
        rest = [k for k in CORE_ISO3 if k in affected - over]
        if spec.scope == "alliance" or not rest:
            continue
        if c.country is None:
            keep.extend(c.model_copy(update={"country": k}) for k in rest)
        else:
            keep.append(c)
    base = sc.model_copy(update={"changes": keep})
    return base.with_overrides(effective=effective, **levers)


def lever_defaults(
    sc: Scenario, months: int = DEFAULT_MONTHS
) -> dict[str, Value | dict[str, float]]:
    """Each lever's value at the end of the horizon as the scenario sets it: one number when the
    three countries agree, else a mapping country -> value; switches as set; pulses 0. These are
    the widgets' starting values (a lever left there is not overridden)."""
    start = HISTORY_START
    n = PROJECTION_START + months - start
    series = sc.lever_series(start, n)
    flags = sc.flags
    out: dict[str, Any] = {}
    for name, spec in LEVER_SPECS.items():
        if spec.kind == "impulse":
            out[name] = 0.0
        elif spec.kind in ("bool", "enum"):
            out[name] = flags[name]
        else:
            last = [float(f"{v:.10g}") for v in series[name][-1]]
            if spec.scope == "alliance" or len(set(last)) == 1:
                out[name] = last[0]
            else:
                out[name] = dict(zip(CORE_ISO3, last, strict=True))
    return out


def changed_levers(
    defaults: Mapping[str, Any], values: Mapping[str, Any]
) -> dict[str, Value | dict[str, Value]]:
    """The entries of ``values`` (same shape as :func:`lever_defaults`) that differ from the
    defaults; per-country mappings keep only the countries that changed."""
    out: dict[str, Any] = {}
    for name, v in values.items():
        d = defaults.get(name)
        if isinstance(v, Mapping):
            dd = d if isinstance(d, Mapping) else dict.fromkeys(v, d)
            ch = {k: x for k, x in v.items() if not _same(x, dd.get(k))}
            if ch:
                out[name] = ch
        elif not _same(v, d):
            out[name] = v
    return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool) or isinstance(a, str) or isinstance(b, str):
        return a == b
    try:
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    except (TypeError, ValueError):
        return a == b


def build_scenario(req: RunRequest) -> Scenario:
    """The request's scenario with its levers applied."""
    sc = load_scenario(req.scenario)
    return apply_levers(sc, req.lever_mapping, req.effective)


def url_value(text: str) -> Value:
    """A URL parameter as a number, a boolean or text (validated by :func:`make_request`)."""
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    try:
        return float(text)
    except ValueError:
        return text


def request_from_params(
    params: Mapping[str, str], data_dir: str | Path | None = None
) -> tuple[RunRequest, list[str]]:
    """The run a URL asks for, each parameter checked on its own: a bad one is reported (one
    line each, naming it) and left out, the others are kept. Returns (request, problems)."""
    problems: list[str] = []
    scenario = str(params.get("scenario", DEFAULT_SCENARIO))
    if scenario not in list_scenarios():
        problems.append(
            f"URL parameter scenario={scenario!r} ignored: no such scenario; available:"
            f" {list_scenarios()}"
        )
        scenario = DEFAULT_SCENARIO
    kept: dict[str, Any] = {"data_dir": data_dir}
    for name in ("members", "seed", "months", "effective"):
        if name not in params:
            continue
        try:
            make_request(scenario, **(kept | {name: params[name]}))
            kept[name] = params[name]
        except InputError as exc:
            problems += [
                f"URL parameter {name}={params[name]!r} ignored: {p}" for p in exc.problems
            ]
    levers: dict[str, Any] = {}
    for key, text in params.items():
        lever, _, country = key.partition(".")
        if key in URL_FIELDS:
            continue
        if lever not in LEVER_SPECS or (country and country not in CORE_ISO3):
            problems.append(
                f"URL parameter {key!r} ignored: not a lever name or lever.ISO3"
                f" ({'/'.join(CORE_ISO3)}), nor one of {list(URL_FIELDS)}"
            )
            continue
        one: dict[str, Any] = (
            {lever: {country: url_value(text)}} if country else {lever: url_value(text)}
        )
        try:
            make_request(scenario, one, **kept)
        except InputError as exc:
            problems += [f"URL parameter {key}={text!r} ignored: {p}" for p in exc.problems]
            continue
        if country:
            prev = levers.get(lever)
            levers[lever] = (prev if isinstance(prev, dict) else {}) | one[lever]
        else:
            levers[lever] = one[lever]
    try:
        return make_request(scenario, levers, **kept), problems
    except InputError as exc:  # levers valid alone but not together
        problems += [f"URL lever parameters ignored together: {p}" for p in exc.problems]
        return make_request(scenario, **kept), problems

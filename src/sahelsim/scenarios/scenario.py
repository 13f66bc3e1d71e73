"""Scenarios: declarative TOML files of policy levers (a baseline plus dated changes).

MODEL.md section 4. A scenario names the levers the engine reads (:data:`LEVER_SPECS`), sets
some of them in a ``baseline`` and changes them at dated months (``[[changes]]``), each change
optionally ramped linearly over ``ramp_months``. The shipped files live next to this module in
``model/scenarios/*.toml``; each paraphrases one passage of the seed article ("Three Futures",
"What Comes After") and cites its heading in ``article_section``.

Safety: a scenario file is data only. It is parsed with :mod:`tomllib` and validated by pydantic;
nothing in it is evaluated, imported or executed, and a lever value must be a number, a boolean
or one of a lever's fixed choices.

Semantics, in the order they apply to each lever and country (``Scenario.lever_series``):

1. **Defaults** (:data:`LEVER_SPECS`): a constant, or for three levers a dated historical
   schedule so that runs starting in 2012 reproduce the timeline (Russian contingents from their
   arrival, the joint force from December 2024, border openness falling when the ECOWAS exit
   took effect in January 2025). :data:`DEFAULT_LEVERS` holds the values in force from 2025-01.
2. **Baseline**: a lever (or one country's value of it) set in ``baseline`` is constant over the
   whole run and replaces that lever's default *including its historical schedule*. To change a
   lever from a date on, use a dated change instead (the shipped scenarios do so from 2025-01).
3. **Changes**, in date order (file order for equal months): from the month containing ``date``
   the lever takes ``value``; with ``ramp_months = R > 0`` it moves linearly from the value in
   force at that month, reaching ``value`` exactly ``R`` months later (the value at month
   ``k`` after the date is ``prev + (value - prev) * k / R``). A later change supersedes an
   earlier one, ramp included, from its own month on. Changes without ``country`` apply to all
   three core countries.

Lever kinds: ``float`` levers are levels in force each month; ``impulse`` levers
(``legitimacy_shock``) are one-off pulses: zero except in the month of a change, where they equal
its value (spread evenly over ``ramp_months`` when given), and they cannot be set in a baseline;
``bool`` and ``enum`` levers are switches (no ramps). ``alliance`` levers (``joint_force``,
``coup_rule``, ``alliance_expansion``) have one value for the alliance, so a ``country`` is an
error; in ``lever_series`` the joint force total is repeated in each country column.
"""

from __future__ import annotations

import datetime as _dt
import logging
import math
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from sahelsim.core.canon import CORE_ISO3, month_id
from sahelsim.core.errors import SahelsimError

log = logging.getLogger(__name__)

__all__ = [
    "ARTICLE_SECTIONS",
    "DEFAULT_LEVERS",
    "LEVER_SPECS",
    "LeverChange",
    "LeverSpec",
    "Scenario",
    "ScenarioError",
    "default_at",
    "list_scenarios",
    "load_scenario",
]

#: Headings of the seed article; ``article_section`` must start with one of them.
ARTICLE_SECTIONS: tuple[str, ...] = (
    "The Alliance That Cannot Win",
    "Sovereignty as Strategy",
    "The Counterterrorism Illusion",
    "The Russian Calculation",
    "Fragmentation's Feedback Loops",
    "The Jihadist Adaptation",
    "Three Futures",
    "The Sovereignty Paradox",
    "What Comes After",
)

Kind = Literal["float", "impulse", "bool", "enum"]
Scope = Literal["country", "alliance"]
Scalar = float | bool | str


class ScenarioError(SahelsimError):
    """A scenario cannot be loaded or built; the message names the file and every problem.

    ``problems`` holds one line per problem, each starting with the field path
    (``changes[2].value``, ``baseline.russia_personnel.MLI``).
    """

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.source = str(source)
        self.problems = list(problems)
        n = len(self.problems)
        body = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{self.source}: invalid scenario ({n} problem{'s' * (n != 1)}):\n{body}")


# -- lever specifications --------------------------------------------------------------------------


@dataclass(frozen=True)
class LeverSpec:
    """One lever the engine reads: unit, default, bounds and where it comes from.

    ``default`` is the value in force from 2025-01 (a mapping country -> value for levers whose
    default differs by country). ``initial`` and ``history`` describe a dated default schedule:
    ``initial`` before the first step, then each ``(YYYY-MM, country or None, value)`` step.
    """

    name: str
    kind: Kind
    unit: str
    default: Scalar | Mapping[str, float]
    description: str
    article_section: str
    source: str
    bounds: tuple[float, float] | None = None
    choices: tuple[str, ...] | None = None
    scope: Scope = "country"
    initial: float | Mapping[str, float] | None = None
    history: tuple[tuple[str, str | None, float], ...] = field(default=())

    @property
    def numeric(self) -> bool:
        return self.kind in ("float", "impulse")

    def range_text(self) -> str:
        if self.bounds is not None:
            return f"{_g(self.bounds[0])}..{_g(self.bounds[1])}"
        if self.choices is not None:
            return " | ".join(repr(c) for c in self.choices)
        return "true | false"

    def as_dict(self) -> dict[str, Any]:
        """Plain-data view for docs and the dashboard."""
        return {
            "name": self.name,
            "kind": self.kind,
            "unit": self.unit,
            "default": dict(self.default) if isinstance(self.default, Mapping) else self.default,
            "bounds": list(self.bounds) if self.bounds else None,
            "choices": list(self.choices) if self.choices else None,
            "scope": self.scope,
            "history": [list(h) for h in self.history],
            "description": self.description,
            "article_section": self.article_section,
            "source": self.source,
        }


_BRIEF = "project design brief (MODEL.md section 4); illustrative, to be calibrated"

_SPECS: tuple[LeverSpec, ...] = (
    LeverSpec(
        name="russia_personnel",
        kind="float",
        unit="persons per country",
        default={"MLI": 2000.0, "BFA": 300.0, "NER": 200.0},
        initial={"MLI": 0.0, "BFA": 0.0, "NER": 0.0},
        history=(
            ("2021-12", "MLI", 1000.0),
            ("2023-01", "MLI", 2000.0),
            ("2024-01", "BFA", 300.0),
            ("2024-04", "NER", 200.0),
        ),
        bounds=(0.0, 20000.0),
        description=(
            "Russian state-linked contingent (Wagner Group, then Africa Corps) in the country; "
            "it guards regimes and extraction sites rather than holding ground."
        ),
        article_section="The Russian Calculation",
        source=(
            "arrival months and sizes are approximate orders of magnitude from press reporting "
            "(Mali from Dec 2021, Burkina Faso early 2024, Niger Apr 2024); the article gives "
            "no figures"
        ),
    ),
    LeverSpec(
        name="joint_force",
        kind="float",
        unit="persons (alliance total)",
        default=5000.0,
        initial=0.0,
        history=(("2024-12", None, 5000.0),),
        bounds=(0.0, 50000.0),
        scope="alliance",
        description=(
            "AES joint force available for mutual assistance; one alliance-wide total "
            "(lever_series repeats it in every country column)."
        ),
        article_section="The Counterterrorism Illusion",
        source="article: joint force of 5,000 announced in December 2024",
    ),
    LeverSpec(
        name="state_force_scale",
        kind="float",
        unit="multiplier of the national deployable force pool",
        default=1.0,
        bounds=(0.2, 5.0),
        description="Scales each state's deployable force pool (recruitment, equipment, funding).",
        article_section="The Counterterrorism Illusion",
        source=_BRIEF,
    ),
    LeverSpec(
        name="restraint",
        kind="float",
        unit="share of civilian harm avoided (1 = none harmed by doctrine)",
        default=0.0,
        bounds=(0.0, 1.0),
        description="Civilian-harm restraint of state-side forces during operations.",
        article_section="The Jihadist Adaptation",
        source=_BRIEF,
    ),
    LeverSpec(
        name="external_monitors",
        kind="float",
        unit="share of a full external accountability presence",
        default=0.0,
        bounds=(0.0, 1.0),
        description=(
            "Return of an external accountability presence (France, the UN or ECOWAS-like); "
            "adds to the external constraint the institutional timeline gives for history."
        ),
        article_section="Fragmentation's Feedback Loops",
        source=_BRIEF,
    ),
    LeverSpec(
        name="governance_investment",
        kind="float",
        unit="share of a full state-services effort",
        default=0.1,
        bounds=(0.0, 1.0),
        description="State investment in services (courts, schools, health) in areas it holds.",
        article_section="The Jihadist Adaptation",
        source=_BRIEF,
    ),
    LeverSpec(
        name="negotiation_propensity",
        kind="float",
        unit="monthly probability",
        default=0.02,
        bounds=(0.0, 1.0),
        description="Monthly propensity of a local accord with JNIM where JNIM dominates a cell.",
        article_section="Three Futures",
        source=_BRIEF,
    ),
    LeverSpec(
        name="border_openness",
        kind="float",
        unit="share of free cross-border movement",
        default=0.4,
        initial=1.0,
        history=(("2025-01", None, 0.4),),
        bounds=(0.0, 1.0),
        description=(
            "Cross-border movement (displacement, pastoral and labour routes); falls when "
            "ECOWAS free movement stops applying."
        ),
        article_section="Fragmentation's Feedback Loops",
        source="ECOWAS exit effective January 2025 (article); the 0.4 level is illustrative",
    ),
    LeverSpec(
        name="inclusion",
        kind="float",
        unit="share (inclusion index)",
        default=0.0,
        bounds=(0.0, 1.0),
        description=(
            "Political inclusion of marginalised communities; lowers grievance-driven recruitment."
        ),
        article_section="Three Futures",
        source=_BRIEF,
    ),
    LeverSpec(
        name="intervention_force",
        kind="float",
        unit="persons deployed in the country",
        default=0.0,
        bounds=(0.0, 100000.0),
        description="An outside regional or international intervention force.",
        article_section="What Comes After",
        source=_BRIEF,
    ),
    LeverSpec(
        name="legitimacy_shock",
        kind="impulse",
        unit="legitimacy points, added once",
        default=0.0,
        bounds=(-1.0, 1.0),
        description=(
            "One-off pulse to junta legitimacy (a scandal, a lost battle, an uprising) that "
            "raises coup hazard; zero except in the month of a change."
        ),
        article_section="What Comes After",
        source=_BRIEF,
    ),
    LeverSpec(
        name="coup_rule",
        kind="enum",
        unit="choice",
        default="stay_in_aes",
        choices=("stay_in_aes", "transition"),
        scope="alliance",
        description=(
            "What a coup does: the new junta stays in the AES and keeps its policies "
            "(the article's reading), or opens a political transition."
        ),
        article_section="What Comes After",
        source="article: new military governments would likely join the AES and carry on",
    ),
    LeverSpec(
        name="alliance_expansion",
        kind="bool",
        unit="switch",
        default=False,
        scope="alliance",
        description=(
            "Allows new members to join the alliance; off by default because membership "
            "changes need unanimity (the 'structural trap')."
        ),
        article_section="Sovereignty as Strategy",
        source="article: each member can veto expansion",
    ),
)

#: Every lever the engine reads, by name.
LEVER_SPECS: dict[str, LeverSpec] = {s.name: s for s in _SPECS}
#: Values in force from 2025-01 when nothing sets them (per-country mappings where they differ).
DEFAULT_LEVERS: dict[str, Scalar | dict[str, float]] = {
    s.name: dict(s.default) if isinstance(s.default, Mapping) else s.default for s in _SPECS
}
NUMERIC_LEVERS: tuple[str, ...] = tuple(s.name for s in _SPECS if s.numeric)
FLAG_LEVERS: tuple[str, ...] = tuple(s.name for s in _SPECS if not s.numeric)

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
    """Default numeric values over ``months`` for one country (the historical schedule)."""
    if spec.kind == "impulse":
        return np.zeros(len(months))
    start = spec.initial if spec.initial is not None else spec.default
    if isinstance(start, Mapping):
        start = start[country]
    col = np.full(len(months), float(start))
    for date, c, v in spec.history:
        if c is None or c == country:
            col[months >= _month_of(date)] = v
    return col


# -- models ----------------------------------------------------------------------------------------


class LeverChange(BaseModel):
    """One dated change of a lever (from the month containing ``date``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    date: str
    lever: str
    value: Any
    country: str | None = None
    ramp_months: int = Field(default=0, ge=0, le=600, strict=True)
    note: str = Field(min_length=1)
    source: str | None = None

    @field_validator("date", mode="before")
    @classmethod
    def _v_date(cls, v: Any) -> str:
        return _check_date(v)

    @field_validator("lever", mode="before")
    @classmethod
    def _v_lever(cls, v: Any) -> str:
        return _check_lever(v)

    @field_validator("value", mode="after")
    @classmethod
    def _v_value(cls, v: Any, info: ValidationInfo) -> Scalar:
        lever = info.data.get("lever")
        return v if lever is None else _check_value(lever, v)

    @field_validator("country", mode="before")
    @classmethod
    def _v_country(cls, v: Any, info: ValidationInfo) -> str | None:
        return None if v is None else _check_country(info.data.get("lever"), v)

    @field_validator("ramp_months", mode="after")
    @classmethod
    def _v_ramp(cls, v: int, info: ValidationInfo) -> int:
        lever = info.data.get("lever")
        if v and lever is not None and LEVER_SPECS[lever].kind in ("bool", "enum"):
            raise _err(f"lever {lever!r} is a switch and cannot be ramped (ramp_months must be 0)")
        return v

    @property
    def month_id(self) -> int:
        """The month the change takes effect (VIEWS month_id of the month containing ``date``)."""
        return _month_of(self.date)

    def describe(self) -> str:
        where = self.country or "all"
        ramp = f" over {self.ramp_months} months" if self.ramp_months else ""
        return f"{self.date[:7]} {where} -> {_fmt(self.value)}{ramp}"


class Scenario(BaseModel):
    """A named set of lever settings: a baseline plus dated changes (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    title: str = Field(min_length=1)
    description: str = Field(min_length=1)
    article_section: str
    baseline: dict[str, Any] = Field(default_factory=dict)
    changes: list[LeverChange] = Field(default_factory=list)
    horizon_note: str | None = None

    @field_validator("name", mode="after")
    @classmethod
    def _v_name(cls, v: str) -> str:
        if not _NAME_RE.match(v):
            raise _err(f"{_show(v)} is not a scenario name: use lower case, digits and '_'")
        return v

    @field_validator("article_section", mode="after")
    @classmethod
    def _v_section(cls, v: str) -> str:
        norm = v.replace("\u2019", "'").strip()
        if not any(norm.startswith(h) for h in ARTICLE_SECTIONS):
            raise _err(
                f"{_show(v)} does not start with a heading of the article; headings: "
                + "; ".join(ARTICLE_SECTIONS)
            )
        return v

    @field_validator("baseline", mode="after")
    @classmethod
    def _v_baseline(cls, raw: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        problems: list[tuple[str, str]] = []
        for lever, value in raw.items():
            path = f"baseline.{lever}"
            try:
                _check_lever(lever)
                if LEVER_SPECS[lever].kind == "impulse":
                    raise _err(
                        f"lever {lever!r} is a one-off pulse: set it with a dated change, "
                        "not in the baseline"
                    )
                if isinstance(value, Mapping):
                    if LEVER_SPECS[lever].scope == "alliance":
                        raise _err(
                            f"lever {lever!r} has one alliance-wide value: give a single value, "
                            "not a table by country"
                        )
                    per: dict[str, Scalar] = {}
                    for country, v in value.items():
                        cpath = f"{path}.{country}"
                        try:
                            _check_country(lever, country)
                            per[country] = _check_value(lever, v)
                        except PydanticCustomError as exc:
                            problems.append((cpath, exc.context["message"]))
                    out[lever] = per
                else:
                    out[lever] = _check_value(lever, value)
            except PydanticCustomError as exc:
                problems.append((path, exc.context["message"]))
        if problems:
            text = "; ".join(f"{p}: {m}" for p, m in problems)
            raise PydanticCustomError("scenario", "{message}", {"message": text, "items": problems})
        return out

    # -- evaluation --------------------------------------------------------------------------------

    def _ordered_changes(self, lever: str) -> list[LeverChange]:
        return sorted((c for c in self.changes if c.lever == lever), key=lambda c: c.month_id)

    def _baseline_value(self, lever: str, country: str) -> Scalar | None:
        v = self.baseline.get(lever)
        if isinstance(v, Mapping):
            return v.get(country)
        return v

    def _numeric(self, lever: str, start: int, months: int) -> np.ndarray:
        """Series of one numeric or bool lever, shape (months, 3) in CORE_ISO3 order."""
        spec = LEVER_SPECS[lever]
        changes = self._ordered_changes(lever)
        end = start + months  # exclusive
        t0 = min([start, *(c.month_id for c in changes)])
        t = np.arange(t0, end)
        series = np.empty((len(t), len(CORE_ISO3)))
        for j, country in enumerate(CORE_ISO3):
            b = self._baseline_value(lever, country)
            if b is None:
                series[:, j] = (
                    float(spec.default)
                    if spec.kind == "bool"
                    else _default_column(spec, country, t)
                )
            else:
                series[:, j] = float(b)
        impulse = spec.kind == "impulse"
        if impulse:
            series[:] = 0.0
        for c in changes:
            i = c.month_id - t0
            if i >= len(t):
                continue
            cols = [_COUNTRY_INDEX[c.country]] if c.country else list(range(len(CORE_ISO3)))
            v = float(c.value)
            r = c.ramp_months
            if impulse:
                if r == 0:
                    series[i, cols] += v
                else:
                    series[i : i + r, cols] += v / r
            elif r == 0:
                series[i:, cols] = v
            else:
                prev = series[i, cols].copy()
                frac = np.minimum(np.arange(len(t) - i) / r, 1.0)[:, None]
                ramp = prev[None, :] * (1.0 - frac) + v * frac
                series[i:, cols] = np.where(frac >= 1.0, v, ramp)
        if spec.bounds is not None:
            np.clip(series, spec.bounds[0], spec.bounds[1], out=series)
        return series[start - t0 :]

    @staticmethod
    def _columns(countries: Iterable[str]) -> list[int]:
        cols = []
        for c in countries:
            if c not in _COUNTRY_INDEX:
                raise ValueError(f"unknown country {c!r}; valid: {', '.join(CORE_ISO3)}")
            cols.append(_COUNTRY_INDEX[c])
        return cols

    @staticmethod
    def _check_window(start_month_id: int, months: int) -> None:
        if int(start_month_id) < 1 or int(months) < 0:
            raise ValueError(
                f"start_month_id must be >= 1 and months >= 0, got {start_month_id}, {months}"
            )

    def lever_series(
        self, start_month_id: int, months: int, countries: Sequence[str] = CORE_ISO3
    ) -> dict[str, np.ndarray]:
        """Value in force each month for every numeric lever, shape ``(months, len(countries))``.

        Month ``k`` of the arrays is ``start_month_id + k``. ``joint_force`` repeats the alliance
        total in every column; ``legitimacy_shock`` is a pulse (zero outside change months).
        """
        self._check_window(start_month_id, months)
        cols = self._columns(countries)
        return {
            lever: self._numeric(lever, int(start_month_id), int(months))[:, cols]
            for lever in NUMERIC_LEVERS
        }

    def flag_series(
        self, start_month_id: int, months: int, countries: Sequence[str] = CORE_ISO3
    ) -> dict[str, np.ndarray]:
        """Boolean levers as 0/1 float arrays of shape ``(months, len(countries))``."""
        self._check_window(start_month_id, months)
        cols = self._columns(countries)
        return {
            lever: self._numeric(lever, int(start_month_id), int(months))[:, cols]
            for lever, spec in LEVER_SPECS.items()
            if spec.kind == "bool"
        }

    def switches(self, month: int) -> dict[str, bool | str]:
        """Values of the switch levers (bool and enum) in force in ``month`` (a month_id)."""
        out: dict[str, bool | str] = {}
        for lever in FLAG_LEVERS:
            value = self.baseline.get(lever, LEVER_SPECS[lever].default)
            for c in self._ordered_changes(lever):
                if c.month_id <= month:
                    value = c.value
            out[lever] = value
        return out

    @property
    def flags(self) -> dict[str, bool | str]:
        """Final values of the switch levers (``coup_rule``, ``alliance_expansion``)."""
        return self.switches(10**9)

    # -- comparison and overrides ------------------------------------------------------------------

    def _baseline_text(self, lever: str) -> str:
        spec = LEVER_SPECS[lever]
        parts = []
        for country in CORE_ISO3 if spec.scope == "country" else CORE_ISO3[:1]:
            b = self._baseline_value(lever, country)
            if b is None:
                if spec.history:
                    text = "default schedule"
                elif isinstance(spec.default, Mapping):
                    text = _fmt(spec.default[country])
                else:
                    text = _fmt(spec.default)
            else:
                text = _fmt(b)
            parts.append((country, text))
        if len({p[1] for p in parts}) == 1:
            return parts[0][1]
        return ", ".join(f"{c} {t}" for c, t in parts)

    def _changes_text(self, lever: str) -> str:
        changes = self._ordered_changes(lever)
        return "; ".join(c.describe() for c in changes) if changes else "none"

    def diff(self, other: Scenario) -> list[str]:
        """Human-readable differences in lever settings between this scenario and ``other``."""
        a, b = (self.name, other.name) if self.name != other.name else ("this", "other")
        out = []
        for lever, spec in LEVER_SPECS.items():
            ba, bb = self._baseline_text(lever), other._baseline_text(lever)
            if ba != bb:
                out.append(f"{lever} baseline ({spec.unit}): {a} {ba} | {b} {bb}")
            ca, cb = self._changes_text(lever), other._changes_text(lever)
            if ca != cb:
                out.append(f"{lever} changes: {a} {ca} | {b} {cb}")
        return out

    def with_overrides(self, *, effective: str | None = None, **levers: Any) -> Scenario:
        """A validated copy with lever overrides (a value or a mapping country -> value).

        Without ``effective`` the overrides go into the baseline (constant over the whole run,
        replacing any historical default schedule of that lever). With ``effective="YYYY-MM"``
        they are appended as dated changes from that month instead, so history is untouched.
        Raises :class:`ScenarioError` with the same messages as a file would.
        """
        data = self.model_dump()
        if effective is None:
            data["baseline"] = {**data["baseline"], **levers}
        else:
            for lever, value in levers.items():
                entries = value.items() if isinstance(value, Mapping) else [(None, value)]
                for country, v in entries:
                    data["changes"].append(
                        {
                            "date": effective,
                            "lever": lever,
                            "value": v,
                            "country": country,
                            "note": "override",
                        }
                    )
        try:
            return Scenario.model_validate(data)
        except ValidationError as exc:
            raise ScenarioError(f"scenario {self.name!r} (overrides)", _problems(exc)) from None


# -- loading ---------------------------------------------------------------------------------------


def _path_text(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


_FIELDS = {
    "changes": tuple(LeverChange.model_fields),
    "": tuple(Scenario.model_fields),
}


def _problems(exc: ValidationError) -> list[str]:
    """One line per problem, each starting with its field path."""
    lines: list[str] = []
    for e in exc.errors(include_url=False):
        ctx = e.get("ctx") or {}
        if "items" in ctx:
            lines.extend(f"{p}: {m}" for p, m in ctx["items"])
            continue
        path = _path_text(e["loc"])
        msg = ctx.get("message") or e["msg"]
        if e["type"] == "extra_forbidden":
            where = "changes" if e["loc"] and e["loc"][0] == "changes" else ""
            msg = f"unknown key; allowed keys: {', '.join(_FIELDS[where])}"
        elif e["type"] == "missing":
            msg = "required key missing"
        elif "message" not in ctx:
            msg = f"{msg} (got {_show(e.get('input'))})"
        lines.append(f"{path}: {msg}")
    return lines


def _scenario_dir() -> Any:
    return resources.files("sahelsim.resources").joinpath("scenarios")


def list_scenarios() -> list[str]:
    """Names of the shipped scenarios (the ``*.toml`` files of ``model/scenarios``), sorted."""
    return sorted(
        p.name[: -len(".toml")] for p in _scenario_dir().iterdir() if p.name.endswith(".toml")
    )


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Load and validate a shipped scenario by name, or any scenario file by path.

    A string without a path separator and without the ``.toml`` suffix is a shipped scenario
    name. Raises :class:`ScenarioError` naming the file and listing every problem.
    """
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or "/" in text or "\\" in text or text.endswith(".toml"):
        path = Path(name_or_path)
        where = str(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ScenarioError(where, [f"cannot read the file: {exc.strerror or exc}"]) from None
    else:
        names = list_scenarios()
        if text not in names:
            raise ScenarioError(text, [f"no shipped scenario {text!r}; available: {names}"])
        ref = _scenario_dir().joinpath(f"{text}.toml")
        where = str(ref)
        data = ref.read_bytes()
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ScenarioError(where, [f"not UTF-8 text: {exc}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(where, [f"not valid TOML: {exc}"]) from None
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as exc:
        raise ScenarioError(where, _problems(exc)) from None
    log.debug(
        "loaded scenario %r from %s (%d changes)", scenario.name, where, len(scenario.changes)
    )
    return scenario

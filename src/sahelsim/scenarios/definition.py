"""The scenario data model: :class:`Scenario` (a baseline plus dated :class:`LeverChange` s),
validated by pydantic with messages that name the field, and its evaluation into lever series
(semantics: :mod:`sahelsim.scenarios.scenario`)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

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

from sahelsim.core.canon import ARTICLE_SECTIONS, CORE_ISO3
from sahelsim.core.errors import SahelsimError
from sahelsim.scenarios.levers import (
    _COUNTRY_INDEX,
    FLAG_LEVERS,
    LEVER_SPECS,
    NUMERIC_LEVERS,
    Scalar,
    _check_country,
    _check_date,
    _check_lever,
    _check_value,
    _default_column,
    _err,
    _fmt,
    _month_of,
    _show,
)

#: A scenario name: output files are named after it, so only these characters (no separator,
#: no newline, no markup), matched in full.
NAME_RE = re.compile(r"[a-z0-9_-]{1,64}")
NAME_RULE = "use 1 to 64 characters of a-z, 0-9, '_' and '-'"


def name_problem(value: Any) -> str | None:
    """Why ``value`` is not a scenario name, or None when it is one."""
    if isinstance(value, str) and NAME_RE.fullmatch(value):
        return None
    return f"{_show(value)} is not a scenario name: {NAME_RULE}"


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
        problem = name_problem(v)
        if problem:
            raise _err(problem)
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


def check_name(name: Any) -> str:
    """``name`` when it is a valid scenario name (:data:`NAME_RE`), else a
    :class:`ScenarioError` naming the field."""
    problem = name_problem(name)
    if problem:
        raise ScenarioError("scenario", [f"name: {problem}"])
    return name

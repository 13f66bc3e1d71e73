"""The pattern table: declarative entries of ``resources/patterns.toml``, checked on load.

Each ``[[pattern]]`` names what is measured (in plain words), the source of the observed
pattern and its definition, the years, the measure function (a name in
:data:`sahelsim.validation.measures.MEASURES`) and one ``[[pattern.unit]]`` per country, region
or scenario with its target range (``low``/``high``, either may be absent) and ``tolerance``.
A unit without any bound is *reported*, not tested.
"""

from __future__ import annotations

import importlib.resources
import tomllib
from collections.abc import Collection
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

PATTERN_FILE = "patterns.toml"


class PatternError(ValueError):
    """A malformed pattern table; the message names the file, the entry and the field."""


class Unit(BaseModel):
    """One row of the scorecard: a country, region or scenario and its target."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    unit: str = Field(min_length=1)
    name: str = Field(min_length=1, description="what people read: 'Burkina Faso'")
    low: float | None = None
    high: float | None = None
    tolerance: float = Field(default=0.0, ge=0.0)
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _ordered(self) -> Unit:
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"low {self.low} is above high {self.high}")
        return self

    @property
    def reported(self) -> bool:
        return self.low is None and self.high is None

    def target_text(self, display: str = "number") -> str:
        """The target range as people read it (``display``: number, percent or year)."""
        if self.reported:
            return ""
        lo, hi = (None if v is None else _num(v, display) for v in (self.low, self.high))
        if lo is not None and hi is not None:
            if display == "percent" and self.high == 1.0:
                return f">= {lo}"
            return lo if lo == hi else f"{lo}–{hi}"
        return f">= {lo}" if lo is not None else f"<= {hi}"

    def passes(self, value: float) -> bool:
        lo = -float("inf") if self.low is None else self.low - self.tolerance
        hi = float("inf") if self.high is None else self.high + self.tolerance
        return lo <= value <= hi


class Pattern(BaseModel):
    """One pattern (pattern-oriented modelling, Grimm et al. 2005)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^P\d+[a-z]?$")
    title: str = Field(min_length=1)
    measures: str = Field(min_length=1, description="what is measured, in plain words")
    source: str = Field(min_length=1)
    definition: str = Field(min_length=1)
    measure: str = Field(min_length=1, description="function name in measures.MEASURES")
    years: tuple[int, int]
    display: Literal["number", "percent", "year"] = "number"
    params: dict[str, Any] = Field(default_factory=dict)
    unit: list[Unit] = Field(min_length=1)

    @model_validator(mode="after")
    def _years(self) -> Pattern:
        if not 1989 <= self.years[0] <= self.years[1] <= 2100:
            raise ValueError(f"years {list(self.years)} must be increasing within 1989..2100")
        return self


def _num(x: float, display: str = "number") -> str:
    return f"{100 * x:g} %" if display == "percent" else f"{x:g}"


def _location(err: Any) -> str:
    loc = ".".join(str(p) for p in err.get("loc", ()))
    return loc or "(entry)"


def parse_patterns(
    doc: dict[str, Any], *, file: str = PATTERN_FILE, measures: Collection[str] = ()
) -> list[Pattern]:
    """Validate a parsed pattern table; errors name the file, entry (id or index) and field.
    ``measures``: the known measure function names (not checked when empty)."""
    entries = doc.get("pattern")
    if not isinstance(entries, list) or not entries:
        raise PatternError(f"{file}: no [[pattern]] entries")
    out: list[Pattern] = []
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        name = entry.get("id", f"#{i + 1}") if isinstance(entry, dict) else f"#{i + 1}"
        try:
            p = Pattern.model_validate(entry)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise PatternError(
                f"{file}: pattern {name!s}: field {_location(first)}: {first['msg']}"
            ) from exc
        if p.id in seen:
            raise PatternError(f"{file}: pattern {p.id}: field id: duplicated")
        if measures and p.measure not in measures:
            raise PatternError(
                f"{file}: pattern {p.id}: field measure: unknown function {p.measure!r}; "
                f"choose from {sorted(measures)}"
            )
        seen.add(p.id)
        out.append(p)
    return out


def load_patterns(
    path: str | Path | None = None, *, measures: Collection[str] = ()
) -> list[Pattern]:
    """The shipped pattern table (or the file at ``path``), checked against ``measures``."""
    if path is None:
        text = (
            importlib.resources.files("sahelsim.resources")
            .joinpath(PATTERN_FILE)
            .read_text(encoding="utf-8")
        )
        file = f"sahelsim/resources/{PATTERN_FILE}"
    else:
        text = Path(path).read_text(encoding="utf-8")
        file = str(path)
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PatternError(f"{file}: not valid TOML: {exc}") from exc
    return parse_patterns(doc, file=file, measures=measures)

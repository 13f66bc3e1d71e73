"""Scenarios: declarative TOML files of policy levers (a baseline plus dated changes).

MODEL.md section 4. A scenario names the levers the engine reads (:data:`LEVER_SPECS`), sets
some of them in a ``baseline`` and changes them at dated months (``[[changes]]``), each change
optionally ramped linearly over ``ramp_months``. The shipped files live next to this module in
``resources/scenarios/*.toml``; each paraphrases one passage of the seed article ("Three Futures",
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

import logging
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sahelsim.core.canon import ARTICLE_SECTIONS
from sahelsim.core.config import parse_toml
from sahelsim.scenarios.definition import (
    LeverChange,
    Scenario,
    ScenarioError,
    _problems,
    check_name,
)
from sahelsim.scenarios.levers import (
    DEFAULT_LEVERS,
    FLAG_LEVERS,
    LEVER_SPECS,
    NUMERIC_LEVERS,
    LeverSpec,
    _show,
    default_at,
)

log = logging.getLogger(__name__)

#: Largest scenario file read (bytes): the shipped ones are a few kB; a larger file is refused
#: before it is parsed (a description of megabytes is not a scenario).
MAX_BYTES = 1_000_000

__all__ = [
    "ARTICLE_SECTIONS",
    "DEFAULT_LEVERS",
    "FLAG_LEVERS",
    "LEVER_SPECS",
    "NUMERIC_LEVERS",
    "LeverChange",
    "LeverSpec",
    "Scenario",
    "ScenarioError",
    "check_name",
    "default_at",
    "list_scenarios",
    "load_scenario",
]


def _scenario_dir() -> Any:
    return resources.files("sahelsim.resources").joinpath("scenarios")


def list_scenarios() -> list[str]:
    """Names of the shipped scenarios (the ``*.toml`` files of ``resources/scenarios``), sorted."""
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
        data = _read_capped(path, where)
    else:
        names = list_scenarios()
        if text not in names:
            raise ScenarioError(text, [f"no shipped scenario {_show(text)}; available: {names}"])
        ref = _scenario_dir().joinpath(f"{text}.toml")
        where = str(ref)
        data = ref.read_bytes()
    too_deep = [f"nested too deeply (tables or arrays more than {MAX_DEPTH} levels inside each"
                " other): not a scenario"]  # fmt: skip
    try:
        raw = parse_toml(data, where, ScenarioError)
        if _depth(raw) > MAX_DEPTH:
            raise ScenarioError(where, too_deep)
        scenario = Scenario.model_validate(raw)
    except ValidationError as exc:
        raise ScenarioError(where, _problems(exc)) from None
    except RecursionError:  # the parser itself gave up
        raise ScenarioError(where, too_deep) from None
    log.debug(
        "loaded scenario %r from %s (%d changes)", scenario.name, where, len(scenario.changes)
    )
    return scenario


#: Deepest nesting of tables and arrays a scenario may have (the shipped ones use 3).
MAX_DEPTH = 16


def _depth(value: object) -> int:
    """Nesting depth of parsed TOML (iterative: a hostile file cannot exhaust the stack)."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        v, d = stack.pop()
        deepest = max(deepest, d)
        if isinstance(v, dict):
            stack.extend((x, d + 1) for x in v.values())
        elif isinstance(v, list):
            stack.extend((x, d + 1) for x in v)
    return deepest


def _read_capped(path: Path, where: str) -> bytes:
    """The bytes of a scenario file, refused when it is larger than :data:`MAX_BYTES`."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ScenarioError(where, [f"cannot read the file: {exc.strerror or exc}"]) from None
    if len(data) > MAX_BYTES:
        raise ScenarioError(where, [f"file is larger than {MAX_BYTES:,} bytes: not a scenario"])
    return data

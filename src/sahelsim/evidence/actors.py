"""Map raw actor names from UCDP and ACLED to the model's actors.

The map lives in ``sahelsim/resources/actors.toml`` (see the header of that file): a list of model
actors (``id``, ``class``, ``side``, ``parent``) and an *ordered* list of regex rules. A raw name
is normalised (accents dropped, curly quotes straightened, whitespace collapsed) and classified
by the first rule whose pattern matches; names no rule matches get the actor ``"unmatched"`` and
are kept, never dropped, so an analyst can see what the map does not cover.

Why this matters for the model (article section "The Jihadist Adaptation"): JNIM is a coalition
whose components keep their own identities, so component names map to component actors with
``parent = "jnim"``; aggregating to the parent is a choice left to the caller.

UCDP names: dyads are written ``"side A - side B"``; co-belligerents on one side are joined by
``", "`` and the dyads of a country-year cell by ``"; "`` (checked on the UCDP country-year
v25.1 file: ``"GATIA, MSA - IS; IS - JNIM"``). A few UCDP actor names contain ``" - "`` themselves
(``"MFDC - S"``, ``"GIA - El Ahd Battalion"``); :func:`sahelsim.evidence.dyads.split_dyad`
handles them.
"""

from __future__ import annotations

import functools
import logging
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sahelsim.core.canon import COUNTRIES
from sahelsim.core.errors import InputFormatError

log = logging.getLogger(__name__)

ActorClass = Literal[
    "jihadist",
    "state",
    "russia",
    "state_aligned_militia",
    "armed_group",
    "external",
    "civilians",
    "unknown",
]
Side = Literal["insurgent", "government_side", "other", "civilian"]

#: Allowed values of an actor's ``class`` and ``side``.
ACTOR_CLASSES: tuple[str, ...] = get_args(ActorClass)
SIDES: tuple[str, ...] = get_args(Side)
#: Actor, class and side given to a name that no rule matches.
UNMATCHED = "unmatched"
#: Columns of :meth:`ActorMap.classify`.
CLASSIFY_COLUMNS = ("raw_name", "actor", "actor_class", "side", "parent")

_RESOURCE = ("actors.toml",)
_ISO3 = frozenset(c.iso3 for c in COUNTRIES) | {"AES"}
_DEF_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


# -- normalisation ---------------------------------------------------------------------------------

_QUOTES = str.maketrans(
    {
        "\u2019": "'",
        "\u2018": "'",
        "\u02bc": "'",
        "`": "'",
        "\u2013": "-",
        "\u2014": "-",
        "\u00a0": " ",
    }
)


def normalise_name(name: object) -> str:
    """The form of a raw name that patterns are matched against.

    Unicode NFKD with combining marks dropped (``"Libération"`` -> ``"Liberation"``), curly
    quotes and dashes straightened, runs of whitespace collapsed to one space, trimmed. Case is
    kept (patterns are matched case-insensitively).
    """
    text = str(name).translate(_QUOTES)
    text = "".join(
        ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch)
    )
    return " ".join(text.split())


def is_missing(value: object) -> bool:
    if value is None or value is pd.NA:
        return True
    if isinstance(value, float) and np.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


# -- validated file layout -------------------------------------------------------------------------


class _ActorSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    actor_class: ActorClass = Field(alias="class")
    side: Side
    parent: str | None = None
    country: list[str] = Field(default_factory=list)
    label: str = Field(min_length=3)
    note: str | None = None

    @field_validator("country", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @field_validator("country")
    @classmethod
    def _known_iso3(cls, v: list[str]) -> list[str]:
        bad = [c for c in v if c not in _ISO3]
        if bad:
            raise ValueError(f"unknown ISO3 code(s) {bad}; allowed: {sorted(_ISO3)}")
        return v


class _RuleSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    actor: str
    pattern: str = Field(min_length=1)
    sources: list[str] = Field(min_length=1)
    note: str | None = None
    examples: list[str] = Field(default_factory=list)


class _MapSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1]
    description: str | None = None
    defs: dict[str, str] = Field(default_factory=dict)
    actor: list[_ActorSpec] = Field(min_length=1)
    rule: list[_RuleSpec] = Field(min_length=1)


# -- the map ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    """One model actor."""

    id: str
    actor_class: str
    side: str
    parent: str | None
    country: tuple[str, ...]
    label: str
    note: str | None = None


@dataclass(frozen=True)
class Rule:
    """One matching rule: ``pattern`` (after ``${def}`` substitution) -> ``actor``."""

    index: int
    actor: str
    pattern: str
    regex: re.Pattern[str]
    sources: tuple[str, ...]
    note: str | None = None


@dataclass(frozen=True)
class ActorMap:
    """Ordered rules from raw actor names to model actors. Build it with :func:`load_actor_map`."""

    actors: dict[str, Actor]
    rules: tuple[Rule, ...]
    path: str
    _cache: dict[str, Rule | None] = field(default_factory=dict, repr=False, compare=False)

    # single names -------------------------------------------------------------------------------
    def rule_for(self, name: object) -> Rule | None:
        """The first rule matching ``name``; ``None`` if none does (or the name is missing)."""
        if is_missing(name):
            return None
        return self._rule_for_normalised(normalise_name(name))

    def match(self, name: object) -> str | None:
        """Model actor id of one raw name, ``"unmatched"``, or ``None`` for a missing name."""
        if is_missing(name):
            return None
        rule = self.rule_for(name)
        return UNMATCHED if rule is None else rule.actor

    def _rule_for_normalised(self, key: str) -> Rule | None:
        try:
            return self._cache[key]
        except KeyError:
            hit = self._cache[key] = _first_rule(self.rules, key)
            return hit

    # many names ---------------------------------------------------------------------------------
    def classify(self, names: Sequence[str] | np.ndarray | pd.Series) -> pd.DataFrame:
        """Classify raw names; one output row per input name, in input order.

        Columns: ``raw_name`` (as given), ``actor``, ``actor_class``, ``side``, ``parent``.
        Each distinct name is matched once. Names no rule matches get ``"unmatched"`` in
        ``actor``, ``actor_class`` and ``side``; missing or blank names get missing values in
        all four. The index is the input's index when ``names`` is a Series, else 0..n-1.

        Comma-joined UCDP side lists (``"GATIA, MSA"``) are single strings to this method and
        only their first actor would match: split them with
        :func:`sahelsim.evidence.dyads.classify_ucdp_dyads`.
        """
        series = as_series(names)
        values = series.to_numpy(dtype=object)
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        n_u = len(uniques)
        actor = np.empty(n_u + 1, dtype=object)
        klass = np.empty(n_u + 1, dtype=object)
        side = np.empty(n_u + 1, dtype=object)
        parent = np.empty(n_u + 1, dtype=object)
        for i, u in enumerate(uniques):
            a = self.match(u)
            actor[i] = a
            if a is None:
                klass[i] = side[i] = parent[i] = None
            elif a == UNMATCHED:
                klass[i] = side[i] = UNMATCHED
                parent[i] = None
            else:
                spec = self.actors[a]
                klass[i], side[i], parent[i] = spec.actor_class, spec.side, spec.parent
        actor[n_u] = klass[n_u] = side[n_u] = parent[n_u] = None  # slot for missing names
        take = np.where(codes < 0, n_u, codes)
        out = pd.DataFrame(
            {
                "raw_name": values,
                "actor": actor[take],
                "actor_class": klass[take],
                "side": side[take],
                "parent": parent[take],
            },
            index=series.index,
        )
        n_un = int((out["actor"] == UNMATCHED).sum())
        if n_un:
            log.debug("%d of %d names match no actor rule", n_un, len(out))
        return out

    def unmatched(self, names: Sequence[str] | np.ndarray | pd.Series) -> list[str]:
        """Sorted distinct raw names that no rule matches (missing names are ignored)."""
        values = pd.unique(as_series(names).to_numpy(dtype=object))
        return sorted(str(v) for v in values if not is_missing(v) and self.match(v) == UNMATCHED)

    # tables -------------------------------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """The rules as a table for the store, in matching order.

        Columns: ``rule`` (0-based order), ``pattern``, ``actor``, ``class``, ``side``,
        ``parent``, ``source`` (sources joined by ``" | "``), ``note``.
        """
        rows = []
        for r in self.rules:
            a = self.actors[r.actor]
            rows.append(
                {
                    "rule": r.index,
                    "pattern": r.pattern,
                    "actor": r.actor,
                    "class": a.actor_class,
                    "side": a.side,
                    "parent": a.parent,
                    "source": " | ".join(r.sources),
                    "note": r.note,
                }
            )
        return pd.DataFrame(rows)

    def actors_frame(self) -> pd.DataFrame:
        """The model actors: ``id``, ``actor_class``, ``side``, ``parent``, ``country``,
        ``label``."""
        return pd.DataFrame(
            [
                {
                    "id": a.id,
                    "actor_class": a.actor_class,
                    "side": a.side,
                    "parent": a.parent,
                    "country": ",".join(a.country),
                    "label": a.label,
                }
                for a in self.actors.values()
            ]
        )


def _first_rule(rules: tuple[Rule, ...], key: str) -> Rule | None:
    for rule in rules:
        if rule.regex.search(key):
            return rule
    return None


def as_series(names: Sequence[str] | np.ndarray | pd.Series | Iterable[str]) -> pd.Series:
    if isinstance(names, pd.Series):
        return names
    if isinstance(names, str):
        raise TypeError("expected a sequence of names, got a single string")
    return pd.Series(np.asarray(list(names), dtype=object), dtype=object)


# -- loading ---------------------------------------------------------------------------------------


def _read_bytes(path: str | Path | None) -> tuple[bytes, str]:
    if path is None:
        ref = resources.files("sahelsim.resources").joinpath(*_RESOURCE)
        return ref.read_bytes(), str(ref)
    p = Path(path)
    try:
        return p.read_bytes(), str(p)
    except OSError as exc:
        raise InputFormatError(str(p), f"cannot read the actor map: {exc}") from exc


def _entry_name(raw: dict[str, Any], loc: tuple[Any, ...]) -> tuple[str, str | None]:
    """Human name of the TOML entry a pydantic error location points at, and the field."""
    if len(loc) >= 2 and loc[0] in ("actor", "rule") and isinstance(loc[1], int):
        kind, i = loc[0], loc[1]
        try:
            item = raw[kind][i]
        except (KeyError, IndexError, TypeError):
            item = {}
        if kind == "actor":
            what = f"[[actor]] #{i + 1} (id={item.get('id')!r})"
        else:
            what = (
                f"[[rule]] #{i + 1} (actor={item.get('actor')!r}, pattern={item.get('pattern')!r})"
            )
        fld = ".".join(str(x) for x in loc[2:]) or None
        return what, fld
    return "top level", ".".join(str(x) for x in loc) or None


def load_actor_map(path: str | Path | None = None) -> ActorMap:
    """Load and validate an actor map (default: the packaged ``resources/actors.toml``).

    Raises :class:`~sahelsim.errors.InputFormatError` naming the file, the entry and the field
    for: TOML syntax errors, unknown ``class``/``side``, duplicate actor ids, unknown parents or
    rule actors, undefined ``${def}`` references, regexes that do not compile, and rule
    ``examples`` that the ordered rules classify as another actor (a specific pattern placed
    after a general one).
    """
    if path is None:
        return _default_map()
    return _load(path)


@functools.lru_cache(maxsize=1)
def _default_map() -> ActorMap:
    return _load(None)


def _load(path: str | Path | None) -> ActorMap:
    data, where = _read_bytes(path)
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InputFormatError(where, f"not UTF-8 text: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InputFormatError(where, f"invalid TOML: {exc}") from exc
    try:
        spec = _MapSpec.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        what, fld = _entry_name(raw, tuple(first["loc"]))
        more = f" (and {exc.error_count() - 1} more error(s))" if exc.error_count() > 1 else ""
        raise InputFormatError(where, f"{what}: {first['msg']}{more}", field=fld) from exc

    actors: dict[str, Actor] = {}
    for i, a in enumerate(spec.actor):
        label = f"[[actor]] #{i + 1} (id={a.id!r})"
        if a.id == UNMATCHED:
            raise InputFormatError(where, f"{label}: the id {UNMATCHED!r} is reserved", field="id")
        if a.id in actors:
            raise InputFormatError(where, f"{label}: duplicate actor id {a.id!r}", field="id")
        actors[a.id] = Actor(
            a.id, a.actor_class, a.side, a.parent, tuple(a.country), a.label, a.note
        )
    for i, a in enumerate(spec.actor):
        if a.parent is not None and (a.parent not in actors or a.parent == a.id):
            raise InputFormatError(
                where,
                f"[[actor]] #{i + 1} (id={a.id!r}): parent {a.parent!r} is not another actor id",
                field="parent",
            )

    rules: list[Rule] = []
    for i, r in enumerate(spec.rule):
        label = f"[[rule]] #{i + 1} (actor={r.actor!r}, pattern={r.pattern!r})"
        if r.actor not in actors:
            raise InputFormatError(where, f"{label}: unknown actor {r.actor!r}", field="actor")
        missing = [m for m in _DEF_REF.findall(r.pattern) if m not in spec.defs]
        if missing:
            raise InputFormatError(
                where, f"{label}: undefined [defs] entry {missing[0]!r}", field="pattern"
            )
        pattern = _DEF_REF.sub(lambda m: spec.defs[m.group(1)], r.pattern)
        try:
            regex = re.compile(pattern, re.IGNORECASE)
        except re.error as exc:
            raise InputFormatError(
                where, f"{label}: bad regular expression: {exc}", field="pattern"
            ) from exc
        rules.append(Rule(i, r.actor, pattern, regex, tuple(r.sources), r.note))
    rule_tuple = tuple(rules)

    for i, r in enumerate(spec.rule):
        for ex in r.examples:
            hit = _first_rule(rule_tuple, normalise_name(ex))
            if hit is None or hit.actor != r.actor:
                why = (
                    "matches no rule (fix the pattern)"
                    if hit is None
                    else f"is classified by [[rule]] #{hit.index + 1} as {hit.actor!r}; put the"
                    " more specific pattern first"
                )
                raise InputFormatError(
                    where,
                    f"[[rule]] #{i + 1} (actor={r.actor!r}, pattern={r.pattern!r}): example"
                    f" {ex!r} {why}",
                    field="examples",
                )
    unused = sorted(set(actors) - {r.actor for r in rule_tuple})
    if unused:
        log.warning("%s: actor(s) without any rule: %s", where, ", ".join(unused))
    log.debug("loaded %d actors and %d rules from %s", len(actors), len(rule_tuple), where)
    return ActorMap(actors=actors, rules=rule_tuple, path=where)

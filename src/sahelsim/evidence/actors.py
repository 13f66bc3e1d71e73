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
(``"MFDC - S"``, ``"GIA - El Ahd Battalion"``); :func:`split_dyad` handles them.
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

#: UCDP actor names that contain the dyad separator " - " themselves (UCDP actor list v22.1).
UCDP_HYPHENATED_NAMES: tuple[str, ...] = (
    "GIA - El Ahd Battalion",
    "GIA - El Forkane",
    "GIA - El Khadra Battalion",
    "MFDC - FN",
    "MFDC Front Nord - MD",
    "MFDC - S",
    "FN - IC",
    "ULIMO - K",
)
_NO_DYAD = {"", "no_dyad", "nan", "none"}
_DYAD_SEP = re.compile(r"\s+-\s+")
_LIST_SEP = re.compile(r"\s*;\s*")
_MEMBER_SEP = re.compile(r"\s*,\s*")


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


def _is_missing(value: object) -> bool:
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
        if _is_missing(name):
            return None
        return self._rule_for_normalised(normalise_name(name))

    def match(self, name: object) -> str | None:
        """Model actor id of one raw name, ``"unmatched"``, or ``None`` for a missing name."""
        if _is_missing(name):
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
        only their first actor would match: split them with :func:`classify_ucdp_dyads`.
        """
        series = _as_series(names)
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
        values = pd.unique(_as_series(names).to_numpy(dtype=object))
        return sorted(str(v) for v in values if not _is_missing(v) and self.match(v) == UNMATCHED)

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


def _as_series(names: Sequence[str] | np.ndarray | pd.Series | Iterable[str]) -> pd.Series:
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


# -- UCDP dyads ------------------------------------------------------------------------------------


def _norm_key(text: str) -> str:
    return normalise_name(text).casefold()


_KNOWN_HYPHENATED = frozenset(_norm_key(n) for n in UCDP_HYPHENATED_NAMES)


def split_side(side: str) -> list[str]:
    """Actors of one dyad side: UCDP joins co-belligerents with ``", "`` (``"GATIA, MSA"``)."""
    return [m for m in _MEMBER_SEP.split(side.strip()) if m]


def split_dyad(name: str, known: Iterable[str] | None = None) -> tuple[str, str]:
    """Split a UCDP dyad name ``"side A - side B"`` into its two sides.

    The separator is a hyphen with white space on both sides; hyphens inside names
    (``"CM-FPR"``, ``"Signed-in-Blood Battalion"``, ``"Ikot-Offiong"``) never split. When a
    name has several separators, the split is chosen so that no side contains a ``" - "`` that
    is not part of a known actor name (:data:`UCDP_HYPHENATED_NAMES` plus ``known``), e.g.
    ``"MFDC Front Nord - MD - MFDC - S"`` -> ``("MFDC Front Nord - MD", "MFDC - S")``. If that
    leaves several choices or none, a split leaving ``"Civilians"`` on side B is preferred, then
    the first separator (with a warning in the log).

    Each side may still list several actors joined by ``", "``: see :func:`split_side`.
    ``"NO_DYAD"`` (UCDP's filler) and blanks give ``("", "")``; any other text without a
    separator raises ``ValueError``.
    """
    text = str(name).strip()
    if text.casefold() in _NO_DYAD:
        return "", ""
    seps = list(_DYAD_SEP.finditer(text))
    if not seps:
        raise ValueError(f"not a UCDP dyad name (no ' - ' separator): {name!r}")
    if len(seps) == 1:
        m = seps[0]
        return text[: m.start()].strip(), text[m.end() :].strip()
    known_keys = set(_KNOWN_HYPHENATED)
    if known is not None:
        known_keys |= {_norm_key(k) for k in known if _DYAD_SEP.search(str(k))}

    def side_ok(side: str) -> bool:
        return all(not _DYAD_SEP.search(m) or _norm_key(m) in known_keys for m in split_side(side))

    cands = [(text[: m.start()].strip(), text[m.end() :].strip()) for m in seps]
    valid = [c for c in cands if side_ok(c[0]) and side_ok(c[1])]
    if len(valid) == 1:
        return valid[0]
    pool = valid or cands
    civ = [c for c in pool if c[1].casefold() == "civilians"]
    choice = civ[0] if civ else pool[0]
    log.warning("ambiguous UCDP dyad name %r: split as %r", text, choice)
    return choice


def ucdp_dyad_actor_names(cells: Iterable[object]) -> list[str]:
    """Sorted distinct single actor names in UCDP dyad-name cells (``"A - B; C, D - E"``)."""
    names: set[str] = set()
    for cell in cells:
        if _is_missing(cell):
            continue
        for dyad in _LIST_SEP.split(str(cell)):
            a, b = split_dyad(dyad)
            names.update(split_side(a))
            names.update(split_side(b))
    names.discard("")
    return sorted(names)


def classify_ucdp_dyads(
    cells: Sequence[str] | np.ndarray | pd.Series, *, actor_map: ActorMap | None = None
) -> pd.DataFrame:
    """Explode UCDP dyad-name cells into one row per actor and classify each actor.

    ``cells`` are values of ``sb_/ns_/os_dyad_names_cy`` (or GED ``dyad_name``): dyads joined by
    ``"; "``, sides by ``" - "``, co-belligerents by ``", "``. ``"NO_DYAD"`` and missing cells
    give no rows. Columns: ``cell`` (index label of the input cell), ``dyad_no`` (0-based within
    the cell), ``dyad``, ``dyad_side`` (``"a"``/``"b"``), ``member_no``, then the columns of
    :meth:`ActorMap.classify`.
    """
    amap = actor_map or load_actor_map()
    series = _as_series(cells)
    rows: list[tuple[Any, int, str, str, int, str]] = []
    for label, cell in series.items():
        if _is_missing(cell):
            continue
        dyads = [d for d in _LIST_SEP.split(str(cell).strip()) if d.strip()]
        for k, dyad in enumerate(dyads):
            a, b = split_dyad(dyad)
            if not a and not b:
                continue
            for side_name, side in (("a", a), ("b", b)):
                for j, member in enumerate(split_side(side)):
                    rows.append((label, k, dyad.strip(), side_name, j, member))
    cols = ["cell", "dyad_no", "dyad", "dyad_side", "member_no", "raw_name"]
    frame = pd.DataFrame(rows, columns=cols)
    cls = amap.classify(frame["raw_name"])
    return pd.concat([frame, cls.drop(columns="raw_name")], axis=1)


# -- perpetrators ----------------------------------------------------------------------------------


def perpetrator_class(
    side_a: Sequence[str] | np.ndarray | pd.Series,
    side_b: Sequence[str] | np.ndarray | pd.Series,
    type_of_violence: Sequence[int] | np.ndarray | pd.Series,
    *,
    actor_map: ActorMap | None = None,
) -> pd.Series:
    """Perpetrator class per event (vectorised).

    One-sided violence (``type_of_violence == 3``): the class of side A, the perpetrator in
    UCDP; if side A is the civilians (ACLED-style ordering) the class of side B. State-based
    and non-state violence (1, 2): the pair of classes, sorted and joined by ``" vs "``
    (``"jihadist vs state"``), so the order of the sides does not matter. Names no rule matches
    count as class ``"unmatched"``, missing names as ``"none"``. The result is a Series named
    ``perpetrator`` with the index of ``side_a`` when it is a Series.
    """
    amap = actor_map or load_actor_map()
    sa, sb = _as_series(side_a), _as_series(side_b)
    tov = np.asarray(type_of_violence)
    if not (len(sa) == len(sb) == len(tov)):
        raise ValueError(
            f"lengths differ: side_a {len(sa)}, side_b {len(sb)}, type_of_violence {len(tov)}"
        )
    ca = amap.classify(sa)["actor_class"].to_numpy(dtype=object)
    cb = amap.classify(sb)["actor_class"].to_numpy(dtype=object)
    ca = np.where(pd.isna(ca), "none", ca).astype(object)
    cb = np.where(pd.isna(cb), "none", cb).astype(object)
    one_sided = np.where(ca == "civilians", cb, ca)
    lo = np.where(ca <= cb, ca, cb)
    hi = np.where(ca <= cb, cb, ca)
    pair = (pd.Series(lo, dtype=object) + " vs " + pd.Series(hi, dtype=object)).to_numpy(object)
    out = np.where(tov == 3, one_sided, pair)
    index = sa.index if isinstance(side_a, pd.Series) else None
    return pd.Series(out, index=index, name="perpetrator", dtype=object)

"""The dated institutional timeline and before/after comparisons around its events.

The timeline (``sahelsim/resources/timeline.toml``) lists coups, French and UN withdrawals, sanctions,
the AES charter and confederation, the ECOWAS exit, Russian deployments and the mass-atrocity
events the article cites. It drives the model's schedule of institutions (MODEL.md 3.1; article
sections "Sovereignty as Strategy" and "Fragmentation's Feedback Loops": the removal of external
constraints) and gives dates for the claims audit.

Before/after comparisons around the events: :func:`compare_around` (the statistics are in
:mod:`sahelsim.evidence.before_after`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import re
import tomllib
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sahelsim.core.canon import ARTICLE_SECTIONS, CORE_ISO3, COUNTRIES, month_id
from sahelsim.core.errors import InputFormatError
from sahelsim.evidence.before_after import BeforeAfter, before_after

__all__ = [
    "ARTICLE_SECTIONS", "EFFECT_TAGS", "EVENT_KINDS", "TIMELINE_COLUMNS", "BeforeAfter",
    "before_after", "compare_around", "events_between", "load_timeline", "timeline_effects",
]  # fmt: skip

log = logging.getLogger(__name__)

EventKind = Literal[
    "coup", "withdrawal", "institution", "alliance", "sanctions", "deployment", "massacre", "accord"
]
#: Allowed ``kind`` values.
EVENT_KINDS: tuple[str, ...] = get_args(EventKind)


#: Effect tags an event may carry, with their meaning. The model reads these; a tag not listed
#: here is a load error (typos would otherwise silently do nothing).
EFFECT_TAGS: dict[str, str] = {
    "external_constraint": "change in external accountability presence (partner forces, UN "
    "mission, regional courts): -1 removes one, +1 adds one",
    "french_forces": "+1 French forces deploy, -1 they leave the country",
    "un_mission": "+1 a UN mission deploys, -1 it has left",
    "russian_forces": "+1 Russian state-linked personnel (Wagner, Africa Corps) arrive",
    "regime_change": "1 = the government is overthrown by force",
    "sanctions": "+1 regional (ECOWAS) economic sanctions imposed, -1 lifted",
    "ecowas_exit_notice": "1 = notice of withdrawal from ECOWAS given (one-year notice, Art. 91)",
    "ecowas_member": "-1 = ECOWAS membership ends",
    "g5_member": "-1 = leaves the G5 Sahel and its joint force",
    "aes_alliance": "+1 = the AES mutual-defence pact is in force",
    "aes_confederation": "+1 = the AES confederation treaty is adopted",
    "joint_force_troops": "announced strength of the AES joint force (troops)",
    "peace_accord": "-1 = a peace accord is terminated, +1 signed",
    "mass_atrocity_state": "1 = mass killing of civilians by state-side forces",
    "mass_atrocity_jihadist": "1 = mass killing of civilians by a jihadist group",
}

#: Columns of :func:`load_timeline`.
TIMELINE_COLUMNS = (
    "id",
    "date",
    "date_end",
    "date_precision",
    "month_id",
    "year",
    "iso3",
    "scope",
    "kind",
    "label",
    "effects",
    "article_section",
    "source",
    "note",
)

_RESOURCE = ("timeline.toml",)
_ISO3 = frozenset(c.iso3 for c in COUNTRIES)


def _canon_section(text: str) -> str:
    return text.replace("\u2019", "'").strip()


class _EventSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    date: dt.date
    date_end: dt.date | None = None
    date_precision: Literal["day", "month"] = "day"
    iso3: str | list[str]
    kind: EventKind
    label: str = Field(min_length=3)
    effects: dict[str, float] = Field(default_factory=dict)
    article_section: str | None = None
    source: str = Field(min_length=5)
    note: str | None = None

    @field_validator("date", "date_end", mode="before")
    @classmethod
    def _no_time(cls, v: Any) -> Any:
        if isinstance(v, dt.datetime):
            raise ValueError("give a date without a time of day")
        return v

    @field_validator("iso3")
    @classmethod
    def _known_iso3(cls, v: str | list[str]) -> str | list[str]:
        codes = [v] if isinstance(v, str) else v
        if not codes:
            raise ValueError("empty iso3 list")
        bad = [c for c in codes if c not in _ISO3 and not (c == "AES" and isinstance(v, str))]
        if bad:
            raise ValueError(
                f"unknown ISO3 code(s) {bad}: use codes of sahelsim.canon.COUNTRIES or 'AES'"
            )
        if len(set(codes)) != len(codes):
            raise ValueError(f"repeated ISO3 code in {codes}")
        return v

    @field_validator("effects")
    @classmethod
    def _known_effects(cls, v: dict[str, float]) -> dict[str, float]:
        bad = sorted(set(v) - set(EFFECT_TAGS))
        if bad:
            raise ValueError(f"unknown effect tag(s) {bad}; known: {sorted(EFFECT_TAGS)}")
        if any(not math.isfinite(x) for x in v.values()):
            raise ValueError("effect values must be finite numbers")
        return v

    @field_validator("article_section")
    @classmethod
    def _known_section(cls, v: str | None) -> str | None:
        if v is None:
            return v
        v = _canon_section(v)
        if v not in ARTICLE_SECTIONS:
            raise ValueError(
                f"{v!r} is not a heading of the seed article: {list(ARTICLE_SECTIONS)}"
            )
        return v

    @model_validator(mode="after")
    def _end_after_start(self) -> _EventSpec:
        if self.date_end is not None and self.date_end < self.date:
            raise ValueError(f"date_end {self.date_end} is before date {self.date}")
        return self


class _TimelineSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1]
    event: list[_EventSpec] = Field(min_length=1)


def _read(path: str | Path | None) -> tuple[dict[str, Any], str]:
    if path is None:
        ref = resources.files("sahelsim.resources").joinpath(*_RESOURCE)
        data, where = ref.read_bytes(), str(ref)
    else:
        p = Path(path)
        try:
            data, where = p.read_bytes(), str(p)
        except OSError as exc:
            raise InputFormatError(str(p), f"cannot read the timeline: {exc}") from exc
    try:
        return tomllib.loads(data.decode("utf-8")), where
    except UnicodeDecodeError as exc:
        raise InputFormatError(where, f"not UTF-8 text: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InputFormatError(where, f"invalid TOML: {exc}") from exc


def load_timeline(path: str | Path | None = None, *, expand: bool = True) -> pd.DataFrame:
    """Load and validate the timeline (default: the packaged ``resources/timeline.toml``).

    Returns one row per event and country when ``expand`` (``"AES"`` -> MLI, BFA, NER; a list ->
    each code), else one row per event with the ``iso3`` column holding the ``scope``. Columns:
    ``id``, ``date`` and ``date_end`` (datetime64), ``date_precision``, ``month_id`` (ViEWS,
    via :func:`sahelsim.canon.month_id`), ``year``, ``iso3``, ``scope`` (the entry's own
    ``iso3``: ``"MLI"``, ``"AES"``, ``"BFA,NER"``), ``kind``, ``label``, ``effects`` (JSON text,
    see :func:`timeline_effects`), ``article_section``, ``source``, ``note``. Sorted by date,
    id and iso3.

    Raises :class:`~sahelsim.errors.InputFormatError` naming the file, the event and the field.
    """
    raw, where = _read(path)
    try:
        spec = _TimelineSpec.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        if len(loc) >= 2 and loc[0] == "event" and isinstance(loc[1], int):
            try:
                ev_id = raw["event"][loc[1]].get("id")
            except (KeyError, IndexError, AttributeError, TypeError):
                ev_id = None
            what = f"[[event]] #{loc[1] + 1} (id={ev_id!r})"
            fld = ".".join(str(x) for x in loc[2:]) or None
        else:
            what, fld = "top level", ".".join(str(x) for x in loc) or None
        more = f" (and {exc.error_count() - 1} more error(s))" if exc.error_count() > 1 else ""
        raise InputFormatError(where, f"{what}: {err['msg']}{more}", field=fld) from exc
    seen: set[str] = set()
    rows: list[dict[str, Any]] = []
    for i, ev in enumerate(spec.event):
        if ev.id in seen:
            raise InputFormatError(where, f"[[event]] #{i + 1}: duplicate id {ev.id!r}", field="id")
        seen.add(ev.id)
        if isinstance(ev.iso3, str):
            scope = ev.iso3
            codes = list(CORE_ISO3) if ev.iso3 == "AES" else [ev.iso3]
        else:
            scope, codes = ",".join(ev.iso3), list(ev.iso3)
        if not expand:
            codes = [scope]
        for code in codes:
            rows.append(
                {
                    "id": ev.id,
                    "date": pd.Timestamp(ev.date),
                    "date_end": pd.Timestamp(ev.date_end) if ev.date_end else pd.NaT,
                    "date_precision": ev.date_precision,
                    "month_id": int(month_id(ev.date.year, ev.date.month)),
                    "year": ev.date.year,
                    "iso3": code,
                    "scope": scope,
                    "kind": ev.kind,
                    "label": ev.label,
                    "effects": json.dumps(ev.effects, sort_keys=True),
                    "article_section": ev.article_section,
                    "source": ev.source,
                    "note": ev.note,
                }
            )
    out = pd.DataFrame(rows, columns=list(TIMELINE_COLUMNS))
    out["date"] = pd.to_datetime(out["date"]).astype("datetime64[ns]")
    out["date_end"] = pd.to_datetime(out["date_end"]).astype("datetime64[ns]")
    out["month_id"] = out["month_id"].astype("int64")
    out["year"] = out["year"].astype("int64")
    out = out.sort_values(["date", "id", "iso3"], kind="stable").reset_index(drop=True)
    log.debug("loaded %d timeline events (%d rows) from %s", len(seen), len(out), where)
    return out


def timeline_effects(timeline: pd.DataFrame | None = None) -> pd.DataFrame:
    """Effect tags in long form: ``id``, ``date``, ``month_id``, ``iso3``, ``tag``, ``value``."""
    tl = load_timeline() if timeline is None else timeline
    rows = [
        {
            "id": r.id,
            "date": r.date,
            "month_id": r.month_id,
            "iso3": r.iso3,
            "tag": tag,
            "value": float(val),
        }
        for r in tl.itertuples(index=False)
        for tag, val in json.loads(r.effects).items()
    ]
    return pd.DataFrame(rows, columns=["id", "date", "month_id", "iso3", "tag", "value"])


def events_between(
    start: str | dt.date | pd.Timestamp,
    end: str | dt.date | pd.Timestamp,
    *,
    timeline: pd.DataFrame | None = None,
    kinds: Sequence[str] | None = None,
    iso3: str | Sequence[str] | None = None,
) -> pd.DataFrame:
    """Timeline rows with ``start <= date <= end`` (both inclusive), optionally by kind/country."""
    tl = load_timeline() if timeline is None else timeline
    lo, hi = pd.Timestamp(start), pd.Timestamp(end)
    if hi < lo:
        raise ValueError(f"end {hi.date()} is before start {lo.date()}")
    mask = (tl["date"] >= lo) & (tl["date"] <= hi)
    if kinds is not None:
        unknown = sorted(set(kinds) - set(EVENT_KINDS))
        if unknown:
            raise ValueError(f"unknown event kind(s) {unknown}; known: {list(EVENT_KINDS)}")
        mask &= tl["kind"].isin(list(kinds))
    if iso3 is not None:
        mask &= tl["iso3"].isin([iso3] if isinstance(iso3, str) else list(iso3))
    return tl[mask].reset_index(drop=True)


# -- before / after --------------------------------------------------------------------------------


_MEASURE = re.compile(r"^(?:deaths_|civilian|events$|fatalities)")
_NOT_MEASURE = re.compile(r"(?:_per_|_low$|_high$|_share$)")


def _default_measures(frame: pd.DataFrame) -> list[str]:
    return [
        c
        for c in frame.columns
        if _MEASURE.search(str(c))
        and not _NOT_MEASURE.search(str(c))
        and pd.api.types.is_numeric_dtype(frame[c])
    ]


def compare_around(
    series_frame: pd.DataFrame,
    events: list[str] | None = None,
    window: int | None = 3,
    *,
    timeline: pd.DataFrame | None = None,
    measures: Sequence[str] | None = None,
    period: Literal["year", "month_id"] | None = None,
    exposure: str | None = None,
    by: Sequence[str] | None = None,
    level: float = 0.9,
    keep_empty: bool = False,
) -> pd.DataFrame:
    """Before/after statistics for many events x countries x measures, as a tidy table.

    ``series_frame``: one row per country and period with an ``iso3`` column, a period column
    (``period``; default ``month_id`` if present, else ``year``) and count columns. ``events``:
    timeline ids (None = all). ``measures``: count columns (default: ``deaths_*``,
    ``civilian*``, ``events``, ``fatalities*`` columns, without ``*_per_*``, ``*_low`` and
    ``*_high``). ``exposure``: optional column of exposures (e.g. ``population``). ``by``:
    extra grouping columns (default ``["source"]`` when the frame has one, so sources are never
    mixed). Each event is placed in its own period (its year or month_id), which is excluded;
    ``window`` periods on each side are compared (see :func:`before_after`).

    Rows are kept only when both sides have at least one period, unless ``keep_empty``.
    Columns: ``event_id``, ``kind``, ``date``, ``label``, ``iso3``, the ``by`` columns,
    ``measure``, ``period``, then the fields of :class:`BeforeAfter`.
    """
    tl = load_timeline() if timeline is None else timeline
    if events is not None:
        unknown = sorted(set(events) - set(tl["id"]))
        if unknown:
            raise KeyError(f"unknown timeline event id(s): {unknown}")
        tl = tl[tl["id"].isin(events)]
    if "iso3" not in series_frame.columns:
        raise ValueError("series_frame needs an 'iso3' column")
    if period is None:
        period = "month_id" if "month_id" in series_frame.columns else "year"
    if period not in series_frame.columns:
        raise ValueError(f"series_frame has no period column {period!r}")
    meas = list(measures) if measures is not None else _default_measures(series_frame)
    missing = [m for m in meas if m not in series_frame.columns]
    if missing:
        raise ValueError(f"measure column(s) not in series_frame: {missing}")
    if exposure is not None and exposure not in series_frame.columns:
        raise ValueError(f"exposure column {exposure!r} not in series_frame")
    by_cols = list(by) if by is not None else (["source"] if "source" in series_frame else [])
    keys = ["iso3", *by_cols]
    fields = list(BeforeAfter.__dataclass_fields__)
    rows: list[dict[str, Any]] = []
    for key, grp in series_frame.groupby(keys, sort=True, dropna=False):
        key_t = key if isinstance(key, tuple) else (key,)
        iso = key_t[0]
        evs = tl[tl["iso3"] == iso]
        if evs.empty:
            continue
        g = grp.set_index(period)
        if not g.index.is_unique:
            where = dict(zip(keys, key_t, strict=True))
            raise ValueError(
                f"series_frame has several rows per {period} for {where}: pass `by` to"
                " separate them"
            )
        expo = g[exposure] if exposure is not None else None
        for ev in evs.itertuples(index=False):
            at = int(getattr(ev, period))
            for m in meas:
                res = before_after(g[m], expo, at, window, level=level)
                if not keep_empty and (res.n_before == 0 or res.n_after == 0):
                    continue
                row = {"event_id": ev.id, "kind": ev.kind, "date": ev.date, "label": ev.label}
                row.update(dict(zip(keys, key_t, strict=True)))
                row.update({"measure": m, "period": period})
                row.update(res.as_dict())
                rows.append(row)
    cols = ["event_id", "kind", "date", "label", *keys, "measure", "period", *fields]
    out = pd.DataFrame(rows, columns=cols)
    if len(out):
        out = out.sort_values(["date", "event_id", *keys, "measure"], kind="stable")
    return out.reset_index(drop=True)

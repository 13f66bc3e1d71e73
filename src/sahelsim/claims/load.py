"""The claims file: the :class:`Claim` model and :func:`load_claims`.

The claims live in ``sahelsim/resources/claims.toml`` (our paraphrases, with the article heading,
the measure, the data test, the model test and why sources disagree). :func:`load_claims`
validates the file and names the file, the entry and the field of every problem.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sahelsim.core.config import parse_toml
from sahelsim.core.errors import SahelsimError
from sahelsim.evidence.timeline import ARTICLE_SECTIONS

log = logging.getLogger(__name__)

#: Headings a claim may cite: the article's sections plus its closing question-and-answer block.
SECTIONS: tuple[str, ...] = (*ARTICLE_SECTIONS, "Frequently Asked Questions")
#: Claims the audit must cover (the issue's list).
REQUIRED_IDS: tuple[str, ...] = (
    "c01_attacks_up_since_aes",
    "c02_civilian_casualties_up_since_aes",
    "c03_state_territory_shrank",
    "c04_bfa_deadliest_year_2024",
    "c05_bfa_islamist_civilian_killings_2024",
    "c06_bfa_state_civilian_killings_2024",
    "c07_mali_state_controls_20pct",
    "c08_attrition_2p5pct_sustainable",
    "c09_joint_force_too_small",
    "c10_two_million_displaced",
    "c11_state_atrocities_feed_recruitment",
    "c12_accords_trade_violence_for_governance",
    "c13_russia_protects_regimes_not_territory",
    "c14_mali_attacks_up_after_minusma",
)

_RESOURCE = ("claims.toml",)
_MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class ClaimsError(SahelsimError):
    """The claims file cannot be loaded; the message names the file and every problem."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.source = str(source)
        self.problems = list(problems)
        n = len(self.problems)
        body = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(
            f"{self.source}: invalid claims file ({n} problem{'s' * (n != 1)}):\n{body}"
        )


def _one_line(text: str) -> str:
    return " ".join(text.split())


class Claim(BaseModel):
    """One checkable claim of the article (see ``resources/claims.toml`` for the field meanings)."""

    model_config = ConfigDict(extra="forbid", frozen=True, protected_namespaces=())

    id: str = Field(pattern=r"^c\d{2}_[a-z0-9_]+$")
    claim: str = Field(min_length=10)
    section: str
    kind: Literal["quantity", "trend", "mechanism", "date"]
    evidence: Literal["data", "model", "none"]
    measure: str = Field(min_length=3)
    data_test: str = Field(min_length=3)
    model_test: str = Field(min_length=3)
    sources_differ: str = Field(min_length=10)
    article_value: float | None = None
    tolerance: float | None = Field(default=None, gt=0)
    article_dates: dict[str, str] | None = None

    @field_validator("claim", "measure", "data_test", "model_test", "sources_differ")
    @classmethod
    def _squash(cls, v: str) -> str:
        return _one_line(v)

    @field_validator("section")
    @classmethod
    def _v_section(cls, v: str) -> str:
        norm = v.replace("\u2019", "'").strip()
        if norm not in SECTIONS:
            raise ValueError(f"{v!r} is not a heading of the article; headings: {list(SECTIONS)}")
        return norm

    @field_validator("article_dates")
    @classmethod
    def _v_dates(cls, v: dict[str, str] | None) -> dict[str, str] | None:
        if v is not None:
            bad = {k: d for k, d in v.items() if not isinstance(d, str) or not _MONTH_RE.match(d)}
            if bad:
                raise ValueError(f"dates must be 'YYYY-MM' strings, got {bad}")
        return v


class _ClaimsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1]
    article: str = Field(min_length=1)
    claim: list[Claim] = Field(min_length=1)


def _problems(exc: ValidationError, raw: Mapping[str, Any]) -> list[str]:
    lines = []
    items = raw.get("claim") if isinstance(raw.get("claim"), list) else []
    for e in exc.errors(include_url=False):
        loc = list(e["loc"])
        where = ".".join(str(x) for x in loc) or "(top level)"
        if len(loc) >= 2 and loc[0] == "claim" and isinstance(loc[1], int):
            cid = items[loc[1]].get("id") if isinstance(items[loc[1]], Mapping) else None
            field = ".".join(str(x) for x in loc[2:]) or "(the entry)"
            where = f"[[claim]] #{loc[1] + 1} (id={cid!r}), field {field}"
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown key"
        elif e["type"] == "missing":
            msg = "required key missing"
        elif "input" in e and not isinstance(e["input"], dict | list):
            shown = repr(e["input"])
            msg = f"{msg} (got {shown if len(shown) <= 60 else shown[:57] + '...'})"
        lines.append(f"{where}: {msg}")
    return lines


def load_claims(path: str | Path | None = None) -> list[Claim]:
    """Load and validate the claims (default: the packaged ``resources/claims.toml``), in file order.

    Raises :class:`ClaimsError` naming the file, each bad entry (number and id), the field and
    the problem; duplicate ids are an error.
    """
    if path is None:
        ref = resources.files("sahelsim.resources").joinpath(*_RESOURCE)
        where, data = str(ref), ref.read_bytes()
    else:
        where = str(path)
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise ClaimsError(where, [f"cannot read the file: {exc.strerror or exc}"]) from None
    raw = parse_toml(data, where, ClaimsError)
    try:
        spec = _ClaimsFile.model_validate(raw)
    except ValidationError as exc:
        raise ClaimsError(where, _problems(exc, raw)) from None
    seen: dict[str, int] = {}
    dups = []
    for i, c in enumerate(spec.claim, 1):
        if c.id in seen:
            dups.append(f"[[claim]] #{i}: duplicate id {c.id!r} (first at #{seen[c.id]})")
        seen.setdefault(c.id, i)
    if dups:
        raise ClaimsError(where, dups)
    log.debug("loaded %d claims from %s", len(spec.claim), where)
    return list(spec.claim)

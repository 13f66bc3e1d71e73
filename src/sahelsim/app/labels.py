"""Plain words for the explorer's levers: a label, a group (an expander of the form) and the
unit from the lever's spec (:data:`sahelsim.scenarios.scenario.LEVER_SPECS`). Identifiers stay
in URLs and files; people read these."""

from __future__ import annotations

from sahelsim.core.canon import CORE_ISO3, ISO3_TO_NAME
from sahelsim.scenarios.scenario import LEVER_SPECS

__all__ = ["COUNTRY", "GROUPS", "LEVER_TEXT", "lever_group", "lever_label"]

COUNTRY = {c: ISO3_TO_NAME[c] for c in CORE_ISO3}
#: The form's groups, in order.
GROUPS = ("Forces", "Civilians and borders", "Politics")
#: Lever -> (plain label, group); a lever missing here gets its name in words, group Politics.
LEVER_TEXT: dict[str, tuple[str, str]] = {
    "state_force_scale": ("National army size", "Forces"),
    "russia_personnel": ("Russian personnel", "Forces"),
    "joint_force": ("AES joint force", "Forces"),
    "intervention_force": ("Outside intervention force", "Forces"),
    "restraint": ("Army restraint towards civilians", "Civilians and borders"),
    "external_monitors": ("External monitors", "Civilians and borders"),
    "border_openness": ("Open borders", "Civilians and borders"),
    "governance_investment": ("State services", "Politics"),
    "negotiation_propensity": ("Local accords with JNIM", "Politics"),
    "inclusion": ("Political inclusion", "Politics"),
    "legitimacy_shock": ("Shock to junta legitimacy", "Politics"),
    "coup_rule": ("What a coup does", "Politics"),
    "alliance_expansion": ("New alliance members allowed", "Politics"),
}


def lever_group(name: str) -> str:
    return LEVER_TEXT.get(name, ("", GROUPS[-1]))[1]


def lever_label(name: str, country: str | None = None) -> str:
    """``Russian personnel · Mali (persons per country)``: plain name, country, unit."""
    spec = LEVER_SPECS[name]
    label = LEVER_TEXT.get(name, (name.replace("_", " ").capitalize(), ""))[0]
    if country is not None:
        label += f" · {COUNTRY.get(country, country)}"
    unit = spec.unit if spec.kind in ("float", "impulse") else ""
    return f"{label} ({unit})" if unit else label

"""One palette for every figure of the report and the explorer (Okabe–Ito, colour-blind safe).

Each violence type, perpetrator, country and outcome has one colour, used identically by every
figure that shows it (bars of observed data, fan charts of simulated data, lines, markers).
"""

from __future__ import annotations

#: Okabe & Ito (2008), "Color Universal Design": distinguishable under the common colour-vision
#: deficiencies.
OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
GREY = "#999999"
#: Lines and text that are not data (projection start, borders).
INK = "#555555"


def _pick(**names: str) -> dict[str, str]:
    return {key: OKABE_ITO[colour] for key, colour in names.items()}


#: UCDP violence types.
VIOLENCE_COLOURS = _pick(state_based="blue", non_state="orange", one_sided="reddish_purple")
#: Perpetrators of one-sided violence: the state side (government forces, militias, Russians;
#: UCDP's "government"), non-state groups together (UCDP) and the two jihadist coalitions.
PERPETRATOR_COLOURS = _pick(
    state_side="sky_blue", non_state="vermillion", jnim="bluish_green", issp="black"
)
#: The three states, wherever a figure draws one line per country.
COUNTRY_COLOURS = _pick(MLI="blue", BFA="vermillion", NER="bluish_green")
#: Simulated outcomes (fan charts) by model variable.
VARIABLE_COLOURS: dict[str, str] = {
    "deaths_total": OKABE_ITO["blue"],
    **{f"civilians_killed_by_{k}": PERPETRATOR_COLOURS[k] for k in ("state_side", "jnim", "issp")},
    "territory_state": PERPETRATOR_COLOURS["state_side"],  # the state, as in the control map
    "idps": OKABE_ITO["reddish_purple"],
}
#: Who holds a cell on the control maps, by the model's control label
#: (:data:`sahelsim.model.fields_table.HOLD_CODES`): the state and the two coalitions as their
#: perpetrator colours, other armed groups purple, contested grey, ungoverned a pale yellow (a
#: colour no holder has: never read as state-held). A label missing here gets :data:`GREY`.
HOLD_COLOURS: dict[str, str] = {
    "state": PERPETRATOR_COLOURS["state_side"],
    "jnim": PERPETRATOR_COLOURS["jnim"],
    "issp": PERPETRATOR_COLOURS["issp"],
    "other": OKABE_ITO["reddish_purple"],
    "contested": GREY,
    "ungoverned": OKABE_ITO["yellow"],
}
#: Plain names of the control labels (people read these; the codes stay in files).
HOLD_NAMES: dict[str, str] = {
    "state": "the state",
    "jnim": "JNIM",
    "issp": "IS Sahel",
    "other": "other armed groups",
    "contested": "contested",
    "ungoverned": "ungoverned",
}


def hold_key(label: str) -> str:
    """The palette key of a control label (``"other armed group"`` -> ``"other"``)."""
    low = str(label).strip().lower()
    if low in HOLD_COLOURS:
        return low
    for key in HOLD_COLOURS:
        if low.startswith(key):
            return key
    return low


def hold_colour(label: str) -> str:
    return HOLD_COLOURS.get(hold_key(label), GREY)


def hold_name(label: str) -> str:
    return HOLD_NAMES.get(hold_key(label), str(label).replace("_", " "))


#: Observed series drawn over simulated ones (open markers).
OBSERVED_COLOUR = OKABE_ITO["black"]
#: Kinds of the institutional timeline's events.
EVENT_COLOURS: dict[str, str] = {
    "coup": OKABE_ITO["vermillion"],
    "withdrawal": OKABE_ITO["orange"],
    "institution": GREY,
    "alliance": OKABE_ITO["reddish_purple"],
    "sanctions": OKABE_ITO["sky_blue"],
    "deployment": OKABE_ITO["blue"],
    "massacre": OKABE_ITO["black"],
    "accord": OKABE_ITO["bluish_green"],
}
#: Colour of an event kind not in :data:`EVENT_COLOURS`.
EVENT_OTHER = INK
#: Two-series charts without a domain meaning (e.g. calibration tolerance and acceptance).
SERIES_PAIR = (OKABE_ITO["blue"], OKABE_ITO["vermillion"])
#: Backtest bars: the model against the baselines.
MODEL_COLOUR = OKABE_ITO["vermillion"]
BASELINE_COLOUR = GREY


def rgba(hex_colour: str, alpha: float) -> str:
    """``#rrggbb`` as a CSS ``rgba(...)`` with opacity ``alpha``."""
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"

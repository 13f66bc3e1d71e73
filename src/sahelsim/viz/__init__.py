"""Figures shared by the report and the explorer (Plotly), with one palette and one set of names.

* :mod:`~sahelsim.viz.palette`: the colour of every violence type, perpetrator, country and
  outcome (Okabe–Ito);
* :mod:`~sahelsim.viz.text`: escaping for HTML, Plotly text and inline JSON; number formats;
* :mod:`~sahelsim.viz.figures`: :class:`FigureSet` (figures serialised once) and the layout;
* :mod:`~sahelsim.viz.runs`: :class:`ScenarioRuns`, built by :func:`summarise_runs`;
* :mod:`~sahelsim.viz.fans` and :mod:`~sahelsim.viz.maps`: fan charts and offline maps.
"""

from sahelsim.viz.fans import FAN_SERIES, Observed, fan_figure
from sahelsim.viz.figures import FigureSet, style_layout
from sahelsim.viz.maps import GEO_STUB, load_admin1, map_figures
from sahelsim.viz.runs import (
    CORE,
    COUNTRY_NAMES,
    FAN_VARS,
    QUANTILES,
    REGIONS,
    SIM_START,
    RunInput,
    ScenarioRuns,
    region_areas,
    region_series,
    summarise_runs,
)

__all__ = [
    "CORE",
    "COUNTRY_NAMES",
    "FAN_SERIES",
    "FAN_VARS",
    "GEO_STUB",
    "QUANTILES",
    "REGIONS",
    "SIM_START",
    "FigureSet",
    "Observed",
    "RunInput",
    "ScenarioRuns",
    "fan_figure",
    "load_admin1",
    "map_figures",
    "region_areas",
    "region_series",
    "style_layout",
    "summarise_runs",
]

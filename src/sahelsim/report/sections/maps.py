"""(e) Maps: PRIO-GRID cells by simulated deaths and by state control, admin-1 units by
displaced people hosted (drawn by :func:`sahelsim.viz.maps.map_figures`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sahelsim.report.html import note
from sahelsim.viz.figures import FigureSet
from sahelsim.viz.maps import map_figures
from sahelsim.viz.runs import ScenarioRuns
from sahelsim.viz.text import esc

__all__ = ["section_maps"]


def section_maps(
    runs: ScenarioRuns, admin1: pd.DataFrame | None, data_dir: Path | None, figs: FigureSet
) -> str:
    """``admin1``: the core countries' units (:func:`sahelsim.viz.maps.load_admin1`) or None."""
    if not runs.has_maps:
        return note("No scenario was run: no maps.")
    parts = [
        note(
            f"Scenario <strong>{esc(runs.titles.get(runs.map_scenario, runs.map_scenario))}"
            f"</strong>; PRIO-GRID 0.5° cells of the study grid"
            + ("" if data_dir is not None else " (synthetic grid: no data directory)")
            + ". Maps are drawn from inline polygons; no base map is loaded."
        )
    ]
    drawn = map_figures(runs, admin1, figs)
    parts.extend(drawn.values())
    if "map_admin1" not in drawn:
        parts.append(
            note("Admin-1 map not drawn: the Natural Earth polygons are not in the data directory.")
        )
    return "".join(parts)

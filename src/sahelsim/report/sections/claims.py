"""(c) The claims audit: one row per checkable claim of the article, with its verdict."""

from __future__ import annotations

import pandas as pd

from sahelsim.report.html import note, scroll, table
from sahelsim.viz.text import esc

__all__ = ["VERDICT_CLASS", "section_claims"]

#: CSS class of each verdict (any other value gets ``v-other``: it never reaches an attribute).
VERDICT_CLASS = {
    "supported": "v-supported",
    "contradicted": "v-contradicted",
    "mixed": "v-mixed",
    "not testable with the data present": "v-untestable",
}


def section_claims(claims: pd.DataFrame | None, error: str = "") -> str:
    if claims is None or len(claims) == 0:
        return note(f"The claims audit did not run{': ' + esc(error) if error else '.'}")
    counts = claims["verdict"].value_counts()
    summ = " ".join(
        f'<span class="{VERDICT_CLASS.get(str(v), "v-other")} pill">{esc(v)}: {int(n)}</span>'
        for v, n in counts.items()
    )
    cols = [
        ("id", "id"),
        ("claim", "claim"),
        ("section", "article section"),
        ("verdict", "verdict"),
        ("figure", "figure"),
        ("source", "source"),
        ("why_sources_differ", "why sources differ"),
        ("evidence", "evidence"),
        ("interval", "interval"),
    ]
    cols = [c for c in cols if c[0] in claims.columns]
    return (
        note(
            "Each checkable claim of the article against the data (UCDP, UNHCR/IDMC, the"
            " timeline) or, where marked <em>model</em>, against paired scenario runs, which"
            " show what the model's assumptions imply, not what happened."
        )
        + f"<p>{summ}</p>"
        + table(
            claims,
            cols,
            fmt={"figure": scroll, "why_sources_differ": scroll},
            cell_class={"verdict": lambda v: VERDICT_CLASS.get(str(v), "v-other")},
            cls="small prose claims",
        )
    )

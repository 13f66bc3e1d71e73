"""(c) The claims audit: one row per checkable claim of the article, with its verdict."""

from __future__ import annotations

import pandas as pd

from sahelsim.claims.verdicts import (
    CONSISTENT,
    CONTRADICTED,
    MIXED,
    MODEL_CONSISTENT,
    MODEL_MIXED,
    MODEL_NOT_CONSISTENT,
    NOT_CONSISTENT,
    NOT_TESTABLE,
    SUPPORTED,
)
from sahelsim.report.html import note, table
from sahelsim.viz.text import esc

__all__ = ["VERDICT_CLASS", "section_claims", "verdict_class"]

#: CSS class of each verdict (any other value gets ``v-other``: it never reaches an attribute).
VERDICT_CLASS = {
    SUPPORTED: "v-supported",
    CONSISTENT: "v-supported",
    CONTRADICTED: "v-contradicted",
    NOT_CONSISTENT: "v-contradicted",
    MIXED: "v-mixed",
    MODEL_CONSISTENT: "v-model-ok",
    MODEL_NOT_CONSISTENT: "v-model-no",
    MODEL_MIXED: "v-model-mixed",
    NOT_TESTABLE: "v-untestable",
}


def verdict_class(verdict: object) -> str:
    """CSS class of a verdict (an unknown verdict gets ``v-other``)."""
    return VERDICT_CLASS.get(str(verdict), "v-other")


def _provenance(prov: object) -> str:
    """What every row shares (``claims.attrs["provenance"]``), stated once: the meaning of
    each verdict family and how the model was run."""
    if not isinstance(prov, dict):
        return ""
    items = []
    verdicts = prov.get("verdicts")
    if isinstance(verdicts, dict):
        items += [f"<li><strong>{esc(k)}</strong>: {esc(v)}</li>" for k, v in verdicts.items()]
    model = prov.get("model")
    if isinstance(model, dict):
        items.append(
            "<li><strong>model runs</strong>: "
            + "; ".join(f"{esc(k)} {esc(v)}" for k, v in model.items())
            + "</li>"
        )
    return f'<ul class="provenance">{"".join(items)}</ul>' if items else ""


def section_claims(claims: pd.DataFrame | None, error: str = "") -> str:
    if claims is None or len(claims) == 0:
        return note(f"The claims audit did not run{': ' + esc(error) if error else '.'}")
    counts = claims["verdict"].value_counts()
    summ = " ".join(
        f'<span class="{verdict_class(v)} pill">{esc(v)}: {int(n)}</span>'
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
        + _provenance(claims.attrs.get("provenance"))
        + f"<p>{summ}</p>"
        + table(
            claims,
            cols,
            cell_class={"verdict": verdict_class},
            cls="small prose claims",
        )
    )

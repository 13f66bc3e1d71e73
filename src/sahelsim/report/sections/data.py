"""(a) Data overview: the store's ``sources`` ledger, provenance from the data folders'
``PROVENANCE.md``, quarantine counts by reason."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sahelsim.data.store.store import Store
from sahelsim.report.html import note, scroll, table
from sahelsim.viz.text import esc, fmt_num

__all__ = ["provenance", "section_data"]

_COUNTS = ("rows_read", "rows_accepted", "rows_quarantined", "rows_filtered")


def provenance(folder: Path) -> dict[str, str]:
    """Title, original source, where obtained and license from a folder's PROVENANCE.md."""
    prov = folder / "PROVENANCE.md"
    out = {"title": "", "original": "", "obtained": "", "license": ""}
    if not prov.is_file():
        return out
    keys = {
        "**Original source**": "original",
        "**Obtained from**": "obtained",
        "**License**": "license",
    }
    for line in prov.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("# ") and not out["title"]:
            out["title"] = line[2:].strip()
        for k, name in keys.items():
            if k in line and not out[name]:
                out[name] = line.split(":", 1)[-1].strip().strip("*").strip()
    return out


def section_data(store: Store, data_dir: Path | None) -> str:
    parts = []
    ledger = store.ledger()
    if len(ledger) == 0:
        parts.append(note("The store's ledger is empty: nothing was ingested."))
    else:
        led = ledger.copy()
        led["file_name"] = [Path(str(f)).name for f in led["file"]]
        led["sha"] = [str(s)[:12] for s in led["sha256"]]
        led["status"] = np.where(led["superseded"].astype(bool), "superseded", "current")
        parts.append("<h3>Sources ledger</h3>")
        parts.append(
            note(
                "One row per ingested file (table <code>sources</code>). Rows read = accepted +"
                " quarantined + filtered (rows of countries outside the region); the sha256"
                " identifies the exact file."
            )
        )
        parts.append(
            table(
                led,
                [
                    ("source", "source"),
                    ("file_name", "file"),
                    ("sha", "sha256"),
                    ("version", "version"),
                    ("license", "license"),
                    ("rows_read", "read"),
                    ("rows_accepted", "accepted"),
                    ("rows_quarantined", "quarantined"),
                    ("rows_filtered", "filtered"),
                    ("ingested_at", "ingested"),
                    ("status", "status"),
                ],
                fmt={
                    "license": scroll,
                    **dict.fromkeys(_COUNTS, fmt_num),
                },
                cls="small",
            )
        )
        # provenance: one row per source
        rows = []
        for src, g in led.groupby("source", sort=True):
            first = g.iloc[-1]
            folder = Path(str(first["file"])).parent
            p = provenance(folder) if folder.is_dir() else {}
            rows.append(
                {
                    "source": src,
                    "title": p.get("title", ""),
                    "original": p.get("original", ""),
                    "obtained": p.get("obtained", ""),
                    "license": p.get("license") or first["license"],
                    "citation": first["citation"],
                }
            )
        parts.append("<h3>Provenance</h3>")
        where = f" (data directory <code>{esc(data_dir)}</code>)" if data_dir else ""
        parts.append(
            note(
                "From each data folder's <code>PROVENANCE.md</code>" + where + " and the"
                " citation recorded at ingest. Web addresses are shown as text; the report"
                " loads nothing."
            )
        )
        parts.append(
            table(
                pd.DataFrame(rows),
                [
                    ("source", "source"),
                    ("title", "dataset"),
                    ("original", "original source"),
                    ("obtained", "obtained from"),
                    ("license", "license"),
                    ("citation", "citation"),
                ],
                fmt={c: scroll for c in ("original", "obtained", "license", "citation")},
                cls="small prose",
            )
        )
    q = store.sql(
        "SELECT source, reason, count(*) AS rows FROM quarantine GROUP BY ALL"
        " ORDER BY source, rows DESC"
    )
    parts.append("<h3>Quarantine</h3>")
    if len(q) == 0:
        parts.append(note("No row was quarantined."))
    else:
        parts.append(
            note(
                f"{int(q['rows'].sum()):,} row(s) rejected at ingest (table"
                " <code>quarantine</code>, with file, line, field and raw text)."
            )
        )
        parts.append(
            table(
                q,
                [("source", "source"), ("reason", "reason"), ("rows", "rows")],
                fmt={"rows": fmt_num},
                cls="small",
            )
        )
    return "".join(parts)

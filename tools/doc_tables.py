"""Print the markdown tables of params.SPECS and scenarios.LEVER_SPECS for docs/model.md:

python tools/doc_tables.py
"""

from collections.abc import Mapping

from sahelsim.model.params import SPECS
from sahelsim.scenarios.scenario import LEVER_SPECS


def g(x):
    return f"{x:g}" if isinstance(x, float | int) and not isinstance(x, bool) else str(x)


def esc(t):
    return str(t).replace("|", "\\|")


print("| name | default | unit | prior range | mechanism | source | article section |")
print("|---|---|---|---|---|---|---|")
for s in SPECS:
    print(
        f"| `{s.name}` | {g(s.default)} | {esc(s.unit)} | {g(s.lo)} – {g(s.hi)} | {s.mechanism} "
        f"| {esc(s.source)} | {esc(s.section) or '—'} |"
    )
print()
print(
    "| lever | kind | unit | default from 2025-01 | range | scope | dated default schedule | article section |"
)
print("|---|---|---|---|---|---|---|---|")
for s in LEVER_SPECS.values():
    d = s.default
    dtxt = (
        ", ".join(f"{k} {g(v)}" for k, v in d.items())
        if isinstance(d, Mapping)
        else (str(d).lower() if isinstance(d, bool) else g(d))
    )
    if s.history:
        ini = s.initial
        itxt = (
            ", ".join(f"{k} {g(v)}" for k, v in ini.items()) if isinstance(ini, Mapping) else g(ini)
        )
        hist = f"start {itxt}; " + "; ".join(
            f"{dt} {c or 'all'} → {g(v)}" for dt, c, v in s.history
        )
    else:
        hist = "—"
    print(
        f"| `{s.name}` | {s.kind} | {esc(s.unit)} | {dtxt} | {esc(s.range_text())} | {s.scope} | {hist} | {s.article_section} |"
    )
print()
print(len(SPECS), len(LEVER_SPECS))

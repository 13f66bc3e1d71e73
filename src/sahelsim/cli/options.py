"""The CLI's shared options, each defined once, and the strict parsers behind them.

Every option that more than one command takes (seed, data directory, output folder, members,
months, start month, synthetic grid, backend, years) is an ``Annotated`` alias here; commands
declare ``seed: Seed = 0`` and get the same flag, help text, range check and error message.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from sahelsim.core.errors import SahelsimError
from sahelsim.model.engine import N_OUT, Record
from sahelsim.scenarios.scenario import load_scenario

#: Seeds are unsigned 63-bit integers (numpy's SeedSequence takes them; -1 is not a seed).
SEED_MAX = 2**63 - 1
#: Earliest month and year the data and the model know (UCDP starts in 1989).
FIRST_YEAR = 1989
LAST_YEAR = 2100
#: Study-grid size (PRIO-GRID cells of Mali, Burkina Faso, Niger) and countries, for the
#: memory estimate; the synthetic grid is smaller.
STUDY_CELLS = 1126
COUNTRIES = 3
HISTORY_YEAR = 2012  # runs starting later simulate the history from January 2012 first

_YEAR = re.compile(r"[0-9]{4}")
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")


# -- parsers (ValueError -> "Invalid value for '--opt': <message>", exit code 2) -------------
class Years(tuple[int, ...]):
    """Sorted distinct years parsed from ``2012-2024``, ``2025,2026`` or ``2012-2014,2020``."""

    @property
    def span(self) -> tuple[int, int]:
        """(first, last) of a contiguous run of years; ValueError if there are gaps."""
        if list(self) != list(range(self[0], self[-1] + 1)):
            raise ValueError(f"needs a contiguous range like {self[0]}-{self[-1]}, not a list")
        return self[0], self[-1]


def _year(text: str) -> int:
    if not _YEAR.fullmatch(text):
        raise ValueError(f"{text!r} is not a four-digit year")
    y = int(text)
    if not FIRST_YEAR <= y <= LAST_YEAR:
        raise ValueError(f"year {y} is outside {FIRST_YEAR}-{LAST_YEAR}")
    return y


def parse_years(text: str | Years) -> Years:
    """Years from a comma-separated list of years and ``Y0-Y1`` ranges (inclusive), strictly:
    four-digit years in 1989-2100, ranges ascending, no empty items."""
    if isinstance(text, Years):
        return text
    items = str(text).replace(" ", "").split(",")
    years: set[int] = set()
    for item in items:
        if not item:
            raise ValueError(f"{text!r}: empty item (use 2012-2024 or 2025,2026)")
        first, sep, last = item.partition("-")
        if not sep:
            years.add(_year(first))
            continue
        y0, y1 = _year(first), _year(last)
        if y1 < y0:
            raise ValueError(f"range {item!r} runs backwards (write {y1}-{y0})")
        years.update(range(y0, y1 + 1))
    return Years(sorted(years))


def parse_month(text: str) -> str:
    """``YYYY-MM`` with month 01..12 from January 1989 to December 2100; returned unchanged."""
    m = _MONTH.fullmatch(str(text).strip())
    if not m:
        raise ValueError(f"{text!r} is not a month YYYY-MM (e.g. 2012-01)")
    y, mo = int(m.group(1)), int(m.group(2))
    if not 1 <= mo <= 12:
        raise ValueError(f"{text!r}: month {mo} is not in 01..12")
    if not FIRST_YEAR <= y <= LAST_YEAR:
        raise ValueError(f"{text!r} is outside {FIRST_YEAR}-01..{LAST_YEAR}-12")
    return f"{y:04d}-{mo:02d}"


_INT = re.compile(r"-?[0-9]+")


def int_range(lo: int, hi: int | None = None, shown: str | None = None) -> Callable[[str], int]:
    """A parser of decimal integers in ``lo..hi`` (``hi`` None: no upper bound)."""
    allowed = shown or (f"{lo}..{hi}" if hi is not None else f">= {lo}")

    def parse(text: str | int) -> int:
        if isinstance(text, int):
            value = text
        elif _INT.fullmatch(str(text).strip()):
            value = int(str(text).strip())
        else:
            raise ValueError(f"{text!r} is not an integer (allowed: {allowed})")
        if value < lo or (hi is not None and value > hi):
            raise ValueError(f"{value} is out of range (allowed: {allowed})")
        return value

    return parse


def int_option(name: str, help_text: str, lo: int = 1, hi: int | None = None, *,
               shown: str | None = None, metavar: str = "N") -> typer.models.OptionInfo:  # fmt: skip
    """An integer option parsed strictly, its allowed range in the help and in the error."""
    allowed = shown or (f"{lo}..{hi}" if hi is not None else f">= {lo}")
    return typer.Option(name, parser=int_range(lo, hi, shown), metavar=metavar,
                        help=f"{help_text} ({allowed}).")  # fmt: skip


# -- memory bound on ensemble size ---------------------------------------------------------
def available_memory() -> int:
    """Bytes the kernel says are available (``MemAvailable``), else free physical pages."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 2**40


def bytes_per_member(months: int, record: Record | None = None, cells: int = STUDY_CELLS) -> int:
    """Memory one ensemble member needs over ``months``: country outputs (float64, ``N_OUT``
    fields x countries) and recorded cell fields (float32) per month, twice over for the
    tables built from them (measured: about 17 kB per member-month on the study grid)."""
    rec = len((record or Record()).cells)
    return 2 * (N_OUT * COUNTRIES * 8 + rec * cells * 4) * months


def spinup_months(start: str) -> int:
    """Months of history a run starting at ``start`` simulates first (from January 2012)."""
    y, m = (int(x) for x in start.split("-"))
    return max(0, (y - HISTORY_YEAR) * 12 + m - 1)


def check_members(members: int, months: int, *, option: str = "--members", runs: int = 1,
                  start: str | None = None) -> None:  # fmt: skip
    """Raise a usage error naming ``option`` when ``members`` ensemble members over ``months``
    (plus the spin-up before ``start``), ``runs`` times, cannot fit in 80 % of the memory
    available now, before anything is allocated."""
    total = months + (spinup_months(start) if start else 0)
    need = bytes_per_member(total) * runs
    avail = int(available_memory() * 0.8)
    most = max(1, avail // need)
    if members > most:
        raise typer.BadParameter(
            f"{members:,} members need about {members * need / 2**30:,.1f} GiB for {total}"
            f" months but about {avail / 2**30:,.1f} GiB are free: use 1..{most:,}",
            param_hint=f"'{option}'",
        )


# -- shared option definitions ---------------------------------------------------------------
Seed = Annotated[
    int,
    int_option("--seed", "Random seed; the same seed gives the same numbers", 0, SEED_MAX,
               shown="0..2^63-1", metavar="INT"),
]  # fmt: skip
DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", envvar="SAHELSIM_DATA", show_envvar=True, file_okay=False,
        help="Folder with the staged source files (default: $SAHELSIM_DATA, else"
        " ~/.cache/sahelsim/data).", show_default=False,
    ),
]  # fmt: skip
Store = Annotated[
    Path | None,
    typer.Option(
        "--store", dir_okay=False, show_default=False,
        help="DuckDB store file (default: OUT/sahelsim.duckdb).",
    ),
]  # fmt: skip


def check_out(value: Path) -> Path:
    """``--out`` must be a folder or not exist yet, in a writable place (checked before anything
    runs, so a long run does not end in a write error)."""
    if value.exists() and not value.is_dir():
        raise typer.BadParameter(f"{str(value)!r} exists and is not a folder")
    ancestor = next((p for p in (value, *value.absolute().parents) if p.exists()), None)
    if ancestor is not None and not os.access(ancestor, os.W_OK | os.X_OK):
        raise typer.BadParameter(f"{str(ancestor)!r} is not writable")
    return value


Out = Annotated[
    Path,
    typer.Option("--out", file_okay=False, callback=check_out,
                 help="Output folder (created if missing)."),
]  # fmt: skip
Members = Annotated[
    int,
    int_option("--members", "Ensemble size, at most what fits in available memory",
               shown=">= 1"),
]  # fmt: skip
#: Where a projection ends when --months is not given.
HORIZON_END = "2030-12"
FREE_START = "2012-01"
Months = Annotated[
    int | None,
    typer.Option(
        "--months", parser=int_range(1), metavar="N", show_default=f"to {HORIZON_END}",
        help="Months to project (>= 1): from the month after the filtered present, or from"
        f" --start with --present none; by default up to {HORIZON_END}.",
    ),
]  # fmt: skip
Start = Annotated[
    str | None,
    typer.Option(
        "--start", parser=parse_month, metavar="YYYY-MM", show_default=FREE_START,
        help=f"First simulated month of a free run, YYYY-MM ({FIRST_YEAR}-01..{LAST_YEAR}-12);"
        " runs starting after 2012-01 simulate the history from 2012 first. Giving --start"
        " without --present means --present none; with --present auto or DIR it is an error"
        " (the projection starts the month after the filtered present).",
    ),
]  # fmt: skip

AUTO, NONE = "auto", "none"


def parse_present(text: str) -> str:
    """``auto``, ``none`` or an existing folder (its files are checked when it is read)."""
    value = str(text).strip()
    if value.lower() in (AUTO, NONE):
        return value.lower()
    if not value:
        raise ValueError("empty: use a folder, auto or none")
    if not Path(value).expanduser().is_dir():
        raise ValueError(f"{value!r} is not a folder (a filtered ensemble folder, auto or none)")
    return value


Present = Annotated[
    str | None,
    typer.Option(
        "--present", parser=parse_present, metavar="DIR|auto|none", show_default=AUTO,
        help="Where projections start. auto: the ensemble filtered on the data to their last"
        " month (out/assimilate, reused when it matches the data, else filtered and written"
        " there; a free run when there are no observations or with --synthetic); DIR: a"
        " filtered ensemble folder (`sahelsim assimilate --out DIR`); none: a free run from"
        " --start.",
    ),
]  # fmt: skip
FilterMembers = Annotated[
    int,
    int_option("--filter-members", "Size of the filtered ensemble --present auto writes when"
               " out/assimilate does not match (projected members cycle through it)",
               shown=">= 1"),
]  # fmt: skip
PresentStore = Annotated[
    Path | None,
    typer.Option(
        "--store", dir_okay=False, show_default=False,
        help="DuckDB store --present auto reads the observations from (default:"
        " out/sahelsim.duckdb, the main job's store).",
    ),
]  # fmt: skip
Synthetic = Annotated[
    bool,
    typer.Option(
        "--synthetic", help="Use the synthetic grid instead of the study grid (tests, demos)."
    ),
]


class BackendName(StrEnum):
    local = "local"
    ray = "ray"


Backend = Annotated[
    BackendName,
    typer.Option(
        "--backend",
        help="Run in this process (local) or on a Ray cluster (ray; needs the 'distributed'"
        " extra, see docs/scaling.md).",
    ),
]
Address = Annotated[
    str | None,
    typer.Option(
        "--address", show_default=False,
        help="Ray cluster for --backend ray: 'auto' or 'ray://HEAD:10001' (default:"
        " $RAY_ADDRESS, else a local cluster).",
    ),
]  # fmt: skip


def years_option(help_text: str, name: str = "--years") -> typer.models.OptionInfo:
    """A years option with command-specific help (one parser and syntax for every command)."""
    return typer.Option(
        name, parser=parse_years, metavar="YEARS",
        help=f"{help_text} Ranges 2012-2024 and lists 2025,2026 (or both: 2012-2014,2020);"
        f" years {FIRST_YEAR}-{LAST_YEAR}.",
    )  # fmt: skip


def one_line(text: str) -> str:
    """A message on one line (library messages may list problems on several)."""
    return " ".join(str(text).split())


def parse_scenario(value: str) -> str:
    """A shipped scenario name or a scenario TOML file, checked before anything runs."""
    try:
        load_scenario(value)
    except SahelsimError as exc:
        raise ValueError(one_line(str(exc))) from None
    return value


Scenario = Annotated[
    str,
    typer.Option(
        "--scenario", parser=parse_scenario, metavar="NAME",
        help="Scenario: a shipped name (`sahelsim scenarios list`) or a scenario TOML file.",
    ),
]  # fmt: skip

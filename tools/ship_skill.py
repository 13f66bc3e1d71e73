"""Ship the summary tables of a backtest into the package, for reports built without one.

    python tools/ship_skill.py out/backtest_cm --level cm \\
        --command "sahelsim backtest --level cm --draws 500" [--commit SHA] [--machine TEXT]

Copies the summary tables the report reads (``overall.csv``, ``goals.csv``, ``scores.csv``,
``by_horizon.csv``, ... : :data:`sahelsim.report.inputs.SKILL_COLUMNS`; not the ``forecasts/``
folder, ``forecasts.csv`` or the per-seed ``scores_by_horizon.csv``) into
``src/sahelsim/resources/skill/{level}/`` with ``PROVENANCE.json``: the command that measured
them, the commit, the date of the tables (the newest file's time, UTC), the machine, the
source folder and each file's sha256. The set is written atomically (all files or none) and
files of an earlier copy that are not in the new set are removed afterwards. Each table is
checked first (readable, with the columns the report needs): a bad table is an error naming
the file and the missing columns, and nothing is written.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pandas as pd

from sahelsim.core.atomic import text_writer, write_all_atomic
from sahelsim.report.inputs import LEVELS, PROVENANCE_FILE, SKILL_COLUMNS

REPO = Path(__file__).resolve().parents[1]
DEST = REPO / "src" / "sahelsim" / "resources" / "skill"


def _commit() -> str:
    try:
        return subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], check=True,
                              capture_output=True, text=True).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _machine() -> str:
    return f"{platform.node()} ({platform.system()} {platform.machine()}, {os.cpu_count()} cores)"


def collect(src: Path) -> dict[str, bytes]:
    """The summary tables in ``src`` as bytes by file name, each checked; raises
    ``SystemExit`` naming the file on a missing ``overall.csv`` or a bad table."""
    if not src.is_dir():
        raise SystemExit(f"{src}: not a folder (give the backtest's output folder)")
    out: dict[str, bytes] = {}
    for name, need in SKILL_COLUMNS.items():
        p = src / f"{name}.csv"
        if not p.is_file():
            if name == "overall":
                raise SystemExit(f"{p}: missing (not a backtest folder?)")
            continue
        try:
            df = pd.read_csv(p)
        except (OSError, ValueError, pd.errors.ParserError) as exc:
            raise SystemExit(f"{p}: unreadable ({exc})") from None
        missing = [c for c in need if c not in df.columns]
        if missing:
            raise SystemExit(f"{p}: missing column(s) {', '.join(missing)}")
        out[p.name] = p.read_bytes()
    return out


def ship(src: Path, level: str, *, command: str, commit: str, machine: str,
         dest: Path = DEST) -> list[Path]:  # fmt: skip
    """Copy the checked tables of ``src`` into ``dest/level`` with ``PROVENANCE.json``;
    returns the paths written."""
    if level not in LEVELS:
        raise SystemExit(f"--level must be one of {', '.join(LEVELS)}, got {level!r}")
    files = collect(src)
    newest = max((src / n).stat().st_mtime for n in files)
    prov = {
        "level": level,
        "command": command,
        "commit": commit,
        "date": dt.datetime.fromtimestamp(newest, dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine,
        "source": str(src),
        "shipped": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "files": {n: hashlib.sha256(b).hexdigest() for n, b in sorted(files.items())},
    }
    folder = dest / level
    folder.mkdir(parents=True, exist_ok=True)
    items = [(folder / n, (lambda p, b=b: Path(p).write_bytes(b))) for n, b in files.items()]
    items.append((folder / PROVENANCE_FILE, text_writer(json.dumps(prov, indent=1) + "\n")))
    written = write_all_atomic(items)
    keep = {p.name for p in written}
    for old in folder.iterdir():
        if old.is_file() and old.name not in keep and old.suffix in (".csv", ".json"):
            old.unlink()
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("src", type=Path, help="the backtest's output folder (e.g. out/backtest_cm)")
    ap.add_argument("--level", required=True, choices=LEVELS)
    ap.add_argument("--command", default=None,
                    help="the command that measured the tables (default: sahelsim backtest"
                         " --level LEVEL)")  # fmt: skip
    ap.add_argument("--commit", default=None, help="commit measured (default: git HEAD here)")
    ap.add_argument("--machine", default=None, help="machine measured on (default: this one)")
    ap.add_argument("--dest", type=Path, default=DEST, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    written = ship(a.src, a.level, command=a.command or f"sahelsim backtest --level {a.level}",
                   commit=a.commit or _commit(), machine=a.machine or _machine(),
                   dest=a.dest)  # fmt: skip
    print(f"shipped {len(written)} files to {written[0].parent}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

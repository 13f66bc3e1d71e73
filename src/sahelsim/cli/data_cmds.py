"""``sahelsim data``: download, ingest and inspect the sources."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from sahelsim.cli.console import Bar, console, progress, say, table
from sahelsim.cli.options import DataDir, Out, Store, int_option
from sahelsim.cli.seams import DEFAULT_OUT, ingest_all, open_store, present_sources, store_path
from sahelsim.core.config import resolve_data_dir
from sahelsim.core.errors import SahelsimError
from sahelsim.data.download import download, list_sources
from sahelsim.data.readers.events import JSON_LIST_KEY

app = typer.Typer(help="Download, ingest and inspect the data sources.")


class EventFormat(StrEnum):
    ged_csv = "ged_csv"
    ged_json = "ged_json"
    acled_csv = "acled_csv"
    acled_json = "acled_json"


def print_reports(reports: Sequence[Any]) -> None:
    cols = ("source", "file", "read", "accepted", "quarantined", "filtered", "merged", "status")
    rows = [(r.source, Path(r.file).name, f"{r.rows_read:,}", f"{r.rows_accepted:,}",
             f"{r.rows_quarantined:,}", f"{r.rows_filtered:,}", f"{r.rows_merged:,}",
             "unchanged (already ingested)" if r.skipped else "loaded") for r in reports]  # fmt: skip
    table("Ingest", cols, rows, right=cols[2:7])
    skipped = sum(1 for r in reports if r.skipped)
    if skipped:
        say(f"{skipped} file(s) already ingested (same sha256): unchanged")


def _provenance(folder: Path) -> tuple[str, str]:
    """(title, license) from a folder's PROVENANCE.md or DOWNLOAD.json."""
    prov = folder / "PROVENANCE.md"
    title, lic = "", ""
    if prov.exists():
        for line in prov.read_text(encoding="utf-8").splitlines():
            if line.startswith("# ") and not title:
                title = line[2:].strip()
            if "**License**" in line and not lic:
                lic = line.split(":", 1)[-1].strip().strip("*").strip()
    dl = folder / "DOWNLOAD.json"
    if dl.exists() and not lic:
        try:
            meta = json.loads(dl.read_text(encoding="utf-8"))
            lic = str(meta.get("license", ""))
            title = title or str(meta.get("url", ""))
        except json.JSONDecodeError:
            pass
    return title, lic


def _check_file(file: Path, fmt: str) -> None:
    if file.is_dir() and fmt != "ged_json":
        raise typer.BadParameter(
            f"{str(file)!r} is a directory; a folder (of UCDP API JSON pages) needs"
            " --format ged_json", param_hint="'--file'",
        )  # fmt: skip
    if fmt in JSON_LIST_KEY:
        _check_pages(file, JSON_LIST_KEY[fmt])


def _check_pages(file: Path, key: str) -> None:
    """API pages must be JSON objects whose ``key`` list holds at least one event in all."""
    pages = sorted(file.glob("*.json")) if file.is_dir() else [file]
    events = 0
    for page in pages:
        try:
            doc = json.loads(page.read_bytes())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise SahelsimError(f"{page}: not a JSON API page ({exc})") from None
        rows = doc.get(key) if isinstance(doc, dict) else None
        if not isinstance(rows, list):
            raise SahelsimError(f"{page}: not an API page: expected an object with a {key!r} list")
        events += len(rows)
    if not events:
        raise SahelsimError(f"{file}: no events (the {key!r} list of every page is empty)")


def _ingest_file(st: Any, file: Path, fmt: str, source: str | None, encoding: str) -> Any:
    try:
        return st.ingest_events(file, fmt=fmt, source=source, encoding=encoding)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise SahelsimError(f"{file}: not a valid gzip file ({exc})") from None


def _drop_new_store(path: Path, new_folder: bool) -> None:
    """Remove a store file this command created before it failed (and DuckDB's WAL), and its
    folder when the command created that too."""
    for p in (path, path.with_name(path.name + ".wal")):
        p.unlink(missing_ok=True)
    if new_folder and path.parent.is_dir() and not any(path.parent.iterdir()):
        path.parent.rmdir()


@app.command("ingest")
def ingest(
    data_dir: DataDir = None,
    store: Store = None,
    out: Out = DEFAULT_OUT,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            exists=True,
            show_default=False,
            help="Ingest one event file instead of the data directory: a GED CSV/zip,"
            " an ACLED CSV, or a folder of UCDP API JSON pages (--format ged_json).",
        ),
    ] = None,
    fmt: Annotated[EventFormat, typer.Option("--format", help="Format of --file.")] = (
        EventFormat.ged_csv
    ),
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            show_default=False,
            help="Source name recorded for --file (default: from --format).",
        ),
    ] = None,
    encoding: Annotated[str, typer.Option("--encoding", help="Text encoding of --file.")] = "utf-8",
) -> int:
    """Load the data directory (or one event file) into the store."""
    if file is not None:
        _check_file(file, fmt.value)
    dd = resolve_data_dir(data_dir)
    path = store_path(store, out)
    new, new_folder = not path.exists(), not path.parent.exists()
    try:
        with open_store(path) as st:
            if file is not None:
                reports = [_ingest_file(st, file, fmt.value, source, encoding)]
            else:
                with progress() as p:
                    reports = ingest_all(dd, st, progress=Bar(p, "ingest"))
    except BaseException:
        if new:
            _drop_new_store(path, new_folder)
        raise
    print_reports(reports)
    return 0


@app.command("status")
def status(data_dir: DataDir = None, store: Store = None, out: Out = DEFAULT_OUT) -> int:
    """Every source with its provenance, license and row counts."""
    dd = resolve_data_dir(data_dir)
    say(f"data directory: {dd}  (exists: {dd.exists()})")
    path = store_path(store, out)
    ledger = None
    unmatched: list[str] = []
    if path.exists():
        with open_store(path, read_only=True) as st:
            ledger = st.ledger()
            an = st.table("actor_names")
            unmatched = sorted(an.loc[an["actor"] == "unmatched", "raw_name"].astype(str))
    rows = []
    for spec, files in present_sources(dd):
        if files:
            title, lic = _provenance(files[0].parent)
        else:
            title, lic = "absent (sahelsim data download " + spec.name + ")", spec.license
        counts = ["", "", "", ""]
        if ledger is not None and len(ledger):
            sub = ledger[(ledger["source"] == spec.name) & (~ledger["superseded"])]
            if len(sub):
                counts = [f"{int(sub[c].sum()):,}" for c in ("rows_read", "rows_accepted",
                          "rows_quarantined", "rows_filtered")]  # fmt: skip
        rows.append((spec.name, ", ".join(f.name for f in files[:3]) or "-", title[:70],
                     lic or spec.license, *counts))  # fmt: skip
    table("Sources", ("source", "files", "provenance", "license", "read", "accepted",
                      "quarantined", "filtered"), rows)  # fmt: skip
    if ledger is None:
        say(f"store {path} not created yet: run `sahelsim data ingest`")
        return 0
    say(f"store: {path}; {len(ledger)} file(s) in the ledger")
    if not unmatched:
        say("every actor name in the store maps to a model actor")
        return 0
    say(f"{len(unmatched)} actor name(s) match no model actor (kept, classed 'unmatched'):")
    for n in unmatched[:60]:
        say(f"  - {n}")
    if len(unmatched) > 60:
        say(f"  ... and {len(unmatched) - 60} more (table actor_names, actor = 'unmatched')")
    return 0


@app.command("list")
def list_() -> int:
    """The sources `sahelsim data download` can fetch."""
    table("Downloadable sources", ("name", "title", "license", "url"),
          [(s.name, s.title, s.license, s.url) for s in list_sources()])  # fmt: skip
    return 0


@app.command("download")
def download_(
    name: Annotated[str, typer.Argument(help="Source name (see `sahelsim data list`).")],
    data_dir: DataDir = None,
    force: Annotated[bool, typer.Option("--force", help="Download again even if present.")] = False,
    url: Annotated[
        str | None,
        typer.Option("--url", show_default=False, help="Fetch from this URL instead (a mirror)."),
    ] = None,
) -> int:
    """Download a source into the data directory (checksum and provenance recorded)."""
    dd = resolve_data_dir(data_dir)
    with progress() as p:
        task = p.add_task("download", total=None)

        def cb(done: int, total: int | None) -> None:
            p.update(task, completed=done, total=total)

        path = download(name, dd, force=force, url=url, progress=cb)
    say(f"{name}: {path}")
    return 0


@app.command("quarantine")
def quarantine(
    store: Store = None,
    out: Out = DEFAULT_OUT,
    source: Annotated[
        str | None, typer.Option("--source", show_default=False, help="Only this source.")
    ] = None,
    limit: Annotated[int, int_option("--limit", "Rows to show")] = 50,
) -> int:
    """Rows rejected at ingest, with the field and the reason."""
    path = store_path(store, out)
    if not path.exists():
        raise SahelsimError(f"store {path} does not exist: run `sahelsim data ingest` first")
    with open_store(path, read_only=True) as st:
        q = st.quarantine(source)
    rows = [(r.source, Path(str(r.source_file)).name, r.line, r.field, r.reason)
            for r in q.head(limit).itertuples()]  # fmt: skip
    table(f"Quarantine ({len(q)} rows)", ("source", "file", "line", "field", "reason"), rows)
    return 0


__all__ = ["app", "console", "print_reports"]

"""The embedded store: one DuckDB file behind a small interface.

Tables: the canonical tables of :mod:`sahelsim.schema` plus ``sources`` (the ledger: one row per
ingested file with its sha256 and counts) and ``quarantine`` (rejected rows with file, line,
field and reason). Every ingest runs in one transaction: a failure or a killed process leaves
the store exactly as it was. Re-ingesting a file whose sha256 is in the ledger is a no-op;
files are keyed by source and file (:func:`release_key`, rules in ``docs/data.md``).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from sahelsim.core.schema import SCHEMAS
from sahelsim.data.readers import events as ev
from sahelsim.data.readers.base import QUARANTINE_COLUMNS, ReadResult
from sahelsim.data.store import events_sql

log = logging.getLogger(__name__)

SOURCES_DDL = """
CREATE TABLE IF NOT EXISTS sources (
    file_id INTEGER PRIMARY KEY,
    source VARCHAR NOT NULL,
    file VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    version VARCHAR,
    license VARCHAR,
    citation VARCHAR,
    rows_read BIGINT NOT NULL,
    rows_accepted BIGINT NOT NULL,
    rows_quarantined BIGINT NOT NULL,
    rows_filtered BIGINT NOT NULL,
    rows_merged BIGINT NOT NULL,
    rows_stored BIGINT NOT NULL,
    ingested_at TIMESTAMP NOT NULL,
    seconds DOUBLE,
    superseded BOOLEAN NOT NULL DEFAULT FALSE,
    rows_metadata BIGINT NOT NULL DEFAULT 0
)
"""
#: ledger columns added after the first release (stores created before get them on open)
SOURCES_MIGRATIONS = (
    "ALTER TABLE sources ADD COLUMN IF NOT EXISTS rows_metadata BIGINT DEFAULT 0",
)
QUARANTINE_DDL = """
CREATE TABLE IF NOT EXISTS quarantine (
    file_id INTEGER NOT NULL,
    source VARCHAR,
    source_file VARCHAR,
    line BIGINT,
    field VARCHAR,
    reason VARCHAR NOT NULL,
    raw VARCHAR
)
"""
ACTOR_NAMES_DDL = """
CREATE TABLE IF NOT EXISTS actor_names (
    raw_name VARCHAR PRIMARY KEY,
    actor VARCHAR,
    actor_class VARCHAR,
    side VARCHAR,
    parent VARCHAR
)
"""


@dataclass(frozen=True)
class IngestReport:
    """What one ingest did. ``skipped`` is True when the file's sha256 was already loaded."""

    source: str
    file: str
    sha256: str
    rows_read: int
    rows_accepted: int
    rows_quarantined: int
    rows_filtered: int = 0
    rows_merged: int = 0
    rows_stored: int = 0
    skipped: bool = False
    seconds: float = 0.0
    #: set when the same content was already ingested under another source (not loaded again)
    duplicate_of: str = ""
    #: metadata rows of the file (an HDX HXL tag row): not part of ``rows_read``
    rows_metadata: int = 0

    def reconciles(self) -> bool:
        return self.rows_read == self.rows_accepted + self.rows_quarantined + self.rows_filtered


#: a version number in a file name (``v25.1``, ``25_1``): not part of the release key
_VERSION_IN_NAME = re.compile(r"v?\d+[._]\d+")
_COMPRESSION = (".gz", ".zip")


def release_key(file: str) -> str:
    """The name a file keeps across releases: its base name, lower case, without compression
    suffix and version number. A tabular file whose key equals that of a file already loaded
    for the same source is a new release of it and replaces it; files with different keys add
    up (several files of one source)."""
    name = Path(file).name.lower()
    for suffix in _COMPRESSION:
        name = name.removesuffix(suffix)
    return _VERSION_IN_NAME.sub("", name)


def _ddl(table: str, columns: dict[str, str]) -> str:
    cols = ",\n    ".join(f'"{c}" {t}' for c, t in columns.items())
    return f'CREATE TABLE IF NOT EXISTS "{table}" (\n    "file_id" INTEGER,\n    {cols}\n)'


class Store:
    """A DuckDB file holding everything sahelsim has read.

    >>> with Store(path) as st:
    ...     st.ingest_result(read_ucdp_cy(file))
    """

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.con = duckdb.connect(str(self.path), read_only=read_only)
        if not read_only:
            self._init_schema()

    # -- lifecycle -------------------------------------------------------------------------
    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _init_schema(self) -> None:
        self.con.execute(SOURCES_DDL)
        for stmt in SOURCES_MIGRATIONS:
            self.con.execute(stmt)
        self.con.execute(QUARANTINE_DDL)
        self.con.execute(ACTOR_NAMES_DDL)
        for table, cols in SCHEMAS.items():
            self.con.execute(_ddl(table, cols))

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One all-or-nothing transaction."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        else:
            self.con.execute("COMMIT")

    # -- ledger ----------------------------------------------------------------------------
    def find_file(self, sha256: str, source: str) -> int | None:
        row = self.con.execute(
            "SELECT file_id FROM sources WHERE sha256 = ? AND source = ? AND NOT superseded",
            [sha256, source],
        ).fetchone()
        return None if row is None else int(row[0])

    def already_ingested(self, sha256: str, source: str, file: str) -> IngestReport | None:
        """The report of a no-op when this content is in the ledger already, else None.

        The same sha256 under the same source is an unchanged file (skipped); under another
        source it is the same content under another name: reported (``duplicate_of``) and not
        loaded twice."""
        if self.find_file(sha256, source) is not None:
            log.info("%s: already ingested (sha256 %s), skipping", file, sha256[:12])
            return self.skipped_report(source, file, sha256)
        row = self.con.execute(
            "SELECT source, file FROM sources WHERE sha256 = ? AND NOT superseded"
            " ORDER BY file_id LIMIT 1",
            [sha256],
        ).fetchone()
        if row is None:
            return None
        log.warning(
            "%s: same content (sha256 %s) already ingested as source %s from %s; not loaded"
            " again as %s", file, sha256[:12], row[0], row[1], source,
        )  # fmt: skip
        return IngestReport(source, file, sha256, 0, 0, 0, skipped=True, duplicate_of=str(row[0]))

    def _next_file_id(self) -> int:
        (n,) = self.con.execute("SELECT coalesce(max(file_id), 0) + 1 FROM sources").fetchone()
        return int(n)

    def _ledger(self, file_id: int, meta: dict[str, Any], rep: IngestReport) -> None:
        self.con.execute(
            "INSERT INTO sources (file_id, source, file, sha256, version, license, citation,"
            " rows_read, rows_accepted, rows_quarantined, rows_filtered, rows_merged,"
            " rows_stored, ingested_at, seconds, superseded, rows_metadata)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now(), ?, FALSE, ?)",
            [
                file_id,
                rep.source,
                rep.file,
                rep.sha256,
                str(meta.get("version") or ""),
                str(meta.get("license") or ""),
                str(meta.get("citation") or ""),
                rep.rows_read,
                rep.rows_accepted,
                rep.rows_quarantined,
                rep.rows_filtered,
                rep.rows_merged,
                rep.rows_stored,
                rep.seconds,
                rep.rows_metadata,
            ],
        )

    def skipped_report(self, source: str, file: str, sha256: str) -> IngestReport:
        row = self.con.execute(
            "SELECT rows_read, rows_accepted, rows_quarantined, rows_filtered, rows_merged,"
            " rows_stored FROM sources WHERE sha256 = ? AND source = ? AND NOT superseded",
            [sha256, source],
        ).fetchone()
        assert row is not None
        return IngestReport(source, file, sha256, *map(int, row), skipped=True)

    # -- tabular ingest --------------------------------------------------------------------
    def ingest_result(self, result: ReadResult, *, replace_source: bool = True) -> IngestReport:
        """Store a reader's result in one transaction.

        A file already in the ledger (same sha256 and source) is skipped; the same content
        under another source is reported (``duplicate_of``) and not loaded. Otherwise the rows
        of a live file of the same ``source`` and :func:`release_key` are replaced (a newer
        release supersedes); files with other keys add up."""
        t0 = time.perf_counter()
        meta = result.meta
        sha = str(meta["sha256"])
        done = self.already_ingested(sha, result.source, str(meta.get("file")))
        if done is not None:
            return done
        table = result.table
        cols = list(SCHEMAS[table])
        missing = [c for c in cols if c not in result.data.columns]
        if missing:
            raise ValueError(f"reader for {result.source} did not produce columns {missing}")
        data = result.data[cols]
        with self.transaction() as con:
            file_id = self._next_file_id()
            if replace_source:
                key = release_key(str(meta.get("file")))
                old = [
                    int(r[0])
                    for r in con.execute(
                        "SELECT file_id, file FROM sources WHERE source = ? AND NOT superseded",
                        [result.source],
                    ).fetchall()
                    if release_key(str(r[1])) == key
                ]
                if old:
                    log.info(
                        "%s: new release of %s, replaces ledger file(s) %s",
                        meta.get("file"), key, old,
                    )  # fmt: skip
                    marks = ",".join("?" * len(old))
                    con.execute(f'DELETE FROM "{table}" WHERE file_id IN ({marks})', old)
                    con.execute(
                        f"UPDATE sources SET superseded = TRUE WHERE file_id IN ({marks})", old
                    )
            con.register("_incoming", data)
            collist = ", ".join(f'"{c}"' for c in cols)
            casts = ", ".join(f'CAST("{c}" AS {SCHEMAS[table][c]})' for c in cols)
            con.execute(
                f'INSERT INTO "{table}" (file_id, {collist}) SELECT ?, {casts} FROM _incoming',
                [file_id],
            )
            con.unregister("_incoming")
            self._insert_quarantine(file_id, result.quarantine)
            rep = IngestReport(
                source=result.source,
                file=str(meta.get("file")),
                sha256=sha,
                # readers count filtered rows apart; the ledger counts every row of the file
                rows_read=int(meta.get("rows_in_file", meta["rows_read"])),
                rows_accepted=int(meta.get("rows_accepted", len(data))),
                rows_quarantined=len(result.quarantine),
                rows_filtered=int(meta.get("rows_filtered", 0)),
                rows_stored=len(data),
                seconds=time.perf_counter() - t0,
            )
            self._ledger(file_id, meta, rep)
        log.info(
            "%s: read %d, accepted %d, quarantined %d", rep.file, rep.rows_read,
            rep.rows_accepted, rep.rows_quarantined,
        )  # fmt: skip
        return rep

    def _insert_quarantine(self, file_id: int, q: pd.DataFrame) -> None:
        if q is None or len(q) == 0:
            return
        q = q[QUARANTINE_COLUMNS].copy()
        self.con.register("_q", q)
        self.con.execute(
            "INSERT INTO quarantine SELECT ?, source, source_file, CAST(line AS BIGINT), field,"
            " reason, raw FROM _q",
            [file_id],
        )
        self.con.unregister("_q")

    # -- events ingest (DuckDB fast path) --------------------------------------------------
    def ingest_events(
        self,
        path: str | Path | list[Path],
        *,
        fmt: str,
        source: str | None = None,
        version: str = "",
        license: str = "",
        citation: str = "",
        encoding: str = "utf-8",
        on_staged: Callable[[], None] | None = None,
    ) -> IngestReport:
        """Ingest a GED CSV/zip, a folder of UCDP API JSON pages, or an ACLED CSV/JSON export.

        ``fmt`` is one of :data:`sahelsim.data.readers.events.FORMATS`. ``on_staged`` is called
        inside the open transaction after staging (used by the crash-safety test).
        """
        t0 = time.perf_counter()
        inp = ev.locate(path, fmt=fmt, source=source, encoding=encoding)
        done = self.already_ingested(inp.sha256, inp.source, inp.label)
        if done is not None:
            return done
        staging = events_sql.staged_events(self.con, inp, version=version)
        with staging as staged, self.transaction() as con:
            file_id = self._next_file_id()
            counts = events_sql.store_staged(con, staged, file_id)
            rep = IngestReport(
                inp.source, inp.label, inp.sha256, **asdict(counts),
                seconds=time.perf_counter() - t0,
            )  # fmt: skip
            meta = {"version": version, "license": license, "citation": citation}
            self._ledger(file_id, meta, rep)
            if on_staged is not None:
                on_staged()
        log.info(
            "%s: read %d, accepted %d, quarantined %d, filtered %d, merged %d",
            rep.file, rep.rows_read, rep.rows_accepted, rep.rows_quarantined, rep.rows_filtered,
            rep.rows_merged,
        )  # fmt: skip
        return rep

    # -- derived tables --------------------------------------------------------------------
    def replace_cells(self, cells: pd.DataFrame) -> None:
        """Replace the study grid (derived data, not a source file)."""
        cols = list(SCHEMAS["cells"])
        with self.transaction() as con:
            con.execute("DELETE FROM cells")
            con.register("_cells", cells[cols])
            collist = ", ".join(f'"{c}"' for c in cols)
            con.execute(
                f"INSERT INTO cells (file_id, {collist}) SELECT NULL, {collist} FROM _cells"
            )
            con.unregister("_cells")

    # -- actors ----------------------------------------------------------------------------
    def set_actor_names(self, frame: pd.DataFrame) -> None:
        """Replace the raw-name → model-actor table (from :mod:`sahelsim.actors`)."""
        cols = ["raw_name", "actor", "actor_class", "side", "parent"]
        with self.transaction() as con:
            con.execute("DELETE FROM actor_names")
            con.register("_an", frame[cols].drop_duplicates("raw_name"))
            con.execute("INSERT INTO actor_names SELECT * FROM _an")
            con.unregister("_an")

    # -- reading ---------------------------------------------------------------------------
    def sql(self, query: str, params: list[Any] | None = None) -> pd.DataFrame:
        """Run a read query and return a pandas frame."""
        return self.con.execute(query, params or []).df()

    def table(self, name: str) -> pd.DataFrame:
        if name not in SCHEMAS and name not in ("sources", "quarantine", "actor_names"):
            raise KeyError(f"unknown table {name!r}")
        return self.sql(f'SELECT * FROM "{name}"')

    def count(self, table: str) -> int:
        (n,) = self.con.execute(f'SELECT count(*) FROM "{table}"').fetchone()
        return int(n)

    def ledger(self) -> pd.DataFrame:
        return self.sql("SELECT * FROM sources ORDER BY file_id")

    def quarantine(self, source: str | None = None) -> pd.DataFrame:
        if source is None:
            return self.sql("SELECT * FROM quarantine ORDER BY file_id, line")
        return self.sql(
            "SELECT * FROM quarantine WHERE source = ? ORDER BY file_id, line", [source]
        )

    def event_names(self) -> pd.Series:
        """Every distinct actor name in the events table (sides and associated actors)."""
        return self._column_values(
            "events", ("side_a", "side_b", "assoc_a", "assoc_b"), distinct=True, non_empty=True
        )

    def ucdp_actor_names(self) -> pd.Series:
        """Every distinct name of the UCDP actor table."""
        return self.sql("SELECT DISTINCT name FROM ucdp_actors WHERE name IS NOT NULL")["name"]

    def ucdp_dyad_cells(self) -> pd.Series:
        """The dyad-name cells of the UCDP country-year table (``"A - B; C - D"``), all types."""
        return self._column_values(
            "ucdp_country_year", ("sb_dyad_names", "ns_dyad_names", "os_dyad_names")
        )

    def _column_values(
        self,
        table: str,
        columns: tuple[str, ...],
        *,
        distinct: bool = False,
        non_empty: bool = False,
    ) -> pd.Series:
        """The non-NULL values of several columns of one table, stacked (column by column).
        ``table`` and ``columns`` are schema identifiers written in this module, never input."""
        union = " UNION ALL ".join(f"SELECT {c} AS v FROM {table}" for c in columns)
        where = "v IS NOT NULL" + (" AND v <> ''" if non_empty else "")
        select = "SELECT DISTINCT v" if distinct else "SELECT v"
        return self.sql(f"{select} FROM ({union}) WHERE {where}")["v"]

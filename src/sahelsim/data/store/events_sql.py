"""The SQL of the event fast path: parse, map, check, quarantine and merge event rows.

Files are parsed by DuckDB's CSV/JSON readers with every column as text; one SQL pass maps the
source's columns to the canonical event schema (:data:`sahelsim.core.schema.EVENTS`), checks
each row and records the first failing check as its ``reason``. Accepted rows go to
``events``, failing rows to ``quarantine`` (with the raw row as JSON), rows of countries
outside the study region are counted as filtered. ``rows_read == accepted + quarantined +
filtered`` always.

Nothing taken from the input is pasted into SQL: the source name, version, file paths,
encoding and the file's column names travel as prepared parameters. The file's columns are
read under positional names (``c0``, ``c1``, ...); only the canonical names of a fixed
whitelist (:mod:`sahelsim.data.readers.events`) appear as identifiers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from sahelsim.core.canon import BBOX_MARGIN_DEG, COUNTRIES, COUNTRY_BBOX, ISONUM_TO_ISO3
from sahelsim.core.errors import InputFormatError
from sahelsim.core.schema import EARLIEST_EVENT_DATE, EVENTS, MAX_DEATHS_PER_EVENT
from sahelsim.data.readers import events as ev

log = logging.getLogger(__name__)

Params = dict[str, Any]


# -- SQL fragments (constants only: whitelisted names, numbers, fixed lookup tables) ------------
def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(s: str) -> str:
    """A string literal of a fixed table (country names and codes), never of input."""
    return "'" + str(s).replace("'", "''") + "'"


def _txt(c: str) -> str:
    """SQL: trimmed text of column ``c`` with '' as NULL."""
    return f"NULLIF(trim({_q(c)}), '')"


def _num(c: str) -> str:
    return f"TRY_CAST({_txt(c)} AS DOUBLE)"


def _notnum(c: str) -> str:
    return f"({_txt(c)} IS NOT NULL AND {_num(c)} IS NULL)"


def _count_checks(c: str, expr: str | None = None, negative: str = "negative fatalities") -> str:
    """SQL CASE branches: a death count ``expr`` (default: column ``c`` as a number) must be a
    finite, non-negative integer of at most :data:`MAX_DEATHS_PER_EVENT`."""
    x = expr or _num(c)
    return f"""
        WHEN NOT isfinite({x}) THEN '{c}|not a finite number'
        WHEN {x} < 0 THEN '{c}|{negative}'
        WHEN {x} != floor({x}) THEN '{c}|not an integer'
        WHEN {x} > {int(MAX_DEATHS_PER_EVENT)}
          THEN '{c}|above the ceiling of {int(MAX_DEATHS_PER_EVENT)} deaths per event'"""


def _date_checks(c: str, d: str) -> str:
    """SQL CASE branches: date ``d`` (of column ``c``) between EARLIEST_EVENT_DATE and today."""
    first = EARLIEST_EVENT_DATE.isoformat()
    return f"""
        WHEN {d} > current_date THEN '{c}|date in the future'
        WHEN {d} < DATE '{first}' THEN '{c}|date before {first}'"""


def _case_map(expr: str, mapping: Mapping[Any, Any], quote_keys: bool) -> str:
    """SQL CASE lookup (keeps the scan a pure projection, so row order is the file's)."""

    def val(v: Any) -> str:
        return _lit(v) if isinstance(v, str) else str(int(v))

    whens = " ".join(
        f"WHEN {_lit(str(k)) if quote_keys else int(k)} THEN {val(v)}" for k, v in mapping.items()
    )
    return f"(CASE {expr} {whens} END)"


def _in_bbox(iso3_expr: str, lat: str, lon: str) -> str:
    m = BBOX_MARGIN_DEG
    parts = " ".join(
        f"WHEN {_lit(k)} THEN ({lon} BETWEEN {float(b[0]) - m} AND {float(b[2]) + m}"
        f" AND {lat} BETWEEN {float(b[1]) - m} AND {float(b[3]) + m})"
        for k, b in COUNTRY_BBOX.items()
    )
    return f"(CASE {iso3_expr} {parts} ELSE TRUE END)"


def _month_cols(ds: str) -> str:
    return (
        f"CAST(year({ds}) AS INTEGER) AS year,"
        f" CAST((year({ds}) - 1980) * 12 + month({ds}) AS INTEGER) AS month_id"
    )


def _coord_checks(iso3: str, lat: str, lon: str) -> str:
    return f"""
        WHEN {lat} IS NULL THEN 'latitude|not a number'
        WHEN {lon} IS NULL THEN 'longitude|not a number'
        WHEN NOT isfinite({lat}) THEN 'latitude|not a finite number'
        WHEN NOT isfinite({lon}) THEN 'longitude|not a finite number'
        WHEN abs({lat}) > 90 THEN 'latitude|coordinates outside the world'
        WHEN abs({lon}) > 180 THEN 'longitude|coordinates outside the world'
        WHEN NOT {_in_bbox(iso3, lat, lon)}
          THEN 'latitude|coordinates far outside ' || {iso3}"""


def _gid(lat: str, lon: str) -> str:
    return f"CAST(floor(({lat} + 90) / 0.5) * 720 + floor(({lon} + 180) / 0.5) + 1 AS INTEGER)"


def _ged_select(cols: set[str]) -> str:
    def opt(c: str, expr: str | None = None) -> str:
        return (expr or _txt(c)) if c in cols else "NULL"

    ds = "TRY_CAST(left(trim(date_start), 10) AS DATE)"
    de = "TRY_CAST(left(trim(date_end), 10) AS DATE)"
    lat, lon = _num("latitude"), _num("longitude")
    gid_given = f"TRY_CAST({_txt('priogrid_gid')} AS INTEGER)" if "priogrid_gid" in cols else "NULL"
    gw = f"TRY_CAST({_txt('country_id')} AS INTEGER)"
    iso3 = _case_map(gw, {c.gwno: c.iso3 for c in COUNTRIES}, quote_keys=False)
    deaths = ("deaths_a", "deaths_b", "deaths_civilians", "deaths_unknown")
    death_checks = "".join(
        f"\n        WHEN {_notnum(c)} THEN '{c}|negative or not a number'"
        + _count_checks(c, negative="negative or not a number")
        for c in deaths
    )
    return f"""
    SELECT
      $source AS source, {_txt("id")} AS source_event_id,
      {ds} AS date_start, {de} AS date_end, {_month_cols(ds)},
      {iso3} AS iso3, TRY_CAST({_txt("country_id")} AS INTEGER) AS gwno,
      {lat} AS latitude, {lon} AS longitude,
      coalesce({gid_given}, {_gid(lat, lon)}) AS priogrid_gid,
      TRY_CAST({_txt("where_prec")} AS INTEGER) AS where_prec,
      {opt("adm_1")} AS admin1, {opt("adm_2")} AS admin2, {opt("where_coordinates")} AS location,
      TRY_CAST({_txt("type_of_violence")} AS INTEGER) AS type_of_violence,
      NULL AS event_type, NULL AS sub_event_type,
      {_txt("side_a")} AS side_a, {_txt("side_b")} AS side_b, NULL AS assoc_a, NULL AS assoc_b,
      {opt("dyad_name")} AS dyad_name,
      {opt("dyad_new_id", f"TRY_CAST({_txt('dyad_new_id')} AS INTEGER)")} AS dyad_new_id,
      (TRY_CAST({_txt("type_of_violence")} AS INTEGER) = 3) AS civilian_targeting,
      {_num("best")} AS best, {_num("low")} AS low, {_num("high")} AS high,
      {", ".join(f"{_num(c)} AS {c}" for c in deaths)},
      TRUE AS fatalities_reliable, $version AS version,
      -- checks ----------------------------------------------------------------------
      ({gw} IS NOT NULL AND {iso3} IS NULL) AS _filtered,
      CASE
        WHEN {_txt("id")} IS NULL THEN 'id|missing event id'
        WHEN {_txt("country_id")} IS NULL THEN 'country_id|missing country'
        WHEN TRY_CAST({_txt("country_id")} AS INTEGER) IS NULL THEN 'country_id|not an integer'
        WHEN {_txt("date_start")} IS NULL THEN 'date_start|missing date'
        WHEN {ds} IS NULL THEN 'date_start|unparseable date'
        WHEN {de} IS NULL THEN 'date_end|unparseable date'
{_date_checks("date_start", ds)}{_date_checks("date_end", de)}
        WHEN {de} < {ds} THEN 'date_end|date_end before date_start'
        WHEN TRY_CAST({_txt("type_of_violence")} AS INTEGER) IS NULL
          OR TRY_CAST({_txt("type_of_violence")} AS INTEGER) NOT IN (1, 2, 3)
          THEN 'type_of_violence|not 1, 2 or 3'{_coord_checks(iso3, lat, lon)}
        WHEN {_notnum("best")} OR {_num("best")} IS NULL THEN 'best|not a number'
        WHEN {_notnum("low")} THEN 'low|not a number'
        WHEN {_notnum("high")} THEN 'high|not a number'
{_count_checks("best")}{_count_checks("low")}{_count_checks("high")}
        WHEN {_num("low")} > {_num("best")} THEN 'low|low > best'
        WHEN {_num("best")} > {_num("high")} THEN 'high|best > high'{death_checks}
        WHEN {_notnum("where_prec")} THEN 'where_prec|not an integer'
      END AS _why
    """


def _acled_select(cols: set[str]) -> str:
    def opt(c: str) -> str:
        return _txt(c) if c in cols else "NULL"

    d_txt = _txt("event_date")
    ds = (
        f"CAST(coalesce(TRY_STRPTIME({d_txt}, '%Y-%m-%d'), TRY_STRPTIME({d_txt}, '%d %B %Y'),"
        f" TRY_STRPTIME(left({d_txt}, 10), '%Y-%m-%d')) AS DATE)"
    )
    lat, lon = _num("latitude"), _num("longitude")
    i1, i2 = opt("inter1"), opt("inter2")
    state = "('1', 'State forces', '8', 'External/Other forces')"
    civ = "('7', 'Civilians')"
    et = _txt("event_type")
    violent = f"{et} IN ('Battles', 'Explosions/Remote violence')"
    tov = f"""CASE
        WHEN {et} = 'Violence against civilians' THEN 3
        WHEN {violent} AND coalesce({i2}, '') IN {civ} THEN 3
        WHEN {violent} AND (coalesce({i1}, '') IN {state} OR coalesce({i2}, '') IN {state}) THEN 1
        WHEN {violent} THEN 2 END"""
    civ_target = (
        f"(coalesce({opt('civilian_targeting')}, '') ILIKE 'civilian%'"
        f" OR {et} = 'Violence against civilians')"
    )
    iso3 = _acled_iso3_expr(cols)
    gw = _case_map(iso3, {c.iso3: c.gwno for c in COUNTRIES}, quote_keys=True)
    fat = _num("fatalities")
    present = _iso_raw_present(cols)
    return f"""
    SELECT
      $source AS source, {_txt("event_id_cnty")} AS source_event_id,
      {ds} AS date_start, {ds} AS date_end, {_month_cols(ds)},
      {iso3} AS iso3, {gw} AS gwno,
      {lat} AS latitude, {lon} AS longitude, {_gid(lat, lon)} AS priogrid_gid,
      TRY_CAST({opt("geo_precision")} AS INTEGER) AS where_prec,
      {opt("admin1")} AS admin1, {opt("admin2")} AS admin2, {opt("location")} AS location,
      {tov} AS type_of_violence,
      {et} AS event_type, {opt("sub_event_type")} AS sub_event_type,
      {_txt("actor1")} AS side_a, {_txt("actor2")} AS side_b,
      {opt("assoc_actor_1")} AS assoc_a, {opt("assoc_actor_2")} AS assoc_b,
      NULL AS dyad_name, NULL AS dyad_new_id,
      {civ_target} AS civilian_targeting,
      {fat} AS best, NULL AS low, NULL AS high, NULL AS deaths_a, NULL AS deaths_b,
      CASE WHEN {civ_target} THEN {fat} ELSE 0 END AS deaths_civilians,
      CASE WHEN {civ_target} THEN 0 ELSE {fat} END AS deaths_unknown,
      FALSE AS fatalities_reliable, $version AS version,
      ({present} AND {iso3} IS NULL) AS _filtered,
      CASE
        WHEN {_txt("event_id_cnty")} IS NULL THEN 'event_id_cnty|missing event id'
        WHEN NOT {present} THEN 'country|missing country'
        WHEN {d_txt} IS NULL THEN 'event_date|missing date'
        WHEN {ds} IS NULL THEN 'event_date|unparseable date'
{_date_checks("event_date", ds)}
        WHEN {et} IS NULL THEN 'event_type|missing'{_coord_checks(iso3, lat, lon)}
        WHEN {_notnum("fatalities")} THEN 'fatalities|not a number'
        WHEN {fat} IS NULL THEN 'fatalities|missing'
{_count_checks("fatalities", fat)}
      END AS _why
    """


def _iso_raw_present(cols: set[str]) -> str:
    parts = [_txt(c) + " IS NOT NULL" for c in ev.ACLED_COUNTRY if c in cols]
    return "(" + (" OR ".join(parts) if parts else "FALSE") + ")"


def _acled_iso3_expr(cols: set[str]) -> str:
    """ISO3 of an ACLED row from ``iso`` (numeric), ``iso3`` or ``country``; NULL outside the
    region."""
    region = {c.iso3: c.iso3 for c in COUNTRIES}
    parts = []
    if "iso" in cols:
        parts.append(_case_map(_txt("iso"), {str(k): v for k, v in ISONUM_TO_ISO3.items()}, True))
    if "iso3" in cols:
        parts.append(_case_map(f"upper({_txt('iso3')})", region, True))
    if "country" in cols:
        names = {c.name.lower(): c.iso3 for c in COUNTRIES} | {"ivory coast": "CIV"}
        parts.append(_case_map(f"lower({_txt('country')})", names, True))
    return "coalesce(" + ", ".join(parts) + ")" if len(parts) > 1 else parts[0]


# -- staging ------------------------------------------------------------------------------------
@dataclass
class Staged:
    """An input parsed into a temporary staging table (outside any transaction)."""

    inp: ev.EventInput
    table: str
    structural: list[tuple[int, str | None, str, str]] = field(default_factory=list)
    #: physical lines of the failing staged rows, in rowid order (CSV only)
    bad_lines: np.ndarray | None = None
    #: metadata rows (an HDX HXL tag row under the header): neither read nor stored
    rows_metadata: int = 0


@dataclass(frozen=True)
class StoredCounts:
    rows_read: int
    rows_accepted: int
    rows_quarantined: int
    rows_filtered: int
    rows_merged: int
    rows_stored: int
    rows_metadata: int = 0


def _csv_relation(label: str) -> str:
    """``read_csv`` of ``$file`` under positional column names ``$names``."""
    return (
        "read_csv($file, all_varchar = true, header = true, names = $names, delim = ',',"
        " quote = '\"', escape = '\"', strict_mode = true, store_rejects = true,"
        f" rejects_table = 'rej_{label}', rejects_scan = 'rejscan_{label}',"
        f" encoding = $encoding, null_padding = false, max_line_size = {ev.MAX_LINE_BYTES})"
    )


def _json_keys(con: duckdb.DuckDBPyConnection, inp: ev.EventInput, table: str) -> list[str]:
    """Parse API pages once into temp table ``table`` (filename, Result); return the union of
    record keys. A file that is not a page raises."""
    ev.check_json_pages(inp.files)
    key = inp.list_key  # "Result" or "data": a fixed name
    try:
        con.execute(
            f"CREATE TEMP TABLE {table} AS SELECT filename, {_q(key)} AS Result FROM"
            " read_json($files, filename = true, maximum_object_size = 1073741824)",
            {"files": [str(f) for f in inp.files]},
        )
        pages = con.execute(
            f"SELECT filename, Result IS NULL, coalesce(len(Result), 0) FROM {table}"
        ).fetchall()
    except duckdb.Error as exc:  # parse/binder errors
        msg = str(exc).splitlines()[0]
        bad = next((str(f) for f in inp.files if str(f) in str(exc)), str(inp.files[0].parent))
        if key in msg:
            raise InputFormatError(bad, f"not an API page: no '{key}' list", field=key) from exc
        raise InputFormatError(bad, f"not a valid API JSON page ({msg})") from exc
    missing = [p[0] for p in pages if p[1]]
    if missing:
        raise InputFormatError(missing[0], f"not an API page: no '{key}' list", field=key)
    if sum(int(p[2]) for p in pages) == 0:
        return []
    rel = con.execute(f"SELECT r.* FROM (SELECT unnest(Result) AS r FROM {table}) LIMIT 0")
    return [d[0] for d in rel.description]


def _stage_sql(inp: ev.EventInput, columns: list[str], relation: str, params: Params) -> str:
    """The staging query over ``relation`` (which has positional columns c0..cN)."""
    known = set(inp.known_columns)
    # the first occurrence of a known name wins, as in DuckDB's header dedup
    seen: set[str] = set()
    proj = []
    for i, c in enumerate(columns):
        if c in known and c not in seen:
            seen.add(c)
            proj.append(f"c{i} AS {_q(c)}")
    # an empty set of API pages has no columns at all: the required ones are read as NULL
    proj += [f"CAST(NULL AS VARCHAR) AS {_q(c)}" for c in ev.required_columns(inp) if c not in seen]
    positional = [f"c{i}" for i in range(len(columns))]
    keep = ["_page", "_idx"] if inp.is_json else []
    params.update({f"k{i}": c for i, c in enumerate(columns)})
    raw_json = "json_object(" + ", ".join(f"$k{i}, c{i}" for i in range(len(columns))) + ")"
    select = _ged_select(seen) if inp.is_ged else _acled_select(seen)
    inner = ", ".join(proj + positional + keep)
    canon_cols = ", ".join(_q(c) for c in EVENTS)
    # The lazy CASE builds the raw-row JSON only for the rows that need it.
    return f"""
    SELECT {canon_cols}, _filtered, _why{"".join(", " + k for k in keep)},
      CASE WHEN _why IS NOT NULL AND NOT _filtered THEN {raw_json} END AS raw
    FROM (
      {select.rstrip()}{"".join(", " + c for c in positional + keep)}
      FROM (SELECT {inner} FROM {relation}) AS src
    )
    """


@contextmanager
def staged_events(
    con: duckdb.DuckDBPyConnection, inp: ev.EventInput, *, version: str
) -> Iterator[Staged]:
    """Parse and check ``inp`` into a temporary table; the temp tables are dropped on exit.

    Staging is a temp table outside the transaction (it vanishes with the process); the
    caller writes to the store inside one transaction with :func:`store_staged`.
    """
    label = f"s{abs(hash((inp.label, time.time_ns()))) % 10**9}"
    table = f"_stage_{label}"
    params: Params = {"source": inp.source, "version": version}
    temp = (table, f"rej_{label}", f"rejscan_{label}", f"_jraw_{label}")
    try:
        if inp.is_json:
            keys = _json_keys(con, inp, f"_jraw_{label}")
            ev.check_json_keys(inp, keys)
            values = ", ".join(
                f"CAST(struct_extract_at(r, {i + 1}) AS VARCHAR) AS c{i}" for i in range(len(keys))
            )
            relation = (
                f"(SELECT filename AS _page, _idx{', ' + values if values else ''} FROM"
                " (SELECT filename, unnest(Result) AS r, unnest(range(1, len(Result) + 1))"
                f" AS _idx FROM _jraw_{label}))"
            )
            if not keys:
                relation = "(SELECT NULL AS _page, NULL AS _idx WHERE FALSE)"
            _create_stage(con, inp, table, _stage_sql(inp, keys, relation, params), params)
            yield Staged(inp, table, rows_metadata=_drop_hxl_row(con, table))
            return
        with ev.open_csv(inp) as csv_table:
            header = csv_table.header
            params.update(
                file=str(csv_table.path),
                names=[f"c{i}" for i in range(len(header))],
                encoding=csv_table.encoding,
            )
            sql = _stage_sql(inp, header, _csv_relation(label), params)
            _create_stage(con, inp, table, sql, params)
            structural = _structural_rejects(con, label, inp, header)
            (n_records,) = con.execute(f"SELECT count(*) FROM {table}").fetchone()
            n_meta = _drop_hxl_row(con, table)
            bad = con.execute(
                f"SELECT rowid FROM {table} WHERE _why IS NOT NULL AND NOT _filtered ORDER BY rowid"
            ).fetchall()
            rec = np.array([int(b[0]) for b in bad], dtype=np.int64)
            lines, rej_lines = ev.physical_lines(
                csv_table, csv_table.encoding, int(n_records), rec, [s[0] for s in structural]
            )
            structural = [(ln, *s[1:]) for ln, s in zip(rej_lines, structural, strict=True)]
        yield Staged(inp, table, structural, bad_lines=lines, rows_metadata=n_meta)
    finally:
        for t in temp:
            try:
                con.execute(f"DROP TABLE IF EXISTS {t}")
            except duckdb.Error:  # best-effort cleanup of temp tables
                pass


def _drop_hxl_row(con: duckdb.DuckDBPyConnection, table: str) -> int:
    """Remove an HXL hashtag row (HDX exports: the first record, its id starting with '#')
    from the staging table; returns 1 if there was one. Rowids of the other rows stay."""
    (n,) = con.execute(
        f"SELECT count(*) FROM {table} WHERE rowid = 0 AND starts_with(source_event_id, '#')"
    ).fetchone()
    if n:
        con.execute(f"DELETE FROM {table} WHERE rowid = 0")
        log.info("HXL tag row under the header: metadata, not an event")
    return int(n)


def _create_stage(
    con: duckdb.DuckDBPyConnection, inp: ev.EventInput, table: str, sql: str, params: Params
) -> None:
    try:
        con.execute(f"CREATE TEMP TABLE {table} AS {sql}", params)
    except duckdb.Error as exc:
        csv_path = Path(params["file"]) if "file" in params else None
        raise ev.explain_parse_error(exc, inp.label, inp.encoding, csv_path) from exc


def _structural_rejects(
    con: duckdb.DuckDBPyConnection, label: str, inp: ev.EventInput, header: list[str]
) -> list[tuple[int, str | None, str, str]]:
    """Rows DuckDB could not split into the header's fields: (line, column, reason, raw)."""
    rows = con.execute(
        f"SELECT line, column_name, error_type, csv_line, error_message FROM rej_{label}"
        " ORDER BY line"
    ).fetchall()
    names = {f"c{i}": h for i, h in enumerate(header)}
    out = []
    seen: set[int] = set()
    for line, column, etype, raw, emsg in rows:
        if int(line) in seen:  # DuckDB reports one error per missing column; keep the first
            continue
        seen.add(int(line))
        reason = ev.structural_reason(inp.label, int(line), str(etype), emsg, inp.encoding)
        out.append((int(line), names.get(column, column), reason, raw))
    return out


def _warn_conflicting_duplicates(
    con: duckdb.DuckDBPyConnection, inp: ev.EventInput, good: str, n_merged: int
) -> None:
    """Log the event ids that occur more than once in one input with different values (the
    last occurrence wins: the rule of docs/data.md)."""
    values = ", ".join(_q(c) for c in EVENTS)
    (n_conflicting,) = con.execute(
        f"SELECT count(*) FROM (SELECT source_event_id {good} GROUP BY source_event_id"
        f" HAVING count(DISTINCT hash({values})) > 1)"
    ).fetchone()
    if n_conflicting:
        log.warning(
            "%s: %d event id(s) occur more than once with different values; the last"
            " occurrence of each wins (%d row(s) merged)", inp.label, n_conflicting, n_merged,
        )  # fmt: skip


# -- storing --------------------------------------------------------------------------------------
def store_staged(con: duckdb.DuckDBPyConnection, staged: Staged, file_id: int) -> StoredCounts:
    """Quarantine the failing rows and merge the accepted ones into ``events`` (the caller
    holds the transaction). Returns the counts for the ledger."""
    inp, stage, structural = staged.inp, staged.table, staged.structural
    n_stage, n_filtered, n_bad = con.execute(
        f"SELECT count(*), count(*) FILTER (_filtered),"
        f" count(*) FILTER (_why IS NOT NULL AND NOT _filtered) FROM {stage}"
    ).fetchone()
    failing = f"FROM {stage} WHERE _why IS NOT NULL AND NOT _filtered ORDER BY rowid"
    why = "split_part(_why, '|', 1), split_part(_why, '|', 2), raw"
    if n_bad and inp.is_json:
        con.execute(
            f"INSERT INTO quarantine SELECT ?, ?, _page, _idx, {why} {failing}",
            [file_id, inp.source],
        )
    elif n_bad:
        bad = con.execute(f"SELECT rowid, {why} {failing}").fetchall()
        lines = staged.bad_lines
        assert lines is not None and len(lines) == len(bad)
        con.executemany(
            "INSERT INTO quarantine VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                [file_id, inp.source, inp.label, int(ln), b[1], b[2], b[3]]
                for ln, b in zip(lines, bad, strict=True)
            ],
        )
    if structural:
        con.executemany(
            "INSERT INTO quarantine VALUES (?, ?, ?, ?, ?, ?, ?)",
            [[file_id, inp.source, inp.label, *s] for s in structural],
        )
    # accepted rows: collapse duplicates by source id (the last occurrence wins), replace older
    good = f"FROM {stage} WHERE _why IS NULL AND NOT _filtered"
    n_good = n_stage - n_filtered - n_bad
    (n_distinct,) = con.execute(f"SELECT count(DISTINCT source_event_id) {good}").fetchone()
    dedup = f"SELECT * {good}"
    if n_distinct != n_good:
        _warn_conflicting_duplicates(con, inp, good, n_good - n_distinct)
        dedup += " QUALIFY row_number() OVER (PARTITION BY source_event_id ORDER BY rowid DESC) = 1"
    replaced = f"source = ? AND source_event_id IN (SELECT source_event_id {good})"
    (n_replaced,) = con.execute(
        f"SELECT count(*) FROM events WHERE {replaced}", [inp.source]
    ).fetchone()
    if n_replaced:
        con.execute(f"DELETE FROM events WHERE {replaced}", [inp.source])
    collist = ", ".join(_q(c) for c in EVENTS)
    con.execute(
        f"INSERT INTO events (file_id, {collist}) SELECT ?, {collist} FROM ({dedup})", [file_id]
    )
    return StoredCounts(
        rows_read=int(n_stage) + len(structural),
        rows_accepted=int(n_good),
        rows_quarantined=int(n_bad) + len(structural),
        rows_filtered=int(n_filtered),
        rows_merged=int(n_good - n_distinct) + int(n_replaced),
        rows_stored=int(n_distinct),
        rows_metadata=staged.rows_metadata,
    )

"""Download layer against a real HTTP server on 127.0.0.1 (no other network)."""

from __future__ import annotations

import gzip
import hashlib
import io
import itertools
import json
import math
import re
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from sahelsim.core.errors import DownloadError
from sahelsim.data import download as dl
from sahelsim.data.fixtures import acled_frame, ged_frame

UCDP_TOKEN = "test-token-123"
ACLED_KEY = "acled-key-xyz"
ACLED_EMAIL = "analyst@example.org"


# ------------------------------------------------------------------------------------------
# Loopback server
# ------------------------------------------------------------------------------------------


@dataclass
class Seen:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    status: int = 0
    sent: int = 0


@dataclass
class ServerState:
    files: dict[str, bytes] = field(default_factory=dict)
    fail_500: dict[str, int] = field(default_factory=dict)  # path -> number of 500s to send
    drop_after: dict[str, int] = field(default_factory=dict)  # path -> bytes before hang-up
    ignore_range: set[str] = field(default_factory=set)
    ged_rows: list[dict[str, Any]] = field(default_factory=list)
    acled_rows: list[dict[str, Any]] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    base: str = ""

    def requests_for(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]


class Handler(BaseHTTPRequestHandler):
    server: Any

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self._seen.status, self._seen.sent = status, len(body)  # before the client can read
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        st: ServerState = self.server.state
        parts = urlsplit(self.path)
        self._seen = Seen(
            parts.path, parse_qs(parts.query), {k.lower(): v for k, v in self.headers.items()}
        )
        st.seen.append(self._seen)
        path = parts.path
        if st.fail_500.get(path, 0) > 0:
            st.fail_500[path] -= 1
            self._send(500, b"internal error")
            return
        if path.startswith("/api/gedevents/"):
            self._ucdp_api(st)
            return
        if path == "/api/acled/read":
            self._acled_api(st)
            return
        body = st.files.get(path)
        if body is None:
            self._send(404, b"not found")
            return
        rng = self.headers.get("Range")
        m = re.fullmatch(r"bytes=(\d+)-", rng or "")
        if m and path not in st.ignore_range:
            start = int(m.group(1))
            if start >= len(body):
                self._send(416, b"", {"Content-Range": f"bytes */{len(body)}"})
                return
            chunk = body[start:]
            crange = f"bytes {start}-{len(body) - 1}/{len(body)}"
            self._send(206, chunk, {"Content-Range": crange, "Accept-Ranges": "bytes"})
            return
        if path in st.drop_after:
            cut = st.drop_after.pop(path)
            self._seen.status, self._seen.sent = 200, cut
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[:cut])
            self.wfile.flush()
            self.close_connection = True
            return
        self._send(200, body, {"Accept-Ranges": "bytes"})

    def _json(self, status: int, doc: Any) -> None:
        self._send(status, json.dumps(doc).encode(), {"Content-Type": "application/json"})

    def _ucdp_api(self, st: ServerState) -> None:
        if self.headers.get("x-ucdp-access-token") != UCDP_TOKEN:
            self._json(401, {"message": "access token required"})
            return
        q = self._seen.query
        size = int(q["pagesize"][0])
        page = int(q.get("page", ["0"])[0])
        rows = st.ged_rows
        if "Country" in q:
            wanted = {int(c) for c in q["Country"][0].split(",")}
            rows = [r for r in rows if int(r["country_id"]) in wanted]
        pages = max(1, math.ceil(len(rows) / size))
        nxt = ""
        if page + 1 < pages:
            nxt_q = urlencode({**{k: v[0] for k, v in q.items()}, "page": page + 1}, safe=",")
            nxt = f"{st.base}{self._seen.path}?{nxt_q}"
        doc = {
            "TotalCount": len(rows),
            "TotalPages": pages,
            "PreviousPageUrl": "",
            "NextPageUrl": nxt,
            "Result": rows[page * size : (page + 1) * size],
        }
        self._json(200, doc)

    def _acled_api(self, st: ServerState) -> None:
        q = self._seen.query
        if q.get("key") != [ACLED_KEY] or q.get("email") != [ACLED_EMAIL]:
            self._json(200, {"success": False, "error": {"status": 403, "message": "denied"}})
            return
        limit = int(q["limit"][0])
        page = int(q["page"][0])
        data = st.acled_rows[(page - 1) * limit : page * limit]
        self._json(200, {"status": 200, "success": True, "count": len(data), "data": data})


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    for var in (
        dl.ENV_MIRROR,
        dl.ENV_UCDP_TOKEN,
        dl.ENV_ACLED_KEY,
        dl.ENV_ACLED_EMAIL,
        dl.ENV_ACLED_TOKEN,
    ):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture()
def server() -> Iterator[ServerState]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state = ServerState()
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.state = state  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


# ------------------------------------------------------------------------------------------
# Fixture files (format-true, tiny)
# ------------------------------------------------------------------------------------------


def ged_zip_bytes(n: int = 40) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("GEDEvent_v25_1.csv", ged_frame(n, seed=3).to_csv(index=False))
    return buf.getvalue()


def cy_gz_bytes() -> bytes:
    text = (
        "country_id_cy,country_cy,year_cy,sb_total_deaths_best_cy,version\n"
        "432,Mali,2023,1200,25.1\n439,Burkina Faso,2023,4100,25.1\n436,Niger,2023,700,25.1\n"
    )
    return gzip.compress(text.encode(), mtime=0)


def big_bytes(n: int = 300_000) -> bytes:
    return bytes((i * 7919 + i // 251) % 256 for i in range(n))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_source(
    filename: str, *, url: str, sha256: str = "", kind: str = "file", folder: str = "test-src"
) -> dl.Source:
    return dl.Source(
        name="test_src",
        title="Test source",
        folder=folder,
        filename=filename,
        url=url,
        license="CC BY 4.0",
        kind=kind,
        sha256=sha256,
        version="9.9",
    )


def folder_files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


# ------------------------------------------------------------------------------------------
# Registry
# ------------------------------------------------------------------------------------------

EXPECTED_NAMES = {
    "ucdp_ged", "ucdp_candidate", "ucdp_ged_api", "ucdp_cy", "ucdp_ged_cm", "ucdp_actors",
    "unhcr_population",
    "unhcr_flows", "unhcr_solutions", "unhcr_idmc", "unhcr_countries", "iom_dtm_mali",
    "worldpop_priogrid", "worldpop_cells", "naturalearth_admin1", "naturalearth_admin0",
    "naturalearth_bfa_regions", "worldbank_population", "acled",
}  # fmt: skip


def test_every_registry_entry_is_complete() -> None:
    sources = dl.list_sources()
    assert {s.name for s in sources} == EXPECTED_NAMES
    for s in sources:
        assert dl.get_source(s.name) is s
        assert s.kind in dl.KINDS
        assert s.title and s.license and s.folder and s.filename and s.citation and s.homepage
        for rf in s.files():
            assert rf.url.startswith("https://"), (s.name, rf.url)
            assert rf.filename and not rf.filename.startswith("/")
            assert rf.sha256 == "" or re.fullmatch(r"[0-9a-f]{64}", rf.sha256)
            if "raw.githubusercontent.com" in rf.url:  # pinned to a commit, never a branch
                assert re.match(
                    r"https://raw\.githubusercontent\.com/[^/]+/[^/]+/[0-9a-f]{40}/", rf.url
                )
    api = dl.get_source("ucdp_ged_api")
    assert api.url == "https://ucdpapi.pcr.uu.se/api/gedevents/25.1"
    assert api.auth_env == ("UCDP_API_TOKEN",)
    assert dl.get_source("ucdp_ged").url.endswith("/ged251-csv.zip")
    assert dl.get_source("ucdp_ged").folder == "ucdp-ged-v25.1"
    assert dl.get_source("acled").auth_env == ("ACLED_API_KEY", "ACLED_EMAIL")
    assert dl.get_source("ucdp_cy").sha256.startswith("38d8f786")


def test_unknown_source_lists_valid_names() -> None:
    with pytest.raises(DownloadError, match="unknown data source 'ucdp_gde'") as err:
        dl.get_source("ucdp_gde")
    assert "ucdp_ged" in str(err.value) and "worldbank_population" in str(err.value)


@pytest.mark.realdata
def test_registry_matches_staged_folders_and_checksums(shared_data: Path) -> None:
    folders = {s.folder for s in dl.list_sources()}
    staged = {p.name for p in shared_data.iterdir() if p.is_dir() and p.name != "acled-notes"}
    assert staged <= folders, staged - folders
    checked = 0
    for s in dl.list_sources():
        for rf in s.files():
            local = shared_data / s.folder / rf.filename
            if rf.sha256 and local.exists():  # files staged unchanged carry the upstream hash
                assert dl.sha256_file(local) == rf.sha256, local
                checked += 1
    assert checked >= 10


# ------------------------------------------------------------------------------------------
# Plain files
# ------------------------------------------------------------------------------------------


def test_zip_download_records_checksum_and_manifest(server: ServerState, tmp_path: Path) -> None:
    body = ged_zip_bytes()
    server.files["/ged/ged251-csv.zip"] = body
    src = make_source("ged251-csv.zip", url=f"{server.base}/ged/ged251-csv.zip", kind="zip")
    path = dl.download(src, tmp_path)
    assert path == tmp_path / "test-src" / "ged251-csv.zip"
    assert path.read_bytes() == body
    with zipfile.ZipFile(path) as zf:
        header = zf.read("GEDEvent_v25_1.csv").decode().splitlines()[0]
    assert header.startswith("id,relid,year,active_year")
    assert (tmp_path / "test-src" / "ged251-csv.zip.sha256").read_text().split() == [
        sha(body),
        "ged251-csv.zip",
    ]
    entry = json.loads((tmp_path / "test-src" / "DOWNLOAD.json").read_text())["files"][
        "ged251-csv.zip"
    ]
    assert entry["sha256"] == sha(body)
    assert entry["bytes"] == len(body)
    assert entry["url"] == src.url
    assert entry["license"] == "CC BY 4.0" and entry["version"] == "9.9"
    assert entry["sha256_known"] is False
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", entry["time"])
    assert folder_files(tmp_path / "test-src") == [
        "DOWNLOAD.json",
        "ged251-csv.zip",
        "ged251-csv.zip.sha256",
    ]


def test_known_checksum_match(server: ServerState, tmp_path: Path) -> None:
    body = cy_gz_bytes()
    server.files["/cy.csv.gz"] = body
    src = make_source("cy.csv.gz", url=f"{server.base}/cy.csv.gz", sha256=sha(body))
    path = dl.download(src, tmp_path)
    assert gzip.decompress(path.read_bytes()).decode().startswith("country_id_cy,")
    manifest = dl.read_manifest(path.parent)["files"]["cy.csv.gz"]
    assert manifest["sha256_known"] is True and manifest["sha256"] == sha(body)


def test_known_checksum_mismatch_leaves_nothing(server: ServerState, tmp_path: Path) -> None:
    body = cy_gz_bytes()
    server.files["/cy.csv.gz"] = body
    wrong = "0" * 64
    src = make_source("cy.csv.gz", url=f"{server.base}/cy.csv.gz", sha256=wrong)
    with pytest.raises(DownloadError) as err:
        dl.download(src, tmp_path)
    msg = str(err.value)
    assert wrong in msg and sha(body) in msg and "mismatch" in msg
    assert folder_files(tmp_path / "test-src") == []


def test_zip_kind_rejects_non_zip(server: ServerState, tmp_path: Path) -> None:
    server.files["/ged251-csv.zip"] = b"<html>maintenance</html>"
    src = make_source("ged251-csv.zip", url=f"{server.base}/ged251-csv.zip", kind="zip")
    with pytest.raises(DownloadError, match="not a valid zip"):
        dl.download(src, tmp_path)
    assert folder_files(tmp_path / "test-src") == []


def test_resume_from_partial_file(server: ServerState, tmp_path: Path) -> None:
    body = big_bytes()
    server.files["/big.bin"] = body
    part = tmp_path / "test-src" / "big.bin.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(body[:123_457])
    src = make_source("big.bin", url=f"{server.base}/big.bin", sha256=sha(body))
    path = dl.download(src, tmp_path)
    assert path.read_bytes() == body
    assert not part.exists()
    (req,) = server.requests_for("/big.bin")
    assert req.headers["range"] == "bytes=123457-"
    assert req.status == 206 and req.sent == len(body) - 123_457


def test_interrupted_transfer_is_resumed(server: ServerState, tmp_path: Path) -> None:
    body = big_bytes()
    server.files["/big.bin"] = body
    server.drop_after["/big.bin"] = 100_000
    src = make_source("big.bin", url=f"{server.base}/big.bin")
    path = dl.download(src, tmp_path, backoff=0)
    assert path.read_bytes() == body
    first, second = server.requests_for("/big.bin")
    assert "range" not in first.headers and first.sent == 100_000
    assert second.headers["range"] == "bytes=100000-" and second.status == 206
    assert dl.read_manifest(path.parent)["files"]["big.bin"]["sha256"] == sha(body)


def test_server_ignoring_range_restarts(server: ServerState, tmp_path: Path) -> None:
    body = big_bytes(50_000)
    server.files["/big.bin"] = body
    server.ignore_range.add("/big.bin")
    part = tmp_path / "test-src" / "big.bin.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(b"\xff" * 20_000)  # stale bytes that are not a prefix of the file
    src = make_source("big.bin", url=f"{server.base}/big.bin")
    path = dl.download(src, tmp_path)
    assert path.read_bytes() == body
    (req,) = server.requests_for("/big.bin")
    assert req.headers["range"] == "bytes=20000-" and req.status == 200
    assert not part.exists()


def test_oversized_partial_file_restarts_after_416(server: ServerState, tmp_path: Path) -> None:
    body = big_bytes(10_000)
    server.files["/big.bin"] = body
    part = tmp_path / "test-src" / "big.bin.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(b"x" * 20_000)
    path = dl.download(make_source("big.bin", url=f"{server.base}/big.bin"), tmp_path)
    assert path.read_bytes() == body
    assert [r.status for r in server.requests_for("/big.bin")] == [416, 200]


def test_404_names_url_and_status(server: ServerState, tmp_path: Path) -> None:
    url = f"{server.base}/missing/ged999-csv.zip"
    with pytest.raises(DownloadError) as err:
        dl.download(make_source("x.zip", url=url, kind="zip"), tmp_path, backoff=0)
    assert "404" in str(err.value) and url in str(err.value)
    assert len(server.requests_for("/missing/ged999-csv.zip")) == 1  # 4xx is not retried
    assert folder_files(tmp_path / "test-src") == []


def test_500_then_success_is_retried(server: ServerState, tmp_path: Path) -> None:
    body = cy_gz_bytes()
    server.files["/cy.csv.gz"] = body
    server.fail_500["/cy.csv.gz"] = 2
    src = make_source("cy.csv.gz", url=f"{server.base}/cy.csv.gz", sha256=sha(body))
    path = dl.download(src, tmp_path, backoff=0)
    assert path.read_bytes() == body
    assert [r.status for r in server.requests_for("/cy.csv.gz")] == [500, 500, 200]


def test_persistent_500_gives_up_after_bounded_tries(server: ServerState, tmp_path: Path) -> None:
    server.files["/cy.csv.gz"] = cy_gz_bytes()
    server.fail_500["/cy.csv.gz"] = 10
    url = f"{server.base}/cy.csv.gz"
    with pytest.raises(DownloadError, match="after 3 attempt") as err:
        dl.download(make_source("cy.csv.gz", url=url), tmp_path, backoff=0)
    assert url in str(err.value) and "500" in str(err.value)
    assert len(server.requests_for("/cy.csv.gz")) == 3


def test_connection_refused_is_a_download_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/f.csv"
    with pytest.raises(DownloadError, match="after 2 attempt"):
        dl.download(make_source("f.csv", url=url), tmp_path, retries=2, backoff=0, timeout=5)


def test_skip_when_present_and_force(server: ServerState, tmp_path: Path) -> None:
    body = cy_gz_bytes()
    server.files["/cy.csv.gz"] = body
    src = make_source("cy.csv.gz", url=f"{server.base}/cy.csv.gz")
    first = dl.download(src, tmp_path)
    again = dl.download(src, tmp_path)
    assert again == first and len(server.requests_for("/cy.csv.gz")) == 1
    dl.download(src, tmp_path, force=True)
    assert len(server.requests_for("/cy.csv.gz")) == 2
    first.write_bytes(b"corrupted")  # checksum no longer matches the sidecar: fetched again
    dl.download(src, tmp_path)
    assert len(server.requests_for("/cy.csv.gz")) == 3
    assert first.read_bytes() == body


def test_progress_reports_bytes(server: ServerState, tmp_path: Path) -> None:
    body = big_bytes(200_000)
    server.files["/big.bin"] = body
    calls: list[tuple[int, int | None]] = []
    dl.download(
        make_source("big.bin", url=f"{server.base}/big.bin"),
        tmp_path,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls[-1] == (len(body), len(body))
    assert all(a[0] < b[0] for a, b in itertools.pairwise(calls))


def test_mirror_env_serves_registry_sources(
    server: ServerState, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = dl.get_source("naturalearth_admin1")
    bodies = {}
    for rf in src.files():
        doc = {"type": "FeatureCollection", "features": [], "name": rf.filename}
        bodies[rf.filename] = json.dumps(doc).encode()
        server.files[f"/mirror/{src.folder}/{rf.filename}"] = bodies[rf.filename]
    monkeypatch.setenv(dl.ENV_MIRROR, f"{server.base}/mirror/")
    path = dl.download("naturalearth_admin1", tmp_path)
    assert path == tmp_path / src.folder / "mli.json"
    for name, body in bodies.items():
        assert (tmp_path / src.folder / name).read_bytes() == body
    manifest = dl.read_manifest(tmp_path / src.folder)["files"]
    assert set(manifest) == set(bodies)
    assert manifest["nga.json"]["url"] == f"{server.base}/mirror/{src.folder}/nga.json"
    assert manifest["nga.json"]["source"] == "naturalearth_admin1"


def test_mirror_enforces_published_checksum(
    server: ServerState, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = dl.get_source("ucdp_cy")
    server.files[f"/{src.folder}/{src.filename}"] = b"not the UCDP file\n"
    monkeypatch.setenv(dl.ENV_MIRROR, server.base)
    with pytest.raises(DownloadError, match=src.sha256):
        dl.download("ucdp_cy", tmp_path)
    assert folder_files(tmp_path / src.folder) == []


def test_url_override_fetches_extra_files_next_to_it(server: ServerState, tmp_path: Path) -> None:
    src = dl.Source(
        name="multi",
        title="multi",
        folder="multi",
        filename="sub/a.csv",
        url="https://example.invalid/a.csv",
        license="CC0",
        extra_files=(dl.RemoteFile("sub/b.csv", "https://example.invalid/b.csv"),),
    )
    server.files["/m/a.csv"] = b"a\n1\n"
    server.files["/m/b.csv"] = b"b\n2\n"
    path = dl.download(src, tmp_path, url=f"{server.base}/m/a.csv")
    assert path.read_bytes() == b"a\n1\n"
    assert (tmp_path / "multi" / "sub" / "b.csv").read_bytes() == b"b\n2\n"


# ------------------------------------------------------------------------------------------
# UCDP API
# ------------------------------------------------------------------------------------------


def _ged_rows(n: int) -> list[dict[str, Any]]:
    frame = ged_frame(n, seed=5)
    rows = frame.to_dict(orient="records")
    for r in rows:
        r["id"] = int(r["id"])
        r["country_id"] = int(r["country_id"])
        r["best"] = int(r["best"])
    return rows


def test_ucdp_api_pages_with_token(server: ServerState, tmp_path: Path) -> None:
    rows = _ged_rows(5)
    rows.append({**rows[0], "id": 999, "country_id": 475})  # Nigeria: filtered out by Country
    server.ged_rows = rows
    calls: list[tuple[int, int | None]] = []
    out = dl.download_ucdp_api(
        "25.1",
        tmp_path,
        country_ids=(432, 439, 436),
        pagesize=2,
        token=UCDP_TOKEN,
        base_url=f"{server.base}/api/gedevents/25.1",
        start_date="2012-01-01",
        progress=lambda d, t: calls.append((d, t)),
    )
    assert out == tmp_path / "ucdp-ged-api-v25.1"
    assert [p.name for p in sorted(out.glob("page_*.json"))] == [
        "page_0000.json",
        "page_0001.json",
        "page_0002.json",
    ]
    seen = server.requests_for("/api/gedevents/25.1")
    assert len(seen) == 3
    assert all(r.headers["x-ucdp-access-token"] == UCDP_TOKEN for r in seen)
    assert seen[0].query["Country"] == ["432,439,436"]
    assert seen[0].query["StartDate"] == ["2012-01-01"]
    assert [r.query["page"] for r in seen] == [["0"], ["1"], ["2"]]
    got = [
        e["id"]
        for p in sorted(out.glob("page_*.json"))
        for e in json.loads(p.read_text())["Result"]
    ]
    assert got == [r["id"] for r in rows[:5]]
    assert calls == [(1, 3), (2, 3), (3, 3)]
    entry = dl.read_manifest(out)["files"]["page_*.json"]
    assert entry["complete"] is True and entry["pages"] == 3 and entry["rows"] == 5
    assert entry["total_count"] == 5 and set(entry["sha256"]) == {
        "page_0000.json",
        "page_0001.json",
        "page_0002.json",
    }
    assert UCDP_TOKEN not in (out / "DOWNLOAD.json").read_text()


def test_ucdp_api_resumes_at_page_granularity(
    server: ServerState, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.ged_rows = _ged_rows(5)
    monkeypatch.setenv(dl.ENV_UCDP_TOKEN, UCDP_TOKEN)
    kw: dict[str, Any] = {"pagesize": 2, "country_ids": (432, 439, 436)}
    base = f"{server.base}/api/gedevents/25.1"
    out = dl.download_ucdp_api("25.1", tmp_path, base_url=base, **kw)
    before = (out / "page_0001.json").read_bytes()
    (out / "page_0001.json").unlink()
    server.seen.clear()
    dl.download_ucdp_api("25.1", tmp_path, base_url=base, **kw)
    (only,) = server.seen
    assert only.query["page"] == ["1"]
    assert (out / "page_0001.json").read_bytes() == before
    with pytest.raises(DownloadError, match="another query"):
        dl.download_ucdp_api("25.1", tmp_path, base_url=base, pagesize=2, country_ids=(432,))


def test_ucdp_api_via_download_uses_registry_folder(
    server: ServerState, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.ged_rows = _ged_rows(3)
    monkeypatch.setenv(dl.ENV_UCDP_TOKEN, UCDP_TOKEN)
    out = dl.download("ucdp_ged_api", tmp_path, url=f"{server.base}/api/gedevents/25.1")
    assert out == tmp_path / dl.get_source("ucdp_ged_api").folder
    doc = json.loads((out / "page_0000.json").read_text())
    assert doc["TotalCount"] == 3 and len(doc["Result"]) == 3


def test_ucdp_api_without_token_is_a_clear_error(server: ServerState, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="UCDP_API_TOKEN"):
        dl.download_ucdp_api("25.1", tmp_path, base_url=f"{server.base}/api/gedevents/25.1")
    assert server.seen == []


def test_ucdp_api_wrong_token_names_status(server: ServerState, tmp_path: Path) -> None:
    base = f"{server.base}/api/gedevents/25.1"
    with pytest.raises(DownloadError, match="HTTP 401") as err:
        dl.download_ucdp_api("25.1", tmp_path, base_url=base, token="wrong")
    assert base in str(err.value)


# ------------------------------------------------------------------------------------------
# ACLED API
# ------------------------------------------------------------------------------------------


def test_acled_without_credentials_is_a_clear_error(server: ServerState, tmp_path: Path) -> None:
    with pytest.raises(DownloadError) as err:
        dl.download("acled", tmp_path, url=f"{server.base}/api/acled/read")
    msg = str(err.value)
    assert "ACLED_API_KEY" in msg and "ACLED_EMAIL" in msg and "account" in msg
    assert server.seen == []


def test_acled_pages_with_key_and_email(
    server: ServerState, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.acled_rows = acled_frame(7, seed=2).to_dict(orient="records")
    monkeypatch.setenv(dl.ENV_ACLED_KEY, ACLED_KEY)
    monkeypatch.setenv(dl.ENV_ACLED_EMAIL, ACLED_EMAIL)
    out = dl.download_acled_api(
        tmp_path, base_url=f"{server.base}/api/acled/read", limit=3, start_date="2020-01-01"
    )
    pages = sorted(out.glob("page_*.json"))
    assert [p.name for p in pages] == ["page_0000.json", "page_0001.json", "page_0002.json"]
    ids = [e["event_id_cnty"] for p in pages for e in json.loads(p.read_text())["data"]]
    assert ids == [r["event_id_cnty"] for r in server.acled_rows]
    seen = server.requests_for("/api/acled/read")
    assert [r.query["page"] for r in seen] == [["1"], ["2"], ["3"]]
    assert seen[0].query["iso"] == ["466|854|562|204|768|288|384|566|478|12|148|686|324"]
    assert seen[0].query["event_date_where"] == ["BETWEEN"]
    manifest = (out / "DOWNLOAD.json").read_text()
    assert ACLED_KEY not in manifest and ACLED_EMAIL not in manifest
    assert json.loads(manifest)["files"]["page_*.json"]["rows"] == 7


def test_acled_refusal_is_reported(server: ServerState, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="ACLED API refused") as err:
        dl.download_acled_api(
            tmp_path, base_url=f"{server.base}/api/acled/read", key="bad", email="x@y.z"
        )
    assert "key=***" in str(err.value) and "x@y.z" not in str(err.value)

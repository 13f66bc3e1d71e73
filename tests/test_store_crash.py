"""A process killed in the middle of an ingest leaves the store exactly as before."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from sahelsim.data.fixtures import ged_frame, write_csv
from sahelsim.data.store.store import Store

SCRIPT = textwrap.dedent(
    """
    import sys, time, pathlib
    from sahelsim.data.store.store import Store
    store_path, csv_path, marker = sys.argv[1:4]
    st = Store(store_path)
    def hold():
        pathlib.Path(marker).write_text("staged")
        time.sleep(120)
    st.ingest_events(csv_path, fmt="ged_csv", on_staged=hold)
    """
)


def _snapshot(path: Path) -> tuple:
    with Store(path, read_only=True) as st:
        ev = st.sql("SELECT count(*) n, sum(best) b, max(source_event_id) m FROM events")
        return (
            tuple(ev.iloc[0]),
            st.count("sources"),
            st.count("quarantine"),
            tuple(st.ledger().sha256),
        )


def test_killed_ingest_leaves_store_unchanged(tmp_path):
    db = tmp_path / "s.duckdb"
    first = ged_frame(500, seed=1)
    first.loc[3, "best"] = "-1"
    with Store(db) as st:
        st.ingest_events(write_csv(first, tmp_path / "a.csv"), fmt="ged_csv")
    before = _snapshot(db)

    big = ged_frame(20_000, seed=2)
    big.loc[10, "best"] = "-4"  # so quarantine is written inside the transaction too
    big_path = write_csv(big, tmp_path / "b.csv")
    marker = tmp_path / "marker"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1] / "src"))
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(db), str(big_path), str(marker)], env=env
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert proc.poll() is None, "ingest process ended before it staged"
            assert time.monotonic() < deadline, "ingest never reached the staged point"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)  # rows are inserted but not committed
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert _snapshot(db) == before

    # the store is usable and the same file ingests cleanly afterwards
    with Store(db) as st:
        rep = st.ingest_events(big_path, fmt="ged_csv")
        assert rep.rows_accepted == 19_999 and rep.rows_quarantined == 1
        assert st.count("events") == 499 + 19_999

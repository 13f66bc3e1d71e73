"""Shared fixtures. Real data come from $SAHELSIM_DATA or ../shared/data next to the repo."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))  # tools/ scripts used by tests (golden runs, import graph)


def shared_data_dir() -> Path | None:
    env = os.environ.get("SAHELSIM_DATA")
    cands = [Path(env)] if env else []
    cands.append(REPO.parent / "shared" / "data")
    for c in cands:
        if (c / "ucdp-organized-violence-cy-v25.1").is_dir():
            return c
    return None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    d = shared_data_dir()
    if d is None:
        pytest.skip(
            "real data absent: set SAHELSIM_DATA or place the staged data in ../shared/data"
        )
    return d


@pytest.fixture(scope="session")
def shared_data_or_none() -> Path | None:
    return shared_data_dir()


@pytest.fixture()
def store(tmp_path):
    from sahelsim.data.store.store import Store

    st = Store(tmp_path / "t.duckdb")
    yield st
    st.close()

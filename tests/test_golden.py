"""Same seed, same numbers: small runs compared with outputs recorded before the package was
restructured (``tools/record_golden.py``). A change that is meant to move the numbers records
new files and says so in its commit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import record_golden as rg  # tools/ is on sys.path via conftest

GOLDEN = Path(__file__).resolve().parent / "golden"


@pytest.mark.parametrize("name", sorted(rg.CASES))
def test_outputs_match_recorded(name, shared_data_or_none):
    path = GOLDEN / f"{name}.npz"
    if not path.exists():
        pytest.skip(f"no recorded outputs {path.name}")
    synthetic = rg.CASES[name][5]
    if not synthetic and shared_data_or_none is None:
        pytest.skip("needs ../shared/data")
    want = np.load(path)
    got = rg.run_case(name, None if synthetic else shared_data_or_none)
    assert sorted(got) == sorted(want.files)
    for k in want.files:
        np.testing.assert_array_equal(got[k], want[k], err_msg=f"{name}: {k}")

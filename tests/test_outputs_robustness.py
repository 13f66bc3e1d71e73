"""Issue 14: bad input never loses data and never runs as code.

Data-derived text is printed as text (never Rich markup) and cut to a readable length; a
scenario file is size-capped, depth-checked and its name restricted to ``[a-z0-9_-]{1,64}``; a
failed write leaves the previous results byte-identical and no temporary files; every bad input
below is one line on stderr with exit code 2, no traceback and no file written.
"""

from __future__ import annotations

import errno
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path

import pandas as pd
import pytest
import xarray as xr

from sahelsim.cli import backtest_cmds, data_cmds, evidence_cmds, model_cmds
from sahelsim.cli.console import MAX_TEXT
from sahelsim.cli.main import main
from sahelsim.core.atomic import TMP_SUFFIX, write_all_atomic
from sahelsim.core.errors import SahelsimError
from sahelsim.forecast.views_io import read_views_parquet, write_views_parquet
from sahelsim.scenarios.run import run_scenario, write_outputs
from sahelsim.scenarios.scenario import MAX_BYTES, ScenarioError, load_scenario

MARKUP = "0 [/bold] militia [red]x[/]"
SHIPPED = resources.files("sahelsim.resources").joinpath("scenarios/acceleration.toml")
TINY = ["--synthetic", "--members", "2", "--months", "2"]


@pytest.fixture()
def work(tmp_path, monkeypatch):
    """An empty working directory without data (the default --out is ./out under it)."""
    w = tmp_path / "work"
    w.mkdir()
    monkeypatch.chdir(w)
    monkeypatch.setenv("SAHELSIM_DATA", str(tmp_path / "no-data"))
    return w


def scenario_file(folder: Path, *, name: str = "custom", title: str = "A title",
                  description: str = "", fname: str = "custom.toml") -> Path:  # fmt: skip
    """The shipped reference scenario with another name, title and a longer description."""
    text = SHIPPED.read_text(encoding="utf-8")
    text = text.replace('name = "acceleration"', f"name = {name!r}" if "\n" not in name
                        else 'name = "' + name.replace("\n", "\\n") + '"')  # fmt: skip
    text = text.replace('title = "Acceleration: the current trajectory carries on"',
                        f"title = {title!r}")  # fmt: skip
    text = text.replace('description = """\n', f'description = """\n{description}', 1)
    path = folder / fname
    path.write_text(text, encoding="utf-8")
    return path


def one_error_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


def files_under(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


# -- 1. markup, long texts, hostile scenario files --------------------------------------------------
def test_scenario_title_with_markup_is_printed_as_text(work, capsys):
    path = scenario_file(work, title=f"Title {MARKUP}")
    assert main(["scenarios", "show", str(path)]) == 0
    assert f"custom: Title {MARKUP}" in capsys.readouterr().out


def test_scenarios_list_prints_titles_as_text(work, monkeypatch, capsys):
    sc = load_scenario(scenario_file(work, title=f"Title {MARKUP}"))
    monkeypatch.setattr(model_cmds, "list_scenarios", lambda: ["custom"])
    monkeypatch.setattr(model_cmds, "load_scenario", lambda name: sc)
    assert main(["scenarios", "list"]) == 0
    assert MARKUP in capsys.readouterr().out


def test_long_description_is_cut_for_display_and_fast(work, capsys):
    path = scenario_file(work, description="word " * 180_000 + "\n")  # 900 kB, under the cap
    t0 = time.perf_counter()
    assert main(["scenarios", "show", str(path)]) == 0
    assert time.perf_counter() - t0 < 20
    out = capsys.readouterr().out
    assert "more characters not shown" in out
    assert len(out) < 3 * MAX_TEXT


def test_oversized_scenario_file_is_rejected_naming_the_file(work, capsys):
    path = scenario_file(work, description="x" * (MAX_BYTES + 10) + "\n", fname="huge.toml")
    with pytest.raises(ScenarioError, match=r"(?s)huge\.toml.*larger than"):
        load_scenario(path)
    assert main(["scenarios", "show", str(path)]) == 2
    assert "huge.toml" in one_error_line(capsys.readouterr().err)


@pytest.mark.parametrize("depth", [2_000, 50_000])
def test_deeply_nested_scenario_is_a_clear_error(work, depth, capsys):
    path = work / "deep.toml"
    path.write_text(f'name = "deep"\nx = {"[" * depth}{"]" * depth}\n', encoding="utf-8")
    with pytest.raises(ScenarioError, match="nested too deeply"):
        load_scenario(path)
    assert main(["scenarios", "show", str(path)]) == 2
    assert "deep.toml" in one_error_line(capsys.readouterr().err)


@pytest.mark.parametrize("name", ["x\n", "a/b", "../up", "Upper", "", "x" * 65, "[bold]x", "x.y"])
def test_scenario_names_are_restricted(work, name):
    with pytest.raises(ScenarioError, match=r"name: .* is not a scenario name"):
        load_scenario(scenario_file(work, name=name))


@pytest.mark.parametrize("name", ["x", "2024-coup", "a_b-c", "z" * 64])
def test_good_scenario_names(work, name):
    assert load_scenario(scenario_file(work, name=name)).name == name


def test_output_files_only_from_valid_names(tmp_path):
    ds = xr.Dataset(attrs={"scenario": "x\n"})
    with pytest.raises(ScenarioError, match="name"):
        write_outputs(ds, tmp_path)
    assert list(tmp_path.iterdir()) == []


class FakeStore:
    def __init__(self, **tables: pd.DataFrame) -> None:
        self.tables = tables

    def __enter__(self) -> FakeStore:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def ledger(self) -> pd.DataFrame:
        return pd.DataFrame(columns=["source", "superseded", "rows_read", "rows_accepted",
                                     "rows_quarantined", "rows_filtered"])  # fmt: skip

    def table(self, name: str) -> pd.DataFrame:
        return self.tables[name]

    def quarantine(self, source: str | None) -> pd.DataFrame:
        return self.tables["quarantine"]


def test_data_status_prints_actor_names_as_text(work, monkeypatch, capsys):
    store = work / "s.duckdb"
    store.touch()
    names = pd.DataFrame({"actor": ["unmatched"], "raw_name": [MARKUP]})
    monkeypatch.setattr(data_cmds, "open_store", lambda p, **kw: FakeStore(actor_names=names))
    assert main(["data", "status", "--store", str(store)]) == 0
    assert f"  - {MARKUP}" in capsys.readouterr().out


def test_quarantine_prints_reasons_as_text(work, monkeypatch, capsys):
    store = work / "s.duckdb"
    store.touch()
    q = pd.DataFrame([{"source": "ucdp_ged", "source_file": "/x/[b]f.csv", "line": 3,
                       "field": "[i]best", "reason": MARKUP}])  # fmt: skip
    monkeypatch.setattr(data_cmds, "open_store", lambda p, **kw: FakeStore(quarantine=q))
    assert main(["data", "quarantine", "--store", str(store)]) == 0
    out = capsys.readouterr().out
    assert MARKUP in out and "[i]best" in out and "[b]f.csv" in out


def test_claims_table_prints_evidence_as_text(capsys):
    df = pd.DataFrame(
        [{"id": "C1", "verdict": "supported", "figure": "[bold]", "evidence": MARKUP}]
    )
    evidence_cmds.print_claims(df)
    out = capsys.readouterr().out
    assert MARKUP in out and "[bold]" in out


def test_long_table_cells_are_cut(capsys):
    long = "e" * 20 * MAX_TEXT
    evidence_cmds.print_claims(pd.DataFrame([{"id": "C1", "verdict": "supported", "figure": "",
                                              "evidence": long}]))  # fmt: skip
    out = capsys.readouterr().out
    assert out.count("e") < 2 * MAX_TEXT and "characters" in out


# -- 2. a failed write never destroys earlier results ---------------------------------------------
@pytest.fixture(scope="module")
def tiny_run() -> xr.Dataset:
    return run_scenario("acceleration", members=2, months=2, synthetic=True)


def full_disk(self, path, *args, **kwargs):
    """A writer that fails half-way, as on a full disk: part of the file, then ENOSPC."""
    Path(path).write_bytes(b"partial")
    raise OSError(errno.ENOSPC, "No space left on device", str(path))


def assert_no_temporaries(folder: Path) -> None:
    assert not [p for p in folder.rglob("*") if p.name.endswith(TMP_SUFFIX)]


@pytest.mark.parametrize("target", ["to_netcdf", "to_parquet", "to_csv"])
def test_write_outputs_failure_keeps_previous_results(tiny_run, tmp_path, monkeypatch, target):
    paths = write_outputs(tiny_run, tmp_path)
    before = files_under(tmp_path)
    assert sorted(before) == sorted(p.name for p in paths)

    cls = xr.Dataset if target == "to_netcdf" else pd.DataFrame
    monkeypatch.setattr(cls, target, full_disk)
    with pytest.raises(OSError, match="No space"):
        write_outputs(tiny_run.assign(deaths_total=tiny_run.deaths_total + 1), tmp_path)
    assert files_under(tmp_path) == before
    assert_no_temporaries(tmp_path)


def test_write_all_atomic_renames_only_when_all_succeeded(tmp_path):
    (tmp_path / "a.txt").write_text("old a")

    def boom(p: Path) -> None:
        p.write_text("half")
        raise RuntimeError("kaput")

    with pytest.raises(RuntimeError):
        write_all_atomic([(tmp_path / "a.txt", lambda p: p.write_text("new a")),
                          (tmp_path / "b.txt", boom)])  # fmt: skip
    assert files_under(tmp_path) == {"a.txt": b"old a"}


def test_simulate_write_failure_is_one_line_and_keeps_old_files(work, monkeypatch, capsys):
    out = work / "o"
    assert main(["simulate", *TINY, "--out", str(out)]) == 0
    before = files_under(out)
    capsys.readouterr()

    monkeypatch.setattr(pd.DataFrame, "to_parquet", full_disk)
    assert main(["simulate", *TINY, "--seed", "7", "--out", str(out)]) == 2
    assert "No space left on device" in one_error_line(capsys.readouterr().err)
    assert files_under(out) == before
    assert_no_temporaries(out)


def test_compare_with_a_toml_path_writes_each_run_and_the_comparison(work, capsys):
    b = scenario_file(work, name="other")
    out = work / "cmp"
    argv = ["scenarios", "compare", "acceleration", str(b), *TINY, "--start", "2025-01"]
    assert main([*argv, "--out", str(out)]) == 0
    names = set(files_under(out))
    assert {"acceleration.nc", "other.nc", "compare_acceleration_other.csv"} <= names
    assert_no_temporaries(out)


def test_compare_write_failure_is_one_line_and_keeps_finished_runs(work, monkeypatch, capsys):
    b = scenario_file(work, name="other")
    out = work / "cmp"

    def fail(df, path):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(model_cmds, "write_csv", fail)
    argv = ["scenarios", "compare", "acceleration", str(b), *TINY, "--start", "2025-01"]
    assert main([*argv, "--out", str(out)]) == 2
    assert "compare_acceleration_other.csv" in one_error_line(capsys.readouterr().err)
    assert {"acceleration.nc", "other.nc"} <= set(files_under(out))


def test_views_parquet_write_is_atomic(tmp_path, monkeypatch):
    frame = pd.DataFrame({"year": [2025] * 2, "country_id": [432, 432], "draw": [0, 1],
                          "outcome": [1.0, 2.0]})  # fmt: skip
    path = write_views_parquet(frame, tmp_path / "f.parquet")
    before = files_under(tmp_path)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", full_disk)
    with pytest.raises(OSError):
        write_views_parquet(frame.assign(outcome=9.0), path)
    assert files_under(tmp_path) == before
    assert_no_temporaries(tmp_path)
    assert read_views_parquet(path)["outcome"].tolist() == [1.0, 2.0]


def backtest_result(crps: float) -> dict[str, pd.DataFrame]:
    """The tables a country-year backtest returns (the forecast layer's result schema)."""
    names = ["model", "zero", "last_value", "conflictology", "negbin"]
    scores = pd.DataFrame({"iso3": "MLI", "target": "sb", "forecaster": names, "crps": crps})
    overall = scores[["forecaster", "crps"]].assign(n=1, ignorance=1.0, is95=1.0, coverage50=0.5,
                                                    coverage90=0.9)  # fmt: skip
    verdict = pd.DataFrame([{"model_crps": crps, "best_baseline": "zero",
                             "best_baseline_crps": 2.0, "ratio": crps / 2, "meets_crps_aim": True,
                             "model_coverage90": 0.9, "meets_coverage_aim": True}])  # fmt: skip
    forecasts = pd.DataFrame({"forecaster": "model", "seed": 0, "origin": [2020], "year": [2021],
                              "iso3": "MLI", "target": "sb", "draws": [[1.0, 2.0, 3.0]]})  # fmt: skip
    spread = pd.DataFrame({"forecaster": names, "crps_min": crps, "crps_max": crps})
    goals = pd.DataFrame([{"goal": "crps", "forecaster": "model", "value": crps, "seed_min": crps,
                           "seed_max": crps, "aim": "< baselines", "met": True}])  # fmt: skip
    return {"scores": scores, "overall": overall, "by_target": scores, "verdict": verdict,
            "forecasts": forecasts, "seed_spread": spread, "goals": goals}  # fmt: skip


def test_backtest_tables_are_replaced_as_a_set(work, monkeypatch, capsys):
    results = iter([backtest_result(1.0), backtest_result(5.0)])
    monkeypatch.setattr(backtest_cmds, "ingested_store", lambda *a: (FakeStore(), work, []))
    monkeypatch.setattr(backtest_cmds, "run_backtest", lambda st, **kw: next(results))
    monkeypatch.setattr(backtest_cmds, "observations_from_store", lambda st: None)
    argv = ["backtest", "--origins", "2014-2015", "--draws", "2", "--out", "o"]
    assert main(argv) == 0
    before = files_under(work / "o")
    assert {"backtest/scores.csv", "backtest/verdict.csv", "backtest/forecasts.csv"} <= set(before)
    real = pd.DataFrame.to_csv
    calls = []

    def fail_on_third(self, path, *a, **kw):
        calls.append(path)
        if len(calls) == 3:
            full_disk(self, path)
        return real(self, path, *a, **kw)

    monkeypatch.setattr(pd.DataFrame, "to_csv", fail_on_third)
    assert main(argv) == 2
    assert "No space left on device" in one_error_line(capsys.readouterr().err)
    assert files_under(work / "o") == before
    assert_no_temporaries(work / "o")


# -- 3. bad inputs: one line, exit 2, no traceback, no file written ------------------------------
@pytest.fixture()
def locked_store(work):
    """A DuckDB store another process holds open (DuckDB takes an exclusive file lock)."""
    path = work / "locked.duckdb"
    code = (f"import duckdb, sys, time; con = duckdb.connect({str(path)!r});"
            " print('ready', flush=True); time.sleep(120)")  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        yield path
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()


def _setup(kind: str, work: Path, request: pytest.FixtureRequest) -> list[str]:
    if kind == "directory":
        (work / "events").mkdir()
        return ["data", "ingest", "--file", "events"]
    if kind == "not_gzip":
        (work / "events.csv.gz").write_text("id,best\n1,2\n")
        return ["data", "ingest", "--file", "events.csv.gz"]
    if kind == "symlink_loop":
        (work / "loop").symlink_to("loop2")
        (work / "loop2").symlink_to("loop")
        return ["data", "ingest", "--file", "loop"]
    if kind == "empty_page":
        (work / "page.json").write_text('{"Result": []}')
        return ["data", "ingest", "--file", "page.json", "--format", "ged_json"]
    if kind == "not_a_page":
        (work / "page.json").write_text('{"Result": 5}')
        return ["data", "ingest", "--file", "page.json", "--format", "ged_json"]
    if kind in ("locked_quarantine", "locked_ingest"):
        path = request.getfixturevalue("locked_store")
        if kind == "locked_ingest":
            return ["data", "ingest", "--store", str(path)]
        return ["data", "quarantine", "--store", str(path)]
    if kind in ("not_duckdb_status", "not_duckdb_ingest"):
        (work / "store.duckdb").write_text("not a database")
        if kind == "not_duckdb_status":
            return ["data", "quarantine", "--store", "store.duckdb"]
        return ["data", "ingest", "--store", "store.duckdb"]
    if kind == "missing_store":
        return ["data", "quarantine", "--store", "missing.duckdb"]
    if kind == "out_dev_full":
        return ["simulate", *TINY, "--out", "/dev/full"]
    if kind == "out_is_a_file":
        (work / "o").write_text("a file")
        return ["simulate", *TINY, "--out", "o"]
    if kind == "forecast_draws_0":
        return ["forecast", "--draws", "0"]
    if kind == "serve_port":
        return ["serve", "--port", "99999"]
    raise AssertionError(kind)


BATTERY = {
    "directory": "--file", "not_gzip": "events.csv.gz", "symlink_loop": "--file",
    "empty_page": "no events", "not_a_page": "page.json",
    "locked_quarantine": "lock", "locked_ingest": "lock",
    "not_duckdb_status": "store.duckdb", "not_duckdb_ingest": "store.duckdb",
    "missing_store": "missing.duckdb", "out_dev_full": "--out", "out_is_a_file": "--out",
    "forecast_draws_0": "--draws", "serve_port": "--port",
}  # fmt: skip


@pytest.mark.parametrize(("kind", "needle"), BATTERY.items(), ids=list(BATTERY))
def test_bad_input_is_one_line_exit_2_nothing_written(kind, needle, work, request, capsys):
    argv = _setup(kind, work, request)
    before = files_under(work)
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 2, captured.err
    assert needle in one_error_line(captured.err)
    assert files_under(work) == before, "a failed command wrote files"
    assert not (work / "out").exists()


def test_long_error_messages_are_cut(work, monkeypatch, capsys):
    def bad():
        raise SahelsimError("bad row: " + "[bold]x " * 5_000)

    monkeypatch.setattr(evidence_cmds, "load_timeline", bad)
    assert main(["timeline"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "[bold]x" in line and len(line) < MAX_TEXT + 100


def test_seed_too_large_is_rejected_before_running(work, capsys):
    assert main(["simulate", *TINY, "--seed", "1180591620717411303424"]) == 2
    assert "--seed" in one_error_line(capsys.readouterr().err)
    assert list(work.iterdir()) == []

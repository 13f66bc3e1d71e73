"""The command line: bad values are one-line usage errors (exit 2, nothing written), every option
has help, -v/-q set the log level, years parse strictly, internal errors keep their traceback."""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
import typer
from hypothesis import given
from hypothesis import strategies as st

from sahelsim.cli import evidence_cmds, job_cmds, options, seams
from sahelsim.cli.main import command, main
from sahelsim.cli.options import Years, check_members, parse_month, parse_years
from sahelsim.core.errors import SahelsimError

BAD = [
    (["simulate", "--members", "0"], "--members"),
    (["simulate", "--members", "-5"], "--members"),
    (["simulate", "--members", "100000000"], "--members"),
    (["simulate", "--members", "ten"], "--members"),
    (["simulate", "--months", "0"], "--months"),
    (["simulate", "--months", "-3"], "--months"),
    (["simulate", "--start", "garbage"], "--start"),
    (["simulate", "--start", "1800-01"], "--start"),
    (["simulate", "--start", "2012-13"], "--start"),
    (["simulate", "--start", "2012-00"], "--start"),
    (["simulate", "--seed", "-1"], "--seed"),
    (["simulate", "--seed", str(2**70)], "--seed"),
    (["simulate", "--seed", "1e3"], "--seed"),
    (["simulate", "--scenario", "no_such_scenario"], "--scenario"),
    (["simulate", "--backend", "spark"], "--backend"),
    (["scenarios", "compare", "acceleration", "--members", "0"], "--members"),
    (["scenarios", "show", "no_such_scenario"], "SCENARIO"),
    (["scenarios", "compare", "acceleration", "no_such_scenario"], "SCENARIO"),
    (["claims", "--members", "0"], "--members"),
    (["claims", "--seed", "-1"], "--seed"),
    (["report", "--members", "-5"], "--members"),
    (["run", "--members", "100000000"], "--members"),
    (["calibrate", "--years", "2012,2015"], "--years"),
    (["calibrate", "--years", "2012-20x3"], "--years"),
    (["calibrate", "--years", "2020-2012"], "--years"),
    (["calibrate", "--particles", "0"], "--particles"),
    (["forecast", "--years", "2025,,2026"], "--years"),
    (["forecast", "--years", "25"], "--years"),
    (["forecast", "--years", "2025-"], "--years"),
    (["forecast", "--years", "3000"], "--years"),
    (["forecast", "--draws", "0"], "--draws"),
    (["forecast", "--draws", "100000000"], "--draws"),
    (["backtest", "--origins", "2014,2016"], "--origins"),
    (["backtest", "--origins", "abc"], "--origins"),
    (["backtest", "--draws", "0"], "--draws"),
    (["serve", "--port", "99999"], "--port"),
    (["serve", "--port", "0"], "--port"),
    (["data", "quarantine", "--limit", "0"], "--limit"),
    (["data", "ingest", "--format", "xml"], "--format"),
]


@pytest.fixture()
def empty_cwd(tmp_path, monkeypatch):
    """An empty working directory (default ``--out`` is ``out`` under it) without data."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("SAHELSIM_DATA", str(tmp_path / "no-data"))
    return work


def assert_usage_error(code: int, err: str, option: str, work: Path) -> None:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2, err
    assert len(lines) == 1, err
    assert option in lines[0] and lines[0].startswith("error: "), lines[0]
    assert "Traceback" not in err
    assert list(work.iterdir()) == [], "a usage error wrote files"


@pytest.mark.parametrize(("argv", "option"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_value_is_one_line_usage_error(argv, option, empty_cwd, capsys):
    code = main(argv)  # the default --out is ./out: must stay absent
    captured = capsys.readouterr()
    assert_usage_error(code, captured.err, option, empty_cwd)
    assert captured.out == ""


def test_bad_values_are_rejected_before_the_range_error_says_the_range(empty_cwd, capsys):
    assert main(["serve", "--port", "99999"]) == 2
    assert "1..65535" in capsys.readouterr().err
    assert main(["simulate", "--seed", "-1"]) == 2
    assert "0..2^63-1" in capsys.readouterr().err
    assert main(["simulate", "--members", "100000000"]) == 2
    err = capsys.readouterr().err
    assert "GiB" in err and "use 1.." in err and "Unable to allocate" not in err


@pytest.mark.parametrize("file_kind", ["directory", "missing"])
def test_bad_file_option(file_kind, tmp_path, empty_cwd, capsys):
    target = tmp_path / "events"
    if file_kind == "directory":
        target.mkdir()
    code = main(["data", "ingest", "--file", str(target)])
    assert_usage_error(code, capsys.readouterr().err, "--file", empty_cwd)


def test_unknown_command_and_missing_argument(empty_cwd, capsys):
    assert main(["simulatte"]) == 2
    assert "No such command" in capsys.readouterr().err
    assert main(["scenarios", "compare", "acceleration"]) == 2
    assert_usage_error(2, capsys.readouterr().err, "SCENARIO", empty_cwd)


def test_address_without_ray_backend(empty_cwd, capsys):
    code = main(["simulate", "--synthetic", "--members", "1", "--months", "1",
                 "--address", "auto"])  # fmt: skip
    assert_usage_error(code, capsys.readouterr().err, "--address", empty_cwd)


# -- help ----------------------------------------------------------------------------------------
def _commands(group=command, path=()):
    for name, cmd in group.commands.items():
        if hasattr(cmd, "commands"):
            yield from _commands(cmd, (*path, name))
        else:
            yield (*path, name), cmd


COMMANDS = list(_commands())


def test_every_command_is_there():
    names = {" ".join(p) for p, _ in COMMANDS}
    assert names >= {
        "data download", "data ingest", "data status", "data list", "data quarantine",
        "indicators", "simulate", "scenarios list", "scenarios show", "scenarios compare",
        "claims", "calibrate", "forecast", "backtest", "report", "serve", "timeline", "run",
        "versions",
    }  # fmt: skip


@pytest.mark.parametrize(("path", "cmd"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_help_documents_every_option(path, cmd, capsys):
    assert main([*path, "--help"]) == 0
    text = capsys.readouterr().out
    assert cmd.help and "``" not in text and ":func:" not in text  # no developer docstrings
    for p in cmd.params:
        assert p.help, f"{' '.join(path)}: {p.name} has no help"
        for opt in p.opts:
            if opt.startswith("--"):
                assert opt in text, f"{opt} missing from `{' '.join(path)} --help`"
        default = getattr(p, "default", None)
        shows = p.show_default is not False and not getattr(p, "is_flag", False)
        if p.param_type_name == "option" and default not in (None, False) and shows:
            assert "default:" in text


def test_help_shows_defaults_and_units(capsys):
    assert main(["simulate", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for snippet in ("[default: 100]", "[default: (to 2030-12)]", "[default: (2012-01)]",
                    "YYYY-MM", "[default: (auto)]", "DIR|auto|none", "SAHELSIM_DATA", "0..2^63-1",
                    "[default: acceleration]"):  # fmt: skip
        assert snippet in text, snippet


def test_top_level_help_is_for_users(capsys):
    assert main([]) == 0
    text = capsys.readouterr().out
    assert "Central Sahel" in text and "argparse" not in text and "progress bars" not in text


def test_defaults_parse():
    for name in ("calibrate", "forecast", "backtest", "simulate"):
        params = command.commands[name].make_context(name, []).params
        for key in ("years", "origins"):
            if key in params:
                assert isinstance(params[key], Years)
    assert command.commands["calibrate"].make_context("c", []).params["years"].span == (2012, 2024)


# -- logging -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("flags", "level"),
    [
        ([], logging.WARNING),
        (["-v"], logging.INFO),
        (["-vv"], logging.DEBUG),
        (["-q"], logging.ERROR),
        (["--quiet", "-v"], logging.ERROR),
    ],
)
def test_verbosity_sets_log_level(flags, level):
    assert main([*flags, "versions"]) == 0
    assert logging.getLogger("sahelsim.scenarios.run").getEffectiveLevel() == level


def test_quiet_hides_library_warnings(empty_cwd, capsys):
    run = ["simulate", "--members", "1", "--months", "1", "--out", "o"]
    assert main(run) == 0
    assert "synthetic grid" in capsys.readouterr().err  # no data directory: a warning
    assert main(["-q", *run]) == 0
    assert "synthetic grid" not in capsys.readouterr().err


# -- errors ------------------------------------------------------------------------------------
def test_internal_error_keeps_traceback(monkeypatch, capsys):
    def boom():
        raise RuntimeError("kaput")

    monkeypatch.setattr(evidence_cmds, "load_timeline", boom)
    assert main(["timeline"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "kaput" in err and "this is a bug in sahelsim" in err


def test_library_errors_are_one_line_without_markup(monkeypatch, capsys):
    class Custom(SahelsimError):
        exit_code = 3

    def bad():
        raise SahelsimError("file x.csv, line 2:\n  field [bold]best[/] is missing [distributed]")

    monkeypatch.setattr(evidence_cmds, "load_timeline", bad)
    assert main(["timeline"]) == 2
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert lines == ["error: file x.csv, line 2: field [bold]best[/] is missing [distributed]"]

    def custom():
        raise Custom("stop")

    monkeypatch.setattr(evidence_cmds, "load_timeline", custom)
    assert main(["timeline"]) == 3


def test_data_text_is_not_markup(monkeypatch, capsys):
    tl = pd.DataFrame([{"date": "2020-08-18", "iso3": "MLI", "kind": "coup",
                        "label": "[red]junta[/] takes [bold]power", "source": "x[/]"}])  # fmt: skip
    monkeypatch.setattr(evidence_cmds, "load_timeline", lambda: tl)
    assert main(["timeline"]) == 0
    out = capsys.readouterr().out
    assert "[red]junta[/]" in out and "x[/]" in out


# -- run ingests once ----------------------------------------------------------------------------
def test_run_ingests_once_and_reuses_the_store(monkeypatch, tmp_path, capsys):
    calls: list[object] = []
    stores: list[object] = []

    def ingest(data_dir, st, progress=None):
        calls.append(st)
        return []

    def audit(st, **kw):
        stores.append(st)
        return pd.DataFrame({"verdict": ["supported"]})

    def build_report(st, **kw):
        stores.append(st)
        return kw["out"] / "report.html"

    monkeypatch.setattr(seams, "ingest_all", ingest)
    monkeypatch.setattr(seams, "ensure_grid", lambda st, dd: None)
    monkeypatch.setattr(job_cmds, "compute_indicators", lambda st, out, bar=None: stores.append(st))
    monkeypatch.setattr(job_cmds, "print_indicators", lambda *a: None)
    monkeypatch.setattr(job_cmds, "audit", audit)
    monkeypatch.setattr(job_cmds, "write_claims", lambda df, out: [out / "claims_audit.csv"])
    monkeypatch.setattr(job_cmds, "forecast", lambda **kw: {"sb": kw["out"] / "sb.parquet"})
    monkeypatch.setattr(job_cmds, "build_report", build_report)
    monkeypatch.setattr(job_cmds, "run_validation",
                        lambda **kw: stores.append(kw["store"]) or SimpleNamespace(counts=dict))  # fmt: skip
    assert main(["run", "--data-dir", str(tmp_path), "--out", str(tmp_path / "o"),
                 "--members", "3"]) == 0  # fmt: skip
    assert len(calls) == 1
    assert len(stores) == 4 and all(s is calls[0] for s in stores)


# -- parsers -----------------------------------------------------------------------------------
years = st.integers(options.FIRST_YEAR, options.LAST_YEAR)


@given(st.lists(years, min_size=1, max_size=8))
def test_year_lists_parse(ys):
    assert parse_years(",".join(map(str, ys))) == tuple(sorted(set(ys)))


@given(years, years)
def test_year_ranges_parse(a, b):
    if b < a:
        with pytest.raises(ValueError, match="backwards"):
            parse_years(f"{a}-{b}")
    else:
        got = parse_years(f"{a}-{b}")
        assert got == tuple(range(a, b + 1)) and got.span == (a, b)


@given(years, years, years)
def test_mixed_ranges_and_lists(a, b, c):
    lo, hi = min(a, b), max(a, b)
    assert parse_years(f"{lo}-{hi},{c}") == tuple(sorted({*range(lo, hi + 1), c}))


@given(st.text(max_size=12))
def test_year_parser_is_strict(text):
    try:
        got = parse_years(text)
    except ValueError:
        return
    assert got and all(options.FIRST_YEAR <= y <= options.LAST_YEAR for y in got)
    assert set(text) <= set("0123456789-, ")


@pytest.mark.parametrize("text", ["", "2012-", "-2012", "2012--2013", "12-13", "1988", "2101",
                                  "2012-2013-2014", "2012;2013", "２０１２"])  # fmt: skip
def test_bad_years(text):
    with pytest.raises(ValueError):
        parse_years(text)


def test_span_needs_contiguous_years():
    assert parse_years("2014").span == (2014, 2014)
    with pytest.raises(ValueError, match="contiguous"):
        _ = parse_years("2014,2016").span


@pytest.mark.parametrize("text", ["2012-13", "2012-00", "garbage", "1800-01", "2012-1", "2012",
                                  "2012-01-01", "2101-01", " "])  # fmt: skip
def test_bad_months(text):
    with pytest.raises(ValueError):
        parse_month(text)


@given(st.integers(options.FIRST_YEAR, options.LAST_YEAR), st.integers(1, 12))
def test_good_months(y, m):
    assert parse_month(f"{y}-{m:02d}") == f"{y:04d}-{m:02d}"


def test_member_bound_follows_available_memory(monkeypatch):
    per = options.bytes_per_member(168)
    monkeypatch.setattr(options, "available_memory", lambda: int(per * 1000 / 0.8))
    check_members(1000, 168)
    with pytest.raises(typer.BadParameter, match=r"use 1\.\.1,000$"):
        check_members(1001, 168)
    with pytest.raises(typer.BadParameter):
        check_members(600, 168, runs=2)
    with pytest.raises(typer.BadParameter):
        check_members(1000, 168, start="2020-01")  # spin-up from 2012 counts


def test_python_dash_m(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "sahelsim", "--version"], capture_output=True,
                          text=True, check=False, cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0 and proc.stdout.startswith("sahelsim ")
    proc = subprocess.run([sys.executable, "-m", "sahelsim", "simulate", "--months", "0"],
                          capture_output=True, text=True, check=False, cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "--months" in proc.stderr


def test_validate_writes_the_scorecard_and_exits_0(tmp_path, capsys):
    out = tmp_path / "o"
    code = main(["validate", "--synthetic", "--members", "4", "--lever-members", "2",
                 "--out", str(out), "--data-dir", str(tmp_path / "none")])  # fmt: skip
    assert code == 0
    js = json.loads((out / "validate" / "validate.json").read_text())
    text = capsys.readouterr().out
    assert "Pattern scorecard" in text
    assert js and (out / "validate" / "validate.csv").exists()


def test_sigterm_unwinds_like_ctrl_c_and_the_handler_is_restored():
    import signal

    from sahelsim.cli import main as cli_main

    before = signal.getsignal(signal.SIGTERM)
    assert main(["timeline"]) == 0
    assert signal.getsignal(signal.SIGTERM) is before
    with pytest.raises(KeyboardInterrupt):
        cli_main._terminated(signal.SIGTERM, None)


def _catches_sigterm(pid: int) -> bool:
    """Whether process ``pid`` has a SIGTERM handler (Linux: the SigCgt mask in /proc; where
    there is no /proc, assume so after six seconds of start-up)."""
    status = Path(f"/proc/{pid}/status")
    if not Path("/proc/self/status").exists():
        time.sleep(6)
        return True
    try:
        lines = status.read_text().splitlines()
    except OSError:
        return False
    mask = next((int(x.split()[1], 16) for x in lines if x.startswith("SigCgt:")), 0)
    return bool(mask >> (signal.SIGTERM - 1) & 1)


def test_sigterm_during_a_run_exits_130_without_partial_outputs(tmp_path):
    import signal
    import time

    out = tmp_path / "o"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sahelsim", "simulate", "--synthetic", "--members", "400",
         "--months", "600", "--start", "2012-01", "--out", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    # past start-up (the CLI's SIGTERM handler is installed: imports can take many seconds on
    # a loaded machine), then inside the run
    deadline = time.monotonic() + 120
    while not _catches_sigterm(proc.pid) and proc.poll() is None:
        assert time.monotonic() < deadline, "the CLI never installed its SIGTERM handler"
        time.sleep(0.1)
    time.sleep(2)
    # the handler runs when the compiled ensemble call returns (the run above takes tens of
    # seconds), then the CLI unwinds
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=120)
    assert code in (130, 0)  # 0 only if the run finished before the signal (a very fast machine)
    if code == 130:
        assert not out.exists() or not any(out.iterdir())

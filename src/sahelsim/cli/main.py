"""The ``sahelsim`` command: a Typer application over the library.

``main(argv)`` is the entry point (console script, ``python -m sahelsim``, tests): it returns an
exit code and never calls ``sys.exit``. Exit codes: 0 done; 2 a user error (bad option value,
bad input file, a :class:`~sahelsim.core.errors.SahelsimError`, an operating-system error such as
a full disk), printed as one line on stderr (the OSError traceback only with ``-vv``);
1 an internal error, printed with its traceback; 130 interrupted.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import traceback
from collections.abc import Sequence
from typing import Annotated

import typer
from rich.logging import RichHandler

from sahelsim import __version__
from sahelsim.cli import (
    assimilate_cmds,
    backtest_cmds,
    data_cmds,
    evidence_cmds,
    inference_cmds,
    job_cmds,
    model_cmds,
    validate_cmds,
)
from sahelsim.cli.console import clip, console, err_console
from sahelsim.cli.options import one_line
from sahelsim.core.errors import SahelsimError

HELP = (
    "Evidence, simulation and scenarios for the Central Sahel conflict (Mali, Burkina Faso,"
    " Niger): ingest UCDP/UNHCR/IOM data, compute indicators, run scenario ensembles,"
    " calibrate, forecast, backtest, audit claims and build the report.\n\n"
    "Start with `sahelsim run` (the main job on the data in $SAHELSIM_DATA) or"
    " `sahelsim COMMAND --help`."
)
log = logging.getLogger("sahelsim.cli")
BUG = "this is a bug in sahelsim {v}: please report it with the traceback above"

app = typer.Typer(
    name="sahelsim",
    help=HELP,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def log_level(verbose: int, quiet: bool) -> int:
    """WARNING by default; -v INFO, -vv DEBUG; -q errors only (wins over -v)."""
    if quiet:
        return logging.ERROR
    return max(logging.WARNING - 10 * verbose, logging.DEBUG)


def setup_logging(level: int) -> None:
    logging.basicConfig(
        level=level,
        format="%(message)s",
        handlers=[RichHandler(console=err_console, show_path=False)],
        force=True,
    )
    logging.getLogger("sahelsim").setLevel(level)


def _version(value: bool) -> None:
    if value:
        console.print(f"sahelsim {__version__}", markup=False, highlight=False)
        raise typer.Exit(0)


@app.callback()
def _root(
    verbose: Annotated[
        int,
        typer.Option(
            "--verbose",
            "-v",
            count=True,
            help="More log output: -v progress notes (INFO), -vv debugging.",
        ),
    ] = 0,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Errors only (no warnings).")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    setup_logging(log_level(verbose, quiet))


def _user_error(text: str) -> None:
    """One line on stderr, printed as it is (no markup: messages quote data)."""
    text = clip(one_line(text.replace("Value error, ", "")))
    err_console.print(f"error: {text}", markup=False, highlight=False, soft_wrap=True)


def os_error_text(exc: OSError) -> str:
    """``PATH: reason`` for an operating-system error (a full disk, a missing file)."""
    reason = exc.strerror or str(exc)
    if exc.filename is None:
        return reason
    return f"{exc.filename}: {reason}" if exc.filename2 is None else (
        f"{exc.filename} -> {exc.filename2}: {reason}")  # fmt: skip


def help_without_command(ctx: typer.Context) -> None:
    """A command group run without a subcommand prints its help (exit code 0)."""
    if ctx.invoked_subcommand is None:
        console.print(ctx.get_help(), markup=False, highlight=False)
        raise typer.Exit(0)


COMMANDS = {
    "indicators": evidence_cmds.indicators, "timeline": evidence_cmds.timeline,
    "claims": evidence_cmds.claims, "simulate": model_cmds.simulate,
    "calibrate": inference_cmds.calibrate, "forecast": inference_cmds.forecast,
    "backtest": backtest_cmds.backtest, "report": job_cmds.report, "serve": job_cmds.serve,
    "run": job_cmds.run, "versions": job_cmds.versions, "validate": validate_cmds.validate,
    "assimilate": assimilate_cmds.assimilate,
}  # fmt: skip
for _name, _fn in COMMANDS.items():
    app.command(_name)(_fn)
for _name, _group in (("data", data_cmds.app), ("scenarios", model_cmds.scenarios_app)):
    app.add_typer(_group, name=_name, callback=help_without_command, invoke_without_command=True)

command = typer.main.get_command(app)


def _terminated(signum: int, frame: object) -> None:
    """SIGTERM (``kill``, a job scheduler) unwinds like Ctrl-C, so temporary files are removed
    and atomic writes are abandoned cleanly (``finally`` blocks run)."""
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI on ``argv`` (default ``sys.argv[1:]``) and return the exit code."""
    args = list(sys.argv[1:] if argv is None else argv) or ["--help"]
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        return _main(args)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _main(args: list[str]) -> int:
    try:
        rv = command.main(args=args, prog_name="sahelsim", standalone_mode=False)
    except typer.TyperException as exc:  # bad option values, unknown commands or options
        ctx = getattr(exc, "ctx", None)
        _user_error((f"{ctx.command_path}: " if ctx else "") + exc.format_message())
        return 2
    except typer.Abort:
        return 130
    except SahelsimError as exc:
        _user_error(str(exc))
        return int(getattr(exc, "exit_code", 2))
    except OSError as exc:  # a missing input, a full disk, an output path that is a file
        log.debug("operating-system error", exc_info=True)  # the traceback with -vv
        _user_error(os_error_text(exc))
        return 2
    except Exception:
        traceback.print_exc()
        _user_error(BUG.format(v=__version__))
        return 1
    return int(rv or 0)


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())

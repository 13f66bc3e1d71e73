"""Scale-out: ensembles, calibration batches and backtest origins on a Ray cluster.

A *backend* maps a function over items and returns the results in item order
(:class:`Backend`). :class:`LocalBackend` runs them in this process; :class:`RayBackend` runs
each item as a Ray task (``pip install 'sahelsim[distributed]'``), on a local cluster it starts
or on an existing one (``address="auto"``, ``"ray://head:10001"`` or ``$RAY_ADDRESS``).

Everything here splits work along axes whose pieces are independent, so a split run gives the
same numbers as one run:

* :func:`simulate_chunks` and :func:`run_scenario` split the ensemble into chunks of members; a
  member's numbers depend only on (seed, global member id, its parameter row), and the chunks
  are concatenated along ``member`` in member order (identical to one :func:`simulate` call).
* :func:`calibration_simulator` is the calibrator's batch simulator with the batch split into
  chunks of particles, reassembled in order (the same statistics, hence the same posterior).
* :func:`run_backtest_parallel` runs the backtest's origin years as independent tasks.

A task whose worker dies is resubmitted by Ray (``max_retries``). A chunk that still cannot
finish makes the whole call raise :class:`ChunkFailure`, which names the failed chunks and keeps
the finished ones (``completed``, and ``partial`` where the results can be assembled).

What runs where (``docs/scaling.md``): the driver builds the inputs, submits tasks and assembles
results; workers run the engine. :func:`simulate_chunks` and :func:`run_scenario` ship the grid
to the workers; the calibration simulator and the backtest rebuild it in each worker process
(once, then cached) from the data directory, which must then be readable on the workers at the
same path (or use the synthetic grid).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import os
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from sahelsim.core.backend import Backend, ChunkFailure, LocalBackend, Progress, _describe, _labels
from sahelsim.core.errors import MissingExtraError, SahelsimError

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'sahelsim[distributed]'"


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise MissingExtraError(
            f"the Ray backend needs Ray, which is not installed: {INSTALL_HINT}"
        ) from exc
    return ray


def _call(fn: Callable[[Any], Any], item: Any, threads: int | None) -> Any:
    """What a Ray task runs: ``fn(item)``, with the engine's thread count set first."""
    if threads:
        import numba

        numba.set_num_threads(min(int(threads), numba.config.NUMBA_NUM_THREADS))
    return fn(item)


_REMOTE: dict[int, Any] = {}


def _remote_call(ray: Any) -> Any:
    key = id(ray)
    if key not in _REMOTE:
        _REMOTE[key] = ray.remote(_call)
    return _REMOTE[key]


class RayBackend:
    """Runs each item as a Ray task.

    ``address``: an existing cluster (``"auto"``, ``"ray://head:10001"``); None uses
    ``$RAY_ADDRESS`` if set, else Ray's default (a ``ray start`` cluster on this machine if
    any, else a new local cluster); with ``num_cpus`` always a new local cluster of that size.
    :meth:`close` (or leaving the ``with`` block) disconnects, stopping a local cluster that
    this backend started (an existing cluster keeps running).
    If Ray is already initialised in this process (e.g. by a test fixture or a notebook), that
    connection is used and left open.

    ``max_retries``: Ray resubmits a task whose worker process or node dies up to this many
    times. Exceptions raised by the task itself are deterministic and are not retried unless
    ``retry_exceptions``. ``chunk_members``: chunk size (members or particles per task); None
    gives about two tasks per CPU of the cluster. ``worker_threads``: Numba threads per task
    (Ray schedules one task per CPU, so 1 avoids oversubscription; None leaves Numba's default);
    set through ``NUMBA_NUM_THREADS`` in the tasks' runtime environment and
    ``numba.set_num_threads`` in the task.
    """

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        num_cpus: int | None = None,
        max_retries: int = 3,
        chunk_members: int | None = None,
        *,
        worker_threads: int | None = 1,
        retry_exceptions: bool = False,
        runtime_env: dict[str, Any] | None = None,
        init_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self._ray = _import_ray()
        self.address = address
        self.num_cpus = num_cpus
        self.max_retries = int(max_retries)
        self.chunk_members = chunk_members
        self.worker_threads = worker_threads
        self.retry_exceptions = retry_exceptions
        self.runtime_env = dict(runtime_env or {})
        self.init_kwargs = dict(init_kwargs or {})
        self._started = False

    # -- connection ---------------------------------------------------------------------------
    def connect(self) -> Any:
        """Connect (or start a local cluster) if this process is not connected yet."""
        ray = self._ray
        if not ray.is_initialized():
            kw: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.WARNING}
            kw.update(self.init_kwargs)
            address = self.address or os.environ.get("RAY_ADDRESS") or None
            if address:
                ray.init(address=address, **kw)
                log.info("connected to the Ray cluster at %s", address)
            else:
                # with num_cpus, always a new local cluster (never a `ray start` one found here)
                local = "local" if self.num_cpus is not None else None
                ray.init(address=local, num_cpus=self.num_cpus, **kw)
                log.info("started a local Ray cluster (%s CPUs)", self.num_cpus or "all")
            self._started = True
        return ray

    def cpus(self) -> int:
        """CPUs of the cluster (at least 1)."""
        ray = self.connect()
        return max(int(ray.cluster_resources().get("CPU", 1)), 1)

    def default_chunk(self, n: int) -> int:
        if self.chunk_members:
            return max(int(self.chunk_members), 1)
        return max(math.ceil(int(n) / (2 * self.cpus())), 1)

    def close(self) -> None:
        """Disconnect if this backend connected (``ray.shutdown``: stops a local cluster it
        started; an existing cluster keeps running)."""
        if self._started and self._ray.is_initialized():
            self._ray.shutdown()
        self._started = False

    def __enter__(self) -> RayBackend:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- work -----------------------------------------------------------------------------------
    def _options(self) -> dict[str, Any]:
        opts: dict[str, Any] = {
            "max_retries": self.max_retries,
            "retry_exceptions": self.retry_exceptions,
        }
        env = dict(self.runtime_env)
        if self.worker_threads:
            env_vars = dict(env.get("env_vars", {}))
            env_vars.setdefault("NUMBA_NUM_THREADS", str(int(self.worker_threads)))
            env["env_vars"] = env_vars
        if env:
            opts["runtime_env"] = env
        return opts

    def map(
        self,
        fn: Callable[[Any], Any],
        items: Sequence[Any],
        *,
        labels: Sequence[str] | None = None,
        progress: Progress | None = None,
        what: str = "chunk",
    ) -> list[Any]:
        ray = self.connect()
        items = list(items)
        n = len(items)
        if n == 0:
            return []
        call = _remote_call(ray).options(**self._options())
        fn_ref = ray.put(fn)  # shipped once, shared by every task
        refs = [call.remote(fn_ref, item, self.worker_threads) for item in items]
        index = {ref: i for i, ref in enumerate(refs)}
        pending = list(refs)
        results: dict[int, Any] = {}
        failed: dict[int, str] = {}
        first: BaseException | None = None
        try:
            while pending:
                ready, pending = ray.wait(pending, num_returns=1)
                for ref in ready:
                    i = index[ref]
                    try:
                        results[i] = ray.get(ref)
                    except ray.exceptions.RayError as exc:
                        failed[i] = _describe(exc)
                        first = first or exc
                        log.error("%s %d failed: %s", what, i, failed[i])
                    if progress:
                        progress(what, len(results) + len(failed), n)
        except BaseException:  # interrupted: do not leave tasks running on the cluster
            for ref in pending:
                try:
                    ray.cancel(ref)
                except Exception:  # already finished or gone
                    pass
            raise
        if failed:
            raise ChunkFailure(failed, results, _labels(labels, n), what) from first
        return [results[i] for i in range(n)]


def make_backend(name: str = "local", address: str | None = None, **kw: Any) -> Any:
    """``"local"`` or ``"ray"`` (the CLI's ``--backend``/``--address``)."""
    if name == "local":
        if address:
            raise SahelsimError("--address needs --backend ray")
        return LocalBackend()
    if name == "ray":
        return RayBackend(address=address, **kw)
    raise SahelsimError(f"unknown backend {name!r}: choose 'local' or 'ray'")


# -- chunking helpers ----------------------------------------------------------------------------
def _spans(n: int, size: int) -> list[tuple[int, int]]:
    size = max(int(size), 1)
    return [(a, min(a + size, n)) for a in range(0, n, size)]


def _member_label(ids: np.ndarray) -> str:
    if ids.size == 0:
        return "no members"
    if ids.size > 1 and np.all(np.diff(ids) == 1):
        return f"members {int(ids[0])}-{int(ids[-1])}"
    if ids.size <= 4:
        return "members " + ",".join(str(int(i)) for i in ids)
    return f"{ids.size} members from {int(ids[0])}"


def _concat_members(parts: list[Any]) -> Any:
    import xarray as xr

    if len(parts) == 1:
        return parts[0]
    return xr.concat(parts, dim="member", data_vars="all", coords="minimal", compat="override",
                     join="exact", combine_attrs="override")  # fmt: skip


def _require_data_dir(data_dir: str | os.PathLike[str] | None, synthetic: bool) -> None:
    """On a worker: the data directory must be there, or the grid silently falls back to the
    synthetic one (as it does locally when the data are absent)."""
    if data_dir is None or synthetic:
        return
    if not Path(data_dir).is_dir():
        import socket

        raise SahelsimError(
            f"data directory {data_dir} is not readable on worker {socket.gethostname()}: mount "
            "it at the same path on every node, or use simulate_chunks/run_scenario, which ship "
            "the grid (see docs/scaling.md)"
        )


# -- ensembles -----------------------------------------------------------------------------------
def _pack_params(params: Any) -> Any:
    """Parameters travel as plain dicts (``Params`` resolves values through ``__getattr__``,
    which does not survive unpickling)."""
    if params is None:
        return None
    return ("Params", dict(params.values), dict(params.switches))


def _unpack_params(packed: Any) -> Any:
    from sahelsim.model.params import Params

    if packed is None:
        return None
    return Params(dict(packed[1]), dict(packed[2]))


def _simulate_chunk(space, params, drivers, seed, record, item):
    from sahelsim.model.engine import simulate

    ids, pm = item
    return simulate(space, _unpack_params(params), drivers, members=ids, seed=seed,
                    record=record, param_matrix=pm)  # fmt: skip


def simulate_chunks(
    space: Any,
    params: Any,
    drivers: Any,
    members: int | np.ndarray = 100,
    *,
    seed: int = 0,
    record: Any = None,
    param_matrix: np.ndarray | None = None,
    backend: Backend | None = None,
    chunk: int | None = None,
    progress: Progress | None = None,
) -> Any:
    """:func:`sahelsim.model.engine.simulate` split into chunks of ``chunk`` members on
    ``backend``; returns the same ``xarray.Dataset`` as one call (members in the given order).

    The grid, parameters and drivers are shipped once to the workers. On failure raises
    :class:`ChunkFailure` whose ``partial`` is the dataset of the finished chunks' members.
    """
    from sahelsim.model.engine import Record

    backend = backend or LocalBackend()
    record = record or Record()
    ids = np.arange(members) if np.isscalar(members) else np.asarray(members, dtype=np.int64)
    pm = None
    if param_matrix is not None:
        pm = np.asarray(param_matrix, dtype=np.float64)
        if pm.ndim != 2 or pm.shape[0] != ids.size:
            raise ValueError(f"parameter matrix has {pm.shape[0]} rows for {ids.size} members")
    spans = _spans(ids.size, chunk or backend.default_chunk(ids.size))
    items = [(ids[a:b], None if pm is None else pm[a:b]) for a, b in spans]
    fn = functools.partial(_simulate_chunk, space, _pack_params(params), drivers, int(seed),
                           record)  # fmt: skip
    labels = [_member_label(ids[a:b]) for a, b in spans]
    try:
        parts = backend.map(fn, items, labels=labels, progress=progress)
    except ChunkFailure as exc:
        if exc.completed:
            exc.partial = _concat_members(list(exc.completed.values()))
        raise
    return _concat_members(parts)


def posterior_digest() -> str:
    """sha256 of the posterior shipped in this install ("none" if none ships): a worker with a
    different sahelsim would draw members' parameters from a different posterior."""
    from sahelsim.scenarios.posterior import POSTERIOR_FILE

    res = resources.files("sahelsim.resources") / POSTERIOR_FILE
    if not res.is_file():
        return "none"
    return hashlib.sha256(res.read_bytes()).hexdigest()


def _scenario_chunk(scenario, kwargs, digest, ids):
    from sahelsim.scenarios import run as _run

    if digest is not None and posterior_digest() != digest:
        import socket

        raise SahelsimError(
            f"worker {socket.gethostname()} ships a different posterior than the driver: "
            "install the same sahelsim version on every node"
        )
    kwargs = dict(kwargs, params=_unpack_params(kwargs.get("params")))
    if kwargs.get("space") is None:
        _require_data_dir(kwargs.get("data_dir"), kwargs.get("synthetic", False))
    return _run.run_scenario(scenario, members=ids, **kwargs)


_UNSET: Any = object()


def run_scenario(
    scenario: Any,
    *,
    backend: Backend | None = None,
    chunk: int | None = None,
    ship_space: bool = True,
    data_dir: Path | None = None,
    members: int | np.ndarray = 100,
    months: int = 168,
    start: str | int = "2012-01",
    seed: int = 0,
    params: Any = None,
    record: Any = None,
    synthetic: bool = False,
    projection_start: Any = _UNSET,
    space: Any = None,
    progress: Progress | None = None,
    spinup: bool = True,
) -> Any:
    """:func:`sahelsim.model.run.run_scenario` with a ``backend``: the members are split into
    chunks, each chunk runs ``run_scenario`` on a worker, and the datasets are concatenated
    (identical to one local run). Without a backend it is ``run_scenario`` itself.

    ``ship_space`` (default) builds the grid on the driver and ships it; otherwise each worker
    builds it (once per process) from ``data_dir``, which must then be readable on the workers.
    """
    from sahelsim.scenarios import run as _run
    from sahelsim.scenarios.scenario import Scenario, load_scenario

    if projection_start is _UNSET:
        projection_start = _run.PROJECTION_START
    kw: dict[str, Any] = {"data_dir": data_dir, "months": months, "start": start, "seed": seed,
                          "params": params, "record": record, "synthetic": synthetic,
                          "projection_start": projection_start, "space": space,
                          "spinup": spinup}  # fmt: skip
    if backend is None:
        return _run.run_scenario(scenario, members=members, progress=progress, **kw)
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    if space is None and ship_space:
        # the grid run_scenario would build: its start month is the spin-up start
        first = _run.parse_month(start)
        start_id = _run.HISTORY_START if spinup and first > _run.HISTORY_START else first
        kw["space"] = _run.make_space(data_dir, start_id, synthetic=synthetic)
    ids = np.arange(members) if np.isscalar(members) else np.asarray(members, dtype=np.int64)
    spans = _spans(ids.size, chunk or backend.default_chunk(ids.size))
    digest = posterior_digest() if params is None else None
    fn = functools.partial(_scenario_chunk, sc, dict(kw, params=_pack_params(params)), digest)
    labels = [_member_label(ids[a:b]) for a, b in spans]
    try:
        parts = backend.map(fn, [ids[a:b] for a, b in spans], labels=labels, progress=progress)
    except ChunkFailure as exc:
        if exc.completed:
            exc.partial = _concat_members(list(exc.completed.values()))
        raise
    return _concat_members(parts)


# -- calibration ---------------------------------------------------------------------------------
@functools.lru_cache(maxsize=8)
def _cached_simulator(
    params: tuple[str, ...],
    years: tuple[int, int],
    seed: int,
    data_dir: str | None,
    synthetic: bool,
) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """The calibrator's own batch simulator, built once per process (grid and drivers)."""
    from sahelsim.inference.calibrate import Calibrator

    cal = Calibrator(params=params, years=years, seed=seed, synthetic=synthetic,
                     data_dir=Path(data_dir) if data_dir else None)  # fmt: skip
    return cal._default_simulator()


class CalibrationSimulator:
    """:meth:`sahelsim.calibrate.Calibrator._default_simulator` as a small picklable object:
    only the settings travel; each process builds the grid and drivers on its first call and
    keeps them (so a Ray worker builds the grid once)."""

    def __init__(
        self,
        *,
        params: Sequence[str] | None = None,
        years: tuple[int, int] = (2012, 2023),
        seed: int = 0,
        data_dir: str | os.PathLike[str] | None = None,
        synthetic: bool = False,
    ) -> None:
        from sahelsim.inference.calibrate import CALIBRATED

        self.params = tuple(params) if params is not None else CALIBRATED
        self.years = (int(years[0]), int(years[1]))
        self.seed = int(seed)
        self.data_dir = str(data_dir) if data_dir is not None else None
        self.synthetic = bool(synthetic)

    def __call__(self, theta: np.ndarray, members: np.ndarray) -> np.ndarray:
        _require_data_dir(self.data_dir, self.synthetic)
        sim = _cached_simulator(self.params, self.years, self.seed, self.data_dir, self.synthetic)
        return sim(theta, members)

    def __repr__(self) -> str:
        return (f"CalibrationSimulator(years={self.years}, seed={self.seed}, "
                f"data_dir={self.data_dir!r}, synthetic={self.synthetic})")  # fmt: skip


def _apply_simulator(sim, item):
    theta, members = item
    return sim(theta, members)


class ChunkedSimulator:
    """A batch simulator ``sim(theta (B, p), member_ids) -> stats (B, S)`` whose batch is split
    into chunks of particles, run on ``backend`` and stacked back in order."""

    def __init__(self, inner: Callable[[np.ndarray, np.ndarray], np.ndarray], backend: Backend,
                 chunk: int | None = None) -> None:  # fmt: skip
        self.inner = inner
        self.backend = backend
        self.chunk = chunk
        self.calls = 0

    def __call__(self, theta: np.ndarray, members: np.ndarray) -> np.ndarray:
        theta = np.asarray(theta, dtype=np.float64)
        members = np.asarray(members, dtype=np.int64)
        self.calls += 1
        spans = _spans(theta.shape[0], self.chunk or self.backend.default_chunk(theta.shape[0]))
        items = [(theta[a:b], members[a:b]) for a, b in spans]
        labels = [f"particles {a}-{b - 1}, {_member_label(members[a:b])}" for a, b in spans]
        parts = self.backend.map(functools.partial(_apply_simulator, self.inner), items,
                                 labels=labels)  # fmt: skip
        return np.concatenate(parts, axis=0)


def calibration_simulator(
    backend: Backend | None = None,
    *,
    chunk: int | None = None,
    params: Sequence[str] | None = None,
    years: tuple[int, int] = (2012, 2023),
    seed: int = 0,
    data_dir: str | os.PathLike[str] | None = None,
    synthetic: bool = False,
) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """A batch simulator for ``Calibrator(simulator=...)`` that evaluates each batch in
    parallel on ``backend``; the settings must match the calibrator's (``params``, ``years``,
    ``seed``, ``data_dir``, ``synthetic``), see :func:`simulator_for`."""
    inner = CalibrationSimulator(params=params, years=years, seed=seed, data_dir=data_dir,
                                 synthetic=synthetic)  # fmt: skip
    return ChunkedSimulator(inner, backend or LocalBackend(), chunk)


def simulator_for(cal: Any, backend: Backend, chunk: int | None = None) -> ChunkedSimulator:
    """The parallel batch simulator matching a :class:`~sahelsim.calibrate.Calibrator`'s
    settings: ``cal.simulator = simulator_for(cal, backend)``."""
    inner = CalibrationSimulator(params=cal.params, years=cal.years, seed=cal.seed,
                                 data_dir=cal.data_dir, synthetic=cal.synthetic)  # fmt: skip
    return ChunkedSimulator(inner, backend, chunk)


# -- backtest ------------------------------------------------------------------------------------
def _country_year(source: Any) -> Any:
    """The country-year indicator frame from a frame, a store or a store path."""
    import pandas as pd

    from sahelsim.evidence import indicators

    if isinstance(source, pd.DataFrame):
        return source
    if isinstance(source, (str, os.PathLike)):
        from sahelsim.data.store.store import Store

        with Store(Path(source), read_only=True) as st:
            return indicators.country_year(st)
    return indicators.country_year(source)


def _backtest_origin(cy, obs, settings, T):
    """One origin year of :func:`sahelsim.backtest.run_backtest` on a worker."""
    from sahelsim.forecast.backtest import backtest_origin

    _require_data_dir(settings["data_dir"], settings["synthetic"])
    return backtest_origin(cy, obs, settings, T)


def run_backtest_parallel(
    source: Any,
    *,
    origins: tuple[int, int] = (2014, 2023),
    horizons: tuple[int, ...] = (1, 2),
    n_particles: int = 150,
    generations: int = 3,
    draws: int = 500,
    seed: int = 0,
    data_dir: Path | None = None,
    synthetic: bool = False,
    backend: Backend | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """:func:`sahelsim.backtest.run_backtest` with one task per origin year on ``backend``.

    ``source`` is the country-year indicator frame (``indicators.country_year``), a store or a
    store path: the frame is computed on the driver and shipped, so workers need no store.
    Same results as ``run_backtest`` for the same settings. On failure raises
    :class:`ChunkFailure` whose ``partial`` is the forecast frame of the finished origins.
    """
    import time

    import pandas as pd

    from sahelsim.forecast.backtest import observed_targets, score_backtest

    t0 = time.perf_counter()
    backend = backend or LocalBackend()
    cy = _country_year(source)
    obs = observed_targets(cy)
    settings = {"horizons": tuple(horizons), "n_particles": n_particles,
                "generations": generations, "draws": draws, "seed": seed,
                "data_dir": data_dir, "synthetic": synthetic,
                "last_obs": int(obs.year.max())}  # fmt: skip
    span = list(range(origins[0], origins[1] + 1))
    fn = functools.partial(_backtest_origin, cy, obs, settings)
    try:
        parts = backend.map(fn, span, labels=[f"origin {T}" for T in span], progress=progress,
                            what="origin")  # fmt: skip
    except ChunkFailure as exc:
        exc.partial = pd.DataFrame([r for rows in exc.completed.values() for r in rows])
        raise
    frame = pd.DataFrame([r for rows in parts for r in rows])
    log.info("backtest (%s): %d forecasts in %.0f s", backend.name, len(frame),
             time.perf_counter() - t0)  # fmt: skip
    return {"forecasts": frame, **score_backtest(frame)}

"""The Ray backend: each item of a :meth:`~sahelsim.core.backend.Backend.map` runs as a Ray
task (``pip install 'sahelsim[distributed]'``), on a local cluster it starts or on an existing
one (``address="auto"``, ``"ray://head:10001"`` or ``$RAY_ADDRESS``).

This module knows nothing about the model: library functions take ``backend=``
(:func:`sahelsim.scenarios.run.run_scenario`, :class:`sahelsim.inference.abc.Calibrator`,
:func:`sahelsim.inference.calibrate.run_calibration`,
:func:`sahelsim.forecast.backtest.run_backtest`) and split their work into items themselves.

A task whose worker dies is resubmitted by Ray (``max_retries``). An item that still cannot
finish makes the whole map raise :class:`~sahelsim.core.backend.ChunkFailure`, which names the
failed items and keeps the finished ones. The mapped function (which carries the large inputs:
grid, drivers, parameters) goes to the object store once per map, and once for repeated maps of
the same function object (a calibration's batches), shared by every task.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Iterator
from typing import Any

import numba

from sahelsim.core.backend import Backend, LocalBackend, Outcome
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
        numba.set_num_threads(min(int(threads), numba.config.NUMBA_NUM_THREADS))
    return fn(item)


_REMOTE: dict[int, Any] = {}


def _remote_call(ray: Any) -> Any:
    key = id(ray)
    if key not in _REMOTE:
        _REMOTE[key] = ray.remote(_call)
    return _REMOTE[key]


class RayBackend(Backend):
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
    ``retry_exceptions``. ``chunk``: chunk size (members or particles per task); None
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
        chunk: int | None = None,
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
        self.chunk = chunk
        self.worker_threads = worker_threads
        self.retry_exceptions = retry_exceptions
        self.runtime_env = dict(runtime_env or {})
        self.init_kwargs = dict(init_kwargs or {})
        self._started = False
        self._shipped: dict[int, tuple[Any, Any]] = {}  # id(fn) -> (fn, its object ref)

    # -- connection ---------------------------------------------------------------------------
    def connect(self) -> Any:
        """Connect (or start a local cluster) if this process is not connected yet."""
        ray = self._ray
        if not ray.is_initialized():
            self._shipped.clear()  # refs of an earlier connection are gone
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
        if self.chunk:
            return max(int(self.chunk), 1)
        return max(math.ceil(int(n) / (2 * self.cpus())), 1)

    def close(self) -> None:
        """Disconnect if this backend connected (``ray.shutdown``: stops a local cluster it
        started; an existing cluster keeps running)."""
        self._shipped.clear()
        if self._started and self._ray.is_initialized():
            self._ray.shutdown()
        self._started = False

    def __enter__(self) -> RayBackend:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- work -----------------------------------------------------------------------------------
    #: how many mapped functions stay in the object store for later maps
    keep_shipped = 4

    def ship(self, obj: Any) -> Any:
        """``obj`` in the object store (its ref), put there once per object: repeated maps of
        the same function object (a calibration's batches) reuse it. The object must not be
        changed between maps."""
        ray = self.connect()
        hit = self._shipped.get(id(obj))
        if hit is not None and hit[0] is obj:
            return hit[1]
        ref = ray.put(obj)
        self._shipped[id(obj)] = (obj, ref)  # keeps obj alive, so its id is not reused
        while len(self._shipped) > self.keep_shipped:
            self._shipped.pop(next(iter(self._shipped)))
        return ref

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

    def _run(self, fn: Callable[[Any], Any], items: list[Any]) -> Iterator[Outcome]:
        ray = self.connect()
        if not items:
            return
        call = _remote_call(ray).options(**self._options())
        fn_ref = self.ship(fn)  # shipped once, shared by every task
        refs = [call.remote(fn_ref, item, self.worker_threads) for item in items]
        index = {ref: i for i, ref in enumerate(refs)}
        pending = list(refs)
        try:
            while pending:
                ready, pending = ray.wait(pending, num_returns=1)
                for ref in ready:
                    try:
                        value = ray.get(ref)
                    except ray.exceptions.RayError as exc:
                        yield index[ref], None, exc
                    else:
                        yield index[ref], value, None
        except BaseException:  # interrupted: do not leave tasks running on the cluster
            for ref in pending:
                try:
                    ray.cancel(ref)
                except Exception:  # already finished or gone
                    pass
            raise


def make_backend(
    name: str = "local", address: str | None = None, **kw: Any
) -> LocalBackend | RayBackend:
    """The backend called ``name``: ``"local"`` (:class:`LocalBackend`, ``kw``: ``chunk``) or
    ``"ray"`` (:class:`RayBackend` at ``address``, ``kw``: its other settings), as the CLI's
    ``--backend``/``--address``. Both are context managers (``with make_backend(...) as be``)."""
    if name == "local":
        if address:
            raise SahelsimError("--address needs --backend ray")
        return LocalBackend(**kw)
    if name == "ray":
        return RayBackend(address=address, **kw)
    raise SahelsimError(f"unknown backend {name!r}: choose 'local' or 'ray'")

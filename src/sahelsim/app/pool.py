"""Runs shared by the explorer's sessions, in parallel up to the cores available.

Streamlit serves each session on a thread of one process, and the compiled engine must not be
entered by two threads at once (Numba's workqueue threading layer is not re-entrant). So a
:class:`Runner` runs one request at a time in the server process (no start-up cost: the first
chart of a cold start is not delayed) and sends a request that arrives while that one is busy
to a pool of worker processes shared by every session (``spawn``ed, so no server thread or
lock is forked), at most ``cores - 1`` of them. The pool starts on the first overlap (or a
little after the server's first page, :mod:`sahelsim.app.server`); a worker
imports the library once and then keeps its grid and present state in memory. Each worker's
engine uses ``cores // (workers + 1)`` threads (at least one), so the runs together use the
cores without oversubscribing them much; workers run at niceness +5, so their start and their
runs never slow the server process's own run.

A run's numbers do not depend on where it ran (members, seed and parameters decide them).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Generic, TypeVar

__all__ = ["Runner", "available_cores"]

log = logging.getLogger(__name__)

R = TypeVar("R")
T = TypeVar("T")


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _init_worker(threads: int, env: dict[str, str]) -> None:
    """Worker set-up, before the library is imported: the engine's thread count and the
    server's settings (data directory, grid, present)."""
    os.environ.update(env)
    os.environ["NUMBA_NUM_THREADS"] = str(threads)
    try:  # below the server process: a worker's start must not slow the local run
        os.nice(5)
    except OSError:  # pragma: no cover - not permitted
        pass


class Runner(Generic[R, T]):
    """``run(request)``: ``compute(request)`` here when the local slot is free, else in a
    worker process (``compute`` must be a module-level function, so it can be sent)."""

    def __init__(self, compute: Callable[[R], T], *, cores: int | None = None,
                 env_keys: tuple[str, ...] = ()) -> None:  # fmt: skip
        self.compute = compute
        self.cores = cores if cores is not None else available_cores()
        self.workers = max(0, self.cores - 1)
        self.env_keys = env_keys
        self._local = threading.Lock()
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self.where: dict[str, int] = {"local": 0, "pool": 0}

    def _get_pool(self) -> ProcessPoolExecutor | None:
        if self.workers == 0:
            return None
        with self._lock:
            if self._pool is None:
                threads = max(1, self.cores // (self.workers + 1))
                env = {k: os.environ[k] for k in self.env_keys if k in os.environ}
                self._pool = ProcessPoolExecutor(
                    max_workers=self.workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_init_worker,
                    initargs=(threads, env),
                )
                log.info("app: %d worker processes (%d engine threads each)", self.workers,
                         threads)  # fmt: skip
            return self._pool

    def run(self, request: R) -> T:
        if self._local.acquire(blocking=False):
            try:
                self.where["local"] += 1
                return self.compute(request)
            finally:
                self._local.release()
        pool = self._get_pool()
        if pool is None:  # one core: wait for the local slot
            with self._local:
                self.where["local"] += 1
                return self.compute(request)
        self.where["pool"] += 1
        return pool.submit(self.compute, request).result()

    def prestart(self, warm: Callable[[Any], Any], arg: Any) -> None:
        """Start the worker processes now, each running ``warm(arg)`` once (imports, grid),
        so the first overlapping request does not wait for them; no-op with one core or when
        the pool runs already."""
        with self._lock:
            started = self._pool is not None
        if started or self.workers == 0:
            return
        pool = self._get_pool()
        if pool is not None:
            for _ in range(self.workers):
                pool.submit(warm, arg)

    def shutdown(self) -> None:
        """Stop the worker processes (a later overlap starts new ones)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def __getstate__(self) -> dict[str, Any]:  # pragma: no cover - never sent
        raise TypeError("a Runner stays in the server process")

"""The backend seam: how a batch of independent work items (chunks of ensemble members,
batches of calibration particles, backtest origins) is run.

A *backend* maps a function over items and returns the results in item order
(:meth:`Backend.map`). :class:`LocalBackend` runs them in this process; the Ray backend
(:mod:`sahelsim.distributed`) runs each item as a Ray task. Library functions take
``backend=`` (None = local) and never know which one they got: they call only ``map``,
``default_chunk`` and ``name``, so any object with those three serves.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from sahelsim.core.errors import SahelsimError

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]


# -- errors ------------------------------------------------------------------------------------
class ChunkFailure(SahelsimError):
    """Some chunks of a distributed run could not finish.

    ``failed`` maps chunk index to a one-line reason, ``completed`` maps the finished chunks'
    indices to their results, ``labels`` names every chunk (e.g. ``members 100-199``) and
    ``partial`` holds what the caller could assemble from the finished chunks (for an ensemble,
    the dataset of their members), or None.
    """

    def __init__(
        self,
        failed: dict[int, str],
        completed: dict[int, Any],
        labels: Sequence[str],
        what: str = "chunk",
    ) -> None:
        self.failed = dict(sorted(failed.items()))
        self.completed = dict(sorted(completed.items()))
        self.labels = list(labels)
        self.what = what
        self.partial: Any = None
        total = len(self.labels)
        parts = [f"{what} {i} ({self.labels[i]}): {why}" for i, why in self.failed.items()]
        super().__init__(
            f"{len(self.failed)} of {total} {what}(s) failed: " + "; ".join(parts)
            + f". The {len(self.completed)} finished {what}(s) are kept (ChunkFailure.completed,"
            " .partial)."
        )  # fmt: skip

    @property
    def failed_chunks(self) -> list[int]:
        return list(self.failed)

    def __reduce__(self):  # picklable although __init__ takes several arguments
        return (_rebuild_failure, (self.failed, self.completed, self.labels, self.what,
                                   self.partial))  # fmt: skip


def _rebuild_failure(failed, completed, labels, what, partial) -> ChunkFailure:
    exc = ChunkFailure(failed, completed, labels, what)
    exc.partial = partial
    return exc


def _describe(exc: BaseException) -> str:
    """One line: the task's own exception (not Ray's wrapping traceback) or Ray's reason."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BaseException) and cause is not exc:
        exc = cause
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    name = type(exc).__name__
    if name in ("WorkerCrashedError", "NodeDiedError", "ObjectLostError", "OwnerDiedError"):
        first = f"{first} (worker or node lost; Ray's retries exhausted)"
    return f"{name}: {first}"[:500]


# -- backends ----------------------------------------------------------------------------------
#: what a backend's runner yields as items finish: (item index, result, None) or
#: (item index, None, the exception)
Outcome = tuple[int, Any, BaseException | None]


def _labels(labels: Sequence[str] | None, n: int) -> list[str]:
    return list(labels) if labels is not None else [f"item {i}" for i in range(n)]


class Backend(ABC):
    """Maps ``fn`` over ``items`` and returns the results in item order; raises
    :class:`ChunkFailure` if any item fails (after the others have finished).

    A backend implements :meth:`default_chunk` and :meth:`_run` (run every item, yield the
    outcomes as they come); :meth:`map` does the bookkeeping. Backends are context managers
    (:meth:`close` releases what they hold).
    """

    name: str = "backend"

    @abstractmethod
    def default_chunk(self, n: int) -> int:
        """Default chunk size for ``n`` units of work (members, particles)."""

    @abstractmethod
    def _run(self, fn: Callable[[Any], Any], items: list[Any]) -> Iterator[Outcome]:
        """Runs ``fn`` on every item; yields each item's outcome when it finishes."""

    def map(
        self,
        fn: Callable[[Any], Any],
        items: Sequence[Any],
        *,
        labels: Sequence[str] | None = None,
        progress: Progress | None = None,
        what: str = "chunk",
    ) -> list[Any]:
        """``[fn(item) for item in items]`` on this backend; ``labels`` name the items in
        errors, ``progress(what, done, total)`` is called as items finish."""
        items = list(items)
        n = len(items)
        results: dict[int, Any] = {}
        failed: dict[int, str] = {}
        first: BaseException | None = None
        for i, value, exc in self._run(fn, items):
            if exc is None:
                results[i] = value
            else:  # reported per item, the others still run
                failed[i] = _describe(exc)
                first = first or exc
                log.error("%s %d failed: %s", what, i, failed[i])
            if progress:
                progress(what, len(results) + len(failed), n)
        if failed:
            raise ChunkFailure(failed, results, _labels(labels, n), what) from first
        return [results[i] for i in range(n)]

    def close(self) -> None:
        """Releases what the backend holds (nothing, for the local one)."""
        log.debug("%s backend closed", self.name)

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LocalBackend(Backend):
    """Runs every item in this process, one after another (the engine itself is already
    multi-threaded), so one chunk holding everything is the default; ``chunk`` sets another
    chunk size (members or particles per item), e.g. to check that a split run gives the same
    numbers."""

    name = "local"

    def __init__(self, chunk: int | None = None) -> None:
        self.chunk = chunk

    def default_chunk(self, n: int) -> int:
        return max(int(self.chunk or n), 1)

    def _run(self, fn: Callable[[Any], Any], items: list[Any]) -> Iterator[Outcome]:
        for i, item in enumerate(items):
            try:
                value = fn(item)
            except Exception as exc:
                yield i, None, exc
            else:
                yield i, value, None


# -- splitting work ----------------------------------------------------------------------------
def chunk_spans(backend: Backend | None, n: int) -> list[tuple[int, int]] | None:
    """``[(start, stop), ...]`` chunks of ``n`` units (members, particles) for ``backend``, in
    order; None when the work is best done in this process in one call (no backend, or a local
    backend whose chunk holds everything)."""
    if backend is None:
        return None
    size = max(int(backend.default_chunk(n)), 1)
    if getattr(backend, "name", "") == "local" and size >= n:
        return None
    return [(a, min(a + size, n)) for a in range(0, n, size)]


def member_label(ids: np.ndarray) -> str:
    """Short name of a chunk of member ids (``members 100-199``) for error messages."""
    if ids.size == 0:
        return "no members"
    if ids.size > 1 and np.all(np.diff(ids) == 1):
        return f"members {int(ids[0])}-{int(ids[-1])}"
    if ids.size <= 4:
        return "members " + ",".join(str(int(i)) for i in ids)
    return f"{ids.size} members from {int(ids[0])}"


def map_items(
    backend: Backend | None, fn: Callable[[Any], Any], items: Sequence[Any], **options: Any
) -> list[Any]:
    """``backend.map(fn, items, **options)``; without a backend, a plain loop in this process
    (the first exception propagates as it is; ``options["progress"]`` is still called)."""
    if backend is not None:
        return backend.map(fn, items, **options)
    progress, what = options.get("progress"), options.get("what", "chunk")
    out = []
    for i, item in enumerate(items):
        out.append(fn(item))
        if progress:
            progress(what, i + 1, len(items))
    return out

"""Background work: Qt-free core jobs run on a QThreadPool, results come back as signals.

A :class:`Job` is a ``QRunnable`` around a plain function. Its small
:class:`JobSignals` QObject lives in the GUI thread, so its signals reach GUI
slots through queued connections. Workers never touch widgets or models: they
get everything they need as arguments and hand results back in the signal
payload, tagged with the request id the caller chose. Callers keep the newest
id and drop any result that is not for it.

Core jobs take ``progress(done, total, text)`` and a ``cancel`` token; the job
passes both when asked (``with_progress`` / ``cancel``).

:class:`JobRunner` keeps each job (and so its signal object) alive until its
``finished`` signal has been delivered, and can wait for all of them (window
close, tests). Every pool created here is registered so a test can check that
nothing outlives it (:func:`busy_pools`).

Importing this module applies :func:`raredesk.gui.qt_compat.guard_singleton_refcounts`
(PySide6 6.12.0 loses a reference to ``True`` on every ``emit()`` and to ``None``
on every pool job on CPython 3.11; without the guard the process aborts after a
few hundred signals).
"""

from __future__ import annotations

import itertools
import time
import traceback
import weakref
from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from raredesk.errors import Cancelled
from raredesk.gui.qt_compat import guard_singleton_refcounts
from raredesk.store.importer import CancelToken

guard_singleton_refcounts()

_POOLS: "weakref.WeakSet[QThreadPool]" = weakref.WeakSet()
_ids = itertools.count(1)


def new_request_id() -> int:
    """A process-wide increasing id for tagging requests."""
    return next(_ids)


def make_pool(max_threads: int | None = None, name: str = "", keep_threads: bool = False) -> QThreadPool:
    """A registered thread pool (``max_threads=1`` gives a serial writer).

    ``keep_threads`` keeps idle threads instead of ending them after 30 s, so a click
    after a pause does not pay for starting a thread.
    """
    pool = QThreadPool()
    if max_threads:
        pool.setMaxThreadCount(max_threads)
    if keep_threads:
        pool.setExpiryTimeout(-1)
    pool.setObjectName(name)
    _POOLS.add(pool)
    return pool


def busy_pools() -> list[QThreadPool]:
    """Registered pools (and the global one) with a running or queued job."""
    pools = list(_POOLS) + [QThreadPool.globalInstance()]
    return [p for p in pools if p.activeThreadCount() > 0]


class JobSignals(QObject):
    """Signals of one job; every payload starts with the job's request id."""

    progress = Signal(object, int, int, str)
    result = Signal(object, object)
    error = Signal(object, object)
    cancelled = Signal(object)
    finished = Signal(object)


class Job(QRunnable):
    """Run ``fn(*args, **kwargs)`` on a pool thread and report through :attr:`signals`.

    Parameters
    ----------
    fn : callable
        Qt-free; must not touch widgets or models.
    request_id : object
        Echoed in every signal so receivers can drop stale results.
    with_progress : bool
        Pass ``progress=callable(done, total, text)`` (emits :attr:`JobSignals.progress`,
        throttled to ~20 per second).
    cancel : CancelToken, optional
        Passed as ``cancel=``; also checked before the job starts.
    """

    def __init__(self, fn: Callable, *args, request_id: Any = None, with_progress: bool = False,
                 cancel: CancelToken | None = None, **kwargs):
        super().__init__()
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.request_id = new_request_id() if request_id is None else request_id
        self.signals = JobSignals()
        self.cancel_token = cancel
        if with_progress:
            self.kwargs["progress"] = self._progress
        if cancel is not None:
            self.kwargs["cancel"] = cancel
        self._last_progress = 0.0
        self.setAutoDelete(True)

    def _progress(self, done: int, total: int, text: str) -> None:
        now = time.monotonic()
        if now - self._last_progress < 0.05 and done < total:
            return
        self._last_progress = now
        self.signals.progress.emit(self.request_id, int(done), int(total), str(text))

    def run(self) -> None:  # Qt override
        rid = self.request_id
        try:
            if self.cancel_token is not None and self.cancel_token.cancelled:
                raise Cancelled()
            value = self.fn(*self.args, **self.kwargs)
        except Cancelled:
            self.signals.cancelled.emit(rid)
        except BaseException as exc:  # reaches the user as a notification, never swallowed
            exc.raredesk_traceback = traceback.format_exc()
            self.signals.error.emit(rid, exc)
        else:
            self.signals.result.emit(rid, value)
        finally:
            self.signals.finished.emit(rid)


class JobRunner(QObject):
    """Starts jobs on one pool and keeps them alive until they have reported."""

    def __init__(self, pool: QThreadPool | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.pool = pool or make_pool(name="jobs")
        self._active: dict[int, Job] = {}
        self._keys = itertools.count()

    def start(self, job: Job, priority: int = 0) -> Job:
        key = next(self._keys)
        self._active[key] = job
        job.signals.finished.connect(lambda _rid, k=key: self._active.pop(k, None))
        self.pool.start(job, priority)
        return job

    def submit(self, fn: Callable, *args, on_result=None, on_error=None, on_progress=None, on_cancelled=None,
               request_id: Any = None, with_progress: bool = False, cancel: CancelToken | None = None,
               priority: int = 0, **kwargs) -> Job:
        """Build a :class:`Job`, connect the given slots and start it."""
        job = Job(fn, *args, request_id=request_id, with_progress=with_progress, cancel=cancel, **kwargs)
        if on_result is not None:
            job.signals.result.connect(on_result)
        if on_error is not None:
            job.signals.error.connect(on_error)
        if on_progress is not None:
            job.signals.progress.connect(on_progress)
        if on_cancelled is not None:
            job.signals.cancelled.connect(on_cancelled)
        return self.start(job, priority)

    @property
    def busy(self) -> bool:
        return bool(self._active) or self.pool.activeThreadCount() > 0

    @Slot()
    def wait(self, msecs: int = -1) -> bool:
        """Block until every started job has finished (window close, tests)."""
        return self.pool.waitForDone(msecs)

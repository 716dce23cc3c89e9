"""Read recounts for the variant table, on a worker: the visible rows, or every variant in the background.

:class:`RecountController` wraps :mod:`raredesk.store.recount` for the GUI:

* :meth:`RecountController.request_visible` -- the table calls it with the
  variant keys on screen (after a scroll or a sort); after a short pause the
  ones not yet counted are counted and :attr:`recounted` fires with a
  :class:`~raredesk.store.recount.RecountChanges`, so the table refreshes
  only those rows (read the values with
  :func:`~raredesk.store.recount.get_recounts` or join
  :func:`~raredesk.store.recount.recount_join_sql`);
* :meth:`RecountController.start_all` -- every variant of the case, with
  :attr:`progress` and a cancel (:meth:`cancel_all`).

Jobs run one at a time on a private one-thread pool (they write to the
workspace; the store also takes its write lock).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from raredesk.gui.workers import JobRunner, make_pool, new_request_id
from raredesk.store import recount as rc
from raredesk.store.importer import CancelToken

__all__ = ["RecountController"]


class RecountController(QObject):
    """Counts REF/ALT reads per sample for the table (see module docstring).

    Signals
    -------
    recounted(object)
        A :class:`~raredesk.store.recount.RecountChanges` after visible rows were counted.
    progress(int, int, str)
        ``done, total, text`` of the background job.
    all_finished(object)
        The job's :class:`~raredesk.store.recount.RecountChanges`, or None when cancelled.
    error_raised(str)
    """

    recounted = Signal(object)
    progress = Signal(int, int, str)
    all_finished = Signal(object)
    error_raised = Signal(str)

    DELAY_MS = 300

    def __init__(self, parent=None, *, min_bq: int = 13, min_mapq: int = 0):
        super().__init__(parent)
        self.runner = JobRunner(make_pool(1, "recount"), self)
        self.ws = None
        self.case = None
        self.min_bq, self.min_mapq = min_bq, min_mapq
        self._visible: list[str] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(self.DELAY_MS)
        self._timer.timeout.connect(self._count_visible)
        self._cancel: CancelToken | None = None
        self._all_rid = None
        self._generation = 0

    def set_case(self, ws, case) -> None:
        """The workspace and case the table shows (None to stop)."""
        self.cancel_all()
        self._timer.stop()
        self._generation += 1
        self.ws, self.case = ws, case

    def request_visible(self, vkeys) -> None:
        """Count the given variants soon (called again while scrolling, only the last call counts)."""
        self._visible = list(dict.fromkeys(vkeys))
        if self.case is not None and self._visible:
            self._timer.start()

    def count_visible_now(self) -> None:
        """Count the last requested variants without waiting for the pause."""
        self._timer.stop()
        self._count_visible()

    def _count_visible(self) -> None:
        if self.case is None or not self._visible:
            return
        gen = self._generation
        self.runner.submit(rc.recount_on_screen, self.ws, self.case, list(self._visible), min_bq=self.min_bq,
                           min_mapq=self.min_mapq, request_id=new_request_id(),
                           on_result=lambda _rid, ch, g=gen: self._on_visible(g, ch),
                           on_error=lambda _rid, exc: self.error_raised.emit(f"Recount failed: {exc}"))

    def _on_visible(self, gen, changes) -> None:
        if gen == self._generation:
            self.recounted.emit(changes)

    def start_all(self):
        """Recount every variant of the case in the background; returns the job's request id."""
        if self.case is None:
            return None
        self.cancel_all()
        self._cancel = token = CancelToken()
        rid = self._all_rid = new_request_id()
        self.runner.submit(rc.recount_all, self.ws, self.case, min_bq=self.min_bq, min_mapq=self.min_mapq,
                           request_id=rid, with_progress=True, cancel=token,
                           on_progress=lambda r, d, t, text: r == self._all_rid and self.progress.emit(d, t, text),
                           on_result=lambda r, ch: r == self._all_rid and self.all_finished.emit(ch),
                           on_cancelled=lambda r: r == self._all_rid and self.all_finished.emit(None),
                           on_error=lambda r, exc: self.error_raised.emit(f"Recount of all variants failed: {exc}"))
        return rid

    def cancel_all(self) -> None:
        """Stop the background job after the variant it is counting (counted rows are kept)."""
        if self._cancel is not None:
            self._cancel.cancel()
            self._cancel = None

    def shutdown(self, msecs: int = 30_000) -> bool:
        """Cancel and wait for the worker (window close)."""
        self._timer.stop()
        self.cancel_all()
        return self.runner.wait(msecs)

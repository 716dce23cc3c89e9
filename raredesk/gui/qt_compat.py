"""Work-around for a reference-count defect of the Qt binding; applied once per process.

With PySide6 6.12.0 on CPython 3.11 several binding entry points hand back a
singleton without taking a reference to it, so each call takes one reference
away from it (measured with ``sys.getrefcount``):

* ``SignalInstance.emit()`` and ``.disconnect()``: ``True``, one per call;
* a Python ``QRunnable.run()`` run by a ``QThreadPool``: ``None``, one per run;
* ``QTimer.singleShot(0, callable)``: ``None``, one per call.

``True`` starts with a few hundred references and ``None`` with a few thousand,
so a window that emits signals and runs background jobs aborts after minutes
with "Fatal Python error: bool_dealloc: deallocating True or False" or
"none_dealloc: deallocating None", wherever the count reaches zero. Reproduce::

    from PySide6.QtCore import QObject, Signal
    class S(QObject):
        sig = Signal()
    s = S()
    for _ in range(2000):
        s.sig.emit()          # aborts on CPython 3.11

CPython 3.12 made these singletons immortal (PEP 683), which hides the defect
there. :func:`guard_singleton_refcounts` does the same on older interpreters:
it adds 2**40 references to ``True``, ``False`` and ``None`` (objects that are
never freed anyway), which lasts 12 days of one lost reference per
microsecond. It runs once, before the first signal, from
:mod:`raredesk.gui.workers` and :func:`raredesk.gui.app.make_app`.
"""

from __future__ import annotations

import ctypes
import sys

_PIN = 1 << 40
_applied: bool | None = None


def bool_refs_lost_per_emit() -> int:
    """References to ``True`` one ``emit()`` takes away (0 on a sound binding)."""
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        ping = Signal()

    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(16):
        probe.ping.emit()
    return (before - sys.getrefcount(True)) // 16


def guard_singleton_refcounts() -> bool:
    """Make ``True``, ``False`` and ``None`` immortal on CPython < 3.12 (see the module docstring).

    Returns True when it pinned them (once per process; later calls return the same answer).
    """
    global _applied
    if _applied is None:
        _applied = sys.implementation.name == "cpython" and sys.version_info < (3, 12)
        if _applied:
            for obj in (True, False, None):
                # ob_refcnt is the first field of every CPython object (Include/object.h).
                ctypes.c_ssize_t.from_address(id(obj)).value += _PIN
    return _applied

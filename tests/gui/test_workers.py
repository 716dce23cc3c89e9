"""Worker plumbing: the guard against workers outliving a test, stale results dropped, newest wins."""

from __future__ import annotations

import threading

import pytest

from raredesk.gui.page_source import StoreSource, ViewSpec
from raredesk.gui.variant_table import VariantTableModel
from raredesk.gui.workers import JobRunner, make_pool
from raredesk.store.cases import get_case
from raredesk.store.workspace import Workspace



def test_the_guard_fails_when_a_worker_is_still_running(qtbot, pool_guard):
    runner = JobRunner(make_pool(1, "guard-check"))
    release = threading.Event()
    runner.submit(release.wait, 30)
    qtbot.waitUntil(lambda: runner.pool.activeThreadCount() == 1, timeout=5_000)
    try:
        with pytest.raises(AssertionError, match="guard-check"):
            pool_guard()
    finally:
        release.set()
        runner.wait()
    pool_guard()


def test_only_the_newest_view_is_installed(qtbot, demo_ws):
    ws = Workspace(demo_ws)
    runner = JobRunner(make_pool(2, "test-queries"))
    try:
        case = get_case(ws.cursor(), "DEMO-trio")
        model = VariantTableModel(runner)
        model.set_source(StoreSource(ws, case), ws)
        installed = []
        model.view_installed.connect(lambda spec, n: installed.append((spec.filter_text, n)))
        specs = [ViewSpec("impact in (HIGH)"), ViewSpec("impact in (LOW)"), ViewSpec("impact in (MODERATE)")]
        for s in specs:
            model.set_spec(s)
        qtbot.waitUntil(lambda: bool(installed), timeout=10_000)
        runner.wait()
        qtbot.wait(50)                      # let any late (stale) result arrive: it must be dropped
        n = ws.cursor().execute("SELECT count(*) FROM case_1_variants WHERE impact = 'MODERATE'").fetchone()[0]
        assert installed == [("impact in (MODERATE)", n)]
        assert model.rowCount() == n
    finally:
        runner.wait()
        ws.close()


def test_many_signals_and_pool_jobs_do_not_abort_the_process(tmp_path):
    """PySide6 6.12.0 on CPython 3.11 loses a reference to True per emit() and to None per pool job."""
    import os
    import subprocess
    import sys

    script = tmp_path / "emit.py"
    script.write_text(
        "import sys\n"
        "from PySide6.QtCore import QCoreApplication, QObject, QRunnable, QThreadPool, Signal\n"
        "if sys.argv[1] == 'guarded':\n"
        "    import raredesk.gui.workers  # applies the guard\n"
        "app = QCoreApplication([])\n"
        "class S(QObject):\n"
        "    sig = Signal(object)\n"
        "class J(QRunnable):\n"
        "    def run(self):\n"
        "        pass\n"
        "s = S()\n"
        "pool = QThreadPool()\n"
        "for i in range(20000):\n"
        "    s.sig.emit(i)\n"
        "    pool.start(J())\n"
        "pool.waitForDone()\n"
        "print('alive')\n")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    guarded = subprocess.run([sys.executable, str(script), "guarded"], capture_output=True, text=True, env=env,
                             timeout=120)
    assert guarded.returncode == 0 and "alive" in guarded.stdout, guarded.stderr[-2000:]
    from raredesk.gui.qt_compat import bool_refs_lost_per_emit

    if sys.version_info < (3, 12) and bool_refs_lost_per_emit() > 0:
        bare = subprocess.run([sys.executable, str(script), "bare"], capture_output=True, text=True, env=env,
                              timeout=120)
        assert bare.returncode != 0 and "dealloc" in bare.stderr    # the defect is real: the guard is needed

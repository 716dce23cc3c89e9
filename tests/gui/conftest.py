"""GUI test fixtures: offscreen Qt, settings in tmp_path, no worker outliving its test, real data.

* ``QT_QPA_PLATFORM=offscreen`` is set before Qt is imported.
* Every test's QSettings go to its own ``tmp_path`` (nothing of the user's is read or written).
* An autouse fixture fails any test that leaves a RareDesk thread pool (or the global one) busy.
* ``demo_template`` builds the demo workspace once per session (~15 s); ``demo_ws`` gives each test
  its own copy of the workspace folder (the generated BAM/FASTA files are shared, read-only).
* ``big_case`` imports ``benchmarks/out/trio_100000_s1.vcf.gz`` (made with
  ``benchmarks/make_trio_vcf.py`` when absent; needs ``$RAREDESK_TEST_DATA``) once per session.
  Set ``RAREDESK_GUI_TEST_CACHE=DIR`` to keep that workspace between sessions while developing.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import NamedTuple  # noqa: E402

import pytest  # noqa: E402

pytest.importorskip("PySide6", reason="the GUI tests need PySide6 (pip install 'raredesk[gui]')")
pytest.importorskip("pytestqt", reason="the GUI tests need pytest-qt")

from PySide6.QtCore import QSettings  # noqa: E402

from raredesk.gui.qt_compat import guard_singleton_refcounts  # noqa: E402

guard_singleton_refcounts()   # before pytest-qt makes the QApplication (see raredesk/gui/qt_compat.py)

REPO = Path(__file__).resolve().parents[2]
BIG_RECORDS = 100_000
BIG_VCF = REPO / "benchmarks" / "out" / f"trio_{BIG_RECORDS}_s1.vcf.gz"
BIG_CASE = "trio-100k"


def assert_pools_idle(wait_ms: int = 0) -> None:
    """Fail when a RareDesk pool (or Qt's global pool) still runs or queues a job."""
    from raredesk.gui.workers import busy_pools

    busy = busy_pools()
    if busy and wait_ms:
        for p in busy:
            p.waitForDone(wait_ms)
    names = [p.objectName() or "global" for p in busy]
    if busy:
        for p in busy:       # do not let the stray job leak into the next test
            p.waitForDone(60_000)
        raise AssertionError(f"a worker outlived its test (busy thread pools: {', '.join(names)})")


@pytest.fixture
def pool_guard():
    """The check the autouse fixture runs after every test (so a test can show that it can fail)."""
    return assert_pools_idle


@pytest.fixture(autouse=True)
def _settings_in_tmp(tmp_path):
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    yield


@pytest.fixture(autouse=True)
def _no_worker_outlives_its_test():
    # Autouse fixtures are set up first, so this teardown runs after qtbot has closed the test's widgets.
    yield
    assert_pools_idle()


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory):
    """The demo folder (generated files + imported workspace), built once per session."""
    from raredesk.demo.workspace import ensure_demo

    return ensure_demo(tmp_path_factory.mktemp("demo"))


@pytest.fixture
def demo_ws(demo_template, tmp_path) -> Path:
    """A private copy of the demo workspace folder."""
    dest = tmp_path / "workspace"
    shutil.copytree(demo_template.workspace, dest, ignore=shutil.ignore_patterns(".tmp"))
    return dest


@pytest.fixture(scope="session")
def big_vcf(tmp_path_factory, data_dir) -> Path:
    """The generated 100k-record trio VCF (made once when ``benchmarks/out`` does not hold it)."""
    if BIG_VCF.is_file():
        return BIG_VCF
    vcf = tmp_path_factory.mktemp("vcf") / BIG_VCF.name
    subprocess.run([sys.executable, str(REPO / "benchmarks" / "make_trio_vcf.py"), "--records", str(BIG_RECORDS),
                    "--out", str(vcf), "--quiet"], check=True, env={**os.environ, "RAREDESK_TEST_DATA": str(data_dir)})
    return vcf


class BigCase(NamedTuple):
    workspace: Path
    name: str


@pytest.fixture(scope="session")
def big_case(tmp_path_factory, big_vcf) -> BigCase:
    """A workspace holding the 100k-record trio (``trio-100k``), imported once per session."""
    from raredesk.store.importer import import_vcf
    from raredesk.store.workspace import Workspace

    vcf = big_vcf
    cache = os.environ.get("RAREDESK_GUI_TEST_CACHE")
    ws_dir = Path(cache) / "big_case_ws" if cache else tmp_path_factory.mktemp("big") / "ws"
    with Workspace(ws_dir) as ws:
        con = ws.cursor()
        if con.execute("SELECT count(*) FROM cases WHERE name = ?", [BIG_CASE]).fetchone()[0] == 0:
            import_vcf(ws, vcf, BIG_CASE)
    return BigCase(ws_dir, BIG_CASE)


# ------------------------------------------------------------------------------------------
# helpers shared by the tests


@pytest.fixture
def window(qtbot):
    """A main window (closed, with its workers stopped, at teardown)."""
    from raredesk.gui.main_window import MainWindow

    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    yield w
    w.close()


@pytest.fixture
def open_case(qtbot):
    """``open_case(win, ws_path, case_name)``: open a workspace and a case, wait for the first painted page."""

    def run(win, ws_path, case_name, timeout=30_000):
        with qtbot.waitSignal(win.cases_loaded, timeout=timeout):
            assert win.open_workspace(ws_path)
        with qtbot.waitSignals([win.table.page_painted, win.model.view_installed], timeout=timeout):
            win.open_case(case_name)
        qtbot.waitUntil(lambda: win.detail.detail is not None, timeout=timeout)
        return win.case
    return run

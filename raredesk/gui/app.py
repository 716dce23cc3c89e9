"""Entry points of the GUI: ``raredesk`` (:func:`run`) and ``raredesk demo`` (:func:`run_demo`).

``raredesk demo --screenshot FILE.png`` opens the demo case, filters to rare
protein-altering variants, selects the planted de novo variant, waits until
the table page and the variant's evidence are painted, renders the window to
PNG and exits 0. It works without a display (``QT_QPA_PLATFORM=offscreen`` is
chosen when no display is available).

``RAREDESK_DEMO_SELECT=KIND`` picks another planted finding for the screenshot (``de_novo_missense``,
``homozygous_recessive``, ``compound_het``, ``clinvar_pathogenic``, ``x_linked``).

``RAREDESK_READY_FILE=PATH`` (used by ``benchmarks/bench_gui.py``): when the
window is usable (workspace open, case list shown), the process writes the
time since it started to PATH and quits.
"""

from __future__ import annotations

import gc
import os
import sys
import time
from pathlib import Path

DEMO_FILTER = "(gnomad_af < 0.001 or gnomad_af is missing) and impact in (HIGH, MODERATE)"
SCREENSHOT_SIZE = (1600, 1000)


def _ensure_platform(headless: bool) -> None:
    if headless and not os.environ.get("QT_QPA_PLATFORM") and not (os.environ.get("DISPLAY")
                                                                  or os.environ.get("WAYLAND_DISPLAY")):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"


def _quiet_offscreen_warnings() -> None:
    """The offscreen platform warns on every window-size hint; keep the rest of Qt's messages."""
    from PySide6.QtCore import qInstallMessageHandler

    def handler(_mode, _context, message):
        if "propagateSizeHints" in message:
            return
        sys.stderr.write(message + "\n")
    qInstallMessageHandler(handler)


def make_app(argv: list[str] | None = None):
    """The QApplication (created once), with RareDesk's names and style."""
    from PySide6.QtCore import QCoreApplication
    from PySide6.QtWidgets import QApplication

    from raredesk.gui.qt_compat import guard_singleton_refcounts
    from raredesk.gui.settings import APPLICATION, ORGANIZATION

    guard_singleton_refcounts()
    app = QApplication.instance()
    if app is None:
        QCoreApplication.setOrganizationName(ORGANIZATION)
        QCoreApplication.setApplicationName(APPLICATION)
        if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
            _quiet_offscreen_warnings()
        app = QApplication(argv if argv is not None else [sys.argv[0]])
        app.setStyle("Fusion")
    return app


def _wait(app, predicate, timeout_s: float) -> bool:
    from PySide6.QtCore import QEventLoop

    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if predicate():
            return True
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.005)
    return predicate()


def _ready_probe(app, window) -> None:
    """Benchmark hook: write the start-up time once the window is usable, then quit."""
    path = os.environ.get("RAREDESK_READY_FILE")
    if not path:
        return
    started = float(os.environ.get("RAREDESK_START_TIME", "0") or 0)

    def done(*_):
        app.processEvents()
        window.repaint()
        Path(path).write_text(f"{time.time() - started:.4f}\n" if started else "ready\n")
        window.close()
        app.quit()

    if window.ws is None:
        from PySide6.QtCore import QTimer

        QTimer.singleShot(0, done)
    else:
        window.cases_loaded.connect(done)


def run(args) -> int:
    """``raredesk`` with no command: the main window on the last (or given, or default) workspace."""
    app = make_app()
    from raredesk.gui.main_window import MainWindow
    from raredesk.store.workspace import default_workspace

    window = MainWindow()
    gc.freeze()  # everything imported so far is permanent (see main_window._settle_heap)
    path = getattr(args, "workspace", None) or window.settings.value("last/workspace") or default_workspace()
    passphrase = None
    if getattr(args, "passphrase_file", None):
        from raredesk.store.workspace import read_passphrase_file

        passphrase = read_passphrase_file(args.passphrase_file)
    window.show()
    if not getattr(args, "workspace", None):
        last_case = window.settings.value("last/case")
    else:
        last_case = None
    _ready_probe(app, window)
    if window.open_workspace(path, passphrase) and last_case and not os.environ.get("RAREDESK_READY_FILE"):
        def reopen(rows):
            window.cases_loaded.disconnect(reopen)
            if any(r.case.name == last_case for r in rows):
                window.open_case(last_case)
        window.cases_loaded.connect(reopen)
    return int(app.exec())


def run_demo(info, screenshot: str | None = None) -> int:
    """Open the demo case; with ``screenshot``, render the window to that PNG and exit."""
    _ensure_platform(headless=bool(screenshot))
    app = make_app()
    from raredesk.gui.main_window import MainWindow

    window = MainWindow()
    if screenshot:
        window.resize(*SCREENSHOT_SIZE)
    window.show()
    if not window.open_workspace(info.workspace):
        if screenshot:
            print(f"error: cannot open the demo workspace {info.workspace}", file=sys.stderr)
            window.shutdown()
            return 2
        return int(app.exec())
    kind = os.environ.get("RAREDESK_DEMO_SELECT", "de_novo_missense")
    planted = next((p for p in info.planted if p.get("kind") == kind), None) or \
        (info.planted[0] if info.planted else None)

    def on_opened(_case):
        window.case_opened.disconnect(on_opened)
        window.filter_panel.set_expression(DEMO_FILTER)
    window.case_opened.connect(on_opened)
    window.open_case(info.case)
    if not screenshot:
        if planted:
            _select_when_ready(window, planted)
        return int(app.exec())
    return _screenshot(app, window, planted, screenshot)


def _vkey_of(planted: dict) -> str:
    from raredesk.io.genome import canonical_contig

    return f"{canonical_contig(planted['chrom'])}:{planted['pos']}:{planted['ref']}:{planted['alt']}"


def _select_when_ready(window, planted) -> None:
    target = _vkey_of(planted)

    def on_installed(spec, count):
        if spec.filter_text:
            window.model.view_installed.disconnect(on_installed)
            window.jump_to(target)
    window.model.view_installed.connect(on_installed)


def _screenshot(app, window, planted, path: str) -> int:
    ok = _wait(app, lambda: window.model.spec is not None and window.model.spec.filter_text == DEMO_FILTER
               and window.model.rowCount() > 0, 60)
    target = _vkey_of(planted) if planted else None
    if ok and target:
        window.jump_to(target)
        ok = _wait(app, lambda: (ref := window.table.current_ref()) is not None and ref.vkey == target
                   and window.detail.detail is not None and window.detail.detail.row["vkey"] == target, 30)
    else:
        ok = ok and _wait(app, lambda: window.detail.detail is not None, 30)
    if not ok:
        print("error: the demo case did not open in time", file=sys.stderr)
        window.shutdown()
        return 2
    first = window.table.rowAt(0)
    last = window.table.rowAt(window.table.viewport().height() - 1)
    _wait(app, lambda: all(window.model.is_loaded(r) for r in range(max(0, first), max(first, last) + 1)), 10)
    app.processEvents()
    window.repaint()
    app.processEvents()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(out), "PNG"):
        print(f"error: {out}: cannot write the PNG", file=sys.stderr)
        window.shutdown()
        return 2
    window.shutdown()
    print(f"screenshot written to {out}")
    return 0

"""The main window: case browser and filters on the left, the variant table, the detail panel below.

Everything that reads or writes the workspace runs on a worker
(:mod:`raredesk.gui.workers`): table queries and blocks and detail reads on
the ``queries`` pool, review writes on a one-thread ``writer`` pool (so they
are applied in order), exports and the import on pools of their own. Each
result carries a request id; the window keeps the newest and drops the rest.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QByteArray, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (QApplication, QDockWidget, QFileDialog, QFrame, QHBoxLayout, QInputDialog, QLabel,
                               QLineEdit, QMainWindow, QMenu, QMessageBox, QProgressBar, QSplitter, QToolButton,
                               QVBoxLayout, QWidget)

from raredesk.errors import RareDeskError, WorkspaceError
from raredesk.gui import settings as st
from raredesk.gui.case_browser import CaseBrowser, load_cases
from raredesk.gui.detail_panel import DetailPanel, load_detail
from raredesk.gui.export import FORMATS, export_table, vcf_writer
from raredesk.gui.filter_panel import FilterPanel, FilterState
from raredesk.gui.import_job import ImportController
from raredesk.gui.page_source import (FilterError, ViewSpec, default_visible, filter_engine, list_panels, list_presets,
                                      make_source)
from raredesk.gui.variant_table import ColumnChooser, VariantTableModel, VariantTableView
from raredesk.gui.workers import JobRunner, make_pool
from raredesk.store import review as rv
from raredesk.store.importer import CancelToken

DETAIL_DELAY_MS = 30


@dataclass
class OpenedCase:
    """What opening a case reads on a worker."""

    case: object
    source: object
    engine: bool
    panels: list
    presets: list
    tags: list


def _open_case_job(ws, name: str) -> OpenedCase:
    from raredesk.store.cases import get_case

    con = ws.cursor()
    try:
        case = get_case(con, name)
        panels = list_panels(con)
        presets = list_presets(con)
        tags = [t for t, _ in rv.case_tags(con, case.case_id)]
    finally:
        con.close()
    source = make_source(ws, case)
    return OpenedCase(case, source, filter_engine() is not None, panels, presets, tags)


def _settle_heap() -> None:
    """Move what exists now (modules, widgets, the case's catalogue) out of the cyclic collector's sight.

    A full collection walks every tracked object while holding the GIL; with Qt, DuckDB and
    the annotation libraries loaded that took 110-140 ms on the GUI thread and was the longest
    stall while scrolling a 5 M-row table. After ``gc.freeze()`` it takes well under 1 ms.
    Reference counting still frees frozen objects; only cycles among them are kept.
    """
    gc.freeze()


class NotificationBar(QFrame):
    """A message above the table (errors stay until dismissed; information fades after a while)."""

    COLORS = {"error": "#f8d7da", "warning": "#fff3cd", "info": "#d1ecf1"}

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 4, 4, 4)
        self.label = QLabel("")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.label, 1)
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss (Esc)")
        close.clicked.connect(self.hide)
        lay.addWidget(close)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.hide)
        self.level = None
        self.hide()

    def show_message(self, text: str, level: str = "info") -> None:
        self.level = level
        self.label.setText(text)
        self.setStyleSheet(f"NotificationBar {{ background: {self.COLORS.get(level, '#d1ecf1')}; "
                           "border-radius: 4px; } QLabel { color: #202020; }")
        self.show()
        if level == "info":
            self._timer.start(8000)
        else:
            self._timer.stop()


class MainWindow(QMainWindow):
    """RareDesk's main window.

    Signals
    -------
    workspace_opened(str)
    case_opened(object)          the Case
    cases_loaded(list)
    detail_shown(object)         VariantDetail
    review_saved(object)         Review
    export_finished(str, int)    path, rows
    notified(str, str)           level, text
    """

    workspace_opened = Signal(str)
    case_opened = Signal(object)
    cases_loaded = Signal(list)
    detail_shown = Signal(object)
    review_saved = Signal(object)
    export_finished = Signal(str, int)
    notified = Signal(str, str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("RareDesk")
        self.setObjectName("RareDeskMainWindow")
        self.settings = st.app_settings()
        self.ws = None
        self.case = None
        self.source = None
        self.runner = JobRunner(make_pool(2, "queries", keep_threads=True), self)
        self.writer = JobRunner(make_pool(1, "writer"), self)
        self.exporter = JobRunner(make_pool(1, "export"), self)
        self.imports = ImportController(self)
        self._case_rid = None
        self._detail_rid = None
        self._cases_rid = None
        self._find_rid = None
        self._export_token: CancelToken | None = None
        self._export_rid = None
        self._pending_ref = None
        self._open_started = 0.0
        self.last_notification: tuple[str, str] | None = None

        # table + detail
        self.model = VariantTableModel(self.runner, self)
        self.table = VariantTableView(self.model)
        self.table.setObjectName("variantTable")
        self.detail = DetailPanel()
        from raredesk.gui.pileup.view import ReadEvidencePanel

        reads = ReadEvidencePanel()
        # Its toolbar's widths add up to ~1,700 px; an explicit minimum lets the panel shrink
        # with the window instead of widening it (the toolbar clips, the tracks rescale).
        reads.setMinimumSize(1, 1)
        self.detail.set_pileup_widget(reads)
        from raredesk.gui.pileup.recount_jobs import RecountController

        # REF/ALT reads per sample for the rows on screen (the "reads" and "Reads≠VCF" columns).
        self.recounter = RecountController(self)
        from raredesk.gui.acmg_panel import AcmgPanel

        self.detail.set_acmg_widget(AcmgPanel())
        self.notification = NotificationBar()
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(self.detail)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        central = QWidget()
        cl = QVBoxLayout(central)
        cl.setContentsMargins(2, 2, 2, 2)
        cl.addWidget(self.notification)
        cl.addWidget(self.splitter, 1)
        self.setCentralWidget(central)

        # docks
        self.case_browser = CaseBrowser()
        self.cases_dock = QDockWidget("Cases", self)
        self.cases_dock.setObjectName("casesDock")
        self.cases_dock.setWidget(self.case_browser)
        self.filter_panel = FilterPanel()
        self.filters_dock = QDockWidget("Filters", self)
        self.filters_dock.setObjectName("filtersDock")
        self.filters_dock.setWidget(self.filter_panel)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.cases_dock)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.filters_dock)
        self.splitDockWidget(self.cases_dock, self.filters_dock, Qt.Orientation.Vertical)
        self.resizeDocks([self.cases_dock, self.filters_dock], [170, 730], Qt.Orientation.Vertical)
        self.resizeDocks([self.filters_dock], [360], Qt.Orientation.Horizontal)

        self._build_actions()
        self._build_status_bar()
        self._connect()
        self._restore_window()
        self._update_actions()

    # ------------------------------------------------------------------------------------------
    # set-up

    def _action(self, text, slot=None, shortcut=None, tip=None, checkable=False, context=None) -> QAction:
        act = QAction(text, self)
        if shortcut is not None:
            act.setShortcut(QKeySequence(shortcut))
        if tip:
            act.setStatusTip(tip)
            act.setToolTip(f"{tip} ({act.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})"
                           if shortcut else tip)
        if checkable:
            act.setCheckable(True)
        if context is not None:
            act.setShortcutContext(context)
        if slot is not None:
            act.triggered.connect(slot)
        self.addAction(act)
        return act

    def _build_actions(self) -> None:
        K = QKeySequence.StandardKey
        self.act_new = self._action("&New case…", self.new_case, K.New, "Create a case from a VCF, PED and BAM/CRAM")
        self.act_open_ws = self._action("&Open workspace…", self.choose_workspace, K.Open,
                                        "Open another workspace folder")
        self.act_close_case = self._action("&Close case", self.close_case, K.Close, "Close the open case")
        self.act_export = self._action("&Export table…", self.export_dialog, "Ctrl+E",
                                       "Export the filtered table as TSV, CSV or VCF")
        self.act_quit = self._action("&Quit", self.close, K.Quit, "Quit RareDesk")
        self.act_copy = self._action("&Copy rows", self.copy_rows, K.Copy, "Copy the selected rows as TSV",
                                     context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.table.addAction(self.act_copy)
        self.removeAction(self.act_copy)
        self.act_jump = self._action("&Go to locus or gene…", self.focus_jump, K.Find,
                                     "Jump to a locus (2:150000), gene, variant key or rsID")
        self.act_jump2 = self._action("Go to locus", self.focus_jump, "Ctrl+L")
        self.act_filter_focus = self._action("Edit filter &expression", self.focus_filter, "Ctrl+Shift+F",
                                             "Put the cursor in the filter expression")
        self.act_clear_filter = self._action("C&lear filter", self.filter_panel.clear, "Ctrl+Shift+Backspace",
                                             "Show every variant of the case")
        self.act_refresh = self._action("&Refresh", self.refresh, K.Refresh, "Run the current filter again")
        self.act_columns = self._action("C&olumns…", self.choose_columns, None, "Choose and order the table columns")
        self.act_flag = self._action("&Flag / unflag", self.toggle_flag, "Ctrl+D", "Flag the selected variant")
        self.act_tag = self._action("Add &tag…", self.focus_tag, "Ctrl+T", "Add a tag to the selected variant")
        self.act_note = self._action("Edit &note", self.focus_note, "Ctrl+Shift+N",
                                     "Write a note on the selected variant")
        self.act_next_flag = self._action("Only &flagged variants", self.filter_panel.flagged_only.toggle,
                                          "Ctrl+Shift+D", "Show only flagged variants")
        self.act_recount_all = self._action("&Recount reads for all variants", self.recount_all, None,
                                            "Count REF/ALT reads in every sample's BAM/CRAM for every variant "
                                            "of the case (in the background)")
        self.act_shortcuts = self._action("&Keyboard shortcuts", self.show_shortcuts, K.HelpContents)
        self.act_about = self._action("&About RareDesk", self.show_about)
        self.act_reset_layout = self._action("Reset &layout", self.reset_layout)

        mb = self.menuBar()
        m = mb.addMenu("&File")
        for a in (self.act_new, self.act_open_ws):
            m.addAction(a)
        self.recent_menu = m.addMenu("Recent &cases")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        m.addSeparator()
        m.addAction(self.act_export)
        m.addSeparator()
        m.addAction(self.act_close_case)
        m.addAction(self.act_quit)
        m = mb.addMenu("&Edit")
        for a in (self.act_copy, self.act_jump, self.act_filter_focus, self.act_clear_filter):
            m.addAction(a)
        m = mb.addMenu("&View")
        m.addAction(self.act_columns)
        m.addAction(self.act_refresh)
        m.addSeparator()
        m.addAction(self.cases_dock.toggleViewAction())
        m.addAction(self.filters_dock.toggleViewAction())
        m.addAction(self.act_reset_layout)
        m = mb.addMenu("&Variant")
        for a in (self.act_flag, self.act_tag, self.act_note, self.act_next_flag):
            m.addAction(a)
        m.addSeparator()
        m.addAction(self.act_recount_all)
        m = mb.addMenu("&Help")
        m.addAction(self.act_shortcuts)
        m.addAction(self.act_about)

        tb = self.addToolBar("Main")
        tb.setObjectName("mainToolbar")
        tb.setIconSize(QSize(16, 16))
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        for a in (self.act_new, self.act_open_ws, self.act_export, self.act_columns):
            tb.addAction(a)
        tb.addSeparator()
        tb.addAction(self.act_flag)
        tb.addSeparator()
        tb.addWidget(QLabel(" Go to "))
        self.jump = QLineEdit()
        self.jump.setObjectName("jumpBox")
        self.jump.setPlaceholderText("locus, gene, variant key or rsID  (Ctrl+L)")
        self.jump.setClearButtonEnabled(True)
        self.jump.setMaximumWidth(340)
        self.jump.returnPressed.connect(self._on_jump_return)
        tb.addWidget(self.jump)

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        self.status_count = QLabel("")
        self.status_busy = QLabel("")
        sb.addWidget(self.status_count, 1)
        sb.addWidget(self.status_busy)
        self.import_label = QLabel("")
        self.import_bar = QProgressBar()
        self.import_bar.setMaximumWidth(220)
        self.import_bar.setTextVisible(True)
        self.import_cancel = QToolButton()
        self.import_cancel.setText("Cancel import")
        self.import_cancel.clicked.connect(self._on_import_cancel_clicked)
        self.export_bar = QProgressBar()
        self.export_bar.setMaximumWidth(160)
        self.export_cancel = QToolButton()
        self.export_cancel.setText("Cancel export")
        self.export_cancel.clicked.connect(self.cancel_export)
        for w in (self.import_label, self.import_bar, self.import_cancel, self.export_bar, self.export_cancel):
            sb.addPermanentWidget(w)
            w.hide()

    def _connect(self) -> None:
        self.case_browser.case_activated.connect(self.open_case)
        self.case_browser.new_case_requested.connect(self.new_case)
        self.case_browser.open_workspace_requested.connect(self.choose_workspace)
        self.filter_panel.filter_changed.connect(self._on_filter_changed)
        self.model.page_installed.connect(self._on_page_installed)
        self.model.view_installed.connect(self._on_view_installed)
        self.model.block_loaded.connect(lambda _b: self._recount_visible())
        # After the view has laid out the new page (it sets the visible rows then).
        self.model.page_installed.connect(lambda _spec: QTimer.singleShot(0, self._recount_visible))
        self.table.verticalScrollBar().valueChanged.connect(lambda _v: self._recount_visible())
        self.recounter.recounted.connect(self.model.update_recounts)
        self.recounter.progress.connect(
            lambda done, total, _t: self.status_busy.setText(f"recounting reads {done:,}/{total:,}…"))
        self.recounter.all_finished.connect(self._on_recount_all_finished)
        self.recounter.error_raised.connect(lambda text: self.notify(text, "error"))
        self.model.query_failed.connect(self._on_query_failed)
        self.model.busy_changed.connect(lambda busy: self.status_busy.setText("querying…" if busy else ""))
        self.table.current_variant_changed.connect(self._on_current_variant_changed)
        self.table.columns_reordered.connect(self._on_columns_reordered)
        self.table.context_requested.connect(self._on_table_context)
        self.table.horizontalHeader().sectionResized.connect(lambda *_: self._save_widths_later())
        self.detail.review.flag_toggled.connect(lambda vkey, on: self._write_review(rv.set_flag, vkey, on))
        self.detail.review.tag_added.connect(lambda vkey, t: self._write_review(rv.add_tag, vkey, t))
        self.detail.review.tag_removed.connect(lambda vkey, t: self._write_review(rv.remove_tag, vkey, t))
        self.detail.review.note_edited.connect(lambda vkey, t: self._write_review(rv.set_note, vkey, t))
        self.imports.import_started.connect(self._on_import_started)
        self.imports.import_progressed.connect(self._on_import_progressed)
        self.imports.import_finished.connect(self._on_import_finished)
        self.imports.import_failed.connect(self._on_import_failed)
        self.imports.import_cancelled.connect(self._on_import_cancelled)
        self._detail_timer = QTimer(self)
        self._detail_timer.setSingleShot(True)
        self._detail_timer.setInterval(DETAIL_DELAY_MS)
        self._detail_timer.timeout.connect(self._load_detail)
        self._widths_timer = QTimer(self)
        self._widths_timer.setSingleShot(True)
        self._widths_timer.setInterval(500)
        self._widths_timer.timeout.connect(self._save_widths)

    def _restore_window(self) -> None:
        s = self.settings
        geo = s.value("window/geometry")
        if isinstance(geo, QByteArray) and not geo.isEmpty():
            self.restoreGeometry(geo)
        else:
            self.resize(1500, 940)
        state = s.value("window/state")
        if isinstance(state, QByteArray) and not state.isEmpty():
            self.restoreState(state)
        split = s.value("window/splitter")
        if isinstance(split, QByteArray) and not split.isEmpty():
            self.splitter.restoreState(split)
        else:
            self.splitter.setSizes([520, 420])
        dsplit = s.value("window/detail_splitter")
        if isinstance(dsplit, QByteArray) and not dsplit.isEmpty():
            self.detail.splitter.restoreState(dsplit)

    def _save_window(self) -> None:
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("window/splitter", self.splitter.saveState())
        s.setValue("window/detail_splitter", self.detail.splitter.saveState())
        self._save_widths()
        s.sync()

    def reset_layout(self) -> None:
        for d in (self.cases_dock, self.filters_dock):
            d.setFloating(False)
            d.show()
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.cases_dock)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.filters_dock)
        self.splitDockWidget(self.cases_dock, self.filters_dock, Qt.Orientation.Vertical)
        self.splitter.setSizes([560, 380])

    def _update_actions(self) -> None:
        has_ws, has_case = self.ws is not None, self.case is not None
        self.act_new.setEnabled(has_ws)
        for a in (self.act_close_case, self.act_export, self.act_columns, self.act_refresh, self.act_jump,
                  self.act_jump2, self.act_filter_focus, self.act_clear_filter, self.act_flag, self.act_tag,
                  self.act_note, self.act_next_flag):
            a.setEnabled(has_case)
        self.jump.setEnabled(has_case)
        self.act_recount_all.setEnabled(self.recounter.case is not None)

    # ------------------------------------------------------------------------------------------
    # notifications

    def notify(self, text: str, level: str = "info") -> None:
        self.last_notification = (level, text)
        self.notification.show_message(text, level)
        self.notified.emit(level, text)

    def _error_text(self, exc) -> str:
        if isinstance(exc, RareDeskError):
            return exc.one_line()
        return f"{type(exc).__name__}: {exc}"

    # ------------------------------------------------------------------------------------------
    # workspace and cases

    def open_workspace(self, path, passphrase: str | None = None, *, ask: bool = True) -> bool:
        """Open a workspace folder (created when absent); False when it cannot be opened."""
        from raredesk.store.workspace import Workspace

        path = Path(path).expanduser().resolve()
        self.close_workspace()
        try:
            ws = Workspace(path, passphrase=passphrase)
        except WorkspaceError as exc:
            if ask and "passphrase" in exc.problem:
                text, ok = QInputDialog.getText(self, "Encrypted workspace",
                                                f"{exc.problem}\n\nPassphrase for {path}:",
                                                QLineEdit.EchoMode.Password)
                if ok and text:
                    return self.open_workspace(path, text, ask=True)
            self.case_browser.set_workspace(None)
            self.case_browser.status.setText(exc.one_line())
            self.notify(f"Cannot open the workspace: {exc.one_line()}", "error")
            return False
        self.ws = ws
        self.case_browser.set_workspace(str(path))
        st.push_recent(self.settings, "recent/workspaces", str(path))
        self.settings.setValue("last/workspace", str(path))
        self.setWindowTitle(f"RareDesk — {path}")
        self.refresh_cases()
        self._update_actions()
        self.workspace_opened.emit(str(path))
        return True

    def close_workspace(self) -> None:
        if self.ws is None:
            return
        self.close_case()
        self.runner.wait()
        self.imports.cancel()
        self.imports.wait()
        self.writer.wait()
        self.exporter.wait()
        self.ws.close()
        self.ws = None
        self.case_browser.set_workspace(None)
        self._update_actions()

    def choose_workspace(self) -> None:
        start = str(self.ws.path) if self.ws else str(Path.home())
        path = QFileDialog.getExistingDirectory(self, "Open a workspace folder", start)
        if path:
            self.open_workspace(path)

    def refresh_cases(self) -> None:
        if self.ws is None:
            return
        job = self.runner.submit(load_cases, self.ws, on_result=self._on_cases_loaded, on_error=self._on_job_error)
        self._cases_rid = job.request_id

    def _on_cases_loaded(self, rid, rows) -> None:
        if rid != self._cases_rid:
            return
        self.case_browser.set_cases(rows)
        self.cases_loaded.emit(rows)

    def open_case(self, name: str) -> None:
        if self.ws is None:
            return
        self.detail.review.flush_note()
        self._open_started = time.perf_counter()
        self.status_busy.setText(f"opening {name}…")
        job = self.runner.submit(_open_case_job, self.ws, name, on_result=self._on_case_loaded,
                                 on_error=self._on_job_error, priority=20)
        self._case_rid = job.request_id

    def _on_case_loaded(self, rid, opened: OpenedCase) -> None:
        if rid != self._case_rid:
            return
        case = opened.case
        self.case, self.source = case, opened.source
        self.model.set_source(opened.source, self.ws)
        if any(smp.alignment_path for smp in case.samples) and not getattr(self.ws, "read_only", False):
            self.recounter.set_case(self.ws, case)
        else:
            self.recounter.set_case(None, None)
        self.detail.set_case(self.ws, case)
        self.filter_panel.set_case(case, engine=opened.engine, panels=opened.panels, presets=opened.presets)
        self.filter_panel.set_tags(opened.tags)
        self.case_browser.set_open_case(case.name)
        self.setWindowTitle(f"RareDesk — {case.name} — {self.ws.path}")
        st.push_recent(self.settings, "recent/cases", [str(self.ws.path), case.name])
        self.settings.setValue("last/case", case.name)
        remembered = st.get_json(self.settings, st.case_key(str(self.ws.path), case.name) + "/filter", {})
        text = remembered.get("text", "") if isinstance(remembered, dict) else ""
        self.filters_dock.raise_()
        self._update_actions()
        self._first_view_of_case = True
        if text:
            self.filter_panel.set_expression(text, apply=False)
        spec = ViewSpec(self.filter_panel.state().text, None, self._remembered_sort(), tuple(self._column_names()))
        self.model.set_spec(spec)
        self.case_opened.emit(case)

    def close_case(self) -> None:
        if self.case is None:
            return
        self.detail.review.flush_note()
        self._remember_filter()
        self.case = None
        self.source = None
        self.recounter.set_case(None, None)
        self.model.clear()
        self.detail.set_case(self.ws, None)
        self.filter_panel.set_case(None, engine=False)
        self.filter_panel.count_label.setText("No case open")
        self.case_browser.set_open_case(None)
        self.status_count.setText("")
        self.setWindowTitle(f"RareDesk — {self.ws.path}" if self.ws else "RareDesk")
        self._update_actions()

    def _remember_filter(self) -> None:
        if self.case is None or self.ws is None or self.model.spec is None:
            return
        spec = self.model.spec
        st.set_json(self.settings, st.case_key(str(self.ws.path), self.case.name) + "/filter",
                    {"text": spec.filter_text, "sort": [list(x) for x in spec.sort]})

    def _remembered_sort(self) -> tuple:
        data = st.get_json(self.settings, st.case_key(str(self.ws.path), self.case.name) + "/filter", {})
        sort = data.get("sort", []) if isinstance(data, dict) else []
        names = {c.name for c in self.source.columns()}
        return tuple((n, bool(d)) for n, d in sort if n in names)

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        items = st.get_json(self.settings, "recent/cases", [])
        if not items:
            a = self.recent_menu.addAction("(none yet)")
            a.setEnabled(False)
        for ws_path, name in items:
            a = self.recent_menu.addAction(f"{name}   —   {ws_path}")
            a.triggered.connect(lambda _=False, w=ws_path, n=name: self.open_recent(w, n))

    def open_recent(self, ws_path: str, name: str) -> None:
        if self.ws is None or str(self.ws.path) != ws_path:
            if not self.open_workspace(ws_path):
                return
        self.open_case(name)

    # ------------------------------------------------------------------------------------------
    # filter, sort, columns

    def _column_names(self) -> list[str]:
        if self.source is None:
            return []
        available = {c.name for c in self.source.columns()}
        saved = st.get_json(self.settings, "table/columns", None)
        names = [n for n in (saved or []) if n in available]
        return names or default_visible(self.source.columns())

    def _on_filter_changed(self, state: FilterState) -> None:
        spec = self.model.spec
        if self.source is None:
            return
        sort = spec.sort if spec else ()
        cols = spec.columns if spec else tuple(self._column_names())
        self.model.set_spec(ViewSpec(state.text, state.preset, sort, cols, state.flagged_only, state.tag))

    def _on_page_installed(self, spec: ViewSpec) -> None:
        """The first page of a new view is shown: errors go, the selection comes back."""
        self.filter_panel.show_error(None)
        self._remember_filter()
        rows = self.model.rowCount()
        if getattr(self, "_first_view_of_case", False):
            self._first_view_of_case = False
            self.status_busy.setText("")
            QTimer.singleShot(0, _settle_heap)
            if rows:
                self.table.select_row(0)
            self.table.setFocus()
        elif rows:
            previous = getattr(self, "_last_vkey", None)
            row = self.model.row_of_vkey(previous) if previous else None
            self.table.select_row(row if row is not None else 0)

    def _on_view_installed(self, spec: ViewSpec, count: int) -> None:
        """The exact count of the shown view is known."""
        total = self.case.n_variants if self.case else count
        self.filter_panel.show_count(count, total)
        sort = ", ".join(f"{n} {'↓' if d else '↑'}" for n, d in spec.sort) or "genomic position"
        self.status_count.setText(f"{count:,} of {total:,} variants · sorted by {sort}")

    def _on_query_failed(self, exc) -> None:
        if isinstance(exc, FilterError):
            self.filter_panel.show_error(exc)
            if self.model.view is None:  # the remembered filter no longer compiles: open unfiltered
                self.model.set_spec(ViewSpec("", None, (), tuple(self._column_names())))
            return
        self.notify(f"The table could not be read: {self._error_text(exc)}", "error")

    def _on_columns_reordered(self, names: list[str]) -> None:
        st.set_json(self.settings, "table/columns", names)

    def choose_columns(self) -> None:
        if self.source is None:
            return
        current = list(self.model.spec.columns) if self.model.spec else self._column_names()
        dlg = ColumnChooser(self.source.columns(), self.table.visual_column_names() or current,
                            default_visible(self.source.columns()), self)
        if dlg.exec():
            self.set_columns(dlg.chosen())

    def set_columns(self, names: list[str]) -> None:
        """Show these columns in this order (remembered for every case)."""
        st.set_json(self.settings, "table/columns", names)
        spec = self.model.spec
        if spec is not None:
            self.model.set_spec(ViewSpec(spec.filter_text, spec.preset, spec.sort, tuple(names), spec.flagged_only,
                                         spec.tag))

    def _save_widths_later(self) -> None:
        self._widths_timer.start()

    def _save_widths(self) -> None:
        if self.model.columns:
            widths = st.get_json(self.settings, "table/widths", {})
            widths.update(self.table.current_widths())
            st.set_json(self.settings, "table/widths", widths)

    def refresh(self) -> None:
        spec = self.model.spec
        if spec is not None:
            self.model.set_spec(spec)

    # ------------------------------------------------------------------------------------------
    # selection and detail

    def _on_current_variant_changed(self, ref) -> None:
        # A model reset (new filter) passes through "no current row" before the row is selected
        # again: the short timer keeps the detail from flickering.
        self._pending_ref = ref
        if ref is not None:
            self._last_vkey = ref.vkey
        self._detail_timer.start()

    def _load_detail(self, force: bool = False) -> None:
        ref = self._pending_ref
        if ref is None or self.case is None:
            self._detail_rid = None
            self.detail.clear()
            return
        shown = self.detail.detail
        if not force and shown is not None and shown.variant_id == ref.variant_id:
            return
        job = self.runner.submit(load_detail, self.ws, self.case, ref.variant_id, on_result=self._on_detail_loaded,
                                 on_error=self._on_detail_error, priority=5)
        self._detail_rid = job.request_id

    def _on_detail_loaded(self, rid, detail) -> None:
        if rid != self._detail_rid:
            return
        self.detail.show_detail(detail)
        self.detail_shown.emit(detail)

    def _on_detail_error(self, rid, exc) -> None:
        if rid == self._detail_rid:
            self.notify(f"Cannot show the variant: {self._error_text(exc)}", "error")

    # ------------------------------------------------------------------------------------------
    # review

    def _write_review(self, fn, vkey: str, value) -> None:
        if self.ws is None or self.case is None:
            return
        self.detail.review.saved.setText("saving…")
        self.writer.submit(fn, self.ws, self.case.case_id, vkey, value, on_result=self._on_review_saved,
                           on_error=self._on_review_error)

    def _on_review_saved(self, _rid, changes: rv.Changes) -> None:
        review = changes.review
        if review is None or self.case is None or changes.case_id != self.case.case_id:
            return
        self.model.update_review(review)
        self.detail.show_review(review)
        if self.detail.detail is not None and self.detail.detail.row.get("vkey") == review.vkey:
            self.detail.review.mark_saved(time.strftime("%H:%M:%S"))
        if changes.changed:
            tags = set(self.filter_panel.tag_filter.itemText(i) for i in range(1, self.filter_panel.tag_filter.count()))
            if not set(review.tags) <= tags:
                self.filter_panel.set_tags(sorted(tags | set(review.tags)))
                self.detail.review.tags.set_suggestions(sorted(tags | set(review.tags)))
            self.refresh_cases()
        self.review_saved.emit(review)

    def _on_review_error(self, _rid, exc) -> None:
        self.notify(f"Not saved: {self._error_text(exc)}", "error")
        if self.detail.detail is not None:  # show what is really stored
            self._pending_ref = self.table.current_ref()
            self._load_detail(force=True)

    def toggle_flag(self) -> None:
        ref = self.table.current_ref()
        if ref is None:
            return
        review = self.model.review(ref.vkey)
        self._write_review(rv.set_flag, ref.vkey, not (review.flagged if review else False))

    def focus_tag(self) -> None:
        if self.detail.review.isEnabled():
            self.detail.review.tags.edit.setFocus()

    def focus_note(self) -> None:
        if self.detail.review.isEnabled():
            self.detail.review.note.setFocus()

    def _on_table_context(self, ref, global_pos) -> None:
        menu = QMenu(self)
        review = self.model.review(ref.vkey)
        flagged = bool(review and review.flagged)
        menu.addAction("Unflag" if flagged else "Flag", lambda: self._write_review(rv.set_flag, ref.vkey, not flagged))
        tags_menu = menu.addMenu("Add tag")
        have = set(review.tags) if review else set()
        known = [self.filter_panel.tag_filter.itemText(i) for i in range(1, self.filter_panel.tag_filter.count())]
        for t in dict.fromkeys(known + list(rv.SUGGESTED_TAGS)):
            if t not in have:
                tags_menu.addAction(t, lambda t=t: self._write_review(rv.add_tag, ref.vkey, t))
        menu.addSeparator()
        menu.addAction("Copy variant key", lambda: QGuiApplication.clipboard().setText(ref.vkey))
        menu.addAction("Copy rows", self.copy_rows)
        gene = self._gene_of(ref.row)
        if gene:
            menu.addAction(f"Show only {gene}",
                           lambda: self.filter_panel.set_expression(
                               " and ".join(x for x in (self.filter_panel.state().text, f'gene = "{gene}"') if x)))
        menu.exec(global_pos)

    def _gene_of(self, row: int) -> str | None:
        for i, c in enumerate(self.model.columns):
            if c.name == "gene":
                v = self.model.data(self.model.index(row, i))
                return v or None
        return None

    # ------------------------------------------------------------------------------------------
    # jump, copy

    def focus_jump(self) -> None:
        self.jump.setFocus()
        self.jump.selectAll()

    def focus_filter(self) -> None:
        self.filters_dock.show()
        self.filters_dock.raise_()
        self.filter_panel.expression.setFocus()

    def _on_jump_return(self) -> None:
        self.jump_to(self.jump.text())

    def jump_to(self, text: str) -> None:
        view = self.model.view
        if view is None or not text.strip():
            return
        job = self.runner.submit(view.find, text.strip(), request_id=(self.model.generation, text.strip()),
                                 on_result=self._on_found, on_error=self._on_find_error)
        self._find_rid = job.request_id

    def _on_found(self, rid, row) -> None:
        if rid != self._find_rid or rid[0] != self.model.generation:
            return
        if row is None:
            self.notify(f"No variant matching “{rid[1]}” in the filtered table "
                        f"(clear the filter to search the whole case).", "warning")
            return
        self.table.select_row(row)
        self.table.setFocus()

    def _on_find_error(self, rid, exc) -> None:
        if rid == self._find_rid:
            self.notify(self._error_text(exc), "warning")

    def copy_rows(self) -> None:
        rows = self.table.selected_rows()
        if not rows:
            return
        lines = ["\t".join(c.name for c in self.model.columns)]
        missing = 0
        for r in rows[:10_000]:
            values = self.model.display_row(r)
            if values is None:
                missing += 1
                continue
            lines.append("\t".join(v.replace("\t", " ") for v in values))
        QGuiApplication.clipboard().setText("\n".join(lines) + "\n")
        self.statusBar().showMessage(f"Copied {len(lines) - 1} row(s)"
                                     + (f"; {missing} not loaded yet were left out" if missing else ""), 4000)

    # ------------------------------------------------------------------------------------------
    # import

    def new_case(self) -> None:
        if self.ws is None:
            self.notify("Open a workspace first (File ▸ Open workspace…).", "warning")
            return
        from raredesk.gui.new_case_dialog import NewCaseDialog

        if self.imports.running:
            self.notify(f"An import is running ({self.imports.case_name}); wait for it or cancel it.", "warning")
            return
        dlg = NewCaseDialog([r.case.name for r in self.case_browser.rows], self)
        if dlg.exec():
            self.start_import(dlg.request())

    def start_import(self, req) -> bool:
        if self.ws is None:
            return False
        return self.imports.start(self.ws, req)

    def _on_import_started(self, name: str) -> None:
        self.import_label.setText(f"Importing {name}")
        self.import_cancel.setEnabled(True)
        self.import_bar.setRange(0, 0)
        for w in (self.import_label, self.import_bar, self.import_cancel):
            w.show()
        self.case_browser.set_importing(name, "starting…")

    def _on_import_progressed(self, done: int, total: int, text: str) -> None:
        if not self.import_cancel.isEnabled():
            return  # cancelling
        if total > 0:
            self.import_bar.setRange(0, 1000)
            self.import_bar.setValue(int(1000 * done / total))
            self.import_bar.setFormat(f"{100 * done / total:.0f} %")
        self.import_label.setText(f"Importing {self.imports.case_name or ''}: {text}")
        self.case_browser.set_importing(self.imports.case_name, text)

    def _on_import_cancel_clicked(self) -> None:
        self.imports.cancel()
        self.import_cancel.setEnabled(False)
        self.import_label.setText(f"Cancelling the import of {self.imports.case_name or ''}… "
                                  "(stops after the block of records being read; nothing is kept)")

    def _end_import(self) -> None:
        for w in (self.import_label, self.import_bar, self.import_cancel):
            w.hide()
        self.case_browser.set_importing(None)
        self.refresh_cases()

    def _on_import_finished(self, outcome) -> None:
        self._end_import()
        res = outcome.result
        if res.already_imported:
            self.notify(f"Case {res.case_name}: this VCF was already imported (same SHA-256); nothing was added.",
                        "warning")
            return
        text = (f"Case {res.case_name}: imported {res.records:,} records as {res.variant_rows:,} variants "
                f"in {res.seconds:.1f} s.")
        if outcome.notes:
            text += " Notes: " + "; ".join(outcome.notes[:5]) + (" …" if len(outcome.notes) > 5 else "")
        self.notify(text, "warning" if outcome.notes else "info")

    def _on_import_failed(self, exc) -> None:
        self._end_import()
        self.notify(f"Import failed, nothing was added: {self._error_text(exc)}", "error")

    def _on_import_cancelled(self, name: str) -> None:
        self._end_import()
        self.notify(f"Import of {name} cancelled; the workspace is unchanged.", "info")

    # ------------------------------------------------------------------------------------------
    # export

    def export_dialog(self) -> None:
        if self.model.view is None:
            return
        filters = [FORMATS["tsv"], FORMATS["csv"]] + ([FORMATS["vcf"]] if vcf_writer() else [])
        name = f"{self.case.name}.tsv"
        path, chosen = QFileDialog.getSaveFileName(self, "Export the filtered table", str(Path.home() / name),
                                                   ";;".join(filters))
        if not path:
            return
        fmt = next((k for k, v in FORMATS.items() if v == chosen), None) or Path(path).suffix.lstrip(".").lower()
        self.export_to(path, fmt or "tsv")

    def export_to(self, path: str, fmt: str) -> None:
        view = self.model.view
        if view is None or self.ws is None:
            return
        self._export_token = CancelToken()
        self.export_bar.setRange(0, 0)
        self.export_bar.show()
        self.export_cancel.show()
        job = self.exporter.submit(export_table, self.ws, view, path, fmt, with_progress=True,
                                   cancel=self._export_token, on_result=self._on_exported,
                                   on_error=self._on_export_error, on_progress=self._on_export_progress,
                                   on_cancelled=self._on_export_cancelled, request_id=("export", path))
        self._export_rid = job.request_id

    def cancel_export(self) -> None:
        if self._export_token is not None:
            self._export_token.cancel()

    def _end_export(self) -> None:
        self._export_token = None
        self.export_bar.hide()
        self.export_cancel.hide()

    def _on_export_progress(self, rid, done, total, text) -> None:
        if total:
            self.export_bar.setRange(0, 1000)
            self.export_bar.setValue(int(1000 * done / total))

    def _on_exported(self, rid, n) -> None:
        self._end_export()
        self.notify(f"Exported {n:,} variants to {rid[1]}", "info")
        self.export_finished.emit(rid[1], n)

    def _on_export_error(self, rid, exc) -> None:
        self._end_export()
        self.notify(f"Export failed: {self._error_text(exc)}", "error")

    def _on_export_cancelled(self, rid) -> None:
        self._end_export()
        self.notify("Export cancelled; no file was written.", "info")

    # ------------------------------------------------------------------------------------------
    # misc

    def _on_job_error(self, _rid, exc) -> None:
        self.status_busy.setText("")
        self.notify(self._error_text(exc), "error")

    # ------------------------------------------------------------------------------------------
    # read recounts

    def _recount_visible(self) -> None:
        """Count the reads of the rows on screen soon (only when a recount column is shown)."""
        if self.recounter.case is not None and any(c.kind in ("reads", "readsflag") for c in self.model.columns):
            self.recounter.request_visible(self.model.visible_vkeys())

    def recount_all(self) -> None:
        """Recount every variant of the open case in the background (progress in the status bar)."""
        if self.recounter.start_all() is not None:
            self.status_busy.setText("recounting reads…")

    def _on_recount_all_finished(self, changes) -> None:
        self.status_busy.setText("")
        if changes is not None:
            self.model.update_recounts(None)
            self.notify(f"Reads recounted: {changes.counted:,} sample-variant pairs counted, "
                        f"{changes.skipped:,} already counted, {changes.failed:,} not countable.")

    def show_shortcuts(self) -> None:
        rows = []
        for a in (self.act_new, self.act_open_ws, self.act_export, self.act_close_case, self.act_quit, self.act_copy,
                  self.act_jump, self.act_jump2, self.act_filter_focus, self.act_clear_filter, self.act_refresh,
                  self.act_flag, self.act_tag, self.act_note, self.act_next_flag, self.act_shortcuts):
            keys = a.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            if keys:
                rows.append(f"<tr><td><b>{keys}</b></td><td>{a.text().replace('&', '')}</td></tr>")
        rows.append("<tr><td><b>Enter</b></td><td>apply the filter expression / open the selected case</td></tr>")
        rows.append("<tr><td><b>Click a column header</b></td><td>sort (again: reverse, third time: genomic order)"
                    "</td></tr>")
        QMessageBox.information(self, "Keyboard shortcuts", "<table cellspacing=6>" + "".join(rows) + "</table>")

    def show_about(self) -> None:
        from raredesk import __version__

        QMessageBox.about(self, "About RareDesk", f"<b>RareDesk {__version__}</b><br>Offline rare-disease variant "
                                                 "review. Nothing leaves this computer.")

    def closeEvent(self, event):  # Qt override
        if self.imports.running:
            answer = QMessageBox.question(self, "Import running",
                                          f"The import of {self.imports.case_name} is still running. Cancel it "
                                          "and quit? Nothing of it will be kept.")
            if answer != QMessageBox.StandardButton.Yes:
                event.ignore()
                return
            self.imports.cancel()
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Save pending edits and settings, stop every worker, close the workspace."""
        self.detail.review.flush_note()
        pileup = self.detail.pileup_widget()
        if pileup is not None and hasattr(pileup, "shutdown"):
            pileup.shutdown()   # a read fetch still running must not outlive the window
        acmg = self.detail.acmg_widget()
        if acmg is not None and hasattr(acmg, "shutdown"):
            acmg.shutdown()
        self.recounter.shutdown()
        self._remember_filter()
        self._save_window()
        self.cancel_export()
        self.imports.cancel()
        self.imports.wait()
        self.writer.wait()
        self.exporter.wait()
        self.runner.wait()
        QApplication.processEvents()  # deliver the last results (saved reviews) before the workspace closes
        if self.ws is not None:
            self.case = None
            self.model.clear()        # releases the view's cursor on the queries pool
            self.runner.wait()
            self.ws.close()
            self.ws = None

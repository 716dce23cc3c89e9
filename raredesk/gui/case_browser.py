"""The case browser: the cases of the open workspace with status, proband and last change."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QPushButton,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from raredesk.store import review as rv
from raredesk.store.cases import Case, list_cases

COLUMNS = ["Case", "Status", "Proband", "Build", "Variants", "Samples", "Flagged", "Last change"]


@dataclass
class CaseRow:
    """A case with its review counts (read on a worker thread)."""

    case: Case
    flagged: int = 0
    tagged: int = 0


def load_cases(ws) -> list[CaseRow]:
    """Cases of the workspace, most recently changed first (worker thread)."""
    con = ws.cursor()
    try:
        cases = list_cases(con)
        counts = dict(((r[0], (r[1], r[2])) for r in con.execute(
            f"SELECT case_id, count(*) FILTER (WHERE flagged), count(*) FILTER (WHERE len(tags) > 0) "
            f"FROM {rv.TABLE} GROUP BY case_id").fetchall()))
    finally:
        con.close()
    return [CaseRow(c, *counts.get(c.case_id, (0, 0))) for c in cases]


def _item(text, align=None, tip=None) -> QTableWidgetItem:
    it = QTableWidgetItem("" if text is None else str(text))
    it.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
    if align is not None:
        it.setTextAlignment(align)
    if tip:
        it.setToolTip(tip)
    return it


class CaseBrowser(QWidget):
    """Cases of the workspace; Enter or double-click opens one.

    Signals
    -------
    case_activated(str)       a case name to open
    new_case_requested()
    open_workspace_requested()
    """

    case_activated = Signal(str)
    new_case_requested = Signal()
    open_workspace_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        top = QHBoxLayout()
        self.workspace_label = QLabel("No workspace")
        self.workspace_label.setWordWrap(True)
        self.workspace_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        top.addWidget(self.workspace_label, 1)
        b = QPushButton("Workspace…")
        b.setToolTip("Open another workspace folder (Ctrl+Shift+O)")
        b.clicked.connect(self.open_workspace_requested)
        top.addWidget(b)
        lay.addLayout(top)
        self.search = QLineEdit(placeholderText="Find a case…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._on_search_changed)
        lay.addWidget(self.search)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.doubleClicked.connect(lambda idx: self._activate(idx.row()))
        self.table.installEventFilter(self)
        lay.addWidget(self.table, 1)
        row = QHBoxLayout()
        new = QPushButton("New case…")
        new.setToolTip("Create a case from a VCF, PED and BAM/CRAM files (Ctrl+N)")
        new.clicked.connect(self.new_case_requested)
        self.open_button = QPushButton("Open")
        self.open_button.clicked.connect(lambda: self._activate(self.table.currentRow()))
        row.addWidget(new)
        row.addStretch(1)
        row.addWidget(self.open_button)
        lay.addLayout(row)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        self.rows: list[CaseRow] = []
        self._importing: tuple[str, str] | None = None
        self._open_case: str | None = None

    def eventFilter(self, obj, event):  # Qt override: Enter opens the selected case
        from PySide6.QtCore import QEvent

        if obj is self.table and event.type() == QEvent.Type.KeyPress and \
                event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._activate(self.table.currentRow())
            return True
        return super().eventFilter(obj, event)

    def set_workspace(self, path: str | None, note: str = "") -> None:
        self.workspace_label.setText(f"Workspace: {path}" if path else "No workspace open")
        self.workspace_label.setToolTip(str(path or ""))
        self.status.setText(note)
        if path is None:
            self.set_cases([])

    def set_open_case(self, name: str | None) -> None:
        self._open_case = name
        self._render()

    def set_cases(self, rows: list[CaseRow]) -> None:
        self.rows = list(rows)
        self._render()

    def set_importing(self, name: str | None, text: str = "") -> None:
        self._importing = (name, text) if name else None
        self._render()

    def _render(self) -> None:
        current = self.selected_case()
        rows = self.rows
        extra = 1 if self._importing else 0
        self.table.setRowCount(len(rows) + extra)
        bold = QFont()
        bold.setBold(True)
        for i, r in enumerate(rows):
            c = r.case
            proband = c.proband or ""
            psample = next((s for s in c.samples if s.sample_id == c.proband), None)
            if psample is not None and psample.sex:
                proband += f" ({psample.sex})"
            values = [c.name, c.status, proband, c.build or "", f"{c.n_variants:,}", str(len(c.samples)),
                      str(r.flagged) if r.flagged else "", str(c.updated_at or "")[:16]]
            for j, v in enumerate(values):
                it = _item(v, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter if j in (4, 5, 6) else None)
                if j == 0:
                    it.setData(Qt.ItemDataRole.UserRole, c.name)
                    tip = [c.name]
                    if c.indication:
                        tip.append(f"Indication: {c.indication}")
                    if c.hpo_terms:
                        tip.append("HPO: " + ", ".join(c.hpo_terms))
                    tip.append("Members: " + ", ".join(f"{s.sample_id} ({s.role or 'sample'})" for s in c.samples))
                    it.setToolTip("\n".join(tip))
                if c.name == self._open_case:
                    it.setFont(bold)
                self.table.setItem(i, j, it)
        if self._importing:
            name, text = self._importing
            i = len(rows)
            for j, v in enumerate([name, "importing…", "", "", text, "", "", ""]):
                it = _item(v)
                it.setForeground(QColor(128, 128, 128))
                it.setFlags(Qt.ItemFlag.ItemIsEnabled)
                self.table.setItem(i, j, it)
        self.table.resizeColumnsToContents()
        if current:
            self.select_case(current)
        elif rows and self.table.currentRow() < 0:
            self.table.selectRow(0)
        self.open_button.setEnabled(bool(rows))
        if not rows and not self._importing:
            self.status.setText("No cases yet: create one with New case… (Ctrl+N).")

    def _on_search_changed(self, text: str) -> None:
        t = text.strip().lower()
        for i, r in enumerate(self.rows):
            c = r.case
            hay = " ".join([c.name, c.proband or "", c.indication or ""] + list(c.hpo_terms)).lower()
            self.table.setRowHidden(i, bool(t) and t not in hay)

    def selected_case(self) -> str | None:
        row = self.table.currentRow()
        if 0 <= row < len(self.rows):
            return self.rows[row].case.name
        return None

    def select_case(self, name: str) -> None:
        for i, r in enumerate(self.rows):
            if r.case.name == name:
                self.table.selectRow(i)
                return

    def _activate(self, row: int) -> None:
        if 0 <= row < len(self.rows):
            self.case_activated.emit(self.rows[row].case.name)

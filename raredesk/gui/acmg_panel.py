"""The ACMG/AMP panel of the variant detail (tab *ACMG*).

For the selected variant it shows the engine's suggestions (code, suggested
strength, status, reason with the numbers; caveats in the tooltip), and per
criterion an accept/reject toggle, a strength menu limited to the catalogue's
allowed strengths and a comment field. Below: a criterion the engine could not
suggest can be added, the final class and summary set, the classification marked
reviewed, signed, amended or the last step undone. A live line gives the class
of the accepted criteria under every scheme ("Rules: X · SVI: Y · Points: N (Z)"),
and a history box lists this variant's classifications in other cases and the
number of cases holding it.

Nothing here writes SQL: every edit is a command of :mod:`raredesk.acmg.review`,
run on a serial worker pool (so a first edit that starts the draft and the edits
after it stay in order). The panel redraws from the classification the command
returns; a command error is shown inline. Reading (suggestions ~90 ms, the
classification, the knowledge base) also runs on that pool, tagged with a request
id; a result for a variant that is no longer selected is dropped.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QGroupBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit,
                               QPushButton, QSplitter, QTableWidget, QTableWidgetItem, QToolButton, QVBoxLayout,
                               QWidget)

from raredesk.acmg import review
from raredesk.acmg.catalogue import default_catalogue
from raredesk.acmg.combine import CLASSES, classify
from raredesk.acmg.evidence import EvidenceReport, suggest_for_variant
from raredesk.acmg.knowledge import VariantKnowledge, variant_knowledge
from raredesk.gui.workers import JobRunner, make_pool, new_request_id

COLUMNS = ("Code", "Suggested", "Status", "Decision", "Strength", "Reason", "Comment")
C_CODE, C_SUGGESTED, C_STATUS, C_DECISION, C_STRENGTH, C_REASON, C_COMMENT = range(len(COLUMNS))
STATUS_TEXT = {"met": "met", "not_met": "not met", "missing": "data missing", "manual": "reviewer only"}
STATE_BG = {"accepted": QColor("#d9f2d9"), "rejected": QColor("#f6dada")}
CLASS_SHORT = {"Pathogenic": "P", "Likely pathogenic": "LP", "Uncertain significance": "VUS",
               "Likely benign": "LB", "Benign": "B"}


@dataclass(frozen=True)
class PanelState:
    """What the panel shows for one variant (read on a worker thread)."""

    report: EvidenceReport
    record: review.ClassificationRecord | None
    knowledge: VariantKnowledge


def load_state(ws, case_name: str, vkey: str, build: str | None) -> PanelState:
    """Suggestions, the case's newest classification and the variant's history (worker thread)."""
    cur = ws.cursor()
    try:
        report = suggest_for_variant(cur, case_name, vkey)
        record = review.find_classification(cur, case_name, vkey)
        knowledge = variant_knowledge(cur, build, vkey, exclude_case=case_name)
    finally:
        cur.close()
    return PanelState(report, record, knowledge)


def run_edit(ws, case_name: str, vkey: str, actor: str, report: EvidenceReport | None, command: str,
             args: tuple) -> review.ClassificationRecord:
    """Run one review command (starting the draft first when there is none) and re-read the classification.

    ``command`` names a function of :mod:`raredesk.acmg.review` taking ``(ws, cid, *args, actor)``;
    ``amend`` and ``undo`` take ``(ws, cid, actor)``, ``set_comment`` ``(ws, cid, code, text, actor)``.
    """
    cur = ws.cursor()
    try:
        rec = review.find_classification(cur, case_name, vkey)
    finally:
        cur.close()
    if command == "start" or rec is None:
        ch = review.start_classification(ws, case_name, vkey, actor, report=report)
        cid = ch.classification_id
        if command == "start":
            return _reread(ws, cid)
    else:
        cid = rec.classification_id
    fn = getattr(review, command)
    if command == "accept":
        code, comment = args
        ch = fn(ws, cid, code, actor, comment=comment)
    elif command == "add_criterion":
        label, reason = args
        ch = fn(ws, cid, label, actor, reason=reason)
    else:
        ch = fn(ws, cid, *args, actor)
    return _reread(ws, ch.classification_id or cid)


def _reread(ws, cid: int) -> review.ClassificationRecord:
    cur = ws.cursor()
    try:
        return review.get_classification(cur, cid)
    finally:
        cur.close()


def live_class_text(labels) -> str:
    """``Rules: X · SVI: Y · Points: N (Z)`` for a set of applied criteria labels."""
    c = classify(list(labels))
    return (f"Rules: {c.rules.classification} · SVI: {c.rules_svi.classification} · "
            f"Points: {c.points.points} ({c.points.classification})")


def _item(text, *, tip: str | None = None, bold: bool = False, fg: QColor | None = None) -> QTableWidgetItem:
    it = QTableWidgetItem("" if text is None else str(text))
    it.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
    if tip:
        it.setToolTip(tip)
    if bold:
        f = QFont()
        f.setBold(True)
        it.setFont(f)
    if fg is not None:
        it.setForeground(fg)
    return it


def _values_text(values: dict) -> str:
    return "\n".join(f"{k}: {v}" for k, v in values.items()) if values else ""


class AcmgPanel(QWidget):
    """ACMG/AMP classification of the selected variant.

    Signals
    -------
    loaded()
        Suggestions, classification and history of the current variant are shown.
    changed()
        A command succeeded and the panel shows the classification it returned.
    failed(str)
        A read or a command failed; the message is also shown inline.
    """

    loaded = Signal()
    changed = Signal()
    failed = Signal(str)

    def __init__(self, reviewer: str | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.reviewer = reviewer or getpass.getuser()
        self.context = None
        self.report: EvidenceReport | None = None
        self.record: review.ClassificationRecord | None = None
        self.knowledge: VariantKnowledge | None = None
        self._rid = None
        self._row_codes: list[str] = []
        self.runner = JobRunner(make_pool(1, "acmg", keep_threads=True), self)
        self._build()
        self._show_empty("Select a variant to classify it")

    # -- layout -------------------------------------------------------------------------------

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        head = QHBoxLayout()
        self.title = QLabel()
        f = self.title.font()
        f.setBold(True)
        self.title.setFont(f)
        self.status_label = QLabel()
        self.status_label.setObjectName("acmgStatus")
        head.addWidget(self.title)
        head.addStretch(1)
        head.addWidget(self.status_label)
        outer.addLayout(head)
        self.live_label = QLabel()
        self.live_label.setObjectName("acmgLiveClass")
        self.live_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lf = self.live_label.font()
        lf.setBold(True)
        self.live_label.setFont(lf)
        self.engine_label = QLabel()
        self.engine_label.setStyleSheet("color: #555")
        self.engine_label.setWordWrap(True)
        outer.addWidget(self.live_label)
        outer.addWidget(self.engine_label)
        self.error_label = QLabel()
        self.error_label.setObjectName("acmgError")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #a40000; background: #fde8e8; padding: 3px; border-radius: 3px")
        self.error_label.hide()
        outer.addWidget(self.error_label)

        split = QSplitter(Qt.Orientation.Horizontal)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("acmgCriteria")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 12)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setWordWrap(False)
        hh = self.table.horizontalHeader()
        for c, w in ((C_CODE, 60), (C_SUGGESTED, 90), (C_STATUS, 95), (C_DECISION, 150), (C_STRENGTH, 105),
                     (C_REASON, 420)):
            hh.resizeSection(c, w)
        hh.setStretchLastSection(True)
        ll.addWidget(self.table, 1)

        # add a criterion the engine could not suggest
        add_box = QGroupBox("Add a criterion the engine could not suggest")
        al = QHBoxLayout(add_box)
        self.add_code = QComboBox()
        self.add_code.setObjectName("acmgAddCode")
        self.add_strength = QComboBox()
        self.add_strength.setObjectName("acmgAddStrength")
        self.add_reason = QLineEdit()
        self.add_reason.setPlaceholderText("Reason (required), e.g. functional study PMID …")
        self.add_button = QPushButton("Add")
        for combo in (self.add_code, self.add_strength):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.add_code.currentTextChanged.connect(self._fill_add_strengths)
        self.add_button.clicked.connect(self._add_criterion)
        al.addWidget(self.add_code)
        al.addWidget(self.add_strength)
        al.addWidget(self.add_reason, 1)
        al.addWidget(self.add_button)
        ll.addWidget(add_box)

        final_box = QGroupBox("Final classification")
        fl = QHBoxLayout(final_box)
        self.final_class = QComboBox()
        self.final_class.addItems(CLASSES)
        self.final_summary = QLineEdit()
        self.final_summary.setPlaceholderText("Summary sentence")
        self.final_button = QPushButton("Set final class")
        self.final_button.clicked.connect(self._set_final)
        self.reviewed_button = QPushButton("Mark reviewed")
        self.reviewed_button.clicked.connect(lambda: self._edit("mark_reviewed", ()))
        self.sign_button = QPushButton("Sign")
        self.sign_button.clicked.connect(lambda: self._edit("sign", ()))
        self.amend_button = QPushButton("Amend")
        self.amend_button.setToolTip("Start a new draft that supersedes the signed classification")
        self.amend_button.clicked.connect(lambda: self._edit("amend", ()))
        self.undo_button = QPushButton("Undo")
        self.undo_button.setToolTip("Reverse the last step of this classification")
        self.undo_button.clicked.connect(lambda: self._edit("undo", ()))
        fl.addWidget(self.final_class)
        fl.addWidget(self.final_summary, 1)
        for b in (self.final_button, self.reviewed_button, self.sign_button, self.amend_button, self.undo_button):
            fl.addWidget(b)
        ll.addWidget(final_box)
        split.addWidget(left)

        hist_box = QGroupBox("This variant in other cases")
        hl = QVBoxLayout(hist_box)
        self.seen_label = QLabel()
        self.seen_label.setObjectName("acmgSeenIn")
        self.seen_label.setWordWrap(True)
        self.history = QTableWidget(0, 5)
        self.history.setObjectName("acmgHistory")
        self.history.setHorizontalHeaderLabels(["Case", "Class", "Status", "Reviewer", "Date"])
        self.history.verticalHeader().hide()
        self.history.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.history.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.history.horizontalHeader().setStretchLastSection(True)
        self.no_history = QLabel("No classification of this variant in other cases.")
        self.no_history.setStyleSheet("color: #666")
        self.no_history.hide()
        hl.addWidget(self.seen_label)
        hl.addWidget(self.no_history)
        hl.addWidget(self.history, 1)
        split.addWidget(hist_box)
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 1)
        split.setSizes([1100, 420])
        outer.addWidget(split, 1)
        self._editors = [self.table, self.add_code, self.add_strength, self.add_reason, self.add_button,
                         self.final_class, self.final_summary, self.final_button, self.reviewed_button,
                         self.sign_button, self.amend_button, self.undo_button]

    # -- selection ----------------------------------------------------------------------------

    def set_variant(self, context) -> None:
        """Show the variant of a :class:`~raredesk.gui.detail_panel.VariantContext` (None: nothing)."""
        self.context = context
        self.report = self.record = self.knowledge = None
        self._clear_error()
        if context is None:
            self._rid = None
            self._show_empty("Select a variant to classify it")
            return
        self._rid = new_request_id()
        self._show_empty(f"Computing ACMG suggestions for {context.vkey} …")
        # The evidence takes ~0.1 s per variant: compute it only while the panel is shown
        # (a hidden ACMG tab must not load the machine on every row selection).
        self._pending = True
        if self.isVisible():
            self._load()

    def _load(self) -> None:
        context = self.context
        self._pending = False
        if context is None:
            return
        self.runner.submit(load_state, context.ws, context.case.name, context.vkey, context.build,
                           request_id=self._rid, on_result=self._on_loaded, on_error=self._on_error)

    def showEvent(self, event) -> None:  # Qt override
        super().showEvent(event)
        if getattr(self, "_pending", False):
            self._load()

    def _show_empty(self, text: str) -> None:
        self._row_codes = []
        self._clear_rows()
        self.history.setRowCount(0)
        self.no_history.hide()
        self.title.setText(text)
        self.status_label.setText("")
        self.live_label.setText("")
        self.engine_label.setText("")
        self.seen_label.setText("")
        for w in self._editors:
            w.setEnabled(False)

    def _on_loaded(self, rid, state: PanelState) -> None:
        if rid != self._rid:
            return
        self.report, self.record, self.knowledge = state.report, state.record, state.knowledge
        self._show_history(state.knowledge)
        self._refresh()
        self.loaded.emit()

    def _on_error(self, rid, exc) -> None:
        if rid != self._rid:
            return
        msg = str(exc) or type(exc).__name__
        if self.report is None:
            self.title.setText("ACMG suggestions are not available for this variant")
        self._show_error(msg)
        self.failed.emit(msg)

    # -- edits ---------------------------------------------------------------------------------

    def _edit(self, command: str, args: tuple) -> None:
        """Run a review command on the worker; the panel redraws from the classification it returns."""
        if self.context is None or self.report is None:
            return
        self._clear_error()
        self._rid = new_request_id()
        ctx = self.context
        self.runner.submit(run_edit, ctx.ws, ctx.case.name, ctx.vkey, self.reviewer, self.report, command, args,
                           request_id=self._rid, on_result=self._on_edited, on_error=self._on_edit_error)

    def _on_edited(self, rid, record) -> None:
        if rid != self._rid:
            return
        self.record = record
        self._refresh()
        self.changed.emit()

    def _on_edit_error(self, rid, exc) -> None:
        if rid != self._rid:
            return
        self._on_error(rid, exc)
        self._refresh()    # put toggles/menus back to the stored state

    def accept(self, code: str) -> None:
        self._edit("accept", (code, None))

    def reject(self, code: str) -> None:
        self._edit("reject", (code,))

    def set_strength(self, code: str, strength: str) -> None:
        self._edit("set_strength", (code, strength))

    def set_comment(self, code: str, text: str) -> None:
        self._edit("set_comment", (code, text))

    def _add_criterion(self) -> None:
        code, strength = self.add_code.currentText(), self.add_strength.currentText()
        if not code:
            return
        self._edit("add_criterion", (f"{code}_{strength}" if strength else code, self.add_reason.text()))

    def _set_final(self) -> None:
        self._edit("set_final", (self.final_class.currentText(), self.final_summary.text()))

    # -- drawing -------------------------------------------------------------------------------

    def _clear_error(self) -> None:
        self.error_label.hide()
        self.error_label.setText("")

    def _show_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.show()

    def _clear_rows(self) -> None:
        for r in range(self.table.rowCount()):
            for c in (C_DECISION, C_STRENGTH, C_COMMENT):
                w = self.table.cellWidget(r, c)
                if w is not None:       # deleted later by the table: silence and unname it now
                    for x in [w, *w.findChildren(QWidget)]:
                        x.blockSignals(True)
                        x.setObjectName("")
        self.table.setRowCount(0)

    def _refresh(self) -> None:
        """Redraw everything from ``self.report`` and ``self.record``."""
        ctx, report, rec = self.context, self.report, self.record
        if ctx is None or report is None:
            return
        gene = report.gene or ctx.gene or ""
        hgvs = " ".join(x for x in ((report.hgvsc or "").split(":")[-1], (report.hgvsp or "").split(":")[-1]) if x)
        self.title.setText(f"{gene} {hgvs}  ·  {ctx.vkey}  ·  case {ctx.case.name}".strip())
        if rec is None:
            self.status_label.setText("Not classified yet: the first decision starts a draft")
        else:
            who = {"draft": rec.analyst, "reviewed": rec.reviewer, "signed": rec.signer}.get(rec.status)
            final = f" · final: {rec.final_class}" if rec.final_class else ""
            self.status_label.setText(f"Classification {rec.classification_id}: {rec.status} ({who}){final}")
        applied = rec.applied_labels if rec else ()
        self.live_label.setText(live_class_text(applied))
        self.live_label.setToolTip("Class of the accepted criteria: Richards 2015 rules, rules with the ClinGen SVI "
                                   "PM2 amendment, Tavtigian 2020 points\nAccepted: " + (", ".join(applied) or "none"))
        engine = report.labels
        self.engine_label.setText(f"Engine suggests {', '.join(engine) or 'no criteria'} → "
                                  f"{live_class_text(engine)}")
        self._fill_rows(report, rec)
        self._fill_add_codes(rec)
        if rec is not None and rec.final_class:
            self.final_class.setCurrentText(rec.final_class)
            self.final_summary.setText(rec.summary or "")
        elif rec is None:
            self.final_class.setCurrentText(classify(list(engine)).default)
            self.final_summary.clear()
        signed = rec is not None and rec.status == "signed"
        for w in self._editors:
            w.setEnabled(not signed)
        self.table.setEnabled(True)          # still readable (tooltips) when signed; row widgets are disabled
        self.amend_button.setEnabled(signed)
        self.undo_button.setEnabled(rec is not None and not signed)
        self.reviewed_button.setEnabled(rec is not None and rec.status == "draft")
        self.sign_button.setEnabled(rec is not None and rec.status == "reviewed")

    def _rows(self, report: EvidenceReport, rec):
        """(code, suggestion or None, criterion record or None): listed criteria first, then the rest."""
        sugg = {s.code: s for s in report.suggestions}
        listed = [c.code for c in rec.criteria] if rec else [s.code for s in report.met]
        rows = [(code, sugg.get(code), rec.criterion(code) if rec else None) for code in listed]
        rows += [(s.code, s, None) for s in report.suggestions if s.code not in listed]
        return rows

    def _fill_rows(self, report: EvidenceReport, rec) -> None:
        cat = default_catalogue()
        signed = rec is not None and rec.status == "signed"
        rows = self._rows(report, rec)
        self._clear_rows()
        self.table.setRowCount(len(rows))
        self._row_codes = [code for code, _, _ in rows]
        grey = QColor("#888")
        for r, (code, s, c) in enumerate(rows):
            listed = c is not None or (rec is None and s is not None and s.met)
            crit = cat.criterion(code)
            caveats = list(s.caveats) if s else list((c.evidence or {}).get("caveats", [])) if c else []
            values = dict(s.values) if s else dict((c.evidence or {}).get("values", {})) if c else {}
            reason = (c.reason if c is not None and c.origin != "engine" else None) or (s.reason if s else "")
            tip = "\n".join(filter(None, [reason, _values_text(values),
                                          ("Caveats:\n• " + "\n• ".join(caveats)) if caveats else "",
                                          crit.definition]))
            fg = None if listed else grey
            status = "added by reviewer" if c is not None and c.origin == "reviewer" else \
                "from earlier case" if c is not None and c.origin == "previous" else \
                STATUS_TEXT.get(s.status, s.status) if s else ""
            self.table.setItem(r, C_CODE, _item(code, bold=listed, fg=fg, tip=crit.definition))
            suggested = (c.suggested_strength if c is not None else (s.strength if s and s.met else None)) or "—"
            self.table.setItem(r, C_SUGGESTED, _item(suggested, fg=fg))
            st = _item(status + (" ⚠" if caveats else ""), fg=fg, tip=tip)
            self.table.setItem(r, C_STATUS, st)
            self.table.setItem(r, C_REASON, _item(reason, fg=fg, tip=tip))
            state = c.state if c is not None else ("suggested" if listed else None)
            if state in STATE_BG:
                for col in (C_CODE, C_SUGGESTED, C_STATUS, C_REASON):
                    self.table.item(r, col).setBackground(STATE_BG[state])
            if not listed:
                self.table.setItem(r, C_DECISION, _item("", tip="Not suggested: use “Add a criterion” below"))
                continue
            self.table.setCellWidget(r, C_DECISION, self._decision_widget(code, state, signed))
            strength = self._strength_combo(code, c.strength if c is not None else s.strength,
                                            crit.allowed_strengths)
            strength.setEnabled(not signed)
            self.table.setCellWidget(r, C_STRENGTH, strength)
            comment = QLineEdit(c.comment or "" if c is not None else "")
            comment.setPlaceholderText("comment")
            comment.setObjectName(f"comment_{code}")
            comment.setEnabled(not signed)
            comment.editingFinished.connect(lambda code=code, w=comment: self._comment_edited(code, w))
            self.table.setCellWidget(r, C_COMMENT, comment)

    def _decision_widget(self, code: str, state: str, signed: bool) -> QWidget:
        w = QWidget()
        w.setStyleSheet("QToolButton:checked#accept_%s { background: #4c9a4c; color: white; font-weight: bold }"
                        "QToolButton:checked#reject_%s { background: #b94a48; color: white; font-weight: bold }"
                        % (code, code))
        lay = QHBoxLayout(w)
        lay.setContentsMargins(2, 0, 2, 0)
        lay.setSpacing(2)
        acc = QToolButton()
        acc.setText("✓ Accept")
        acc.setObjectName(f"accept_{code}")
        acc.setCheckable(True)
        acc.setChecked(state == "accepted")
        rej = QToolButton()
        rej.setText("✗ Reject")
        rej.setObjectName(f"reject_{code}")
        rej.setCheckable(True)
        rej.setChecked(state == "rejected")
        for b, st in ((acc, "accepted"), (rej, "rejected")):
            b.setEnabled(not signed)
            b.setAutoRaise(False)
            b.setToolTip("Click to " + ("accept" if st == "accepted" else "reject") + f" {code}; Undo reverses")
            b.clicked.connect(lambda checked, code=code, st=st, b=b: self._toggle(code, st, b))
            lay.addWidget(b)
        return w

    def _toggle(self, code: str, target: str, button: QToolButton) -> None:
        current = self.record.criterion(code).state if self.record and self.record.criterion(code) else "suggested"
        if current == target:          # clicking the lit toggle: keep it lit (Undo or the other toggle changes it)
            button.setChecked(True)
            return
        (self.accept if target == "accepted" else self.reject)(code)

    def _strength_combo(self, code: str, current: str, allowed) -> QComboBox:
        combo = QComboBox()
        combo.setObjectName(f"strength_{code}")
        combo.addItems(list(allowed))
        if current not in allowed:
            combo.addItem(current)
        combo.setCurrentText(current)
        combo.currentTextChanged.connect(lambda text, code=code: self._strength_chosen(code, text))
        return combo

    def _strength_chosen(self, code: str, strength: str) -> None:
        c = self.record.criterion(code) if self.record else None
        current = c.strength if c else (self.report.get(code).strength if self.report else None)
        if strength and strength != current:
            self.set_strength(code, strength)

    def _comment_edited(self, code: str, w: QLineEdit) -> None:
        c = self.record.criterion(code) if self.record else None
        if (w.text().strip() or None) != ((c.comment if c else None) or None):
            self.set_comment(code, w.text())

    def _fill_add_codes(self, rec) -> None:
        cat = default_catalogue()
        listed = {c.code for c in rec.criteria} if rec else {s.code for s in self.report.met}
        keep = self.add_code.currentText()
        self.add_code.blockSignals(True)
        self.add_code.clear()
        codes = [code for code in cat.codes if code not in listed and not cat.criterion(code).retired]
        self.add_code.addItems(codes)
        if keep in codes:
            self.add_code.setCurrentText(keep)
        self.add_code.blockSignals(False)
        self._fill_add_strengths(self.add_code.currentText())
        if rec is not None and self.add_reason.text() and keep not in codes:
            self.add_reason.clear()     # the criterion was added

    def _fill_add_strengths(self, code: str) -> None:
        self.add_strength.clear()
        if code:
            crit = default_catalogue().criterion(code)
            self.add_strength.addItems(list(crit.allowed_strengths))
            self.add_strength.setCurrentText(crit.default_strength)

    def _show_history(self, k: VariantKnowledge) -> None:
        others = [c for c in k.cases if self.context is None or c != self.context.case.name]
        self.seen_label.setText(f"Seen in {k.n_cases} case{'s' if k.n_cases != 1 else ''}"
                                + (f" (other: {', '.join(others)})" if others else ""))
        self.history.setRowCount(len(k.classifications))
        self.no_history.setVisible(not k.classifications)
        for r, p in enumerate(k.classifications):
            cls = CLASS_SHORT.get(p.final_class, p.final_class) if p.final_class else \
                (f"{CLASS_SHORT.get(p.computed_class, p.computed_class)} (computed)" if p.computed_class else "—")
            who = p.signer or p.reviewer or p.analyst or ""
            tip = "\n".join(filter(None, [p.final_class, ", ".join(p.criteria), p.summary]))
            for col, text in enumerate((p.case_name, cls, p.status, who, (p.decided_at or "")[:10])):
                self.history.setItem(r, col, _item(text, tip=tip))
        self.history.resizeColumnsToContents()

    # -- lifetime ------------------------------------------------------------------------------

    def shutdown(self, msecs: int = -1) -> bool:
        """Drop pending results and wait for the panel's worker (window close)."""
        self._rid = None
        return self.runner.wait(msecs)

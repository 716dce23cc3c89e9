"""The filter panel: a clickable builder that writes a filter expression, and the expression box.

The builder's controls each own one clause of the expression (``impact in
(HIGH, MODERATE)``, ``(gnomad_af < 0.001 or gnomad_af is missing)``,
``gt(father) = hom_ref`` ...). Clicking rewrites the expression; editing the
expression reads the clauses back into the controls, and clauses the builder
does not know are kept as they are. The expression is compiled by the query
engine (:func:`raredesk.gui.page_source.compile_filter`); an error is shown
under the box with its position underlined, never in a dialog.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGridLayout, QGroupBox,
                               QHBoxLayout, QLabel, QLineEdit, QListWidget, QListWidgetItem, QMenu, QPlainTextEdit,
                               QScrollArea, QSizePolicy, QSpinBox, QTextEdit, QToolButton, QVBoxLayout, QWidget)

AF_CHOICES = [("any", None), ("< 5 %", 0.05), ("< 1 %", 0.01), ("< 0.5 %", 0.005), ("< 0.1 %", 0.001),
              ("< 0.01 %", 0.0001), ("absent", "absent")]
IMPACTS = ("HIGH", "MODERATE", "LOW", "MODIFIER")
CONSEQUENCES = ("stop_gained", "frameshift_variant", "splice_acceptor_variant", "splice_donor_variant", "start_lost",
                "stop_lost", "missense_variant", "inframe_insertion", "inframe_deletion", "splice_region_variant",
                "synonymous_variant", "5_prime_UTR_variant", "3_prime_UTR_variant", "intron_variant")
SCORES = (("cadd_phred", "CADD ≥", 20.0, 0.0, 99.0, 1), ("revel", "REVEL ≥", 0.5, 0.0, 1.0, 2),
          ("spliceai_ds", "SpliceAI ≥", 0.2, 0.0, 1.0, 2), ("alphamissense", "AlphaMissense ≥", 0.564, 0.0, 1.0, 3))
CLINVAR_PLP = ("Pathogenic", "Likely pathogenic", "Pathogenic/Likely pathogenic")
GT_CHOICES = [("any", None), ("het", "= het"), ("hom alt", "= hom_alt"), ("het or hom alt", "in (het, hom_alt)"),
              ("hom ref", "= hom_ref"), ("missing", "= missing")]
INHERITANCE = [("any", None), ("de novo", "de_novo"), ("recessive, homozygous", "ar_hom"),
               ("compound heterozygous", "comp_het"), ("X-linked", "x_linked"),
               ("dominant, inherited from an affected parent", "ad_inherited"), ("mendelian error", "mendelian_error")]


# ------------------------------------------------------------------------------------------
# splitting an expression into its top-level "and" clauses (Qt-free)


def split_and(text: str) -> list[str]:
    """Top-level ``and`` clauses of ``text`` (quotes and parentheses respected)."""
    out, depth, quote, start, i = [], 0, None, 0, 0
    n = len(text)
    while i < n:
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 2
                continue
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif depth == 0 and text[i:i + 3].lower() == "and" and (i == 0 or not _word(text[i - 1])) \
                and (i + 3 >= n or not _word(text[i + 3])) and not _between_pending(text[start:i]):
            out.append(text[start:i].strip())
            start = i + 3
            i += 3
            continue
        i += 1
    out.append(text[start:].strip())
    return [c for c in out if c]


def _word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _between_pending(clause: str) -> bool:
    """``x between 1 and 2``: that ``and`` belongs to ``between``."""
    return bool(re.search(r"\bbetween\s+\S+\s*$", clause, re.IGNORECASE))


def has_top_level_or(text: str) -> bool:
    depth, quote = 0, None
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif depth == 0 and text[i:i + 2].lower() == "or" and (i == 0 or not _word(text[i - 1])) \
                and (i + 2 >= len(text) or not _word(text[i + 2])):
            return True
    return False


def strip_parens(text: str) -> str:
    t = text.strip()
    while t.startswith("(") and t.endswith(")"):
        depth = 0
        for i, ch in enumerate(t):
            depth += ch == "("
            depth -= ch == ")"
            if depth == 0 and i < len(t) - 1:
                return t
        t = t[1:-1].strip()
    return t


def join_and(clauses: list[str]) -> str:
    return " and ".join(f"({c})" if has_top_level_or(c) and not (c.startswith("(") and strip_parens(c) != c)
                        else c for c in clauses if c)


@dataclass
class FilterState:
    """What the panel asks the table for."""

    text: str = ""
    preset: str | None = None
    flagged_only: bool = False
    tag: str | None = None


def _compact(box: QComboBox) -> None:
    """Let a combo box shrink with the dock (long entries are elided in the closed box)."""
    box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    box.setMinimumContentsLength(6)
    box.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)


def _num(v: float) -> str:
    return f"{v:g}"


# ------------------------------------------------------------------------------------------


class ExpressionEdit(QPlainTextEdit):
    """The expression box: Ctrl+Enter applies; the error position gets a wavy underline."""

    apply_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setPlaceholderText('e.g. gnomad_af < 0.001 and impact in (HIGH, MODERATE) and gt(proband) = het')
        self.setTabChangesFocus(True)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        f = self.font()
        f.setFamily("monospace")
        f.setStyleHint(f.StyleHint.Monospace)
        self.setFont(f)
        self.setMaximumHeight(self.fontMetrics().lineSpacing() * 5 + 12)

    def keyPressEvent(self, event):  # Qt override
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.apply_requested.emit()
            return
        super().keyPressEvent(event)

    def mark_error(self, position: int | None) -> None:
        if position is None:
            self.setExtraSelections([])
            return
        text = self.toPlainText()
        pos = max(0, min(position, len(text)))
        end = pos
        while end < len(text) and not text[end].isspace() and text[end] not in "()," or end == pos and end < len(text):
            end += 1
            if end - pos > 40:
                break
        sel = QTextEdit.ExtraSelection()
        fmt = QTextCharFormat()
        fmt.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
        fmt.setUnderlineColor(QColor(220, 40, 40))
        if end == pos:  # error at the end: mark the last character
            pos = max(0, pos - 1)
            end = len(text)
            fmt.setBackground(QColor(220, 40, 40, 50))
        sel.format = fmt
        cur = QTextCursor(self.document())
        cur.setPosition(pos)
        cur.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        sel.cursor = cur
        self.setExtraSelections([sel])


class FilterPanel(QWidget):
    """Builder + expression + presets + live count.

    Signals
    -------
    filter_changed(object)
        A :class:`FilterState` to apply.
    """

    filter_changed = Signal(object)

    TYPE_DELAY_MS = 400

    def __init__(self, parent=None):
        super().__init__(parent)
        self._updating = False
        self._extra: list[str] = []
        self._samples: list[tuple[str, str]] = []   # (expression name, label)
        self._engine = False
        self._preset: str | None = None
        self._gt_boxes: dict[str, QComboBox] = {}
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)

        # count + presets
        top = QHBoxLayout()
        self.count_label = QLabel("No case open")
        cf = self.count_label.font()
        cf.setBold(True)
        self.count_label.setFont(cf)
        top.addWidget(self.count_label, 1)
        self.presets_button = QToolButton()
        self.presets_button.setText("Presets")
        self.presets_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.presets_menu = QMenu(self.presets_button)
        self.presets_button.setMenu(self.presets_menu)
        top.addWidget(self.presets_button)
        self.clear_button = QToolButton()
        self.clear_button.setText("Clear")
        self.clear_button.setToolTip("Clear every filter (Ctrl+Shift+Backspace)")
        self.clear_button.clicked.connect(self.clear)
        top.addWidget(self.clear_button)
        outer.addLayout(top)
        self.preset_chip = QToolButton()
        self.preset_chip.setVisible(False)
        self.preset_chip.clicked.connect(lambda: self.set_preset(None))
        outer.addWidget(self.preset_chip)

        # expression
        self.expression = ExpressionEdit()
        self.expression.textChanged.connect(self._on_expression_edited)
        self.expression.apply_requested.connect(self._apply_now)
        outer.addWidget(QLabel("Filter expression  (Enter applies)"))
        outer.addWidget(self.expression)
        self.error_label = QLabel("")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #d03030;")
        self.error_label.setVisible(False)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        outer.addWidget(self.error_label)
        self._type_timer = QTimer(self)
        self._type_timer.setSingleShot(True)
        self._type_timer.setInterval(self.TYPE_DELAY_MS)
        self._type_timer.timeout.connect(self._on_typing_paused)

        # builder
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        body = QWidget()
        self.builder = QVBoxLayout(body)
        self.builder.setContentsMargins(0, 0, 0, 0)
        scroll.setWidget(body)
        outer.addWidget(scroll, 1)

        g = QGroupBox("Frequency")
        fl = QFormLayout(g)
        self.af = QComboBox()
        for label, _ in AF_CHOICES:
            self.af.addItem(label)
        self.af_field = QComboBox()
        self.af_field.addItem("gnomAD overall", "gnomad_af")
        self.af_field.addItem("gnomAD grpmax", "gnomad_grpmax_af")
        fl.addRow("Allele frequency", self.af)
        fl.addRow("of", self.af_field)
        self.af.currentIndexChanged.connect(self._on_builder_changed)
        self.af_field.currentIndexChanged.connect(self._on_builder_changed)
        self.builder.addWidget(g)

        g = QGroupBox("Impact and consequence")
        gl = QVBoxLayout(g)
        row = QGridLayout()
        self.impact: dict[str, QCheckBox] = {}
        for k, imp in enumerate(IMPACTS):
            cb = QCheckBox(imp.title())
            cb.setObjectName(f"impact_{imp}")
            cb.toggled.connect(self._on_builder_changed)
            self.impact[imp] = cb
            row.addWidget(cb, k // 2, k % 2)
        gl.addLayout(row)
        self.consequence = QListWidget()
        self.consequence.setMaximumHeight(120)
        for c in CONSEQUENCES:
            it = QListWidgetItem(c)
            it.setFlags(it.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            it.setCheckState(Qt.CheckState.Unchecked)
            self.consequence.addItem(it)
        self.consequence.itemChanged.connect(self._on_builder_changed)
        gl.addWidget(self.consequence)
        self.builder.addWidget(g)

        g = QGroupBox("In-silico scores and ClinVar")
        grid = QGridLayout(g)
        self.scores: dict[str, tuple[QCheckBox, QDoubleSpinBox]] = {}
        for i, (col, label, default, lo, hi, dec) in enumerate(SCORES):
            cb = QCheckBox(label)
            sp = QDoubleSpinBox()
            sp.setRange(lo, hi)
            sp.setDecimals(dec)
            sp.setSingleStep(10 ** -dec if dec else 1)
            sp.setValue(default)
            sp.setKeyboardTracking(False)
            cb.toggled.connect(self._on_builder_changed)
            sp.valueChanged.connect(lambda _v, c=cb: c.isChecked() and self._on_builder_changed())
            grid.addWidget(cb, i, 0)
            grid.addWidget(sp, i, 1)
            self.scores[col] = (cb, sp)
        self.clinvar_plp = QCheckBox("ClinVar pathogenic / likely pathogenic")
        self.clinvar_plp.toggled.connect(self._on_builder_changed)
        grid.addWidget(self.clinvar_plp, len(SCORES), 0, 1, 2)
        self.builder.addWidget(g)

        g = QGroupBox("Quality")
        grid = QGridLayout(g)
        self.pass_only = QCheckBox("FILTER is PASS")
        self.pass_only.toggled.connect(self._on_builder_changed)
        grid.addWidget(self.pass_only, 0, 0, 1, 2)
        self.min_dp_on = QCheckBox("Depth (DP) ≥")
        self.min_dp = QSpinBox()
        self.min_dp.setRange(0, 10000)
        self.min_dp.setValue(10)
        self.min_gq_on = QCheckBox("Genotype quality (GQ) ≥")
        self.min_gq = QSpinBox()
        self.min_gq.setRange(0, 99)
        self.min_gq.setValue(20)
        self.quality_who = QComboBox()
        for cb, sp in ((self.min_dp_on, self.min_dp), (self.min_gq_on, self.min_gq)):
            sp.setKeyboardTracking(False)
            cb.toggled.connect(self._on_builder_changed)
            sp.valueChanged.connect(lambda _v, c=cb: c.isChecked() and self._on_builder_changed())
        self.quality_who.currentIndexChanged.connect(self._on_builder_changed)
        grid.addWidget(self.min_dp_on, 1, 0)
        grid.addWidget(self.min_dp, 1, 1)
        grid.addWidget(self.min_gq_on, 2, 0)
        grid.addWidget(self.min_gq, 2, 1)
        grid.addWidget(QLabel("in sample"), 3, 0)
        grid.addWidget(self.quality_who, 3, 1)
        self.builder.addWidget(g)

        self.genotype_group = QGroupBox("Genotypes and inheritance")
        self.genotype_form = QFormLayout(self.genotype_group)
        self.inheritance = QComboBox()
        for label, _ in INHERITANCE:
            self.inheritance.addItem(label)
        self.inheritance.currentIndexChanged.connect(self._on_builder_changed)
        self.genotype_form.addRow("Inheritance", self.inheritance)
        self.builder.addWidget(self.genotype_group)

        g = QGroupBox("Genes and region")
        fl = QFormLayout(g)
        self.panel = QComboBox()
        self.panel.addItem("any gene")
        self.panel.currentIndexChanged.connect(self._on_builder_changed)
        fl.addRow("Gene panel", self.panel)
        self.region = QLineEdit(placeholderText="e.g. 2:150000-160000")
        self.region.editingFinished.connect(self._on_builder_changed)
        fl.addRow("Region", self.region)
        self.builder.addWidget(g)

        g = QGroupBox("Review")
        fl = QFormLayout(g)
        self.flagged_only = QCheckBox("Flagged variants only")
        self.flagged_only.toggled.connect(self._on_review_filter_changed)
        fl.addRow(self.flagged_only)
        self.tag_filter = QComboBox()
        self.tag_filter.addItem("any")
        self.tag_filter.currentIndexChanged.connect(self._on_review_filter_changed)
        fl.addRow("With tag", self.tag_filter)
        self.builder.addWidget(g)
        self.builder.addStretch(1)
        for box in self.findChildren(QComboBox):
            _compact(box)
        self.setEnabled(False)

    # -- set-up for a case -------------------------------------------------------------------

    def set_case(self, case, *, engine: bool, panels: list[str] = (), presets: list[tuple[str, str, str]] = ()) -> None:
        """Fill the per-case controls (samples, panels, presets); the filter is cleared."""
        self._updating = True
        try:
            self._engine = engine
            for box in self._gt_boxes.values():
                self.genotype_form.removeRow(box)
            self._gt_boxes.clear()
            self._samples = []
            self.quality_who.clear()
            if case is not None:
                for s in case.genotyped:
                    name = s.role if s.role in ("proband", "mother", "father") else s.sample_id
                    aff = {True: ", affected", False: ", unaffected"}.get(s.affected, "")
                    label = f"{s.sample_id} ({s.role}{aff})" if s.role else s.sample_id
                    self._samples.append((name, label))
                    box = QComboBox()
                    for text, _ in GT_CHOICES:
                        box.addItem(text)
                    box.setObjectName(f"gt_{name}")
                    _compact(box)
                    box.currentIndexChanged.connect(self._on_builder_changed)
                    self._gt_boxes[name] = box
                    self.genotype_form.addRow(label, box)
                    self.quality_who.addItem(label, name)
                if len(self._samples) > 1:
                    self.quality_who.addItem("every sample", "all")
            self.inheritance.setEnabled(engine)
            self.inheritance.setToolTip("" if engine else "Inheritance modes come with the query engine "
                                                           "(raredesk.filters), not installed in this build")
            self.panel.clear()
            self.panel.addItem("any gene")
            for p in panels:
                self.panel.addItem(p)
            self.panel.setEnabled(engine and bool(panels))
            self.panel.setToolTip("" if engine else "Gene panels come with the query engine (raredesk.filters)")
            self.presets_menu.clear()
            if presets:
                for name, title, desc in presets:
                    act = self.presets_menu.addAction(f"{title}  ({name})" if title and title != name else name)
                    act.setToolTip(desc)
                    act.setStatusTip(desc)
                    act.triggered.connect(lambda _=False, n=name: self.set_preset(n))
                self.presets_menu.setToolTipsVisible(True)
            else:
                act = self.presets_menu.addAction("Presets come with the query engine (raredesk.filters)")
                act.setEnabled(False)
            self.presets_menu.addSeparator()
            self.presets_menu.addAction("Clear all filters", self.clear)
            self._reset_controls()
            self.expression.setPlainText("")
            self._extra = []
            self._preset = None
            self._show_preset()
            self.show_error(None)
        finally:
            self._updating = False
        self.setEnabled(case is not None)

    def set_tags(self, tags: list[str]) -> None:
        current = self.tag_filter.currentText()
        self.tag_filter.blockSignals(True)
        self.tag_filter.clear()
        self.tag_filter.addItem("any")
        for t in tags:
            self.tag_filter.addItem(t)
        i = self.tag_filter.findText(current)
        self.tag_filter.setCurrentIndex(max(0, i))
        self.tag_filter.blockSignals(False)

    def _reset_controls(self) -> None:
        self.af.setCurrentIndex(0)
        self.af_field.setCurrentIndex(0)
        for cb in self.impact.values():
            cb.setChecked(False)
        for i in range(self.consequence.count()):
            self.consequence.item(i).setCheckState(Qt.CheckState.Unchecked)
        for cb, _ in self.scores.values():
            cb.setChecked(False)
        self.clinvar_plp.setChecked(False)
        self.pass_only.setChecked(False)
        self.min_dp_on.setChecked(False)
        self.min_gq_on.setChecked(False)
        for box in self._gt_boxes.values():
            box.setCurrentIndex(0)
        self.inheritance.setCurrentIndex(0)
        self.panel.setCurrentIndex(0)
        self.region.setText("")

    # -- builder -> expression -------------------------------------------------------------

    def builder_clauses(self) -> list[str]:
        out = []
        label, value = AF_CHOICES[self.af.currentIndex()]
        fld = self.af_field.currentData()
        if value == "absent":
            out.append(f"{fld} is missing")
        elif value is not None:
            out.append(f"({fld} < {_num(value)} or {fld} is missing)")
        imps = [i for i, cb in self.impact.items() if cb.isChecked()]
        if imps:
            out.append(f"impact in ({', '.join(imps)})")
        cons = [self.consequence.item(i).text() for i in range(self.consequence.count())
                if self.consequence.item(i).checkState() == Qt.CheckState.Checked]
        if cons:
            out.append(" or ".join(f"consequence has {c}" for c in cons))
        for col, (cb, sp) in self.scores.items():
            if cb.isChecked():
                out.append(f"{col} >= {_num(round(sp.value(), sp.decimals()))}")
        if self.clinvar_plp.isChecked():
            out.append("clinvar_sig in (" + ", ".join(f'"{v}"' for v in CLINVAR_PLP) + ")")
        if self.pass_only.isChecked():
            out.append("filter = PASS")
        who = self.quality_who.currentData()
        if who:
            if self.min_dp_on.isChecked():
                out.append(f"dp({who}) >= {self.min_dp.value()}")
            if self.min_gq_on.isChecked():
                out.append(f"gq({who}) >= {self.min_gq.value()}")
        for name, box in self._gt_boxes.items():
            cond = GT_CHOICES[box.currentIndex()][1]
            if cond:
                out.append(f"gt({name}) {cond}")
        term = INHERITANCE[self.inheritance.currentIndex()][1]
        if term and self._engine:
            out.append(term)
        if self.panel.currentIndex() > 0:
            out.append(f'gene in panel "{self.panel.currentText()}"')
        region = self.region.text().strip().replace(" ", "")
        if region:
            out.append(f"in {region}")
        return out

    def _on_builder_changed(self, *_):
        if self._updating:
            return
        text = join_and(self.builder_clauses() + self._extra)
        self._updating = True
        try:
            self.expression.setPlainText(text)
        finally:
            self._updating = False
        self._type_timer.stop()
        self._emit()

    # -- expression -> builder -------------------------------------------------------------

    def _on_expression_edited(self) -> None:
        if self._updating:
            return
        self._type_timer.start()

    def _on_typing_paused(self) -> None:
        self._read_back(self.expression.toPlainText())
        self._emit()

    def _apply_now(self) -> None:
        self._type_timer.stop()
        self._read_back(self.expression.toPlainText())
        self._emit()

    def _read_back(self, text: str) -> None:
        """Set the builder controls from the clauses they own; keep the others as extra clauses."""
        self._updating = True
        try:
            self._reset_controls()
            extra = []
            for clause in split_and(text):
                if not self._claim(clause):
                    extra.append(clause)
            self._extra = extra
        finally:
            self._updating = False

    def _claim(self, clause: str) -> bool:
        c = strip_parens(clause)
        low = " ".join(c.split())
        m = re.fullmatch(r"(gnomad_af|gnomad_grpmax_af) < ([0-9.eE+-]+) or \1 is missing", low)
        if m and self.af.currentIndex() == 0:
            for i, (_, v) in enumerate(AF_CHOICES):
                if isinstance(v, float) and abs(v - float(m.group(2))) < 1e-12:
                    self.af.setCurrentIndex(i)
                    self.af_field.setCurrentIndex(self.af_field.findData(m.group(1)))
                    return True
            return False
        m = re.fullmatch(r"(gnomad_af|gnomad_grpmax_af) is missing", low)
        if m and self.af.currentIndex() == 0:
            self.af.setCurrentIndex(len(AF_CHOICES) - 1)
            self.af_field.setCurrentIndex(self.af_field.findData(m.group(1)))
            return True
        m = re.fullmatch(r"impact in \(([A-Za-z, ]+)\)", low)
        if m:
            names = [x.strip().upper() for x in m.group(1).split(",")]
            if all(n in self.impact for n in names) and not any(cb.isChecked() for cb in self.impact.values()):
                for n in names:
                    self.impact[n].setChecked(True)
                return True
            return False
        terms = re.findall(r"consequence has (\w+)", low)
        if terms and re.fullmatch(r"consequence has \w+( or consequence has \w+)*", low):
            items = {self.consequence.item(i).text(): self.consequence.item(i) for i in range(self.consequence.count())}
            if all(t in items for t in terms):
                for t in terms:
                    items[t].setCheckState(Qt.CheckState.Checked)
                return True
            return False
        m = re.fullmatch(r"(cadd_phred|revel|spliceai_ds|alphamissense) >= ([0-9.]+)", low)
        if m:
            cb, sp = self.scores[m.group(1)]
            cb.setChecked(True)
            sp.setValue(float(m.group(2)))
            return True
        if low == "clinvar_sig in (" + ", ".join(f'"{v}"' for v in CLINVAR_PLP) + ")":
            self.clinvar_plp.setChecked(True)
            return True
        if low.lower() == "filter = pass":
            self.pass_only.setChecked(True)
            return True
        m = re.fullmatch(r"(dp|gq)\((\S+)\) >= (\d+)", low)
        if m:
            i = self.quality_who.findData(m.group(2))
            if i < 0:
                return False
            self.quality_who.setCurrentIndex(i)
            cb, sp = (self.min_dp_on, self.min_dp) if m.group(1) == "dp" else (self.min_gq_on, self.min_gq)
            cb.setChecked(True)
            sp.setValue(int(m.group(3)))
            return True
        m = re.fullmatch(r"gt\((\S+)\) (= \w+|in \(het, hom_alt\))", low)
        if m and m.group(1) in self._gt_boxes:
            for i, (_, cond) in enumerate(GT_CHOICES):
                if cond == m.group(2):
                    self._gt_boxes[m.group(1)].setCurrentIndex(i)
                    return True
            return False
        for i, (_, term) in enumerate(INHERITANCE):
            if term and low == term and self._engine:
                self.inheritance.setCurrentIndex(i)
                return True
        m = re.fullmatch(r'gene in panel "([^"]+)"', low)
        if m and self.panel.findText(m.group(1)) > 0:
            self.panel.setCurrentIndex(self.panel.findText(m.group(1)))
            return True
        m = re.fullmatch(r"in ([A-Za-z0-9_.]+(:[\d,]+(-[\d,]+)?)?)", low)
        if m and not self.region.text():
            self.region.setText(m.group(1))
            return True
        return False

    # -- presets, review filters, output ---------------------------------------------------

    def set_preset(self, name: str | None) -> None:
        self._preset = name
        self._show_preset()
        self._emit()

    def _show_preset(self) -> None:
        self.preset_chip.setVisible(bool(self._preset))
        self.preset_chip.setText(f"Preset: {self._preset}   ✕" if self._preset else "")
        self.preset_chip.setToolTip("Remove the preset")

    def _on_review_filter_changed(self, *_):
        if not self._updating:
            self._emit()

    def state(self) -> FilterState:
        tag = self.tag_filter.currentText() if self.tag_filter.currentIndex() > 0 else None
        return FilterState(self.expression.toPlainText().strip(), self._preset, self.flagged_only.isChecked(), tag)

    def set_expression(self, text: str, *, apply: bool = True) -> None:
        """Put an expression in the box (e.g. a remembered filter), reading it back into the builder."""
        self._updating = True
        try:
            self.expression.setPlainText(text)
        finally:
            self._updating = False
        self._read_back(text)
        if apply:
            self._emit()

    def clear(self) -> None:
        self._updating = True
        try:
            self._reset_controls()
            self._extra = []
            self.expression.setPlainText("")
            self._preset = None
            self._show_preset()
            self.flagged_only.setChecked(False)
            self.tag_filter.setCurrentIndex(0)
        finally:
            self._updating = False
        self._emit()

    def _emit(self) -> None:
        self.count_label.setText("counting…")
        self.filter_changed.emit(self.state())

    # -- feedback from the table -----------------------------------------------------------

    def show_count(self, shown: int, total: int) -> None:
        self.count_label.setText(f"{shown:,} of {total:,} variants")
        self.count_label.setToolTip(f"{shown:,} variant rows (one per ALT allele) pass the filter")

    def show_error(self, error) -> None:
        """An error from compiling the expression (None clears it)."""
        if error is None:
            self.error_label.setVisible(False)
            self.error_label.setText("")
            self.expression.mark_error(None)
            return
        pos = getattr(error, "position", None)
        msg = getattr(error, "message", None) or str(error)
        self.error_label.setText(("⚠ " + (f"at column {pos + 1}: " if pos is not None else "") + msg))
        self.error_label.setVisible(True)
        self.expression.mark_error(pos)
        self.count_label.setText("filter not applied")

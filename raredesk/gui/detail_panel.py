"""The variant detail panel: the evidence of the selected variant and the reviewer's flag, tags and note.

Tabs: *Summary* (genotypes per sample with depth and allele balance, population
frequencies per population, in-silico scores, ClinVar), *Transcripts* (every
transcript annotation), *INFO* (every INFO field as imported), and two slots
that other parts of RareDesk fill:

* ``set_pileup_widget(widget)`` -- the reads / coverage view (tab *Reads*);
* ``set_acmg_widget(widget)`` -- the ACMG classification panel (tab *ACMG*).

A widget put in a slot may define ``set_variant(context)``; it is called with a
:class:`VariantContext` whenever the selected variant changes (None when nothing
is selected). The panel also emits :attr:`DetailPanel.variant_changed` with the
same context for anything else that wants to follow the selection.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (QAbstractItemView, QCompleter, QGridLayout, QGroupBox, QHBoxLayout, QHeaderView,
                               QLabel, QLineEdit, QPlainTextEdit, QSplitter, QStackedLayout, QTableWidget,
                               QTableWidgetItem, QTabWidget, QToolButton, QVBoxLayout, QWidget)

from raredesk.gui import formatting as fm
from raredesk.gui.variant_table import CLINVAR_BG, GT_BG, IMPACT_BG
from raredesk.store import review as rv
from raredesk.store.cases import Case, Sample
from raredesk.store.importer import q, record_id_of, transcripts_table
from raredesk.store.scores import POPULATIONS

POP_NAMES = {"afr": "African/African American", "amr": "Admixed American", "asj": "Ashkenazi Jewish",
             "eas": "East Asian", "fin": "Finnish", "nfe": "Non-Finnish European", "sas": "South Asian",
             "oth": "Remaining", "mid": "Middle Eastern", "ami": "Amish"}
TRANSCRIPT_COLUMNS = [("source", "Source"), ("gene", "Gene"), ("transcript", "Transcript"), ("mane_select", "MANE"),
                      ("canonical", "Canonical"), ("biotype", "Biotype"), ("consequence", "Consequence"),
                      ("impact", "Impact"), ("hgvsc", "HGVS c."), ("hgvsp", "HGVS p."), ("exon", "Exon"),
                      ("intron", "Intron"), ("protein_position", "Protein pos."), ("amino_acids", "AA"),
                      ("codons", "Codons"), ("sift_pred", "SIFT"), ("polyphen_pred", "PolyPhen"), ("lof", "LoF"),
                      ("revel", "REVEL"), ("cadd_phred", "CADD"), ("spliceai_ds", "SpliceAI"),
                      ("alphamissense", "AlphaMissense"), ("existing_variation", "Existing variation")]


@dataclass(frozen=True)
class VariantContext:
    """The selected variant, as the pileup view and the ACMG panel receive it.

    Attributes
    ----------
    ws : raredesk.store.workspace.Workspace
        Open workspace (read through ``ws.cursor()`` on the caller's thread).
    case : Case
        Includes ``samples`` with ``alignment_path`` (BAM/CRAM) per sample.
    variant_id : int
    vkey : str
        Normalised key ``chrom:pos:ref:alt`` (the key classifications use).
    chrom : str
    pos : int
        1-based VCF position.
    ref, alt : str
    build : str or None
    reference_path : str or None
        The case's reference FASTA, when recorded.
    gene : str or None
    """

    ws: object
    case: Case
    variant_id: int
    vkey: str
    chrom: str
    pos: int
    ref: str
    alt: str
    build: str | None = None
    reference_path: str | None = None
    gene: str | None = None


@dataclass
class VariantDetail:
    """Everything the panel shows for one variant (read on a worker thread)."""

    variant_id: int
    row: dict
    transcripts: list[dict]
    transcript_columns: list[str]
    info: list[tuple[str, object, str]]
    review: rv.Review
    reference_path: str | None = None
    samples: list[Sample] = field(default_factory=list)


def load_detail(ws, case: Case, variant_id: int) -> VariantDetail:
    """Read one variant with its transcripts, INFO fields and review (worker thread)."""
    con = ws.cursor()
    try:
        cur = con.execute(f"SELECT * FROM {q(case.table)} WHERE variant_id = ?", [variant_id])
        names = [d[0] for d in cur.description]
        r = cur.fetchone()
        if r is None:
            raise LookupError(f"variant {variant_id} is no longer in case {case.name}")
        row = dict(zip(names, r))
        tcur = con.execute(f"SELECT * FROM {q(transcripts_table(case.case_id))} "
                           "WHERE record_id = ? AND variant_id = ? "
                           "ORDER BY (transcript = ?) DESC, severity, source, entry_index",
                           [record_id_of(variant_id), variant_id, row.get("transcript") or ""])
        tnames = [d[0] for d in tcur.description]
        transcripts = [dict(zip(tnames, t)) for t in tcur.fetchall()]
        info = []
        for name, column, desc in con.execute(
                "SELECT name, column_name, description FROM info_fields WHERE case_id = ? ORDER BY name",
                [case.case_id]).fetchall():
            v = row.get(column)
            if v is not None:
                info.append((name, v, desc or ""))
        ref_path = con.execute("SELECT reference_path FROM cases WHERE case_id = ?", [case.case_id]).fetchone()
        review = rv.get_review(con, case.case_id, row["vkey"])
    finally:
        con.close()
    return VariantDetail(variant_id, row, transcripts, tnames, info, review, ref_path[0] if ref_path else None,
                         list(case.samples))


def _item(text, *, align=None, bg: QColor | None = None, bold=False, tip: str | None = None) -> QTableWidgetItem:
    it = QTableWidgetItem("" if text is None else str(text))
    it.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
    if align is not None:
        it.setTextAlignment(align)
    if bg is not None:
        it.setBackground(bg)
    if bold:
        f = QFont()
        f.setBold(True)
        it.setFont(f)
    if tip:
        it.setToolTip(tip)
    return it


def _table(headers: list[str]) -> QTableWidget:
    t = QTableWidget(0, len(headers))
    t.setHorizontalHeaderLabels(headers)
    t.verticalHeader().hide()
    t.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    t.verticalHeader().setDefaultSectionSize(t.fontMetrics().height() + 6)
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    t.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    t.setWordWrap(False)
    t.setShowGrid(False)
    t.setAlternatingRowColors(True)
    t.horizontalHeader().setHighlightSections(False)
    return t


RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
CENTER = Qt.AlignmentFlag.AlignCenter
WARN_BG = QColor(240, 150, 0, 80)


class _Slot(QWidget):
    """A tab's content that another component replaces with its own widget."""

    def __init__(self, placeholder: str):
        super().__init__()
        self._stack = QStackedLayout(self)
        self.placeholder = QLabel(placeholder)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.placeholder.setEnabled(False)
        self._stack.addWidget(self.placeholder)
        self.widget: QWidget | None = None

    def set_widget(self, widget: QWidget | None) -> None:
        if self.widget is not None:
            self._stack.removeWidget(self.widget)
            self.widget.setParent(None)
        self.widget = widget
        if widget is not None:
            self._stack.addWidget(widget)
            self._stack.setCurrentWidget(widget)
        else:
            self._stack.setCurrentWidget(self.placeholder)


class TagEditor(QWidget):
    """Tags as removable chips plus a box to add one (Enter), with completion."""

    tag_added = Signal(str)
    tag_removed = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.chips = QWidget()
        self.chips_layout = _FlowRow(self.chips)
        lay.addWidget(self.chips)
        self.edit = QLineEdit(placeholderText="Add a tag and press Enter…")
        self.edit.setClearButtonEnabled(True)
        self.edit.returnPressed.connect(self._on_edit_return)
        self.completer = QCompleter(list(rv.SUGGESTED_TAGS))
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.edit.setCompleter(self.completer)
        lay.addWidget(self.edit)
        self._tags: tuple[str, ...] = ()

    def set_suggestions(self, tags: list[str]) -> None:
        words = list(dict.fromkeys(list(tags) + list(rv.SUGGESTED_TAGS)))
        self.completer.model().setStringList(words)

    def set_tags(self, tags) -> None:
        self._tags = tuple(tags)
        self.chips_layout.clear()
        for t in self._tags:
            b = QToolButton()
            b.setText(f"{t}  ✕")
            b.setToolTip(f"Remove the tag “{t}”")
            b.setAutoRaise(False)
            b.setObjectName("tagChip")
            b.clicked.connect(lambda _=False, tag=t: self.tag_removed.emit(tag))
            self.chips_layout.add(b)
        if not self._tags:
            empty = QLabel("no tags")
            empty.setEnabled(False)
            self.chips_layout.add(empty)

    def tags(self) -> tuple[str, ...]:
        return self._tags

    def _on_edit_return(self) -> None:
        text = " ".join(self.edit.text().split())
        if text:
            self.tag_added.emit(text)
        self.edit.clear()


class _FlowRow:
    """Minimal wrapping row of widgets (chips)."""

    def __init__(self, host: QWidget):
        self.host = host
        self.grid = QGridLayout(host)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setHorizontalSpacing(4)
        self.grid.setVerticalSpacing(4)
        self.items: list[QWidget] = []

    def clear(self) -> None:
        for w in self.items:
            self.grid.removeWidget(w)
            w.deleteLater()
        self.items = []

    def add(self, w: QWidget) -> None:
        i = len(self.items)
        self.items.append(w)
        self.grid.addWidget(w, i // 3, i % 3, Qt.AlignmentFlag.AlignLeft)


class ReviewBox(QGroupBox):
    """Flag, tags and note of the selected variant; every change is saved at once (see signals)."""

    flag_toggled = Signal(str, bool)
    tag_added = Signal(str, str)
    tag_removed = Signal(str, str)
    note_edited = Signal(str, str)

    NOTE_DELAY_MS = 600

    def __init__(self, parent=None):
        super().__init__("Review", parent)
        lay = QVBoxLayout(self)
        self.flag = QToolButton()
        self.flag.setCheckable(True)
        self.flag.setText("⚑  Flag")
        self.flag.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.flag.setToolTip("Flag this variant for follow-up (Ctrl+Shift+F)")
        self.flag.setObjectName("flagButton")
        self.flag.toggled.connect(self._on_flag_toggled)
        top = QHBoxLayout()
        top.addWidget(self.flag)
        top.addStretch(1)
        self.saved = QLabel("")
        self.saved.setEnabled(False)
        top.addWidget(self.saved)
        lay.addLayout(top)
        lay.addWidget(QLabel("Tags"))
        self.tags = TagEditor()
        self.tags.tag_added.connect(lambda t: self._vkey and self.tag_added.emit(self._vkey, t))
        self.tags.tag_removed.connect(lambda t: self._vkey and self.tag_removed.emit(self._vkey, t))
        lay.addWidget(self.tags)
        lay.addWidget(QLabel("Note"))
        self.note = QPlainTextEdit()
        self.note.setPlaceholderText("Free-text note: saved as you type")
        self.note.setTabChangesFocus(True)
        self.note.textChanged.connect(self._on_note_changed)
        self.note.installEventFilter(self)
        lay.addWidget(self.note, 1)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(self.NOTE_DELAY_MS)
        self._timer.timeout.connect(self.flush_note)
        self._vkey: str | None = None
        self._loading = False
        self._stored_note = ""
        self.setEnabled(False)

    def show_review(self, review: rv.Review | None) -> None:
        """Show the stored review (when another variant is selected, or after a save)."""
        if review is None:
            self.flush_note()
            self._vkey = None
            self._stored_note = ""
            self._quietly(lambda: (self.flag.setChecked(False), self.note.setPlainText("")))
            self.tags.set_tags(())
            self.saved.setText("")
            self.setEnabled(False)
            return
        if review.vkey != self._vkey:
            self.flush_note()  # a pending edit belongs to the variant shown before
            self._vkey = review.vkey
            self._quietly(lambda: self.note.setPlainText(review.note))
            self.saved.setText("")
        elif (not self._timer.isActive() and not self.note.hasFocus()
              and self.note.toPlainText().rstrip() != review.note):
            self._quietly(lambda: self.note.setPlainText(review.note))
        self._stored_note = review.note
        self._quietly(lambda: self.flag.setChecked(review.flagged))
        self.tags.set_tags(review.tags)
        self.setEnabled(True)

    def _quietly(self, fn) -> None:
        self._loading = True
        try:
            fn()
        finally:
            self._loading = False

    def mark_saved(self, when: str) -> None:
        self.saved.setText(f"saved {when}")

    def _on_flag_toggled(self, on: bool) -> None:
        if not self._loading and self._vkey:
            self.flag_toggled.emit(self._vkey, on)

    def _on_note_changed(self) -> None:
        if not self._loading and self._vkey:
            self.saved.setText("editing…")
            self._timer.start()

    def flush_note(self) -> None:
        """Save a pending note edit now (variant change, focus out, window close)."""
        self._timer.stop()
        if self._vkey and not self._loading:
            text = self.note.toPlainText().rstrip()
            if text != self._stored_note:
                self._stored_note = text
                self.note_edited.emit(self._vkey, text)

    def eventFilter(self, obj, event):  # Qt override
        if obj is self.note and event.type() == QEvent.Type.FocusOut:
            self.flush_note()
        return super().eventFilter(obj, event)


class DetailPanel(QWidget):
    """Evidence tabs on the left, the review box on the right.

    Signals
    -------
    variant_changed(object)
        A :class:`VariantContext` (or None) when the shown variant changes.
    detail_loaded(object)
        The :class:`VariantDetail` now shown.
    """

    variant_changed = Signal(object)
    detail_loaded = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.case: Case | None = None
        self.ws = None
        self.detail: VariantDetail | None = None
        self.context: VariantContext | None = None
        outer = QHBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        outer.addWidget(self.splitter)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(4, 4, 4, 0)
        self.title = QLabel("Select a variant to see its evidence")
        tf = self.title.font()
        tf.setPointSizeF(tf.pointSizeF() * 1.25)
        tf.setBold(True)
        self.title.setFont(tf)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.subtitle = QLabel("")
        self.subtitle.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        ll.addWidget(self.title)
        ll.addWidget(self.subtitle)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        ll.addWidget(self.tabs, 1)
        self.splitter.addWidget(left)
        self.review = ReviewBox()
        self.review.setMinimumWidth(240)
        self.splitter.addWidget(self.review)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 0)
        self.splitter.setSizes([900, 300])

        # Summary: genotypes | ClinVar on top, population frequencies | scores below
        summary = QWidget()
        grid = QGridLayout(summary)
        grid.setContentsMargins(0, 4, 0, 0)
        self.genotypes = _table(["Sample", "Role", "GT", "AD ref,alt", "DP", "GQ", "AB"])
        self.genotypes.horizontalHeader().setStretchLastSection(True)
        g1 = QGroupBox("Genotypes")
        QVBoxLayout(g1).addWidget(self.genotypes)
        self.clinvar = QLabel("")
        self.clinvar.setWordWrap(True)
        self.clinvar.setTextFormat(Qt.TextFormat.RichText)
        self.clinvar.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.clinvar.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        g4 = QGroupBox("ClinVar")
        QVBoxLayout(g4).addWidget(self.clinvar)
        self.population = _table(["Population", "AF"] * 3)
        self.population.horizontalHeader().setStretchLastSection(True)
        g2 = QGroupBox("Population frequencies (gnomAD)")
        QVBoxLayout(g2).addWidget(self.population)
        self.scores = _table(["Score", "Value"])
        self.scores.horizontalHeader().setStretchLastSection(True)
        self.scores.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scores.setTextElideMode(Qt.TextElideMode.ElideLeft)
        g3 = QGroupBox("In-silico scores")
        QVBoxLayout(g3).addWidget(self.scores)
        grid.addWidget(g1, 0, 0, 1, 2)
        grid.addWidget(g4, 0, 2)
        grid.addWidget(g2, 1, 0)
        grid.addWidget(g3, 1, 1, 1, 2)
        grid.setRowStretch(0, 2)
        grid.setRowStretch(1, 3)
        for c, k in enumerate((5, 3, 2)):
            grid.setColumnStretch(c, k)
        self.tabs.addTab(summary, "Summary")

        self.transcripts = _table([h for _, h in TRANSCRIPT_COLUMNS])
        self.tabs.addTab(self.transcripts, "Transcripts")
        self.info = _table(["Field", "Value", "Description"])
        self.info.horizontalHeader().setStretchLastSection(True)
        self.tabs.addTab(self.info, "INFO")
        self.pileup_slot = _Slot("Reads and coverage for the selected variant appear here "
                                 "(pileup view: set_pileup_widget).")
        self.tabs.addTab(self.pileup_slot, "Reads")
        self.acmg_slot = _Slot("ACMG/AMP classification of the selected variant appears here "
                               "(ACMG panel: set_acmg_widget).")
        self.tabs.addTab(self.acmg_slot, "ACMG")
        self.clear()

    # -- hooks for other components -------------------------------------------------------

    def set_pileup_widget(self, widget: QWidget | None) -> None:
        """Put the reads / coverage view in the *Reads* tab (it may define ``set_variant(context)``)."""
        self.pileup_slot.set_widget(widget)
        self._notify(widget)

    def set_acmg_widget(self, widget: QWidget | None) -> None:
        """Put the ACMG panel in the *ACMG* tab (it may define ``set_variant(context)``)."""
        self.acmg_slot.set_widget(widget)
        self._notify(widget)

    def pileup_widget(self) -> QWidget | None:
        return self.pileup_slot.widget

    def acmg_widget(self) -> QWidget | None:
        return self.acmg_slot.widget

    def _notify(self, widget) -> None:
        fn = getattr(widget, "set_variant", None)
        if callable(fn):
            fn(self.context)

    # -- content ----------------------------------------------------------------------------

    def set_case(self, ws, case: Case | None) -> None:
        self.ws, self.case = ws, case
        self.clear()

    def clear(self) -> None:
        self.detail = None
        self.title.setText("Select a variant to see its evidence" if self.case else "No case open")
        self.subtitle.setText("")
        for t in (self.genotypes, self.population, self.scores, self.transcripts, self.info):
            t.setRowCount(0)
        self.clinvar.setText("")
        self.review.show_review(None)
        self._set_context(None)

    def _set_context(self, ctx: VariantContext | None) -> None:
        if ctx == self.context:
            return
        self.context = ctx
        for slot in (self.pileup_slot, self.acmg_slot):
            self._notify(slot.widget)
        self.variant_changed.emit(ctx)

    def show_detail(self, d: VariantDetail) -> None:
        self.detail = d
        r = d.row
        gene = r.get("gene") or "intergenic"
        hgvs = " ".join(x for x in (fm.short_hgvs(r.get("hgvsc")), fm.short_hgvs(r.get("hgvsp"))) if x)
        self.title.setText(f"{gene}   {hgvs}".strip())
        parts = [f"{r['chrom']}:{r['pos']:,} {r['ref']}>{r['alt']}", fm.fmt_consequence(r.get("consequence")),
                 r.get("impact") or "", r.get("transcript") or "",
                 f"QUAL {fm.fmt_float(r.get('qual')) or '.'}  FILTER {r.get('filter') or '.'}", r.get("vcf_id") or ""]
        self.subtitle.setText("   ·   ".join(p for p in parts if p))
        self._fill_genotypes(d)
        self._fill_population(r)
        self._fill_scores(r)
        self._fill_clinvar(r)
        self._fill_transcripts(d)
        self._fill_info(d)
        self.review.show_review(d.review)
        self._set_context(VariantContext(self.ws, self.case, d.variant_id, r["vkey"], r["chrom"], r["pos"], r["ref"],
                                         r["alt"], self.case.build if self.case else None, d.reference_path,
                                         r.get("gene")))
        self.detail_loaded.emit(d)

    def _fill_genotypes(self, d: VariantDetail) -> None:
        rows = [s for s in d.samples if s.sample_index is not None]
        t = self.genotypes
        t.setRowCount(len(rows))
        for i, s in enumerate(rows):
            k = s.sample_index
            r = d.row
            code, raw = r.get(f"s{k}_gt"), r.get(f"s{k}_gt_raw")
            ad_ref, ad_alt, dp, gq, ab = (r.get(f"s{k}_{f}") for f in ("ad_ref", "ad_alt", "dp", "gq", "ab"))
            affected = {True: "affected", False: "unaffected"}.get(s.affected, "affected status unknown")
            sex = {"male": "M", "female": "F"}.get(s.sex or "", "?")
            t.setItem(i, 0, _item(s.sample_id, bold=s.role == "proband",
                                  tip=f"{s.sample_id}: {s.role or 'sample'}, {s.sex or 'sex unknown'}, {affected}"))
            t.setItem(i, 1, _item(f"{s.role or '—'} ({sex}, {affected})" if s.affected is not None
                                  else f"{s.role or '—'} ({sex})"))
            t.setItem(i, 2, _item(fm.fmt_gt(code, raw), align=CENTER, bg=GT_BG.get(code), bold=code == 2,
                                  tip=fm.GT_NAME.get(code)))
            t.setItem(i, 3, _item(f"{'.' if ad_ref is None else ad_ref},{'.' if ad_alt is None else ad_alt}",
                                  align=RIGHT))
            t.setItem(i, 4, _item(fm.fmt_int(dp), align=RIGHT, bg=WARN_BG if dp is not None and dp < 10 else None,
                                  tip="depth below 10" if dp is not None and dp < 10 else None))
            t.setItem(i, 5, _item(fm.fmt_int(gq), align=RIGHT, bg=WARN_BG if gq is not None and gq < 20 else None,
                                  tip="genotype quality below 20" if gq is not None and gq < 20 else None))
            odd = code == 1 and ab is not None and not (0.25 <= ab <= 0.75)
            t.setItem(i, 6, _item("" if ab is None else f"{ab:.2f}", align=RIGHT, bg=WARN_BG if odd else None,
                                  tip="allele balance unusual for a heterozygote" if odd else None))
        t.resizeColumnsToContents()

    def _fill_population(self, r: dict) -> None:
        nhom = r.get("gnomad_nhomalt")
        cells = [("Overall", fm.fmt_af(r.get("gnomad_af")) if r.get("gnomad_af") is not None else "—", True),
                 ("Group max", fm.fmt_af(r.get("gnomad_grpmax_af")) if r.get("gnomad_grpmax_af") is not None
                  else "—", True),
                 ("Homozygotes", "—" if nhom is None else f"{nhom:,}", True)]
        for p in POPULATIONS:
            v = r.get(f"gnomad_af_{p}")
            cells.append((p.upper(), fm.fmt_af(v) if v is not None else "—", False))
        t = self.population
        per = (len(cells) + 2) // 3
        t.setRowCount(per)
        for i, (name, text, bold) in enumerate(cells):
            rr, cc = i % per, 2 * (i // per)
            pop = name.lower()
            t.setItem(rr, cc, _item(name, bold=bold, tip=POP_NAMES.get(pop, name)))
            t.setItem(rr, cc + 1, _item(text, align=RIGHT,
                                        tip="absent from gnomAD or not annotated" if text == "—" else None))
        for cc in range(6):
            t.resizeColumnToContents(cc)

    def _fill_scores(self, r: dict) -> None:
        am = r.get("alphamissense")
        am_class = r.get("alphamissense_class")
        rows = [("CADD (phred)", fm.fmt_float(r.get("cadd_phred"), 3)),
                ("REVEL", fm.fmt_float(r.get("revel"))),
                ("SpliceAI (max Δ)", fm.fmt_float(r.get("spliceai_ds"))),
                ("AlphaMissense", " ".join(x for x in (fm.fmt_float(am), f"({am_class})" if am_class else "") if x)),
                ("SIFT", " ".join(x for x in (r.get("sift_pred") or "", fm.fmt_float(r.get("sift_score"))) if x)),
                ("PolyPhen", " ".join(x for x in (r.get("polyphen_pred") or "", fm.fmt_float(r.get("polyphen_score")))
                                      if x))]
        t = self.scores
        t.setRowCount(len(rows))
        for i, (name, v) in enumerate(rows):
            t.setItem(i, 0, _item(name))
            t.setItem(i, 1, _item(v or "—", align=RIGHT, tip=v or None))
        t.resizeColumnToContents(0)

    def _fill_clinvar(self, r: dict) -> None:
        sig = r.get("clinvar_sig")
        if not sig:
            self.clinvar.setText("<i>Not in ClinVar (or not annotated)</i>")
            return
        bg = CLINVAR_BG.get(fm.clinvar_class(sig))
        style = f"background-color: rgba({bg.red()},{bg.green()},{bg.blue()},{bg.alpha()});" if bg else ""
        parts = [f"<span style='{style} font-weight:bold; padding:2px'>&nbsp;{_esc(sig)}&nbsp;</span>"]
        stars = r.get("clinvar_stars")
        if stars is not None:
            parts.append(f"{fm.stars(stars)} &nbsp;{_esc(r.get('clinvar_revstat') or '')}")
        elif r.get("clinvar_revstat"):
            parts.append(_esc(r.get("clinvar_revstat")))
        if r.get("clinvar_id"):
            parts.append(f"Variation ID {_esc(r['clinvar_id'])}")
        if r.get("clinvar_source"):
            parts.append(f"<span style='color:gray'>source: {_esc(r['clinvar_source'])}</span>")
        self.clinvar.setText("<br>".join(parts))

    def _fill_transcripts(self, d: VariantDetail) -> None:
        t = self.transcripts
        t.setRowCount(len(d.transcripts))
        picked = d.row.get("transcript")
        for i, tr in enumerate(d.transcripts):
            is_picked = bool(picked) and tr.get("transcript") == picked
            for j, (col, _) in enumerate(TRANSCRIPT_COLUMNS):
                v = tr.get(col)
                if col == "consequence":
                    text = fm.fmt_consequence(v)
                elif col in ("hgvsc", "hgvsp"):
                    text = fm.short_hgvs(v)
                elif isinstance(v, float):
                    text = fm.fmt_float(v)
                elif isinstance(v, bool):
                    text = "yes" if v else ""
                else:
                    text = "" if v is None else str(v)
                bg = IMPACT_BG.get(v) if col == "impact" else None
                t.setItem(i, j, _item(text, bg=bg, bold=is_picked,
                                      tip=(str(v) if col in ("hgvsc", "hgvsp") and v else
                                           "picked transcript (shown in the table)" if is_picked and j == 2 else None)))
        t.resizeColumnsToContents()
        for j in range(t.columnCount()):
            t.setColumnWidth(j, min(t.columnWidth(j), 260))

    def _fill_info(self, d: VariantDetail) -> None:
        t = self.info
        t.setRowCount(len(d.info))
        for i, (name, v, desc) in enumerate(d.info):
            t.setItem(i, 0, _item(name, bold=True))
            t.setItem(i, 1, _item(fm.fmt_generic(v), tip=fm.fmt_generic(v)))
            t.setItem(i, 2, _item(desc, tip=desc))
        t.resizeColumnToContents(0)
        t.setColumnWidth(1, min(max(t.sizeHintForColumn(1), 80), 320))

    def show_review(self, review: rv.Review) -> None:
        """A saved review for the shown variant (ignored for any other variant)."""
        if self.detail is not None and review.vkey == self.detail.row.get("vkey"):
            self.detail.review = review
            self.review.show_review(review)


def _esc(text) -> str:
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))

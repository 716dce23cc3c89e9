"""The pileup view: reference, coverage and reads of every sample, stacked on one axis.

:class:`PileupView` shows, from top to bottom, a genomic ruler with the
reference sequence, then for each sample (proband, father, mother ...) a
coverage track and its reads. All tracks share one x axis.

Data flow (STYLE.md): selecting a variant builds an immutable
:class:`~raredesk.gui.pileup.data.PileupRequest`; one worker job per sample
reads the window on the view's thread pool; the view keeps the newest request
id and drops anything else, applying a result only when every sample of the
newest request has reported. Panning inside the loaded window is instant;
leaving it fetches a wider window after a short pause.

Drawing: each track is one :class:`~raredesk.gui.pileup.items.ArrayItem`
whose layers come from :mod:`raredesk.gui.pileup.layout` (one array per
style), so the number of graphics items does not grow with the reads.

Mouse: drag to pan, wheel to zoom (Shift+wheel scrolls rows), double-click to
zoom in, click a read for its details. Keys: Left/Right pan, +/- zoom,
Home back to the variant, PageUp/PageDown scroll rows, Ctrl+L locus box.
"""

from __future__ import annotations

import html
import math
import time
from dataclasses import dataclass, field, replace

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QKeySequence, QPen, QShortcut
from PySide6.QtWidgets import (QCheckBox, QComboBox, QHBoxLayout, QLabel, QLineEdit, QMenu, QSizePolicy,
                               QSplitter, QTabWidget, QTextBrowser, QToolButton, QVBoxLayout, QWidget)

from raredesk.errors import RareDeskError
from raredesk.gui.pileup import layout as lo
from raredesk.gui.pileup.data import (MAX_LONG_READ_WINDOW, MAX_READ_WINDOW, PileupRequest, PileupSettings,
                                      SampleResult, SampleSource, fetch_sample, flag_words, read_details,
                                      read_sample, sources_from_case, warm_up_read_workers)
from raredesk.gui.pileup.items import ArrayItem, ArrowLayer, GenomeAxis, LineLayer, RectLayer, TextLayer, qcolor
from raredesk.gui.workers import JobRunner, make_pool, new_request_id

__all__ = ["PileupView", "ReadEvidencePanel", "DrawInfo"]

LEFT_AXIS_WIDTH = 56
RULER_HEIGHT = 46
COVERAGE_HEIGHT = 52
LABEL_HEIGHT = 18
DEFAULT_FLANK = 50          # bp shown each side of a variant
DEFAULT_WINDOW = 1_000      # bp read around a variant
FREEZE_MS = 250             # longest wait for a variant's reads before the view moves without them
ROW_PX = {"expanded": 10.0, "squished": 3.0}
BACKGROUND = QColor(255, 255, 255)


@dataclass(frozen=True)
class DrawInfo:
    """Timings of one applied request (``drawn`` signal payload).

    Attributes
    ----------
    request_id : int
    contig : str
    start, end : int
        Loaded window.
    data_ms : float
        Request to the last sample's result arriving on the GUI thread.
    worker_ms : float
        Longest time one sample took in its worker (reading only).
    apply_ms : float
        Handing the arrays to the graphics items on the GUI thread (painting follows).
    reads : int
        Reads drawn over all samples.
    worker_cpu_ms : float
        CPU time of the reads fetch over all samples (load-independent).
    apply_cpu_ms : float
        CPU time of the GUI-thread part.
    """

    request_id: int
    contig: str
    start: int
    end: int
    data_ms: float
    worker_ms: float
    apply_ms: float
    reads: int
    worker_cpu_ms: float = 0.0
    apply_cpu_ms: float = 0.0


class _StaleGuard:
    """The newest request id, readable from worker threads (skip work for stale requests)."""

    def __init__(self):
        self.latest = None


def _fetch_if_current(guard: _StaleGuard, rid, request: PileupRequest, index: int, options: lo.ViewOptions):
    """Worker (Qt-free): reads of one sample, laid out for the current options.

    A request superseded before it started is skipped. Layout and draw arrays
    are numpy work, done off the GUI thread too; with insertion expansion
    (which needs every sample) the view lays out.
    """
    if guard.latest != rid:
        return None
    return read_sample(request, index, options)


class _TrackViewBox(pg.ViewBox):
    """A ViewBox that zooms x only on the wheel and reports clicks in data coordinates."""

    sig_clicked = Signal(object, float, float, bool)

    def __init__(self, scroll_rows: bool = False):
        super().__init__(enableMenu=False, defaultPadding=0.0)
        self.scroll_rows = scroll_rows
        self.setMouseEnabled(x=True, y=scroll_rows)
        self.setBackgroundColor(None)

    def wheelEvent(self, ev, axis=None):  # pyqtgraph override
        if self.scroll_rows and ev.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            rows = -ev.delta() / 120.0 * 3
            self.translateBy(y=rows)
            ev.accept()
            return
        s = 1.02 ** (ev.delta() * self.state["wheelScaleFactor"])
        center = self.mapToView(ev.pos())
        self._resetTarget()
        self.scaleBy(x=s, y=None, center=center)
        ev.accept()
        self.sigRangeChangedManually.emit([True, False])

    def mouseClickEvent(self, ev):  # pyqtgraph override
        if ev.button() == Qt.MouseButton.LeftButton:
            pt = self.mapSceneToView(ev.scenePos())
            self.sig_clicked.emit(self, float(pt.x()), float(pt.y()), bool(ev.double()))
            ev.accept()
        else:
            ev.ignore()


class _Canvas(pg.GraphicsLayoutWidget):
    """The graphics area; forwards navigation keys to the view."""

    def __init__(self, view: "PileupView"):
        super().__init__()
        self._view = view
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        # pyqtgraph's scene menu offers SVG export, which crashes on Qt 6.12: PNG only (snapshot).
        self.scene().contextMenu = []

    def keyPressEvent(self, ev):  # Qt override
        if not self._view.handle_key(ev.key(), ev.modifiers()):
            super().keyPressEvent(ev)


@dataclass
class _Track:
    """The widgets and the applied data of one sample."""

    source: SampleSource
    label: object
    cov_plot: object
    cov_item: ArrayItem
    reads_plot: object
    reads_item: ArrayItem
    message: object
    lines: list = field(default_factory=list)
    result: SampleResult | None = None
    layout: lo.TrackLayout | None = None
    scene: lo.TrackScene | None = None
    cov_scene: lo.CoverageScene | None = None
    prepared: object = None
    top_row: float = -1.0

    @property
    def reads_vb(self):
        return self.reads_plot.getViewBox()

    @property
    def cov_vb(self):
        return self.cov_plot.getViewBox()


class PileupView(QWidget):
    """Reads and coverage of several samples at a locus, IGV style.

    Parameters
    ----------
    parent : QWidget, optional
    interactive : bool
        False for snapshots: no toolbar or details pane.
    runner : JobRunner, optional
        Where fetches run (a private two-thread pool by default).

    Signals
    -------
    drawn(object)
        A :class:`DrawInfo` after a request's data is laid out (painting follows).
    read_clicked(object)
        A dict describing the clicked read.
    error_raised(str)
        A worker failed; the text is also shown in the status line.
    """

    drawn = Signal(object)
    read_clicked = Signal(object)
    error_raised = Signal(str)

    def __init__(self, parent=None, *, interactive: bool = True, runner: JobRunner | None = None):
        super().__init__(parent)
        self.interactive = interactive
        self.runner = runner or JobRunner(make_pool(3, "pileup"), self)   # one thread per trio member
        self._guard = _StaleGuard()
        self._latest = None
        self._pending: dict = {}
        self._prepared: dict = {}
        self._requested_at: dict = {}
        self._details_rid = None
        self.samples: tuple[SampleSource, ...] = ()
        self.reference: str | None = None
        self.settings = PileupSettings()
        self.options = lo.ViewOptions()
        self.display = "auto"
        self.variant: tuple[str, int, str, str] | None = None   # contig, pos (1-based), ref, alt
        self.contig: str | None = None
        self.contig_length: int | None = None
        self.loaded: tuple[str, int, int] | None = None
        self.xmap = lo.XMap()
        self.tracks: list[_Track] = []
        self.selected: tuple[int, int] | None = None     # (track index, read index)
        self.last_info: DrawInfo | None = None
        self._deferred = None
        self._message = ""
        self._setting_range = False

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(2)
        self.toolbar = QWidget()
        self._build_toolbar(self.toolbar)
        outer.addWidget(self.toolbar)
        self.title = QLabel("")
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.title.setVisible(not interactive)
        outer.addWidget(self.title)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.canvas = _Canvas(self)
        self.canvas.setBackground(BACKGROUND)
        self.canvas.ci.layout.setContentsMargins(2, 2, 6, 2)
        self.canvas.ci.layout.setVerticalSpacing(0)
        self.splitter.addWidget(self.canvas)
        self.details = QTextBrowser()
        self.details.setOpenLinks(False)
        self.details.anchorClicked.connect(self._on_details_link)
        self.details.setMinimumWidth(220)
        self.details.hide()
        self.splitter.addWidget(self.details)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 0)
        outer.addWidget(self.splitter, 1)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.RichText)
        outer.addWidget(self.status)
        self.toolbar.setVisible(interactive)
        self.status.setVisible(interactive)

        self.ruler = self.canvas.ci.addPlot(row=0, col=0, viewBox=_TrackViewBox(),
                                            axisItems={"top": GenomeAxis("top")})
        self._style_plot(self.ruler, top_axis=True)
        self.ruler_item = ArrayItem()
        self.ruler.addItem(self.ruler_item)
        self.ruler.getViewBox().setYRange(0, 1, padding=0)
        self.ruler.getViewBox().sig_clicked.connect(self._on_ruler_clicked)
        self.ruler.getViewBox().sigXRangeChanged.connect(self._on_x_range_changed)
        self.canvas.ci.layout.setRowFixedHeight(0, RULER_HEIGHT)

        self._thaw_timer = QTimer(self)
        self._thaw_timer.setSingleShot(True)
        self._thaw_timer.timeout.connect(self._thaw_canvas)
        self._fetch_timer = QTimer(self)
        self._fetch_timer.setSingleShot(True)
        self._fetch_timer.setInterval(150)
        self._fetch_timer.timeout.connect(self._ensure_data)
        QShortcut(QKeySequence("Ctrl+L"), self, activated=self._focus_locus,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self._show_message("Select a variant to see its reads.")

    # ------------------------------------------------------------------ toolbar

    def _build_toolbar(self, bar: QWidget) -> None:
        lay = QHBoxLayout(bar)
        lay.setContentsMargins(2, 2, 2, 0)
        self.locus = QLineEdit()
        self.locus.setPlaceholderText("chr:start-end or chr:pos")
        self.locus.setToolTip("Go to a locus: chr20:10,000,100-10,000,300, chr20:10000117 or "
                              "20:10000117:C:T (Enter). Ctrl+L")
        self.locus.setMinimumWidth(230)
        self.locus.returnPressed.connect(self._on_locus_entered)
        lay.addWidget(self.locus)
        for text, tip, fn in (("−", "Zoom out (-)", lambda: self.zoom(2.0)),
                              ("+", "Zoom in (+)", lambda: self.zoom(0.5)),
                              ("Variant", "Back to the variant (Home)", self.recentre)):
            b = QToolButton()
            b.setText(text)
            b.setToolTip(tip)
            b.clicked.connect(fn)
            lay.addWidget(b)
        self.sort_button = QToolButton()
        self.sort_button.setText("Sort")
        self.sort_button.setToolTip("Sort rows by the reads at the centre position (marked by dashed lines)")
        self.sort_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.sort_button)
        for key, text in lo.SORTS.items():
            menu.addAction(f"by {text}", lambda k=key: self.sort_reads(k))
        self.sort_button.setMenu(menu)
        lay.addWidget(self.sort_button)
        lay.addWidget(QLabel("Group"))
        self.group_combo = QComboBox()
        for key, text in lo.GROUPS.items():
            self.group_combo.addItem(text, key)
        self.group_combo.setToolTip("Samples always have their own tracks; group the reads of each sample by...")
        self.group_combo.currentIndexChanged.connect(
            lambda _i: self.group_reads(self.group_combo.currentData()))
        lay.addWidget(self.group_combo)
        lay.addWidget(QLabel("Colour"))
        self.colour_combo = QComboBox()
        for key, text in lo.COLOURS.items():
            self.colour_combo.addItem(text, key)
        self.colour_combo.currentIndexChanged.connect(
            lambda _i: self.colour_reads(self.colour_combo.currentData()))
        lay.addWidget(self.colour_combo)
        self.display_combo = QComboBox()
        for key, text in (("auto", "fit rows"), ("expanded", "expanded"), ("squished", "squished")):
            self.display_combo.addItem(text, key)
        self.display_combo.setToolTip("Row height: fit the track, expanded (10 px) or squished (3 px)")
        self.display_combo.currentIndexChanged.connect(
            lambda _i: self.set_display(self.display_combo.currentData()))
        lay.addWidget(self.display_combo)
        self.clips_box = QCheckBox("Soft clips")
        self.clips_box.setToolTip("Show soft-clipped read ends (hatched)")
        self.clips_box.toggled.connect(lambda on: self.set_options(show_soft_clips=on))
        lay.addWidget(self.clips_box)
        self.insert_box = QCheckBox("Expand insertions")
        self.insert_box.setToolTip("Widen the axis at insertions carried by several reads and show their bases")
        self.insert_box.toggled.connect(lambda on: self.set_options(expand_insertions=on))
        lay.addWidget(self.insert_box)
        lay.addStretch(1)

    def _focus_locus(self) -> None:
        self.locus.setFocus()
        self.locus.selectAll()

    # ------------------------------------------------------------------ plots

    def _style_plot(self, plot, top_axis: bool = False) -> None:
        plot.hideButtons()
        plot.setMenuEnabled(False)
        plot.hideAxis("bottom")
        if top_axis:
            plot.showAxis("top")
            ax = plot.getAxis("top")
            ax.setHeight(26)
            ax.setPen(pg.mkPen(90, 90, 90))
            ax.setTextPen(pg.mkPen(40, 40, 40))
        for name in ("left", "right", "top", "bottom"):
            # else every range change re-renders each axis label (setHtml), shown or not
            plot.getAxis(name).enableAutoSIPrefix(False)
        left = plot.getAxis("left")
        left.setWidth(LEFT_AXIS_WIDTH)
        left.setPen(pg.mkPen(150, 150, 150))
        left.setTextPen(pg.mkPen(60, 60, 60))
        plot.getViewBox().disableAutoRange()
        plot.getViewBox().invertY(True)
        plot.layout.setContentsMargins(0, 0, 0, 0)
        if plot is not getattr(self, "ruler", None) and hasattr(self, "ruler"):
            plot.setXLink(self.ruler)

    def _build_tracks(self) -> None:
        ci = self.canvas.ci
        for t in self.tracks:
            for item in (t.label, t.cov_plot, t.reads_plot):
                ci.removeItem(item)
        self.tracks = []
        row = 1
        for i, src in enumerate(self.samples):
            label = ci.addLabel("", row=row, col=0, justify="left", size="9pt")
            ci.layout.setRowFixedHeight(row, LABEL_HEIGHT)
            cov = ci.addPlot(row=row + 1, col=0, viewBox=_TrackViewBox())
            self._style_plot(cov)
            ci.layout.setRowFixedHeight(row + 1, COVERAGE_HEIGHT)
            cov_item = ArrayItem()
            cov.addItem(cov_item)
            reads = ci.addPlot(row=row + 2, col=0, viewBox=_TrackViewBox(scroll_rows=True))
            self._style_plot(reads)
            # No axis on the reads (it would be re-laid out on every scroll): an empty column of the same width.
            reads.hideAxis("left")
            reads.layout.setColumnFixedWidth(0, LEFT_AXIS_WIDTH)
            ci.layout.setRowStretchFactor(row + 2, 1)
            reads_item = ArrayItem()
            reads.addItem(reads_item)
            msg = pg.TextItem("", color=(90, 90, 90), anchor=(0, 0))
            msg.setZValue(100)
            reads.addItem(msg, ignoreBounds=True)
            track = _Track(src, label, cov, cov_item, reads, reads_item, msg)
            cov.getViewBox().sig_clicked.connect(lambda vb, x, y, dbl, k=i: self._on_coverage_clicked(k, x, y, dbl))
            reads.getViewBox().sig_clicked.connect(lambda vb, x, y, dbl, k=i: self._on_reads_clicked(k, x, y, dbl))
            reads.getViewBox().sigResized.connect(lambda vb, k=i: self._fit_rows(k))
            reads.getViewBox().sigYRangeChanged.connect(lambda vb, r, k=i: self._place_message(k))
            self.tracks.append(track)
            self._set_label(track)
            row += 3
        self._relayout()

    def _relayout(self) -> None:
        # Adding rows to a shown GraphicsLayout shrinks it to its size hint;
        # give it the whole canvas again.
        ci = self.canvas.ci
        ci.layout.activate()
        ci.setGeometry(QRectF(0, 0, self.canvas.width(), self.canvas.height()))

    # ------------------------------------------------------------------ public API

    def set_variant(self, context) -> None:
        """Detail-panel hook: show the reads of a :class:`~raredesk.gui.detail_panel.VariantContext`.

        None clears the view. While the view is hidden (another tab of the
        detail panel is shown) nothing is read; the newest variant is loaded
        when the view is shown.
        """
        if context is not None and not getattr(self, "_warmed", False):
            # First selection: start the read worker processes while the user looks at the summary.
            self._warmed = True
            warm_up_read_workers()
        if context is not None and not self.isVisible():
            self._deferred = context
            return
        self._deferred = None
        if context is None:
            self.clear()
            return
        sources = sources_from_case(context.case)
        if not sources:
            self.clear(f"No BAM/CRAM is recorded for the samples of case {context.case.name} "
                       "(import with --bam SAMPLE=PATH).")
            return
        self.set_samples(sources, context.reference_path)
        self.show_variant(context.chrom, context.pos, context.ref, context.alt)
        if not context.reference_path:
            self._message = ("No reference FASTA is recorded for this case: mismatches cannot be coloured "
                             "(import with --reference).")

    def set_samples(self, samples, reference: str | None) -> None:
        """Samples (in track order) and the case FASTA."""
        samples = tuple(samples)
        if samples != self.samples or reference != self.reference:
            self.samples = samples
            self.reference = reference
            self.loaded = None
            self._build_tracks()

    def clear(self, message: str = "Select a variant to see its reads.") -> None:
        """Forget samples and data."""
        self._latest = self._guard.latest = None
        self._thaw_canvas()
        self.samples = ()
        self.loaded = None
        self.variant = None
        self._build_tracks()
        self.ruler_item.set_layers([], QRectF())
        self._show_message(message)

    def show_variant(self, contig: str, pos: int, ref: str = "", alt: str = "", *, flank: int = DEFAULT_FLANK,
                     window: int = DEFAULT_WINDOW) -> int:
        """Centre on a variant (``pos`` 1-based), sort by the base there and fetch a ``window`` bp window.

        Returns the request id.
        """
        # The old reads would be painted at the new locus while the new ones load: keep the last
        # frame instead (at most FREEZE_MS), and paint once when the reads arrive.
        self._freeze_canvas()
        (start, end), visible = self._variant_setup(contig, pos, ref, alt, flank, window)
        rid = self.request(contig, start, end)
        self._set_x_range(*visible)         # while the workers read
        return rid

    def prepare_variant(self, contig: str, pos: int, ref: str = "", alt: str = "", *, flank: int = DEFAULT_FLANK,
                        window: int = DEFAULT_WINDOW) -> tuple[int, int]:
        """Set the view up for a variant without fetching; returns the window (0-based) to fetch.

        Rows are sorted by the base at the variant: for a deletion the first
        deleted base, for an insertion the base after it (reads carrying the
        insertion first).
        """
        window_, visible = self._variant_setup(contig, pos, ref, alt, flank, window)
        self._set_x_range(*visible)
        return window_

    def _variant_setup(self, contig: str, pos: int, ref: str, alt: str, flank: int,
                       window: int) -> tuple[tuple[int, int], tuple[int, int]]:
        """Options for a variant; returns the window to fetch and the span to show (0-based)."""
        pos0 = int(pos) - 1
        ref, alt = (ref or "").upper(), (alt or "").upper()
        span = max(1, len(ref))
        self.variant = (contig, int(pos), ref, alt)
        is_ins = len(alt) > len(ref) and alt.startswith(ref[:1])
        is_del = len(ref) > len(alt) and ref.startswith(alt[:1])
        centre = pos0 + 1 if (is_del or is_ins) else pos0
        self.options = replace(self.options, sort_pos=centre, group_pos=centre, sort_by="base",
                               mark_insertions=is_ins)
        self._enter_contig(contig, force=True)
        vis0, vis1 = pos0 - flank, pos0 + span + flank
        half = max(window // 2, (vis1 - vis0) // 2 + 1)
        mid = pos0 + span // 2
        return (max(0, mid - half), mid + half), (vis0, vis1)

    def show_locus(self, contig: str, start: int, end: int) -> None:
        """Show ``[start, end)`` (0-based); reads are fetched when needed."""
        self._enter_contig(contig)
        self._set_x_range(start, end)
        self._fetch_timer.start(0)

    def _enter_contig(self, contig: str, force: bool = False) -> None:
        """Forget the axis set-up of another contig (its length limits the view)."""
        if contig != self.contig or force:
            if self.xmap is not None and not self.xmap.identity:
                self.xmap = lo.XMap()
                self.ruler.getAxis("top").set_xmap(self.xmap)
            if contig != self.contig:
                self.loaded = None
                self.contig_length = None
                self._limits = None
                self.ruler.getViewBox().setLimits(xMin=None, xMax=None)
        self.contig = contig

    def request(self, contig: str, start: int, end: int) -> int:
        """Fetch ``[start, end)`` for every sample on worker threads; returns the request id."""
        rid = new_request_id()
        self._latest = self._guard.latest = rid
        self.contig = contig
        self._message = ""
        if not self.samples:
            self._thaw_canvas()
            return rid
        req = PileupRequest(self.samples, self.reference, contig, max(0, int(start)), int(end), self.settings)
        self._pending[rid] = {}
        self._requested_at[rid] = (time.perf_counter(), req)
        for i in range(len(self.samples)):
            self.runner.submit(_fetch_if_current, self._guard, rid, req, i, self.options, request_id=rid,
                               on_result=self._on_sample_result, on_error=self._on_sample_error)
        self._set_status_busy(True)
        return rid

    def load_now(self, contig: str, start: int, end: int) -> DrawInfo:
        """Fetch and draw synchronously on this thread (snapshots, benchmarks)."""
        rid = new_request_id()
        self._latest = self._guard.latest = rid
        self.contig = contig
        self._message = ""
        req = PileupRequest(self.samples, self.reference, contig, max(0, int(start)), int(end), self.settings)
        t0 = time.perf_counter()
        self._requested_at[rid] = (t0, req)
        self._pending[rid] = {i: fetch_sample(req, i) for i in range(len(self.samples))}
        return self._apply(rid)

    def set_options(self, **changes) -> None:
        """Change layout options (:class:`~raredesk.gui.pileup.layout.ViewOptions` fields) and redraw."""
        self.options = replace(self.options, **changes)
        self._sync_controls()
        if "expand_insertions" in changes:
            self._update_xmap(keep_view=True)
        self.redraw()

    def set_settings(self, **changes) -> None:
        """Change fetch settings (:class:`PileupSettings` fields) and fetch again."""
        self.settings = replace(self.settings, **changes)
        if self.loaded is not None:
            self.request(*self.loaded)

    def sort_reads(self, by: str, pos: int | None = None) -> None:
        """Sort rows by ``by`` (see :data:`~raredesk.gui.pileup.layout.SORTS`) at ``pos`` (0-based; default the centre)."""
        if by not in lo.SORTS:
            raise ValueError(f"unknown sort {by!r}")
        if pos is None:
            pos = self.centre_position()
        self.set_options(sort_by=by, sort_pos=pos, group_pos=pos if self.options.group_by == "base" else
                         self.options.group_pos)

    def group_reads(self, by: str) -> None:
        """Group the reads of each sample (see :data:`~raredesk.gui.pileup.layout.GROUPS`)."""
        if by not in lo.GROUPS:
            raise ValueError(f"unknown grouping {by!r}")
        pos = self.options.group_pos
        if by == "base" and pos is None:
            pos = self.centre_position()
        self.set_options(group_by=by, group_pos=pos)

    def colour_reads(self, by: str) -> None:
        """Colour read bodies by ``by`` (see :data:`~raredesk.gui.pileup.layout.COLOURS`)."""
        if by not in lo.COLOURS:
            raise ValueError(f"unknown colouring {by!r}")
        self.set_options(colour_by=by)

    def set_display(self, mode: str) -> None:
        """Row height: ``auto`` (fit), ``expanded`` or ``squished``."""
        self.display = mode
        self._sync_controls()
        for k in range(len(self.tracks)):
            self._fit_rows(k, reset=True)

    def visible_range(self) -> tuple[str | None, int, int]:
        """Visible genomic range (contig, start, end), 0-based half-open."""
        (x0, x1), _ = self.ruler.getViewBox().viewRange()
        return self.contig, int(math.floor(self.xmap.to_genome(x0))), int(math.ceil(self.xmap.to_genome(x1)))

    def centre_position(self) -> int:
        """0-based coordinate under the centre of the view."""
        (x0, x1), _ = self.ruler.getViewBox().viewRange()
        return int(math.floor(self.xmap.to_genome((x0 + x1) / 2)))

    def zoom(self, factor: float, centre: float | None = None) -> None:
        """Zoom by ``factor`` (<1 zooms in) about ``centre`` (view x; default the middle)."""
        vb = self.ruler.getViewBox()
        (x0, x1), _ = vb.viewRange()
        c = (x0 + x1) / 2 if centre is None else centre
        half = max(10.0, (x1 - x0) * factor / 2)
        vb.setXRange(c - half, c + half, padding=0)

    def pan(self, fraction: float) -> None:
        """Move the view by ``fraction`` of its width (negative: left)."""
        vb = self.ruler.getViewBox()
        (x0, x1), _ = vb.viewRange()
        d = (x1 - x0) * fraction
        vb.setXRange(x0 + d, x1 + d, padding=0)

    def recentre(self) -> None:
        """Back to the variant with the default zoom."""
        if self.variant is None:
            return
        contig, pos, ref, _ = self.variant
        pos0 = pos - 1
        self.show_locus(contig, pos0 - DEFAULT_FLANK, pos0 + max(1, len(ref)) + DEFAULT_FLANK)

    def goto(self, text: str) -> None:
        """Go to a locus typed by the user (see the locus box tooltip).

        Raises
        ------
        RareDeskError
            Text that is not a locus.
        """
        from raredesk.io.reads_commands import parse_region, parse_variant

        text = text.strip().replace(" ", "")
        if text.count(":") >= 3:
            chrom, pos, ref, _alt = parse_variant(text)
            start, end = pos - 1 - DEFAULT_FLANK, pos - 1 + max(1, len(ref)) + DEFAULT_FLANK
        else:
            chrom, start, end = parse_region(text)
            if start is None:
                raise RareDeskError(f"give a position or range on {chrom}, e.g. {chrom}:10,000,100-10,000,300")
            if end - start <= 1:
                start, end = start - DEFAULT_FLANK, start + 1 + DEFAULT_FLANK
        self.show_locus(chrom, max(0, start), end)

    def handle_key(self, key, modifiers) -> bool:
        """Navigation keys; returns True when handled."""
        shift = bool(modifiers & Qt.KeyboardModifier.ShiftModifier)
        if key == Qt.Key.Key_Left:
            self.pan(-0.5 if shift else -0.125)
        elif key == Qt.Key.Key_Right:
            self.pan(0.5 if shift else 0.125)
        elif key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom(0.5)
        elif key in (Qt.Key.Key_Minus, Qt.Key.Key_Underscore):
            self.zoom(2.0)
        elif key == Qt.Key.Key_Home:
            self.recentre()
        elif key in (Qt.Key.Key_PageDown, Qt.Key.Key_PageUp):
            for t in self.tracks:
                vb = t.reads_vb
                _, (y0, y1) = vb.viewRange()
                step = (y1 - y0) * 0.9 * (1 if key == Qt.Key.Key_PageDown else -1)
                vb.translateBy(y=step)
        else:
            return False
        return True

    def keyPressEvent(self, ev):  # Qt override
        if not self.handle_key(ev.key(), ev.modifiers()):
            super().keyPressEvent(ev)

    def showEvent(self, ev):  # Qt override
        super().showEvent(ev)
        ctx = getattr(self, "_deferred", None)
        if ctx is not None:
            QTimer.singleShot(0, lambda c=ctx: self.set_variant(c) if self._deferred is c else None)

    def shutdown(self, msecs: int = 10_000) -> bool:
        """Forget pending requests and wait for running fetches (call before the window goes away)."""
        self._fetch_timer.stop()
        self._latest = self._guard.latest = None
        self._details_rid = None
        return self.runner.wait(msecs)

    def closeEvent(self, ev):  # Qt override
        # Nothing may report into a closed view.
        self.shutdown()
        super().closeEvent(ev)

    # ------------------------------------------------------------------ results

    def _on_sample_result(self, rid, payload) -> None:
        if rid != self._latest or rid not in self._pending:
            self._pending.pop(rid, None)
            self._requested_at.pop(rid, None)
            return
        if payload is None:
            return
        result, prepared = payload
        self._prepared[(rid, result.index)] = prepared
        self._pending[rid][result.index] = result
        if len(self._pending[rid]) == len(self.samples):
            self._apply(rid)

    def _on_sample_error(self, rid, exc) -> None:
        text = f"Reading the alignments failed: {type(exc).__name__}: {exc}"
        self.error_raised.emit(text)
        if rid == self._latest:
            self._thaw_canvas()
            self._pending.pop(rid, None)
            self._requested_at.pop(rid, None)
            self._set_status_busy(False)
            self._message = html.escape(text)
            self._update_status()

    def _apply(self, rid) -> DrawInfo:
        t_arrive, c_arrive = time.perf_counter(), time.thread_time()
        got = self._pending.pop(rid)
        t_req, req = self._requested_at.pop(rid)
        results = [got[i] for i in range(len(self.samples))]
        for i, (t, r) in enumerate(zip(self.tracks, results)):
            t.result = r
            t.prepared = self._prepared.pop((rid, i), None)
        self._prepared.clear()          # anything else belongs to superseded requests
        lengths = [r.data for r in results if r.data is not None]
        self.loaded = (req.contig, req.start, req.end)
        self.contig = req.contig
        self.contig_length = max((r.contig_length for r in results), default=0) or None
        self._update_xmap(keep_view=True)
        self.redraw()
        self._thaw_canvas()
        self._set_status_busy(False)
        t_done = time.perf_counter()
        info = DrawInfo(rid, req.contig, req.start, req.end, (t_arrive - t_req) * 1e3,
                        max((r.seconds for r in results), default=0.0) * 1e3, (t_done - t_arrive) * 1e3,
                        sum(len(d.reads) for d in lengths), sum(r.cpu_seconds for r in results) * 1e3,
                        (time.thread_time() - c_arrive) * 1e3)
        self.last_info = info
        self.drawn.emit(info)
        return info

    def _freeze_canvas(self) -> None:
        if self.canvas.updatesEnabled():
            self.canvas.setUpdatesEnabled(False)
        self._thaw_timer.start(FREEZE_MS)

    def _thaw_canvas(self) -> None:
        self._thaw_timer.stop()
        if not self.canvas.updatesEnabled():
            self.canvas.setUpdatesEnabled(True)

    def _update_xmap(self, keep_view: bool) -> None:
        vb = self.ruler.getViewBox()
        (x0, x1), _ = vb.viewRange()
        old = self.xmap
        g0, g1 = old.to_genome(x0), old.to_genome(x1)
        if self.options.expand_insertions and self.loaded is not None:
            batches = [t.result.data.reads for t in self.tracks if t.result is not None and t.result.data is not None]
            self.xmap = lo.expansion_map(batches, self.loaded[1], self.loaded[2])
        else:
            self.xmap = lo.XMap()
        same = old.identity and self.xmap.identity
        if not same:
            self.ruler.getAxis("top").set_xmap(self.xmap)
        limits = (self.contig_length, int(self.xmap.cum[-1]))
        if self.contig_length and getattr(self, "_limits", None) != limits:
            self._limits = limits
            vb.setLimits(xMin=-0.5, xMax=float(self.xmap.right(self.contig_length)) + 0.5, minXRange=20)
        if keep_view and not same:
            self._set_x_range(g0, g1)

    def _set_x_range(self, g0: float, g1: float) -> None:
        self._setting_range = True
        try:
            self.ruler.getViewBox().setXRange(float(self.xmap.left(np.int64(math.floor(g0)))) + (g0 - math.floor(g0)),
                                              float(self.xmap.right(np.int64(math.ceil(g1)))), padding=0)
        finally:
            self._setting_range = False
        self._update_locus_text()

    # ------------------------------------------------------------------ drawing

    def redraw(self) -> None:
        """Lay out and rebuild every track from the applied data (no fetch)."""
        ref_seq, ref_start = None, None
        for t in self.tracks:
            r = t.result
            if r is not None and r.data is not None and r.data.coverage.reference:
                ref_seq, ref_start = r.data.coverage.reference, r.data.coverage.start
                break
        self._draw_ruler(ref_seq, ref_start)
        for k, t in enumerate(self.tracks):
            self._draw_track(k, t, ref_seq, ref_start)
        self._update_status()

    def _ref_letter(self, seq, start, pos) -> str:
        if seq is None or pos is None or not (start <= pos < start + len(seq)):
            return ""
        return seq[pos - start].upper()

    def _draw_ruler(self, seq, start) -> None:
        layers = []
        if seq is not None:
            rs = lo.build_reference_scene(seq, start, self.xmap)
            for b, rects in rs["rects"].items():
                layers.append(RectLayer(rects, qcolor(lo.BASE_RGB[b]), name=f"ref_{b}"))
            x, codes = rs["text"]
            layers.append(TextLayer(x, np.full(x.shape, 0.5), [lo.CODE_LETTER[int(c)] for c in codes],
                                    colour=QColor(255, 255, 255), min_px_x=9, bold=True, name="ref_text"))
            bounds = QRectF(float(self.xmap.left(start)), 0, float(self.xmap.right(start + len(seq)) -
                                                                    self.xmap.left(start)), 1)
        else:
            bounds = QRectF()
            if self.loaded is not None:
                a, b = float(self.xmap.left(self.loaded[1])), float(self.xmap.right(self.loaded[2]))
                bounds = QRectF(a, 0, b - a, 1)
                layers.append(TextLayer(np.array([0.0]), np.array([0.5]), ["no reference sequence (no FASTA)"],
                                        colour=QColor(120, 120, 120), min_px_x=0.0, name="ref_missing",
                                        pin_left=True))
        layers.append(self._centre_layer(-1.0, 2.0))
        self.ruler_item.set_layers(layers, bounds)
        self.ruler.getAxis("left").setTicks([[(0.5, "ref")]])

    def _draw_track(self, k: int, t: _Track, ref_seq, ref_start, reset_rows: bool = True) -> None:
        r = t.result
        if r is None or r.data is None:
            t.cov_item.set_layers([], QRectF())
            t.reads_item.set_layers([], QRectF())
            t.layout = t.scene = t.cov_scene = None
            self._set_message(t, r.error if r is not None and r.error else "")
            self._set_label(t)
            return
        data = r.data
        opts = self.options
        pre = t.prepared
        t.prepared = None          # good for one use: options or data change next time
        if pre is not None and pre.options == opts and self.xmap.identity:
            t.layout, t.scene, t.cov_scene = pre.layout, pre.scene, pre.cov_scene
        else:
            t.layout = lo.layout_reads(data.reads, opts, self._ref_letter(ref_seq, ref_start, opts.group_pos))
            t.scene = lo.build_track_scene(data.reads, t.layout, opts, self.xmap)
            t.cov_scene = lo.build_coverage_scene(data.coverage, opts, self.xmap)
        sc, cs = t.scene, t.cov_scene
        # Coverage.
        cov_layers = [RectLayer(cs.plain, QColor(175, 175, 175), name="cov_plain")]
        for b, rects in cs.alleles.items():
            cov_layers.append(RectLayer(rects, qcolor(lo.BASE_RGB[b]), name=f"cov_{b}"))
        top = max(10, cs.max_depth)
        cov_layers.append(self._centre_layer(-1.0, top * 2.0))
        x0, x1 = sc.bounds[0], sc.bounds[1]
        t.cov_item.set_layers(cov_layers, QRectF(x0, 0, x1 - x0, top))
        vb = t.cov_vb
        vb.invertY(False)
        vb.setYRange(0, top * 1.05, padding=0)
        t.cov_plot.getAxis("left").setTicks([[(0, "0"), (top, f"{top}")]])
        # Reads.
        layers: list = []
        mq0_alpha = lo.MAPQ0_ALPHA
        for (c, z), rects in sc.bodies.items():
            col = qcolor(sc.body_colours[c][1], mq0_alpha if z else 1.0)
            layers.append(RectLayer(rects, col, name=f"body_{sc.body_colours[c][0]}{'_mq0' if z else ''}"))
        for (c, z), tips in sc.arrows.items():
            layers.append(ArrowLayer(tips, qcolor(sc.body_colours[c][1], mq0_alpha if z else 1.0),
                                     name=f"arrow_{c}_{int(z)}"))
        if sc.clips.size:
            brush = QBrush(qcolor(lo.CLIP_RGB), Qt.BrushStyle.BDiagPattern)
            layers.append(RectLayer(sc.clips, QColor(255, 228, 228), name="clip_fill"))
            layers.append(RectLayer(sc.clips, brush, name="clips"))
        layers.append(RectLayer(sc.gaps, BACKGROUND, name="gaps"))
        layers.append(LineLayer(sc.skip_lines, QPen(qcolor(lo.SKIP_RGB), 0), name="skips"))
        layers.append(LineLayer(sc.deletion_lines, _cosmetic(qcolor(lo.DELETION_RGB), 1.5), name="deletions"))
        for (b, q), rects in sorted(sc.mismatches.items()):
            layers.append(RectLayer(rects, qcolor(lo.BASE_RGB[b], lo.QUAL_ALPHA[q]), min_px=1.0,
                                    name=f"mm_{lo.CODE_LETTER[b]}_{q}"))
        for b, rects in sc.inserted_bases.items():
            layers.append(RectLayer(rects, qcolor(lo.BASE_RGB[b]), name=f"ins_{lo.CODE_LETTER[b]}"))
        mx, my, mc = sc.mismatch_text
        layers.append(TextLayer(mx, my, [lo.CODE_LETTER[int(c)] for c in mc], colour=QColor(255, 255, 255),
                                min_px_x=9, min_px_y=9, name="mm_text"))
        layers.append(RectLayer(sc.insertion_marks, qcolor(lo.INSERTION_RGB), min_px=2.0, name="insertions"))
        lx, ly, ll = sc.insertion_labels
        layers.append(TextLayer(lx, ly, [str(int(v)) for v in ll], colour=QColor(255, 255, 255), min_px_x=3,
                                min_px_y=9, box=qcolor(lo.INSERTION_RGB), name="ins_text"))
        dx, dy, dlen = sc.deletion_labels
        layers.append(TextLayer(dx, dy, [str(int(v)) for v in dlen], colour=QColor(0, 0, 0), min_px_x=2,
                                min_px_y=9, box=BACKGROUND, name="del_text"))
        layers.append(RectLayer(sc.split_outlines, None, _cosmetic(QColor(0, 0, 0), 1.0), name="split"))
        supp_pen = _cosmetic(QColor(0, 0, 0), 1.0)
        supp_pen.setStyle(Qt.PenStyle.DashLine)
        layers.append(RectLayer(sc.supplementary_outlines, None, supp_pen, name="supplementary"))
        layers.append(RectLayer(sc.hidden, qcolor(lo.HIDDEN_RGB), min_px=1.0, name="hidden"))
        if t.layout.groups:
            gx = np.full(len(t.layout.groups), np.nan)
            gy = np.array([g.first_row + 0.5 for g in t.layout.groups], dtype=np.float64)
            layers.append(TextLayer(gx, gy, [f"{g.label} ({g.n_reads})" for g in t.layout.groups],
                                    colour=QColor(30, 30, 30), min_px_x=0.0, max_items=200, bold=True,
                                    box=QColor(255, 255, 255, 220), name="group_labels", pin_left=True))
            sep = np.array([[x0, g.first_row, x1, g.first_row] for g in t.layout.groups[1:]], dtype=np.float64)
            layers.append(LineLayer(sep.reshape(-1, 4), _cosmetic(QColor(120, 120, 120), 1.0), name="group_lines"))
        if self.selected is not None and self.selected[0] == k and self.selected[1] < len(data.reads):
            i = self.selected[1]
            sel = np.array([[float(self.xmap.left(data.reads.read_start[i])), t.layout.row[i] + 0.05,
                             float(self.xmap.right(data.reads.read_end[i]) - self.xmap.left(data.reads.read_start[i])),
                             0.9]])
            layers.append(RectLayer(sel, None, _cosmetic(QColor(20, 20, 20), 2.0), name="selected"))
        layers.append(self._centre_layer(-1.0, t.layout.n_rows + 1.0))
        t.reads_item.set_layers(layers, QRectF(x0, -1, x1 - x0, max(1, t.layout.n_rows) + 1))
        self._set_message(t, "")
        self._set_label(t)
        self._fit_rows(k, reset=reset_rows)

    def _set_label(self, t: _Track) -> None:
        r = t.result
        words = f"<b>{html.escape(t.source.label)}</b>"
        extra = ", ".join(w for w in (t.source.role, t.source.detail) if w)
        if extra:
            words += f" <span style='color:#555'>({html.escape(extra)})</span>"
        if r is not None and r.data is not None:
            b = r.data.reads
            words += f" <span style='color:#555'>· {len(b):,} reads</span>"
            if b.hidden_reads:
                words += (f" <span style='color:#b00000'>· downsampled: {b.hidden_reads:,} of {b.total_reads:,} "
                          f"hidden (max {self.settings.max_reads_per_bucket} per {self.settings.bucket_size} bp)"
                          "</span>")
        elif r is not None and r.error:
            words += " <span style='color:#b00000'>· cannot show reads</span>"
        if getattr(t.label, "_raredesk_text", None) != words:   # setHtml costs ~0.2 ms: only on change
            t.label.setText(words, size="9pt")
            t.label._raredesk_text = words

    @staticmethod
    def _set_message(t: _Track, text: str) -> None:
        if getattr(t.message, "_raredesk_text", None) != text:
            t.message.setText(text)
            t.message._raredesk_text = text

    def _fit_rows(self, k: int, reset: bool = False) -> None:
        if k >= len(self.tracks):
            return
        t = self.tracks[k]
        vb = t.reads_vb
        n_rows = t.layout.n_rows if t.layout is not None else 0
        height = max(1.0, vb.height())
        if self.display in ROW_PX:
            row_px = ROW_PX[self.display]
        else:
            row_px = min(ROW_PX["expanded"], max(1.0, height / max(1.0, n_rows + 1.0)))
        visible = height / row_px
        _, (y0, _) = vb.viewRange()
        top = -1.0 if reset or not math.isfinite(y0) else y0
        top = min(max(-1.0, top), max(-1.0, n_rows - visible + 1))
        vb.setLimits(yMin=-1.0, yMax=max(n_rows + 1.0, visible - 1.0))
        vb.setYRange(top, top + visible, padding=0)
        self._place_message(k)

    def _place_message(self, k: int) -> None:
        if k >= len(self.tracks):
            return
        t = self.tracks[k]
        (x0, _), (y0, _) = t.reads_vb.viewRange()
        t.message.setPos(x0, y0)

    def _centre_layer(self, y0: float, y1: float) -> LineLayer:
        """Dashed lines around the base the rows are sorted at (IGV's centre line)."""
        pos = self.options.sort_pos if self.options.sort_pos is not None else self.options.group_pos
        if pos is None:
            return LineLayer(np.zeros((0, 4)), name="centre")
        a, b = float(self.xmap.left(pos)), float(self.xmap.right(pos + 1))
        pen = _cosmetic(QColor(60, 60, 60, 170), 1.0)
        pen.setStyle(Qt.PenStyle.DashLine)
        return LineLayer(np.array([[a, y0, a, y1], [b, y0, b, y1]], dtype=np.float64), pen, name="centre")

    # ------------------------------------------------------------------ interaction

    def _on_x_range_changed(self, vb, rng) -> None:
        self._update_locus_text()
        for k in range(len(self.tracks)):
            self._place_message(k)
        if not self._setting_range or self.loaded is None:
            self._fetch_timer.start()
        self._update_status()

    def _update_locus_text(self) -> None:
        # Do not overwrite what the user is typing.
        if not self.interactive or self.locus.isModified() or self.contig is None:
            return
        _, s, e = self.visible_range()
        self.locus.setText(f"{self.contig}:{max(1, s + 1):,}-{e:,}")

    def _max_window(self) -> int:
        for t in self.tracks:
            if t.result is not None and t.result.data is not None and len(t.result.data.reads):
                b = t.result.data.reads
                if float(np.median(b.read_end - b.read_start)) > 1000:
                    return MAX_LONG_READ_WINDOW
        return MAX_READ_WINDOW

    def _ensure_data(self) -> None:
        if not self.samples or self.contig is None:
            return
        contig, g0, g1 = self.visible_range()
        width = g1 - g0
        maxw = self._max_window()
        if width > maxw:
            self._update_status()
            return
        ld = self.loaded
        if ld is not None and ld[0] == contig and ld[1] <= max(0, g0) and g1 <= ld[2]:
            return
        pending = self._requested_at.get(self._latest)
        if pending is not None:
            req = pending[1]
            if req.contig == contig and req.start <= max(0, g0) and g1 <= req.end:
                return
        margin = int(min(max(width, 500), (maxw - width) / 2))
        self.request(contig, max(0, g0 - margin), g1 + margin)

    def _on_locus_entered(self) -> None:
        try:
            text = self.locus.text()
            self.locus.setModified(False)
            self.goto(text)
        except RareDeskError as exc:
            self._message = html.escape(str(exc))
            self._update_status()
        self.canvas.setFocus()

    def _on_ruler_clicked(self, vb, x, y, dbl) -> None:
        if dbl:
            self.zoom(0.5, centre=x)

    def _read_at(self, k: int, x: float, y: float) -> int | None:
        t = self.tracks[k]
        if t.layout is None or t.result is None or t.result.data is None:
            return None
        b = t.result.data.reads
        g = self.xmap.to_genome(x)
        row = int(math.floor(y))
        start = b.read_start - t.layout.left_clip
        end = b.read_end + t.layout.right_clip
        hit = np.flatnonzero((t.layout.row == row) & (start <= g) & (end > g))
        return int(hit[0]) if hit.size else None

    def _on_reads_clicked(self, k: int, x: float, y: float, dbl: bool) -> None:
        self.canvas.setFocus()
        if dbl:
            self.zoom(0.5, centre=x)
            return
        i = self._read_at(k, x, y)
        if i is None:
            return
        self.select_read(k, i, x)

    def select_read(self, k: int, i: int, x: float | None = None) -> dict:
        """Highlight read ``i`` of track ``k`` and show its details; returns them as a dict."""
        t = self.tracks[k]
        b = t.result.data.reads
        g = int(math.floor(self.xmap.to_genome(x))) if x is not None else int(b.read_start[i])
        code, qual = None, None
        mm = b.mismatches
        m = (mm.read == i) & (mm.start == g)
        if m.any():
            code, qual = chr(int(mm.base[m][0])), int(mm.qual[m][0])
        info = {
            "sample": t.source.label, "name": str(b.name[i]), "contig": b.contig,
            "start": int(b.read_start[i]), "end": int(b.read_end[i]), "mapq": int(b.mapq[i]),
            "strand": "-" if b.is_reverse[i] else "+", "flag": int(b.flag[i]),
            "insert_size": int(b.insert_size[i]), "pair_orientation": str(b.pair_orientation[i]),
            "mate": f"{b.mate_contig[i]}:{int(b.mate_start[i]) + 1:,}" if b.mate_contig[i] else "",
            "hp": int(b.hp[i]), "supplementary": bool(b.is_supplementary[i]), "split": bool(b.is_split[i]),
            "position": g, "mismatch_base": code, "mismatch_qual": qual,
            "mismatches": int((mm.read == i).sum()),
        }
        self.selected = (k, i)
        self._draw_track(k, t, *self._ref_for_redraw(), reset_rows=False)
        self._show_read_details(info, None)
        self.read_clicked.emit(info)
        if self.interactive:
            rid = new_request_id()
            self._details_rid = rid
            self.runner.submit(read_details, t.source.path, self.reference, b.contig, info["start"], info["name"],
                               info["flag"], request_id=rid,
                               on_result=lambda r, d, info=info: self._on_details(r, info, d),
                               on_error=lambda r, e: self._on_details_error(r, e))
        return info

    def _ref_for_redraw(self):
        for t in self.tracks:
            r = t.result
            if r is not None and r.data is not None and r.data.coverage.reference:
                return r.data.coverage.reference, r.data.coverage.start
        return None, None

    def _on_details(self, rid, info, details) -> None:
        if rid == self._details_rid:
            self._show_read_details(info, details)

    def _on_details_error(self, rid, exc) -> None:
        if rid == self._details_rid:
            self.details.append(f"<p style='color:#b00000'>Could not read the record: {html.escape(str(exc))}</p>")

    def _show_read_details(self, info: dict, d) -> None:
        rows = [("Sample", info["sample"]), ("Read", info["name"]),
                ("Aligned", f"{info['contig']}:{info['start'] + 1:,}-{info['end']:,} ({info['strand']})"),
                ("MAPQ", str(info["mapq"]) + ("  (MAPQ 0: drawn translucent)" if info["mapq"] == 0 else "")),
                ("Flags", f"{info['flag']}: " + ", ".join(flag_words(info["flag"])))]
        if info["mate"]:
            rows.append(("Mate", f"{info['mate']}  insert {info['insert_size']:,}  {info['pair_orientation']}"))
        if info["hp"]:
            rows.append(("Haplotype", f"HP {info['hp']}"))
        if info["mismatch_base"]:
            rows.append((f"Base at {info['position'] + 1:,}", f"{info['mismatch_base']} (Q{info['mismatch_qual']})"))
        rows.append(("Mismatches in view", str(info["mismatches"])))
        if d is not None:
            rows.append(("CIGAR", d.cigar if len(d.cigar) < 120 else d.cigar[:117] + "..."))
            rows.append(("Read length", f"{d.read_length:,}"))
            for s in d.supplementary:
                rows.append(("Split part (SA)", s))
            for tag, value in d.tags:
                rows.append((tag, value))
        body = "".join(f"<tr><td style='color:#555;padding-right:6px'>{html.escape(a)}</td>"
                       f"<td>{html.escape(str(b))}</td></tr>" for a, b in rows)
        self.details.setHtml(f"<p><a href='close'>close ✕</a></p><table>{body}</table>")
        if self.interactive:
            self.details.show()

    def _on_details_link(self, url) -> None:
        if url.toString() == "close":
            self.details.hide()
            self.selected = None
            self.redraw()

    def _on_coverage_clicked(self, k: int, x: float, y: float, dbl: bool) -> None:
        if dbl:
            self.zoom(0.5, centre=x)
            return
        t = self.tracks[k]
        if t.result is None or t.result.data is None:
            return
        cov = t.result.data.coverage
        g = int(math.floor(self.xmap.to_genome(x)))
        if not (cov.start <= g < cov.end):
            return
        i = g - cov.start
        c = cov.counts[i]
        ref = cov.reference[i] if cov.reference else "?"
        lines = [f"<b>{html.escape(t.source.label)}</b> {html.escape(cov.contig)}:{g + 1:,} (ref {ref})",
                 f"Depth {int(cov.depth[i])} (bases with Q ≥ {cov.min_bq}: {int(c[:5].sum())})"]
        for a, name in enumerate(("A", "C", "G", "T", "N", "DEL", "INS")):
            tot = int(c[a].sum())
            if tot:
                lines.append(f"{name}: {tot} (+{int(c[a, 0])}, −{int(c[a, 1])})")
        self.details.setHtml("<p><a href='close'>close ✕</a></p>" + "<br>".join(lines))
        if self.interactive:
            self.details.show()

    # ------------------------------------------------------------------ status

    def _set_status_busy(self, busy: bool) -> None:
        self._busy = busy
        self._update_status()

    def _show_message(self, text: str) -> None:
        self._message = html.escape(text)
        self._update_status()

    def _update_status(self) -> None:
        parts = []
        if getattr(self, "_busy", False):
            parts.append("<i>loading reads…</i>")
        if self.contig is not None and self.samples:
            _, g0, g1 = self.visible_range()
            if g1 - g0 > self._max_window():
                parts.append(f"<span style='color:#b00000'>Zoom in to see reads: the view is {(g1 - g0) / 1000:,.0f} "
                             f"kb; reads are read for up to {self._max_window() // 1000} kb.</span>")
        hidden = []
        cigar_only = []
        for t in self.tracks:
            r = t.result
            if r is not None and r.data is not None and r.data.reads.mismatch_source != "reference":
                cigar_only.append(html.escape(t.source.label))
            if r is None:
                continue
            if r.error:
                parts.append(f"<span style='color:#b00000'>{html.escape(t.source.label)}: {html.escape(r.error)}</span>")
            elif r.data is not None:
                if r.data.reads.hidden_reads:
                    hidden.append(f"{html.escape(t.source.label)} {r.data.reads.hidden_reads:,} of "
                                  f"{r.data.reads.total_reads:,}")
                for w in r.data.warnings:
                    parts.append(f"<span style='color:#8a5a00'>{html.escape(t.source.label)}: {html.escape(w)}</span>")
        if hidden:
            parts.append(f"<span style='color:#b00000'>Downsampled to {self.settings.max_reads_per_bucket} reads per "
                         f"{self.settings.bucket_size} bp (black marks above the reads); hidden reads: "
                         f"{'; '.join(hidden)}. Coverage and counts use every read.</span>")
        if cigar_only:
            parts.append(f"<span style='color:#8a5a00'>No reference sequence for {', '.join(cigar_only)}: only "
                         "mismatches written in the CIGAR (X) are coloured.</span>")
        if self._message:
            parts.append(self._message)
        self.status.setText(" &nbsp;·&nbsp; ".join(parts))

    def status_text(self) -> str:
        """The status line as plain text (tests, snapshots)."""
        from PySide6.QtGui import QTextDocument

        doc = QTextDocument()
        doc.setHtml(self.status.text())
        return doc.toPlainText()

    def _sync_controls(self) -> None:
        if not self.interactive:
            return
        for combo, value in ((self.group_combo, self.options.group_by), (self.colour_combo, self.options.colour_by),
                             (self.display_combo, self.display)):
            i = combo.findData(value)
            if i >= 0 and combo.currentIndex() != i:
                combo.blockSignals(True)
                combo.setCurrentIndex(i)
                combo.blockSignals(False)
        for box, value in ((self.clips_box, self.options.show_soft_clips),
                           (self.insert_box, self.options.expand_insertions)):
            if box.isChecked() != value:
                box.blockSignals(True)
                box.setChecked(value)
                box.blockSignals(False)

    # ------------------------------------------------------------------ geometry helpers (tests, snapshot)

    def data_to_canvas(self, plot, x: float, y: float):
        """Pixel position in :attr:`canvas` of data point (x, y) of ``plot``."""
        vb = plot.getViewBox()
        scene_pt = vb.mapViewToScene(pg.Point(x, y))
        return self.canvas.mapFromScene(scene_pt)

    def wait_idle(self, msecs: int = 10_000) -> bool:
        """Block until every fetch has finished (tests, window close)."""
        return self.runner.wait(msecs)


def _cosmetic(colour: QColor, width: float) -> QPen:
    pen = QPen(colour)
    pen.setWidthF(width)
    pen.setCosmetic(True)
    return pen


class ReadEvidencePanel(QWidget):
    """The *Reads* tab of the detail panel: the pileup and the coverage view of the selected variant.

    Put it in the detail panel with ``detail_panel.set_pileup_widget(ReadEvidencePanel())``;
    the panel calls :meth:`set_variant` on every selection.
    """

    def __init__(self, parent=None):
        super().__init__(parent)
        from raredesk.gui.pileup.coverage_view import CoverageView

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.pileup = PileupView()
        self.coverage = CoverageView()
        self.tabs.addTab(self.pileup, "Pileup")
        self.tabs.addTab(self.coverage, "Coverage")
        lay.addWidget(self.tabs)
        self.coverage.locus_requested.connect(self._on_coverage_locus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_variant(self, context) -> None:
        self.pileup.set_variant(context)
        self.coverage.set_variant(context)

    def _on_coverage_locus(self, contig: str, start: int, end: int) -> None:
        self.tabs.setCurrentWidget(self.pileup)
        self.pileup.show_locus(contig, start, end)

    def wait_idle(self, msecs: int = 10_000) -> bool:
        return self.pileup.wait_idle(msecs) and self.coverage.wait_idle(msecs)

    def shutdown(self, msecs: int = 10_000) -> bool:
        """Stop both views' work and wait for their workers (main window close)."""
        a = self.pileup.shutdown(msecs)
        return self.coverage.shutdown(msecs) and a

"""The coverage view: depth per sample over a region or BED targets, with coverage QC tables.

Top: per-base depth of each sample (one curve per sample, downsampled to the
pixel width as mne-qt-browser does), threshold lines (10x/20x/30x by
default), BED targets shaded and low-coverage intervals marked under the axis.
Bottom: tables of the QC a lab reports: % of target bases >= 20x per gene,
per target, the low-coverage intervals and a summary per sample.

All depth work runs on worker threads (one job per sample, cancellable, the
newest request wins). Double-click a gene to plot it, or a target or
low-coverage interval to zoom to it (and ask the pileup to go there with
:attr:`CoverageView.locus_requested`). "Save PNG" writes the plot (PNG only:
pyqtgraph's SVG export fails on Qt 6.11+, pyqtgraph/pyqtgraph#3485).
"""

from __future__ import annotations

import html
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QRectF, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QAbstractItemView, QFileDialog, QHBoxLayout, QHeaderView, QLabel, QLineEdit,
                               QProgressBar, QPushButton, QSpinBox, QSplitter, QTableView, QTabWidget,
                               QToolButton, QVBoxLayout, QWidget)

from raredesk.errors import RareDeskError
from raredesk.gui.pileup.data import CoverageRequest, SampleCoverage, SampleSource, coverage_for_sample, sources_from_case
from raredesk.gui.pileup.items import ArrayItem, GenomeAxis, RectLayer
from raredesk.gui.workers import JobRunner, make_pool, new_request_id
from raredesk.store.importer import CancelToken

__all__ = ["CoverageView", "SAMPLE_COLOURS", "THRESHOLD_COLOURS"]

#: Curve colours per sample (proband, father, mother, ...): colour-blind friendly (Okabe-Ito).
SAMPLE_COLOURS = [(0, 114, 178), (213, 94, 0), (0, 158, 115), (204, 121, 167), (86, 180, 233), (230, 159, 0),
                  (0, 0, 0)]
THRESHOLD_COLOURS = {10: (200, 0, 0), 20: (230, 140, 0), 30: (0, 150, 0)}
DEFAULT_REGION_FLANK = 5_000


class _DepthAxis(pg.AxisItem):
    """Left axis without labels below zero (the low-coverage bars live there)."""

    def tickStrings(self, values, scale, spacing):  # pyqtgraph override
        return [("" if v < 0 else f"{v:g}") for v in values]


class FrameModel(QAbstractTableModel):
    """A read-only table over a pandas DataFrame (small QC tables; sorted in pandas)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.frame = pd.DataFrame()
        self.headers: list[str] = []
        self.formats: dict = {}
        self.warn: dict = {}

    def set_frame(self, frame: pd.DataFrame, headers: dict | None = None, formats: dict | None = None,
                  warn: dict | None = None) -> None:
        self.beginResetModel()
        self.frame = frame.reset_index(drop=True)
        headers = headers or {}
        self.headers = [headers.get(c, c) for c in self.frame.columns]
        self.formats = formats or {}
        self.warn = warn or {}
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()):  # Qt override
        return 0 if parent.isValid() else len(self.frame)

    def columnCount(self, parent=QModelIndex()):  # Qt override
        return 0 if parent.isValid() else len(self.frame.columns)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):  # Qt override
        if not index.isValid():
            return None
        col = self.frame.columns[index.column()]
        v = self.frame.iat[index.row(), index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            fmt = self.formats.get(col)
            if v is None or (isinstance(v, float) and math.isnan(v)):
                return ""
            return fmt(v) if fmt else str(v)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if isinstance(v, (int, float, np.integer, np.floating)):
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.BackgroundRole and col in self.warn:
            try:
                if self.warn[col](v):
                    return QColor(240, 120, 90, 90)
            except (TypeError, ValueError):
                return None
        return None

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # Qt override
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.headers[section] if section < len(self.headers) else None
        return None

    def sort(self, column, order=Qt.SortOrder.AscendingOrder):  # Qt override
        if self.frame.empty:
            return
        self.layoutAboutToBeChanged.emit()
        col = self.frame.columns[column]
        self.frame = self.frame.sort_values(col, ascending=order == Qt.SortOrder.AscendingOrder,
                                            kind="stable").reset_index(drop=True)
        self.layoutChanged.emit()

    def row(self, i: int) -> dict:
        return self.frame.iloc[i].to_dict()


def _table() -> QTableView:
    t = QTableView()
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    t.setAlternatingRowColors(True)
    t.setSortingEnabled(True)
    t.setWordWrap(False)
    t.verticalHeader().hide()
    t.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    t.verticalHeader().setDefaultSectionSize(t.fontMetrics().height() + 6)
    t.horizontalHeader().setStretchLastSection(False)
    return t


def _pct(v) -> str:
    return f"{float(v):.1f}"


def _num(v) -> str:
    return f"{float(v):,.1f}"


def _int(v) -> str:
    return f"{int(v):,}"


class CoverageView(QWidget):
    """Depth and coverage QC per sample over a region or a BED.

    Signals
    -------
    computed(object)
        The list of :class:`~raredesk.gui.pileup.data.SampleCoverage` now shown.
    locus_requested(str, int, int)
        The user double-clicked an interval (contig, 0-based start, end).
    error_raised(str)
    """

    computed = Signal(object)
    locus_requested = Signal(str, int, int)
    error_raised = Signal(str)

    def __init__(self, parent=None, runner: JobRunner | None = None):
        super().__init__(parent)
        self.runner = runner or JobRunner(make_pool(2, "coverage"), self)
        self.samples: tuple[SampleSource, ...] = ()
        self.reference: str | None = None
        self.results: list[SampleCoverage] = []
        self._latest = None
        self._pending: dict = {}
        self._requests: dict = {}
        self._progress: dict = {}
        self._cancel: CancelToken | None = None
        self._dirty = False
        self._gene: str | None = None

        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Region"))
        self.region_edit = QLineEdit()
        self.region_edit.setPlaceholderText("chr:start-end")
        self.region_edit.setToolTip("Depth over a region (1-based, inclusive), e.g. 20:10,000,001-10,010,000")
        self.region_edit.returnPressed.connect(self._on_region_entered)
        bar.addWidget(self.region_edit, 2)
        bar.addWidget(QLabel("or BED"))
        self.bed_edit = QLineEdit()
        self.bed_edit.setPlaceholderText("targets.bed (name column = gene)")
        self.bed_edit.returnPressed.connect(self._on_bed_entered)
        bar.addWidget(self.bed_edit, 2)
        browse = QToolButton()
        browse.setText("…")
        browse.setToolTip("Choose a BED file of targets")
        browse.clicked.connect(self._on_browse)
        bar.addWidget(browse)
        bar.addWidget(QLabel("Thresholds"))
        self.thresholds_edit = QLineEdit("10,20,30")
        self.thresholds_edit.setMaximumWidth(90)
        bar.addWidget(self.thresholds_edit)
        bar.addWidget(QLabel("Low below"))
        self.low_spin = QSpinBox()
        self.low_spin.setRange(1, 10_000)
        self.low_spin.setValue(20)
        self.low_spin.setSuffix("x")
        bar.addWidget(self.low_spin)
        self.compute_button = QPushButton("Compute")
        self.compute_button.clicked.connect(self.compute)
        bar.addWidget(self.compute_button)
        self.save_button = QPushButton("Save PNG…")
        self.save_button.setToolTip("Save the plot as a PNG image")
        self.save_button.clicked.connect(self._on_save)
        bar.addWidget(self.save_button)
        lay.addLayout(bar)
        row = QHBoxLayout()
        self.progress = QProgressBar()
        self.progress.setMaximumHeight(14)
        self.progress.hide()
        row.addWidget(self.progress, 1)
        self.status = QLabel("")
        self.status.setTextFormat(Qt.TextFormat.RichText)
        self.status.setWordWrap(True)
        row.addWidget(self.status, 4)
        lay.addLayout(row)

        split = QSplitter(Qt.Orientation.Vertical)
        self.plot = pg.PlotWidget(axisItems={"bottom": GenomeAxis("bottom"), "left": _DepthAxis("left")})
        self.plot.setBackground("w")
        self.plot.scene().contextMenu = []   # no SVG export (crashes on Qt 6.12)
        pi = self.plot.getPlotItem()
        pi.setMenuEnabled(False)
        pi.hideButtons()
        pi.showGrid(x=False, y=True, alpha=0.15)
        pi.setLabel("left", "depth")
        for ax in ("left", "bottom"):
            pi.getAxis(ax).setPen(pg.mkPen(120, 120, 120))
            pi.getAxis(ax).setTextPen(pg.mkPen(40, 40, 40))
        pi.getViewBox().setMouseEnabled(x=True, y=False)
        self.legend = pi.addLegend(offset=(-10, 10), labelTextColor=(30, 30, 30), brush=(255, 255, 255, 200))
        self.shading = ArrayItem()
        self.shading.setZValue(-10)
        pi.addItem(self.shading, ignoreBounds=True)
        self.curves: list = []
        self.threshold_lines: list = []
        split.addWidget(self.plot)
        self.tabs = QTabWidget()
        self.genes_model, self.targets_model = FrameModel(self), FrameModel(self)
        self.low_model, self.summary_model = FrameModel(self), FrameModel(self)
        self.genes_table, self.targets_table = _table(), _table()
        self.low_table, self.summary_table = _table(), _table()
        for table, model, title in ((self.summary_table, self.summary_model, "Summary"),
                                    (self.genes_table, self.genes_model, "Genes (% ≥ 20x)"),
                                    (self.low_table, self.low_model, "Low coverage"),
                                    (self.targets_table, self.targets_model, "Targets")):
            table.setModel(model)
            self.tabs.addTab(table, title)
        self.genes_table.doubleClicked.connect(self._on_gene_activated)
        self.low_table.doubleClicked.connect(lambda ix: self._on_interval_activated(self.low_model, ix))
        self.targets_table.doubleClicked.connect(lambda ix: self._on_interval_activated(self.targets_model, ix))
        split.addWidget(self.tabs)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        lay.addWidget(split, 1)

    # ------------------------------------------------------------------ public API

    def set_samples(self, samples, reference: str | None) -> None:
        self.samples = tuple(samples)
        self.reference = reference

    def set_region(self, contig: str, start: int, end: int) -> None:
        """Use a region (0-based half-open); clears the BED."""
        self.region_edit.setText(f"{contig}:{start + 1:,}-{end:,}")
        self.bed_edit.clear()

    def set_bed(self, path: str | None, gene: str | None = None) -> None:
        """Use a BED of targets (``gene`` is plotted first when given)."""
        self.bed_edit.setText(str(path) if path else "")
        if path:
            self.region_edit.clear()   # a BED replaces the region
        self._gene = gene

    def set_variant(self, context) -> None:
        """Detail-panel hook: samples of the case; region around the variant (or the variant's gene in the BED)."""
        if context is None:
            return
        self.set_samples(sources_from_case(context.case), context.reference_path)
        if self.bed_edit.text().strip():
            self._gene = context.gene
        else:
            pos0 = int(context.pos) - 1
            self.region_edit.setText(f"{context.chrom}:{max(1, pos0 + 1 - DEFAULT_REGION_FLANK):,}-"
                                     f"{pos0 + DEFAULT_REGION_FLANK:,}")
        self._dirty = True
        if self.isVisible():
            self.compute()

    def showEvent(self, ev):  # Qt override
        super().showEvent(ev)
        if self._dirty:
            self.compute()

    def request(self) -> CoverageRequest:
        """The request for the current inputs.

        Raises
        ------
        RareDeskError
            No samples, or an unreadable region or thresholds.
        """
        from raredesk.io.reads_commands import parse_region

        if not self.samples:
            raise RareDeskError("no sample of this case has a BAM/CRAM")
        try:
            thresholds = tuple(sorted({int(x) for x in self.thresholds_edit.text().split(",") if x.strip()}))
        except ValueError:
            raise RareDeskError(f"thresholds must be whole numbers, e.g. 10,20,30 "
                                f"(got {self.thresholds_edit.text()!r})") from None
        if not thresholds or min(thresholds) < 1:
            raise RareDeskError("give at least one threshold of 1 or more")
        bed = self.bed_edit.text().strip() or None
        region = None
        if bed is None:
            text = self.region_edit.text().strip().replace(" ", "")
            if not text:
                raise RareDeskError("give a region or a BED file")
            chrom, start, end = parse_region(text)
            if start is None:
                raise RareDeskError(f"give a range on {chrom}, e.g. {chrom}:10,000,001-10,010,000")
            region = (chrom, start, end)
        return CoverageRequest(self.samples, self.reference, region=region, bed=bed, thresholds=thresholds,
                               low_threshold=int(self.low_spin.value()), gene_threshold=20, plot_gene=self._gene)

    def compute(self, request: CoverageRequest | None = None):
        """Start computing (cancels a run in progress); returns the request id, or None on bad input."""
        self._dirty = False
        try:
            req = request or self.request()
        except RareDeskError as exc:
            self._set_status(html.escape(str(exc)), error=True)
            return None
        if self._cancel is not None:
            self._cancel.cancel()
        self._cancel = token = CancelToken()
        rid = new_request_id()
        self._latest = rid
        self._pending[rid] = {}
        self._requests[rid] = req
        self._progress = {}
        self.progress.setRange(0, 0)
        self.progress.show()
        self._set_status("computing depth…")
        for i in range(len(req.samples)):
            self.runner.submit(coverage_for_sample, req, i, request_id=rid, with_progress=True, cancel=token,
                               on_result=self._on_result, on_error=self._on_error,
                               on_progress=lambda r, d, t, text, k=i: self._on_progress(r, k, d, t, text),
                               on_cancelled=self._on_cancelled)
        return rid

    def save_png(self, path) -> Path:
        """Write the plot to ``path`` as PNG and return the path."""
        path = Path(path)
        if path.suffix.lower() != ".png":
            path = path.with_suffix(".png")
        if not self.plot.grab().save(str(path), "PNG"):
            raise RareDeskError("cannot write the PNG", str(path))
        return path

    def wait_idle(self, msecs: int = 30_000) -> bool:
        return self.runner.wait(msecs)

    def shutdown(self, msecs: int = 10_000) -> bool:
        """Cancel a run in progress and wait for the workers."""
        if self._cancel is not None:
            self._cancel.cancel()
        self._latest = None
        self._dirty = False
        return self.runner.wait(msecs)

    def closeEvent(self, ev):  # Qt override
        self.shutdown()
        super().closeEvent(ev)

    # ------------------------------------------------------------------ results

    def _on_progress(self, rid, k, done, total, text) -> None:
        if rid != self._latest:
            return
        self._progress[k] = (done, total)
        d = sum(x[0] for x in self._progress.values())
        t = sum(x[1] for x in self._progress.values())
        if t:
            self.progress.setRange(0, t)
            self.progress.setValue(d)

    def _on_result(self, rid, result: SampleCoverage) -> None:
        if rid != self._latest or rid not in self._pending:
            return
        self._pending[rid][result.index] = result
        req = self._requests[rid]
        if len(self._pending[rid]) == len(req.samples):
            got = self._pending.pop(rid)
            self._requests.pop(rid, None)
            self.apply([got[i] for i in range(len(req.samples))], req)

    def _on_error(self, rid, exc) -> None:
        text = f"Coverage failed: {type(exc).__name__}: {exc}"
        self.error_raised.emit(text)
        if rid == self._latest:
            self._pending.pop(rid, None)
            self.progress.hide()
            self._set_status(html.escape(text), error=True)

    def _on_cancelled(self, rid) -> None:
        if rid == self._latest:
            self.progress.hide()
            self._set_status("cancelled")

    def apply(self, results: list[SampleCoverage], request: CoverageRequest) -> None:
        """Show computed coverage (also used directly by tests and reports)."""
        if request.plot_only:
            # Keep the QC tables of the full run; replace the plotted depth.
            old = {r.source: r for r in self.results}
            for r in results:
                prev = old.get(r.source)
                if prev is not None:
                    r.targets, r.genes, r.low, r.summary = prev.targets, prev.genes, prev.low, prev.summary
        self.results = results
        self.progress.hide()
        self._draw_plot(results, request)
        self._fill_tables(results, request)
        errors = [f"{html.escape(r.source.label)}: {html.escape(r.error)}" for r in results if r.error]
        span = next((r.plot_span for r in results if r.plot_span is not None), None)
        words = []
        if span is not None:
            words.append(f"{span[0]}:{span[1] + 1:,}-{span[2]:,} ({span[2] - span[1]:,} bp)")
        if request.bed:
            words.append(f"BED {html.escape(Path(request.bed).name)}")
            gene = next((r.plot_gene for r in results if r.plot_gene), None)
            if gene:
                words.append(f"plotted: {html.escape(gene)} (double-click a gene to plot another)")
        for r in results:
            if r.summary and r.error is None:
                pct = r.summary.get(f"pct_ge_{request.gene_threshold}", r.summary.get("pct_ge_20"))
                if pct is not None:
                    words.append(f"{html.escape(r.source.label)}: mean {r.summary['mean_depth']:.1f}x, "
                                 f"{pct:.1f}% ≥ {request.gene_threshold}x")
        self._set_status(" · ".join(words + [f"<span style='color:#b00000'>{e}</span>" for e in errors]))
        self.computed.emit(results)
        if request.bed and request.plot_gene is None and not request.plot_only:
            # First look at a BED: plot the gene with the lowest coverage in the first sample.
            worst = self._worst_gene(results, request.gene_threshold)
            plotted = next((r.plot_gene for r in results if r.plot_gene), None)
            if worst is not None and worst != plotted:
                self._gene = worst
                self.compute(replace(request, plot_gene=worst, plot_only=True))

    @staticmethod
    def _worst_gene(results, threshold: int) -> str | None:
        col = f"pct_ge_{threshold}"
        for r in results:
            if r.genes is not None and not r.genes.empty and col in r.genes.columns:
                return str(r.genes.sort_values([col, "name"]).iloc[0]["name"])
        return None

    def plot_gene(self, gene: str):
        """BED mode: plot the per-base depth of one gene (tables unchanged); returns the request id."""
        self._gene = gene
        req = self.request()
        return self.compute(replace(req, plot_gene=gene, plot_only=True))

    def _draw_plot(self, results: list[SampleCoverage], request: CoverageRequest) -> None:
        pi = self.plot.getPlotItem()
        for c in self.curves:
            pi.removeItem(c)
        for ln in self.threshold_lines:
            pi.removeItem(ln)
        self.curves, self.threshold_lines = [], []
        self.legend.clear()
        ymax = 10.0
        x0 = x1 = None
        for k, r in enumerate(results):
            if r.depth is None:
                continue
            d = r.depth
            x = np.arange(d.start, d.end, dtype=np.float64) + 0.5
            y = d.depth.astype(np.float64)
            colour = SAMPLE_COLOURS[k % len(SAMPLE_COLOURS)]
            curve = pg.PlotDataItem(x, y, pen=pg.mkPen(colour, width=1.5), name=r.source.title)
            pi.addItem(curve)
            # After addItem: before it has a ViewBox parent, pyqtgraph asks the PlotWidget for autoRangeEnabled.
            curve.setDownsampling(auto=True, method="peak")
            curve.setClipToView(True)
            self.curves.append(curve)
            ymax = max(ymax, float(y.max()) if y.size else 0.0)
            x0 = d.start if x0 is None else min(x0, d.start)
            x1 = d.end if x1 is None else max(x1, d.end)
        for t in request.thresholds:
            colour = THRESHOLD_COLOURS.get(t, (120, 120, 120))
            ln = pg.InfiniteLine(pos=t, angle=0, movable=False,
                                 pen=pg.mkPen(colour, width=1, style=Qt.PenStyle.DashLine),
                                 label=f"{t}x", labelOpts={"position": 0.01, "color": colour, "anchors": [(0, 1), (0, 1)]})
            ln.setZValue(5)
            pi.addItem(ln, ignoreBounds=True)
            self.threshold_lines.append(ln)
        # Targets (light blue) and each sample's low-coverage runs (bars under zero, sample colour).
        layers = []
        band = ymax * 0.035
        for r in results:
            if r.plot_targets.size:
                t = r.plot_targets.astype(np.float64)
                layers.append(RectLayer(np.stack([t[:, 0], np.full(len(t), -band * (len(results) + 1)),
                                                  t[:, 1] - t[:, 0], np.full(len(t), ymax * 1.2)], axis=1),
                                        QColor(120, 170, 230, 45), min_px=1.0, name="targets"))
                break
        for k, r in enumerate(results):
            if r.depth is None or r.low is None or r.low.empty:
                continue
            low = r.low
            low = low[(low["start"] < r.depth.end) & (low["end"] > r.depth.start)]
            if low.empty:
                continue
            s = low["start"].to_numpy(dtype=np.float64)
            e = low["end"].to_numpy(dtype=np.float64)
            colour = SAMPLE_COLOURS[k % len(SAMPLE_COLOURS)]
            layers.append(RectLayer(np.stack([s, np.full(s.shape, -band * (k + 1.1)), e - s,
                                              np.full(s.shape, band * 0.8)], axis=1),
                                    QColor(*colour, 220), min_px=1.0, name=f"low_{k}"))
        bottom = -band * (len(results) + 1.2)
        self.shading.set_layers(layers, QRectF(x0 or 0, bottom, (x1 or 1) - (x0 or 0), ymax * 1.3))
        vb = pi.getViewBox()
        if x0 is not None:
            vb.setLimits(xMin=x0 - 10, xMax=x1 + 10)
            vb.setXRange(x0, x1, padding=0.01)
        vb.setYRange(bottom, ymax * 1.08, padding=0)

    def _fill_tables(self, results: list[SampleCoverage], request: CoverageRequest) -> None:
        thr = request.thresholds
        pct_cols = {f"pct_ge_{t}": f"% ≥ {t}x" for t in thr}
        warn_pct = {f"pct_ge_{t}": (lambda v: float(v) < 95.0) for t in thr}
        rows = []
        for r in results:
            if r.summary:
                rows.append({"sample": r.source.label, **{k: r.summary[k] for k in r.summary}})
        summary = pd.DataFrame(rows)
        self.summary_model.set_frame(summary, {"sample": "Sample", "bases": "Bases", "mean_depth": "Mean depth",
                                               **pct_cols},
                                     {"bases": _int, "mean_depth": _num, **{c: _pct for c in pct_cols}}, warn_pct)
        gcol = f"pct_ge_{request.gene_threshold}"
        genes = [g.assign(sample=r.source.label) for r in results if r.genes is not None for g in [r.genes]]
        if genes:
            gdf = pd.concat(genes, ignore_index=True)
            gdf = gdf[["sample"] + [c for c in gdf.columns if c != "sample"]]
        else:
            gdf = pd.DataFrame(columns=["sample", "name", "targets", "bases", "mean_depth", gcol])
        self.genes_model.set_frame(gdf, {"sample": "Sample", "name": "Gene", "targets": "Targets", "bases": "Bases",
                                         "mean_depth": "Mean depth", gcol: f"% ≥ {request.gene_threshold}x"},
                                   {"bases": _int, "targets": _int, "mean_depth": _num, gcol: _pct},
                                   {gcol: lambda v: float(v) < 100.0})
        self.tabs.setTabText(1, f"Genes (% ≥ {request.gene_threshold}x)")
        tg = [r.targets.assign(sample=r.source.label) for r in results if r.targets is not None]
        if tg:
            tdf = pd.concat(tg, ignore_index=True)
            tdf = tdf[["sample"] + [c for c in tdf.columns if c != "sample"]]
            tdf["start"] = tdf["start"] + 1
        else:
            tdf = pd.DataFrame(columns=["sample", "chrom", "start", "end"])
        self.targets_model.set_frame(tdf, {"sample": "Sample", "chrom": "Chrom", "start": "Start", "end": "End",
                                           "name": "Name", "length": "Length", "mean_depth": "Mean depth",
                                           "min_depth": "Min", **pct_cols},
                                     {"start": _int, "end": _int, "length": _int, "mean_depth": _num,
                                      **{c: _pct for c in pct_cols}}, warn_pct)
        lows = [r.low.assign(sample=r.source.label) for r in results if r.low is not None and not r.low.empty]
        if lows:
            ldf = pd.concat(lows, ignore_index=True)
            ldf = ldf[["sample", "chrom", "start", "end", "length", "mean_depth", "name"]]
            ldf["start"] = ldf["start"] + 1
        else:
            ldf = pd.DataFrame(columns=["sample", "chrom", "start", "end", "length", "mean_depth", "name"])
        self.low_model.set_frame(ldf, {"sample": "Sample", "chrom": "Chrom", "start": "Start", "end": "End",
                                       "length": "Length", "mean_depth": "Mean depth", "name": "Target"},
                                 {"start": _int, "end": _int, "length": _int, "mean_depth": _num})
        self.tabs.setTabText(2, f"Low coverage (< {request.low_threshold}x): {len(ldf):,}")
        # Genes and targets exist only for a BED.
        self.tabs.setTabVisible(1, bool(request.bed))
        self.tabs.setTabVisible(3, bool(request.bed))
        for t in (self.summary_table, self.genes_table, self.low_table, self.targets_table):
            t.resizeColumnsToContents()

    # ------------------------------------------------------------------ interaction

    def _set_status(self, text: str, error: bool = False) -> None:
        self.status.setText(f"<span style='color:#b00000'>{text}</span>" if error else text)

    def _on_region_entered(self) -> None:
        self.bed_edit.clear()
        self.compute()

    def _on_bed_entered(self) -> None:
        self._gene = None
        self.compute()

    def _on_browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "BED of targets", "", "BED files (*.bed *.bed.gz);;All files (*)")
        if path:
            self.set_bed(path)
            self.compute()

    def _on_save(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save coverage plot", "coverage.png", "PNG image (*.png)")
        if path:
            try:
                saved = self.save_png(path)
                self._set_status(f"saved {html.escape(str(saved))}")
            except RareDeskError as exc:
                self._set_status(html.escape(str(exc)), error=True)

    def _on_gene_activated(self, index) -> None:
        row = self.genes_model.row(index.row())
        gene = row.get("name")
        if gene and self.bed_edit.text().strip():
            try:
                self.plot_gene(str(gene))
            except RareDeskError as exc:
                self._set_status(html.escape(str(exc)), error=True)

    def _on_interval_activated(self, model: FrameModel, index) -> None:
        row = model.row(index.row())
        contig, start, end = str(row["chrom"]), int(row["start"]) - 1, int(row["end"])
        span = next((r.plot_span for r in self.results if r.plot_span is not None), None)
        if span is not None and start < span[2] and end > span[1]:
            pad = max(20, (end - start) // 2)
            self.plot.getPlotItem().getViewBox().setXRange(start - pad, end + pad, padding=0)
        self.locus_requested.emit(contig, start, end)

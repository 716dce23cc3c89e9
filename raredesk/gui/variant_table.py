"""The variant table: a model over the rows of a :class:`~raredesk.gui.page_source.PageView`.

``rowCount`` is the view's count. A new filter or sort first shows its first
block (a Top-N, painted at once); the exact count follows from a second job and
the remaining rows are inserted then. ``data()`` reads a cache of row blocks
(:data:`~raredesk.gui.page_source.BLOCK_ROWS` rows each); a missing block shows
placeholders while a worker fetches it, and ``dataChanged`` fires when it
arrives. Requests are served newest first, at most two at a time, and blocks
that scrolled out of sight before their turn are never fetched. Every request
carries the generation of the view it was made for; results for an older view
are dropped. Sorting and filtering make a new view in DuckDB (never a proxy
model, never on the GUI thread). The view uses a fixed row height and no
resize-to-contents.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QDialog, QDialogButtonBox, QHBoxLayout, QHeaderView,
                               QLabel, QLineEdit, QListWidget, QListWidgetItem, QPushButton, QTableView, QVBoxLayout)

from raredesk.gui import formatting as fm
from raredesk.gui.page_source import BLOCK_ROWS, Block, ColumnInfo, ViewSpec, fetch_block, fetch_recounts
from raredesk.store.recount import FLAGS as RECOUNT_FLAGS
from raredesk.gui.workers import JobRunner

MAX_INFLIGHT = 2
MAX_BLOCKS = 160          # ~40k rows kept; the rest is fetched again on demand
PLACEHOLDER = "…"
ROLE_VKEY = Qt.ItemDataRole.UserRole + 1
ROLE_RAW = Qt.ItemDataRole.UserRole + 2

IMPACT_BG = {"HIGH": QColor(220, 50, 47, 85), "MODERATE": QColor(240, 150, 0, 70), "LOW": QColor(170, 190, 0, 45)}
CLINVAR_BG = {"pathogenic": QColor(220, 50, 47, 110), "likely_pathogenic": QColor(240, 110, 40, 80),
              "conflicting": QColor(150, 90, 200, 60), "vus": QColor(128, 128, 128, 35),
              "benign": QColor(60, 170, 80, 60)}
GT_BG = {1: QColor(38, 139, 210, 60), 2: QColor(38, 100, 210, 130)}
FLAG_FG = QColor(214, 39, 40)
NUMERIC_KINDS = {"int", "pos", "af", "score", "float", "stars"}

# Enum members looked up once: attribute access on Qt's enums costs more than the rest of data().
DISPLAY = Qt.ItemDataRole.DisplayRole
TOOLTIP = Qt.ItemDataRole.ToolTipRole
ALIGN = Qt.ItemDataRole.TextAlignmentRole
BACKGROUND = Qt.ItemDataRole.BackgroundRole
FOREGROUND = Qt.ItemDataRole.ForegroundRole
FONT = Qt.ItemDataRole.FontRole
RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
CENTER = Qt.AlignmentFlag.AlignCenter
CELL_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
NO_FLAGS = Qt.ItemFlag.NoItemFlags
GREY = QColor(140, 140, 140)


@dataclass(frozen=True)
class RowRef:
    """The identity of a table row (what selection, detail and review need)."""

    row: int
    variant_id: int
    vkey: str
    chrom: str
    pos: int
    ref: str
    alt: str


class VariantTableModel(QAbstractTableModel):
    """Rows of the current view, fetched block by block on demand.

    Signals
    -------
    page_installed(object)
        The first page of a new view is in the model (ViewSpec); its count may still be coming.
    view_installed(object, int)
        The view's exact row count is known: (ViewSpec, row count).
    query_failed(object)
        The view could not be made (a :class:`FilterError` for a bad filter).
    busy_changed(bool)
        A view is being computed.
    order_ready(int)
        Random access is ready for the view of this generation.
    index_ready(bool)
        The case's query index was checked or built on a worker (True: current); later views use it.
    """

    view_installed = Signal(object, int)
    page_installed = Signal(object)
    query_failed = Signal(object)
    busy_changed = Signal(bool)
    order_ready = Signal(int)
    index_ready = Signal(bool)
    block_loaded = Signal(int)

    def __init__(self, runner: JobRunner, parent=None):
        super().__init__(parent)
        self.runner = runner
        self.source = None
        self.ws = None
        self.view = None
        self.columns: list[ColumnInfo] = []
        self._layout: list[tuple[int, int]] = []
        self._count = 0
        self._generation = 0
        self._pending_generation = 0
        self._blocks: "OrderedDict[int, Block]" = OrderedDict()
        self._reviews: dict = {}
        self._recounts: dict = {}           # vkey -> sample id -> SampleRecount
        self._queue: "OrderedDict[int, None]" = OrderedDict()
        self._inflight: set[int] = set()
        self._visible = (0, 0)
        self.blocks_fetched = 0

    # -- source and views ------------------------------------------------------------------

    def set_source(self, source, ws) -> None:
        """Show a new case (``source`` is a PageSource, already loaded)."""
        self.beginResetModel()
        self._retire(self.view)
        self.source, self.ws = source, ws
        self.view = None
        self.columns, self._layout, self._count = [], [], 0
        self._clear_cache()
        self._generation += 1
        self.endResetModel()
        if source is not None and hasattr(source, "ensure_index"):
            # the case's query index (seconds, once per case state): later filters run on it
            self.runner.submit(source.ensure_index, priority=-3, on_result=self._on_index_ready,
                               on_error=lambda _rid, exc: self.query_failed.emit(exc))

    def _on_index_ready(self, _rid, ready: bool) -> None:
        self.index_ready.emit(bool(ready))

    def clear(self) -> None:
        self.set_source(None, None)

    @property
    def spec(self) -> ViewSpec | None:
        return self.view.spec if self.view is not None else None

    @property
    def generation(self) -> int:
        return self._generation

    def set_spec(self, spec: ViewSpec) -> int:
        """Ask for a new filter / sort / columns; returns the request generation."""
        if self.source is None:
            return 0
        self._pending_generation += 1
        gen = self._pending_generation
        self.busy_changed.emit(True)
        self.runner.submit(_open_view, self.source, spec, self.ws, request_id=gen,
                           on_result=self._on_query_result, on_error=self._on_query_error, priority=10)
        return gen

    def _on_query_result(self, gen, value) -> None:
        if gen != self._pending_generation or self.source is None:
            return  # stale: a newer request is on its way
        view, first = value
        # The first page is shown before the exact count is known: a full page means "at least
        # this many", and the rest of the rows appear when the count arrives (a few ms later).
        complete = len(first.rows) < BLOCK_ROWS
        self.beginResetModel()
        if self.view is not view:
            self._retire(self.view)
        self.view = view
        self.columns = list(view.columns)
        self._layout = list(view.layout)
        self._count = len(first.rows)
        self._counted = complete
        self._clear_cache()
        self._generation = gen
        self._install(first)
        self.endResetModel()
        self.page_installed.emit(view.spec)
        if complete:
            self._on_count(gen, len(first.rows))
        else:
            self.runner.submit(view.count, request_id=gen, on_result=self._on_count, on_error=self._on_query_error,
                               priority=9)

    def _on_count(self, gen, n: int) -> None:
        if gen != self._generation or self.view is None:
            return
        if n > self._count:
            self.beginInsertRows(QModelIndex(), self._count, n - 1)
            self._count = n
            self.endInsertRows()
        elif n < self._count:  # cannot happen for a consistent snapshot; stay correct anyway
            self.beginRemoveRows(QModelIndex(), n, self._count - 1)
            self._count = n
            self.endRemoveRows()
        self._counted = True
        self.busy_changed.emit(False)
        self.view_installed.emit(self.view.spec, n)
        if n > BLOCK_ROWS:
            self.runner.submit(self.view.prepare_order, request_id=gen, on_result=self._on_order_ready, priority=-1)
        else:
            self.order_ready.emit(gen)

    @property
    def counted(self) -> bool:
        """True once the row count of the shown view is exact."""
        return bool(getattr(self, "_counted", False))

    def _retire(self, view) -> None:
        """Release a replaced view on a worker (it may still be finishing a read)."""
        if view is not None:
            self.runner.submit(view.close, priority=-2)

    def _on_order_ready(self, gen, _value) -> None:
        if gen == self._generation:
            self.order_ready.emit(gen)
            if hasattr(self.view, "prepare_pages"):
                self.runner.submit(self.view.prepare_pages, request_id=gen, priority=-1,
                                   on_error=self._on_background_error)

    def _on_background_error(self, gen, exc) -> None:
        if gen == self._generation:
            self.query_failed.emit(exc)

    def _on_query_error(self, gen, exc) -> None:
        if gen != self._pending_generation:
            return
        self.busy_changed.emit(False)
        self.query_failed.emit(exc)

    # -- blocks ----------------------------------------------------------------------------

    def _clear_cache(self) -> None:
        self._blocks.clear()
        self._reviews.clear()
        self._recounts.clear()
        self._queue.clear()
        self._inflight.clear()

    def _install(self, block: Block) -> None:
        b = block.first // BLOCK_ROWS
        self._blocks[b] = block
        self._blocks.move_to_end(b)
        self._reviews.update(block.reviews)
        self._recounts.update(block.recounts)
        while len(self._blocks) > MAX_BLOCKS:
            lo, hi = self._visible
            far = max(self._blocks, key=lambda k: min(abs(k * BLOCK_ROWS - lo), abs(k * BLOCK_ROWS - hi)))
            self._blocks.pop(far)

    def set_visible_rows(self, first: int, last: int) -> None:
        """Called by the view on scroll: queued blocks out of this range are not fetched."""
        self._visible = (first, last)

    def _request(self, b: int) -> None:
        if b in self._inflight:
            return
        self._queue[b] = None
        self._queue.move_to_end(b)
        if len(self._inflight) < MAX_INFLIGHT:
            QTimer.singleShot(0, self._pump)

    def _pump(self) -> None:
        lo, hi = self._visible
        while self._queue and len(self._inflight) < MAX_INFLIGHT:
            b, _ = self._queue.popitem(last=True)  # newest first
            if b in self._blocks or b in self._inflight:
                continue
            if hi > lo and not (lo // BLOCK_ROWS - 1 <= b <= hi // BLOCK_ROWS + 1):
                continue  # scrolled past before its turn
            self._inflight.add(b)
            self.runner.submit(fetch_block, self.view, b * BLOCK_ROWS, BLOCK_ROWS, self.source.case.case_id,
                               self.ws, request_id=(self._generation, b), on_result=self._on_block,
                               on_error=self._on_block_error)

    def _on_block(self, rid, block: Block) -> None:
        gen, b = rid
        if gen != self._generation:
            return
        self._inflight.discard(b)
        self.blocks_fetched += 1
        self._install(block)
        first = block.first
        last = min(self._count, first + len(block.rows)) - 1
        if last >= first:
            self.dataChanged.emit(self.index(first, 0), self.index(last, max(0, len(self.columns) - 1)))
        self.block_loaded.emit(b)
        self._pump()

    def _on_block_error(self, rid, exc) -> None:
        gen, b = rid
        if gen != self._generation:
            return
        self._inflight.discard(b)
        self.query_failed.emit(exc)

    def row_tuple(self, row: int):
        """The fetched tuple of ``row`` or None when its block is not loaded (never fetches)."""
        block = self._blocks.get(row // BLOCK_ROWS)
        if block is None:
            return None
        i = row - block.first
        return block.rows[i] if 0 <= i < len(block.rows) else None

    def row_ref(self, row: int) -> RowRef | None:
        t = self.row_tuple(row)
        if t is None:
            return None
        return RowRef(row, t[0], t[1], t[2], t[3], t[4], t[5])

    def is_loaded(self, row: int) -> bool:
        return self.row_tuple(row) is not None

    def ensure_loaded(self, row: int) -> None:
        if 0 <= row < self._count and not self.is_loaded(row):
            self._request(row // BLOCK_ROWS)

    def row_of_vkey(self, vkey: str) -> int | None:
        """Row of a variant among the loaded blocks (None when not loaded)."""
        for block in self._blocks.values():
            for i, r in enumerate(block.rows):
                if r[1] == vkey:
                    return block.first + i
        return None

    # -- reviews ---------------------------------------------------------------------------

    def review(self, vkey: str):
        return self._reviews.get(vkey)

    def update_review(self, review) -> None:
        """A review was saved: refresh the cells of that variant (no reload)."""
        self._reviews[review.vkey] = review
        row = self.row_of_vkey(review.vkey)
        if row is not None:
            cols = [i for i, c in enumerate(self.columns) if c.kind in ("flag", "tags", "note")]
            if cols:
                self.dataChanged.emit(self.index(row, min(cols)), self.index(row, max(cols)))

    # -- read recounts ---------------------------------------------------------------------

    def loaded_vkeys(self, first: int, last: int) -> list[str]:
        """Variant keys of the loaded rows among ``first..last`` (never fetches)."""
        out = []
        for row in range(max(0, first), min(self._count, last + 1)):
            t = self.row_tuple(row)
            if t is not None:
                out.append(t[1])
        return out

    def visible_vkeys(self) -> list[str]:
        """Variant keys of the loaded rows on screen (what the read recount counts first)."""
        return self.loaded_vkeys(*self._visible)

    def update_recounts(self, changes=None) -> None:
        """Recounts were written (``changes.vkeys``; None: every loaded row): read them and refresh those cells."""
        if self.source is None or self.ws is None:
            return
        vkeys = list(changes.vkeys) if changes is not None else [r[1] for b in self._blocks.values() for r in b.rows]
        if not vkeys:
            return
        gen = self._generation
        self.runner.submit(fetch_recounts, self.ws, self.source.case.case_id, vkeys, request_id=gen,
                           on_result=lambda rid, got, keys=vkeys: self._on_recounts(rid, keys, got))

    def _on_recounts(self, gen, vkeys, got: dict) -> None:
        if gen != self._generation:
            return
        for vk in vkeys:
            self._recounts[vk] = got.get(vk, {})
        cols = [i for i, c in enumerate(self.columns) if c.kind in _RECOUNT_KINDS]
        if not cols:
            return
        wanted = set(vkeys)
        for block in self._blocks.values():
            rows = [block.first + i for i, r in enumerate(block.rows) if r[1] in wanted]
            if rows:
                self.dataChanged.emit(self.index(min(rows), min(cols)), self.index(max(rows), max(cols)))

    def _recount_cell(self, vkey, c: ColumnInfo, role):
        per = self._recounts.get(vkey)
        if c.kind == "reads":
            rec = per.get(c.sample) if per else None
            if role == DISPLAY:
                return fm.fmt_recount(rec)
            if role == TOOLTIP:
                return fm.recount_tooltip(c.sample, rec, RECOUNT_FLAGS)
            if role == ALIGN:
                return CENTER
            if role == FOREGROUND:
                return FLAG_FG if rec is not None and rec.flags else None
            if role == FONT:
                return _BOLD if rec is not None and rec.flags else None
            return None
        flagged = {sid: r.flags for sid, r in (per or {}).items() if r.flags}
        if role == DISPLAY:
            return "≠" if flagged else ""
        if role == FOREGROUND:
            return FLAG_FG
        if role == ALIGN:
            return CENTER
        if role == TOOLTIP and flagged:
            return "\n".join(f"{sid}: {RECOUNT_FLAGS.get(f, f)}" for sid, fl in sorted(flagged.items()) for f in fl)
        return None

    # -- Qt model API ----------------------------------------------------------------------

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008 (Qt signature)
        return 0 if parent.isValid() else self._count

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation != Qt.Orientation.Horizontal or not (0 <= section < len(self.columns)):
            if orientation == Qt.Orientation.Vertical and role == Qt.ItemDataRole.DisplayRole:
                return f"{section + 1:,}"
            return None
        c = self.columns[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return c.header
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{c.name}" + (f"\n{c.tooltip}" if c.tooltip else "") + ("" if c.sortable else "\n(not sortable)")
        if role == ALIGN and c.kind in NUMERIC_KINDS:
            return RIGHT
        return None

    def flags(self, index):
        return CELL_FLAGS if index.isValid() else NO_FLAGS

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:
        """Sort in DuckDB by a column (``column < 0``: back to genomic order)."""
        spec = self.spec
        if spec is None:
            return
        if column < 0 or column >= len(self.columns):
            sort = ()
        else:
            c = self.columns[column]
            if not c.sortable:
                return
            sort = ((c.name, order == Qt.SortOrder.DescendingOrder),)
        if sort != spec.sort:
            self.set_spec(ViewSpec(spec.filter_text, spec.preset, sort, spec.columns, spec.flagged_only, spec.tag))

    def data(self, index, role=DISPLAY):
        if role not in _ROLES:
            return None
        row = index.row()
        block = self._blocks.get(row // BLOCK_ROWS)
        if block is None:
            if role == DISPLAY:
                self._request(row // BLOCK_ROWS)
                return PLACEHOLDER if index.column() == 0 else ""
            return GREY if role == FOREGROUND else None
        i = row - block.first
        if i >= len(block.rows):
            return None
        r = block.rows[i]
        col = index.column()
        c = self.columns[col]
        kind = c.kind
        if role == ROLE_VKEY:
            return r[1]
        if kind in _REVIEW_KINDS:
            return self._review_cell(r[1], kind, role)
        if kind in _RECOUNT_KINDS:
            return self._recount_cell(r[1], c, role)
        off = self._layout[col][0]
        v = r[off]
        if role == DISPLAY:
            return _display(kind, v, r, off)
        if role == ALIGN:
            if kind in NUMERIC_KINDS:
                return RIGHT
            return CENTER if kind == "gt" else None
        if role == BACKGROUND:
            if kind == "impact":
                return IMPACT_BG.get(v)
            if kind == "clinvar":
                return CLINVAR_BG.get(fm.clinvar_class(v))
            if kind == "gt":
                return GT_BG.get(v)
            return None
        if role == FOREGROUND:
            return GREY if kind == "gt" and v is None else None
        if role == FONT:
            return _BOLD if (kind == "gt" and v == 2) or (kind == "impact" and v == "HIGH") else None
        if role == TOOLTIP:
            if kind == "gt":
                return fm.gt_tooltip(c.sample or c.header, *r[off:off + 7])
            text = _display(kind, v, r, off)
            full = fm.fmt_generic(v)
            return full if full and (full != text or len(full) > 24) else None
        if role == ROLE_RAW:
            return v
        return None

    def _review_cell(self, vkey, kind, role):
        review = self._reviews.get(vkey)
        if role == DISPLAY:
            if review is None:
                return ""
            if kind == "flag":
                return "⚑" if review.flagged else ""
            if kind == "tags":
                return ", ".join(review.tags)
            return review.note.splitlines()[0] if review.note else ""
        if role == FOREGROUND and kind == "flag":
            return FLAG_FG
        if role == ALIGN and kind == "flag":
            return CENTER
        if role == TOOLTIP and review is not None and kind == "note" and review.note:
            return review.note
        return None

    # -- export / copy helpers -------------------------------------------------------------

    def display_row(self, row: int) -> list[str] | None:
        r = self.row_tuple(row)
        if r is None:
            return None
        out = []
        for col, c in enumerate(self.columns):
            out.append(self.data(self.index(row, col), Qt.ItemDataRole.DisplayRole) or "")
        return out


_ROLES = {DISPLAY, ALIGN, BACKGROUND, FOREGROUND, FONT, TOOLTIP, ROLE_VKEY, ROLE_RAW}
_REVIEW_KINDS = {"flag", "tags", "note"}
_RECOUNT_KINDS = {"reads", "readsflag"}
_BOLD = QFont()
_BOLD.setBold(True)


def _display(kind: str, v, r, off: int) -> str:
    if kind == "text":
        return "" if v is None else str(v)
    if kind == "pos" or kind == "int":
        return fm.fmt_int(v)
    if kind == "af":
        return fm.fmt_af(v)
    if kind == "score" or kind == "float":
        return fm.fmt_float(v)
    if kind == "gt":
        return fm.fmt_gt(v, r[off + 1])
    if kind == "hgvs":
        return fm.short_hgvs(v)
    if kind == "consequence":
        return fm.fmt_consequence(v)
    if kind == "stars":
        return fm.stars(v)
    if kind == "list":
        return fm.fmt_list(v)
    return fm.fmt_generic(v)


def _open_view(source, spec: ViewSpec, ws):
    """Worker: compile the filter and read the first block (the first page paints from this; counting follows)."""
    view = source.open(spec)
    first = fetch_block(view, 0, BLOCK_ROWS, source.case.case_id, ws)
    return view, first


# ------------------------------------------------------------------------------------------
# the view


class VariantTableView(QTableView):
    """The table widget: fixed row height, per-pixel horizontal scroll, sort by header click.

    Signals
    -------
    current_variant_changed(object)
        A :class:`RowRef` (or None) when the current row changes and is loaded.
    page_painted(int)
        Emitted after a paint that showed loaded rows of the model's generation.
    context_requested(object, object)
        (RowRef, global position) for the context menu.
    """

    current_variant_changed = Signal(object)
    page_painted = Signal(int)
    context_requested = Signal(object, object)
    columns_reordered = Signal(list)

    def __init__(self, model: VariantTableModel, parent=None):
        super().__init__(parent)
        self.setModel(model)
        self._model = model
        fm_ = self.fontMetrics()
        vh = self.verticalHeader()
        vh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vh.setDefaultSectionSize(fm_.height() + 8)
        vh.setMinimumSectionSize(fm_.height() + 4)
        vh.hide()
        hh = self.horizontalHeader()
        hh.setSectionsMovable(True)
        hh.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        hh.setSortIndicatorShown(True)
        hh.setSortIndicatorClearable(True)
        hh.setSectionsClickable(True)
        hh.setHighlightSections(False)
        hh.setStretchLastSection(False)
        hh.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        hh.sortIndicatorChanged.connect(self._on_header_sort)
        hh.sectionMoved.connect(self._on_header_moved)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerItem)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setAlternatingRowColors(True)
        self.setShowGrid(False)
        self.setCornerButtonEnabled(False)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._on_context_menu)
        self.verticalScrollBar().valueChanged.connect(self._on_scrolled)
        model.modelReset.connect(self._on_model_reset)
        model.dataChanged.connect(self._on_data_changed)
        self._pending_current: int | None = None
        self._last_emitted = None
        self._painted_generation = -1
        self._widths: dict[str, int] = {}
        self._sort_guard = False

    # -- columns
    def apply_widths(self, widths: dict[str, int]) -> None:
        self._widths = dict(widths)
        for i, c in enumerate(self._model.columns):
            self.setColumnWidth(i, int(widths.get(c.name, _default_width(c, self.fontMetrics()))))

    def current_widths(self) -> dict[str, int]:
        out = dict(self._widths)
        for i, c in enumerate(self._model.columns):
            out[c.name] = self.columnWidth(i)
        return out

    def visual_column_names(self) -> list[str]:
        hh = self.horizontalHeader()
        cols = self._model.columns
        return [cols[hh.logicalIndex(v)].name for v in range(hh.count()) if hh.logicalIndex(v) < len(cols)]

    def _on_header_moved(self, *_):
        self.columns_reordered.emit(self.visual_column_names())

    def _on_header_sort(self, section: int, order) -> None:
        if self._sort_guard:
            return
        self._model.sort(section, order)

    def show_sort(self, spec: ViewSpec | None) -> None:
        """Make the header's indicator show the view's sort (without sorting again)."""
        section, order = -1, Qt.SortOrder.AscendingOrder
        if spec is not None and spec.sort:
            name, desc = spec.sort[0]
            for i, c in enumerate(self._model.columns):
                if c.name == name:
                    section = i
                    order = Qt.SortOrder.DescendingOrder if desc else Qt.SortOrder.AscendingOrder
        self._sort_guard = True
        try:
            self.horizontalHeader().setSortIndicator(section, order)
        finally:
            self._sort_guard = False

    # -- model events
    def _on_model_reset(self) -> None:
        hh = self.horizontalHeader()
        # Logical order == saved visual order: undo any moves Qt remembers from the last model.
        for v in range(hh.count()):
            li = hh.logicalIndex(v)
            if li != v:
                hh.moveSection(hh.visualIndex(v), v)
        self.apply_widths(self._widths)
        self.show_sort(self._model.spec)
        self._on_scrolled()

    def _on_scrolled(self, *_):
        first = self.rowAt(0)
        last = self.rowAt(self.viewport().height() - 1)
        if first < 0:
            first = 0
        if last < 0:
            last = min(self._model.rowCount() - 1, first + self.viewport().height() // max(1, self.rowHeight(0) or 20))
        self._model.set_visible_rows(first, max(first, last))

    def _on_data_changed(self, top, bottom, roles=()):
        if self._pending_current is not None and top.row() <= self._pending_current <= bottom.row():
            self._emit_current(self._pending_current)

    def paintEvent(self, event):  # Qt override
        super().paintEvent(event)
        model = self._model
        if model.rowCount() == 0:
            if model.view is not None and self._painted_generation != model.generation:
                self._painted_generation = model.generation
                self.page_painted.emit(model.generation)
            return
        top = max(0, self.rowAt(0))
        if model.is_loaded(top) and self._painted_generation != model.generation:
            self._painted_generation = model.generation
            self.page_painted.emit(model.generation)

    def resizeEvent(self, event):  # Qt override
        super().resizeEvent(event)
        self._on_scrolled()

    # -- selection
    def currentChanged(self, current, previous):  # Qt override
        super().currentChanged(current, previous)
        if not current.isValid():
            self._pending_current = None
            self._last_emitted = None
            self.current_variant_changed.emit(None)
            return
        self._emit_current(current.row())

    def _emit_current(self, row: int) -> None:
        ref = self._model.row_ref(row)
        if ref is None:
            self._pending_current = row
            self._model.ensure_loaded(row)
            return
        self._pending_current = None
        if ref != self._last_emitted:
            self._last_emitted = ref
            self.current_variant_changed.emit(ref)

    def current_ref(self) -> RowRef | None:
        idx = self.currentIndex()
        return self._model.row_ref(idx.row()) if idx.isValid() else None

    def select_row(self, row: int) -> None:
        if not (0 <= row < self._model.rowCount()):
            return
        idx = self._model.index(row, 0)
        self.setCurrentIndex(idx)
        self.selectRow(row)
        self.scrollTo(idx, QAbstractItemView.ScrollHint.PositionAtCenter)

    def _on_context_menu(self, pos):
        idx = self.indexAt(pos)
        if not idx.isValid():
            return
        if not self.selectionModel().isRowSelected(idx.row(), QModelIndex()):
            self.select_row(idx.row())
        ref = self._model.row_ref(idx.row())
        if ref is not None:
            self.context_requested.emit(ref, self.viewport().mapToGlobal(pos))

    def selected_rows(self) -> list[int]:
        return sorted({i.row() for i in self.selectionModel().selectedRows()})


def _default_width(c: ColumnInfo, metrics) -> int:
    ch = metrics.horizontalAdvance("0")
    chars = {"flag": 2, "tags": 12, "note": 16, "pos": 11, "int": 7, "af": 8, "score": 6, "float": 7, "gt": 6,
             "hgvs": 16, "consequence": 20, "impact": 9, "clinvar": 18, "stars": 6, "list": 14, "bool": 5,
             "text": 10}.get(c.kind, 10)
    if c.name in ("chrom",):
        chars = 4
    if c.name in ("ref", "alt"):
        chars = 6
    if c.name == "gene":
        chars = 9
    header = metrics.horizontalAdvance(c.header) + 28
    return max(header, chars * ch + 14)


# ------------------------------------------------------------------------------------------
# column chooser


class ColumnChooser(QDialog):
    """Pick and order the visible columns (every imported column, INFO field and sample field)."""

    def __init__(self, columns: list[ColumnInfo], visible: list[str], defaults: list[str], parent=None):
        super().__init__(parent)
        self.setWindowTitle("Columns")
        self.resize(420, 560)
        self._defaults = defaults
        self._columns = columns
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("Tick the columns to show; drag to reorder."))
        self.search = QLineEdit(placeholderText="Find a column…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._on_search_changed)
        lay.addWidget(self.search)
        self.list = QListWidget()
        self.list.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.list.setDefaultDropAction(Qt.DropAction.MoveAction)
        lay.addWidget(self.list, 1)
        self._fill(visible)
        row = QHBoxLayout()
        self.shown_only = QCheckBox("Shown only")
        self.shown_only.toggled.connect(self._on_search_changed)
        row.addWidget(self.shown_only)
        row.addStretch(1)
        up, down, reset = QPushButton("Up"), QPushButton("Down"), QPushButton("Defaults")
        up.clicked.connect(lambda: self._move(-1))
        down.clicked.connect(lambda: self._move(1))
        reset.clicked.connect(lambda: self._fill(self._defaults))
        for b in (up, down, reset):
            row.addWidget(b)
        lay.addLayout(row)
        bb = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        bb.accepted.connect(self.accept)
        bb.rejected.connect(self.reject)
        lay.addWidget(bb)

    def _fill(self, visible: list[str]) -> None:
        self.list.clear()
        by_name = {c.name: c for c in self._columns}
        order = [n for n in visible if n in by_name] + [c.name for c in self._columns if c.name not in visible]
        for n in order:
            c = by_name[n]
            it = QListWidgetItem(f"{c.header}   ({c.name})" if c.header != c.name else c.name)
            it.setData(Qt.ItemDataRole.UserRole, c.name)
            it.setToolTip(c.tooltip or c.name)
            it.setFlags(it.flags() | Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsDragEnabled)
            it.setCheckState(Qt.CheckState.Checked if n in visible else Qt.CheckState.Unchecked)
            self.list.addItem(it)

    def _move(self, step: int) -> None:
        r = self.list.currentRow()
        if r < 0 or not (0 <= r + step < self.list.count()):
            return
        it = self.list.takeItem(r)
        self.list.insertItem(r + step, it)
        self.list.setCurrentRow(r + step)

    def _on_search_changed(self, *_):
        text = self.search.text().strip().lower()
        only = self.shown_only.isChecked()
        for i in range(self.list.count()):
            it = self.list.item(i)
            hide = bool(text) and text not in it.text().lower()
            hide = hide or (only and it.checkState() != Qt.CheckState.Checked)
            it.setHidden(hide)

    def chosen(self) -> list[str]:
        out = []
        for i in range(self.list.count()):
            it = self.list.item(i)
            if it.checkState() == Qt.CheckState.Checked:
                out.append(it.data(Qt.ItemDataRole.UserRole))
        return out

"""Pileup layout as numpy arrays: rows, sorting, grouping, colours and what to draw. Qt-free.

The view never loops over reads in Python to draw them. This module turns a
:class:`~raredesk.io.bam.ReadBatch` into *layers*: for each drawing style (a
body colour, a mismatch base at a quality level, deletion lines...) one array
of rectangles or lines in data coordinates (x in reference bases, y in display
rows). :mod:`raredesk.gui.pileup.items` then draws each layer with one
``QPainter.drawRects``/``drawLines`` call.

Coordinates: ``start``/``end`` 0-based half-open; x = 0-based coordinate of a
base's left edge (after the optional insertion expansion, see :class:`XMap`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from raredesk.io.bam import AlleleCounts, ReadBatch, pack_rows

__all__ = [
    "BASE_RGB", "BODY_RGB", "ViewOptions", "XMap", "Group", "TrackLayout", "TrackScene", "CoverageScene",
    "base_at", "expansion_map", "layout_reads", "build_track_scene", "build_coverage_scene",
    "build_reference_scene", "insert_size_limits", "body_categories", "SORTS", "GROUPS", "COLOURS",
    "quality_bin", "QUAL_ALPHA", "PreparedTrack", "prepare_track",
]

# -- codes -----------------------------------------------------------------

#: Base codes used throughout: A C G T N, then deletion, reference match, not covering.
A, C, G, T, N, DEL, REF, INS, NONE = 0, 1, 2, 3, 4, 5, 6, 7, -1
CODE_LETTER = {A: "A", C: "C", G: "G", T: "T", N: "N", DEL: "del", REF: "ref", INS: "ins", NONE: ""}
_ASCII_CODE = np.full(256, N, dtype=np.int8)
for _i, _b in enumerate(b"ACGT"):
    _ASCII_CODE[_b] = _i
    _ASCII_CODE[_b + 32] = _i

# -- colours (RGBA, 0-255); IGV's palette so its users read the picture at once --

#: Base colours (igv.js ``nucleotideColors``).
BASE_RGB = {A: (0, 200, 0, 255), C: (0, 0, 200, 255), G: (209, 113, 5, 255), T: (255, 0, 0, 255),
            N: (80, 80, 80, 255)}
#: Alpha of a mismatch by base-quality bin (IGV fades bases below Q20, nearly invisible below Q5).
QUAL_EDGES = np.array([5, 10, 15, 20], dtype=np.int64)
QUAL_ALPHA = (0.12, 0.3, 0.5, 0.75, 1.0)

BODY_RGB = {
    "plain": (185, 185, 185, 255),
    "forward": (230, 150, 150, 255),      # IGV colour-by-strand
    "reverse": (150, 150, 230, 255),
    "larger": (200, 0, 0, 255),           # insert larger than expected
    "smaller": (0, 0, 150, 255),          # insert smaller than expected
    "LL": (0, 150, 150, 255),             # pair orientations other than LR (IGV)
    "RR": (20, 50, 200, 255),
    "RL": (0, 150, 0, 255),
}
#: Mates on another contig: colour by that contig (a fixed palette, as IGV).
OTHER_CONTIG_RGB = [(114, 76, 44, 255), (255, 153, 0, 255), (153, 102, 204, 255), (0, 153, 153, 255),
                    (204, 102, 153, 255), (102, 153, 0, 255), (153, 0, 51, 255), (51, 102, 153, 255)]
MAPQ0_ALPHA = 0.3
INSERTION_RGB = (138, 94, 161, 255)
DELETION_RGB = (0, 0, 0, 255)
SKIP_RGB = (150, 150, 200, 255)
CLIP_RGB = (255, 120, 120, 255)
HIDDEN_RGB = (0, 0, 0, 255)

SORTS = {"base": "base at position", "strand": "strand", "mapq": "mapping quality",
         "insert_size": "insert size", "start": "start position"}
GROUPS = {"none": "sample only", "base": "base at position", "strand": "strand", "hp": "haplotype (HP tag)",
          "pair_orientation": "pair orientation"}
COLOURS = {"strand": "read strand", "insert_size": "insert size and pair orientation", "none": "no colour"}


@dataclass(frozen=True)
class ViewOptions:
    """How reads are laid out and coloured (view state, no Qt).

    Attributes
    ----------
    sort_by : str
        One of :data:`SORTS`.
    sort_pos : int or None
        0-based coordinate the rows are sorted at (the centre line in IGV).
    group_by : str
        One of :data:`GROUPS` (samples always form separate tracks).
    group_pos : int or None
        0-based coordinate for grouping by base.
    colour_by : str
        One of :data:`COLOURS`.
    show_soft_clips : bool
        Draw soft-clipped ends (hatched) and pack rows around them.
    expand_insertions : bool
        Widen the axis at insertions carried by enough reads and draw their bases.
    af_threshold : float
        Coverage bars are coloured by allele where a non-reference allele
        reaches this fraction (IGV: 0.2).
    quality_shading : bool
        Fade low-quality mismatches.
    row_gap : int
        Minimum bp between reads sharing a row.
    mark_insertions : bool
        At the sort/group position, reads with an insertion right before
        that base count as "insertion" (for insertion variants).
    """

    sort_by: str = "base"
    sort_pos: int | None = None
    group_by: str = "none"
    group_pos: int | None = None
    colour_by: str = "strand"
    show_soft_clips: bool = False
    expand_insertions: bool = False
    af_threshold: float = 0.2
    quality_shading: bool = True
    row_gap: int = 2
    mark_insertions: bool = False


# --------------------------------------------------------------------------
# Insertion expansion
# --------------------------------------------------------------------------

class XMap:
    """Genomic coordinate <-> view x, with optional extra columns at insertions.

    An insertion at coordinate ``a`` (in front of base ``a``) gets ``w``
    columns between base ``a - 1`` and base ``a``. The left edge of base ``x``
    is drawn at :meth:`left` and a right edge (end coordinate) at
    :meth:`right`; without expansion both are the identity.

    Parameters
    ----------
    anchors : array of int
        Sorted insertion coordinates.
    widths : array of int
        Columns inserted at each anchor.
    """

    def __init__(self, anchors=None, widths=None):
        self.anchors = np.asarray([] if anchors is None else anchors, dtype=np.int64)
        self.widths = np.asarray([] if widths is None else widths, dtype=np.int64)
        self.cum = np.concatenate(([0], np.cumsum(self.widths))).astype(np.int64)

    @property
    def identity(self) -> bool:
        return self.anchors.size == 0

    def left(self, x):
        """View x of the left edge of base ``x`` (after the columns inserted at ``x``)."""
        x = np.asarray(x)
        if self.identity:
            return x.astype(np.float64)
        return x + self.cum[np.searchsorted(self.anchors, x, side="right")]

    def right(self, x):
        """View x of an end coordinate ``x`` (before the columns inserted at ``x``)."""
        x = np.asarray(x)
        if self.identity:
            return x.astype(np.float64)
        return x + self.cum[np.searchsorted(self.anchors, x, side="left")]

    def column(self, anchor):
        """View x where the columns of an insertion at ``anchor`` begin."""
        return self.right(anchor)

    def width_at(self, anchor) -> np.ndarray:
        """Columns at each anchor (0 where none)."""
        anchor = np.asarray(anchor, dtype=np.int64)
        if self.identity:
            return np.zeros(anchor.shape, dtype=np.int64)
        i = np.searchsorted(self.anchors, anchor)
        i = np.minimum(i, self.anchors.size - 1)
        return np.where(self.anchors[i] == anchor, self.widths[i], 0)

    def to_genome(self, v: float) -> float:
        """Genomic coordinate at view x ``v`` (an inserted column maps to its anchor)."""
        if self.identity:
            return float(v)
        col_start = self.anchors + self.cum[:-1]
        col_end = col_start + self.widths
        k = int(np.searchsorted(col_end, v, side="right"))
        if k < self.anchors.size and col_start[k] <= v:
            return float(self.anchors[k])
        return float(v - self.cum[k])


def expansion_map(batches, start: int, end: int, *, min_reads: int = 2, min_fraction: float = 0.1,
                  max_width: int = 30) -> XMap:
    """Where to widen the axis for insertions, over all samples.

    An insertion site is expanded when at least ``min_reads`` reads and
    ``min_fraction`` of the reads spanning it (in some sample) carry an
    insertion there, so sequencing-error insertions of long reads do not
    stretch the picture. Its width is the longest insertion there, capped at
    ``max_width`` (longer ones are labelled with their length).
    """
    anchors: dict[int, int] = {}
    for b in batches:
        if b is None or not len(b.insertions.start):
            continue
        ins = b.insertions
        keep = (ins.start > start) & (ins.start < end)
        if not keep.any():
            continue
        pos, ln = ins.start[keep], ins.length[keep].astype(np.int64)
        uniq, inv, cnt = np.unique(pos, return_inverse=True, return_counts=True)
        longest = np.zeros(uniq.size, dtype=np.int64)
        np.maximum.at(longest, inv, ln)
        # Reads spanning each site: starts <= site - 1 and ends >= site + 1.
        rs, re_ = np.sort(b.read_start), np.sort(b.read_end)
        spanning = np.searchsorted(rs, uniq - 1, side="right") - np.searchsorted(re_, uniq, side="left")
        ok = (cnt >= min_reads) & (cnt >= min_fraction * np.maximum(spanning, 1))
        for a, w in zip(uniq[ok].tolist(), np.minimum(longest[ok], max_width).tolist()):
            anchors[a] = max(anchors.get(a, 0), int(w))
    if not anchors:
        return XMap()
    keys = np.array(sorted(anchors), dtype=np.int64)
    return XMap(keys, np.array([anchors[k] for k in keys.tolist()], dtype=np.int64))


# --------------------------------------------------------------------------
# Reads: base at a position, rows, groups, sorting
# --------------------------------------------------------------------------

def base_at(batch: ReadBatch, pos: int, mark_insertions: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """What each read shows at one coordinate.

    With ``mark_insertions``, reads carrying an insertion right before base
    ``pos`` get :data:`INS` whatever their base at ``pos``.

    Returns
    -------
    code : numpy.ndarray of int8
        A/C/G/T/N for a mismatching base, :data:`DEL` inside a deletion,
        :data:`REF` for a reference base, :data:`NONE` when the read does not
        cover ``pos`` (or skips it, ``N``).
    qual : numpy.ndarray of int16
        Base quality of a mismatch (-1 otherwise).
    """
    n = len(batch)
    code = np.where((batch.read_start <= pos) & (batch.read_end > pos), REF, NONE).astype(np.int8)
    qual = np.full(n, -1, dtype=np.int16)
    if n == 0:
        return code, qual
    sk = batch.ref_skips
    m = (sk.start <= pos) & (sk.end > pos)
    code[sk.read[m]] = NONE
    d = batch.deletions
    m = (d.start <= pos) & (d.end > pos)
    code[d.read[m]] = DEL
    mm = batch.mismatches
    m = mm.start == pos
    code[mm.read[m]] = _ASCII_CODE[mm.base[m]]
    qual[mm.read[m]] = mm.qual[m]
    if mark_insertions:
        ins = batch.insertions
        code[ins.read[ins.start == pos]] = INS
    return code, qual


@dataclass(frozen=True)
class Group:
    """A block of rows in one sample track.

    Attributes
    ----------
    label : str
    first_row, n_rows : int
    n_reads : int
    """

    label: str
    first_row: int
    n_rows: int
    n_reads: int


@dataclass
class TrackLayout:
    """Rows of the reads of one sample.

    Attributes
    ----------
    row : numpy.ndarray of int32
        Display row of each read (0 at the top), groups included.
    n_rows : int
    groups : list of Group
        Empty when not grouped.
    left_clip, right_clip : numpy.ndarray of int64
        Soft-clipped bases shown at each end (0 unless soft clips are shown).
    centre_code : numpy.ndarray of int8 or None
        :func:`base_at` at the sort/group position, when there is one.
    """

    row: np.ndarray
    n_rows: int
    groups: list[Group] = field(default_factory=list)
    left_clip: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    right_clip: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    centre_code: np.ndarray | None = None


def _clip_lengths(batch: ReadBatch) -> tuple[np.ndarray, np.ndarray]:
    n = len(batch)
    left = np.zeros(n, dtype=np.int64)
    right = np.zeros(n, dtype=np.int64)
    sc = batch.soft_clips
    if len(sc.read):
        np.maximum.at(left, sc.read[sc.is_left], sc.length[sc.is_left].astype(np.int64))
        np.maximum.at(right, sc.read[~sc.is_left], sc.length[~sc.is_left].astype(np.int64))
    return left, right


def _sort_keys(batch: ReadBatch, how: str, code: np.ndarray | None, qual: np.ndarray | None) -> np.ndarray:
    """Smaller key = higher row. Reads not covering the position get +inf."""
    n = len(batch)
    if how == "base" and code is not None:
        # Mismatching bases first, the most frequent non-reference base on top, then
        # deletions, then reference bases; higher base quality first within a base.
        counts = np.bincount(code[(code >= 0) & (code <= N)].astype(np.int64), minlength=5)
        rank_of_base = np.empty(5, dtype=np.int64)
        rank_of_base[np.lexsort((np.arange(5), -counts))] = np.arange(5)
        rank = np.full(n, 100.0)
        is_base = (code >= 0) & (code <= N)
        rank[is_base] = rank_of_base[code[is_base]] * 1000.0 - np.maximum(qual[is_base], 0)
        rank[code == INS] = -1000.0
        rank[code == DEL] = 6000.0
        rank[code == REF] = 7000.0
        rank[code == NONE] = np.inf
        return rank
    if how == "strand":
        return batch.is_reverse.astype(np.float64)
    if how == "mapq":
        return -batch.mapq.astype(np.float64)
    if how == "insert_size":
        return -np.abs(batch.insert_size).astype(np.float64)
    return batch.read_start.astype(np.float64)


def _group_keys(batch: ReadBatch, how: str, code: np.ndarray | None, ref_letter: str) -> tuple[np.ndarray, list[str]]:
    """Group index per read (in display order) and the group labels."""
    n = len(batch)
    if how == "strand":
        k = batch.is_reverse.astype(np.int64)
        return k, ["+ strand", "− strand"]
    if how == "hp":
        hp = batch.hp.astype(np.int64)
        values = sorted(v for v in np.unique(hp).tolist() if v > 0)
        labels = [f"HP {v}" for v in values] + ["no HP tag"]
        idx = {v: i for i, v in enumerate(values)}
        k = np.array([idx.get(v, len(values)) for v in hp.tolist()], dtype=np.int64) if n else np.zeros(0, np.int64)
        return k, labels
    if how == "pair_orientation":
        po = batch.pair_orientation
        kind = np.array([(s[0] + s[2]) if s else "" for s in po.tolist()], dtype=object)
        names = {"FR": "LR (normal)", "RF": "RL", "FF": "LL", "RR": "RR", "": "unpaired / mate elsewhere"}
        order = ["FR", "RF", "FF", "RR", ""]
        k = np.array([order.index(x) for x in kind.tolist()], dtype=np.int64) if n else np.zeros(0, np.int64)
        return k, [names[o] for o in order]
    if how == "base" and code is not None:
        counts = np.bincount(code[(code >= 0) & (code <= N)].astype(np.int64), minlength=5)
        bases = [b for b in np.lexsort((np.arange(5), -counts)).tolist() if counts[b] > 0]
        order = [INS] + bases + [DEL, REF, NONE]
        labels = ["insertion"] + [CODE_LETTER[b] for b in bases] + ["deletion", f"{ref_letter or 'ref'} (reference)",
                                                                     "not covering"]
        pos_of = {c: i for i, c in enumerate(order)}
        k = np.array([pos_of[int(c)] for c in code.tolist()], dtype=np.int64)
        return k, labels
    return np.zeros(n, dtype=np.int64), [""]


def layout_reads(batch: ReadBatch, options: ViewOptions, ref_letter: str = "") -> TrackLayout:
    """Rows for the reads of one sample: grouped, packed and sorted.

    Rows are packed per group (first fit, as IGV's expanded mode); then rows
    are reordered by the read each row has at ``options.sort_pos`` so that,
    for example, the reads with the ALT base come first. A group gets one
    empty header row for its label.

    Parameters
    ----------
    batch : ReadBatch
    options : ViewOptions
    ref_letter : str
        Reference base at the group position (for the group label).

    Returns
    -------
    TrackLayout
    """
    n = len(batch)
    if options.show_soft_clips:
        left, right = _clip_lengths(batch)
    else:
        left = right = np.zeros(n, dtype=np.int64)
    if n == 0:
        return TrackLayout(np.zeros(0, dtype=np.int32), 0, [], left, right, None)
    vis_start = batch.read_start - left
    vis_end = batch.read_end + right
    pos = options.sort_pos if options.sort_pos is not None else options.group_pos
    code = qual = None
    if pos is not None:
        code, qual = base_at(batch, int(pos), options.mark_insertions)
    gcode = code
    if options.group_by == "base" and options.group_pos is not None and options.group_pos != pos:
        gcode, _ = base_at(batch, int(options.group_pos), options.mark_insertions)
    gkey, labels = _group_keys(batch, options.group_by, gcode, ref_letter)
    sort_code = code if options.sort_pos is not None else None
    keys = _sort_keys(batch, options.sort_by, sort_code, qual)
    covering_pos = None if options.sort_pos is None else int(options.sort_pos)
    rows = np.zeros(n, dtype=np.int32)
    groups: list[Group] = []
    grouped = options.group_by != "none"
    # The reader already packed the rows (same gap, reads sorted by start): reuse them
    # unless grouping or soft clips change the extents.
    reuse = (not grouped and not options.show_soft_clips and len(batch.row) == n
             and options.row_gap == 2)
    next_row = 0
    for g in range(len(labels)):
        idx = np.flatnonzero(gkey == g)
        if idx.size == 0:
            continue
        if grouped:
            next_row += 1          # header row for the label
        if reuse:
            order = idx
            r = batch.row.astype(np.int64)
        else:
            order = idx[np.argsort(vis_start[idx], kind="stable")]
            r = pack_rows(vis_start[order], vis_end[order], gap=options.row_gap).astype(np.int64)
        n_rows = int(r.max()) + 1
        # Row order: by the key of the read each row has at the sort position.
        if options.sort_by == "start" or (options.sort_by == "base" and covering_pos is None):
            perm = np.arange(n_rows)
        else:
            row_key = np.full(n_rows, np.inf)
            if covering_pos is not None:
                cover = (batch.read_start[order] <= covering_pos) & (batch.read_end[order] > covering_pos)
            else:
                # No position: sort rows by their first read.
                cover = np.zeros(order.size, dtype=bool)
                first = np.unique(r, return_index=True)[1]
                cover[first] = True
            k = keys[order]
            sel = cover & np.isfinite(k)
            row_key[r[sel]] = k[sel]
            perm = np.argsort(row_key, kind="stable")
        new_of_old = np.empty(n_rows, dtype=np.int64)
        new_of_old[perm] = np.arange(n_rows)
        rows[order] = (new_of_old[r] + next_row).astype(np.int32)
        if grouped:
            groups.append(Group(labels[g], next_row - 1, n_rows + 1, int(idx.size)))
        next_row += n_rows
    return TrackLayout(rows, next_row, groups, left, right, code)


# --------------------------------------------------------------------------
# Colours
# --------------------------------------------------------------------------

def insert_size_limits(batch: ReadBatch) -> tuple[float, float]:
    """Expected |insert size| range from the pairs in view (robust fences).

    Uses the quartiles of normally oriented pairs on one contig:
    ``[Q1 - 3 IQR, Q3 + 3 IQR]``; with fewer than 30 pairs, 50-1000 bp.
    """
    po = batch.pair_orientation
    if len(batch) == 0:
        return 50.0, 1000.0
    normal = np.array([len(s) == 4 and s[0] == "F" and s[2] == "R" for s in po.tolist()], dtype=bool)
    t = np.abs(batch.insert_size[normal & (batch.insert_size != 0)])
    if t.size < 30:
        return 50.0, 1000.0
    q1, q3 = np.percentile(t, [25, 75])
    iqr = max(q3 - q1, 1.0)
    return float(max(0.0, q1 - 3 * iqr)), float(q3 + 3 * iqr)


def body_categories(batch: ReadBatch, colour_by: str) -> tuple[np.ndarray, list[tuple[str, tuple]]]:
    """Body colour category of each read and the (name, RGBA) of each category.

    ``strand``: forward/reverse. ``insert_size``: IGV's insert size and pair
    orientation scheme (mate on another contig > abnormal orientation >
    insert larger/smaller than expected > plain). ``none``: plain grey.
    """
    n = len(batch)
    if colour_by == "strand":
        return batch.is_reverse.astype(np.int64), [("forward", BODY_RGB["forward"]),
                                                   ("reverse", BODY_RGB["reverse"])]
    if colour_by != "insert_size" or n == 0:
        return np.zeros(n, dtype=np.int64), [("plain", BODY_RGB["plain"])]
    cats = [("plain", BODY_RGB["plain"]), ("larger", BODY_RGB["larger"]), ("smaller", BODY_RGB["smaller"]),
            ("LL", BODY_RGB["LL"]), ("RR", BODY_RGB["RR"]), ("RL", BODY_RGB["RL"])]
    out = np.zeros(n, dtype=np.int64)
    lo, hi = insert_size_limits(batch)
    paired = np.array([bool(s) for s in batch.pair_orientation.tolist()], dtype=bool)
    t = np.abs(batch.insert_size)
    out[paired & (t > hi)] = 1
    out[paired & (t < lo) & (t > 0)] = 2
    kind = np.array([(s[0] + s[2]) if s else "" for s in batch.pair_orientation.tolist()], dtype=object)
    out[kind == "FF"] = 3
    out[kind == "RR"] = 4
    out[kind == "RF"] = 5
    other = (batch.mate_contig != "") & (batch.mate_contig != batch.contig)
    if other.any():
        for name in sorted(set(batch.mate_contig[other].tolist())):
            cats.append((f"mate on {name}", OTHER_CONTIG_RGB[sum(name.encode()) % len(OTHER_CONTIG_RGB)]))
            out[other & (batch.mate_contig == name)] = len(cats) - 1
    return out, cats


def quality_bin(qual: np.ndarray) -> np.ndarray:
    """Index into :data:`QUAL_ALPHA` (255 = no qualities = full colour)."""
    return np.searchsorted(QUAL_EDGES, np.asarray(qual, dtype=np.int64), side="right")


# --------------------------------------------------------------------------
# Scenes: arrays to draw
# --------------------------------------------------------------------------

@dataclass
class TrackScene:
    """What to draw for the reads of one sample, by style.

    Rectangles are ``(n, 4)`` float arrays of x, y, width, height in data
    coordinates; lines are ``(n, 4)`` arrays of x0, y0, x1, y1.

    Attributes
    ----------
    bodies : dict of (category, mapq0) -> rects
    body_colours : list of (name, RGBA)
    arrows : dict of (category, mapq0) -> (n, 3) array of tip x, row top, direction (+1/-1)
    clips : rects
        Soft-clipped extents (only when shown).
    mismatches : dict of (base code, quality bin) -> rects
    mismatch_text : (x, y, code) arrays of mismatches, for letters when zoomed in
    gaps : rects
        Background-filled spans (deletions, skips, empty inserted columns).
    deletion_lines, skip_lines : lines
    deletion_labels : (x, y, length) arrays of deletions of 5 bp or more
    insertion_marks : rects of zero width at insertion boundaries (drawn at least 2 px wide)
    insertion_labels : (x, y, length) for insertions of 5 bp or more (or wider than their columns)
    inserted_bases : dict of base code -> rects (expanded insertions)
    split_outlines, supplementary_outlines : rects
    hidden : rects
        Downsampled intervals, drawn as a strip above the first row.
    bounds : (x0, x1, n_rows)
    """

    bodies: dict = field(default_factory=dict)
    body_colours: list = field(default_factory=list)
    arrows: dict = field(default_factory=dict)
    clips: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    mismatches: dict = field(default_factory=dict)
    mismatch_text: tuple = field(default_factory=lambda: (np.zeros(0), np.zeros(0), np.zeros(0, np.int8)))
    gaps: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    deletion_lines: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    skip_lines: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    deletion_labels: tuple = field(default_factory=lambda: (np.zeros(0), np.zeros(0), np.zeros(0, np.int64)))
    insertion_marks: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    insertion_labels: tuple = field(default_factory=lambda: (np.zeros(0), np.zeros(0), np.zeros(0, np.int64)))
    inserted_bases: dict = field(default_factory=dict)
    split_outlines: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    supplementary_outlines: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    hidden: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    bounds: tuple = (0.0, 1.0, 0)


_PAD = 0.1   # vertical gap inside a row, as a fraction of the row


def _rects(x0, x1, y, pad: float = _PAD) -> np.ndarray:
    x0 = np.asarray(x0, dtype=np.float64)
    x1 = np.asarray(x1, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    return np.stack([x0, y + pad, x1 - x0, np.full(x0.shape, 1.0 - 2 * pad)], axis=1) if x0.size else np.zeros((0, 4))


def build_track_scene(batch: ReadBatch, lay: TrackLayout, options: ViewOptions, xmap: XMap) -> TrackScene:
    """Arrays to draw for one sample's reads (see :class:`TrackScene`)."""
    sc = TrackScene()
    n = len(batch)
    x_lo, x_hi = float(xmap.left(batch.start)), float(xmap.right(batch.end))
    sc.bounds = (x_lo, x_hi, lay.n_rows)
    if n == 0:
        return sc
    y = lay.row.astype(np.float64)
    xs = xmap.left(batch.read_start)
    xe = xmap.right(batch.read_end)
    cat, sc.body_colours = body_categories(batch, options.colour_by)
    mq0 = batch.mapq == 0
    for c in range(len(sc.body_colours)):
        for z in (False, True):
            m = (cat == c) & (mq0 == z)
            if m.any():
                sc.bodies[(c, z)] = _rects(xs[m], xe[m], y[m])
                tip = np.where(batch.is_reverse[m], xs[m], xe[m])
                sc.arrows[(c, z)] = np.stack([tip, y[m], np.where(batch.is_reverse[m], -1.0, 1.0)], axis=1)
    if options.show_soft_clips:
        l, r = lay.left_clip, lay.right_clip
        ml, mr = l > 0, r > 0
        parts = []
        if ml.any():
            parts.append(_rects(xmap.left(batch.read_start[ml] - l[ml]), xs[ml], y[ml]))
        if mr.any():
            parts.append(_rects(xe[mr], xmap.right(batch.read_end[mr] + r[mr]), y[mr]))
        if parts:
            sc.clips = np.concatenate(parts)
    # Gaps: deletions and reference skips (background + line).
    gaps, dl, sl = [], [], []
    d = batch.deletions
    if len(d.read):
        gx0, gx1, gy = xmap.right(d.start), xmap.left(d.end), y[d.read]
        gaps.append(_rects(gx0, gx1, gy, pad=_PAD - 0.02))
        dl.append(np.stack([gx0, gy + 0.5, gx1, gy + 0.5], axis=1))
        big = (d.end - d.start) >= 5
        sc.deletion_labels = ((gx0[big] + gx1[big]) / 2, gy[big] + 0.5, (d.end - d.start)[big])
    k = batch.ref_skips
    if len(k.read):
        gx0, gx1, gy = xmap.right(k.start), xmap.left(k.end), y[k.read]
        gaps.append(_rects(gx0, gx1, gy, pad=_PAD - 0.02))
        sl.append(np.stack([gx0, gy + 0.5, gx1, gy + 0.5], axis=1))
    # Mismatches, by base and quality bin.
    mm = batch.mismatches
    if len(mm.read):
        code = _ASCII_CODE[mm.base]
        qb = quality_bin(mm.qual) if options.quality_shading else np.full(mm.qual.shape, len(QUAL_ALPHA) - 1)
        mx = xmap.left(mm.start)
        my = y[mm.read]
        for b in range(5):
            for q in range(len(QUAL_ALPHA)):
                m = (code == b) & (qb == q)
                if m.any():
                    sc.mismatches[(b, q)] = _rects(mx[m], mx[m] + 1, my[m])
        sc.mismatch_text = (mx + 0.5, my + 0.5, code)
    # Insertions.
    ins = batch.insertions
    if len(ins.read):
        iy = y[ins.read]
        if xmap.identity or not options.expand_insertions:
            ix = xmap.column(ins.start)
            sc.insertion_marks = np.stack([ix, iy + _PAD, np.zeros(ix.shape), np.full(ix.shape, 1 - 2 * _PAD)], axis=1)
            big = ins.length >= 5
            sc.insertion_labels = (ix[big], iy[big] + 0.5, ins.length[big].astype(np.int64))
        else:
            width = xmap.width_at(ins.start)
            expanded = width > 0
            # Collapsed marks for insertions at sites that were not expanded.
            ce = ~expanded
            ix = xmap.column(ins.start[ce])
            sc.insertion_marks = np.stack([ix, iy[ce] + _PAD, np.zeros(ix.shape),
                                           np.full(ix.shape, 1 - 2 * _PAD)], axis=1)
            big = ins.length[ce] >= 5
            sc.insertion_labels = (ix[big], iy[ce][big] + 0.5, ins.length[ce][big].astype(np.int64))
            # Bases of expanded insertions, one column each (up to the site's width).
            sel = np.flatnonzero(expanded)
            if sel.size:
                col0 = xmap.column(ins.start[sel])
                ln = np.minimum(ins.length[sel].astype(np.int64), width[sel])
                rep = np.repeat(np.arange(sel.size), ln)
                step = np.arange(int(ln.sum())) - np.repeat(np.cumsum(ln) - ln, ln)
                seq = "".join(s[:w] for s, w in zip(ins.sequence[sel].tolist(), ln.tolist()))
                codes = _ASCII_CODE[np.frombuffer(seq.encode("ascii"), dtype=np.uint8)] if seq else np.zeros(0, np.int8)
                bx = col0[rep] + step
                by = iy[sel][rep]
                for b in range(5):
                    m = codes == b
                    if m.any():
                        sc.inserted_bases[b] = _rects(bx[m], bx[m] + 1, by[m])
                longer = ins.length[sel] > width[sel]
                if longer.any():
                    lx = col0[longer] + width[sel][longer] / 2
                    sc.insertion_labels = (np.concatenate([sc.insertion_labels[0], lx]),
                                           np.concatenate([sc.insertion_labels[1], iy[sel][longer] + 0.5]),
                                           np.concatenate([sc.insertion_labels[2],
                                                           ins.length[sel][longer].astype(np.int64)]))
            # Reads spanning an expanded site without that insertion (or with a
            # shorter one) show a gap across the unused columns.
            has = {}
            for a, r, w in zip(ins.start[sel].tolist(), ins.read[sel].tolist(),
                               np.minimum(ins.length[sel], width[sel]).tolist()):
                has[(a, r)] = max(has.get((a, r), 0), int(w))
            for a, w in zip(xmap.anchors.tolist(), xmap.widths.tolist()):
                span = np.flatnonzero((batch.read_start < a) & (batch.read_end > a))
                if not span.size:
                    continue
                used = np.array([has.get((a, r), 0) for r in span.tolist()], dtype=np.float64)
                free = used < w
                if not free.any():
                    continue
                c0 = float(xmap.column(a))
                gx0 = c0 + used[free]
                gx1 = np.full(gx0.shape, c0 + w)
                gy = y[span[free]]
                gaps.append(_rects(gx0, gx1, gy, pad=_PAD - 0.02))
                dl.append(np.stack([gx0, gy + 0.5, gx1, gy + 0.5], axis=1))
    if gaps:
        sc.gaps = np.concatenate(gaps)
    if dl:
        sc.deletion_lines = np.concatenate(dl)
    if sl:
        sc.skip_lines = np.concatenate(sl)
    # Split (primary with SA) and supplementary alignments: outlined.
    ol = _rects(xs, xe, y)
    supp = batch.is_supplementary
    sc.split_outlines = ol[batch.is_split & ~supp]
    sc.supplementary_outlines = ol[supp]
    hid = batch.hidden_intervals
    if hid.size:
        hx0, hx1 = xmap.left(hid[:, 0]), xmap.right(hid[:, 1])
        sc.hidden = np.stack([hx0, np.full(hx0.shape, -0.9), hx1 - hx0, np.full(hx0.shape, 0.6)], axis=1)
    return sc


@dataclass
class CoverageScene:
    """Coverage bars: grey where no allele passes the threshold, stacked by allele where one does.

    Attributes
    ----------
    plain : rects
    alleles : dict of base code -> rects
    flagged : numpy.ndarray of int64
        0-based coordinates whose bars are coloured by allele.
    max_depth : int
    """

    plain: np.ndarray
    alleles: dict
    flagged: np.ndarray
    max_depth: int


def flagged_positions(cov: AlleleCounts, threshold: float) -> np.ndarray:
    """Indices (into the window) where a non-reference base reaches ``threshold`` of the counted bases."""
    base = cov.counts[:, :5, :].sum(axis=2).astype(np.float64)     # A C G T N, both strands
    total = base.sum(axis=1)
    if cov.reference is not None:
        ref_code = _ASCII_CODE[np.frombuffer(cov.reference.encode("ascii"), dtype=np.uint8)].astype(np.int64)
        nonref = base.copy()
        has_ref = ref_code < N
        nonref[np.flatnonzero(has_ref), ref_code[has_ref]] = 0
    else:
        # Without a FASTA: colour where the second most common base passes.
        nonref = np.sort(base, axis=1)[:, :-1]
    frac = np.divide(nonref.max(axis=1), total, out=np.zeros_like(total), where=total > 0)
    return np.flatnonzero((frac >= threshold) & (total > 0))


def build_coverage_scene(cov: AlleleCounts, options: ViewOptions, xmap: XMap) -> CoverageScene:
    """Coverage bars of one sample (see :class:`CoverageScene`)."""
    depth = cov.depth.astype(np.float64)
    n = depth.size
    pos = np.arange(cov.start, cov.start + n, dtype=np.int64)
    flagged = flagged_positions(cov, options.af_threshold)
    plain = np.ones(n, dtype=bool)
    plain[flagged] = False
    plain &= depth > 0
    x0 = xmap.left(pos)
    rects = np.stack([x0[plain], np.zeros(int(plain.sum())), np.ones(int(plain.sum())), depth[plain]], axis=1)
    alleles: dict = {}
    if flagged.size:
        base = cov.counts[flagged, :5, :].sum(axis=2).astype(np.float64)
        total = base.sum(axis=1)
        scale = np.divide(depth[flagged], total, out=np.zeros_like(total), where=total > 0)
        heights = base * scale[:, None]
        bottoms = np.cumsum(heights, axis=1) - heights
        for b in range(5):
            m = heights[:, b] > 0
            if m.any():
                alleles[b] = np.stack([x0[flagged][m], bottoms[m, b], np.ones(int(m.sum())), heights[m, b]], axis=1)
    return CoverageScene(rects, alleles, flagged + cov.start, int(depth.max()) if n else 0)


def build_reference_scene(seq: str | None, start: int, xmap: XMap) -> dict:
    """Reference bases as rects per base code, plus (x, code) for letters."""
    if not seq:
        return {"rects": {}, "text": (np.zeros(0), np.zeros(0, np.int8))}
    codes = _ASCII_CODE[np.frombuffer(seq.upper().encode("ascii"), dtype=np.uint8)]
    x0 = xmap.left(np.arange(start, start + len(seq), dtype=np.int64))
    rects = {}
    for b in range(5):
        m = codes == b
        if m.any():
            rects[b] = np.stack([x0[m], np.zeros(int(m.sum())), np.ones(int(m.sum())), np.ones(int(m.sum()))], axis=1)
    return {"rects": rects, "text": (x0 + 0.5, codes)}


@dataclass(frozen=True)
class PreparedTrack:
    """Layout and draw arrays of one sample, computed off the GUI thread for given options.

    Attributes
    ----------
    options : ViewOptions
        What they were computed for (the view uses them only if its options still match).
    layout : TrackLayout
    scene : TrackScene
    cov_scene : CoverageScene
    """

    options: ViewOptions
    layout: TrackLayout
    scene: TrackScene
    cov_scene: CoverageScene


def prepare_track(data, options: ViewOptions) -> PreparedTrack:
    """Lay out one sample's :class:`~raredesk.io.bam.PileupData` without insertion expansion."""
    cov = data.coverage
    pos = options.group_pos
    letter = ""
    if cov.reference and pos is not None and cov.start <= pos < cov.end:
        letter = cov.reference[pos - cov.start]
    xmap = XMap()
    lay = layout_reads(data.reads, options, letter)
    return PreparedTrack(options, lay, build_track_scene(data.reads, lay, options, xmap),
                         build_coverage_scene(cov, options, xmap))

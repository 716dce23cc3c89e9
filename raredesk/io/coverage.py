"""Depth over regions and coverage QC over BED targets.

Depth follows ``samtools depth -a``: reads with any of
:data:`~raredesk.io.bam.DEFAULT_EXCLUDE_FLAGS` are skipped, deletions and
reference skips are not counted, overlapping mates both count. Long regions
are cut into pieces that worker threads read through their own file handles.
For BAM with a BAI and no base-quality filter a direct BGZF/numpy engine
computes the depth (see the section "Direct BAM depth engine" below); CRAM,
CSI and base-quality filters go through pysam.

Coordinates: ``start``/``end`` are 0-based half-open; ``pos`` columns in
outputs are 1-based.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import struct
import threading
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from raredesk.errors import Cancelled, InputError
from raredesk.io.bam import DEFAULT_EXCLUDE_FLAGS, AlignmentReader, _diff_depth
from raredesk.io.bed import BedRegions, read_bed
from raredesk.io.fasta import Reference

__all__ = ["DepthTrack", "BedCoverage", "region_depth", "bed_coverage", "default_threads"]

#: Largest span read into one depth array (bounded memory: 4 MB of int32).
MAX_PIECE = 1_000_000
#: Span of a piece when several worker threads share a long region.
THREAD_PIECE = 250_000
#: Targets closer than this are read in one pass. A BAI/CSI lookup starts at
#: the first read of a 16 kb window anyway, so reading the gap costs less
#: than re-reading that window for the next target.
MERGE_GAP = 16_384

Progress = Callable[[int, int, str], None]


def default_threads() -> int:
    """Worker threads used when none are given: the CPU count, at most 4."""
    return max(1, min(4, os.cpu_count() or 1))


def _check_cancel(cancel) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled()


@dataclass(frozen=True)
class DepthTrack:
    """Per-base depth over one region.

    Attributes
    ----------
    contig : str
        Contig as written in the BAM/CRAM.
    start, end : int
        The region (0-based half-open); ``depth[i]`` is at ``start + i``.
    depth : numpy.ndarray of int32
        Depth per base, as ``samtools depth -a`` (with the same filters).
    min_mapq, min_bq : int
        Filters used.
    """

    contig: str
    start: int
    end: int
    depth: np.ndarray
    min_mapq: int = 0
    min_bq: int = 0

    @property
    def pos(self) -> np.ndarray:
        """1-based positions matching :attr:`depth`."""
        return np.arange(self.start + 1, self.end + 1, dtype=np.int64)

    @property
    def mean(self) -> float:
        """Mean depth (NaN for an empty region)."""
        return float(self.depth.mean()) if self.depth.size else float("nan")

    def fraction_at_least(self, threshold: int) -> float:
        """Fraction of bases with depth >= ``threshold``."""
        return float((self.depth >= threshold).mean()) if self.depth.size else float("nan")


@dataclass(frozen=True)
class BedCoverage:
    """Coverage QC of a BAM/CRAM over BED targets.

    Attributes
    ----------
    bam, bed : str
        Input files.
    thresholds : tuple of int
        Depths reported as ``pct_ge_<t>`` columns.
    low_threshold : int
        Bases with depth below this form :attr:`low_coverage` intervals.
    gene_threshold : int
        Depth used for :attr:`genes` ``pct_ge`` (20 by default).
    targets : pandas.DataFrame
        One row per BED line, in file order: ``chrom``, ``start``, ``end``
        (0-based, as in the BED), ``name`` (when the BED has names),
        ``length``, ``mean_depth``, ``min_depth``, ``pct_ge_<t>`` per threshold.
    low_coverage : pandas.DataFrame
        Maximal runs inside each target with depth < ``low_threshold``:
        ``chrom``, ``start``, ``end``, ``name``, ``length``, ``mean_depth``.
    genes : pandas.DataFrame or None
        When the BED has names: ``name``, ``targets``, ``bases`` (union of
        the gene's targets), ``mean_depth``, ``pct_ge_<gene_threshold>``.
    summary : dict
        Over all target bases (union, so overlapping targets count once):
        ``bases``, ``mean_depth``, ``pct_ge_<t>``.
    min_mapq, min_bq : int
        Filters used.
    """

    bam: str
    bed: str
    thresholds: tuple[int, ...]
    low_threshold: int
    gene_threshold: int
    targets: pd.DataFrame
    low_coverage: pd.DataFrame
    genes: pd.DataFrame | None
    summary: dict
    min_mapq: int = 0
    min_bq: int = 0


# --------------------------------------------------------------------------
# Direct BAM depth engine
# --------------------------------------------------------------------------
#
# pysam's bundled htslib inflates BGZF with plain zlib and builds a Python
# object per read; for depth over megabases that is 2.5-3.5x slower than
# ``samtools depth`` (measured in benchmarks/bench_reads.py). Depth needs only
# the fixed fields and the CIGAR of each record, so for BAM + BAI (and no
# base-quality filter) this engine reads the BGZF blocks itself, inflates
# them with libdeflate when the system has it (zlib otherwise; both release
# the GIL), walks the record chain, and decodes the fields of all records at
# once with numpy. Anything it does not handle (CRAM, CSI, CIGARs moved to
# the CG tag, an empty linear-index slot) falls back to pysam. Tests check it
# against ``samtools depth`` and against the pysam path.

_BAI_CACHE: dict[tuple, list[np.ndarray]] = {}
_BAI_LOCK = threading.Lock()
_READ_CHUNK = 4 << 20
_REF_OPS = np.array([1, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0], dtype=np.int64)
_ALIGNED_OPS = np.zeros(16, dtype=bool)
_ALIGNED_OPS[[0, 7, 8]] = True
_ALIGNED_OR_DEL = _ALIGNED_OPS.copy()
_ALIGNED_OR_DEL[2] = True


class _Fallback(Exception):
    """The direct engine cannot read this piece; use pysam."""


def _bai_linear_index(index_path: str) -> list[np.ndarray] | None:
    """Linear index (16 kb windows) of each reference of a BAI, cached per file version."""
    st = os.stat(index_path)
    key = (os.path.realpath(index_path), st.st_size, st.st_mtime_ns)
    with _BAI_LOCK:
        hit = _BAI_CACHE.get(key)
    if hit is not None:
        return hit
    with open(index_path, "rb") as fh:
        data = fh.read()
    if data[:4] != b"BAI\1":
        return None
    unpack = struct.unpack_from
    o = 8
    (n_ref,) = unpack("<i", data, 4)
    lin: list[np.ndarray] = []
    for _ in range(n_ref):
        (n_bin,) = unpack("<i", data, o)
        o += 4
        for _ in range(n_bin):
            (n_chunk,) = unpack("<i", data, o + 4)
            o += 8 + 16 * n_chunk
        (n_intv,) = unpack("<i", data, o)
        lin.append(np.frombuffer(data, dtype="<u8", count=n_intv, offset=o + 4))
        o += 4 + 8 * n_intv
    with _BAI_LOCK:
        _BAI_CACHE[key] = lin
    return lin


def _load_libdeflate():
    name = ctypes.util.find_library("deflate")
    if not name:
        return None
    try:
        lib = ctypes.CDLL(name)
        lib.libdeflate_alloc_decompressor.restype = ctypes.c_void_p
        lib.libdeflate_free_decompressor.argtypes = [ctypes.c_void_p]
        lib.libdeflate_deflate_decompress.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t,
                                                      ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
        lib.libdeflate_deflate_decompress.restype = ctypes.c_int
        return lib
    except (OSError, AttributeError):
        return None


_LIBDEFLATE = _load_libdeflate()
_THREAD = threading.local()


class _Inflater:
    """Inflates whole BGZF blocks; one per thread (libdeflate state is not shared).

    The compressed and inflated data go to buffers kept between calls: a
    fresh multi-megabyte array per chunk costs page faults (the allocator
    maps and unmaps such sizes) that were a tenth of the depth time.
    """

    def __init__(self):
        self._lib = _LIBDEFLATE
        self._dec = self._lib.libdeflate_alloc_decompressor() if self._lib is not None else None
        self._in = np.empty(0, dtype=np.uint8)
        self._out = np.empty(0, dtype=np.uint8)

    def __del__(self):
        if self._dec:
            self._lib.libdeflate_free_decompressor(self._dec)

    @staticmethod
    def _room(buf: np.ndarray, size: int) -> np.ndarray:
        return buf if buf.size >= size else np.empty(size + size // 4, dtype=np.uint8)

    def read(self, fh, size: int, carry: np.ndarray) -> tuple[np.ndarray, int]:
        """``carry`` followed by up to ``size`` bytes read from ``fh``; returns them and the bytes read.

        The result lives in a buffer the next call reuses.
        """
        k = carry.size
        buf = self._room(self._in, k + size)
        buf[:k] = carry          # carry may be a view of the same buffer (its tail): numpy copies safely
        self._in = buf
        got = fh.readinto(memoryview(buf)[k:k + size])
        return buf[:k + got], got

    def inflate(self, comp: np.ndarray, path: str, keep: np.ndarray | None = None) -> tuple[np.ndarray, int]:
        """Inflate every complete block in ``comp``; return the data and bytes used.

        With ``keep`` the data returned starts with those bytes (the
        incomplete record left over from the previous call). The data lives
        in a buffer the next call reuses.
        """
        unpack = struct.unpack_from
        mv = memoryview(comp)
        n = comp.size
        o = 0
        blocks: list[tuple[int, int, int]] = []
        while o + 18 <= n:
            if mv[o:o + 4] != b"\x1f\x8b\x08\x04":
                raise InputError("damaged BAM: a BGZF block header is not where the index points", path)
            (xlen,) = unpack("<H", mv, o + 10)
            bsize = -1
            x = o + 12
            while x + 4 <= o + 12 + xlen:
                slen = mv[x + 2] | (mv[x + 3] << 8)
                if mv[x] == 66 and mv[x + 1] == 67 and slen == 2:
                    bsize = unpack("<H", mv, x + 4)[0]
                x += 4 + slen
            if bsize < 0:
                raise InputError("damaged BAM: BGZF block without its size field", path)
            end = o + bsize + 1
            if end > n:
                break
            (isize,) = unpack("<I", mv, end - 4)
            if isize:
                blocks.append((o + 12 + xlen, end - 8 - (o + 12 + xlen), isize))
            o = end
        p = 0 if keep is None else keep.size
        out = self._room(self._out, p + sum(b[2] for b in blocks))
        if p:
            out[:p] = keep       # keep may be a view of the same buffer (its tail): numpy copies safely
        self._out = out
        if self._dec is not None:
            base_in, base_out = comp.ctypes.data, out.ctypes.data
            fn = self._lib.libdeflate_deflate_decompress
            for start, length, isize in blocks:
                if fn(self._dec, base_in + start, length, base_out + p, isize, None) != 0:
                    raise InputError("damaged BAM: a BGZF block does not inflate", path)
                p += isize
        else:
            for start, length, isize in blocks:
                try:
                    raw = zlib.decompress(mv[start:start + length], -15, isize)
                except zlib.error:
                    raise InputError("damaged BAM: a BGZF block does not inflate", path) from None
                if len(raw) != isize:
                    raise InputError("damaged BAM: a BGZF block has the wrong size", path)
                out[p:p + isize] = np.frombuffer(raw, dtype=np.uint8)
                p += isize
        return out[:p], o


def _inflater() -> _Inflater:
    inf = getattr(_THREAD, "inflater", None)
    if inf is None:
        inf = _THREAD.inflater = _Inflater()
    return inf


def _walk(buf: np.ndarray, tid: int, end: int) -> tuple[np.ndarray, int, bool]:
    """Offsets of the complete records in ``buf`` (the chain of block_size fields).

    Every 256 records it looks whether the chain has left the region (another
    reference, or a start at or after ``end``) and then stops early; the
    caller trims the last few records exactly. The inner loop does only the
    jump (it is the one step per record left in Python); the chain is checked
    afterwards with numpy, and the loop is bounded by the number of records
    the buffer can hold, so a damaged block_size cannot make it spin.
    """
    size = buf.size
    mv = memoryview(buf)
    views = [mv[k:k + ((size - k) // 4) * 4].cast("i") for k in range(4)]
    offs: list[int] = []
    add = offs.append
    o = 0
    last = size - 4
    beyond = False
    batch = range(256)
    budget = size // 36 + 2
    try:
        while 0 <= o <= last:
            for _ in batch:
                add(o)
                o += 4 + views[o & 3][o >> 2]
                if o > last:
                    break
            if o > size:    # the last record is incomplete
                o = offs.pop()
                break
            r = offs[-1]
            if views[(r + 4) & 3][(r + 4) >> 2] != tid or views[(r + 8) & 3][(r + 8) >> 2] >= end:
                beyond = True
                break
            if len(offs) > budget:
                raise _Fallback()
    except IndexError:
        raise _Fallback() from None
    arr = np.array(offs, dtype=np.int64)
    if arr.size and (np.any(np.diff(arr) < 36) or o - arr[-1] < 36 or arr[0] < 0):
        raise _Fallback()  # not a record chain: let htslib report it
    return arr, o, beyond


#: The fixed fields of a BAM record after block_size (SAM spec 4.2).
_CORE = np.dtype([("ref", "<i4"), ("pos", "<i4"), ("l_name", "u1"), ("mapq", "u1"), ("bin", "<u2"),
                  ("n_cigar", "<u2"), ("flag", "<u2")])


def _cores(buf: np.ndarray, offs: np.ndarray) -> np.ndarray:
    """The :data:`_CORE` fields of the records at ``offs``, as a structured array.

    Fancy indexing a sliding-window view copies 16 bytes per record in one
    call (an order of magnitude faster than gathering each field).
    """
    if not offs.size:
        return np.zeros(0, dtype=_CORE)
    return sliding_window_view(buf, _CORE.itemsize)[offs + 4].view(_CORE).ravel()


def _u32_at(buf: np.ndarray, offs: np.ndarray) -> np.ndarray:
    """Little-endian uint32 at arbitrary byte offsets."""
    if not offs.size:
        return np.zeros(0, dtype=np.uint32)
    return sliding_window_view(buf, 4)[offs].view("<u4").ravel()


def _bam_depth_direct(path: str, index_path: str, tid: int, start: int, end: int, min_mapq: int,
                      exclude: int, count_deletions: bool) -> np.ndarray:
    """Depth over [start, end) of one reference of a BAM, without htslib records."""
    lin = _bai_linear_index(index_path)
    if lin is None or tid >= len(lin):
        raise _Fallback()
    n = end - start
    window = start >> 14
    if window >= lin[tid].size:
        return np.zeros(n, dtype=np.int32)  # no read reaches this far
    voff = int(lin[tid][window])
    if voff == 0:
        raise _Fallback()
    counted = _ALIGNED_OR_DEL if count_deletions else _ALIGNED_OPS
    blocks: list[tuple[np.ndarray, np.ndarray]] = []
    inflater = _inflater()
    skip = voff & 0xFFFF
    # First read: about what the linear index says the region spans (small
    # targets must not pull megabytes); then grow.
    after = ((end - 1) >> 14) + 1
    later = lin[tid][after:after + 4]
    later = later[later > voff]
    want = (int(later[0]) >> 16) - (voff >> 16) + 65_536 if later.size else _READ_CHUNK
    size = int(min(max(want, 65_536), _READ_CHUNK))
    empty = np.zeros(0, dtype=np.uint8)
    with open(path, "rb") as fh:
        fh.seek(voff >> 16)
        carry_c = carry_u = empty
        while True:
            comp, got = inflater.read(fh, size, carry_c)
            size = _READ_CHUNK
            buf, used = inflater.inflate(comp, path, carry_u)
            carry_c = comp[used:]
            if skip and buf.size:
                buf, skip = buf[skip:], 0
            offs, tail, stop = _walk(buf, tid, end)
            carry_u = buf[tail:]
            if offs.size:
                core = _cores(buf, offs)
                beyond = np.flatnonzero((core["ref"] != tid) | (core["pos"] >= end))
                if beyond.size:
                    cut = int(beyond[0])
                    offs, core, stop = offs[:cut], core[:cut], True
                _add_records(buf, offs, core, min_mapq, exclude, counted, blocks)
            if stop or not got:
                if not got and not stop and (carry_c.size or carry_u.size):
                    raise InputError("the BAM ends in the middle of a record (truncated)", path)
                break
    if not blocks:
        return np.zeros(n, dtype=np.int32)
    return _diff_depth(np.concatenate([b[0] for b in blocks]), np.concatenate([b[1] for b in blocks]), start, n)


def _add_records(buf, offs, core, min_mapq, exclude, counted, blocks: list) -> None:
    """Append the counted reference blocks (starts, ends) of the records at ``offs`` to ``blocks``."""
    n_cig = core["n_cigar"].astype(np.int64)
    keep = ((core["flag"] & exclude) == 0) & (core["mapq"] >= min_mapq) & (n_cig > 0)
    offs, pos, l_name, n_cig = offs[keep], core["pos"][keep].astype(np.int64), core["l_name"][keep], n_cig[keep]
    if not offs.size:
        return
    cig_at = offs + 36 + l_name
    if np.all(n_cig == 1):
        # The common case (short reads, all bases aligned): one op per read.
        ops = _u32_at(buf, cig_at)
        code = ops & 0xF
        length = (ops >> 4).astype(np.int64)
        op_start = pos
    else:
        first = np.cumsum(n_cig) - n_cig
        op_first = np.repeat(first, n_cig)
        j = np.arange(int(n_cig.sum())) - op_first
        ops = _u32_at(buf, np.repeat(cig_at, n_cig) + 4 * j)
        code = ops & 0xF
        length = (ops >> 4).astype(np.int64)
        # CIGARs too long for BAM live in the CG tag behind a kSmN placeholder.
        two = np.flatnonzero(n_cig == 2)
        if two.size and np.any((code[first[two]] == 4) & (code[first[two] + 1] == 3)):
            raise _Fallback()
        rlen = _REF_OPS[code] * length
        cum = np.cumsum(rlen) - rlen
        op_start = np.repeat(pos, n_cig) + cum - cum[op_first]
    m = counted[code]
    blocks.append((op_start[m], op_start[m] + length[m]))


def _piece_depth(reader: AlignmentReader, contig: str, start: int, end: int, *, min_mapq: int, min_bq: int,
                 exclude_flags: int, count_deletions: bool = False) -> np.ndarray:
    """Depth of one piece: the direct engine when it applies, pysam otherwise."""
    if reader.format == "BAM" and min_bq <= 0 and reader.index_path.lower().endswith(".bai"):
        try:
            return _bam_depth_direct(reader.path, reader.index_path, reader.tid(contig), start, end,
                                     min_mapq, exclude_flags, count_deletions)
        except _Fallback:
            pass
    return reader.depth(contig, start, end, min_mapq=min_mapq, min_bq=min_bq, exclude_flags=exclude_flags,
                        count_deletions=count_deletions)


class _Readers:
    """One AlignmentReader per worker thread, closed together at the end."""

    def __init__(self, path, reference, index, required_fields):
        # pysam handles are not thread-safe: each worker opens the FASTA itself.
        ref_path = reference.path if isinstance(reference, Reference) else reference
        self._args = (path, ref_path, index, required_fields)
        self._local = threading.local()
        self._all: list[AlignmentReader] = []
        self._lock = threading.Lock()

    def get(self) -> AlignmentReader:
        r = getattr(self._local, "reader", None)
        if r is None:
            path, reference, index, required_fields = self._args
            # The main reader already ran the (slower) index and reference checks.
            r = AlignmentReader(path, reference, index=index, _required_fields=required_fields, _probe=False)
            self._local.reader = r
            with self._lock:
                self._all.append(r)
        return r

    def close(self) -> None:
        for r in self._all:
            r.close()


# SAM fields a CRAM decoder must produce for depth without bases (htslib
# SAM_FLAG | SAM_RNAME | SAM_POS | SAM_MAPQ | SAM_CIGAR).
_DEPTH_FIELDS = 0x2 | 0x4 | 0x8 | 0x10 | 0x20
_DEPTH_FIELDS_BQ = _DEPTH_FIELDS | 0x200 | 0x400


def _run_pieces(bam, reference, index, pieces, work, *, min_bq, verified, threads, cancel, progress, label):
    """Run ``work(reader, piece)`` over pieces on a thread pool, in order.

    A CRAM whose FASTA matched the ``@SQ M5`` checksums is decoded without
    bases (about twice as fast); otherwise bases are decoded so that htslib
    verifies each slice against the FASTA and a wrong reference is reported.
    """
    fields = None
    if verified:
        fields = _DEPTH_FIELDS if min_bq <= 0 else _DEPTH_FIELDS_BQ
    readers = _Readers(bam, reference, index, fields)
    total = len(pieces)
    done = 0
    lock = threading.Lock()

    def one(piece):
        nonlocal done
        _check_cancel(cancel)
        out = work(readers.get(), piece)
        if progress is not None:
            with lock:
                done += 1
                progress(done, total, label)
        return out

    try:
        if threads <= 1 or total <= 1:
            return [one(p) for p in pieces]
        with ThreadPoolExecutor(max_workers=min(threads, total), thread_name_prefix="raredesk-depth") as pool:
            return list(pool.map(one, pieces))
    finally:
        readers.close()


def _open_reference(reference):
    if reference is None or isinstance(reference, Reference):
        return reference, False
    return Reference(reference), True


def region_depth(bam: str | os.PathLike, contig: str, start: int, end: int, *,
                 reference: str | os.PathLike | Reference | None = None, index: str | os.PathLike | None = None,
                 min_mapq: int = 0, min_bq: int = 0, exclude_flags: int = DEFAULT_EXCLUDE_FLAGS,
                 count_deletions: bool = False, threads: int | None = None,
                 progress: Progress | None = None, cancel=None) -> DepthTrack:
    """Per-base depth over a region, as ``samtools depth -a -r`` reports it.

    Parameters
    ----------
    bam : str or path-like
        BAM or CRAM (CRAM needs ``reference``).
    contig : str
        Any naming style (``chr20`` or ``20``).
    start, end : int
        0-based half-open region (``end`` is clipped to the contig).
    reference : str, path-like or Reference, optional
        Case FASTA.
    index : str or path-like, optional
        Index when not beside the file.
    min_mapq : int
        ``samtools depth -Q``.
    min_bq : int
        ``samtools depth -q``; 0 avoids reading bases (faster).
    exclude_flags : int
        Reads with any of these flags are skipped.
    count_deletions : bool
        ``samtools depth -J``.
    threads : int, optional
        Worker threads (default :func:`default_threads`).
    progress : callable, optional
        ``progress(done, total, text)`` after each piece.
    cancel : threading.Event-like, optional
        Checked between pieces; raises :class:`~raredesk.errors.Cancelled`.

    Returns
    -------
    DepthTrack
    """
    threads = default_threads() if threads is None else max(1, int(threads))
    ref, own = _open_reference(reference)
    try:
        with AlignmentReader(bam, ref, index=index) as main:
            name, start, end = main._window(contig, start, end)
            verified = main.reference_verified(name)
        n_pieces = -(-(end - start) // (THREAD_PIECE if threads > 1 else MAX_PIECE))
        edges = np.linspace(start, end, n_pieces + 1).astype(np.int64)
        pieces = [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]) if b > a]

        def work(reader: AlignmentReader, piece):
            return _piece_depth(reader, name, piece[0], piece[1], min_mapq=min_mapq, min_bq=min_bq,
                                exclude_flags=exclude_flags, count_deletions=count_deletions)

        parts = _run_pieces(bam, ref, index, pieces, work, min_bq=min_bq, verified=verified, threads=threads,
                            cancel=cancel, progress=progress, label=f"depth {name}")
    finally:
        if own:
            ref.close()
    depth = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)
    return DepthTrack(contig=name, start=start, end=end, depth=depth, min_mapq=min_mapq, min_bq=min_bq)


# --------------------------------------------------------------------------
# BED QC
# --------------------------------------------------------------------------

def _union(starts: np.ndarray, ends: np.ndarray, gap: int) -> tuple[np.ndarray, np.ndarray]:
    """Merge sorted intervals closer than ``gap`` (0 merges only overlapping/touching)."""
    if starts.size == 0:
        return starts, ends
    run_end = np.maximum.accumulate(ends)
    new = np.ones(starts.size, dtype=bool)
    new[1:] = starts[1:] > run_end[:-1] + gap
    idx = np.flatnonzero(new)
    last = np.append(idx[1:], starts.size) - 1
    return starts[idx], run_end[last]


def _gene_intervals(names: np.ndarray, chroms: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> pd.DataFrame:
    """Union of the intervals of each (name, contig), vectorised over all genes."""
    key = pd.MultiIndex.from_arrays([names, chroms])
    codes, uniques = pd.factorize(key)
    order = np.lexsort((starts, codes))
    codes, s, e = codes[order].astype(np.int64), starts[order], ends[order]
    # Offsetting each group far apart lets one running maximum serve all groups.
    big = int(max(int(e.max()) if e.size else 0, 1)) + 1
    s_off, e_off = s + codes * big, e + codes * big
    run_end = np.maximum.accumulate(e_off) if e_off.size else e_off
    new = np.ones(s.size, dtype=bool)
    new[1:] = s_off[1:] > run_end[:-1]
    first = np.flatnonzero(new)
    last = np.append(first[1:], s.size) - 1
    grp = codes[first]
    return pd.DataFrame({"name": np.array([uniques[g][0] for g in grp], dtype=object),
                         "chrom": np.array([uniques[g][1] for g in grp], dtype=object),
                         "start": s[first], "end": run_end[last] - codes[last] * big})


def _runs(mask: np.ndarray, group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start/end indices (half-open) of runs of True within equal ``group`` values."""
    if mask.size == 0:
        z = np.zeros(0, dtype=np.int64)
        return z, z
    brk = np.ones(mask.size, dtype=bool)
    brk[1:] = group[1:] != group[:-1]
    prev = np.zeros(mask.size, dtype=bool)
    prev[1:] = mask[:-1]
    begin = mask & (brk | ~prev)
    nxt = np.zeros(mask.size, dtype=bool)
    nxt[:-1] = mask[1:] & ~brk[1:]
    finish = mask & ~nxt
    return np.flatnonzero(begin), np.flatnonzero(finish) + 1


def _expand_intervals(s: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every coordinate of each interval, with the interval's index."""
    n = e - s
    total = int(n.sum())
    which = np.repeat(np.arange(s.size), n)
    pos = np.repeat(s - (np.cumsum(n) - n), n) + np.arange(total)
    return pos, which


def bed_coverage(bam: str | os.PathLike, bed: str | os.PathLike | BedRegions, *,
                 reference: str | os.PathLike | Reference | None = None, index: str | os.PathLike | None = None,
                 thresholds: Sequence[int] = (10, 20, 30), low_threshold: int = 20, gene_threshold: int = 20,
                 min_mapq: int = 0, min_bq: int = 0, exclude_flags: int = DEFAULT_EXCLUDE_FLAGS,
                 threads: int | None = None, progress: Progress | None = None, cancel=None) -> BedCoverage:
    """Coverage QC over BED targets: per target, per gene, low-coverage runs.

    Parameters
    ----------
    bam : str or path-like
        BAM or CRAM (CRAM needs ``reference``).
    bed : str, path-like or BedRegions
        Targets. Contig names are harmonised with the BAM (``chr20`` = ``20``).
    reference : str, path-like or Reference, optional
        Case FASTA.
    index : str or path-like, optional
        Index when not beside the file.
    thresholds : sequence of int
        Depths reported as percentages of target bases.
    low_threshold : int
        Runs of bases below this depth are listed in ``low_coverage``.
    gene_threshold : int
        Depth for the per-gene percentage.
    min_mapq, min_bq, exclude_flags
        Read and base filters (see :func:`region_depth`).
    threads : int, optional
        Worker threads (default :func:`default_threads`).
    progress, cancel
        See :func:`region_depth`.

    Returns
    -------
    BedCoverage

    Raises
    ------
    InputError
        Unreadable inputs, or BED contigs absent from the BAM/CRAM.
    """
    threads = default_threads() if threads is None else max(1, int(threads))
    regions = bed if isinstance(bed, BedRegions) else read_bed(bed)
    thresholds = tuple(sorted({int(t) for t in thresholds}))
    low_threshold, gene_threshold = int(low_threshold), int(gene_threshold)
    stat_thresholds = tuple(sorted(set(thresholds) | {gene_threshold}))
    n_t = len(regions)
    ref, own = _open_reference(reference)
    try:
        with AlignmentReader(bam, ref, index=index) as main:
            bed_names = list(dict.fromkeys(regions.chrom.tolist()))
            missing = [c for c in bed_names if main.resolver.find(c) is None]
            if missing:
                raise InputError(
                    f"BED contig{'s' if len(missing) > 1 else ''} {', '.join(missing[:5])} "
                    f"{'are' if len(missing) > 1 else 'is'} not in {Path(main.path).name} "
                    f"(it has {', '.join(list(main.lengths)[:4])}, ...)", regions.path)
            contig_map = {c: main.resolver.resolve(c) for c in bed_names}
            contig_len = {c: main.lengths[contig_map[c]] for c in bed_names}
            verified = all(main.reference_verified(contig_map[c]) for c in bed_names)
        bam_contig = np.array([contig_map[c] for c in regions.chrom.tolist()], dtype=object)
        over = regions.end > np.array([contig_len[c] for c in regions.chrom.tolist()], dtype=np.int64)
        if over.any():
            i = int(np.flatnonzero(over)[0])
            raise InputError(f"line for {regions.chrom[i]}:{regions.start[i]}-{regions.end[i]} runs past the end "
                             f"of the contig ({contig_len[regions.chrom[i]]:,} bp); wrong build?", regions.path)

        # Accumulators per target.
        t_sum = np.zeros(n_t, dtype=np.int64)
        t_min = np.full(n_t, np.iinfo(np.int64).max, dtype=np.int64)
        t_ge = np.zeros((len(thresholds), n_t), dtype=np.int64)
        low_parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []

        # Gene intervals: union of each gene's targets.
        genes = None
        if regions.has_names:
            named = regions.name != ""
            genes = _gene_intervals(regions.name[named], bam_contig[named], regions.start[named],
                                    regions.end[named])
        gene_names = list(dict.fromkeys(genes["name"])) if genes is not None else []  # BED order
        gene_idx = {g: i for i, g in enumerate(gene_names)}
        g_sum = np.zeros(len(gene_names), dtype=np.int64)
        g_bases = np.zeros(len(gene_names), dtype=np.int64)
        g_ge = np.zeros(len(gene_names), dtype=np.int64)
        # Union of all targets for the overall summary.
        u_sum = 0
        u_bases = 0
        u_ge = np.zeros(len(thresholds), dtype=np.int64)

        # Pieces: union of targets (merging small gaps), cut to MAX_PIECE.
        pieces: list[tuple[str, int, int, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        for chrom in dict.fromkeys(bam_contig.tolist()):
            sel = np.flatnonzero(bam_contig == chrom)
            order = sel[np.lexsort((regions.end[sel], regions.start[sel]))]
            ts, te = regions.start[order], regions.end[order]
            us, ue = _union(ts, te, MERGE_GAP)
            exact_s, exact_e = _union(ts, te, 0)
            if genes is not None:
                gsub = genes[genes["chrom"] == chrom]
                gs, ge_ = gsub["start"].to_numpy(np.int64), gsub["end"].to_numpy(np.int64)
                gi = np.array([gene_idx[x] for x in gsub["name"]], dtype=np.int64)
            else:
                gs = ge_ = gi = np.zeros(0, dtype=np.int64)
            step = THREAD_PIECE if threads > 1 else MAX_PIECE
            for a, b in zip(us.tolist(), ue.tolist()):
                for ps in range(a, b, step):
                    pe = min(b, ps + step)
                    if pe <= ps:
                        continue
                    hit = (ts < pe) & (te > ps)
                    ghit = (gs < pe) & (ge_ > ps)
                    xhit = (exact_s < pe) & (exact_e > ps)
                    pieces.append((chrom, ps, pe, order[hit],
                                   np.stack([np.maximum(gs[ghit], ps), np.minimum(ge_[ghit], pe), gi[ghit]]),
                                   np.stack([np.maximum(exact_s[xhit], ps), np.minimum(exact_e[xhit], pe)]),
                                   ts[hit], te[hit]))

        def work(reader: AlignmentReader, piece):
            chrom, ps, pe, tidx, gpart, upart, ts_, te_ = piece
            d = _piece_depth(reader, chrom, ps, pe, min_mapq=min_mapq, min_bq=min_bq, exclude_flags=exclude_flags)
            return _piece_stats(d, ps, pe, tidx, ts_, te_, gpart, upart, thresholds, stat_thresholds,
                                low_threshold, gene_threshold)

        results = _run_pieces(bam, ref, index, pieces, work, min_bq=min_bq, verified=verified, threads=threads,
                              cancel=cancel, progress=progress, label="coverage")
    finally:
        if own:
            ref.close()

    for res in results:
        tidx, s_sum, s_min, s_ge, low, gstats, ustats = res
        np.add.at(t_sum, tidx, s_sum)
        np.minimum.at(t_min, tidx, s_min)
        for k in range(len(thresholds)):
            np.add.at(t_ge[k], tidx, s_ge[k])
        if low[0].size:
            low_parts.append(low)
        gi, gsum, gbases, gge = gstats
        np.add.at(g_sum, gi, gsum)
        np.add.at(g_bases, gi, gbases)
        np.add.at(g_ge, gi, gge)
        u_sum += ustats[0]
        u_bases += ustats[1]
        u_ge += ustats[2]

    length = regions.end - regions.start
    with np.errstate(invalid="ignore", divide="ignore"):
        targets = pd.DataFrame({"chrom": regions.chrom, "start": regions.start, "end": regions.end})
        if regions.has_names:
            targets["name"] = regions.name
        targets["length"] = length
        targets["mean_depth"] = np.where(length > 0, t_sum / np.maximum(length, 1), np.nan)
        targets["min_depth"] = np.where(length > 0, t_min, 0)
        for k, t in enumerate(thresholds):
            targets[f"pct_ge_{t}"] = np.where(length > 0, 100.0 * t_ge[k] / np.maximum(length, 1), np.nan)
    low_df = _low_table(low_parts, regions)
    genes_df = None
    if regions.has_names:
        n_targets = pd.Series(regions.name[regions.name != ""]).value_counts()
        genes_df = pd.DataFrame({"name": gene_names,
                                 "targets": n_targets.reindex(gene_names).fillna(0).astype(np.int64).to_numpy(),
                                 "bases": g_bases,
                                 "mean_depth": np.where(g_bases > 0, g_sum / np.maximum(g_bases, 1), np.nan),
                                 f"pct_ge_{gene_threshold}": np.where(g_bases > 0,
                                                                      100.0 * g_ge / np.maximum(g_bases, 1),
                                                                      np.nan)})
    summary = {"targets": int(n_t), "bases": int(u_bases),
               "mean_depth": (u_sum / u_bases) if u_bases else float("nan")}
    for k, t in enumerate(thresholds):
        summary[f"pct_ge_{t}"] = 100.0 * int(u_ge[k]) / u_bases if u_bases else float("nan")
    return BedCoverage(bam=str(bam), bed=regions.path, thresholds=thresholds, low_threshold=low_threshold,
                       gene_threshold=gene_threshold, targets=targets, low_coverage=low_df, genes=genes_df,
                       summary=summary, min_mapq=min_mapq, min_bq=min_bq)


def _piece_stats(d, ps, pe, tidx, ts, te, gpart, upart, thresholds, stat_thresholds, low_threshold,
                 gene_threshold):
    """Sums over one depth piece for the targets, genes and union parts that touch it."""
    d64 = d.astype(np.int64)
    cum = np.concatenate(([0], np.cumsum(d64)))
    ge = {t: np.concatenate(([0], np.cumsum(d64 >= t))) for t in stat_thresholds}
    s = np.maximum(ts, ps) - ps
    e = np.minimum(te, pe) - ps
    s_sum = cum[e] - cum[s]
    padded = np.append(d64, 0)
    pairs = np.empty(2 * s.size, dtype=np.int64)
    pairs[0::2], pairs[1::2] = s, e
    s_min = np.minimum.reduceat(padded, pairs)[0::2] if s.size else np.zeros(0, dtype=np.int64)
    s_ge = [ge[t][e] - ge[t][s] for t in thresholds]
    # Low-coverage runs inside each target part.
    pos, which = _expand_intervals(s, e)
    lo_mask = d64[pos] < low_threshold
    b, f = _runs(lo_mask, which)
    low = (tidx[which[b]], pos[b] + ps, pos[f - 1] + 1 + ps, cum[pos[f - 1] + 1] - cum[pos[b]])
    # Genes and the union of targets.
    gs, gend, gi = gpart[0] - ps, gpart[1] - ps, gpart[2]
    gstats = (gi, cum[gend] - cum[gs], gend - gs, ge[gene_threshold][gend] - ge[gene_threshold][gs])
    us, ue = upart[0] - ps, upart[1] - ps
    ustats = (int((cum[ue] - cum[us]).sum()), int((ue - us).sum()),
              np.array([int((ge[t][ue] - ge[t][us]).sum()) for t in thresholds], dtype=np.int64))
    return tidx, s_sum, s_min, s_ge, low, gstats, ustats


def _low_table(parts, regions: BedRegions) -> pd.DataFrame:
    cols = ["chrom", "start", "end", "name", "length", "mean_depth"]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object if c in ("chrom", "name") else np.int64) for c in cols})
    tid = np.concatenate([p[0] for p in parts])
    s = np.concatenate([p[1] for p in parts])
    e = np.concatenate([p[2] for p in parts])
    tot = np.concatenate([p[3] for p in parts])
    order = np.lexsort((s, tid))
    tid, s, e, tot = tid[order], s[order], e[order], tot[order]
    # Runs cut by piece boundaries join again.
    join = np.zeros(s.size, dtype=bool)
    join[1:] = (tid[1:] == tid[:-1]) & (s[1:] == e[:-1])
    grp = np.cumsum(~join) - 1
    first = np.flatnonzero(~join)
    last = np.append(first[1:], s.size) - 1
    tid, s_out, e_out = tid[first], s[first], e[last]
    tot_out = np.bincount(grp, weights=tot).astype(np.int64)
    length = e_out - s_out
    out = pd.DataFrame({"chrom": regions.chrom[tid], "start": s_out, "end": e_out,
                        "name": regions.name[tid] if regions.has_names else "", "length": length,
                        "mean_depth": tot_out / length})
    order = np.lexsort((out["start"].to_numpy(), tid))
    return out.iloc[order].reset_index(drop=True)

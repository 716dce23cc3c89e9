"""Requests and worker functions of the read views. Qt-free.

Everything here runs on worker threads (``QThreadPool`` through
:mod:`raredesk.gui.workers`) or in the snapshot command; nothing touches a
widget. A view builds an immutable request from what it shows, a worker turns
it into a result of numpy arrays, and the view applies the result only when
its request id is still the newest (napari's layer slicer pattern).

pysam handles are never shared between threads: each worker thread keeps a
small cache of opened :class:`~raredesk.io.bam.AlignmentReader` and
:class:`~raredesk.io.fasta.Reference` objects (``threading.local``), so moving
along a locus does not re-open and re-check the files each time. A cached
reader is dropped when its file or index changes on disk.

Reading a window is CPU work that holds the GIL most of the time (pysam
records, then numpy over few thousand elements), so worker *threads* run the
samples of a trio one after the other and compete with the GUI thread. On
Linux and macOS :func:`read_sample` therefore hands the work to a small pool
of worker *processes* (``forkserver``: started from a clean interpreter that
has imported only this module, never from the GUI process, and never running
the application's ``__main__``); the QThreadPool job just waits for it. The
result (numpy arrays) comes back pickled, about 1 ms for a 1 kb window at
100x. Set ``RAREDESK_READ_WORKERS=thread`` to read in the calling thread.

Coordinates: ``start``/``end`` are 0-based half-open; ``pos`` is 1-based.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from raredesk.errors import Cancelled, RareDeskError
from raredesk.io.bam import AlignmentReader, PileupData
from raredesk.io.fasta import Reference
from raredesk.gui.pileup.layout import PreparedTrack, ViewOptions, prepare_track

__all__ = [
    "SampleSource", "PileupSettings", "PileupRequest", "SampleResult", "fetch_sample", "fetch_pileups",
    "ReadDetails", "read_details", "CoverageRequest", "SampleCoverage", "coverage_for_sample", "low_runs",
    "sources_from_case", "MAX_READ_WINDOW", "MAX_LONG_READ_WINDOW", "close_thread_cache",
    "fetch_and_prepare", "read_sample", "warm_up_read_workers", "shutdown_read_workers", "read_worker_mode",
]

#: Widest window whose reads are fetched (IGV's DNA visibility window).
MAX_READ_WINDOW = 30_000
#: Same for long-read data (IGV uses 1 Mb; 100 kb keeps memory modest on 8 GB laptops).
MAX_LONG_READ_WINDOW = 100_000
#: Readers kept open per worker thread.
MAX_CACHED_READERS = 8
#: Widest region the coverage view reads per-base depth for.
MAX_COVERAGE_REGION = 10_000_000

ROLE_ORDER = {"proband": 0, "father": 1, "mother": 2, "sibling": 3, "child": 4, "relative": 5}


# --------------------------------------------------------------------------
# Requests and results
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class SampleSource:
    """One sample's alignments as a read view shows them.

    Attributes
    ----------
    label : str
        Sample id shown on the track.
    path : str
        BAM or CRAM (index beside it).
    role : str or None
        ``proband``, ``father``, ``mother`` ...
    detail : str
        Extra words for the track title (sex, affected status).
    """

    label: str
    path: str
    role: str | None = None
    detail: str = ""

    @property
    def title(self) -> str:
        words = [w for w in (self.role, self.detail) if w]
        return f"{self.label} ({', '.join(words)})" if words else self.label


@dataclass(frozen=True)
class PileupSettings:
    """Read and base filters of a pileup fetch.

    Attributes
    ----------
    min_bq, min_mapq : int
        Filters for the coverage allele counts (reads are drawn whatever their MAPQ).
    max_reads_per_bucket, bucket_size : int
        Downsampling of drawn reads (IGV: 100 reads per 50 bp); 0 turns it off.
    """

    min_bq: int = 13
    min_mapq: int = 0
    max_reads_per_bucket: int = 100
    bucket_size: int = 50


@dataclass(frozen=True)
class PileupRequest:
    """What a pileup view wants drawn: samples, reference and a window.

    Attributes
    ----------
    samples : tuple of SampleSource
    reference : str or None
        Case FASTA (needed for CRAM; gives mismatches for BAM).
    contig : str
        Any naming style.
    start, end : int
        0-based half-open window.
    settings : PileupSettings
    """

    samples: tuple[SampleSource, ...]
    reference: str | None
    contig: str
    start: int
    end: int
    settings: PileupSettings = field(default_factory=PileupSettings)


@dataclass(frozen=True)
class SampleResult:
    """The reads of one sample for a request, or why there are none.

    Attributes
    ----------
    index : int
        Position of the sample in the request.
    source : SampleSource
    data : PileupData or None
    error : str or None
        A one-line message the track shows instead of reads.
    seconds : float
        Time spent reading this sample (for the benchmark and the status line).
    contig_length : int
        Length of the contig in this file (0 when unknown).
    cpu_seconds : float
        CPU time of the worker thread for this sample (independent of machine load).
    """

    index: int
    source: SampleSource
    data: PileupData | None
    error: str | None
    seconds: float
    contig_length: int = 0
    cpu_seconds: float = 0.0


# --------------------------------------------------------------------------
# Per-thread reader cache
# --------------------------------------------------------------------------

_LOCAL = threading.local()


def _signature(path: str) -> tuple:
    st = os.stat(path)
    return (st.st_size, st.st_mtime_ns)


def _index_signature(path: str) -> tuple:
    for cand in (path + ".bai", path + ".csi", path + ".crai", os.path.splitext(path)[0] + ".bai",
                 os.path.splitext(path)[0] + ".crai"):
        if os.path.exists(cand):
            return (cand,) + _signature(cand)
    return ()


def _cached_reference(path: str | None) -> Reference | None:
    if not path:
        return None
    refs: dict = getattr(_LOCAL, "references", None)
    if refs is None:
        refs = _LOCAL.references = {}
    sig = _signature(path)
    hit = refs.get(path)
    if hit is not None and hit[1] == sig:
        return hit[0]
    if hit is not None:
        hit[0].close()
    ref = Reference(path)
    refs[path] = (ref, sig)
    return ref


def cached_reader(path: str, reference: str | None) -> AlignmentReader:
    """An opened, checked reader for this thread (re-opened when the files change).

    Parameters
    ----------
    path : str
        BAM or CRAM.
    reference : str or None
        FASTA path.
    """
    readers: OrderedDict = getattr(_LOCAL, "readers", None)
    if readers is None:
        readers = _LOCAL.readers = OrderedDict()
    key = (os.path.abspath(path), reference or "")
    sig = _signature(path) + _index_signature(path) + ((_signature(reference),) if reference else ())
    hit = readers.get(key)
    if hit is not None and hit[1] == sig:
        readers.move_to_end(key)
        return hit[0]
    if hit is not None:
        readers.pop(key)[0].close()
    reader = AlignmentReader(path, _cached_reference(reference))
    readers[key] = (reader, sig)
    while len(readers) > MAX_CACHED_READERS:
        readers.popitem(last=False)[1][0].close()
    return reader


def close_thread_cache() -> None:
    """Close the readers and FASTA handles cached by the calling thread."""
    for reader, _ in getattr(_LOCAL, "readers", {}).values():
        reader.close()
    for ref, _ in getattr(_LOCAL, "references", {}).values():
        ref.close()
    _LOCAL.readers = OrderedDict()
    _LOCAL.references = {}


# --------------------------------------------------------------------------
# Pileup fetch
# --------------------------------------------------------------------------

def _message(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def fetch_sample(request: PileupRequest, index: int) -> SampleResult:
    """Reads and coverage of one sample of a request (worker thread).

    Problems with the sample's files (missing index, wrong reference, contig
    absent...) become :attr:`SampleResult.error`, shown on its track; other
    samples are unaffected.

    Parameters
    ----------
    request : PileupRequest
    index : int
        Which sample of ``request.samples``.

    Returns
    -------
    SampleResult
    """
    src = request.samples[index]
    t0, c0 = time.perf_counter(), time.thread_time()
    s = request.settings
    try:
        reader = cached_reader(src.path, request.reference)
        data = reader.pileup(request.contig, request.start, request.end, min_bq=s.min_bq, min_mapq=s.min_mapq,
                             max_reads_per_bucket=s.max_reads_per_bucket, bucket_size=s.bucket_size)
        return SampleResult(index, src, data, None, time.perf_counter() - t0, reader.lengths[data.reads.contig],
                            time.thread_time() - c0)
    except (RareDeskError, OSError, ValueError) as exc:
        return SampleResult(index, src, None, _message(exc), time.perf_counter() - t0, 0, time.thread_time() - c0)


def fetch_pileups(request: PileupRequest) -> list[SampleResult]:
    """All samples of a request, one after the other (snapshots, tests)."""
    return [fetch_sample(request, i) for i in range(len(request.samples))]


def fetch_and_prepare(request: PileupRequest, index: int,
                      options: ViewOptions) -> tuple[SampleResult, PreparedTrack | None]:
    """One sample's reads plus its layout for ``options`` (no layout with insertion expansion,
    which needs every sample's reads)."""
    result = fetch_sample(request, index)
    prepared = None
    if result.data is not None and not options.expand_insertions:
        prepared = prepare_track(result.data, options)
    return result, prepared


# --------------------------------------------------------------------------
# Worker processes
# --------------------------------------------------------------------------

_POOL_LOCK = threading.Lock()
_POOL = None
#: Worker processes (2: the cores of the laptops RareDesk targets; a trio's 3 samples take 2 rounds).
READ_PROCESSES = 3


def read_worker_mode() -> str:
    """``process`` or ``thread``: how :func:`read_sample` reads (see the module docstring)."""
    want = os.environ.get("RAREDESK_READ_WORKERS", "auto").lower()
    if want == "thread":
        return "thread"
    usable = ("forkserver" in multiprocessing.get_all_start_methods() and not getattr(sys, "frozen", False)
              and (os.cpu_count() or 1) >= 2)
    return "process" if usable else "thread"


def _init_worker_process() -> None:
    """Allocator settings of a read worker process (glibc only; elsewhere nothing changes).

    Reading a window makes numpy temporaries of 0.1-1 MB. By default glibc
    maps each of those from the kernel and unmaps it on free, so every
    window pays fresh page faults: about a third of the worker's CPU time at
    100x. Serving them from the heap and keeping 16 MB of it mapped between
    windows avoids that; the process is dedicated to reading, and what it
    keeps is bounded by its largest window plus the pad.
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if not name or not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(name)
        m_top_pad, m_mmap_threshold = -2, -3        # <malloc.h>
        libc.mallopt(m_mmap_threshold, 32 << 20)
        libc.mallopt(m_top_pad, 16 << 20)
    except (OSError, AttributeError):
        pass


def _pool():
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            from concurrent.futures import ProcessPoolExecutor

            ctx = multiprocessing.get_context("forkserver")
            # The fork server imports only this module: not the application's __main__, not Qt.
            ctx.set_forkserver_preload([__name__])
            _POOL = ProcessPoolExecutor(max_workers=READ_PROCESSES, mp_context=ctx,
                                        initializer=_init_worker_process)
        return _POOL


def _noop() -> int:
    return os.getpid()


def warm_up_read_workers() -> None:
    """Start the worker processes now (in the background), so the first variant does not wait for them."""
    if read_worker_mode() != "process":
        return
    pool = _pool()
    for _ in range(READ_PROCESSES):
        pool.submit(_noop)


def shutdown_read_workers() -> None:
    """Stop the worker processes (at exit; they are started again when needed)."""
    global _POOL
    with _POOL_LOCK:
        pool, _POOL = _POOL, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


atexit.register(shutdown_read_workers)


def read_sample(request: PileupRequest, index: int,
                options: ViewOptions) -> tuple[SampleResult, PreparedTrack | None]:
    """:func:`fetch_and_prepare` in a worker process (or here, see :func:`read_worker_mode`).

    Call it from a worker thread: it blocks until the sample is read. A
    worker process that dies (out of memory, a crash in htslib) is replaced
    and the sample is read here instead.
    """
    if read_worker_mode() != "process":
        return fetch_and_prepare(request, index, options)
    from concurrent.futures.process import BrokenProcessPool

    try:
        return _pool().submit(fetch_and_prepare, request, index, options).result()
    except BrokenProcessPool:
        shutdown_read_workers()
        return fetch_and_prepare(request, index, options)


def sources_from_case(case) -> list[SampleSource]:
    """Samples of a case that have alignments, proband first, then father, mother, others.

    Parameters
    ----------
    case : raredesk.store.cases.Case
    """
    out = []
    for s in case.samples:
        if not s.alignment_path:
            continue
        words = [w for w in (s.sex, {True: "affected", False: "unaffected"}.get(s.affected)) if w]
        out.append((ROLE_ORDER.get(s.role or "", 9), s.sample_index if s.sample_index is not None else 999,
                    SampleSource(s.sample_id, s.alignment_path, s.role, ", ".join(words))))
    out.sort(key=lambda t: (t[0], t[1]))
    return [t[2] for t in out]


# --------------------------------------------------------------------------
# Read details (click on a read)
# --------------------------------------------------------------------------

_FLAG_NAMES = [(0x1, "paired"), (0x2, "proper pair"), (0x4, "unmapped"), (0x8, "mate unmapped"),
               (0x10, "reverse strand"), (0x20, "mate reverse strand"), (0x40, "first in pair"),
               (0x80, "second in pair"), (0x100, "secondary"), (0x200, "QC fail"), (0x400, "duplicate"),
               (0x800, "supplementary")]


def flag_words(flag: int) -> list[str]:
    """SAM flag bits in words."""
    return [name for bit, name in _FLAG_NAMES if flag & bit]


@dataclass(frozen=True)
class ReadDetails:
    """Everything about one alignment record, for the details panel.

    Attributes
    ----------
    name : str
    flag : int
    contig : str
    start, end : int
        0-based half-open aligned span.
    mapq : int
    cigar : str
    read_length : int
        Query length including soft clips.
    mate : str
        ``contig:pos`` (1-based) of the mate, or "".
    insert_size : int
    tags : tuple of (str, str)
        Optional fields (sequence-sized tags such as MM/ML shortened).
    supplementary : tuple of str
        ``SA`` entries: ``contig:pos strand CIGAR MAPQ``.
    """

    name: str
    flag: int
    contig: str
    start: int
    end: int
    mapq: int
    cigar: str
    read_length: int
    mate: str
    insert_size: int
    tags: tuple[tuple[str, str], ...]
    supplementary: tuple[str, ...]


def read_details(path: str, reference: str | None, contig: str, start: int, name: str, flag: int) -> ReadDetails | None:
    """Look up one record by name, start and flag (worker thread).

    Returns None when the record is no longer there (file replaced).
    """
    reader = cached_reader(path, reference)
    c, lo, hi = reader._window(contig, start, start + 1)
    # _reads decodes with the checks and readable errors of the core reader.
    for r in reader._reads(c, lo, hi):
        if r.query_name == name and r.flag == flag and r.reference_start == start:
            tags = []
            sa: list[str] = []
            for tag, value in r.get_tags():
                if tag == "SA":
                    for part in str(value).strip(";").split(";"):
                        f = part.split(",")
                        if len(f) >= 5:
                            sa.append(f"{f[0]}:{int(f[1]):,} ({f[2]}) {f[3]} MAPQ {f[4]}")
                    continue
                text = str(value) if not hasattr(value, "__len__") or isinstance(value, str) else \
                    ",".join(str(x) for x in list(value)[:12]) + (" ..." if len(value) > 12 else "")
                if len(text) > 80:
                    text = text[:77] + "..."
                tags.append((tag, text))
            mate = ""
            if r.is_paired and not r.mate_is_unmapped:
                mate = f"{r.next_reference_name}:{r.next_reference_start + 1:,}"
            return ReadDetails(name=name, flag=r.flag, contig=c, start=r.reference_start,
                               end=r.reference_end or r.reference_start, mapq=r.mapping_quality,
                               cigar=r.cigarstring or "*", read_length=r.infer_read_length() or 0, mate=mate,
                               insert_size=r.template_length, tags=tuple(tags), supplementary=tuple(sa))
    return None


# --------------------------------------------------------------------------
# Coverage view
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class CoverageRequest:
    """Depth and coverage QC wanted by the coverage view.

    Exactly one of ``region`` and ``bed`` is set.

    Attributes
    ----------
    samples : tuple of SampleSource
    reference : str or None
    region : tuple (contig, start, end) or None
        0-based half-open region.
    bed : str or None
        BED of targets (4th column: gene or exon name).
    thresholds : tuple of int
        Depth lines and ``pct_ge`` columns.
    low_threshold : int
        Bases below this depth form the low-coverage intervals.
    gene_threshold : int
        Depth for the per-gene percentage (20 by default).
    plot_gene : str or None
        BED mode: the gene (BED name) whose per-base depth is plotted; None
        plots the first gene of the BED.
    plot_only : bool
        BED mode: only the per-base depth of ``plot_gene`` (the QC tables
        were computed before).
    min_mapq, min_bq : int
    """

    samples: tuple[SampleSource, ...]
    reference: str | None
    region: tuple[str, int, int] | None = None
    bed: str | None = None
    thresholds: tuple[int, ...] = (10, 20, 30)
    low_threshold: int = 20
    gene_threshold: int = 20
    plot_gene: str | None = None
    plot_only: bool = False
    min_mapq: int = 0
    min_bq: int = 0


@dataclass
class SampleCoverage:
    """Coverage of one sample for a :class:`CoverageRequest`.

    Attributes
    ----------
    index : int
    source : SampleSource
    depth : DepthTrack or None
        Per-base depth over the plotted span.
    targets : pandas.DataFrame or None
        Per target (BED mode).
    genes : pandas.DataFrame or None
        Per gene: ``name``, ``targets``, ``bases``, ``mean_depth``, ``pct_ge_<gene_threshold>``.
    low : pandas.DataFrame
        Low-coverage intervals: ``chrom``, ``start``, ``end``, ``name``, ``length``, ``mean_depth``.
    summary : dict
        ``bases``, ``mean_depth`` and ``pct_ge_<t>`` per threshold.
    plot_span : tuple (contig, start, end) or None
    plot_targets : numpy.ndarray, shape (k, 2)
        Target intervals inside the plotted span (BED mode).
    plot_gene : str or None
        BED mode: the gene (BED name) whose span is plotted.
    error : str or None
    seconds : float
    """

    index: int
    source: SampleSource
    depth: object = None
    targets: pd.DataFrame | None = None
    genes: pd.DataFrame | None = None
    low: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["chrom", "start", "end", "name", "length", "mean_depth"]))
    summary: dict = field(default_factory=dict)
    plot_span: tuple[str, int, int] | None = None
    plot_targets: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), dtype=np.int64))
    plot_gene: str | None = None
    error: str | None = None
    seconds: float = 0.0


def low_runs(depth: np.ndarray, start: int, threshold: int, contig: str, name: str = "") -> pd.DataFrame:
    """Maximal runs of bases with depth below ``threshold``.

    Parameters
    ----------
    depth : numpy.ndarray
        Depth at ``start``, ``start + 1`` ...
    start : int
        0-based coordinate of ``depth[0]``.
    threshold : int
    contig, name : str
        Copied into the ``chrom`` and ``name`` columns.

    Returns
    -------
    pandas.DataFrame
        ``chrom``, ``start``, ``end`` (0-based half-open), ``name``, ``length``, ``mean_depth``.
    """
    low = np.asarray(depth) < threshold
    if not low.any():
        return pd.DataFrame({"chrom": pd.Series(dtype=object), "start": pd.Series(dtype=np.int64),
                             "end": pd.Series(dtype=np.int64), "name": pd.Series(dtype=object),
                             "length": pd.Series(dtype=np.int64), "mean_depth": pd.Series(dtype=float)})
    edges = np.diff(np.concatenate(([0], low.astype(np.int8), [0])))
    s = np.flatnonzero(edges == 1)
    e = np.flatnonzero(edges == -1)
    csum = np.concatenate(([0], np.cumsum(depth, dtype=np.int64)))
    mean = (csum[e] - csum[s]) / (e - s)
    return pd.DataFrame({"chrom": contig, "start": s + start, "end": e + start, "name": name,
                         "length": e - s, "mean_depth": mean})


def _region_summary(depth: np.ndarray, thresholds: Sequence[int]) -> dict:
    out = {"bases": int(depth.size), "mean_depth": float(depth.mean()) if depth.size else float("nan")}
    for t in thresholds:
        out[f"pct_ge_{t}"] = 100.0 * float((depth >= t).mean()) if depth.size else float("nan")
    return out


def coverage_for_sample(request: CoverageRequest, index: int, progress: Callable | None = None,
                        cancel=None) -> SampleCoverage:
    """Depth and coverage QC of one sample (worker thread).

    Region mode: per-base depth over the region, low-coverage runs, summary.
    BED mode: :func:`~raredesk.io.coverage.bed_coverage` (targets, genes,
    low-coverage runs, summary) plus per-base depth over one gene's span for
    the plot.

    Parameters
    ----------
    request : CoverageRequest
    index : int
        Which sample of ``request.samples``.
    progress : callable(done, total, text), optional
    cancel : object with ``is_set()``, optional

    Returns
    -------
    SampleCoverage

    Raises
    ------
    Cancelled
        When ``cancel`` is set.
    """
    from raredesk.io.coverage import bed_coverage, region_depth

    src = request.samples[index]
    t0 = time.perf_counter()
    out = SampleCoverage(index=index, source=src)
    thresholds = tuple(sorted(set(request.thresholds)))
    try:
        if request.region is not None:
            contig, start, end = request.region
            if end - start > MAX_COVERAGE_REGION:
                raise RareDeskError(f"region is {end - start:,} bp; the coverage view plots at most "
                                    f"{MAX_COVERAGE_REGION:,} bp (use a BED of targets)")
            track = region_depth(src.path, contig, start, end, reference=request.reference,
                                 min_mapq=request.min_mapq, min_bq=request.min_bq, threads=1,
                                 progress=progress, cancel=cancel)
            out.depth = track
            out.plot_span = (track.contig, track.start, track.end)
            out.low = low_runs(track.depth, track.start, request.low_threshold, track.contig)
            out.summary = _region_summary(track.depth, thresholds)
        elif request.bed and request.plot_only:
            from raredesk.io.bed import read_bed

            regions = read_bed(request.bed)
            targets = pd.DataFrame({"chrom": regions.chrom, "start": regions.start, "end": regions.end,
                                    **({"name": regions.name} if regions.name is not None else {})})
            genes = pd.DataFrame({"name": pd.unique(regions.name)}) if regions.name is not None else None
            span, tg, out.plot_gene = plot_span(targets, request.plot_gene, genes, request.gene_threshold)
            if span is not None:
                track = region_depth(src.path, span[0], span[1], span[2], reference=request.reference,
                                     min_mapq=request.min_mapq, min_bq=request.min_bq, threads=1, cancel=cancel)
                out.depth = track
                out.plot_span = (track.contig, track.start, track.end)
                out.plot_targets = tg
        elif request.bed:
            cov = bed_coverage(src.path, request.bed, reference=request.reference, thresholds=thresholds,
                               low_threshold=request.low_threshold, gene_threshold=request.gene_threshold,
                               min_mapq=request.min_mapq, min_bq=request.min_bq, threads=1,
                               progress=progress, cancel=cancel)
            out.targets, out.genes, out.low, out.summary = cov.targets, cov.genes, cov.low_coverage, cov.summary
            names = None if cov.genes is None else cov.genes[["name"]]
            span, targets, out.plot_gene = plot_span(cov.targets, request.plot_gene, names,
                                                     request.gene_threshold)
            if span is not None:
                track = region_depth(src.path, span[0], span[1], span[2], reference=request.reference,
                                     min_mapq=request.min_mapq, min_bq=request.min_bq, threads=1, cancel=cancel)
                out.depth = track
                out.plot_span = (track.contig, track.start, track.end)
                out.plot_targets = targets
        else:
            raise RareDeskError("give a region or a BED file")
    except Cancelled:
        raise
    except (RareDeskError, OSError, ValueError) as exc:
        out.error = _message(exc)
    out.seconds = time.perf_counter() - t0
    return out


def plot_span(targets: pd.DataFrame, gene: str | None, genes: pd.DataFrame | None, gene_threshold: int = 20,
              pad: int = 100) -> tuple[tuple[str, int, int] | None, np.ndarray, str | None]:
    """The genomic span plotted for a BED: one gene's targets (or the first target cluster).

    Without ``gene`` (or when the BED has no such name) the gene with the
    lowest ``pct_ge_<gene_threshold>`` in ``genes`` is chosen, or the first
    gene when ``genes`` has no such column.

    Returns
    -------
    tuple
        ``((contig, start, end), targets_in_span, gene)``; the span is at
        most :data:`MAX_COVERAGE_REGION` wide.
    """
    if targets is None or targets.empty:
        return None, np.zeros((0, 2), dtype=np.int64), None
    t = targets
    chosen = None
    if "name" in t.columns and genes is not None and not genes.empty:
        names = set(genes["name"].astype(str))
        if not gene or gene not in names:
            col = f"pct_ge_{gene_threshold}"
            gene = str(genes.sort_values([col, "name"]).iloc[0]["name"]) if col in genes.columns else \
                str(genes.iloc[0]["name"])
        sel = t[t["name"] == gene]
        if not sel.empty:
            t, chosen = sel, gene
    chrom = t["chrom"].iloc[0]
    t = t[t["chrom"] == chrom]
    lo = int(t["start"].min())
    t = t[t["start"] < lo + MAX_COVERAGE_REGION - 2 * pad]
    hi = int(t["end"].max())
    start, end = max(0, lo - pad), hi + pad
    return (str(chrom), start, end), t[["start", "end"]].to_numpy(dtype=np.int64), chosen

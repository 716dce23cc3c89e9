"""Read evidence from BAM and CRAM files, as numpy columns.

Everything here is Qt-free and returns arrays, never per-read Python objects,
so a view can draw thousands of reads with a few vectorised calls.

Main entry points
-----------------
:class:`AlignmentReader`
    An opened and checked BAM/CRAM (index present, not stale, not foreign;
    CRAM reference verified; contig names harmonised). One per thread.
:func:`fetch_pileup`
    Reads (:class:`ReadBatch`) plus per-base allele counts
    (:class:`AlleleCounts`) for a window: what a pileup view needs.
:func:`recount`
    Ref/alt/other read counts by strand at one variant (:class:`RecountResult`).
:func:`pack_rows`, :func:`downsample`
    Row layout and deterministic depth capping for drawing.

Coordinates: ``start``/``end`` are 0-based half-open reference coordinates;
``pos`` is only ever a 1-based VCF position.

CRAM is decoded strictly offline: :func:`configure_offline_htslib` points
htslib's ``REF_PATH``/``REF_CACHE`` at a private empty local directory (never
the EBI server) and the case FASTA is passed explicitly.
"""

from __future__ import annotations

import atexit
import gzip
import heapq
import itertools
import os
import shutil
import tempfile
import threading
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pysam

from raredesk.errors import InputError
from raredesk.io.fasta import ContigResolver, Reference

__all__ = [
    "FLAG_UNMAPPED", "FLAG_SECONDARY", "FLAG_QCFAIL", "FLAG_DUPLICATE", "FLAG_SUPPLEMENTARY",
    "DEFAULT_EXCLUDE_FLAGS", "DISPLAY_EXCLUDE_FLAGS", "ALLELES",
    "configure_offline_htslib",
    "AlignmentReader", "open_alignments",
    "Mismatches", "Insertions", "Gaps", "SoftClips", "ReadBatch", "AlleleCounts", "PileupData",
    "RecountResult",
    "fetch_pileup", "allele_counts", "recount", "pack_rows", "downsample",
]

# SAM flag bits.
FLAG_PAIRED = 0x1
FLAG_UNMAPPED = 0x4
FLAG_MATE_UNMAPPED = 0x8
FLAG_REVERSE = 0x10
FLAG_MATE_REVERSE = 0x20
FLAG_READ1 = 0x40
FLAG_READ2 = 0x80
FLAG_SECONDARY = 0x100
FLAG_QCFAIL = 0x200
FLAG_DUPLICATE = 0x400
FLAG_SUPPLEMENTARY = 0x800

#: Reads left out of depth and allele counts: the samtools depth/mpileup default.
DEFAULT_EXCLUDE_FLAGS = FLAG_UNMAPPED | FLAG_SECONDARY | FLAG_QCFAIL | FLAG_DUPLICATE
#: Reads left out of the drawn pileup (IGV's default: duplicates and QC-failed hidden).
DISPLAY_EXCLUDE_FLAGS = FLAG_UNMAPPED | FLAG_QCFAIL | FLAG_DUPLICATE

#: Allele classes of :attr:`AlleleCounts.counts`, in axis-1 order.
ALLELES = ("A", "C", "G", "T", "N", "del", "ins")
_A_DEL = 5
_A_INS = 6

# CIGAR operations (SAM spec 1.4.6).
_M, _I, _D, _N, _S, _H, _P, _EQ, _X = range(9)
_CONSUMES_REF = np.array([1, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0], dtype=np.int64)
_CONSUMES_QUERY = np.array([1, 1, 0, 0, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0], dtype=np.int64)
_IS_ALIGNED = np.zeros(16, dtype=bool)
_IS_ALIGNED[[_M, _EQ, _X]] = True

_BASE_CODE = np.full(256, 4, dtype=np.uint8)  # anything unexpected counts as N
for _i, _b in enumerate(b"ACGT"):
    _BASE_CODE[_b] = _i
    _BASE_CODE[ord(chr(_b).lower())] = _i
_EQ_CODE = 7
_BASE_CODE[ord("=")] = _EQ_CODE
_CODE_BASE = np.frombuffer(b"ACGTN", dtype=np.uint8)

_BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
# End-of-file containers (CRAM spec section 9): 3.x and 2.1.
_CRAM3_EOF = bytes.fromhex("0f000000ffffffff0fe0454f4600000000010005bdd94f00010006060100"
                           "01000100ee63014b")
_CRAM2_EOF = bytes.fromhex("0b000000ffffffffffe0454f460000000001000001000606010001000100")

# --------------------------------------------------------------------------
# Offline htslib
# --------------------------------------------------------------------------

_OFFLINE_LOCK = threading.Lock()
_OFFLINE_DIR: str | None = None


def configure_offline_htslib() -> dict[str, str]:
    """Make htslib unable to fetch CRAM references from the network.

    When a CRAM needs a reference that is not in the FASTA it was given,
    htslib looks it up by MD5 in ``REF_CACHE`` and ``REF_PATH``; with
    ``REF_PATH`` unset or empty it downloads from the EBI server. This points
    both at a private, empty local directory (created once per process and
    removed at exit), so such a lookup fails locally and RareDesk reports the
    wrong reference instead.

    Returns
    -------
    dict of str to str
        The ``REF_PATH`` and ``REF_CACHE`` values now in ``os.environ``.

    Notes
    -----
    htslib may also try the ``@SQ UR:`` location of a contig that is missing
    from the given FASTA. :class:`AlignmentReader` refuses to decode a contig
    the FASTA does not contain, so that fallback is never reached for the
    contigs RareDesk reads.
    """
    global _OFFLINE_DIR
    with _OFFLINE_LOCK:
        if _OFFLINE_DIR is None or not os.path.isdir(_OFFLINE_DIR):
            _OFFLINE_DIR = tempfile.mkdtemp(prefix="raredesk-no-remote-ref-")
            atexit.register(shutil.rmtree, _OFFLINE_DIR, True)
        ref_path = os.path.join(_OFFLINE_DIR, "%s")
        ref_cache = os.path.join(_OFFLINE_DIR, "%2s", "%2s", "%s")
        os.environ["REF_PATH"] = ref_path
        os.environ["REF_CACHE"] = ref_cache
        return {"REF_PATH": ref_path, "REF_CACHE": ref_cache}


# --------------------------------------------------------------------------
# Result types
# --------------------------------------------------------------------------

def _empty(dtype) -> np.ndarray:
    return np.zeros(0, dtype=dtype)


@dataclass(frozen=True)
class Mismatches:
    """Read bases that differ from the reference, one row per base.

    Attributes
    ----------
    read : numpy.ndarray of int32
        Index of the read in the owning :class:`ReadBatch`.
    start : numpy.ndarray of int64
        0-based reference coordinate of the base.
    base : numpy.ndarray of uint8
        The read base as an ASCII code (``ord("A")``...).
    qual : numpy.ndarray of uint8
        Its base quality (255 when the read has no qualities).
    """

    read: np.ndarray
    start: np.ndarray
    base: np.ndarray
    qual: np.ndarray


@dataclass(frozen=True)
class Insertions:
    """Insertions, one row per CIGAR ``I`` operation.

    Attributes
    ----------
    read : numpy.ndarray of int32
        Index of the read in the owning :class:`ReadBatch`.
    start : numpy.ndarray of int64
        0-based reference coordinate the inserted bases sit in front of (the
        anchor base is ``start - 1``).
    length : numpy.ndarray of int32
        Number of inserted bases.
    sequence : numpy.ndarray of object
        The inserted bases (str).
    """

    read: np.ndarray
    start: np.ndarray
    length: np.ndarray
    sequence: np.ndarray


@dataclass(frozen=True)
class Gaps:
    """Deletions (``D``) or reference skips (``N``), one row per operation.

    Attributes
    ----------
    read : numpy.ndarray of int32
        Index of the read in the owning :class:`ReadBatch`.
    start, end : numpy.ndarray of int64
        0-based half-open reference interval that the read skips.
    """

    read: np.ndarray
    start: np.ndarray
    end: np.ndarray


@dataclass(frozen=True)
class SoftClips:
    """Soft-clipped read ends, one row per CIGAR ``S`` operation.

    Attributes
    ----------
    read : numpy.ndarray of int32
        Index of the read in the owning :class:`ReadBatch`.
    start : numpy.ndarray of int64
        0-based reference coordinate of the clip boundary (the read's aligned
        start for a left clip, its aligned end for a right clip).
    length : numpy.ndarray of int32
        Number of clipped bases.
    is_left : numpy.ndarray of bool
        True for a clip at the left (5' on the forward strand) end.
    """

    read: np.ndarray
    start: np.ndarray
    length: np.ndarray
    is_left: np.ndarray


@dataclass(frozen=True)
class ReadBatch:
    """The reads of a window, as columns ready for drawing.

    All per-read arrays have one entry per shown read, sorted by ``read_start``.

    Attributes
    ----------
    contig : str
        Contig name as written in the BAM/CRAM.
    start, end : int
        The requested window (0-based half-open).
    read_start, read_end : numpy.ndarray of int64
        Aligned reference span of each read (0-based half-open, clips excluded).
    mapq : numpy.ndarray of uint8
        Mapping quality.
    is_reverse : numpy.ndarray of bool
        Read aligned to the reverse strand.
    flag : numpy.ndarray of uint16
        SAM flags.
    name : numpy.ndarray of object
        Read names (str).
    insert_size : numpy.ndarray of int64
        SAM TLEN (0 when not paired on one contig).
    mate_contig : numpy.ndarray of object
        Contig of the mate ("" when unpaired or mate unmapped).
    mate_start : numpy.ndarray of int64
        0-based mate start (-1 when none).
    pair_orientation : numpy.ndarray of object
        ``"F1R2"``-style orientation of the pair, leftmost mate first (strand
        F/R and read number 1/2 of each mate); "" when it does not apply.
    hp : numpy.ndarray of int16
        Haplotype (``HP`` tag), 0 when absent.
    is_supplementary : numpy.ndarray of bool
        Supplementary alignment (flag 0x800).
    is_split : numpy.ndarray of bool
        Part of a split alignment (supplementary or carrying an ``SA`` tag).
    row : numpy.ndarray of int32
        Display row from :func:`pack_rows`.
    mismatches : Mismatches
        Bases differing from the reference, inside the window.
    insertions : Insertions
        Insertions anchored inside the window.
    deletions, ref_skips : Gaps
        ``D`` and ``N`` operations overlapping the window.
    soft_clips : SoftClips
        Soft clips whose boundary lies inside the window.
    total_reads : int
        Reads in the window that passed the display flag filter.
    hidden_reads : int
        Of those, how many downsampling hid.
    hidden_intervals : numpy.ndarray of int64, shape (k, 2)
        Sampling buckets (0-based half-open) where reads were hidden.
    mismatch_source : str
        ``"reference"`` (compared with the FASTA), ``"cigar"`` (only ``X``
        operations, no FASTA given) or ``"none"``.
    """

    contig: str
    start: int
    end: int
    read_start: np.ndarray
    read_end: np.ndarray
    mapq: np.ndarray
    is_reverse: np.ndarray
    flag: np.ndarray
    name: np.ndarray
    insert_size: np.ndarray
    mate_contig: np.ndarray
    mate_start: np.ndarray
    pair_orientation: np.ndarray
    hp: np.ndarray
    is_supplementary: np.ndarray
    is_split: np.ndarray
    row: np.ndarray
    mismatches: Mismatches
    insertions: Insertions
    deletions: Gaps
    ref_skips: Gaps
    soft_clips: SoftClips
    total_reads: int
    hidden_reads: int
    hidden_intervals: np.ndarray
    mismatch_source: str

    def __len__(self) -> int:
        return int(self.read_start.shape[0])


@dataclass(frozen=True)
class AlleleCounts:
    """Per-base depth and allele counts by strand over a window.

    Attributes
    ----------
    contig : str
        Contig name as written in the BAM/CRAM.
    start, end : int
        The window (0-based half-open); index ``i`` is coordinate ``start + i``.
    depth : numpy.ndarray of int32
        Reads with an aligned base at each position, no base-quality filter
        and deletions not counted: the same number as ``samtools depth -a``
        with the same MAPQ and flag filters.
    counts : numpy.ndarray of int32, shape (end - start, 7, 2)
        Axis 1 follows :data:`ALLELES` (A, C, G, T, N, del, ins); axis 2 is
        forward (0) and reverse (1) strand. Bases and deletions need base
        quality >= ``min_bq``. A deletion is judged by the quality of the read
        base after it, and an insertion is counted at its anchor base (the
        base before it) and judged by that base's quality, as samtools mpileup
        does.
    min_bq, min_mapq : int
        Filters used.
    reference : str or None
        Reference bases of the window (uppercase), when a FASTA was given.
    """

    contig: str
    start: int
    end: int
    depth: np.ndarray
    counts: np.ndarray
    min_bq: int
    min_mapq: int
    reference: str | None = None

    def allele(self, name: str, strand: str | None = None) -> np.ndarray:
        """Counts of one allele class per position.

        Parameters
        ----------
        name : str
            One of :data:`ALLELES`.
        strand : {"+", "-", None}
            One strand, or both summed.
        """
        k = ALLELES.index(name)
        if strand is None:
            return self.counts[:, k, :].sum(axis=1)
        return self.counts[:, k, 0 if strand == "+" else 1]

    @property
    def base_depth(self) -> np.ndarray:
        """Bases passing the quality filter per position (A+C+G+T+N, both strands)."""
        return self.counts[:, :5, :].sum(axis=(1, 2))


@dataclass(frozen=True)
class PileupData:
    """What a pileup view needs for one window of one sample.

    Attributes
    ----------
    reads : ReadBatch
        The reads to draw (after downsampling).
    coverage : AlleleCounts
        Depth and allele counts from all reads (never downsampled).
    sample : str
        Sample name from the read groups (``SM``), "" when absent.
    warnings : tuple of str
        Non-fatal problems found when opening the file.
    """

    reads: ReadBatch
    coverage: AlleleCounts
    sample: str
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class RecountResult:
    """Read support for one variant, by strand.

    Attributes
    ----------
    contig : str
        Contig as written in the BAM/CRAM.
    pos : int
        1-based VCF position as given.
    ref, alt : str
        Alleles as given.
    kind : str
        ``"snv"``, ``"mnv"``, ``"insertion"``, ``"deletion"`` or ``"complex"``.
    ref_fwd, ref_rev, alt_fwd, alt_rev, other_fwd, other_rev : int
        Reads supporting each allele on the forward and reverse strand. For
        indels "ref" means a base at the anchor without an indel after it,
        "other" a different indel or a deletion spanning the anchor.
    min_bq, min_mapq : int
        Filters used.
    """

    contig: str
    pos: int
    ref: str
    alt: str
    kind: str
    ref_fwd: int
    ref_rev: int
    alt_fwd: int
    alt_rev: int
    other_fwd: int
    other_rev: int
    min_bq: int
    min_mapq: int

    @property
    def ref_count(self) -> int:
        return self.ref_fwd + self.ref_rev

    @property
    def alt_count(self) -> int:
        return self.alt_fwd + self.alt_rev

    @property
    def other_count(self) -> int:
        return self.other_fwd + self.other_rev

    @property
    def depth(self) -> int:
        """All counted reads (ref + alt + other)."""
        return self.ref_count + self.alt_count + self.other_count

    @property
    def vaf(self) -> float:
        """alt / (ref + alt + other); NaN without reads."""
        d = self.depth
        return self.alt_count / d if d else float("nan")

    def as_dict(self) -> dict:
        """Plain dict for JSON output and reports."""
        return {
            "contig": self.contig, "pos": self.pos, "ref": self.ref, "alt": self.alt, "kind": self.kind,
            "ref_fwd": self.ref_fwd, "ref_rev": self.ref_rev,
            "alt_fwd": self.alt_fwd, "alt_rev": self.alt_rev,
            "other_fwd": self.other_fwd, "other_rev": self.other_rev,
            "depth": self.depth, "vaf": None if self.depth == 0 else round(self.vaf, 6),
            "min_bq": self.min_bq, "min_mapq": self.min_mapq,
        }


# --------------------------------------------------------------------------
# Opening and checking
# --------------------------------------------------------------------------

def _index_candidates(path: Path, is_cram: bool) -> list[Path]:
    if is_cram:
        return [Path(str(path) + ".crai"), path.with_suffix(".crai")]
    cands = [Path(str(path) + ".bai"), Path(str(path) + ".csi")]
    if path.suffix.lower() == ".bam":
        cands.insert(1, path.with_suffix(".bai"))
    return cands


def _sniff_format(path: Path) -> str:
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head == b"CRAM":
        return "CRAM"
    if head[:2] == b"\x1f\x8b":
        return "BAM"
    raise InputError("not a BAM or CRAM file (an uncompressed SAM cannot be indexed; "
                     "convert it with 'samtools sort -o out.bam')", str(path))


def _close_quietly(af) -> None:
    # pysam's close raises after a failed decode; closing here keeps that
    # error (and a second one from __dealloc__) from escaping.
    try:
        af.close()
    except Exception:  # noqa: BLE001 - nothing useful to do with a failed close
        pass


class AlignmentReader:
    """An opened, checked BAM or CRAM with its index.

    Not thread-safe: open one reader per thread (they are cheap to open).

    Parameters
    ----------
    path : str or path-like
        BAM or CRAM file.
    reference : str, path-like or Reference, optional
        The case FASTA. Required for CRAM; for BAM it enables mismatch
        colouring and REF checks.
    index : str or path-like, optional
        Index file, when it is not beside the data file.
    expected_contigs : iterable of str or mapping of str to int, optional
        Contigs that must be present (for example the VCF contigs that carry
        variants); any naming style. With lengths, lengths are compared too.
    threads : int
        htslib decompression threads.

    Attributes
    ----------
    path, index_path : str
        Data and index files.
    format : str
        ``"BAM"`` or ``"CRAM"``.
    lengths : dict of str to int
        ``@SQ`` contigs and lengths.
    resolver : ContigResolver
        Maps any naming style onto this file's contig names.
    samples : tuple of str
        ``SM`` values of the read groups.
    reference : Reference or None
        The opened FASTA.
    warnings : list of str
        Non-fatal findings (for example a FASTA whose MD5 differs from the
        ``@SQ M5`` tag but that still decodes the reads: a masked or partial
        copy of the right reference).

    Raises
    ------
    InputError
        Missing file or index, stale or foreign index, truncated file, wrong or
        missing CRAM reference, contig mismatch.
    """

    def __init__(self, path: str | os.PathLike, reference: str | os.PathLike | Reference | None = None, *,
                 index: str | os.PathLike | None = None,
                 expected_contigs: Iterable[str] | Mapping[str, int] | None = None,
                 threads: int = 1, _required_fields: int | None = None, _probe: bool = True):
        configure_offline_htslib()
        self.path = str(path)
        p = Path(self.path)
        if not p.is_file():
            raise InputError("alignment file not found", self.path)
        self.format = _sniff_format(p)
        is_cram = self.format == "CRAM"
        self._check_eof(p)
        # Index: present, not older than the data.
        if index is not None:
            idx = Path(index)
            if not idx.is_file():
                raise InputError("index file not found", str(idx))
        else:
            idx = next((c for c in _index_candidates(p, is_cram) if c.is_file()), None)
            if idx is None:
                want = ".crai" if is_cram else ".bai or .csi"
                raise InputError(f"no index ({want}) beside it; create one with 'samtools index'", self.path)
        self.index_path = str(idx)
        if idx.stat().st_mtime < p.stat().st_mtime:
            raise InputError(f"index {idx.name} is older than the {self.format} file (stale index); "
                             "re-create it with 'samtools index'", self.path)
        # Reference.
        self._own_reference = False
        if isinstance(reference, Reference) or reference is None:
            self.reference = reference
        else:
            self.reference = Reference(reference)
            self._own_reference = True
        if is_cram and self.reference is None:
            raise InputError("a CRAM can only be decoded with its reference FASTA; give the reference", self.path)
        kwargs = {"index_filename": self.index_path, "threads": max(1, int(threads))}
        if is_cram:
            kwargs["reference_filename"] = self.reference.path
        if _required_fields is not None and is_cram:
            kwargs["format_options"] = [f"required_fields={_required_fields:#x}".encode()]
        self._open_args = ("rc" if is_cram else "rb", kwargs)
        try:
            self._af = pysam.AlignmentFile(self.path, "rc" if is_cram else "rb", **kwargs)
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot open {self.format}: {exc}", self.path) from None
        try:
            hdr = self._af.header.to_dict()
            self.lengths = {sq["SN"]: int(sq["LN"]) for sq in hdr.get("SQ", [])}
            self._m5 = {sq["SN"]: sq["M5"].lower() for sq in hdr.get("SQ", []) if sq.get("M5")}
            self.samples = tuple(dict.fromkeys(rg["SM"] for rg in hdr.get("RG", []) if rg.get("SM")))
            self.resolver = ContigResolver(self.lengths, self.path, self.format)
            self.warnings: list[str] = []
            self._verified: dict[str, bool] = {}
            if is_cram:
                self._check_cram_reference_names()
            if expected_contigs is not None:
                self.check_contigs(expected_contigs)
            if _probe:
                self._probe_index()
        except BaseException:
            self.close()
            raise

    # -- checks ------------------------------------------------------------

    def _check_eof(self, p: Path) -> None:
        size = p.stat().st_size
        with open(p, "rb") as fh:
            head = fh.read(6)
            fh.seek(max(0, size - 38))
            tail = fh.read(38)
        if self.format == "BAM":
            ok = tail[-28:] == _BGZF_EOF
        elif head[4] >= 3:
            ok = tail == _CRAM3_EOF
        elif head[4] == 2 and head[5] >= 1:
            ok = tail[-len(_CRAM2_EOF):] == _CRAM2_EOF
        else:
            ok = True  # CRAM 1.x/2.0 have no end-of-file container
        if not ok:
            raise InputError(f"the {self.format} is truncated or incomplete (no end-of-file marker); "
                             "copy or create it again", self.path)

    def _check_cram_reference_names(self) -> None:
        ref = self.reference
        shared = [c for c in self.lengths if c in ref.lengths]
        if not shared:
            sample = ", ".join(list(self.lengths)[:3])
            mine = ", ".join(list(ref.lengths)[:3]) or "no contigs"
            detail = ""
            # Say whether the sequence would be right under the other name.
            for c in self.lengths:
                other = ref.resolver.find(c)
                if other is not None and self._m5.get(c):
                    same = ref.md5(other) == self._m5[c]
                    detail = (f"; {other} there has {'the same sequence as' if same else 'another sequence than'} "
                              f"{c} here (MD5 {ref.md5(other)} vs @SQ M5 {self._m5[c]})")
                    break
            raise InputError(
                f"wrong reference for this CRAM: its contigs ({sample}, ...) are not in "
                f"{Path(ref.path).name} (which has {mine}){detail}; a CRAM decodes only with the FASTA it "
                "was written against, contig names included", self.path)
        for c in shared:
            if ref.lengths[c] != self.lengths[c]:
                raise InputError(
                    f"wrong reference for this CRAM: {c} is {self.lengths[c]:,} bp in the CRAM but "
                    f"{ref.lengths[c]:,} bp in {Path(ref.path).name}", self.path)

    def _probe_index(self) -> None:
        """Decode the first record the index points to, to catch a foreign index."""
        contigs: list[str] = []
        if self.format == "BAM":
            try:
                stats = self._af.get_index_statistics()
            except (OSError, ValueError) as exc:
                raise InputError(f"index {Path(self.index_path).name} cannot be read: {exc}", self.path) from None
            contigs = [s.contig for s in stats if s.mapped > 0][:2]
        else:
            contigs = self._crai_contigs()[:1]
        for c in contigs:
            if self.format == "CRAM" and c not in self.reference.lengths:
                continue  # checked (with a clear message) when that contig is read
            try:
                it = self._af.fetch(c)
                first = next(it, None)
            except (OSError, ValueError):
                _close_quietly(self._af)
                if self.format == "CRAM" and self._m5.get(c) and self._m5[c] != self.reference.md5(c):
                    raise self._wrong_reference_error(c) from None
                raise InputError(f"index {Path(self.index_path).name} does not belong to this "
                                 f"{self.format} (reading {c} through it fails); re-create it with "
                                 "'samtools index'", self.path) from None
            if first is not None and first.reference_name != c:
                raise InputError(f"index {Path(self.index_path).name} does not belong to this {self.format}",
                                 self.path)

    def _crai_contigs(self) -> list[str]:
        names = list(self.lengths)
        try:
            with gzip.open(self.index_path, "rt") as fh:
                for line in fh:
                    cols = line.split("\t")
                    if cols and cols[0].lstrip("-").isdigit() and int(cols[0]) >= 0:
                        tid = int(cols[0])
                        if tid >= len(names):
                            raise InputError(f"index {Path(self.index_path).name} does not belong to this "
                                             "CRAM (it names a contig the CRAM does not have)", self.path)
                        return [names[tid]]
        except (OSError, EOFError, ValueError):
            raise InputError(f"index {Path(self.index_path).name} is not a readable CRAM index", self.path) from None
        return []

    def check_contigs(self, expected: Iterable[str] | Mapping[str, int]) -> dict[str, str]:
        """Check that contigs named elsewhere (a VCF) exist in this file.

        Parameters
        ----------
        expected : iterable of str or mapping of str to int
            Contig names in any style (``chr20`` and ``20`` both match ``20``),
            optionally with lengths.

        Returns
        -------
        dict of str to str
            Each expected name mapped to this file's name.

        Raises
        ------
        InputError
            One message listing every contig that is absent or has another length.
        """
        lengths = dict(expected) if isinstance(expected, Mapping) else dict.fromkeys(expected)
        found: dict[str, str] = {}
        missing: list[str] = []
        for name, length in lengths.items():
            if self.resolver.find(name) is None:
                missing.append(name)
            else:
                found[name] = self.resolver.resolve(name, length)  # raises when lengths differ
        if missing:
            have = ", ".join(list(self.lengths)[:6])
            raise InputError(
                f"contig{'s' if len(missing) > 1 else ''} {', '.join(missing)} from the variants "
                f"{'are' if len(missing) > 1 else 'is'} not in this {self.format} (it has {have}"
                f"{', ...' if len(self.lengths) > 6 else ''}); is it the right sample and build?", self.path)
        return found

    def _wrong_reference_error(self, contig: str) -> InputError:
        want = self._m5.get(contig, "?")
        have = self.reference.md5(contig) if contig in self.reference.lengths else "absent"
        return InputError(
            f"wrong reference for this CRAM: {contig} in {Path(self.reference.path).name} has MD5 {have} "
            f"but the CRAM was written against MD5 {want} (@SQ M5), and its reads do not decode with it",
            self.path)

    def reference_verified(self, contig: str) -> bool:
        """True when the FASTA's MD5 for ``contig`` equals the header's ``@SQ M5``.

        Only then may a CRAM be decoded without its bases (no slice checksum
        is computed in that case); otherwise RareDesk decodes the bases so that
        htslib checks every slice against the FASTA.
        """
        self._verify_contig(contig)
        return self._verified[contig]

    def _verify_contig(self, contig: str) -> None:
        """Check the FASTA for one contig before reading it (CRAM: required)."""
        if contig in self._verified:
            return
        verified = False
        if self.format == "CRAM":
            ref = self.reference
            if contig not in ref.lengths:
                raise InputError(
                    f"wrong reference for this CRAM: {Path(ref.path).name} has no contig {contig!r}, which "
                    "the CRAM needs to decode its reads", self.path)
            want = self._m5.get(contig)
            verified = bool(want) and ref.md5(contig) == want
            if want and not verified:
                self.warnings.append(
                    f"{contig}: reference MD5 {ref.md5(contig)} differs from the CRAM's @SQ M5 {want}; reads "
                    "are used only where they decode (htslib checks each slice), as with a masked or partial "
                    "copy of the right reference")
        elif self.reference is not None:
            name = self.reference.resolver.find(contig)
            if name is not None and self.reference.lengths[name] != self.lengths[contig]:
                raise InputError(
                    f"reference {Path(self.reference.path).name} does not match this BAM: {contig} is "
                    f"{self.lengths[contig]:,} bp here but {self.reference.lengths[name]:,} bp there "
                    "(different genome build?)", self.path)
            want = self._m5.get(contig)
            if name is not None and want:
                verified = self.reference.md5(name) == want
                if not verified:
                    self.warnings.append(f"{contig}: reference MD5 differs from the BAM's @SQ M5 {want}")
        self._verified[contig] = verified

    # -- basic access ------------------------------------------------------

    def close(self) -> None:
        """Close the file (and the FASTA when this reader opened it)."""
        af = getattr(self, "_af", None)
        if af is not None:
            _close_quietly(af)
            self._af = None
        if getattr(self, "_own_reference", False) and self.reference is not None:
            self.reference.close()
            self.reference = None

    def __enter__(self) -> "AlignmentReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def sample(self) -> str:
        """First read-group sample name, "" when there is none."""
        return self.samples[0] if self.samples else ""

    def resolve(self, contig: str) -> str:
        """Return this file's name for ``contig`` (``chr20`` -> ``20`` etc.)."""
        return self.resolver.resolve(contig)

    def tid(self, contig: str) -> int:
        """0-based index of ``contig`` among the ``@SQ`` lines."""
        return self.resolver.names.index(self.resolve(contig))

    def _window(self, contig: str, start: int, end: int) -> tuple[str, int, int]:
        name = self.resolve(contig)
        length = self.lengths[name]
        start, end = int(start), int(end)
        if start < 0 or end <= start or start >= length:
            raise InputError(f"window {contig}:{start + 1}-{end} is empty or outside {name} "
                             f"(1-{length:,})", self.path)
        return name, start, min(end, length)

    def _reads(self, contig: str, start: int, end: int) -> list:
        """All records overlapping the window, decoded (errors made readable)."""
        self._verify_contig(contig)
        try:
            return list(self._af.fetch(contig, start, end))
        except (OSError, ValueError) as exc:
            raise self._decode_error(contig, start, end, exc) from None

    def _decode_error(self, contig: str, start: int, end: int, exc: Exception) -> InputError:
        if self.format == "CRAM" and contig in self.reference.lengths:
            want = self._m5.get(contig)
            if want and want != self.reference.md5(contig):
                return self._wrong_reference_error(contig)
        return InputError(f"reads in {contig}:{start + 1}-{end} cannot be decoded ({exc}); the file is "
                          "damaged, truncated, or its index belongs to another file", self.path)

    def count_reads(self, contig: str | None = None, start: int | None = None, end: int | None = None, *,
                    exclude_flags: int = 0) -> int:
        """Count records, like ``samtools view -c [-F flags] file [region]``.

        Parameters
        ----------
        contig : str, optional
            Any naming style; None counts every record in the file
            (unmapped ones included).
        start, end : int, optional
            0-based half-open window on ``contig`` (whole contig when omitted).
        exclude_flags : int
            Records with any of these flags are not counted.
        """
        fresh = None
        try:
            if contig is None:
                # until_eof reads on from the current position, and a CRAM
                # cannot seek back: use a handle of its own.
                mode, kwargs = self._open_args
                fresh = pysam.AlignmentFile(self.path, mode, **kwargs)
                it = fresh.fetch(until_eof=True)
            else:
                name = self.resolve(contig)
                self._verify_contig(name)
                if start is None:
                    it = self._af.fetch(name)
                else:
                    name, s, e = self._window(name, start, self.lengths[name] if end is None else end)
                    it = self._af.fetch(name, s, e)
            return sum(1 for r in it if not (r.flag & exclude_flags))
        except (OSError, ValueError) as exc:
            where = contig or next(iter(self.lengths), "?")
            raise self._decode_error(where, start or 0, end or 0, exc) from None
        finally:
            if fresh is not None:
                _close_quietly(fresh)

    # -- depth -------------------------------------------------------------

    def depth(self, contig: str, start: int, end: int, *, min_mapq: int = 0, min_bq: int = 0,
              exclude_flags: int = DEFAULT_EXCLUDE_FLAGS, count_deletions: bool = False) -> np.ndarray:
        """Per-base depth over a window, as ``samtools depth -a`` counts it.

        Parameters
        ----------
        contig : str
            Any naming style.
        start, end : int
            0-based half-open window.
        min_mapq : int
            Skip reads with lower mapping quality (``samtools depth -Q``).
        min_bq : int
            Skip bases with lower base quality (``samtools depth -q``). Zero
            uses a faster path that never looks at bases.
        exclude_flags : int
            Skip reads with any of these flags.
        count_deletions : bool
            Count reads with a deletion at a position (``samtools depth -J``).

        Returns
        -------
        numpy.ndarray of int32
            Depth at ``start .. end-1`` (clipped to the contig).
        """
        name, start, end = self._window(contig, start, end)
        self._verify_contig(name)
        try:
            if min_bq <= 0:
                return _depth_by_blocks(self._af.fetch(name, start, end), start, end,
                                        min_mapq, exclude_flags, count_deletions)
            return _depth_by_bases(self._af.fetch(name, start, end), start, end, min_mapq, min_bq,
                                   exclude_flags, count_deletions)
        except (OSError, ValueError) as exc:
            raise self._decode_error(name, start, end, exc) from None

    # -- pileup ------------------------------------------------------------

    def allele_counts(self, contig: str, start: int, end: int, *, min_bq: int = 13, min_mapq: int = 0,
                      exclude_flags: int = DEFAULT_EXCLUDE_FLAGS) -> AlleleCounts:
        """Depth and allele counts by strand over a window; see :class:`AlleleCounts`."""
        name, start, end = self._window(contig, start, end)
        reads = self._reads(name, start, end)
        ref_seq = self._ref_window(name, start, end)
        return _allele_counts(name, start, end, reads, ref_seq, min_bq, min_mapq, exclude_flags)

    def pileup(self, contig: str, start: int, end: int, *, min_bq: int = 13, min_mapq: int = 0,
               count_exclude_flags: int = DEFAULT_EXCLUDE_FLAGS,
               display_exclude_flags: int = DISPLAY_EXCLUDE_FLAGS,
               max_reads_per_bucket: int = 100, bucket_size: int = 50, seed: int = 0,
               row_gap: int = 2) -> PileupData:
        """Reads and coverage of a window from one pass over the file.

        Parameters
        ----------
        contig : str
            Any naming style.
        start, end : int
            0-based half-open window.
        min_bq, min_mapq : int
            Filters for the allele counts (reads are drawn whatever their MAPQ).
        count_exclude_flags, display_exclude_flags : int
            Reads skipped for counting and for drawing.
        max_reads_per_bucket, bucket_size : int
            Downsampling: at most this many drawn reads start in each
            ``bucket_size`` bp bucket (IGV's default is 100 per 50 bp); 0
            turns it off. Coverage always uses every read.
        seed : int
            Makes the downsampling choice reproducible (and independent of
            the window, so panning keeps the same reads).
        row_gap : int
            Minimum gap in bp between reads that share a row.

        Returns
        -------
        PileupData
        """
        name, start, end = self._window(contig, start, end)
        reads = self._reads(name, start, end)
        ref_seq = self._ref_window(name, start, end)
        coverage, batch = _pileup(name, start, end, reads, ref_seq, min_bq=min_bq, min_mapq=min_mapq,
                                  count_exclude=count_exclude_flags, display_exclude=display_exclude_flags,
                                  max_per_bucket=max_reads_per_bucket, bucket_size=bucket_size, seed=seed,
                                  row_gap=row_gap)
        return PileupData(reads=batch, coverage=coverage, sample=self.sample, warnings=tuple(self.warnings))

    def _ref_window(self, contig: str, start: int, end: int) -> str | None:
        if self.reference is None:
            return None
        name = self.reference.resolver.find(contig)
        if name is None:
            self.warnings.append(f"{contig} is not in the reference FASTA; mismatches are taken from the CIGAR")
            return None
        return self.reference.fetch(name, start, end)


def open_alignments(path: str | os.PathLike, reference: str | os.PathLike | Reference | None = None, *,
                    index: str | os.PathLike | None = None,
                    expected_contigs: Iterable[str] | Mapping[str, int] | None = None,
                    threads: int = 1) -> AlignmentReader:
    """Open and check a BAM/CRAM; see :class:`AlignmentReader`."""
    return AlignmentReader(path, reference, index=index, expected_contigs=expected_contigs, threads=threads)


# --------------------------------------------------------------------------
# Depth engines
# --------------------------------------------------------------------------

def _depth_by_blocks(records, start: int, end: int, min_mapq: int, exclude: int,
                     count_deletions: bool) -> np.ndarray:
    """Depth from aligned blocks with a difference array; bases are never read.

    One Python step per read (the BAM decoding dominates); ``get_blocks`` is
    only needed for the few reads whose CIGAR has ``D`` or ``N``.
    """
    n = end - start
    starts: list[int] = []
    ends: list[int] = []
    add_s = starts.append
    add_e = ends.append
    for r in records:
        if r.flag & exclude or r.mapping_quality < min_mapq:
            continue
        cig = r.cigarstring
        if not cig:
            continue
        if "N" in cig or ("D" in cig and not count_deletions):
            if count_deletions:
                for bs, be in _blocks_with_deletions(r.cigartuples, r.reference_start):
                    add_s(bs)
                    add_e(be)
            else:
                for bs, be in r.get_blocks():
                    add_s(bs)
                    add_e(be)
        else:
            add_s(r.reference_start)
            add_e(r.reference_end)
    return _diff_depth(np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64), start, n)


def _blocks_with_deletions(cigar, ref_start: int) -> list[tuple[int, int]]:
    out = []
    pos = ref_start
    for op, ln in cigar:
        if op in (_M, _D, _EQ, _X):
            out.append((pos, pos + ln))
            pos += ln
        elif op == _N:
            pos += ln
    return out


def _diff_depth(starts: np.ndarray, ends: np.ndarray, origin: int, n: int) -> np.ndarray:
    s = np.clip(starts - origin, 0, n)
    e = np.clip(ends - origin, 0, n)
    keep = e > s
    diff = np.bincount(s[keep], minlength=n + 1)[: n + 1] - np.bincount(e[keep], minlength=n + 1)[: n + 1]
    return np.cumsum(diff[:n]).astype(np.int32)


def _depth_by_bases(records, start: int, end: int, min_mapq: int, min_bq: int, exclude: int,
                    count_deletions: bool) -> np.ndarray:
    """Depth with a base-quality filter: vectorised over aligned bases in read batches."""
    n = end - start
    depth = np.zeros(n, dtype=np.int64)
    for chunk in _batched(r for r in records if not (r.flag & exclude) and r.mapping_quality >= min_mapq):
        g = _gather(chunk)
        pos, qidx, _ = _expand(g, g.aligned, start, end)
        ok = g.qual[qidx] >= min_bq
        depth += np.bincount(pos[ok] - start, minlength=n)
        if count_deletions:
            pos, qnext, _ = _expand(g, g.deleted, start, end, advance_query=False)
            ok = _qual_at(g, qnext) >= min_bq
            depth += np.bincount(pos[ok] - start, minlength=n)
    return depth.astype(np.int32)


def _batched(it, max_bases: int = 3_000_000):
    batch: list = []
    bases = 0
    for r in it:
        batch.append(r)
        bases += r.query_length or 1
        if bases >= max_bases:
            yield batch
            batch, bases = [], 0
    if batch:
        yield batch


# --------------------------------------------------------------------------
# Vectorised read columns
# --------------------------------------------------------------------------

@dataclass
class _Gathered:
    """Reads flattened into arrays: one row per read, per CIGAR op, per base."""

    start: np.ndarray
    end: np.ndarray
    flag: np.ndarray
    mapq: np.ndarray
    is_reverse: np.ndarray
    seq: np.ndarray          # all read bases, concatenated (ASCII)
    qual: np.ndarray         # matching qualities (255 when absent)
    seq_off: np.ndarray      # offset of each read's first base in seq
    seq_len: np.ndarray      # 0 when the read has no SEQ
    op_read: np.ndarray
    op_code: np.ndarray
    op_len: np.ndarray
    op_ref: np.ndarray       # 0-based reference coordinate where the op starts
    op_query: np.ndarray     # index into seq where the op starts
    op_prev: np.ndarray      # code of the previous op of the same read (-1 for the first)
    aligned: np.ndarray = field(default=None)   # op masks
    deleted: np.ndarray = field(default=None)


def _gather(reads: list) -> _Gathered:
    n = len(reads)
    start = np.fromiter((r.reference_start for r in reads), dtype=np.int64, count=n)
    end = np.fromiter((r.reference_end or r.reference_start for r in reads), dtype=np.int64, count=n)
    flag = np.fromiter((r.flag for r in reads), dtype=np.int64, count=n)
    mapq = np.fromiter((r.mapping_quality for r in reads), dtype=np.int64, count=n)
    seqs = [r.query_sequence or "" for r in reads]
    seq_len = np.fromiter(map(len, seqs), dtype=np.int64, count=n)
    seq = np.frombuffer("".join(seqs).encode("ascii"), dtype=np.uint8)
    quals = []
    for r, s in zip(reads, seqs):
        q = r.query_qualities
        quals.append(q if q is not None else b"\xff" * len(s))
    qual = np.frombuffer(b"".join(quals), dtype=np.uint8) if quals else _empty(np.uint8)
    seq_off = np.cumsum(seq_len) - seq_len
    cigars = [r.cigartuples or () for r in reads]
    n_ops = np.fromiter(map(len, cigars), dtype=np.int64, count=n)
    flat = np.fromiter(itertools.chain.from_iterable(itertools.chain.from_iterable(cigars)),
                       dtype=np.int64, count=2 * int(n_ops.sum())).reshape(-1, 2)
    op_code = flat[:, 0]
    op_len = flat[:, 1]
    op_read = np.repeat(np.arange(n, dtype=np.int64), n_ops)
    first = np.repeat(np.cumsum(n_ops) - n_ops, n_ops)
    rcons = op_len * _CONSUMES_REF[op_code]
    qcons = op_len * _CONSUMES_QUERY[op_code]
    rcum = np.concatenate(([0], np.cumsum(rcons)))
    qcum = np.concatenate(([0], np.cumsum(qcons)))
    op_ref = start[op_read] + rcum[:-1] - rcum[first]
    op_query = seq_off[op_read] + qcum[:-1] - qcum[first]
    op_prev = np.full(op_code.shape, -1, dtype=np.int64)
    if op_code.size:
        op_prev[1:] = op_code[:-1]
        op_prev[np.arange(op_code.size) == first] = -1
    g = _Gathered(start, end, flag, mapq, (flag & FLAG_REVERSE) != 0, seq, qual, seq_off, seq_len,
                  op_read, op_code, op_len, op_ref, op_query, op_prev)
    has_seq = seq_len[op_read] > 0
    g.aligned = _IS_ALIGNED[op_code] & has_seq
    g.deleted = op_code == _D
    return g


def _expand(g: _Gathered, mask: np.ndarray, lo: int, hi: int, advance_query: bool = True):
    """Expand the masked ops to one row per reference base inside [lo, hi).

    Returns reference coordinates, query indices and read indices. With
    ``advance_query=False`` (deletions) the query index stays at the base
    after the op.
    """
    ref0 = g.op_ref[mask]
    ln = g.op_len[mask]
    s = np.maximum(ref0, lo)
    e = np.minimum(ref0 + ln, hi)
    keep = e > s
    s, e, ref0 = s[keep], e[keep], ref0[keep]
    q = g.op_query[mask][keep]
    rd = g.op_read[mask][keep]
    n = e - s
    total = int(n.sum())
    if total == 0:
        z = _empty(np.int64)
        return z, z, z
    # Within an op the reference and query advance together: one repeat per column.
    pos = np.repeat(s - (np.cumsum(n) - n), n) + np.arange(total, dtype=np.int64)
    qidx = pos + np.repeat(q - ref0, n) if advance_query else np.repeat(q, n)
    return pos, qidx, np.repeat(rd, n)


def _qual_at(g: _Gathered, qidx: np.ndarray, read: np.ndarray | None = None) -> np.ndarray:
    """Base quality at query indices; 0 past the end of the read (as htslib pileup)."""
    out = np.zeros(qidx.shape, dtype=np.int64)
    ok = qidx < g.qual.size
    if read is not None:
        ok &= qidx < (g.seq_off + g.seq_len)[read]
    out[ok] = g.qual[qidx[ok]]
    return out


def _count_alleles(g: _Gathered, use: np.ndarray | None, start: int, end: int, ref_codes: np.ndarray | None,
                   min_bq: int, counts: np.ndarray, depth: np.ndarray, bases=None) -> None:
    """Add the depth and allele counts of the gathered reads selected by ``use`` (None: all).

    ``counts`` is flat (``n * 14``: position, allele, strand) and ``depth``
    has one entry per position of [start, end); both are added to in place.
    ``bases`` is the expansion of ``g.aligned`` over the window, when the
    caller has it already (the pileup shares it with the mismatches).
    """
    n = end - start
    op_use = None if use is None else use[g.op_read]
    # Depth as samtools depth: every aligned base, with or without SEQ; blocks, not bases.
    blk = _IS_ALIGNED[g.op_code] if op_use is None else _IS_ALIGNED[g.op_code] & op_use
    depth += _diff_depth(g.op_ref[blk], g.op_ref[blk] + g.op_len[blk], start, n)
    # Bases.
    pos, qidx, rd = _expand(g, g.aligned, start, end) if bases is None else bases
    code = _BASE_CODE[g.seq[qidx]].astype(np.int64)
    eq = code == _EQ_CODE
    if eq.any():
        code[eq] = ref_codes[pos[eq] - start] if ref_codes is not None else 4
    ok = g.qual[qidx] >= min_bq
    if use is not None:
        ok &= use[rd]
    key = (pos - start) * 14 + code * 2 + g.is_reverse[rd]
    counts += np.bincount(key[ok], minlength=n * 14)
    # Deletions, judged by the quality of the following base.
    dmask = g.deleted if op_use is None else g.deleted & op_use
    pos, qnext, rd = _expand(g, dmask, start, end, advance_query=False)
    ok = _qual_at(g, qnext, rd) >= min_bq
    key = (pos - start) * 14 + _A_DEL * 2 + g.is_reverse[rd]
    counts += np.bincount(key[ok], minlength=n * 14)
    # Insertions at their anchor base, judged by the anchor's quality.
    ins = ((g.op_code == _I) & _IS_ALIGNED[np.maximum(g.op_prev, 0)] & (g.op_prev >= 0)
           & (g.seq_len[g.op_read] > 0))
    if op_use is not None:
        ins &= op_use
    anchor = g.op_ref[ins] - 1
    inwin = (anchor >= start) & (anchor < end)
    aq = g.qual[g.op_query[ins][inwin] - 1] if g.qual.size else _empty(np.int64)
    rd = g.op_read[ins][inwin]
    ok = aq >= min_bq
    key = (anchor[inwin] - start) * 14 + _A_INS * 2 + g.is_reverse[rd]
    counts += np.bincount(key[ok], minlength=n * 14)


def _ref_codes(ref_seq: str | None) -> np.ndarray | None:
    return None if ref_seq is None else _BASE_CODE[np.frombuffer(ref_seq.encode("ascii"), dtype=np.uint8)]


def _counts_result(contig: str, start: int, end: int, counts: np.ndarray, depth: np.ndarray, ref_seq: str | None,
                   min_bq: int, min_mapq: int) -> AlleleCounts:
    return AlleleCounts(contig=contig, start=start, end=end, depth=depth.astype(np.int32),
                        counts=counts.reshape(end - start, 7, 2).astype(np.int32), min_bq=min_bq,
                        min_mapq=min_mapq, reference=ref_seq)


def _allele_counts(contig: str, start: int, end: int, reads: list, ref_seq: str | None,
                   min_bq: int, min_mapq: int, exclude: int) -> AlleleCounts:
    n = end - start
    counts = np.zeros(n * 14, dtype=np.int64)
    depth = np.zeros(n, dtype=np.int64)
    ref_codes = _ref_codes(ref_seq)
    keep = [r for r in reads if not (r.flag & exclude) and r.mapping_quality >= min_mapq]
    for chunk in _batched(keep):
        _count_alleles(_gather(chunk), None, start, end, ref_codes, min_bq, counts, depth)
    return _counts_result(contig, start, end, counts, depth, ref_seq, min_bq, min_mapq)


# --------------------------------------------------------------------------
# Reads for drawing
# --------------------------------------------------------------------------

def pack_rows(starts: np.ndarray, ends: np.ndarray, gap: int = 2) -> np.ndarray:
    """Assign each read the lowest display row where it fits (greedy first fit).

    Parameters
    ----------
    starts, ends : numpy.ndarray of int
        0-based half-open spans, sorted by start (as reads come from an index).
    gap : int
        Minimum number of empty bases between two reads on one row.

    Returns
    -------
    numpy.ndarray of int32
        Row of each read, 0 at the top.

    Notes
    -----
    Two heaps (rows busy until a coordinate, and free row numbers) make this
    O(n log n); it is the layout IGV's "expanded" mode gives.
    """
    starts = np.asarray(starts, dtype=np.int64)
    ends = np.asarray(ends, dtype=np.int64)
    if starts.size and np.any(np.diff(starts) < 0):
        raise ValueError("pack_rows needs reads sorted by start")
    rows = np.empty(starts.size, dtype=np.int32)
    busy: list[tuple[int, int]] = []   # (free_from, row)
    free: list[int] = []
    n_rows = 0
    for i, (s, e) in enumerate(zip(starts.tolist(), ends.tolist())):
        while busy and busy[0][0] <= s:
            heapq.heappush(free, heapq.heappop(busy)[1])
        if free:
            r = heapq.heappop(free)
        else:
            r = n_rows
            n_rows += 1
        rows[i] = r
        heapq.heappush(busy, (max(e, s + 1) + gap, r))
    return rows


def downsample(starts: np.ndarray, names: np.ndarray, *, max_per_bucket: int = 100, bucket_size: int = 50,
               seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Choose which reads to draw where the depth is high; deterministic.

    Reads are grouped by start into ``bucket_size`` bp buckets (on absolute
    coordinates, so the choice does not depend on the window). In a bucket
    holding more than ``max_per_bucket`` reads, those with the smallest
    seeded hash of their name are kept, so both mates of a pair and the same
    read in an overlapping window are treated alike.

    Parameters
    ----------
    starts : numpy.ndarray of int
        0-based read starts.
    names : numpy.ndarray of object
        Read names.
    max_per_bucket : int
        Reads kept per bucket; 0 or less keeps all.
    bucket_size : int
        Bucket width in bp.
    seed : int
        Seed of the hash.

    Returns
    -------
    keep : numpy.ndarray of bool
        True for reads to draw.
    hidden_intervals : numpy.ndarray of int64, shape (k, 2)
        0-based half-open buckets where reads were hidden.
    """
    starts = np.asarray(starts, dtype=np.int64)
    n = starts.size
    if max_per_bucket <= 0 or n == 0:
        return np.ones(n, dtype=bool), np.zeros((0, 2), dtype=np.int64)
    bucket = starts // bucket_size
    counts = np.bincount(bucket - bucket.min())
    if counts.max() <= max_per_bucket:
        return np.ones(n, dtype=bool), np.zeros((0, 2), dtype=np.int64)
    salt = int(seed) & 0xFFFFFFFF
    h = np.fromiter((zlib.crc32(str(nm).encode(), salt) for nm in names), dtype=np.int64, count=n)
    order = np.lexsort((np.arange(n), h, bucket))
    b_sorted = bucket[order]
    first = np.searchsorted(b_sorted, b_sorted, side="left")
    rank = np.arange(n) - first
    keep = np.zeros(n, dtype=bool)
    keep[order[rank < max_per_bucket]] = True
    full = np.unique(bucket[~keep])
    hidden = np.stack([full * bucket_size, (full + 1) * bucket_size], axis=1).astype(np.int64)
    return keep, hidden


def _orientation(flag: np.ndarray, start: np.ndarray, mate_start: np.ndarray, same_contig: np.ndarray) -> np.ndarray:
    paired = ((flag & FLAG_PAIRED) != 0) & ((flag & (FLAG_UNMAPPED | FLAG_MATE_UNMAPPED)) == 0) & same_contig
    me = np.where(flag & FLAG_REVERSE, "R", "F").astype(object) + np.where(flag & FLAG_READ2, "2", "1").astype(object)
    mate = (np.where(flag & FLAG_MATE_REVERSE, "R", "F").astype(object)
            + np.where(flag & FLAG_READ2, "1", "2").astype(object))
    me_first = (start < mate_start) | ((start == mate_start) & ((flag & FLAG_READ1) != 0))
    out = np.where(me_first, me + mate, mate + me)
    out[~paired] = ""
    return out.astype(object)


def _pileup(contig: str, start: int, end: int, reads: list, ref_seq: str | None, *, min_bq: int, min_mapq: int,
            count_exclude: int, display_exclude: int, max_per_bucket: int, bucket_size: int, seed: int,
            row_gap: int) -> tuple[AlleleCounts, ReadBatch]:
    """Allele counts and the drawn reads of a window from one gather of the records.

    The reads counted (``count_exclude``, ``min_mapq``, never downsampled)
    and the reads drawn (``display_exclude``, downsampled) overlap almost
    entirely, so their columns are gathered once and the aligned bases
    expanded once; masks select each set.
    """
    n_win = end - start
    reads = [r for r in reads if not (r.flag & count_exclude & display_exclude)]
    g = _gather(reads)
    counted = ((g.flag & count_exclude) == 0) & (g.mapq >= min_mapq)
    n_ops = np.bincount(g.op_read, minlength=g.start.size)
    shown_idx = np.flatnonzero(((g.flag & display_exclude) == 0) & (n_ops > 0))
    names = np.array([reads[i].query_name for i in shown_idx.tolist()], dtype=object)
    keep, hidden_iv = downsample(g.start[shown_idx], names, max_per_bucket=max_per_bucket,
                                 bucket_size=bucket_size, seed=seed)
    if not keep.all():
        shown_idx, names = shown_idx[keep], names[keep]
    shown = np.zeros(g.start.size, dtype=bool)
    shown[shown_idx] = True
    # Read index in the batch (-1: not drawn).
    new_index = np.full(g.start.size, -1, dtype=np.int64)
    new_index[shown_idx] = np.arange(shown_idx.size)

    ref_codes = _ref_codes(ref_seq)
    bases = _expand(g, g.aligned, start, end)
    counts = np.zeros(n_win * 14, dtype=np.int64)
    depth = np.zeros(n_win, dtype=np.int64)
    _count_alleles(g, counted, start, end, ref_codes, min_bq, counts, depth, bases=bases)
    coverage = _counts_result(contig, start, end, counts, depth, ref_seq, min_bq, min_mapq)
    batch = _batch_from_gathered(contig, start, end, g, [reads[i] for i in shown_idx.tolist()], names, shown,
                                 new_index, bases, ref_codes, total=int(keep.size), hidden_iv=hidden_iv,
                                 row_gap=row_gap)
    return coverage, batch


def _batch_from_gathered(contig: str, start: int, end: int, g: _Gathered, shown_reads: list, names: np.ndarray,
                         shown: np.ndarray, new_index: np.ndarray, bases, ref_codes: np.ndarray | None, *,
                         total: int, hidden_iv: np.ndarray, row_gap: int) -> ReadBatch:
    """The :class:`ReadBatch` of the gathered reads marked in ``shown``."""
    n = len(shown_reads)
    idx = np.flatnonzero(shown)
    r_start, r_end, flag = g.start[idx], g.end[idx], g.flag[idx]
    # The per-read fields pysam gives only one read at a time, in one pass.
    mate_contig = np.full(n, "", dtype=object)
    mate_start = np.full(n, -1, dtype=np.int64)
    hp = np.zeros(n, dtype=np.int16)
    has_sa = np.zeros(n, dtype=bool)
    tlen = np.zeros(n, dtype=np.int64)
    with_mate = FLAG_PAIRED | FLAG_MATE_UNMAPPED
    for i, r in enumerate(shown_reads):
        if r.flag & with_mate == FLAG_PAIRED:
            mc = r.next_reference_name
            if mc:
                mate_contig[i] = mc
                mate_start[i] = r.next_reference_start
        tlen[i] = r.template_length
        if r.has_tag("HP"):
            hp[i] = _int_tag(r, "HP")
        if r.has_tag("SA"):
            has_sa[i] = True
    same = mate_contig == contig
    supp = (flag & FLAG_SUPPLEMENTARY) != 0

    # Mismatches inside the window.
    if ref_codes is not None:
        source = "reference"
        pos, qidx, rd = bases
        rc, bc = ref_codes[pos - start], _BASE_CODE[g.seq[qidx]]
        mm = shown[rd] & (bc != rc) & (rc != 4) & (bc != _EQ_CODE)
    else:
        source = "cigar"
        pos, qidx, rd = _expand(g, g.aligned & (g.op_code == _X), start, end)
        mm = shown[rd]
    mismatches = Mismatches(read=new_index[rd[mm]].astype(np.int32), start=pos[mm], base=g.seq[qidx[mm]],
                            qual=g.qual[qidx[mm]] if qidx.size else _empty(np.uint8))

    op_shown = shown[g.op_read]
    ins = op_shown & (g.op_code == _I) & (g.op_ref >= start) & (g.op_ref <= end)
    iq, il = g.op_query[ins], g.op_len[ins]
    seq_bytes = g.seq.tobytes()
    insertions = Insertions(
        read=new_index[g.op_read[ins]].astype(np.int32), start=g.op_ref[ins], length=il.astype(np.int32),
        sequence=np.array([seq_bytes[a:a + b].decode("ascii") for a, b in zip(iq.tolist(), il.tolist())],
                          dtype=object))
    sc = op_shown & (g.op_code == _S) & (g.op_ref >= start) & (g.op_ref <= end)
    soft_clips = SoftClips(read=new_index[g.op_read[sc]].astype(np.int32), start=g.op_ref[sc],
                           length=g.op_len[sc].astype(np.int32),
                           is_left=(g.op_query[sc] == g.seq_off[g.op_read[sc]]))
    return ReadBatch(
        contig=contig, start=start, end=end,
        read_start=r_start, read_end=r_end, mapq=g.mapq[idx].astype(np.uint8), is_reverse=g.is_reverse[idx],
        flag=flag.astype(np.uint16), name=names, insert_size=tlen, mate_contig=mate_contig,
        mate_start=mate_start,
        pair_orientation=_orientation(flag, r_start, mate_start, same) if n else _empty(object),
        hp=hp, is_supplementary=supp, is_split=supp | has_sa,
        row=pack_rows(r_start, r_end, gap=row_gap),
        mismatches=mismatches, insertions=insertions, deletions=_gaps(g, _D, start, end, op_shown, new_index),
        ref_skips=_gaps(g, _N, start, end, op_shown, new_index),
        soft_clips=soft_clips, total_reads=total, hidden_reads=int(total - n), hidden_intervals=hidden_iv,
        mismatch_source=source)


def _gaps(g: _Gathered, code: int, start: int, end: int, op_shown: np.ndarray, new_index: np.ndarray) -> Gaps:
    m = op_shown & (g.op_code == code) & (g.op_ref < end) & (g.op_ref + g.op_len > start)
    return Gaps(read=new_index[g.op_read[m]].astype(np.int32), start=g.op_ref[m], end=g.op_ref[m] + g.op_len[m])


def _int_tag(r, tag: str) -> int:
    if not r.has_tag(tag):
        return 0
    v = r.get_tag(tag)
    return int(v) if isinstance(v, (int, np.integer)) else 0


# --------------------------------------------------------------------------
# Convenience functions
# --------------------------------------------------------------------------

def fetch_pileup(bam: str | os.PathLike, contig: str, start: int, end: int, *,
                 reference: str | os.PathLike | Reference | None = None, index: str | os.PathLike | None = None,
                 min_bq: int = 13, min_mapq: int = 0, max_reads_per_bucket: int = 100, bucket_size: int = 50,
                 seed: int = 0) -> PileupData:
    """Reads and per-base allele counts for one window of one BAM/CRAM.

    Opens, checks, reads and closes; call it from a worker thread. See
    :meth:`AlignmentReader.pileup` for the parameters.

    Parameters
    ----------
    bam : str or path-like
        BAM or CRAM.
    contig : str
        Any naming style (``chr20`` or ``20``).
    start, end : int
        0-based half-open window.
    reference : str, path-like or Reference, optional
        Case FASTA (required for CRAM, gives mismatches for BAM).

    Returns
    -------
    PileupData
    """
    with AlignmentReader(bam, reference, index=index) as reader:
        return reader.pileup(contig, start, end, min_bq=min_bq, min_mapq=min_mapq,
                             max_reads_per_bucket=max_reads_per_bucket, bucket_size=bucket_size, seed=seed)


def allele_counts(bam: str | os.PathLike, contig: str, start: int, end: int, *,
                  reference: str | os.PathLike | Reference | None = None, min_bq: int = 13,
                  min_mapq: int = 0) -> AlleleCounts:
    """Per-base depth and allele counts by strand; see :class:`AlleleCounts`."""
    with AlignmentReader(bam, reference) as reader:
        return reader.allele_counts(contig, start, end, min_bq=min_bq, min_mapq=min_mapq)


_ALLELE_OK = set("ACGTN")


def _normalise(pos: int, ref: str, alt: str) -> tuple[str, int, str, str]:
    """Trim shared bases; return (kind, 1-based first position, ref, alt)."""
    r, a, p = ref, alt, pos
    if len(r) == len(a):
        while len(r) > 1 and r[-1] == a[-1]:
            r, a = r[:-1], a[:-1]
        while len(r) > 1 and r[0] == a[0]:
            r, a, p = r[1:], a[1:], p + 1
        return ("snv" if len(r) == 1 else "mnv"), p, r, a
    while len(r) > 1 and len(a) > 1 and r[-1] == a[-1]:
        r, a = r[:-1], a[:-1]
    while len(r) > 1 and len(a) > 1 and r[0] == a[0]:
        r, a, p = r[1:], a[1:], p + 1
    if len(r) == 1 and a[0] == r[0]:
        return "insertion", p, r, a
    if len(a) == 1 and r[0] == a[0]:
        return "deletion", p, r, a
    return "complex", p, r, a


def recount(bam: str | os.PathLike, fasta: str | os.PathLike | Reference | None, chrom: str, pos: int, ref: str,
            alt: str, min_bq: int = 13, min_mapq: int = 0, *, index: str | os.PathLike | None = None,
            exclude_flags: int = DEFAULT_EXCLUDE_FLAGS) -> RecountResult:
    """Count reads supporting REF, ALT and anything else at a variant, by strand.

    SNVs are counted from the base at ``pos`` as ``samtools mpileup`` does.
    Indels are read from the CIGAR at the anchor base (the shared first base
    of a VCF indel), like mpileup's ``+``/``-`` marks: ALT is an insertion of
    exactly the ALT bases, or a deletion of exactly the deleted length, right
    after the anchor. MNVs and complex variants compare each read's bases
    over the REF span (reads must cover the span; the lowest base quality in
    it must pass ``min_bq``). Overlapping mates are both counted (as IGV and
    ``mpileup -x``); overlap is not corrected.

    Parameters
    ----------
    bam : str or path-like
        BAM or CRAM.
    fasta : str, path-like or Reference
        Case FASTA; REF is checked against it. Required for CRAM.
    chrom : str
        Contig in any naming style.
    pos : int
        1-based VCF position.
    ref, alt : str
        VCF alleles (A/C/G/T/N; no symbolic alleles).
    min_bq : int
        Minimum base quality (mpileup's default is 13).
    min_mapq : int
        Minimum mapping quality.

    Returns
    -------
    RecountResult

    Raises
    ------
    InputError
        Bad alleles, REF not matching the FASTA, contig missing, unreadable file.
    """
    ref_u, alt_u = ref.upper(), alt.upper()
    where = f"{chrom}:{pos}"
    if not ref_u or not alt_u or set(ref_u) - _ALLELE_OK or set(alt_u) - _ALLELE_OK:
        raise InputError(f"variant {where} {ref}>{alt}: alleles must be A, C, G, T or N "
                         "(symbolic and '*' alleles cannot be recounted)", str(bam))
    if ref_u == alt_u:
        raise InputError(f"variant {where}: REF and ALT are the same", str(bam))
    if pos < 1:
        raise InputError(f"variant {where}: position must be 1 or more", str(bam))
    kind, p, r, a = _normalise(int(pos), ref_u, alt_u)
    with AlignmentReader(bam, fasta, index=index) as reader:
        contig = reader.resolve(chrom)
        if reader.reference is not None:
            fa_name = reader.reference.resolve(chrom, reader.lengths[contig])
            have = reader.reference.fetch(fa_name, pos - 1, pos - 1 + len(ref_u))
            if any(h != x and h != "N" and x != "N" for h, x in zip(have, ref_u)) or len(have) != len(ref_u):
                raise InputError(f"variant {where}: REF {ref_u} does not match the reference ({have}) "
                                 f"in {Path(reader.reference.path).name}; wrong build or reference?", str(bam))
        # Indels are judged at the anchor base; MNV/complex need the REF span.
        _, lo, hi = reader._window(contig, p - 1, p - 1 + (len(r) if kind in ("mnv", "complex") else 1))
        reads = [x for x in reader._reads(contig, lo, hi)
                 if not (x.flag & exclude_flags) and x.mapping_quality >= min_mapq]
        ref_window = reader._ref_window(contig, lo, hi)
    g = _gather(reads)
    counts = np.zeros((3, 2), dtype=np.int64)   # rows: ref, alt, other; cols: fwd, rev
    p0 = p - 1
    if kind == "snv":
        pos_, qidx, rd = _expand(g, g.aligned, p0, p0 + 1)
        ok = g.qual[qidx] >= min_bq
        code = _BASE_CODE[g.seq[qidx]].astype(np.int64)
        if ref_window is not None:
            code[code == _EQ_CODE] = _BASE_CODE[ord(r)]
        cls = np.where(code == _BASE_CODE[ord(r)], 0, np.where(code == _BASE_CODE[ord(a)], 1, 2))
        np.add.at(counts, (cls[ok], g.is_reverse[rd[ok]].astype(np.int64)), 1)
        _add_spanning_deletions(g, p0, min_bq, counts)
    elif kind in ("insertion", "deletion"):
        _count_indel(g, p0, kind, a[1:] if kind == "insertion" else "", len(r) - 1, min_bq, counts)
    else:
        _count_span(g, p0, r, a, min_bq, counts)
    return RecountResult(contig=contig, pos=int(pos), ref=ref, alt=alt, kind=kind,
                         ref_fwd=int(counts[0, 0]), ref_rev=int(counts[0, 1]),
                         alt_fwd=int(counts[1, 0]), alt_rev=int(counts[1, 1]),
                         other_fwd=int(counts[2, 0]), other_rev=int(counts[2, 1]),
                         min_bq=int(min_bq), min_mapq=int(min_mapq))


def _add_spanning_deletions(g: _Gathered, p0: int, min_bq: int, counts: np.ndarray) -> None:
    """Reads deleted at ``p0`` count as "other" (mpileup's ``*``)."""
    pos_, qnext, rd = _expand(g, g.deleted, p0, p0 + 1, advance_query=False)
    ok = _qual_at(g, qnext, rd) >= min_bq
    np.add.at(counts, (np.full(int(ok.sum()), 2), g.is_reverse[rd[ok]].astype(np.int64)), 1)


def _count_indel(g: _Gathered, p0: int, kind: str, ins_seq: str, del_len: int, min_bq: int,
                 counts: np.ndarray) -> None:
    # Reads with a base at the anchor, judged by that base's quality.
    m = g.aligned & (g.op_ref <= p0) & (g.op_ref + g.op_len > p0)
    ops = np.flatnonzero(m)
    qanchor = g.op_query[ops] + (p0 - g.op_ref[ops])
    ok = g.qual[qanchor] >= min_bq if ops.size else np.zeros(0, dtype=bool)
    ops, qanchor = ops[ok], qanchor[ok]
    seq_bytes = g.seq.tobytes()
    nops = g.op_code.size
    for op, qa in zip(ops.tolist(), qanchor.tolist()):
        rd = int(g.op_read[op])
        strand = int(g.is_reverse[rd])
        last_base = g.op_ref[op] + g.op_len[op] - 1 == p0
        nxt = op + 1
        if not last_base or nxt >= nops or g.op_read[nxt] != rd or g.op_code[nxt] not in (_I, _D):
            counts[0, strand] += 1
            continue
        if g.op_code[nxt] == _I:
            q = int(g.op_query[nxt])
            seq = seq_bytes[q:q + int(g.op_len[nxt])].decode("ascii")
            hit = kind == "insertion" and seq == ins_seq
        else:
            hit = kind == "deletion" and int(g.op_len[nxt]) == del_len
        counts[1 if hit else 2, strand] += 1
    _add_spanning_deletions(g, p0, min_bq, counts)


def _count_span(g: _Gathered, p0: int, ref: str, alt: str, min_bq: int, counts: np.ndarray) -> None:
    """MNV/complex: rebuild each read's bases over [p0, p0 + len(ref))."""
    end = p0 + len(ref)
    seq_bytes = g.seq.tobytes()
    for rd in range(g.start.size):
        if g.start[rd] > p0 or g.end[rd] < end or g.seq_len[rd] == 0:
            continue
        ops = np.flatnonzero(g.op_read == rd)
        parts: list[str] = []
        quals: list[int] = []
        for op in ops.tolist():
            code, r0, ln, q0 = int(g.op_code[op]), int(g.op_ref[op]), int(g.op_len[op]), int(g.op_query[op])
            if _IS_ALIGNED[code]:
                s, e = max(r0, p0), min(r0 + ln, end)
                if e > s:
                    parts.append(seq_bytes[q0 + s - r0:q0 + e - r0].decode("ascii"))
                    quals.extend(g.qual[q0 + s - r0:q0 + e - r0].tolist())
            elif code == _I and p0 < r0 < end:
                parts.append(seq_bytes[q0:q0 + ln].decode("ascii"))
                quals.extend(g.qual[q0:q0 + ln].tolist())
        if not quals or min(quals) < min_bq:
            continue
        hap = "".join(parts)
        cls = 0 if hap == ref else 1 if hap == alt else 2
        counts[cls, int(g.is_reverse[rd])] += 1

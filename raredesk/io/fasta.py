"""Reference FASTA access and contig-name harmonisation.

A case usually mixes naming styles: an hg19 BAM says ``chr20``, a GRCh37 VCF
says ``20``, an rCRS mitochondrion is ``MT`` in one file and ``chrM`` in
another. Everything in RareDesk compares contigs through
:func:`canonical_contig` and finds the spelling a given file uses with
:class:`ContigResolver`.

Coordinates follow the project rule: ``start``/``end`` are 0-based half-open.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path

import pysam

from raredesk.errors import InputError

__all__ = [
    "canonical_contig",
    "ContigResolver",
    "Reference",
    "open_reference",
    "fetch_sequence",
    "file_kind",
]

_GZIP_MAGIC = b"\x1f\x8b"


def canonical_contig(name: str) -> str:
    """Return the build-neutral spelling of a contig name.

    The ``chr`` prefix is removed (any case) and the mitochondrion is spelled
    ``MT``, so ``chr1`` -> ``1``, ``chrX`` -> ``X``, ``chrM``/``M``/``chrMT``
    -> ``MT``. Other names (``GL000220.1``, ``chrUn_gl000220``) only lose the
    prefix.

    Parameters
    ----------
    name : str
        A contig name as written in a BAM, CRAM, VCF, BED or FASTA file.

    Returns
    -------
    str
        The canonical name.

    Notes
    -----
    Names are only a hint. hg19 ``chrM`` (NC_001807, 16,571 bp) is a
    different sequence from rCRS ``MT`` (NC_012920, 16,569 bp) although both
    canonicalise to ``MT``; :class:`ContigResolver` compares lengths when it
    knows them to catch that.
    """
    n = name.strip()
    if n[:3].lower() == "chr" and len(n) > 3:
        n = n[3:]
    if n.upper() in ("M", "MT"):
        return "MT"
    return n


class ContigResolver:
    """Map contig names from other files onto the names one file uses.

    Parameters
    ----------
    names : iterable of str or mapping of str to int
        The contigs of the file (for example the ``@SQ`` lines of a BAM or the
        ``.fai`` of a FASTA). A mapping also gives each contig's length.
    path : str, optional
        The file, used in error messages.
    what : str
        What the file is ("BAM", "reference", ...), used in error messages.

    Attributes
    ----------
    names : tuple of str
        The contig names in file order.
    lengths : dict of str to int
        Lengths, when given.
    """

    def __init__(self, names: Iterable[str] | Mapping[str, int], path: str | os.PathLike | None = None,
                 what: str = "file"):
        if isinstance(names, Mapping):
            self.lengths = {str(k): int(v) for k, v in names.items()}
            self.names = tuple(self.lengths)
        else:
            self.names = tuple(str(n) for n in names)
            self.lengths = {}
        self.path = None if path is None else str(path)
        self.what = what
        self._exact = set(self.names)
        self._by_canonical: dict[str, list[str]] = {}
        for n in self.names:
            self._by_canonical.setdefault(canonical_contig(n), []).append(n)

    def __contains__(self, name: str) -> bool:
        return self.find(name) is not None

    def find(self, name: str) -> str | None:
        """Return this file's spelling of ``name``, or None when it has no such contig.

        An exact match wins; otherwise a unique match of the canonical name.
        Lengths are not compared here (see :meth:`resolve`).
        """
        if name in self._exact:
            return name
        found = self._by_canonical.get(canonical_contig(name), [])
        if len(found) == 1:
            return found[0]
        return None

    def resolve(self, name: str, length: int | None = None) -> str:
        """Return this file's spelling of ``name`` or raise a clear error.

        Parameters
        ----------
        name : str
            A contig name from another file (``chr20``, ``20``, ``chrM``...).
        length : int, optional
            That contig's length in the other file. When both lengths are known
            and differ, the two names do not denote the same sequence.

        Returns
        -------
        str
            The name to use with this file.

        Raises
        ------
        InputError
            The contig is missing, ambiguous, or has another length.
        """
        if name not in self._exact:
            found = self._by_canonical.get(canonical_contig(name), [])
            if len(found) > 1:
                raise InputError(
                    f"contig {name!r} is ambiguous in this {self.what}: it could be any of {', '.join(found)}",
                    self.path)
        hit = self.find(name)
        if hit is None:
            raise InputError(
                f"contig {name!r} is not in this {self.what} (it has {_sample_names(self.names)})", self.path)
        mine = self.lengths.get(hit)
        if length is not None and mine is not None and int(length) != mine:
            raise InputError(
                f"contig {name!r} is {int(length):,} bp elsewhere but {hit!r} is {mine:,} bp in this "
                f"{self.what}: not the same sequence (different genome build?)", self.path)
        return hit


def _sample_names(names: tuple[str, ...], k: int = 6) -> str:
    if not names:
        return "no contigs"
    shown = ", ".join(names[:k])
    return shown + (f", ... ({len(names)} in all)" if len(names) > k else "")


def file_kind(path: str | os.PathLike) -> str:
    """Say how a file is compressed: ``"plain"``, ``"bgzf"`` or ``"gzip"``.

    Parameters
    ----------
    path : str or path-like
        An existing file.

    Returns
    -------
    str
        ``"bgzf"`` for blocked gzip (bgzip), ``"gzip"`` for ordinary gzip,
        ``"plain"`` otherwise.
    """
    with open(path, "rb") as fh:
        head = fh.read(18)
    if head[:2] != _GZIP_MAGIC:
        return "plain"
    # BGZF: FLG.FEXTRA set and an extra subfield 'BC' (SAM spec section 4.1).
    if len(head) >= 16 and head[3] & 4 and head[12:14] == b"BC":
        return "bgzf"
    return "gzip"


_MD5_CACHE: dict[tuple, str] = {}
_MD5_LOCK = threading.Lock()


class Reference:
    """An opened, indexed reference FASTA.

    Not thread-safe (it wraps one ``pysam.FastaFile``): open one per thread.

    Parameters
    ----------
    path : str or path-like
        Plain FASTA with ``.fai``, or bgzip FASTA with ``.fai`` and ``.gzi``.

    Attributes
    ----------
    path : str
        The FASTA file.
    lengths : dict of str to int
        Contig lengths from the ``.fai``, in file order.
    resolver : ContigResolver
        Maps other files' contig names onto this FASTA's.

    Raises
    ------
    InputError
        Missing file, missing or stale index, plain gzip instead of bgzip, or
        an index htslib cannot read.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = str(path)
        p = Path(self.path)
        if not p.is_file():
            raise InputError("reference FASTA not found", self.path)
        kind = file_kind(p)
        if kind == "gzip":
            raise InputError("compressed with plain gzip; random access needs bgzip "
                             "(gunzip it, then 'bgzip' and 'samtools faidx')", self.path)
        fai = Path(self.path + ".fai")
        if not fai.is_file():
            raise InputError("no FASTA index (.fai) beside it; create one with 'samtools faidx'", self.path)
        _check_not_older(fai, p, "FASTA index (.fai)")
        if kind == "bgzf":
            gzi = Path(self.path + ".gzi")
            if not gzi.is_file():
                raise InputError("bgzip FASTA without its .gzi index; recreate both with 'samtools faidx'",
                                 self.path)
            _check_not_older(gzi, p, "bgzip index (.gzi)")
        try:
            self._fa = pysam.FastaFile(self.path)
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot open FASTA: {exc}", self.path) from None
        self.lengths = dict(zip(self._fa.references, (int(n) for n in self._fa.lengths)))
        self.resolver = ContigResolver(self.lengths, self.path, "reference FASTA")
        st = p.stat()
        self._stamp = (os.path.realpath(self.path), st.st_size, st.st_mtime_ns)

    def close(self) -> None:
        """Close the FASTA handle."""
        self._fa.close()

    def __enter__(self) -> "Reference":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def resolve(self, contig: str, length: int | None = None) -> str:
        """Return this FASTA's name for ``contig`` (see :meth:`ContigResolver.resolve`)."""
        return self.resolver.resolve(contig, length)

    def fetch(self, contig: str, start: int, end: int) -> str:
        """Return the uppercase sequence of ``contig[start:end]``.

        Parameters
        ----------
        contig : str
            Any spelling of the contig (``chr20`` or ``20``).
        start, end : int
            0-based half-open window; ``end`` is clipped to the contig length.

        Returns
        -------
        str
            The sequence, uppercased (soft-masked bases become plain bases).

        Raises
        ------
        InputError
            Unknown contig or a window outside the contig.
        """
        name = self.resolve(contig)
        length = self.lengths[name]
        if start < 0 or end < start or start > length:
            raise InputError(f"window {contig}:{start}-{end} is outside {name} (length {length:,})", self.path)
        try:
            return self._fa.fetch(name, int(start), int(min(end, length))).upper()
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read {name}:{start}-{end}: {exc}", self.path) from None

    def md5(self, contig: str) -> str:
        """Return the MD5 of the whole contig as the SAM spec defines ``@SQ M5``.

        The digest is over the uppercased sequence without line breaks. It is
        computed once per file version and contig, then cached for the process.
        """
        name = self.resolve(contig)
        key = (*self._stamp, name)
        with _MD5_LOCK:
            hit = _MD5_CACHE.get(key)
        if hit is not None:
            return hit
        h = hashlib.md5()
        length = self.lengths[name]
        step = 8_000_000  # bounded memory on 250 Mb contigs
        for s in range(0, length, step):
            h.update(self._fa.fetch(name, s, min(s + step, length)).upper().encode("ascii"))
        digest = h.hexdigest()
        with _MD5_LOCK:
            _MD5_CACHE[key] = digest
        return digest


def _check_not_older(index: Path, data: Path, what: str) -> None:
    if index.stat().st_mtime < data.stat().st_mtime:
        raise InputError(f"its {what} {index.name} is older than the file; rebuild the index", str(data))


def open_reference(path: str | os.PathLike) -> Reference:
    """Open and check a reference FASTA; see :class:`Reference`."""
    return Reference(path)


def fetch_sequence(path: str | os.PathLike, contig: str, start: int, end: int) -> str:
    """Return the uppercase sequence of a window of a FASTA file.

    Parameters
    ----------
    path : str or path-like
        Indexed FASTA (plain or bgzip).
    contig : str
        Contig in any naming style (``chr20`` / ``20``, ``chrM`` / ``MT``).
    start, end : int
        0-based half-open window.

    Returns
    -------
    str
        The sequence, uppercased.
    """
    with Reference(path) as ref:
        return ref.fetch(contig, start, end)

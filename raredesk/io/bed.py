"""BED target files (capture kits, gene panels).

BED coordinates are already 0-based half-open, so ``start``/``end`` are kept
as written.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from raredesk.errors import InputError
from raredesk.io.fasta import file_kind

__all__ = ["BedRegions", "read_bed"]


@dataclass(frozen=True)
class BedRegions:
    """The intervals of a BED file, as columns in file order.

    Attributes
    ----------
    path : str
        The BED file.
    chrom : numpy.ndarray of object
        Contig names as written (``chr20`` or ``20``).
    start, end : numpy.ndarray of int64
        0-based half-open intervals.
    name : numpy.ndarray of object or None
        The 4th column (usually a gene or exon name), or None when no line has
        one. Lines without it get ``""``.
    """

    path: str
    chrom: np.ndarray
    start: np.ndarray
    end: np.ndarray
    name: np.ndarray | None

    def __len__(self) -> int:
        return int(self.start.shape[0])

    @property
    def has_names(self) -> bool:
        """True when the BED has a name column."""
        return self.name is not None


def _open_text(path: Path):
    if file_kind(path) == "plain":
        return open(path, "rt", encoding="utf-8", errors="strict", newline=None)
    return gzip.open(path, "rt", encoding="utf-8", errors="strict", newline=None)


def read_bed(path: str | os.PathLike) -> BedRegions:
    """Read a BED file (plain, gzip or bgzip).

    ``track``, ``browser`` and ``#`` lines and blank lines are skipped. Columns
    are split on tabs (or on runs of spaces when a line has no tab). Columns
    after the 4th are ignored.

    Parameters
    ----------
    path : str or path-like
        The BED file.

    Returns
    -------
    BedRegions
        The intervals in file order.

    Raises
    ------
    InputError
        Missing or unreadable file, or a malformed line; the message names the
        file and the 1-based line number.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError("BED file not found", str(p))
    chroms: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    names: list[str] = []
    any_name = False
    lineno = 0
    try:
        with _open_text(p) as fh:
            for lineno, line in enumerate(fh, start=1):
                text = line.rstrip("\r\n")
                stripped = text.strip()
                if not stripped or stripped.startswith(("#", "track", "browser")):
                    continue
                cols = text.split("\t") if "\t" in text else stripped.split()
                if len(cols) < 3:
                    raise InputError(f"line {lineno}: expected at least 3 columns (chrom, start, end), "
                                     f"found {len(cols)}", str(p))
                chrom = cols[0].strip()
                if not chrom:
                    raise InputError(f"line {lineno}: empty chromosome name", str(p))
                try:
                    start = int(cols[1])
                    end = int(cols[2])
                except ValueError:
                    raise InputError(f"line {lineno}: start and end must be whole numbers, "
                                     f"found {cols[1]!r} and {cols[2]!r}", str(p)) from None
                if start < 0 or end < start:
                    raise InputError(f"line {lineno}: invalid interval {start}-{end} "
                                     "(need 0 <= start <= end)", str(p))
                chroms.append(chrom)
                starts.append(start)
                ends.append(end)
                if len(cols) >= 4 and cols[3].strip():
                    names.append(cols[3].strip())
                    any_name = True
                else:
                    names.append("")
    except UnicodeDecodeError:
        raise InputError(f"line {lineno + 1}: not text (is this really a BED file?)", str(p)) from None
    except (EOFError, OSError) as exc:  # gzip.BadGzipFile is an OSError
        raise InputError(f"cannot read after line {lineno}: {exc}", str(p)) from None
    return BedRegions(
        path=str(p),
        chrom=np.array(chroms, dtype=object),
        start=np.array(starts, dtype=np.int64),
        end=np.array(ends, dtype=np.int64),
        name=np.array(names, dtype=object) if any_name else None,
    )

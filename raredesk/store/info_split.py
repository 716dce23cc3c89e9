"""Locate every INFO key's value in a chunk of records, vectorised.

The INFO column of a chunk (``AC=3;AF=0.5;DB;CSQ=...``) is scanned once with
NumPy over its Arrow buffers: the ``;`` and ``=`` bytes give every key/value
pair's boundaries, the key bytes are gathered into one small string array and
dictionary-encoded. The result gives, per key, an Arrow string-view column whose
values point into the INFO buffer itself (no copy), so the SQL that follows
reads each value directly instead of searching ~100 keys per record (the old
cost: most of the import's INFO time went to ``list_position`` over the split
keys).

No Python loop runs per record or per pair; the only per-key loop is over the
distinct keys of the chunk.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

SEMI, EQ = ord(";"), ord("=")
# _KEEP[k]: a 64-bit mask of the low k bytes
_KEEP = np.array([(1 << (8 * k)) - 1 for k in range(9)], dtype=np.uint64)


def _word_reader(data: np.ndarray):
    """A function reading the little-endian 64-bit word at each byte position
    (unaligned; bytes past the end read as zero), by two aligned gathers and
    shifts, without copying ``data`` (a byte-strided view is several times
    slower to gather from, and a padded copy costs a pass over the buffer)."""
    n8 = len(data) // 8
    if data.ctypes.data % 8 == 0:
        aligned = data[:n8 * 8].view("<u8")
    else:
        aligned = np.frombuffer(data[:n8 * 8].tobytes(), dtype="<u8")
    tail = np.zeros(2, dtype="<u8")
    tail[:1] = np.frombuffer(data[n8 * 8:].tobytes() + bytes(8 - len(data) % 8), dtype="<u8")[:1]
    words = np.concatenate([aligned[-1:] if n8 else np.zeros(0, "<u8"), tail])   # the last full word, then the tail

    def word_at(q: np.ndarray) -> np.ndarray:
        out = aligned.take(q, mode="clip") if n8 else np.zeros(len(q), dtype="<u8")
        late = q >= n8
        if late.any():
            out[late] = words[np.minimum(q[late] - n8 + (1 if n8 else 0), len(words) - 1)]
        return out

    def read(pos: np.ndarray) -> np.ndarray:
        q = pos >> 3
        r = ((pos & 7) * 8).astype(np.uint64)
        lo = word_at(q) >> r
        hi = np.where(r == 0, np.uint64(0), word_at(q + 1) << (np.uint64(64) - r))
        return lo | hi

    return read


@dataclass
class InfoLayout:
    """Where each key's value lies in the INFO buffer of a chunk.

    Attributes
    ----------
    n : int
        Records in the chunk.
    offsets : dict of str -> numpy.ndarray
        Per key and record, the byte offset of its value in ``data``; -1 where
        the key is absent from the record.
    lengths : dict of str -> numpy.ndarray
        Per key and record, the value's length in bytes; 0 for ``KEY=`` or a
        key without ``=`` (a flag).
    data : pyarrow.Buffer
        The INFO column's character buffer (the views point into it).
    bytes : numpy.ndarray
        The same bytes as a NumPy array.
    """

    n: int
    offsets: dict[str, np.ndarray]
    lengths: dict[str, np.ndarray]
    data: pa.Buffer | None = None
    bytes: np.ndarray | None = None

    @property
    def keys(self) -> list[str]:
        return list(self.offsets)

    def present(self, key: str) -> pa.Array:
        """Whether each record has the key (for flags)."""
        return pa.array(self.offsets[key] >= 0, type=pa.bool_())

    def values(self, key: str) -> pa.Array:
        """The key's value per record as a string-view array; NULL where the key
        is absent or its value is empty."""
        off, ln = self.offsets[key], self.lengths[key]
        valid = (off >= 0) & (ln > 0)
        return _views(self.bytes, self.data, np.where(valid, off, 0), np.where(valid, ln, 0), valid)


def _views(raw: np.ndarray, data: pa.Buffer, off: np.ndarray, ln: np.ndarray, valid: np.ndarray) -> pa.Array:
    """Arrow string views (16 bytes each: length, then 12 inline bytes or a
    4-byte prefix, buffer 0 and the offset) over ``data``."""
    n = len(off)
    read = _word_reader(raw)
    first = read(off)
    second = read(off + 8)
    short = ln <= 12
    # inline bytes beyond the length must be zero
    first = first & _KEEP[np.minimum(ln, 8)]
    second = second & _KEEP[np.minimum(np.maximum(ln - 8, 0), 4)]
    views = np.zeros((n, 4), dtype=np.uint32)
    views[:, 0] = ln.astype(np.uint32)
    views[:, 1] = (first & 0xFFFFFFFF).astype(np.uint32)
    views[:, 2] = np.where(short, (first >> np.uint64(32)).astype(np.uint32), 0)
    views[:, 3] = np.where(short, (second & 0xFFFFFFFF).astype(np.uint32), off.astype(np.uint32))
    validity = None
    nulls = int(n - valid.sum())
    if nulls:
        validity = pa.py_buffer(np.packbits(valid, bitorder="little").tobytes())
    return pa.StringViewArray.from_buffers(pa.string_view(), n, [validity, pa.py_buffer(views.tobytes()), data],
                                           null_count=nulls)


def _buffers(info: pa.Array) -> tuple[np.ndarray, np.ndarray, pa.Buffer | None]:
    if info.null_count:
        info = pc.fill_null(info, "")
    if pa.types.is_large_string(info.type):
        otype = np.int64
    elif pa.types.is_string(info.type):
        otype = np.int32
    else:
        info = info.cast(pa.large_string())
        otype = np.int64
    bufs = info.buffers()
    offs = np.frombuffer(bufs[1], dtype=otype)[info.offset:info.offset + len(info) + 1].astype(np.int64)
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    return offs, data, bufs[2]


_MIX = np.uint64(0x9E3779B97F4A7C15)


def _encode_keys(data: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Dictionary-encode the keys data[starts:starts+lengths] without copying them
    (keys up to 48 bytes are read as words; longer ones are grouped by their text).

    Each key is read as little-endian 64-bit words through a byte-strided view
    of the buffer (one gather per word), masked to its length; equal keys have
    equal (length, words) signatures. A 64-bit mix of the signature groups the
    pairs, and every pair's full signature is then compared with its group's
    representative, so the grouping is exact (a hash collision falls back to
    grouping the representative and the colliding pairs by their text).
    """
    if len(lengths) and int(lengths.max()) > 48:
        return _encode_by_text(data, starts, lengths)
    nwords = max(1, int((int(lengths.max()) + 7) // 8)) if len(lengths) else 1
    # element i of this view is the little-endian word of bytes i..i+7 (unaligned reads)
    read = _word_reader(data)
    sig = [lengths.astype(np.uint64)]
    h = sig[0].copy()
    with np.errstate(over="ignore"):
        for w in range(nwords):
            word = np.zeros(len(starts), dtype=np.uint64)
            longer = slice(None) if w == 0 else np.flatnonzero(lengths > 8 * w)
            word[longer] = read(starts[longer] + 8 * w) & _KEEP[np.minimum(lengths[longer] - 8 * w, 8)]
            sig.append(word)
            h = (h ^ word) * _MIX
    codes, uniq = pd.factorize(h, sort=False)
    first = np.empty(len(uniq), dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)
    exact = all(np.array_equal(part[first][codes], part) for part in sig)
    if not exact:   # a 64-bit collision between different keys
        return _encode_by_text(data, starts, lengths)
    names = [bytes(data[s:s + n]).decode("utf-8", "replace")
             for s, n in zip(starts[first].tolist(), lengths[first].tolist())]
    return codes.astype(np.int64), names


_SLICE = 4 << 20


def _find_bytes(data: np.ndarray, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions of ';' and '=' in data[lo:hi], scanned in 4 MB slices so the
    temporary masks stay small whatever the chunk size."""
    semis, eqs = [], []
    for a in range(lo, hi, _SLICE):
        part = data[a:min(hi, a + _SLICE)]
        semis.append(np.flatnonzero(part == SEMI) + a)
        eqs.append(np.flatnonzero(part == EQ) + a)
    empty = np.zeros(0, dtype=np.int64)
    return (np.concatenate(semis) if semis else empty), (np.concatenate(eqs) if eqs else empty)


def _encode_by_text(data: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """The slow exact path (a Python object per pair): keys over 48 bytes or a hash collision."""
    texts = [bytes(data[s:s + n]) for s, n in zip(starts.tolist(), lengths.tolist())]
    codes, names_b = pd.factorize(pd.Series(texts, dtype=object), sort=False)
    return codes.astype(np.int64), [b.decode("utf-8", "replace") for b in names_b]


def _locate_array(info: pa.Array) -> InfoLayout:
    """Find every key's value in each record of one INFO string array."""
    offs, data, buffer = _buffers(info)
    n = len(offs) - 1
    if n == 0:
        return InfoLayout(0, {}, {})
    lo, hi = int(offs[0]), int(offs[-1])
    semis, eqs = _find_bytes(data, lo, hi)
    rec_start, rec_end = offs[:-1], offs[1:]
    # pair boundaries: a record's start or just after a ';' .. a ';' or the record's end
    starts = np.sort(np.concatenate([rec_start, semis + 1]), kind="stable")
    ends = np.sort(np.concatenate([semis, rec_end]), kind="stable")
    rec = np.searchsorted(offs, starts, side="right") - 1
    # records with empty INFO produce a start == end at a shared offset: map them correctly
    rec = np.minimum(rec, n - 1)
    if len(eqs):
        j = np.searchsorted(eqs, starts)
        eq_at = eqs[np.minimum(j, len(eqs) - 1)]
        has_eq = (j < len(eqs)) & (eq_at < ends)
    else:
        eq_at, has_eq = ends, np.zeros(len(starts), dtype=bool)
    key_end = np.where(has_eq, eq_at, ends)
    key_len = key_end - starts
    keep = key_len > 0
    if not keep.all():
        starts, ends, rec, has_eq, key_end, key_len = (a[keep] for a in (starts, ends, rec, has_eq, key_end, key_len))
    codes, names = _encode_keys(data, starts, key_len)
    vabs = np.where(has_eq, key_end + 1, ends)
    vlen = np.where(has_eq, ends - key_end - 1, 0)
    small = codes.astype(np.uint16) if len(names) < 65536 else codes
    order = np.argsort(small, kind="stable")   # radix sort for 16-bit codes
    bounds = np.zeros(len(names) + 1, dtype=np.int64)
    np.cumsum(np.bincount(codes, minlength=len(names)), out=bounds[1:])
    out_o: dict[str, np.ndarray] = {}
    out_l: dict[str, np.ndarray] = {}
    for k, name in enumerate(names):
        sel = order[bounds[k]:bounds[k + 1]][::-1]   # reversed: the first occurrence in a record wins
        o = np.full(n, -1, dtype=np.int64)
        ln = np.zeros(n, dtype=np.int64)
        o[rec[sel]] = vabs[sel]
        ln[rec[sel]] = vlen[sel]
        out_o[name], out_l[name] = o, ln
    return InfoLayout(n, out_o, out_l, buffer, data)


class ChunkedLayout:
    """:class:`InfoLayout` per Arrow chunk of a column (no chunk is copied or
    concatenated); values come back chunked like the column itself."""

    def __init__(self, parts: list[InfoLayout]):
        self.parts = parts
        seen: dict[str, None] = {}
        for part in parts:
            seen.update(dict.fromkeys(part.keys))
        self.keys = list(seen)

    def _per_part(self, key: str, fn, empty) -> pa.ChunkedArray:
        chunks = [fn(part, key) if key in part.offsets else empty(part.n) for part in self.parts]
        return pa.chunked_array(chunks, type=chunks[0].type if chunks else pa.string_view())

    def values(self, key: str) -> pa.ChunkedArray:
        return self._per_part(key, InfoLayout.values, lambda n: pa.nulls(n, pa.string_view()))

    def present(self, key: str) -> pa.ChunkedArray:
        return self._per_part(key, InfoLayout.present, lambda n: pa.array(np.zeros(n, dtype=bool)))

    def compact(self, key: str, first: int) -> pa.Table:
        """(record_index, v) for the records with a non-empty value of the key
        only: a table SQL can read without a filter. DuckDB pushes filters, join filters included,
        into Arrow scans, and Arrow has no filter kernel for string views, so SQL
        must read this table whole (or copy it first). ``first`` is the record
        index of the chunk's first row."""
        rows, views = [], []
        base = first
        for part in self.parts:
            if key in part.offsets:
                off, ln = part.offsets[key], part.lengths[key]
                sel = np.flatnonzero((off >= 0) & (ln > 0))
                rows.append(pa.array(sel + base, pa.int64()))
                views.append(_views(part.bytes, part.data, off[sel], ln[sel], np.ones(len(sel), dtype=bool)))
            base += part.n
        if not rows:
            return pa.table({"record_index": pa.array([], pa.int64()), "v": pa.array([], pa.string_view())})
        return pa.table({"record_index": pa.chunked_array(rows, pa.int64()),
                         "v": pa.chunked_array(views, pa.string_view())})


def locate(info: pa.Array | pa.ChunkedArray) -> ChunkedLayout:
    """Find every key's value in each record of an INFO string column."""
    chunks = info.chunks if isinstance(info, pa.ChunkedArray) else [info]
    return ChunkedLayout([_locate_array(c) for c in chunks if len(c)])

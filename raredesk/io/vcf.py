"""Streaming VCF reader: header model and record chunks as Arrow tables.

The reader never builds a Python object per record. It decompresses BGZF
blocks in parallel threads (zlib releases the GIL), cuts the text at line
boundaries into chunks of tens of megabytes, and parses each chunk with
pyarrow's multi-threaded CSV reader into string columns. All per-record work
(splitting alleles, INFO, genotypes, annotations) then happens in DuckDB,
see :mod:`raredesk.store.importer`.

Uppercase VCF field names stay inside ``io/``; the rest of RareDesk sees the
column names produced by the importer.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pyarrow as pa
import pyarrow.csv as pacsv

try:  # ISA-L inflate and CRC32 are ~2x faster than zlib's; same results
    from isal import isal_zlib as _fastzlib
except ImportError:  # pragma: no cover - isal is a dependency; zlib is the fallback
    _fastzlib = zlib

from raredesk.errors import InputError

BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
FIXED_COLUMNS = ["chrom", "pos", "id", "ref", "alt", "qual", "filter", "info"]
ANNOTATION_KEYS = ("CSQ", "ANN", "EFF", "BCSQ")
# Text per chunk. The importer keeps two chunks in memory (one read ahead on a
# thread, one in DuckDB). On a 1 M-record, 3.9 kB-per-record VEP+SnpEff trio
# with the workspace's 256 MB checkpoint threshold, 16 MB chunks imported in
# 196 s at 1,092 MiB peak, 24 MB in 197 s at 1,164 MiB, 32 MB in 179 s at
# 1,576 MiB (over the 1.5 GB budget).
DEFAULT_CHUNK_BYTES = 16 << 20


@dataclass
class FieldDef:
    """One ``##INFO`` or ``##FORMAT`` header declaration.

    Attributes
    ----------
    name : str
        The ID as written in the header.
    number : str
        ``0``, ``1``, ``A``, ``R``, ``G``, ``.`` or another integer, as written.
    type : str
        ``Integer``, ``Float``, ``Flag``, ``Character`` or ``String``.
    description : str
        The Description text, unquoted.
    declared : bool
        False for fields found in records but absent from the header.
    """

    name: str
    number: str
    type: str
    description: str = ""
    declared: bool = True


@dataclass
class VcfHeader:
    """The parts of a VCF header RareDesk uses, plus the raw lines.

    Attributes
    ----------
    path : str
    fileformat : str
        e.g. ``VCFv4.2``.
    lines : list of str
        Every ``##`` line, unchanged.
    info, formats : dict of str to FieldDef
    filters : dict of str to str
        FILTER ID to description.
    contigs : list of (str, int or None)
        ``##contig`` names and lengths in header order.
    samples : list of str
    n_header_lines : int
        Lines before the first record, the ``#CHROM`` line included.
    annotations : dict of str to list of str
        For each annotation INFO key present (CSQ, ANN, EFF, BCSQ), its
        sub-field names as declared in the header.
    """

    path: str
    fileformat: str = ""
    lines: list[str] = field(default_factory=list)
    info: dict[str, FieldDef] = field(default_factory=dict)
    formats: dict[str, FieldDef] = field(default_factory=dict)
    filters: dict[str, str] = field(default_factory=dict)
    contigs: list[tuple[str, int | None]] = field(default_factory=list)
    samples: list[str] = field(default_factory=list)
    n_header_lines: int = 0
    annotations: dict[str, list[str]] = field(default_factory=dict)

    @property
    def text(self) -> str:
        cols = "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"]
                         + (["FORMAT"] + self.samples if self.samples else []))
        return "\n".join(self.lines + [cols]) + "\n"

    @property
    def n_columns(self) -> int:
        return 8 + (1 + len(self.samples) if self.samples else 0)

    def column_names(self) -> list[str]:
        names = list(FIXED_COLUMNS)
        if self.samples:
            names.append("format")
            names.extend(f"s{i}" for i in range(len(self.samples)))
        return names


_STRUCTURED = re.compile(r"^##(\w+)=<(.*)>\s*$")


def _parse_structured(body: str) -> dict[str, str]:
    """Parse ``ID=X,Number=1,Description="a, b"`` respecting quotes."""
    out: dict[str, str] = {}
    i, n = 0, len(body)
    while i < n:
        eq = body.find("=", i)
        if eq < 0:
            break
        key = body[i:eq].strip()
        j = eq + 1
        if j < n and body[j] == '"':
            j += 1
            buf = []
            while j < n and body[j] != '"':
                if body[j] == "\\" and j + 1 < n:
                    j += 1
                buf.append(body[j])
                j += 1
            value = "".join(buf)
            j += 1
            comma = body.find(",", j)
            j = n if comma < 0 else comma
        else:
            comma = body.find(",", j)
            end = n if comma < 0 else comma
            value = body[j:end].strip()
            j = end
        out[key] = value
        i = j + 1
    return out


_ANN_FORMAT = re.compile(r"Format:\s*'?\s*([^'\"]+?)\s*'?\s*$")


def _annotation_fields(key: str, description: str) -> list[str]:
    """Sub-field names of an annotation INFO field from its Description.

    Handles VEP (``Format: Allele|Consequence|...``), SnpEff ANN
    (``Functional annotations: 'Allele | Annotation | ...'``), SnpEff EFF
    (``Effect ( Effect_Impact | ... [ | ERRORS | WARNINGS ] )``) and bcftools
    BCSQ (``'[*]consequence|gene|...[|strand|...]'``).
    """
    if key == "EFF":
        m = re.search(r"\(\s*([^)]*)\)", description)
        inner = (m.group(1) if m else "").replace("[", "").replace("]", "")
        return ["Effect"] + [f.strip() for f in inner.split("|") if f.strip()]
    m = re.search(r"(?:Format|annotations)\s*:\s*(.*)$", description, flags=re.IGNORECASE)
    if not m:
        return []
    text = m.group(1).strip()
    q = re.match(r"^'([^']*)'", text)
    if q:
        text = q.group(1)
    text = text.replace("[*]", "").replace("[", "").replace("]", "").strip().strip("'\"")
    fields = [f.strip() for f in text.split("|")]
    return [f for f in fields if f]


def parse_header_text(path: str, text: str) -> VcfHeader:
    """Parse header text (all ``##`` lines and the ``#CHROM`` line)."""
    hdr = VcfHeader(path=str(path))
    lines = text.split("\n")
    chrom_line = None
    for n, raw in enumerate(lines):
        line = raw.rstrip("\r")
        if not line:
            continue
        if line.startswith("##"):
            hdr.lines.append(line)
            if line.startswith("##fileformat="):
                hdr.fileformat = line.split("=", 1)[1].strip()
                continue
            m = _STRUCTURED.match(line)
            if not m:
                continue
            kind, body = m.group(1), m.group(2)
            attrs = _parse_structured(body)
            ident = attrs.get("ID")
            if not ident:
                continue
            if kind in ("INFO", "FORMAT"):
                fd = FieldDef(ident, attrs.get("Number", "."), attrs.get("Type", "String"),
                              attrs.get("Description", ""))
                if fd.type not in ("Integer", "Float", "Flag", "Character", "String"):
                    fd.type = "String"
                (hdr.info if kind == "INFO" else hdr.formats)[ident] = fd
            elif kind == "FILTER":
                hdr.filters[ident] = attrs.get("Description", "")
            elif kind == "contig":
                length = attrs.get("length")
                try:
                    hdr.contigs.append((ident, int(length) if length else None))
                except ValueError:
                    hdr.contigs.append((ident, None))
        elif line.startswith("#"):
            chrom_line = line
            hdr.n_header_lines = n + 1
            break
        else:
            break
    if not hdr.fileformat.startswith("VCFv"):
        raise InputError("not a VCF file (no ##fileformat=VCFv4.x line)", path)
    if chrom_line is None:
        raise InputError("no #CHROM header line before the first record", path)
    cols = chrom_line.lstrip("#").split("\t")
    expected = ["CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"]
    if [c.strip() for c in cols[:8]] != expected:
        raise InputError("the #CHROM line does not have the 8 fixed VCF columns separated by tabs", path)
    if len(cols) > 8:
        if cols[8].strip() != "FORMAT":
            raise InputError("the 9th column of the #CHROM line must be FORMAT", path)
        hdr.samples = [c.strip() for c in cols[9:]]
        if len(set(hdr.samples)) != len(hdr.samples):
            dup = sorted({s for s in hdr.samples if hdr.samples.count(s) > 1})
            raise InputError(f"duplicate sample names in the header: {', '.join(dup)}", path)
        if any(not s for s in hdr.samples):
            raise InputError("an empty sample name in the #CHROM line", path)
    for key in ANNOTATION_KEYS:
        if key in hdr.info:
            fields = _annotation_fields(key, hdr.info[key].description)
            if fields:
                hdr.annotations[key] = fields
    return hdr


# --------------------------------------------------------------------------------------
# decompression


def sniff_format(path: str | os.PathLike) -> str:
    """Return ``bgzf``, ``gzip``, ``bcf`` or ``text`` for a variant file."""
    p = Path(path)
    try:
        with open(p, "rb") as f:
            head = f.read(18)
    except FileNotFoundError:
        raise InputError("file not found", str(path)) from None
    except IsADirectoryError:
        raise InputError("is a folder, not a file", str(path)) from None
    except PermissionError:
        raise InputError("permission denied", str(path)) from None
    if len(head) == 0:
        raise InputError("file is empty", str(path))
    if head[:2] == b"\x1f\x8b":
        is_bgzf = len(head) >= 18 and head[3] & 4 and head[12:14] == b"BC"
        if is_bgzf:
            with open(p, "rb") as f:
                first = _read_bgzf_block(f, str(path))
            start = zlib.decompress(first[0], -15)[:4] if first is not None else b""
            if start.startswith(b"BAM\x01"):
                raise InputError("this is a BAM file (aligned reads), not a VCF", str(path))
            if start[:3] == b"BCF":
                return "bcf"
            return "bgzf"
        with gzip.open(p, "rb") as f:
            try:
                start = f.read(3)
            except (OSError, EOFError) as exc:
                raise InputError(f"corrupt gzip data ({exc})", str(path)) from None
        return "bcf" if start == b"BCF" else "gzip"
    if head[:3] == b"BCF":
        return "bcf"
    if head[:4] == b"CRAM":
        raise InputError("this is a CRAM file (aligned reads), not a VCF", str(path))
    return "text"


def _read_bgzf_block(f, path: str):
    """Read one BGZF block; return (deflate_data, crc, isize) or None at EOF."""
    head = f.read(18)
    if not head:
        return None
    if len(head) < 18 or head[:4] != b"\x1f\x8b\x08\x04":
        raise InputError("corrupt BGZF block header (file truncated or not bgzip)", path)
    xlen = struct.unpack("<H", head[10:12])[0]
    extra = head[12:18] + (f.read(xlen - 6) if xlen > 6 else b"")
    bsize = None
    i = 0
    while i + 4 <= len(extra):
        si1, si2, slen = extra[i], extra[i + 1], struct.unpack("<H", extra[i + 2:i + 4])[0]
        if si1 == 66 and si2 == 67 and slen == 2:
            bsize = struct.unpack("<H", extra[i + 4:i + 6])[0]
        i += 4 + slen
    if bsize is None:
        raise InputError("corrupt BGZF block (no BC field)", path)
    rest = bsize + 1 - 12 - xlen
    body = f.read(rest)
    if len(body) != rest:
        raise InputError("file is truncated inside a BGZF block", path)
    cdata, crc, isize = body[:-8], *struct.unpack("<II", body[-8:])
    return cdata, crc, isize


def _inflate(block):
    cdata, crc, isize = block
    data = _fastzlib.decompress(cdata, -15)
    if len(data) != isize or _fastzlib.crc32(data) != crc:
        return None
    return data


def _bgzf_stream(path: str, batch_bytes: int, pool: ThreadPoolExecutor) -> Iterator[tuple[bytes, int]]:
    """Yield (decompressed bytes, compressed bytes consumed so far) per batch."""
    size = os.path.getsize(path)
    if size < 28:
        raise InputError("file is truncated (too short for BGZF)", path)
    with open(path, "rb") as f:
        f.seek(size - 28)
        if f.read(28) != BGZF_EOF:
            raise InputError("file is truncated: the BGZF end-of-file marker is missing "
                             "(an incomplete copy or download?)", path)
        f.seek(0)
        while True:
            blocks = []
            got = 0
            while got < batch_bytes:
                b = _read_bgzf_block(f, path)
                if b is None:
                    break
                blocks.append(b)
                got += b[2]
            if not blocks:
                return
            parts = list(pool.map(_inflate, blocks, chunksize=32))
            del blocks
            if any(p is None for p in parts):
                raise InputError("corrupt BGZF block (CRC or size check failed)", path)
            data = b"".join(parts)
            del parts  # one copy of the batch alive at a time (peak memory)
            yield data, f.tell()
            del data


def _gzip_stream(path: str, batch_bytes: int) -> Iterator[tuple[bytes, int]]:
    """Plain (non-blocked) gzip, possibly multi-member; truncation is an error."""
    with open(path, "rb") as f:
        d = zlib.decompressobj(wbits=31)
        in_member = False
        out: list[bytes] = []
        got = 0
        while True:
            raw = f.read(1 << 20)
            if not raw:
                break
            while raw:
                try:
                    data = d.decompress(raw)
                except zlib.error as exc:
                    raise InputError(f"corrupt gzip data ({exc})", path) from None
                in_member = True
                out.append(data)
                got += len(data)
                if d.eof:
                    raw = d.unused_data.lstrip(b"\x00")
                    d = zlib.decompressobj(wbits=31)
                    in_member = False
                else:
                    raw = b""
            if got >= batch_bytes:
                yield b"".join(out), f.tell()
                out, got = [], 0
        if in_member and not d.eof:
            raise InputError("file is truncated (the gzip stream ends early)", path)
        if out:
            yield b"".join(out), f.tell()


def _text_stream(path: str, batch_bytes: int) -> Iterator[tuple[bytes, int]]:
    with open(path, "rb") as f:
        while True:
            data = f.read(batch_bytes)
            if not data:
                return
            yield data, f.tell()


def _bcf_stream(path: str, batch_bytes: int) -> Iterator[tuple[bytes, int]]:
    """BCF is converted to VCF text by htslib (through pysam), record by record.

    BCF is rare as a hand-over format; this path is correct but slower than
    the BGZF text path.
    """
    import pysam

    pysam.set_verbosity(0)
    try:
        vf = pysam.VariantFile(path)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read BCF ({exc})", path) from None
    size = os.path.getsize(path)
    buf = [str(vf.header).encode()]
    got = len(buf[0])
    n = 0
    try:
        for rec in vf:
            s = str(rec).encode()
            buf.append(s)
            got += len(s)
            n += 1
            if got >= batch_bytes:
                yield b"".join(buf), min(size, int(size * 0.99))
                buf, got = [], 0
    except (OSError, ValueError) as exc:
        raise InputError(f"BCF read error after {n} records ({exc})", path) from None
    if buf:
        yield b"".join(buf), size


@dataclass
class Chunk:
    """A batch of records as string columns.

    Attributes
    ----------
    table : pyarrow.Table
        One string column per VCF column (names from ``VcfHeader.column_names``)
        plus ``record_index`` (0-based ordinal of the record in the file).
    first_line : int
        1-based line number in the file of the first record of the chunk.
    done, total : int
        Compressed bytes consumed so far and file size, for progress.
    """

    table: pa.Table
    first_line: int
    done: int
    total: int


class VcfReader:
    """Read a VCF/VCF.gz/BCF as a header plus a stream of :class:`Chunk`.

    Parameters
    ----------
    path : path-like
    chunk_bytes : int
        Approximate decompressed text per chunk; bounds memory.
    """

    def __init__(self, path: str | os.PathLike, chunk_bytes: int = DEFAULT_CHUNK_BYTES):
        self.path = str(path)
        self.chunk_bytes = chunk_bytes
        self.format = sniff_format(self.path)
        self.size = os.path.getsize(self.path)
        self._pool = ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1)))
        self._stream = self._raw_stream()
        self._pending = b""
        self._done = 0
        self.header = self._read_header()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _raw_stream(self):
        if self.format == "bgzf":
            return _bgzf_stream(self.path, self.chunk_bytes, self._pool)
        if self.format == "gzip":
            return _gzip_stream(self.path, self.chunk_bytes)
        if self.format == "bcf":
            return _bcf_stream(self.path, self.chunk_bytes)
        return _text_stream(self.path, self.chunk_bytes)

    def _read_header(self) -> VcfHeader:
        buf = b""
        while True:
            # header ends at the first line that does not start with '#'
            idx = 0
            end = None
            while True:
                nl = buf.find(b"\n", idx)
                if nl < 0:
                    break
                if buf[idx:idx + 1] != b"#":
                    end = idx
                    break
                idx = nl + 1
            if end is not None:
                break
            try:
                data, done = next(self._stream)
            except StopIteration:
                end = len(buf)
                break
            if not buf and not data.startswith(b"##"):
                if b"\x00" in data[:1024]:
                    raise InputError("not a VCF file (binary content)", self.path)
                raise InputError("not a VCF file (it does not start with ##fileformat)", self.path)
            buf += data
            self._done = done
        head = buf[:end]
        try:
            text = head.decode("utf-8")
        except UnicodeDecodeError:
            text = head.decode("latin-1")
            bad = [s for s in text.split("\n") if s.startswith("#CHROM")]
            if bad and any(ord(ch) > 127 for ch in bad[0]):
                raise InputError("sample names in the #CHROM line are not valid UTF-8", self.path)
        hdr = parse_header_text(self.path, text)
        self._pending = buf[end:]
        return hdr

    def chunks(self) -> Iterator[Chunk]:
        """Yield record chunks; the last one may be short.

        Each decompressed batch is cut at its last newline; only the short tail
        is carried over, so one batch and one Arrow table are alive at a time.
        """
        names = self.header.column_names()
        ncol = len(names)
        record_index = 0
        line = self.header.n_header_lines + 1
        carry = self._pending
        self._pending = b""
        while True:
            try:
                data, self._done = next(self._stream)
                exhausted = False
            except StopIteration:
                data, exhausted = None, True
            if exhausted:
                body = carry
                if body and not body.endswith(b"\n"):
                    body += b"\n"
                carry = b""
            else:
                cut = data.rfind(b"\n")
                if cut < 0:
                    carry += data
                    if len(carry) > 64 * self.chunk_bytes:
                        raise InputError(f"line {line}: a line longer than {len(carry)} bytes", self.path)
                    continue
                body = carry + data[:cut + 1] if carry else data[:cut + 1]
                carry = data[cut + 1:]
                del data
            if body and not body.isspace():
                table = self._parse(body, names, ncol, line)
                nlines = body.count(b"\n")
                del body
                n = table.num_rows
                table = table.append_column(
                    "record_index", pa.array(range(record_index, record_index + n), type=pa.int64()))
                yield Chunk(table, line, self._done, self.size)
                del table
                record_index += n
                line += nlines
            if exhausted:
                return

    def _parse(self, body: bytes, names: list[str], ncol: int, first_line: int) -> pa.Table:
        if b"\r" in body:
            body = body.replace(b"\r\n", b"\n")
        try:
            return pacsv.read_csv(
                io.BytesIO(body),
                read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 24, use_threads=True),
                parse_options=pacsv.ParseOptions(delimiter="\t", quote_char=False, escape_char=False,
                                                 double_quote=False, newlines_in_values=False,
                                                 ignore_empty_lines=True),
                convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                     strings_can_be_null=False, null_values=[],
                                                     check_utf8=False),
            )
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise self._locate_error(body, ncol, first_line, exc) from None

    def _locate_error(self, body: bytes, ncol: int, first_line: int, exc) -> InputError:
        for k, raw in enumerate(body.split(b"\n")):
            if not raw.strip():
                continue
            if raw.startswith(b"#"):
                return InputError(f"line {first_line + k}: a header line after the records started", self.path)
            n = raw.count(b"\t") + 1
            if n != ncol:
                return InputError(f"line {first_line + k}: expected {ncol} tab-separated columns, found {n}",
                                  self.path)
        return InputError(f"unreadable records ({exc})", self.path)


def read_header(path: str | os.PathLike) -> VcfHeader:
    """Read only the header of a VCF/VCF.gz/BCF."""
    with VcfReader(path, chunk_bytes=1 << 20) as r:
        return r.header


def first_contigs(path: str | os.PathLike, max_bytes: int = 4 << 20) -> set[str]:
    """CHROM values of the first records (for files without ``##contig`` lines)."""
    with VcfReader(path, chunk_bytes=max_bytes) as r:
        for chunk in r.chunks():
            return set(chunk.table.column("chrom").to_pylist())
    return set()


def check_index(path: str | os.PathLike) -> str | None:
    """A warning when a ``.tbi``/``.csi`` index beside the file is older than it.

    A stale index silently returns wrong regions in region queries; the import
    itself reads the whole file and does not use it.
    """
    p = Path(path)
    for ext in (".tbi", ".csi"):
        idx = p.with_name(p.name + ext)
        if idx.exists() and idx.stat().st_mtime + 1 < p.stat().st_mtime:
            return f"{idx.name} is older than the VCF: rebuild it (tabix -f -p vcf) before region queries"
    return None

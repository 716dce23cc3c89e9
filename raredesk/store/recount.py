"""Allele recounts from the reads, stored per case, variant and sample.

For each variant of a case and each sample with a BAM/CRAM, the reads are
counted again (:func:`raredesk.io.bam.recount`: REF, ALT and other alleles by
strand, base quality >= ``min_bq``, as ``samtools mpileup`` sees them) and
stored in ``read_recounts`` beside the VCF's genotype and AD. Where the two
disagree the row gets a flag, for example a "de novo" whose parent is
hom-ref in the VCF but shows ALT reads (``alt_in_hom_ref``).

Two entry points, one core (:func:`recount_variants`):

* :func:`recount_on_screen` for the variants a table shows (fast, skips what
  is already counted with the same filters and the same file);
* :func:`recount_all` for every variant, as a background job taking
  ``progress(done, total, text)`` and a ``cancel`` object with ``is_set()``.
  Rows are written in batches, so a cancelled run keeps what it counted.

Readers: :func:`get_recounts` and :func:`variant_flags`; :func:`recount_join_sql`
gives per-sample columns to LEFT JOIN onto a variant query by ``vkey``.

Qt-free. Writes go through ``ws.write_lock`` in one transaction per batch.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pandas as pd

from raredesk.errors import Cancelled, RareDeskError
from raredesk.store.cases import Case, get_case
from raredesk.store.importer import q

__all__ = [
    "TABLE", "FLAGS", "SampleRecount", "RecountChanges", "compare", "recount_variants", "recount_on_screen",
    "recount_all", "get_recounts", "variant_flags", "recount_join_sql",
    "MIN_ALT_READS", "MIN_ALT_FRACTION", "MIN_DEPTH_FOR_ABSENCE", "VAF_DIFFERENCE", "MIN_DEPTH_FOR_VAF",
]

TABLE = "read_recounts"

STATUS_OK = "ok"
STATUS_UNSUPPORTED = "unsupported"
STATUS_ERROR = "error"

#: Flags, in the order they are listed, with what they mean.
FLAGS = {
    "alt_in_hom_ref": "the VCF genotype is homozygous reference but reads carry the ALT allele",
    "no_alt_in_carrier": "the VCF genotype carries the ALT allele but (almost) no read does",
    "vaf_differs": "the allele fraction from the VCF AD and from the reads are far apart",
    "no_reads": "the VCF has reads here but the BAM/CRAM has none (wrong file or region?)",
}
#: ALT reads (and fraction of counted reads) that make a hom-ref genotype suspicious.
MIN_ALT_READS = 2
MIN_ALT_FRACTION = 0.05
#: Counted reads needed before "no ALT read" is taken as evidence.
MIN_DEPTH_FOR_ABSENCE = 8
#: Allele fractions (ALT / (REF + ALT)) further apart than this disagree...
VAF_DIFFERENCE = 0.3
#: ...when both the VCF AD and the reads have at least this many reads.
MIN_DEPTH_FOR_VAF = 10

_COLUMNS = ["case_id", "vkey", "sample_id", "status", "ref_fwd", "ref_rev", "alt_fwd", "alt_rev", "other_fwd",
            "other_rev", "depth", "vaf", "vcf_gt", "vcf_ad_ref", "vcf_ad_alt", "flag", "message", "min_bq",
            "min_mapq", "alignment_path", "alignment_sig"]

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class SampleRecount:
    """Stored read support of one sample at one variant.

    Attributes
    ----------
    vkey, sample_id : str
    status : str
        ``ok``; ``unsupported`` (symbolic or ``*`` allele); ``error`` (see message).
    ref_fwd, ref_rev, alt_fwd, alt_rev, other_fwd, other_rev : int or None
    depth : int or None
        REF + ALT + other reads counted.
    vaf : float or None
        ALT / depth.
    vcf_gt : int or None
        0 hom-ref, 1 het, 2 hom-alt (None when missing).
    vcf_ad_ref, vcf_ad_alt : int or None
    flags : tuple of str
        Keys of :data:`FLAGS`; empty when VCF and reads agree.
    message : str or None
    min_bq, min_mapq : int
    alignment_path : str or None
    counted_at : datetime
    """

    vkey: str
    sample_id: str
    status: str
    ref_fwd: int | None
    ref_rev: int | None
    alt_fwd: int | None
    alt_rev: int | None
    other_fwd: int | None
    other_rev: int | None
    depth: int | None
    vaf: float | None
    vcf_gt: int | None
    vcf_ad_ref: int | None
    vcf_ad_alt: int | None
    flags: tuple[str, ...]
    message: str | None
    min_bq: int
    min_mapq: int
    alignment_path: str | None
    counted_at: object = None

    @property
    def ref_count(self) -> int | None:
        return None if self.ref_fwd is None else self.ref_fwd + self.ref_rev

    @property
    def alt_count(self) -> int | None:
        return None if self.alt_fwd is None else self.alt_fwd + self.alt_rev

    @property
    def disagrees(self) -> bool:
        return bool(self.flags)


@dataclass(frozen=True)
class RecountChanges:
    """What a recount wrote.

    Attributes
    ----------
    tables : frozenset of str
        ``{"read_recounts"}`` when rows were written, else empty.
    case_id : int
    vkeys : tuple of str
        Variants whose recounts were (re)written.
    counted : int
        (variant, sample) pairs counted now.
    skipped : int
        Pairs already counted with the same filters and file.
    failed : int
        Pairs stored with status ``error`` or ``unsupported``.
    """

    tables: frozenset = frozenset()
    case_id: int | None = None
    vkeys: tuple[str, ...] = ()
    counted: int = 0
    skipped: int = 0
    failed: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.tables)


def compare(gt: int | None, ad_ref: int | None, ad_alt: int | None, ref_count: int, alt_count: int,
            depth: int) -> tuple[str, ...]:
    """Where the VCF (genotype, AD) and the read counts disagree; see :data:`FLAGS`.

    Parameters
    ----------
    gt : int or None
        VCF genotype code: 0 hom-ref, 1 het, 2 hom-alt.
    ad_ref, ad_alt : int or None
        VCF allelic depths.
    ref_count, alt_count, depth : int
        From the reads (depth = REF + ALT + other).

    Returns
    -------
    tuple of str
        Flag keys, empty when they agree.
    """
    flags: list[str] = []
    vcf_reads = (ad_ref or 0) + (ad_alt or 0)
    if depth == 0:
        return ("no_reads",) if vcf_reads > 0 else ()
    vaf = alt_count / depth
    if gt == 0 and alt_count >= MIN_ALT_READS and vaf >= MIN_ALT_FRACTION:
        flags.append("alt_in_hom_ref")
    if gt in (1, 2) and depth >= MIN_DEPTH_FOR_ABSENCE and (alt_count < MIN_ALT_READS and vaf < MIN_ALT_FRACTION):
        flags.append("no_alt_in_carrier")
    both = ref_count + alt_count
    if (ad_ref is not None and ad_alt is not None and vcf_reads >= MIN_DEPTH_FOR_VAF
            and both >= MIN_DEPTH_FOR_VAF):
        if abs(ad_alt / vcf_reads - alt_count / both) >= VAF_DIFFERENCE:
            flags.append("vaf_differs")
    return tuple(flags)


def _signature(path: str | None) -> str:
    if not path:
        return "none"
    try:
        st = os.stat(path)
    except OSError:
        return "missing"
    return f"{st.st_size}:{st.st_mtime_ns}"


def _case(con, case) -> Case:
    return case if isinstance(case, Case) else get_case(con, str(case))


def _symbolic(ref: str, alt: str) -> bool:
    return (not alt or alt.startswith("<") or "[" in alt or "]" in alt or alt in ("*", ".")
            or not ref or ref.startswith("<"))


def recount_variants(ws, case, vkeys: Iterable[str] | None = None, *, min_bq: int = 13, min_mapq: int = 0,
                     force: bool = False, progress: Progress | None = None, cancel=None,
                     batch_size: int = 200) -> RecountChanges:
    """Count REF/ALT reads per sample for variants of a case and store them.

    Parameters
    ----------
    ws : raredesk.store.workspace.Workspace
    case : Case or str
        The case or its name.
    vkeys : iterable of str, optional
        Variant keys to count; None counts every variant of the case.
    min_bq, min_mapq : int
        Base and mapping quality filters (mpileup's defaults: 13 and 0).
    force : bool
        Count again even when a recount with the same filters and the same
        alignment file is stored.
    progress : callable(done, total, text), optional
        Called after each variant.
    cancel : object with ``is_set()``, optional
        Checked between variants; rows counted so far are written, then
        :class:`~raredesk.errors.Cancelled` is raised.
    batch_size : int
        Variants per write transaction.

    Returns
    -------
    RecountChanges

    Raises
    ------
    RareDeskError
        Unknown case, read-only workspace.
    Cancelled
        When ``cancel`` was set.
    """
    from raredesk.io.bam import recount
    from raredesk.io.fasta import Reference

    if getattr(ws, "read_only", False):
        raise RareDeskError("the workspace is open read-only; read recounts cannot be stored")
    con = ws.cursor()
    try:
        case = _case(con, case)
        samples = [s for s in case.samples if s.alignment_path]
        ref_row = con.execute("SELECT reference_path FROM cases WHERE case_id = ?", [case.case_id]).fetchone()
        reference_path = ref_row[0] if ref_row else None
        cols = ["vkey", "orig_chrom", "orig_pos", "orig_ref", "orig_alt"]
        for s in samples:
            if s.sample_index is not None:
                k = s.sample_index
                cols += [f"s{k}_gt", f"s{k}_ad_ref", f"s{k}_ad_alt"]
        sql = (f"SELECT {', '.join(q(c) for c in cols)} FROM {q(case.table)} "
               + ("WHERE vkey IN (SELECT unnest(?::VARCHAR[])) " if vkeys is not None else "")
               + "QUALIFY row_number() OVER (PARTITION BY vkey ORDER BY variant_id) = 1 "
               + "ORDER BY chrom_rank, pos, vkey")
        wanted = list(dict.fromkeys(vkeys)) if vkeys is not None else None
        rows = con.execute(sql, [wanted] if wanted is not None else []).fetchall()
        done_before: dict = {}
        if not force and rows:
            for vk, sid, bq, mq, sig in con.execute(
                    f"SELECT vkey, sample_id, min_bq, min_mapq, alignment_sig FROM {TABLE} WHERE case_id = ?"
                    + (" AND vkey IN (SELECT unnest(?::VARCHAR[]))" if wanted is not None else ""),
                    [case.case_id] + ([wanted] if wanted is not None else [])).fetchall():
                done_before[(vk, sid)] = (bq, mq, sig)
    finally:
        con.close()
    if not samples:
        return RecountChanges(case_id=case.case_id)
    sigs = {s.sample_id: _signature(s.alignment_path) for s in samples}
    reference = None
    if reference_path:
        try:
            reference = Reference(reference_path)
        except RareDeskError:
            reference = None   # each recount then reports the problem per sample
    pos_of = {c: i for i, c in enumerate(cols)}
    total = len(rows)
    buffer: list[tuple] = []
    written: list[str] = []
    counted = skipped = failed = 0

    def flush() -> None:
        if buffer:
            _write(ws, buffer)
            written.extend(dict.fromkeys(r[1] for r in buffer))
            buffer.clear()

    try:
        for n, row in enumerate(rows, start=1):
            if cancel is not None and cancel.is_set():
                flush()
                raise Cancelled()
            vkey, chrom, pos, ref, alt = row[:5]
            for s in samples:
                key = (vkey, s.sample_id)
                if done_before.get(key) == (min_bq, min_mapq, sigs[s.sample_id]):
                    skipped += 1
                    continue
                if s.sample_index is not None:
                    k = s.sample_index
                    gt, ad_ref, ad_alt = (row[pos_of[f"s{k}_gt"]], row[pos_of[f"s{k}_ad_ref"]],
                                          row[pos_of[f"s{k}_ad_alt"]])
                else:
                    gt = ad_ref = ad_alt = None
                base = [case.case_id, vkey, s.sample_id]
                tail = [gt, ad_ref, ad_alt]
                if _symbolic(ref or "", alt or ""):
                    buffer.append(tuple(base + [STATUS_UNSUPPORTED] + [None] * 8 + tail +
                                        [None, f"allele {alt!r} cannot be recounted from reads (symbolic or '*')",
                                         min_bq, min_mapq, s.alignment_path, sigs[s.sample_id]]))
                    failed += 1
                    continue
                try:
                    res = recount(s.alignment_path, reference if reference is not None else reference_path,
                                  chrom, int(pos), ref, alt, min_bq=min_bq, min_mapq=min_mapq)
                except (RareDeskError, OSError, ValueError) as exc:
                    buffer.append(tuple(base + [STATUS_ERROR] + [None] * 8 + tail +
                                        [None, " ".join(str(exc).split()), min_bq, min_mapq, s.alignment_path,
                                         sigs[s.sample_id]]))
                    failed += 1
                    continue
                flags = compare(gt, ad_ref, ad_alt, res.ref_count, res.alt_count, res.depth)
                buffer.append(tuple(base + [STATUS_OK, res.ref_fwd, res.ref_rev, res.alt_fwd, res.alt_rev,
                                            res.other_fwd, res.other_rev, res.depth,
                                            None if res.depth == 0 else res.alt_count / res.depth] + tail +
                                    [",".join(flags) or None, None, min_bq, min_mapq, s.alignment_path,
                                     sigs[s.sample_id]]))
                counted += 1
            if n % batch_size == 0:
                flush()
            if progress is not None:
                progress(n, total, f"{vkey}")
        flush()
    finally:
        if reference is not None:
            reference.close()
    return RecountChanges(frozenset({TABLE}) if written else frozenset(), case.case_id, tuple(written), counted,
                          skipped, failed)


def _write(ws, rows: list[tuple]) -> None:
    df = pd.DataFrame(rows, columns=_COLUMNS)
    for c in ("ref_fwd", "ref_rev", "alt_fwd", "alt_rev", "other_fwd", "other_rev", "depth", "vcf_gt",
              "vcf_ad_ref", "vcf_ad_alt", "min_bq", "min_mapq"):
        df[c] = df[c].astype("Int64")
    df["vaf"] = df["vaf"].astype("float64")
    for c in ("flag", "message", "alignment_path", "alignment_sig", "status", "vkey", "sample_id"):
        df[c] = df[c].astype("object")
    with ws.write_lock:
        con = ws.cursor()
        try:
            con.register("_recount_rows", df)
            con.execute("BEGIN TRANSACTION")
            try:
                con.execute(f"INSERT OR REPLACE INTO {TABLE} ({', '.join(_COLUMNS)}, counted_at) "
                            f"SELECT {', '.join(_COLUMNS)}, current_timestamp FROM _recount_rows")
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            finally:
                con.unregister("_recount_rows")
        finally:
            con.close()


def recount_on_screen(ws, case, vkeys: Iterable[str], **kw) -> RecountChanges:
    """Recount the variants a view shows (already counted ones are skipped); see :func:`recount_variants`."""
    return recount_variants(ws, case, list(vkeys), **kw)


def recount_all(ws, case, *, progress: Progress | None = None, cancel=None, **kw) -> RecountChanges:
    """Background job: recount every variant of a case; see :func:`recount_variants`."""
    return recount_variants(ws, case, None, progress=progress, cancel=cancel, **kw)


def get_recounts(con, case_id: int, vkeys: Iterable[str] | None = None) -> dict[str, dict[str, SampleRecount]]:
    """Stored recounts: vkey -> sample id -> :class:`SampleRecount`."""
    keys = None if vkeys is None else list(dict.fromkeys(vkeys))
    if keys is not None and not keys:
        return {}
    rows = con.execute(
        f"SELECT vkey, sample_id, status, ref_fwd, ref_rev, alt_fwd, alt_rev, other_fwd, other_rev, depth, vaf, "
        f"vcf_gt, vcf_ad_ref, vcf_ad_alt, flag, message, min_bq, min_mapq, alignment_path, counted_at "
        f"FROM {TABLE} WHERE case_id = ?" + (" AND vkey IN (SELECT unnest(?::VARCHAR[]))" if keys is not None else ""),
        [case_id] + ([keys] if keys is not None else [])).fetchall()
    out: dict[str, dict[str, SampleRecount]] = {}
    for r in rows:
        flags = tuple(x for x in (r[14] or "").split(",") if x)
        out.setdefault(r[0], {})[r[1]] = SampleRecount(*r[:14], flags, *r[15:])
    return out


def variant_flags(con, case_id: int, vkeys: Iterable[str] | None = None) -> dict[str, tuple[str, ...]]:
    """Variants where VCF and reads disagree in some sample: vkey -> flags (``sample:flag``)."""
    out: dict[str, list[str]] = {}
    for vk, per in get_recounts(con, case_id, vkeys).items():
        for sid, rc in sorted(per.items()):
            for f in rc.flags:
                out.setdefault(vk, []).append(f"{sid}:{f}")
    return {k: tuple(v) for k, v in out.items()}


def recount_join_sql(case: Case) -> str:
    """A SELECT giving one row per recounted vkey with per-sample read columns.

    Columns: ``vkey``, ``reads_disagree`` (bool), ``reads_flags`` (text) and,
    per genotyped sample ``k``, ``s<k>_reads_ref``, ``s<k>_reads_alt``,
    ``s<k>_reads_depth``, ``s<k>_reads_flag``. LEFT JOIN it on ``vkey``
    to show the recounts beside the VCF's AD (``s<k>_ad_ref``/``s<k>_ad_alt``).
    The case id and sample ids are inlined as literals (trusted values from
    the store).
    """
    parts = ["vkey", "bool_or(flag IS NOT NULL) AS reads_disagree",
             "string_agg(CASE WHEN flag IS NOT NULL THEN sample_id || ':' || flag END, '; ' ORDER BY sample_id) "
             "AS reads_flags"]
    for s in case.samples:
        if s.sample_index is None:
            continue
        k = s.sample_index
        sid = "'" + s.sample_id.replace("'", "''") + "'"
        parts += [f"max(CASE WHEN sample_id = {sid} THEN ref_fwd + ref_rev END) AS s{k}_reads_ref",
                  f"max(CASE WHEN sample_id = {sid} THEN alt_fwd + alt_rev END) AS s{k}_reads_alt",
                  f"max(CASE WHEN sample_id = {sid} THEN depth END) AS s{k}_reads_depth",
                  f"max(CASE WHEN sample_id = {sid} THEN flag END) AS s{k}_reads_flag"]
    return f"SELECT {', '.join(parts)} FROM {TABLE} WHERE case_id = {int(case.case_id)} GROUP BY vkey"


"""Columnar VCF import into a case of the workspace.

The reader (:mod:`raredesk.io.vcf`) yields Arrow chunks of raw string
columns; everything per record happens in DuckDB SQL over each chunk:

1. ``_rec``: INFO split into a key list once per record; each declared INFO
   field extracted by list position (no regex per field), genotype fields
   located in FORMAT.
2. a type check of every numeric INFO field: a value that contradicts the
   declared type (e.g. ``0.5`` in an Integer field) widens the column
   (Integer -> Double -> Varchar) and is reported — never turned into NULL.
3. transcripts: every annotation entry (VEP CSQ, SnpEff ANN/EFF, bcftools BCSQ)
   split and matched to its ALT allele; ``_pick`` the picked transcript
   (MANE Select > canonical > most severe) per allele.
4. one row per ALT allele inserted into ``case_<id>_variants``: normalised
   key, Number=A/R values and genotypes/AD recoded for that allele.

The whole import is one transaction: a cancelled or failed import leaves the
workspace exactly as it was.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import duckdb

from raredesk.errors import Cancelled, InputError, WorkspaceError
from raredesk.io import genome
from raredesk.io.consequences import BCSQ_TO_SO, EFF_TO_SO, severity_table, sql_case
from raredesk.io.ped import Individual, pick_proband, read_ped, roles
from raredesk.io.vcf import ANNOTATION_KEYS, DEFAULT_CHUNK_BYTES, FieldDef, VcfHeader, VcfReader, check_index
from raredesk.store import annotations as ann
from raredesk.store import info_split
from raredesk.store import scores as sc

ProgressFn = Callable[[int, int, str], None]

INT_RE = r"\s*[+-]?[0-9]+\s*"
FILE_SHIFT = 1 << 40       # variant_id = file_seq * 2^40 + record_index * 1024 + allele_index
RECORD_SHIFT = 1024
REFERENCE_ALLELES = ("<*>", "<NON_REF>", "<X>")


class CancelToken:
    """A Qt-free cancel flag shared between a job and whoever may cancel it."""

    def __init__(self):
        self._set = False

    def cancel(self) -> None:
        self._set = True

    @property
    def cancelled(self) -> bool:
        return self._set

    def is_set(self) -> bool:
        """Same as ``cancelled`` (the name threading.Event uses; the read core checks this)."""
        return self._set


@dataclass
class ImportResult:
    """What an import did.

    Attributes
    ----------
    case_id, case_name : int, str
    file_id : int or None
        None when the file had been imported before (same checksum).
    records : int
        VCF records read.
    variant_rows : int
        Rows written, one per ALT allele.
    skipped : dict of str to int
        Counts of what was not turned into rows (reference blocks, ...).
    warnings : list of str
    build : str or None
    seconds : float
    already_imported : bool
    """

    case_id: int
    case_name: str
    file_id: int | None
    records: int = 0
    variant_rows: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    build: str | None = None
    seconds: float = 0.0
    already_imported: bool = False


def q(name: str) -> str:
    """Quote an SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def lit(text: str | None) -> str:
    """An SQL string literal."""
    if text is None:
        return "NULL"
    return "'" + str(text).replace("'", "''") + "'"


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 22)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def variants_table(case_id: int) -> str:
    return f"case_{case_id}_variants"


def transcripts_table(case_id: int) -> str:
    """The per-entry view over :func:`annotations_table` (see raredesk.store.annotations)."""
    return f"case_{case_id}_transcripts"


def annotations_table(case_id: int) -> str:
    """One row per (record, annotation key): the annotation's INFO value as written."""
    return f"case_{case_id}_annotations"


def record_id_of(variant_id: int) -> int:
    """The id shared by all alleles of a record (its allele bits cleared); the
    transcripts view is read fast when a query filters on it."""
    return variant_id - variant_id % RECORD_SHIFT


# VEP writes alleles without the padding base when every ALT shares REF's first base
VEP_ALTS = """CASE WHEN NOT list_bool_or(list_transform({alts}, a -> rd_symbolic(a) OR a = '*' OR a = '.'))
                  AND len(list_filter({alts}, a -> upper(a[1]) <> upper({ref}[1]))) = 0
                 THEN list_transform({alts}, a -> CASE WHEN len(a) = 1 THEN '-' ELSE a[2:] END)
                 ELSE {alts} END"""


def _object_kind(con, name: str) -> str | None:
    """'table', 'view' or None for an object of the current database."""
    if con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ? "
                   "AND database_name = current_database()", [name]).fetchone()[0]:
        return "table"
    if con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = ? "
                   "AND database_name = current_database()", [name]).fetchone()[0]:
        return "view"
    return None


def legacy_transcripts_table(case_id: int) -> str:
    """Transcript rows of a workspace made before the annotations were stored as text."""
    return f"case_{case_id}_transcripts_v1"


def _ensure_annotation_store(con, case_id: int) -> None:
    """Create the case's annotation table; keep an older workspace's materialised
    transcript table under another name (the view includes its rows)."""
    tt = transcripts_table(case_id)
    if _object_kind(con, tt) == "table":
        con.execute(f"ALTER TABLE {q(tt)} RENAME TO {q(legacy_transcripts_table(case_id))}")
    con.execute(f"""CREATE TABLE IF NOT EXISTS {q(annotations_table(case_id))} (
        file_id INTEGER, record_id BIGINT, info_key VARCHAR, alts VARCHAR, vep_alts VARCHAR,
        value VARCHAR USING COMPRESSION zstd)""")
    if _object_kind(con, tt) is None:
        _macros(con)
        _transcripts_view(con, case_id)


def _transcripts_view(con, case_id: int) -> None:
    """(Re)define ``case_<id>_transcripts`` over the stored annotation text of every file."""
    at = annotations_table(case_id)
    parts = []
    for file_id, key, source, fields, columns in con.execute(
            "SELECT file_id, info_key, source, fields, columns FROM annotation_sources WHERE case_id = ? "
            "ORDER BY file_id, info_key", [case_id]).fetchall():
        plan = ann.SourcePlan(key, source, list(fields), list(columns),
                              [(c, f) for c, f in zip(columns, fields) if c.startswith(ann.PREFIX[source])])
        values = (f"(SELECT record_id, (record_id % {FILE_SHIFT}) // {RECORD_SHIFT} AS record_index, "
                  f"string_split(alts, ',') AS alts, string_split(vep_alts, ',') AS vep_alts, value AS v "
                  f"FROM {q(at)} WHERE file_id = {int(file_id)} AND info_key = {lit(key)})")
        parts.append(ann.source_select(plan, int(file_id), ann.entries_select(plan, values)))
    legacy = legacy_transcripts_table(case_id)
    if _object_kind(con, legacy) == "table":
        parts.append(f"SELECT *, variant_id - variant_id % {RECORD_SHIFT} AS record_id FROM {q(legacy)}")
    empty = ", ".join(f"NULL::{t} AS {q(n)}" for n, t in TRANSCRIPT_COLUMNS + [("record_id", "BIGINT")])
    parts.append(f"SELECT {empty} WHERE false")
    order = ", ".join(q(n) for n, _ in TRANSCRIPT_COLUMNS[:1] + [("record_id", "")] + TRANSCRIPT_COLUMNS[1:])
    body = "\nUNION ALL BY NAME\n".join(f"({p})" for p in parts)
    con.execute(f"CREATE OR REPLACE VIEW {q(transcripts_table(case_id))} AS "
                f"SELECT {order}, * EXCLUDE ({order}) FROM ({body})")


# ------------------------------------------------------------------------------------------
# fixed columns of the per-case tables

VARIANT_COLUMNS: list[tuple[str, str]] = [
    ("variant_id", "BIGINT"), ("file_id", "INTEGER"), ("record_index", "BIGINT"), ("allele_index", "SMALLINT"),
    ("n_alleles", "SMALLINT"), ("chrom", "VARCHAR"), ("chrom_rank", "SMALLINT"), ("pos", "BIGINT"),
    ("ref", "VARCHAR"), ("alt", "VARCHAR"), ("vkey", "VARCHAR"), ("orig_chrom", "VARCHAR"), ("orig_pos", "BIGINT"),
    ("orig_ref", "VARCHAR"), ("orig_alt", "VARCHAR"), ("vcf_id", "VARCHAR"), ("qual", "DOUBLE"),
    ("filter", "VARCHAR"), ("vtype", "VARCHAR"), ("sv_type", "VARCHAR"), ("sv_end", "BIGINT"), ("sv_len", "BIGINT"),
    ("gene", "VARCHAR"), ("gene_id", "VARCHAR"), ("transcript", "VARCHAR"), ("biotype", "VARCHAR"),
    ("consequence", "VARCHAR"), ("impact", "VARCHAR"), ("hgvsc", "VARCHAR"), ("hgvsp", "VARCHAR"),
    ("exon", "VARCHAR"), ("intron", "VARCHAR"), ("mane_select", "VARCHAR"), ("canonical", "BOOLEAN"),
    ("annotation_source", "VARCHAR"), ("worst_consequence", "VARCHAR"), ("worst_impact", "VARCHAR"),
    ("consequences", "VARCHAR[]"), ("genes", "VARCHAR[]"), ("n_transcripts", "INTEGER"),
    ("gnomad_af", "DOUBLE"), ("gnomad_grpmax_af", "DOUBLE"), ("gnomad_nhomalt", "BIGINT"),
] + [(f"gnomad_af_{p}", "DOUBLE") for p in sc.POPULATIONS] + [
    ("cadd_phred", "DOUBLE"), ("revel", "DOUBLE"), ("spliceai_ds", "DOUBLE"), ("alphamissense", "DOUBLE"),
    ("alphamissense_class", "VARCHAR"), ("sift_pred", "VARCHAR"), ("sift_score", "DOUBLE"),
    ("polyphen_pred", "VARCHAR"), ("polyphen_score", "DOUBLE"), ("clinvar_sig", "VARCHAR"),
    ("clinvar_revstat", "VARCHAR"), ("clinvar_stars", "TINYINT"), ("clinvar_id", "VARCHAR"),
    ("clinvar_source", "VARCHAR"), ("format", "VARCHAR"),
]

SAMPLE_COLUMNS: list[tuple[str, str]] = [
    ("gt", "TINYINT"), ("gt_raw", "VARCHAR"), ("phased", "BOOLEAN"), ("ad_ref", "INTEGER"), ("ad_alt", "INTEGER"),
    ("dp", "INTEGER"), ("gq", "INTEGER"), ("ps", "BIGINT"), ("ab", "DOUBLE"), ("raw", "VARCHAR"),
]

TRANSCRIPT_COLUMNS: list[tuple[str, str]] = [
    ("variant_id", "BIGINT"), ("record_index", "BIGINT"), ("file_id", "INTEGER"), ("allele_index", "SMALLINT"),
    ("entry_index", "INTEGER"), ("source", "VARCHAR"), ("severity", "SMALLINT"),
] + ann.SHARED

SOURCE_OF_KEY = ann.SOURCE_OF_KEY


def _macros(con: duckdb.DuckDBPyConnection) -> None:
    sev = severity_table()
    rank = sql_case({t: r for t, (r, _) in sev.items()}, "t", "999")
    impact = sql_case({t: i for t, (_, i) in sev.items()}, "t")
    eff = sql_case(EFF_TO_SO, "upper(e)", "lower(e)")
    bcsq = sql_case(BCSQ_TO_SO, "lower(t)", "lower(t) || '_variant'")
    stars = sql_case(sc.REVIEW_STARS, "lower(trim(s))")
    codes = sql_case(sc.CLNSIG_CODES, "trim(t)", "replace(trim(t), '_', ' ')")
    statements = [
        f"CREATE OR REPLACE MACRO rd_int(x) AS CASE WHEN regexp_full_match(x, '{INT_RE}') THEN TRY_CAST(x AS BIGINT) END",
        "CREATE OR REPLACE MACRO rd_dbl(x) AS TRY_CAST(x AS DOUBLE)",
        "CREATE OR REPLACE MACRO rd_sfx(r, a) AS coalesce(list_position(list_transform(range(1, least(len(r), len(a))), i -> r[-i] = a[-i]), false) - 1, least(len(r), len(a)) - 1)",
        "CREATE OR REPLACE MACRO rd_pfx(r, a) AS coalesce(list_position(list_transform(range(1, least(len(r), len(a))), i -> r[i] = a[i]), false) - 1, least(len(r), len(a)) - 1)",
        "CREATE OR REPLACE MACRO rd_symbolic(a) AS (a[1] = '<' OR contains(a, '[') OR contains(a, ']') OR (len(a) > 1 AND (a[1] = '.' OR a[-1] = '.')))",
        f"CREATE OR REPLACE MACRO rd_sev(c) AS list_min(list_transform(string_split(c, '&'), t -> {rank}))",
        f"CREATE OR REPLACE MACRO rd_impact_of(t) AS {impact}",
        f"CREATE OR REPLACE MACRO rd_eff_so(e) AS {eff}",
        f"CREATE OR REPLACE MACRO rd_bcsq_so(c) AS array_to_string(list_transform(string_split(ltrim(c, '*'), '&'), t -> {bcsq}), '&')",
        "CREATE OR REPLACE MACRO rd_pred(s) AS CASE WHEN TRY_CAST(s AS DOUBLE) IS NULL THEN NULLIF(regexp_extract(s, '^([^(]*)', 1), '') END",
        "CREATE OR REPLACE MACRO rd_predscore(s) AS coalesce(TRY_CAST(s AS DOUBLE), TRY_CAST(regexp_extract(s, '\\(([^)]*)\\)', 1) AS DOUBLE))",
        f"CREATE OR REPLACE MACRO rd_stars(s) AS {stars}",
        f"CREATE OR REPLACE MACRO rd_clnsig(s) AS array_to_string(list_transform(regexp_split_to_array(s, '[|,;]'), t -> {codes}), ', ')",
        "CREATE OR REPLACE MACRO rd_pct(s) AS replace(replace(replace(s, '%3D', '='), '%3B', ';'), '%2C', ',')",
    ]
    for s in statements:
        con.execute(s)


# ------------------------------------------------------------------------------------------
# case set-up


@dataclass
class CaseSpec:
    """Clinical facts of a case given at creation (all optional)."""

    proband: str | None = None
    sex: str | None = None
    indication: str | None = None
    hpo_terms: list[str] = field(default_factory=list)
    consent_secondary: bool = False


def _column_name(prefix: str, name: str, taken: set[str]) -> str:
    base = prefix + re.sub(r"[^0-9A-Za-z_]", "_", name)
    col, k = base, 2
    while col.lower() in taken:
        col = f"{base}_{k}"
        k += 1
    taken.add(col.lower())
    return col


@dataclass
class _InfoPlan:
    fd: FieldDef
    column: str
    raw: str              # raw column name in _rec
    base_type: str        # BIGINT / DOUBLE / VARCHAR / BOOLEAN
    new: bool             # column to be created


def fd_name_of(name: str) -> str:
    """The INFO key in the VCF for a stored field name (``AF#2`` -> ``AF``)."""
    return name.split("#", 1)[0]


def _base_type(fd: FieldDef) -> str:
    return {"Integer": "BIGINT", "Float": "DOUBLE", "Flag": "BOOLEAN"}.get(fd.type, "VARCHAR")


def _is_list(fd: FieldDef) -> bool:
    return fd.type != "Flag" and fd.number not in ("1", "0", "A")


def _sql_type(base: str, fd: FieldDef) -> str:
    return base + "[]" if _is_list(fd) else base


def _cast(expr: str, base: str) -> str:
    if base == "BIGINT":
        return f"rd_int({expr})"
    if base == "DOUBLE":
        return f"rd_dbl({expr})"
    return expr


class _Importer:
    def __init__(self, ws, path: str, case_name: str, *, ped: str | None, proband: str | None,
                 alignments: dict[str, str] | None, reference: str | None, build: str | None,
                 case_spec: CaseSpec | None, progress: ProgressFn | None, cancel: CancelToken | None,
                 chunk_bytes: int, kind: str = "vcf"):
        self.ws = ws
        self.path = str(path)
        self.case_name = case_name
        self.ped_path = ped
        self.proband = proband
        self.alignments = alignments or {}
        self.reference = reference
        self.build_arg = genome.normalise_build(build) if build else None
        self.case_spec = case_spec or CaseSpec()
        self.progress = progress or (lambda done, total, text: None)
        self.cancel = cancel or CancelToken()
        self.chunk_bytes = chunk_bytes
        self.kind = kind
        self.warnings: list[str] = []
        self.warning_rows: list[tuple[str, str, int, str, str]] = []
        self.skipped: dict[str, int] = {}
        self._temp: list[str] = []   # per-chunk temp tables of the annotation split
        self._texts: list[tuple[str, str]] = []   # (temp table, INFO key) of annotation text to store
        self._tallies: dict[tuple[str, str], list] = {}

    # -- helpers ---------------------------------------------------------------------------

    def warn(self, kind: str, fld: str, count: int, example: str | None, message: str) -> None:
        self.warnings.append(message)
        self.warning_rows.append((kind, fld, int(count), example, message))

    def tally(self, kind: str, fld: str, count: int, example: str | None, message) -> None:
        """A warning found per chunk: counted over the whole file and reported
        once at the end (``message(total, first example)``)."""
        t = self._tallies.setdefault((kind, fld), [0, example, message])
        t[0] += int(count)

    def _flush_tallies(self) -> None:
        for (kind, fld), (count, example, message) in self._tallies.items():
            self.warn(kind, fld, count, example, message(count, example))
        self._tallies.clear()

    def _check_cancel(self):
        if self.cancel.cancelled:
            raise Cancelled()

    # -- main ------------------------------------------------------------------------------

    def run(self) -> ImportResult:
        t0 = time.perf_counter()
        path = self.path
        if not Path(path).is_file():
            raise InputError("file not found" if not Path(path).exists() else "not a regular file", path)
        people = read_ped(self.ped_path) if self.ped_path else None
        idx_warning = check_index(path)
        if idx_warning:
            self.warn("index", "", 1, None, idx_warning)
        stat = os.stat(path)
        con = self.ws.cursor()
        existing = con.execute("SELECT case_id FROM cases WHERE name = ?", [self.case_name]).fetchone()
        # Same content already in this case? (fast path: same size, then checksum)
        if existing:
            same_size = con.execute("SELECT sha256 FROM files WHERE case_id = ? AND size = ? AND kind = ?",
                                    [existing[0], stat.st_size, self.kind]).fetchall()
            if same_size:
                digest = sha256_file(path)
                if any(r[0] == digest for r in same_size):
                    return ImportResult(existing[0], self.case_name, None, already_imported=True,
                                        seconds=time.perf_counter() - t0,
                                        warnings=["this file (same SHA-256) is already imported in this case; "
                                                  "nothing was added"])
        hasher = hashlib.sha256()
        with VcfReader(path, chunk_bytes=self.chunk_bytes) as reader:
            hdr = reader.header
            build = self._build(hdr)
            sample_map = self._match_samples(hdr, people)
            with self.ws.write_lock:
                self.undo = _Undo()
                try:
                    result = self._import(con, reader, hdr, build, people, sample_map, stat)
                    digest = _hash_file_into(hasher, path)
                    dup = con.execute("SELECT count(*) FROM files WHERE case_id = ? AND sha256 = ? AND kind = ? "
                                      "AND status = 'imported'", [result.case_id, digest, self.kind]).fetchone()[0]
                    if dup:
                        self.undo.cleanup(con)
                        return ImportResult(result.case_id, self.case_name, None, already_imported=True,
                                            seconds=time.perf_counter() - t0,
                                            warnings=["this file (same SHA-256) is already imported in this case; "
                                                      "nothing was added"])
                    con.execute("BEGIN TRANSACTION")
                    con.execute("UPDATE files SET sha256 = ?, status = 'imported' WHERE file_id = ?",
                                [digest, result.file_id])
                    con.execute("UPDATE cases SET status = 'imported' WHERE case_id = ? AND status = 'importing'",
                                [result.case_id])
                    con.execute("COMMIT")
                except BaseException as exc:
                    try:
                        con.execute("ROLLBACK")
                    except duckdb.Error:
                        pass
                    self.undo.cleanup(con)
                    if isinstance(exc, duckdb.OutOfMemoryException):
                        limit = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
                        raise InputError(
                            f"the database engine ran out of memory during the import (limit {limit}); nothing "
                            "was added. Set RAREDESK_MEMORY_LIMIT higher (e.g. 2GB) and import again",
                            path) from None
                    raise
                finally:
                    if getattr(self, "_restore_memory", None):
                        try:
                            con.execute(f"SET memory_limit = '{self._restore_memory}'")
                        except duckdb.Error:
                            pass
                    for t in ("_rec", "_alle", "_pick", "_txc"):
                        try:
                            con.execute(f"DROP TABLE IF EXISTS {t}")
                        except duckdb.Error:
                            pass
        result.seconds = time.perf_counter() - t0
        result.warnings = self.warnings
        result.skipped = self.skipped
        return result

    # -- header-level checks -----------------------------------------------------------------

    def _build(self, hdr: VcfHeader) -> str | None:
        detected, notes = genome.detect_build(hdr.contigs)
        source = "contig lengths"
        if detected is None and not any(length for _, length in hdr.contigs):
            detected = genome.build_from_reference_line(hdr.lines)
            source = "##reference line"
        for n in notes:
            self.warn("build", "", 1, None, n)
        if self.build_arg and detected and detected != self.build_arg:
            raise InputError(f"--build {self.build_arg} contradicts the header's {source}, which say "
                             f"{detected}", self.path)
        return self.build_arg or detected

    def _match_samples(self, hdr: VcfHeader, people: list[Individual] | None) -> dict[str, Individual | None]:
        out: dict[str, Individual | None] = {s: None for s in hdr.samples}
        if people is None:
            return out
        ped_ids = {p.individual_id: p for p in people}
        vcf_ids = set(hdr.samples)
        common = vcf_ids & set(ped_ids)
        if hdr.samples and not common:
            raise InputError(
                f"no PED individual matches a VCF sample (PED: {', '.join(sorted(ped_ids)[:6])}; "
                f"VCF: {', '.join(hdr.samples[:6])})", self.ped_path)
        missing = sorted(vcf_ids - set(ped_ids))
        if missing:
            self.warn("ped", "", len(missing), missing[0],
                      f"VCF samples not in the PED, imported as unrelated: {', '.join(missing)}")
        absent = sorted(set(ped_ids) - vcf_ids)
        if absent:
            self.warn("ped", "", len(absent), absent[0],
                      f"PED individuals without genotypes in the VCF: {', '.join(absent)}")
        for s in common:
            out[s] = ped_ids[s]
        return out

    # -- the transaction ---------------------------------------------------------------------

    def _ensure_case(self, con, hdr: VcfHeader, build, people, sample_map) -> tuple[int, dict[str, int], bool]:
        row = con.execute("SELECT case_id, build FROM cases WHERE name = ?", [self.case_name]).fetchone()
        new_case = row is None
        if new_case:
            case_id = con.execute("SELECT nextval('case_id_seq')").fetchone()[0]
            spec = self.case_spec
            con.execute(
                "INSERT INTO cases (case_id, name, sex, indication, hpo_terms, consent_secondary, build, status) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 'importing')",
                [case_id, self.case_name, spec.sex, spec.indication, spec.hpo_terms, spec.consent_secondary, build])
        else:
            case_id, old_build = row
            if build and old_build and build != old_build:
                raise InputError(f"this file is {build} but case {self.case_name!r} is {old_build}", self.path)
            if build and not old_build:
                con.execute("UPDATE cases SET build = ? WHERE case_id = ?", [build, case_id])
        known = dict(con.execute("SELECT sample_id, sample_index FROM samples WHERE case_id = ?", [case_id]).fetchall())
        next_index = max(known.values(), default=-1) + 1
        everyone: list[tuple[str, Individual | None]] = [(s, sample_map.get(s)) for s in hdr.samples]
        if people:
            in_vcf = set(hdr.samples)
            everyone += [(p.individual_id, p) for p in people if p.individual_id not in in_vcf]
        proband = self.proband or self.case_spec.proband
        if people:
            proband = pick_proband(people, proband)
        elif proband and proband not in hdr.samples and proband not in known:
            raise InputError(f"proband {proband!r} is not a sample of the VCF ({', '.join(hdr.samples[:6])})",
                             self.path)
        if proband is None and len(hdr.samples) == 1 and new_case:
            proband = hdr.samples[0]
        role_of = roles(people, proband) if people else ({proband: "proband"} if proband else {})
        index_of: dict[str, int] = {}
        for sid, ind in everyone:
            has_gt = sid in hdr.samples
            if sid in known:
                index_of[sid] = known[sid]
                continue
            idx = next_index if has_gt else None
            if has_gt:
                next_index += 1
                index_of[sid] = idx
            con.execute(
                "INSERT INTO samples (case_id, sample_index, sample_id, family_id, father_id, mother_id, role, sex, "
                "affected, alignment_path) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [case_id, idx, sid, ind.family_id if ind else None, ind.father_id if ind else None,
                 ind.mother_id if ind else None, role_of.get(sid, "relative" if ind else None),
                 ind.sex if ind else None, ind.affected if ind else None, self.alignments.get(sid)])
        for sid, apath in self.alignments.items():
            con.execute("UPDATE samples SET alignment_path = ? WHERE case_id = ? AND sample_id = ?",
                        [apath, case_id, sid])
        if proband:
            con.execute("UPDATE cases SET proband = ? WHERE case_id = ?", [proband, case_id])
            sex = next((p.sex for p in (people or []) if p.individual_id == proband), None)
            if sex and not self.case_spec.sex:
                con.execute("UPDATE cases SET sex = ? WHERE case_id = ?", [sex, case_id])
        return case_id, index_of, new_case

    def _import(self, con, reader: VcfReader, hdr: VcfHeader, build, people, sample_map, stat) -> ImportResult:
        """Set-up, one transaction per chunk, then the bookkeeping.

        Committing per chunk keeps memory bounded at millions of records (one
        transaction would keep all uncommitted rows pinned); ``self.undo`` knows
        how to remove everything this import added if it does not finish.
        """
        _macros(con)
        con.execute("BEGIN TRANSACTION")
        known_samples = {r[0] for r in con.execute(
            "SELECT sample_id FROM samples s JOIN cases c USING (case_id) WHERE c.name = ?", [self.case_name]).fetchall()}
        case_id, index_of, new_case = self._ensure_case(con, hdr, build, people, sample_map)
        self.undo.case_id, self.undo.new_case = case_id, new_case
        self.case_id = case_id
        self.undo.samples = [r[0] for r in con.execute("SELECT sample_id FROM samples WHERE case_id = ?",
                                                       [case_id]).fetchall() if r[0] not in known_samples]
        vt, tt = variants_table(case_id), transcripts_table(case_id)
        self.undo.tables = (vt, tt)
        file_id = con.execute("SELECT nextval('file_id_seq')").fetchone()[0]
        self.undo.file_id = file_id
        file_seq = con.execute("SELECT count(*) FROM files WHERE case_id = ? AND kind = ?",
                               [case_id, self.kind]).fetchone()[0] + 1
        # tables
        existing_cols = set()
        if not new_case and con.execute(
                "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND database_name = current_database()",
                [vt]).fetchone()[0]:
            existing_cols = {r[0].lower(): r[1] for r in con.execute(
                "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ? "
                "AND database_name = current_database()", [vt]).fetchall()}
        else:
            cols = ", ".join(f"{q(n)} {t}" for n, t in VARIANT_COLUMNS)
            con.execute(f"CREATE TABLE {q(vt)} ({cols})")
            existing_cols = {n.lower(): t for n, t in VARIANT_COLUMNS}
        _ensure_annotation_store(con, case_id)
        # per-sample columns
        sample_cols = []
        for i, s in enumerate(hdr.samples):
            k = index_of[s]
            for name, typ in SAMPLE_COLUMNS:
                col = f"s{k}_{name}"
                if col.lower() not in existing_cols:
                    con.execute(f"ALTER TABLE {q(vt)} ADD COLUMN {q(col)} {typ}")
                    existing_cols[col.lower()] = typ
                    self.undo.columns.append((vt, col))
            sample_cols.append((i, k))
        # INFO plan
        plans = self._info_plan(con, case_id, hdr, vt, existing_cols)
        for ctg, length in hdr.contigs:
            con.execute("INSERT INTO contigs VALUES (?, ?, ?, ?, ?)",
                        [case_id, file_id, ctg, genome.canonical_contig(ctg), length])
        con.execute("INSERT INTO files (file_id, case_id, path, kind, size, mtime, details, status) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, 'importing')",
                    [file_id, case_id, os.path.abspath(self.path), self.kind, stat.st_size,
                     datetime.fromtimestamp(stat.st_mtime, tz=timezone.utc).replace(tzinfo=None),
                     json.dumps({"fileformat": hdr.fileformat, "samples": hdr.samples, "build": build,
                                 "annotations": {k: len(v) for k, v in hdr.annotations.items()},
                                 "header": hdr.text})])
        self.sources = self._annotation_plan(con, case_id, file_id, hdr)
        records = 0
        rows_before = con.execute(f"SELECT count(*) FROM {q(vt)}").fetchone()[0]
        self._fit_memory(con, vt, tt)
        observed_contigs: set[str] = set()
        con.execute("COMMIT")
        with _Prefetch(reader.chunks(), lambda c: (c, info_split.locate(c.table.column("info")))) as chunks:
            for chunk, layout in chunks:
                self._check_cancel()
                con.register("_chunk", chunk.table)
                try:
                    self._chunk(con, chunk, layout, hdr, plans, sample_cols, vt, tt, file_id, file_seq,
                                observed_contigs)
                finally:
                    con.unregister("_chunk")
                records += chunk.table.num_rows
                self.progress(chunk.done, chunk.total, f"{records:,} records")
                del chunk, layout
                self._check_cancel()
        self._flush_tallies()
        # the per-chunk temp tables would otherwise hold memory through the bookkeeping
        for t in ("_rec", "_alle", "_pick"):
            con.execute(f"DROP TABLE IF EXISTS {t}")
        if records == 0:
            self.warn("records", "", 0, None, "the VCF has a header but no records")
        con.execute("BEGIN TRANSACTION")
        variant_rows = con.execute(f"SELECT count(*) FROM {q(vt)}").fetchone()[0] - rows_before
        self._contig_check(hdr, observed_contigs)
        # bookkeeping
        for p in plans:
            con.execute("INSERT OR REPLACE INTO info_fields VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        [case_id, p.fd.name, p.column, p.fd.number, p.fd.type,
                         _sql_type(p.base_type, p.fd), p.fd.description, p.fd.declared])
        con.execute("UPDATE files SET records = ?, variant_rows = ? WHERE file_id = ?",
                    [records, variant_rows, file_id])
        if self.warning_rows:
            con.executemany("INSERT INTO import_warnings VALUES (?, ?, ?, ?, ?, ?, ?)",
                            [[case_id, file_id, kind, fld, count, example, message]
                             for kind, fld, count, example, message in self.warning_rows])
        total = con.execute(f"SELECT count(*) FROM {q(vt)}").fetchone()[0]
        n_samples = con.execute("SELECT count(*) FROM samples WHERE case_id = ? AND sample_index IS NOT NULL",
                                [case_id]).fetchone()[0]
        con.execute("UPDATE cases SET n_variants = ?, n_samples = ?, updated_at = current_timestamp "
                    "WHERE case_id = ?", [total, n_samples, case_id])
        self._genotype_view(con, case_id)
        _transcripts_view(con, case_id)
        con.execute("COMMIT")
        return ImportResult(case_id, self.case_name, file_id, records, variant_rows, build=build)

    def _fit_memory(self, con, vt: str, tt: str) -> None:
        """Appending to a table keeps about two 256 KiB blocks per column in memory:
        a 189-sample cohort (about 2,000 columns) needs far more than a trio. Raise
        the engine's limit for this import when the configured one is too small."""
        ncols = con.execute("SELECT count(*) FROM duckdb_columns() WHERE table_name IN (?, ?) "
                            "AND database_name = current_database()", [vt, tt]).fetchone()[0]
        need = 300 * 2**20 + ncols * 2 * 256 * 2**10
        current = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
        limit = _parse_size(current)
        if limit is not None and limit < need:
            con.execute(f"SET memory_limit = '{need // 2**20}MB'")
            self._restore_memory = self.ws.memory_limit

    def _info_plan(self, con, case_id, hdr: VcfHeader, vt: str, existing_cols: dict) -> list[_InfoPlan]:
        known = {r[0]: (r[1], r[2]) for r in con.execute(
            "SELECT name, column_name, stored_type FROM info_fields WHERE case_id = ?", [case_id]).fetchall()}
        taken = set(existing_cols)
        plans = []
        for i, (name, fd) in enumerate(hdr.info.items()):
            if name in ANNOTATION_KEYS and name in hdr.annotations:
                continue
            plans.append(self._plan_for(con, fd, i, known, taken, vt, existing_cols))
        return plans

    def _plan_for(self, con, fd: FieldDef, i: int, known, taken, vt, existing_cols) -> _InfoPlan:
        base = _base_type(fd)
        if fd.name in known:
            col, stored = known[fd.name]
            if stored.endswith("[]") == _is_list(fd) and (stored == "BOOLEAN") == (fd.type == "Flag"):
                return _InfoPlan(fd, col, f"_raw{i}", stored.replace("[]", ""), False)
            # Declared with another shape by an earlier file of this case: keep both, apart.
            n = 2
            while f"{fd.name}#{n}" in known:
                n += 1
            alias = f"{fd.name}#{n}"
            self.warn("info", fd.name, 1, None,
                      f"INFO/{fd.name} is declared Number={fd.number} Type={fd.type} here but differently in an "
                      f"earlier file of this case; stored separately as INFO/{alias}")
            fd = FieldDef(alias, fd.number, fd.type, fd.description, fd.declared)
            known[alias] = ("", "")
        col = _column_name("info_", fd.name, taken)
        con.execute(f"ALTER TABLE {q(vt)} ADD COLUMN {q(col)} {_sql_type(base, fd)}")
        self.undo.columns.append((vt, col))
        existing_cols[col.lower()] = _sql_type(base, fd)
        return _InfoPlan(fd, col, f"_raw{i}", base, True)

    # -- per chunk ----------------------------------------------------------------------------

    def _chunk(self, con, chunk, layout: info_split.ChunkedLayout, hdr: VcfHeader, plans: list[_InfoPlan],
               sample_cols, vt, tt, file_id, file_seq, observed_contigs: set[str]) -> None:
        self._chunk_first = chunk.table.column("record_index")[0].as_py() if chunk.table.num_rows else 0
        # undeclared INFO keys
        keys = set(layout.keys)
        declared = {fd_name_of(p.fd.name) for p in plans} | set(hdr.annotations)
        new_keys = sorted(keys - declared - {".", ""})
        for k in new_keys:
            fd = FieldDef(k, ".", "String", "not declared in the header", declared=False)
            hdr.info[k] = fd
            taken = {r[0].lower() for r in con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE table_name = ? AND database_name = current_database()",
                [vt]).fetchall()}
            plans.append(self._plan_for(con, fd, len(hdr.info) + len(plans), {}, taken, vt, {}))
            self.warn("info", k, 1, None, f"INFO/{k} is used but not declared in the header; kept as text")
        self._make_rec(con, chunk, hdr, plans, sample_cols, layout)
        self._validate(con, chunk)
        for (c,) in con.execute("SELECT DISTINCT chrom FROM _rec").fetchall():
            observed_contigs.add(c)
        self._type_check(con, plans, vt)
        try:
            self._annotations(con, hdr, self.case_id, file_id, file_seq, layout)
            # Only the writes to the case's tables are in the chunk's transaction:
            # temp tables made inside a transaction are held in memory until it ends
            # (about 2.5x their size), which set the import's peak memory.
            con.execute("BEGIN TRANSACTION")
            for name, key in self._texts:
                con.execute(f"""INSERT INTO {q(annotations_table(self.case_id))}
                    SELECT {file_id}, a.record_id, '{key}', array_to_string(a.alts, ','),
                           array_to_string(a.vep_alts, ','), c.v
                    FROM {name} c JOIN _alle a USING (record_index)""")
            self._insert_variants(con, hdr, plans, sample_cols, vt, tt, file_id, file_seq)
            con.execute("COMMIT")
        except BaseException:
            # an aborted transaction refuses everything else (the drops below would
            # raise a TransactionException instead of the real error)
            try:
                con.execute("ROLLBACK")
            except duckdb.Error:
                pass
            raise
        finally:
            for name in self._temp:
                con.execute(f"DROP TABLE IF EXISTS {name}")
            self._temp.clear()
            self._texts.clear()

    def _make_rec(self, con, chunk, hdr: VcfHeader, plans: list[_InfoPlan], sample_cols,
                  layout: info_split.ChunkedLayout) -> None:
        """Materialise the chunk's records with every INFO value as a column (``_rec``).

        ``layout`` (NumPy, over the Arrow buffers) gives each key's values as
        string views into the INFO text itself; SQL reads them as columns. The
        annotation text (most of a VEP file's bytes) is not copied into ``_rec``:
        :meth:`_annotations` reads it from the layout.
        """
        table = chunk.table
        present = set(layout.keys)

        def add(arr, name: str) -> None:
            # chunked like the table's own columns (a scan of columns chunked
            # differently is several times slower)
            nonlocal table
            table = table.append_column(name, arr)

        raw_cols = []
        for p in plans:
            name = fd_name_of(p.fd.name)
            if name not in present:
                raw_cols.append(f"{'false' if p.fd.type == 'Flag' else 'NULL::VARCHAR'} AS {p.raw}")
            else:
                add(layout.present(name) if p.fd.type == "Flag" else layout.values(name), p.raw)
                raw_cols.append(p.raw)
        smp = []
        if hdr.samples:
            smp.append("format, string_split(format, ':') AS _fmt")
            for i, _ in sample_cols:
                smp.append(f"s{i}, string_split(s{i}, ':') AS _f{i}")
        select = ",\n".join(["record_index", "chrom", "pos AS pos_raw", "rd_int(pos) AS pos0", "id", "ref", "alt",
                             "qual AS qual_raw", "filter", "string_split(alt, ',') AS alts"]
                            + smp + raw_cols)
        con.register("_chunk_info", table)
        try:
            con.execute(f"CREATE OR REPLACE TEMP TABLE _rec AS SELECT {select} FROM _chunk_info")
        finally:
            con.unregister("_chunk_info")

    def _validate(self, con, chunk) -> None:
        bad = con.execute("""
            SELECT record_index, chrom, pos_raw, ref, alt, qual_raw,
              CASE WHEN chrom = '' OR regexp_matches(chrom, '\\s') THEN 'CHROM ' || '''' || chrom || '''' || ' is empty or has spaces'
                   WHEN pos0 IS NULL THEN 'POS ' || '''' || pos_raw || '''' || ' is not a whole number'
                   WHEN pos0 < 0 THEN 'POS ' || pos_raw || ' is negative'
                   WHEN ref = '' OR NOT regexp_full_match(ref, '[A-Za-z]+') THEN 'REF ' || '''' || ref || '''' || ' is not a DNA sequence'
                   WHEN alt = '' THEN 'ALT is empty'
                   WHEN qual_raw <> '.' AND TRY_CAST(qual_raw AS DOUBLE) IS NULL THEN 'QUAL ' || '''' || qual_raw || '''' || ' is not a number'
              END AS problem
            FROM _rec
            WHERE chrom = '' OR regexp_matches(chrom, '\\s') OR pos0 IS NULL OR pos0 < 0 OR ref = ''
               OR NOT regexp_full_match(ref, '[A-Za-z]+') OR alt = ''
               OR (qual_raw <> '.' AND TRY_CAST(qual_raw AS DOUBLE) IS NULL)
            ORDER BY record_index LIMIT 1""").fetchone()
        if bad:
            line = chunk.first_line + bad[0] - chunk.table.column("record_index")[0].as_py()
            raise InputError(f"line {line}: {bad[6]}", self.path)
        odd = con.execute("""SELECT count(*), any_value(ref) FROM _rec
                             WHERE NOT regexp_full_match(ref, '[ACGTNacgtn]+')""").fetchone()
        if odd[0]:
            self.warn("ref", "REF", odd[0], odd[1],
                      f"{odd[0]} records have REF letters other than A/C/G/T/N (e.g. {odd[1]!r}); kept as written")

    def _type_check(self, con, plans: list[_InfoPlan], vt: str) -> None:
        """Values that contradict the declared type widen the column (Integer ->
        Float -> text) and are reported; counts of Number=A/R values that do not
        match the record's ALT alleles are reported.

        One pass counts, per field, the values that fail the declared type; only
        the (rare) fields with failures are read again for an example and, for
        Integer, whether the values are decimals or text.
        """
        def bad(p: _InfoPlan, base: str) -> str:
            r = p.raw
            if _is_list(p.fd) or p.fd.number == "A":
                test = (f"NOT regexp_full_match(x, '{INT_RE}')" if base == "BIGINT"
                        else "TRY_CAST(x AS DOUBLE) IS NULL")
                return f"{r} IS NOT NULL AND len(list_filter(string_split({r}, ','), x -> x <> '.' AND {test})) > 0"
            test = (f"NOT regexp_full_match({r}, '{INT_RE}')" if base == "BIGINT"
                    else f"TRY_CAST({r} AS DOUBLE) IS NULL")
            return f"{r} IS NOT NULL AND {r} <> '.' AND {test}"

        checks = [p for p in plans if p.base_type in ("BIGINT", "DOUBLE")]
        counted = [p for p in plans if p.fd.number in ("A", "R") and p.fd.type != "Flag"]
        aggs = [f"count(*) FILTER (WHERE {bad(p, p.base_type)})" for p in checks]
        for p in counted:
            extra = 0 if p.fd.number == "A" else 1
            aggs.append(f"count(*) FILTER (WHERE {p.raw} IS NOT NULL AND "
                        f"len(string_split({p.raw}, ',')) <> len(alts) + {extra})")
        if not aggs:
            return
        row = con.execute(f"SELECT {', '.join(aggs)} FROM _rec").fetchone()
        failing = [(p, n) for p, n in zip(checks, row[:len(checks)]) if n]
        for p, n in failing:
            if p.base_type == "BIGINT":
                bd, ei, ed = con.execute(
                    f"SELECT count(*) FILTER (WHERE {bad(p, 'DOUBLE')}), any_value({p.raw}) FILTER (WHERE {bad(p, 'BIGINT')}), "
                    f"any_value({p.raw}) FILTER (WHERE {bad(p, 'DOUBLE')}) FROM _rec").fetchone()
                new = "DOUBLE" if not bd else "VARCHAR"
                self._widen(con, vt, p, new)
                what = "decimals" if new == "DOUBLE" else "text"
                self.warn("type", p.fd.name, n, ei,
                          f"INFO/{p.fd.name} is declared Integer but holds {what} (e.g. {ei!r} in {n} records); "
                          f"stored as {'Float' if new == 'DOUBLE' else 'text'}")
            else:
                (ed,) = con.execute(f"SELECT any_value({p.raw}) FILTER (WHERE {bad(p, 'DOUBLE')}) FROM _rec").fetchone()
                self._widen(con, vt, p, "VARCHAR")
                self.warn("type", p.fd.name, n, ed,
                          f"INFO/{p.fd.name} is declared {p.fd.type} but holds text (e.g. {ed!r} in {n} records); "
                          f"stored as text")
        for p, v in zip(counted, row[len(checks):]):
            if v:
                self.tally("number", p.fd.name, v, None,
                           lambda n, _e, p=p: f"INFO/{p.fd.name} is declared Number={p.fd.number} but {n} records "
                                              f"have another count of values; missing per-allele values are NULL")

    def _widen(self, con, vt: str, p: _InfoPlan, new: str) -> None:
        if not p.new:
            self.undo.widened.append((vt, p.column, _sql_type(p.base_type, p.fd)))
        p.base_type = new
        con.execute(f"ALTER TABLE {q(vt)} ALTER COLUMN {q(p.column)} SET DATA TYPE {_sql_type(new, p.fd)}")

    # -- annotations ----------------------------------------------------------------------------

    def _annotation_plan(self, con, case_id: int, file_id: int, hdr: VcfHeader) -> list[ann.SourcePlan]:
        """Map each annotation key's sub-fields to transcript columns, reusing the
        case's earlier mapping when the field list is the same, and record it
        for this file (the transcripts view is built from these records)."""
        taken = {n.lower() for n, _ in TRANSCRIPT_COLUMNS}
        for (cols,) in con.execute("SELECT columns FROM annotation_sources WHERE case_id = ?", [case_id]).fetchall():
            taken |= {c.lower() for c in cols}
        known = {r[0]: (r[1], r[2]) for r in con.execute(
            "SELECT source, fields, columns FROM annotation_fields WHERE case_id = ?", [case_id]).fetchall()}
        plans = []
        for key, fields in hdr.annotations.items():
            source = SOURCE_OF_KEY[key]
            if source in known and list(known[source][0]) == fields:
                plan = ann.SourcePlan(key, source, fields, list(known[source][1]),
                                      [(c, f) for c, f in zip(known[source][1], fields)
                                       if c.startswith(ann.PREFIX[source])])
            else:
                plan = ann.plan_source(key, fields, taken)
                if source not in known:
                    self.undo.sources.append(source)
                con.execute("INSERT OR REPLACE INTO annotation_fields VALUES (?, ?, ?, ?, ?)",
                            [case_id, source, key, fields, plan.field_columns])
            con.execute("INSERT INTO annotation_sources VALUES (?, ?, ?, ?, ?, ?)",
                        [case_id, file_id, key, source, fields, plan.field_columns])
            plans.append(plan)
        return plans

    def _annotations(self, con, hdr: VcfHeader, case_id: int, file_id: int, file_seq: int,
                     layout: info_split.ChunkedLayout) -> None:
        """Copy this chunk's annotation text into temp tables (``self._texts``; stored
        by :meth:`_chunk`), then pick one transcript per allele (``_pick``).

        The text comes from the layout (string views into the INFO buffer), copied
        once into DuckDB for both the store and the entry split; it is not copied
        into ``_rec`` and ``_alle`` as well.
        (A NumPy split of the entries into string views was tried and was slower:
        3.1 s per 100 k VEP+SnpEff records for the split alone, after which the
        same SQL still had to type and pick; this SQL does all of it in ~2.3 s.)
        """
        if not self.sources:
            return
        con.execute(f"""CREATE OR REPLACE TEMP TABLE _alle AS SELECT record_index,
            {file_seq}::BIGINT * {FILE_SHIFT} + record_index * {RECORD_SHIFT} AS record_id, alts,
            {VEP_ALTS.format(alts="alts", ref="ref")} AS vep_alts FROM _rec""")
        parts = []
        for plan in self.sources:
            # Only the records with a value; one copy of the text, read by the
            # store and by the split (see ChunkedLayout.compact on why a copy)
            name = f"_annx_{len(parts)}"
            con.register("_annx", layout.compact(plan.key, self._chunk_first))
            self._temp.append(name)
            try:
                con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM _annx")
            finally:
                con.unregister("_annx")
            self._texts.append((name, plan.key))
            values = (f"(SELECT a.record_id, a.record_index, a.alts, a.vep_alts, c.v "
                      f"FROM {name} c JOIN _alle a USING (record_index))")
            parts.append(ann.source_select(plan, file_id, ann.entries_select(plan, values, False), extras=False,
                                           columns=ann.PICK_COLUMNS))
        union = "\nUNION ALL BY NAME\n".join(parts)
        # One pass over the entries, never materialised (at 500 k entries per
        # chunk a table of them made DuckDB spill to disk). Entries matching no
        # ALT form the groups with a NULL allele index: counted, then dropped.
        rank = "CASE source WHEN 'VEP' THEN 1 WHEN 'SnpEff' THEN 2 WHEN 'SnpEff-EFF' THEN 3 ELSE 4 END"
        key = (f"({rank})::BIGINT * 1000000000000 + (mane_select IS NULL)::BIGINT * 100000000000 "
               f"+ (NOT coalesce(canonical, false))::BIGINT * 10000000000 "
               f"+ coalesce(severity, 999)::BIGINT * 10000000 "
               f"+ (coalesce(biotype, '') <> 'protein_coding')::BIGINT * 1000000 + least(entry_index, 999999)")
        picked = ["gene", "gene_id", "transcript", "biotype", "consequence", "impact", "hgvsc", "hgvsp", "exon",
                  "intron", "mane_select", "canonical", "source", "sift_pred", "polyphen_pred"]
        cols = ", ".join(f"arg_min({c}, k) AS {c}" for c in picked)
        con.execute(f"""CREATE OR REPLACE TEMP TABLE _pick AS
            SELECT record_index AS t_ri, allele_index AS t_ai, {cols},
                   arg_min(consequence, coalesce(severity, 999) * 1000000 + least(entry_index, 999999)) AS worst_cons,
                   list_distinct(flatten(list(string_split(consequence, '&')))) AS consequences,
                   list_distinct(list(gene) FILTER (WHERE gene IS NOT NULL)) AS genes, count(*) AS n_tx,
                   max(revel) AS revel, max(cadd_phred) AS cadd_phred, max(alphamissense) AS alphamissense,
                   max(spliceai_ds) AS spliceai_ds, max(gnomad_af) AS gnomad_af,
                   max(gnomad_grpmax_af) AS gnomad_grpmax_af, min(sift_score) AS sift_score,
                   max(polyphen_score) AS polyphen_score, arg_min(alphamissense_class, k) AS am_class,
                   arg_min(clin_sig, k) AS clin_sig, any_value(allele) AS any_allele
            FROM (SELECT *, {key} AS k FROM ({union}))
            GROUP BY record_index, allele_index""")
        unmatched = con.execute("SELECT sum(n_tx), any_value(any_allele) FROM _pick WHERE t_ai IS NULL").fetchone()
        if unmatched[0]:
            self.tally("annotation", "", unmatched[0], unmatched[1],
                       lambda n, e: f"{n} annotation entries name an allele that is not an ALT of their record "
                                    f"(e.g. {e!r}); kept without a variant")
        con.execute("DELETE FROM _pick WHERE t_ai IS NULL")

    # -- variants ------------------------------------------------------------------------------

    def _info_value(self, p: _InfoPlan) -> str:
        """Per-allele typed value of one INFO field (``ai`` is the allele index)."""
        r, base, fd = p.raw, p.base_type, p.fd
        if fd.type == "Flag":
            return r
        if fd.number in ("1", "0"):
            return _cast(f"NULLIF({r}, '.')", base)
        if fd.number == "A":
            return _cast(f"NULLIF(string_split({r}, ',')[ai], '.')", base)
        if fd.number == "R":
            first = _cast(f"NULLIF(string_split({r}, ',')[1], '.')", base)
            this = _cast(f"NULLIF(string_split({r}, ',')[ai + 1], '.')", base)
            return f"CASE WHEN {r} IS NULL OR {r} = '.' THEN NULL ELSE [{first}, {this}] END"
        elem = _cast("NULLIF(x, '.')", base)
        # a lone '.' is a missing value (NULL), not a list of one missing element
        return f"CASE WHEN {r} IS NULL OR {r} = '.' THEN NULL ELSE list_transform(string_split({r}, ','), x -> {elem}) END"

    def _info_scalar(self, p: _InfoPlan) -> str:
        """The field as one value per allele (lists: the allele's element, or the first)."""
        v = self._info_value(p)
        if p.fd.type == "Flag" or p.fd.number in ("1", "0", "A"):
            return v
        if p.fd.number == "R":
            return f"({v})[2]"
        return f"CASE WHEN len({v}) = len(alts) THEN ({v})[ai] ELSE ({v})[1] END"

    def _score_exprs(self, plans: list[_InfoPlan]) -> dict[str, str]:
        by_name = {p.fd.name: p for p in plans}
        matched = sc.match_scores(list(by_name))
        out: dict[str, str] = {}
        for canon, names in matched.items():
            exprs = []
            for n in names:
                p = by_name[n]
                v = self._info_scalar(p)
                if canon in sc.NUMERIC_SCORES:
                    exprs.append(f"TRY_CAST({v} AS DOUBLE)")
                else:
                    exprs.append(f"CAST({v} AS VARCHAR)" if p.base_type != "VARCHAR" or _is_list(p.fd) and p.fd.number not in ("A",)
                                 else v)
            out[canon] = exprs[0] if len(exprs) == 1 else f"coalesce({', '.join(exprs)})"
        # a raw INFO/SpliceAI string: ALLELE|SYMBOL|DS_AG|DS_AL|DS_DG|DS_DL|DP_..
        if "SpliceAI" in by_name and "spliceai_ds" not in out:
            r = by_name["SpliceAI"].raw
            out["spliceai_ds"] = (f"list_max(list_transform(list_filter(string_split({r}, ','), e -> split_part(e, '|', 1) = alts[ai]), "
                                  f"e -> list_max(list_transform(string_split(e, '|')[3:6], x -> TRY_CAST(x AS DOUBLE)))))")
        # ClinVar: the raw text (not split on commas: review status contains them)
        for canon in ("clinvar_sig", "clinvar_revstat"):
            names = matched.get(canon, [])
            if names:
                out[canon] = f"replace({by_name[names[0]].raw}, '_', ' ')" if canon == "clinvar_revstat" else \
                    f"rd_clnsig({by_name[names[0]].raw})"
        return out

    def _insert_variants(self, con, hdr: VcfHeader, plans, sample_cols, vt, tt, file_id, file_seq) -> None:
        info_exprs = [f"{self._info_value(p)} AS {q(p.column)}" for p in plans]
        scores = self._score_exprs(plans)

        def score(canon: str, tx: str | None) -> str:
            info = scores.get(canon)
            if info and tx:
                return f"coalesce({info}, {tx})"
            return info or tx or "NULL"

        svtype = next((p for p in plans if p.fd.name == "SVTYPE"), None)
        svend = next((p for p in plans if p.fd.name == "END"), None)
        svlen = next((p for p in plans if p.fd.name == "SVLEN"), None)
        gts = []
        for i, k in sample_cols:
            fi = f"_f{i}"
            gt = f"{fi}[list_position(_fmt, 'GT')]"
            gta = f"regexp_split_to_array({gt}, '[/|]')"
            ad = f"string_split({fi}[list_position(_fmt, 'AD')], ',')"
            adsum = f"list_sum(list_transform({ad}, x -> rd_int(x)))"
            n_this = f"len(list_filter({gta}, x -> x = ai::VARCHAR))"
            gts += [
                f"""CASE WHEN {gt} IS NULL OR len(list_filter({gta}, x -> x <> '.' AND x <> '')) = 0 THEN NULL
                         WHEN {n_this} = 0 THEN CASE WHEN list_contains({gta}, '.') THEN NULL ELSE 0 END
                         WHEN {n_this} = len({gta}) THEN 2 ELSE 1 END AS s{k}_gt""",
                f"NULLIF({gt}, '') AS s{k}_gt_raw",
                f"contains({gt}, '|') AS s{k}_phased",
                f"rd_int({ad}[1]) AS s{k}_ad_ref",
                f"rd_int({ad}[ai + 1]) AS s{k}_ad_alt",
                f"rd_int({fi}[list_position(_fmt, 'DP')]) AS s{k}_dp",
                f"rd_int({fi}[list_position(_fmt, 'GQ')]) AS s{k}_gq",
                f"rd_int({fi}[list_position(_fmt, 'PS')]) AS s{k}_ps",
                f"CASE WHEN {adsum} > 0 THEN rd_int({ad}[ai + 1]) / {adsum} END AS s{k}_ab",
                f"s{i} AS s{k}_raw",
            ]
        tx = bool(self.sources)
        pk = (lambda c: f"p.{c}") if tx else (lambda c: "NULL")
        gk = (lambda c: f"p.{c}") if tx else (lambda c: None)
        joins = "LEFT JOIN _pick p ON p.t_ri = v.record_index AND p.t_ai = v.ai" if tx else ""
        sv_type_expr = (f"coalesce({self._info_scalar(svtype)}, " if svtype else "coalesce(") + \
            "CASE WHEN a0[1] = '<' THEN regexp_extract(a0, '^<([^>]*)>', 1) WHEN contains(a0, '[') OR contains(a0, ']') THEN 'BND' END)"
        sv_end_expr = f"TRY_CAST({self._info_scalar(svend)} AS BIGINT)" if svend else "NULL"
        sv_len_expr = f"TRY_CAST({self._info_scalar(svlen)} AS BIGINT)" if svlen else "NULL"
        clinvar_sig = score("clinvar_sig", gk("clin_sig") and "rd_clnsig(" + gk("clin_sig") + ")")
        clinvar_rev = scores.get("clinvar_revstat", "NULL")
        pops = ",\n".join(f"{score('gnomad_af_' + p, None)} AS gnomad_af_{p}" for p in sc.POPULATIONS)
        worst_impact = f"rd_impact_of(string_split({gk('worst_cons')}, '&')[1])" if tx else "NULL"
        select = f"""
            {file_seq}::BIGINT * {FILE_SHIFT} + v.record_index * {RECORD_SHIFT} + v.ai AS variant_id,
            {file_id} AS file_id, v.record_index, v.ai AS allele_index, len(v.alts) AS n_alleles,
            v.chrom_c AS chrom, v.chrom_rank, v.npos AS pos, v.nref AS ref, v.nalt AS alt,
            v.chrom_c || ':' || v.npos || ':' || v.nref || ':' || v.nalt
                || CASE WHEN v.symbolic AND ({sv_end_expr}) IS NOT NULL THEN ':' || ({sv_end_expr}) ELSE '' END AS vkey,
            v.chrom AS orig_chrom, v.pos0 AS orig_pos, v.ref AS orig_ref, v.a0 AS orig_alt,
            NULLIF(v.id, '.') AS vcf_id, TRY_CAST(NULLIF(v.qual_raw, '.') AS DOUBLE) AS qual,
            NULLIF(v.filter, '.') AS filter,
            CASE WHEN v.a0 = '*' THEN 'overlap' WHEN v.symbolic THEN
                    CASE WHEN contains(v.a0, '[') OR contains(v.a0, ']') OR v.a0[1] = '.' OR v.a0[-1] = '.' THEN 'BND'
                         WHEN upper(v.a0) LIKE '<STR%' THEN 'STR' ELSE 'SV' END
                 WHEN {sv_type_expr} IS NOT NULL OR abs(len(v.nref) - len(v.nalt)) >= 50 THEN 'SV'
                 WHEN len(v.nref) = 1 AND len(v.nalt) = 1 THEN 'SNV'
                 WHEN len(v.nref) = len(v.nalt) THEN 'MNV'
                 WHEN len(v.nref) = 1 AND v.nalt[1] = v.nref THEN 'insertion'
                 WHEN len(v.nalt) = 1 AND v.nref[1] = v.nalt THEN 'deletion'
                 ELSE 'indel' END AS vtype,
            {sv_type_expr} AS sv_type, {sv_end_expr} AS sv_end, {sv_len_expr} AS sv_len,
            {pk('gene')} AS gene, {pk('gene_id')} AS gene_id, {pk('transcript')} AS transcript, {pk('biotype')} AS biotype,
            {pk('consequence')} AS consequence, {pk('impact')} AS impact, {pk('hgvsc')} AS hgvsc, {pk('hgvsp')} AS hgvsp,
            {pk('exon')} AS exon, {pk('intron')} AS intron, {pk('mane_select')} AS mane_select,
            {pk('canonical')} AS canonical, {pk('source')} AS annotation_source,
            {gk('worst_cons') or 'NULL'} AS worst_consequence, {worst_impact} AS worst_impact,
            {gk('consequences') or 'NULL'} AS consequences, {gk('genes') or 'NULL'} AS genes,
            {gk('n_tx') or 'NULL'} AS n_transcripts,
            {score('gnomad_af', gk('gnomad_af'))} AS gnomad_af,
            {score('gnomad_grpmax_af', gk('gnomad_grpmax_af'))} AS gnomad_grpmax_af,
            TRY_CAST({score('gnomad_nhomalt', None)} AS BIGINT) AS gnomad_nhomalt,
            {pops},
            {score('cadd_phred', gk('cadd_phred'))} AS cadd_phred, {score('revel', gk('revel'))} AS revel,
            {score('spliceai_ds', gk('spliceai_ds'))} AS spliceai_ds,
            {score('alphamissense', gk('alphamissense'))} AS alphamissense,
            {score('alphamissense_class', gk('am_class'))} AS alphamissense_class,
            {score('sift', pk('sift_pred') if tx else None)} AS sift_pred,
            {score('sift_score', gk('sift_score'))} AS sift_score,
            {score('polyphen', pk('polyphen_pred') if tx else None)} AS polyphen_pred,
            {score('polyphen_score', gk('polyphen_score'))} AS polyphen_score,
            {clinvar_sig} AS clinvar_sig, {clinvar_rev} AS clinvar_revstat,
            rd_stars({clinvar_rev}) AS clinvar_stars, NULL AS clinvar_id,
            CASE WHEN {clinvar_sig} IS NOT NULL THEN 'vcf' END AS clinvar_source,
            {'v.format' if hdr.samples else 'NULL'} AS format
            {(',' + ','.join(info_exprs)) if info_exprs else ''}
            {(',' + ','.join(gts)) if gts else ''}"""
        chrom_c = ("CASE WHEN upper(chrom[1:3]) = 'CHR' THEN chrom[4:] ELSE chrom END")
        norm = f"""
            SELECT *, CASE WHEN symbolic OR a0 = '*' THEN pos0 ELSE pos0 + pfx END AS npos,
                   CASE WHEN symbolic OR a0 = '*' THEN upper(ref) ELSE _r1[pfx + 1:] END AS nref,
                   CASE WHEN symbolic OR a0 = '*' THEN a0 ELSE _a1[pfx + 1:] END AS nalt
            FROM (SELECT *, CASE WHEN symbolic OR a0 = '*' OR (len(_r1) = 1 AND len(_a1) = 1) THEN 0 ELSE rd_pfx(_r1, _a1) END AS pfx
                  FROM (SELECT *, upper(ref)[1:len(ref) - sfx] AS _r1, upper(a0)[1:len(a0) - sfx] AS _a1
                        FROM (SELECT *, CASE WHEN symbolic OR a0 = '*' OR (len(ref) = 1 AND len(a0) = 1) THEN 0
                                             ELSE rd_sfx(upper(ref), upper(a0)) END AS sfx
                              FROM (SELECT *, alts[ai] AS a0, rd_symbolic(alts[ai]) AS symbolic,
                                           CASE WHEN c0 IN ('M', 'MT', 'm', 'mt') THEN 'MT' WHEN c0 IN ('x', 'y') THEN upper(c0)
                                                ELSE c0 END AS chrom_c
                                    FROM (SELECT *, {chrom_c} AS c0, unnest(range(1, len(alts) + 1)) AS ai FROM _rec)))))"""
        allele_ok = ("(regexp_full_match(a0, '[ACGTNacgtn]+') OR a0 = '*' OR symbolic) "
                     f"AND a0 NOT IN ({', '.join(lit(a) for a in REFERENCE_ALLELES)})")
        stats = con.execute(f"""SELECT count(*) FILTER (WHERE a0 = '.'),
                 count(*) FILTER (WHERE a0 IN ({', '.join(lit(a) for a in REFERENCE_ALLELES)})),
                 count(*) FILTER (WHERE NOT ({allele_ok}) AND a0 <> '.' AND a0 NOT IN ({', '.join(lit(a) for a in REFERENCE_ALLELES)})),
                 any_value(a0) FILTER (WHERE NOT ({allele_ok}) AND a0 <> '.' AND a0 NOT IN ({', '.join(lit(a) for a in REFERENCE_ALLELES)}))
              FROM (SELECT alts[ai] AS a0, rd_symbolic(alts[ai]) AS symbolic FROM
                    (SELECT alts, unnest(range(1, len(alts) + 1)) AS ai FROM _rec))""").fetchone()
        if stats[0]:
            self.skipped["no_alt"] = self.skipped.get("no_alt", 0) + stats[0]
        if stats[1]:
            self.skipped["reference_block"] = self.skipped.get("reference_block", 0) + stats[1]
        if stats[2]:
            self.skipped["invalid_allele"] = self.skipped.get("invalid_allele", 0) + stats[2]
            self.warn("allele", "ALT", stats[2], stats[3],
                      f"{stats[2]} ALT alleles are not valid VCF alleles (e.g. {stats[3]!r}) and were skipped")
        con.execute(f"""INSERT INTO {q(vt)} BY NAME SELECT {select} FROM (
            SELECT *, CASE {' '.join(f"WHEN chrom_c = '{c}' THEN {i}" for i, c in enumerate(genome.ORDER))} ELSE 1000 END AS chrom_rank
            FROM ({norm}) WHERE {allele_ok}) v {joins}""")

    def _contig_check(self, hdr: VcfHeader, observed: set[str]) -> None:
        declared = {c for c, _ in hdr.contigs}
        if declared:
            undeclared = sorted(observed - declared)
            if undeclared:
                self.warn("contig", "", len(undeclared), undeclared[0],
                          f"records on contigs not declared in the header: {', '.join(undeclared[:10])}")

    def _genotype_view(self, con, case_id: int) -> None:
        vt = variants_table(case_id)
        idx = [r[0] for r in con.execute(
            "SELECT sample_index FROM samples WHERE case_id = ? AND sample_index IS NOT NULL ORDER BY sample_index",
            [case_id]).fetchall()]
        view = f"case_{case_id}_genotypes"
        if not idx:
            con.execute(f"CREATE OR REPLACE VIEW {q(view)} AS SELECT NULL::BIGINT AS variant_id, NULL::INTEGER AS sample_index WHERE false")
            return
        parts = []
        for k in idx:
            cols = ", ".join(f"s{k}_{n} AS {n}" for n, _ in SAMPLE_COLUMNS)
            parts.append(f"SELECT variant_id, {k} AS sample_index, {cols} FROM {q(vt)}")
        con.execute(f"CREATE OR REPLACE VIEW {q(view)} AS " + " UNION ALL ".join(parts))


class _Prefetch:
    """Iterate ``source`` mapped by ``fn`` one item ahead, on a worker thread.

    The import reads, inflates and parses the next chunk (and finds its INFO
    keys, NumPy) while DuckDB works on the current one; all of these release
    the GIL for their heavy parts. The worker starts on item n+1 only when the
    consumer has taken item n, so memory holds two chunks (the one being
    written and the next), never three. An exception in the worker is raised in
    the consumer at the item where it happened; leaving the ``with`` block early
    (cancel, error) stops the worker and closes ``source``.
    """

    _END = object()

    def __init__(self, source, fn):
        self._source, self._fn = source, fn
        self._queue: queue.Queue = queue.Queue(maxsize=1)
        self._slot = threading.Semaphore(1)   # items the worker may make before the consumer takes one
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="raredesk-import-read", daemon=True)

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _wait_slot(self) -> bool:
        while not self._stop.is_set():
            if self._slot.acquire(timeout=0.1):
                return True
        return False

    def _run(self) -> None:
        try:
            source = iter(self._source)
            while self._wait_slot():
                try:
                    item = next(source)
                except StopIteration:
                    self._put((self._END, None))
                    return
                made = self._fn(item)
                del item
                if not self._put((made, None)):
                    return
                del made
        except BaseException as exc:   # handed to the consumer
            self._put((None, exc))
        finally:
            close = getattr(self._source, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:
                    pass

    def __enter__(self):
        self._thread.start()
        return self

    def __iter__(self):
        while True:
            item, exc = self._queue.get()
            self._slot.release()
            if exc is not None:
                raise exc
            if item is self._END:
                return
            yield item
            del item

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        while self._thread.is_alive():
            try:
                self._queue.get(timeout=0.1)   # unblock a waiting put
            except queue.Empty:
                pass
        self._thread.join()


@dataclass
class _Undo:
    """What an unfinished import added, so it can be removed whole."""

    case_id: int | None = None
    new_case: bool = False
    file_id: int | None = None
    tables: tuple = ()
    samples: list = field(default_factory=list)
    columns: list = field(default_factory=list)      # (table, column) added by this import
    widened: list = field(default_factory=list)      # (table, column, previous type)
    sources: list = field(default_factory=list)      # annotation sources first seen in this import

    def cleanup(self, con) -> None:
        if self.case_id is None:
            return
        try:
            con.execute("BEGIN TRANSACTION")
            if self.new_case:
                _drop_case(con, self.case_id)
            else:
                _drop_file(con, self.case_id, self.file_id)
                for sid in self.samples:
                    con.execute("DELETE FROM samples WHERE case_id = ? AND sample_id = ?", [self.case_id, sid])
                for source in self.sources:
                    con.execute("DELETE FROM annotation_fields WHERE case_id = ? AND source = ?",
                                [self.case_id, source])
            con.execute("COMMIT")
        except duckdb.Error:
            con.execute("ROLLBACK")
            raise
        if not self.new_case:
            for table, col in reversed(self.columns):
                con.execute(f"ALTER TABLE {q(table)} DROP COLUMN IF EXISTS {q(col)}")
            for table, col, typ in reversed(self.widened):
                con.execute(f"ALTER TABLE {q(table)} ALTER COLUMN {q(col)} SET DATA TYPE {typ}")
        self.case_id = None


def _drop_case(con, case_id: int) -> None:
    from raredesk.store.query_index import drop_query_index

    drop_query_index(con, case_id)
    con.execute(f"DROP VIEW IF EXISTS {q(f'case_{case_id}_genotypes')}")
    tt = transcripts_table(case_id)
    if _object_kind(con, tt) is not None:
        con.execute(f"DROP {'VIEW' if _object_kind(con, tt) == 'view' else 'TABLE'} {q(tt)}")
    for table in (variants_table(case_id), annotations_table(case_id), legacy_transcripts_table(case_id)):
        con.execute(f"DROP TABLE IF EXISTS {q(table)}")
    for table in ("samples", "contigs", "info_fields", "annotation_fields", "annotation_sources", "import_warnings",
                  "files", "cases"):
        con.execute(f"DELETE FROM {table} WHERE case_id = ?", [case_id])


def _drop_file(con, case_id: int, file_id: int | None) -> None:
    if file_id is None:
        return
    for table in (variants_table(case_id), annotations_table(case_id), legacy_transcripts_table(case_id)):
        if _object_kind(con, table) == "table":
            con.execute(f"DELETE FROM {q(table)} WHERE file_id = ?", [file_id])
    for table in ("contigs", "import_warnings", "annotation_sources", "files"):
        con.execute(f"DELETE FROM {table} WHERE file_id = ?", [file_id])
    if _object_kind(con, transcripts_table(case_id)) == "view":
        _transcripts_view(con, case_id)
    n = con.execute(f"SELECT count(*) FROM {q(variants_table(case_id))}").fetchone()[0] if con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND database_name = current_database()",
        [variants_table(case_id)]).fetchone()[0] else 0
    con.execute("UPDATE cases SET n_variants = ? WHERE case_id = ?", [n, case_id])


def upgrade_transcript_tables(con) -> None:
    """Turn a materialised ``case_<id>_transcripts`` table of an older workspace into
    the view (its rows kept in ``case_<id>_transcripts_v1``). Called on a writable open."""
    for (name,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
                               "AND regexp_full_match(table_name, 'case_[0-9]+_transcripts')").fetchall():
        case_id = int(name.split("_")[1])
        con.execute("BEGIN TRANSACTION")
        _ensure_annotation_store(con, case_id)
        con.execute("COMMIT")


def recover_interrupted(con) -> list[str]:
    """Remove what imports interrupted by a crash left behind; return what was removed.

    Called when a workspace is opened for writing (only one process can).
    """
    removed = []
    has_status = con.execute("SELECT count(*) FROM duckdb_columns() WHERE table_name = 'files' "
                             "AND column_name = 'status' AND database_name = current_database()").fetchone()[0]
    if not has_status:
        return removed
    for case_id, name in con.execute("SELECT case_id, name FROM cases WHERE status = 'importing'").fetchall():
        con.execute("BEGIN TRANSACTION")
        _drop_case(con, case_id)
        con.execute("COMMIT")
        removed.append(f"case {name} (import interrupted)")
    for case_id, file_id, path in con.execute(
            "SELECT case_id, file_id, path FROM files WHERE status = 'importing'").fetchall():
        con.execute("BEGIN TRANSACTION")
        _drop_file(con, case_id, file_id)
        con.execute("COMMIT")
        removed.append(f"{path} (import interrupted)")
    return removed


def _parse_size(text: str) -> int | None:
    """DuckDB size setting ('572.2 MiB', '1.0 GiB', '600MB') -> bytes."""
    m = re.match(r"\s*([0-9.]+)\s*([KMGT]?i?B)", text)
    if not m:
        return None
    unit = m.group(2).upper().replace("IB", "B")
    mult = {"B": 1, "KB": 2**10, "MB": 2**20, "GB": 2**30, "TB": 2**40}[unit]
    return int(float(m.group(1)) * mult)


def _hash_file_into(hasher, path: str) -> str:
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 22)
            if not b:
                break
            hasher.update(b)
    return hasher.hexdigest()


def import_vcf(ws, path: str | os.PathLike, case: str, *, ped: str | None = None, proband: str | None = None,
               alignments: dict[str, str] | None = None, reference: str | None = None, build: str | None = None,
               case_spec: CaseSpec | None = None, progress: ProgressFn | None = None,
               cancel: CancelToken | None = None, chunk_bytes: int = DEFAULT_CHUNK_BYTES,
               kind: str = "vcf") -> ImportResult:
    """Import a VCF/VCF.gz/BCF into case ``case`` of workspace ``ws``.

    Parameters
    ----------
    ws : raredesk.store.workspace.Workspace
    path : path-like
    case : str
        Case name; created when new, extended when it exists.
    ped : str, optional
        PED file; samples are matched by id.
    proband : str, optional
    alignments : dict, optional
        sample id -> BAM/CRAM path, recorded on the samples.
    reference : str, optional
        Reference FASTA path, recorded on the case.
    build : str, optional
        ``GRCh37`` or ``GRCh38``; detected from contig lengths when absent.
    case_spec : CaseSpec, optional
    progress : callable(done, total, text), optional
    cancel : CancelToken, optional
    chunk_bytes : int
    kind : str
        ``vcf`` for a case's calls; ``clinvar``/``gnomad`` for knowledge sources.

    Returns
    -------
    ImportResult

    Raises
    ------
    InputError
        Unreadable or malformed input (the workspace is unchanged).
    Cancelled
        The cancel token was set (the workspace is unchanged).
    """
    if ws.read_only:
        raise WorkspaceError("workspace is open read-only")
    imp = _Importer(ws, str(path), case, ped=ped, proband=proband, alignments=alignments, reference=reference,
                    build=build, case_spec=case_spec, progress=progress, cancel=cancel, chunk_bytes=chunk_bytes,
                    kind=kind)
    return imp.run()

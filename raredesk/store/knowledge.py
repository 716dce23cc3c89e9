"""Local knowledge sources (a ClinVar VCF, a gnomAD sites VCF) joined into a case.

A knowledge VCF is imported once per checksum with the same columnar importer
as a case (so its alleles are split and normalised the same way) into a hidden
case named ``knowledge:<kind>:<sha256[:16]>``; ``annotate`` then copies its
values onto the case's variants by normalised key (build + chrom:pos:ref:alt)
and records which file (checksum, date) was applied.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from raredesk.errors import InputError
from raredesk.io.vcf import read_header
from raredesk.store import scores as sc
from raredesk.store.cases import get_case
from raredesk.store.importer import CancelToken, ProgressFn, import_vcf, q, sha256_file

KINDS = ("clinvar", "gnomad")


@dataclass
class AnnotateResult:
    """What ``annotate`` did for one source.

    Attributes
    ----------
    kind : str
    path : str
    sha256 : str
    file_date : str or None
    records : int
    matched : int
        Case variant rows that received values.
    reused : bool
        The source had been imported before (same checksum).
    """

    kind: str
    path: str
    sha256: str
    file_date: str | None
    records: int
    matched: int
    reused: bool


def _file_date(path: str) -> str | None:
    hdr = read_header(path)
    for line in hdr.lines:
        m = re.match(r"##fileDate=(\S+)", line)
        if m:
            return m.group(1)
    return None


def load_source(ws, kind: str, path: str, progress: ProgressFn | None = None,
                cancel: CancelToken | None = None) -> tuple[int, str, bool]:
    """Import a knowledge VCF once; return (source_id, hidden case name, reused)."""
    if kind not in KINDS:
        raise InputError(f"unknown knowledge source kind {kind!r}")
    if not Path(path).is_file():
        raise InputError("file not found", path)
    digest = sha256_file(path)
    con = ws.cursor()
    row = con.execute("SELECT source_id FROM knowledge_sources WHERE kind = ? AND sha256 = ?", [kind, digest]).fetchone()
    name = f"knowledge:{kind}:{digest[:16]}"
    if row:
        return row[0], name, True
    hdr = read_header(path)
    if hdr.samples:
        # A multi-sample file is not a sites-only source; its genotypes are not needed.
        pass
    res = import_vcf(ws, path, name, progress=progress, cancel=cancel, kind=kind)
    source_id = con.execute("SELECT nextval('source_id_seq')").fetchone()[0]
    con.execute("INSERT INTO knowledge_sources (source_id, kind, path, size, sha256, file_date, build, records) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [source_id, kind, str(Path(path).resolve()), Path(path).stat().st_size, digest, _file_date(path),
                 res.build, res.records])
    return source_id, name, False


def _gnomad_columns(con, kcase) -> dict[str, str]:
    """Canonical gnomAD column -> SQL over the knowledge case's variant table."""
    info = {n: c for n, c in con.execute(
        "SELECT name, column_name FROM info_fields WHERE case_id = ?", [kcase.case_id]).fetchall()}
    lower = {n.lower(): c for n, c in info.items()}
    out: dict[str, str] = {}

    def pick(*names: str, pattern: str | None = None):
        for n in names:
            if n.lower() in lower:
                return q(lower[n.lower()])
        if pattern:
            for n, c in info.items():
                if re.fullmatch(pattern, n, re.IGNORECASE):
                    return q(c)
        return None

    def as_double(expr: str | None) -> str | None:
        return None if expr is None else f"TRY_CAST({expr} AS DOUBLE)"

    out["gnomad_af"] = as_double(pick("AF", "AF_adj", "gnomAD_AF"))
    out["gnomad_grpmax_af"] = as_double(pick("AF_grpmax", "AF_popmax", "AF_POPMAX", "popmax_af",
                                             pattern=r"af_?(grpmax|popmax)"))
    out["gnomad_nhomalt"] = pick("nhomalt", "AC_Hom", "Hom", "Hom_Adj", "n_homalt")
    for p in sc.POPULATIONS:
        out[f"gnomad_af_{p}"] = as_double(pick(f"AF_{p}", f"AF_{p.upper()}", f"{p}_AF"))
    # Without a grpmax field, the highest per-population AF stands in for it.
    if out["gnomad_grpmax_af"] is None:
        pops = [v for k, v in out.items() if k.startswith("gnomad_af_") and v]
        if pops:
            out["gnomad_grpmax_af"] = f"greatest({', '.join(pops)})"
    if out["gnomad_nhomalt"]:
        out["gnomad_nhomalt"] = f"TRY_CAST({out['gnomad_nhomalt']} AS BIGINT)"
    return {k: v for k, v in out.items() if v}


def annotate(ws, case_name: str, *, clinvar: str | None = None, gnomad: str | None = None,
             progress: ProgressFn | None = None, cancel: CancelToken | None = None) -> list[AnnotateResult]:
    """Join local ClinVar / gnomAD VCFs into a case by normalised key.

    Values from the given files replace those that came with the case's VCF;
    the file's checksum and date are recorded in ``case_annotations``.
    """
    con = ws.cursor()
    case = get_case(con, case_name)
    results = []
    for kind, path in (("clinvar", clinvar), ("gnomad", gnomad)):
        if not path:
            continue
        source_id, kname, reused = load_source(ws, kind, path, progress, cancel)
        kcase = get_case(con, kname)
        if case.build and kcase.build and case.build != kcase.build:
            raise InputError(f"this {kind} file is {kcase.build} but case {case.name!r} is {case.build}", path)
        sha, fdate, records = con.execute("SELECT sha256, file_date, records FROM knowledge_sources WHERE source_id = ?",
                                          [source_id]).fetchone()
        label = f"{kind}:{fdate or sha[:12]}"
        if kind == "clinvar":
            sets = {"clinvar_sig": "clinvar_sig", "clinvar_revstat": "clinvar_revstat",
                    "clinvar_stars": "clinvar_stars", "clinvar_id": "vcf_id"}
            sub = (f"SELECT vkey, any_value(clinvar_sig) AS clinvar_sig, any_value(clinvar_revstat) AS clinvar_revstat, "
                   f"any_value(clinvar_stars) AS clinvar_stars, any_value(vcf_id) AS vcf_id "
                   f"FROM {q(kcase.table)} GROUP BY vkey")
            assignments = ", ".join(f"{col} = k.{src}" for col, src in sets.items()) + f", clinvar_source = {_lit(label)}"
        else:
            cols = _gnomad_columns(con, kcase)
            if "gnomad_af" not in cols:
                raise InputError("no AF field in this gnomAD file's INFO", path)
            sub = ("SELECT vkey, " + ", ".join(f"any_value({expr}) AS {name}" for name, expr in cols.items())
                   + f" FROM {q(kcase.table)} GROUP BY vkey")
            assignments = ", ".join(f"{name} = k.{name}" for name in cols)
        with ws.write_lock:
            con.execute("BEGIN TRANSACTION")
            try:
                con.execute(f"UPDATE {q(case.table)} AS v SET {assignments} FROM ({sub}) AS k WHERE v.vkey = k.vkey")
                matched = con.execute(f"SELECT count(*) FROM {q(case.table)} WHERE vkey IN "
                                      f"(SELECT vkey FROM {q(kcase.table)})").fetchone()[0]
                con.execute("INSERT INTO case_annotations (case_id, source_id, kind, matched) VALUES (?, ?, ?, ?)",
                            [case.case_id, source_id, kind, matched])
                con.execute("UPDATE cases SET updated_at = current_timestamp WHERE case_id = ?", [case.case_id])
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        results.append(AnnotateResult(kind, str(path), sha, fdate, records, matched, reused))
    return results


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"

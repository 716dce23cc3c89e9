"""Writing the filtered variants of a case: VCF, TSV and CSV.

The VCF is built from the stored rows, not copied from the input: one record
per ALT allele (multi-allelic records split, positions and alleles
normalised, like ``bcftools norm -m-``), the genotype recoded for that allele
(other ALT alleles become 0, as bcftools does), every INFO field the importer
kept, and the picked transcript's annotation as ``RD_*`` INFO fields. Contig
names are the input's own.
"""

from __future__ import annotations

import csv
import json
import re
from typing import TextIO

from raredesk import __version__
from raredesk.io.genome import canonical_contig, contig_rank
from raredesk.store.cases import GT_NAMES, Case, info_fields
from raredesk.store.importer import q
from raredesk.store.query import ColumnCatalog, order_by

BATCH = 5000
RD_INFO = [  # (INFO key, column, Number, Type, description)
    ("RD_GENE", "gene", "1", "String", "RareDesk: gene of the picked transcript"),
    ("RD_TRANSCRIPT", "transcript", "1", "String", "RareDesk: picked transcript"),
    ("RD_CSQ", "consequence", "1", "String", "RareDesk: SO consequence terms of the picked transcript ('&'-joined)"),
    ("RD_IMPACT", "impact", "1", "String", "RareDesk: impact of the picked transcript (HIGH, MODERATE, LOW, MODIFIER)"),
    ("RD_HGVSC", "hgvsc", "1", "String", "RareDesk: HGVS c. of the picked transcript"),
    ("RD_HGVSP", "hgvsp", "1", "String", "RareDesk: HGVS p. of the picked transcript"),
    ("RD_GNOMAD_AF", "gnomad_af", "A", "Float", "RareDesk: gnomAD allele frequency"),
    ("RD_CLNSIG", "clinvar_sig", "1", "String", "RareDesk: ClinVar clinical significance"),
]
_TYPE_OF = {"BIGINT": "Integer", "DOUBLE": "Float", "BOOLEAN": "Flag", "VARCHAR": "String"}


def _enc(expr: str) -> str:
    """SQL that percent-encodes the characters VCF INFO values cannot hold (VCF 4.3, section 1.2)."""
    e = f"replace(CAST({expr} AS VARCHAR), '%', '%25')"
    for ch, code in ((";", "%3B"), ("=", "%3D"), (",", "%2C"), (" ", "%20"), ("\t", "%09"), ("\n", "%0A"),
                     ("\r", "%0D")):
        e = f"replace({e}, '{ch}', '{code}')"
    return e


def _info_expr(key: str, col: str, stored: str) -> str | None:
    c = q(col)
    if stored == "BOOLEAN":
        return f"CASE WHEN {c} THEN '{key}' END"
    if stored.endswith("[]"):
        base = stored[:-2]
        elem = _enc("x") if base == "VARCHAR" else "CAST(x AS VARCHAR)"
        return (f"CASE WHEN {c} IS NOT NULL AND len({c}) > 0 THEN '{key}=' || "
                f"array_to_string(list_transform({c}, x -> coalesce({elem}, '.')), ',') END")
    val = _enc(c) if stored == "VARCHAR" else f"CAST({c} AS VARCHAR)"
    return f"CASE WHEN {c} IS NOT NULL THEN '{key}=' || {val} END"


def _header_lines(con, case: Case, infos: list[tuple[str, str, str, str, str]], filters: set[str],
                  chroms: list[str]) -> list[str]:
    lines = ["##fileformat=VCFv4.2",
             f"##source=RareDesk {__version__} (filtered export: multi-allelic records split, alleles normalised)",
             f"##raredesk_case={case.name}"]
    if case.build:
        lines.append(f"##reference={case.build}")
    declared: dict[str, str] = {}
    for (text,) in con.execute("SELECT json_extract_string(details, '$.header') FROM files WHERE case_id = ? "
                               "AND kind = 'vcf' ORDER BY file_id", [case.case_id]).fetchall():
        for line in (text or "").splitlines():
            m = re.match(r"##FILTER=<ID=([^,>]+)", line)
            if m and m.group(1) not in declared:
                declared[m.group(1)] = line
    declared.setdefault("PASS", '##FILTER=<ID=PASS,Description="All filters passed">')
    for f in sorted(filters):
        if f not in declared:
            declared[f] = f'##FILTER=<ID={f},Description="From the input VCF">'
    lines += [declared["PASS"]] + [v for k, v in declared.items() if k != "PASS"]
    lengths = {name: length for name, length in con.execute(
        "SELECT name, max(length) FROM contigs WHERE case_id = ? GROUP BY name", [case.case_id]).fetchall()}
    first_seen = {c: i for i, c in enumerate(dict.fromkeys(list(lengths) + chroms))}
    order = sorted(first_seen, key=lambda c: (contig_rank(canonical_contig(c)), first_seen[c]))
    for c in order:
        lines.append(f"##contig=<ID={c},length={lengths[c]}>" if lengths.get(c) else f"##contig=<ID={c}>")
    for key, number, typ, desc, _ in infos:
        desc = (desc or "").replace("\\", "\\\\").replace('"', '\\"')
        lines.append(f'##INFO=<ID={key},Number={number},Type={typ},Description="{desc}">')
    lines += ['##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
              '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths for the ref and alt alleles">',
              '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Read depth">',
              '##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype quality">',
              '##FORMAT=<ID=PS,Number=1,Type=Integer,Description="Phase set">']
    return lines


def write_vcf(con, case: Case, where: str = "TRUE", params: list | None = None, sort: list[str] | None = None,
              out_stream: TextIO | None = None) -> int:
    """Write the rows passing ``where`` as a VCF.

    Parameters
    ----------
    con : duckdb connection
    case : Case
    where, params : str, list
        From :func:`raredesk.filters.compile_for_case`.
    sort : list of str, optional
        Default: genome position (needed for indexing the output).
    out_stream : text stream

    Returns
    -------
    int
        Records written.
    """
    import sys

    out = out_stream or sys.stdout
    params = list(params or [])
    table = q(case.table)
    cat = ColumnCatalog.load(con, case)
    infos = []
    used = set()
    for name, (col, stored) in sorted(info_fields(con, case).items()):
        if "#" in name or col not in cat.columns or not re.fullmatch(r"[A-Za-z_][0-9A-Za-z_.]*", name):
            continue
        meta = con.execute("SELECT number, description FROM info_fields WHERE case_id = ? AND name = ?",
                           [case.case_id, name]).fetchone()
        number = meta[0] or "."
        if stored == "BOOLEAN":
            number = "0"
        elif number == "G" or (stored.endswith("[]") and number in ("1", "A", "0")) or \
                (not stored.endswith("[]") and number not in ("1", "A")):
            number = "."
        infos.append((name, number, _TYPE_OF.get(stored.replace("[]", ""), "String"), meta[1], (col, stored)))
        used.add(name)
    for key, col, number, typ, desc in RD_INFO:
        if key not in used and col in cat.columns:
            stored = cat.columns[col].upper()
            infos.append((key, number, typ, desc, (col, stored)))
    samples = sorted(case.genotyped, key=lambda s: s.sample_index)
    filters = {f for (v,) in con.execute(f"SELECT DISTINCT filter FROM {table} WHERE {where}", params).fetchall()
               if v for f in v.split(";")}
    chroms = [r[0] for r in con.execute(f"SELECT DISTINCT orig_chrom FROM {table} WHERE {where}", params).fetchall()]
    for line in _header_lines(con, case, infos, filters, chroms):
        out.write(line + "\n")
    out.write("\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT"]
                        + [s.sample_id for s in samples]) + "\n")
    info_parts = [e for e in (_info_expr(k, c, s) for k, _, _, _, (c, s) in infos) if e]
    info_sql = f"coalesce(NULLIF(concat_ws(';', {', '.join(info_parts)}), ''), '.')" if info_parts else "'.'"
    sample_sql = []
    for s in samples:
        k = int(s.sample_index)
        raw = q(f"s{k}_gt_raw")
        alleles = (f"list_transform(regexp_split_to_array({raw}, '[/|]'), a -> CASE WHEN a = CAST(allele_index AS "
                   f"VARCHAR) THEN '1' WHEN a = '.' OR a = '' THEN '.' ELSE '0' END)")
        gt = (f"CASE WHEN {raw} IS NULL THEN './.' WHEN contains({raw}, '|') THEN array_to_string({alleles}, '|') "
              f"ELSE array_to_string({alleles}, '/') END")
        ad = (f"CASE WHEN {q(f's{k}_ad_ref')} IS NULL AND {q(f's{k}_ad_alt')} IS NULL THEN '.' ELSE "
              f"coalesce(CAST({q(f's{k}_ad_ref')} AS VARCHAR), '.') || ',' || "
              f"coalesce(CAST({q(f's{k}_ad_alt')} AS VARCHAR), '.') END")
        rest = " || ':' || ".join(f"coalesce(CAST({q(f's{k}_{f}')} AS VARCHAR), '.')" for f in ("dp", "gq", "ps"))
        sample_sql.append(f"({gt}) || ':' || ({ad}) || ':' || {rest}")
    fields = ["orig_chrom", "CAST(pos AS VARCHAR)", "coalesce(vcf_id, '.')", "ref", "alt",
              "coalesce(CAST(qual AS VARCHAR), '.')", "coalesce(filter, '.')", info_sql]
    if samples:
        fields += ["'GT:AD:DP:GQ:PS'"] + sample_sql
    sql = (f"SELECT concat_ws('\t', {', '.join(fields)}) FROM {table} WHERE {where} "
           f"ORDER BY {order_by(cat, sort)}")
    cur = con.execute(sql, params)
    n = 0
    while True:
        batch = cur.fetchmany(BATCH)
        if not batch:
            break
        out.write("".join(r[0] + "\n" for r in batch))
        n += len(batch)
    return n


def _text(v, list_sep: str, missing: str) -> str:
    if v is None:
        return missing
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return list_sep.join(_text(x, list_sep, ".") for x in v)
    if isinstance(v, dict):
        return json.dumps(v)
    return str(v)


def write_table(con, case: Case, where: str = "TRUE", params: list | None = None, sort: list[str] | None = None,
                out_stream: TextIO | None = None, *, columns: list[str] | None = None, sep: str = "\t") -> int:
    """Write the rows passing ``where`` as TSV (``sep='\\t'``) or CSV (``sep=','``).

    Missing values are ``.`` in TSV and empty in CSV; lists are joined with ``,``
    (CSV quotes them); genotypes are ``hom_ref``/``het``/``hom_alt``/``missing``.
    Tabs and line breaks inside TSV values become spaces.

    Returns
    -------
    int
        Rows written.
    """
    import sys

    out = out_stream or sys.stdout
    cat = ColumnCatalog.load(con, case)
    cols = [cat.resolve(c) for c in columns] if columns else cat.default_columns()
    select = ", ".join(c.sql for c in cols)
    cur = con.execute(f"SELECT {select} FROM {q(case.table)} WHERE {where} ORDER BY {order_by(cat, sort)}",
                      list(params or []))
    gt_idx = [i for i, c in enumerate(cols) if c.kind == "gt"]
    csv_mode = sep != "\t"
    writer = csv.writer(out, delimiter=sep, lineterminator="\n") if csv_mode else None
    header = [c.name for c in cols]
    if writer:
        writer.writerow(header)
    else:
        out.write("\t".join(header) + "\n")
    n = 0
    while True:
        batch = cur.fetchmany(BATCH)
        if not batch:
            break
        for r in batch:
            r = list(r)
            for i in gt_idx:
                r[i] = GT_NAMES.get(r[i], r[i])
            if writer:
                writer.writerow([_text(v, ",", "") for v in r])
            else:
                out.write("\t".join(re.sub(r"[\t\r\n]", " ", _text(v, ",", ".")) for v in r) + "\n")
        n += len(batch)
    return n

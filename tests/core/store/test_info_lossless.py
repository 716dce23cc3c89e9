"""Every INFO value of every record survives the import (checked against the file's text).

The expected values come from a plain text parser written here, not from htslib
(which bends some values) and not from RareDesk's SQL.
"""

from __future__ import annotations

import gzip
import math
import shutil
import subprocess

import pytest

from raredesk.io.vcf import read_header
from raredesk.store.importer import import_vcf
from raredesk.store.workspace import Workspace

FILES = [
    "scout/643594.clinical.vcf.gz",
    "slivar/ashk-trio.vcf.gz",
    "deeptrio/derived_trio.bcftools.20_10000000_10010000.vcf.gz",
    "mity/mitomap_polymorphisms.vcf.gz",
    "mity/mitomap_disease.vcf.gz",
    "deepvariant/test_nist.b37_chr20_100kbp_at_10mb.vcf.gz",
    "scout/643594.clinical.SV.vcf.gz",
    "igvjs/SKBR3_Sniffles_variants_tra.vcf",
    "slivar/clinvar_20191007.vcf.gz",
    "vcfanno/exac.vcf.gz",
]
ANNOTATION = {"CSQ", "ANN", "EFF", "BCSQ"}
SKIP_ALT = {".", "<*>", "<NON_REF>", "<X>"}


def records(path):
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt") as f:
        for line in f:
            if not line.startswith("#"):
                yield line.rstrip("\n").split("\t")


def parse_info(text: str) -> dict[str, str | None]:
    out = {}
    if text == ".":
        return out
    for item in text.split(";"):
        k, eq, v = item.partition("=")
        out[k] = v if eq else None
    return out


def expected(raw: str | None, number: str, typ: str, allele: int, n_alts: int):
    """What the stored value should be, as Python values, from the raw text."""
    if typ == "Flag":
        return raw is not None or None

    def conv(x: str):
        if x in (".", ""):
            return None
        if typ == "Integer":
            try:
                return int(x)
            except ValueError:
                try:
                    return float(x)
                except ValueError:
                    return x
        if typ == "Float":
            try:
                return float(x)
            except ValueError:
                return x
        return x

    if raw is None or raw == "":
        return None
    if number in ("1", "0"):
        return conv(raw)
    parts = raw.split(",")
    if number == "A":
        return conv(parts[allele - 1]) if allele - 1 < len(parts) else None
    if number == "R":
        return [conv(parts[0]), conv(parts[allele]) if allele < len(parts) else None]
    return [conv(p) for p in parts]


def same(a, b) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, (int, float)) and not isinstance(a, bool) and isinstance(b, str):
        try:
            b = float(b)
        except ValueError:
            return False
    if isinstance(b, (int, float)) and not isinstance(b, bool) and isinstance(a, str):
        try:
            a = float(a)
        except ValueError:
            return False
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        if math.isnan(float(a)) and math.isnan(float(b)):
            return True
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    return a == b


@pytest.mark.parametrize("rel", FILES)
def test_every_info_value_kept(tmp_path, data_dir, rel):
    path = data_dir / rel
    with Workspace(tmp_path / "ws") as ws:
        import_vcf(ws, path, "c")
        con = ws.cursor()
        fields = {n: (col, num, typ, stored) for n, col, num, typ, stored in con.execute(
            "SELECT name, column_name, number, declared_type, stored_type FROM info_fields").fetchall()}
        cols = [(n, v[0]) for n, v in fields.items()]
        select = ", ".join(f'"{c}"' for _, c in cols)
        rows = con.execute(f"SELECT record_index, allele_index {',' if select else ''} {select} "
                           f"FROM case_1_variants ORDER BY record_index, allele_index").fetchall()
    by_record: dict[int, dict[int, tuple]] = {}
    for r in rows:
        by_record.setdefault(r[0], {})[r[1]] = r[2:]
    header = read_header(path)
    checked = 0
    for record_index, cols_ in enumerate(records(path)):
        alts = cols_[4].split(",")
        info = parse_info(cols_[7])
        stored = by_record.get(record_index, {})
        for allele, alt in enumerate(alts, 1):
            if alt in SKIP_ALT or (alt not in ("*",) and not alt.startswith("<") and "[" not in alt
                                   and "]" not in alt and not set(alt.upper()) <= set("ACGTN")
                                   and not (alt.startswith(".") or alt.endswith("."))):
                assert allele not in stored
                continue
            values = stored[allele]
            for (name, _col), value in zip(cols, values):
                key = name.split("#", 1)[0]
                if key in ANNOTATION and key in header.annotations:
                    continue
                _, number, typ, stored_type = fields[name]
                want = expected(info.get(key) if key in info else None if typ != "Flag" else None,
                                number, typ, allele, len(alts))
                if typ == "Flag":
                    want = key in info
                    assert bool(value) == want, (rel, record_index, name)
                    continue
                if key not in info:
                    assert value is None, (rel, record_index, name, value)
                    continue
                assert same(value, want), (rel, record_index, allele, name, value, want)
                checked += 1
    assert checked > 0


def test_bcf_imports_like_its_vcf(tmp_path, data_dir):
    if shutil.which("bcftools") is None:
        pytest.skip("bcftools is not installed")
    src = data_dir / "slivar/ashk-trio.vcf.gz"
    bcf = tmp_path / "ashk.bcf"
    subprocess.run(["bcftools", "view", "-Ob", "-o", str(bcf), str(src)], check=True, capture_output=True)
    with Workspace(tmp_path / "ws") as ws:
        a = import_vcf(ws, src, "vcf")
        b = import_vcf(ws, bcf, "bcf")
        con = ws.cursor()
        qa = con.execute("SELECT vkey, s0_gt, s1_ad_alt, s2_dp, gene, consequence FROM case_1_variants "
                         "ORDER BY vkey").fetchall()
        qb = con.execute("SELECT vkey, s0_gt, s1_ad_alt, s2_dp, gene, consequence FROM case_2_variants "
                         "ORDER BY vkey").fetchall()
    assert a.variant_rows == b.variant_rows > 9000
    assert qa == qb

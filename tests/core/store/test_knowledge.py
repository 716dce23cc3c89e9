"""Local ClinVar / gnomAD sources joined into a case by normalised key."""

from __future__ import annotations

import gzip
import subprocess

import pytest

from raredesk.errors import InputError
from raredesk.store.importer import import_vcf, sha256_file
from raredesk.store.knowledge import annotate

CLINVAR = "slivar/clinvar_20191007.vcf.gz"
GNOMAD = "vcfanno/gno.vcf.gz"


def bcf_query(path, fmt):
    return subprocess.run(["bcftools", "query", "-f", fmt, str(path)], capture_output=True, text=True,
                          check=True).stdout.splitlines()


def test_gnomad_join(ws, data_dir):
    import_vcf(ws, data_dir / "cyvcf2/test.vcf.gz", "c")
    (res,) = annotate(ws, "c", gnomad=str(data_dir / GNOMAD))
    shared = subprocess.run(f"bcftools isec -n=2 -c none '{data_dir / 'cyvcf2/test.vcf.gz'}' '{data_dir / GNOMAD}'",
                            shell=True, capture_output=True, text=True).stdout.splitlines()
    assert res.matched == len(shared) == 5
    assert res.sha256 == sha256_file(data_dir / GNOMAD)
    want = {}
    for line in bcf_query(data_dir / GNOMAD, "%CHROM:%POS:%REF:%ALT\\t%AF\\t%AF_NFE\\n"):
        key, af, nfe = line.split("\t")
        want[key] = (None if af == "." else float(af), None if nfe == "." else float(nfe))
    con = ws.cursor()
    got = con.execute("SELECT vkey, gnomad_af, gnomad_af_nfe FROM case_1_variants WHERE vkey IN "
                      "(SELECT vkey FROM case_1_variants) ORDER BY vkey").fetchall()
    n = 0
    for vkey, af, nfe in got:
        if vkey in want:
            assert (af, nfe) == pytest.approx(want[vkey]) if want[vkey][0] is not None else af is None
            n += 1
    assert n == 5
    rec = con.execute("SELECT a.kind, a.matched, k.sha256, k.path FROM case_annotations a "
                      "JOIN knowledge_sources k USING (source_id)").fetchall()
    assert rec == [("gnomad", 5, res.sha256, str((data_dir / GNOMAD).resolve()))]


def test_clinvar_join_and_reuse(ws, data_dir):
    import_vcf(ws, data_dir / CLINVAR, "cv")
    (first,) = annotate(ws, "cv", clinvar=str(data_dir / CLINVAR))
    assert first.matched == 72 and first.file_date == "2019-10-07" and not first.reused
    (again,) = annotate(ws, "cv", clinvar=str(data_dir / CLINVAR))
    assert again.reused
    con = ws.cursor()
    assert con.execute("SELECT count(*) FROM knowledge_sources").fetchone()[0] == 1
    want = {}
    for line in bcf_query(data_dir / CLINVAR, "%CHROM:%POS:%REF:%ALT\\t%ID\\t%INFO/CLNSIG\\t%INFO/CLNREVSTAT\\n"):
        key, vid, sig, rev = line.split("\t")
        want[key] = (vid, sig.replace("_", " "), rev.replace("_", " "))
    rows = con.execute("SELECT vkey, clinvar_id, clinvar_sig, clinvar_revstat, clinvar_stars, clinvar_source "
                       "FROM case_1_variants").fetchall()
    stars = {"criteria provided, multiple submitters, no conflicts": 2, "criteria provided, single submitter": 1,
             "reviewed by expert panel": 3, "no assertion criteria provided": 0,
             "criteria provided, conflicting interpretations": 1, "practice guideline": 4}
    for vkey, vid, sig, rev, star, source in rows:
        w = want[vkey]
        assert vid == w[0]
        # ClinVar joins several values with ',' or '|'; RareDesk joins them with ', '
        assert sig.replace(", ", "/") == w[1].replace(",", "/").replace("|", "/")
        assert rev == w[2]
        assert star == stars.get(rev, star)
        assert source == "clinvar:2019-10-07"


def test_join_uses_normalised_keys(ws, data_dir, tmp_path):
    """Padded indels and multi-allelic records in the case still meet their ClinVar entries."""
    with gzip.open(data_dir / CLINVAR, "rt") as f:
        header = [line for line in f if line.startswith("#")]
    header[-1] = header[-1].rstrip("\n") + "\tFORMAT\tS1\n"
    records = [
        "1\t949696\t.\tCT\tCGT\t50\tPASS\t.\tGT\t0/1",         # ClinVar C>CG, padded on the right
        "1\t955584\t.\tG\tGGCCGCTGCT,A\t50\tPASS\t.\tGT\t1/2",  # ClinVar G>GGCCGCTGCT as the 1st of 2 ALTs
        "1\t976124\t.\tCAAGT\tCT\t50\tPASS\t.\tGT\t0/1",       # ClinVar CAAG>C, padded
    ]
    case_vcf = tmp_path / "case.vcf"
    case_vcf.write_text("".join(header) + "\n".join(records) + "\n")
    import_vcf(ws, case_vcf, "pad")
    (res,) = annotate(ws, "pad", clinvar=str(data_dir / CLINVAR))
    assert res.matched == 3
    con = ws.cursor()
    got = dict(con.execute("SELECT vkey, clinvar_id FROM case_1_variants WHERE clinvar_id IS NOT NULL").fetchall())
    assert got == {"1:949696:C:CG": "161455", "1:955584:G:GGCCGCTGCT": "574825", "1:976124:CAAG:C": "474163"}


def test_build_mismatch_refused(ws, data_dir, tmp_path):
    with gzip.open(data_dir / CLINVAR, "rt") as f:
        lines = [line for line in f if not line.startswith(("##contig", "##reference"))]
    case_vcf = tmp_path / "b38.vcf"
    case_vcf.write_text("".join(lines))
    import_vcf(ws, case_vcf, "b38", build="GRCh38")
    with pytest.raises(InputError, match="this gnomad file is GRCh37 but case 'b38' is GRCh38"):
        annotate(ws, "b38", gnomad=str(data_dir / GNOMAD))


def test_annotate_unknown_case(ws, data_dir):
    from raredesk.errors import RareDeskError

    with pytest.raises(RareDeskError, match="no case named"):
        annotate(ws, "nope", clinvar=str(data_dir / CLINVAR))


def test_clinvar_build_from_reference_line(ws, data_dir):
    """The ClinVar VCF's contigs have no lengths; its ##reference=GRCh37 line names the build."""
    res = import_vcf(ws, data_dir / CLINVAR, "cv")
    assert res.build == "GRCh37"

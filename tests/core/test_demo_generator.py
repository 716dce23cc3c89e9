"""The seeded synthetic demo case (raredesk.demo): deterministic, valid, and the
planted findings are in the VCF with the stated genotypes and visible in the reads."""

from __future__ import annotations

import shutil
import subprocess

import pysam
import pytest
from cyvcf2 import VCF

from raredesk.demo import DEFAULT_SEED, make_demo_case
from raredesk.demo.generator import CSQ_FIELDS, CONTIGS

EXPECTED_CSQ = ("Allele|Consequence|IMPACT|SYMBOL|Gene|Feature_type|Feature|BIOTYPE|EXON|INTRON|HGVSc|"
                "HGVSp|cDNA_position|CDS_position|Protein_position|Amino_acids|Codons|Existing_variation|"
                "DISTANCE|STRAND|FLAGS|SYMBOL_SOURCE|HGNC_ID|CANONICAL|MANE_SELECT|SIFT|PolyPhen|"
                "gnomADe_AF|gnomADg_AF|MAX_AF|REVEL|CADD_PHRED|SpliceAI_pred_DS_AG|SpliceAI_pred_DS_AL|"
                "SpliceAI_pred_DS_DG|SpliceAI_pred_DS_DL|am_pathogenicity|am_class|CLIN_SIG")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return make_demo_case(tmp_path_factory.mktemp("demo"), seed=DEFAULT_SEED)


def _tool(name):
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not on PATH")
    return path


def _record(vcf_path, planted):
    vcf = VCF(str(vcf_path))
    for v in vcf(f"{planted['chrom']}:{planted['pos']}-{planted['pos']}"):
        if v.POS == planted["pos"] and v.REF == planted["ref"] and v.ALT == [planted["alt"]]:
            return vcf, v
    raise AssertionError(f"{planted['key']} not in the VCF")


def _csq(v):
    return [dict(zip(CSQ_FIELDS, e.split("|"))) for e in v.INFO["CSQ"].split(",")]


def test_same_seed_same_bytes_other_seed_differs(demo, tmp_path):
    again = make_demo_case(tmp_path / "again", seed=DEFAULT_SEED)
    for name in ("vcf", "vcf_index", "reference", "reference_fai", "reference_gzi", "ped",
                 "targets_bed", "panel"):
        assert getattr(again, name).read_bytes() == getattr(demo, name).read_bytes(), name
    for sample in demo.bams:
        assert again.bams[sample].read_bytes() == demo.bams[sample].read_bytes(), sample
    assert again.planted == demo.planted

    other = make_demo_case(tmp_path / "other", seed=DEFAULT_SEED + 1)
    assert other.vcf.read_bytes() != demo.vcf.read_bytes()
    assert other.reference.read_bytes() != demo.reference.read_bytes()


def test_all_files_exist_and_total_size_is_small(demo):
    paths = demo.paths()
    assert all(p.is_file() and p.stat().st_size > 0 for p in paths)
    assert sum(p.stat().st_size for p in paths) < 10_000_000


def test_files_valid_with_htslib_tools(demo):
    bcftools, samtools = _tool("bcftools"), _tool("samtools")
    out = subprocess.run([bcftools, "view", "-H", str(demo.vcf)], capture_output=True, text=True,
                         check=True).stdout
    assert len(out.splitlines()) == demo.n_variants
    assert 2_000 <= demo.n_variants <= 5_000
    # every REF allele matches the synthetic reference
    subprocess.run([bcftools, "norm", "--check-ref", "e", "-f", str(demo.reference), "-Ou",
                    "-o", "/dev/null", str(demo.vcf)], capture_output=True, check=True)
    subprocess.run([bcftools, "index", "-n", str(demo.vcf)], capture_output=True, check=True)
    subprocess.run([samtools, "quickcheck", *[str(p) for p in demo.bams.values()]], check=True)
    seq = subprocess.run([samtools, "faidx", str(demo.reference), "chr7:100001-100060"],
                         capture_output=True, text=True, check=True).stdout.split("\n", 1)[1]
    assert len(seq.replace("\n", "")) == 60


def test_headers_agree_across_files(demo):
    fasta = pysam.FastaFile(str(demo.reference))
    assert list(zip(fasta.references, fasta.lengths)) == list(CONTIGS)
    vcf = VCF(str(demo.vcf))
    raw = vcf.raw_header
    assert "##source=RareDesk demo generator (synthetic)" in raw
    assert "##reference=" in raw
    for chrom, length in CONTIGS:
        assert f"##contig=<ID={chrom},length={length}>" in raw
    assert f"Format: {EXPECTED_CSQ}\"" in raw
    ped = [line.split("\t") for line in demo.ped.read_text().splitlines()]
    assert [row[1] for row in ped] == vcf.samples == list(demo.samples.values())
    assert ped[0][1:] == [demo.samples["proband"], demo.samples["father"], demo.samples["mother"], "1", "2"]
    for sample, bam_path in demo.bams.items():
        with pysam.AlignmentFile(str(bam_path)) as bam:
            assert [(s["SN"], s["LN"]) for s in bam.header.to_dict()["SQ"]] == list(CONTIGS)
            assert {rg["SM"] for rg in bam.header.to_dict()["RG"]} == {sample}
            assert bam.header.to_dict()["HD"]["SO"] == "coordinate"


def test_reads_agree_with_the_reference(demo):
    """MD tags were computed against the FASTA: the reference rebuilt from each read matches it."""
    fasta = pysam.FastaFile(str(demo.reference))
    with pysam.AlignmentFile(str(demo.bams[demo.samples["mother"]])) as bam:
        n = indels = 0
        for read in bam.fetch("chr7"):
            assert read.get_reference_sequence().upper() == fasta.fetch(
                "chr7", read.reference_start, read.reference_end)
            assert len(read.query_sequence) == 150
            n += 1
            indels += any(op in (1, 2) for op, _ in read.cigartuples)
    assert n > 5_000 and indels > 0


def test_planted_variants_have_the_stated_genotypes(demo):
    kinds = sorted(p["kind"] for p in demo.planted)
    assert kinds == ["clinvar_pathogenic", "compound_het", "compound_het", "de_novo_missense",
                     "homozygous_recessive", "x_linked"]
    for p in demo.planted:
        assert p["key"] == f"{p['chrom']}:{p['pos']}:{p['ref']}:{p['alt']}"
        vcf, v = _record(demo.vcf, p)
        got = {s: "/".join(str(a) for a in gt[:2]) for s, gt in zip(vcf.samples, v.genotypes)}
        assert got == p["genotypes"], p["key"]
        assert p["inheritance"] and p["what"]
        canonical = [e for e in _csq(v) if e["CANONICAL"] == "YES" and e["SYMBOL"] == p["gene"]]
        assert len(canonical) == 1
        assert canonical[0]["HGVSc"] == p["hgvsc"] and canonical[0]["HGVSc"].startswith(
            canonical[0]["Feature"] + ".")


def test_planted_findings_look_like_what_they_claim(demo):
    by_kind = {}
    for p in demo.planted:
        by_kind.setdefault(p["kind"], []).append(p)
    proband, father, mother = demo.samples["proband"], demo.samples["father"], demo.samples["mother"]

    (dn,) = by_kind["de_novo_missense"]
    _, v = _record(demo.vcf, dn)
    assert dn["genotypes"] == {proband: "0/1", father: "0/0", mother: "0/0"}
    assert v.INFO.get("gnomAD_AF") is None
    csq = [e for e in _csq(v) if e["CANONICAL"] == "YES"][0]
    assert "missense_variant" in csq["Consequence"] and float(csq["REVEL"]) >= 0.9
    dp = v.format("DP")
    assert dp[1][0] >= 15 and dp[2][0] >= 15   # parents hom-ref with good depth

    a, b = by_kind["compound_het"]
    assert a["gene"] == b["gene"] and a["partner"] == b["key"] and b["partner"] == a["key"]
    parents = {x["genotypes"][father] + x["genotypes"][mother] for x in (a, b)}
    assert parents == {"0/10/0", "0/00/1"}          # one from each parent
    assert any(len(x["ref"]) != len(x["alt"]) for x in (a, b))  # the indel
    for x in (a, b):
        _, v = _record(demo.vcf, x)
        af = v.INFO.get("gnomAD_AF")
        assert af is None or af < 0.001
        assert _csq(v)[0]["IMPACT"] in ("HIGH", "MODERATE")
    _, v = _record(demo.vcf, next(x for x in (a, b) if len(x["ref"]) > len(x["alt"])))
    assert all(e["Allele"] == "-" for e in _csq(v))   # VEP strips the shared first base

    (cv,) = by_kind["clinvar_pathogenic"]
    _, v = _record(demo.vcf, cv)
    assert v.INFO["CLNSIG"] == "Pathogenic"
    assert v.INFO["CLNREVSTAT"] == "criteria_provided,_multiple_submitters,_no_conflicts"

    (hom,) = by_kind["homozygous_recessive"]
    _, v = _record(demo.vcf, hom)
    assert hom["genotypes"] == {proband: "1/1", father: "0/1", mother: "0/1"}
    assert v.INFO["gnomAD_AF"] < 0.001 and v.INFO["gnomAD_nhomalt"] == 0

    (xl,) = by_kind["x_linked"]
    assert xl["chrom"] == "chrX"
    assert xl["genotypes"] == {proband: "1/1", father: "0/0", mother: "0/1"}


def _pileup_counts(bam_path, p):
    """(alt, total) reads at a planted site; duplicates excluded (pysam's default)."""
    indel = len(p["ref"]) != len(p["alt"])
    alt = total = 0
    with pysam.AlignmentFile(str(bam_path)) as bam:
        for col in bam.pileup(p["chrom"], p["pos"] - 1, p["pos"], truncate=True,
                              min_base_quality=0, ignore_overlaps=False):
            for r in col.pileups:
                total += 1
                if indel:
                    alt += r.indel == len(p["alt"]) - len(p["ref"])
                elif not r.is_del and not r.is_refskip:
                    alt += r.alignment.query_sequence[r.query_position] == p["alt"]
    return alt, total


def test_reads_support_the_planted_genotypes(demo):
    for p in demo.planted:
        vcf, v = _record(demo.vcf, p)
        ad = v.format("AD")
        for i, sample in enumerate(vcf.samples):
            alt, total = _pileup_counts(demo.bams[sample], p)
            gt = p["genotypes"][sample]
            assert total >= (10 if p["chrom"] == "chrX" and sample != demo.samples["mother"] else 18), \
                (p["key"], sample, total)
            frac = alt / total
            if gt == "0/1":
                assert 0.3 <= frac <= 0.7, (p["key"], sample, alt, total)
            elif gt == "1/1":
                assert frac >= 0.9, (p["key"], sample, alt, total)
            else:
                assert alt <= 1, (p["key"], sample, alt, total)
            # the VCF's AD are the read counts (sequencing errors aside)
            assert abs(int(ad[i][1]) - alt) <= 2, (p["key"], sample, ad[i], alt)


def test_annotations_are_realistic(demo):
    n = common = multi = dels = 0
    impacts = {}
    for v in VCF(str(demo.vcf)):
        n += 1
        multi += len(v.ALT) > 1
        entries = _csq(v)
        assert all(len(e) == len(CSQ_FIELDS) for e in entries)
        assert all(e["Allele"] for e in entries)
        dels += any(e["Allele"] == "-" for e in entries)
        af = v.INFO.get("gnomAD_AF")
        if af is not None and not isinstance(af, tuple) and af >= 0.01:
            common += 1
        for e in entries:
            impacts[e["IMPACT"]] = impacts.get(e["IMPACT"], 0) + 1
            if e["Feature_type"] == "Transcript" and e["HGVSc"]:
                assert e["HGVSc"].split(":")[0].rsplit(".", 1)[0] == e["Feature"]
            if e["HGVSp"]:
                assert e["HGVSp"].startswith("ENSP9") and ":p." in e["HGVSp"]
            if "missense_variant" in e["Consequence"]:
                assert e["REVEL"] and e["SIFT"] and e["PolyPhen"]
        canonical = {(e["Allele"], e["SYMBOL"]) for e in entries if e["CANONICAL"] == "YES"}
        genes = {(e["Allele"], e["SYMBOL"]) for e in entries if e["SYMBOL"]}
        assert canonical == genes  # one MANE/canonical transcript for every gene hit
    assert common / n > 0.6
    assert multi >= 20 and dels >= 50
    assert set(impacts) == {"HIGH", "MODERATE", "LOW", "MODIFIER"}
    assert impacts["MODIFIER"] > impacts["MODERATE"] > impacts["HIGH"]


def test_bed_and_panel(demo):
    lengths = dict(CONTIGS)
    rows = [line.split("\t") for line in demo.targets_bed.read_text().splitlines()]
    assert rows and all(len(r) == 4 for r in rows)
    for chrom, start, end, name in rows:
        assert 0 <= int(start) < int(end) <= lengths[chrom] and name
    panel = demo.panel.read_text().splitlines()
    assert panel and all(line.strip() == line and line.isalnum() for line in panel)
    planted_genes = {p["gene"] for p in demo.planted}
    assert {"SCN1A", "CFTR"} <= set(panel) and not planted_genes <= set(panel)  # BRCA1 is secondary
    with pysam.AlignmentFile(str(demo.bams[demo.samples["proband"]])) as bam:
        for chrom, start, end, _ in rows[:20]:
            assert bam.count(chrom, int(start), int(end)) > 0

"""FASTA access, contig harmonisation and BED reading (raredesk.io.fasta / bed)."""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import subprocess

import numpy as np
import pysam
import pytest

from raredesk.errors import InputError
from raredesk.io.bed import read_bed
from raredesk.io.fasta import ContigResolver, Reference, canonical_contig, fetch_sequence, file_kind

SAMTOOLS = shutil.which("samtools")
needs_samtools = pytest.mark.skipif(SAMTOOLS is None, reason="samtools not on PATH")


@pytest.fixture(scope="module")
def hg19(data_dir):
    return data_dir / "deepvariant" / "ucsc.hg19.chr20.unittest.fasta.gz"


@pytest.fixture(scope="module")
def b37(data_dir):
    return data_dir / "deeptrio" / "hs37d5.chr20.fa.gz"


@pytest.fixture(scope="module")
def mt_fasta(data_dir):
    return data_dir / "mity" / "hs37d5.MT.fa"


# -- contig names -------------------------------------------------------------

@pytest.mark.parametrize("name, canonical", [
    ("chr1", "1"), ("1", "1"), ("chrX", "X"), ("CHRY", "Y"), ("chrM", "MT"), ("M", "MT"), ("MT", "MT"),
    ("chrMT", "MT"), ("GL000220.1", "GL000220.1"), ("chrUn_gl000220", "Un_gl000220"), ("chr", "chr"),
])
def test_canonical_contig(name, canonical):
    assert canonical_contig(name) == canonical


def test_resolver_maps_any_style_and_prefers_exact_names():
    res = ContigResolver(["chrM", "chr1", "chr20", "MT"])
    assert res.resolve("20") == "chr20"
    assert res.resolve("chr20") == "chr20"
    assert res.resolve("MT") == "MT"        # exact beats canonical
    assert res.resolve("chrM") == "chrM"
    with pytest.raises(InputError, match="ambiguous"):
        res.resolve("M")                    # chrM and MT both canonicalise to MT


def test_resolver_reports_missing_contig_with_what_the_file_has():
    res = ContigResolver(["1", "2", "X"], path="case.bam", what="BAM")
    with pytest.raises(InputError) as err:
        res.resolve("chr21")
    assert err.value.path == "case.bam"
    assert "'chr21' is not in this BAM" in str(err.value) and "1, 2, X" in str(err.value)


def test_resolver_length_check_catches_hg19_chrM_versus_rcrs(data_dir):
    # hg19 chrM (NC_001807, 16,571 bp) is another sequence than rCRS MT (16,569 bp).
    hg19_bam = data_dir / "deepvariant" / "NA12878_S1.chr20.10_10p1mb.bam"
    with pysam.AlignmentFile(str(hg19_bam)) as af:
        lengths = dict(zip(af.references, af.lengths))
    res = ContigResolver(lengths, "hg19.bam", "BAM")
    with Reference(data_dir / "mity" / "hs37d5.MT.fa") as mt:
        with pytest.raises(InputError, match="not the same sequence"):
            res.resolve("MT", mt.lengths["MT"])
    assert res.resolve("chr20", 63_025_520) == "chr20"


# -- FASTA ----------------------------------------------------------------------

def test_file_kind(hg19, mt_fasta, tmp_path):
    plain_gz = tmp_path / "mt.fa.gz"
    plain_gz.write_bytes(gzip.compress(mt_fasta.read_bytes()))
    assert file_kind(hg19) == "bgzf"
    assert file_kind(mt_fasta) == "plain"
    assert file_kind(plain_gz) == "gzip"


@needs_samtools
def test_fetch_matches_samtools_faidx_in_both_namings(hg19, b37):
    region = "chr20:10000001-10000200"
    expect = "".join(subprocess.run([SAMTOOLS, "faidx", str(hg19), region], capture_output=True, text=True,
                                    check=True).stdout.splitlines()[1:]).upper()
    with Reference(hg19) as ref:
        assert ref.fetch("chr20", 10_000_000, 10_000_200) == expect
        assert ref.fetch("20", 10_000_000, 10_000_200) == expect     # GRCh37 spelling works too
    # hg19 and GRCh37 chr20 are the same sequence (PROVENANCE).
    assert fetch_sequence(b37, "chr20", 10_000_000, 10_000_200) == expect
    assert expect[:10] == "TGTTTACTAC"


def test_fetch_clips_at_contig_end_and_rejects_outside_windows(mt_fasta):
    with Reference(mt_fasta) as ref:
        assert len(ref.fetch("chrM", 16_560, 20_000)) == 9
        with pytest.raises(InputError, match="outside"):
            ref.fetch("MT", 17_000, 17_010)
        with pytest.raises(InputError, match="not in this reference"):
            ref.fetch("chr1", 0, 10)


@needs_samtools
def test_md5_follows_the_sam_spec(mt_fasta, hg19, tmp_path):
    with Reference(mt_fasta) as ref:
        digest = ref.md5("chrM")
    # Value recorded in PROVENANCE, and what `samtools dict` writes as M5.
    assert digest == "c68f52674c9fb33aef52dcf399755519"
    dict_out = subprocess.run([SAMTOOLS, "dict", str(mt_fasta)], capture_output=True, text=True,
                              check=True).stdout
    assert f"M5:{digest}" in dict_out
    # Soft-masked (lowercase) bases give the same digest: the spec uppercases.
    seq = pysam.FastaFile(str(mt_fasta)).fetch("MT")
    lower = tmp_path / "mt_lower.fa"
    lower.write_text(">MT\n" + "\n".join(seq.lower()[i:i + 60] for i in range(0, len(seq), 60)) + "\n")
    pysam.faidx(str(lower))
    with Reference(lower) as ref:
        assert ref.md5("MT") == digest == hashlib.md5(seq.upper().encode()).hexdigest()


def test_missing_fasta_and_index_problems_are_clear(mt_fasta, hg19, tmp_path):
    with pytest.raises(InputError, match="not found"):
        Reference(tmp_path / "nope.fa")
    bare = tmp_path / "bare.fa"
    shutil.copy(mt_fasta, bare)
    with pytest.raises(InputError, match="samtools faidx") as err:
        Reference(bare)
    assert err.value.path == str(bare)
    assert not (tmp_path / "bare.fa.fai").exists()          # never writes an index behind the user's back
    gz = tmp_path / "plain.fa.gz"
    gz.write_bytes(gzip.compress(mt_fasta.read_bytes()))
    shutil.copy(str(mt_fasta) + ".fai", str(gz) + ".fai")
    with pytest.raises(InputError, match="bgzip"):
        Reference(gz)
    nogzi = tmp_path / "nogzi.fa.gz"
    shutil.copy(hg19, nogzi)
    shutil.copy(str(hg19) + ".fai", str(nogzi) + ".fai")
    with pytest.raises(InputError, match=r"\.gzi"):
        Reference(nogzi)


def test_stale_fai_is_rejected(mt_fasta, tmp_path):
    fa = tmp_path / "mt.fa"
    shutil.copy(mt_fasta, fa)
    shutil.copy(str(mt_fasta) + ".fai", str(fa) + ".fai")
    now = os.stat(fa).st_mtime
    os.utime(str(fa) + ".fai", (now - 100, now - 100))
    with pytest.raises(InputError, match="older"):
        Reference(fa)


# -- BED --------------------------------------------------------------------------

def test_read_real_bed(data_dir):
    path = data_dir / "deepvariant" / "test_nist.b37_chr20_100kbp_at_10mb.bed"
    bed = read_bed(path)
    rows = [line.split("\t") for line in path.read_text().splitlines() if line.strip()]
    assert len(bed) == len(rows)
    assert bed.chrom.tolist() == [r[0] for r in rows]
    assert bed.start.tolist() == [int(r[1]) for r in rows]
    assert bed.end.tolist() == [int(r[2]) for r in rows]
    assert bed.name is None and not bed.has_names


def test_bed_gz_with_headers_names_and_spaces(data_dir, tmp_path):
    src = (data_dir / "deepvariant" / "test_nist.b37_chr20_100kbp_at_10mb.bed").read_text().splitlines()
    lines = ["track name=panel description=\"test\"", "browser position chr20:1-100", "# comment", ""]
    for i, line in enumerate(src):
        c, s, e = line.split("\t")[:3]
        lines.append(f"{c}\t{s}\t{e}\tGENE{i % 3}\t0\t+" if i % 2 else f"{c} {s} {e}")
    path = tmp_path / "panel.bed.gz"
    with gzip.open(path, "wt") as fh:
        fh.write("\n".join(lines) + "\n")
    bed = read_bed(path)
    assert len(bed) == len(src)
    assert bed.has_names
    assert bed.name.tolist() == [f"GENE{i % 3}" if i % 2 else "" for i in range(len(src))]
    assert np.all(bed.end > bed.start)


@pytest.mark.parametrize("bad_line, message", [
    ("chr20\t100", "at least 3 columns"),
    ("chr20\tabc\t200", "whole numbers"),
    ("chr20\t300\t200", "invalid interval"),
    ("chr20\t-5\t200", "invalid interval"),
])
def test_malformed_bed_line_names_file_and_line(tmp_path, bad_line, message):
    path = tmp_path / "bad.bed"
    path.write_text("# header\nchr20\t10\t20\tA\n" + bad_line + "\nchr20\t30\t40\n")
    with pytest.raises(InputError, match=message) as err:
        read_bed(path)
    assert err.value.path == str(path)
    assert str(err.value).startswith(f"{path}: line 3:")


def test_bed_missing_or_binary(tmp_path, data_dir):
    with pytest.raises(InputError, match="not found"):
        read_bed(tmp_path / "none.bed")
    fai = tmp_path / "given_a_fai.bed"
    shutil.copy(data_dir / "mity" / "hs37d5.MT.fa.fai", fai)  # "MT 16569 4 60 61": end before start
    with pytest.raises(InputError, match="line 1: invalid interval"):
        read_bed(fai)
    junk = tmp_path / "junk.bed"
    junk.write_bytes(b"\x00\xff\xfe\x80garbage\n")
    with pytest.raises(InputError, match="line 1"):
        read_bed(junk)

"""Read evidence from BAM/CRAM (raredesk.io.bam), checked against samtools on real data."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pysam
import pytest

from raredesk.errors import InputError
from raredesk.io.bam import (
    ALLELES, DEFAULT_EXCLUDE_FLAGS, DISPLAY_EXCLUDE_FLAGS, AlignmentReader, configure_offline_htslib,
    downsample, fetch_pileup, pack_rows, recount,
)

SAMTOOLS = shutil.which("samtools")
pytestmark = pytest.mark.skipif(SAMTOOLS is None, reason="samtools not on PATH")


# -- data ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def na12878(data_dir):
    d = data_dir / "deepvariant"
    return {"bam": d / "NA12878_S1.chr20.10_10p1mb.bam", "cram": d / "NA12878_S1.chr20.10_10p1mb.cram",
            "fasta": d / "ucsc.hg19.chr20.unittest.fasta.gz",
            "calls": d / "golden.postprocess_single_site_output.vcf.gz",
            "truth": d / "test_nist.b37_chr20_100kbp_at_10mb.vcf.gz"}


@pytest.fixture(scope="module")
def trio(data_dir):
    d = data_dir / "deeptrio"
    return {"bams": [d / f"{s}.chr20.10_10p1mb_sorted.bam" for s in ("HG001", "NA12891", "NA12892")],
            "fasta": d / "hs37d5.chr20.fa.gz", "calls": d / "derived_trio.bcftools.20_10000000_10010000.vcf.gz"}


@pytest.fixture(scope="module")
def mito(data_dir):
    return {"bam": data_dir / "scout" / "reduced_mt.bam", "fasta": data_dir / "mity" / "hs37d5.MT.fa",
            "calls": data_dir / "scout" / "derived_reduced_mt.MT.calls.csq.vcf.gz"}


@pytest.fixture(scope="module")
def hifi(data_dir):
    return data_dir / "igvjs" / "HG002_chr11_119076212_119102218_2.bam"


# -- samtools helpers (independent of the code under test) ----------------------------

def samtools(*args: str) -> str:
    return subprocess.run([SAMTOOLS, *args], capture_output=True, text=True, check=True).stdout


def samtools_depth(bam, region, *extra) -> np.ndarray:
    out = samtools("depth", "-a", "-r", region, *extra, str(bam))
    return np.array([int(line.split("\t")[2]) for line in out.splitlines()], dtype=np.int64)


def mpileup(bam, fasta, region, min_bq, min_mq=0, *extra):
    """{pos: (ref_base, [tokens])}; each token is (char, *indel events) from the bases column."""
    out = samtools("mpileup", "-B", "-A", "-x", "-a", "--reverse-del", "-Q", str(min_bq), "-q", str(min_mq),
                   "-f", str(fasta), "-r", region, *extra, str(bam))
    result = {}
    for line in out.splitlines():
        f = line.split("\t")
        bases, tokens, i = f[4] if len(f) > 4 else "", [], 0
        while i < len(bases):
            c = bases[i]
            if c == "^":
                i += 2
            elif c == "$":
                i += 1
            elif c in "+-":
                m = re.match(r"[+-](\d+)", bases[i:])
                n = int(m.group(1))
                tokens[-1] = tokens[-1] + ((c, bases[i + len(m.group(0)):i + len(m.group(0)) + n]),)
                i += len(m.group(0)) + n
            else:
                tokens.append((c,))
                i += 1
        result[int(f[1])] = (f[2].upper(), tokens)
    return result


def mpileup_counts(ref_base, tokens) -> np.ndarray:
    """Allele counts (7 x 2, ALLELES order) from mpileup tokens."""
    c = np.zeros((7, 2), dtype=np.int64)
    for tok in tokens:
        ch = tok[0]
        if ch in "*#":
            c[5, 0 if ch == "*" else 1] += 1
            continue
        if ch in "<>":
            continue
        base = ref_base if ch in ".," else ch.upper()
        strand = 0 if ch == "." or ch.isupper() else 1
        c["ACGT".index(base) if base in "ACGT" else 4, strand] += 1
        for event in tok[1:]:
            if event[0] == "+":
                c[6, 0 if event[1].isupper() else 1] += 1
    return c


# -- opening and checks ----------------------------------------------------------------

def test_open_bam_reports_header(na12878):
    with AlignmentReader(na12878["bam"]) as r:
        assert r.format == "BAM"
        assert r.samples == ("NA12878",)
        assert r.lengths["chr20"] == 63_025_520
        assert r.resolve("20") == "chr20"
        assert r.index_path.endswith(".bai")


def test_cram_decodes_offline_with_same_reads_as_bam(na12878, monkeypatch):
    # Even if the user's environment points htslib at the EBI server, opening
    # a CRAM replaces it with a local-only lookup before anything is decoded.
    monkeypatch.setenv("REF_PATH", "https://www.ebi.ac.uk/ena/cram/md5/%s")
    monkeypatch.delenv("REF_CACHE", raising=False)
    with AlignmentReader(na12878["cram"], na12878["fasta"]) as cram, AlignmentReader(na12878["bam"]) as bam:
        for var in ("REF_PATH", "REF_CACHE"):
            value = os.environ[var]
            assert "://" not in value and value.startswith(os.sep)
            assert os.path.isdir(value.split("%")[0])
        assert cram.count_reads() == bam.count_reads() == 52_035 == int(samtools("view", "-c", str(na12878["bam"])))
        assert cram.count_reads("chr20", exclude_flags=0x400) == bam.count_reads("20", exclude_flags=0x400)
        # The unittest FASTA is N outside 1.1 Mb, so its MD5 differs from @SQ M5;
        # the reads still decode (htslib checks each slice) and the reader says so.
        assert cram.reference_verified("chr20") is False
        assert any("M5" in w for w in cram.warnings)


def test_configure_offline_htslib_overrides_remote_settings(monkeypatch):
    monkeypatch.setenv("REF_PATH", "http://example.org/%s")
    monkeypatch.setenv("REF_CACHE", "")
    env = configure_offline_htslib()
    assert env["REF_PATH"] == os.environ["REF_PATH"] and "://" not in env["REF_PATH"]
    assert env["REF_CACHE"] == os.environ["REF_CACHE"] and env["REF_CACHE"]


def test_cram_with_renamed_build_is_the_wrong_reference(na12878, data_dir):
    with pytest.raises(InputError) as err:
        AlignmentReader(na12878["cram"], data_dir / "deeptrio" / "hs37d5.chr20.fa.gz")
    msg = str(err.value)
    assert err.value.path == str(na12878["cram"])
    assert "wrong reference" in msg and "hs37d5.chr20.fa.gz" in msg
    assert "0dec9660ec1efaaf33281c0d5ea2560f" in msg          # the @SQ M5 it needs


def test_cram_with_unrelated_reference(na12878, data_dir):
    with pytest.raises(InputError, match="wrong reference"):
        AlignmentReader(na12878["cram"], data_dir / "mity" / "hs37d5.MT.fa")


def test_cram_needs_a_reference(na12878):
    with pytest.raises(InputError, match="reference FASTA"):
        AlignmentReader(na12878["cram"])


@pytest.fixture(scope="module")
def mutated_hg19(na12878, tmp_path_factory):
    """hg19 chr20 with one base changed at 10,050,001: right name and length, wrong sequence."""
    out = tmp_path_factory.mktemp("wrongref") / "chr20_mutated.fa"
    seq = bytearray(pysam.FastaFile(str(na12878["fasta"])).fetch("chr20").encode())
    seq[10_050_000] = ord("A") if seq[10_050_000] != ord("A") else ord("C")
    with open(out, "wb") as fh:
        fh.write(b">chr20\n")
        for i in range(0, len(seq), 60):
            fh.write(seq[i:i + 60] + b"\n")
    pysam.faidx(str(out))
    return out


def test_cram_with_subtly_wrong_reference_fails_where_it_differs(na12878, mutated_hg19):
    with AlignmentReader(na12878["cram"], mutated_hg19) as r:
        # Far from the changed base the slices still decode.
        assert r.pileup("chr20", 10_001_000, 10_002_000).coverage.depth.sum() > 0
        with pytest.raises(InputError) as err:
            r.pileup("chr20", 10_049_500, 10_050_500)
    msg = str(err.value)
    assert "wrong reference" in msg and "0dec9660ec1efaaf33281c0d5ea2560f" in msg and "mutated" in msg


def test_missing_index(na12878, tmp_path):
    bam = tmp_path / "no_index.bam"
    shutil.copy(na12878["bam"], bam)
    with pytest.raises(InputError, match="no index") as err:
        AlignmentReader(bam)
    assert err.value.path == str(bam)


def test_stale_index(na12878, tmp_path):
    for kind in ("bam", "cram"):
        data = tmp_path / f"case.{kind}"
        idx = tmp_path / f"case.{kind}.{'bai' if kind == 'bam' else 'crai'}"
        shutil.copy(na12878[kind], data)
        shutil.copy(str(na12878[kind]) + idx.suffix, idx)
        t = os.stat(idx).st_mtime
        os.utime(data, (t + 60, t + 60))                   # data rewritten after indexing
        with pytest.raises(InputError, match="older") as err:
            AlignmentReader(data, na12878["fasta"])
        assert "samtools index" in str(err.value)


def test_foreign_index(trio, tmp_path):
    bam = tmp_path / "child.bam"
    shutil.copy(trio["bams"][0], bam)
    shutil.copy(str(trio["bams"][1]) + ".bai", str(bam) + ".bai")   # the father's index
    with pytest.raises(InputError, match="does not belong"):
        AlignmentReader(bam)


def test_truncated_bam(na12878, tmp_path):
    data = na12878["bam"].read_bytes()
    cut = tmp_path / "cut.bam"
    cut.write_bytes(data[: len(data) // 2])
    shutil.copy(str(na12878["bam"]) + ".bai", str(cut) + ".bai")
    with pytest.raises(InputError, match="truncated"):
        AlignmentReader(cut)
    # Same damage but with an end-of-file marker glued on: caught when decoding.
    glued = tmp_path / "glued.bam"
    glued.write_bytes(data[: len(data) // 2] + data[-28:])
    shutil.copy(str(na12878["bam"]) + ".bai", str(glued) + ".bai")
    with pytest.raises(InputError, match="damaged|truncated|does not belong"):
        with AlignmentReader(glued) as r:
            r.depth("chr20", 10_000_000, 10_100_000)


def test_truncated_cram(na12878, tmp_path):
    data = na12878["cram"].read_bytes()
    cut = tmp_path / "cut.cram"
    cut.write_bytes(data[: len(data) // 2])
    shutil.copy(str(na12878["cram"]) + ".crai", str(cut) + ".crai")
    with pytest.raises(InputError, match="truncated"):
        AlignmentReader(cut, na12878["fasta"])


def test_not_an_alignment_file(tmp_path, mito):
    fake = tmp_path / "notes.bam"
    shutil.copy(mito["fasta"], fake)
    with pytest.raises(InputError, match="not a BAM or CRAM"):
        AlignmentReader(fake)
    with pytest.raises(InputError, match="not found"):
        AlignmentReader(tmp_path / "absent.bam")


def test_vcf_contigs_harmonised_and_absent_ones_reported(trio, na12878):
    with pysam.VariantFile(str(na12878["truth"])) as vcf:       # hg19-named VCF: chr20 with length
        contigs = {c: vcf.header.contigs[c].length for c in ("chr20",)}
    with AlignmentReader(trio["bams"][0], expected_contigs=contigs) as r:   # GRCh37 BAM: "20"
        assert r.check_contigs(contigs) == {"chr20": "20"}
        with pytest.raises(InputError) as err:
            r.check_contigs(["chr20", "chr99", "HLA-A*01:01"])
    msg = err.value.problem
    assert "chr99" in msg and "HLA-A*01:01" in msg and "chr20" not in msg


def test_contig_length_mismatch_is_another_build(data_dir):
    grch38 = data_dir / "deepvariant" / "grch38_1k_subset_chr20_and_chr21.bam"
    with pytest.raises(InputError, match="not the same sequence"):
        AlignmentReader(grch38, expected_contigs={"20": 63_025_520})       # GRCh37 length


def test_bam_with_reference_of_another_length_is_refused(na12878, data_dir):
    # hg19 BAM (chr20: 63,025,520 bp) with the cut-down GRCh38 FASTA (chr20: 10,000,000 bp).
    with AlignmentReader(na12878["bam"], data_dir / "deepvariant" / "grch38.chr20_and_21_10M.fa.gz") as r:
        with pytest.raises(InputError, match="does not match this BAM.*63,025,520.*10,000,000"):
            r.pileup("chr20", 1_000_000, 1_001_000)


# -- depth and allele counts ----------------------------------------------------------

@pytest.mark.parametrize("extra", [(), ("-q", "20"), ("-Q", "30"), ("-J",)])
def test_depth_matches_samtools_bam_and_cram(na12878, extra):
    opts = dict(min_bq=int(extra[1]) if extra[:1] == ("-q",) else 0,
                min_mapq=int(extra[1]) if extra[:1] == ("-Q",) else 0,
                count_deletions=extra == ("-J",))
    expect = samtools_depth(na12878["bam"], "chr20:10000001-10100000", *extra)
    for kind in ("bam", "cram"):
        with AlignmentReader(na12878[kind], na12878["fasta"]) as r:
            got = r.depth("20", 10_000_000, 10_100_000, **opts)
        np.testing.assert_array_equal(got, expect)


def test_depth_trio_hifi_and_mt_match_samtools(trio, hifi, mito):
    for bam, contig, start, end in [(trio["bams"][0], "20", 9_999_000, 10_011_000),
                                    (trio["bams"][2], "20", 10_004_000, 10_006_000),
                                    (hifi, "chr11", 119_070_000, 119_110_000),
                                    (mito["bam"], "MT", 0, 16_569)]:
        with AlignmentReader(bam) as r:
            got = r.depth(contig, start, end)
        np.testing.assert_array_equal(got, samtools_depth(bam, f"{contig}:{start + 1}-{end}"))


def test_mt_spot_depths_from_provenance(mito):
    spots = {263: 56, 3243: 69, 3801: 38, 8344: 55, 8993: 63, 11778: 41, 14872: 66, 15326: 46, 16023: 70}
    with AlignmentReader(mito["bam"], mito["fasta"]) as r:
        depth = r.depth("chrM", 0, 16_569)
        counts = r.allele_counts("MT", 0, 16_569, min_bq=0)
    assert {p: int(depth[p - 1]) for p in spots} == spots
    assert float(depth.mean()) == pytest.approx(59.8, abs=0.05) and int(depth.min()) == 3
    np.testing.assert_array_equal(counts.depth, depth)
    # PROVENANCE: every read shows the reference base at 14872 (C) and 16023 (G).
    assert counts.allele("C")[14_871] == 66 and counts.allele("G")[16_022] == 70


@pytest.mark.parametrize("min_bq", [0, 13, 30])
def test_allele_counts_match_mpileup(na12878, mito, trio, min_bq):
    cases = [(na12878["bam"], na12878["fasta"], "chr20", 10_001_400, 10_004_800),   # has ins + del calls
             (na12878["cram"], na12878["fasta"], "chr20", 10_008_000, 10_008_800),
             (mito["bam"], mito["fasta"], "MT", 250, 3_200),                          # 309 C>CCT, 3106 CN>C
             (trio["bams"][0], trio["fasta"], "20", 10_002_400, 10_004_300)]
    seen = np.zeros(7, dtype=np.int64)
    for bam, fasta, contig, start, end in cases:
        with AlignmentReader(bam, fasta) as r:
            ac = r.allele_counts(contig, start, end, min_bq=min_bq)
        pile = mpileup(bam, fasta, f"{contig}:{start + 1}-{end}", min_bq)
        expect = np.stack([mpileup_counts(*pile[p]) for p in range(start + 1, end + 1)])
        np.testing.assert_array_equal(ac.counts, expect)
        seen += ac.counts.sum(axis=(0, 2))
        with pysam.FastaFile(str(fasta)) as fa:
            assert ac.reference == fa.fetch(contig, start, end).upper()
    # Every allele class was exercised (N bases carry low qualities, so only at min_bq 0).
    exercised = [a for a in ALLELES if a != "N" or min_bq == 0]
    assert all(seen[ALLELES.index(a)] > 0 for a in exercised), dict(zip(ALLELES, seen.tolist()))


def test_allele_counts_mapq_filter(na12878):
    with AlignmentReader(na12878["bam"], na12878["fasta"]) as r:
        ac = r.allele_counts("chr20", 10_010_000, 10_010_500, min_bq=13, min_mapq=30)
    pile = mpileup(na12878["bam"], na12878["fasta"], "chr20:10010001-10010500", 13, 30)
    expect = np.stack([mpileup_counts(*pile[p]) for p in range(10_010_001, 10_010_501)])
    np.testing.assert_array_equal(ac.counts, expect)


# -- reads for drawing ----------------------------------------------------------------

def _reference_events(bam, fasta, contig, start, end, names_kept):
    """Per-read mismatches/indels/clips computed the slow, obvious way with pysam."""
    fa = pysam.FastaFile(str(fasta))
    ref = fa.fetch(contig, start, end).upper() if fasta else None
    mism, ins, dels, clips = set(), set(), set(), set()
    with pysam.AlignmentFile(str(bam)) as af:
        for read in af.fetch(contig, start, end):
            if read.flag & DISPLAY_EXCLUDE_FLAGS or read.query_name not in names_kept or not read.cigartuples:
                continue
            key = (read.query_name, read.flag)
            seq = read.query_sequence
            for qpos, rpos in read.get_aligned_pairs(matches_only=True):
                if start <= rpos < end and seq and seq[qpos] != ref[rpos - start] and ref[rpos - start] != "N":
                    mism.add((key, rpos, seq[qpos]))
            rpos, qpos = read.reference_start, 0
            for i, (op, ln) in enumerate(read.cigartuples):
                if op == 1 and start <= rpos <= end:
                    ins.add((key, rpos, seq[qpos:qpos + ln]))
                if op == 2 and rpos < end and rpos + ln > start:
                    dels.add((key, rpos, rpos + ln))
                if op == 4 and start <= rpos <= end:
                    clips.add((key, rpos, ln, qpos == 0))
                rpos += ln if op in (0, 2, 3, 7, 8) else 0
                qpos += ln if op in (0, 1, 4, 7, 8) else 0
    return mism, ins, dels, clips


def test_read_batch_columns_match_pysam(na12878):
    start, end = 10_001_300, 10_001_600                # insertion call at 10,001,436
    data = fetch_pileup(na12878["bam"], "20", start, end, reference=na12878["fasta"], max_reads_per_bucket=0)
    rb = data.reads
    assert data.sample == "NA12878" and rb.contig == "chr20" and rb.hidden_reads == 0
    view = samtools("view", "-F", str(DISPLAY_EXCLUDE_FLAGS), str(na12878["bam"]), f"chr20:{start + 1}-{end}")
    rows = [line.split("\t") for line in view.splitlines()]
    assert len(rb) == rb.total_reads == len(rows)
    assert rb.name.tolist() == [r[0] for r in rows]
    assert rb.flag.tolist() == [int(r[1]) for r in rows]
    assert (rb.read_start + 1).tolist() == [int(r[3]) for r in rows]
    assert rb.mapq.tolist() == [int(r[4]) for r in rows]
    assert rb.insert_size.tolist() == [int(r[8]) for r in rows]
    assert np.all(np.diff(rb.read_start) >= 0)
    keyed = list(zip(rb.name.tolist(), rb.flag.tolist()))
    mism, ins, dels, clips = _reference_events(na12878["bam"], na12878["fasta"], "chr20", start, end,
                                               set(rb.name.tolist()))
    got_m = {(keyed[i], int(p), chr(b)) for i, p, b in zip(rb.mismatches.read, rb.mismatches.start,
                                                               rb.mismatches.base)}
    got_i = {(keyed[i], int(p), s) for i, p, s in zip(rb.insertions.read, rb.insertions.start,
                                                      rb.insertions.sequence)}
    got_d = {(keyed[i], int(s), int(e)) for i, s, e in zip(rb.deletions.read, rb.deletions.start, rb.deletions.end)}
    got_c = {(keyed[i], int(p), int(n), bool(left)) for i, p, n, left in
             zip(rb.soft_clips.read, rb.soft_clips.start, rb.soft_clips.length, rb.soft_clips.is_left)}
    assert got_m == mism and got_i == ins and got_d == dels and got_c == clips
    assert len(got_i) >= 20                             # the AGGCT insertion is well supported
    assert any(s == "AGGCT" for _, _, s in got_i)
    assert rb.mismatch_source == "reference"


def test_reference_n_is_never_a_mismatch(mito):
    # rCRS keeps an N at MT:3107; reads there carry real bases.
    data = fetch_pileup(mito["bam"], "MT", 3_090, 3_120, reference=mito["fasta"], max_reads_per_bucket=0)
    assert data.coverage.reference[3_106 - 3_090] == "N"
    assert data.coverage.depth[3_106 - 3_090] == 3      # the one low spot of this BAM (PROVENANCE: min 3x)
    rb = data.reads
    assert 3_106 not in set(rb.mismatches.start.tolist())
    assert len(rb.mismatches.start) > 0        # other differences are still reported


def test_pair_orientation_and_mates(na12878):
    rb = fetch_pileup(na12878["bam"], "chr20", 10_020_000, 10_021_000, max_reads_per_bucket=0).reads
    with pysam.AlignmentFile(str(na12878["bam"])) as af:
        reads = [r for r in af.fetch("chr20", 10_020_000, 10_021_000) if not r.flag & DISPLAY_EXCLUDE_FLAGS]
    for i, r in enumerate(reads):
        proper_fr = r.is_proper_pair and not r.mate_is_unmapped
        if not r.is_paired or r.mate_is_unmapped or r.next_reference_name != "chr20":
            assert rb.pair_orientation[i] == "" and (rb.mate_contig[i] == "" or r.next_reference_name != "chr20")
            continue
        assert rb.mate_start[i] == r.next_reference_start and rb.mate_contig[i] == "chr20"
        me = ("R" if r.is_reverse else "F") + ("1" if r.is_read1 else "2")
        mate = ("R" if r.mate_is_reverse else "F") + ("2" if r.is_read1 else "1")
        leftmost = r.reference_start < r.next_reference_start or (
            r.reference_start == r.next_reference_start and r.is_read1)
        assert rb.pair_orientation[i] == (me + mate if leftmost else mate + me)
        if proper_fr:
            assert rb.pair_orientation[i] in ("F1R2", "F2R1")


def test_long_reads_haplotags_splits_and_cigar_mismatches(hifi):
    start, end = 119_080_000, 119_081_000
    data = fetch_pileup(hifi, "chr11", start, end, max_reads_per_bucket=0)     # no FASTA for this BAM
    rb = data.reads
    with pysam.AlignmentFile(str(hifi)) as af:
        reads = [r for r in af.fetch("chr11", start, end) if not r.flag & DISPLAY_EXCLUDE_FLAGS]
    assert len(rb) == len(reads) > 10
    assert rb.hp.tolist() == [r.get_tag("HP") if r.has_tag("HP") else 0 for r in reads]
    assert set(rb.hp.tolist()) >= {1, 2}
    assert rb.is_split.tolist() == [r.is_supplementary or r.has_tag("SA") for r in reads]
    assert rb.mismatch_source == "cigar"
    expect = set()
    for i, r in enumerate(reads):
        rpos, qpos = r.reference_start, 0
        for op, ln in r.cigartuples:
            if op == 8:
                for k in range(ln):
                    if start <= rpos + k < end:
                        expect.add((i, rpos + k, r.query_sequence[qpos + k]))
            rpos += ln if op in (0, 2, 3, 7, 8) else 0
            qpos += ln if op in (0, 1, 4, 7, 8) else 0
    got = {(int(i), int(p), chr(b)) for i, p, b in zip(rb.mismatches.read, rb.mismatches.start, rb.mismatches.base)}
    assert got == expect and len(got) > 0
    # Rows never overlap on screen.
    for row in np.unique(rb.row):
        idx = np.flatnonzero(rb.row == row)
        assert np.all(rb.read_start[idx][1:] >= rb.read_end[idx][:-1] + 2)


def _first_fit(starts, ends, gap):
    rows_end: list[int] = []
    out = []
    for s, e in zip(starts, ends):
        for k, last in enumerate(rows_end):
            if last + gap <= s:
                rows_end[k] = max(e, s + 1)
                out.append(k)
                break
        else:
            rows_end.append(max(e, s + 1))
            out.append(len(rows_end) - 1)
    return out


def test_pack_rows_is_lowest_row_first_fit():
    rng = np.random.default_rng(11)
    for gap in (0, 2, 5):
        starts = np.sort(rng.integers(0, 2_000, 800))
        ends = starts + rng.integers(1, 300, 800)
        assert pack_rows(starts, ends, gap=gap).tolist() == _first_fit(starts.tolist(), ends.tolist(), gap)
    assert pack_rows(np.array([0, 5]), np.array([4, 9]), gap=1).tolist() == [0, 0]
    assert pack_rows(np.array([0, 5]), np.array([4, 9]), gap=2).tolist() == [0, 1]
    with pytest.raises(ValueError):
        pack_rows(np.array([5, 0]), np.array([9, 4]))


def test_downsampling_is_capped_deterministic_and_counts_hidden(na12878):
    kw = dict(reference=na12878["fasta"], max_reads_per_bucket=4, bucket_size=50)
    a = fetch_pileup(na12878["bam"], "chr20", 10_030_000, 10_031_000, seed=1, **kw)
    b = fetch_pileup(na12878["bam"], "chr20", 10_030_000, 10_031_000, seed=1, **kw)
    c = fetch_pileup(na12878["bam"], "chr20", 10_030_000, 10_031_000, seed=2, **kw)
    full = fetch_pileup(na12878["bam"], "chr20", 10_030_000, 10_031_000, reference=na12878["fasta"],
                        max_reads_per_bucket=0)
    assert a.reads.name.tolist() == b.reads.name.tolist()
    assert a.reads.name.tolist() != c.reads.name.tolist()
    assert a.reads.total_reads == len(full.reads) == len(a.reads) + a.reads.hidden_reads
    assert a.reads.hidden_reads > 0 and len(a.reads.hidden_intervals) > 0
    per_bucket = np.bincount(a.reads.read_start // 50)
    assert per_bucket.max() <= 4
    assert set(a.reads.name.tolist()) <= set(full.reads.name.tolist())
    np.testing.assert_array_equal(a.coverage.counts, full.coverage.counts)   # coverage never downsampled
    # The choice of a read does not depend on the window it was fetched in.
    shifted = fetch_pileup(na12878["bam"], "chr20", 10_030_500, 10_031_500, seed=1, **kw)
    common = set(full.reads.name.tolist()) & set(
        fetch_pileup(na12878["bam"], "chr20", 10_030_500, 10_031_500, max_reads_per_bucket=0).reads.name.tolist())
    in_a = {n for n, s in zip(a.reads.name.tolist(), a.reads.read_start.tolist()) if s >= 10_030_500 and n in common}
    in_shift = {n for n, s in zip(shifted.reads.name.tolist(), shifted.reads.read_start.tolist())
                if 10_030_500 <= s < 10_031_000 and n in common}
    assert in_a == in_shift


def test_downsample_function_directly():
    starts = np.repeat(np.arange(0, 500, 50), 30)
    names = np.array([f"r{i}" for i in range(starts.size)], dtype=object)
    keep, hidden = downsample(starts, names, max_per_bucket=10, bucket_size=50, seed=3)
    assert keep.sum() == 100 and hidden.shape == (10, 2)
    assert np.array_equal(keep, downsample(starts, names, max_per_bucket=10, bucket_size=50, seed=3)[0])
    keep_all, none = downsample(starts, names, max_per_bucket=0)
    assert keep_all.all() and none.shape == (0, 2)


def test_trio_windows_load_for_three_samples(trio):
    samples = []
    for bam in trio["bams"]:
        data = fetch_pileup(bam, "chr20", 10_005_000, 10_006_000, reference=trio["fasta"])
        samples.append(data.sample)
        np.testing.assert_array_equal(data.coverage.depth, samtools_depth(bam, "20:10005001-10006000"))
        assert len(data.reads) > 50
    assert samples == ["HG001", "NA12891", "NA12892"]


# -- recount ---------------------------------------------------------------------------

def _normalised(pos, ref, alt):
    while len(ref) > 1 and len(alt) > 1 and ref[-1] == alt[-1]:
        ref, alt = ref[:-1], alt[:-1]
    while len(ref) > 1 and len(alt) > 1 and ref[0] == alt[0]:
        ref, alt, pos = ref[1:], alt[1:], pos + 1
    return pos, ref, alt


def _mpileup_recount(pile, pos, ref, alt):
    """ref/alt/other x fwd/rev from an mpileup run, at the (normalised) site."""
    pos, ref, alt = _normalised(pos, ref, alt)
    ref_base, tokens = pile[pos]
    c = np.zeros((3, 2), dtype=np.int64)
    for tok in tokens:
        ch = tok[0]
        if ch in "*#":
            c[2, 0 if ch == "*" else 1] += 1
            continue
        strand = 0 if ch == "." or ch.isupper() else 1
        if len(ref) == len(alt) == 1:
            base = ref_base if ch in ".," else ch.upper()
            c[0 if base == ref else 1 if base == alt else 2, strand] += 1
        elif len(tok) == 1:
            c[0, strand] += 1
        else:
            sign, seq = tok[1]
            hit = (sign == "+" and len(ref) == 1 and seq.upper() == alt[1:]) or (
                sign == "-" and len(alt) == 1 and len(seq) == len(ref) - 1)
            c[1 if hit else 2, strand] += 1
    return c


def _alleles(vcf):
    with pysam.VariantFile(str(vcf)) as f:
        for rec in f:
            for alt in rec.alts or ():
                if not alt.startswith("<") and alt != "*":
                    yield rec.chrom, rec.pos, rec.ref, alt


@pytest.mark.parametrize("which", ["mito", "na12878", "trio"])
def test_recount_matches_mpileup_on_real_calls(which, mito, na12878, trio):
    bam, fasta, vcf = {"mito": (mito["bam"], mito["fasta"], mito["calls"]),
                       "na12878": (na12878["bam"], na12878["fasta"], na12878["calls"]),
                       "trio": (trio["bams"][0], trio["fasta"], trio["calls"])}[which]
    alleles = list(_alleles(vcf))
    first, last = min(a[1] for a in alleles), max(a[1] + len(a[2]) for a in alleles)
    pile = mpileup(bam, fasta, f"{alleles[0][0]}:{first}-{last}", 13)     # one run for all sites
    kinds = set()
    for chrom, pos, ref, alt in alleles:
        res = recount(bam, fasta, chrom, pos, ref, alt, min_bq=13)
        if res.kind in ("mnv", "complex"):
            continue
        kinds.add(res.kind)
        got = np.array([[res.ref_fwd, res.ref_rev], [res.alt_fwd, res.alt_rev], [res.other_fwd, res.other_rev]])
        np.testing.assert_array_equal(got, _mpileup_recount(pile, pos, ref.upper(), alt.upper()),
                                      err_msg=f"{chrom}:{pos} {ref}>{alt}")
    assert {"snv", "insertion", "deletion"} <= kinds


def test_recount_known_sites(mito, na12878):
    # MT:309 C>CCT (insertion) and MT:3106 CN>C (deletion over rCRS N) from the derived calls.
    ins = recount(mito["bam"], mito["fasta"], "chrM", 309, "C", "CCT")
    assert ins.kind == "insertion" and ins.alt_count > 0
    dele = recount(mito["bam"], mito["fasta"], "MT", 3106, "CN", "C")
    assert dele.kind == "deletion" and dele.alt_count > 0
    # The same insertion through CRAM and BAM, and with the GRCh37 contig name.
    a = recount(na12878["bam"], na12878["fasta"], "20", 10_001_436, "A", "AAGGCT")
    b = recount(na12878["cram"], na12878["fasta"], "chr20", 10_001_436, "A", "AAGGCT")
    assert a.as_dict() | {"contig": None} == b.as_dict() | {"contig": None}
    assert a.alt_fwd > 0 and a.alt_rev > 0 and 0.3 < a.vaf < 1.0


def test_recount_mnv_agrees_with_read_by_read_count(na12878):
    # Two SNVs 1 bp apart would be an MNV; build one from a real SNV and the next base.
    chrom, pos, ref, alt = next((c, p, r, a) for c, p, r, a in _alleles(na12878["calls"]) if len(r) == len(a) == 1)
    fa = pysam.FastaFile(str(na12878["fasta"]))
    nxt = fa.fetch(chrom, pos, pos + 1).upper()
    other = "A" if nxt != "A" else "C"
    snv = recount(na12878["bam"], na12878["fasta"], chrom, pos, ref, alt)
    same = recount(na12878["bam"], na12878["fasta"], chrom, pos, ref + nxt, alt + nxt)   # trims to the SNV
    assert same.kind == "snv" and same.as_dict() | {"ref": 0, "alt": 0} == snv.as_dict() | {"ref": 0, "alt": 0}
    mnv = recount(na12878["bam"], na12878["fasta"], chrom, pos, ref + nxt, alt + other, min_bq=13)
    assert mnv.kind == "mnv"
    expect = np.zeros((3, 2), dtype=int)
    with pysam.AlignmentFile(str(na12878["bam"])) as af:
        for r in af.fetch(chrom, pos - 1, pos + 1):
            if r.flag & DEFAULT_EXCLUDE_FLAGS or r.reference_start > pos - 1 or r.reference_end < pos + 1:
                continue
            pairs = r.get_aligned_pairs()
            ref_to_query = {rp: qp for qp, rp in pairs if rp is not None}
            q1, q2 = ref_to_query.get(pos - 1), ref_to_query.get(pos)
            # The read's bases over the two reference positions (deleted ones drop
            # out, bases inserted between them count).
            used = [q for q in (q1, q2) if q is not None]
            if not used:
                continue
            if q1 is not None and q2 is not None:
                used += [qp for qp, rp in pairs if rp is None and qp is not None and q1 < qp < q2]
            used.sort()
            seq = "".join(r.query_sequence[q] for q in used)
            quals = [r.query_qualities[q] for q in used]
            if min(quals) < 13:
                continue
            cls = 0 if seq == ref + nxt else 1 if seq == alt + other else 2
            expect[cls, int(r.is_reverse)] += 1
    got = np.array([[mnv.ref_fwd, mnv.ref_rev], [mnv.alt_fwd, mnv.alt_rev], [mnv.other_fwd, mnv.other_rev]])
    np.testing.assert_array_equal(got, expect)


def test_recount_bad_input(na12878, trio):
    with pytest.raises(InputError, match="does not match the reference"):
        recount(na12878["bam"], na12878["fasta"], "chr20", 10_001_436, "G", "T")
    with pytest.raises(InputError, match="symbolic"):
        recount(na12878["bam"], na12878["fasta"], "chr20", 10_001_436, "A", "<DEL>")
    with pytest.raises(InputError, match="same"):
        recount(na12878["bam"], na12878["fasta"], "chr20", 10_001_436, "A", "A")
    with pytest.raises(InputError, match="'chr21' is not in"):
        recount(trio["bams"][0], trio["fasta"], "chr21", 10_001_436, "A", "G")


def test_no_qt_is_imported(tmp_path):
    code = ("import sys, raredesk.io.bam, raredesk.io.coverage, raredesk.io.fasta, raredesk.io.bed, "
            "raredesk.io.reads_commands; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'PyQt5', 'PyQt6', 'pyqtgraph')]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=str(tmp_path),
                   env={**os.environ, "PYTHONPATH": str(__import__("pathlib").Path(__file__).resolve().parents[3])})

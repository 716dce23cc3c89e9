"""Depth over regions and BED coverage QC (raredesk.io.coverage), checked against samtools depth."""

from __future__ import annotations

import shutil
import subprocess
import threading

import numpy as np
import pytest

from raredesk.errors import Cancelled, InputError
from raredesk.io import coverage as cov_mod
from raredesk.io.bam import AlignmentReader
from raredesk.io.bed import read_bed
from raredesk.io.coverage import bed_coverage, region_depth

SAMTOOLS = shutil.which("samtools")
pytestmark = pytest.mark.skipif(SAMTOOLS is None, reason="samtools not on PATH")


@pytest.fixture(scope="module")
def d(data_dir):
    dv, dt = data_dir / "deepvariant", data_dir / "deeptrio"
    return {"bam": dv / "NA12878_S1.chr20.10_10p1mb.bam", "cram": dv / "NA12878_S1.chr20.10_10p1mb.cram",
            "hg19": dv / "ucsc.hg19.chr20.unittest.fasta.gz", "bed": dv / "test_nist.b37_chr20_100kbp_at_10mb.bed",
            "trio": [dt / f"{s}.chr20.10_10p1mb_sorted.bam" for s in ("HG001", "NA12891", "NA12892")],
            "b37": dt / "hs37d5.chr20.fa.gz", "trio_bed": dt / "test_giab.b37_chr20_100kbp_at_10mb.bed",
            "hg002": dv / "HG002_NIST_150bp_downsampled_30x.chr20.10_10p1mb.bam",
            "mt": data_dir / "scout" / "reduced_mt.bam",
            "hifi": data_dir / "igvjs" / "HG002_chr11_119076212_119102218_2.bam"}


def samtools_depth(bam, *args) -> tuple[list[str], np.ndarray, np.ndarray]:
    out = subprocess.run([SAMTOOLS, "depth", "-a", *map(str, args), str(bam)], capture_output=True, text=True,
                         check=True).stdout
    rows = [line.split("\t") for line in out.splitlines()]
    return ([r[0] for r in rows], np.array([int(r[1]) for r in rows], dtype=np.int64),
            np.array([int(r[2]) for r in rows], dtype=np.int64))


# -- region depth -------------------------------------------------------------------------

@pytest.mark.parametrize("threads", [1, 3])
def test_region_depth_matches_samtools_on_real_bams(d, threads):
    cases = [(d["bam"], "chr20", 9_990_000, 10_110_000), (d["trio"][0], "chr20", 9_995_000, 10_015_000),
             (d["hg002"], "20", 10_000_000, 10_100_000), (d["mt"], "chrM", 0, 16_569),
             (d["hifi"], "chr11", 119_000_000, 119_200_000)]
    for bam, contig, start, end in cases:
        track = region_depth(bam, contig, start, end, threads=threads)
        with AlignmentReader(bam) as r:
            name = r.resolve(contig)
        _, pos, depth = samtools_depth(bam, "-r", f"{name}:{start + 1}-{end}")
        assert track.contig == name and track.start == start and track.end == end
        np.testing.assert_array_equal(track.pos, pos)
        np.testing.assert_array_equal(track.depth, depth)


@pytest.mark.parametrize("opts, args", [({"min_mapq": 20}, ["-Q", "20"]), ({"min_bq": 25}, ["-q", "25"]),
                                        ({"count_deletions": True}, ["-J"]),
                                        ({"exclude_flags": 0x4}, ["-g", "0x700"])])
def test_region_depth_filters_match_samtools(d, opts, args):
    track = region_depth(d["bam"], "20", 10_000_000, 10_100_000, **opts)
    _, _, depth = samtools_depth(d["bam"], "-r", "chr20:10000001-10100000", *args)
    np.testing.assert_array_equal(track.depth, depth)


def test_region_depth_cram_same_as_bam(d):
    a = region_depth(d["cram"], "chr20", 10_000_000, 10_100_000, reference=d["hg19"], threads=2)
    b = region_depth(d["bam"], "chr20", 10_000_000, 10_100_000, threads=2)
    np.testing.assert_array_equal(a.depth, b.depth)
    _, _, depth = samtools_depth(d["cram"], "--reference", d["hg19"], "-r", "chr20:10000001-10100000")
    np.testing.assert_array_equal(a.depth, depth)
    assert a.mean == pytest.approx(float(depth.mean()))


def test_direct_engine_and_pysam_path_agree(d, tmp_path):
    # The BGZF/numpy engine (BAM + BAI) and the pysam path must give the same array...
    with AlignmentReader(d["bam"]) as r:
        tid = r.tid("chr20")
        via_pysam = r.depth("chr20", 9_999_000, 10_101_000)
        direct = cov_mod._bam_depth_direct(r.path, r.index_path, tid, 9_999_000, 10_101_000, 0, 0x704, False)
    np.testing.assert_array_equal(direct, via_pysam)
    # ...including a region beyond the last read and a tiny one inside a 16 kb window.
    with AlignmentReader(d["bam"]) as r:
        assert not cov_mod._bam_depth_direct(r.path, r.index_path, tid, 30_000_000, 30_000_100, 0, 0x704, False).any()
        np.testing.assert_array_equal(
            cov_mod._bam_depth_direct(r.path, r.index_path, tid, 10_050_007, 10_050_011, 0, 0x704, False),
            r.depth("chr20", 10_050_007, 10_050_011))
    # A CSI index is read through pysam (fallback) with the same result.
    bam = tmp_path / "csi.bam"
    shutil.copy(d["bam"], bam)
    subprocess.run([SAMTOOLS, "index", "-c", str(bam)], check=True)
    track = region_depth(bam, "chr20", 10_000_000, 10_100_000)
    np.testing.assert_array_equal(track.depth, via_pysam[1_000:101_000])


def test_direct_engine_without_libdeflate(d, monkeypatch):
    monkeypatch.setattr(cov_mod, "_LIBDEFLATE", None)
    monkeypatch.setattr(cov_mod, "_THREAD", threading.local())     # forget per-thread inflaters
    track = region_depth(d["bam"], "chr20", 10_000_000, 10_100_000, threads=1)
    _, _, depth = samtools_depth(d["bam"], "-r", "chr20:10000001-10100000")
    np.testing.assert_array_equal(track.depth, depth)


def test_direct_engine_carries_blocks_and_records_across_chunks(d, monkeypatch):
    # Chunks of ~70 kB end inside BGZF blocks; in the HiFi BAM records also span blocks (reads of
    # tens of kb), so chunks end inside records too: both carries are used.
    monkeypatch.setattr(cov_mod, "_READ_CHUNK", 70_001)
    for bam, contig, start, end in ((d["bam"], "chr20", 9_990_000, 10_110_000),
                                    (d["hifi"], "chr11", 119_000_000, 119_200_000)):
        with AlignmentReader(bam) as r:       # the engine itself: region_depth would hide a fallback
            direct = cov_mod._bam_depth_direct(r.path, r.index_path, r.tid(contig), start, end, 0, 0x704, False)
        _, _, depth = samtools_depth(bam, "-r", f"{contig}:{start + 1}-{end}")
        np.testing.assert_array_equal(direct, depth)


def _inflated(bam) -> np.ndarray:
    with open(bam, "rb") as fh:
        comp = np.frombuffer(fh.read(1 << 20), dtype=np.uint8)
    data, _ = cov_mod._Inflater().inflate(comp, str(bam))
    (l_text,) = np.frombuffer(data[4:8].tobytes(), "<i4")
    o = 8 + int(l_text)
    (n_ref,) = np.frombuffer(data[o:o + 4].tobytes(), "<i4")
    o += 4
    for _ in range(int(n_ref)):
        (l_name,) = np.frombuffer(data[o:o + 4].tobytes(), "<i4")
        o += 4 + int(l_name) + 4
    return data[o:].copy()          # the first record onwards


def test_walk_finds_record_chain_and_rejects_damage(d):
    buf = _inflated(d["trio"][0])
    # Independent walk: block_size by block_size.
    want, o = [], 0
    while o + 4 <= buf.size:
        bs = int(np.frombuffer(buf[o:o + 4].tobytes(), "<i4")[0])
        if o + 4 + bs > buf.size:
            break
        want.append(o)
        o += 4 + bs
    tid = int(np.frombuffer(buf[4:8].tobytes(), "<i4")[0])
    offs, tail, beyond = cov_mod._walk(buf, tid, 1 << 30)
    assert not beyond and offs.tolist() == want and tail == o
    # A buffer cut inside a record: the complete records, and the cut one left for the next chunk.
    cut = want[500] + 17
    offs, tail, _ = cov_mod._walk(buf[:cut], tid, 1 << 30)
    assert offs.tolist() == want[:500] and tail == want[500]
    # Leaving the region stops the walk early (the caller trims the exact end).
    core = cov_mod._cores(buf, np.array(want))
    end = int(core["pos"][300])
    offs, _, beyond = cov_mod._walk(buf, tid, end)
    assert beyond and 300 <= offs.size < 300 + 300
    # A damaged block_size (too small, negative, huge) is not followed: htslib reports it instead.
    for bad in (8, -400, 1 << 30):
        dmg = buf.copy()
        dmg[want[50]:want[50] + 4] = np.frombuffer(np.int32(bad).tobytes(), np.uint8)
        if bad > buf.size:
            offs, tail, _ = cov_mod._walk(dmg, tid, 1 << 30)       # looks like a record running past the end
            assert offs.tolist() == want[:50] and tail == want[50]
        else:
            with pytest.raises(cov_mod._Fallback):
                cov_mod._walk(dmg, tid, 1 << 30)


def test_mt_spot_depths(d):
    track = region_depth(d["mt"], "MT", 0, 16_569)
    spots = {263: 56, 3243: 69, 3801: 38, 8344: 55, 8993: 63, 11778: 41, 14872: 66, 15326: 46, 16023: 70}
    assert {p: int(track.depth[p - 1]) for p in spots} == spots
    assert int((track.depth < 10).sum()) == 1


def test_region_depth_errors(d, tmp_path):
    with pytest.raises(InputError, match="'chr99' is not in this BAM"):
        region_depth(d["trio"][0], "chr99", 0, 100)
    with pytest.raises(InputError, match="empty or outside"):
        region_depth(d["mt"], "MT", 20_000, 20_100)
    with pytest.raises(InputError, match="reference"):
        region_depth(d["cram"], "chr20", 10_000_000, 10_001_000)


def test_progress_and_cancel(d):
    seen = []
    region_depth(d["bam"], "chr20", 9_500_000, 10_500_000, threads=2, progress=lambda *a: seen.append(a))
    assert seen and seen[-1][0] == seen[-1][1] == len(seen)
    stop = threading.Event()
    stop.set()
    with pytest.raises(Cancelled):
        region_depth(d["bam"], "chr20", 9_500_000, 10_500_000, threads=2, cancel=stop)
    with pytest.raises(Cancelled):
        bed_coverage(d["bam"], d["bed"], cancel=stop)


# -- BED QC ----------------------------------------------------------------------------------

def _expected_target_stats(bam, bed_path, thresholds, extra=()):
    """Per-target numbers from `samtools depth -a -b` (computed here, independently)."""
    bed = read_bed(bed_path)
    chrom, pos, depth = samtools_depth(bam, "-b", bed_path, *extra)
    lookup = {(c, p): v for c, p, v in zip(chrom, pos.tolist(), depth.tolist())}
    out = []
    for c, s, e in zip(bed.chrom, bed.start.tolist(), bed.end.tolist()):
        vals = np.array([lookup[(c, p)] for p in range(s + 1, e + 1)])
        out.append({"mean": vals.mean(), "min": vals.min(),
                    **{t: 100.0 * (vals >= t).mean() for t in thresholds}, "vals": vals, "start": s})
    return out


def test_bed_coverage_matches_samtools_depth(d):
    cov = bed_coverage(d["bam"], d["bed"], thresholds=(10, 20, 30, 50), low_threshold=40)
    expect = _expected_target_stats(d["bam"], d["bed"], (10, 20, 30, 50))
    t = cov.targets
    assert len(t) == len(expect) == len(read_bed(d["bed"]))
    np.testing.assert_allclose(t["mean_depth"], [e["mean"] for e in expect])
    np.testing.assert_array_equal(t["min_depth"], [e["min"] for e in expect])
    for thr in (10, 20, 30, 50):
        np.testing.assert_allclose(t[f"pct_ge_{thr}"], [e[thr] for e in expect])
    # Low-coverage runs (< 40x) found independently.
    runs = []
    for e in expect:
        low = np.append(e["vals"] < 40, False)
        i = 0
        while i < low.size - 1:
            if low[i]:
                j = i
                while low[j]:
                    j += 1
                runs.append((e["start"] + i, e["start"] + j, float(e["vals"][i:j].mean())))
                i = j
            i += 1
    got = list(zip(cov.low_coverage["start"], cov.low_coverage["end"], cov.low_coverage["mean_depth"]))
    assert [(s, e) for s, e, _ in got] == [(s, e) for s, e, _ in runs] and len(runs) > 5
    np.testing.assert_allclose([m for *_, m in got], [m for *_, m in runs])
    all_vals = np.concatenate([e["vals"] for e in expect])
    assert cov.summary["bases"] == all_vals.size
    assert cov.summary["mean_depth"] == pytest.approx(all_vals.mean())
    assert cov.genes is None


def test_bed_coverage_per_gene_with_overlapping_targets(d, tmp_path):
    # A panel-style BED: named targets, two of them overlapping inside GENE_A,
    # chr-prefixed names on a BAM that says "20".
    bed = tmp_path / "panel.bed"
    bed.write_text("track name=panel\n"
                   "chr20\t10000100\t10000400\tGENE_A\n"
                   "chr20\t10000300\t10000600\tGENE_A\n"
                   "chr20\t10003000\t10003200\tGENE_B\n"
                   "chr20\t10005000\t10005050\tGENE_A\n"
                   "chr20\t10008000\t10008500\tGENE_C\n")
    bam = d["trio"][1]
    cov = bed_coverage(bam, bed, thresholds=(10, 20), gene_threshold=25, threads=2)
    chrom, pos, depth = samtools_depth(bam, "-r", "20:10000001-10010000")
    at = dict(zip(pos.tolist(), depth.tolist()))
    union = {"GENE_A": set(range(10000101, 10000601)) | set(range(10005001, 10005051)),
             "GENE_B": set(range(10003001, 10003201)), "GENE_C": set(range(10008001, 10008501))}
    genes = cov.genes.set_index("name")
    assert list(cov.genes["name"]) == ["GENE_A", "GENE_B", "GENE_C"]
    for g, bases in union.items():
        vals = np.array([at[p] for p in sorted(bases)])
        assert genes.loc[g, "bases"] == len(bases)
        assert genes.loc[g, "pct_ge_25"] == pytest.approx(100.0 * (vals >= 25).mean())
        assert genes.loc[g, "mean_depth"] == pytest.approx(vals.mean())
    assert genes.loc["GENE_A", "targets"] == 3
    assert list(cov.targets["name"]) == ["GENE_A", "GENE_A", "GENE_B", "GENE_A", "GENE_C"]
    # Overlapping targets: the summary counts each base once.
    assert cov.summary["bases"] == sum(len(b) for b in union.values())
    assert set(cov.targets.columns) >= {"pct_ge_10", "pct_ge_20"} and "pct_ge_25" not in cov.targets.columns


def test_bed_coverage_cram_and_trio_bed(d):
    a = bed_coverage(d["cram"], d["bed"], reference=d["hg19"])
    b = bed_coverage(d["bam"], d["bed"])
    np.testing.assert_allclose(a.targets["mean_depth"], b.targets["mean_depth"])
    trio = bed_coverage(d["trio"][0], d["trio_bed"], thresholds=(5, 15))
    expect = _expected_target_stats(d["trio"][0], d["trio_bed"], (5, 15))
    np.testing.assert_allclose(trio.targets["pct_ge_15"], [e[15] for e in expect])


def test_bed_coverage_errors(d, tmp_path):
    bed = tmp_path / "other.bed"
    bed.write_text("chr20\t10000100\t10000400\nchr99\t100\t200\n")
    with pytest.raises(InputError, match="chr99 is not in") as err:
        bed_coverage(d["trio"][0], bed)
    assert err.value.path == str(bed)
    far = tmp_path / "far.bed"
    far.write_text("MT\t16000\t17000\n")
    with pytest.raises(InputError, match="past the end"):
        bed_coverage(d["mt"], far)
    bad = tmp_path / "bad.bed"
    bad.write_text("chr20\t10\tx\n")
    with pytest.raises(InputError, match="line 1"):
        bed_coverage(d["bam"], bad)

"""Benchmark the read-evidence core against samtools and mosdepth.

Run from the repository root::

    python benchmarks/bench_reads.py [--repeats 5] [--threads N]

It prints each RareDesk figure beside the reference tool's and their ratio
(RareDesk time / tool time; below 2.0 meets the target):

(a) reads + coverage data for a 1 kb window, 3 samples (CEPH trio BAMs),
    compared with ``samtools mpileup`` over the same window and BAMs;
(b) depth over 1 Mb at ~30x and ~100x, compared with ``samtools depth -a -r``;
(c) BED coverage QC, compared with ``mosdepth --by BED --thresholds``.

The real test BAMs cover only 100 kb, so (b) and (c) use BAMs simulated here
from the real hg19 chr20 sequence with a seeded generator (150 bp pairs,
binned base qualities, sequencing errors, small indels, soft clips, some
duplicates and MAPQ 0 reads). They are written with pysam, sorted and indexed
into ``benchmarks/out/`` (gitignored) and reused while the generator
parameters are unchanged.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pysam

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from raredesk.io.bam import AlignmentReader, fetch_pileup  # noqa: E402
from raredesk.io.coverage import bed_coverage, default_threads, region_depth  # noqa: E402

OUT = REPO / "benchmarks" / "out"
DATA = Path(os.environ.get("RAREDESK_TEST_DATA", REPO.parent / "shared" / "data")).resolve()
HG19 = DATA / "deepvariant" / "ucsc.hg19.chr20.unittest.fasta.gz"
B37 = DATA / "deeptrio" / "hs37d5.chr20.fa.gz"
TRIO = [DATA / "deeptrio" / f"{s}.chr20.10_10p1mb_sorted.bam" for s in ("HG001", "NA12891", "NA12892")]

CONTIG = "chr20"
REGION_START = 10_000_000       # 0-based; hg19 chr20 has real sequence over 9,995,001-11,095,000
REGION_LEN = 1_000_000
READ_LEN = 150
GENERATOR_VERSION = 2


# --------------------------------------------------------------------------
# Simulated data
# --------------------------------------------------------------------------

def simulate_bam(out: Path, depth: int, seed: int) -> Path:
    """Write a sorted, indexed paired-end BAM over the 1 Mb region at ``depth``."""
    params = {"version": GENERATOR_VERSION, "depth": depth, "seed": seed, "start": REGION_START,
              "length": REGION_LEN, "read_len": READ_LEN, "fasta": str(HG19)}
    stamp = out.with_suffix(".params.json")
    if out.exists() and Path(str(out) + ".bai").exists() and stamp.exists() \
            and json.loads(stamp.read_text()) == params:
        return out
    rng = np.random.default_rng(seed)
    pad = 2_000
    with pysam.FastaFile(str(HG19)) as fa:
        chr_len = fa.get_reference_length(CONTIG)
        ref = fa.fetch(CONTIG, REGION_START - pad, REGION_START + REGION_LEN + pad).upper()
    refb = np.frombuffer(ref.encode("ascii"), dtype=np.uint8)
    n_pairs = int(depth * REGION_LEN / (2 * READ_LEN))
    frag = np.clip(rng.normal(350, 60, n_pairs), READ_LEN + 10, 700).astype(np.int64)
    fstart = np.sort(rng.integers(REGION_START, REGION_START + REGION_LEN - 700, n_pairs))
    qvals = np.array([2, 12, 23, 37], dtype=np.uint8)
    quals = qvals[rng.choice(4, size=(2 * n_pairs, READ_LEN), p=[0.02, 0.05, 0.13, 0.80])]
    bases = np.frombuffer(b"ACGT", dtype=np.uint8)
    header = {"HD": {"VN": "1.6", "SO": "unsorted"}, "SQ": [{"SN": CONTIG, "LN": chr_len}],
              "RG": [{"ID": "sim", "SM": f"SIM{depth}x", "PL": "ILLUMINA"}],
              "PG": [{"ID": "bench_reads", "PN": "raredesk-bench", "VN": str(GENERATOR_VERSION)}]}
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".unsorted.bam")
    kind = rng.random(2 * n_pairs)          # indel / clip / plain, per read
    dup = rng.random(n_pairs) < 0.01
    mq0 = rng.random(n_pairs) < 0.005
    with pysam.AlignmentFile(str(tmp), "wb", header=header) as w:
        for i in range(n_pairs):
            fs, fl = int(fstart[i]), int(frag[i])
            for mate in (0, 1):
                k = 2 * i + mate
                rev = mate == 1
                ps = fs if mate == 0 else fs + fl - READ_LEN
                off = ps - (REGION_START - pad)
                q = quals[k]
                seq = refb[off:off + READ_LEN].copy()
                cigar = [(0, READ_LEN)]
                if kind[k] < 0.02:          # deletion of 1-3 bp after base 40-110
                    at, dl = int(rng.integers(40, 110)), int(rng.integers(1, 4))
                    seq = np.concatenate([refb[off:off + at], refb[off + at + dl:off + READ_LEN + dl]])
                    cigar = [(0, at), (2, dl), (0, READ_LEN - at)]
                elif kind[k] < 0.04:        # insertion of 1-3 bp
                    at, il = int(rng.integers(40, 110)), int(rng.integers(1, 4))
                    ins = bases[rng.integers(0, 4, il)]
                    seq = np.concatenate([refb[off:off + at], ins, refb[off + at:off + READ_LEN - il]])
                    cigar = [(0, at), (1, il), (0, READ_LEN - at - il)]
                elif kind[k] < 0.07:        # soft clip of 5-30 bp at one end
                    cl = int(rng.integers(5, 31))
                    seq[:cl] = bases[rng.integers(0, 4, cl)]
                    cigar = [(4, cl), (0, READ_LEN - cl)]
                err = rng.random(READ_LEN) < np.where(q < 20, 0.05, 0.001)
                seq[err] = bases[rng.integers(0, 4, int(err.sum()))]
                a = pysam.AlignedSegment()
                a.query_name = f"SIM:{depth}:H5KXX:1:{1101 + i % 24}:{i % 32000}:{i // 5}"
                a.query_sequence = seq.tobytes().decode("ascii")
                a.flag = (0x1 | 0x2 | (0x10 if rev else 0x20) | (0x40 if mate == 0 else 0x80)
                          | (0x400 if dup[i] else 0))
                a.reference_id = 0
                a.reference_start = ps + (cigar[0][1] if cigar[0][0] == 4 else 0)
                a.mapping_quality = 0 if mq0[i] else 60
                a.cigartuples = cigar
                a.next_reference_id = 0
                a.next_reference_start = fs + fl - READ_LEN if mate == 0 else fs
                a.template_length = fl if mate == 0 else -fl
                a.query_qualities = q
                a.set_tags([("NM", int(err.sum())), ("RG", "sim")])
                w.write(a)
    pysam.sort("-o", str(out), str(tmp))
    tmp.unlink()
    pysam.index(str(out))
    stamp.write_text(json.dumps(params))
    return out


def make_beds() -> dict[str, Path]:
    """A gene-panel BED (exon-like targets in named genes) and a dense 1 kb tiling."""
    rng = np.random.default_rng(7)
    OUT.mkdir(parents=True, exist_ok=True)
    panel = OUT / "panel_targets.bed"
    lines = []
    gene_starts = np.sort(rng.choice(np.arange(REGION_START + 5_000, REGION_START + REGION_LEN - 30_000, 1_000),
                                     40, replace=False))
    for g, gs in enumerate(gene_starts):
        pos = int(gs)
        for _ in range(int(rng.integers(5, 16))):
            ln = int(rng.integers(80, 400))
            lines.append(f"{CONTIG}\t{pos}\t{pos + ln}\tGENE{g + 1:02d}\n")
            pos += ln + int(rng.integers(200, 2_000))
    lines.sort(key=lambda x: int(x.split("\t")[1]))
    panel.write_text("".join(lines))
    tiles = OUT / "tiles_1kb.bed"
    tiles.write_text("".join(f"{CONTIG}\t{s}\t{s + 1000}\tTILE{i}\n"
                             for i, s in enumerate(range(REGION_START, REGION_START + REGION_LEN, 1000))))
    return {"panel": panel, "tiles": tiles}


# --------------------------------------------------------------------------
# Timing helpers
# --------------------------------------------------------------------------

def best_of(fn, repeats: int) -> float:
    fn()  # warm the page cache and imports
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def run_quiet(cmd: list[str], env: dict | None = None) -> None:
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True, env=env)


def mosdepth_env() -> dict | None:
    """Environment in which mosdepth starts, or None when it cannot run.

    Debian's mosdepth dlopens ``libhts.so``; without the -dev package only
    ``libhts.so.3`` exists, so a private symlink in benchmarks/out/lib is used.
    """
    exe = shutil.which("mosdepth")
    if exe is None:
        return None
    env = dict(os.environ)
    if subprocess.run([exe, "--version"], capture_output=True, env=env).returncode == 0:
        return env
    for cand in ("/usr/lib/x86_64-linux-gnu/libhts.so.3", "/usr/lib/libhts.so.3"):
        if os.path.exists(cand):
            lib = OUT / "lib"
            lib.mkdir(parents=True, exist_ok=True)
            link = lib / "libhts.so"
            if not link.exists():
                link.symlink_to(cand)
            env["LD_LIBRARY_PATH"] = f"{lib}:{env.get('LD_LIBRARY_PATH', '')}"
            if subprocess.run([exe, "--version"], capture_output=True, env=env).returncode == 0:
                return env
    return None


def row(label: str, ours: float, theirs: float, tool: str) -> None:
    print(f"  {label:<34} raredesk {ours * 1000:8.1f} ms   {tool:<26} {theirs * 1000:8.1f} ms   "
          f"ratio {ours / theirs:5.2f}")


# --------------------------------------------------------------------------
# Benchmarks
# --------------------------------------------------------------------------

def bench_window(repeats: int) -> None:
    print("(a) reads + coverage, 1 kb window, CEPH trio (3 BAMs), data time only")
    start, end = 10_005_000, 10_006_000

    def ours():
        for bam in TRIO:
            fetch_pileup(bam, "chr20", start, end, reference=B37)

    def theirs():
        run_quiet(["samtools", "mpileup", "-B", "-f", str(B37), "-r", f"20:{start + 1}-{end}",
                   *map(str, TRIO)])

    t_ours, t_theirs = best_of(ours, repeats), best_of(theirs, repeats)
    row("3 x fetch_pileup (reads+counts)", t_ours, t_theirs, "samtools mpileup (3 BAMs)")
    p = fetch_pileup(TRIO[0], "chr20", start, end, reference=B37)
    print(f"     child window: {len(p.reads)} reads, {len(p.reads.mismatches.start)} mismatches, "
          f"mean depth {p.coverage.depth.mean():.1f}x; samtools time includes process start")


def bench_depth(bams: dict[int, Path], repeats: int, threads: int) -> None:
    print(f"(b) depth over 1 Mb ({threads} worker threads) vs samtools depth -a -r")
    region = f"{CONTIG}:{REGION_START + 1}-{REGION_START + REGION_LEN}"
    for depth, bam in bams.items():
        track = region_depth(bam, CONTIG, REGION_START, REGION_START + REGION_LEN, threads=threads)
        out = subprocess.run(["samtools", "depth", "-a", "-r", region, str(bam)], capture_output=True,
                             text=True, check=True).stdout
        ref_depth = np.fromiter((int(x.rsplit("\t", 1)[1]) for x in out.splitlines()), dtype=np.int64)
        same = ref_depth.size == track.depth.size and bool(np.array_equal(ref_depth, track.depth))
        t_ours = best_of(lambda: region_depth(bam, CONTIG, REGION_START, REGION_START + REGION_LEN,
                                              threads=threads), repeats)
        t_sam = best_of(lambda: run_quiet(["samtools", "depth", "-a", "-r", region, str(bam)]), repeats)
        t_sam2 = best_of(lambda: run_quiet(["samtools", "depth", "-@", str(max(1, threads - 1)), "-a", "-r",
                                            region, str(bam)]), repeats)
        ref_t, ref_name = min((t_sam, "samtools depth -a -r"), (t_sam2, f"samtools depth -@{max(1, threads - 1)}"))
        row(f"~{depth}x (mean {track.mean:.1f}x)", t_ours, ref_t, ref_name)

        def via_pysam():
            with AlignmentReader(bam) as r:
                return r.depth(CONTIG, REGION_START, REGION_START + REGION_LEN)

        row("  same, pysam path (1 thread)", best_of(via_pysam, repeats), ref_t, ref_name)
        print(f"     identical to samtools depth: {same}")


def bench_bed(bams: dict[int, Path], beds: dict[str, Path], repeats: int, threads: int) -> None:
    env = mosdepth_env()
    print(f"(c) BED coverage QC ({threads} worker threads) vs mosdepth --by BED --thresholds 10,20,30 -n")
    if env is None:
        print("     mosdepth cannot run here; skipped")
        return
    for depth, bam in bams.items():
        for label, bed in beds.items():
            prefix = OUT / f"mosdepth_{depth}x_{label}"
            cov = bed_coverage(bam, bed, threads=threads)

            def md(fast: bool, t: int):
                run_quiet(["mosdepth", "-n", *(["-x"] if fast else []), "-t", str(t), "--by", str(bed),
                           "--thresholds", "10,20,30", str(prefix), str(bam)], env=env)

            t_ours = best_of(lambda: bed_coverage(bam, bed, threads=threads), repeats)
            t_md = best_of(lambda: md(False, 0), repeats)
            t_md_fast = best_of(lambda: md(True, 0), repeats)
            t_md_thr = best_of(lambda: md(True, max(1, threads - 1)), repeats)
            ref_t, name = min((t_md, "mosdepth"), (t_md_fast, "mosdepth -x"),
                              (t_md_thr, f"mosdepth -x -t{max(1, threads - 1)}"))
            row(f"~{depth}x, {label} ({len(cov.targets)} targets)", t_ours, ref_t, name)
            md(True, 0)
            with gzip.open(str(prefix) + ".regions.bed.gz", "rt") as fh:
                md_mean = np.array([float(x.split("\t")[-1]) for x in fh])
            diff = np.abs(md_mean - cov.targets["mean_depth"].to_numpy())
            print(f"     per-target mean depth vs mosdepth -x: max |diff| {diff.max():.3f} "
                  "(mosdepth -x also counts deleted bases as covered)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=default_threads())
    args = ap.parse_args()
    if not HG19.exists():
        print(f"test data not found at {DATA} (set RAREDESK_TEST_DATA)", file=sys.stderr)
        return 2
    for tool in ("samtools",):
        if shutil.which(tool) is None:
            print(f"{tool} not on PATH", file=sys.stderr)
            return 2
    sam_version = subprocess.run(["samtools", "--version"], capture_output=True).stdout.split()[1].decode()
    print(f"CPUs: {os.cpu_count()}; pysam {pysam.__version__}, samtools {sam_version}")
    t = time.perf_counter()
    bams = {30: simulate_bam(OUT / "sim_1mb_30x.bam", 30, seed=30),
            100: simulate_bam(OUT / "sim_1mb_100x.bam", 100, seed=100)}
    beds = make_beds()
    print(f"simulated data ready in {time.perf_counter() - t:.1f} s ({OUT})\n")
    bench_window(args.repeats)
    bench_depth(bams, args.repeats, args.threads)
    bench_bed(bams, beds, args.repeats, args.threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())

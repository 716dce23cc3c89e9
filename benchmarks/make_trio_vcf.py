#!/usr/bin/env python3
"""Make a large, realistic trio VCF for import benchmarks from real annotated records.

The 680 records of Scout's demo trio ``643594.clinical.vcf.gz`` (VEP CSQ,
SnpEff ANN, GATK/freebayes/samtools INFO, GT:AD:DP:GQ:PL-style trio genotypes)
are read in place, never copied into the repository, and tiled over GRCh37:

* record ``i`` of the output is source record ``i % 680`` (one "tile" is one pass
  over the source); CHROM/POS are new, everything else (ID, REF, ALT, QUAL,
  FILTER, INFO, FORMAT) is the source's;
* records go to contigs 1..22, X, Y, MT in proportion to their GRCh37 lengths and
  are spread evenly along each contig with a seeded jitter, so positions are
  strictly increasing per contig (the reference sequence is not consulted, REF
  alleles do not match GRCh37 at the new positions);
* genotypes are lightly shuffled with the seed: per tile the three sample columns
  get the data of a permutation of the trio members, and per record each sample
  has a 2 % chance of a 0/1 <-> 1/1 switch (PL/PP/GL entries and a biallelic AD
  are adjusted to match; INFO AC/AF and the other FORMAT fields are left as in
  the source);
* the header is the source's, except the ``##contig`` lines (exactly 1..22, X, Y,
  MT with GRCh37 lengths) and one added ``##raredesk_make_trio_vcf`` line.

Output is streamed through ``bgzip -@THREADS`` (or pysam's BGZF writer when bgzip
is not on PATH) and tabix-indexed, in bounded memory.

Usage::

    python benchmarks/make_trio_vcf.py --records 100000 --seed 1
    python benchmarks/make_trio_vcf.py --records 5000000 --seed 1 --out benchmarks/out/trio_5M.vcf.gz
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pysam

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT_DIR = REPO / "benchmarks" / "out"
SOURCE_REL = Path("scout") / "643594.clinical.vcf.gz"

GRCH37 = (("1", 249250621), ("2", 243199373), ("3", 198022430), ("4", 191154276),
          ("5", 180915260), ("6", 171115067), ("7", 159138663), ("8", 146364022),
          ("9", 141213431), ("10", 135534747), ("11", 135006516), ("12", 133851895),
          ("13", 115169878), ("14", 107349540), ("15", 102531392), ("16", 90354753),
          ("17", 81195210), ("18", 78077248), ("19", 59128983), ("20", 63025520),
          ("21", 48129895), ("22", 51304566), ("X", 155270560), ("Y", 59373566),
          ("MT", 16569))

SWITCH_P = 0.02       # per sample and record: chance of a 0/1 <-> 1/1 switch
CHUNK = 4_000         # records per write (bounded memory: a few tens of MB)
PERMS = tuple(itertools.permutations(range(3)))


def default_source() -> Path:
    data = Path(os.environ.get("RAREDESK_TEST_DATA", REPO.parent / "shared" / "data"))
    return data / SOURCE_REL


def _switch_sample(fmt: list[str], sample: str) -> str | None:
    """The sample column with GT 0/1 <-> 1/1 switched, or None if not switchable."""
    vals = sample.split(":")
    gt = vals[0]
    if gt not in ("0/1", "1/1"):
        return None
    vals[0] = "1/1" if gt == "0/1" else "0/1"
    for key, i in zip(fmt, range(len(vals))):
        if key in ("PL", "PP", "GL"):
            items = vals[i].split(",")
            if len(items) == 3:          # genotype order 0/0, 0/1, 1/1
                items[1], items[2] = items[2], items[1]
                vals[i] = ",".join(items)
        elif key == "AD":
            items = vals[i].split(",")
            if len(items) == 2 and all(x.isdigit() for x in items):
                n = int(items[0]) + int(items[1])
                vals[i] = f"0,{n}" if gt == "0/1" else f"{n // 2},{n - n // 2}"
    return ":".join(vals)


def read_source(path: Path):
    """Header lines (without ##contig and #CHROM), the #CHROM line and parsed records.

    Each record is (mid, samples, ref_len): ``mid`` is ``\\tID\\tREF\\t...\\tFORMAT`` as
    bytes, ``samples`` a list of 3 (original, switched-or-original) byte pairs."""
    meta, chrom_line, records = [], None, []
    contig_at = None
    with gzip.open(path, "rt", encoding="utf-8", newline="\n") as fh:
        for line in fh:
            line = line.rstrip("\n")
            if line.startswith("##"):
                if line.startswith("##contig="):
                    if contig_at is None:
                        contig_at = len(meta)
                    continue
                meta.append(line)
            elif line.startswith("#"):
                chrom_line = line
            elif line:
                cols = line.split("\t")
                fmt = cols[8].split(":")
                biallelic = "," not in cols[4]
                samples = []
                for s in cols[9:12]:
                    sw = _switch_sample(fmt, s) if biallelic else None
                    samples.append((s.encode(), (sw if sw is not None else s).encode()))
                records.append((("\t" + "\t".join(cols[2:9])).encode(), samples, len(cols[3])))
    if chrom_line is None or not records:
        raise SystemExit(f"error: {path}: no VCF records found")
    if len(chrom_line.split("\t")) != 12:
        raise SystemExit(f"error: {path}: expected a 3-sample VCF")
    return meta, contig_at if contig_at is not None else len(meta), chrom_line, records


def allocate(n: int) -> list[int]:
    """Records per contig, proportional to length (largest remainder; sums to n)."""
    total = sum(L for _, L in GRCH37)
    exact = [n * L / total for _, L in GRCH37]
    counts = [int(x) for x in exact]
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in order[:n - sum(counts)]:
        counts[i] += 1
    return counts


class _Sink:
    """bgzip -@threads on PATH, else pysam's BGZF writer."""

    def __init__(self, path: Path, threads: int):
        self.bgzip = shutil.which("bgzip")
        if self.bgzip:
            self._fh = open(path, "wb")
            self._proc = subprocess.Popen([self.bgzip, f"-@{threads}", "-c"], stdin=subprocess.PIPE,
                                          stdout=self._fh)
            self.write = self._proc.stdin.write
        else:
            self._bgzf = pysam.BGZFile(str(path), "wb")
            self.write = self._bgzf.write

    def close(self) -> None:
        if self.bgzip:
            self._proc.stdin.close()
            rc = self._proc.wait()
            self._fh.close()
            if rc:
                raise SystemExit(f"error: bgzip exited with status {rc}")
        else:
            self._bgzf.close()


def make_trio_vcf(source: Path, out: Path, n_records: int, seed: int, threads: int = 2,
                  progress=None) -> dict:
    """Write ``n_records`` tiled records to bgzipped ``out`` (+ ``.tbi``). Returns stats."""
    t0 = time.perf_counter()
    meta, contig_at, chrom_line, records = read_source(source)
    n_src = len(records)
    max_ref = max(r[2] for r in records)
    header = list(meta[:contig_at])
    header += [f"##contig=<ID={c},length={L}>" for c, L in GRCH37]
    header += meta[contig_at:]
    header.append(f"##raredesk_make_trio_vcf=<source={source.name},source_records={n_src},"
                  f"records={n_records},seed={seed},note=\"real records tiled over GRCh37 at "
                  f"synthetic positions; genotypes lightly shuffled\">")
    header.append(chrom_line)

    rng = np.random.default_rng(seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    sink = _Sink(tmp, threads)
    sink.write(("\n".join(header) + "\n").encode())
    i = 0                      # global record index
    tile_perm = PERMS[0]
    tile = -1
    for (chrom, length), n_c in zip(GRCH37, allocate(n_records)):
        if n_c == 0:
            continue
        usable = length - max_ref - 1
        if n_c > usable:
            raise SystemExit(f"error: {n_c} records do not fit on contig {chrom}")
        step = usable / n_c
        width = max(1, int(step))
        chrom_b = chrom.encode() + b"\t"
        for k0 in range(0, n_c, CHUNK):
            k = np.arange(k0, min(n_c, k0 + CHUNK))
            pos = (np.floor(k * step).astype(np.int64) + 1 + rng.integers(0, width, k.size)).tolist()
            switch = (rng.random((k.size, 3)) < SWITCH_P).tolist()
            lines = []
            for p, sw in zip(pos, switch):
                t, j = divmod(i, n_src)
                if t != tile:
                    tile, tile_perm = t, PERMS[int(rng.integers(0, 6))]
                mid, samples, _ = records[j]
                a, b, c = tile_perm
                lines.append(b"".join((chrom_b, str(p).encode(), mid, b"\t",
                                       samples[a][sw[0]], b"\t", samples[b][sw[1]], b"\t",
                                       samples[c][sw[2]], b"\n")))
                i += 1
            sink.write(b"".join(lines))
            if progress:
                progress(i, n_records)
    sink.close()
    t_write = time.perf_counter() - t0
    os.replace(tmp, out)
    tabix = shutil.which("tabix")
    if tabix:
        subprocess.run([tabix, "-f", "-p", "vcf", str(out)], check=True)
    else:
        pysam.tabix_index(str(out), preset="vcf", force=True)
    return {"records": i, "path": str(out), "bytes": out.stat().st_size,
            "index_bytes": Path(str(out) + ".tbi").stat().st_size,
            "write_seconds": round(t_write, 1),
            "total_seconds": round(time.perf_counter() - t0, 1),
            "compressor": "bgzip" if shutil.which("bgzip") else "pysam"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, required=True, help="number of records to write")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None,
                    help="output .vcf.gz (default benchmarks/out/trio_<records>_s<seed>.vcf.gz)")
    ap.add_argument("--source", type=Path, default=None,
                    help=f"source VCF (default $RAREDESK_TEST_DATA/{SOURCE_REL})")
    ap.add_argument("--threads", type=int, default=2, help="bgzip compression threads")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    if args.records < 1:
        ap.error("--records must be positive")
    source = args.source or default_source()
    if not source.is_file():
        ap.error(f"source VCF not found: {source} (set RAREDESK_TEST_DATA or pass --source)")
    out = args.out or DEFAULT_OUT_DIR / f"trio_{args.records}_s{args.seed}.vcf.gz"
    if not str(out).endswith(".vcf.gz"):
        ap.error("--out must end with .vcf.gz")

    last = [0.0]

    def progress(done, total):
        now = time.perf_counter()
        if not args.quiet and (now - last[0] > 5 or done == total):
            last[0] = now
            print(f"  {done:,}/{total:,} records", file=sys.stderr, flush=True)

    stats = make_trio_vcf(source, out, args.records, args.seed, args.threads, progress)
    if not args.quiet:
        print(f"wrote {stats['records']:,} records to {stats['path']} "
              f"({stats['bytes'] / 1e6:.1f} MB, index {stats['index_bytes'] / 1e3:.1f} kB) "
              f"in {stats['total_seconds']} s (write {stats['write_seconds']} s, {stats['compressor']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""benchmarks/make_trio_vcf.py: tiles real annotated trio records over GRCh37."""

from __future__ import annotations

import gzip
import itertools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pysam
import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "make_trio_vcf.py"
N = 2_000

GRCH37 = [("1", 249250621), ("2", 243199373), ("3", 198022430), ("4", 191154276),
          ("5", 180915260), ("6", 171115067), ("7", 159138663), ("8", 146364022),
          ("9", 141213431), ("10", 135534747), ("11", 135006516), ("12", 133851895),
          ("13", 115169878), ("14", 107349540), ("15", 102531392), ("16", 90354753),
          ("17", 81195210), ("18", 78077248), ("19", 59128983), ("20", 63025520),
          ("21", 48129895), ("22", 51304566), ("X", 155270560), ("Y", 59373566), ("MT", 16569)]


@pytest.fixture(scope="module")
def source(data_dir):
    path = data_dir / "scout" / "643594.clinical.vcf.gz"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return path


def _run(source, out, seed=5, n=N, env=None):
    subprocess.run([sys.executable, str(SCRIPT), "--records", str(n), "--seed", str(seed),
                    "--out", str(out), "--source", str(source), "--quiet"],
                   check=True, env=env, capture_output=True)
    return out


@pytest.fixture(scope="module")
def made(source, tmp_path_factory):
    return _run(source, tmp_path_factory.mktemp("trio") / "trio.vcf.gz")


def _lines(path):
    with gzip.open(path, "rt") as fh:
        return [line.rstrip("\n") for line in fh]


def test_record_count_is_exact(made):
    bcftools = shutil.which("bcftools")
    if bcftools:
        out = subprocess.run(f"{bcftools} view -H {made} | wc -l", shell=True, check=True,
                             capture_output=True, text=True).stdout
        assert int(out) == N
    assert sum(1 for line in _lines(made) if not line.startswith("#")) == N


def test_sorted_and_indexed(made):
    assert Path(str(made) + ".tbi").is_file()
    bcftools = shutil.which("bcftools")
    if bcftools:
        # builds a CSI index: fails on unsorted input
        subprocess.run([bcftools, "index", "-f", "-o", str(made) + ".csi", str(made)],
                       check=True, capture_output=True)
    order = {c: i for i, (c, _) in enumerate(GRCH37)}
    lengths = dict(GRCH37)
    last = (-1, 0)
    for line in _lines(made):
        if line.startswith("#"):
            continue
        chrom, pos, _, ref = line.split("\t", 4)[:4]
        key = (order[chrom], int(pos))
        assert key > last, line[:60]          # strictly increasing per contig
        assert int(pos) + len(ref) - 1 <= lengths[chrom]
        last = key
    with pysam.TabixFile(str(made)) as tbx:
        assert set(tbx.contigs) <= set(lengths)
        assert sum(1 for _ in tbx.fetch("1")) > 100


def test_header_contigs_are_grch37_and_samples_unchanged(made, source):
    with pysam.VariantFile(str(made)) as out, pysam.VariantFile(str(source)) as src:
        assert [(c, out.header.contigs[c].length) for c in out.header.contigs] == GRCH37
        assert list(out.header.samples) == list(src.header.samples)
        assert "CSQ" in out.header.info and "ANN" in out.header.info
    header = [line for line in _lines(made) if line.startswith("##")]
    src_header = [line for line in _lines(source) if line.startswith("##")]
    assert [h for h in header if not h.startswith(("##contig", "##raredesk_make_trio_vcf"))] == \
        [h for h in src_header if not h.startswith("##contig")]


def _same_or_switched(out_col, src_col):
    """out_col is src_col, or src_col with GT 0/1 <-> 1/1 switched."""
    if out_col == src_col:
        return True
    o, s = out_col.split(":")[0], src_col.split(":")[0]
    return {o, s} == {"0/1", "1/1"}


def test_records_are_the_source_records_with_shuffled_genotypes(made, source):
    src = [line.split("\t") for line in _lines(source) if not line.startswith("#")]
    out = [line.split("\t") for line in _lines(made) if not line.startswith("#")]
    permuted = switched = 0
    for i, cols in enumerate(out):
        s = src[i % len(src)]
        assert cols[2:9] == s[2:9]            # ID REF ALT QUAL FILTER INFO FORMAT kept
        assert any(all(_same_or_switched(cols[9 + k], s[9 + p[k]]) for k in range(3))
                   for p in itertools.permutations(range(3))), (i, cols[9:], s[9:])
        permuted += cols[9:] != s[9:] and sorted(cols[9:]) == sorted(s[9:])
        switched += sorted(cols[9:]) != sorted(s[9:])
    assert permuted > N // 4                  # most tiles get another sample order
    assert 0 < switched < N // 5              # a light sprinkle of 0/1 <-> 1/1 switches


def test_same_seed_same_file_and_pysam_fallback_agrees(made, source, tmp_path):
    again = _run(source, tmp_path / "again.vcf.gz")
    assert again.read_bytes() == made.read_bytes()
    other = _run(source, tmp_path / "other.vcf.gz", seed=6)
    assert _lines(other) != _lines(made)
    # without bgzip/tabix on PATH the script uses pysam; same content, still indexed
    env = dict(os.environ, PATH=str(tmp_path / "empty-bin"))
    fallback = _run(source, tmp_path / "fallback.vcf.gz", env=env)
    assert _lines(fallback) == _lines(made)
    with pysam.TabixFile(str(fallback)) as tbx:
        assert sum(1 for _ in tbx.fetch("X")) > 0

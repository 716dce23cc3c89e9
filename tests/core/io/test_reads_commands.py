"""The `coverage` and `recount` subcommands (raredesk.io.reads_commands)."""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from raredesk.io.bam import recount
from raredesk.io.bed import read_bed
from raredesk.io.reads_commands import parse_region, parse_variant, register
from raredesk.errors import RareDeskError

SAMTOOLS = shutil.which("samtools")
pytestmark = pytest.mark.skipif(SAMTOOLS is None, reason="samtools not on PATH")
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def d(data_dir):
    dv = data_dir / "deepvariant"
    return {"bam": dv / "NA12878_S1.chr20.10_10p1mb.bam", "cram": dv / "NA12878_S1.chr20.10_10p1mb.cram",
            "hg19": dv / "ucsc.hg19.chr20.unittest.fasta.gz", "bed": dv / "test_nist.b37_chr20_100kbp_at_10mb.bed",
            "b37": data_dir / "deeptrio" / "hs37d5.chr20.fa.gz", "mt": data_dir / "scout" / "reduced_mt.bam",
            "mt_fa": data_dir / "mity" / "hs37d5.MT.fa",
            "trio": data_dir / "deeptrio" / "HG001.chr20.10_10p1mb_sorted.bam"}


def run_in_process(argv, capsys):
    parser = argparse.ArgumentParser(prog="raredesk")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args([str(a) for a in argv])
    code = args.func(args)
    out, err = capsys.readouterr()
    return code, out, err


def run_cli(*argv):
    """The real process: stderr as the user sees it (htslib writes straight to fd 2)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "raredesk.io.reads_commands", *map(str, argv)],
                          capture_output=True, text=True, env=env, cwd=str(REPO))


def test_register_adds_both_subcommands():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    register(sub)
    assert set(sub.choices) == {"coverage", "recount"}
    args = parser.parse_args(["recount", "--bam", "x.bam", "--reference", "r.fa", "--variant", "1:5:A:G"])
    assert callable(args.func) and args.min_bq == 13 and args.format == "tsv"
    with pytest.raises(SystemExit):
        parser.parse_args(["coverage", "--bam", "x.bam"])              # --region or --bed required
    with pytest.raises(SystemExit):
        parser.parse_args(["coverage", "--bam", "x.bam", "--region", "1:1-2", "--bed", "a.bed"])


def test_parse_region_and_variant():
    assert parse_region("chr20:10,000,001-10,000,100") == ("chr20", 10_000_000, 10_000_100)
    assert parse_region("MT:263") == ("MT", 262, 263)
    assert parse_region("chrM") == ("chrM", None, None)
    assert parse_variant("HLA-A*01:01:01:01:300:A:G") == ("HLA-A*01:01:01:01", 300, "A", "G")
    for bad in ("chr20:0-5", "chr20:9-5", ":1-5"):
        with pytest.raises(RareDeskError, match="--region"):
            parse_region(bad)
    with pytest.raises(RareDeskError, match="--variant"):
        parse_variant("chr20:abc:A:G")


def test_coverage_region_tsv_matches_samtools_depth(d, capsys):
    code, out, err = run_in_process(["coverage", "--bam", d["cram"], "--reference", d["hg19"],
                                     "--region", "20:10,050,001-10,052,000", "--min-bq", "20"], capsys)
    assert code == 0 and err == ""
    table = pd.read_csv(io.StringIO(out), sep="\t")
    expect = subprocess.run([SAMTOOLS, "depth", "-a", "-q", "20", "--reference", str(d["hg19"]), "-r",
                             "chr20:10050001-10052000", str(d["cram"])], capture_output=True, text=True,
                            check=True).stdout
    rows = [line.split("\t") for line in expect.splitlines()]
    assert list(table.columns) == ["chrom", "pos", "depth"]
    assert table["chrom"].eq("chr20").all()
    assert table["pos"].tolist() == [int(r[1]) for r in rows]
    assert table["depth"].tolist() == [int(r[2]) for r in rows]


def test_coverage_region_json_whole_contig(d, capsys):
    code, out, _ = run_in_process(["coverage", "--bam", d["mt"], "--region", "chrM", "--format", "json"], capsys)
    doc = json.loads(out)
    assert code == 0 and doc["contig"] == "MT" and doc["first_pos"] == 1 and doc["last_pos"] == 16_569
    assert len(doc["depth"]) == 16_569 and doc["depth"][3243 - 1] == 69
    assert doc["mean_depth"] == pytest.approx(np.mean(doc["depth"]), abs=1e-3)


def test_coverage_bed_tsv_and_json(d, capsys):
    code, out, _ = run_in_process(["coverage", "--bam", d["bam"], "--bed", d["bed"], "--thresholds", "15,40"],
                                  capsys)
    table = pd.read_csv(io.StringIO(out), sep="\t")
    bed = read_bed(d["bed"])
    assert code == 0 and len(table) == len(bed)
    assert list(table.columns) == ["chrom", "start", "end", "length", "mean_depth", "min_depth", "pct_ge_15",
                                   "pct_ge_40"]
    assert table["start"].tolist() == bed.start.tolist()
    # Target 1 checked against samtools directly.
    s, e = int(bed.start[0]), int(bed.end[0])
    dep = subprocess.run([SAMTOOLS, "depth", "-a", "-r", f"chr20:{s + 1}-{e}", str(d["bam"])], capture_output=True,
                         text=True, check=True).stdout
    vals = np.array([int(line.split("\t")[2]) for line in dep.splitlines()])
    assert table["mean_depth"][0] == pytest.approx(vals.mean(), abs=0.005)
    assert table["pct_ge_40"][0] == pytest.approx(100 * (vals >= 40).mean(), abs=0.005)
    code, out, _ = run_in_process(["coverage", "--bam", d["bam"], "--bed", d["bed"], "--format", "json",
                                   "--low-below", "45"], capsys)
    doc = json.loads(out)
    assert code == 0 and len(doc["targets"]) == len(bed) and doc["genes"] is None
    assert doc["low_threshold"] == 45 and doc["low_coverage"]
    assert all(r["mean_depth"] < 45 for r in doc["low_coverage"])
    assert doc["summary"]["bases"] == int((bed.end - bed.start).sum())


def test_recount_output_formats(d, capsys):
    argv = ["recount", "--bam", d["trio"], "--reference", d["b37"], "--variant", "chr20:10001436:A:AAGGCT"]
    code, out, err = run_in_process(argv + ["--format", "json"], capsys)
    doc = json.loads(out)
    direct = recount(d["trio"], d["b37"], "chr20", 10_001_436, "A", "AAGGCT")
    assert code == 0 and err == "" and doc == direct.as_dict()
    assert doc["kind"] == "insertion" and doc["alt_fwd"] + doc["alt_rev"] > 0
    code, out, _ = run_in_process(argv, capsys)
    header, values = out.splitlines()
    assert dict(zip(header.split("\t"), values.split("\t")))["alt_rev"] == str(direct.alt_rev)


# -- errors: one line, exit 2, no traceback, no htslib chatter ---------------------------------

def assert_one_line_error(proc, path, *words):
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"error: {path}: "), lines[0]
    for w in words:
        assert w in lines[0], lines[0]
    assert "Traceback" not in proc.stderr and "[E::" not in proc.stderr and "[W::" not in proc.stderr
    assert proc.stdout == ""


def test_error_wrong_reference_for_cram(d):
    proc = run_cli("recount", "--bam", d["cram"], "--reference", d["b37"], "--variant", "chr20:10001436:A:AAGGCT")
    assert_one_line_error(proc, d["cram"], "wrong reference")


def test_error_subtly_wrong_reference_hides_htslib_messages(d, tmp_path):
    # Same name and length as hg19 chr20, one base changed: htslib fails a slice checksum.
    import pysam
    seq = bytearray(pysam.FastaFile(str(d["hg19"])).fetch("chr20").encode())
    seq[10_050_000] = ord("A") if seq[10_050_000] != ord("A") else ord("C")
    fa = tmp_path / "mutated.fa"
    fa.write_bytes(b">chr20\n" + b"\n".join(bytes(seq[i:i + 60]) for i in range(0, len(seq), 60)) + b"\n")
    pysam.faidx(str(fa))
    proc = run_cli("coverage", "--bam", d["cram"], "--reference", fa, "--region", "chr20:10049001-10051000")
    assert_one_line_error(proc, d["cram"], "wrong reference", "0dec9660ec1efaaf33281c0d5ea2560f")


def test_error_missing_and_stale_index(d, tmp_path):
    bam = tmp_path / "case.bam"
    shutil.copy(d["mt"], bam)
    proc = run_cli("coverage", "--bam", bam, "--region", "MT:1-100")
    assert_one_line_error(proc, bam, "no index")
    shutil.copy(str(d["mt"]) + ".bai", str(bam) + ".bai")
    t = os.stat(str(bam) + ".bai").st_mtime
    os.utime(bam, (t + 5, t + 5))
    proc = run_cli("coverage", "--bam", bam, "--region", "MT:1-100")
    assert_one_line_error(proc, bam, "older")


def test_error_truncated_bam_and_missing_file(d, tmp_path):
    bam = tmp_path / "cut.bam"
    bam.write_bytes(d["mt"].read_bytes()[:200_000])
    shutil.copy(str(d["mt"]) + ".bai", str(bam) + ".bai")
    assert_one_line_error(run_cli("coverage", "--bam", bam, "--region", "MT"), bam, "truncated")
    missing = tmp_path / "absent.bam"
    assert_one_line_error(run_cli("coverage", "--bam", missing, "--region", "MT"), missing, "not found")


def test_error_contig_ref_and_arguments(d, tmp_path):
    assert_one_line_error(run_cli("coverage", "--bam", d["trio"], "--region", "chr99:1-10"), d["trio"],
                          "'chr99' is not in this BAM")
    assert_one_line_error(run_cli("recount", "--bam", d["mt"], "--reference", d["mt_fa"], "--variant",
                                  "MT:3243:G:A"), d["mt"], "does not match the reference (A)")
    assert_one_line_error(run_cli("recount", "--bam", d["mt"], "--reference", d["mt_fa"], "--variant",
                                  "MT-3243-A-G"), "--variant", "CHROM:POS:REF:ALT")
    bed = tmp_path / "broken.bed"
    bed.write_text("MT\t10\t20\nMT\tten\t30\n")
    assert_one_line_error(run_cli("coverage", "--bam", d["mt"], "--bed", bed), bed, "line 2")
    assert_one_line_error(run_cli("coverage", "--bam", d["mt"], "--region", "MT:1-5", "--thresholds", "a,b"),
                          "--thresholds", "whole numbers")

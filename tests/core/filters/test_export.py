"""Exports of the filtered rows: a VCF that bcftools reads and that agrees with the input, and TSV/CSV."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess

import pytest

from raredesk.cli import main as cli_main
from raredesk.filters import compile_for_case
from raredesk.store.cases import get_case
from raredesk.store.export import write_table, write_vcf

pytestmark = pytest.mark.skipif(shutil.which("bcftools") is None, reason="bcftools is not installed")

SOURCES = {"ashk": "slivar/ashk-trio.vcf.gz", "scout": "scout/643594.clinical.vcf.gz"}


def bcftools(*args, stdin=None):
    p = subprocess.run(["bcftools", *args], input=stdin, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return p.stdout, p.stderr


QUERY = "%CHROM:%POS:%REF:%ALT\t%INFO/DP\t%INFO/AF[\t%GT:%AD:%DP:%GQ]\n"


def _parse(text):
    out = {}
    for line in text.splitlines():
        key, dp, af, *samples = line.split("\t")
        out[key] = (dp, af, samples)
    return out


@pytest.mark.parametrize("case_name, text", [
    ("ashk", "impact in (HIGH, MODERATE) or gt(proband) = hom_alt"),
    ("scout", "qual > 0 or qual is missing"),
])
def test_vcf_export_reads_back_and_matches_the_input(ro_ws, data_dir, tmp_path, case_name, text):
    con = ro_ws.cursor()
    case = get_case(con, case_name)
    where, params = compile_for_case(con, case, text, None)
    out = tmp_path / "out.vcf"
    with open(out, "w") as f:
        n = write_vcf(con, case, where, params, None, f)
    assert n == con.execute(f'SELECT count(*) FROM "{case.table}" WHERE {where}', params).fetchone()[0] > 100
    body, err = bcftools("view", "-H", str(out))
    assert len(body.splitlines()) == n
    assert "[E::" not in err
    # sorted and indexable
    bcftools("view", "-Oz", "-o", str(tmp_path / "out.vcf.gz"), str(out))
    bcftools("index", "-t", str(tmp_path / "out.vcf.gz"))
    ours = _parse(bcftools("query", "-f", QUERY, str(out))[0])
    split = bcftools("norm", "-m-", str(data_dir / SOURCES[case_name]))[0]
    theirs = _parse(bcftools("query", "-f", QUERY, "-", stdin=split)[0])
    snvs = [k for k in ours if len(k.split(":")[2]) == 1 and len(k.split(":")[3]) == 1]
    assert len(snvs) > 50
    compared = 0
    for k in snvs:
        if k not in theirs:
            continue
        (dp1, af1, s1), (dp2, af2, s2) = ours[k], theirs[k]
        assert dp1 == dp2, k
        if af2 != ".":
            assert abs(float(af1) - float(af2)) < 1e-6, k
        assert s1 == s2, k
        compared += 1
    assert compared > 50


def test_vcf_keeps_the_original_header_facts(ro_ws, tmp_path):
    con = ro_ws.cursor()
    case = get_case(con, "scout")
    buf = io.StringIO()
    write_vcf(con, case, "TRUE", [], None, buf)
    header = [ln for ln in buf.getvalue().splitlines() if ln.startswith("##")]
    assert any(ln.startswith("##FILTER=<ID=LowQual,Description=\"Low quality\"") for ln in header)
    assert "##contig=<ID=1,length=249250621>" in header
    assert any(ln.startswith("##INFO=<ID=RD_GENE,") for ln in header)
    assert buf.getvalue().splitlines()[len(header)].split("\t")[9:] == ["ADM1059A1", "ADM1059A2", "ADM1059A3"]


@pytest.mark.parametrize("sep", ["\t", ","])
def test_table_exports(ro_ws, sep):
    con = ro_ws.cursor()
    case = get_case(con, "ashk")
    where, params = compile_for_case(con, case, "consequence has missense_variant", None)
    buf = io.StringIO()
    n = write_table(con, case, where, params, ["gene", "pos"], buf, columns=["chrom", "pos", "gene", "genes",
                                                                            "HG002.gt", "qual"], sep=sep)
    rows = list(csv.reader(io.StringIO(buf.getvalue()), delimiter=sep))
    assert rows[0] == ["chrom", "pos", "gene", "genes", "HG002.gt", "qual"]
    assert len(rows) - 1 == n == con.execute(f'SELECT count(*) FROM "{case.table}" WHERE {where}',
                                             params).fetchone()[0]
    genes = [r[2] for r in rows[1:]]
    assert genes == sorted(genes)
    assert all(r[4] in ("hom_ref", "het", "hom_alt", "missing") for r in rows[1:])
    first = con.execute(f'SELECT chrom, pos, gene, genes, qual FROM "{case.table}" WHERE {where} '
                        f'ORDER BY gene, pos, chrom_rank, chrom, variant_id LIMIT 1', params).fetchone()
    assert rows[1][:3] == [first[0], str(first[1]), first[2]] and rows[1][3] == ",".join(first[3])
    assert float(rows[1][5]) == first[4]


def test_cli_query_vcf(template_ws_dir, tmp_path, capsys):
    wdir = tmp_path / "ws"
    shutil.copytree(template_ws_dir, wdir)
    assert cli_main(["query", "--case", "ashk", "--filter", "de_novo(min_gq=0, min_dp=0)", "--format", "vcf",
                     "--workspace", str(wdir)]) == 0
    body, _ = bcftools("view", "-H", "-", stdin=capsys.readouterr().out)
    assert len(body.splitlines()) == 11
    assert cli_main(["query", "--case", "ashk", "--preset", "rare-lof", "--count", "--workspace", str(wdir)]) == 0
    assert int(capsys.readouterr().out) > 0

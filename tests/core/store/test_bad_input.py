"""Bad input never crashes, hangs or prints a traceback; the workspace is left as it was.

Each test derives a broken file from a real one in tmp_path (never in the repo).
"""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
import time

import pytest

from raredesk.errors import Cancelled, InputError
from raredesk.store.importer import CancelToken, import_vcf
from raredesk.store.workspace import Workspace

SCOUT = "scout/643594.clinical.vcf.gz"


def text_of(path) -> str:
    with gzip.open(path, "rt") as f:
        return f.read()


def bgzip_text(text: str, out) -> None:
    import pysam

    plain = str(out) + ".txt"
    with open(plain, "w") as f:
        f.write(text)
    pysam.tabix_compress(plain, str(out), force=True)
    os.unlink(plain)


def assert_untouched(ws):
    con = ws.cursor()
    assert con.execute("SELECT count(*) FROM cases").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM files").fetchone()[0] == 0
    tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE regexp_matches(table_name, '^case_[0-9]+_')").fetchall()]
    assert tables == []


def run_cli(*args, env=None):
    e = dict(os.environ)
    e.pop("RAREDESK_DEBUG", None)
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "raredesk", *args], capture_output=True, text=True, timeout=120, env=e)


def assert_one_line_error(proc, *needles):
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, proc.stderr
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


def test_bgzip_cut_at_block_boundary_is_detected(ws, data_dir, tmp_path):
    """A bgzip file cut at a block boundary reads 'successfully' in htslib; the EOF marker tells."""
    src = (data_dir / SCOUT).read_bytes()
    assert src.endswith(bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000"))
    cut = tmp_path / "cut.vcf.gz"
    cut.write_bytes(src[:-28])
    with pytest.raises(InputError, match="end-of-file marker is missing"):
        import_vcf(ws, cut, "c")
    assert_untouched(ws)


def test_bgzip_cut_inside_a_block(ws, data_dir, tmp_path):
    src = (data_dir / SCOUT).read_bytes()
    cut = tmp_path / "cut.vcf.gz"
    cut.write_bytes(src[: len(src) // 2] + src[-28:])   # EOF marker present, body cut mid-block
    with pytest.raises(InputError, match="truncated|corrupt"):
        import_vcf(ws, cut, "c")
    assert_untouched(ws)


def test_plain_gzip_is_read_fully(ws, data_dir, tmp_path):
    plain = tmp_path / "plain.vcf.gz"
    with gzip.open(plain, "wt") as f:
        f.write(text_of(data_dir / SCOUT))
    res = import_vcf(ws, plain, "c")
    assert res.records == 680


def test_truncated_plain_gzip(ws, data_dir, tmp_path):
    plain = tmp_path / "plain.vcf.gz"
    with gzip.open(plain, "wt") as f:
        f.write(text_of(data_dir / SCOUT))
    data = plain.read_bytes()
    plain.write_bytes(data[: int(len(data) * 0.7)])
    with pytest.raises(InputError, match="truncated"):
        import_vcf(ws, plain, "c")
    assert_untouched(ws)


def _corrupt_line(data_dir, tmp_path, record_no: int, column: int, value: str):
    lines = text_of(data_dir / SCOUT).split("\n")
    first = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    cols = lines[first + record_no].split("\t")
    cols[column] = value
    lines[first + record_no] = "\t".join(cols)
    out = tmp_path / "bad.vcf.gz"
    bgzip_text("\n".join(lines), out)
    return out, first + record_no + 1


def test_unparsable_pos_names_the_line(ws, data_dir, tmp_path):
    # cyvcf2 0.35 segfaults on this record; RareDesk never hands it to cyvcf2
    bad, line = _corrupt_line(data_dir, tmp_path, 500, 1, "12ab")
    with pytest.raises(InputError, match=f"line {line}: POS '12ab' is not a whole number"):
        import_vcf(ws, bad, "c")
    assert_untouched(ws)


def test_empty_format_key_does_not_crash(ws, data_dir, tmp_path):
    bad, _ = _corrupt_line(data_dir, tmp_path, 3, 8, "GT::DP")
    res = import_vcf(ws, bad, "c")
    assert res.records == 680


def test_wrong_column_count(ws, data_dir, tmp_path):
    lines = text_of(data_dir / SCOUT).split("\n")
    first = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    lines[first + 10] = "\t".join(lines[first + 10].split("\t")[:9])
    bad = tmp_path / "cols.vcf.gz"
    bgzip_text("\n".join(lines), bad)
    with pytest.raises(InputError, match=f"line {first + 11}: expected 12 tab-separated columns, found 9"):
        import_vcf(ws, bad, "c")
    assert_untouched(ws)


def test_failure_in_a_later_chunk_leaves_nothing(ws, data_dir, tmp_path):
    bad, line = _corrupt_line(data_dir, tmp_path, 670, 1, "x")
    with pytest.raises(InputError, match=f"line {line}"):
        import_vcf(ws, bad, "c", chunk_bytes=200_000)  # many chunks: the error comes after commits would have
    assert_untouched(ws)


def test_cancel_leaves_workspace_as_before(ws, data_dir):
    import_vcf(ws, data_dir / "slivar/ashk-trio.vcf.gz", "keep")
    before = ws.cursor().execute("SELECT count(*) FROM files").fetchone()[0]
    token = CancelToken()
    seen = []

    def progress(done, total, text):
        seen.append(done)
        token.cancel()

    with pytest.raises(Cancelled):
        import_vcf(ws, data_dir / SCOUT, "new", progress=progress, cancel=token, chunk_bytes=300_000)
    con = ws.cursor()
    assert seen
    assert [r[0] for r in con.execute("SELECT name FROM cases").fetchall()] == ["keep"]
    assert con.execute("SELECT count(*) FROM files").fetchone()[0] == before
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE regexp_matches(table_name, '^case_2_')").fetchone()[0] == 0


def test_non_utf8_sample_name(ws, data_dir, tmp_path):
    text = text_of(data_dir / SCOUT)
    lines = text.split("\n")
    i = next(k for k, line in enumerate(lines) if line.startswith("#CHROM"))
    lines[i] = lines[i].replace("ADM1059A1", "ADM1059\xe91")
    raw = "\n".join(lines).encode("latin-1")
    bad = tmp_path / "latin1.vcf"
    bad.write_bytes(raw)
    with pytest.raises(InputError, match="not valid UTF-8"):
        import_vcf(ws, bad, "c")


@pytest.mark.parametrize("maker, needle", [
    (lambda p, d: p.write_bytes(b""), "empty"),
    (lambda p, d: p.write_bytes((d / "deepvariant/NA12878_S1.chr20.10_10p1mb.bam").read_bytes()[:5000]),
     "BAM file .*not a VCF"),
    (lambda p, d: p.write_bytes((d / "deepvariant/NA12878_S1.chr20.10_10p1mb.cram").read_bytes()),
     "CRAM file .*not a VCF"),
    (lambda p, d: p.write_text("hello\tworld\n"), "not a VCF"),
    (lambda p, d: p.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\n"), "8 fixed VCF columns"),
])
def test_not_a_vcf(ws, data_dir, tmp_path, maker, needle):
    bad = tmp_path / "bad.vcf"
    maker(bad, data_dir)
    with pytest.raises(InputError, match=needle):
        import_vcf(ws, bad, "c")
    assert_untouched(ws)


def test_missing_file(ws, tmp_path):
    with pytest.raises(InputError, match="file not found"):
        import_vcf(ws, tmp_path / "nope.vcf.gz", "c")


def test_header_only_vcf(ws, data_dir, tmp_path):
    header = "".join(line + "\n" for line in text_of(data_dir / SCOUT).split("\n") if line.startswith("#"))
    f = tmp_path / "empty.vcf"
    f.write_text(header)
    res = import_vcf(ws, f, "c")
    assert res.records == 0 and any("no records" in w for w in res.warnings)


def test_stale_index_is_reported(ws, data_dir, tmp_path):
    vcf = tmp_path / "x.vcf.gz"
    shutil.copy(data_dir / SCOUT, vcf)
    shutil.copy(data_dir / (SCOUT + ".tbi"), str(vcf) + ".tbi")
    old = time.time() - 3600
    os.utime(str(vcf) + ".tbi", (old, old))
    res = import_vcf(ws, vcf, "c")
    assert any(".tbi is older than the VCF" in w for w in res.warnings)


def test_invalid_alleles_skipped_and_reported(ws, data_dir):
    res = import_vcf(ws, data_dir / "mity/mitotip_scores.vcf.gz", "c")
    assert res.skipped["invalid_allele"] == 1504
    assert any("':'" in w for w in res.warnings)


def test_bad_ped_line(ws, data_dir, tmp_path):
    ped = tmp_path / "bad.ped"
    ped.write_text("643594\tADM1059A1\t0\t0\t1\n")
    with pytest.raises(InputError, match="line 1: expected 6 columns"):
        import_vcf(ws, data_dir / SCOUT, "c", ped=str(ped))
    assert_untouched(ws)


# -- the command line: one line, no traceback, non-zero exit ----------------------------------


def test_cli_errors_are_one_line(data_dir, tmp_path):
    ws = tmp_path / "ws"
    cut = tmp_path / "cut.vcf.gz"
    cut.write_bytes((data_dir / SCOUT).read_bytes()[:-28])
    assert_one_line_error(run_cli("import", str(cut), "--case", "c", "--workspace", str(ws)),
                          str(cut), "end-of-file marker")
    assert_one_line_error(run_cli("import", str(tmp_path / "none.vcf"), "--case", "c", "--workspace", str(ws)),
                          "none.vcf", "file not found")
    assert_one_line_error(run_cli("query", "--case", "nope", "--workspace", str(ws)), "no RareDesk workspace here")
    assert run_cli("import", str(data_dir / "slivar/clinvar_20191007.vcf.gz"), "--case", "cv",
                   "--workspace", str(ws)).returncode == 0
    assert_one_line_error(run_cli("query", "--case", "nope", "--workspace", str(ws)), "no case named 'nope'", "cv")


def test_cli_bam_of_another_sample(data_dir, tmp_path):
    proc = run_cli("import", str(data_dir / SCOUT), "--case", "c", "--workspace", str(tmp_path / "ws"),
                   "--bam", str(data_dir / "deepvariant/NA12878_S1.chr20.10_10p1mb.bam"))
    assert_one_line_error(proc, "NA12878_S1.chr20.10_10p1mb.bam", "is not a sample of the VCF")


def test_cli_reference_without_shared_contigs(data_dir, tmp_path):
    proc = run_cli("import", str(data_dir / "deepvariant/test_nist.b37_chr20_100kbp_at_10mb.vcf.gz"), "--case", "c",
                   "--workspace", str(tmp_path / "ws"), "--reference", str(data_dir / "mity/hs37d5.MT.fa"))
    assert_one_line_error(proc, "hs37d5.MT.fa", "no contig in common")


def test_cli_contig_spelling_is_harmonised(data_dir, tmp_path):
    # VCF says chr20 (hg19), reference FASTA says 20 (hs37d5): same sequence, mapped to each other
    proc = run_cli("import", str(data_dir / "deepvariant/test_nist.b37_chr20_100kbp_at_10mb.vcf.gz"), "--case", "c",
                   "--workspace", str(tmp_path / "ws"), "--reference", str(data_dir / "deeptrio/hs37d5.chr20.fa.gz"))
    assert proc.returncode == 0, proc.stderr
    assert "names contigs differently" in proc.stderr
    assert "Traceback" not in proc.stderr


def _snapshot(ws):
    con = ws.cursor()
    return {
        "tables": sorted(r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()),
        "columns": con.execute("SELECT table_name, column_name, data_type FROM duckdb_columns() "
                               "WHERE regexp_matches(table_name, '^case_') ORDER BY 1, column_index").fetchall(),
        "rows": con.execute("SELECT count(*) FROM case_1_variants").fetchone()[0],
        "tx": con.execute("SELECT count(*) FROM case_1_transcripts").fetchone()[0],
        "files": con.execute("SELECT file_id, path, status FROM files ORDER BY 1").fetchall(),
        "info": con.execute("SELECT * FROM info_fields ORDER BY name").fetchall(),
        "samples": con.execute("SELECT * FROM samples ORDER BY sample_id").fetchall(),
        "cases": con.execute("SELECT case_id, name, n_variants, status FROM cases").fetchall(),
    }


def test_failed_second_file_leaves_the_case_as_before(ws, data_dir, tmp_path):
    """A later file that fails after some committed chunks removes its rows, columns and widenings."""
    import_vcf(ws, data_dir / SCOUT, "fam", ped=str(data_dir / "scout/643594.ped"))
    before = _snapshot(ws)
    lines = text_of(data_dir / "slivar/ashk-trio.vcf.gz").split("\n")
    first = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    cols = lines[first + 9000].split("\t")
    cols[1] = "oops"
    lines[first + 9000] = "\t".join(cols)
    bad = tmp_path / "late.vcf.gz"
    bgzip_text("\n".join(lines), bad)
    with pytest.raises(InputError, match=f"line {first + 9001}"):
        import_vcf(ws, bad, "fam", chunk_bytes=200_000)   # a different family's samples: new columns too
    assert _snapshot(ws) == before


def test_interrupted_import_is_removed_when_the_workspace_opens(data_dir, tmp_path):
    """kill -9 in the middle of an import: the next open removes the partial case."""
    import signal

    ws_dir = tmp_path / "ws"
    with Workspace(ws_dir) as w:
        import_vcf(w, data_dir / "slivar/ashk-trio.vcf.gz", "keep")
    code = f"""
import sys, time
from raredesk.store.workspace import Workspace
from raredesk.store.importer import import_vcf
ws = Workspace({str(ws_dir)!r})
def progress(done, total, text):
    print("chunk", flush=True)
    time.sleep(0.3)
import_vcf(ws, {str(data_dir / SCOUT)!r}, "partial", progress=progress, chunk_bytes=100_000)
print("finished", flush=True)
"""
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    seen = 0
    for line in proc.stdout:
        seen += line.strip() == "chunk"
        if seen == 3:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert seen == 3 and proc.returncode == -signal.SIGKILL
    with Workspace(ws_dir) as w:
        assert any("partial" in r for r in w.recovered)
        con = w.cursor()
        assert [r[0] for r in con.execute("SELECT name FROM cases").fetchall()] == ["keep"]
        assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE regexp_matches(table_name, '^case_2_')"
                           ).fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM files WHERE status <> 'imported'").fetchone()[0] == 0


def test_engine_out_of_memory_is_one_error_naming_the_file(ws, data_dir, monkeypatch):
    """DuckDB running out of memory mid-import: a plain error naming the file and the
    setting to raise, the workspace as before (not an 'aborted transaction' error)."""
    from raredesk.store import importer

    def tiny(self, con, vt, tt):
        self._restore_memory = self.ws.memory_limit   # as _fit_memory does when it raises the limit
        # enough to set up and read a chunk, too little to insert its 227-column rows
        con.execute("SET memory_limit = '80MB'")

    monkeypatch.setattr(importer._Importer, "_fit_memory", tiny)
    own_limit = ws.cursor().execute("SELECT current_setting('memory_limit')").fetchone()[0]
    with pytest.raises(InputError, match="ran out of memory.*RAREDESK_MEMORY_LIMIT") as info:
        import_vcf(ws, data_dir / SCOUT, "c")
    assert info.value.path == str(data_dir / SCOUT)
    assert "\n" not in info.value.one_line()
    assert_untouched(ws)
    limit = ws.cursor().execute("SELECT current_setting('memory_limit')").fetchone()[0]
    assert limit == own_limit != "76.2 MiB"   # the workspace's own limit is back

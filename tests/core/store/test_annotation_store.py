"""Annotation text stored as written, and the transcripts view over it.

Expected values come from bcftools (an independent reader) or from reading the
whole view, never from the fast path under test.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from raredesk.errors import Cancelled
from raredesk.store.importer import CancelToken, import_vcf, record_id_of
from raredesk.store.workspace import Workspace

pytestmark = pytest.mark.skipif(shutil.which("bcftools") is None, reason="bcftools is not installed")

SCOUT = "scout/643594.clinical.vcf.gz"


def bcftools_values(path, key: str) -> list[str]:
    out = subprocess.run(["bcftools", "query", "-f", f"%INFO/{key}\\n", str(path)], capture_output=True, text=True,
                         check=True).stdout
    return out.splitlines()


def test_stored_text_is_the_info_value_as_written(ws, data_dir):
    path = data_dir / SCOUT
    import_vcf(ws, path, "trio", chunk_bytes=300_000)   # several chunks
    con = ws.cursor()
    for key in ("CSQ", "ANN"):
        want = bcftools_values(path, key)
        got = [r[0] for r in con.execute(
            "SELECT value FROM case_1_annotations WHERE info_key = ? ORDER BY record_id", [key]).fetchall()]
        assert got == [w for w in want if w != "."]
        assert len(got) > 500


def test_view_read_by_record_equals_the_whole_view(ws, data_dir):
    import_vcf(ws, data_dir / SCOUT, "trio")
    con = ws.cursor()
    ids = [r[0] for r in con.execute(
        "SELECT variant_id FROM case_1_variants WHERE n_transcripts > 3 ORDER BY variant_id LIMIT 25").fetchall()]
    multi = con.execute("SELECT variant_id FROM case_1_variants WHERE n_alleles > 1 AND n_transcripts > 0 "
                        "LIMIT 5").fetchall()
    ids += [r[0] for r in multi]
    assert len(ids) >= 25
    cols = "variant_id, source, entry_index, transcript, consequence, hgvsc, hgvsp, severity, impact"
    everything = con.execute(f"SELECT {cols} FROM case_1_transcripts ORDER BY ALL").fetchall()
    by_variant: dict[int, list] = {}
    for row in everything:
        by_variant.setdefault(row[0], []).append(row)
    for vid in ids:
        fast = con.execute(f"SELECT {cols} FROM case_1_transcripts WHERE record_id = ? AND variant_id = ? "
                           "ORDER BY ALL", [record_id_of(vid), vid]).fetchall()
        assert fast == by_variant[vid]
        assert fast


def test_view_filter_on_record_id_reaches_the_table_scan(ws, data_dir):
    """The fast path only works if DuckDB pushes the record_id filter below the split."""
    import_vcf(ws, data_dir / SCOUT, "trio")
    con = ws.cursor()
    vid = con.execute("SELECT min(variant_id) FROM case_1_variants WHERE n_transcripts > 0").fetchone()[0]
    plan = "\n".join(r[1] for r in con.execute(
        f"EXPLAIN SELECT * FROM case_1_transcripts WHERE record_id = {record_id_of(vid)}").fetchall())
    scan = plan[plan.index("case_1_annotations") - 400:]
    assert "record_id=" in scan.replace(" ", "")


def test_new_workspace_compresses_the_text(ws, data_dir):
    import_vcf(ws, data_dir / SCOUT, "trio")
    con = ws.cursor()
    con.execute("CHECKPOINT")
    methods = {r[0] for r in con.execute(
        "SELECT DISTINCT compression FROM pragma_storage_info('case_1_annotations') "
        "WHERE column_name = 'value' AND segment_type = 'VARCHAR'").fetchall()}
    assert "ZSTD" in methods


def test_cancelled_second_file_keeps_the_first_files_transcripts(ws, data_dir):
    import_vcf(ws, data_dir / SCOUT, "trio")
    con = ws.cursor()
    before = con.execute("SELECT count(*), sum(hash(transcript)) FROM case_1_transcripts").fetchone()
    sources = con.execute("SELECT * FROM annotation_sources ORDER BY ALL").fetchall()
    token = CancelToken()

    def progress(done, total, text):
        token.cancel()

    with pytest.raises(Cancelled):
        import_vcf(ws, data_dir / "scout/vep97_annotated_clnsig_conservation_revel.vcf", "trio", progress=progress, cancel=token,
                   chunk_bytes=300_000)
    assert con.execute("SELECT count(*), sum(hash(transcript)) FROM case_1_transcripts").fetchone() == before
    assert con.execute("SELECT * FROM annotation_sources ORDER BY ALL").fetchall() == sources
    assert con.execute("SELECT count(DISTINCT file_id) FROM case_1_annotations").fetchone()[0] == 1


def test_cancelled_new_case_leaves_no_view(ws, data_dir):
    token = CancelToken()

    def progress(done, total, text):
        token.cancel()

    with pytest.raises(Cancelled):
        import_vcf(ws, data_dir / SCOUT, "new", progress=progress, cancel=token, chunk_bytes=300_000)
    con = ws.cursor()
    left = con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name LIKE 'case_%' "
                       "AND database_name = current_database()").fetchone()[0]
    assert left == 0


def test_older_workspace_transcript_table_is_kept_under_the_view(tmp_path, data_dir):
    """A workspace made before the text store had a materialised transcripts table:
    on open it becomes the view's legacy part, rows unchanged."""
    w = Workspace(tmp_path / "ws")
    import_vcf(w, data_dir / SCOUT, "trio")
    con = w.cursor()
    want = con.execute("SELECT variant_id, transcript, consequence FROM case_1_transcripts ORDER BY ALL").fetchall()
    # rebuild the old layout: rows in a table of that name, no text store
    con.execute("CREATE TABLE old_rows AS SELECT * EXCLUDE (record_id) FROM case_1_transcripts")
    con.execute("DROP VIEW case_1_transcripts")
    con.execute("ALTER TABLE old_rows RENAME TO case_1_transcripts")
    con.execute("DELETE FROM case_1_annotations")
    con.execute("DELETE FROM annotation_sources")
    w.close()
    w = Workspace(tmp_path / "ws")
    try:
        con = w.cursor()
        kinds = con.execute("SELECT table_name FROM duckdb_tables() WHERE table_name LIKE 'case_1_transcripts%' "
                            "AND database_name = current_database()").fetchall()
        assert kinds == [("case_1_transcripts_v1",)]
        got = con.execute("SELECT variant_id, transcript, consequence FROM case_1_transcripts ORDER BY ALL").fetchall()
        assert got == want
        vid = want[0][0]
        rows = con.execute("SELECT count(*) FROM case_1_transcripts WHERE record_id = ? AND variant_id = ?",
                           [record_id_of(vid), vid]).fetchone()[0]
        assert rows == sum(1 for r in want if r[0] == vid)
    finally:
        w.close()


def test_two_files_with_different_field_lists_share_the_view(ws, data_dir):
    """Each file keeps its own CSQ field list; the view splits each with its own."""
    files = [data_dir / SCOUT, data_dir / "scout/vep97_annotated_clnsig_conservation_revel.vcf"]
    for f in files:
        import_vcf(ws, f, "both")
    con = ws.cursor()
    fields = con.execute("SELECT fields FROM annotation_sources WHERE info_key = 'CSQ' ORDER BY file_id").fetchall()
    assert len(fields) == 2 and fields[0][0] != fields[1][0]
    for file_id, path in zip(sorted(r[0] for r in con.execute(
            "SELECT DISTINCT file_id FROM annotation_sources WHERE info_key = 'CSQ'").fetchall()), files):
        text = subprocess.run(["bcftools", "+split-vep", "-d", "-f", "%Feature\\t%Consequence\\n", "-A", "tab",
                               str(path)], capture_output=True, text=True).stdout
        want = sorted(tuple(x if x != "." else None for x in line.split("\t")) for line in text.splitlines())
        got = sorted(con.execute("SELECT transcript, consequence FROM case_1_transcripts "
                                 "WHERE source = 'VEP' AND file_id = ?", [file_id]).fetchall(),
                     key=lambda r: tuple("" if x is None else x for x in r))
        want.sort(key=lambda r: tuple("" if x is None else x for x in r))
        assert got == want and got

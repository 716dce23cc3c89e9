"""INFO values that contradict their declared type: kept, typed correctly, reported.

A small hand-written VCF (the type traps are rare in public files; the real-data
case, CADD declared Integer holding decimals, is in test_import_real.py). Each
import runs with tiny chunks so a field turns bad only in a later chunk, after
its column was created with the declared type.
"""

from __future__ import annotations

import pytest

from raredesk.store.importer import import_vcf

HEADER = """##fileformat=VCFv4.2
##contig=<ID=1,length=249250621>
##INFO=<ID=DPI,Number=1,Type=Integer,Description="int, decimals later">
##INFO=<ID=TXT,Number=1,Type=Integer,Description="int, text later">
##INFO=<ID=SCORE,Number=1,Type=Float,Description="float, text later">
##INFO=<ID=ACS,Number=A,Type=Integer,Description="per-ALT ints">
##INFO=<ID=LST,Number=.,Type=Integer,Description="list of ints, a decimal later">
##INFO=<ID=GOOD,Number=1,Type=Integer,Description="always ints">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO
"""


def _records(n_good: int) -> list[str]:
    rows = []
    for i in range(n_good):
        rows.append(f"1\t{1000 + i * 10}\t.\tA\tG\t50\tPASS\tDPI={i};TXT={i};SCORE=0.{i};ACS={i};LST={i},{i + 1};GOOD={i}")
    # the traps, after several chunks of clean records
    rows.append("1\t900000\t.\tA\tG,T\t50\tPASS\tDPI=2.5;TXT=abc;SCORE=high;ACS=1;LST=1,2.5;GOOD=7")
    rows.append("1\t900010\t.\tC\tT\t50\tPASS\tDPI=3;TXT=4;SCORE=.;ACS=1,2;LST=.;GOOD=8")
    return rows


@pytest.fixture
def vcf(tmp_path):
    path = tmp_path / "types.vcf"
    path.write_text(HEADER + "\n".join(_records(400)) + "\n")
    return path


def test_values_contradicting_their_type_are_kept_and_reported(ws, vcf):
    res = import_vcf(ws, vcf, "types", chunk_bytes=4096)
    con = ws.cursor()
    stored = dict(con.execute("SELECT name, stored_type FROM info_fields").fetchall())
    assert stored["DPI"] == "DOUBLE"        # decimals -> Float
    assert stored["TXT"] == "VARCHAR"       # text -> text
    assert stored["SCORE"] == "VARCHAR"
    assert stored["LST"] == "DOUBLE[]"
    assert stored["GOOD"] == "BIGINT"       # clean fields keep their declared type
    assert stored["ACS"] == "BIGINT"

    warnings = "\n".join(res.warnings)
    assert "INFO/DPI is declared Integer but holds decimals (e.g. '2.5' in 1 records); stored as Float" in warnings
    assert "INFO/TXT is declared Integer but holds text (e.g. 'abc' in 1 records); stored as text" in warnings
    assert "INFO/SCORE is declared Float but holds text (e.g. 'high' in 1 records); stored as text" in warnings
    assert "INFO/LST is declared Integer but holds decimals" in warnings
    assert "INFO/ACS is declared Number=A but" in warnings     # both trap records: 1 value for 2 ALTs, 2 for 1
    assert "GOOD" not in warnings

    rows = con.execute("""SELECT pos, alt, info_DPI, info_TXT, info_SCORE, info_LST, info_ACS, info_GOOD
                          FROM case_1_variants WHERE pos >= 900000 ORDER BY pos, alt""").fetchall()
    assert rows == [
        (900000, "G", 2.5, "abc", "high", [1.0, 2.5], 1, 7),
        (900000, "T", 2.5, "abc", "high", [1.0, 2.5], None, 7),   # ACS has no value for the second ALT
        (900010, "T", 3.0, "4", None, None, 1, 8),                 # '.' is missing, not text
    ]
    # the clean records imported before the widening keep their values, now in the wider type
    early = con.execute("SELECT info_DPI, info_TXT, info_SCORE, info_LST FROM case_1_variants WHERE pos = 1050").fetchone()
    assert early == (5.0, "5", "0.5", [5.0, 6.0])
    kinds = con.execute("SELECT kind, field, sum(count) FROM import_warnings GROUP BY ALL").fetchall()
    assert ("type", "DPI", 1) in kinds and ("type", "SCORE", 1) in kinds and ("number", "ACS", 2) in kinds

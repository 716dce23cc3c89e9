"""Stored allele recounts (raredesk.store.recount) on real trio and mitochondrial data.

Read counts are checked against ``samtools mpileup`` run in the test; the
disagreement flags against what the VCF says and what mpileup shows. No Qt.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading

import pytest

from raredesk.errors import Cancelled, RareDeskError
from raredesk.store import recount as rc
from raredesk.store.cases import get_case
from raredesk.store.importer import CancelToken, import_vcf
from raredesk.store.workspace import Workspace

pytestmark = pytest.mark.skipif(shutil.which("samtools") is None, reason="samtools is not installed")

TRIO_IDS = ("HG001", "NA12891", "NA12892")


@pytest.fixture(scope="module")
def trio_files(data_dir):
    d = data_dir / "deeptrio"
    return {"fasta": str(d / "hs37d5.chr20.fa.gz"), "vcf": str(d / "derived_trio.bcftools.20_10000000_10010000.vcf.gz"),
            "ped": str(d / "derived_trio.ped"),
            "bams": {s: str(d / f"{s}.chr20.10_10p1mb_sorted.bam") for s in TRIO_IDS}}


def _import(ws, vcf, name, *, ped=None, bams=None, reference=None):
    res = import_vcf(ws, vcf, name, ped=ped, alignments=bams)
    if reference:
        ws.cursor().execute("UPDATE cases SET reference_path = ? WHERE case_id = ?", [reference, res.case_id])
    return res.case_id


@pytest.fixture
def trio_ws(tmp_path, trio_files):
    ws = Workspace(tmp_path / "ws")
    case_id = _import(ws, trio_files["vcf"], "trio", ped=trio_files["ped"], bams=dict(trio_files["bams"]),
                      reference=trio_files["fasta"])
    yield ws, case_id
    ws.close()


def mpileup_counts(bam, fasta, contig, positions, min_bq=13):
    """{pos: {allele or 'ref': [fwd, rev]}} from one samtools mpileup run at 1-based SNV positions."""
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fh:
        fh.write("".join(f"{contig}\t{p}\n" for p in sorted(set(positions))))
        sites = fh.name
    text = subprocess.run(["samtools", "mpileup", "-B", "-A", "-x", "-Q", str(min_bq), "-q", "0", "-f", fasta,
                           "-r", f"{contig}:{min(positions)}-{max(positions)}", "-l", sites, bam],
                          capture_output=True, text=True, check=True).stdout
    out = {p: {} for p in positions}
    for line in text.splitlines():
        f = line.split("\t")
        counts: dict = {}
        bases = re.sub(r"\^.", "", f[4]).replace("$", "")
        bases = re.sub(r"[+-](\d+)", lambda m: "\0" + m.group(1) + ":", bases)
        i = 0
        while i < len(bases):
            c = bases[i]
            if c == "\0":          # skip an indel's bases
                j = bases.index(":", i)
                i = j + 1 + int(bases[i + 1:j])
                continue
            key = "ref" if c in ".," else ("del" if c in "*#" else c.upper())
            strand = 0 if (c == "." or c == "*" or c.isupper()) else 1
            counts.setdefault(key, [0, 0])[strand] += 1
            i += 1
        out[int(f[1])] = counts
    return out


def test_migration_creates_the_table(tmp_path):
    with Workspace(tmp_path / "ws") as ws:
        con = ws.cursor()
        versions = [r[0] for r in con.execute("SELECT version FROM schema_version").fetchall()]
        assert 5 in versions
        cols = [r[0] for r in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = 'read_recounts' ORDER BY column_index").fetchall()]
        for c in ("case_id", "vkey", "sample_id", "ref_fwd", "alt_rev", "vcf_ad_alt", "flag", "alignment_sig"):
            assert c in cols
        con.execute("INSERT INTO read_recounts (case_id, vkey, sample_id, status, min_bq, min_mapq) "
                    "VALUES (1, '1:1:A:C', 's', 'ok', 13, 0)")
        with pytest.raises(Exception):   # one row per case, variant and sample
            con.execute("INSERT INTO read_recounts (case_id, vkey, sample_id, status, min_bq, min_mapq) "
                        "VALUES (1, '1:1:A:C', 's', 'ok', 13, 0)")


def test_recount_all_matches_mpileup_and_flags_the_de_novo_parent(trio_ws, trio_files):
    ws, case_id = trio_ws
    seen = []
    changes = rc.recount_all(ws, "trio", progress=lambda d, t, text: seen.append((d, t)))
    con = ws.cursor()
    case = get_case(con, "trio")
    n_variants = con.execute(f"SELECT count(DISTINCT vkey) FROM {case.table}").fetchone()[0]
    assert seen[-1] == (n_variants, n_variants) and len(seen) == n_variants
    assert changes.counted == 3 * n_variants and changes.failed == 0 and changes.tables == {"read_recounts"}
    stored = rc.get_recounts(con, case_id)
    assert len(stored) == n_variants and all(len(v) == 3 for v in stored.values())
    # Every biallelic SNV of the proband: REF/ALT by strand as samtools mpileup counts them.
    snvs = con.execute(f"SELECT vkey, pos, ref, alt FROM {case.table} WHERE length(ref) = 1 AND length(alt) = 1 "
                       "AND n_alleles = 1 ORDER BY pos").fetchall()
    assert len(snvs) > 40
    for sid in ("HG001", "NA12892"):
        pile = mpileup_counts(trio_files["bams"][sid], trio_files["fasta"], "20", [p for _, p, _, _ in snvs])
        for vkey, pos, ref, alt in snvs:
            got = stored[vkey][sid]
            want = pile[pos]
            assert [got.ref_fwd, got.ref_rev] == want.get("ref", [0, 0]), (sid, vkey)
            assert [got.alt_fwd, got.alt_rev] == want.get(alt, [0, 0]), (sid, vkey)
            other = sum(sum(v) for k, v in want.items() if k not in ("ref", alt))
            assert got.other_fwd + got.other_rev == other, (sid, vkey)
    # The de novo shape: child 0/1, both parents 0/0 in the VCF...
    key = "20:10008953:A:C"
    row = con.execute(f"SELECT s0_gt, s1_gt, s2_gt, s2_ad_alt FROM {case.table} WHERE vkey = ?", [key]).fetchone()
    assert row[:3] == (1, 0, 0)
    # ...but samtools shows C reads in the mother: flagged; the father (no C read) is not.
    mum = mpileup_counts(trio_files["bams"]["NA12892"], trio_files["fasta"], "20", [10_008_953])[10_008_953]
    assert sum(mum["C"]) >= rc.MIN_ALT_READS
    assert stored[key]["NA12892"].flags == ("alt_in_hom_ref",)
    assert stored[key]["NA12892"].alt_count == sum(mum["C"]) and stored[key]["NA12892"].vcf_ad_alt == row[3]
    assert stored[key]["NA12891"].flags == () and stored[key]["NA12891"].alt_count == 0
    assert stored[key]["HG001"].flags == ()
    flags = rc.variant_flags(con, case_id)
    assert "NA12892:alt_in_hom_ref" in flags[key]
    # Agreeing variants carry no flag.
    assert not stored["20:10000439:T:G"]["NA12892"].flags


def test_on_screen_recount_skips_what_is_counted(trio_ws):
    ws, case_id = trio_ws
    keys = ["20:10000117:C:T", "20:10000439:T:G", "20:10001436:A:AAGGCT"]
    first = rc.recount_on_screen(ws, "trio", keys)
    assert (first.counted, first.skipped) == (9, 0) and set(first.vkeys) == set(keys)
    again = rc.recount_on_screen(ws, "trio", keys)
    assert (again.counted, again.skipped) == (0, 9) and not again.changed
    forced = rc.recount_on_screen(ws, "trio", keys, force=True)
    assert forced.counted == 9
    other_filter = rc.recount_on_screen(ws, "trio", keys, min_bq=30)
    assert other_filter.counted == 9
    stored = rc.get_recounts(ws.cursor(), case_id, keys)
    assert {r.min_bq for per in stored.values() for r in per.values()} == {30}
    # The insertion is counted from the CIGAR: the VCF's AD and the reads agree roughly (het in the father).
    ins = stored["20:10001436:A:AAGGCT"]["NA12891"]
    assert ins.status == "ok" and ins.alt_count > 0
    assert rc.get_recounts(ws.cursor(), case_id, []) == {}


def test_cancel_keeps_what_was_counted(trio_ws):
    ws, case_id = trio_ws
    token = CancelToken()
    calls = []

    def progress(done, total, text):
        calls.append(done)
        if done == 7:
            token.cancel()

    with pytest.raises(Cancelled):
        rc.recount_all(ws, "trio", progress=progress, cancel=token, batch_size=5)
    stored = rc.get_recounts(ws.cursor(), case_id)
    assert len(stored) == 7 and calls[-1] == 7        # the 7 counted variants were written, nothing after
    resumed = rc.recount_all(ws, "trio")
    assert resumed.skipped == 7 * 3 and resumed.counted > 0


def test_carrier_without_alt_reads_is_flagged(tmp_path, data_dir):
    """Scout's demo VCF calls MT 14872 C>T and 16023 G>A; the MT BAM has no such read (wrong sample)."""
    bam = str(data_dir / "scout" / "reduced_mt.bam")
    fasta = str(data_dir / "mity" / "hs37d5.MT.fa")
    pile = mpileup_counts(bam, fasta, "MT", [14872, 16023, 15326])
    assert "T" not in pile[14872] and "A" not in pile[16023]
    with Workspace(tmp_path / "ws") as ws:
        case_id = _import(ws, data_dir / "scout" / "643594.clinical.vcf.gz", "scout",
                          ped=str(data_dir / "scout" / "643594.ped"),
                          bams={s: bam for s in ("ADM1059A1", "ADM1059A2", "ADM1059A3")}, reference=fasta)
        con = ws.cursor()
        case = get_case(con, "scout")
        mt = [r[0] for r in con.execute(f"SELECT vkey FROM {case.table} WHERE chrom IN ('MT', 'chrM') "
                                        "ORDER BY pos").fetchall()]
        assert len(mt) == 3
        ch = rc.recount_on_screen(ws, "scout", mt)
        assert ch.counted == 9
        got = rc.get_recounts(con, case_id, mt)
        k14872 = next(k for k in mt if ":14872:" in k)
        k16023 = next(k for k in mt if ":16023:" in k)
        k15326 = next(k for k in mt if ":15326:" in k)
        for sid in ("ADM1059A1", "ADM1059A2", "ADM1059A3"):
            a = got[k14872][sid]
            assert a.vcf_gt == 2 and a.alt_count == 0 and a.ref_count == sum(pile[14872]["ref"])
            assert "no_alt_in_carrier" in a.flags and "vaf_differs" in a.flags
            assert "no_alt_in_carrier" in got[k16023][sid].flags
            b = got[k15326][sid]     # 15326 A>G is in the reads too: no flag
            assert b.alt_count == sum(pile[15326].get("G", [0, 0])) > 0 and not b.flags


def test_symbolic_alleles_and_missing_files(tmp_path, data_dir, trio_files):
    with Workspace(tmp_path / "ws") as ws:
        sv_case = _import(ws, data_dir / "scout" / "643594.clinical.SV.vcf.gz", "sv",
                          bams={"ADM1059A2": str(data_dir / "scout" / "reduced_mt.bam")})
        con = ws.cursor()
        case = get_case(con, "sv")
        sym = [r[0] for r in con.execute(f"SELECT vkey FROM {case.table} WHERE orig_alt LIKE '<%'").fetchall()]
        assert sym
        ch = rc.recount_on_screen(ws, "sv", sym)
        assert ch.failed == len(sym) and ch.counted == 0
        got = rc.get_recounts(con, sv_case, sym)
        assert all(r.status == "unsupported" and "symbolic" in r.message for per in got.values() for r in per.values())
        # Samples without a BAM get no rows; a BAM that is gone gives an error row with the reason.
        bams = dict(trio_files["bams"])
        bams["NA12891"] = str(tmp_path / "gone.bam")
        del bams["NA12892"]
        tid = _import(ws, trio_files["vcf"], "trio", ped=trio_files["ped"], bams=bams, reference=trio_files["fasta"])
        ch = rc.recount_on_screen(ws, "trio", ["20:10000439:T:G"])
        got = rc.get_recounts(ws.cursor(), tid, ["20:10000439:T:G"])["20:10000439:T:G"]
        assert set(got) == {"HG001", "NA12891"}
        assert got["HG001"].status == "ok"
        assert got["NA12891"].status == "error" and "not found" in got["NA12891"].message
        assert ch.failed == 1


def test_compare_rules():
    assert rc.compare(0, 30, 0, 28, 3, 31) == ("alt_in_hom_ref",)
    assert rc.compare(0, 30, 0, 100, 2, 102) == ()                # 2 % ALT: sequencing noise
    assert rc.compare(1, 10, 9, 20, 0, 20) == ("no_alt_in_carrier", "vaf_differs")
    assert rc.compare(1, 10, 9, 3, 0, 3) == ()                    # too few reads to say
    assert rc.compare(2, 0, 30, 20, 18, 38) == ("vaf_differs",)
    assert rc.compare(1, 12, 10, 0, 0, 0) == ("no_reads",)
    assert rc.compare(None, None, None, 10, 10, 20) == ()


def test_join_sql_gives_columns_beside_the_vcf_ad(trio_ws):
    ws, case_id = trio_ws
    rc.recount_on_screen(ws, "trio", ["20:10008953:A:C", "20:10000439:T:G"])
    con = ws.cursor()
    case = get_case(con, "trio")
    rows = con.execute(
        f"SELECT v.vkey, v.s2_ad_ref, v.s2_ad_alt, r.s2_reads_ref, r.s2_reads_alt, r.reads_disagree, r.reads_flags "
        f"FROM {case.table} v LEFT JOIN ({rc.recount_join_sql(case)}) r USING (vkey) "
        "WHERE v.vkey IN ('20:10008953:A:C', '20:10000439:T:G', '20:10000117:C:T') ORDER BY v.pos").fetchall()
    by = {r[0]: r for r in rows}
    stored = rc.get_recounts(con, case_id)
    mum = stored["20:10008953:A:C"]["NA12892"]
    assert by["20:10008953:A:C"][3:] == (mum.ref_count, mum.alt_count, True, "NA12892:alt_in_hom_ref")
    assert by["20:10000439:T:G"][5] is False
    assert by["20:10000117:C:T"][3:] == (None, None, None, None)      # not counted yet


def test_read_only_workspace_refuses(tmp_path, trio_files):
    path = tmp_path / "ws"
    with Workspace(path) as ws:
        _import(ws, trio_files["vcf"], "trio", bams=dict(trio_files["bams"]))
    with Workspace(path, read_only=True, create=False) as ro:
        with pytest.raises(RareDeskError, match="read-only"):
            rc.recount_all(ro, "trio")


def test_concurrent_writers_do_not_collide(trio_ws):
    """The on-screen recount and the background job may run at once (workspace write lock)."""
    ws, case_id = trio_ws
    errors = []

    def job():
        try:
            rc.recount_all(ws, "trio", batch_size=7)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    t = threading.Thread(target=job)
    t.start()
    for _ in range(5):
        rc.recount_on_screen(ws, "trio", ["20:10000117:C:T", "20:10008953:A:C"], force=True)
    t.join()
    assert not errors
    con = ws.cursor()
    case = get_case(con, "trio")
    n = con.execute(f"SELECT count(DISTINCT vkey) FROM {case.table}").fetchone()[0]
    assert len(rc.get_recounts(con, case_id)) == n

"""VCF import checked against bcftools on the real files in ../shared/data.

Expected values come from bcftools run in the test (an independent reader),
never from RareDesk's own SQL.
"""

from __future__ import annotations

import math
import shutil
import subprocess

import pytest

from raredesk.store.cases import get_case
from raredesk.store.importer import import_vcf

pytestmark = pytest.mark.skipif(shutil.which("bcftools") is None, reason="bcftools is not installed")

REFERENCE_ALTS = {".", "<*>", "<NON_REF>", "<X>"}


def bcftools(*args: str) -> str:
    out = subprocess.run(["bcftools", *args], capture_output=True, text=True, check=True)
    return out.stdout


def split_records(path) -> list[list[str]]:
    """``bcftools norm -m-`` records (less reference-only alleles), as column lists."""
    text = subprocess.run(f"bcftools norm -m- '{path}' 2>/dev/null | bcftools view -H 2>/dev/null",
                          shell=True, capture_output=True, text=True, check=True).stdout
    rows = [line.split("\t") for line in text.splitlines() if line]
    return [r for r in rows if r[4] not in REFERENCE_ALTS]


FILES = [
    "scout/643594.clinical.vcf.gz",
    "cyvcf2/test.snpeff.vcf",
    "cyvcf2/test.vcf.gz",
    "slivar/ashk-trio.vcf.gz",
    "deepvariant/golden.postprocess_gvcf_output.g.vcf.gz",
    "deeptrio/golden.postprocess_gvcf_output.g.vcf",
    "deepvariant/HG002_GRCh37_chr20_1_1000000_svs.vcf.gz",
    "scout/643594.clinical.SV.vcf.gz",
    "scout/manta_vep_94_annotated_sv_cancer_file.vcf.gz",
    "scout/vep97_annotated_clnsig_conservation_revel.vcf",
    "scout/derived_reduced_mt.MT.calls.csq.vcf.gz",
    "slivar/clinvar_20191007.vcf.gz",
    "vcfanno/gno.vcf.gz",
    "vcfanno/exac.vcf.gz",
    "deepvariant/test_nist.b37_chr20_100kbp_at_10mb.vcf.gz",
    "deeptrio/derived_trio.bcftools.20_10000000_10010000.vcf.gz",
    "mity/mitomap_polymorphisms.vcf.gz",
]


@pytest.mark.parametrize("rel", FILES)
def test_row_count_equals_bcftools_split(ws, data_dir, rel):
    path = data_dir / rel
    expected = split_records(path)
    res = import_vcf(ws, path, "c")
    assert res.variant_rows == len(expected)
    con = ws.cursor()
    case = get_case(con, "c")
    assert con.execute(f"SELECT count(*) FROM {case.table}").fetchone()[0] == len(expected)
    # every split record is present under its original position, REF and ALT
    got = con.execute(f"SELECT orig_chrom, orig_pos, orig_ref, orig_alt FROM {case.table}").fetchall()
    want = [(r[0], int(r[1]), r[3], r[4]) for r in expected]
    assert sorted(got) == sorted(want)


def raw_info(path, key: str) -> list[str | None]:
    """INFO/key per record as written in the file (htslib would bend some values,
    e.g. it truncates decimals in a field declared Integer)."""
    import gzip

    opener = gzip.open if str(path).endswith(".gz") else open
    out = []
    with opener(path, "rt") as f:
        for line in f:
            if line.startswith("#"):
                continue
            info = line.rstrip("\n").split("\t")[7]
            value = None
            for item in info.split(";"):
                k, _, v = item.partition("=")
                if k == key:
                    value = v
                    break
            out.append(value)
    return out


def _num(x):
    if x in (None, ".", ""):
        return None
    try:
        return float(x)
    except ValueError:
        return x


def _same(a, b) -> bool:
    a, b = _num(a), _num(b)
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)
    return a == b


def test_vep_trio_values_equal_bcftools_query(ws, data_dir):
    path = data_dir / "scout/643594.clinical.vcf.gz"
    import_vcf(ws, path, "trio", ped=str(data_dir / "scout/643594.ped"))
    con = ws.cursor()
    case = get_case(con, "trio")
    samples = [s.sample_id for s in case.genotyped]
    assert samples == ["ADM1059A1", "ADM1059A2", "ADM1059A3"]
    assert case.proband == "ADM1059A2"
    roles = {s.sample_id: s.role for s in case.samples}
    assert roles == {"ADM1059A1": "father", "ADM1059A2": "proband", "ADM1059A3": "mother"}
    # Single-ALT file: one row per record. Fields compared value by value.
    fmt = "%CHROM\\t%POS\\t%REF\\t%ALT\\t%QUAL\\t%FILTER\\t%INFO/AC\\t%INFO/DP\\t%INFO/CADD\\t%INFO/RankScore[\\t%GT\\t%AD\\t%DP\\t%GQ]\\n"
    text = bcftools("query", "-f", fmt, str(path))
    rows = [line.split("\t") for line in text.splitlines()]
    info = dict(con.execute("SELECT name, column_name FROM info_fields WHERE case_id = ?", [case.case_id]).fetchall())
    got = con.execute(
        f"SELECT orig_chrom, orig_pos, orig_ref, orig_alt, qual, filter, {info['AC']}, {info['DP']}, {info['CADD']}, "
        f"{info['RankScore']}, s0_gt_raw, s0_ad_ref, s0_ad_alt, s0_dp, s0_gq, s1_gt_raw, s1_ad_ref, s1_ad_alt, s1_dp, "
        f"s1_gq, s2_gt_raw, s2_ad_ref, s2_ad_alt, s2_dp, s2_gq FROM {case.table} ORDER BY record_index").fetchall()
    assert len(got) == len(rows) == 680
    cadd_raw = raw_info(path, "CADD")
    for want, have, cadd in zip(rows, got, cadd_raw):
        assert have[:4] == (want[0], int(want[1]), want[2], want[3])
        assert _same(have[4], want[4])
        assert (have[5] or ".") == want[5]
        ac = have[6]
        assert _same(ac[0] if isinstance(ac, list) else ac, want[6].split(",")[0])
        assert _same(have[7], want[7])
        # CADD is declared Integer but holds decimals: htslib truncates them, RareDesk keeps them
        assert _same(have[8], cadd)
        rank = have[9]               # RankScore: Number=. String -> a list of values
        assert (",".join(rank) if rank else ".") == want[9]
        for k in range(3):
            gt, ad, dp, gq = want[10 + 4 * k: 14 + 4 * k]
            g = have[10 + 5 * k: 15 + 5 * k]
            assert (g[0] or ".") == gt.strip()
            ad_parts = ad.strip().split(",")
            if ad.strip() not in (".", ""):
                assert g[1] == int(ad_parts[0]) and g[2] == int(ad_parts[1])
            assert _same(g[3], dp.strip()) and _same(g[4], gq.strip())


def test_integer_field_with_decimals_is_kept_and_warned(ws, data_dir):
    res = import_vcf(ws, data_dir / "scout/643594.clinical.vcf.gz", "trio")
    assert any("INFO/CADD is declared Integer but holds decimals" in w for w in res.warnings)
    con = ws.cursor()
    stored = con.execute("SELECT stored_type FROM info_fields WHERE name = 'CADD'").fetchone()[0]
    assert stored == "DOUBLE"
    want = [float(x) for x in raw_info(data_dir / "scout/643594.clinical.vcf.gz", "CADD") if x not in (None, ".")]
    assert any(w != int(w) for w in want)  # the trap: decimals in an Integer field
    got = [r[0] for r in con.execute("SELECT info_CADD FROM case_1_variants WHERE info_CADD IS NOT NULL "
                                     "ORDER BY record_index").fetchall()]
    assert got == pytest.approx(want)
    # recorded in the workspace too
    assert con.execute("SELECT count(*) FROM import_warnings WHERE field = 'CADD'").fetchone()[0] == 1


def test_text_in_integer_field_is_kept_as_text(ws, data_dir):
    path = data_dir / "deepvariant/test_nist.b37_chr20_100kbp_at_10mb.vcf.gz"
    res = import_vcf(ws, path, "nist")
    assert any("datasetsmissingcall" in w and "text" in w for w in res.warnings)
    want = raw_info(path, "datasetsmissingcall")   # htslib turns these into missing values
    con = ws.cursor()
    col = con.execute("SELECT column_name FROM info_fields WHERE name = 'datasetsmissingcall'").fetchone()[0]
    got = con.execute(f"SELECT record_index, {col} FROM case_1_variants ORDER BY record_index, allele_index").fetchall()
    assert any(v and not v.replace(",", "").isdigit() for v in want)
    for record_index, value in got:
        w = want[record_index]
        assert (",".join(value) if value else None) == w


def test_multiallelic_values_recoded_per_allele(ws, data_dir):
    """Number=A INFO values on multi-allelic records, against bcftools norm -m-."""
    path = data_dir / "deeptrio/derived_trio.bcftools.20_10000000_10010000.vcf.gz"
    import_vcf(ws, path, "trio")
    con = ws.cursor()
    fmt = "%CHROM\\t%POS\\t%REF\\t%ALT\\t%INFO/AC\\t%INFO/AN\\t%INFO/DP\\n"
    split = subprocess.run(f"bcftools norm -m- '{path}' 2>/dev/null | bcftools query -f '{fmt}'",
                           shell=True, capture_output=True, text=True, check=True).stdout
    rows = {(r[0], int(r[1]), r[2], r[3]): r for r in (line.split("\t") for line in split.splitlines())}
    cols = dict(con.execute("SELECT name, column_name FROM info_fields").fetchall())
    got = con.execute(f"SELECT orig_chrom, orig_pos, orig_ref, orig_alt, n_alleles, {cols['AC']}, {cols['AN']}, "
                      f"{cols['DP']}, vkey FROM case_1_variants").fetchall()
    checked = 0
    for chrom, pos, ref, alt, n_alleles, ac, an, dp, vkey in got:
        want = rows[(chrom, pos, ref, alt)]
        assert _same(ac, want[4]) and _same(an, want[5]) and _same(dp, want[6])
        checked += n_alleles > 1
    multi_alts = [line.split("\t")[4] for line in bcftools("view", "-H", "-m3", str(path)).splitlines()]
    assert checked == sum(len(a.split(",")) for a in multi_alts) > 0
    keys = {r[-1] for r in got}
    # split alleles are trimmed to their minimal representation in the key
    assert "20:10002458:G:GTT" in keys and "20:10002458:G:GTTT" in keys


def test_multiallelic_genotypes_and_ad_against_bcftools(ws, data_dir, tmp_path):
    path = data_dir / "deeptrio/derived_trio.bcftools.20_10000000_10010000.vcf.gz"
    import_vcf(ws, path, "trio")
    con = ws.cursor()
    fmt = "%CHROM\\t%POS\\t%REF\\t%ALT[\\t%GT\\t%AD]\\n"
    split = subprocess.run(f"bcftools norm -m- '{path}' 2>/dev/null | bcftools query -f '{fmt}'",
                           shell=True, capture_output=True, text=True, check=True).stdout
    n_multi = int(subprocess.run(f"bcftools view -H -m3 '{path}' | wc -l", shell=True, capture_output=True,
                                 text=True).stdout)
    want = {}
    for line in split.splitlines():
        r = line.split("\t")
        want[(r[0], int(r[1]), r[2], r[3])] = r[4:]
    got = con.execute("SELECT orig_chrom, orig_pos, orig_ref, orig_alt, n_alleles, s0_gt, s0_ad_ref, s0_ad_alt, "
                      "s1_gt, s1_ad_ref, s1_ad_alt, s2_gt, s2_ad_ref, s2_ad_alt FROM case_1_variants").fetchall()
    multi_rows = 0
    for row in got:
        w = want[tuple(row[:4])]
        for k in range(3):
            gt, ad = w[2 * k], w[2 * k + 1]
            alleles = gt.replace("|", "/").split("/")
            if all(a == "." for a in alleles):
                exp_code = None
            else:
                ones = alleles.count("1")
                exp_code = 0 if ones == 0 else (2 if ones == len(alleles) else 1)
                if ones == 0 and "." in alleles:
                    exp_code = None
            code, ad_ref, ad_alt = row[5 + 3 * k: 8 + 3 * k]
            assert code == exp_code, (row[:4], k, gt)
            if ad not in (".", ""):
                parts = ad.split(",")
                assert ad_ref == _num(parts[0]) and ad_alt == _num(parts[1])
        multi_rows += row[4] > 1
    assert n_multi > 0 and multi_rows >= 2 * n_multi


def test_gvcf_reference_blocks_skipped(ws, data_dir):
    path = data_dir / "deepvariant/golden.postprocess_gvcf_output.g.vcf.gz"
    res = import_vcf(ws, path, "g")
    n_ref_only = int(subprocess.run(f"bcftools view -H '{path}' | awk -F'\\t' '$5==\"<*>\"' | wc -l", shell=True,
                                    capture_output=True, text=True).stdout)
    assert res.skipped["reference_block"] >= n_ref_only > 0
    con = ws.cursor()
    assert con.execute("SELECT count(*) FROM case_1_variants WHERE alt LIKE '<%'").fetchone()[0] == 0


def test_sv_fields_kept(ws, data_dir):
    path = data_dir / "scout/643594.clinical.SV.vcf.gz"
    import_vcf(ws, path, "sv")
    want = [line.split("\t") for line in bcftools("query", "-f", "%POS\\t%ALT\\t%INFO/SVTYPE\\t%INFO/END\\n",
                                                   str(path)).splitlines()]
    con = ws.cursor()
    got = con.execute("SELECT orig_pos, orig_alt, sv_type, sv_end, vtype FROM case_1_variants "
                      "ORDER BY record_index").fetchall()
    assert len(got) == len(want)
    for (pos, alt, svtype, end, vtype), w in zip(got, want):
        assert (pos, alt, svtype) == (int(w[0]), w[1], w[2])
        assert end == int(w[3])
        assert vtype == "SV"   # symbolic or sequence-resolved, SVTYPE given


def test_breakends_kept(ws, data_dir):
    path = data_dir / "scout/manta_vep_94_annotated_sv_cancer_file.vcf.gz"
    import_vcf(ws, path, "bnd")
    con = ws.cursor()
    n_bnd = int(subprocess.run(f"bcftools view -H -i 'INFO/SVTYPE=\"BND\"' '{path}' | wc -l", shell=True,
                               capture_output=True, text=True).stdout)
    got = con.execute("SELECT count(*), count(*) FILTER (WHERE orig_alt LIKE '%[%' OR orig_alt LIKE '%]%') "
                      "FROM case_1_variants WHERE sv_type = 'BND'").fetchone()
    assert got[0] == n_bnd == got[1] == 12


def test_vep_transcripts_equal_split_vep(ws, data_dir):
    """Every CSQ entry becomes a transcript row matched to its allele (vs bcftools +split-vep)."""
    path = data_dir / "scout/643594.clinical.vcf.gz"
    import_vcf(ws, path, "trio")
    text = subprocess.run(["bcftools", "+split-vep", "-d", "-f", "%CHROM\\t%POS\\t%ALT\\t%Feature\\t%Consequence\\t%SYMBOL\\n",
                           "-A", "tab", str(path)], capture_output=True, text=True).stdout
    want = sorted(tuple(line.split("\t")) for line in text.splitlines())
    con = ws.cursor()
    got = sorted(con.execute(
        "SELECT v.orig_chrom, CAST(v.orig_pos AS VARCHAR), v.orig_alt, coalesce(t.transcript, '.'), "
        "coalesce(t.consequence, '.'), coalesce(t.gene, '.') FROM case_1_transcripts t "
        "JOIN case_1_variants v USING (variant_id) WHERE t.source = 'VEP'").fetchall())
    assert len(want) > 1000
    assert got == want


def test_snpeff_and_vep_present_together_and_picked(ws, data_dir):
    import_vcf(ws, data_dir / "scout/643594.clinical.vcf.gz", "trio")
    con = ws.cursor()
    sources = dict(con.execute("SELECT source, count(*) FROM case_1_transcripts GROUP BY source").fetchall())
    assert set(sources) == {"VEP", "SnpEff"}
    # Picked = MANE Select > canonical > most severe, among VEP transcripts when present
    bad = con.execute("""
        SELECT count(*) FROM case_1_variants v
        WHERE v.transcript IS NOT NULL AND EXISTS (
            SELECT 1 FROM case_1_transcripts t WHERE t.variant_id = v.variant_id AND t.source = 'VEP'
              AND coalesce(t.canonical, false) AND NOT coalesce(v.canonical, false))""").fetchone()[0]
    assert bad == 0
    worse = con.execute("""
        SELECT count(*) FROM case_1_variants v JOIN case_1_transcripts p
          ON p.variant_id = v.variant_id AND p.transcript = v.transcript AND p.source = 'VEP'
        WHERE EXISTS (SELECT 1 FROM case_1_transcripts t WHERE t.variant_id = v.variant_id AND t.source = 'VEP'
                      AND coalesce(t.canonical, false) = coalesce(p.canonical, false)
                      AND t.severity < p.severity)""").fetchone()[0]
    assert worse == 0


def test_legacy_eff_parsed(ws, data_dir):
    path = data_dir / "cyvcf2/test.snpeff.vcf"
    import_vcf(ws, path, "eff")
    con = ws.cursor()
    n_entries = sum(len(v.split(",")) for v in bcftools("query", "-f", "%INFO/EFF\\n", str(path)).split())
    assert con.execute("SELECT count(*) FROM case_1_transcripts WHERE source = 'SnpEff-EFF'").fetchone()[0] == n_entries
    # effect names mapped to SO terms, impacts kept
    cons = {r[0] for r in con.execute("SELECT DISTINCT consequence FROM case_1_transcripts").fetchall()}
    assert cons and all(c == c.lower() or "UTR" in c or "NMD" in c for c in cons if c)


def test_bcsq_matched_and_scores_typed(ws, data_dir):
    path = data_dir / "scout/derived_reduced_mt.MT.calls.csq.vcf.gz"
    import_vcf(ws, path, "mt")
    con = ws.cursor()
    row = con.execute("SELECT gene, consequence, hgvsp FROM case_1_variants WHERE orig_pos = 8860").fetchone()
    assert row[0] == "MT-ATP6" and row[1] == "missense_variant" and "112" in row[2]
    assert con.execute("SELECT chrom FROM case_1_variants LIMIT 1").fetchone()[0] == "MT"


def test_revel_gnomad_clinvar_scores(ws, data_dir):
    path = data_dir / "scout/vep97_annotated_clnsig_conservation_revel.vcf"
    import_vcf(ws, path, "one")
    con = ws.cursor()
    row = con.execute("SELECT gnomad_af, gnomad_grpmax_af, cadd_phred, clinvar_sig, sift_pred, polyphen_pred "
                      "FROM case_1_variants").fetchone()
    want = bcftools("query", "-f", "%INFO/GNOMADAF\\t%INFO/GNOMADAF_popmax\\n", str(path)).split()
    assert _same(row[0], want[0]) and _same(row[1], want[1])
    assert _same(row[2], raw_info(path, "CADD")[0])
    assert row[3] is not None


def test_contigs_harmonised_and_build_detected(ws, data_dir):
    r1 = import_vcf(ws, data_dir / "deepvariant/test_nist.b37_chr20_100kbp_at_10mb.vcf.gz", "a")
    r2 = import_vcf(ws, data_dir / "deeptrio/derived_trio.bcftools.20_10000000_10010000.vcf.gz", "b")
    r3 = import_vcf(ws, data_dir / "scout/derived_reduced_mt.MT.calls.csq.vcf.gz", "c", build="GRCh37")
    con = ws.cursor()
    assert con.execute("SELECT DISTINCT chrom FROM case_1_variants").fetchall() == [("20",)]
    assert con.execute("SELECT DISTINCT orig_chrom FROM case_1_variants").fetchall() == [("chr20",)]
    assert con.execute("SELECT DISTINCT chrom FROM case_2_variants").fetchall() == [("20",)]
    assert r2.build == "GRCh37" and r3.build == "GRCh37"
    assert r1.build in ("GRCh37", None)


def test_reimport_same_file_adds_nothing(ws, data_dir):
    path = data_dir / "slivar/ashk-trio.vcf.gz"
    first = import_vcf(ws, path, "a")
    again = import_vcf(ws, path, "a")
    assert again.already_imported and again.variant_rows == 0
    con = ws.cursor()
    assert con.execute("SELECT count(*) FROM case_1_variants").fetchone()[0] == first.variant_rows
    assert con.execute("SELECT count(*) FROM files").fetchone()[0] == 1


def test_second_file_extends_case(ws, data_dir):
    import_vcf(ws, data_dir / "scout/643594.clinical.vcf.gz", "fam", ped=str(data_dir / "scout/643594.ped"))
    import_vcf(ws, data_dir / "scout/643594.clinical.SV.vcf.gz", "fam")
    con = ws.cursor()
    counts = con.execute("SELECT file_id, count(*) FROM case_1_variants GROUP BY file_id ORDER BY 1").fetchall()
    assert [c for _, c in counts] == [680, 19]
    assert con.execute("SELECT count(DISTINCT variant_id) FROM case_1_variants").fetchone()[0] == 699
    assert con.execute("SELECT n_variants FROM cases").fetchone()[0] == 699


def test_ped_mismatch_is_clear(ws, data_dir):
    from raredesk.errors import InputError

    with pytest.raises(InputError, match="no PED individual matches a VCF sample"):
        import_vcf(ws, data_dir / "slivar/ashk-trio.vcf.gz", "x", ped=str(data_dir / "scout/643594.ped"))
    assert ws.cursor().execute("SELECT count(*) FROM cases").fetchone()[0] == 0


def test_giab_trio_with_ped(ws, data_dir):
    res = import_vcf(ws, data_dir / "slivar/ashk-trio.vcf.gz", "ashk", ped=str(data_dir / "slivar/ashk-trio.ped"))
    con = ws.cursor()
    case = get_case(con, "ashk")
    assert {s.role for s in case.samples} >= {"proband", "father", "mother"}
    assert res.variant_rows == len(split_records(data_dir / "slivar/ashk-trio.vcf.gz"))


def test_ped_member_without_genotypes(ws, data_dir, tmp_path):
    """A PED individual absent from the VCF (an untested grandparent) is kept in the pedigree."""
    ped = tmp_path / "family.ped"
    rows = (data_dir / "scout/643594.ped").read_text().splitlines()
    rows = [r.replace("ADM1059A1\t0\t0", "ADM1059A1\tGRANDPA\t0") if r.startswith("643594\tADM1059A1") else r
            for r in rows]
    rows.append("643594\tGRANDPA\t0\t0\t1\t1")
    ped.write_text("\n".join(rows) + "\n")
    res = import_vcf(ws, data_dir / "scout/643594.clinical.vcf.gz", "fam", ped=str(ped))
    assert any("without genotypes" in w and "GRANDPA" in w for w in res.warnings)
    case = get_case(ws.cursor(), "fam")
    grandpa = case.sample("GRANDPA")
    assert grandpa.sample_index is None and grandpa.sex == "male"
    assert case.sample("ADM1059A1").father_id == "GRANDPA"
    assert len(case.genotyped) == 3

"""Every operator and field kind on the real trios, checked against the same test written in Python.

The expected set comes from evaluating the condition in plain Python over rows read with a plain
``SELECT`` of the columns (no WHERE), so a wrong SQL translation, a wrong missing-value rule or a
wrong negation shows up as a difference.
"""

from __future__ import annotations

import math
import re

import pytest

from raredesk.filters import FilterError, compile_for_case
from raredesk.store.cases import get_case

GT = {"hom_ref": 0, "het": 1, "hom_alt": 2}


def rows_of(con, case, cols):
    sel = ", ".join(f'"{c}"' for c in cols)
    out = []
    for r in con.execute(f'SELECT variant_id, {sel} FROM "{case.table}"').fetchall():
        d = dict(zip(cols, r[1:]))
        d["_id"] = r[0]
        out.append(d)
    return out


def matched(con, case, text):
    where, params = compile_for_case(con, case, text, None)
    return {r[0] for r in con.execute(f'SELECT variant_id FROM "{case.table}" WHERE {where}', params).fetchall()}


def check(con, case_name, text, cols, pred, min_hits=1):
    case = get_case(con, case_name)
    rows = rows_of(con, case, cols)
    want = {r["_id"] for r in rows if pred(r)}
    got = matched(con, case, text)
    assert got == want, f"{text}: {len(got)} rows, expected {len(want)}"
    assert len(want) >= min_hits, f"{text}: the data gives no positive case to check"
    assert len(want) < len(rows) or text.startswith("not"), f"{text}: matches everything, a weak check"
    return want


def lt(a, b):
    return a is not None and not (isinstance(a, float) and math.isnan(a)) and a < b


# ------------------------------------------------------------------------------------------ numbers


@pytest.mark.parametrize("text, pred", [
    ("qual < 100", lambda r: lt(r["qual"], 100)),
    ("qual <= 30.5", lambda r: r["qual"] is not None and r["qual"] <= 30.5),
    ("qual > 1000", lambda r: r["qual"] is not None and r["qual"] > 1000),
    ("qual >= 1000", lambda r: r["qual"] is not None and r["qual"] >= 1000),
    ("qual != 14", lambda r: r["qual"] is not None and r["qual"] != 14),
    ("qual = 14", lambda r: r["qual"] == 14),
    ("qual between 50 and 60", lambda r: r["qual"] is not None and 50 <= r["qual"] <= 60),
    ("qual not between 50 and 60", lambda r: not (r["qual"] is not None and 50 <= r["qual"] <= 60)),
    ("qual in (14, 15.99)", lambda r: r["qual"] in (14, 15.99)),
    ("not qual < 100", lambda r: not lt(r["qual"], 100)),
])
def test_number_operators(con, text, pred):
    check(con, "scout", text, ["qual"], pred)


def test_integer_info_field_and_missing(con):
    check(con, "scout", "INFO/DP > 100", ["info_DP"], lambda r: r["info_DP"] is not None and r["info_DP"] > 100)
    check(con, "scout", "INFO/EXACAF is missing", ["info_EXACAF"], lambda r: r["info_EXACAF"] is None)
    check(con, "scout", "info.EXACAF is not missing", ["info_EXACAF"], lambda r: r["info_EXACAF"] is not None)
    # a comparison is false on a missing value; its negation is true there
    a = check(con, "scout", "INFO/EXACAF < 0.01", ["info_EXACAF"], lambda r: lt(r["info_EXACAF"], 0.01))
    b = check(con, "scout", "not INFO/EXACAF < 0.01", ["info_EXACAF"], lambda r: not lt(r["info_EXACAF"], 0.01))
    assert not a & b
    assert len(a | b) == get_case(con, "scout").n_variants


def test_bare_info_name_and_case_insensitive_builtin(con):
    check(con, "scout", "EXACAF < 0.01", ["info_EXACAF"], lambda r: lt(r["info_EXACAF"], 0.01))
    check(con, "scout", "QUAL < 100", ["qual"], lambda r: lt(r["qual"], 100))


# ------------------------------------------------------------------------------------------ text


@pytest.mark.parametrize("text, pred", [
    ('gene = "PER3"', lambda r: r["gene"] == "PER3"),
    ("gene = PER3", lambda r: r["gene"] == "PER3"),
    ("gene != PER3", lambda r: r["gene"] is not None and r["gene"] != "PER3"),
    ("not gene = PER3", lambda r: r["gene"] != "PER3"),
    ("gene in (PER3, SCN1A, TTN)", lambda r: r["gene"] in ("PER3", "SCN1A", "TTN")),
    ("gene not in (PER3, TTN)", lambda r: r["gene"] not in ("PER3", "TTN")),
    ("impact in (high, Moderate)", lambda r: r["impact"] in ("HIGH", "MODERATE")),
    ("consequence has missense_variant", lambda r: "missense_variant" in (r["consequence"] or "").split("&")),
    ("consequence has (stop_gained, splice_region_variant)",
     lambda r: bool({"stop_gained", "splice_region_variant"} & set((r["consequence"] or "").split("&")))),
    ("consequence not has intron_variant", lambda r: "intron_variant" not in (r["consequence"] or "").split("&")),
    ("clinvar ~ pathogenic", lambda r: bool(re.search("pathogenic", r["clinvar_sig"] or "", re.I))),
    ('clinvar_sig ~ "^(likely )?pathogenic$"',
     lambda r: bool(re.search("^(likely )?pathogenic$", r["clinvar_sig"] or "", re.I))),
    ("hgvsp !~ ter", lambda r: not re.search("ter", r["hgvsp"] or "", re.I)),
    ("filter = PASS", lambda r: r["filter"] == "PASS"),
    ("filter is missing or filter = PASS", lambda r: r["filter"] in (None, "PASS")),
    ("chrom = chrX", lambda r: r["chrom"] == "X"),
    ("chrom in (X, chrY, MT)", lambda r: r["chrom"] in ("X", "Y", "MT")),
    ("vtype = SNV and not chrom = 1", lambda r: r["vtype"] == "SNV" and r["chrom"] != "1"),
])
def test_text_operators(con, text, pred):
    check(con, "scout", text, ["gene", "impact", "consequence", "clinvar_sig", "hgvsp", "filter", "chrom", "vtype"],
          pred)


def test_list_fields(con):
    cols = ["genes", "consequences"]
    check(con, "ashk", "genes has FAM87B", cols, lambda r: "FAM87B" in (r["genes"] or []))
    check(con, "ashk", "genes = FAM87B", cols, lambda r: "FAM87B" in (r["genes"] or []))
    check(con, "ashk", "genes in (FAM87B, OR4F5)", cols, lambda r: bool({"FAM87B", "OR4F5"} & set(r["genes"] or [])))
    check(con, "ashk", 'genes ~ "^rp11-"', cols,
          lambda r: any(re.search("^rp11-", g, re.I) for g in r["genes"] or []))
    check(con, "ashk", "consequences has stop_gained", cols, lambda r: "stop_gained" in (r["consequences"] or []))
    check(con, "ashk", "genes is missing", cols, lambda r: not r["genes"])


def test_number_lists(con):
    case = get_case(con, "scout")
    cols = ["info_DP4"]
    check(con, "scout", "INFO/DP4 > 40", cols, lambda r: any(x is not None and x > 40 for x in r["info_DP4"] or []))
    check(con, "scout", "INFO/DP4 between 0 and 1", cols,
          lambda r: any(x is not None and 0 <= x <= 1 for x in r["info_DP4"] or []))
    check(con, "scout", "INFO/DP4 in (3, 4)", cols, lambda r: bool({3, 4} & set(r["info_DP4"] or [])))
    assert case.n_variants


def test_flags(con):
    check(con, "scout", "INFO/DB", ["info_DB"], lambda r: r["info_DB"] is True)
    check(con, "scout", "not INFO/DB", ["info_DB"], lambda r: r["info_DB"] is not True)
    check(con, "scout", "INFO/DB = false", ["info_DB"], lambda r: r["info_DB"] is False)


# ------------------------------------------------------------------------------------------ samples


def _scout_cols():
    return [f"s{k}_{f}" for k in range(3) for f in ("gt", "gq", "dp", "ab", "ad_alt", "phased")]


# scout: s0 = ADM1059A1 (father), s1 = ADM1059A2 (proband), s2 = ADM1059A3 (mother)
@pytest.mark.parametrize("text, pred", [
    ("gt(proband) = het", lambda r: r["s1_gt"] == 1),
    ("gt(ADM1059A2) = hom_alt", lambda r: r["s1_gt"] == 2),
    ('gt("ADM1059A3") = hom_ref', lambda r: r["s2_gt"] == 0),
    ("gt(proband) != het", lambda r: r["s1_gt"] is not None and r["s1_gt"] != 1),
    ("not gt(proband) = het", lambda r: r["s1_gt"] != 1),
    ("gt(proband) = missing", lambda r: r["s1_gt"] is None),
    ("gt(mother) in (het, missing)", lambda r: r["s2_gt"] in (1, None)),
    ("gt(any) = hom_alt", lambda r: 2 in (r["s0_gt"], r["s1_gt"], r["s2_gt"])),
    ("gt(all) = het", lambda r: r["s0_gt"] == r["s1_gt"] == r["s2_gt"] == 1),
    ("not gt(all) = het", lambda r: not (r["s0_gt"] == r["s1_gt"] == r["s2_gt"] == 1)),
    ("gq(mother) >= 20", lambda r: r["s2_gq"] is not None and r["s2_gq"] >= 20),
    ("dp(any) < 10", lambda r: any(r[f"s{k}_dp"] is not None and r[f"s{k}_dp"] < 10 for k in range(3))),
    ("not dp(any) < 10", lambda r: not any(r[f"s{k}_dp"] is not None and r[f"s{k}_dp"] < 10 for k in range(3))),
    ("ab(proband) between 0.3 and 0.7", lambda r: r["s1_ab"] is not None and 0.3 <= r["s1_ab"] <= 0.7),
    ("vaf(father) > 0.9", lambda r: r["s0_ab"] is not None and r["s0_ab"] > 0.9),
    ("ADM1059A2.gq > 50", lambda r: r["s1_gq"] is not None and r["s1_gq"] > 50),
    ("proband.dp <= 12", lambda r: r["s1_dp"] is not None and r["s1_dp"] <= 12),
    ("alt_reads(mother) = 0", lambda r: r["s2_ad_alt"] == 0),
    ("gq(proband) is missing", lambda r: r["s1_gq"] is None),
])
def test_sample_terms(con, text, pred):
    check(con, "scout", text, _scout_cols(), pred)


# ------------------------------------------------------------------------------------------ regions


def test_regions_use_the_variant_extent(con):
    cols = ["chrom", "pos", "ref", "sv_end"]

    def end(r):
        return r["sv_end"] if r["sv_end"] is not None else r["pos"] + len(r["ref"]) - 1

    check(con, "ashk", "in 1:1000000-2000000",
          cols, lambda r: r["chrom"] == "1" and r["pos"] <= 2000000 and end(r) >= 1000000)
    check(con, "ashk", "in chr1:1000000-2000000, 2:1-5,000,000",
          cols, lambda r: (r["chrom"] == "1" and r["pos"] <= 2000000 and end(r) >= 1000000)
          or (r["chrom"] == "2" and r["pos"] <= 5000000 and end(r) >= 1))
    check(con, "ashk", "not in 1:1-100000000", cols,
          lambda r: not (r["chrom"] == "1" and r["pos"] <= 100000000 and end(r) >= 1))
    # a deletion starting before the region but reaching into it is in it
    case = get_case(con, "ashk")
    pos, ref = con.execute(f'SELECT pos, ref FROM "{case.table}" WHERE length(ref) >= 5 '
                           f'ORDER BY pos LIMIT 1').fetchone()
    last = pos + len(ref) - 1
    ids = matched(con, case, f"in 1:{last}-{last + 1}")
    vid = con.execute(f'SELECT variant_id FROM "{case.table}" WHERE pos = ? AND ref = ?', [pos, ref]).fetchone()[0]
    assert vid in ids


def test_bed_regions_small_and_large(con, tmp_path):
    case = get_case(con, "ashk")
    rows = con.execute(f'SELECT chrom, pos, ref, sv_end FROM "{case.table}"').fetchall()
    # 2 intervals (plain range tests) and 300 intervals (joined on bins) with overlaps and 'chr' names
    small = [("chr1", 999_999, 2_000_000), ("1", 1_500_000, 2_500_000)]
    large = [(("chr1" if i % 2 else "1"), 100_000 * i, 100_000 * i + 30_000) for i in range(300)]
    for name, ivs in (("small", small), ("large", large)):
        bed = tmp_path / f"{name}.bed"
        bed.write_text("track name=x\n" + "".join(f"{c}\t{s}\t{e}\tT{i}\n" for i, (c, s, e) in enumerate(ivs)))

        def inside(r):
            c, pos, ref, sv_end = r
            end = sv_end if sv_end is not None else pos + len(ref) - 1
            return any(c == cc.replace("chr", "") and pos <= e and end >= s + 1 for cc, s, e in ivs)

        want = {i for i, r in enumerate(rows) if inside(r)}
        got_ids = matched(con, case, f'in bed "{bed}"')
        all_ids = [r[0] for r in con.execute(f'SELECT variant_id FROM "{case.table}"').fetchall()]
        got = {i for i, v in enumerate(all_ids) if v in got_ids}
        assert got == want and want, name


def test_bed_errors_point_at_the_path(con, tmp_path):
    case = get_case(con, "ashk")
    with pytest.raises(FilterError) as ei:
        compile_for_case(con, case, f'gene = A and in bed "{tmp_path}/none.bed"', None)
    assert ei.value.position == 20 and "not found" in str(ei.value)


# ------------------------------------------------------------------------------------------ errors


@pytest.mark.parametrize("text, pos, words", [
    ("gnomad_afx < 0.1", 0, ["gnomad_af"]),
    ("gene = A and cadd_phread > 20", 13, ["cadd_phred"]),
    ("impcat = HIGH", 0, ["impact"]),
    ("gnomad_af ~ x", 0, []),
    ("gene < 3", 7, []),
    ("gene between 1 and 2", 0, []),
    ("qual = high", 7, []),
    ("gt(proband) = heterozygous", 14, []),
    ("gt(proband) = hett", 14, ["het"]),
    ("gt(proband) > het", 14, []),
    ("gt(nobody) = het", 3, []),
    ("gq(sibling) > 2", 3, []),
    ("gene", 0, []),
    ("qual between 9 and 1", 13, []),
    ("clinvar ~ '(unclosed'", 10, []),
    ("de_novo(min_qg=3)", 8, ["min_gq"]),
    ("de_novo(min_ab=0.9)", 15, []),
    ("de_novo(any)", 8, []),
    ('gene in panel "no such panel"', 14, []),
    ('in panel "acmg_sf_v3.2"', 9, []),
    ("consequence_x has x", 0, ["consequence"]),
])
def test_compile_errors(con, text, pos, words):
    case = get_case(con, "scout")
    with pytest.raises(FilterError) as ei:
        compile_for_case(con, case, text, None)
    e = ei.value
    assert e.position == pos, str(e)
    for w in words:
        assert w in e.suggestions, (e.suggestions, str(e))


def test_empty_filter_is_everything(con):
    case = get_case(con, "scout")
    assert compile_for_case(con, case, "  ", None) == ("TRUE", [])


def test_regions_and_long_variants(ws, data_dir, tmp_path):
    """Structural variants (END far beyond POS) overlap a region they reach into, with few or many regions."""
    from raredesk.store.importer import import_vcf

    import_vcf(ws, data_dir / "scout/643594.clinical.SV.vcf.gz", "svs")
    con = ws.cursor()
    case = get_case(con, "svs")
    rows = con.execute(f'SELECT variant_id, chrom, pos, ref, sv_end FROM "{case.table}"').fetchall()
    ends = {r[0]: (r[1], r[2], r[4] if r[4] is not None else r[2] + len(r[3]) - 1) for r in rows}
    vid, (chrom, p, e) = max(ends.items(), key=lambda kv: kv[1][2] - kv[1][1])
    assert e - p > 1000
    # a region touching only the last base of the longest variant, alone or among 100 others
    for extra in (0, 100):
        regions = [(chrom, e, e + 10)] + [("20", 2_000_000 + 1000 * i, 2_000_000 + 1000 * i + 10) for i in range(extra)]
        bed = tmp_path / f"r{extra}.bed"
        bed.write_text("".join(f"chr{c}\t{s - 1}\t{t}\n" for c, s, t in regions))
        want = {v for v, (c, a, b) in ends.items() if any(c == rc and a <= t and b >= s for rc, s, t in regions)}
        assert vid in want
        assert matched(con, case, f'in bed "{bed}"') == want
    assert matched(con, case, f"in {chrom}:{e}") == {v for v, (c, a, b) in ends.items() if c == chrom and a <= e <= b}

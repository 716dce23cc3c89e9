"""The query index (raredesk.store.query_index): built lazily, dropped when stale, and never changing a result.

Every filter is compared with the same filter compiled for the variants table alone (the path
whose inheritance calls test_inheritance_real.py checks against an independent computation).
"""

from __future__ import annotations

import shutil

import pytest

from raredesk.filters import compile_filter
from raredesk.filters.presets import shipped_presets
from raredesk.store import variant_query as vqm
from raredesk.store.cases import get_case
from raredesk.store.query_index import (CH_HAP, META_TABLE, drop_query_index, ensure_query_index, index_table,
                                        query_index)
from raredesk.store.variant_query import VariantQuery
from raredesk.store.workspace import Workspace

FILTERS = [
    "de_novo", "ar_hom", "x_linked", "mendelian_error", "comp_het", "not de_novo", "x_linked or ar_hom",
    "impact in (HIGH, MODERATE) and comp_het", "not (comp_het and impact = MODERATE)", "(ar_hom or comp_het) and qual > 30",
    "de_novo(min_gq=30)", "mendelian_error(proband)", "comp_het(min_dp=20)",
    "genes has BRCA2", "genes != BRCA2", "not genes has BRCA2", "genes is missing", "genes is not missing",
    'genes ~ "^BRC"', "genes in (BRCA1, BRCA2, TTN)", 'genes in panel "acmg_sf_v3.2"', 'not genes in panel "acmg_sf_v3.2"',
    "consequences has stop_gained", "consequences has (missense_variant, frameshift_variant)",
    'consequences ~ "splice"', 'genes in panel "acmg_sf_v3.2" or de_novo', "gene in (BRCA1, BRCA2) or ar_hom",
    'gene in panel "acmg_sf_v3.2"', "gt(proband) = het and gq(mother) >= 30", "in 17:41196312-41277500",
    "gnomad_af < 0.01 or gnomad_af is missing", "cadd_phred >= 20",
]


def ids(con, table, where, params):
    return con.execute(f"SELECT list(variant_id ORDER BY variant_id) FROM {table} WHERE {where}",
                       params).fetchone()[0] or []


@pytest.mark.parametrize("case_name", ["scout", "ashk"])
def test_every_filter_and_preset_gives_the_rows_of_the_variants_table(indexed_ws, case_name):
    con = indexed_ws.cursor()
    case = get_case(con, case_name)
    idx = query_index(con, case)
    assert idx is not None and idx.rows == case.n_variants
    # (the presets needing an assigned panel or consent are left out: these cases have neither)
    tests = [(t, None) for t in FILTERS] + [(None, p) for p in shipped_presets()
                                            if p not in ("secondary-findings", "clinvar-plp-in-panel")]
    derived = 0
    for text, preset in tests:
        plain = compile_filter(con, case, text, preset, index=None)
        fast = compile_filter(con, case, text, preset)
        want = ids(con, f'"{case.table}"', plain.where, plain.params)
        assert fast.index == idx, text
        # the index form, and the variants-table form the other consumers (CLI, exports) run
        assert ids(con, idx.table, fast.index_where, fast.params) == want, (text, preset)
        assert ids(con, f'"{case.table}"', fast.where, fast.params) == want, (text, preset)
        derived += fast.where != fast.index_where
    assert derived >= 20, "the derived columns (flags, list keys, haplotypes) were hardly used"


def test_default_modes_read_their_precomputed_column(indexed_ws):
    con = indexed_ws.cursor()
    case = get_case(con, "ashk")
    for mode in ("de_novo", "ar_hom", "x_linked", "mendelian_error"):
        cf = compile_filter(con, case, mode)
        assert cf.index_where == f"rdq_{mode}", mode
        # other settings or another child are judged from the copied genotype columns
        other = compile_filter(con, case, f"{mode}(min_gq=30)")
        assert other.index is not None and f"rdq_{mode}" not in other.index_where
    assert CH_HAP in compile_filter(con, case, "comp_het and impact = HIGH").index_where
    assert "rdq_" not in compile_filter(con, case, "mendelian_error(HG002)").index_where


def test_columns_the_index_does_not_copy_compile_for_the_variants_table(indexed_ws):
    con = indexed_ws.cursor()
    case = get_case(con, "scout")
    for text in ("hgvsp is missing", "de_novo and hgvsc ~ del", "INFO/DP > 50"):
        cf = compile_filter(con, case, text)
        assert cf.index is None and cf.index_where is None, text
        assert "rdq_" not in cf.where


def test_built_once_then_dropped_when_the_variants_change(ws):
    con = ws.cursor()
    case = get_case(con, "scout")
    assert query_index(con, case) is None
    assert compile_filter(con, case, "de_novo").index is None     # never built by compiling
    idx = ensure_query_index(con, case)
    assert idx is not None and query_index(con, case) == idx
    built = con.execute(f"SELECT built_at FROM {META_TABLE} WHERE case_id = ?", [case.case_id]).fetchone()
    assert ensure_query_index(con, case) == idx      # current: nothing is rebuilt
    assert con.execute(f"SELECT built_at FROM {META_TABLE} WHERE case_id = ?", [case.case_id]).fetchone() == built
    want = ids(con, f'"{case.table}"', *_plain(con, case, "comp_het"))
    # rows are deleted (as the importer does when a file is imported again): the index no longer matches
    gone = want[len(want) // 2]
    con.execute(f'DELETE FROM "{case.table}" WHERE variant_id = ?', [gone])
    assert query_index(con, case) is None
    cf = compile_filter(con, case, "comp_het")
    assert cf.index is None
    after = ids(con, f'"{case.table}"', cf.where, cf.params)
    assert gone not in after and set(after) < set(want)
    rebuilt = ensure_query_index(con, case)
    assert rebuilt is not None and rebuilt.rows == idx.rows - 1
    cf = compile_filter(con, case, "comp_het")
    assert cf.index == rebuilt
    assert ids(con, rebuilt.table, cf.index_where, cf.params) == after


def test_a_pedigree_change_makes_it_stale(ws):
    con = ws.cursor()
    case = get_case(con, "ashk")
    assert ensure_query_index(con, case) is not None
    con.execute("UPDATE samples SET affected = false WHERE case_id = ? AND sample_id = 'HG002'", [case.case_id])
    assert query_index(con, get_case(con, "ashk")) is None


def test_drop_and_read_only(ws, template_ws_dir, tmp_path):
    con = ws.cursor()
    case = get_case(con, "ceph")
    assert ensure_query_index(con, case) is not None
    drop_query_index(con, case.case_id)
    assert query_index(con, case) is None
    assert not con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?",
                           [index_table(case.case_id)]).fetchone()[0]
    dst = tmp_path / "ro"
    shutil.copytree(template_ws_dir, dst)
    with Workspace(dst, read_only=True) as ro:
        rc = ro.cursor()
        assert ensure_query_index(rc, get_case(rc, "ceph")) is None


def _plain(con, case, text):
    cf = compile_filter(con, case, text, index=None)
    return cf.where, cf.params


@pytest.mark.parametrize("text, sort", [
    ("gt(proband) in (het, hom_alt)", ["-qual"]),          # sorted on the index, prefix of the order
    ("comp_het or de_novo", ["gene", "pos"]),
    ("genes in panel \"acmg_sf_v3.2\" or ar_hom", ["hgvsc"]),   # a sort column the index lacks: semi-join
    ("not de_novo", None),
])
def test_variant_query_on_the_index_gives_the_same_pages(indexed_ws, monkeypatch, text, sort):
    monkeypatch.setattr(vqm, "CHUNK", 64)
    monkeypatch.setattr(vqm, "PREFIX", 200)
    monkeypatch.setattr(vqm, "SCATTERED_SPAN", 100)      # most chunks count as scattered: copied pages
    con = indexed_ws.cursor()
    case = get_case(con, "ashk")
    cf = compile_filter(con, case, text)
    plain = compile_filter(con, case, text, index=None)
    cols = ["gene", "HG002.gt", "hgvsc", "INFO/DP"]
    fast = VariantQuery.from_compiled(con, case, cf, sort=sort, columns=cols)
    slow = VariantQuery.from_compiled(con, case, plain, sort=sort, columns=cols)
    assert (fast.index is not None) == (sort != ["hgvsc"])
    n = slow.count()
    assert fast.count() == n > 300
    want = slow.ids()
    assert [r[0] for r in fast.rows(0, 100)] == want[:100]
    fast.materialise()
    copied = fast.prepare_pages()
    assert copied > 0
    for first in (0, 90, 700, n // 2, n - 30):
        assert fast.rows(first, 200) == slow.rows(first, 200), first
    assert fast.ids() == want
    assert fast.position_of(want[n // 3]) == n // 3
    assert fast.facets(["impact", "chrom"]) == slow.facets(["impact", "chrom"])
    fast.close()
    slow.close()

"""Both page sources (the query engine's VariantQuery and the fallback over store.query) give the same rows."""

from __future__ import annotations

import pytest

from raredesk.gui.page_source import (BLOCK_ROWS, FilterError, StoreSource, VariantQuerySource, ViewSpec,
                                      compile_filter, make_source)
from raredesk.store import review as rv
from raredesk.store.cases import get_case
from raredesk.store.query_index import drop_query_index
from raredesk.store.workspace import Workspace

ORDER = "chrom_rank, chrom, pos, variant_id"


@pytest.fixture
def demo(demo_ws):
    ws = Workspace(demo_ws)
    yield ws, get_case(ws.cursor(), "DEMO-trio")
    ws.close()


def _sources(ws, case):
    vq = make_source(ws, case)
    assert isinstance(vq, VariantQuerySource)          # the engine's module is installed in this tree
    return {"engine": vq, "fallback": StoreSource(ws, case)}


@pytest.mark.parametrize("filter_text, sort, where, order", [
    ("", (), "TRUE", ORDER),
    ("impact in (HIGH, MODERATE)", (("cadd_phred", True),), "impact IN ('HIGH', 'MODERATE')",
     f"cadd_phred DESC NULLS LAST, {ORDER}"),
    ("gt(proband) = het and gt(father) = hom_ref", (("gene", False),), "s0_gt = 1 AND s1_gt = 0",
     f"gene ASC NULLS LAST, {ORDER}"),
    ("(gnomad_af < 0.001 or gnomad_af is missing) and chrom = 7", (("proband.dp", True),),
     "(gnomad_af < 0.001 OR gnomad_af IS NULL) AND chrom = '7'", f"s0_dp DESC NULLS LAST, {ORDER}"),
])
@pytest.mark.parametrize("indexed", [False, True], ids=["variants table", "query index"])
def test_both_adapters_match_an_independent_query(demo, filter_text, sort, where, order, indexed):
    ws, case = demo
    con = ws.cursor()
    if indexed:
        assert make_source(ws, case).ensure_index()
    else:   # the template may hold one already (a window that opened it built it)
        drop_query_index(con, case.case_id)
    expect = [r[0] for r in con.execute(f"SELECT vkey FROM case_1_variants WHERE {where} ORDER BY {order}").fetchall()]
    cols = ("gene", "proband.gt", "INFO/DP", "gnomad_af")
    for name, src in _sources(ws, case).items():
        view = src.open(ViewSpec(filter_text, None, sort, cols))
        try:
            if name == "engine" and filter_text:
                assert (view.compiled.index is not None) == indexed
            assert view.count() == len(expect), name
            got = [r[1] for r in view.rows(0, BLOCK_ROWS)]            # first page, before the order is ready
            assert got == expect[:BLOCK_ROWS], name
            mid = max(0, len(expect) // 2 - 10)
            assert [r[1] for r in view.rows(mid, 20)] == expect[mid:mid + 20], name
            view.prepare_order()
            getattr(view, "prepare_pages", lambda: None)()   # the engine's copy of scattered pages
            tail = max(0, len(expect) - 300)
            assert [r[1] for r in view.rows(tail, 300)] == expect[tail:], name
            # row layout: key columns then each visible column (the genotype as its code)
            r = view.rows(0, 1)[0] if expect else None
            if r is not None:
                off = view.layout[1][0]
                code = con.execute("SELECT s0_gt FROM case_1_variants WHERE vkey = ?", [r[1]]).fetchone()[0]
                assert r[off] == code, name
        finally:
            view.close()


def test_find_gives_the_row_of_the_first_match_in_view_order(demo):
    ws, case = demo
    con = ws.cursor()
    expect = [r[0] for r in con.execute(f"SELECT vkey FROM case_1_variants ORDER BY revel DESC NULLS LAST, {ORDER}"
                                        ).fetchall()]
    first_cftr = next(i for i, k in enumerate(expect)
                      if con.execute("SELECT gene = 'CFTR' OR list_contains(genes, 'CFTR') FROM case_1_variants "
                                     "WHERE vkey = ?", [k]).fetchone()[0])
    for name, src in _sources(ws, case).items():
        view = src.open(ViewSpec("", None, (("revel", True),), ("gene",)))
        try:
            assert view.find("CFTR") == first_cftr, name
            assert view.find("2:150008:T:G") == expect.index("2:150008:T:G"), name
            assert view.find("NOSUCHGENE") is None, name
        finally:
            view.close()


def test_review_filters_and_bad_filters(demo):
    ws, case = demo
    rv.set_flag(ws, case.case_id, "2:150008:T:G", True)
    rv.add_tag(ws, case.case_id, "7:130013:GT:G", "report")
    for name, src in _sources(ws, case).items():
        for spec, keys in ((ViewSpec(flagged_only=True), ["2:150008:T:G"]), (ViewSpec(tag="report"), ["7:130013:GT:G"])):
            view = src.open(spec)
            try:
                assert [r[1] for r in view.rows(0, 10)] == keys, name
            finally:
                view.close()
        with pytest.raises(FilterError) as err:
            src.open(ViewSpec("impact in (HIGH) and cadd_phred > banana"))
        assert err.value.position == len("impact in (HIGH) and cadd_phred > "), name
        with pytest.raises(FilterError, match="gnomad_af"):
            src.open(ViewSpec("gnomad_afx < 0.1"))


def test_a_closed_view_reads_nothing(demo):
    ws, case = demo
    view = make_source(ws, case).open(ViewSpec("impact in (HIGH)"))
    assert len(view.rows(0, 5)) == 5
    view.close()
    assert view.rows(0, 5) == []


def test_compile_filter_passes_preset_and_text_to_the_engine(demo):
    ws, case = demo
    con = ws.cursor()
    where, params = compile_filter(con, case, "", None)
    assert (where, params) == ("TRUE", [])
    where, params = compile_filter(con, case, "impact in (HIGH)", None)
    assert con.execute(f"SELECT count(*) FROM case_1_variants WHERE {where}", params).fetchone()[0] == 21

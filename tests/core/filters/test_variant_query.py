"""The GUI's query API: count, pages at any position, ordered ids, keyset pages, facets.

Expected orders are computed by sorting in Python (NULLS LAST, ties by chrom_rank, pos,
variant_id), not by the SQL under test.
"""

from __future__ import annotations

from collections import Counter

import pytest

from raredesk.errors import RareDeskError
from raredesk.filters import compile_for_case
from raredesk.store import variant_query as vqm
from raredesk.store.cases import get_case
from raredesk.store.query import ColumnCatalog
from raredesk.store.variant_query import VariantQuery


class _Rev:
    """Reverses the order of a value inside a Python sort key."""

    def __init__(self, v):
        self.v = v

    def __lt__(self, other):
        return other.v < self.v

    def __eq__(self, other):
        return self.v == other.v


def python_order(con, case, where, params, column, desc):
    cat = ColumnCatalog.load(con, case)
    col = cat.resolve(column).sql
    rows = con.execute(f'SELECT variant_id, {col}, chrom_rank, pos FROM "{case.table}" WHERE {where}',
                       params).fetchall()

    def key(r):
        v = r[1]
        missing = v is None
        vv = 0 if missing else (_Rev(v) if desc else v)
        return (missing, vv, r[2], r[3], r[0])

    return [r[0] for r in sorted(rows, key=key)]


@pytest.fixture(scope="module")
def ashk(ro_ws):
    con = ro_ws.cursor()
    return con, get_case(con, "ashk")


def scalar_columns(con, case):
    cat = ColumnCatalog.load(con, case)
    out = []
    for name in cat.names:
        c = cat.resolve(name)
        typ = cat.columns.get(c.sql.strip('"'), "")
        if not typ.endswith("[]") and typ not in ("", "JSON"):
            out.append(name)
    return out


def test_sort_on_every_column(ashk):
    con, case = ashk
    where, params = compile_for_case(con, case, "impact in (HIGH, MODERATE) or qual > 5000", None)
    names = scalar_columns(con, case)
    assert len(names) > 60
    for name in names:
        for desc in (False, True):
            want = python_order(con, case, where, params, name, desc)
            with VariantQuery(con, case, where, params, sort=[f"{name}:desc" if desc else name],
                              columns=["gene"]) as q:
                assert q.count() == len(want)
                assert [r[0] for r in q.rows(0, 40)] == want[:40], name
                assert q.ids() == want, (name, desc)


def test_pages_at_any_position_match_the_full_order(ashk, monkeypatch):
    con, case = ashk
    monkeypatch.setattr(vqm, "CHUNK", 64)
    monkeypatch.setattr(vqm, "PREFIX", 300)   # the first pass orders only a prefix of the result
    where, params = compile_for_case(con, case, "gt(proband) in (het, hom_alt)", None)
    want = python_order(con, case, where, params, "qual", True)
    q = VariantQuery(con, case, where, params, sort=["-qual"])
    head = q.rows(0, 100)
    assert not q.materialised
    for first, n in ((0, 100), (90, 200), (len(want) - 5, 50), (1000, 1), (63, 2), (4000, 256)):
        rows = q.rows(first, n)
        assert [r[0] for r in rows] == want[first:first + n], (first, n)
    assert q.materialised and q.rows(0, 100) == head
    assert q.rows(len(want), 10) == [] and q.rows(10**9, 10) == []
    assert q.position_of(want[1234]) == 1234
    other = con.execute(f'SELECT variant_id FROM "{case.table}" WHERE NOT ({where})', params).fetchone()[0]
    assert q.position_of(other) is None
    q.close()
    q.close()


def test_rows_carry_columns_and_genotype_names(ashk):
    con, case = ashk
    with VariantQuery(con, case, columns=["chrom", "pos", "gene", "HG002.gt", "INFO/DP", "HG002.gq"]) as q:
        r = q.rows(0, 1)[0]
        vid, chrom, pos, gene, gt, dp, gq = r
        raw = con.execute(f'SELECT chrom, pos, gene, s0_gt, info_DP, s0_gq FROM "{case.table}" WHERE variant_id = ?',
                          [vid]).fetchone()
        assert (chrom, pos, gene, dp, gq) == (raw[0], raw[1], raw[2], raw[4], raw[5])
        assert gt == {0: "hom_ref", 1: "het", 2: "hom_alt", None: "missing"}[raw[3]]


def test_small_results_never_materialise(ashk):
    con, case = ashk
    where, params = compile_for_case(con, case, "gene in (OR4F5, FLG)", None)
    q = VariantQuery(con, case, where, params)
    n = q.count()
    assert 1 < n < 300 and len(q.rows(0, 300)) == n
    assert q.rows(2, 10) == q.rows(0, n)[2:12] and not q.materialised


@pytest.mark.parametrize("text, expensive", [
    ("de_novo", False), ("comp_het and impact = MODERATE", False), ('clinvar ~ x or gene ~ "^OR"', False),
    ('genes in panel "acmg_sf_v3.2"', True),
    ("in " + ", ".join(f"1:{i * 10**6}-{i * 10**6 + 5000}" for i in range(1, 60)), True)])
def test_filters_with_subqueries_are_evaluated_once_with_the_same_result(ashk, text, expensive):
    con, case = ashk
    where, params = compile_for_case(con, case, text, None)
    for sort in (None, ["-qual"]):
        a = VariantQuery(con, case, where, params, sort=sort)
        b = VariantQuery(con, case, where, params, sort=sort)
        a.prefix = b.prefix = False   # the one-pass order of sorted results is tested on its own below
        b.eager = not a.eager
        assert a.eager == expensive
        assert a.count() == b.count() > 0
        assert a.materialised == expensive and b.materialised != expensive
        assert a.rows(0, 100) == b.rows(0, 100)


def test_keyset_pages(ashk):
    con, case = ashk
    where, params = compile_for_case(con, case, "impact in (HIGH, MODERATE)", None)
    for sort, col, desc in ((["cadd_phred:desc"], "cadd_phred", True), (["gene"], "gene", False),
                            (None, "pos", False), (["-HG002.gq"], "HG002.gq", True)):
        want = python_order(con, case, where, params, col, desc) if sort else \
            [r[0] for r in con.execute(f'SELECT variant_id FROM "{case.table}" WHERE {where}', params).fetchall()]
        if not sort:
            rows = con.execute(f'SELECT variant_id, chrom_rank, pos FROM "{case.table}" WHERE {where}',
                               params).fetchall()
            want = [r[0] for r in sorted(rows, key=lambda r: (r[1], r[2], r[0]))]
        q = VariantQuery(con, case, where, params, sort=sort)
        got, key = [], None
        while True:
            rows, key = q.page_after(key, 97)
            if not rows:
                break
            got += [r[0] for r in rows]
        assert got == want, sort
        assert key is None


def test_facets_match_python_counts(ashk):
    con, case = ashk
    where, params = compile_for_case(con, case, "gt(proband) = het", None)
    rows = con.execute(f'SELECT impact, consequence, chrom, vtype, s1_gt, genes FROM "{case.table}" WHERE {where}',
                       params).fetchall()
    q = VariantQuery(con, case, where, params)
    f = q.facets(["impact", "consequence", "chrom", "vtype", "HG003.gt", "genes"], limit=100_000)
    assert dict(f["impact"]) == dict(Counter(r[0] for r in rows))
    assert dict(f["consequence"]) == dict(Counter(t for r in rows if r[1] for t in set(r[1].split("&"))))
    assert f["chrom"] == [("1", sum(r[2] == "1" for r in rows)), ("2", sum(r[2] == "2" for r in rows))]
    assert dict(f["vtype"]) == dict(Counter(r[3] for r in rows))
    names = {0: "hom_ref", 1: "het", 2: "hom_alt", None: "missing"}
    assert dict(f["HG003.gt"]) == dict(Counter(names[r[4]] for r in rows))
    assert dict(f["genes"]) == dict(Counter(g for r in rows for g in set(r[5] or [])))
    counts = [c for _, c in f["impact"]]
    assert counts == sorted(counts, reverse=True)
    assert len(q.facets(["gene"], limit=5)["gene"]) == 5


def test_from_filter_uses_the_preset_sort(ro_ws):
    con = ro_ws.cursor()
    case = get_case(con, "ashk")
    q = VariantQuery.from_filter(con, case, preset="rare-damaging-de-novo")
    assert [k.column.name for k in q.sort_keys] == ["cadd_phred"] and q.sort_keys[0].descending


def test_unknown_sort_column(ashk):
    con, case = ashk
    with pytest.raises(RareDeskError) as ei:
        VariantQuery(con, case, sort=["cadd_phread"])
    assert "cadd_phred" in str(ei.value)


def test_temp_table_is_dropped(ro_ws):
    con = ro_ws.cursor()
    case = get_case(con, "ashk")
    q = VariantQuery(con, case, sort=["gene"])
    q.materialise()
    name = q._rank
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [name]).fetchone()[0] == 1
    q.close()
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [name]).fetchone()[0] == 0

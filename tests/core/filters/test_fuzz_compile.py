"""Hypothesis-generated expressions, well-formed and broken, against a real case.

Whatever the text, compiling it either gives SQL that DuckDB runs, or raises FilterError; never
another exception (a DuckDB binder error would mean the compiler wrote SQL it should not have).
"""

from __future__ import annotations

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from raredesk.filters import FilterError, compile_for_case
from raredesk.filters.lexer import tokenize
from raredesk.store.cases import get_case

FIELDS = ["gene", "genes", "impact", "qual", "pos", "chrom", "consequence", "consequences", "clinvar", "cadd",
          "gnomad_af", "filter", "canonical", "INFO/DP", "INFO/DB", "INFO/DP4", "INFO/CLNSIG", "INFO/EXACAF",
          "ADM1059A2.gq", "proband.dp", "nosuchfield", "vtype", "hgvsp", "clinvar_stars", "sv_end"]
SAMPLE_FUNCS = ["gt", "gq", "dp", "ab", "ad_alt", "ad_ref", "ps", "phased", "gt_raw", "vaf"]
SAMPLES = ["proband", "mother", "father", "any", "all", "ADM1059A1", '"ADM1059A3"', "nobody"]
VALUES = ["0", "1", "-2.5", "1e-3", "HIGH", "het", "hom_alt", "missing", "true", "no", '"PER3"', "'a b'",
          "missense_variant", '"^path"', '"(x"', "X", "chr1", "3_prime_UTR_variant"]
OPS = ["=", "!=", "<", "<=", ">", ">=", "~", "!~", "=="]
MODES = ["de_novo", "ar_hom", "comp_het", "x_linked", "ad_inherited", "mendelian_error"]


def _operand():
    return st.one_of(st.sampled_from(FIELDS),
                     st.builds(lambda f, s: f"{f}({s})", st.sampled_from(SAMPLE_FUNCS), st.sampled_from(SAMPLES)))


def _value():
    return st.sampled_from(VALUES)


def _condition():
    op = _operand()
    v = _value()
    return st.one_of(
        st.builds(lambda a, o, b: f"{a} {o} {b}", op, st.sampled_from(OPS), v),
        st.builds(lambda a, vs: f"{a} in ({', '.join(vs)})", op, st.lists(v, min_size=1, max_size=3)),
        st.builds(lambda a, vs: f"{a} has ({', '.join(vs)})", op, st.lists(v, min_size=1, max_size=3)),
        st.builds(lambda a, lo, hi: f"{a} between {lo} and {hi}", op, v, v),
        st.builds(lambda a, n: f"{a} is {'not ' if n else ''}missing", op, st.booleans()),
        st.builds(lambda a: a, op),
        st.builds(lambda m, o: f"{m}{o}", st.sampled_from(MODES),
                  st.sampled_from(["", "(proband)", "(min_gq=0)", "(ADM1059A2, min_dp=5, max_ab=0.9)", "(any)",
                                   "(phase_by_ps=0)", "(nobody)"])),
        st.sampled_from(["in 1:1-50000000", "in X:1-100, chr21:5-600000", 'in panel "acmg_sf_v3.2"',
                         'gene in panel "acmg_sf_v3.2"', "genes in panel 'ACMG_SF_V3.2'", "gene in case_panels",
                         'in bed "/nonexistent.bed"']),
    )


expressions = st.recursive(
    _condition(),
    lambda inner: st.one_of(
        st.builds(lambda a, b: f"{a} and {b}", inner, inner),
        st.builds(lambda a, b: f"({a} or {b})", inner, inner),
        st.builds(lambda a: f"not {a}", inner),
    ),
    max_leaves=6,
)


def _run(con, case, text):
    try:
        where, params = compile_for_case(con, case, text, None)
    except FilterError as e:
        assert e.position is None or 0 <= e.position <= len(text)
        return None
    try:
        return con.execute(f'SELECT count(*) FROM "{case.table}" WHERE {where}', params).fetchone()[0]
    except duckdb.Error as exc:
        raise AssertionError(f"compiled SQL failed for {text!r}: {exc}\n{where}\n{params}") from None


@pytest.fixture(scope="module")
def scout(ro_ws):
    con = ro_ws.cursor()
    return con, get_case(con, "scout")


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions)
def test_generated_expressions_compile_and_run_or_fail_cleanly(scout, text):
    con, case = scout
    _run(con, case, text)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions, st.data())
def test_broken_expressions_fail_cleanly(scout, text, data):
    con, case = scout
    toks = [t for t in tokenize(text) if t.kind != "END"]
    if not toks:
        return
    i = data.draw(st.integers(0, len(toks) - 1))
    how = data.draw(st.sampled_from(["drop", "dup", "junk", "cut"]))
    t = toks[i]
    if how == "drop":
        broken = text[:t.pos] + text[t.end:]
    elif how == "dup":
        broken = text[:t.end] + " " + t.text + text[t.end:]
    elif how == "junk":
        broken = text[:t.pos] + data.draw(st.sampled_from([")", "(", ",", "and", "'", "\"", "=", ";", "in", "~"])) \
            + " " + text[t.pos:]
    else:
        broken = text[:t.pos]
    _run(con, case, broken)


def test_not_is_the_complement_on_generated_examples(scout):
    con, case = scout
    total = case.n_variants
    for text in ["qual > 100", "gq(proband) >= 20", "gene in (PER3, TTN)", "clinvar ~ path", "INFO/DP4 > 5",
                 "gt(any) = het", "consequence has missense_variant", "in 1:1-50000000", "comp_het",
                 "comp_het and qual > 30", "INFO/DB", "gnomad_af < 0.1", "qual > 30 and not comp_het",
                 "(comp_het or qual < 10) and gq(proband) > 30", "not (not comp_het and qual > 30)"]:
        a = _run(con, case, text)
        b = _run(con, case, f"not ({text})")
        assert a + b == total, text

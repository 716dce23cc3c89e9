"""The filter language's syntax: the tree it builds, and errors that point at the problem."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from raredesk.filters import FilterError, parse
from raredesk.filters import nodes as n
from raredesk.filters.lexer import tokenize


def test_precedence_and_binds_tighter_than_or():
    t = parse("a = 1 or b = 2 and c = 3")
    assert isinstance(t, n.Or)
    assert isinstance(t.items[1], n.And)


def test_parentheses_and_not():
    t = parse("not (a = 1 or b = 2)")
    assert isinstance(t, n.Not) and isinstance(t.item, n.Or)


def test_keywords_are_case_insensitive():
    t = parse("gene = X AND NOT impact IN (HIGH) Or gq(PROBAND) >= 2")
    assert isinstance(t, n.Or)


@pytest.mark.parametrize("text, cls", [
    ("gnomad_af < 0.001", n.Compare),
    ("impact in (HIGH, MODERATE)", n.InList),
    ('gene = "SCN1A"', n.Compare),
    ("consequence has missense_variant", n.Has),
    ("consequence has (stop_gained, frameshift_variant)", n.Has),
    ("clinvar ~ pathogenic", n.Match),
    ("cadd is missing", n.IsMissing),
    ("ab(proband) between 0.3 and 0.7", n.Between),
    ("canonical", n.Truthy),
    ("in 20:10000000-10100000", n.InRegions),
    ("in 20:10,000,000-10,100,000", n.InRegions),
    ('in bed "targets.bed"', n.InBed),
    ('gene in panel "epilepsy"', n.InPanel),
    ("gene in case_panels", n.InPanel),
    ('in panel "exome"', n.InRegionPanel),
    ("de_novo", n.Inheritance),
    ("comp_het(HG002, min_gq=30)", n.Inheritance),
])
def test_forms(text, cls):
    assert isinstance(parse(text), cls)


@pytest.mark.parametrize("text, inner", [
    ("cadd is not missing", n.IsMissing),
    ("gene not in (A, B)", n.InList),
    ("x not between 1 and 2", n.Between),
    ("consequence not has stop_gained", n.Has),
    ("clinvar !~ benign", n.Match),
])
def test_negated_forms(text, inner):
    t = parse(text)
    assert isinstance(t, n.Not) and isinstance(t.item, inner)


def test_values_keep_their_kind_and_position():
    t = parse('gq(mother) >= 20')
    assert isinstance(t.operand, n.SampleFieldRef)
    assert t.operand.func == "gq" and t.operand.sample.name == "mother"
    assert t.value == n.Value("number", 20, "20", 14)


def test_region_values():
    t = parse("in chr20:100-200, X:5")
    assert [(c, s, e) for c, s, e, _ in t.regions] == [("chr20", 100, 200), ("X", 5, None)]


def test_so_terms_with_leading_digits_are_words():
    t = parse("consequence has 5_prime_UTR_variant")
    assert t.values[0].kind == "word" and t.values[0].value == "5_prime_UTR_variant"


def test_negative_and_scientific_numbers():
    assert parse("x > -1.5").value.value == -1.5
    assert parse("x < 1e-3").value.value == 0.001


def test_strings_with_escaped_quotes():
    t = parse(r'gene = "a\"b"')
    assert t.value.value == 'a"b'


def test_comments_and_empty_filter():
    assert parse("   ") is None
    assert parse("# nothing but a comment") is None
    assert isinstance(parse("gene = A  # the gene\nand x = 1"), n.And)


def _err(text: str) -> FilterError:
    with pytest.raises(FilterError) as ei:
        parse(text)
    return ei.value


@pytest.mark.parametrize("text, pos, expected", [
    ("gnomad_af <", 11, "a value"),
    ("gnomad_af < 0.1 and", 19, "a condition"),
    ("(gene = A", 9, "')'"),
    ("gene = A)", 8, "and, or"),
    ("impact in HIGH", 10, "'('"),
    ("impact in (HIGH,", 16, "a value"),
    ("ab(proband) between 0.3 0.7", 24, "'and'"),
    ("gene = 'abc", 7, "closing"),
    ("cadd is nothing", 8, "'missing'"),
    ("in", 2, "a region"),
    ("in bed targets.bed", 7, "BED file"),
    ("= 3", 0, "a field"),
])
def test_errors_point_at_the_problem(text, pos, expected):
    e = _err(text)
    assert e.position == pos, (e.position, str(e))
    assert expected in (e.expected or "") + e.detail
    assert e.caret().splitlines()[1].index("^") == pos - text.rfind("\n", 0, pos) - 1


def test_missing_join_suggests_and():
    e = _err("gene = A adn impact = HIGH")
    assert e.position == 9 and "and" in e.suggestions


def test_misspelt_function_is_suggested():
    e = _err("gqq(proband) > 3")
    assert e.suggestions == ["gq"]


def test_misspelt_keyword_missing():
    e = _err("cadd is mising")
    assert e.suggestions == ["missing"]


def test_sql_characters_are_not_tokens():
    for text in ("gene = A; DROP TABLE cases", "gene = A -- comment", "gene = A /* x */", "`x` = 1"):
        e = _err(text)
        assert e.position is not None


def test_error_message_is_one_line_with_snippet():
    e = _err("gnomad_af < 0.1 and and")
    msg = str(e)
    assert "\n" not in msg and "column 21" in msg and "⟨here⟩" in msg


def test_deep_nesting_is_an_error_not_a_crash():
    with pytest.raises(FilterError):
        parse("(" * 500 + "a = 1" + ")" * 500)
    with pytest.raises(FilterError):
        parse("not " * 500 + "a = 1")


def test_too_long():
    with pytest.raises(FilterError):
        parse("a = 1 or " * 5000 + "a = 1")


def test_tokens_cover_the_text():
    toks = tokenize('gq(HG002) >= 20 and gene in ("A", B) or in 1:5-9')
    assert [t.kind for t in toks][-1] == "END"
    assert toks[0].pos == 0 and toks[1].kind == "("


# -- hypothesis: arbitrary and near-valid text fails only with FilterError --------------------------

ATOMS = ["gene", "=", "!=", "<", ">=", "~", "(", ")", ",", "and", "or", "not", "in", "has", "is", "missing",
         "between", "panel", "bed", "gt(proband)", "gq(any)", "de_novo", "comp_het(", "0.1", "-3", '"x"', "'y'",
         "20:1-5", "HIGH", "het", "case_panels", "#", ";", "--", "/*", "\"", "'", "\\", "=~", "!~", "==", "<>"]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(ATOMS), max_size=14))
def test_token_soup_parses_or_raises_filter_error(atoms):
    text = " ".join(atoms)
    try:
        parse(text)
    except FilterError as e:
        assert e.position is None or 0 <= e.position <= len(text)


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=60))
def test_any_text_parses_or_raises_filter_error(text):
    try:
        parse(text)
    except FilterError as e:
        assert e.position is None or 0 <= e.position <= len(text)

"""Tests for the ACMG/AMP combining engine, its catalogue and the ``classify`` command.

Expected classes live in ``combinations.tsv``, written by hand from Richards 2015
Table 5, the ClinGen SVI PM2 amendment and Tavtigian 2020 (see its header), not
produced by the engine. The property tests compare the engine with a literal,
count-based reading of Table 5 written independently below.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from raredesk.acmg import commands
from raredesk.acmg.catalogue import (
    ACMG_2015_CODES,
    BENIGN,
    PATHOGENIC,
    default_catalogue,
    load_catalogue,
    parse_catalogue,
)
from raredesk.acmg.combine import (
    CLASSES,
    DEFAULT_SCHEME,
    AppliedCriterion,
    CriterionError,
    classify,
    classify_points,
    classify_rules,
    parse_criteria,
    parse_criterion,
    points_class,
)
from raredesk.errors import InputError
from raredesk.resources import resource_path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
ABBREVIATIONS = {
    "P": "Pathogenic",
    "LP": "Likely pathogenic",
    "VUS": "Uncertain significance",
    "LB": "Likely benign",
    "B": "Benign",
}


def _load_table() -> list:
    rows = []
    with open(HERE / "combinations.tsv", encoding="utf-8", newline="") as handle:
        lines = [(n, line) for n, line in enumerate(handle, start=1) if not line.startswith("#")]
    header, *body = lines
    assert header[1].rstrip("\n").split("\t") == ["criteria", "rules", "rules_svi", "points", "points_class",
                                                  "citation"]
    for number, line in body:
        fields = next(csv.reader([line.rstrip("\n")], delimiter="\t", quoting=csv.QUOTE_NONE))
        assert len(fields) == 6, f"combinations.tsv line {number}: expected 6 columns, got {len(fields)}"
        criteria, rules, rules_svi, points, points_cls, citation = fields
        assert citation.strip(), f"combinations.tsv line {number}: no citation"
        rows.append(pytest.param(criteria, ABBREVIATIONS[rules], ABBREVIATIONS[rules_svi], int(points),
                                 ABBREVIATIONS[points_cls], id=f"L{number}:{criteria.strip() or 'empty'}"))
    return rows


TABLE = _load_table()


# --- the hand-written table ----------------------------------------------------------------

def test_table_is_large_enough_and_covers_the_edge_cases():
    criteria = {p.values[0].replace(" ", "") for p in TABLE}
    assert len(TABLE) >= 150
    for required in ("", "BA1", "BA1,PVS1,PS1", "PVS1,PM2_Supporting", "PVS1,PS1,BS1,BS2", "BS1,BS2",
                     "PVS1_Strong", "PP3_Moderate,PM1,PM2", "PVS1,PS2_VeryStrong"):
        assert required in criteria


@pytest.mark.parametrize(("criteria", "rules", "rules_svi", "points", "points_cls"), TABLE)
def test_table_points_class_follows_tavtigian_bands(criteria, rules, rules_svi, points, points_cls):
    # A check on the table itself, so that a typo in one column cannot hide behind another.
    # The bands are restated here from Tavtigian 2020 Table 3, independently of the engine.
    if "BA1" in criteria.upper():
        assert points_cls == "Benign"
        return
    expected = ("Pathogenic" if points >= 10 else "Likely pathogenic" if points >= 6 else
                "Uncertain significance" if points >= 0 else "Likely benign" if points >= -6 else "Benign")
    assert points_cls == expected


@pytest.mark.parametrize(("criteria", "rules", "rules_svi", "points", "points_cls"), TABLE)
def test_combination(criteria, rules, rules_svi, points, points_cls):
    result = classify(criteria)
    assert result.rules.classification == rules
    assert result.rules_svi.classification == rules_svi
    assert result.points.points == points
    assert result.points.classification == points_cls
    # The separate entry points agree with `classify`.
    assert classify_rules(criteria).classification == rules
    assert classify_rules(criteria, svi=True).classification == rules_svi
    assert classify_points(criteria).points == points


# --- which Table 5 rule is reported --------------------------------------------------------

@pytest.mark.parametrize(("criteria", "rule"), [
    ("PVS1,PS1", "Pathogenic (i)(a)"),
    ("PVS1,PM1,PM2", "Pathogenic (i)(b)"),
    ("PVS1,PM1,PP3", "Pathogenic (i)(c)"),
    ("PVS1,PP1,PP3", "Pathogenic (i)(d)"),
    ("PS1,PS2", "Pathogenic (ii)"),
    ("PS1,PM1,PM2,PM4", "Pathogenic (iii)(a)"),
    ("PS1,PM1,PM4,PP1,PP3", "Pathogenic (iii)(b)"),
    ("PS1,PM1,PP1,PP2,PP3,PP4", "Pathogenic (iii)(c)"),
    ("PVS1,PM1", "Likely pathogenic (i)"),
    ("PS1,PM1,PM2", "Likely pathogenic (ii)"),
    ("PS1,PP1,PP3", "Likely pathogenic (iii)"),
    ("PM1,PM2,PM4", "Likely pathogenic (iv)"),
    ("PM1,PM4,PP1,PP3", "Likely pathogenic (v)"),
    ("PM1,PP1,PP2,PP3,PP4", "Likely pathogenic (vi)"),
    ("BA1", "Benign (i)"),
    ("BS1,BS2", "Benign (ii)"),
    ("BS1,BP4", "Likely benign (i)"),
    ("BP4,BP7", "Likely benign (ii)"),
    ("PM2,PP3", "Uncertain significance (i)"),
    ("PVS1,PS1,BS1,BS2", "Uncertain significance (ii)"),
    ("PVS1_Strong,PM2", "Likely pathogenic (ii)"),
    ("PP3_Moderate,PM1,PM2", "Likely pathogenic (iv)"),
])
def test_rule_reported(criteria, rule):
    result = classify_rules(criteria)
    assert result.rule == rule
    assert result.rule_text  # every rule has a plain-English statement


def test_svi_amendment_is_reported():
    result = classify_rules("PVS1,PM2_Supporting", svi=True)
    assert (result.classification, result.rule, result.svi_amendment_applied) == \
        ("Likely pathogenic", "SVI PM2 v1.0", True)
    plain = classify_rules("PVS1,PM2_Supporting")
    assert (plain.rule, plain.svi_amendment_applied) == ("Uncertain significance (i)", False)


def test_contradiction_names_both_sides():
    result = classify_rules("PVS1,PS1,BP4,BP7")
    assert result.contradictory
    assert (result.pathogenic_rule, result.benign_rule) == ("Pathogenic (i)(a)", "Likely benign (ii)")


# --- points ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("points", "expected"), [
    (24, "Pathogenic"), (10, "Pathogenic"), (9, "Likely pathogenic"), (6, "Likely pathogenic"),
    (5, "Uncertain significance"), (0, "Uncertain significance"), (-1, "Likely benign"),
    (-6, "Likely benign"), (-7, "Benign"), (-16, "Benign"),
])
def test_points_class_band_edges(points, expected):
    assert points_class(points) == expected


def test_ba1_overrides_points_but_keeps_the_sum():
    result = classify_points("BA1,PVS1,PS1")
    assert (result.points, result.classification, result.ba1_override) == (12, "Benign", True)
    assert classify_points("PVS1,PS1").ba1_override is False


def test_point_values_follow_tavtigian_2020():
    cat = default_catalogue()
    assert dict(cat.points[PATHOGENIC]) == {"Supporting": 1, "Moderate": 2, "Strong": 4, "VeryStrong": 8}
    assert dict(cat.points[BENIGN]) == {"Supporting": -1, "Moderate": -2, "Strong": -4, "VeryStrong": -8,
                                        "StandAlone": None}


# --- parsing -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "label", "strength"), [
    ("PVS1", "PVS1", "VeryStrong"),
    ("pvs1_strong", "PVS1_Strong", "Strong"),
    ("PVS1_VeryStrong", "PVS1", "VeryStrong"),
    ("PM2", "PM2", "Moderate"),  # a bare code is its Richards 2015 strength
    ("PM2_Supporting", "PM2_Supporting", "Supporting"),
    ("PM2_MODERATE", "PM2", "Moderate"),
    ("BA1_StandAlone", "BA1", "StandAlone"),
    ("BP4_Moderate", "BP4_Moderate", "Moderate"),
    ("PM3_VeryStrong", "PM3_VeryStrong", "VeryStrong"),
    ("  PP3_Strong ", "PP3_Strong", "Strong"),
])
def test_parse_criterion_normalises(text, label, strength):
    applied = parse_criterion(text)
    assert (applied.label, applied.strength, str(applied)) == (label, strength, label)


@pytest.mark.parametrize(("text", "fragment"), [
    ("PX9", "unknown ACMG criterion 'PX9'"),
    ("PM7", "unknown ACMG criterion 'PM7'"),
    ("PS5_Strong", "unknown ACMG criterion"),
    ("PVS1_Bogus", "unknown strength 'Bogus'"),
    ("PVS1_Very_Strong", "cannot read criterion"),
    ("PVS1-Strong", "cannot read criterion"),
    ("PP2_Strong", "PP2 cannot be applied at Strong"),
    ("PM2_Strong", "PM2 cannot be applied at Strong"),
    ("BA1_Strong", "BA1 cannot be applied at Strong"),
    ("PVS1_StandAlone", "PVS1 cannot be applied at StandAlone"),
    ("PP3_VeryStrong", "PP3 cannot be applied at VeryStrong"),  # Pejaver 2022: no tool reached it
    ("BP4_VeryStrong", "BP4 cannot be applied at VeryStrong"),
    ("BS1_VeryStrong", "BS1 cannot be applied at VeryStrong"),
    ("BP7_Strong", "BP7 cannot be applied at Strong"),
])
def test_parse_criterion_rejects(text, fragment):
    with pytest.raises(CriterionError) as info:
        parse_criterion(text)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("text", ["PM2,PM2", "PM2,PM2_Supporting", "pvs1,PVS1_Strong"])
def test_parse_criteria_rejects_a_criterion_given_twice(text):
    with pytest.raises(CriterionError, match="given twice"):
        parse_criteria(text)


def test_parse_criteria_orders_by_catalogue_and_accepts_objects():
    parsed = parse_criteria(["BP4", "PM2_Supporting", "PVS1", parse_criterion("PS3_Moderate")])
    assert [a.label for a in parsed] == ["PVS1", "PS3_Moderate", "PM2_Supporting", "BP4"]
    assert parse_criteria("BP4 PM2_Supporting,,PVS1, PS3_Moderate") == parsed
    assert parse_criteria("") == ()
    with pytest.raises(CriterionError):
        parse_criteria([42])


def test_applied_criterion_from_elsewhere_is_revalidated():
    forged = AppliedCriterion("PP2", "Strong", PATHOGENIC, "Supporting")
    with pytest.raises(CriterionError, match="PP2 cannot be applied at Strong"):
        classify([forged])


# --- the whole result --------------------------------------------------------------------------

def test_default_scheme_is_points():
    assert DEFAULT_SCHEME == "points"
    result = classify("PVS1,PM2")
    assert (result.rules.classification, result.default) == ("Likely pathogenic", "Pathogenic")


def test_to_dict_shape_and_spelling():
    obj = classify("PVS1,PM2_Supporting").to_dict()
    assert obj["criteria"] == ["PVS1", "PM2_Supporting"]
    assert (obj["rules"], obj["rules_svi"], obj["points"], obj["points_class"], obj["default"]) == \
        ("Uncertain significance", "Likely pathogenic", 9, "Likely pathogenic", "Likely pathogenic")
    assert obj["default_scheme"] == "points"
    assert obj["rules_met"] == {"rules": "Uncertain significance (i)", "rules_svi": "SVI PM2 v1.0"}
    assert obj["conflict"] is False and obj["disagreement"] is True
    assert isinstance(obj["points"], int)
    for key in ("rules", "rules_svi", "points_class", "default"):
        assert obj[key] in CLASSES
    json.dumps(obj)  # serialisable as is


def test_explanation_names_the_rule_and_the_conflict():
    text = classify("PVS1,PS1,BS1").explanation
    assert "Pathogenic (i)(a)" in text
    assert "Conflict:" in text and "PVS1, PS1" in text and "BS1" in text
    assert "only the pathogenic side meets a rule" in text

    both = classify("PVS1,PS1,BS1,BS2").explanation
    assert "Uncertain significance (ii)" in both and "both sides meet a rule" in both

    none = classify("PS1,PM1").explanation
    assert "Conflict" not in none and "Likely pathogenic (ii)" in none

    ba1 = classify("BA1,PVS1").explanation
    assert "BA1 is stand-alone" in ba1 and "other criteria sum to +8" in ba1 and "Conflict" in ba1
    assert "other criteria" not in classify("BA1").explanation

    svi = classify("PVS1,PM2_Supporting,BP4,BP7").explanation
    assert "SVI PM2 v1.0" in svi and "with the SVI amendment, both sides meet a rule" in svi

    assert classify("").explanation.startswith("No criteria applied")


def test_conflict_flag_means_both_directions_present():
    assert classify("PVS1,BP4").conflict
    assert classify("BA1,PP3").conflict
    assert not classify("PVS1,PS1").conflict
    assert not classify("BS1,BP4").conflict
    assert not classify("").conflict


@pytest.mark.parametrize(("criteria", "fragment"), [
    ("PVS1,PM2", "ClinGen SVI recommends PM2_Supporting"),
    ("PP5", "PP5 is retired"),
    ("BP6,BP4", "BP6 is retired"),
    ("PP3_Strong,PM1", "Pejaver 2022 caps PP3 + PM1 at Strong"),
    ("PP3_Moderate,PM1_Strong", "Pejaver 2022 caps PP3 + PM1 at Strong"),
])
def test_warnings(criteria, fragment):
    assert any(fragment in w for w in classify(criteria).warnings)


@pytest.mark.parametrize("criteria", ["PVS1,PM2_Supporting", "PP3,PM1", "PP3_Moderate,PM1", "PS1,BS1", ""])
def test_no_warning_for_recommended_use(criteria):
    assert classify(criteria).warnings == ()


def test_warnings_never_change_the_class():
    assert classify("PVS1,PP5").rules.classification == "Uncertain significance"
    assert classify("PVS1,PM2_Supporting,PP5").rules.classification == "Pathogenic"


# --- catalogue ---------------------------------------------------------------------------------

def test_catalogue_has_the_28_criteria_in_paper_order():
    cat = default_catalogue()
    assert cat.codes == ACMG_2015_CODES and len(cat) == 28
    assert [c.code for c in cat if c.direction == PATHOGENIC] == list(ACMG_2015_CODES[:16])
    assert {c.code for c in cat if c.retired} == {"PP5", "BP6"}
    assert resource_path("acmg", "criteria.json").is_file()


def test_catalogue_encodes_the_svi_strength_rules():
    cat = default_catalogue()
    pm2 = cat.criterion("PM2")
    assert (pm2.base_strength, pm2.default_strength) == ("Moderate", "Supporting")
    assert cat.criterion("PVS1").allowed_strengths == ("Supporting", "Moderate", "Strong", "VeryStrong")
    assert cat.criterion("PP3").allowed_strengths == ("Supporting", "Moderate", "Strong")
    assert cat.criterion("BA1").allowed_strengths == ("StandAlone",)
    for criterion in cat:
        assert criterion.definition and criterion.sources
        assert criterion.base_strength in criterion.allowed_strengths
        assert criterion.default_strength in criterion.allowed_strengths
        if criterion.code != "PM2":
            assert criterion.default_strength == criterion.base_strength
    assert any("PM2_Supporting" in note for note in pm2.svi_notes)


def test_load_catalogue_from_path_matches_default():
    cat = load_catalogue(resource_path("acmg", "criteria.json"))
    assert cat.criteria == default_catalogue().criteria


def _raw() -> dict:
    return json.loads(resource_path("acmg", "criteria.json").read_text(encoding="utf-8"))


def _entry(data: dict, code: str) -> dict:
    return next(c for c in data["criteria"] if c["code"] == code)


@pytest.mark.parametrize(("mutate", "fragment"), [
    (lambda d: d["criteria"].pop(), "missing BP7"),
    (lambda d: d["criteria"].append(dict(_entry(d, "PS1"))), "PS1 is listed twice"),
    (lambda d: d.update(schema_version=2), "schema_version must be 1"),
    (lambda d: d["points"]["pathogenic"].update(Strong=-4), "must be a positive integer"),
    (lambda d: d["points"]["benign"].update(StandAlone=-8), "StandAlone has no point value"),
    (lambda d: d["points"]["pathogenic"].update(Moderate=5), "must grow with strength"),
    (lambda d: _entry(d, "PM2").update(default_strength="Strong"), "default_strength 'Strong' is not in"),
    (lambda d: _entry(d, "PM5").update(base_strength="Strong"), "base_strength must be 'Moderate'"),
    (lambda d: _entry(d, "BS2").update(direction="pathogenic"), "direction must be 'benign'"),
    (lambda d: _entry(d, "PP3").update(allowed_strengths=["Supporting", "Huge"]), "unknown strength 'Huge'"),
    (lambda d: _entry(d, "BS1").update(allowed_strengths=["Strong", "StandAlone"]), "only BA codes are StandAlone"),
    (lambda d: _entry(d, "PP3").update(sources=["Nobody 2099"]), "source 'Nobody 2099' is not listed"),
    (lambda d: _entry(d, "PP3").update(status="maybe"), "status must be one of"),
    (lambda d: _entry(d, "PP3").update(definition=""), "definition must be a non-empty string"),
    (lambda d: _entry(d, "PP3").pop("svi_notes"), "PP3: missing svi_notes"),
    (lambda d: _entry(d, "PP3").update(code="PX3"), "bad criterion code 'PX3'"),
])
def test_parse_catalogue_rejects_inconsistent_data(mutate, fragment):
    data = _raw()
    mutate(data)
    with pytest.raises(InputError) as info:
        parse_catalogue(data, "criteria.json")
    assert fragment in str(info.value)
    assert str(info.value).startswith("criteria.json: ACMG criteria catalogue:")


def test_load_catalogue_reports_unreadable_files(tmp_path):
    with pytest.raises(InputError, match="cannot read"):
        load_catalogue(tmp_path / "absent.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="not valid JSON"):
        load_catalogue(bad)


def test_custom_catalogue_changes_what_is_allowed(tmp_path):
    data = _raw()
    _entry(data, "PP2")["allowed_strengths"] = ["Supporting", "Moderate"]
    cat = parse_catalogue(data)
    assert classify("PP2_Moderate,PM1,PM2", cat).rules.classification == "Likely pathogenic"
    with pytest.raises(CriterionError):
        classify("PP2_Moderate,PM1,PM2")


# --- properties against an independent, literal reading of Table 5 -----------------------------

def _literal_table5(criteria) -> str:
    """Richards 2015 Table 5 with literal counts (no slot filling). Only for <= 1 Very strong."""
    n = {"VeryStrong": 0, "Strong": 0, "Moderate": 0, "Supporting": 0}
    bs = bp = ba = 0
    for a in criteria:
        if a.direction == PATHOGENIC:
            n[a.strength] += 1
        elif a.strength == "StandAlone":
            ba += 1
        elif a.strength == "Strong":
            bs += 1
        else:
            bp += 1  # Supporting, and Moderate (no benign Moderate level in 2015)
    vs, s, m, p = n["VeryStrong"], n["Strong"], n["Moderate"], n["Supporting"]
    pathogenic = ((vs == 1 and (s >= 1 or m >= 2 or (m == 1 and p == 1) or p >= 2))
                  or s >= 2
                  or (s == 1 and (m >= 3 or (m == 2 and p >= 2) or (m == 1 and p >= 4))))
    likely_pathogenic = ((vs == 1 and m == 1) or (s == 1 and 1 <= m <= 2) or (s == 1 and p >= 2)
                         or m >= 3 or (m == 2 and p >= 2) or (m == 1 and p >= 4))
    benign = ba >= 1 or bs >= 2
    likely_benign = (bs == 1 and bp >= 1) or bp >= 2
    path_class = "Pathogenic" if pathogenic else "Likely pathogenic" if likely_pathogenic else None
    benign_class = "Benign" if benign else "Likely benign" if likely_benign else None
    if path_class and benign_class:
        return "Uncertain significance"
    return path_class or benign_class or "Uncertain significance"


@st.composite
def criteria_sets(draw, codes=ACMG_2015_CODES):
    cat = default_catalogue()
    chosen = draw(st.lists(st.sampled_from(codes), unique=True, max_size=10))
    return [f"{code}_{draw(st.sampled_from(cat.criterion(code).allowed_strengths))}" for code in chosen]


def _very_strong(parsed) -> int:
    return sum(1 for a in parsed if a.strength == "VeryStrong")


@settings(max_examples=400, deadline=None)
@given(criteria_sets())
def test_rules_match_a_literal_reading_of_table5(codes):
    parsed = parse_criteria(codes)
    result = classify_rules(parsed)
    if _very_strong(parsed) <= 1:
        assert result.classification == _literal_table5(parsed)
    else:
        # Documented choice: a second Very strong fills the Strong slot of P (i)(a).
        assert result.pathogenic_rule == "Pathogenic (i)(a)"


@settings(max_examples=300, deadline=None)
@given(criteria_sets())
def test_svi_amendment_only_changes_pvs1_with_pm2_supporting(codes):
    parsed = parse_criteria(codes)
    plain, amended = classify_rules(parsed), classify_rules(parsed, svi=True)
    labels = {a.label for a in parsed}
    if not {"PVS1", "PM2_Supporting"} <= labels:
        assert plain.classification == amended.classification and plain.rule == amended.rule
        assert not amended.svi_amendment_applied
    if amended.svi_amendment_applied:
        pathogenic = {a.label for a in parsed if a.direction == PATHOGENIC}
        assert pathogenic == {"PVS1", "PM2_Supporting"}


@settings(max_examples=300, deadline=None)
@given(criteria_sets(), st.randoms(use_true_random=False))
def test_order_and_case_do_not_matter(codes, rnd):
    shuffled = list(codes)
    rnd.shuffle(shuffled)
    shuffled = [c.lower() if rnd.random() < 0.5 else c for c in shuffled]
    assert classify(shuffled).to_dict() == classify(codes).to_dict()


@settings(max_examples=300, deadline=None)
@given(criteria_sets(), st.sampled_from(ACMG_2015_CODES[:16]))
def test_more_pathogenic_evidence_never_lowers_the_points_class(codes, extra):
    parsed = parse_criteria(codes)
    if any(a.code == extra for a in parsed):
        return
    before = classify_points(parsed)
    after = classify_points([*parsed, parse_criterion(extra)])
    assert after.points > before.points
    assert CLASSES.index(after.classification) <= CLASSES.index(before.classification)


@settings(max_examples=300, deadline=None)
@given(criteria_sets())
def test_points_are_the_sum_of_tavtigian_values(codes):
    weights = {"Supporting": 1, "Moderate": 2, "Strong": 4, "VeryStrong": 8}
    parsed = parse_criteria(codes)
    expected = sum(weights[a.strength] * (1 if a.direction == PATHOGENIC else -1)
                   for a in parsed if a.strength != "StandAlone")
    result = classify_points(parsed)
    assert result.points == expected
    assert result.ba1_override == any(a.code == "BA1" for a in parsed)


@settings(max_examples=200, deadline=None)
@given(criteria_sets())
def test_explanation_is_plain_ascii_and_always_present(codes):
    result = classify(codes)
    assert result.explanation and result.explanation.isascii()
    assert ("Conflict:" in result.explanation) == result.conflict


# --- the classify command ----------------------------------------------------------------------

def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="raredesk")
    subparsers = parser.add_subparsers(dest="command", required=True)
    commands.register(subparsers)
    return parser


def _run(argv, capsys, stdin=None):
    args = _parser().parse_args(argv)
    code = args.func(args, stdin=stdin) if stdin is not None else args.func(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_register_adds_classify_with_its_options():
    args = _parser().parse_args(["classify", "--criteria", "PVS1", "--format", "json"])
    assert args.func is commands.run_classify
    assert (args.criteria, args.batch, args.case, args.variant, args.format) == ("PVS1", None, None, None, "json")
    with pytest.raises(SystemExit):
        _parser().parse_args(["classify", "--format", "xml"])


def test_cli_prints_one_json_object(capsys):
    code, out, err = _run(["classify", "--criteria", "PVS1,PM2_Supporting", "--format", "json"], capsys)
    assert (code, err) == (0, "")
    assert out.count("\n") == 1
    obj = json.loads(out)
    assert (obj["rules"], obj["rules_svi"], obj["points"], obj["points_class"], obj["default"]) == \
        ("Uncertain significance", "Likely pathogenic", 9, "Likely pathogenic", "Likely pathogenic")
    assert obj["criteria"] == ["PVS1", "PM2_Supporting"] and obj["explanation"]


def test_cli_empty_criteria_is_the_empty_set(capsys):
    code, out, _ = _run(["classify", "--criteria", ""], capsys)
    obj = json.loads(out)
    assert (code, obj["criteria"], obj["default"], obj["points"]) == (0, [], "Uncertain significance", 0)


def test_cli_text_format(capsys):
    code, out, err = _run(["classify", "--criteria", "PVS1,PM2", "--format", "text"], capsys)
    assert code == 0 and err == ""
    assert out.startswith("Pathogenic  [PVS1, PM2]")
    assert "rules: Likely pathogenic" in out and "warning: PM2 applied at Moderate" in out


@pytest.mark.parametrize(("criteria", "fragment"), [
    ("PVS1,PX9", "unknown ACMG criterion 'PX9'"),
    ("PP2_Strong", "PP2 cannot be applied at Strong"),
    ("BA1_Supporting", "BA1 cannot be applied at Supporting"),
    ("PM2,PM2_Supporting", "PM2 is given twice"),
    ("PVS1_Huge", "unknown strength 'Huge'"),
])
def test_cli_bad_codes_give_one_error_line_and_exit_2(capsys, criteria, fragment):
    code, out, err = _run(["classify", "--criteria", criteria], capsys)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and fragment in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_cli_batch(tmp_path, capsys):
    batch = tmp_path / "sets.txt"
    batch.write_text("# criteria sets\nPVS1,PM2_Supporting\n\n   \nBA1  # common variant\nPS3,PS4\n", encoding="utf-8")
    code, out, err = _run(["classify", "--batch", str(batch), "--format", "json"], capsys)
    assert (code, err) == (0, "")
    objs = [json.loads(line) for line in out.splitlines()]
    assert [o["line"] for o in objs] == [2, 5, 6]
    assert [o["default"] for o in objs] == ["Likely pathogenic", "Benign", "Likely pathogenic"]
    assert objs[2]["rules"] == "Pathogenic"


def test_cli_batch_from_stdin(capsys):
    code, out, _ = _run(["classify", "--batch", "-"], capsys, stdin=io.StringIO("BS1,BS2\nBP4\n"))
    assert code == 0
    assert [json.loads(line)["rules"] for line in out.splitlines()] == ["Benign", "Uncertain significance"]


def test_cli_batch_bad_line_names_file_and_line_and_prints_nothing(tmp_path, capsys):
    batch = tmp_path / "sets.txt"
    batch.write_text("PVS1,PS1\n# note\nPVS1,PZ1\n", encoding="utf-8")
    code, out, err = _run(["classify", "--batch", str(batch)], capsys)
    assert code == 2 and out == ""
    assert err == f"error: {batch}: line 3: unknown ACMG criterion 'PZ1' " \
                  f"(the 28 ACMG/AMP 2015 codes are PVS1, PS1-PS4, PM1-PM6, PP1-PP5, BA1, BS1-BS4, BP1-BP7)\n"


def test_cli_batch_unreadable_file(tmp_path, capsys):
    missing = tmp_path / "absent.txt"
    code, out, err = _run(["classify", "--batch", str(missing)], capsys)
    assert code == 2 and out == ""
    assert err.startswith(f"error: {missing}: ") and err.count("\n") == 1

    code, _, err = _run(["classify", "--batch", str(tmp_path)], capsys)
    assert code == 2 and err.startswith(f"error: {tmp_path}: ")

    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\xff\xfe\x00PVS1")
    code, _, err = _run(["classify", "--batch", str(binary)], capsys)
    assert (code, err) == (2, f"error: {binary}: not a UTF-8 text file\n")


@pytest.mark.parametrize(("argv", "fragment"), [
    (["classify"], "nothing to classify"),
    (["classify", "--criteria", "PVS1", "--batch", "x.txt"], "give only one of"),
    (["classify", "--criteria", "PVS1", "--case", "c1", "--variant", "v1"], "give only one of"),
    (["classify", "--case", "c1"], "--case and --variant go together"),
    (["classify", "--variant", "v1"], "--case and --variant go together"),
    (["classify", "--case", "c1", "--variant", "1-100-A-G", "--workspace", "/nonexistent/raredesk-ws"],
     "no RareDesk workspace here"),
])
def test_cli_option_mistakes(capsys, argv, fragment):
    code, out, err = _run(argv, capsys)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and fragment in err and err.count("\n") == 1


def test_cli_case_path_calls_the_hook(monkeypatch, capsys):
    seen = []

    def fake_classify_case(args):
        seen.append((args.case, args.variant, args.format))
        return 0

    monkeypatch.setattr(commands, "classify_case", fake_classify_case)
    code, _, err = _run(["classify", "--case", "fam1", "--variant", "chr1-100-A-G", "--format", "json"], capsys)
    assert (code, err, seen) == (0, "", [("fam1", "chr1-100-A-G", "json")])


def test_cli_case_hook_errors_are_one_line(monkeypatch, capsys):
    def failing(args):
        raise InputError("no such case", "fam9")

    monkeypatch.setattr(commands, "classify_case", failing)
    code, out, err = _run(["classify", "--case", "fam9", "--variant", "v"], capsys)
    assert (code, out, err) == (2, "", "error: fam9: no such case\n")


def test_cli_broken_catalogue_exits_1(monkeypatch, capsys):
    def broken():
        raise InputError("ACMG criteria catalogue: missing BP7", "criteria.json")

    monkeypatch.setattr(commands, "default_catalogue", broken)
    code, out, err = _run(["classify", "--criteria", "PVS1"], capsys)
    assert (code, out, err) == (1, "", "error: criteria.json: ACMG criteria catalogue: missing BP7\n")


def test_module_runs_as_a_program():
    ok = subprocess.run([sys.executable, "-m", "raredesk.acmg.commands", "classify", "--criteria",
                         "PVS1,PM2_Supporting", "--format", "json"],
                        cwd=REPO, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["rules_svi"] == "Likely pathogenic"

    bad = subprocess.run([sys.executable, "-m", "raredesk.acmg.commands", "classify", "--criteria", "PP2_Strong"],
                         cwd=REPO, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.startswith("error: PP2 cannot be applied at Strong") and "Traceback" not in bad.stderr


def test_acmg_package_imports_no_qt():
    code = ("import sys, raredesk.acmg.commands, raredesk.acmg.combine, raredesk.acmg.catalogue; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'PyQt5', 'PyQt6', 'pyqtgraph', "
            "'shiboken6') or m == 'raredesk.gui'))")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"

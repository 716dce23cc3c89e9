"""Knowledge base across cases: reuse of classifications, seen-in counts, phase evidence from
classified variants, and report citations that a class change makes stale."""

from __future__ import annotations

import argparse
import json

import pytest

from raredesk.acmg import audit, commands, knowledge, review
from raredesk.acmg.evidence import MISSING, suggest_for_variant
from raredesk.errors import RareDeskError

UNC93B1 = "11:67765162:A:AC"


def decide(ws, case, key, final, *, analyst="ana", reviewer="rita", signer=None, extra=()):
    """Start, accept every suggestion, add ``extra`` criteria, set the final class, review (and sign)."""
    cid = review.start_classification(ws, case, key, analyst).classification_id
    for c in review.get_classification(ws.cursor(), cid).criteria:
        review.accept(ws, cid, c.code, analyst)
    for label in extra:
        review.add_criterion(ws, cid, label, analyst, reason="test evidence")
    review.set_final(ws, cid, final, f"{final} in test.", analyst)
    review.mark_reviewed(ws, cid, reviewer)
    if signer:
        review.sign(ws, cid, signer)
    return cid


def test_classification_comes_back_in_another_case(ws):
    cid = decide(ws, "trio", UNC93B1, "Likely pathogenic", signer="sam")
    cur = ws.cursor()
    know = knowledge.variant_knowledge(cur, "GRCh37", "chr11-67765162-A-AC", exclude_case="solo")
    assert know.cases == ("solo", "trio") and know.n_cases == 2
    [prior] = know.classifications
    assert (prior.classification_id, prior.case_name, prior.status, prior.final_class) == \
        (cid, "trio", "signed", "Likely pathogenic")
    assert prior.criteria == ("PVS1", "PM2_Supporting")
    assert (prior.analyst, prior.reviewer, prior.signer) == ("ana", "rita", "sam")
    assert prior.signed_at[:4].isdigit() and know.current == prior
    # Same variant, other build: not the same knowledge.
    assert knowledge.variant_knowledge(cur, "GRCh38", UNC93B1).classifications == ()
    assert knowledge.seen_in_cases(cur, "GRCh38", UNC93B1) == []
    # Knowledge sources are not cases.
    # (the ClinVar VCF names its build in ##reference=GRCh37)
    assert knowledge.seen_in_cases(cur, "GRCh37", "1:949608:G:A") == ["clinvar"]


def test_start_in_the_second_case_from_the_first(ws):
    cid = decide(ws, "trio", UNC93B1, "Likely pathogenic", signer="sam",
                 extra=["PP4"])
    second = review.start_classification(ws, "solo", UNC93B1, "bob", copy_from=cid).classification_id
    r = review.get_classification(ws.cursor(), second)
    states = {c.code: (c.state, c.origin) for c in r.criteria}
    assert states == {"PVS1": ("suggested", "engine"), "PM2": ("suggested", "engine"),
                      "PP4": ("suggested", "previous")}
    assert f"from classification {cid} (trio, signed by sam" in r.criterion("PP4").reason
    assert f"Also applied from classification {cid}" in r.criterion("PVS1").reason
    with pytest.raises(review.ReviewError, match="is of 11:67765162:A:AC"):
        review.start_classification(ws, "solo", "13:21750538:G:A", "bob", copy_from=cid)


def test_cli_case_view_shows_history(ws, ws_path, capsys):
    decide(ws, "trio", UNC93B1, "Likely pathogenic", signer="sam")
    ws.close()
    args = argparse.Namespace(case="solo", variant="11-67765162-A-AC", format="json", workspace=str(ws_path),
                              passphrase_file=None)
    assert commands.classify_case(args) == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["knowledge"]["seen_in_cases"] == 2 and obj["current"] is None
    assert obj["knowledge"]["current"]["final_class"] == "Likely pathogenic"
    args.format = "text"
    assert commands.classify_case(args) == 0
    text = capsys.readouterr().out
    assert "seen in 2 case(s): solo, trio" in text and "trio: Likely pathogenic (signed by sam" in text


def test_pm3_from_a_classified_variant_in_trans(ws):
    # TPO: 2:1481355:G:A came from the mother, 2:1442568:TG:T from the father (VCF genotypes).
    cur = ws.cursor()
    before = suggest_for_variant(cur, "trio", "2:1442568:TG:T").get("PM3")
    assert not before.met and "none classified P/LP" in before.reason
    decide(ws, "trio", "2:1481355:G:A", "Likely pathogenic")
    after = suggest_for_variant(ws.cursor(), "trio", "2:1442568:TG:T").get("PM3")
    assert after.label == "PM3_Supporting"
    assert "2:1481355:G:A" in after.reason and "trans, from parental genotypes (father / mother)" in after.reason
    assert "RareDesk classification" in after.reason
    # The proband-only case has no parents: phase unknown, 0.25 points, not enough.
    solo = suggest_for_variant(ws.cursor(), "solo", "2:1442568:TG:T").get("PM3")
    assert not solo.met and "unknown" in solo.reason and "0.25" in solo.reason


def test_bp2_in_cis_with_a_pathogenic_variant(ws):
    # DOCK3: both variants came from the father.
    decide(ws, "trio", "3:51349743:G:A", "Pathogenic", extra=["PS3"])
    bp2 = suggest_for_variant(ws.cursor(), "trio", "3:51274903:A:AG").get("BP2")
    assert bp2.met and "3:51349743:G:A (Pathogenic" in bp2.reason and "in cis" in bp2.reason


def test_knowledge_base_classifications_are_ps1_pm5_comparators(ws):
    cur = ws.cursor()
    before = suggest_for_variant(cur, "trio", "1:7890026:A:G").get("PM5")
    assert not before.met and "residue Lys998 among 0 comparators" in before.reason
    decide(ws, "trio", "1:7890024:T:G", "Pathogenic", extra=["PS3"])     # PER3 p.Met997Arg
    pm5 = suggest_for_variant(ws.cursor(), "trio", "1:7890026:A:G").get("PM5")   # p.Lys998Glu, next codon
    assert not pm5.met and pm5.status != MISSING and "residue Lys998 among 1 comparators" in pm5.reason
    latest = knowledge.latest_class_by_vkey(ws.cursor(), "GRCh37", ["1:7890024:T:G", "1:7890026:A:G"])
    assert list(latest) == ["1:7890024:T:G"] and latest["1:7890024:T:G"][0] == "Pathogenic"


def test_class_change_lists_signed_reports_citing_the_old_class(ws):
    old = decide(ws, "trio", UNC93B1, "Likely pathogenic", signer="sam")
    knowledge.cite_in_report(ws, "R-2024-001", [old], "sam")
    cur = ws.cursor()
    assert [c.report_id for c in knowledge.citations(cur, "GRCh37", UNC93B1)] == ["R-2024-001"]
    assert knowledge.stale_citations(cur, "GRCh37", UNC93B1) == []
    # Re-evaluation in another case reaches a different class.
    new = review.start_classification(ws, "solo", UNC93B1, "bob").classification_id
    for c in review.get_classification(ws.cursor(), new).criteria:
        review.accept(ws, new, c.code, "bob")
    review.add_criterion(ws, new, "PS3", "bob", reason="RNA shows NMD")
    review.set_final(ws, new, "Pathogenic", "Frameshift with NMD shown on RNA.", "bob")
    review.mark_reviewed(ws, new, "rita")
    changes = review.sign(ws, new, "sam")
    assert [c.report_id for c in changes.stale_citations] == ["R-2024-001"]
    assert changes.stale_citations[0].cited_class == "Likely pathogenic"
    stale = knowledge.stale_citations(ws.cursor(), "GRCh37", UNC93B1)
    assert [(c.report_id, c.classification_id) for c in stale] == [("R-2024-001", old)]
    sign_record = audit.records(ws.cursor())[-1]
    assert sign_record.after_value["stale_reports"] == ["R-2024-001"]
    assert sign_record.after_value["class_changed"]["from"] == "Likely pathogenic"


def test_citations_need_signed_classifications(ws):
    cid = decide(ws, "trio", UNC93B1, "Likely pathogenic")        # reviewed, not signed
    with pytest.raises(RareDeskError, match="not signed"):
        knowledge.cite_in_report(ws, "R-1", [cid], "sam")
    with pytest.raises(RareDeskError, match="no classification 999"):
        knowledge.cite_in_report(ws, "R-1", [999], "sam")
    assert knowledge.citations(ws.cursor()) == []

"""Reviewer workflow on a real case: commands, status, two-person rule, undo, atomic audit."""

from __future__ import annotations

import json

import pytest

from raredesk.acmg import audit, review
from raredesk.acmg.review import ReviewError

SKA3 = "13:21750538:G:A"        # stop_gained, suggestions PVS1 + BA1
UNC93B1 = "11:67765162:A:AC"    # frameshift, suggestions PVS1 + PM2_Supporting


def start(ws, key=UNC93B1, analyst="ana", case="trio"):
    changes = review.start_classification(ws, case, key, analyst)
    return changes.classification_id


def rec(ws, cid):
    return review.get_classification(ws.cursor(), cid)


def n_audit(ws) -> int:
    return ws.cursor().execute("SELECT count(*) FROM audit_log").fetchone()[0]


def test_start_stores_the_engine_suggestions_undecided(ws):
    changes = review.start_classification(ws, "trio", UNC93B1, "ana")
    r = rec(ws, changes.classification_id)
    assert (r.status, r.analyst, r.gene, r.vkey) == ("draft", "ana", "UNC93B1", UNC93B1)
    assert {c.code: (c.state, c.origin, c.strength) for c in r.criteria} == {
        "PVS1": ("suggested", "engine", "VeryStrong"), "PM2": ("suggested", "engine", "Supporting")}
    assert r.criterion("PVS1").reason.startswith("UNC93B1 ENST00000227471")
    assert r.criterion("PVS1").evidence["caveats"]
    # Nothing accepted yet: the live class counts accepted criteria only.
    assert r.applied_labels == () and r.computed().default == "Uncertain significance"
    assert r.engine["suggested"] == ["PVS1", "PM2_Supporting"] and len(r.engine["suggestions"]) == 28
    assert "acmg_criteria" in changes.tables and changes.audit_seq == 1
    first = audit.records(ws.cursor())[0]
    assert (first.action, first.actor, first.entity_id) == ("start", "ana", str(changes.classification_id))


def test_full_workflow_to_signed(ws):
    cid = start(ws)
    review.accept(ws, cid, "PVS1", "ana")
    review.accept(ws, cid, "pm2", "ana", comment="gnomAD coverage checked at this site")
    review.add_criterion(ws, cid, "PP4", "ana", reason="phenotype specific for UNC93B1 (HSE)")
    review.set_strength(ws, cid, "PVS1", "Strong", "ana")
    review.set_comment(ws, cid, "PVS1", "LOFTEE LC: splice-region frameshift", "ana")
    r = rec(ws, cid)
    assert r.applied_labels == ("PVS1_Strong", "PM2_Supporting", "PP4")
    assert r.computed().points.points == 6 and r.computed().default == "Likely pathogenic"
    assert r.criterion("PM2").comment == "gnomAD coverage checked at this site"
    with pytest.raises(ReviewError, match="set the final class"):
        review.mark_reviewed(ws, cid, "rita")
    review.set_final(ws, cid, "Likely pathogenic", "Frameshift in UNC93B1 absent from controls.", "ana")
    review.mark_reviewed(ws, cid, "rita")
    assert (rec(ws, cid).status, rec(ws, cid).reviewer) == ("reviewed", "rita")
    changes = review.sign(ws, cid, "sam")
    r = rec(ws, cid)
    assert (r.status, r.signer) == ("signed", "sam") and r.signed_at
    assert changes.stale_citations == ()
    stored = ws.cursor().execute("SELECT computed_class, points, criteria_labels FROM acmg_classifications "
                                 "WHERE classification_id = ?", [cid]).fetchone()
    assert stored == ("Likely pathogenic", 6, "PVS1_Strong,PM2_Supporting,PP4")
    kinds = [h.kind for h in review.history(ws.cursor(), cid)]
    assert kinds == ["start", "accept", "accept", "add", "set_strength", "comment", "set_final", "review", "sign"]
    assert n_audit(ws) == len(kinds) and audit.verify(ws.cursor()).ok


def test_undecided_suggestions_block_review(ws):
    cid = start(ws)
    review.accept(ws, cid, "PVS1", "ana")
    review.set_final(ws, cid, "Likely pathogenic", "x.", "ana")
    with pytest.raises(ReviewError, match="undecided suggestions: PM2"):
        review.mark_reviewed(ws, cid, "rita")
    review.reject(ws, cid, "PM2", "ana", comment="site poorly covered in gnomAD")
    review.mark_reviewed(ws, cid, "rita")
    assert rec(ws, cid).criterion("PM2").state == "rejected"


def test_editing_a_reviewed_classification_makes_it_a_draft_again(ws):
    cid = start(ws)
    for code in ("PVS1", "PM2"):
        review.accept(ws, cid, code, "ana")
    review.set_final(ws, cid, "Likely pathogenic", "x.", "ana")
    review.mark_reviewed(ws, cid, "rita")
    review.set_comment(ws, cid, "PM2", "a comment does not reopen", "rita")
    assert rec(ws, cid).status == "reviewed"
    review.set_strength(ws, cid, "PM2", "Moderate", "rita")
    r = rec(ws, cid)
    assert (r.status, r.reviewer, r.reviewed_at) == ("draft", None, None)
    last = audit.records(ws.cursor())[-1]
    assert "reopened" in last.after_value


def test_two_person_rule(ws):
    cid = start(ws)
    for code in ("PVS1", "PM2"):
        review.accept(ws, cid, code, "ana")
    review.set_final(ws, cid, "Likely pathogenic", "x.", "ana")
    review.mark_reviewed(ws, cid, "ana")
    review.set_two_person_rule(ws, True, "lab-admin")
    assert review.two_person_rule(ws.cursor())
    before = n_audit(ws)
    with pytest.raises(ReviewError, match="two-person rule: ana started this classification"):
        review.sign(ws, cid, "ana")
    assert rec(ws, cid).status == "reviewed" and n_audit(ws) == before
    review.sign(ws, cid, "sam")
    assert rec(ws, cid).signer == "sam"
    setting = [r for r in audit.records(ws.cursor()) if r.entity == "acmg_settings"]
    assert setting and setting[0].actor == "lab-admin"


def test_without_the_rule_the_analyst_may_sign(ws):
    cid = start(ws)
    for code in ("PVS1", "PM2"):
        review.accept(ws, cid, code, "ana")
    review.set_final(ws, cid, "Likely pathogenic", "x.", "ana")
    review.mark_reviewed(ws, cid, "ana")
    review.sign(ws, cid, "ana")
    assert rec(ws, cid).status == "signed"


def test_signed_is_locked_and_cannot_be_undone(ws):
    cid = start(ws)
    for code in ("PVS1", "PM2"):
        review.accept(ws, cid, code, "ana")
    review.set_final(ws, cid, "Likely pathogenic", "x.", "ana")
    review.mark_reviewed(ws, cid, "rita")
    review.sign(ws, cid, "sam")
    with pytest.raises(ReviewError, match="signed and locked"):
        review.reject(ws, cid, "PVS1", "sam")
    with pytest.raises(ReviewError, match="signing cannot be undone"):
        review.undo(ws, cid, "sam")
    with pytest.raises(ReviewError, match="is signed; amend it"):
        review.start_classification(ws, "trio", UNC93B1, "ana")


def test_undo_reverses_commands_in_order_and_is_audited(ws):
    cid = start(ws)
    review.accept(ws, cid, "PVS1", "ana")
    review.set_strength(ws, cid, "PVS1", "Strong", "ana")
    review.add_criterion(ws, cid, "PS3_Moderate", "ana", reason="RNA study")
    assert rec(ws, cid).applied_labels == ("PVS1_Strong", "PS3_Moderate")
    review.undo(ws, cid, "ana")
    assert rec(ws, cid).applied_labels == ("PVS1_Strong",) and rec(ws, cid).criterion("PS3") is None
    review.undo(ws, cid, "ana")
    assert rec(ws, cid).criterion("PVS1").strength == "VeryStrong"
    review.undo(ws, cid, "ana")
    r = rec(ws, cid)
    assert r.criterion("PVS1").state == "suggested" and r.applied_labels == ()
    hist = review.history(ws.cursor(), cid)
    assert [h.kind for h in hist] == ["start", "accept", "set_strength", "add", "undo", "undo", "undo"]
    assert [h.undoes for h in hist[4:]] == [hist[3].command_id, hist[2].command_id, hist[1].command_id]
    assert all(h.undone_by for h in hist[1:4])
    undo_records = [r for r in audit.records(ws.cursor()) if r.action == "undo"]
    assert len(undo_records) == 3 and undo_records[0].after_value["undone_kind"] == "add"
    # Undoing the start removes the draft; after that there is nothing left to undo.
    review.undo(ws, cid, "ana")
    with pytest.raises(ReviewError, match="no classification"):
        rec(ws, cid)
    assert audit.verify(ws.cursor()).ok


def test_undo_restores_timestamps_and_status_exactly(ws):
    cid = start(ws)
    for code in ("PVS1", "PM2"):
        review.accept(ws, cid, code, "ana")
    review.set_final(ws, cid, "Likely pathogenic", "x.", "ana")
    review.mark_reviewed(ws, cid, "rita")
    snapshot = rec(ws, cid)
    review.reject(ws, cid, "PM2", "rita")
    assert rec(ws, cid).status == "draft"
    review.undo(ws, cid, "rita")
    assert rec(ws, cid) == snapshot


@pytest.mark.parametrize(("call", "fragment"), [
    (lambda ws, cid: review.accept(ws, cid, "PS3", "ana"), "PS3 is not among the criteria"),
    (lambda ws, cid: review.accept(ws, cid, "PZ9", "ana"), "unknown ACMG criterion"),
    (lambda ws, cid: review.add_criterion(ws, cid, "PP5", "ana", reason="ClinVar says P"), "retired"),
    (lambda ws, cid: review.add_criterion(ws, cid, "PM2_Moderate", "ana", reason="x"), "already listed"),
    (lambda ws, cid: review.add_criterion(ws, cid, "PS3", "ana", reason="  "), "needs a reason"),
    (lambda ws, cid: review.add_criterion(ws, cid, "PP2_Strong", "ana", reason="x"), "cannot be applied at Strong"),
    (lambda ws, cid: review.set_strength(ws, cid, "PM2", "VeryStrong", "ana"), "cannot be applied at VeryStrong"),
    (lambda ws, cid: review.set_strength(ws, cid, "PM2", "Supporting", "ana"), "already at Supporting"),
    (lambda ws, cid: review.set_final(ws, cid, "Probably bad", "x", "ana"), "final class must be one of"),
    (lambda ws, cid: review.set_final(ws, cid, "Benign", "", "ana"), "summary sentence"),
    (lambda ws, cid: review.sign(ws, cid, "sam"), "mark it reviewed before signing"),
    (lambda ws, cid: review.accept(ws, cid, "PVS1", " "), "needs the name of who made it"),
    (lambda ws, cid: review.amend(ws, cid, "ana"), "only a signed classification is amended"),
])
def test_refused_steps_change_nothing(ws, call, fragment):
    cid = start(ws)
    before = (rec(ws, cid), n_audit(ws))
    with pytest.raises(ReviewError, match=fragment):
        call(ws, cid)
    assert (rec(ws, cid), n_audit(ws)) == before


def test_second_open_classification_is_refused(ws):
    cid = start(ws)
    with pytest.raises(ReviewError, match=f"classification {cid} .* is still draft"):
        review.start_classification(ws, "trio", UNC93B1, "bob")


def test_decision_and_audit_record_commit_together(ws, monkeypatch):
    cid = start(ws)
    before = (rec(ws, cid), n_audit(ws))

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(audit, "append", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        review.accept(ws, cid, "PVS1", "ana")
    monkeypatch.undo()
    # Neither the decision nor a command entry survived the failed audit write.
    assert (rec(ws, cid), n_audit(ws)) == before
    assert [h.kind for h in review.history(ws.cursor(), cid)] == ["start"]
    review.accept(ws, cid, "PVS1", "ana")
    assert rec(ws, cid).criterion("PVS1").state == "accepted" and audit.verify(ws.cursor()).ok


def test_every_audit_record_has_before_and_after(ws):
    cid = start(ws)
    review.accept(ws, cid, "PVS1", "ana")
    r = audit.records(ws.cursor(), "acmg_classification", cid)[-1]
    before = {c["table"]: c["row"] for c in r.before_value["changes"]}
    after = {c["table"]: c["row"] for c in r.after_value["changes"]}
    assert before["acmg_criteria"]["state"] == "suggested" and after["acmg_criteria"]["state"] == "accepted"
    assert after["acmg_classifications"]["updated_at"] == r.at
    json.loads(r.after)


def test_amend_supersedes_a_signed_classification(ws):
    cid = start(ws)
    review.accept(ws, cid, "PVS1", "ana")
    review.reject(ws, cid, "PM2", "ana")
    review.set_final(ws, cid, "Uncertain significance", "x.", "ana")
    review.mark_reviewed(ws, cid, "rita")
    review.sign(ws, cid, "sam")
    new = review.amend(ws, cid, "ana").classification_id
    r = rec(ws, new)
    assert (r.status, r.supersedes, r.final_class) == ("draft", cid, None)
    assert {c.code: (c.state, c.origin) for c in r.criteria} == {"PVS1": ("accepted", "previous"),
                                                                 "PM2": ("rejected", "previous")}
    with pytest.raises(ReviewError, match="already amended"):
        review.amend(ws, cid, "ana")
    assert review.find_classification(ws.cursor(), "trio", UNC93B1).classification_id == new

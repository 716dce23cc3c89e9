"""The hash-chained audit log: tampering with SQL (edit, delete, reorder) is detected."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from raredesk.acmg import audit, commands, review
from raredesk.store.workspace import Workspace

REPO = Path(__file__).resolve().parents[3]
UNC93B1 = "11:67765162:A:AC"


def build_log(ws) -> int:
    """Eight real decisions on the trio's UNC93B1 frameshift."""
    cid = review.start_classification(ws, "trio", UNC93B1, "ana").classification_id
    review.accept(ws, cid, "PVS1", "ana")
    review.accept(ws, cid, "PM2", "ana")
    review.set_strength(ws, cid, "PVS1", "Strong", "ana")
    review.undo(ws, cid, "ana")
    review.set_final(ws, cid, "Likely pathogenic", "Frameshift absent from controls.", "ana")
    review.mark_reviewed(ws, cid, "rita")
    review.sign(ws, cid, "sam")
    return cid


@pytest.fixture
def logged(ws):
    build_log(ws)
    return ws


def verify(ws, **kw):
    return audit.verify(ws.cursor(), **kw)


def test_intact_log_verifies(logged):
    result = verify(logged)
    assert result.ok and result.n_records == 8 and result.problems == ()
    recs = audit.records(logged.cursor())
    assert [r.seq for r in recs] == list(range(1, 9))
    assert recs[0].prev_hash == audit.GENESIS and all(b.prev_hash == a.hash for a, b in zip(recs, recs[1:]))
    assert result.head_hash == recs[-1].hash
    assert [r.action for r in recs] == ["start", "accept", "accept", "set_strength", "undo", "set_final", "review",
                                        "sign"]
    assert {r.actor for r in recs} == {"ana", "rita", "sam"}


@pytest.mark.parametrize("sql", [
    "UPDATE audit_log SET actor = 'mallory' WHERE seq = 3",
    "UPDATE audit_log SET after = replace(after, 'accepted', 'rejected') WHERE seq = 2",
    "UPDATE audit_log SET logged_at = '2020-01-01T00:00:00.000000+00:00' WHERE seq = 5",
    "UPDATE audit_log SET action = 'reject' WHERE seq = 2",
    "UPDATE audit_log SET before = NULL WHERE seq = 4",
])
def test_an_edited_record_is_detected(logged, sql):
    logged.cursor().execute(sql)
    result = verify(logged)
    assert not result.ok and any("was edited" in p for p in result.problems)


def test_a_deleted_record_is_detected(logged):
    logged.cursor().execute("DELETE FROM audit_log WHERE seq = 4")
    result = verify(logged)
    assert not result.ok
    assert "record(s) 4 missing (deleted)" in result.problems
    assert any("chain broken at record 5" in p for p in result.problems)


def test_deleting_the_last_records_is_detected_by_the_head(logged):
    logged.cursor().execute("DELETE FROM audit_log WHERE seq >= 7")
    result = verify(logged)
    assert not result.ok and any("the last record(s) were deleted" in p for p in result.problems)


def test_reordering_records_is_detected(logged):
    # Swap the sequence numbers of two records, as if one decision came before the other.
    logged.cursor().execute("UPDATE audit_log SET seq = CASE seq WHEN 2 THEN 3 WHEN 3 THEN 2 END WHERE seq IN (2, 3)")
    result = verify(logged)
    assert not result.ok and any("chain broken" in p for p in result.problems)
    assert any("record 2 was edited" in p for p in result.problems)


def test_rewriting_the_edited_hash_still_breaks_the_chain(logged):
    cur = logged.cursor()
    r = audit.records(cur)[2]
    forged = audit.record_hash(r.seq, r.at, "mallory", r.action, r.entity, r.entity_id, r.before, r.after,
                               r.prev_hash)
    cur.execute("UPDATE audit_log SET actor = 'mallory', hash = ? WHERE seq = 3", [forged])
    result = verify(logged)
    assert not result.ok and result.problems == ("chain broken at record 4: it does not follow the record before it "
                                                 "(deleted, inserted or reordered records)",)


def test_an_inserted_record_is_detected(logged):
    cur = logged.cursor()
    r = audit.records(cur)[3]
    cur.execute("INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [r.seq, r.at, "mallory", r.action, r.entity, r.entity_id, r.before, r.after, r.prev_hash, r.hash])
    result = verify(logged)
    assert not result.ok and any("appears more than once" in p for p in result.problems)


def test_a_fully_rewritten_chain_is_caught_by_an_external_head(logged):
    cur = logged.cursor()
    kept = verify(logged).head_hash
    # Rewrite record 3 and recompute every later hash and the head: internally consistent again.
    rows = audit.records(cur)
    prev = rows[1].hash
    for r in rows[2:]:
        actor = "mallory" if r.seq == 3 else r.actor
        h = audit.record_hash(r.seq, r.at, actor, r.action, r.entity, r.entity_id, r.before, r.after, prev)
        cur.execute("UPDATE audit_log SET actor = ?, prev_hash = ?, hash = ? WHERE seq = ?", [actor, prev, h, r.seq])
        prev = h
    cur.execute("UPDATE audit_head SET hash = ?", [prev])
    assert verify(logged).ok
    result = verify(logged, expected_head=kept)
    assert not result.ok and "not in the chain" in result.problems[0]


def test_appends_after_a_truncation_do_not_hide_it(logged):
    cur = logged.cursor()
    cur.execute("DELETE FROM audit_log WHERE seq = 8")
    review.set_two_person_rule(logged, True, "lab-admin")
    result = verify(logged)
    assert not result.ok and "record(s) 8 missing (deleted)" in result.problems


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seq=st.integers(1, 8), column=st.sampled_from(["logged_at", "actor", "action", "entity", "entity_id",
                                                      "before", "after", "prev_hash", "hash"]),
       text=st.text(min_size=1, max_size=8))
def test_any_single_field_edit_is_detected(template_ws, tmp_path_factory, seq, column, text):
    import shutil

    path = tmp_path_factory.mktemp("prop") / "ws"
    if not hasattr(test_any_single_field_edit_is_detected, "_base"):
        base = tmp_path_factory.mktemp("prop_base") / "ws"
        shutil.copytree(template_ws, base)
        with Workspace(base, create=False) as w:
            build_log(w)
        test_any_single_field_edit_is_detected._base = base
    shutil.copytree(test_any_single_field_edit_is_detected._base, path)
    with Workspace(path, create=False) as w:
        cur = w.cursor()
        old = cur.execute(f"SELECT {column} FROM audit_log WHERE seq = ?", [seq]).fetchone()[0]
        new = (old or "") + text
        cur.execute(f"UPDATE audit_log SET {column} = ? WHERE seq = ?", [new, seq])
        assert not audit.verify(cur).ok


# --- raredesk audit verify ------------------------------------------------------------------------------

def run_verify(ws_path, capsys, *extra):
    parser = argparse.ArgumentParser(prog="raredesk")
    commands.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["audit", "verify", "--workspace", str(ws_path), *extra])
    code = args.func(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_verify_intact_and_tampered(ws, ws_path, capsys):
    build_log(ws)
    ws.close()
    code, out, err = run_verify(ws_path, capsys)
    assert (code, err) == (0, "") and out.startswith("audit log intact: 8 record(s); head ")
    head = out.split("head ")[1].strip()
    code, out, _ = run_verify(ws_path, capsys, "--format", "json", "--expect-head", head)
    assert code == 0 and json.loads(out) == {"ok": True, "records": 8, "head": head, "problems": []}
    with Workspace(ws_path, create=False) as w:
        w.cursor().execute("DELETE FROM audit_log WHERE seq = 2")
    code, out, err = run_verify(ws_path, capsys)
    assert code == 1 and err == "" and "FAILED verification" in out and "record(s) 2 missing (deleted)" in out


def test_cli_verify_errors_are_one_line(tmp_path, capsys):
    code, out, err = run_verify(tmp_path / "nothing", capsys)
    assert code == 2 and out == "" and err.startswith("error: ") and err.count("\n") == 1


def test_cli_verify_through_the_main_program(ws, ws_path):
    build_log(ws)
    ws.close()
    done = subprocess.run([sys.executable, "-m", "raredesk", "audit", "verify", "--workspace", str(ws_path)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "audit log intact: 8 record(s)" in done.stdout

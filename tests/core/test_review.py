"""Reviewer decisions (flag, tags, note): stored at once, logged, kept across restarts."""

from __future__ import annotations

import threading

import pytest

from raredesk.errors import RareDeskError
from raredesk.store import review as rv
from raredesk.store.workspace import Workspace

KEY = "2:150008:T:G"
OTHER = "7:130013:GT:G"


@pytest.fixture
def ws(tmp_path):
    w = Workspace(tmp_path / "ws")
    w.cursor().execute("INSERT INTO cases (case_id, name) VALUES (1, 'case-a'), (2, 'case-b')")
    yield w
    w.close()


def test_flag_tags_note_round_trip_and_survive_reopen(tmp_path, ws):
    assert rv.get_review(ws.cursor(), 1, KEY).empty
    rv.set_flag(ws, 1, KEY, True, author="dr_a")
    rv.add_tag(ws, 1, KEY, "  candidate   de novo ")
    rv.add_tag(ws, 1, KEY, "report")
    rv.add_tag(ws, 1, KEY, "report")                      # duplicate: ignored
    ch = rv.set_note(ws, 1, KEY, "Parents confirmed by Sanger.\n\n")
    assert ch.changed and ch.vkeys == (KEY,)
    assert ch.review.tags == ("candidate de novo", "report")
    assert ch.review.note == "Parents confirmed by Sanger."
    ws.close()
    with Workspace(tmp_path / "ws") as again:
        r = rv.get_review(again.cursor(), 1, KEY)
        assert (r.flagged, r.tags, r.note) == (True, ("candidate de novo", "report"), "Parents confirmed by Sanger.")
        assert rv.get_review(again.cursor(), 2, KEY).empty      # keyed by case as well as variant


def test_every_change_is_logged_with_old_and_new_value(ws):
    rv.set_flag(ws, 1, KEY, True, author="dr_a")
    rv.set_tags(ws, 1, KEY, ["candidate", "report"], author="dr_b")
    rv.remove_tag(ws, 1, KEY, "candidate", author="dr_b")
    rv.set_flag(ws, 1, KEY, False, author="dr_a")
    log = rv.history(ws.cursor(), 1, KEY)
    assert [(f, o, n, who) for f, o, n, _, who in log] == [
        ("flag", "false", "true", "dr_a"),
        ("tags", "[]", '["candidate", "report"]', "dr_b"),
        ("tags", '["candidate", "report"]', '["report"]', "dr_b"),
        ("flag", "true", "false", "dr_a"),
    ]


def test_a_write_that_changes_nothing_writes_nothing(ws):
    rv.set_note(ws, 1, KEY, "x")
    before = ws.cursor().execute("SELECT count(*) FROM variant_review_log").fetchone()[0]
    ch = rv.set_note(ws, 1, KEY, "x  ")
    assert not ch.changed and ch.review.note == "x"
    assert ws.cursor().execute("SELECT count(*) FROM variant_review_log").fetchone()[0] == before


def test_failed_write_leaves_the_review_as_it_was(ws, monkeypatch):
    rv.add_tag(ws, 1, KEY, "candidate")
    # Break the second statement of the transaction (the log insert): the upsert before it must roll back.
    monkeypatch.setattr(rv, "LOG_TABLE", "no_such_table")
    with pytest.raises(Exception, match="no_such_table"):
        rv.add_tag(ws, 1, KEY, "report")
    monkeypatch.undo()
    assert rv.get_review(ws.cursor(), 1, KEY).tags == ("candidate",)


@pytest.mark.parametrize("call, message", [
    (lambda ws: rv.add_tag(ws, 1, KEY, "   "), "cannot be empty"),
    (lambda ws: rv.add_tag(ws, 1, KEY, "x" * 65), "at most 64"),
    (lambda ws: rv.set_tags(ws, 1, KEY, [f"t{i}" for i in range(40)]), "at most 32 tags"),
    (lambda ws: rv.set_flag(ws, 99, KEY, True), "no case with id 99"),
    (lambda ws: rv.set_flag(ws, 1, "chr2-150008", True), "not a variant key"),
    (lambda ws: rv.set_note(ws, 1, KEY, "n" * 100_001), "at most 100,000"),
])
def test_bad_input_is_refused_with_a_clear_message_and_nothing_written(ws, call, message):
    with pytest.raises(RareDeskError, match=message):
        call(ws)
    assert ws.cursor().execute("SELECT count(*) FROM variant_review").fetchone()[0] == 0


def test_read_only_workspace_refuses_review_writes(tmp_path, ws):
    ws.close()
    with Workspace(tmp_path / "ws", read_only=True) as ro:
        with pytest.raises(RareDeskError, match="read-only"):
            rv.set_flag(ro, 1, KEY, True)


def test_concurrent_writers_are_serialised_and_all_land(ws):
    errors = []

    def tag(i):
        try:
            rv.add_tag(ws, 1, f"1:{1000 + i}:A:G", f"batch{i % 3}")
            rv.add_tag(ws, 1, KEY, f"t{i}")
        except Exception as exc:  # collected: a failure in a thread must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=tag, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    con = ws.cursor()
    assert sorted(rv.get_review(con, 1, KEY).tags) == sorted(f"t{i}" for i in range(8))
    assert con.execute("SELECT count(*) FROM variant_review WHERE case_id = 1").fetchone()[0] == 9
    assert rv.case_tags(con, 1)[:3] == [("batch0", 3), ("batch1", 3), ("batch2", 2)]


def test_reviewed_filter_selects_flagged_and_tagged_variants_in_a_query(ws):
    con = ws.cursor()
    con.execute("CREATE TABLE case_1_variants (vkey VARCHAR)")
    con.execute(f"INSERT INTO case_1_variants VALUES ('{KEY}'), ('{OTHER}'), ('17:1:A:G')")
    rv.set_flag(ws, 1, KEY, True)
    rv.add_tag(ws, 1, OTHER, "report")
    rv.add_tag(ws, 2, "17:1:A:G", "report")               # other case: must not leak in
    for kw, expected in (({"flagged": True}, [KEY]), ({"tag": "report"}, [OTHER]),
                         ({"flagged": True, "tag": "report"}, [])):
        where, params = rv.reviewed_filter(1, **kw)
        got = [r[0] for r in con.execute(f"SELECT vkey FROM case_1_variants WHERE {where} ORDER BY vkey",
                                         params).fetchall()]
        assert got == expected, kw
    # user text travels as a parameter, never as SQL
    where, params = rv.reviewed_filter(1, tag="x') OR TRUE --")
    assert con.execute(f"SELECT count(*) FROM case_1_variants WHERE {where}", params).fetchone()[0] == 0


def test_summary_counts(ws):
    rv.set_flag(ws, 1, KEY, True)
    rv.add_tag(ws, 1, KEY, "report")
    rv.set_note(ws, 1, OTHER, "benign in father")
    s = rv.summary(ws.cursor(), 1)
    assert (s.flagged, s.tagged, s.noted, s.tags) == (1, 1, 1, [("report", 1)])

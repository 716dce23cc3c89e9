"""The table on a 100k-variant case: row blocks on demand, scrolling to the end, sorted random access."""

from __future__ import annotations

from PySide6.QtCore import Qt

from raredesk.gui.page_source import BLOCK_ROWS, StoreSource, ViewSpec
from raredesk.gui.variant_table import MAX_BLOCKS
from raredesk.store.cases import get_case
from raredesk.store.workspace import Workspace

ORDER = "chrom_rank, chrom, pos, variant_id"


def _visible_rows(win):
    t = win.table
    first = max(0, t.rowAt(0))
    last = t.rowAt(t.viewport().height() - 1)
    return range(first, (last if last >= 0 else win.model.rowCount() - 1) + 1)


def test_dragging_the_scrollbar_to_the_end_fetches_only_what_is_seen(qtbot, open_case, window, big_case):
    open_case(window, *big_case)
    model, table = window.model, window.table
    con = window.ws.cursor()
    n = con.execute("SELECT count(*) FROM case_1_variants").fetchone()[0]
    assert model.rowCount() == n == 100_000
    fetched = model.blocks_fetched
    sb = table.verticalScrollBar()
    steps = 60
    for k in range(1, steps + 1):          # a user dragging the thumb from top to bottom
        sb.setValue(sb.maximum() * k // steps)
        qtbot.wait(3)
    rows = _visible_rows(window)
    assert rows[-1] == n - 1
    qtbot.waitUntil(lambda: all(model.is_loaded(r) for r in rows), timeout=20_000)
    tail = [r[0] for r in con.execute(f"SELECT vkey FROM case_1_variants ORDER BY {ORDER} "
                                      f"LIMIT {len(rows)} OFFSET {rows[0]}").fetchall()]
    assert [model.row_ref(r).vkey for r in rows] == tail
    # never the whole result: blocks passed over while dragging were dropped before being read
    assert model.blocks_fetched - fetched <= 2 * steps
    assert len(model._blocks) <= MAX_BLOCKS
    # placeholders were shown, never wrong rows: every cached block holds the rows of its position
    for b, block in list(model._blocks.items())[:5]:
        expect = [r[0] for r in con.execute(f"SELECT vkey FROM case_1_variants ORDER BY {ORDER} "
                                            f"LIMIT 3 OFFSET {b * BLOCK_ROWS}").fetchall()]
        assert [r[1] for r in block.rows[:3]] == expect


def test_ctrl_end_selects_the_last_variant_and_shows_it(qtbot, open_case, window, big_case):
    open_case(window, *big_case)
    con = window.ws.cursor()
    last = con.execute(f"SELECT vkey FROM case_1_variants ORDER BY chrom_rank DESC, chrom DESC, pos DESC, variant_id DESC LIMIT 1").fetchone()[0]
    window.table.setFocus()
    with qtbot.waitSignal(window.detail_shown, timeout=20_000) as blocker:
        qtbot.keyClick(window.table, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    assert blocker.args[0].row["vkey"] == last
    assert window.table.currentIndex().row() == 99_999


def test_sorted_pages_are_the_same_before_and_after_the_ordered_ids_arrive(big_case):
    """Random access by LIMIT/OFFSET (first moments) and by ordered ids (after) must agree."""
    ws = Workspace(big_case.workspace)
    try:
        case = get_case(ws.cursor(), big_case.name)
        src = StoreSource(ws, case)
        spec = ViewSpec("impact in (HIGH, MODERATE, LOW)", None, (("cadd_phred", True),),
                        ("gene", "cadd_phred", "impact"))
        early = src.open(spec)
        late = src.open(spec)
        late.prepare_order()
        n = early.count()
        assert n == late.count() == ws.cursor().execute(
            "SELECT count(*) FROM case_1_variants WHERE impact IN ('HIGH', 'MODERATE', 'LOW')").fetchone()[0]
        for first in (0, 256, n // 2, n - 100):
            assert early.rows(first, 256) == late.rows(first, 256)
        expect = ws.cursor().execute(
            "SELECT vkey FROM case_1_variants WHERE impact IN ('HIGH', 'MODERATE', 'LOW') "
            f"ORDER BY cadd_phred DESC NULLS LAST, {ORDER} LIMIT 300 OFFSET {n - 300}").fetchall()
        assert [r[1] for r in late.rows(n - 300, 300)] == [e[0] for e in expect]
        assert late.rows(n, 10) == []
        # the row of a locus in the sorted view
        target = expect[-1][0]
        assert late.find(target) == n - 1
    finally:
        ws.close()

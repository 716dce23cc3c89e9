"""The ACMG panel: suggestions, decisions through the review commands, live class, history across cases."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLineEdit, QToolButton

from raredesk.acmg import review
from raredesk.gui.acmg_panel import C_CODE, C_COMMENT, C_DECISION, C_STATUS, C_STRENGTH, AcmgPanel, live_class_text
from raredesk.gui.detail_panel import VariantContext
from raredesk.store.cases import get_case
from raredesk.store.importer import import_vcf
from raredesk.store.workspace import Workspace

VKEY = "1:7890024:T:G"          # PER3: the engine suggests PM1_Supporting, PM2_Supporting, BP4_Moderate
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "acmg-panel.png"


@pytest.fixture
def ws(tmp_path, data_dir):
    w = Workspace(tmp_path / "ws")
    import_vcf(w, data_dir / "scout" / "643594.clinical.vcf.gz", "A", ped=str(data_dir / "scout" / "643594.ped"))
    yield w
    w.close()


def context(ws, case_name: str, vkey: str = VKEY) -> VariantContext:
    cur = ws.cursor()
    case = get_case(cur, case_name)
    vid, gene = cur.execute(f"SELECT variant_id, gene FROM {case.table} WHERE vkey = ?", [vkey]).fetchone()
    chrom, pos, ref, alt = vkey.split(":")
    return VariantContext(ws, case, vid, vkey, chrom, int(pos), ref, alt, case.build, None, gene)


@pytest.fixture
def panel(qtbot):
    p = AcmgPanel(reviewer="alice")
    qtbot.addWidget(p)
    p.resize(1500, 620)
    p.show()
    yield p
    p.shutdown()


def row_of(p: AcmgPanel, code: str) -> int:
    return p._row_codes.index(code)


def cell(p: AcmgPanel, code: str, cls, name: str):
    """The row's accept/reject button, strength menu or comment field (None when the row has none)."""
    col = {"accept": C_DECISION, "reject": C_DECISION, "strength": C_STRENGTH, "comment": C_COMMENT}[name]
    w = p.table.cellWidget(row_of(p, code), col)
    if w is None or isinstance(w, cls):
        return w
    return w.findChild(cls, f"{name}_{code}")


def stored(ws, case_name="A", vkey=VKEY):
    cur = ws.cursor()
    try:
        return review.find_classification(cur, case_name, vkey)
    finally:
        cur.close()


def test_review_a_variant_then_see_it_from_another_case(qtbot, ws, panel, data_dir):
    with qtbot.waitSignal(panel.loaded, timeout=30_000):
        panel.set_variant(context(ws, "A"))

    # the suggestions: all 28 criteria, the met ones first with their strengths and reasons
    assert panel.table.rowCount() == 28
    assert panel._row_codes[:3] == ["PM1", "PM2", "BP4"]
    assert panel.table.item(row_of(panel, "PM2"), 1).text() == "Supporting"
    assert panel.table.item(row_of(panel, "PM2"), C_STATUS).text().startswith("met")
    assert panel.table.item(row_of(panel, "PM2"), 5).text()          # a reason with the numbers
    assert panel.table.item(row_of(panel, "PVS1"), C_STATUS).text().startswith("not met")
    assert cell(panel, "PVS1", QToolButton, "accept") is None        # not suggested: no toggle
    assert "PM2_Supporting" in panel.engine_label.text()
    assert stored(ws) is None                                        # nothing written before a decision
    assert panel.live_label.text() == live_class_text([]) == \
        "Rules: Uncertain significance · SVI: Uncertain significance · Points: 0 (Uncertain significance)"
    strengths = cell(panel, "PM2", QComboBox, "strength")
    assert [strengths.itemText(i) for i in range(strengths.count())] == ["Supporting", "Moderate"]

    # accept PM2: the first decision starts the draft, the live class follows
    with qtbot.waitSignal(panel.changed, timeout=10_000):
        qtbot.mouseClick(cell(panel, "PM2", QToolButton, "accept"), Qt.MouseButton.LeftButton)
    assert panel.live_label.text().endswith("Points: 1 (Uncertain significance)")
    rec = stored(ws)
    assert rec.status == "draft" and rec.analyst == "alice"
    assert rec.criterion("PM2").state == "accepted"
    assert cell(panel, "PM2", QToolButton, "accept").isChecked()

    # raise PM1 to Moderate, accept it: 1 + 2 points
    with qtbot.waitSignal(panel.changed, timeout=10_000):
        cell(panel, "PM1", QComboBox, "strength").setCurrentText("Moderate")
    assert stored(ws).criterion("PM1").strength == "Moderate"
    assert panel.live_label.text().endswith("Points: 1 (Uncertain significance)")   # not accepted yet
    with qtbot.waitSignal(panel.changed, timeout=10_000):
        qtbot.mouseClick(cell(panel, "PM1", QToolButton, "accept"), Qt.MouseButton.LeftButton)
    assert panel.live_label.text() == live_class_text(["PM1", "PM2_Supporting"])
    assert "Points: 3" in panel.live_label.text()

    # reject BP4, comment on it
    with qtbot.waitSignal(panel.changed, timeout=10_000):
        qtbot.mouseClick(cell(panel, "BP4", QToolButton, "reject"), Qt.MouseButton.LeftButton)
    box = cell(panel, "BP4", QLineEdit, "comment")
    with qtbot.waitSignal(panel.changed, timeout=10_000):
        box.setText("REVEL below threshold only in one transcript")
        box.editingFinished.emit()
    rec = stored(ws)
    assert rec.criterion("BP4").state == "rejected"
    assert rec.criterion("BP4").comment == "REVEL below threshold only in one transcript"
    assert cell(panel, "BP4", QLineEdit, "comment").text() == "REVEL below threshold only in one transcript"

    # a rejected command shows inline and does not change anything
    panel.reviewed_button.setEnabled(True)
    with qtbot.waitSignal(panel.failed, timeout=10_000) as blocker:
        panel.reviewed_button.click()
    assert "final class" in blocker.args[0]
    assert panel.error_label.isVisibleTo(panel) and "final class" in panel.error_label.text()
    assert stored(ws).status == "draft"

    # add a criterion the engine cannot suggest
    panel.add_code.setCurrentText("PP4")
    assert [panel.add_strength.itemText(i) for i in range(panel.add_strength.count())][0] == "Supporting"
    panel.add_reason.setText("Phenotype highly specific for the gene")
    with qtbot.waitSignal(panel.changed, timeout=10_000):
        panel.add_button.click()
    assert not panel.error_label.isVisibleTo(panel)
    assert stored(ws).criterion("PP4").origin == "reviewer"
    assert "PP4" in panel._row_codes[:4]
    assert "Points: 4" in panel.live_label.text()

    # final class, review, sign
    panel.final_class.setCurrentText("Uncertain significance")
    panel.final_summary.setText("Rare missense in PER3; evidence insufficient.")
    with qtbot.waitSignal(panel.changed, timeout=10_000):
        panel.final_button.click()
    with qtbot.waitSignal(panel.changed, timeout=10_000):
        panel.reviewed_button.click()
    with qtbot.waitSignal(panel.changed, timeout=10_000):
        panel.sign_button.click()
    rec = stored(ws)
    assert (rec.status, rec.final_class, rec.signer) == ("signed", "Uncertain significance", "alice")
    assert "signed" in panel.status_label.text()
    assert not cell(panel, "PM2", QToolButton, "accept").isEnabled()          # locked
    assert panel.amend_button.isEnabled()

    # the same VCF as a second case: the panel shows the first case's classification
    import_vcf(ws, data_dir / "scout" / "643594.clinical.vcf.gz", "B", ped=str(data_dir / "scout" / "643594.ped"))
    with qtbot.waitSignal(panel.loaded, timeout=30_000):
        panel.set_variant(context(ws, "B"))
    assert panel.seen_label.text().startswith("Seen in 2 cases")
    assert panel.history.rowCount() == 1
    row = [panel.history.item(0, c).text() for c in range(5)]
    assert row[:4] == ["A", "VUS", "signed", "alice"]
    assert "Uncertain significance" in panel.history.item(0, 1).toolTip()
    assert row[4] == rec.signed_at[:10]
    assert stored(ws, "B") is None and panel.record is None        # case B's own classification is separate
    assert panel.live_label.text().endswith("Points: 0 (Uncertain significance)")


def test_stale_result_is_dropped_and_none_clears(qtbot, ws, panel):
    other = "1:7890026:A:G"
    panel.set_variant(context(ws, "A", VKEY))
    with qtbot.waitSignal(panel.loaded, timeout=30_000):
        panel.set_variant(context(ws, "A", other))
    qtbot.wait(300)                                   # the first load (stale) must not redraw the panel
    assert panel.report.vkey == other
    assert other in panel.title.text()
    assert "BP4" not in panel._row_codes[:3]
    panel.set_variant(None)
    assert panel.table.rowCount() == 0 and panel.live_label.text() == ""
    assert not panel.add_button.isEnabled()


def test_screenshot(qtbot, ws, panel, data_dir):
    """The panel on case B after case A's classification was signed (saved with RAREDESK_SCREENSHOTS=1)."""
    cid = review.start_classification(ws, "A", VKEY, "bob").classification_id
    review.accept(ws, cid, "PM2", "bob")
    for code in ("PM1", "BP4"):
        review.reject(ws, cid, code, "bob")
    review.set_final(ws, cid, "Uncertain significance", "Rare missense; no further evidence.", "bob")
    review.mark_reviewed(ws, cid, "bob")
    review.sign(ws, cid, "carol")
    import_vcf(ws, data_dir / "scout" / "643594.clinical.vcf.gz", "B", ped=str(data_dir / "scout" / "643594.ped"))
    with qtbot.waitSignal(panel.loaded, timeout=30_000):
        panel.set_variant(context(ws, "B"))
    with qtbot.waitSignal(panel.changed, timeout=10_000):
        panel.accept("PM2")
    with qtbot.waitSignal(panel.changed, timeout=10_000):
        panel.reject("BP4")
    assert [panel.history.item(0, c).text() for c in (0, 2, 3)] == ["A", "signed", "carol"]
    assert panel.live_label.text().endswith("Points: 1 (Uncertain significance)")
    img = panel.grab().toImage()
    assert img.width() >= 1400
    if os.environ.get("RAREDESK_SCREENSHOTS"):
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        assert img.save(str(SCREENSHOT))

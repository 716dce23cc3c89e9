"""Creating a case from the GUI: the new-case dialog, import in the background with progress, cancel, errors."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from raredesk.gui.import_job import ImportRequest, PedigreeMember, pedigree_text
from raredesk.gui.new_case_dialog import NewCaseDialog


def _tables(win):
    return {r[0] for r in win.ws.cursor().execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()").fetchall()}


def test_cancelling_an_import_leaves_the_workspace_unchanged(qtbot, window, demo_ws, big_vcf):
    with qtbot.waitSignal(window.cases_loaded, timeout=20_000):
        window.open_workspace(demo_ws)
    tables_before = _tables(window)
    req = ImportRequest("to-be-cancelled", str(big_vcf),
                        members=[PedigreeMember("ADM1059A2", "proband", "male", True),
                                 PedigreeMember("ADM1059A1", "father", "male", False),
                                 PedigreeMember("ADM1059A3", "mother", "female", False)])
    with qtbot.waitSignal(window.imports.import_progressed, timeout=60_000):
        assert window.start_import(req)
    assert window.import_bar.isVisible() and window.import_cancel.isVisible()
    names = [window.case_browser.table.item(i, 0).text() for i in range(window.case_browser.table.rowCount())]
    assert "to-be-cancelled" in names                       # shown as importing in the case browser
    ped = Path(demo_ws) / "pedigrees" / "to-be-cancelled.ped"
    assert ped.is_file()                                    # the pedigree from the dialog, as a PED
    with qtbot.waitSignal(window.imports.import_cancelled, timeout=60_000):
        qtbot.mouseClick(window.import_cancel, Qt.MouseButton.LeftButton)
    assert window.ws.cursor().execute("SELECT count(*) FROM cases WHERE name = 'to-be-cancelled'").fetchone()[0] == 0
    assert _tables(window) == tables_before
    assert not ped.exists()
    assert not window.import_bar.isVisible()
    assert window.last_notification[0] == "info" and "unchanged" in window.last_notification[1]


def test_new_case_dialog_to_an_imported_case_with_its_pedigree(qtbot, window, demo_ws, data_dir, demo_template):
    with qtbot.waitSignal(window.cases_loaded, timeout=20_000):
        window.open_workspace(demo_ws)
    dlg = NewCaseDialog(["DEMO-trio"])
    qtbot.addWidget(dlg)
    vcf = str(data_dir / "scout" / "643594.clinical.vcf.gz")
    dlg.vcf.edit.setText(vcf)
    dlg.vcf.edit.editingFinished.emit()
    assert dlg.name.text() == "643594.clinical"
    assert [dlg.members.item(i, 0).text() for i in range(3)] == ["ADM1059A1", "ADM1059A2", "ADM1059A3"]
    roles = {"ADM1059A1": ("father", "male", 2), "ADM1059A2": ("proband", "male", 1),
             "ADM1059A3": ("mother", "female", 2)}
    for i in range(3):
        role, sex, affected = roles[dlg.members.item(i, 0).text()]
        dlg.members.cellWidget(i, 1).setCurrentText(role)
        dlg.members.cellWidget(i, 2).setCurrentText(sex)
        dlg.members.cellWidget(i, 3).setCurrentIndex(affected)
    dlg.hpo.setText("HP:0001250, HP:12")
    dlg.name.setText("DEMO-trio")
    dlg._on_accept_clicked()
    assert not dlg.result() and not dlg.problems.isHidden()    # problems listed in the dialog, not a crash
    text = dlg.problems.text()
    assert "HP:12" in text and "a case named 'DEMO-trio' exists" in text
    dlg.name.setText("scout-trio")
    dlg.hpo.setText("HP:0001250 HP:0001263")
    dlg.indication.setText("epilepsy")
    dlg.consent.setChecked(True)
    bed = next(Path(demo_template.folder, "files").glob("*.targets.bed"))
    dlg.targets.edit.setText(str(bed))
    assert dlg.problems_list() == []
    req = dlg.request()
    assert req.spec.proband == "ADM1059A2" and req.spec.sex == "male" and req.spec.consent_secondary
    with qtbot.waitSignal(window.imports.import_finished, timeout=120_000) as blocker:
        window.start_import(req)
    assert blocker.args[0].result.variant_rows > 600
    qtbot.waitUntil(lambda: any(r.case.name == "scout-trio" for r in window.case_browser.rows), timeout=10_000)
    con = window.ws.cursor()
    case = con.execute("SELECT proband, sex, hpo_terms, indication, consent_secondary FROM cases "
                       "WHERE name = 'scout-trio'").fetchone()
    assert case == ("ADM1059A2", "male", ["HP:0001250", "HP:0001263"], "epilepsy", True)
    samples = dict(con.execute("SELECT s.sample_id, s.role FROM samples s JOIN cases c USING (case_id) "
                               "WHERE c.name = 'scout-trio'").fetchall())
    assert samples == {"ADM1059A2": "proband", "ADM1059A1": "father", "ADM1059A3": "mother"}
    files = con.execute("SELECT f.kind, f.path FROM files f JOIN cases c USING (case_id) WHERE c.name = 'scout-trio' "
                        "ORDER BY f.kind").fetchall()
    assert files[0] == ("targets", str(bed.resolve())) and files[1][0] == "vcf"
    assert window.last_notification[0] in ("info", "warning") and "scout-trio" in window.last_notification[1]


def test_a_failed_import_is_reported_in_one_line_and_adds_nothing(qtbot, window, demo_ws, demo_template):
    with qtbot.waitSignal(window.cases_loaded, timeout=20_000):
        window.open_workspace(demo_ws)
    bam = next(Path(demo_template.folder, "files").glob("*.bam"))
    with qtbot.waitSignal(window.imports.import_failed, timeout=60_000):
        window.start_import(ImportRequest("not-a-vcf", str(bam)))
    level, text = window.last_notification
    assert level == "error" and "nothing was added" in text and bam.name in text and "\n" not in text
    assert window.ws.cursor().execute("SELECT count(*) FROM cases WHERE name = 'not-a-vcf'").fetchone()[0] == 0


def test_pedigree_text_from_roles():
    members = [PedigreeMember("kid", "proband", "female", True), PedigreeMember("dad", "father", "male", False),
               PedigreeMember("mum", "mother", "female", False), PedigreeMember("sib", "sibling", "male", None)]
    assert pedigree_text("FAM 1", members).splitlines()[1:] == [
        "FAM_1\tkid\tdad\tmum\t2\t2", "FAM_1\tdad\t0\t0\t1\t1", "FAM_1\tmum\t0\t0\t2\t1", "FAM_1\tsib\tdad\tmum\t1\t0"]
    assert pedigree_text("F", [PedigreeMember("a"), PedigreeMember("b")]) is None

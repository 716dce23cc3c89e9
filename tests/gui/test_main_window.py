"""The main window on the real demo case: open, filter (builder and expression), sort, jump, review, export."""

from __future__ import annotations

import csv

from PySide6.QtCore import QPoint, Qt

from raredesk.gui.page_source import BLOCK_ROWS


CASE = "DEMO-trio"


def _column(win, name):
    return next(i for i, c in enumerate(win.model.columns) if c.name == name)


def _loaded_values(win, name, rows):
    col = _column(win, name)
    return [win.model.data(win.model.index(r, col), Qt.ItemDataRole.UserRole + 2) for r in rows]


def _apply(qtbot, win, action):
    """Run ``action`` (a click or an edit in the filter panel); wait for the new page to be painted and counted."""
    with qtbot.waitSignals([win.table.page_painted, win.model.view_installed], timeout=20_000):
        action()


def test_open_demo_lists_the_case_and_shows_table_and_evidence(qtbot, window, demo_ws):
    with qtbot.waitSignal(window.cases_loaded, timeout=20_000) as blocker:
        assert window.open_workspace(demo_ws)
    rows = blocker.args[0]
    assert [r.case.name for r in rows] == [CASE]
    browser = window.case_browser.table
    assert browser.item(0, 0).text() == CASE and browser.item(0, 1).text() == "imported"
    assert browser.item(0, 2).text().startswith("DEMO_PROBAND")

    with qtbot.waitSignals([window.table.page_painted, window.model.view_installed], timeout=20_000):
        window.case_browser.table.setFocus()
        window.case_browser.table.selectRow(0)
        qtbot.keyClick(window.case_browser.table, Qt.Key.Key_Return)        # Enter opens the case
    con = window.ws.cursor()
    n = con.execute("SELECT count(*) FROM case_1_variants").fetchone()[0]
    assert window.model.rowCount() == n == window.case.n_variants == 3572
    assert window.filter_panel.count_label.text() == "3,572 of 3,572 variants"
    # the first page came with the count; genomic order, one row per ALT allele
    first = con.execute("SELECT vkey FROM case_1_variants ORDER BY chrom_rank, pos, variant_id LIMIT 5").fetchall()
    assert [window.model.row_ref(i).vkey for i in range(5)] == [r[0] for r in first]
    # genotype columns per sample with AD/DP/GQ in the tooltip
    gt = _column(window, "proband.gt")
    tip = window.model.data(window.model.index(0, gt), Qt.ItemDataRole.ToolTipRole)
    assert tip.startswith("DEMO_PROBAND:") and "AD " in tip and "DP " in tip and "GQ " in tip
    # the first row is selected and its evidence shown
    qtbot.waitUntil(lambda: window.detail.detail is not None, timeout=10_000)
    d = window.detail
    assert d.genotypes.rowCount() == 3
    names = {d.population.item(r, c).text() for r in range(d.population.rowCount()) for c in (0, 2, 4)
             if d.population.item(r, c)}
    assert names == {"Overall", "Group max", "Homozygotes", "AFR", "AMR", "ASJ", "EAS", "FIN", "NFE", "SAS", "OTH",
                     "MID", "AMI"}                                     # every population
    assert d.scores.rowCount() == 6
    assert d.transcripts.rowCount() == len(d.detail.transcripts) >= 1
    # the slots other components fill are there
    assert d.tabs.tabText(3) == "Reads" and d.tabs.tabText(4) == "ACMG"


def test_detail_shows_every_transcript_genotypes_and_population_of_the_planted_de_novo(qtbot, open_case, window, demo_ws):
    open_case(window, demo_ws, CASE)
    with qtbot.waitSignal(window.detail_shown, timeout=20_000):
        window.jump_to("2:150008:T:G")
    d = window.detail.detail
    assert d.row["vkey"] == "2:150008:T:G" and d.row["gene"] == "SCN1A"
    con = window.ws.cursor()
    n_tx = con.execute("SELECT count(*) FROM case_1_transcripts WHERE variant_id = ?", [d.variant_id]).fetchone()[0]
    assert window.detail.transcripts.rowCount() == n_tx >= 3          # every transcript, not only the picked one
    genotypes = {window.detail.genotypes.item(i, 0).text(): window.detail.genotypes.item(i, 2).text()
                 for i in range(3)}
    assert genotypes == {"DEMO_PROBAND": "0/1", "DEMO_FATHER": "0/0", "DEMO_MOTHER": "0/0"}
    dp = con.execute("SELECT s0_dp, s0_ab FROM case_1_variants WHERE vkey = '2:150008:T:G'").fetchone()
    assert window.detail.genotypes.item(0, 4).text() == str(dp[0])
    assert window.detail.genotypes.item(0, 6).text() == f"{dp[1]:.2f}"
    assert "SCN1A" in window.detail.title.text() and "p.Glu257Ala" in window.detail.title.text()


def test_filter_builder_writes_the_expression_and_the_count_follows(qtbot, open_case, window, demo_ws):
    open_case(window, demo_ws, CASE)
    panel = window.filter_panel
    con = window.ws.cursor()
    _apply(qtbot, window, lambda: qtbot.mouseClick(panel.impact["HIGH"], Qt.MouseButton.LeftButton,
                                                   pos=QPoint(6, panel.impact["HIGH"].height() // 2)))
    assert panel.expression.toPlainText() == "impact in (HIGH)"
    n_high = con.execute("SELECT count(*) FROM case_1_variants WHERE impact = 'HIGH'").fetchone()[0]
    assert window.model.rowCount() == n_high == 21
    assert panel.count_label.text() == f"{n_high} of 3,572 variants"
    assert set(_loaded_values(window, "impact", range(n_high))) == {"HIGH"}

    _apply(qtbot, window, lambda: panel.af.setCurrentIndex(4))              # < 0.1 %
    assert panel.expression.toPlainText() == "(gnomad_af < 0.001 or gnomad_af is missing) and impact in (HIGH)"
    expected = con.execute("SELECT count(*) FROM case_1_variants WHERE impact = 'HIGH' AND "
                           "(gnomad_af < 0.001 OR gnomad_af IS NULL)").fetchone()[0]
    assert window.model.rowCount() == expected < n_high

    # per-sample genotype: the father hom-ref
    _apply(qtbot, window, lambda: panel._gt_boxes["father"].setCurrentIndex(4))
    assert panel.expression.toPlainText().endswith("and gt(father) = hom_ref")
    expected = con.execute("SELECT count(*) FROM case_1_variants WHERE impact = 'HIGH' AND "
                           "(gnomad_af < 0.001 OR gnomad_af IS NULL) AND s1_gt = 0").fetchone()[0]
    assert window.model.rowCount() == expected


def test_expression_edits_read_back_into_the_builder_and_errors_show_inline(qtbot, open_case, window, demo_ws):
    open_case(window, demo_ws, CASE)
    panel = window.filter_panel
    con = window.ws.cursor()

    def type_and_enter(text):
        panel.expression.setFocus()
        panel.expression.selectAll()
        qtbot.keyClicks(panel.expression, text)
        qtbot.keyClick(panel.expression, Qt.Key.Key_Return)

    _apply(qtbot, window, lambda: type_and_enter("impact in (HIGH, MODERATE) and cadd_phred >= 25 and qual > 100"))
    assert panel.impact["HIGH"].isChecked() and panel.impact["MODERATE"].isChecked()
    assert not panel.impact["LOW"].isChecked()
    cb, sp = panel.scores["cadd_phred"]
    assert cb.isChecked() and sp.value() == 25
    expected = con.execute("SELECT count(*) FROM case_1_variants WHERE impact IN ('HIGH', 'MODERATE') "
                           "AND cadd_phred >= 25 AND qual > 100").fetchone()[0]
    assert window.model.rowCount() == expected > 0
    # a builder click keeps the clause it does not own
    _apply(qtbot, window, lambda: panel.pass_only.setChecked(True))
    assert panel.expression.toPlainText() == ("impact in (HIGH, MODERATE) and cadd_phred >= 25 and filter = PASS "
                                              "and qual > 100")

    # a bad expression: error under the box with its position; the table keeps the last good result
    before = window.model.rowCount()
    generation = window.model.generation
    with qtbot.waitSignal(window.model.query_failed, timeout=10_000):
        type_and_enter("gnomad_af < abc")
    assert panel.error_label.isVisible()
    assert "column 13" in panel.error_label.text() and "number" in panel.error_label.text()
    assert panel.expression.extraSelections()          # the position is underlined
    assert window.model.rowCount() == before and window.model.generation == generation
    with qtbot.waitSignal(window.model.query_failed, timeout=10_000):
        type_and_enter("gnomad_a < 0.01")
    assert "gnomad_af" in panel.error_label.text()    # a suggestion for the misspelt field
    _apply(qtbot, window, lambda: type_and_enter("gnomad_af < 0.01"))
    assert not panel.error_label.isVisible() and not panel.expression.extraSelections()


def test_sort_by_header_click_runs_in_the_database(qtbot, open_case, window, demo_ws):
    open_case(window, demo_ws, CASE)
    con = window.ws.cursor()
    rows = con.execute("SELECT vkey, gnomad_af, chrom_rank, pos, variant_id FROM case_1_variants").fetchall()
    # independent order: AF ascending with missing values last, ties by genomic position
    asc = sorted(rows, key=lambda r: (r[1] is None, r[1] or 0, r[2], r[3], r[4]))
    col = _column(window, "gnomad_af")
    header = window.table.horizontalHeader()
    x = header.sectionViewportPosition(col) + header.sectionSize(col) // 2
    _apply(qtbot, window, lambda: qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton,
                                                   pos=QPoint(x, header.height() // 2)))
    assert window.model.spec.sort == (("gnomad_af", False),)
    assert [window.model.row_ref(i).vkey for i in range(BLOCK_ROWS)] == [r[0] for r in asc[:BLOCK_ROWS]]
    _apply(qtbot, window, lambda: qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton,
                                                   pos=QPoint(x, header.height() // 2)))
    assert window.model.spec.sort == (("gnomad_af", True),)
    desc = sorted(rows, key=lambda r: (r[1] is None, -(r[1] or 0), r[2], r[3], r[4]))
    assert [window.model.row_ref(i).vkey for i in range(50)] == [r[0] for r in desc[:50]]
    assert header.sortIndicatorSection() == col
    assert window.status_count.text().endswith("sorted by gnomad_af ↓")


def test_jump_to_gene_locus_and_unknown(qtbot, open_case, window, demo_ws):
    open_case(window, demo_ws, CASE)
    con = window.ws.cursor()
    with qtbot.waitSignal(window.detail_shown, timeout=10_000):
        window.jump.setText("cftr")
        qtbot.keyClick(window.jump, Qt.Key.Key_Return)
    first_cftr = con.execute("SELECT vkey FROM case_1_variants WHERE gene = 'CFTR' OR list_contains(genes, 'CFTR') "
                             "ORDER BY chrom_rank, pos, variant_id LIMIT 1").fetchone()[0]
    assert window.table.current_ref().vkey == first_cftr
    with qtbot.waitSignal(window.detail_shown, timeout=10_000):
        window.jump_to("chrX:41,000")
    expect = con.execute("SELECT vkey FROM case_1_variants WHERE chrom = 'X' AND pos >= 41000 "
                         "ORDER BY chrom_rank, pos, variant_id LIMIT 1").fetchone()[0]
    assert window.table.current_ref().vkey == expect
    with qtbot.waitSignal(window.notified, timeout=10_000) as blocker:
        window.jump_to("NOTAGENE")
    assert blocker.args[0] == "warning" and "NOTAGENE" in blocker.args[1]


def test_tags_flag_and_note_are_saved_at_once_and_kept_after_restart(qtbot, open_case, demo_ws):
    from raredesk.gui.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    open_case(win, demo_ws, CASE)
    with qtbot.waitSignal(win.detail_shown, timeout=10_000):
        win.jump_to("7:130013:GT:G")
    review = win.detail.review
    with qtbot.waitSignal(win.review_saved, timeout=10_000):
        qtbot.mouseClick(review.flag, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(win.review_saved, timeout=10_000):
        review.tags.edit.setFocus()
        qtbot.keyClicks(review.tags.edit, "comp het with 7:130646")
        qtbot.keyClick(review.tags.edit, Qt.Key.Key_Return)
    with qtbot.waitSignal(win.review_saved, timeout=10_000):
        review.note.setFocus()
        qtbot.keyClicks(review.note, "Maternal frameshift; Sanger ordered.")
    # saved already (no save button): visible through a second, independent connection count
    row = win.ws.cursor().execute("SELECT flagged, tags, note FROM variant_review WHERE vkey = '7:130013:GT:G'"
                                  ).fetchone()
    assert row == (True, ["comp het with 7:130646"], "Maternal frameshift; Sanger ordered.")
    flag_col = _column(win, "flag")
    r = win.table.current_ref().row
    assert win.model.data(win.model.index(r, flag_col)) == "⚑"
    assert "comp het with 7:130646" in [win.filter_panel.tag_filter.itemText(i)
                                        for i in range(win.filter_panel.tag_filter.count())]
    win.close()
    assert win.ws is None                            # workspace closed with the window

    again = MainWindow()
    qtbot.addWidget(again)
    again.show()
    open_case(again, demo_ws, CASE)
    with qtbot.waitSignal(again.detail_shown, timeout=10_000):
        again.jump_to("7:130013:GT:G")
    d = again.detail.detail
    assert d.review.flagged and d.review.tags == ("comp het with 7:130646",)
    assert again.detail.review.note.toPlainText() == "Maternal frameshift; Sanger ordered."
    assert again.detail.review.flag.isChecked()
    r = again.table.current_ref().row
    assert again.model.data(again.model.index(r, _column(again, "flag"))) == "⚑"
    # "flagged only" review filter
    _apply(qtbot, again, lambda: again.filter_panel.flagged_only.setChecked(True))
    assert again.model.rowCount() == 1 and again.model.row_ref(0).vkey == "7:130013:GT:G"
    again.close()


def test_export_of_the_filtered_sorted_table(qtbot, open_case, window, demo_ws, tmp_path):
    open_case(window, demo_ws, CASE)
    _apply(qtbot, window, lambda: window.filter_panel.set_expression("impact in (HIGH, MODERATE)"))
    window.model.sort(_column(window, "cadd_phred"), Qt.SortOrder.DescendingOrder)
    qtbot.waitUntil(lambda: window.model.spec.sort == (("cadd_phred", True),), timeout=10_000)
    out = tmp_path / "candidates.tsv"
    with qtbot.waitSignal(window.export_finished, timeout=20_000) as blocker:
        window.export_to(str(out), "tsv")
    con = window.ws.cursor()
    expected = con.execute("SELECT vkey, cadd_phred, s0_gt_raw, s0_dp FROM case_1_variants "
                           "WHERE impact IN ('HIGH', 'MODERATE') ORDER BY cadd_phred DESC NULLS LAST, "
                           "chrom_rank, chrom, pos, variant_id").fetchall()
    assert blocker.args[1] == len(expected) == 186
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    assert [r["vkey"] for r in rows] == [e[0] for e in expected]
    assert rows[0]["cadd_phred"] == repr(expected[0][1])               # unrounded
    assert [r["proband.gt"] for r in rows[:20]] == [e[2] for e in expected[:20]]
    assert [r["proband.dp"] for r in rows[:20]] == [str(e[3]) for e in expected[:20]]
    assert not list(tmp_path.glob(".*.part"))                          # no partial file left


def test_columns_and_window_state_are_remembered(qtbot, open_case, demo_ws, tmp_path):
    from raredesk.gui.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    open_case(win, demo_ws, CASE)
    chosen = ["flag", "gene", "hgvsp", "proband.gt", "proband.dp", "INFO/DP", "cadd_phred"]
    with qtbot.waitSignal(win.table.page_painted, timeout=10_000):
        win.set_columns(chosen)
    assert [c.name for c in win.model.columns] == chosen
    assert win.model.data(win.model.index(0, 5)) not in (None, "…")     # an INFO column, fetched
    win.resize(790, 530)
    saved = win.size()
    assert saved.height() == 530
    win.close()
    assert (tmp_path / "settings" / "RareDesk" / "RareDesk.ini").is_file()   # redirected, not the user's

    from raredesk.gui import settings as st

    assert st.get_json(st.app_settings(), "recent/cases", [])[0] == [str(demo_ws.resolve()), CASE]
    again = MainWindow()
    qtbot.addWidget(again)
    again.show()
    # restored (not the 1500 x 940 first-start size); the offscreen screen is 800 px wide, so check the height
    assert again.size().height() == saved.height() == 530
    open_case(again, demo_ws, CASE)
    assert [c.name for c in again.model.columns] == chosen
    again.close()


def test_a_workspace_locked_by_another_process_is_reported_not_raised(qtbot, window, demo_ws):
    import subprocess
    import sys
    import textwrap

    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys
        from raredesk.store.workspace import Workspace
        ws = Workspace({str(demo_ws)!r})
        print("ready", flush=True)
        sys.stdin.readline()
    """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        assert not window.open_workspace(demo_ws, ask=False)
        level, text = window.last_notification
        assert level == "error" and f"PID {holder.pid}" in text
        assert window.notification.isVisible()
    finally:
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(timeout=30)


def test_presets_menu_and_inheritance_builder_find_the_planted_findings(qtbot, open_case, window, demo_ws):
    open_case(window, demo_ws, CASE)
    panel = window.filter_panel
    titles = [a.text() for a in panel.presets_menu.actions()]
    assert any("rare-damaging-de-novo" in t for t in titles)
    act = next(a for a in panel.presets_menu.actions() if "rare-damaging-de-novo" in a.text())
    _apply(qtbot, window, act.trigger)
    assert window.model.spec.preset == "rare-damaging-de-novo" and panel.preset_chip.isVisible()
    keys = [window.model.row_ref(i).vkey for i in range(window.model.rowCount())]
    assert "2:150008:T:G" in keys and len(keys) < 20                     # the planted de novo SCN1A missense
    _apply(qtbot, window, lambda: qtbot.mouseClick(panel.preset_chip, Qt.MouseButton.LeftButton))
    assert window.model.spec.preset is None and window.model.rowCount() == 3572
    # the same through the builder: inheritance "recessive, homozygous" + HIGH impact
    _apply(qtbot, window, lambda: panel.inheritance.setCurrentIndex(2))
    assert panel.expression.toPlainText() == "ar_hom"
    keys = [window.model.row_ref(i).vkey for i in range(window.model.rowCount())]
    assert "2:264045:G:T" in keys                                        # the planted ALMS1 stop-gained


def test_demo_screenshot_command_renders_the_window(demo_template, tmp_path):
    import os
    import subprocess
    import sys

    from PySide6.QtGui import QImage

    out = tmp_path / "shot.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "config")}
    proc = subprocess.run([sys.executable, "-m", "raredesk", "demo", "--workspace", str(demo_template.folder),
                           "--screenshot", str(out)], env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    img = QImage(str(out))
    assert (img.width(), img.height()) == (1600, 1000)
    colours = {img.pixel(x, y) for x in range(0, 1600, 37) for y in range(0, 1000, 29)}
    assert len(colours) > 20                                            # a rendered window, not a blank image
    assert "propagateSizeHints" not in proc.stderr


def test_keyboard_flag_and_vcf_export(qtbot, open_case, window, demo_ws, tmp_path):
    open_case(window, demo_ws, CASE)
    window.table.setFocus()
    qtbot.keyClick(window.table, Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: window.detail.detail is not None and window.table.current_ref().row == 1, timeout=10_000)
    vkey = window.table.current_ref().vkey
    with qtbot.waitSignal(window.review_saved, timeout=10_000) as blocker:
        qtbot.keyClick(window.table, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)     # Variant > Flag
    assert blocker.args[0].vkey == vkey and blocker.args[0].flagged
    qtbot.waitUntil(lambda: window.detail.review.flag.isChecked(), timeout=5_000)
    with qtbot.waitSignal(window.review_saved, timeout=10_000) as blocker:
        qtbot.keyClick(window.table, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    assert not blocker.args[0].flagged

    _apply(qtbot, window, lambda: window.filter_panel.set_expression("impact in (HIGH)"))
    out = tmp_path / "high.vcf"
    with qtbot.waitSignal(window.export_finished, timeout=20_000) as blocker:
        window.export_to(str(out), "vcf")
    text = out.read_text()
    records = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    assert text.startswith("##fileformat=VCF") and blocker.args[1] == len(records) == 21
    assert {ln.split("\t")[0] for ln in records} <= {"chr2", "chr7", "chr17", "chrX", "2", "7", "17", "X"}


def test_column_chooser_lists_every_column_and_returns_the_order(qtbot, open_case, window, demo_ws):
    from raredesk.gui.page_source import default_visible
    from raredesk.gui.variant_table import ColumnChooser

    open_case(window, demo_ws, CASE)
    cols = window.source.columns()
    names = {c.name for c in cols}
    assert {"INFO/CLNDN", "mother.gt", "father.ab", "gnomad_af_nfe", "flag", "note"} <= names
    dlg = ColumnChooser(cols, ["gene", "proband.gt"], default_visible(cols))
    qtbot.addWidget(dlg)
    assert dlg.chosen() == ["gene", "proband.gt"]
    dlg.search.setText("clndn")
    visible = [dlg.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(dlg.list.count())
               if not dlg.list.item(i).isHidden()]
    assert visible == ["INFO/CLNDN"]
    row = next(i for i in range(dlg.list.count()) if dlg.list.item(i).data(Qt.ItemDataRole.UserRole) == "INFO/CLNDN")
    dlg.list.item(row).setCheckState(Qt.CheckState.Checked)
    dlg.list.setCurrentRow(1)        # proband.gt
    dlg._move(-1)
    assert dlg.chosen() == ["proband.gt", "gene", "INFO/CLNDN"]

"""The coverage view on the real trio BAMs, checked against ``samtools depth`` run in the test."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import shutil
import subprocess

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication

from raredesk.gui.pileup.coverage_view import SAMPLE_COLOURS, THRESHOLD_COLOURS, CoverageView
from raredesk.gui.pileup.data import SampleSource

pytestmark = pytest.mark.skipif(shutil.which("samtools") is None, reason="samtools is not installed")

TRIO_IDS = ("HG001", "NA12891", "NA12892")


@pytest.fixture(scope="module")
def trio(data_dir):
    d = data_dir / "deeptrio"
    return {"fasta": str(d / "hs37d5.chr20.fa.gz"),
            "bams": {s: str(d / f"{s}.chr20.10_10p1mb_sorted.bam") for s in TRIO_IDS},
            "bed": str(d / "test_giab.b37_chr20_100kbp_at_10mb.bed")}


def sources(trio):
    roles = {"HG001": "proband", "NA12891": "father", "NA12892": "mother"}
    return [SampleSource(s, trio["bams"][s], roles[s]) for s in TRIO_IDS]


def samtools_depth(bam, region=None, bed=None) -> list[tuple[str, int, int]]:
    args = ["samtools", "depth", "-a"] + (["-r", region] if region else []) + (["-b", bed] if bed else []) + [bam]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    return [(c, int(p), int(d)) for c, p, d in (line.split("\t") for line in out.splitlines())]


def runs_below(depth: np.ndarray, first_pos: int, threshold: int) -> list[tuple[int, int]]:
    """(start0, end0) of runs with depth < threshold, computed the plain way."""
    out, start = [], None
    for i, d in enumerate(depth.tolist()):
        if d < threshold and start is None:
            start = i
        if d >= threshold and start is not None:
            out.append((first_pos - 1 + start, first_pos - 1 + i))
            start = None
    if start is not None:
        out.append((first_pos - 1 + start, first_pos - 1 + len(depth)))
    return out


def make_view(qtbot):
    v = CoverageView()
    qtbot.addWidget(v)
    v.resize(1300, 800)
    v.show()
    qtbot.waitExposed(v)
    return v


def compute(qtbot, view, fn=None, timeout=60_000):
    with qtbot.waitSignal(view.computed, timeout=timeout) as blocker:
        (fn or view.compute)()
    QApplication.processEvents()
    return blocker.args[0]


def test_region_depth_thresholds_low_table_and_png(qtbot, trio, tmp_path):
    view = make_view(qtbot)
    view.set_samples(sources(trio), trio["fasta"])
    view.set_region("20", 10_000_000, 10_010_000)
    results = compute(qtbot, view)
    assert [r.source.label for r in results] == list(TRIO_IDS)
    low_rows = []
    for k, (r, curve) in enumerate(zip(results, view.curves)):
        want = samtools_depth(trio["bams"][r.source.label], "20:10000001-10010000")
        depth = np.array([d for _, _, d in want])
        np.testing.assert_array_equal(r.depth.depth, depth)
        x, y = curve.getOriginalDataset()
        np.testing.assert_array_equal(y, depth)                               # the curve is the depth
        assert x[0] == pytest.approx(10_000_000.5) and x[-1] == pytest.approx(10_009_999.5)
        assert curve.opts["pen"].color().getRgb()[:3] == SAMPLE_COLOURS[k]
        assert r.summary["pct_ge_20"] == pytest.approx(100 * (depth >= 20).mean())
        assert r.summary["mean_depth"] == pytest.approx(depth.mean())
        runs = runs_below(depth, 10_000_001, 20)
        assert list(zip(r.low["start"], r.low["end"])) == runs
        low_rows += [(r.source.label, s + 1, e) for s, e in runs]
    # Threshold lines at 10x, 20x and 30x.
    assert sorted(ln.value() for ln in view.threshold_lines) == [10, 20, 30]
    # Low-coverage table: every run of every sample, 1-based starts.
    m = view.low_model
    table = [(m.frame.iat[i, 0], int(m.frame.iat[i, 2]), int(m.frame.iat[i, 3])) for i in range(m.rowCount())]
    assert sorted(table) == sorted(low_rows)
    assert view.tabs.tabText(2).endswith(f"{len(low_rows):,}")
    # Summary table: % >= 20x of the proband, shown with one decimal and flagged (< 95 %).
    s = view.summary_model
    col = list(s.frame.columns).index("pct_ge_20")
    idx = s.index(0, col)
    assert s.data(idx) == f"{results[0].summary['pct_ge_20']:.1f}"
    assert s.data(idx, Qt.ItemDataRole.BackgroundRole) is not None
    # Save as PNG: the file is the plot, with the sample curves and the 20x line drawn in it.
    out = view.save_png(tmp_path / "coverage.png")
    img = QImage(str(out))
    assert (img.width(), img.height()) == (view.plot.width(), view.plot.height())
    colours = {img.pixelColor(x, y).rgb() & 0xFFFFFF for x in range(0, img.width(), 2) for y in range(img.height())}
    for rgb in (SAMPLE_COLOURS[0], SAMPLE_COLOURS[1]):
        assert QColor(*rgb).rgb() & 0xFFFFFF in colours
    # The 20x line is where depth 20 is: sample its pixel row.
    vb = view.plot.getPlotItem().getViewBox()
    (x0, x1), _ = vb.viewRange()
    p = view.plot.mapFromScene(vb.mapViewToScene(__import__("pyqtgraph").Point((x0 + x1) / 2, 20)))
    def near(c, rgb, tol=30):
        return all(abs(a - b) <= tol for a, b in zip((c.red(), c.green(), c.blue()), rgb))

    # Dashed, curves cross it and the y grid line (15 % grey) is drawn at 20 too: most of the row is orange.
    hits = max(sum(near(img.pixelColor(x, y), THRESHOLD_COLOURS[20]) for x in range(100, img.width() - 100))
               for y in (p.y() - 1, p.y(), p.y() + 1))
    assert hits > 0.4 * (img.width() - 200)
    p30 = view.plot.mapFromScene(vb.mapViewToScene(__import__("pyqtgraph").Point((x0 + x1) / 2, 30)))
    assert abs((p.y() - p30.y()) - 10 * (p.y() - view.plot.mapFromScene(vb.mapViewToScene(
        __import__("pyqtgraph").Point((x0 + x1) / 2, 21))).y())) <= 2


def test_bed_genes_percent_at_20x(qtbot, trio, tmp_path):
    # The GIAB BED with gene names added (about 3 targets per "gene"; the first gene is not the worst).
    bed = tmp_path / "genes.bed"
    lines = [ln.split("\t")[:3] for ln in open(trio["bed"]).read().splitlines() if ln.strip()]
    name = [f"GENE{(i + 2) // 3}" for i in range(len(lines))]
    bed.write_text("".join(f"{c}\t{s}\t{e}\t{n}\n" for (c, s, e), n in zip(lines, name)))
    genes: dict = {}
    for (c, s, e), n in zip(lines, name):
        genes.setdefault(n, []).append((int(s), int(e)))
    view = make_view(qtbot)
    view.set_samples(sources(trio), trio["fasta"])
    view.set_bed(str(bed))
    seen: list = []                  # the plot-only run may finish while the first result is handled
    view.computed.connect(seen.append)
    results = compute(qtbot, view)
    first_plotted = results[0].plot_gene
    assert first_plotted == "GENE0"                      # the first gene of the BED, while QC runs
    worst = results[0].genes.sort_values(["pct_ge_20", "name"]).iloc[0]["name"]
    assert worst != first_plotted
    # Then the proband's worst gene is plotted (a second, plot-only request).
    qtbot.waitUntil(lambda: len(seen) >= 2, timeout=60_000)
    view.computed.disconnect(seen.append)
    results = seen[1]
    for r in results:
        want = samtools_depth(trio["bams"][r.source.label], bed=str(bed))
        depth = {p: d for _, p, d in want}
        g = r.genes.set_index("name")
        for gene, ivs in genes.items():
            pos = sorted({p for s, e in ivs for p in range(s + 1, e + 1)})
            d = np.array([depth[p] for p in pos])
            assert g.loc[gene, "bases"] == len(pos)
            assert g.loc[gene, "pct_ge_20"] == pytest.approx(100 * (d >= 20).mean()), (r.source.label, gene)
    assert all(r.plot_gene == worst for r in results)
    ivs = genes[worst]
    assert results[0].plot_span == ("20", min(s for s, _ in ivs) - 100, max(e for _, e in ivs) + 100)
    np.testing.assert_array_equal(results[0].plot_targets, np.array(sorted(ivs)))
    # The genes tab lists every sample x gene; double-clicking a gene plots it.
    assert view.genes_model.rowCount() == 3 * len(genes)
    other = next(g for g in genes if g != worst)
    results = compute(qtbot, view, fn=lambda: view.plot_gene(other))
    assert {r.plot_gene for r in results} == {other}
    assert results[0].genes is not None                  # tables kept from the full run
    assert view.genes_model.rowCount() == 3 * len(genes)


def test_double_click_interval_requests_locus(qtbot, trio):
    view = make_view(qtbot)
    view.set_samples(sources(trio)[:1], trio["fasta"])
    view.set_region("20", 10_000_000, 10_010_000)
    compute(qtbot, view)
    m = view.low_model
    assert m.rowCount() > 0
    row = m.row(0)
    with qtbot.waitSignal(view.locus_requested) as blocker:
        view.low_table.doubleClicked.emit(m.index(0, 0))
    assert blocker.args == [str(row["chrom"]), int(row["start"]) - 1, int(row["end"])]
    (x0, x1), _ = view.plot.getPlotItem().getViewBox().viewRange()
    assert x0 <= int(row["start"]) - 1 and x1 >= int(row["end"])


def test_bad_input_reported_and_newest_run_wins(qtbot, trio):
    view = make_view(qtbot)
    view.set_samples(sources(trio), trio["fasta"])
    view.region_edit.setText("not a region")
    assert view.compute() is None and "give a range" in view.status.text()
    view.region_edit.setText("20:10,000,001-10,002,000")
    view.thresholds_edit.setText("ten")
    assert view.compute() is None and "whole numbers" in view.status.text()
    view.thresholds_edit.setText("10,20,30")
    seen = []
    view.computed.connect(seen.append)
    first = view.compute()
    view.region_edit.setText("20:10,005,001-10,006,000")
    second = view.compute()
    assert first != second
    qtbot.waitUntil(lambda: bool(seen), timeout=60_000)
    view.wait_idle()
    qtbot.wait(50)
    assert len(seen) == 1 and seen[0][0].plot_span == ("20", 10_005_000, 10_006_000)
    # A sample whose BAM is missing shows the reason; the others still plot.
    bad = [SampleSource("HG001", "/nonexistent.bam")] + sources(trio)[1:]
    view.set_samples(bad, trio["fasta"])
    results = compute(qtbot, view)
    assert "not found" in results[0].error and results[1].error is None
    assert "not found" in view.status.text()
    assert len(view.curves) == 2

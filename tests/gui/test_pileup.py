"""The pileup view on real reads, rendered offscreen and checked pixel by pixel.

Expected values come from samtools (run in the test) or pysam, never from the
view's own arrays alone: a pixel is checked where ``samtools mpileup`` shows a
non-reference base, and the colour must be that base's colour.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import re
import shutil
import subprocess
import sys
import time

import numpy as np
import pysam
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QImage, QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication

from raredesk.gui.pileup import layout as lo
from raredesk.gui.pileup.data import SampleSource, fetch_pileups, PileupRequest, sources_from_case
from raredesk.gui.pileup.view import PileupView, ReadEvidencePanel

pytestmark = pytest.mark.skipif(shutil.which("samtools") is None, reason="samtools is not installed")

TRIO_IDS = ("HG001", "NA12891", "NA12892")


# --------------------------------------------------------------------------
# fixtures and helpers
# --------------------------------------------------------------------------

@pytest.fixture(scope="session")
def trio(data_dir):
    d = data_dir / "deeptrio"
    return {"fasta": str(d / "hs37d5.chr20.fa.gz"),
            "bams": {s: str(d / f"{s}.chr20.10_10p1mb_sorted.bam") for s in TRIO_IDS},
            "vcf": str(d / "derived_trio.bcftools.20_10000000_10010000.vcf.gz"),
            "ped": str(d / "derived_trio.ped")}


@pytest.fixture(scope="session")
def na12878(data_dir):
    d = data_dir / "deepvariant"
    return {"bam": str(d / "NA12878_S1.chr20.10_10p1mb.bam"), "cram": str(d / "NA12878_S1.chr20.10_10p1mb.cram"),
            "fasta": str(d / "ucsc.hg19.chr20.unittest.fasta.gz")}


def trio_sources(trio) -> list[SampleSource]:
    roles = {"HG001": "proband", "NA12891": "father", "NA12892": "mother"}
    return [SampleSource(s, trio["bams"][s], roles[s]) for s in TRIO_IDS]


def make_view(qtbot, size=(1400, 900), **kw) -> PileupView:
    v = PileupView(**kw)
    qtbot.addWidget(v)
    v.resize(*size)
    v.show()
    qtbot.waitExposed(v)
    return v


def wait_drawn(qtbot, view, fn, timeout=20_000):
    with qtbot.waitSignal(view.drawn, timeout=timeout) as blocker:
        fn()
    QApplication.processEvents()
    return blocker.args[0]


def mpileup_bases(bam, fasta, contig, pos) -> tuple[str, str]:
    """(reference base, read bases) at one 1-based position, as samtools mpileup prints them."""
    out = subprocess.run(["samtools", "mpileup", "-B", "-A", "-x", "-Q", "0", "-f", fasta, "-r",
                          f"{contig}:{pos}-{pos}", bam], capture_output=True, text=True, check=True).stdout
    f = out.rstrip("\n").split("\t")
    bases = re.sub(r"\^.", "", f[4]).replace("$", "")
    return f[2].upper(), bases


def grab(view: PileupView) -> QImage:
    QApplication.processEvents()
    return view.canvas.grab().toImage()


def pixel(img: QImage, view: PileupView, plot, x: float, y: float) -> tuple[int, int, int]:
    p = view.data_to_canvas(plot, x, y)
    c = img.pixelColor(int(p.x()), int(p.y()))
    return c.red(), c.green(), c.blue()


#: Where to sample a base square: near its left edge, clear of the letter drawn in it when zoomed in.
EDGE = 0.12


def close(rgb, expect, tol=3) -> bool:
    return all(abs(int(a) - int(b)) <= tol for a, b in zip(rgb, expect[:3]))


def blend(rgba, alpha, bg=(255, 255, 255)):
    return tuple(round(alpha * c + (1 - alpha) * b) for c, b in zip(rgba[:3], bg))


def track_of(view, label):
    return next(t for t in view.tracks if t.source.label == label)


def read_with_base(track, pos0, base, min_qual=20):
    """Index of a read whose mismatch at pos0 is ``base`` with quality >= min_qual."""
    b = track.result.data.reads
    mm = b.mismatches
    m = (mm.start == pos0) & (mm.base == ord(base)) & (mm.qual >= min_qual)
    assert m.any(), f"no read with {base} at {pos0 + 1}"
    return int(mm.read[m][0])


def free_point(track, i, lo_x, hi_x):
    """A coordinate inside read i (within [lo_x, hi_x)) with no mismatch, deletion or insertion nearby."""
    b = track.result.data.reads
    busy = set(b.mismatches.start[b.mismatches.read == i].tolist())
    for s, e in zip(b.deletions.start[b.deletions.read == i].tolist(), b.deletions.end[b.deletions.read == i].tolist()):
        busy.update(range(s - 1, e + 1))
    for s in b.insertions.start[b.insertions.read == i].tolist():
        busy.update((s - 1, s))
    for x in range(max(int(b.read_start[i]) + 3, lo_x), min(int(b.read_end[i]) - 3, hi_x)):
        if x not in busy and x - 1 not in busy and x + 1 not in busy:
            return x
    return None


# --------------------------------------------------------------------------
# mismatches, coverage and reference: colours at a real heterozygous SNV
# --------------------------------------------------------------------------

def test_mismatch_pixels_at_trio_snv(qtbot, trio):
    pos = 10_000_439                       # mother het T>G (bcftools call from these BAMs)
    ref_base, bases = mpileup_bases(trio["bams"]["NA12892"], trio["fasta"], "20", pos)
    assert ref_base == "T" and "G" in bases.upper()          # samtools sees the non-reference G
    n_alt = sum(1 for c in bases if c in "Gg")
    view = make_view(qtbot)
    view.set_samples(trio_sources(trio), trio["fasta"])
    info = wait_drawn(qtbot, view, lambda: view.show_variant("20", pos, "T", "G"))
    assert info.contig == "20" and info.start <= pos - 1 < info.end
    pos0 = pos - 1
    mother = track_of(view, "NA12892")
    img = grab(view)
    # A read with G at the site: the mismatch square has G's colour (qualities are Q30: full colour).
    i = read_with_base(mother, pos0, "G")
    y = mother.layout.row[i] + 0.5
    assert close(pixel(img, view, mother.reads_plot, pos0 + EDGE, y), lo.BASE_RGB[lo.G])
    # Beside it, the same read shows its strand colour.
    body = lo.BODY_RGB["reverse" if mother.result.data.reads.is_reverse[i] else "forward"]
    x = free_point(mother, i, pos0 - 30, pos0 + 30)
    assert close(pixel(img, view, mother.reads_plot, x + 0.5, y), body)
    # Every read drawn with G at the site is a read samtools counts as G (same number, Q >= 0).
    code, _ = lo.base_at(mother.result.data.reads, pos0)
    assert int((code == lo.G).sum()) == n_alt
    # Coverage: the bar at the site is coloured by allele, G at the bottom, T (reference) on top.
    cov = mother.result.data.coverage
    depth = int(cov.depth[pos0 - cov.start])
    g = int(cov.counts[pos0 - cov.start, lo.G].sum())
    assert pos0 in mother.cov_scene.flagged
    assert close(pixel(img, view, mother.cov_plot, pos0 + 0.5, 0.5), lo.BASE_RGB[lo.G])
    assert close(pixel(img, view, mother.cov_plot, pos0 + 0.5, depth - 0.7), lo.BASE_RGB[lo.T])
    assert g / cov.counts[pos0 - cov.start, :5].sum() >= 0.2
    # A position without a variant has a grey bar.
    assert close(pixel(img, view, mother.cov_plot, pos0 - 20 + 0.5, 1.0), (175, 175, 175))
    # Reference track: T is red.
    assert close(pixel(img, view, view.ruler, pos0 + 0.12, 0.1), lo.BASE_RGB[lo.T])


def test_sort_by_base_puts_alt_reads_on_top_and_other_sorts(qtbot, trio):
    pos0 = 10_000_438
    view = make_view(qtbot)
    view.set_samples(trio_sources(trio), trio["fasta"])
    wait_drawn(qtbot, view, lambda: view.show_variant("20", pos0 + 1, "T", "G"))
    mother = track_of(view, "NA12892")
    b = mother.result.data.reads
    code, _ = lo.base_at(b, pos0)
    rows = mother.layout.row
    assert rows[code == lo.G].max() < rows[code == lo.REF].min()
    img = grab(view)
    top = int(np.flatnonzero((rows == 0) & (code != lo.NONE))[0])
    assert code[top] == lo.G
    assert close(pixel(img, view, mother.reads_plot, pos0 + EDGE, 0.5), lo.BASE_RGB[lo.G])
    # By strand at the same position: forward reads above reverse ones.
    view.sort_reads("strand", pos0)
    rows = mother.layout.row
    cover = code != lo.NONE
    assert rows[cover & ~b.is_reverse].max() < rows[cover & b.is_reverse].min()
    # By MAPQ: rows ordered by decreasing MAPQ of the read at the position.
    view.sort_reads("mapq", pos0)
    rows = mother.layout.row
    order = np.argsort(rows[cover])
    mq = b.mapq[cover][order].astype(int)
    assert all(a >= c for a, c in zip(mq[:-1], mq[1:]))
    # By insert size: decreasing |TLEN|.
    view.sort_reads("insert_size", pos0)
    rows = mother.layout.row
    order = np.argsort(rows[cover])
    t = np.abs(b.insert_size[cover][order])
    assert all(a >= c for a, c in zip(t[:-1], t[1:]))


def test_group_by_base_strand_and_sample_tracks(qtbot, trio):
    pos0 = 10_000_438
    view = make_view(qtbot)
    view.set_samples(trio_sources(trio), trio["fasta"])
    wait_drawn(qtbot, view, lambda: view.show_variant("20", pos0 + 1, "T", "G"))
    assert [t.source.label for t in view.tracks] == list(TRIO_IDS)       # samples: one track each, in order
    view.group_reads("base")
    mother = track_of(view, "NA12892")
    labels = [g.label for g in mother.layout.groups]
    assert labels[:2] == ["G", "T (reference)"]
    b = mother.result.data.reads
    code, _ = lo.base_at(b, pos0)
    g_group = mother.layout.groups[0]
    in_g = (mother.layout.row > g_group.first_row) & (mother.layout.row < g_group.first_row + g_group.n_rows)
    assert set(code[in_g].tolist()) == {lo.G}
    assert g_group.n_reads == int((code == lo.G).sum())
    # The group title is drawn (dark text on the header row).
    img = grab(view)
    p = view.data_to_canvas(mother.reads_plot, view.visible_range()[1] + 1, g_group.first_row + 0.5)
    dark = [img.pixelColor(x, int(p.y())).lightness() for x in range(int(p.x()) + 2, int(p.x()) + 60)]
    assert min(dark) < 100
    view.group_reads("strand")
    assert [g.label for g in mother.layout.groups] == ["+ strand", "− strand"]
    assert mother.layout.groups[0].n_reads == int((~b.is_reverse).sum())
    view.group_reads("none")
    assert mother.layout.groups == []


def test_group_by_haplotype_on_long_reads(qtbot, data_dir):
    bam = str(data_dir / "igvjs" / "HG002_chr11_119076212_119102218_2.bam")
    view = make_view(qtbot)
    view.set_samples([SampleSource("HG002", bam, "proband")], None)
    t0 = time.perf_counter()
    info = wait_drawn(qtbot, view, lambda: view.show_locus("chr11", 119_076_212, 119_102_218))
    assert info.reads == 64
    view.group_reads("hp")
    t = view.tracks[0]
    # Independent count of HP tags with pysam over the same window.
    with pysam.AlignmentFile(bam) as af:
        hps = [r.get_tag("HP") if r.has_tag("HP") else 0
               for r in af.fetch("chr11", info.start, info.end) if not r.flag & 0x604]
    want = {f"HP {v}": hps.count(v) for v in sorted(set(hps) - {0})}
    want["no HP tag"] = hps.count(0)
    assert {g.label: g.n_reads for g in t.layout.groups} == want
    # Long reads draw fast: layout of 64 reads x 26 kb (thousands of indels) in well under a frame budget.
    t1 = time.perf_counter()
    view.redraw()
    grab(view)
    assert time.perf_counter() - t1 < 1.0, "redraw + paint of 64 HiFi reads took over 1 s"
    # Mismatches come from the CIGAR X operations (no FASTA for this BAM); check one pixel.
    b = t.result.data.reads
    assert b.mismatch_source == "cigar"
    mm = b.mismatches
    (x0, x1), _ = t.reads_vb.viewRange()
    k = next(k for k in range(len(mm.start)) if mm.qual[k] >= 20 and x0 + 5 < mm.start[k] < x1 - 5
             and mm.base[k] in b"ACGT" and not (np.abs(mm.start[mm.read == mm.read[k]] - mm.start[k]) == 1).any())
    i, p0 = int(mm.read[k]), int(mm.start[k])
    with pysam.AlignmentFile(bam) as af:
        rec = next(r for r in af.fetch("chr11", p0, p0 + 1) if r.query_name == b.name[i] and r.flag == b.flag[i])
        pairs = dict((rp, qp) for qp, rp in rec.get_aligned_pairs(matches_only=True))
        assert rec.query_sequence[pairs[p0]] == chr(mm.base[k])
    view.zoom(0.004, centre=p0 + 0.5)       # zoom to ~100 bp around it
    img = grab(view)
    assert close(pixel(img, view, t.reads_plot, p0 + EDGE, t.layout.row[i] + 0.5),
                 lo.BASE_RGB[lo._ASCII_CODE[mm.base[k]]])
    view.wait_idle()


# --------------------------------------------------------------------------
# read styles: insert size, MAPQ 0, deletions, insertions, soft clips, split reads
# --------------------------------------------------------------------------

def test_colour_by_insert_size_and_mapq0_translucent(qtbot, na12878):
    view = make_view(qtbot)
    view.set_samples([SampleSource("NA12878", na12878["bam"], "proband")], na12878["fasta"])
    wait_drawn(qtbot, view, lambda: view.show_variant("chr20", 10_000_700, "A", "G", window=4000))
    view.show_locus("chr20", 10_000_650, 10_000_760)
    view.wait_idle()
    QApplication.processEvents()
    view.colour_reads("insert_size")
    t = view.tracks[0]
    b = t.result.data.reads
    lo_t, hi_t = lo.insert_size_limits(b)
    # A normal pair in view: plain grey; a MAPQ-0 read: the same colour at 30 % over white.
    _, g0, g1 = view.visible_range()
    vis = (b.read_start < g1 - 5) & (b.read_end > g0 + 5)
    normal = np.array([s[:1] == "F" and s[2:3] == "R" for s in b.pair_orientation], dtype=bool)
    ok = np.abs(b.insert_size)
    i = int(np.flatnonzero(vis & normal & (b.mapq > 0) & (ok > lo_t) & (ok < hi_t))[0])
    img = grab(view)
    x = free_point(t, i, g0 + 2, g1 - 2)
    assert close(pixel(img, view, t.reads_plot, x + 0.5, t.layout.row[i] + 0.5), lo.BODY_RGB["plain"])
    # MAPQ 0: checked independently with pysam.
    with pysam.AlignmentFile(na12878["bam"]) as af:
        mq0 = {(r.query_name, r.flag) for r in af.fetch("chr20", g0, g1) if r.mapping_quality == 0}
    assert mq0, "the window should hold MAPQ 0 reads"
    j = next(j for j in np.flatnonzero(vis & (b.mapq == 0)) if (b.name[j], b.flag[j]) in mq0)
    cat, cats = lo.body_categories(b, "insert_size")
    x = free_point(t, j, g0 + 2, g1 - 2)
    assert close(pixel(img, view, t.reads_plot, x + 0.5, t.layout.row[j] + 0.5),
                 blend(cats[cat[j]][1], lo.MAPQ0_ALPHA))
    # Strand colouring of the same reads.
    view.colour_reads("strand")
    img = grab(view)
    x = free_point(t, i, g0 + 2, g1 - 2)
    want = lo.BODY_RGB["reverse" if b.is_reverse[i] else "forward"]
    assert close(pixel(img, view, t.reads_plot, x + 0.5, t.layout.row[i] + 0.5), want)


def test_abnormal_pairs_coloured(qtbot, na12878):
    """Reads whose pair is not LR, or whose insert is far larger than the library's, get IGV's colours."""
    with pysam.AlignmentFile(na12878["bam"]) as af:
        odd = [r for r in af.fetch("chr20", 10_000_000, 10_100_000)
               if r.is_paired and not r.mate_is_unmapped and r.next_reference_name == "chr20"
               and r.mapping_quality > 0 and not r.flag & 0x600
               and ((r.is_reverse == r.mate_is_reverse) or abs(r.template_length) > 2000)]
    assert odd, "the BAM has abnormal pairs"
    r = odd[0]
    view = make_view(qtbot)
    view.set_samples([SampleSource("NA12878", na12878["bam"])], na12878["fasta"])
    wait_drawn(qtbot, view, lambda: view.show_variant("chr20", r.reference_start + 30, "A", "C"))
    view.colour_reads("insert_size")
    t = view.tracks[0]
    b = t.result.data.reads
    i = int(np.flatnonzero((b.name == r.query_name) & (b.flag == r.flag))[0])
    cat, cats = lo.body_categories(b, "insert_size")
    name = cats[cat[i]][0]
    if r.is_reverse == r.mate_is_reverse:
        assert name == ("LL" if not r.is_reverse else "RR")
    else:
        assert name == "larger"
    _, g0, g1 = view.visible_range()
    x = free_point(t, i, g0 + 2, g1 - 2)
    img = grab(view)
    assert close(pixel(img, view, t.reads_plot, x + 0.5, t.layout.row[i] + 0.5), lo.BODY_RGB[name])


def test_deletion_drawn_as_line_across_gap(qtbot, na12878):
    with pysam.AlignmentFile(na12878["bam"]) as af:
        found = None
        for r in af.fetch("chr20", 10_002_000, 10_020_000):
            if r.mapping_quality < 20 or r.flag & 0x604:
                continue
            p = r.reference_start
            for op, ln in r.cigartuples:
                if op == 2 and ln >= 3:
                    found = (r, p, p + ln)
                    break
                if op in (0, 2, 3, 7, 8):
                    p += ln
            if found:
                break
    r, ds, de = found
    view = make_view(qtbot)
    view.set_samples([SampleSource("NA12878", na12878["bam"])], na12878["fasta"])
    wait_drawn(qtbot, view, lambda: view.show_variant("chr20", ds + 1, "A", "C"))
    t = view.tracks[0]
    b = t.result.data.reads
    i = int(np.flatnonzero((b.name == r.query_name) & (b.flag == r.flag))[0])
    view.display_combo.setCurrentIndex(view.display_combo.findData("expanded"))
    vb = t.reads_vb
    row = int(t.layout.row[i])
    vb.setYRange(row - 2, row + 20, padding=0)
    img = grab(view)
    x = ds + 0.3        # near the gap's start: clear of the length label drawn mid-gap for long deletions
    assert close(pixel(img, view, t.reads_plot, x, row + 0.5), (0, 0, 0), tol=40)        # the line
    assert close(pixel(img, view, t.reads_plot, x, row + 0.2), (255, 255, 255))           # the gap
    assert close(pixel(img, view, t.reads_plot, ds - 1.5, row + 0.2),
                 lo.BODY_RGB["reverse" if r.is_reverse else "forward"], tol=3) or \
        ds - 1 in set(b.mismatches.start[b.mismatches.read == i].tolist())


def test_insertion_marked_and_expanded(qtbot, trio):
    pos = 10_001_436                       # A>AAGGCT (normalised), het/hom in the trio
    _, bases = mpileup_bases(trio["bams"]["NA12891"], trio["fasta"], "20", pos)
    assert "+5AGGCT" in bases.upper()
    view = make_view(qtbot)
    view.set_samples(trio_sources(trio), trio["fasta"])
    wait_drawn(qtbot, view, lambda: view.show_variant("20", pos, "A", "AAGGCT"))
    father = track_of(view, "NA12891")
    b = father.result.data.reads
    ins = b.insertions
    k = int(np.flatnonzero((ins.start == pos) & (ins.sequence == "AGGCT"))[0])
    i = int(ins.read[k])
    # Sorted at the insertion: reads carrying it come first.
    code, _ = lo.base_at(b, pos, mark_insertions=True)
    assert father.layout.row[code == lo.INS].max() < father.layout.row[code == lo.REF].min()
    img = grab(view)
    assert close(pixel(img, view, father.reads_plot, pos, father.layout.row[i] + 0.5), lo.INSERTION_RGB)
    # Expanded: five columns open at the site; the read shows A G G C T there; the reference has a gap.
    view.set_options(expand_insertions=True)
    xm = view.xmap
    assert pos in xm.anchors.tolist() and int(xm.width_at(pos)) == 5
    col0 = float(xm.column(pos))
    img = grab(view)
    row = father.layout.row[i] + 0.5
    got = [pixel(img, view, father.reads_plot, col0 + c + EDGE, row) for c in range(5)]
    want = [lo.BASE_RGB[lo._ASCII_CODE[ord(ch)]] for ch in "AGGCT"]
    assert all(close(g, w) for g, w in zip(got, want)), got
    assert close(pixel(img, view, view.ruler, col0 + 2.5, 0.5), (255, 255, 255))
    # Positions keep their meaning: the base after the insertion is still labelled pos + 1.
    assert xm.to_genome(col0 + 5 + 0.5) == pytest.approx(pos + 0.5)
    assert view.ruler.getAxis("top").tickStrings([float(xm.left(pos)) + 0.5], 1, 1) == [f"{pos + 1:,}"]
    view.set_options(expand_insertions=False)
    assert view.xmap.identity


def test_soft_clips_toggle(qtbot, na12878):
    with pysam.AlignmentFile(na12878["bam"]) as af:
        r = next(r for r in af.fetch("chr20", 10_003_000, 10_020_000)
                 if r.cigartuples and r.cigartuples[0][0] == 4 and r.cigartuples[0][1] >= 15
                 and r.mapping_quality > 0 and not r.flag & 0x604)
    clip = r.cigartuples[0][1]
    view = make_view(qtbot)
    view.set_samples([SampleSource("NA12878", na12878["bam"])], na12878["fasta"])
    wait_drawn(qtbot, view, lambda: view.show_variant("chr20", r.reference_start + 1, "A", "C"))
    t = view.tracks[0]
    assert t.reads_item.layer("clips") is None                      # off by default, as in IGV
    view.clips_box.setChecked(True)
    assert view.options.show_soft_clips
    b = t.result.data.reads
    i = int(np.flatnonzero((b.name == r.query_name) & (b.flag == r.flag))[0])
    assert int(t.layout.left_clip[i]) == clip
    assert t.reads_item.layer("clips") is not None
    img = grab(view)
    rgb = pixel(img, view, t.reads_plot, r.reference_start - clip / 2, t.layout.row[i] + 0.5)
    assert rgb[0] == 255 and rgb[1] < 240                           # pink fill or red hatch, not background
    # Rows leave room for the clipped part: no other read on that row overlaps it.
    same = np.flatnonzero(t.layout.row == t.layout.row[i])
    others = [j for j in same if j != i]
    vs = b.read_start - t.layout.left_clip
    ve = b.read_end + t.layout.right_clip
    assert all(ve[j] <= vs[i] or vs[j] >= ve[i] for j in others)
    view.clips_box.setChecked(False)
    assert t.reads_item.layer("clips") is None


def test_supplementary_and_split_reads_marked(qtbot, trio):
    bam = trio["bams"]["HG001"]
    with pysam.AlignmentFile(bam) as af:
        supp = [r for r in af.fetch("20") if r.is_supplementary and not r.flag & 0x604]
    r = supp[0]
    view = make_view(qtbot)
    view.set_samples([SampleSource("HG001", bam)], trio["fasta"])
    wait_drawn(qtbot, view, lambda: view.show_variant("20", r.reference_start + 10, "A", "C"))
    t = view.tracks[0]
    b = t.result.data.reads
    i = int(np.flatnonzero((b.name == r.query_name) & (b.flag == r.flag))[0])
    assert b.is_supplementary[i]
    layer = t.reads_item.layer("supplementary")
    assert layer is not None and layer.rects.shape[0] == int(b.is_supplementary.sum())
    with pysam.AlignmentFile(bam) as af:
        primaries_with_sa = {(x.query_name, x.flag) for x in af.fetch("20", b.start, b.end)
                             if x.has_tag("SA") and not x.is_supplementary and not x.flag & 0x604}
    split = t.reads_item.layer("split")
    assert (0 if split is None else split.rects.shape[0]) == len(primaries_with_sa)
    # The dashed outline is drawn: dark pixels along the read's top edge.
    img = grab(view)
    x = (max(b.read_start[i], view.visible_range()[1]) + min(b.read_end[i], view.visible_range()[2])) / 2
    top = view.data_to_canvas(t.reads_plot, x, t.layout.row[i] + 0.1)
    col = [img.pixelColor(int(top.x()) + dx, int(top.y()) + dy).lightness() for dx in range(-6, 7) for dy in (-1, 0, 1)]
    assert min(col) < 60


# --------------------------------------------------------------------------
# navigation, locus box, stale requests, downsampling notice, details
# --------------------------------------------------------------------------

def test_keyboard_mouse_and_locus_navigation(qtbot, trio):
    view = make_view(qtbot)
    view.set_samples(trio_sources(trio), trio["fasta"])
    wait_drawn(qtbot, view, lambda: view.show_variant("20", 10_000_439, "T", "G"))
    vb = view.ruler.getViewBox()
    (x0, x1), _ = vb.viewRange()
    w = x1 - x0
    view.canvas.setFocus()
    qtbot.keyClick(view.canvas, Qt.Key.Key_Right)
    (a0, a1), _ = vb.viewRange()
    assert a0 == pytest.approx(x0 + w / 8) and a1 - a0 == pytest.approx(w)
    qtbot.keyClick(view.canvas, Qt.Key.Key_Plus)
    (b0, b1), _ = vb.viewRange()
    assert b1 - b0 == pytest.approx(w / 2)
    qtbot.keyClick(view.canvas, Qt.Key.Key_Minus)
    qtbot.keyClick(view.canvas, Qt.Key.Key_Home)                   # back to the variant
    (c0, c1), _ = vb.viewRange()
    assert (c0, c1) == pytest.approx((x0, x1))
    # All tracks follow (shared axis).
    for t in view.tracks:
        assert t.reads_vb.viewRange()[0] == pytest.approx([c0, c1])
    # Mouse wheel over the reads zooms in about the cursor.
    t = view.tracks[0]
    centre = view.data_to_canvas(t.reads_plot, (c0 + c1) / 2, 5)
    ev = QWheelEvent(QPointF(centre), QPointF(view.canvas.mapToGlobal(centre)), QPoint(0, 0), QPoint(0, 120),
                     Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(view.canvas.viewport(), ev)
    (d0, d1), _ = vb.viewRange()
    assert d1 - d0 < (c1 - c0) * 0.9 and (d0 + d1) / 2 == pytest.approx((c0 + c1) / 2, abs=1.0)
    # Mouse drag pans.
    start = view.data_to_canvas(t.reads_plot, (d0 + d1) / 2, 5)
    qtbot.mousePress(view.canvas.viewport(), Qt.MouseButton.LeftButton, pos=start)
    for dx in range(0, 201, 20):
        # QTest moves carry no button state, which pyqtgraph needs to see a drag; and pyqtgraph
        # drops moves closer than ~16 ms apart, so pace them like a hand would.
        qtbot.wait(25)
        p = QPointF(start.x() + dx, start.y())
        QApplication.sendEvent(view.canvas.viewport(), QMouseEvent(
            QEvent.Type.MouseMove, p, view.canvas.viewport().mapToGlobal(p), Qt.MouseButton.NoButton,
            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))
    qtbot.mouseRelease(view.canvas.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(start.x() + 200, start.y()))
    (e0, e1), _ = vb.viewRange()
    assert e0 < d0 - 1 and e1 - e0 == pytest.approx(d1 - d0)
    # Locus box: a far locus fetches a new window.
    view.locus.setText("20:10,005,001-10,005,100")
    info = wait_drawn(qtbot, view, lambda: qtbot.keyClick(view.locus, Qt.Key.Key_Return))
    assert info.start <= 10_005_000 and info.end >= 10_005_100
    contig, g0, g1 = view.visible_range()
    assert (contig, g0, g1) == ("20", 10_005_000, 10_005_100)
    assert view.locus.text() == "20:10,005,001-10,005,100"
    # A bad locus is reported, not raised.
    view.locus.setText("chrZ:abc")
    qtbot.keyClick(view.locus, Qt.Key.Key_Return)
    assert "expected" in view.status_text() or "give" in view.status_text()
    view.wait_idle()


def test_newest_request_wins(qtbot, trio):
    view = make_view(qtbot)
    view.set_samples(trio_sources(trio), trio["fasta"])
    infos = []
    view.drawn.connect(infos.append)
    view.show_locus("20", 10_006_400, 10_006_500)       # its own fetch is due at the next event loop turn
    first = view.request("20", 10_001_000, 10_002_000)
    second = view.request("20", 10_006_000, 10_007_000)
    qtbot.waitUntil(lambda: bool(infos), timeout=20_000)
    view.wait_idle()
    qtbot.wait(100)
    assert [i.request_id for i in infos] == [second] and first != second
    assert view.loaded == ("20", 10_006_000, 10_007_000)
    assert all(t.result.data.reads.start == 10_006_000 for t in view.tracks)


def test_selecting_a_variant_keeps_the_last_frame_until_its_reads_arrive(qtbot, trio, tmp_path):
    view = make_view(qtbot)
    view.set_samples(trio_sources(trio), trio["fasta"])
    wait_drawn(qtbot, view, lambda: view.show_variant("20", 10_000_439, "T", "C"))
    assert view.canvas.updatesEnabled()
    painted = []
    view.canvas.viewport().installEventFilter(view)       # count paints of the canvas while loading
    real_filter = view.eventFilter

    def count(obj, ev):
        if ev.type() == QEvent.Type.Paint:
            painted.append(view.loaded)
        return real_filter(obj, ev)

    view.eventFilter = count
    with qtbot.waitSignal(view.drawn, timeout=20_000):
        view.show_variant("20", 10_006_488, "G", "A")
        # Not the old reads at the new locus: no paint until the new reads are laid out.
        assert not view.canvas.updatesEnabled() and view._thaw_timer.isActive()
    assert view.canvas.updatesEnabled() and not view._thaw_timer.isActive()
    QApplication.processEvents()
    assert painted and all(ld is not None and ld[1] <= 10_006_487 < ld[2] for ld in painted)
    # A track that cannot be read still ends the wait (its error is shown instead).
    view.set_samples([SampleSource("gone", str(tmp_path / "gone.bam"))], trio["fasta"])
    wait_drawn(qtbot, view, lambda: view.show_variant("20", 10_000_439, "T", "C"))
    assert view.canvas.updatesEnabled() and "No such file" in view.status_text()
    view.wait_idle()


def test_downsampling_notice_counts_hidden_reads(qtbot, na12878):
    view = make_view(qtbot)
    view.set_samples([SampleSource("NA12878", na12878["bam"])], na12878["fasta"])
    view.settings = view.settings.__class__(max_reads_per_bucket=10, bucket_size=50)
    info = wait_drawn(qtbot, view, lambda: view.show_variant("chr20", 10_001_474, "C", "T"))
    b = view.tracks[0].result.data.reads
    with pysam.AlignmentFile(na12878["bam"]) as af:
        total = sum(1 for r in af.fetch("chr20", info.start, info.end) if not r.flag & 0x604 and r.cigartuples)
    assert b.total_reads == total and b.hidden_reads == total - len(b) > 0
    text = view.status_text()
    assert f"{b.hidden_reads:,} of {total:,}" in text and "Downsampled to 10 reads per 50 bp" in text
    assert f"{b.hidden_reads:,} of {total:,} hidden" in view.tracks[0].label.text
    # Hidden intervals are marked above the first row (black).
    layer = view.tracks[0].reads_item.layer("hidden")
    assert layer is not None and layer.rects.shape[0] == b.hidden_intervals.shape[0]
    view.tracks[0].reads_vb.setYRange(-1, 30, padding=0)
    img = grab(view)
    s, e = b.hidden_intervals[0]
    _, g0, g1 = view.visible_range()
    x = (max(s, g0) + min(e, g1)) / 2
    assert close(pixel(img, view, view.tracks[0].reads_plot, x, -0.6), (0, 0, 0))
    # Coverage is never downsampled: it matches samtools depth.
    out = subprocess.run(["samtools", "depth", "-a", "-r", f"chr20:{info.start + 1}-{info.end}", na12878["bam"]],
                         capture_output=True, text=True, check=True).stdout
    depth = np.array([int(x.split("\t")[2]) for x in out.splitlines()])
    np.testing.assert_array_equal(view.tracks[0].result.data.coverage.depth, depth)


def test_click_read_shows_details(qtbot, trio):
    view = make_view(qtbot)
    view.set_samples(trio_sources(trio), trio["fasta"])
    wait_drawn(qtbot, view, lambda: view.show_variant("20", 10_000_439, "T", "G"))
    t = view.tracks[0]
    b = t.result.data.reads
    _, g0, g1 = view.visible_range()
    i = int(np.flatnonzero((b.read_start < g1 - 10) & (b.read_end > g0 + 10))[0])
    x = free_point(t, i, g0 + 3, g1 - 3)
    p = view.data_to_canvas(t.reads_plot, x + 0.5, t.layout.row[i] + 0.5)
    with qtbot.waitSignal(view.read_clicked, timeout=5000) as blocker:
        qtbot.mouseClick(view.canvas.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(int(p.x()), int(p.y())))
    got = blocker.args[0]
    assert got["name"] == b.name[i] and got["start"] == int(b.read_start[i])
    assert view.details.isVisible()
    with pysam.AlignmentFile(trio["bams"]["HG001"]) as af:
        rec = next(r for r in af.fetch("20", int(b.read_start[i]), int(b.read_start[i]) + 1)
                   if r.query_name == b.name[i] and r.flag == b.flag[i])
    qtbot.waitUntil(lambda: rec.cigarstring in view.details.toPlainText(), timeout=5000)
    assert f"MAPQ" in view.details.toPlainText()
    # The clicked read is outlined.
    assert t.reads_item.layer("selected") is not None
    view.wait_idle()


# --------------------------------------------------------------------------
# other data: CRAM, mitochondria, missing files
# --------------------------------------------------------------------------

def test_cram_draws_the_same_as_bam(qtbot, na12878):
    req = dict(reference=na12878["fasta"], contig="chr20", start=10_008_000, end=10_009_000)
    bam = fetch_pileups(PileupRequest((SampleSource("b", na12878["bam"]),), **req))[0]
    cram = fetch_pileups(PileupRequest((SampleSource("c", na12878["cram"]),), **req))[0]
    assert bam.error is None and cram.error is None
    opts = lo.ViewOptions(sort_pos=10_008_500)
    sb = lo.build_track_scene(bam.data.reads, lo.layout_reads(bam.data.reads, opts), opts, lo.XMap())
    sc = lo.build_track_scene(cram.data.reads, lo.layout_reads(cram.data.reads, opts), opts, lo.XMap())
    assert sb.mismatches.keys() == sc.mismatches.keys()
    for k in sb.mismatches:
        np.testing.assert_array_equal(sb.mismatches[k], sc.mismatches[k])
    view = make_view(qtbot)
    view.set_samples([SampleSource("NA12878", na12878["cram"])], na12878["fasta"])
    wait_drawn(qtbot, view, lambda: view.show_variant("chr20", 10_008_500, "A", "C"))
    assert view.tracks[0].result.error is None and len(view.tracks[0].result.data.reads) == len(bam.data.reads)


def test_mitochondrial_pixels(qtbot, data_dir):
    bam, fasta = str(data_dir / "scout" / "reduced_mt.bam"), str(data_dir / "mity" / "hs37d5.MT.fa")
    ref_base, bases = mpileup_bases(bam, fasta, "MT", 263)
    alt = max("ACGT", key=lambda c: bases.upper().count(c))
    assert ref_base == "A" and alt == "G" and bases.upper().count("G") > len(bases) // 2
    view = make_view(qtbot, size=(1200, 700))
    view.set_samples([SampleSource("ADM1464A1", bam, "proband")], fasta)
    wait_drawn(qtbot, view, lambda: view.show_variant("MT", 263, "A", "G"))
    t = view.tracks[0]
    i = read_with_base(t, 262, "G")
    img = grab(view)
    assert close(pixel(img, view, t.reads_plot, 262 + EDGE, t.layout.row[i] + 0.5), lo.BASE_RGB[lo.G])
    assert close(pixel(img, view, view.ruler, 262.12, 0.1), lo.BASE_RGB[lo.A])
    # Another contig far beyond MT's 16,569 bp: the view is not held to MT's length.
    info = wait_drawn(qtbot, view, lambda: view.show_variant("1", 1_000_000, "A", "C"))
    assert view.visible_range() == ("1", 999_949, 1_000_050)
    assert info.contig == "1" and len(view.tracks[0].result.data.reads) == 0


def test_missing_index_is_shown_on_its_track(qtbot, trio, tmp_path):
    bam = tmp_path / "noindex.bam"
    shutil.copy(trio["bams"]["HG001"], bam)
    view = make_view(qtbot)
    view.set_samples([SampleSource("HG001", str(bam)), SampleSource("NA12891", trio["bams"]["NA12891"])],
                     trio["fasta"])
    wait_drawn(qtbot, view, lambda: view.show_variant("20", 10_000_439, "T", "G"))
    assert "no index" in view.tracks[0].result.error
    assert "no index" in view.status_text()
    assert view.tracks[1].result.error is None and len(view.tracks[1].result.data.reads) > 0


# --------------------------------------------------------------------------
# integration with the detail panel, snapshot, CLI
# --------------------------------------------------------------------------

@pytest.fixture
def trio_ws(tmp_path, trio):
    """A workspace folder with the trio case (VCF + PED + BAMs + FASTA), closed."""
    from raredesk.store.importer import import_vcf
    from raredesk.store.workspace import Workspace

    path = tmp_path / "ws"
    with Workspace(path) as ws:
        res = import_vcf(ws, trio["vcf"], "trio", ped=trio["ped"], alignments=dict(trio["bams"]))
        ws.cursor().execute("UPDATE cases SET reference_path = ? WHERE case_id = ?", [trio["fasta"], res.case_id])
    return path


@pytest.fixture
def open_ws(trio_ws):
    from raredesk.store.workspace import Workspace

    ws = Workspace(trio_ws)
    yield ws
    ws.close()


def test_detail_panel_hook(qtbot, open_ws):
    from raredesk.gui.detail_panel import DetailPanel, VariantContext
    from raredesk.store.cases import get_case

    ws = open_ws
    case = get_case(ws.cursor(), "trio")
    panel = DetailPanel()
    qtbot.addWidget(panel)
    reads = ReadEvidencePanel()
    panel.set_pileup_widget(reads)
    panel.resize(1400, 900)
    panel.show()
    ctx = VariantContext(ws, case, 1, "20:10008953:A:C", "20", 10_008_953, "A", "C", "GRCh37",
                         ws.cursor().execute("SELECT reference_path FROM cases").fetchone()[0], None)
    # While the Summary tab is shown, selecting a variant reads nothing...
    panel._set_context(ctx)
    qtbot.wait(200)
    assert reads.pileup.tracks == [] and reads.pileup.last_info is None
    # ...the reads load when the Reads tab is opened.
    with qtbot.waitSignal(reads.pileup.drawn, timeout=20_000):
        panel.tabs.setCurrentWidget(panel.pileup_slot)
    assert [t.source.label for t in reads.pileup.tracks] == [s.sample_id for s in case.samples]
    # The mother is hom-ref in the VCF but shows C reads: they are drawn, on top.
    mother = track_of(reads.pileup, "NA12892")
    _, bases = mpileup_bases(mother.source.path, ctx.reference_path, "20", 10_008_953)
    assert bases.upper().count("C") >= 5
    code, _ = lo.base_at(mother.result.data.reads, 10_008_952)
    assert code[mother.layout.row == 0].tolist().count(lo.C) == 1
    # Coverage tab: computed when shown, locus requests go to the pileup.
    with qtbot.waitSignal(reads.coverage.computed, timeout=30_000):
        reads.tabs.setCurrentWidget(reads.coverage)
    reads.coverage.locus_requested.emit("20", 10_008_900, 10_009_000)
    assert reads.tabs.currentWidget() is reads.pileup
    reads.wait_idle()
    panel._set_context(None)
    assert reads.pileup.tracks == []
    reads.wait_idle()


def test_snapshot_fixed_size_and_pixels(qapp, trio):
    from raredesk.gui.pileup.snapshot import render_snapshot, snapshot_view

    sources = trio_sources(trio)
    view = snapshot_view(sources, trio["fasta"], "20", 10_008_953, "A", "C", size=(1000, 800))
    try:
        img = view.grab().toImage()
        assert (img.width(), img.height()) == (1000, 800)
        mother = track_of(view, "NA12892")
        code, _ = lo.base_at(mother.result.data.reads, 10_008_952)
        top = int(np.flatnonzero((mother.layout.row == 0) & (code != lo.NONE))[0])
        assert code[top] == lo.C                                  # sorted by base: the C read first
        canvas = view.canvas.grab().toImage()
        assert close(pixel(canvas, view, mother.reads_plot, 10_008_952 + EDGE, 0.5), lo.BASE_RGB[lo.C])
        assert "downsampled" not in mother.label.text
    finally:
        view.close()
    image = render_snapshot(sources, trio["fasta"], "20", 10_000_439, "T", "G", size=(640, 480))
    assert (image.width(), image.height()) == (640, 480)


def test_snapshot_cli(trio_ws, tmp_path):
    path = trio_ws
    out = tmp_path / "snap.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    res = subprocess.run([sys.executable, "-m", "raredesk", "snapshot", "--case", "trio", "--variant",
                          "20:10008953:A:C", "--out", str(out), "--workspace", str(path), "--width", "900",
                          "--height", "700"], capture_output=True, text=True, env=env)
    assert res.returncode == 0, res.stderr
    img = QImage(str(out))
    assert (img.width(), img.height()) == (900, 700)
    # The coloured C of the variant appears in the picture.
    cols = {img.pixelColor(x, y).rgb() & 0xFFFFFF for x in range(300, 600) for y in range(100, 700, 2)}
    assert QColor(*lo.BASE_RGB[lo.C][:3]).rgb() & 0xFFFFFF in cols
    bad = subprocess.run([sys.executable, "-m", "raredesk", "snapshot", "--case", "trio", "--variant", "20:1:A:C",
                          "--out", str(out), "--workspace", str(path)], capture_output=True, text=True, env=env)
    assert bad.returncode == 2 and bad.stderr.startswith("error:") and "no variant" in bad.stderr


def test_commands_module_imports_no_qt():
    code = ("import sys, raredesk.cli as c; c.build_parser(); "
            "assert 'raredesk.gui.pileup.commands' in sys.modules; "
            "bad = [m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph', 'shiboken6'))]; "
            "assert not bad, bad")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


def test_repainting_does_not_drain_singleton_refcounts(qtbot, trio):
    """PySide6 6.12 on CPython 3.11 drops a reference to None per QPainter call; the view pins it."""
    view = make_view(qtbot)
    view.set_samples(trio_sources(trio), trio["fasta"])
    wait_drawn(qtbot, view, lambda: view.show_variant("20", 10_000_439, "T", "G"))
    before = sys.getrefcount(None)
    for _ in range(50):
        view.canvas.viewport().repaint()
    lost = before - sys.getrefcount(None)
    if sys.version_info < (3, 12):
        assert sys.getrefcount(None) > 2 ** 39, "None is not pinned: the GUI would abort after a few minutes"
    assert lost < 50 * 2000          # a repaint is a few hundred painter calls, not unbounded


def test_sources_from_case_order(open_ws):
    from raredesk.store.cases import get_case

    ws = open_ws
    case = get_case(ws.cursor(), "trio")
    for s in case.samples:
        s.role = {"HG001": "proband", "NA12891": "father", "NA12892": "mother"}[s.sample_id]
    case.samples.reverse()
    assert [s.label for s in sources_from_case(case)] == ["HG001", "NA12891", "NA12892"]


def test_recount_controller_visible_rows_and_background_job(qtbot, open_ws):
    from raredesk.gui.pileup.recount_jobs import RecountController
    from raredesk.store import recount as rc
    from raredesk.store.cases import get_case

    ws = open_ws
    case = get_case(ws.cursor(), "trio")
    ctl = RecountController()
    ctl.set_case(ws, case)
    # Scrolling: only the last visible set is counted, after the pause.
    ctl.request_visible(["20:10000117:C:T"])
    with qtbot.waitSignal(ctl.recounted, timeout=20_000) as blocker:
        ctl.request_visible(["20:10008953:A:C", "20:10000439:T:G"])
    ch = blocker.args[0]
    assert set(ch.vkeys) == {"20:10008953:A:C", "20:10000439:T:G"} and ch.counted == 6
    stored = rc.get_recounts(ws.cursor(), case.case_id)
    assert set(stored) == {"20:10008953:A:C", "20:10000439:T:G"}
    assert stored["20:10008953:A:C"]["NA12892"].flags == ("alt_in_hom_ref",)
    # Every variant in the background, with progress.
    steps = []
    ctl.progress.connect(lambda d, t, text: steps.append((d, t)))
    with qtbot.waitSignal(ctl.all_finished, timeout=60_000) as blocker:
        ctl.start_all()
    done = blocker.args[0]
    n = ws.cursor().execute(f"SELECT count(DISTINCT vkey) FROM {case.table}").fetchone()[0]
    assert done.skipped == 6 and done.counted == 3 * n - 6
    assert steps and steps[-1][1] == n
    # A cancelled job reports None.
    with qtbot.waitSignal(ctl.all_finished, timeout=60_000) as blocker:
        ctl.start_all()
        ctl.cancel_all()
    assert blocker.args[0] is None or blocker.args[0].counted == 0
    assert ctl.shutdown()


def _reads_cell(win, vkey, name, role=Qt.ItemDataRole.DisplayRole):
    row = win.model.row_of_vkey(vkey)
    col = next(i for i, c in enumerate(win.model.columns) if c.name == name)
    return win.model.data(win.model.index(row, col), role)


def test_table_recount_columns_show_reads_beside_the_vcf_and_flag_disagreement(qtbot, window, open_case, trio_ws,
                                                                               trio):
    open_case(window, trio_ws, "trio")
    names = [c.name for c in window.model.columns]
    # One reads column per sample with a BAM (named by sample id: this import sets no roles), and the flag.
    assert {"reads_flag", "HG001.reads", "NA12891.reads", "NA12892.reads"} <= set(names)
    # The rows on screen are counted without asking.
    first = window.model.row_ref(0).vkey
    qtbot.waitUntil(lambda: _reads_cell(window, first, "HG001.reads") not in ("", None), timeout=30_000)
    # Every variant, in the background (Variant menu).
    assert window.act_recount_all.isEnabled()
    with qtbot.waitSignal(window.recounter.all_finished, timeout=120_000):
        window.act_recount_all.trigger()
    key = "20:10008953:A:C"          # child 0/1, both parents 0/0 in the VCF
    qtbot.waitUntil(lambda: window.model.row_of_vkey(key) is not None
                    and _reads_cell(window, key, "NA12892.reads") not in ("", None), timeout=30_000)
    # REF/ALT reads as samtools mpileup counts them (base quality >= 13).
    for sid in ("NA12892", "NA12891", "HG001"):
        out = subprocess.run(["samtools", "mpileup", "-B", "-A", "-x", "-Q", "13", "-f", trio["fasta"], "-r",
                              "20:10008953-10008953", trio["bams"][sid]], capture_output=True, text=True,
                             check=True).stdout
        bases = re.sub(r"\^.", "", out.split("\t")[4]).replace("$", "")
        want = f"{bases.count('.') + bases.count(',')}/{bases.upper().count('C')}"
        assert _reads_cell(window, key, f"{sid}.reads") == want, sid
    # The mother shows ALT reads although the VCF calls her hom-ref: marked, and said why.
    assert _reads_cell(window, key, "reads_flag") == "≠"
    tip = _reads_cell(window, key, "reads_flag", Qt.ItemDataRole.ToolTipRole)
    assert "NA12892" in tip and "homozygous reference but reads carry the ALT" in tip and "NA12891" not in tip
    assert "VCF: 0/0" in _reads_cell(window, key, "NA12892.reads", Qt.ItemDataRole.ToolTipRole)
    assert _reads_cell(window, "20:10000439:T:G", "reads_flag") == ""      # VCF and reads agree


def test_worker_processes_read_the_same_and_survive_a_crash(trio, monkeypatch):
    import multiprocessing
    import signal

    from raredesk.gui.pileup import data as dm

    if "forkserver" not in multiprocessing.get_all_start_methods():
        pytest.skip("no forkserver start method on this platform (reads run in threads)")
    monkeypatch.delenv("RAREDESK_READ_WORKERS", raising=False)
    assert dm.read_worker_mode() == "process"
    req = PileupRequest(tuple(trio_sources(trio)), trio["fasta"], "20", 10_000_000, 10_001_000)
    opts = lo.ViewOptions(sort_pos=10_000_438, group_by="base", group_pos=10_000_438)
    got, got_layout = dm.read_sample(req, 2, opts)
    want, want_layout = dm.fetch_and_prepare(req, 2, opts)
    assert got.error is None and got.source == want.source
    for name in ("read_start", "read_end", "mapq", "flag", "name", "row"):
        np.testing.assert_array_equal(getattr(got.data.reads, name), getattr(want.data.reads, name))
    np.testing.assert_array_equal(got.data.coverage.counts, want.data.coverage.counts)
    np.testing.assert_array_equal(got_layout.layout.row, want_layout.layout.row)
    assert got_layout.layout.groups == want_layout.layout.groups
    # A worker that dies is replaced and the sample is still read.
    pids = list(dm._pool()._processes)
    os.kill(pids[0], signal.SIGKILL)
    time.sleep(0.3)
    results = [dm.read_sample(req, i, opts)[0] for i in range(3)]
    assert all(r.error is None and len(r.data.reads) > 0 for r in results)
    again, _ = dm.read_sample(req, 2, opts)
    assert len(again.data.reads) == len(want.data.reads)

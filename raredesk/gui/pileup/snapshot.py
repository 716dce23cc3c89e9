"""Fixed-size PNG of the pileup at a variant, all samples, rendered offscreen (for reports).

The same :class:`~raredesk.gui.pileup.view.PileupView` as on screen, without
toolbar, fetched synchronously and sorted by the base at the variant, then
grabbed at exactly the requested size. No window is shown; with no
``QApplication`` running one is created on the ``offscreen`` platform, so it
works in a terminal, in CI and from the report builder.

Entry points: :func:`render_snapshot` (samples and a locus in, ``QImage`` or
PNG file out) and :func:`snapshot_variant` (a case and a variant key from a
workspace).
"""

from __future__ import annotations

import html
import os
from datetime import datetime
from pathlib import Path

from raredesk.errors import RareDeskError

__all__ = ["render_snapshot", "snapshot_view", "snapshot_variant", "find_variant", "ensure_app", "DEFAULT_SIZE"]

DEFAULT_SIZE = (1200, 900)


def ensure_app():
    """The running QApplication, or a new one on the offscreen platform when there is none."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        app = QApplication(["raredesk-snapshot"])
    return app


def render_snapshot(samples, reference: str | None, contig: str, pos: int, ref: str = "", alt: str = "", *,
                    size: tuple[int, int] = DEFAULT_SIZE, flank: int = 50, title: str | None = None,
                    out: str | os.PathLike | None = None, options: dict | None = None):
    """Render the reads of every sample at a variant.

    Parameters
    ----------
    samples : sequence of SampleSource
        Tracks from top to bottom.
    reference : str or None
        Case FASTA.
    contig : str
    pos : int
        1-based VCF position.
    ref, alt : str
        Alleles (choose where rows are sorted: the SNV base, the first
        deleted base, the base after an insertion).
    size : (int, int)
        Width and height of the image in pixels.
    flank : int
        Bases shown each side of the variant.
    title : str, optional
        Text above the tracks (default: the locus and alleles).
    out : path-like, optional
        Write a PNG there.
    options : dict, optional
        :class:`~raredesk.gui.pileup.layout.ViewOptions` fields (e.g. ``group_by="base"``).

    Returns
    -------
    PySide6.QtGui.QImage
        Exactly ``size``.

    Raises
    ------
    RareDeskError
        No samples, or the PNG cannot be written.
    """
    view = snapshot_view(samples, reference, contig, pos, ref, alt, size=size, flank=flank, title=title,
                         options=options)
    try:
        image = view.grab().toImage()
    finally:
        view.close()
        view.deleteLater()
    if out is not None:
        out = Path(out)
        if not image.save(str(out), "PNG"):
            raise RareDeskError("cannot write the PNG", str(out))
    return image


def snapshot_view(samples, reference: str | None, contig: str, pos: int, ref: str = "", alt: str = "", *,
                  size: tuple[int, int] = DEFAULT_SIZE, flank: int = 50, title: str | None = None,
                  options: dict | None = None):
    """The offscreen :class:`~raredesk.gui.pileup.view.PileupView` that :func:`render_snapshot` grabs.

    Data is loaded and laid out; the caller closes the view. Parameters as
    :func:`render_snapshot`.
    """
    if not samples:
        raise RareDeskError("no BAM/CRAM to draw (the case's samples have no alignment files)")
    app = ensure_app()
    from dataclasses import replace

    from PySide6.QtCore import Qt

    from raredesk.gui.pileup.view import PileupView

    view = PileupView(interactive=False)
    view.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    view.setFixedSize(int(size[0]), int(size[1]))
    view.layout().setContentsMargins(4, 2, 4, 2)
    view.set_samples(samples, reference)
    view.show()
    app.processEvents()
    start, end = view.prepare_variant(contig, pos, ref, alt, flank=flank, window=max(1000, 4 * flank + 200))
    if options:
        view.options = replace(view.options, **options)
    view.load_now(contig, start, end)
    ref_name = Path(reference).name if reference else "no reference FASTA"
    head = title or f"{html.escape(contig)}:{int(pos):,} {html.escape(ref or '')}&gt;{html.escape(alt or '')}"
    view.title.setText(f"<b>{head}</b> &nbsp; <span style='color:#555'>reads sorted by the base at the variant "
                       f"(dashed lines) · {html.escape(ref_name)} · RareDesk "
                       f"{datetime.now().strftime('%Y-%m-%d %H:%M')}</span>")
    view.title.show()
    app.processEvents()
    view._relayout()
    for k in range(len(view.tracks)):
        view._fit_rows(k, reset=True)
    app.processEvents()
    return view


def find_variant(con, case, key: str) -> dict:
    """A variant of a case by normalised key, VCF ``CHROM:POS:REF:ALT`` or variant id.

    Returns
    -------
    dict
        ``variant_id``, ``vkey``, ``chrom``, ``pos``, ``ref``, ``alt``, ``gene``.

    Raises
    ------
    RareDeskError
        No such variant.
    """
    from raredesk.store.importer import q

    key = key.strip()
    cols = "variant_id, vkey, chrom, pos, ref, alt, gene"
    row = con.execute(f"SELECT {cols} FROM {q(case.table)} WHERE vkey = ? ORDER BY variant_id LIMIT 1",
                      [key]).fetchone()
    if row is None and key.count(":") >= 3:
        chrom, pos, ref, alt = key.rsplit(":", 3)
        try:
            p = int(pos.replace(",", ""))
        except ValueError:
            p = None
        if p is not None:
            row = con.execute(f"SELECT {cols} FROM {q(case.table)} WHERE orig_pos = ? AND orig_ref = ? AND "
                              "orig_alt = ? AND (orig_chrom = ? OR chrom = ?) ORDER BY variant_id LIMIT 1",
                              [p, ref, alt, chrom, chrom]).fetchone()
    if row is None and key.isdigit():
        row = con.execute(f"SELECT {cols} FROM {q(case.table)} WHERE variant_id = ?", [int(key)]).fetchone()
    if row is None:
        raise RareDeskError(f"case {case.name!r} has no variant {key!r} (give CHROM:POS:REF:ALT as 'raredesk query' "
                            "prints it in the vkey column, or a variant id)")
    return dict(zip(["variant_id", "vkey", "chrom", "pos", "ref", "alt", "gene"], row))


def snapshot_variant(ws, case_name: str, key: str, out: str | os.PathLike, *,
                     size: tuple[int, int] = DEFAULT_SIZE, flank: int = 50) -> Path:
    """Write the pileup PNG of one variant of a case (every sample with a BAM/CRAM).

    Parameters
    ----------
    ws : raredesk.store.workspace.Workspace
    case_name : str
    key : str
        Variant key (see :func:`find_variant`).
    out : path-like
        PNG to write.
    size : (int, int)
    flank : int

    Returns
    -------
    Path
        ``out``.
    """
    from raredesk.gui.pileup.data import sources_from_case
    from raredesk.store.cases import get_case

    con = ws.cursor()
    try:
        case = get_case(con, case_name)
        v = find_variant(con, case, key)
        row = con.execute("SELECT reference_path FROM cases WHERE case_id = ?", [case.case_id]).fetchone()
        reference = row[0] if row else None
    finally:
        con.close()
    samples = sources_from_case(case)
    if not samples:
        raise RareDeskError(f"no BAM/CRAM is recorded for the samples of case {case.name!r} "
                            "(import with --bam SAMPLE=PATH)")
    gene = f" · {v['gene']}" if v.get("gene") else ""
    title = f"{html.escape(case.name)} · {html.escape(v['chrom'])}:{v['pos']:,} {html.escape(v['ref'])}&gt;" \
            f"{html.escape(v['alt'])}{html.escape(gene)}"
    render_snapshot(samples, reference, v["chrom"], v["pos"], v["ref"], v["alt"], size=size, flank=flank,
                    title=title, out=out)
    return Path(out)

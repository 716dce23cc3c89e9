"""Export of the current filtered, sorted table (Qt-free; runs on a worker thread).

TSV and CSV carry the visible columns under their stable names (the names the
filter language and ``raredesk query --columns`` use), values unrounded; a
genotype column is followed by its AD, DP and GQ. VCF goes through
``raredesk.store.export.write_vcf`` (the query engine's writer) so the GUI and
``raredesk query --format vcf`` write the same file. The file is written beside
its destination and renamed at the end: a cancelled or failed export leaves no
partial file.
"""

from __future__ import annotations

import csv
import importlib
import os
from pathlib import Path

from raredesk.errors import Cancelled, RareDeskError
from raredesk.store import review as rv

FORMATS = {"tsv": "Tab-separated (*.tsv)", "csv": "Comma-separated (*.csv)", "vcf": "VCF (*.vcf)"}
BATCH = 10_000


def vcf_writer():
    """``raredesk.store.export.write_vcf`` when installed, else None."""
    try:
        mod = importlib.import_module("raredesk.store.export")
    except ImportError:
        return None
    return getattr(mod, "write_vcf", None)


def _text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return ",".join("." if x is None else _text(x) for x in v)
    return str(v)


def export_table(ws, view, path: str, fmt: str, progress=None, cancel=None) -> int:
    """Write every row of ``view`` (a StoreView) to ``path``; returns the number of rows written.

    Parameters
    ----------
    ws : Workspace
    view : raredesk.gui.page_source.StoreView
    path : str
    fmt : {'tsv', 'csv', 'vcf'}
    progress : callable(done, total, text), optional
    cancel : CancelToken, optional
    """
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise RareDeskError(f"unknown export format {fmt!r} (tsv, csv or vcf)")
    dest = Path(path)
    tmp = dest.with_name(f".{dest.name}.part")
    total = view.count()
    case = view.source.case
    con = ws.cursor()
    try:
        if fmt == "vcf":
            write_vcf = vcf_writer()
            if write_vcf is None:
                raise RareDeskError("VCF export needs the query engine's VCF writer (raredesk.store.export), "
                                    "which is not installed in this build; export TSV or CSV instead")
            sort = [f"{n}:desc" if d else n for n, d in view.spec.sort]
            with open(tmp, "w", encoding="utf-8", newline="") as out:
                write_vcf(con, case, view.where, view.params, sort or None, out)
            os.replace(tmp, dest)
            if progress:
                progress(total, total, f"{total:,} variants")
            return total
        reviews = {}
        for vkey, flagged, tags, note in con.execute(
                f"SELECT vkey, flagged, tags, note FROM {rv.TABLE} WHERE case_id = ?", [case.case_id]).fetchall():
            reviews[vkey] = (flagged, tags, note)
        header, getters = [], []
        for c, (off, width) in zip(view.columns, view.layout):
            if c.kind in ("flag", "tags", "note"):
                header.append(c.name)
                idx = {"flag": 0, "tags": 1, "note": 2}[c.kind]
                getters.append(lambda r, i=idx: _review_text(reviews.get(r[1]), i))
            elif c.kind == "gt":
                label = c.name[:-3]
                header += [c.name, f"{label}.ad", f"{label}.dp", f"{label}.gq"]
                getters.append(lambda r, o=off: r[o + 1] or ("./." if r[o] is None else _text(r[o])))
                getters.append(lambda r, o=off: f"{_text(r[o + 2]) or '.'},{_text(r[o + 3]) or '.'}")
                getters.append(lambda r, o=off: _text(r[o + 4]))
                getters.append(lambda r, o=off: _text(r[o + 5]))
            else:
                header.append(c.name)
                getters.append(lambda r, o=off: _text(r[o]))
        cur = con.execute(f"SELECT {view._select} FROM {view.table} WHERE {view.where} ORDER BY {view.order}",
                          view.params)
        done = 0
        with open(tmp, "w", encoding="utf-8", newline="") as out:
            w = csv.writer(out, delimiter="\t" if fmt == "tsv" else ",", lineterminator="\n",
                           quoting=csv.QUOTE_MINIMAL)
            w.writerow(["vkey"] + header)
            while True:
                if cancel is not None and cancel.cancelled:
                    raise Cancelled()
                rows = cur.fetchmany(BATCH)
                if not rows:
                    break
                for r in rows:
                    w.writerow([r[1]] + [g(r) for g in getters])
                done += len(rows)
                if progress:
                    progress(done, total, f"{done:,} of {total:,} variants")
        os.replace(tmp, dest)
        return done
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        con.close()


def _review_text(review, i: int) -> str:
    if review is None:
        return ""
    flagged, tags, note = review
    if i == 0:
        return "flagged" if flagged else ""
    if i == 1:
        return "; ".join(tags or ())
    return note or ""

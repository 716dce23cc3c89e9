"""Gene panels: gene lists, BED files and PanelApp exports stored in the workspace.

Three inputs are understood:

* a gene list: one HGNC symbol per line (``#`` comments and blank lines are
  skipped; anything after the first whitespace, comma or semicolon on a line is
  ignored);
* a BED file (``.bed``, ``.bed.gz``): regions, usable as ``in panel "name"``;
* a PanelApp TSV export (Genomics England or Australia; the header has
  ``Entity Name``, ``Entity type`` and ``GEL_Status``): its gene entities, at or
  above a confidence (green by default: GEL_Status 3 or more; amber 2; red
  below).

Symbols are checked, never silently changed except for letter case: a symbol
that matches a gene seen in the workspace's annotations in another case
(``scn1a`` -> ``SCN1A``) takes that spelling; one that is malformed, or that no
case's annotation mentions (often an outdated or alias symbol), is reported.

Shipped gene lists (``resources/genes/*.txt``, e.g. ``acmg_sf_v3.2``) are
panels too, read-only, under their file name.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from raredesk.errors import InputError, RareDeskError
from raredesk.io.genome import canonical_contig, normalise_build
from raredesk.resources import resource_path
from raredesk.store.importer import q

SYMBOL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-._@]*$")
CONFIDENCE_RANK = {"red": 1, "amber": 2, "green": 3}
PANELAPP_COLUMNS = ("Entity Name", "Entity type")


@dataclass
class Panel:
    """A panel as the filter language sees it.

    Attributes
    ----------
    name : str
    panel_id : int or None
        None for a shipped list.
    kind : str
        ``genes``, ``panelapp``, ``bed`` or ``builtin``.
    n_genes, n_regions : int
    builtin : bool
    genes : set of str
        Only filled for shipped lists (workspace panels are read in SQL).
    description, version, source_path : str or None
    """

    name: str
    panel_id: int | None
    kind: str
    n_genes: int = 0
    n_regions: int = 0
    builtin: bool = False
    genes: set = field(default_factory=set)
    description: str | None = None
    version: str | None = None
    source_path: str | None = None
    unknown_symbols: list = field(default_factory=list)


@dataclass
class PanelImportResult:
    """What :func:`import_panel` stored and what it could not vouch for.

    Attributes
    ----------
    name : str
    panel_id : int
    kind : str
    n_genes, n_regions : int
    unknown_symbols : list of str
        Not seen in any case's annotations (alias or outdated symbols, typing errors).
    invalid_symbols : list of str
        Not shaped like a gene symbol; not stored.
    renamed : dict of str to str
        Letter-case fixes applied (``scn1a`` -> ``SCN1A``).
    skipped : dict of str to int
        PanelApp entities left out (by confidence or type), duplicate lines.
    checked : bool
        False when the workspace has no annotated case to check symbols against.
    """

    name: str
    panel_id: int
    kind: str
    n_genes: int = 0
    n_regions: int = 0
    unknown_symbols: list = field(default_factory=list)
    invalid_symbols: list = field(default_factory=list)
    renamed: dict = field(default_factory=dict)
    skipped: dict = field(default_factory=dict)
    checked: bool = True


# ------------------------------------------------------------------------------------------------
# shipped lists


def _genes_dir() -> Path | None:
    try:
        d = resource_path("genes")
    except FileNotFoundError:
        return None
    return d if d.is_dir() else None


def builtin_panels() -> dict[str, Path]:
    d = _genes_dir()
    if d is None:
        return {}
    return {p.stem: p for p in sorted(d.glob("*.txt"))}


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError("file not found", str(path)) from None
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror})", str(path)) from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except OSError as exc:
            raise InputError(f"not a valid gzip file ({exc})", str(path)) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError("not UTF-8 text", str(path)) from None


def parse_gene_list(text: str) -> tuple[list[str], int]:
    """Symbols of a gene list in file order (duplicates dropped) and the number of duplicates."""
    out: list[str] = []
    seen: set[str] = set()
    dups = 0
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        tok = re.split(r"[\s,;]+", line, maxsplit=1)[0]
        if not tok:
            continue
        if tok in seen:
            dups += 1
            continue
        seen.add(tok)
        out.append(tok)
    return out, dups


def builtin_genes(path: Path) -> set[str]:
    genes, _ = parse_gene_list(_read_text(path))
    return set(genes)


# ------------------------------------------------------------------------------------------------
# lookups


def list_panels(con) -> list[Panel]:
    """Workspace panels, then shipped lists."""
    rows = con.execute("SELECT panel_id, name, kind, n_genes, n_regions, description, version, source_path, "
                       "unknown_symbols FROM panels ORDER BY lower(name)").fetchall()
    out = [Panel(r[1], r[0], r[2], r[3] or 0, r[4] or 0, False, set(), r[5], r[6], r[7], list(r[8] or []))
           for r in rows]
    taken = {p.name.lower() for p in out}
    for name, path in builtin_panels().items():
        if name.lower() in taken:
            continue
        genes = builtin_genes(path)
        out.append(Panel(name, None, "builtin", len(genes), 0, True, genes, _first_comment(path), None, str(path)))
    return out


def _first_comment(path: Path) -> str | None:
    for line in _read_text(path).splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").strip() or None
        if line.strip():
            break
    return None


def panel_names(con) -> list[str]:
    return [p.name for p in list_panels(con)]


def resolve_panel(con, name: str) -> Panel:
    """A panel by name (exact, else ignoring case); workspace panels win over shipped lists."""
    r = con.execute("SELECT panel_id, name, kind, n_genes, n_regions, description, version, source_path "
                    "FROM panels WHERE name = ?", [name]).fetchone()
    if r is None:
        hits = con.execute("SELECT panel_id, name, kind, n_genes, n_regions, description, version, source_path "
                           "FROM panels WHERE lower(name) = lower(?)", [name]).fetchall()
        r = hits[0] if len(hits) == 1 else None
    if r is not None:
        return Panel(r[1], r[0], r[2], r[3] or 0, r[4] or 0, False, set(), r[5], r[6], r[7])
    for stem, path in builtin_panels().items():
        if stem == name or stem.lower() == name.lower():
            genes = builtin_genes(path)
            return Panel(stem, None, "builtin", len(genes), 0, True, genes, _first_comment(path), None, str(path))
    names = panel_names(con)
    have = f" (panels: {', '.join(names[:10])})" if names else " (the workspace has no panels; import one with " \
                                                                 "'raredesk panels import')"
    raise RareDeskError(f"no panel named {name!r}{have}")


def known_symbols(con) -> set[str]:
    """Gene symbols in the annotations of every case of the workspace, and in the shipped lists."""
    tables = [r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
        "AND regexp_full_match(table_name, 'case_[0-9]+_(variants|transcripts)')").fetchall()]
    out: set[str] = set()
    for t in tables:
        cols = {r[0] for r in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = ? AND database_name = current_database()",
            [t]).fetchall()}
        if "gene" in cols:
            out |= {r[0] for r in con.execute(f"SELECT DISTINCT gene FROM {q(t)} WHERE gene IS NOT NULL").fetchall()}
        if "genes" in cols:
            out |= {r[0] for r in con.execute(
                f"SELECT DISTINCT unnest(genes) FROM {q(t)} WHERE genes IS NOT NULL").fetchall() if r[0]}
    return out


# ------------------------------------------------------------------------------------------------
# import


def detect_format(path: Path, text: str) -> str:
    name = path.name.lower()
    if name.endswith((".bed", ".bed.gz")):
        return "bed"
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    if all(c in first for c in PANELAPP_COLUMNS):
        return "panelapp"
    return "genes"


def _confidence(row: dict) -> str:
    status = (row.get("GEL_Status") or "").strip()
    try:
        v = float(status)
    except ValueError:
        v = None
    if v is not None:
        return "green" if v >= 3 else "amber" if v >= 2 else "red"
    sources = (row.get("Sources(; separated)") or "").lower()
    for c in ("green", "amber", "red"):
        if f"expert review {c}" in sources:
            return c
    return "red"


def parse_panelapp(text: str, min_confidence: str = "green") -> tuple[list[dict], dict, dict]:
    """Gene entities of a PanelApp TSV at or above ``min_confidence``.

    Returns (genes, skipped counts, panel info {name, version}).
    """
    rows = list(csv.DictReader(io.StringIO(text), delimiter="\t"))
    if not rows:
        raise InputError("the PanelApp export has a header but no entities")
    floor = CONFIDENCE_RANK[min_confidence]
    genes, skipped = [], {}
    seen = set()
    info = {"name": (rows[0].get("Level4") or "").strip() or None,
            "version": (rows[0].get("version") or "").strip() or None}
    for r in rows:
        etype = (r.get("Entity type") or "gene").strip().lower()
        if etype != "gene":
            skipped[f"{etype} entities"] = skipped.get(f"{etype} entities", 0) + 1
            continue
        sym = (r.get("Gene Symbol") or r.get("Entity Name") or "").strip()
        if not sym:
            skipped["rows without a gene symbol"] = skipped.get("rows without a gene symbol", 0) + 1
            continue
        conf = _confidence(r)
        if CONFIDENCE_RANK[conf] < floor:
            skipped[f"{conf} genes"] = skipped.get(f"{conf} genes", 0) + 1
            continue
        if sym in seen:
            continue
        seen.add(sym)
        genes.append({"symbol": sym, "confidence": conf,
                      "moi": (r.get("Model_Of_Inheritance") or "").strip() or None,
                      "hgnc": (r.get("HGNC") or "").strip() or None,
                      "ensembl": (r.get("EnsemblId(GRch38)") or r.get("EnsemblId(GRch37)") or "").strip() or None})
    return genes, skipped, info


def import_panel(ws, path: str | Path, name: str | None = None, *, fmt: str | None = None,
                 min_confidence: str = "green", replace: bool = False, description: str | None = None,
                 build: str | None = None) -> PanelImportResult:
    """Import a gene list, BED or PanelApp export as a workspace panel.

    Parameters
    ----------
    ws : Workspace
    path : path-like
    name : str, optional
        Defaults to the PanelApp panel name, else the file name without extension.
    fmt : {'genes', 'bed', 'panelapp'}, optional
        Detected from the name and the header when absent.
    min_confidence : {'green', 'amber', 'red'}
        PanelApp: the lowest confidence kept.
    replace : bool
        Replace a panel of the same name (cases keep it assigned).
    description : str, optional
    build : str, optional
        Genome build of a BED panel.

    Returns
    -------
    PanelImportResult

    Raises
    ------
    InputError
        Unreadable file, nothing usable in it, or a name already taken.
    """
    p = Path(path).expanduser()
    if min_confidence not in CONFIDENCE_RANK:
        raise InputError(f"confidence must be green, amber or red, not {min_confidence!r}")
    if p.is_dir():
        raise InputError("is a folder, not a panel file", str(p))
    text = "" if fmt == "bed" else _read_text(p)
    fmt = fmt or detect_format(p, text)
    if fmt not in ("genes", "bed", "panelapp"):
        raise InputError(f"unknown panel format {fmt!r} (genes, bed or panelapp)")
    sha = hashlib.sha256(p.read_bytes()).hexdigest()
    genes: list[dict] = []
    regions: list[tuple[str, int, int, str | None]] = []
    skipped: dict[str, int] = {}
    version = None
    if fmt == "genes":
        syms, dups = parse_gene_list(text)
        genes = [{"symbol": s} for s in syms]
        if dups:
            skipped["duplicate lines"] = dups
        default_name = p.name.split(".")[0]
    elif fmt == "panelapp":
        try:
            genes, skipped, info = parse_panelapp(text, min_confidence)
        except InputError as exc:
            raise InputError(exc.problem, str(p)) from None
        version = info["version"]
        default_name = info["name"] or p.name.split(".")[0]
    else:
        from raredesk.io.bed import read_bed
        bed = read_bed(p)
        names = bed.name if bed.name is not None else [None] * len(bed)
        regions = [(canonical_contig(str(c)), int(s), int(e), (nm or None))
                   for c, s, e, nm in zip(bed.chrom, bed.start, bed.end, names)]
        default_name = p.name.split(".")[0]
    name = (name or default_name).strip()
    if not name:
        raise InputError("the panel needs a name (--name)")
    if fmt != "bed" and not genes:
        raise InputError("no gene symbols found" + (f" at or above {min_confidence} confidence"
                                                    if fmt == "panelapp" else ""), str(p))
    if fmt == "bed" and not regions:
        raise InputError("the BED file has no regions", str(p))
    con = ws.cursor()
    # check symbols
    known = known_symbols(con)
    by_lower: dict[str, list[str]] = {}
    for k in known:
        by_lower.setdefault(k.lower(), []).append(k)
    invalid, unknown, renamed = [], [], {}
    kept = []
    seen = set()
    for g in genes:
        s = g["symbol"]
        if not SYMBOL_RE.match(s):
            invalid.append(s)
            continue
        if s not in known and len(by_lower.get(s.lower(), [])) == 1:
            renamed[s] = by_lower[s.lower()][0]
            s = renamed[s]
        elif known and s not in known:
            unknown.append(s)
        if s in seen:
            skipped["duplicate symbols"] = skipped.get("duplicate symbols", 0) + 1
            continue
        seen.add(s)
        kept.append({**g, "symbol": s})
    if fmt != "bed" and not kept:
        raise InputError(f"no valid gene symbols (e.g. {invalid[0]!r} is not a symbol)", str(p))
    with ws.write_lock:
        con.execute("BEGIN TRANSACTION")
        try:
            old = con.execute("SELECT panel_id FROM panels WHERE lower(name) = lower(?)", [name]).fetchone()
            if old and not replace:
                raise InputError(f"a panel named {name!r} exists; give another --name or --replace it")
            pid = con.execute("SELECT nextval('panel_id_seq')").fetchone()[0]
            if old:
                con.execute("DELETE FROM panel_genes WHERE panel_id = ?", [old[0]])
                con.execute("DELETE FROM panel_regions WHERE panel_id = ?", [old[0]])
                con.execute("DELETE FROM panels WHERE panel_id = ?", [old[0]])
            con.execute(
                "INSERT INTO panels (panel_id, name, kind, description, version, source_path, source_sha256, build, "
                "n_genes, n_regions, unknown_symbols) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [pid, name, fmt, description, version, str(p.resolve()), sha,
                 normalise_build(build) if build else None, len(kept), len(regions), unknown])
            if kept:
                con.executemany("INSERT INTO panel_genes VALUES (?, ?, ?, ?, ?, ?)",
                                [[pid, g["symbol"], g.get("confidence"), g.get("moi"), g.get("hgnc"),
                                  g.get("ensembl")] for g in kept])
            if regions:
                con.executemany('INSERT INTO panel_regions (panel_id, chrom, "start", "end", name) '
                                'VALUES (?, ?, ?, ?, ?)',
                                [[pid, c, s, e, nm] for c, s, e, nm in regions])
            if old:
                con.execute("UPDATE case_panels SET panel_id = ? WHERE panel_id = ?", [pid, old[0]])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return PanelImportResult(name, pid, fmt, len(kept), len(regions), unknown, invalid, renamed, skipped,
                             checked=bool(known))


def _case_id(con, case_name: str) -> int:
    from raredesk.store.cases import get_case
    return get_case(con, case_name).case_id


def assign_panel(ws, case_name: str, panel_name: str) -> None:
    """Assign a workspace panel to a case (``gene in case_panels``)."""
    con = ws.cursor()
    cid = _case_id(con, case_name)
    panel = resolve_panel(con, panel_name)
    if panel.builtin:
        raise RareDeskError(f"{panel.name!r} is a shipped list; use it as gene in panel \"{panel.name}\" or import "
                            f"it to assign it")
    with ws.write_lock:
        con.execute("INSERT OR IGNORE INTO case_panels (case_id, panel_id) VALUES (?, ?)", [cid, panel.panel_id])


def unassign_panel(ws, case_name: str, panel_name: str) -> bool:
    con = ws.cursor()
    cid = _case_id(con, case_name)
    panel = resolve_panel(con, panel_name)
    with ws.write_lock:
        n = con.execute("SELECT count(*) FROM case_panels WHERE case_id = ? AND panel_id = ?",
                        [cid, panel.panel_id]).fetchone()[0]
        con.execute("DELETE FROM case_panels WHERE case_id = ? AND panel_id = ?", [cid, panel.panel_id])
    return bool(n)


def case_panels(con, case_id: int) -> list[str]:
    return [r[0] for r in con.execute(
        "SELECT p.name FROM case_panels c JOIN panels p USING (panel_id) WHERE c.case_id = ? ORDER BY p.name",
        [case_id]).fetchall()]


def delete_panel(ws, name: str) -> None:
    con = ws.cursor()
    panel = resolve_panel(con, name)
    if panel.builtin:
        raise RareDeskError(f"{panel.name!r} is a shipped list and cannot be deleted")
    with ws.write_lock:
        con.execute("BEGIN TRANSACTION")
        try:
            for t in ("panel_genes", "panel_regions", "case_panels", "panels"):
                con.execute(f"DELETE FROM {t} WHERE panel_id = ?", [panel.panel_id])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise


def panel_genes(con, name: str) -> list[tuple]:
    """(symbol, confidence, mode of inheritance) of a panel."""
    panel = resolve_panel(con, name)
    if panel.builtin:
        return [(g, None, None) for g in sorted(panel.genes)]
    return con.execute("SELECT symbol, confidence, mode_of_inheritance FROM panel_genes WHERE panel_id = ? "
                       "ORDER BY symbol", [panel.panel_id]).fetchall()

"""The ``raredesk panels`` and ``raredesk presets`` subcommands.

::

    raredesk panels import FILE [--name NAME] [--format genes|bed|panelapp] [--min-confidence green|amber|red]
                                [--replace] [--description TEXT] [--build GRCh37|GRCh38] --workspace DIR
    raredesk panels list [--format tsv|json]
    raredesk panels show NAME
    raredesk panels assign --case CASE NAME     (then: gene in case_panels)
    raredesk panels unassign --case CASE NAME
    raredesk panels delete NAME
    raredesk presets list [--format tsv|json]
    raredesk presets show NAME
    raredesk presets save NAME --filter EXPR [--title T] [--description D] [--sort COL[:desc],...] [--replace]
    raredesk presets delete NAME
    raredesk presets check --case CASE (--filter EXPR | --preset NAME)    (parse and compile only)

Errors are one ``error: ...`` line (the main CLI prints them); a filter error
also shows the filter with a caret under the position on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys

from raredesk.errors import RareDeskError


def _workspace_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workspace", metavar="DIR", help="workspace folder (default: $RAREDESK_WORKSPACE or the "
                   "user data folder)")
    p.add_argument("--passphrase-file", metavar="F", help="file whose first line is the workspace passphrase")


def _open(args, create: bool = False):
    from raredesk.cli import open_workspace
    return open_workspace(args, create=create)


def _caret(exc: Exception) -> None:
    from raredesk.filters.errors import FilterError
    if isinstance(exc, FilterError) and exc.text and exc.position is not None:
        print(exc.caret(), file=sys.stderr)


def _guard(fn):
    def run(args):
        try:
            return fn(args)
        except RareDeskError as exc:
            _caret(exc)
            raise
    return run


# -- panels -------------------------------------------------------------------------------------


def _panels_import(args) -> int:
    from raredesk.filters.panels import import_panel

    with _open(args, create=True) as ws:
        res = import_panel(ws, args.file, args.name, fmt=args.format, min_confidence=args.min_confidence,
                           replace=args.replace, description=args.description, build=args.build)
    what = f"{res.n_genes:,} genes" if res.kind != "bed" else f"{res.n_regions:,} regions"
    print(f"panel {res.name!r} ({res.kind}): {what} imported")
    for old, new in res.renamed.items():
        print(f"note: {old!r} stored as {new!r} (the spelling used in the annotations)", file=sys.stderr)
    if res.invalid_symbols:
        print(f"warning: {len(res.invalid_symbols)} entries are not gene symbols and were left out: "
              f"{', '.join(res.invalid_symbols[:20])}", file=sys.stderr)
    if res.unknown_symbols:
        print(f"warning: {len(res.unknown_symbols)} symbols are in no case's annotations (outdated or alias "
              f"symbols?): {', '.join(res.unknown_symbols[:30])}" + (" ..." if len(res.unknown_symbols) > 30 else ""),
              file=sys.stderr)
    if res.kind != "bed" and not res.checked:
        print("note: the workspace has no annotated case yet, so the symbols could not be checked",
              file=sys.stderr)
    for k, v in res.skipped.items():
        print(f"note: skipped {v:,} {k}", file=sys.stderr)
    return 0


def _panels_list(args) -> int:
    from raredesk.filters.panels import list_panels

    with _open(args) as ws:
        panels = list_panels(ws.cursor())
    if args.format == "json":
        print(json.dumps([{"name": p.name, "kind": p.kind, "genes": p.n_genes, "regions": p.n_regions,
                           "version": p.version, "description": p.description, "source": p.source_path,
                           "unknown_symbols": p.unknown_symbols} for p in panels], indent=1))
        return 0
    print("\t".join(["name", "kind", "genes", "regions", "version", "description"]))
    for p in panels:
        print("\t".join([p.name, p.kind, str(p.n_genes), str(p.n_regions), p.version or "",
                         (p.description or "").replace("\t", " ")]))
    return 0


def _panels_show(args) -> int:
    from raredesk.filters.panels import panel_genes

    with _open(args) as ws:
        rows = panel_genes(ws.cursor(), args.name)
    print("symbol\tconfidence\tmode_of_inheritance")
    for r in rows:
        print("\t".join("" if v is None else str(v) for v in r))
    return 0


def _panels_assign(args) -> int:
    from raredesk.filters.panels import assign_panel

    with _open(args) as ws:
        assign_panel(ws, args.case, args.name)
    print(f"case {args.case}: panel {args.name!r} assigned (filter with: gene in case_panels)")
    return 0


def _panels_unassign(args) -> int:
    from raredesk.filters.panels import unassign_panel

    with _open(args) as ws:
        done = unassign_panel(ws, args.case, args.name)
    print(f"case {args.case}: panel {args.name!r} " + ("unassigned" if done else "was not assigned"))
    return 0


def _panels_delete(args) -> int:
    from raredesk.filters.panels import delete_panel

    with _open(args) as ws:
        delete_panel(ws, args.name)
    print(f"panel {args.name!r} deleted")
    return 0


# -- presets ------------------------------------------------------------------------------------


def _presets_list(args) -> int:
    from raredesk.filters.presets import list_presets

    with _open(args) as ws:
        presets = list_presets(ws.cursor())
    if args.format == "json":
        print(json.dumps([{"name": p.name, "title": p.title, "builtin": p.builtin, "filter": p.filter,
                           "settings": p.settings, "sort": p.sort, "requires_consent": p.requires_consent,
                           "description": p.description} for p in presets], indent=1))
        return 0
    print("name\tshipped\ttitle")
    for p in presets:
        print(f"{p.name}\t{'yes' if p.builtin else 'no'}\t{p.title}")
    return 0


def _presets_show(args) -> int:
    from raredesk.filters.presets import get_preset

    with _open(args) as ws:
        p = get_preset(ws.cursor(), args.name)
    print(f"# {p.title}{' (shipped)' if p.builtin else ''}")
    if p.description:
        print(f"# {p.description}")
    if p.settings:
        print("# settings: " + ", ".join(f"{k}={v}" for k, v in p.settings.items()))
    if p.sort:
        print("# sort: " + ", ".join(p.sort))
    print(p.filter.strip())
    return 0


def _split(values) -> list[str]:
    out = []
    for v in values or []:
        out += [x.strip() for x in v.split(",") if x.strip()]
    return out


def _presets_save(args) -> int:
    from raredesk.filters.presets import save_preset

    settings = {}
    for item in args.set or []:
        k, _, v = item.partition("=")
        try:
            settings[k.strip()] = float(v) if "." in v else int(v)
        except ValueError:
            raise RareDeskError(f"--set {item!r}: expected NAME=NUMBER") from None
    with _open(args) as ws:
        p = save_preset(ws, args.name, args.filter, title=args.title, description=args.description,
                        settings=settings, sort=_split(args.sort), replace=args.replace)
    print(f"preset {p.name!r} saved")
    return 0


def _presets_delete(args) -> int:
    from raredesk.filters.presets import delete_preset

    with _open(args) as ws:
        delete_preset(ws, args.name)
    print(f"preset {args.name!r} deleted")
    return 0


def _presets_check(args) -> int:
    from raredesk.filters import compile_filter
    from raredesk.store.cases import get_case
    from raredesk.store.importer import q

    if not args.filter and not args.preset:
        raise RareDeskError("give --filter EXPR and/or --preset NAME")
    with _open(args) as ws:
        con = ws.cursor()
        case = get_case(con, args.case)
        cf = compile_filter(con, case, args.filter, args.preset)
        n = con.execute(f"SELECT count(*) FROM {q(case.table)} WHERE {cf.where}", cf.params).fetchone()[0]
    print(f"ok: {n:,} variant rows of case {case.name} pass")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``panels`` and ``presets`` to the main CLI's subparsers."""
    p = subparsers.add_parser("panels", help="gene panels: import, list, show, assign to a case, delete",
                              description="Gene panels stored in the workspace, used in filters as "
                                          "gene in panel \"NAME\" (and in panel \"NAME\" for BED panels).")
    sub = p.add_subparsers(dest="panels_command", metavar="ACTION", required=True)

    a = sub.add_parser("import", help="import a gene list, a BED or a PanelApp TSV export")
    a.add_argument("file", metavar="FILE")
    a.add_argument("--name", help="panel name (default: the PanelApp panel name or the file name)")
    a.add_argument("--format", choices=["genes", "bed", "panelapp"], help="default: detected")
    a.add_argument("--min-confidence", choices=["green", "amber", "red"], default="green",
                   help="PanelApp: lowest gene rating kept [green]")
    a.add_argument("--replace", action="store_true", help="replace a panel of the same name")
    a.add_argument("--description")
    a.add_argument("--build", choices=["GRCh37", "GRCh38"], help="genome build of a BED panel")
    _workspace_args(a)
    a.set_defaults(func=_guard(_panels_import))

    a = sub.add_parser("list", help="list the workspace's panels and the shipped gene lists")
    a.add_argument("--format", choices=["tsv", "json"], default="tsv")
    _workspace_args(a)
    a.set_defaults(func=_guard(_panels_list))

    a = sub.add_parser("show", help="the genes of a panel")
    a.add_argument("name", metavar="NAME")
    _workspace_args(a)
    a.set_defaults(func=_guard(_panels_show))

    for action, fn, text in (("assign", _panels_assign, "assign a panel to a case"),
                             ("unassign", _panels_unassign, "remove a panel from a case")):
        a = sub.add_parser(action, help=text)
        a.add_argument("name", metavar="NAME")
        a.add_argument("--case", required=True, metavar="CASE")
        _workspace_args(a)
        a.set_defaults(func=_guard(fn))

    a = sub.add_parser("delete", help="delete a workspace panel")
    a.add_argument("name", metavar="NAME")
    _workspace_args(a)
    a.set_defaults(func=_guard(_panels_delete))

    p = subparsers.add_parser("presets", help="filter presets: list, show, save, delete, check",
                              description="Shipped and saved filter presets (raredesk query --preset NAME).")
    sub = p.add_subparsers(dest="presets_command", metavar="ACTION", required=True)
    a = sub.add_parser("list", help="list the presets")
    a.add_argument("--format", choices=["tsv", "json"], default="tsv")
    _workspace_args(a)
    a.set_defaults(func=_guard(_presets_list))
    a = sub.add_parser("show", help="a preset's filter and settings")
    a.add_argument("name", metavar="NAME")
    _workspace_args(a)
    a.set_defaults(func=_guard(_presets_show))
    a = sub.add_parser("save", help="save a filter as a preset of this workspace")
    a.add_argument("name", metavar="NAME")
    a.add_argument("--filter", required=True, metavar="EXPR")
    a.add_argument("--title")
    a.add_argument("--description")
    a.add_argument("--sort", action="append", metavar="COL[:desc],...")
    a.add_argument("--set", action="append", metavar="NAME=NUMBER",
                   help="inheritance setting (min_gq, min_dp, min_ab, max_ab, max_parent_alt, phase_by_ps)")
    a.add_argument("--replace", action="store_true")
    _workspace_args(a)
    a.set_defaults(func=_guard(_presets_save))
    a = sub.add_parser("delete", help="delete a saved preset")
    a.add_argument("name", metavar="NAME")
    _workspace_args(a)
    a.set_defaults(func=_guard(_presets_delete))
    a = sub.add_parser("check", help="compile a filter for a case and count what passes")
    a.add_argument("--case", required=True, metavar="CASE")
    a.add_argument("--filter", metavar="EXPR")
    a.add_argument("--preset", metavar="NAME")
    _workspace_args(a)
    a.set_defaults(func=_guard(_presets_check))

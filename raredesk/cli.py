"""RareDesk command line: the same core as the GUI, no Qt.

Every error the user can act on is printed as one line ``error: <file>: <problem>``
on stderr with a non-zero exit status; never a traceback (set
``RAREDESK_DEBUG=1`` to see one for a bug report).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from raredesk import __version__
from raredesk.errors import Cancelled, RareDeskError

EXIT_ERROR = 2


# ------------------------------------------------------------------------------------------
# helpers


def open_workspace(args, create: bool = True):
    from raredesk.store.workspace import Workspace, default_workspace, read_passphrase_file

    path = Path(args.workspace) if getattr(args, "workspace", None) else default_workspace()
    return Workspace(path, passphrase=read_passphrase_file(getattr(args, "passphrase_file", None)), create=create)


class _Progress:
    """Progress on stderr when it is a terminal; silent otherwise (logs, CI)."""

    def __init__(self, label: str):
        self.label = label
        self.tty = sys.stderr.isatty()
        self.last = 0.0

    def __call__(self, done: int, total: int, text: str) -> None:
        if not self.tty:
            return
        now = time.monotonic()
        if now - self.last < 0.2 and done < total:
            return
        self.last = now
        pct = 100.0 * done / total if total else 0.0
        sys.stderr.write(f"\r{self.label}: {pct:5.1f}%  {text}   ")
        sys.stderr.flush()

    def close(self) -> None:
        if self.tty:
            sys.stderr.write("\n")


def _add_workspace(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workspace", metavar="DIR", help="workspace folder (default: $RAREDESK_WORKSPACE or the "
                   "user data folder)")
    p.add_argument("--passphrase-file", metavar="F", help="file whose first line is the workspace passphrase "
                   "(encrypts a new workspace at rest)")


# ------------------------------------------------------------------------------------------
# commands


def cmd_import(args) -> int:
    from raredesk.io.inputs import check_alignments, parse_bam_args
    from raredesk.io.vcf import read_header
    from raredesk.store.importer import CaseSpec, import_vcf

    header = read_header(args.vcf)
    alignments = parse_bam_args(args.bam or [], header.samples)
    notes = check_alignments(args.vcf, header, alignments, args.reference)
    spec = CaseSpec(proband=args.proband, sex=args.sex, indication=args.indication,
                    hpo_terms=args.hpo or [], consent_secondary=args.consent_secondary)
    with open_workspace(args) as ws:
        progress = _Progress(f"importing {Path(args.vcf).name}")
        try:
            res = import_vcf(ws, args.vcf, args.case, ped=args.ped, proband=args.proband,
                             alignments={s: str(Path(p).resolve()) for s, p in alignments.items()},
                             reference=str(Path(args.reference).resolve()) if args.reference else None,
                             build=args.build, case_spec=spec, progress=progress)
        finally:
            progress.close()
        if args.reference and not res.already_imported:
            ws.cursor().execute("UPDATE cases SET reference_path = ? WHERE case_id = ?",
                                [str(Path(args.reference).resolve()), res.case_id])
    for n in notes + res.warnings:
        print(f"warning: {n}", file=sys.stderr)
    if res.already_imported:
        print(f"case {res.case_name}: {Path(args.vcf).name} was already imported (same SHA-256); nothing added")
        return 0
    skipped = ", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in res.skipped.items())
    print(f"case {res.case_name}: imported {res.records:,} records as {res.variant_rows:,} variant rows "
          f"({res.build or 'build unknown'}) in {res.seconds:.1f} s" + (f"; skipped {skipped}" if skipped else ""))
    return 0


def cmd_annotate(args) -> int:
    from raredesk.store.knowledge import annotate

    if not args.clinvar and not args.gnomad:
        raise RareDeskError("give --clinvar VCF and/or --gnomad VCF")
    with open_workspace(args, create=False) as ws:
        results = annotate(ws, args.case, clinvar=args.clinvar, gnomad=args.gnomad,
                           progress=_Progress("loading knowledge source"))
    for r in results:
        print(f"{r.kind}: {Path(r.path).name} (sha256 {r.sha256[:12]}, date {r.file_date or 'not stated'}, "
              f"{r.records:,} records{', already loaded' if r.reused else ''}): {r.matched:,} variants of "
              f"{args.case} matched")
    return 0


def cmd_cases(args) -> int:
    from raredesk.store.cases import list_cases

    with open_workspace(args, create=False) as ws:
        cases = list_cases(ws.cursor())
    if args.format == "json":
        print(json.dumps([{"name": c.name, "proband": c.proband, "build": c.build, "status": c.status,
                           "variants": c.n_variants, "samples": [s.sample_id for s in c.samples],
                           "updated": str(c.updated_at)} for c in cases], indent=2))
        return 0
    print("\t".join(["name", "proband", "build", "status", "variants", "samples", "updated"]))
    for c in cases:
        print("\t".join([c.name, c.proband or "", c.build or "", c.status, str(c.n_variants),
                         ",".join(s.sample_id for s in c.samples), str(c.updated_at)[:19]]))
    return 0


def _fmt(v) -> str:
    if v is None:
        return "."
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, (list, tuple)):
        return ",".join(_fmt(x) for x in v)
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def cmd_query(args) -> int:
    from raredesk.store import query as vq
    from raredesk.store.cases import get_case

    with open_workspace(args, create=False) as ws:
        con = ws.cursor()
        case = get_case(con, args.case)
        where, params = "TRUE", []
        if getattr(args, "filter", None) or getattr(args, "preset", None):
            from raredesk.filters import compile_for_case

            where, params = compile_for_case(con, case, args.filter, args.preset)
        if args.count:
            print(vq.count(con, case, where=where, params=params))
            return 0
        if args.format == "vcf":
            from raredesk.store.export import write_vcf

            write_vcf(con, case, where, params, _split_list(args.sort) if args.sort else None, sys.stdout)
            return 0
        cat = vq.ColumnCatalog.load(con, case)
        if args.columns:
            cols = [cat.resolve(c) for c in _split_list(args.columns)]
        else:
            cols = cat.default_columns()
        sort = _split_list(args.sort) if args.sort else None
        rows = vq.fetch(con, case, cols, where=where, params=params, sort=sort, limit=args.limit, cat=cat)
    if args.format == "json":
        print(json.dumps([{c.name: _jsonable(v) for c, v in zip(cols, r)} for r in rows], indent=1))
    else:
        out = sys.stdout
        out.write("\t".join(c.name for c in cols) + "\n")
        for r in rows:
            out.write("\t".join(_fmt(v) for v in r) + "\n")
    return 0


def _jsonable(v):
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if v is None or isinstance(v, (int, float, str, bool)):
        return v
    return str(v)


def _split_list(values) -> list[str]:
    out = []
    for v in values if isinstance(values, list) else [values]:
        out += [x for x in (s.strip() for s in v.split(",")) if x]
    return out


def cmd_demo(args) -> int:
    from raredesk.demo.workspace import ensure_demo, summary

    ws_path = Path(args.workspace) if args.workspace else None
    info = ensure_demo(ws_path)
    if args.screenshot or not args.no_gui:
        try:
            from raredesk.gui.app import run_demo  # noqa: F401  (present once the GUI lands)
        except ImportError:
            run_demo = None
        if run_demo is not None:
            return run_demo(info, screenshot=args.screenshot)
        if args.screenshot:
            raise RareDeskError("the GUI is not installed (pip install 'raredesk[gui]')")
    print(summary(info))
    return 0


def cmd_gui(args) -> int:
    try:
        from raredesk.gui.app import run  # noqa: F401
    except ImportError:
        print(f"raredesk {__version__}: the main window is not available in this build; "
              f"see 'raredesk --help' for the command-line tools", file=sys.stderr)
        return EXIT_ERROR
    return run(args)


# ------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="raredesk", description="RareDesk: offline rare-disease variant review.")
    parser.add_argument("--version", action="version", version=f"raredesk {__version__}")
    parser.set_defaults(func=cmd_gui, workspace=None, passphrase_file=None)
    _add_workspace(parser)  # `raredesk --workspace DIR` opens that workspace in the window
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("import", help="import a VCF (and PED, BAM/CRAM, reference) into a case")
    p.add_argument("vcf", metavar="VCF", help="VCF, VCF.gz or BCF")
    p.add_argument("--case", required=True, metavar="NAME")
    p.add_argument("--ped", metavar="PED")
    p.add_argument("--bam", action="append", metavar="[SAMPLE=]PATH",
                   help="BAM or CRAM of a sample (sample from its read group when not given); repeatable")
    p.add_argument("--reference", metavar="FASTA")
    p.add_argument("--build", choices=["GRCh37", "GRCh38"])
    p.add_argument("--proband", metavar="SAMPLE")
    p.add_argument("--sex", choices=["male", "female", "unknown"])
    p.add_argument("--indication", metavar="TEXT")
    p.add_argument("--hpo", action="append", metavar="HP:NNNNNNN")
    p.add_argument("--consent-secondary", action="store_true", help="the patient consented to secondary findings")
    _add_workspace(p)
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("annotate", help="join local ClinVar / gnomAD VCFs into a case")
    p.add_argument("--case", required=True, metavar="NAME")
    p.add_argument("--clinvar", metavar="VCF")
    p.add_argument("--gnomad", metavar="VCF")
    _add_workspace(p)
    p.set_defaults(func=cmd_annotate)

    p = sub.add_parser("cases", help="list the cases of the workspace")
    p.add_argument("--format", choices=["tsv", "json"], default="tsv")
    _add_workspace(p)
    p.set_defaults(func=cmd_cases)

    p = sub.add_parser("query", help="print the variants of a case")
    p.add_argument("--case", required=True, metavar="NAME")
    p.add_argument("--columns", action="append", metavar="COL,COL,...")
    p.add_argument("--sort", action="append", metavar="COL[:desc],...")
    p.add_argument("--limit", type=int, metavar="N")
    p.add_argument("--filter", metavar="EXPR", help="filter expression (see docs/filter-language.md)")
    p.add_argument("--preset", metavar="NAME", help="a shipped or saved filter preset")
    p.add_argument("--count", action="store_true", help="print the number of variant rows (one per ALT allele)")
    p.add_argument("--format", choices=["tsv", "json", "vcf"], default="tsv")
    _add_workspace(p)
    p.set_defaults(func=cmd_query)

    p = sub.add_parser("demo", help="build (once) and open the demo case")
    p.add_argument("--workspace", metavar="DIR", help="demo workspace folder (default: a 'demo' folder in the "
                   "user data folder)")
    p.add_argument("--screenshot", metavar="FILE.png", help="render the main window to a PNG and exit")
    p.add_argument("--no-gui", action="store_true", help="print the case summary instead of opening the window")
    p.set_defaults(func=cmd_demo)

    for module in ("raredesk.acmg.commands", "raredesk.io.reads_commands", "raredesk.filters.commands",
                   "raredesk.gui.pileup.commands"):
        try:
            mod = __import__(module, fromlist=["register"])
        except ImportError:
            continue
        mod.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        import pysam

        pysam.set_verbosity(0)  # htslib's own chatter; our errors are one line each
    except ImportError:
        pass
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except RareDeskError as exc:
        print(f"error: {exc.one_line()}", file=sys.stderr)
        return EXIT_ERROR
    except Cancelled:
        print("error: cancelled", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug: still one line, details on request
        if os.environ.get("RAREDESK_DEBUG"):
            raise
        print(f"error: internal error ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
              f"rerun with RAREDESK_DEBUG=1 for details", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())

"""The ``raredesk classify`` and ``raredesk audit`` subcommands.

``classify --criteria`` / ``--batch``: ACMG/AMP criteria in, classes out, no case needed.
``classify --case NAME --variant KEY``: the engine's suggestions for a stored variant, with
reasons, the class they would give, the current classification and the variant's history
across cases. ``audit verify``: check the hash-chained audit log of the workspace.

The main CLI adds the subcommand with::

    from raredesk.acmg.commands import register
    register(subparsers)            # subparsers = parser.add_subparsers(...)
    ...
    args = parser.parse_args(argv)
    return args.func(args)          # run_classify(args) -> exit code

It also runs on its own: ``python -m raredesk.acmg.commands classify --criteria PVS1,PM2_Supporting``.

Exit codes: 0 success; 2 bad input (unknown code, disallowed strength, unreadable batch
file, wrong option mix, unknown case or variant, no workspace), reported as one
``error: ...`` line on stderr; 1 when the installed criteria catalogue itself is broken,
or when ``audit verify`` finds the log tampered with.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from raredesk.acmg.combine import CLASSES, DEFAULT_SCHEME, Classification, classify
from raredesk.acmg.catalogue import default_catalogue
from raredesk.errors import RareDeskError

__all__ = ["classify_case", "main", "register", "run_audit_verify", "run_classify"]

_DESCRIPTION = (
    "Classify a set of ACMG/AMP criteria under Richards 2015 Table 5, the same rules with the "
    "ClinGen SVI PM2 amendment, and Tavtigian 2020 points. The default class is the "
    f"{DEFAULT_SCHEME!r} scheme's. Classes: {', '.join(CLASSES)}."
)
_EPILOG = (
    "Codes are CODE or CODE_Strength with Strength one of Supporting, Moderate, Strong, VeryStrong "
    "(BA1 also BA1_StandAlone); a bare code means its Richards 2015 strength, so PM2 is Moderate and "
    "the ClinGen SVI default is written PM2_Supporting. Example: raredesk classify --criteria "
    "PVS1,PM2_Supporting --format json"
)


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``classify`` subcommand to an argparse subparsers object.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        The object returned by ``ArgumentParser.add_subparsers()``.

    Returns
    -------
    argparse.ArgumentParser
        The ``classify`` parser; its defaults set ``func=run_classify``.
    """
    parser = subparsers.add_parser("classify", help="classify a set of ACMG/AMP criteria",
                                   description=_DESCRIPTION, epilog=_EPILOG)
    parser.add_argument("--criteria", metavar="CODES",
                        help="comma-separated criteria, e.g. PVS1,PM2_Supporting (an empty string is the empty set)")
    parser.add_argument("--batch", metavar="FILE",
                        help="one comma-separated criteria set per line; blank lines and # comments are skipped; "
                             "'-' reads standard input")
    parser.add_argument("--case", metavar="NAME", help="classify a variant of a stored case (needs --variant)")
    parser.add_argument("--variant", metavar="KEY", help="variant key within --case")
    parser.add_argument("--format", choices=("json", "text"), default="json",
                        help="json: one JSON object per criteria set (default); text: a short human summary")
    _add_workspace(parser)
    parser.set_defaults(func=run_classify)

    audit_parser = subparsers.add_parser("audit", help="check the audit trail of classification decisions",
                                         description="Commands on the append-only, hash-chained audit log.")
    audit_sub = audit_parser.add_subparsers(dest="audit_command", metavar="COMMAND", required=True)
    verify = audit_sub.add_parser(
        "verify", help="recompute the hash chain; report edited, deleted or reordered records",
        description="Recompute the audit log's hash chain. Exit 0 when intact, 1 when any record was edited, "
                    "deleted, inserted or reordered, 2 when the workspace cannot be read.")
    verify.add_argument("--expect-head", metavar="HASH",
                        help="a head hash printed by an earlier verify: it must still be in the chain")
    verify.add_argument("--format", choices=("text", "json"), default="text")
    _add_workspace(verify)
    verify.set_defaults(func=run_audit_verify)
    return parser


def _add_workspace(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workspace", metavar="DIR",
                        help="workspace folder (default: $RAREDESK_WORKSPACE or the user data folder)")
    parser.add_argument("--passphrase-file", metavar="F", help="file whose first line is the workspace passphrase")


def _open_workspace(args: argparse.Namespace, *, read_only: bool = False):
    from pathlib import Path

    from raredesk.store.workspace import Workspace, default_workspace, read_passphrase_file

    path = getattr(args, "workspace", None)
    passphrase = read_passphrase_file(getattr(args, "passphrase_file", None))
    return Workspace(Path(path) if path else default_workspace(), passphrase=passphrase, create=False,
                     read_only=read_only)


def classify_case(args: argparse.Namespace, stdout: TextIO | None = None) -> int:
    """Print the suggestions for ``args.variant`` of the stored case ``args.case``; return the exit code.

    Prints the engine's suggestion for every criterion with its reason, the class the met
    suggestions give (all three schemes), the variant's current classification in the case,
    and its history across cases ("seen in N cases", previous classifications). Nothing is
    written. Errors (no workspace, unknown case or variant) raise `RareDeskError`, which
    `run_classify` prints as one line with exit code 2.
    """
    from raredesk.acmg import knowledge, review
    from raredesk.acmg.evidence import suggest_for_variant

    stdout = sys.stdout if stdout is None else stdout
    ws = _open_workspace(args)
    try:
        cur = ws.cursor()
        report = suggest_for_variant(cur, args.case, args.variant)
        current = review.find_classification(cur, args.case, report.vkey)
        know = knowledge.variant_knowledge(cur, report.build, report.vkey, exclude_case=args.case)
    finally:
        ws.close()
    if (getattr(args, "format", "json") or "json") == "json":
        obj = report.to_dict()
        obj["current"] = current.to_dict() if current else None
        obj["knowledge"] = know.to_dict()
        print(json.dumps(obj, ensure_ascii=True), file=stdout)
        return 0
    print(_case_text(report, current, know), file=stdout)
    return 0


_STATUS_TEXT = {"met": "met", "not_met": "not met", "missing": "missing data", "manual": "manual"}


def _case_text(report, current, know) -> str:
    where = " ".join(x for x in (report.gene, report.transcript, (report.hgvsc or "").split(":")[-1] or None,
                                 (report.hgvsp or "").split(":")[-1] or None) if x)
    result = report.classification()
    rows = [f"case {report.case}  variant {report.vkey}  {where}  ({report.build or 'build unknown'})",
            f"suggested: {', '.join(report.labels) or '(none)'} -> {result.default} "
            f"(points {result.points.points:+d}; rules: {result.rules.classification}; "
            f"rules_svi: {result.rules_svi.classification})"]
    if report.own_clinvar is not None:
        stars = report.own_clinvar.stars
        rows.append(f"ClinVar: {report.own_clinvar.significance}"
                    + (f" ({stars} star(s))" if stars is not None else "") + " - context only (PP5 is retired)")
    for s in report.suggestions:
        head = f"  [{_STATUS_TEXT[s.status]}] {s.label or s.code}"
        rows.append(f"{head}: {s.reason}")
        rows += [f"      caveat: {c}" for c in s.caveats]
    if current is None:
        rows.append("current classification: none in this case")
    else:
        computed = current.computed()
        rows.append(f"current classification: #{current.classification_id} {current.status}, started by "
                    f"{current.analyst}; final: {current.final_class or 'not set'}; applied: "
                    f"{', '.join(current.applied_labels) or '(none)'} -> {computed.default}"
                    + (f"; undecided: {', '.join(current.undecided)}" if current.undecided else ""))
    rows.append(f"seen in {know.n_cases} case(s)" + (f": {', '.join(know.cases)}" if know.cases else ""))
    for p in know.classifications:
        who = p.signer or p.reviewer or p.analyst
        rows.append(f"  #{p.classification_id} {p.case_name}: {p.final_class or 'no final class'} ({p.status} by "
                    f"{who}, {(p.decided_at or '')[:10]}) [{', '.join(p.criteria)}]")
    return "\n".join(rows)


def run_audit_verify(args: argparse.Namespace, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run ``raredesk audit verify``: 0 intact, 1 tampered, 2 cannot check."""
    from raredesk.acmg import audit

    stdout = sys.stdout if stdout is None else stdout
    stderr = sys.stderr if stderr is None else stderr
    try:
        ws = _open_workspace(args, read_only=True)
    except RareDeskError as exc:
        _error(exc.one_line(), stderr)
        return 2
    try:
        cur = ws.cursor()
        has_log = cur.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'audit_log' AND "
                              "database_name = current_database()").fetchone()[0]
        if not has_log:
            _error("this workspace has no audit log yet (open it once with this RareDesk to upgrade it)", stderr)
            return 2
        result = audit.verify(cur, expected_head=getattr(args, "expect_head", None))
    finally:
        ws.close()
    if getattr(args, "format", "text") == "json":
        print(json.dumps({"ok": result.ok, "records": result.n_records, "head": result.head_hash,
                          "problems": list(result.problems)}, ensure_ascii=True), file=stdout)
    elif result.ok:
        print(f"audit log intact: {result.n_records} record(s); head {result.head_hash}", file=stdout)
    else:
        print(f"audit log FAILED verification ({len(result.problems)} problem(s) in {result.n_records} "
              f"record(s)):", file=stdout)
        for problem in result.problems:
            print(f"  {problem}", file=stdout)
    return 0 if result.ok else 1


def _error(problem: str, stderr: TextIO) -> None:
    print(f"error: {problem}", file=stderr)


def _as_text(result: Classification, line: int | None = None) -> str:
    where = f"line {line}: " if line is not None else ""
    criteria = ", ".join(a.label for a in result.criteria) or "(no criteria)"
    rows = [
        f"{where}{result.default}  [{criteria}]",
        f"  rules: {result.rules.classification}; rules_svi: {result.rules_svi.classification}; "
        f"points: {result.points.points:+d} ({result.points.classification}); default: {result.default_scheme}",
        f"  {result.explanation}",
    ]
    rows += [f"  warning: {w}" for w in result.warnings]
    return "\n".join(rows)


def _emit(result: Classification, fmt: str, stdout: TextIO, line: int | None = None) -> None:
    if fmt == "text":
        print(_as_text(result, line), file=stdout)
        return
    obj = result.to_dict()
    if line is not None:
        obj = {"line": line, **obj}
    # ASCII-only JSON: safe on any console encoding, one object per line.
    print(json.dumps(obj, ensure_ascii=True), file=stdout)


def _read_batch(name: str, stdin: TextIO) -> str:
    if name == "-":
        return stdin.read()
    try:
        with open(name, encoding="utf-8") as handle:
            return handle.read()
    except OSError as exc:
        raise RareDeskError(exc.strerror or str(exc), name) from exc
    except UnicodeDecodeError as exc:
        raise RareDeskError("not a UTF-8 text file", name) from exc


def _batch_sets(text: str) -> list[tuple[int, str]]:
    sets = []
    for number, raw in enumerate(text.splitlines(), start=1):
        content = raw.split("#", 1)[0].strip()
        if content:
            sets.append((number, content))
    return sets


def run_classify(args: argparse.Namespace, stdout: TextIO | None = None, stderr: TextIO | None = None,
                 stdin: TextIO | None = None) -> int:
    """Run ``raredesk classify``; return the exit code.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed by the parser from `register` (``criteria``, ``batch``, ``case``,
        ``variant``, ``format``).
    stdout, stderr, stdin : file-like, optional
        Default to ``sys.stdout``, ``sys.stderr`` and ``sys.stdin`` at call time.

    Returns
    -------
    int
        0 on success, 2 for bad input, 1 for a broken installed catalogue.
    """
    stdout = sys.stdout if stdout is None else stdout
    stderr = sys.stderr if stderr is None else stderr
    stdin = sys.stdin if stdin is None else stdin
    criteria = getattr(args, "criteria", None)
    batch = getattr(args, "batch", None)
    case = getattr(args, "case", None)
    variant = getattr(args, "variant", None)
    fmt = getattr(args, "format", "json") or "json"

    case_mode = case is not None or variant is not None
    modes = sum([criteria is not None, batch is not None, case_mode])
    if modes == 0:
        _error("nothing to classify: give --criteria CODES, --batch FILE, or --case NAME --variant KEY", stderr)
        return 2
    if modes > 1:
        _error("give only one of --criteria, --batch, or --case with --variant", stderr)
        return 2
    if case_mode:
        if case is None or variant is None:
            _error("--case and --variant go together", stderr)
            return 2
        try:
            return classify_case(args)
        except NotImplementedError:
            _error("classify --case/--variant is not available yet; classify the criteria with --criteria instead",
                   stderr)
            return 2
        except RareDeskError as exc:
            _error(exc.one_line(), stderr)
            return 2

    try:
        catalogue = default_catalogue()
    except RareDeskError as exc:
        _error(exc.one_line(), stderr)
        return 1

    if criteria is not None:
        try:
            result = classify(criteria, catalogue)
        except RareDeskError as exc:
            _error(exc.one_line(), stderr)
            return 2
        _emit(result, fmt, stdout)
        return 0

    try:
        text = _read_batch(batch, stdin)
    except RareDeskError as exc:
        _error(exc.one_line(), stderr)
        return 2
    # Classify every line before printing any, so a bad line leaves no partial output.
    results = []
    for number, content in _batch_sets(text):
        try:
            results.append((number, classify(content, catalogue)))
        except RareDeskError as exc:
            _error(f"{batch}: line {number}: {exc.one_line()}", stderr)
            return 2
    for number, result in results:
        _emit(result, fmt, stdout, line=number)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry point: ``python -m raredesk.acmg.commands classify ...``."""
    parser = argparse.ArgumentParser(prog="raredesk")
    subparsers = parser.add_subparsers(dest="command", required=True)
    register(subparsers)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

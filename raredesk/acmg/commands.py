"""The ``raredesk classify`` subcommand: ACMG/AMP criteria in, classes out, no case needed.

The main CLI adds the subcommand with::

    from raredesk.acmg.commands import register
    register(subparsers)            # subparsers = parser.add_subparsers(...)
    ...
    args = parser.parse_args(argv)
    return args.func(args)          # run_classify(args) -> exit code

It also runs on its own: ``python -m raredesk.acmg.commands classify --criteria PVS1,PM2_Supporting``.

Exit codes: 0 success; 2 bad input (unknown code, disallowed strength, unreadable batch
file, wrong option mix), reported as one ``error: ...`` line on stderr; 1 when the
installed criteria catalogue itself is broken.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from raredesk.acmg.combine import CLASSES, DEFAULT_SCHEME, Classification, classify
from raredesk.acmg.catalogue import default_catalogue
from raredesk.errors import RareDeskError

__all__ = ["classify_case", "main", "register", "run_classify"]

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
    parser.set_defaults(func=run_classify)
    return parser


def classify_case(args: argparse.Namespace) -> int:
    """Classify ``args.variant`` of the stored case ``args.case``; return the exit code.

    Hook for the case/store work (issue 6), which owns this path: replace this body
    (or rebind ``raredesk.acmg.commands.classify_case``). `run_classify` looks the
    name up at call time and turns ``NotImplementedError`` into a one-line error.
    """
    raise NotImplementedError("classify --case/--variant")


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

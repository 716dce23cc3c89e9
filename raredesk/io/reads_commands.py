"""Command-line subcommands over read evidence: ``coverage`` and ``recount``.

Wire them into the main parser with :func:`register`; every handler returns
the process exit code (0 ok, 2 bad input) and prints problems as one line,
``error: <file>: <problem>``, never a traceback.

Usage::

    raredesk coverage --bam BAM (--region CHR:START-END | --bed BED) [--reference FASTA]
                      [--min-bq N] [--min-mapq N] [--thresholds 10,20,30] [--format tsv|json]
    raredesk recount --bam BAM --reference FASTA --variant CHROM:POS:REF:ALT
                     [--min-bq N] [--min-mapq N] [--format tsv|json]
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import warnings
from collections.abc import Callable

import numpy as np

from raredesk.errors import Cancelled, RareDeskError

__all__ = ["register", "main", "parse_region", "parse_variant"]

_REGION = re.compile(r"^(?P<chrom>[^:\s].*?)(?::(?P<start>[\d,]+)(?:-(?P<end>[\d,]+))?)?$")


def parse_region(text: str) -> tuple[str, int | None, int | None]:
    """Parse ``CHR``, ``CHR:POS`` or ``CHR:START-END`` (1-based, inclusive).

    Returns
    -------
    tuple
        ``(contig, start, end)`` with 0-based half-open ``start``/``end``
        (None for a whole contig).

    Raises
    ------
    RareDeskError
        Malformed text; the message names ``--region``.
    """
    m = _REGION.match(text.strip())
    if not m or not m.group("chrom"):
        raise RareDeskError(f"expected CHR:START-END (1-based, inclusive), got {text!r}", "--region")
    chrom = m.group("chrom")
    if m.group("start") is None:
        return chrom, None, None
    start = int(m.group("start").replace(",", ""))
    end = int(m.group("end").replace(",", "")) if m.group("end") else start
    if start < 1 or end < start:
        raise RareDeskError(f"region {text!r} is empty or starts before 1", "--region")
    return chrom, start - 1, end


def parse_variant(text: str) -> tuple[str, int, str, str]:
    """Parse ``CHROM:POS:REF:ALT`` (``pos`` 1-based, as in a VCF).

    The contig may itself contain ``:`` (HLA contigs); the last three fields
    are POS, REF and ALT.
    """
    parts = text.strip().rsplit(":", 3)
    if len(parts) != 4 or not all(parts):
        raise RareDeskError(f"expected CHROM:POS:REF:ALT, got {text!r}", "--variant")
    chrom, pos, ref, alt = parts
    try:
        pos_i = int(pos.replace(",", ""))
    except ValueError:
        raise RareDeskError(f"position {pos!r} is not a whole number", "--variant") from None
    return chrom, pos_i, ref, alt


def _thresholds(text: str) -> list[int]:
    try:
        vals = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise RareDeskError(f"expected comma-separated whole numbers, got {text!r}", "--thresholds") from None
    if not vals or min(vals) < 0:
        raise RareDeskError(f"expected comma-separated whole numbers >= 0, got {text!r}", "--thresholds")
    return vals


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``coverage`` and ``recount`` subcommands to a CLI.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        From ``parser.add_subparsers()``. Each subcommand sets ``func``; the
        caller runs ``sys.exit(args.func(args))``.
    """
    cov = subparsers.add_parser(
        "coverage", help="depth over a region, or coverage QC over BED targets",
        description="Per-position depth for --region (as samtools depth -a), or a per-target summary "
                    "for --bed (mean depth, %% bases at thresholds).")
    cov.add_argument("--bam", required=True, help="BAM or CRAM with its index")
    where = cov.add_mutually_exclusive_group(required=True)
    where.add_argument("--region", help="CHR:START-END, 1-based inclusive (chr20 and 20 both work)")
    where.add_argument("--bed", help="BED file of targets (plain or gzip)")
    cov.add_argument("--reference", help="reference FASTA (required for CRAM)")
    cov.add_argument("--min-bq", type=int, default=0, help="minimum base quality [0]")
    cov.add_argument("--min-mapq", type=int, default=0, help="minimum mapping quality [0]")
    cov.add_argument("--thresholds", default="10,20,30", help="depths for %% columns [10,20,30]")
    cov.add_argument("--low-below", type=int, default=20,
                     help="list target stretches below this depth (JSON output) [20]")
    cov.add_argument("--threads", type=int, default=None, help="worker threads [CPU count, max 4]")
    cov.add_argument("--format", choices=("tsv", "json"), default="tsv")
    cov.set_defaults(func=_guarded(_run_coverage))

    rc = subparsers.add_parser(
        "recount", help="ref/alt/other read counts by strand at one variant",
        description="Count reads supporting REF, ALT and other alleles at a variant (SNV, MNV, indel), "
                    "by strand, as samtools mpileup sees them.")
    rc.add_argument("--bam", required=True, help="BAM or CRAM with its index")
    rc.add_argument("--reference", required=True, help="reference FASTA (REF is checked against it)")
    rc.add_argument("--variant", required=True, help="CHROM:POS:REF:ALT, POS 1-based as in a VCF")
    rc.add_argument("--min-bq", type=int, default=13, help="minimum base quality [13]")
    rc.add_argument("--min-mapq", type=int, default=0, help="minimum mapping quality [0]")
    rc.add_argument("--format", choices=("tsv", "json"), default="tsv")
    rc.set_defaults(func=_guarded(_run_recount))


def _guarded(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Turn every failure into one ``error:`` line and exit code 2."""

    def handler(args: argparse.Namespace) -> int:
        import pysam  # local: keep `raredesk --help` fast

        pysam.set_verbosity(0)  # htslib's own stderr chatter would duplicate our message
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return run(args)
        except RareDeskError as exc:
            _error(str(exc))
        except Cancelled:
            _error("cancelled")
        except BrokenPipeError:
            return 0
        except (OSError, ValueError) as exc:  # from pysam/htslib, not anticipated by the checks
            _error(f"{getattr(args, 'bam', '?')}: {exc}")
        except MemoryError:
            _error(f"{getattr(args, 'bam', '?')}: out of memory; use a smaller region")
        return 2

    handler.__name__ = run.__name__
    return handler


def _error(text: str) -> None:
    print(f"error: {' '.join(text.split())}", file=sys.stderr)


def _fmt(x: float, nd: int = 2) -> str:
    return "NA" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{nd}f}"


def _json_value(x):
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return None if math.isnan(x) else round(float(x), 4)
    return x


def _records(df) -> list[dict]:
    return [{k: _json_value(v) for k, v in row.items()} for row in df.to_dict("records")]


def _run_coverage(args: argparse.Namespace) -> int:
    from raredesk.io.coverage import bed_coverage, region_depth

    out = sys.stdout
    thresholds = _thresholds(args.thresholds)
    if args.region:
        chrom, start, end = parse_region(args.region)
        if start is None:
            from raredesk.io.bam import AlignmentReader
            with AlignmentReader(args.bam, args.reference) as r:
                start, end = 0, r.lengths[r.resolve(chrom)]
        track = region_depth(args.bam, chrom, start, end, reference=args.reference, min_mapq=args.min_mapq,
                             min_bq=args.min_bq, threads=args.threads)
        if args.format == "json":
            json.dump({"contig": track.contig, "first_pos": track.start + 1, "last_pos": track.end,
                       "min_bq": track.min_bq, "min_mapq": track.min_mapq, "mean_depth": _json_value(track.mean),
                       "depth": track.depth.tolist()}, out)
            out.write("\n")
        else:
            out.write("chrom\tpos\tdepth\n")
            step = 200_000
            for i in range(0, track.depth.size, step):
                pos = track.pos[i:i + step].astype(str)
                dep = track.depth[i:i + step].astype(str)
                lines = np.char.add(np.char.add(np.char.add(track.contig + "\t", pos), "\t"), dep)
                out.write("\n".join(lines.tolist()))
                out.write("\n")
        return 0
    cov = bed_coverage(args.bam, args.bed, reference=args.reference, thresholds=thresholds,
                       low_threshold=args.low_below, min_mapq=args.min_mapq, min_bq=args.min_bq,
                       threads=args.threads)
    if args.format == "json":
        json.dump({"bam": cov.bam, "bed": cov.bed, "thresholds": list(cov.thresholds),
                   "low_threshold": cov.low_threshold, "gene_threshold": cov.gene_threshold,
                   "summary": {k: _json_value(v) for k, v in cov.summary.items()},
                   "targets": _records(cov.targets),
                   "genes": None if cov.genes is None else _records(cov.genes),
                   "low_coverage": _records(cov.low_coverage)}, out)
        out.write("\n")
    else:
        df = cov.targets.copy()
        for c in df.columns:
            if c == "mean_depth" or c.startswith("pct_ge_"):
                df[c] = [_fmt(v) for v in df[c]]
        df.to_csv(out, sep="\t", index=False)
    return 0


def _run_recount(args: argparse.Namespace) -> int:
    from raredesk.io.bam import recount

    chrom, pos, ref, alt = parse_variant(args.variant)
    res = recount(args.bam, args.reference, chrom, pos, ref, alt, min_bq=args.min_bq, min_mapq=args.min_mapq)
    d = res.as_dict()
    if args.format == "json":
        json.dump(d, sys.stdout)
        sys.stdout.write("\n")
    else:
        cols = list(d)
        sys.stdout.write("\t".join(cols) + "\n")
        sys.stdout.write("\t".join("NA" if d[c] is None else str(d[c]) for c in cols) + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run ``coverage``/``recount`` standalone (``python -m raredesk.io.reads_commands``)."""
    parser = argparse.ArgumentParser(prog="raredesk")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

"""``raredesk snapshot``: a PNG of the reads at a variant, from the command line.

Usage::

    raredesk snapshot --case NAME --variant KEY --out FILE.png [--workspace DIR]
                      [--width 1200] [--height 900] [--flank 50]

This module is imported by the CLI to register the subcommand, so it imports
nothing from Qt at import time: PySide6 and pyqtgraph are loaded only when the
command runs (``raredesk --help`` and the Qt-free core must work without them).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from raredesk.errors import RareDeskError

__all__ = ["register", "run_snapshot"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``snapshot`` subcommand to the RareDesk CLI.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        From ``parser.add_subparsers()``; the handler is stored as ``func``
        and returns the exit code.
    """
    p = subparsers.add_parser(
        "snapshot", help="write a PNG of the reads at a variant (all samples of a case)",
        description="Render the pileup (reference, coverage and reads of every sample with a BAM/CRAM) at one "
                    "variant to a fixed-size PNG, offscreen, with the reads sorted by the base at the variant.")
    p.add_argument("--case", required=True, metavar="NAME")
    p.add_argument("--variant", required=True, metavar="KEY",
                   help="CHROM:POS:REF:ALT (the vkey column of 'raredesk query', or as in the VCF) or a variant id")
    p.add_argument("--out", required=True, metavar="FILE.png", help="PNG file to write")
    p.add_argument("--width", type=int, default=1200, help="image width in pixels [1200]")
    p.add_argument("--height", type=int, default=900, help="image height in pixels [900]")
    p.add_argument("--flank", type=int, default=50, help="bases shown each side of the variant [50]")
    p.add_argument("--workspace", metavar="DIR", help="workspace folder (default: $RAREDESK_WORKSPACE or the user "
                   "data folder)")
    p.add_argument("--passphrase-file", metavar="F", help="file whose first line is the workspace passphrase")
    p.set_defaults(func=run_snapshot)


def run_snapshot(args: argparse.Namespace) -> int:
    """Handler of ``raredesk snapshot`` (imports Qt now, not before)."""
    if not 200 <= args.width <= 10_000 or not 150 <= args.height <= 10_000:
        raise RareDeskError("--width must be 200-10000 and --height 150-10000 pixels")
    if args.flank < 5:
        raise RareDeskError("--flank must be at least 5 bases")
    out = Path(args.out)
    if out.suffix.lower() != ".png":
        raise RareDeskError("the snapshot is a PNG: give --out FILE.png", str(out))
    if not out.parent.exists():
        raise RareDeskError("the folder for --out does not exist", str(out.parent))
    try:
        from raredesk.gui.pileup.snapshot import snapshot_variant
    except ImportError as exc:
        raise RareDeskError(f"the snapshot needs the GUI packages (pip install 'raredesk[gui]'): {exc}") from None
    from raredesk.cli import open_workspace

    import pysam

    pysam.set_verbosity(0)
    with open_workspace(args, create=False) as ws:
        path = snapshot_variant(ws, args.case, args.variant, out, size=(args.width, args.height), flank=args.flank)
    print(f"wrote {path} ({args.width}x{args.height})")
    return 0

"""Storage floor: how long DuckDB alone takes to store what an import produces.

    python benchmarks/bench_storage_floor.py WORKSPACE [--vcf FILE.vcf.gz] [--batch 100000]

WORKSPACE is a folder a finished import left (``bench_import.py --keep DIR`` or
``raredesk import``). For every case it streams the variants table and the stored
annotation text out of the workspace as Arrow batches (not timed) and appends
them to a new workspace, one transaction per batch, then CHECKPOINTs;
only the appends and the checkpoint are timed. That is the cost of the write
with no VCF parsing at all: a lower bound for any import that stores the same
columns in DuckDB. The new database is a RareDesk workspace, so the import's
own engine settings apply (storage format, memory limit, checkpoint
threshold); it is measured with a few changes on top (threads, a forced
uncompressed store) and printed beside ``bcftools query`` of the same fields
when ``--vcf`` is given (the import benchmark's reference, same run).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_import import run_bcftools  # noqa: E402

from raredesk.store.importer import _ensure_annotation_store  # noqa: E402
from raredesk.store.workspace import DB_FILE, Workspace  # noqa: E402

SETTINGS = {
    "threads=1": ["SET threads=1"],
    "threads=2": ["SET threads=2"],
    "threads=2, uncompressed": ["SET threads=2", "SET force_compression='uncompressed'"],
}


def tables(src: duckdb.DuckDBPyConnection) -> list[str]:
    return [r[0] for r in src.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = 'ws' "
        "AND (regexp_matches(table_name, '^case_[0-9]+_variants$') "
        "OR regexp_matches(table_name, '^case_[0-9]+_annotations$')) ORDER BY table_name").fetchall()]


def write_floor(src: duckdb.DuckDBPyConnection, names: list[str], setup: list[str], batch: int,
                out_dir: Path) -> dict:
    # a new workspace: the import's own engine settings (storage format, memory, checkpoint
    # threshold) and its own annotation table (ZSTD text); `setup` is applied on top
    ws_dir = out_dir / "floor"
    if ws_dir.exists():
        shutil.rmtree(ws_dir)
    ws = Workspace(ws_dir)
    dst = ws.cursor()
    for s in setup:
        dst.execute(s)
    per_table = {}
    total = 0.0
    for name in names:
        if name.endswith("_annotations"):
            _ensure_annotation_store(dst, int(name.split("_")[1]))
        else:
            dst.execute(src.execute("SELECT sql FROM duckdb_tables() WHERE database_name = 'ws' "
                                    "AND table_name = ?", [name]).fetchone()[0])
        reader = src.execute(f'SELECT * FROM ws."{name}"').to_arrow_reader(batch)
        spent = 0.0
        for rb in reader:
            t0 = time.perf_counter()
            dst.execute("BEGIN TRANSACTION")
            dst.execute(f'INSERT INTO "{name}" SELECT * FROM rb')
            dst.execute("COMMIT")
            spent += time.perf_counter() - t0
            del rb
        per_table[name] = spent
        total += spent
    t0 = time.perf_counter()
    dst.execute("CHECKPOINT")
    ckpt = time.perf_counter() - t0
    dst.close()
    ws.close()
    size = (ws_dir / DB_FILE).stat().st_size
    return {"tables": per_table, "checkpoint": ckpt, "total": total + ckpt, "bytes": size}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("workspace")
    ap.add_argument("--vcf", help="the imported VCF: bcftools query on it is printed beside the floor")
    ap.add_argument("--batch", type=int, default=100_000, help="rows per appended batch (one transaction each)")
    args = ap.parse_args()
    db = Path(args.workspace) / DB_FILE
    if not db.exists():
        raise SystemExit(f"error: {args.workspace}: no {DB_FILE} here")
    src = duckdb.connect(":memory:")
    src.execute("SET memory_limit='2GB'")
    src.execute(f"ATTACH '{db}' AS ws (READ_ONLY)")
    names = tables(src)
    if not names:
        raise SystemExit(f"error: {args.workspace}: no imported case tables")
    rows = {n: src.execute(f'SELECT count(*) FROM ws."{n}"').fetchone()[0] for n in names}
    ncols = {n: src.execute("SELECT count(*) FROM duckdb_columns() WHERE database_name = 'ws' "
                            "AND table_name = ?", [n]).fetchone()[0] for n in names}
    bcf = run_bcftools(args.vcf) if args.vcf and shutil.which("bcftools") else None
    print(f"{db}: " + ", ".join(f"{n} {rows[n]:,} rows x {ncols[n]} columns" for n in names)
          + f"; {os.cpu_count()} cores")
    if bcf:
        print(f"  bcftools query (import benchmark's fields): {bcf['wall']:.2f} s wall, "
              f"2x = {2 * bcf['wall']:.2f} s")
    with tempfile.TemporaryDirectory(prefix="rd-floor-", dir=os.environ.get("RAREDESK_BENCH_TMP")) as d:
        for label, setup in SETTINGS.items():
            r = write_floor(src, names, setup, args.batch, Path(d))
            parts = "  ".join(f"{n.split('_')[-1]} {s:.2f}" for n, s in r["tables"].items())
            line = (f"  {label:26} write {r['total']:6.2f} s ({parts}  checkpoint {r['checkpoint']:.2f})"
                    f"  {r['bytes'] / 1e6:7.1f} MB")
            if bcf:
                line += f"  = {r['total'] / bcf['wall']:.2f}x bcftools"
            print(line, flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  (this script's peak RSS {peak:.0f} MiB; the appends alone are timed, not reading the source)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

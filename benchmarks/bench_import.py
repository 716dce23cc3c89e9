"""Import benchmark: RareDesk import vs ``bcftools query`` of the same fields, same run.

    python benchmarks/bench_import.py benchmarks/out/trio_100000_s1.vcf.gz [more.vcf.gz ...]

For each file it prints wall and CPU time, peak RSS and workspace size for the
import (run in a child process so its peak memory is its own), beside
``bcftools query -f '%CHROM\\t%POS\\t%REF\\t%ALT\\t%QUAL[\\t%GT:%AD:%DP:%GQ]\\t%INFO/CSQ\\n'``
run on the same file, and the ratios the issue targets:
import wall <= 2.0x bcftools, peak RSS <= 1.5 GB, workspace <= 1.5x the .vcf.gz.
Make the inputs with ``benchmarks/make_trio_vcf.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BCF_FORMAT = "%CHROM\\t%POS\\t%REF\\t%ALT\\t%QUAL[\\t%GT:%AD:%DP:%GQ]\\t%INFO/CSQ\\n"

CHILD = r"""
import json, os, resource, sys, time
from raredesk.store.workspace import Workspace
from raredesk.store.importer import import_vcf
path, ws_dir = sys.argv[1], sys.argv[2]
t0 = time.perf_counter(); c0 = time.process_time()
ws = Workspace(ws_dir)
res = import_vcf(ws, path, "bench")
ws.close()  # includes the final CHECKPOINT: the workspace is complete on disk
wall = time.perf_counter() - t0
cpu = time.process_time() - c0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"wall": wall, "cpu": cpu, "rss": rss, "records": res.records, "rows": res.variant_rows}))
"""


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def run_bcftools(path: str) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    with open(os.devnull, "wb") as devnull:
        subprocess.run(["bcftools", "query", "-f", BCF_FORMAT, path], stdout=devnull, stderr=subprocess.DEVNULL,
                       check=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu}


def run_import(path: str, ws_dir: Path) -> dict:
    proc = subprocess.run([sys.executable, "-c", CHILD, path, str(ws_dir)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"import failed: {proc.stderr.strip().splitlines()[-1] if proc.stderr else proc.returncode}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["size"] = folder_size(ws_dir)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("vcf", nargs="+")
    ap.add_argument("--repeat", type=int, default=1, help="runs per tool; the median is reported")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    ap.add_argument("--keep", metavar="DIR", help="keep the last run's workspace in DIR/<file name> "
                    "(for bench_storage_floor.py)")
    args = ap.parse_args()
    if shutil.which("bcftools") is None:
        raise SystemExit("bcftools is needed for the reference figure (apt-get install bcftools)")
    results = []
    for vcf in args.vcf:
        size = os.path.getsize(vcf)
        bcf, imp = [], []
        for _ in range(args.repeat):
            bcf.append(run_bcftools(vcf))
            with tempfile.TemporaryDirectory(prefix="rd-bench-", dir=os.environ.get("RAREDESK_BENCH_TMP")) as d:
                imp.append(run_import(vcf, Path(d) / "ws"))
                if args.keep:
                    kept = Path(args.keep) / Path(vcf).name.split(".")[0]
                    if kept.exists():
                        shutil.rmtree(kept)
                    shutil.move(str(Path(d) / "ws"), kept)
        med = lambda rows, k: sorted(r[k] for r in rows)[len(rows) // 2]  # noqa: E731
        r = {
            "file": vcf, "vcf_bytes": size, "records": imp[0]["records"], "rows": imp[0]["rows"],
            "bcftools_wall": med(bcf, "wall"), "bcftools_cpu": med(bcf, "cpu"),
            "import_wall": med(imp, "wall"), "import_cpu": med(imp, "cpu"),
            "peak_rss": max(x["rss"] for x in imp), "workspace_bytes": med(imp, "size"),
        }
        r["wall_ratio"] = r["import_wall"] / r["bcftools_wall"]
        r["size_ratio"] = r["workspace_bytes"] / size
        results.append(r)
        print(f"\n{Path(vcf).name}: {r['records']:,} records -> {r['rows']:,} variant rows "
              f"({size / 1e6:.1f} MB .vcf.gz), {os.cpu_count()} cores")
        print(f"  {'':22}{'wall s':>10}{'CPU s':>10}")
        print(f"  {'bcftools query':22}{r['bcftools_wall']:10.2f}{r['bcftools_cpu']:10.2f}")
        print(f"  {'raredesk import':22}{r['import_wall']:10.2f}{r['import_cpu']:10.2f}")
        print(f"  import / bcftools wall: {r['wall_ratio']:.2f}x   (target <= 2.0x)")
        print(f"  peak RSS: {r['peak_rss'] / 2**20:.0f} MiB   (target <= 1536 MiB)")
        print(f"  workspace: {r['workspace_bytes'] / 1e6:.1f} MB = {r['size_ratio']:.2f}x the .vcf.gz   "
              f"(target <= 1.5x)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

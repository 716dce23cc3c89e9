"""Benchmark: selecting a variant to a fully drawn 3-sample pileup (1 kb window, ~100x).

Run from the repository root::

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_pileup.py [--variants 20] [--size 1400x900] [--mode thread]

What is timed, per variant, in a real :class:`~raredesk.gui.pileup.view.PileupView`
(shown offscreen, the same widget the detail panel embeds):

* ``data``   -- from ``show_variant()`` (what selecting a table row calls) to the
  last sample's reads and coverage arriving on the GUI thread; as in the app,
  one QThreadPool job per sample hands the reading to the read worker
  processes (``--mode thread``: reads in the pool threads instead), and the
  reads are laid out there too (numpy);
* ``worker`` -- the longest single-sample read inside that (reading and
  decoding BAM records, allele counts, row packing: ``AlignmentReader.pileup``);
* ``apply``  -- handing the arrays to the graphics items on the GUI thread;
* ``paint``  -- a synchronous repaint of the whole view (``viewport().repaint()``);
* ``total``  -- select to painted (wall clock).

The machine this runs on is shared, so wall-clock times move with its load;
the CPU-time columns (``thread_time`` of the threads doing the work) do not:
``fetch cpu`` is the CPU of the three reads summed, ``gui cpu`` the CPU of the
GUI thread for apply + paint.

Target (issue 5): total <= 60 ms. Data sets:

* ``100x``: three BAMs simulated at ~100x over hg19 chr20:10.0-11.0 Mb with the
  generator of ``bench_reads.py`` (seeds 100, 101, 102; written to
  ``benchmarks/out/``, reused while the generator is unchanged);
* ``trio``: the real CEPH trio BAMs (~30x) for comparison.

Each variant is a different 1 kb window (no cache of reads between variants;
the per-thread file handles are reused, as in the app after the first variant).
Medians and 90th percentiles are printed after 3 warm-up variants.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import numpy as np  # noqa: E402

import bench_reads  # noqa: E402


def _wait(app, view, infos, rid, timeout=30.0):
    t0 = time.perf_counter()
    while not any(i.request_id == rid for i in infos):
        app.processEvents()
        if time.perf_counter() - t0 > timeout:
            raise TimeoutError("no pileup drawn")
        time.sleep(0.0005)
    return next(i for i in infos if i.request_id == rid)


def run(label, samples, reference, contig, positions, size, warmup=3):
    from PySide6.QtWidgets import QApplication

    from raredesk.gui.pileup.view import PileupView

    app = QApplication.instance() or QApplication([])
    from raredesk.gui.pileup.data import warm_up_read_workers

    warm_up_read_workers()      # what the first selection does in the app
    view = PileupView()
    view.resize(*size)
    view.show()
    app.processEvents()
    view.set_samples(samples, reference)
    app.processEvents()
    infos = []
    view.drawn.connect(infos.append)
    rows = []
    for k, pos in enumerate(positions):
        t0 = time.perf_counter()
        rid = view.show_variant(contig, int(pos), "A", "C")
        info = _wait(app, view, infos, rid)
        t1, c1 = time.perf_counter(), time.thread_time()
        view.canvas.viewport().repaint()
        t2, c2 = time.perf_counter(), time.thread_time()
        if k >= warmup:
            rows.append({"data": info.data_ms, "worker": info.worker_ms, "apply": info.apply_ms,
                         "paint": (t2 - t1) * 1e3, "total": (t2 - t0) * 1e3, "reads": info.reads,
                         "fetch cpu": info.worker_cpu_ms, "gui cpu": info.apply_cpu_ms + (c2 - c1) * 1e3})
        app.processEvents()
    view.runner.wait()
    view.close()
    os.system("uptime")
    print(f"\n{label}: {len(rows)} variants, 1 kb window, {len(samples)} samples, "
          f"{statistics.median(r['reads'] for r in rows):,.0f} reads drawn (median), view {size[0]}x{size[1]}")
    print(f"{'':8s}{'median':>10s}{'p90':>10s}   (ms)")
    for key in ("data", "worker", "apply", "paint", "total", "fetch cpu", "gui cpu"):
        vals = [r[key] for r in rows]
        print(f"{key:8s}{statistics.median(vals):10.1f}{np.percentile(vals, 90):10.1f}")
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--variants", type=int, default=20, help="variants timed per data set (after 3 warm-ups)")
    ap.add_argument("--size", default="1400x900", help="view size WxH")
    ap.add_argument("--mode", choices=("auto", "thread"), default="auto",
                    help="read worker processes (auto) or threads")
    args = ap.parse_args()
    os.environ["RAREDESK_READ_WORKERS"] = args.mode
    from raredesk.gui.pileup.data import read_worker_mode

    print("reads run in worker " + {"process": "processes", "thread": "threads"}[read_worker_mode()])
    size = tuple(int(x) for x in args.size.lower().split("x"))

    from raredesk.gui.pileup.data import SampleSource

    bams = [bench_reads.simulate_bam(bench_reads.OUT / ("sim_1mb_100x.bam" if s == 100 else f"sim_1mb_100x_s{s}.bam"),
                                     100, s) for s in (100, 101, 102)]
    rng = np.random.default_rng(5)
    n = args.variants + 3
    pos = rng.integers(bench_reads.REGION_START + 5_000, bench_reads.REGION_START + bench_reads.REGION_LEN - 5_000, n)
    sim = [SampleSource(f"SIM{i}", str(b), r) for i, (b, r) in enumerate(zip(bams, ("proband", "father", "mother")))]
    res = run("~100x simulated trio", sim, str(bench_reads.HG19), bench_reads.CONTIG, pos, size)
    trio = [SampleSource(s, str(p), r) for s, p, r in zip(("HG001", "NA12891", "NA12892"), bench_reads.TRIO,
                                                          ("proband", "father", "mother"))]
    tpos = rng.integers(10_000_600, 10_009_400, n)
    run("~30x CEPH trio (real)", trio, str(bench_reads.B37), "20", tpos, size)
    total = statistics.median(r["total"] for r in res)
    print(f"\ntarget: select -> drawn 3-sample pileup at ~100x <= 60 ms: median {total:.1f} ms "
          f"({'met' if total <= 60 else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

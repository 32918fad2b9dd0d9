"""Full pipeline against decode-only, and peak memory of a long run against a short one, in one run.

    .venv/bin/python benchmarks/pipeline_throughput.py [--pages 203] [--memory-pages 50 500] [--jobs 2]

(a) Seconds per page of ``digitscan process`` at ``--jobs`` against just decoding the same pages
    (``iter_pages``: PNG/JPEG/TIFF decode and PDF rendering), both measured here; target <= 3x.
(b) Peak resident memory of the main process for a short and a long run of the same kind of pages;
    target: the long run within 1.3x of the short one (memory stays flat as pages stream through).
The pages are copies of samples/ (every format), so the mix is the same at every size.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from digitscan.discover import discover
from digitscan.loading import iter_pages

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def make_folder(root: Path, pages: int) -> Path:
    """A folder of copies of the samples holding at least ``pages`` pages."""
    folder = root / f"pages_{pages}"
    folder.mkdir()
    sources = [f for f in discover([SAMPLES])]
    per_set = sum(1 for f in sources for _ in iter_pages(f))
    for copy in range(-(-pages // per_set)):
        for source in sources:
            shutil.copy(source.path, folder / f"{copy:04d}_{source.path.name}")
    return folder


def count_pages(folder: Path) -> tuple[int, float]:
    """Pages in ``folder`` and the seconds it takes just to decode them all."""
    start = time.perf_counter()
    pages = sum(1 for f in discover([folder]) for _ in iter_pages(f))
    return pages, time.perf_counter() - start


def run_cli(folder: Path, out: Path, jobs: int) -> float:
    """Seconds for one ``digitscan process`` run (a fresh process, model load included)."""
    start = time.perf_counter()
    command = [sys.executable, "-m", "digitscan", "process", str(folder), "--out", str(out), "-q", "--jobs", str(jobs)]
    subprocess.run(command, check=True)
    return time.perf_counter() - start


def main() -> None:
    """Measure and print (a) and (b)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=203)
    parser.add_argument("--memory-pages", type=int, nargs=2, default=[50, 500])
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp)
        folder = make_folder(root, args.pages)
        pages, decode_s = count_pages(folder)
        full_s = run_cli(folder, root / "a.csv", args.jobs)
        print(
            f"(a) {pages} pages: decode-only {decode_s / pages * 1000:.0f} ms/page, full pipeline at --jobs "
            f"{args.jobs} {full_s / pages * 1000:.0f} ms/page ({pages / full_s:.2f} pages/s): "
            f"ratio {full_s / decode_s:.2f}x (target <= 3x)",
            flush=True,
        )
        peaks = []
        for size in args.memory_pages:
            small = make_folder(root, size)
            run_cli(small, root / f"m{size}.csv", args.jobs)
            peaks.append(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)  # max so far, MiB
            print(f"(b) peak RSS after {size} pages: {peaks[-1]:.0f} MiB", flush=True)
        print(f"(b) ratio {peaks[-1] / peaks[0]:.2f}x (target <= 1.3x)")


if __name__ == "__main__":
    main()

"""A results document with known review items, made from the samples' ground truth (no model needed)."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from digitscan.results import DigitResult, FileResult, NumberResult, PageResult, RunResult
from digitscan.review import CorrectionStore, load_results, store_path
from digitscan.review_images import PageImages, ScanLocator
from digitscan.review_server import ReviewServer, ReviewSession
from digitscan.segment import Box
from digitscan.writers import write_results

from .conftest import SAMPLES

# (file, page, number, position) -> (model digit, confidence, second digit, second confidence); least confident first
DOUBTFUL = {
    ("cheque_001.png", 1, 2, 1): (5, 0.41, 3, 0.40),  # truth 3: the model is wrong
    ("mixed_004.pdf", 2, 8, 3): (9, 0.55, 4, 0.44),  # truth 4: the model is wrong
    ("mixed_004.pdf", 1, 1, 0): (5, 0.62, 6, 0.30),  # truth 5: the model is right
    ("cheque_001.png", 1, 0, 7): (9, 0.80, 4, 0.15),  # truth 9: the model is right
}
FILES = ("cheque_001.png", "mixed_004.pdf")


def truth_run(scans: Path) -> RunResult:
    """The run a perfect reader would produce on two sample files, with DOUBTFUL's digits doubtful."""
    truth = json.loads((SAMPLES / "truth.json").read_text())["files"]
    files = []
    for name in FILES:
        pages = []
        for page in truth[name]:
            numbers = []
            for index, number in enumerate(page["numbers"]):
                digits = []
                for position, digit in enumerate(number["digits"]):
                    reading = DOUBTFUL.get((name, page["page"], index, position))
                    model, confidence, second, second_confidence = reading or (
                        digit["digit"],
                        0.99,
                        (digit["digit"] + 1) % 10,
                        0.005,
                    )
                    box = Box(*digit["box"])
                    digits.append(
                        DigitResult(position, model, confidence, second, second_confidence, box, reading is not None)
                    )
                numbers.append(NumberResult(index, tuple(digits)))
            pages.append(PageResult(page["page"], page["width"], page["height"], 0.0, tuple(numbers)))
        files.append(FileResult(name, "pdf" if name.endswith(".pdf") else "png", tuple(pages)))
    metadata = {
        "options": {"pdf_dpi": 300, "review_threshold": 0.9},
        "inputs": [{"path": "scans", "absolute": str(scans), "folder": True}],
    }
    return RunResult(tuple(files), (), metadata, 1.0)


def make_results(folder: Path) -> Path:
    """``folder/scans`` with two sample files and ``folder/results.json`` describing them."""
    scans = folder / "scans"
    scans.mkdir(parents=True)
    for name in FILES:
        shutil.copy(SAMPLES / name, scans / name)
    results = folder / "results.json"
    write_results(truth_run(scans), results)
    return results


def item_id(results: Path, where: tuple[str, int, int, int]) -> str:
    """The review id of the DOUBTFUL digit at ``where``."""
    items = ReviewSession(load_results(results), _images(results), None).items
    return next(i.id for i in items if (i.key.file, i.key.page, i.key.number, i.key.position) == where)


def _images(results: Path) -> PageImages:
    document = load_results(results)
    return PageImages(document, ScanLocator(document))


@contextmanager
def serving(results: Path) -> Iterator[ReviewServer]:
    """The review server for ``results`` on a free port, in a thread, with its store beside the results."""
    document = load_results(results)
    store = CorrectionStore.open(store_path(results))
    server = ReviewServer(ReviewSession(document, PageImages(document, ScanLocator(document)), store))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
        store.close()

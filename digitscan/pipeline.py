"""The run: discover -> load pages -> segment -> normalise -> classify in batches -> assemble.

Pages are streamed one at a time; their crops wait in a small buffer until enough have gathered to fill
several model batches, so the model sees batches drawn from many pages and files while memory stays
bounded. A file or page that fails becomes a :class:`Failure` and the run goes on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from digitscan import __version__
from digitscan.classify import DigitClassifier
from digitscan.discover import InputFile, discover
from digitscan.errors import InputFileError, NoInputError, UsageError
from digitscan.journal import RunJournal, file_key, run_key
from digitscan.loading import iter_pages, require_poppler
from digitscan.normalize import normalize_many
from digitscan.results import DigitResult, Failure, FileResult, NumberResult, PageResult, RunResult
from digitscan.segment import PageSegmentation, segment_page

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProcessOptions:
    """Options of a run; stored in the JSON output so a run can be reproduced."""

    pdf_dpi: int = 300
    device: str = "auto"
    model: Path | None = None
    review_threshold: float | None = None  # None: the model card's calibrated threshold
    batch_size: int = 256

    def validate(self) -> None:
        """Refuse impossible values before any work."""
        if not 50 <= self.pdf_dpi <= 1200:
            raise UsageError(f"--pdf-dpi must be between 50 and 1200, not {self.pdf_dpi}")
        if self.review_threshold is not None and not 0.0 <= self.review_threshold <= 1.0:
            raise UsageError(f"--review-threshold must be between 0 and 1, not {self.review_threshold}")
        if self.batch_size < 1:
            raise UsageError("--batch-size must be at least 1")


@dataclass
class _PendingPage:
    file_index: int
    page: int
    width: int
    height: int
    segmentation: PageSegmentation
    crops: np.ndarray


@dataclass
class _Run:
    """Mutable state of one run: results per file in input order, failures, and the crop buffer."""

    classifier: DigitClassifier
    threshold: float
    flush_at: int
    inputs: list[InputFile]
    journal: RunJournal | None = None
    keys: dict[int, str] = field(default_factory=dict)  # journal key of each file read in this run
    pages: dict[int, list[PageResult]] = field(default_factory=dict)
    failures: dict[int, list[Failure]] = field(default_factory=dict)
    pending: list[_PendingPage] = field(default_factory=list)
    pending_crops: int = 0
    read_to_end: list[int] = field(default_factory=list)  # files whose pages are all buffered or assembled

    def fail(self, index: int, failure: Failure) -> None:
        self.failures.setdefault(index, []).append(failure)

    def add(self, item: _PendingPage) -> None:
        self.pending.append(item)
        self.pending_crops += len(item.crops)
        if self.pending_crops >= self.flush_at:
            self.flush()

    def flush(self) -> None:
        """Classify every buffered crop in one batched pass, assemble their pages, journal finished files."""
        crops = [p.crops for p in self.pending if len(p.crops)]
        predictions = self.classifier.classify(np.concatenate(crops) if crops else np.zeros((0, 28, 28)))
        cursor = 0
        for item in self.pending:
            numbers = []
            for index, candidate in enumerate(item.segmentation.numbers):
                digits = []
                for position, digit in enumerate(candidate.digits):
                    confidence = float(predictions.confidence[cursor])
                    digits.append(
                        DigitResult(
                            position=position,
                            digit=int(predictions.digit[cursor]),
                            confidence=confidence,
                            second_digit=int(predictions.second_digit[cursor]),
                            second_confidence=float(predictions.second_confidence[cursor]),
                            box=digit.box,
                            needs_review=confidence < self.threshold,
                        )
                    )
                    cursor += 1
                numbers.append(NumberResult(index, tuple(digits)))
            page = PageResult(item.page, item.width, item.height, item.segmentation.skew_deg, tuple(numbers))
            self.pages.setdefault(item.file_index, []).append(page)
        self.pending.clear()
        self.pending_crops = 0
        if self.journal is not None:
            self.journal.record(
                [
                    (self.keys[i], self.file_result(i), self.failures.get(i, []))
                    for i in self.read_to_end
                    if i in self.keys
                ]
            )
        self.read_to_end.clear()

    def file_result(self, index: int) -> FileResult:
        item = self.inputs[index]
        return FileResult(item.name, item.kind, tuple(self.pages.get(index, [])))


def _process_file(run: _Run, index: int, input_file: InputFile, options: ProcessOptions) -> None:
    try:
        for page in iter_pages(input_file, options.pdf_dpi):
            try:
                segmentation = segment_page(page.image)
            except Exception as exc:  # one bad page must not stop the file, let alone the run
                log.exception("segmentation failed on %s page %d", input_file.name, page.number)
                run.fail(index, Failure(input_file.name, page.number, "segment", type(exc).__name__, str(exc)))
                continue
            inks = [digit.ink for number in segmentation.numbers for digit in number.digits]
            height, width = page.image.shape
            run.add(_PendingPage(index, page.number, width, height, segmentation, normalize_many(inks)))
    except InputFileError as exc:
        log.warning("%s: %s", input_file.name, exc)
        run.fail(index, Failure(input_file.name, exc.page, "load", type(exc).__name__, str(exc)))
    except Exception as exc:  # a decoder bug on one file must not end a night's run
        log.exception("unexpected error reading %s", input_file.name)
        run.fail(index, Failure(input_file.name, None, "load", type(exc).__name__, str(exc)))


def process(
    paths: Sequence[Path],
    options: ProcessOptions | None = None,
    classifier: DigitClassifier | None = None,
    on_file_done: Callable[[int, int], None] | None = None,
    journal: RunJournal | None = None,
) -> RunResult:
    """Read every handwritten digit in the scans under ``paths``.

    ``classifier`` may be passed to reuse a loaded model across runs; ``on_file_done(done, total)`` is
    called after each input file (progress display). With a ``journal``, files it already holds under the
    same settings are not read again, and every file read is recorded in it as soon as it is finished.
    """
    options = options or ProcessOptions()
    options.validate()
    started = time.monotonic()
    inputs = discover(paths)
    if not inputs:
        raise NoInputError("no scans (PNG, JPEG, TIFF, BMP, PDF) found under " + ", ".join(map(str, paths)))
    if any(f.kind == "pdf" for f in inputs):
        require_poppler()
    classifier = classifier or DigitClassifier(options.model, options.device, options.batch_size)
    threshold = classifier.card.review_threshold if options.review_threshold is None else options.review_threshold
    run = _Run(classifier, threshold, 4 * classifier.batch_size, inputs, journal)
    settings = {"version": __version__, "model": classifier.card.sha256, "pdf_dpi": options.pdf_dpi}
    settings_key = run_key({**settings, "review_threshold": threshold})
    resumed = 0
    for index, input_file in enumerate(inputs):
        stored = None
        if journal is not None:
            run.keys[index] = file_key(input_file, settings_key)
            stored = journal.lookup(run.keys[index], input_file.name)
        if stored is not None:
            run.pages[index] = list(stored[0].pages)
            if stored[1]:
                run.failures[index] = stored[1]
            resumed += 1
        else:
            _process_file(run, index, input_file, options)
            run.read_to_end.append(index)
            log.info("read %s", input_file.name)
        if on_file_done is not None:
            on_file_done(index + 1, len(inputs))
    run.flush()
    if resumed:
        log.info("%d of %d files were already done in the run journal", resumed, len(inputs))

    metadata: dict[str, Any] = {
        "digitscan_version": __version__,
        "model": {"path": str(classifier.model_path), **classifier.card.to_json()},
        "options": {**asdict(options), "model": str(classifier.model_path), "review_threshold": threshold},
        "device": classifier.device,
        "files_from_journal": resumed,
    }
    return RunResult(
        tuple(run.file_result(i) for i in range(len(inputs))),
        tuple(failure for i in sorted(run.failures) for failure in run.failures[i]),
        metadata,
        round(time.monotonic() - started, 3),
    )

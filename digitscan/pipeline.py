"""The run: discover -> load pages -> segment -> normalise -> classify in batches -> assemble.

Loading, segmentation and normalisation (the CPU stages) run per file, in worker processes when
``jobs > 1``, with at most two files per worker in flight. Their crops wait in a small buffer until enough
have gathered to fill several model batches, so the one model in the parent process sees batches drawn from
many pages and files while memory stays bounded. A file or page that fails, or whose worker dies, becomes a
:class:`Failure` and the run goes on. With workers, the model (seconds of TensorFlow start-up) loads in the
parent while the workers read the first files.
"""

from __future__ import annotations

import bisect
import logging
import multiprocessing
import signal
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from digitscan import __version__
from digitscan.card import NOT_A_DIGIT, default_model_path, read_card
from digitscan.classify import DigitClassifier, Predictions
from digitscan.discover import InputFile, discover
from digitscan.errors import InputFileError, NoInputError, TemplateMismatchError, UsageError
from digitscan.journal import RunJournal, file_key, run_key
from digitscan.loading import iter_pages, require_poppler
from digitscan.normalize import normalize_many
from digitscan.pairs import (
    PAIR_CLASSES,
    PAIR_SHAPE,
    PairReader,
    normalize_pairs,
    read_pair,
    read_pair_card,
    shared_pair_reader,
)
from digitscan.results import DigitResult, Failure, FileResult, NumberResult, PageAlignment, PageResult, RunResult
from digitscan.segment import Box, DigitCandidate, Field, SegmentSettings, segment_page
from digitscan.template import FieldSpec, Template, load_template
from digitscan.touching import (
    Proposal,
    choose,
    cut_rivals_whole,
    part_box,
    propose,
    span_inks,
    sure_cut,
    zero_run,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProcessOptions:
    """Options of a run; stored in the JSON output so a run can be reproduced."""

    pdf_dpi: int = 300
    device: str = "auto"
    model: Path | None = None
    pair_model: Path | None = None  # None: the shipped pair model (digitscan.pairs)
    review_threshold: float | None = None  # None: the model card's calibrated threshold
    batch_size: int = 256
    jobs: int = 1  # worker processes for loading, segmentation and normalisation
    file_timeout_s: float | None = None  # a file taking longer to read and segment becomes a failure
    min_age_s: float = 0.0  # files modified more recently may still be being written: left for a later run
    template: Path | None = None  # a known form: read its named fields instead of every number on the page
    printed: bool = False  # also report digits printed on the form (account numbers, serials), marked printed
    crossed_sevens: bool = False  # the writers cross their 7s: a 7 without a bar is likelier a flagged 1

    def validate(self) -> None:
        """Refuse impossible values before any work."""
        if not 50 <= self.pdf_dpi <= 1200:
            raise UsageError(f"--pdf-dpi must be between 50 and 1200, not {self.pdf_dpi}")
        if self.review_threshold is not None and not 0.0 <= self.review_threshold <= 1.0:
            raise UsageError(f"--review-threshold must be between 0 and 1, not {self.review_threshold}")
        if self.batch_size < 1:
            raise UsageError("--batch-size must be at least 1")
        if self.jobs < 1:
            raise UsageError("--jobs must be at least 1")
        if self.min_age_s < 0:
            raise UsageError("--min-age must not be negative")
        if self.file_timeout_s is not None and self.file_timeout_s <= 0:
            raise UsageError("--file-timeout must be a positive number of seconds")


@dataclass(frozen=True)
class DigitWork:
    """One digit candidate: its box, and where it might be cut into touching digits (the spans' crops follow
    the whole's, in the proposal's order)."""

    box: Box
    proposal: Proposal
    printed: bool = False
    joined: Box | None = None  # this candidate and the next as one digit: its crop follows the spans'
    in_cell: bool = False  # alone in a comb's cell (a template's, or one segmentation found): one digit, never cut


@dataclass(frozen=True)
class PageWork:
    """What the CPU stages make of one page: digit candidates per number and their normalised crops (picklable)."""

    page: int
    width: int
    height: int
    skew_deg: float
    numbers: tuple[tuple[DigitWork, ...], ...]
    crops: np.ndarray  # (crops, 28, 28): per candidate in reading order, the whole, then each cut's parts
    fields: tuple[FieldWork, ...] | None = None  # with a template: one per number, in template order
    alignment: PageAlignment | None = None
    skew_confidence: float = 0.0
    frames: tuple[Field, ...] = ()  # the printed combs and boxes segmentation found (page mode)
    leftovers: tuple[Box, ...] = ()  # marks too short for a digit, too big for a speck (page mode)
    # (pairs, 28, 56): the whole of each candidate that may be cut (its proposal has spans), in reading order
    pair_crops: np.ndarray = field(default_factory=lambda: np.zeros((0, *PAIR_SHAPE), np.float32))


@dataclass(frozen=True)
class FieldWork:
    """A template field's name, its box on the page, and the position of each of its digits."""

    name: str
    region: Box
    positions: tuple[int, ...]
    doubtful: bool = False  # the field holds ink its digits do not explain: every digit needs review
    breaks: tuple[int, ...] = ()  # an amount's separators: how many of its digit candidates precede each


@dataclass(frozen=True)
class FileWork:
    """One file after loading, segmentation and normalisation; crosses the worker-process boundary."""

    index: int
    pages: tuple[PageWork, ...]
    failures: tuple[Failure, ...]


FileReader = Callable[[int, InputFile, int], FileWork]


def _digit_work(
    box: Box,
    ink: np.ndarray,
    inks: list[np.ndarray],
    pair_inks: list[np.ndarray],
    in_cell: bool = False,
    printed: bool = False,
    joined: DigitCandidate | None = None,
) -> DigitWork:
    """A candidate for the classifier: its ink, then each span it might be cut into (none for a digit alone in
    a comb's cell, ``in_cell``), then the ink it makes ``joined`` with the next candidate, go to ``inks``, and
    its ink to ``pair_inks`` too when it may be cut (for the pair model); the returned work holds the box, the
    proposal, the joined box and ``in_cell``. Type is never cut: its characters stand apart."""
    inks.append(ink)
    proposal = propose(ink) if not in_cell and not printed else Proposal(ink.shape[1], ink.shape[0])
    inks += span_inks(ink, proposal)
    if proposal.spans:
        pair_inks.append(ink)
    if joined is not None:
        inks.append(joined.ink)
    return DigitWork(box, proposal, printed, None if joined is None else joined.box, in_cell)


def _read_form(page_number: int, image: np.ndarray, template: Template) -> PageWork:
    """Register a page to the template and cut its fields (raises TemplateMismatchError)."""
    from digitscan.fields import read_form

    reading = read_form(image, template)
    a = reading.alignment
    height, width = image.shape
    inks: list[np.ndarray] = []
    pair_inks: list[np.ndarray] = []
    numbers = []
    for cut, spec in zip(reading.fields, template.fields, strict=True):
        in_cell = spec.cells is not None  # a comb holds one digit per cell: never cut into touching digits
        joins = (*cut.joins, None) if cut.boxes else ()
        numbers.append(
            tuple(
                _digit_work(b, ink, inks, pair_inks, in_cell, joined=joined)
                for b, ink, joined in zip(cut.boxes, cut.inks, joins, strict=True)
            )
        )
    return PageWork(
        page_number,
        width,
        height,
        a.skew_deg,
        tuple(numbers),
        normalize_many(inks),
        tuple(FieldWork(cut.name, cut.region, cut.positions, cut.doubtful, cut.breaks) for cut in reading.fields),
        PageAlignment(
            a.template, round((a.scale_x + a.scale_y) / 2, 4), round(a.dx, 1), round(a.dy, 1), a.residual_px, a.matched
        ),
        pair_crops=normalize_pairs(pair_inks),
    )


def read_file(
    index: int, input_file: InputFile, pdf_dpi: int, template: Template | None = None, printed: bool = False
) -> FileWork:
    """Load, segment and normalise every page of one file; failures are recorded, never raised.

    Digits printed on the form are dropped, or with ``printed`` kept and marked (page mode).

    With a ``template``, each page is registered to it and only its fields are read; a page that does not
    match the template is a failure of that page (stage ``align``).
    """
    pages: list[PageWork] = []
    failures: list[Failure] = []

    def fail(page: int | None, stage: str, exc: BaseException) -> None:
        failures.append(Failure(input_file.name, page, stage, type(exc).__name__, str(exc)))

    try:
        for page in iter_pages(input_file, pdf_dpi):
            if template is not None:
                try:
                    pages.append(_read_form(page.number, page.image, template))
                except TemplateMismatchError as exc:
                    log.warning("%s page %d: %s", input_file.name, page.number, exc)
                    fail(page.number, "align", exc)
                except Exception as exc:  # one bad page must not stop the file, let alone the run
                    log.exception("reading the fields failed on %s page %d", input_file.name, page.number)
                    fail(page.number, "segment", exc)
                continue
            try:
                segmentation = segment_page(
                    page.image, SegmentSettings(keep_printed=printed, drop_separators=True), page.chroma
                )
            except Exception as exc:  # one bad page must not stop the file, let alone the run
                log.exception("segmentation failed on %s page %d", input_file.name, page.number)
                fail(page.number, "segment", exc)
                continue
            inks: list[np.ndarray] = []
            pair_inks: list[np.ndarray] = []
            numbers = []
            for number in segmentation.numbers:
                digits = []
                for digit in number.digits:
                    digits.append(
                        _digit_work(
                            digit.box,
                            digit.ink,
                            inks,
                            pair_inks,
                            in_cell=digit.in_cell,
                            printed=digit.printed,
                            joined=digit.joined,
                        )
                    )
                numbers.append(tuple(digits))
            height, width = page.image.shape
            work = PageWork(
                page.number,
                width,
                height,
                segmentation.skew_deg,
                tuple(numbers),
                normalize_many(inks),
                skew_confidence=segmentation.skew_confidence,
                frames=segmentation.fields,
                leftovers=segmentation.leftovers,
                pair_crops=normalize_pairs(pair_inks),
            )
            pages.append(work)
    except InputFileError as exc:
        fail(exc.page, "load", exc)
    except Exception as exc:  # a decoder bug on one file must not end a night's run
        log.exception("unexpected error reading %s", input_file.name)
        fail(None, "load", exc)
    return FileWork(index, tuple(pages), tuple(failures))


def _likeliest_digit(probabilities: np.ndarray, position: int, box: Box) -> DigitResult:
    """The likeliest digit of a comb cell's ink that the classifier took for "not a digit".

    A comb cell holds one digit, and segmentation found ink in it: a digit written oddly (a small open
    loop of a '0') more likely than a speck. Its probability is low, so it goes to review; dropping it
    would leave a gap that no review of the field's other digits can fill.
    """
    return _read_as(int(np.argmax(probabilities)), probabilities, position, box)


def _read_as(digit: int, probabilities: np.ndarray, position: int, box: Box) -> DigitResult:
    """A crop reported as ``digit`` though the classifier's best answer may differ (reviewed): its probability
    of ``digit``, and the likeliest other digit as the second choice."""
    others = probabilities.copy()
    others[digit] = -1.0
    second = int(np.argmax(others))
    return DigitResult(
        position, digit, float(probabilities[digit]), second, float(probabilities[second]), box, needs_review=True
    )


def _likeliest_valid(
    spec: FieldSpec, digits: list[DigitResult], probabilities: np.ndarray, threshold: float
) -> tuple[list[DigitResult], bool]:
    """A field read against its rules: its doubted digits (below the review ``threshold``) changed to the
    likeliest valid reading, if there is one.

    Each changed digit reports the digit it now holds with that digit's probability, and the classifier's
    own first choice as its second. Every digit of such a field still needs review (the caller flags it):
    the rules chose among the classifier's doubts, a person confirms. Returns (digits, whether changed).
    """
    text = spec.likeliest_valid(probabilities, threshold)
    if text is None:
        return digits, False
    changed = [
        digit
        if int(value) == digit.digit
        else replace(
            digit,
            digit=int(value),
            confidence=float(row[int(value)]),
            second_digit=digit.digit,
            second_confidence=digit.confidence,
        )
        for digit, value, row in zip(digits, text, probabilities, strict=True)
    ]
    return changed, True


@dataclass(frozen=True)
class _Choice:
    """How one digit candidate is read: whole, cut into parts, or joined with the next candidate."""

    picked: tuple[tuple[Box, int], ...]  # (box on the page, crop index) of each digit it is read as
    taken: int = 1  # candidates it consumes: 2 when joined with the next
    guessed: bool = False  # a cut, a join, or a whole that a cut rivals: segmentation's guess, reviewed
    # Crops read as a given digit rather than as the digit model's best: a cursive run's 0s, a pair's digits
    read_as: dict[int, int] = field(default_factory=dict)
    unread: bool = False  # neither whole nor any cut reads as digits


def _choose_reading(
    predictions: Predictions,
    candidates: Sequence[DigitWork],
    wholes: list[int],
    k: int,
    threshold: float,
    pair: np.ndarray | None = None,
) -> _Choice:
    """Read candidate ``k`` of a number from its crops' predictions (``wholes[k]`` is its whole crop's index;
    its spans' crops and its join's follow) and, when it may be cut, the pair model's reading of it
    (``pair``): a cut into two digits reads as the pair both models find likeliest (pairs.read_pair)."""
    candidate, whole = candidates[k], wholes[k]
    proposal = candidate.proposal
    union = whole + 1 + len(proposal.spans)  # the crop of this candidate and the next as one
    if candidate.joined is not None and _joins(predictions, whole, wholes[k + 1], union, threshold):
        return _Choice(((candidate.joined, union),), taken=2, guessed=True)
    parts = [_reading(predictions, whole + 1 + i) for i in range(len(proposal.spans))]
    chosen = choose(proposal, _reading(predictions, whole), parts)
    if chosen is None:  # read as no digit: dropped as a sign or speck, or in a comb cell its likeliest digit
        return _Choice(((candidate.box, whole),), unread=True)
    read_as: dict[int, int] = {}
    if chosen:  # a cut: maybe a cursive run of 0s, after a digit of its own or after the number's first
        p0 = predictions.digit_probabilities[whole + 1 : union, 0].tolist()
        run, zero_spans = zero_run(proposal, parts, p0, chosen, after_digit=k > 0)
        if run:
            chosen, read_as = run, {whole + 1 + span: 0 for span in zero_spans}
    else:  # kept whole, but maybe the model finds it no digit and a plain cut sure digits
        no_digit = 1.0 - float(predictions.digit_probabilities[whole].sum())
        chosen = sure_cut(proposal, parts, no_digit, threshold)
    if len(chosen) == 2 and not read_as and pair is not None:
        left, right = (whole + 1 + span for span in chosen)
        digits = read_pair(pair, *predictions.digit_probabilities[[left, right]])
        read_as = dict(zip((left, right), digits, strict=True))
    if not chosen:  # kept whole; reviewed when a cut reads about as well (maybe touching digits read as one)
        return _Choice(((candidate.box, whole),), guessed=cut_rivals_whole(proposal, parts))
    picked = []
    for span in chosen:
        start, end = proposal.columns(span)
        picked.append((part_box(candidate.box, proposal.width, start, end), whole + 1 + span))
    return _Choice(tuple(picked), guessed=True, read_as=read_as)


def _group_sizes(breaks: Sequence[int], read: Sequence[int], wholes: Sequence[int]) -> list[int]:
    """How many digits each of an amount's groups holds: its separators fall after candidates ``breaks``, and
    each digit belongs to the candidate whose crops (starting at ``wholes``) hold the crop it was read from."""
    sizes = [0] * (len(breaks) + 1)
    for crop in read:
        sizes[bisect.bisect_right(breaks, bisect.bisect_right(wholes, crop) - 1)] += 1
    return sizes


def _joins(predictions: Predictions, first: int, second: int, union: int, threshold: float) -> bool:
    """Whether two neighbouring crops are the strokes of one digit, read from the crop of both together.

    Their union must read as a sure digit (at the review ``threshold``) that neither part reads as, and more
    surely than the two parts together. A digit beside a neighbour's stroke reads as itself (the model
    learnt to ignore a neighbour's edge): a 1 beside a 9 joins into a sure 9, which is no reason to join
    them; a 4 written in two strokes reads as a 6 and a 1, and as a 4 together.
    """
    digit, confidence = predictions.digit, predictions.confidence
    if digit[union] in (NOT_A_DIGIT, digit[first], digit[second]) or confidence[union] < threshold:
        return False
    parts = [float(confidence[i]) if digit[i] != NOT_A_DIGIT else 0.0 for i in (first, second)]
    return float(confidence[union]) > parts[0] * parts[1]


def _reading(predictions: Predictions, index: int) -> tuple[bool, float]:
    """(read as a digit, confidence) of one crop, as :func:`digitscan.touching.choose` weighs readings."""
    return bool(predictions.digit[index] != NOT_A_DIGIT), float(predictions.confidence[index])


class _FileTimeout(BaseException):
    """Raised by the timer inside a file's reading; a BaseException so no per-page handler swallows it."""


def _read_with_deadline(
    reader: FileReader, timeout_s: float | None, index: int, input_file: InputFile, pdf_dpi: int
) -> FileWork:
    """Run ``reader`` under a wall-clock limit (SIGALRM, so it runs in a process's main thread)."""
    if not timeout_s:
        return reader(index, input_file, pdf_dpi)

    def expire(signum: int, frame: object) -> None:
        raise _FileTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, timeout_s)
    try:
        return reader(index, input_file, pdf_dpi)
    except _FileTimeout:
        message = f"reading and segmenting took longer than {timeout_s:g} s (--file-timeout)"
        return FileWork(index, (), (Failure(input_file.name, None, "load", "Timeout", message),))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _init_worker() -> None:
    """Workers leave Ctrl-C to the parent, which stops the pool and keeps the journal.

    OpenCV runs single-threaded in a worker: the pool already keeps the cores busy, one file per worker,
    and OpenCV's own threads on top only add contention.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    cv2.setNumThreads(1)


def _new_pool(workers: int) -> ProcessPoolExecutor:
    # forkserver: workers never inherit the parent's TensorFlow threads.
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("forkserver"), initializer=_init_worker)


def _retry_alone(
    reader: FileReader, timeout_s: float | None, index: int, input_file: InputFile, pdf_dpi: int
) -> FileWork:
    """Read one file in a pool of its own: the file that kills its worker again becomes a failure."""
    with _new_pool(1) as pool:
        try:
            return pool.submit(_read_with_deadline, reader, timeout_s, index, input_file, pdf_dpi).result()
        except BrokenProcessPool:
            log.warning("%s: the worker process reading it died", input_file.name)
            error = RuntimeError("the worker process reading this file died (crash or out of memory)")
            return FileWork(index, (), (Failure(input_file.name, None, "load", "WorkerDied", str(error)),))


def read_files(
    todo: list[tuple[int, InputFile]],
    options: ProcessOptions,
    reader: FileReader,
    while_reading: Callable[[], None] | None = None,
) -> Iterator[FileWork]:
    """Read files in input order, in ``options.jobs`` worker processes with at most 2 x jobs files in flight.

    ``while_reading`` is called once, before the first file is handed back: with workers, after the first
    files were handed to them, so that it runs while they read (the run loads its model there).
    """
    jobs, pdf_dpi, timeout_s = options.jobs, options.pdf_dpi, options.file_timeout_s
    if jobs <= 1:
        if while_reading is not None:
            while_reading()
        for index, input_file in todo:
            yield _read_with_deadline(reader, timeout_s, index, input_file, pdf_dpi)
        return
    waiting = deque(todo)
    pool = _new_pool(jobs)
    in_flight: deque[tuple[int, InputFile, Future[FileWork]]] = deque()
    try:
        while waiting or in_flight:
            while waiting and len(in_flight) < 2 * jobs:
                index, input_file = waiting.popleft()
                future = pool.submit(_read_with_deadline, reader, timeout_s, index, input_file, pdf_dpi)
                in_flight.append((index, input_file, future))
            if while_reading is not None:
                while_reading()
                while_reading = None
            index, input_file, future = in_flight[0]
            try:
                work = future.result()
            except BrokenProcessPool:
                # A worker died: every file in flight is suspect. Read each alone, then carry on.
                pool.shutdown(wait=False, cancel_futures=True)
                for index, input_file, _ in in_flight:
                    yield _retry_alone(reader, timeout_s, index, input_file, pdf_dpi)
                in_flight.clear()
                pool = _new_pool(jobs)
                continue
            in_flight.popleft()
            yield work
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


@dataclass
class _Run:
    """Mutable state of one run: results per file in input order, failures, and the crop buffer."""

    threshold: float
    flush_at: int
    inputs: list[InputFile]
    journal: RunJournal | None = None
    classifier: DigitClassifier | None = None  # set before the first file is added
    template: Template | None = None
    crossed_sevens: bool = False  # the writers cross their 7s (digitscan.conventions)
    pair_reader: PairReader | None = None  # set with the classifier
    keys: dict[int, str] = field(default_factory=dict)  # journal key of each file read in this run
    pages: dict[int, list[PageResult]] = field(default_factory=dict)
    failures: dict[int, list[Failure]] = field(default_factory=dict)
    pending: list[tuple[int, PageWork]] = field(default_factory=list)
    pending_crops: int = 0
    read_to_end: list[int] = field(default_factory=list)  # files whose pages are all buffered or assembled

    def fail(self, index: int, failure: Failure) -> None:
        self.failures.setdefault(index, []).append(failure)

    def add(self, work: FileWork) -> None:
        """Buffer a read file's pages; classify once enough crops have gathered."""
        for failure in work.failures:  # logged here: a worker's own logs do not reach the log file
            log.warning("%s%s: %s", failure.file, f" page {failure.page}" if failure.page else "", failure.message)
            self.fail(work.index, failure)
        for page in work.pages:
            self.pending.append((work.index, page))
            self.pending_crops += len(page.crops)
        self.read_to_end.append(work.index)
        if self.pending_crops >= self.flush_at:
            self.flush()

    def flush(self) -> None:
        """Classify every buffered crop in one batched pass, assemble their pages, journal finished files."""
        assert self.classifier is not None, "the model is loaded before any file is added"
        crops = [page.crops for _, page in self.pending if len(page.crops)]
        batch = np.concatenate(crops) if crops else np.zeros((0, 28, 28))
        predictions = self.classifier.classify(batch, self.crossed_sevens)
        probabilities = predictions.digit_probabilities
        pair_probabilities = self._read_pairs()
        cursor = pair_cursor = 0
        for file_index, page in self.pending:
            numbers: list[NumberResult] = []
            unread: list[Box] = []  # digit-sized blobs that read as no digit, whole or cut
            for number_index, candidates in enumerate(page.numbers):
                form_field = page.fields[number_index] if page.fields is not None else None
                positions = range(len(candidates)) if form_field is None else form_field.positions  # comb: cell
                spec = None if form_field is None or self.template is None else self.template.field(form_field.name)
                comb = spec is not None and bool(spec.cells)
                digits: list[DigitResult] = []
                read: list[int] = []  # the crop each digit was read from
                leftover = False  # a digit-sized blob that neither whole nor cut reads as digits
                wholes = []  # each candidate's crop; its spans' and its join's follow it
                pairs: list[np.ndarray | None] = []  # the pair model's reading of each candidate that may be cut
                for candidate in candidates:
                    wholes.append(cursor)
                    cursor += 1 + len(candidate.proposal.spans) + (candidate.joined is not None)
                    pairs.append(pair_probabilities[pair_cursor] if candidate.proposal.spans else None)
                    pair_cursor += bool(candidate.proposal.spans)
                k = 0
                while k < len(candidates):
                    candidate, position = candidates[k], positions[k]
                    choice = _choose_reading(predictions, candidates, wholes, k, self.threshold, pairs[k])
                    if choice.unread:
                        leftover = True
                        unread.append(candidate.box)
                    k += choice.taken
                    for box, i in choice.picked:
                        if i in choice.read_as:  # a 0 of a cursive run (touching.zero_run), a pair's digit
                            read.append(i)
                            digits.append(_read_as(choice.read_as[i], probabilities[i], len(digits), box))
                            continue
                        if predictions.digit[i] == NOT_A_DIGIT:
                            if candidate.in_cell:  # a comb's cell holds a digit: its likeliest, reviewed
                                read.append(i)
                                digits.append(_likeliest_digit(probabilities[i], position, box))
                            continue  # outside a comb: a sign, letter or speck, not reported
                        confidence = float(predictions.confidence[i])
                        read.append(i)
                        digits.append(
                            DigitResult(
                                position=position if comb else len(digits),
                                digit=int(predictions.digit[i]),
                                confidence=confidence,
                                second_digit=int(predictions.second_digit[i]),
                                second_confidence=float(predictions.second_confidence[i]),
                                box=box,
                                # A cut or a join is the segmentation's guess: reviewed however sure.
                                needs_review=confidence < self.threshold or choice.guessed,
                                printed=candidate.printed,
                            )
                        )
                if leftover:  # ink the digits do not explain may be a digit they miss: the number is reviewed
                    digits = [replace(d, needs_review=True) for d in digits]
                if form_field is None or spec is None:
                    if digits:
                        numbers.append(NumberResult(len(numbers), tuple(digits)))
                    continue
                # No change of digits mends a group too long or too short: such a field stays invalid.
                grouped = spec.groups_fit(_group_sizes(form_field.breaks, read, wholes))
                valid = grouped and spec.check("".join(str(d.digit) for d in digits))
                corrected = False
                if grouped and not valid:
                    digits, corrected = _likeliest_valid(spec, digits, probabilities[read], self.threshold)
                    valid = corrected
                if corrected or not valid or form_field.doubtful:  # reviewed whole, however confident its digits
                    digits = [replace(d, needs_review=True) for d in digits]
                numbers.append(NumberResult(number_index, tuple(digits), form_field.name, valid, form_field.region))
            if self.template is None:
                numbers = [_reviewed_beside(number, unread + list(page.leftovers)) for number in numbers]
            result = PageResult(
                page.page,
                page.width,
                page.height,
                page.skew_deg,
                tuple(numbers),
                page.alignment,
                skew_confidence=page.skew_confidence,
                fields=page.frames,
            )
            self.pages.setdefault(file_index, []).append(result)
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

    def _read_pairs(self) -> np.ndarray:
        """The pair model's probabilities for every buffered candidate that may be cut, in one batched pass."""
        crops = [page.pair_crops for _, page in self.pending if len(page.pair_crops)]
        if not crops:
            return np.zeros((0, len(PAIR_CLASSES)), np.float32)
        assert self.pair_reader is not None, "the pair model is loaded before any file is added"
        return self.pair_reader.probabilities(np.concatenate(crops))

    def file_result(self, index: int) -> FileResult:
        item = self.inputs[index]
        return FileResult(item.name, item.kind, tuple(self.pages.get(index, [])))


def _reviewed_beside(number: NumberResult, unread: list[Box]) -> NumberResult:
    """``number``, all its digits flagged when unread ink sits beside it on its line (within a character's
    height): a blob that segmentation grouped apart, or that no cut could read, may be digits the number
    lacks (an amount's "000" in one cursive stroke). Its own unread blobs flagged it already."""
    box = Box.enclosing([d.box for d in number.digits])
    for other in unread:
        overlap = min(box.bottom, other.bottom) - max(box.y, other.y)
        gap = max(other.x - box.right, box.x - other.right)
        if overlap >= 0.5 * min(box.h, other.h) and gap <= max(box.h, other.h):
            return replace(number, digits=tuple(replace(d, needs_review=True) for d in number.digits))
    return number


def _age_s(input_file: InputFile) -> float:
    """Seconds since the file was last modified (infinite when it cannot be stat'ed: reading will say why)."""
    try:
        return time.time() - input_file.path.stat().st_mtime
    except OSError:
        return float("inf")


def input_roots(paths: Sequence[Path]) -> list[dict[str, Any]]:
    """Where the run's inputs were, so ``review`` can find each file again from its name in the results.

    A file found in a folder is named relative to that folder; a file given directly is named as given.
    """
    return [{"path": p.as_posix(), "absolute": str(p.absolute()), "folder": p.is_dir()} for p in paths]


def process(
    paths: Sequence[Path],
    options: ProcessOptions | None = None,
    classifier: DigitClassifier | None = None,
    on_file_done: Callable[[int, int], None] | None = None,
    journal: RunJournal | None = None,
    reader: FileReader = read_file,
) -> RunResult:
    """Read every handwritten digit in the scans under ``paths``.

    ``classifier`` may be passed to reuse a loaded model across runs; ``on_file_done(done, total)`` is
    called after each input file (progress display). With a ``journal``, files it already holds under the
    same settings are not read again, and every file read is recorded in it as soon as it is finished.
    """
    options = options or ProcessOptions()
    options.validate()
    template = None if options.template is None else load_template(options.template)  # refused before work
    if (template is not None or options.printed) and reader is read_file:
        reader = partial(read_file, template=template, printed=options.printed)
    started = time.monotonic()
    inputs = discover(paths)
    if not inputs:
        raise NoInputError("no scans (PNG, JPEG, TIFF, BMP, PDF) found under " + ", ".join(map(str, paths)))
    if any(f.kind == "pdf" for f in inputs):
        require_poppler()
    # The card is read (and the model file checked against it) now, so a missing or damaged model stops the
    # run before any work; TensorFlow and the model itself load while the first files are being read.
    card = classifier.card if classifier is not None else read_card(options.model or default_model_path())
    pair_path, pair_card = read_pair_card(options.pair_model)
    threshold = card.review_threshold if options.review_threshold is None else options.review_threshold
    batch_size = classifier.batch_size if classifier is not None else options.batch_size
    run = _Run(threshold, 4 * batch_size, inputs, journal, classifier, template, options.crossed_sevens)

    def load_model() -> None:
        if run.classifier is None:
            run.classifier = DigitClassifier(options.model, options.device, options.batch_size)
        if run.pair_reader is None:
            run.pair_reader = shared_pair_reader(pair_path, options.device, batch_size)

    settings: dict[str, Any] = {
        "version": __version__,
        "model": card.sha256,
        "pair_model": pair_card.sha256,
        "pdf_dpi": options.pdf_dpi,
    }
    if options.printed:
        settings["printed"] = True
    if options.crossed_sevens:
        settings["crossed_sevens"] = True
    if template is not None:
        settings["template"] = template.sha256
    settings_key = run_key({**settings, "review_threshold": threshold})
    todo = []
    for index, input_file in enumerate(inputs):
        age = _age_s(input_file)
        if age < options.min_age_s:
            message = f"modified {age:.0f} s ago, under --min-age {options.min_age_s:g} s: left for a later run"
            run.fail(index, Failure(input_file.name, None, "discover", "StillBeingWritten", message))
            continue
        stored = None
        if journal is not None:
            run.keys[index] = file_key(input_file, settings_key)
            stored = journal.lookup(run.keys[index], input_file.name)
        if stored is None:
            todo.append((index, input_file))
            continue
        run.pages[index] = list(stored[0].pages)
        if stored[1]:
            run.failures[index] = stored[1]
    resumed = len(inputs) - len(todo)
    if on_file_done is not None and resumed:
        on_file_done(resumed, len(inputs))
    for done, work in enumerate(read_files(todo, options, reader, load_model), start=resumed + 1):
        run.add(work)
        log.info("read %s", inputs[work.index].name)
        if on_file_done is not None:
            on_file_done(done, len(inputs))
    load_model()
    run.flush()
    if resumed:
        log.info("%d of %d files were already done in the run journal", resumed, len(inputs))

    classifier = run.classifier
    assert classifier is not None
    metadata: dict[str, Any] = {
        "digitscan_version": __version__,
        "model": {"path": str(classifier.model_path), **classifier.card.to_json()},
        "pair_model": {"path": str(pair_path), "sha256": pair_card.sha256, "metrics": pair_card.metrics},
        "options": {
            **asdict(options),
            "model": str(classifier.model_path),
            "pair_model": str(pair_path),
            "review_threshold": threshold,
            "template": None if options.template is None else str(options.template),
        },
        **({"template": {"name": template.name, "sha256": template.sha256}} if template is not None else {}),
        "device": classifier.device,
        "files_from_journal": resumed,
        "inputs": input_roots(paths),
    }
    return RunResult(
        tuple(run.file_result(i) for i in range(len(inputs))),
        tuple(failure for i in sorted(run.failures) for failure in run.failures[i]),
        metadata,
        round(time.monotonic() - started, 3),
    )

"""Touching digits: where one connected blob might be cut into several digits, and which cut to keep.

Handwritten amounts are often written in one stroke (a cursive "200" or "000", a "10" with the 1 touching
the 0), so one connected component holds several digits. For a blob wide for its height this module
proposes cut points at the thin columns of its ink (local minima of the column profile), after standing
a slanted hand upright, and every span between two of them that is as wide as one digit could be
(:func:`propose`). It does not decide: the
classifier reads the whole blob and every span, and :func:`choose` keeps the reading (the whole, or a run
of spans from the left edge to the right) that is most probable, the product of its digits' confidences
times a prior on each part's width, provided the classifier alone does not read the blob more surely
whole. Each span is read once, however many readings share it, so a blob of
five digits costs a few dozen crops rather than one per way of cutting it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from digitscan.segment import Box, closed_loops, columns_between_loops
from digitscan.styles import longest_run

MIN_ASPECT_TO_CUT = 0.7  # width / height from which a blob may hold two digits
MIN_PART_ASPECT = 0.12  # a part narrower than this (width / height) is a sliver of a stroke, not a digit ('1' is ~0.2)
# A straight run along a blob's top across this share of its width, in a blob at least HEADLINE_ASPECT as wide as
# tall, makes it one character (has_headline). Measured: 118 of MNIST's 10,000 test digits have one (70 7s,
# 15 5s, 12 3s: never to be cut either), and 12 of 2,000 touching pairs of them (now read whole).
HEADLINE = 0.9
HEADLINE_ASPECT = 0.9
# A part wider than this is more than one digit. Parts of a chain are measured against the chain's height, and
# a cursive 0 joined to its neighbours is flat: at 1.2 the last 0 of "12.000" (its span 1.25 as wide as the
# chain is tall) could only be read as two halves, a 6 and a 7. The width prior (WIDE_PENALTY) weighs the rest.
MAX_PART_ASPECT = 1.8
# Slant: a blob at least SLANT_ASPECT as wide as tall (a ₹ sign or one wide digit is narrower) is stood upright
# by the shear among SLANTS (columns per row) that makes its strokes most upright, when that shear is at least
# MIN_SLANT and stands them at least SLANT_GAIN times as well as none does. At a gain of 1.5, flat cursive 0s
# (IDRBT '12,50,000', a '00' estimated at 0.5) were sheared into 6s: 2 IDRBT fields lost, ORAND-CAR equal.
SLANTS = tuple(round(0.1 * step, 1) for step in range(-5, 6))
MIN_SLANT = 0.2
SLANT_GAIN = 2.0
SLANT_ASPECT = 1.0
STROKE_LEVEL = 0.5  # of a blob's darkest ink: fainter pixels (background hatching caught in its mask) are no stroke
MAX_CUT_POINTS = 10  # the cheapest local minima kept: enough for a blob of five or six digits
# Log-probability a cut costs where the pen crosses the column 0 to 4 times (no cut where more): once
# is the stroke joining two digits; twice may be where two loops touch, but is also the middle of every 0;
# three or four times is where slanted digits overlap in columns (a 2's foot under the next digit's start).
CROSSING_COSTS = (0.0, 0.0, 1.0, 2.0, 3.0)
WIDE_DIGIT = 0.85  # a single digit wider than this (width / height) is rare...
WIDE_PENALTY = 4.0  # ... its log-probability drops this much per unit of aspect beyond it
PART_PENALTY = 2.0  # log-probability each part costs: a cut must read clearly better than the whole (1.5
# before the model learnt to read a touching pair as no digit, which cuts it anyway: then 1.5 over-cut
# single digits, a 9 into 6 and 2)
DIGIT_FLOOR = 1e-3  # a part's confidence is taken as at least this, so one bad part does not make log(0)
SEVERED_SHARE = 0.25  # a piece a cut severs from the rest of a span, holding less than this share of its ink, is
# the neighbour's end, not the digit's
MIN_LOOP_AREA = 0.02  # a hole smaller than this share of the blob's height squared is a pen's gap, not a loop
# Cursive 0s written in one stroke (an amount's "000") are the commonest chain a blob is cut from, and the
# joining stroke that crosses each loop makes the model read some as 8s, 2s or 5s: a run of 0s as many as the
# cut's parts is read instead when it is at least 1/ZERO_RUN_PRIOR as likely (ORAND-CAR: 10 -> 706 amounts,
# 30 -> 707, 100 -> 708 with 3 lost instead of 1).
ZERO_RUN_PRIOR = 30.0
# A run whose every 0 holds a 0's loop, a closed loop across the chain's middle (from above ZERO_LOOP_BAND of its
# height to below 1 - ZERO_LOOP_BAND) and at least ZERO_LOOP_HEIGHT of it tall, is read at a prior of
# LOOPED_ZERO_RUN_PRIOR, and may follow a first digit of the blob's own ("500" in one stroke): 0s joined at their
# tops read as 5s and 7s (the join is their bar), but a 5 or a 7 closes no loop, a 6's lies low, a 9's high, and
# a 2's looped start is small (without the height, ORAND-CAR lost 5 amounts, 2s, 3s and a 5 read as 0s). Two
# touching digits may close a loop between them (a 1's stem and a 2, a 9's stem and a 5's bowl): at a prior of
# 1000 such pairs lost 1 ORAND-CAR amount and 3 synthetic numbers; at 100, none.
ZERO_LOOP_BAND = 0.35
ZERO_LOOP_HEIGHT = 0.5
LOOPED_ZERO_RUN_PRIOR = 100.0
# A blob kept whole that the model finds more likely no digit than any digit (this probability of "not a digit" or
# more) is cut all the same when its best cut reads each part as a sure digit, each cut where the pen crosses once.
NO_DIGIT_WHOLE = 0.5
CUT_RIVAL = 0.3  # a blob kept whole is reviewed when its best cut's digits, confidences multiplied, reach this...
RIVAL_ASPECT = 1.0  # ...and it is at least this wide (width / height): a narrower blob is one digit

Reading = tuple[bool, float]  # (read as a digit, confidence), as the classifier gives it for one crop


@dataclass(frozen=True)
class Proposal:
    """The spans (column ranges [start, end) of the blob's ink) that may each hold one of its digits, and
    what cutting at each inner column costs (log-probability)."""

    width: int
    height: int
    spans: tuple[tuple[int, int], ...] = ()
    cut_costs: tuple[tuple[int, float], ...] = ()  # (column, cost) of each cut point
    loops: tuple[tuple[int, int, int, int], ...] = ()  # each closed loop's box (x, y, w, h) in the spans' columns
    slant: float = 0.0  # the shear that stood the blob's strokes upright before it was cut (see deslanted)
    span_columns: tuple[tuple[int, int], ...] = ()  # with a slant: each span's ink columns in the blob itself

    @property
    def loops_side_by_side(self) -> bool:
        """Two closed loops beside each other: no single digit has them ("00", "80")."""
        return bool(columns_between_loops(list(self.loops)))

    @property
    def frame_width(self) -> int:
        """Width of the (deslanted) ink that the spans and cut points are columns of."""
        return self.width + int(_row_shifts(self.height, self.slant).max()) if self.height else self.width

    def columns(self, index: int) -> tuple[int, int]:
        """The columns [start, end) of the blob that span ``index``'s ink covers."""
        return self.span_columns[index] if self.span_columns else self.spans[index]


def _cut_points(ink: np.ndarray) -> dict[int, float]:
    """The columns where a cut may fall, with a cost: local minima of the ink profile, thinnest first, far
    enough from the edges and from each other that a part between two of them could be a narrow digit.

    What a cut costs grows with how often the pen crosses its column (CROSSING_COSTS).
    """
    height, width = ink.shape
    inked = ink >= STROKE_LEVEL * float(ink.max())
    crossings = np.count_nonzero(inked[1:] & ~inked[:-1], axis=0) + inked[0]
    profile = np.convolve(inked.sum(axis=0).astype(float), [0.25, 0.5, 0.25], mode="same")
    gap = max(2, int(MIN_PART_ASPECT * height))
    minima = [
        c
        for c in range(gap, width - gap)
        if crossings[c] < len(CROSSING_COSTS) and profile[c] <= profile[c - 1] and profile[c] < profile[c + 1]
    ]
    points: dict[int, float] = {}
    for column in sorted(minima, key=lambda c: (crossings[c] > 1, profile[c], c)):
        if len(points) == MAX_CUT_POINTS:
            break
        if all(abs(column - other) >= gap for other in points):
            points[column] = CROSSING_COSTS[crossings[column]]
    return points


def estimate_slant(ink: np.ndarray) -> float:
    """The shear (x + shear * row) that stands the blob's strokes most upright (Vinciarelli and Luettin's
    measure for handwritten words): the one under which the columns that hold one unbroken run of ink, a
    stroke seen end on, hold the most ink, squared."""
    if not ink.any():
        return 0.0
    rows, cols = np.nonzero(ink >= STROKE_LEVEL * float(ink.max()))
    scores = []
    for shear in SLANTS:
        columns = np.floor(cols + shear * rows).astype(np.int64)  # np.round takes halves to even: folds columns
        columns -= columns.min()
        size = int(columns.max()) + 1
        count = np.bincount(columns, minlength=size)
        top, bottom = np.full(size, rows.max(), np.int64), np.zeros(size, np.int64)
        np.minimum.at(top, columns, rows)
        np.maximum.at(bottom, columns, rows)
        unbroken = (count > 0) & (count == bottom - top + 1)
        scores.append(float(np.square(count[unbroken].astype(np.float64)).sum()))
    best = int(np.argmax(scores))
    upright = scores[SLANTS.index(0.0)]
    return SLANTS[best] if abs(SLANTS[best]) >= MIN_SLANT and scores[best] >= SLANT_GAIN * upright else 0.0


def _row_shifts(height: int, slant: float) -> np.ndarray:
    """How far each row moves right to stand a blob leaning by ``slant`` upright (whole pixels, from 0)."""
    shifts = np.floor(slant * np.arange(height) + 0.5).astype(np.int64)
    return shifts - shifts.min()


def _frame_columns(height: int, width: int, slant: float) -> np.ndarray:
    """Each pixel's column once its row is shifted (:func:`deslanted`), as a (height, width) array."""
    return np.arange(width)[None, :] + _row_shifts(height, slant)[:, None]


def deslanted(ink: np.ndarray, slant: float) -> np.ndarray:
    """``ink`` with each row shifted right by ``slant`` per row (whole pixels): slanted strokes upright, and
    every pixel kept, so a span of it maps back to the blob exactly."""
    if not slant:
        return ink
    height, width = ink.shape
    columns = _frame_columns(height, width, slant)
    frame = np.zeros((height, int(columns.max()) + 1), ink.dtype)
    frame[np.arange(height)[:, None], columns] = ink
    return frame


def _blob_columns(ink: np.ndarray, slant: float, spans: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
    """For each span (columns [start, end) of the deslanted ink), the blob's columns [first, last + 1) that
    hold the ink falling in it."""
    rows, cols = np.nonzero(ink)
    framed = cols + _row_shifts(ink.shape[0], slant)[rows]
    found = []
    for start, end in spans:
        inside = cols[(framed >= start) & (framed < end)]
        found.append((int(inside.min()), int(inside.max()) + 1) if len(inside) else (0, ink.shape[1]))
    return tuple(found)


def has_headline(ink: np.ndarray) -> bool:
    """Whether a blob at least about as wide as tall (HEADLINE_ASPECT) has one straight ink run along its top
    (in the top 40% of its rows) across HEADLINE of its width, with little ink above it (at most half its
    columns: a vowel sign, a serif): one character, not digits touching. A wide 7's or 5's bar is one; so is
    a word of Devanagari, whose letters hang from one line (a printed `करें` was cut into parts read as
    `7177`). Two touching digits rarely meet along one straight top line, and where round tops merge into a
    run (small 0s written in one stroke) their arcs rise above it."""
    inked = ink >= STROKE_LEVEL * float(ink.max())
    rows, cols = np.flatnonzero(inked.any(axis=1)), np.flatnonzero(inked.any(axis=0))
    if len(rows) < 5:
        return False
    inked = inked[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    height, width = inked.shape
    if width < HEADLINE_ASPECT * height:
        return False
    longest = [longest_run(row) for row in inked[: max(1, int(0.4 * height))]]
    line = next((r for r, run in enumerate(longest) if run >= HEADLINE * width), None)
    if line is None:
        return False
    while line > 0 and longest[line - 1] >= 0.5 * width:  # the line's own upper rows
        line -= 1
    return float(inked[:line].any(axis=0).mean()) <= 0.5 if line else True


def propose(ink: np.ndarray) -> Proposal:
    """Where a blob's ink (ink high, 2-D) might be cut into digits; no spans when it is narrow for its height or
    a straight line runs along its whole top (:func:`has_headline`).

    Slanted handwriting is stood upright first (:func:`estimate_slant`): digits leaning into each other
    share columns, so no upright cut parts them, while a cut along the slant does."""
    height, width = ink.shape
    if width < MIN_ASPECT_TO_CUT * height or width < 6 or has_headline(ink):
        return Proposal(width, height)
    slant = estimate_slant(ink) if width >= SLANT_ASPECT * height else 0.0
    frame = deslanted(ink, slant)
    frame_width = frame.shape[1]
    points = _cut_points(frame)
    loops = closed_loops(frame, MIN_LOOP_AREA)
    between_loops = columns_between_loops(loops)
    gap = max(2, int(MIN_PART_ASPECT * height))
    for column in between_loops:  # the surest cut of all: drop the minima that crowd it
        points = {c: cost for c, cost in points.items() if abs(c - column) >= gap}
        points[column] = 0.0
    edges = [0, *sorted(points), frame_width]
    spans = tuple(
        (start, end)
        for i, start in enumerate(edges)
        for end in edges[i + 1 :]
        if (start, end) != (0, frame_width) and MIN_PART_ASPECT * height <= end - start <= MAX_PART_ASPECT * height
    )
    columns = _blob_columns(ink, slant, spans) if slant else ()
    return Proposal(width, height, spans, tuple(sorted(points.items())), tuple(loops), slant, columns)


def span_inks(ink: np.ndarray, proposal: Proposal) -> list[np.ndarray]:
    """Each span's crop (:func:`span_ink`), cut from the blob's ink stood upright as the proposal was made
    (an upright digit reads more surely than a leaning one)."""
    frame = deslanted(ink, proposal.slant)
    return [span_ink(frame, start, end) for start, end in proposal.spans]


def span_ink(ink: np.ndarray, start: int, end: int) -> np.ndarray:
    """The ink of columns [start, end) of a blob as a digit crop: without the small pieces that touch a cut
    edge, which are the severed ends of the neighbouring digits' strokes rather than part of this digit."""
    part = ink[:, start:end]
    count, labels, stats, _ = cv2.connectedComponentsWithStats((part > 0).astype(np.uint8), connectivity=8)
    if count <= 2:
        return part
    areas = stats[1:, cv2.CC_STAT_AREA]
    left, right = stats[1:, cv2.CC_STAT_LEFT], stats[1:, cv2.CC_STAT_LEFT] + stats[1:, cv2.CC_STAT_WIDTH]
    at_cut = ((left == 0) & (start > 0)) | ((right == end - start) & (end < ink.shape[1]))
    severed = at_cut & (areas < SEVERED_SHARE * areas.sum())
    if not severed.any():
        return part
    return np.where(np.isin(labels, 1 + np.flatnonzero(severed)), 0, part).astype(part.dtype)


def part_box(box: Box, width: int, start: int, end: int) -> Box:
    """The page box of columns [start, end) of a crop ``width`` pixels wide that covers ``box``."""
    x0 = box.x + round(box.w * start / width)
    x1 = box.x + round(box.w * end / width)
    return Box(x0, box.y, max(1, x1 - x0), box.h)


def _log_probability(reading: Reading, aspect: float) -> float:
    """How likely a part of this width (over the blob's height) is one digit read so: -inf when the model
    says it is no digit at all."""
    is_digit, confidence = reading
    if not is_digit:
        return -math.inf
    return math.log(max(confidence, DIGIT_FLOOR)) - WIDE_PENALTY * max(0.0, aspect - WIDE_DIGIT) - PART_PENALTY


def _reads_as_surely(whole: Reading, parts: list[Reading]) -> bool:
    """Whether the classifier alone favours the cut: its parts' confidences multiplied are at least the
    whole's (always, when the whole reads as no digit).

    The priors in :func:`choose` may keep a blob whole that the classifier would cut, but never cut one that
    it reads more surely whole: a wide 4 read at 0.9997 stays one 4 rather than a 4 at 0.998 and a 1 at
    0.9997, though a single digit that wide is rare.
    """
    is_digit, confidence = whole
    return not is_digit or math.prod(max(c, DIGIT_FLOOR) for _, c in parts) >= max(confidence, DIGIT_FLOOR)


def choose(proposal: Proposal, whole: Reading, parts: list[Reading]) -> tuple[int, ...] | None:
    """The indices of the spans to keep, left to right; () to keep the blob whole; None when neither the
    whole nor any run of spans reads as digits (the blob is a sign, a letter, or digits no cut separates).

    ``parts`` holds one reading per span of ``proposal``. The best run of spans from the left edge to the
    right is found by dynamic programming over the cut points; it replaces the whole only when it is more
    probable and its digits' confidences multiplied are at least the whole's (the width prior and the part
    penalty weigh the choice, but never cut what the classifier reads more surely whole). A wide whole pays
    the width prior, so a merged "10" that the model reads as a fairly sure 6 still gives way to a sure 1
    and 0, while a clean wide 0 keeps its own reading. A blob with two loops side by side is cut whenever a
    run of spans reads as digits: the model may read a touching "00" as one sure wide 0, but no digit is that.
    """
    cut_score, cut = _best_cut(proposal, parts)
    whole_score = _log_probability(whole, proposal.width / max(1, proposal.height))
    if cut and proposal.loops_side_by_side:  # two loops side by side are never one digit
        return cut
    if cut and cut_score > whole_score and _reads_as_surely(whole, [parts[i] for i in cut]):
        return cut
    return () if whole_score > -math.inf else None


def _best_cut(proposal: Proposal, parts: list[Reading]) -> tuple[float, tuple[int, ...]]:
    """The most probable run of spans from the blob's left edge to its right (dynamic programming over the
    cut points), with its log-probability; ``(-inf, ())`` when no run of spans reads as digits."""
    height = max(1, proposal.height)
    costs = dict(proposal.cut_costs)
    best: dict[int, tuple[float, tuple[int, ...]]] = {0: (0.0, ())}
    for index in sorted(range(len(proposal.spans)), key=lambda i: proposal.spans[i]):
        start, end = proposal.spans[index]
        if start not in best:
            continue
        score = best[start][0] + _log_probability(parts[index], (end - start) / height) - costs.get(end, 0.0)
        if score > best.get(end, (-math.inf, ()))[0]:
            best[end] = (score, (*best[start][1], index))
    return best.get(proposal.frame_width, (-math.inf, ()))


def sure_cut(proposal: Proposal, parts: list[Reading], no_digit: float, sure: float) -> tuple[int, ...]:
    """The best cut to read instead of a blob :func:`choose` kept whole, or (): only when the model finds the
    whole more likely no digit than a digit (``no_digit``, its probability of "not a digit", at least
    NO_DIGIT_WHOLE) and the cut is as plain as a touching pair's, every part read at ``sure`` or more (the
    review threshold) and every cut where the pen crosses its column once.

    A 1 touching its neighbour is the case: a '16' reads as a 6 at 0.24 whole (no digit at 0.76), as a 1
    and a 6 at 0.998 and 0.997 cut, and the part penalty keeps it whole, since a 1 reads into the side of
    almost any digit. Real digits the model doubts read as no digit more often than MNIST's, but their cuts
    are seldom sure ones (on ORAND-CAR, cutting on "no digit" alone lost 9 amounts); a cut through a 0's
    loop crosses it twice.
    """
    if no_digit < NO_DIGIT_WHOLE:
        return ()
    _, cut = _best_cut(proposal, parts)
    costs = dict(proposal.cut_costs)
    if all(parts[i][1] >= sure and costs.get(proposal.spans[i][1], 0.0) == 0.0 for i in cut):
        return cut
    return ()


def zero_run(
    proposal: Proposal, parts: list[Reading], zeros: list[float], cut: tuple[int, ...], after_digit: bool
) -> tuple[tuple[int, ...], frozenset[int]]:
    """A run of 0s to read instead of ``cut`` (the chosen spans, two or more): its spans and those of them read
    as 0s, or nothing to keep the cut.

    ``zeros`` holds each span's probability of being a 0. Tried in turn: 0s alone, when the blob comes
    ``after_digit`` (after a number's first digit); then the blob's first digit as the cut reads it followed
    by 0s ("500" in one stroke), but only where every one of those 0s holds a 0's loop (:func:`_holds_zero_loop`).
    The likeliest such run must have as many parts as the cut (a cut into 0s is no reason to find more digits
    in a blob) and be at least 1/ZERO_RUN_PRIOR as likely as the best cut, 1/LOOPED_ZERO_RUN_PRIOR when its 0s
    hold 0's loops.
    """
    if len(cut) < 2:
        return (), frozenset()
    as_zeros: list[Reading] = [(True, p) for p in zeros]
    # The first span as the cut reads it: no other span from the blob's left edge may start the run.
    led: list[Reading] = [
        parts[i] if i == cut[0] else (False, 0.0) if proposal.spans[i][0] == 0 else as_zeros[i]
        for i in range(len(zeros))
    ]
    cut_score, _ = _best_cut(proposal, parts)
    for readings, before in ([(as_zeros, 0)] if after_digit else []) + [(led, 1)]:
        score, run = _best_cut(proposal, readings)
        zero_spans = frozenset(run[before:])
        looped = all(_holds_zero_loop(proposal, span) for span in zero_spans)
        prior = LOOPED_ZERO_RUN_PRIOR if looped else ZERO_RUN_PRIOR
        if len(run) == len(cut) and (looped or not before) and score + math.log(prior) >= cut_score:
            return run, zero_spans
    return (), frozenset()


def _holds_zero_loop(proposal: Proposal, span: int) -> bool:
    """Whether span ``span`` holds the centre of a 0's loop: closed, across the blob's middle rows
    (ZERO_LOOP_BAND) and tall (ZERO_LOOP_HEIGHT)."""
    start, end = proposal.spans[span]
    top, bottom = ZERO_LOOP_BAND * proposal.height, (1.0 - ZERO_LOOP_BAND) * proposal.height
    return any(
        start <= x + w / 2 < end and y <= top and y + h >= bottom and h >= ZERO_LOOP_HEIGHT * proposal.height
        for x, y, w, h in proposal.loops
    )


def cut_rivals_whole(proposal: Proposal, parts: list[Reading]) -> bool:
    """Whether a blob kept whole might be touching digits all the same: its best cut reads as digits whose
    confidences multiplied reach CUT_RIVAL. Kept whole, such a blob is reviewed: a touching pair read as
    one sure digit is a digit silently missing from its number."""
    if proposal.width < RIVAL_ASPECT * proposal.height:  # as narrow as one digit can be: no pair
        return False
    _, cut = _best_cut(proposal, parts)
    return bool(cut) and math.prod(max(parts[i][1], DIGIT_FLOOR) for i in cut) >= CUT_RIVAL

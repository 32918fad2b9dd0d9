"""Touching digits: cuts are proposed at thin columns, and the classifier's confidence decides."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from digitscan.classify import DigitClassifier
from digitscan.clutter import touching_pairs
from digitscan.mnist import MnistData
from digitscan.pipeline import ProcessOptions, process
from digitscan.segment import Box
from digitscan.touching import Proposal, choose, has_headline, part_box, propose, span_ink, span_inks, sure_cut

from .mnist_helpers import SIZE, mnist_digit


def test_cuts_are_proposed_only_for_wide_blobs_at_the_stroke_that_joins_them() -> None:
    narrow = np.zeros((40, 20), np.uint8)
    narrow[:, 8:12] = 255
    assert propose(narrow).spans == ()
    pair = np.zeros((40, 60), np.uint8)
    cv2.circle(pair, (14, 20), 12, 255, 3)
    cv2.circle(pair, (44, 20), 12, 255, 3)
    pair[19:22, 26:33] = 255  # the pen did not lift between the two
    proposal = propose(pair)
    free = [column for column, cost in proposal.cut_costs if cost == 0.0]  # crossed once: the joining stroke
    assert free and all(26 <= column <= 33 for column in free)
    assert all(end > start for start, end in proposal.spans)
    assert part_box(Box(100, 50, 60, 40), 60, 0, 30) == Box(100, 50, 30, 40)


def test_a_word_hanging_from_one_line_is_one_character_not_digits_to_cut(mnist: MnistData) -> None:
    # IDRBT 120616: the printed Devanagari 'करें' left of the amount box is one blob, its letters hanging from
    # one straight line; read as no digit, it was cut into parts read as '7177', and a '7' joined the amount.
    word = np.zeros((44, 130), np.uint8)
    word[6:11, 2:128] = 255  # the headline
    for x in (20, 62, 110):  # letters hanging from it
        word[6:40, x : x + 5] = 255
    cv2.ellipse(word, (40, 26), (14, 10), 0, 90, 360, 255, 4)
    cv2.ellipse(word, (86, 28), (12, 10), 0, 0, 270, 255, 4)
    assert has_headline(word) and propose(word).spans == ()
    # Two touching digits rarely meet along one straight top line: 1.1% of MNIST test pairs do (a 7's or 5's
    # bar running into its neighbour's), and those are now read whole.
    pairs = touching_pairs(mnist.test_images, 1000, 5)
    assert sum(has_headline(pair) for pair in pairs) <= 20


def test_two_loops_side_by_side_are_two_digits_cut_between_the_loops() -> None:
    pair = np.zeros((40, 66), np.uint8)
    cv2.ellipse(pair, (17, 20), (14, 17), 0, 0, 360, 255, 3)
    cv2.ellipse(pair, (46, 20), (14, 17), 0, 0, 360, 255, 3)  # two 0s, touching: one blob
    proposal = propose(pair)
    assert proposal.loops_side_by_side
    assert any(30 <= column <= 33 and cost == 0.0 for column, cost in proposal.cut_costs)
    # The whole reads as a surer 0 than the parts do, yet two loops side by side are never one digit.
    halves = [i for i, span in enumerate(proposal.spans) if span[0] == 0 and 30 <= span[1] <= 33]
    halves += [i for i, span in enumerate(proposal.spans) if span[1] == 66 and span[0] == proposal.spans[halves[0]][1]]
    parts = [(True, 0.9 if i in halves else 0.01) for i in range(len(proposal.spans))]
    assert choose(proposal, (True, 0.9999), parts) == tuple(halves)

    eight = np.zeros((60, 48), np.uint8)
    cv2.ellipse(eight, (24, 16), (12, 13), 0, 0, 360, 255, 3)
    cv2.ellipse(eight, (24, 42), (14, 15), 0, 0, 360, 255, 3)  # loops one above the other: one 8
    wide_zero = np.zeros((40, 66), np.uint8)
    cv2.ellipse(wide_zero, (33, 20), (30, 17), 0, 0, 360, 255, 3)
    assert not propose(eight).loops_side_by_side and not propose(wide_zero).loops_side_by_side


def test_a_flat_zero_in_a_cursive_chain_is_offered_as_one_span() -> None:
    # ORAND-CAR a_car_000940 "40.000": its joined 0s are flatter than the chain is tall, so the last one (a
    # span 1.25 times the chain's height) could only be read in two halves, a 6 and a 7.
    chain = np.zeros((51, 211), np.uint8)
    for centre in (35, 105, 175):
        cv2.ellipse(chain, (centre, 25), (32, 22), 0, 0, 360, 255, 5)  # each 0 1.3 times as wide as the chain is tall
    proposal = propose(chain)
    assert proposal.loops_side_by_side
    zeros = [
        span
        for span in proposal.spans
        if any(abs(span[0] - (c - 35)) <= 3 and abs(span[1] - (c + 35)) <= 3 for c in (35, 105, 175))
    ]
    assert len(zeros) == 3
    parts = [(True, 0.99 if span in zeros else 0.5) for span in proposal.spans]
    assert [proposal.spans[i] for i in choose(proposal, (True, 0.9), parts) or ()] == zeros


def test_a_span_drops_the_severed_end_of_its_neighbour_but_keeps_its_own_strokes() -> None:
    blob = np.zeros((40, 70), np.uint8)
    cv2.circle(blob, (50, 20), 12, 255, 3)  # a 0 on the right
    cv2.line(blob, (5, 36), (36, 36), 255, 3)  # the foot of a 2 on the left...
    cv2.line(blob, (36, 36), (42, 30), 255, 3)  # ... whose last stroke runs into the 0: one blob
    cv2.line(blob, (10, 6), (36, 6), 255, 3)  # the 2's top, reaching past where the cut falls
    cut = 33
    part = span_ink(blob, cut, 70)
    assert part.shape == (40, 37)
    assert blob[:12, cut : cut + 6].any() and not part[:12, :6].any()  # the top's end, severed by the cut, is gone
    assert np.array_equal(part[:, 6:], blob[:, cut + 6 :])  # the 0 and the stroke joined to it stay
    assert np.array_equal(part[12:], blob[12:, cut:])
    # Ink that no cut severed stays, however small: the blob's own edge is not a cut.
    assert np.array_equal(span_ink(blob, 0, cut), blob[:, :cut])


def test_the_most_probable_run_of_spans_wins_over_the_whole() -> None:
    proposal = Proposal(36, 40, ((0, 18), (18, 36)), ((18, 0.0),))  # as wide as one wide digit
    assert choose(proposal, (True, 0.99), [(True, 0.9), (True, 0.95)]) == ()  # a sure whole stays whole
    assert choose(proposal, (True, 0.3), [(True, 0.99), (True, 0.98)]) == ()  # each extra part costs PART_PENALTY
    assert choose(proposal, (True, 0.15), [(True, 0.99), (True, 0.98)]) == (0, 1)
    assert choose(proposal, (False, 0.97), [(True, 0.94), (True, 0.6)]) == (0, 1)  # "not a digit" whole
    assert choose(proposal, (False, 0.97), [(True, 0.94), (False, 0.9)]) is None  # neither reads: leftover ink
    wide = Proposal(90, 40, ((0, 45), (45, 90)), ((45, 0.0),))  # aspect 2.25: the whole pays the width prior
    assert choose(wide, (True, 0.95), [(True, 0.99), (True, 0.98)]) == (0, 1)
    assert choose(wide, (True, 0.95), [(True, 0.9), (True, 0.9)]) == ()  # the classifier reads it more surely whole


def test_a_sure_wide_digit_is_not_cut_for_its_width_alone() -> None:
    # The 4 of samples/form_005_g4.tif (ink 97 x 79): the width prior made a 4 at 0.998 and a 1 at 0.9997
    # win over the whole read as a 4 at 0.9997, and the number gained a digit.
    four = Proposal(97, 79, ((0, 67), (67, 97)), ((67, 0.0),))
    assert choose(four, (True, 0.9997), [(True, 0.998), (True, 0.9997)]) == ()


def test_a_whole_read_as_no_digit_is_cut_when_its_parts_are_sure_digits_cut_plainly() -> None:
    # '16' (synthetic scanned page forms_068): whole a 6 at 0.24 (no digit at 0.76), cut a 1 and a 6 at 0.998
    # and 0.997: the part penalty keeps it whole, the model's "no digit" and the sure parts cut it
    pair = Proposal(98, 107, ((0, 20), (20, 98)), ((20, 0.0),))
    parts = [(True, 0.998), (True, 0.997)]
    assert choose(pair, (True, 0.24), parts) == ()
    assert sure_cut(pair, parts, 0.76, 0.978) == (0, 1)
    assert sure_cut(pair, parts, 0.45, 0.978) == ()  # the model finds it more likely a digit: whole
    assert sure_cut(pair, [(True, 0.998), (True, 0.95)], 0.76, 0.978) == ()  # a part in doubt
    through_a_loop = Proposal(98, 107, ((0, 20), (20, 98)), ((20, 1.0),))  # the pen crosses the cut twice
    assert sure_cut(through_a_loop, parts, 0.76, 0.978) == ()


def _slid_together(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Two digits (SIZE x SIZE, ink high) on a white strip, the second slid into the first until their inks
    overlap, then two pixels further: digits that touch, as a hand writes them close."""
    ink, next_ink = first > 128, second > 128
    shift = next(s for s in range(SIZE, 0, -1) if (ink[:, s:] & next_ink[:, : SIZE - s]).any()) - 2
    page = np.full((200, 400), 255, np.uint8)
    for image, x in ((first, 100), (second, 100 + shift)):
        page[50 : 50 + SIZE, x : x + SIZE] = np.minimum(page[50 : 50 + SIZE, x : x + SIZE], 255 - image)
    return page


def test_a_one_touching_its_neighbour_is_read(classifier: DigitClassifier, mnist: MnistData, tmp_path: Path) -> None:
    # a 1 beside each other digit, before and after it, two hands each: a 1 reads into the side of its
    # neighbour, and the pair used to be read as the neighbour alone ('16' as 6)
    pairs = [(text, nth) for d in "023456789" for nth in (0, 1) for text in (f"1{d}", f"{d}1")]
    for text, nth in pairs:
        page = _slid_together(*(mnist_digit(mnist, int(c), nth) for c in text))
        cv2.imwrite(str(tmp_path / f"{text}_{nth}.png"), page)
    run = process(sorted(tmp_path.glob("*.png")), ProcessOptions(), classifier=classifier)
    read = {Path(f.file).stem: "".join(n.text for n in f.pages[0].numbers) for f in run.files}
    right = sum(read[f"{text}_{nth}"] == text for text, nth in pairs)
    # Measured with the shipped models: 26 of these 36 pairs read exactly (25 before the pair model weighed
    # the cuts' readings, 21 before such wholes were cut).
    assert right >= 24, read


def _touching_page(mnist: MnistData, first: int, second: int) -> np.ndarray:
    """Two MNIST digits written so close that their strokes join, on a white strip."""
    page = np.full((200, 400), 255, np.uint8)
    inks = [mnist_digit(mnist, digit, 0) for digit in (first, second)]
    page[50:140, 100:190] = np.minimum(page[50:140, 100:190], 255 - inks[0])
    page[50:140, 160:250] = np.minimum(page[50:140, 160:250], 255 - inks[1])
    page[92:97, 170:190] = 0  # a joining stroke
    return page


def test_touching_digits_are_read_as_two(classifier: DigitClassifier, mnist: MnistData, tmp_path: Path) -> None:
    pairs = ["10", "20", "35", "42", "71", "68", "93", "50", "84", "00", "12", "39"]
    read = []
    for pair in pairs:
        path = tmp_path / f"touching_{pair}.png"
        cv2.imwrite(str(path), _touching_page(mnist, int(pair[0]), int(pair[1])))
        run = process([path], ProcessOptions(jobs=1), classifier=classifier)
        read.append("".join(n.text for n in run.files[0].pages[0].numbers))
    # Measured with the shipped models: 11 of these 12 joined pairs read exactly, with the pair model or without.
    assert sum(r == p for r, p in zip(read, pairs, strict=True)) >= 10, read


def _joined(mnist: MnistData, digits: str, foot_line: bool = True, step: int = 62) -> np.ndarray:
    """MNIST digits written in one stroke (a cursive "200"): boxes ``step`` pixels apart, overlapping, and
    with ``foot_line`` a joining line along the foot of the first three."""
    page = np.full((200, max(420, 210 + step * len(digits))), 255, np.uint8)
    for position, digit in enumerate(digits):
        region = page[50:140, 80 + step * position : 170 + step * position]
        np.minimum(region, 255 - mnist_digit(mnist, int(digit), 1), out=region)
    if foot_line:
        page[118:123, 140:280] = 0  # the pen runs along the foot of all three
    return page


def test_a_blob_of_three_joined_digits_is_cut_into_three(
    classifier: DigitClassifier, mnist: MnistData, tmp_path: Path
) -> None:
    triples = ["200", "000", "100", "500", "300", "800", "250", "400"]
    read = []
    for triple in triples:
        path = tmp_path / f"joined_{triple}.png"
        cv2.imwrite(str(path), _joined(mnist, triple))
        run = process([path], ProcessOptions(jobs=1), classifier=classifier)
        numbers = run.files[0].pages[0].numbers
        read.append("".join(n.text for n in numbers))
    # Measured with the shipped model: 3 of these 8 joined triples read exactly (200, 000, 500).
    assert sum(r == t for r, t in zip(read, triples, strict=True)) >= 3, read


def test_a_blob_of_five_joined_digits_is_read_or_reviewed_not_dropped(
    classifier: DigitClassifier, mnist: MnistData, tmp_path: Path
) -> None:
    # Five overlapping zeros make one blob almost four times as wide as it is tall: once dropped unseen as a
    # rule (a cheque's "30.000" came out as 30, unflagged), now the cutter reads it or the number is reviewed.
    path = tmp_path / "joined_00000.png"
    cv2.imwrite(str(path), _joined(mnist, "00000", foot_line=False, step=48))
    (page,) = process([path], ProcessOptions(jobs=1), classifier=classifier).files[0].pages
    digits = [d for n in page.numbers for d in n.digits]
    assert digits and ("".join(str(d.digit) for d in digits) == "00000" or any(d.needs_review for d in digits))


def test_a_number_beside_ink_that_reads_as_no_digit_is_reviewed() -> None:
    from digitscan.pipeline import _reviewed_beside
    from digitscan.results import DigitResult, NumberResult

    digits = tuple(DigitResult(i, 3, 0.999, 8, 0.001, Box(100 + 40 * i, 50, 30, 40), False) for i in range(2))
    number = NumberResult(0, digits)
    beside, below, far = Box(185, 55, 60, 38), Box(100, 120, 60, 38), Box(400, 50, 60, 40)
    assert all(d.needs_review for d in _reviewed_beside(number, [beside]).digits)
    assert _reviewed_beside(number, [below, far]) == number  # another line, or more than a digit's height away


def test_a_comb_cell_whose_mark_reads_as_no_digit_keeps_its_place_reviewed(
    classifier: DigitClassifier, mnist: MnistData, tmp_path: Path
) -> None:
    # IDRBT 309114's date comb lost a faint 0 that read as no digit: '2012016' for '20012016', the digits after
    # it shifted a cell. A comb found on the page holds a digit a cell, as a template's comb does: the cell's
    # likeliest digit is reported in its place, reviewed.
    page = np.full((200, 500), 245, np.uint8)
    left, top, width = 80, 60, 56
    cv2.rectangle(page, (left, top), (left + 4 * width, top + 60), 30, 2)
    for i in range(1, 4):
        cv2.line(page, (left + i * width, top), (left + i * width, top + 60), 30, 2)
    for cell, label in ((0, 2), (1, 0), (3, 1)):
        region = page[top + 5 : top + 55, left + cell * width + 3 : left + cell * width + 53]
        np.minimum(region, 255 - cv2.resize(mnist_digit(mnist, label, 0), (50, 50)), out=region)
    x = left + 2 * width  # a hash mark in the third cell: no digit
    for d in (18, 34):
        cv2.line(page, (x + d, top + 10), (x + d - 6, top + 50), 30, 4)
        cv2.line(page, (x + 8, top + d - 2), (x + 48, top + d - 2), 30, 4)
    path = tmp_path / "comb.png"
    cv2.imwrite(str(path), page)
    (number,) = process([path], ProcessOptions(jobs=1), classifier=classifier).files[0].pages[0].numbers
    # Measured with the shipped model: 2 0 4 1, the 4 at a confidence under 0.01; 2 0 1 before.
    assert [d.position for d in number.digits] == [0, 1, 2, 3]
    assert (number.text[:2], number.text[3]) == ("20", "1")
    assert number.digits[2].needs_review and number.digits[2].confidence < 0.5


def test_a_wide_blob_kept_whole_is_reviewed_when_a_cut_reads_nearly_as_well() -> None:
    from digitscan.touching import cut_rivals_whole

    pair = Proposal(80, 40, ((0, 40), (40, 80)), ((40, 0.0),))  # twice as wide as tall
    assert cut_rivals_whole(pair, [(True, 0.99), (True, 0.6)])  # a 2 and a 0 at 0.6: maybe "20" read as 2
    assert not cut_rivals_whole(pair, [(True, 0.99), (True, 0.2)])  # no cut reads as digits to speak of
    assert not cut_rivals_whole(pair, [(True, 0.99), (False, 0.9)])
    narrow = Proposal(36, 40, ((0, 18), (18, 36)), ((18, 0.0),))  # one digit's width: a 0 halved is no pair
    assert not cut_rivals_whole(narrow, [(True, 0.99), (True, 0.98)])


def test_digits_joined_by_three_strokes_get_a_cut_where_the_pen_crosses_three_times() -> None:
    # Slanted digits overlap in columns: between a 0 and the 3 after it, the thinnest column crosses the 0's
    # edge and the 3's two tips, or three strokes as here; no column crossed once or twice parts them
    # (allowing cuts where the pen crosses three or four times: ORAND-CAR amounts 561 -> 573).
    blob = np.zeros((44, 66), np.uint8)
    cv2.ellipse(blob, (15, 22), (11, 18), 0, 0, 360, 255, 5)
    for y in (6, 22, 38):
        cv2.line(blob, (26, y), (60, y), 255, 1 if y == 22 else 5)
    cv2.line(blob, (60, 6), (60, 38), 255, 5)
    blob[:, 28:40] = np.where(np.arange(44)[:, None] % 16 == 6, 255, 0)  # three thin strokes join them
    crossings = np.count_nonzero((blob[1:] > 0) & (blob[:-1] == 0), axis=0)
    assert crossings[28:40].min() == 3
    proposal = propose(blob)
    between = [column for column, _ in proposal.cut_costs if 28 <= column < 40]
    assert between
    assert (0, between[0]) in proposal.spans and (between[0], 66) in proposal.spans


def _leaning_pair(slant: float) -> np.ndarray:
    """A 1 and a 0 leaning right by ``slant`` (columns per row), close enough that they share columns,
    joined at the foot by the pen: one blob that no upright cut parts."""
    upright = np.zeros((44, 52), np.uint8)
    cv2.line(upright, (8, 3), (8, 40), 255, 4)
    cv2.ellipse(upright, (32, 22), (10, 19), 0, 0, 360, 255, 4)
    cv2.line(upright, (8, 40), (24, 36), 255, 3)
    shift = np.float32([[1, -slant, slant * 43], [0, 1, 0]])  # the top moves right: a right-leaning hand
    leaning = cv2.warpAffine(upright, shift, (52 + round(slant * 43), 44), flags=cv2.INTER_NEAREST)
    used = np.flatnonzero(leaning.any(axis=0))
    return leaning[:, used[0] : used[-1] + 1]  # a blob's crop ends at its ink


def test_leaning_digits_that_share_columns_are_cut_along_their_slant() -> None:
    # ORAND-CAR's writers lean their digits by up to half a column per row, and a leaning pair shares
    # columns: every upright column between them crosses both digits, while a cut along the slant crosses
    # only the joining stroke. Standing blobs upright before cutting: ORAND-CAR amounts 686 -> 696.
    pair = _leaning_pair(0.4)
    top, bottom = np.flatnonzero(pair[4]), np.flatnonzero(pair[40])
    assert top.min() < bottom.max()  # the 1's top leans over the 0's foot: no upright gap parts them
    proposal = propose(pair)
    assert proposal.slant == 0.4
    inks = span_inks(pair, proposal)
    cuts = [
        (i, j)
        for i, (start, mid) in enumerate(proposal.spans)
        for j, (mid2, end) in enumerate(proposal.spans)
        if start == 0 and mid == mid2 and end == proposal.frame_width
    ]
    # Some cut parts the pair into a stroke without a loop and the 0 with its one loop.
    one, zero = next((i, j) for i, j in cuts if _loops(inks[i]) == 0 and _loops(inks[j]) == 1)
    assert inks[one].shape[1] < 0.5 * inks[one].shape[0]  # upright and narrow: a 1
    # The parts' boxes are in the blob's own columns: the 1 from its left edge, the 0 to its right edge.
    assert proposal.columns(one)[0] == 0 and proposal.columns(zero)[1] == pair.shape[1]
    assert proposal.columns(one)[1] > proposal.columns(zero)[0]  # they overlap, as the leaning digits do


def test_an_upright_pair_is_cut_as_it_stands() -> None:
    pair = _leaning_pair(0.0)
    proposal = propose(pair)
    assert proposal.slant == 0.0 and proposal.frame_width == pair.shape[1]
    assert all(
        np.array_equal(ink, span_ink(pair, start, end))
        for ink, (start, end) in zip(span_inks(pair, proposal), proposal.spans, strict=True)
    )


def _loops(ink: np.ndarray) -> int:
    _, hierarchy = cv2.findContours((ink > 0).astype(np.uint8), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    return 0 if hierarchy is None else int(sum(1 for h in hierarchy[0] if h[3] >= 0))


def test_faint_hatching_inside_a_blob_does_not_hide_the_cut_between_its_digits() -> None:
    # A crop's mask keeps the paper's printed hatching where it passes through the digits, lighter than the
    # pen: counted as strokes, its lines cross every column, and the column of the joining stroke is no
    # longer crossed once. Strokes are the ink at STROKE_LEVEL of the darkest or more.
    pair = _leaning_pair(0.0)
    hatched = pair.copy()
    hatched[2::5][hatched[2::5] == 0] = 90  # faint rules every 5 rows, a third as dark as the pen
    joining = [column for column, cost in propose(pair).cut_costs if 4 <= column <= 15 and cost == 0.0]
    assert joining and joining == [c for c, cost in propose(hatched).cut_costs if 4 <= c <= 15 and cost == 0.0]


def test_a_cut_reads_as_a_run_of_zeros_when_that_is_nearly_as_likely() -> None:
    from digitscan.touching import zero_run

    chain = Proposal(90, 40, ((0, 30), (30, 60), (60, 90), (0, 60)), ((30, 0.0), (60, 0.0)))
    parts = [(True, 0.9), (True, 0.6), (True, 0.95), (True, 0.2)]  # 0, then a middle 0 read as an 8 at 0.6
    cut = (0, 1, 2)
    run = (cut, frozenset(cut))
    assert zero_run(chain, parts, [0.9, 0.3, 0.95, 0.01], cut, True) == run  # a 0 at 0.3: half as likely as the 8
    assert zero_run(chain, parts, [0.9, 0.3, 0.95, 0.01], cut, False) == ((), frozenset())  # a number's first: 0?
    assert zero_run(chain, parts, [0.9, 0.005, 0.95, 0.01], cut, True) == ((), frozenset())  # at 0.005: the 8 stays
    # Read as 0s, the likeliest run must split the blob as many times as the cut did: no extra digits.
    assert zero_run(chain, parts, [0.01, 0.3, 0.95, 0.99], cut, True) == ((), frozenset())
    assert zero_run(chain, parts, [0.9, 0.9, 0.9, 0.9], (3,), True) == ((), frozenset())  # one piece is no run


def test_zeros_that_close_tall_loops_across_the_middle_are_read_at_the_stronger_prior() -> None:
    # Cursive 0s joined at their tops ('2,35,000', '12,00,500' on IDRBT cheques): the join is a bar over a 0, read
    # as a 5 or a 7, but the part holds a 0's loop, which no 5 or 7 closes.
    from digitscan.touching import zero_run

    spans, cuts = ((0, 30), (30, 60), (60, 90)), ((30, 0.0), (60, 0.0))
    parts = [(True, 0.95), (True, 0.95), (True, 0.95)]  # the middle 0 read as a 5 at 0.95
    zeros = [0.9, 0.02, 0.95]  # ...and as a 0 at 0.02: 47 times less likely, past ZERO_RUN_PRIOR (30), not 100
    loops = ((8, 8, 16, 24), (38, 8, 16, 24), (68, 8, 16, 24))  # rows 8-32 of 40
    cut, none = (0, 1, 2), ((), frozenset())
    assert zero_run(Proposal(90, 40, spans, cuts), parts, zeros, cut, True) == none
    assert zero_run(Proposal(90, 40, spans, cuts, loops=loops), parts, zeros, cut, True) == (cut, frozenset(cut))
    low = ((8, 8, 16, 24), (38, 18, 16, 20), (68, 8, 16, 24))  # the middle loop low, as a 6's
    small = ((8, 8, 16, 24), (38, 11, 12, 13), (68, 8, 16, 24))  # ...or small, as a 2's looped start
    for other in (low, small):
        assert zero_run(Proposal(90, 40, spans, cuts, loops=other), parts, zeros, cut, True) == none
    # A blob that starts a number: its first digit as read (a 5 at 0.95, a 0 at 0.9), then loops read as 0s.
    five = [(True, 0.95), (True, 0.95), (True, 0.95)]
    assert zero_run(Proposal(90, 40, spans, cuts, loops=loops), five, zeros, cut, False) == (cut, frozenset({1, 2}))
    assert zero_run(Proposal(90, 40, spans, cuts), five, [0.9, 0.3, 0.95], cut, False) == none  # no loops: as cut


def _zero_run_page(mnist: MnistData, first: int, zeros: int, nth: int) -> np.ndarray:
    """A digit, then ``zeros`` MNIST 0s written in one stroke: overlapping, joined by a stroke through their
    middles (as many hands write an amount's last 0s)."""
    step = 62
    page = np.full((200, 220 + step * (zeros + 1)), 255, np.uint8)
    region = page[50:140, 60:150]
    np.minimum(region, 255 - mnist_digit(mnist, first, nth), out=region)
    for j in range(zeros):
        region = page[50:140, 160 + step * j : 250 + step * j]
        np.minimum(region, 255 - mnist_digit(mnist, 0, 4 * nth + j), out=region)
    y = 95 + (nth % 5) * 2
    page[y : y + 5, 175 : 240 + step * (zeros - 1)] = 0
    return page


def test_a_cursive_run_of_zeros_after_a_digit_is_read_as_zeros(
    classifier: DigitClassifier, mnist: MnistData, tmp_path: Path
) -> None:
    paths, truths = [], []
    for nth in range(40):
        first, zeros = 1 + nth % 9, 2 + nth % 3
        paths.append(tmp_path / f"run_{nth}.png")
        cv2.imwrite(str(paths[-1]), _zero_run_page(mnist, first, zeros, nth))
        truths.append(str(first) + "0" * zeros)
    run = process(paths, ProcessOptions(jobs=1), classifier=classifier)
    read = ["".join(n.text for n in f.pages[0].numbers) for f in run.files]
    # Measured with the shipped model: 33 of these 40 read exactly, 28 without the run of 0s (a middle 0
    # crossed by the joining stroke read as a 2).
    assert sum(r == t for r, t in zip(read, truths, strict=True)) >= 32, list(zip(truths, read, strict=True))


def test_zeros_written_small_in_one_stroke_are_read(
    classifier: DigitClassifier, mnist: MnistData, tmp_path: Path
) -> None:
    # Chilean amounts often end in 0s a third as tall as the digits, written in one stroke ('6.ooo'): too short
    # for a digit, the chain was left out ('6000' read '6'). Two loops side by side make it a digit candidate,
    # which the touching-digit reader cuts into its 0s.
    paths, truths = [], []
    for nth in range(20):
        first, second = 1 + nth % 9, 1 + (nth * 4) % 9
        page = np.full((160, 420), 250, np.uint8)
        for digit, x in ((first, 30), (second, 100)):
            big = cv2.resize(mnist_digit(mnist, digit, nth), (70, 70), interpolation=cv2.INTER_CUBIC)
            np.minimum(page[40:110, x : x + 70], 255 - big, out=page[40:110, x : x + 70])
        for j in range(3):  # a third of the digits' height, on their baseline, each loop touching the next
            cv2.ellipse(page, (190 + 19 * j, 94), (10, 8), 0, 0, 360, 30, 3)
        paths.append(tmp_path / f"small_{nth}.png")
        cv2.imwrite(str(paths[-1]), page)
        truths.append(f"{first}{second}000")
    run = process(paths, ProcessOptions(jobs=1), classifier=classifier)
    read = ["".join(n.text for n in f.pages[0].numbers) for f in run.files]
    # Measured with the shipped model: 20 of 20 exact; 5 without the chain (the others lose their 000).
    assert sum(r == t for r, t in zip(read, truths, strict=True)) >= 18, list(zip(truths, read, strict=True))

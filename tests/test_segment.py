"""Segmentation on synthetic pages with exact truth: recall, precision, deskew, rules and boxes, coordinates."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from digitscan.mnist import MnistData
from digitscan.segment import Box, SegmentSettings, binarise, estimate_skew, segment_page
from digitscan.synth import SyntheticPage, render_cheque, render_fields, render_form


def _gray(page: SyntheticPage) -> np.ndarray:
    return cv2.cvtColor(page.image, cv2.COLOR_RGB2GRAY)


def _match(page: SyntheticPage, gray: np.ndarray) -> tuple[int, int, int]:
    """(truth digits, truth digits found with IoU >= 0.5, reported boxes)."""
    reported = [d.box for n in segment_page(gray).numbers for d in n.digits]
    truth = [d.box for n in page.numbers for d in n.digits]
    found = sum(any(t.iou(r) >= 0.5 for r in reported) for t in truth)
    return len(truth), found, len(reported)


@pytest.fixture(scope="module")
def pages(mnist: MnistData) -> list[SyntheticPage]:
    rng = np.random.default_rng(7)
    return [render_cheque(rng, mnist) for _ in range(3)] + [render_form(rng, mnist) for _ in range(3)]


def test_digit_boxes_recall_and_precision_on_synthetic_pages(pages: list[SyntheticPage]) -> None:
    totals = np.sum([_match(page, _gray(page)) for page in pages], axis=0)
    truth, found, reported = (int(v) for v in totals)
    assert truth > 150
    assert found / truth >= 0.97
    assert found / reported >= 0.95  # comb walls, frames and rules are not reported as digits


def test_numbers_are_grouped_in_reading_order(pages: list[SyntheticPage]) -> None:
    page = pages[0]  # a cheque: date (8 cells), amount, reference number, in that order on the page
    numbers = segment_page(_gray(page)).numbers
    assert [len(n.digits) for n in numbers] == [len(t.digits) for t in page.numbers]
    for found, truth in zip(numbers, page.numbers, strict=True):
        assert all(f.box.iou(t.box) >= 0.5 for f, t in zip(found.digits, truth.digits, strict=True))


def test_inverted_scan_reads_like_the_normal_one(pages: list[SyntheticPage]) -> None:
    gray = _gray(pages[3])
    truth, found, _ = _match(pages[3], cv2.bitwise_not(gray))
    assert found / truth >= 0.97


@pytest.mark.parametrize("angle", [-6.0, -2.5, 4.0, 9.0])
def test_skew_is_measured_and_boxes_come_back_in_original_coordinates(mnist: MnistData, angle: float) -> None:
    page = render_form(np.random.default_rng(11), mnist)
    gray = _gray(page)
    height, width = gray.shape
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    rotated = cv2.warpAffine(gray, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE)
    skew, confidence = estimate_skew(cv2.threshold(255 - rotated, 80, 255, cv2.THRESH_BINARY)[1])
    assert confidence > 0.3
    # The form itself carries up to 3 degrees of synthetic skew; estimate against the whole rotation.
    page_skew = segment_page(gray).skew_deg
    assert skew == pytest.approx(page_skew - angle, abs=0.5)
    # Truth boxes follow the rotation; reported boxes must land on them in the rotated image's grid.
    rotated_truth = []
    for number in page.numbers:
        for digit in number.digits:
            b = digit.box
            corners = np.array([[b.x, b.y, 1], [b.right, b.y, 1], [b.x, b.bottom, 1], [b.right, b.bottom, 1]])
            mapped = corners @ matrix.T
            x0, y0 = mapped.min(axis=0)
            x1, y1 = mapped.max(axis=0)
            rotated_truth.append(Box(int(x0), int(y0), int(x1 - x0), int(y1 - y0)))
    reported = [d.box for n in segment_page(rotated).numbers for d in n.digits]
    found = sum(any(t.iou(r) >= 0.4 for r in reported) for t in rotated_truth)
    assert found / len(rotated_truth) >= 0.95


def test_blank_and_near_blank_pages_are_no_ops() -> None:
    blank = np.full((800, 600), 235, np.uint8)
    result = segment_page(blank)
    assert result.numbers == () and result.skew_deg == 0.0 and result.skew_confidence == 0.0
    noisy = np.clip(blank + np.random.default_rng(0).normal(0, 3, blank.shape), 0, 255).astype(np.uint8)
    assert segment_page(noisy).numbers == ()


def test_ruled_lines_are_removed_and_digits_on_them_kept(mnist: MnistData) -> None:
    page = np.full((400, 900), 250, np.uint8)
    for y in (100, 200, 300):
        cv2.line(page, (20, y), (880, y), 40, 3)
    cv2.rectangle(page, (10, 10), (890, 390), 40, 3)
    digits = [mnist.test_images[i] for i in (0, 1, 2, 3)]  # 7 2 1 0
    for index, image in enumerate(digits):
        big = cv2.resize(image, (84, 84), interpolation=cv2.INTER_CUBIC)
        region = page[120:204, 100 + 70 * index : 184 + 70 * index]  # bottoms touch the rule at y=200
        np.minimum(region, 255 - big, out=region)  # ink spacing as in handwriting
    result = segment_page(page)
    assert [len(n.digits) for n in result.numbers] == [4]
    assert all(d.box.h > 40 for d in result.numbers[0].digits)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_digits_inside_one_field_are_one_number_and_numbers_end_at_field_borders(mnist: MnistData, seed: int) -> None:
    page = render_fields(np.random.default_rng(seed), mnist)
    result = segment_page(_gray(page))
    found = [[d.box for d in n.digits] for n in result.numbers]
    for truth in page.numbers:
        boxes = [d.box for d in truth.digits]
        assert any(
            len(number) == len(boxes) and all(t.iou(f) >= 0.5 for t, f in zip(boxes, number, strict=True))
            for number in found
        ), f"{truth.text} is not one number of its own"
    assert len(result.numbers) == len(page.numbers)
    # Every drawn comb and box is found, on the original page's grid.
    for drawn in page.fields:
        assert any(drawn.iou(f.box) >= 0.8 for f in result.fields)
    assert sorted(len(f.cells) for f in result.fields) == [1, 3, 4, 4, 5, 6]


def test_combs_are_fields_and_the_page_frame_is_not(pages: list[SyntheticPage]) -> None:
    for page in pages:
        result = segment_page(_gray(page))
        for drawn in page.fields:  # the combs
            assert any(drawn.iou(f.box) >= 0.8 and len(f.cells) > 1 for f in result.fields)
        assert all(f.box.h <= 4 * result.text_height + 10 for f in result.fields)


def _amount_crop(mnist: MnistData, seed: int, rule: bool, specks: int = 25) -> tuple[np.ndarray, list[Box]]:
    """A cheque's amount cut out: four MNIST digits filling a 64-pixel strip, speckled paper, maybe a rule."""
    rng = np.random.default_rng(seed)
    crop = np.full((64, 240), 235, np.uint8)
    for _ in range(specks):  # the patterned paper's specks and line fragments, taller than the 8-pixel floor
        x, y = int(rng.integers(0, 235)), int(rng.integers(0, 52))
        crop[y : y + 10, x : x + 3] = 90
    truth = []
    for position, index in enumerate(rng.choice(len(mnist.test_labels), 4, replace=False)):
        big = cv2.resize(mnist.test_images[index], (60, 60), interpolation=cv2.INTER_CUBIC)
        region = crop[2:62, 10 + 55 * position : 70 + 55 * position]
        np.minimum(region, 255 - big, out=region)
        ys, xs = np.nonzero(big > 127)
        left, top = 10 + 55 * position + int(xs.min()), 2 + int(ys.min())
        truth.append(Box(left, top, int(np.ptp(xs)) + 1, int(np.ptp(ys)) + 1))
    if rule:  # the printed line the amount is written on, touching every digit's foot
        crop[min(t.bottom for t in truth) - 2 : min(t.bottom for t in truth) + 1, :] = 40
    return crop, truth


@pytest.mark.parametrize("rule", [False, True])
def test_an_amount_crop_is_measured_by_its_digits_not_its_specks(mnist: MnistData, rule: bool) -> None:
    found = 0
    for seed in range(5):
        crop, truth = _amount_crop(mnist, seed, rule)
        result = segment_page(crop)
        digit_height = float(np.median([t.h for t in truth]))
        assert 0.7 * digit_height <= result.text_height <= 1.2 * digit_height
        reported = [d.box for n in result.numbers for d in n.digits]
        found += sum(any(t.iou(r) >= 0.5 for r in reported) for t in truth)
    assert found >= 18  # of 20 digits (measured: 20 without a rule, 20 with)


def _hatched(crop: np.ndarray, spacing: int, level: int) -> np.ndarray:
    """The mask of thin diagonal lines drawn over ``crop`` in grey ``level``: a cheque's security hatching."""
    lines = np.zeros(crop.shape, np.uint8)
    height, width = crop.shape
    for x in range(-height, width, spacing):
        cv2.line(lines, (x, height), (x + height // 2, 0), 255, 1, cv2.LINE_AA)
    np.minimum(crop, np.where(lines > 127, level, 255).astype(np.uint8), out=crop)
    return lines > 127


@pytest.mark.parametrize("seed", range(3))
def test_a_hatched_background_is_left_out_of_the_pen_ink_and_kept_for_frames(mnist: MnistData, seed: int) -> None:
    crop, _ = _amount_crop(mnist, seed, rule=False, specks=0)
    pen = crop < 64  # the strokes' cores, not their soft edges
    plain = binarise(crop)
    assert plain.frames is plain.binary  # on plain paper both are Otsu's
    hatch = _hatched(crop, spacing=5, level=130)
    away = hatch & (cv2.dilate(pen.astype(np.uint8), np.ones((5, 5), np.uint8)) == 0)
    page = binarise(crop)
    assert np.mean(page.binary[pen] > 0) >= 0.95  # the pen's strokes
    assert np.mean(page.binary[away] > 0) <= 0.02  # not the hatching
    assert np.mean(page.frames[away] > 0) >= 0.5  # which Otsu alone takes for ink


def _page_with_printed_and_handwritten_digits(mnist: MnistData) -> tuple[np.ndarray, list[Box], list[Box]]:
    """A page with a printed account number and a printed serial (cv2.putText) above four handwritten MNIST
    digits; returns it with the boxes where the printed digits and the handwritten ones were put."""
    page = np.full((500, 1200), 245, np.uint8)
    printed = []
    for text, (x, y), scale in (("30002010108841", (60, 110), 1.4), ("083654", (700, 230), 1.0)):
        cv2.putText(page, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, 30, 3, cv2.LINE_AA)
        (w, h), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 3)
        printed.append(Box(x, y - h, w, h))
    handwritten = []
    for index, image in enumerate(mnist.test_images[[0, 1, 2, 3]]):  # 7 2 1 0
        big = cv2.resize(image, (84, 84), interpolation=cv2.INTER_CUBIC)
        x = 100 + 75 * index
        region = page[320:404, x : x + 84]
        np.minimum(region, 255 - big, out=region)
        handwritten.append(Box(x, 320, 84, 84))
    return page, printed, handwritten


def _inside(box: Box, area: Box) -> bool:
    cx, cy = box.x + box.w / 2, box.y + box.h / 2
    return area.x <= cx <= area.right and area.y <= cy <= area.bottom


def test_printed_digits_are_dropped_and_handwritten_ones_kept(mnist: MnistData) -> None:
    page, printed, handwritten = _page_with_printed_and_handwritten_digits(mnist)
    digits = [d for n in segment_page(page).numbers for d in n.digits]
    assert not any(_inside(d.box, area) for d in digits for area in printed)
    for area in handwritten:
        assert sum(_inside(d.box, area) for d in digits) == 1
    assert not any(d.printed for d in digits)


def test_keep_printed_reports_printed_digits_marked_as_printed(mnist: MnistData) -> None:
    page, printed, handwritten = _page_with_printed_and_handwritten_digits(mnist)
    digits = [d for n in segment_page(page, SegmentSettings(keep_printed=True)).numbers for d in n.digits]
    for area, count in zip(printed, (14, 6), strict=True):
        inside = [d for d in digits if _inside(d.box, area)]
        assert len(inside) == count and all(d.printed for d in inside)
    for area in handwritten:
        (digit,) = [d for d in digits if _inside(d.box, area)]
        assert not digit.printed


def test_without_printed_detection_type_is_read_as_any_digit(mnist: MnistData) -> None:
    # A template's fields hold handwriting however regular it looks, so there detection is off: nothing is
    # dropped or marked, the printed digits included.
    page, printed, handwritten = _page_with_printed_and_handwritten_digits(mnist)
    digits = [d for n in segment_page(page, SegmentSettings(find_printed=False)).numbers for d in n.digits]
    assert not any(d.printed for d in digits)
    for area, count in zip(printed, (14, 6), strict=True):
        assert sum(_inside(d.box, area) for d in digits) == count
    for area in handwritten:
        assert sum(_inside(d.box, area) for d in digits) == 1


def _neat_amount(mnist: MnistData, line: bool) -> tuple[np.ndarray, list[Box]]:
    """An amount cut out of a cheque, written neatly: five MNIST digits scaled to one height and set on one
    baseline, as regular as type; with ``line``, standing on a thin line that steps up and down every 55
    pixels, too broken for rule removal, so that it joins the digits into one component."""
    crop = np.full((60, 330), 235, np.uint8)
    truth = []
    for position, index in enumerate([1, 2, 3, 4, 7]):  # 2 1 0 4 9
        image = mnist.test_images[index]
        ys, xs = np.nonzero(image > 40)
        ink = image[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
        scale = 40 / ink.shape[0]
        big = cv2.resize(ink, (max(3, round(ink.shape[1] * scale)), 40), interpolation=cv2.INTER_CUBIC)
        big = np.where(big > 100, 255, 0).astype(np.uint8)  # a felt pen's solid ink: edges as sharp as type
        x = 15 + 62 * position
        region = crop[8:48, x : x + big.shape[1]]
        np.minimum(region, 255 - big, out=region)
        truth.append(Box(x, 8, big.shape[1], 40))
    if line:
        for x in range(0, 330, 55):
            top = 46 + 2 * (x // 55 % 2)
            crop[top : top + 2, x : x + 55] = 50
    return crop, truth


@pytest.mark.parametrize("line", [False, True])
def test_a_neat_amount_cut_out_of_a_cheque_is_read_as_handwriting(mnist: MnistData, line: bool) -> None:
    # A page that one field fills holds what was written in it: handwriting however regular, never dropped
    # as printed type, and a bent line joining its digits is cut away rather than dropping them all with it.
    crop, truth = _neat_amount(mnist, line)
    digits = [d for n in segment_page(crop).numbers for d in n.digits]
    assert sum(any(t.iou(d.box) >= 0.5 for d in digits) for t in truth) == 5
    assert len(digits) == 5 and not any(d.printed for d in digits)


def _amount_ending_with(mnist: MnistData, last: str) -> np.ndarray:
    """Three handwritten digits about 42 pixels tall ('2 1 0'), then ``last``: an '8' over 60 tall (or over 80), a
    straight '/' over 60 tall, a leaning '/' a quarter taller than the digits alone or with a hooked dash
    after it ('/-', as IDRBT's '1,25,000/-'), a '/-' in one stroke like a check mark twice their height, or three
    small loops written in one flat stroke ('000')."""
    page = np.full((140, 420), 240, np.uint8)
    for position, index in enumerate([1, 3, 13]):  # 2 1 0
        big = cv2.resize(mnist.test_images[index], (56, 56), interpolation=cv2.INTER_CUBIC)
        region = page[30:86, 40 + 60 * position : 96 + 60 * position]
        np.minimum(region, 255 - big, out=region)
    if last in ("8", "towering 8"):
        eight = int(np.flatnonzero(mnist.test_labels == 8)[0])
        size = 104 if last == "8" else 130
        big = cv2.resize(mnist.test_images[eight], (size, size), interpolation=cv2.INTER_CUBIC)
        region = page[8 : 8 + size, 210 : 210 + size]
        np.minimum(region, 255 - big, out=region)
    elif last == "/":
        cv2.line(page, (240, 90), (262, 24), 30, 4)
    elif last == "check":  # a '/-' in one stroke, the dash written first and hooked into the slash
        cv2.polylines(page, [np.array([[212, 44], [240, 104], [276, 14]], np.int32)], False, 30, 4)
    elif last == "000":
        for x in (234, 256, 278):
            cv2.ellipse(page, (x, 62), (13, 8), 0, 0, 360, 30, 4)
    else:
        cv2.line(page, (237, 80), (251, 36), 30, 4)
        if last == "/-":
            cv2.line(page, (262, 62), (302, 60), 30, 4)
            cv2.line(page, (302, 60), (310, 36), 30, 4)
    return page


@pytest.mark.parametrize(
    ("last", "count"),
    [("8", 4), ("towering 8", 4), ("/", 3), ("/-", 3), ("check", 3), ("short /", 4), ("000", 4)],
)
def test_a_closing_mark_is_dropped_and_a_digit_kept(mnist: MnistData, last: str, count: int) -> None:
    # An amount closed with a towering '/', or with '/-' whatever the slash's height, or with a towering mark
    # that closes no loop (IDRBT's '22,55,000' ended in a check mark, read as a 1), loses it; a tall 8, a
    # leaning stroke a little taller than the digits with no dash after it (a '1'), and a flat cursive '000'
    # (as long and flat as a dash, but looped) stay
    page = _amount_ending_with(mnist, last)
    numbers = segment_page(page, SegmentSettings(drop_separators=True)).numbers
    assert [len(n.digits) for n in numbers] == [count]


def test_two_lines_of_small_type_one_over_the_other_are_not_merged_into_a_digit(mnist: MnistData) -> None:
    # 'Ref. No.' printed over 'A/c No.' beside tall handwriting: close enough to merge as one digit's strokes,
    # but both are small marks; kept apart, they are specks beside the handwriting and dropped.
    page = np.full((400, 900), 245, np.uint8)
    for index, x in zip([0, 1, 2, 3], [100, 200, 300, 400], strict=True):  # 7 2 1 0, 90 pixels tall
        big = cv2.resize(mnist.test_images[index], (110, 110), interpolation=cv2.INTER_CUBIC)
        region = page[150:260, x : x + 110]
        np.minimum(region, 255 - big, out=region)
    cv2.putText(page, "Ref. No.", (600, 196), cv2.FONT_HERSHEY_SIMPLEX, 0.7, 40, 2, cv2.LINE_AA)
    cv2.putText(page, "A/c No.", (600, 222), cv2.FONT_HERSHEY_SIMPLEX, 0.7, 40, 2, cv2.LINE_AA)
    digits = [d for n in segment_page(page).numbers for d in n.digits]
    assert len(digits) == 4 and all(d.box.x < 560 for d in digits)


def _amount_with_mark(mnist: MnistData, mark: str) -> np.ndarray:
    """'2 1 0' then ``mark`` then '0 0 0', the digits about 56 pixels tall on one baseline (sizes and heights
    vary a little, as a hand's do: even ones would pass for type); ``mark`` is a comma hanging from the
    middle of the line to well below it, a point, or a small 0 sitting low (the Chilean '40.000'), or a
    smaller one ('o'), half the digits' height: as short as a point may be; ')' is a curved comma, 'u' a
    small 0 whose loop the pen left open at the top."""
    page = np.full((140, 520), 240, np.uint8)
    for position, (index, size, lift) in enumerate(
        [(1, 56, 0), (2, 60, 3), (3, 54, -2), (10, 58, 2), (13, 52, -3), (25, 57, 1)]
    ):
        big = cv2.resize(mnist.test_images[index], (size, size), interpolation=cv2.INTER_CUBIC)
        x, y = 30 + 60 * position + 60 * (position >= 3), 86 - size + lift
        region = page[y : y + size, x : x + size]
        np.minimum(region, 255 - big, out=region)
    if mark == ",":
        cv2.line(page, (222, 66), (212, 104), 30, 5)  # top below the digits' middle, foot 18 px below theirs
    elif mark == ".":
        cv2.circle(page, (218, 82), 4, 30, -1)
    elif mark == ")":  # a comma curved like a bracket, hanging as far below the foot
        cv2.ellipse(page, (212, 86), (7, 18), 0, -80, 90, 30, 5)
    elif mark == "u":  # a small 0 left open at the top
        cv2.ellipse(page, (218, 76), (12, 8), 0, -50, 230, 30, 4)
    else:
        size = 30 if mark == "0" else 28
        small = cv2.resize(mnist.test_images[28], (size, size), interpolation=cv2.INTER_CUBIC)
        region = page[88 - size : 88, 203 : 203 + size]
        np.minimum(region, 255 - small, out=region)
    return page


@pytest.mark.parametrize(("mark", "count"), [(",", 6), (".", 6), (")", 6), ("0", 7), ("o", 7), ("u", 7)])
def test_a_hanging_comma_is_dropped_and_a_small_low_zero_kept(mnist: MnistData, mark: str, count: int) -> None:
    # A handwritten comma is a long stroke, as tall as a small 0 beside it, hanging below the digits' foot
    # (IDRBT's '3,05,000' was read as '3051000'); a small 0 no lower than the foot is a digit, even when it
    # is shorter than a point may be: it closes a loop (ORAND '166000' was read '166'), or is round and
    # hollow though the pen left it open (ORAND '3400' was read '340').
    numbers = segment_page(_amount_with_mark(mnist, mark), SegmentSettings(drop_separators=True)).numbers
    assert sum(len(n.digits) for n in numbers) == count


@pytest.mark.parametrize("rule_below", [True, False])
def test_a_frames_walls_are_not_ones_even_without_a_rule_below(mnist: MnistData, rule_below: bool) -> None:
    # A cheque's amount box is often closed below by a line of microprinting, not a rule: its walls meet the
    # top rule only, at its ends (a corner), and were read as two 1s beside the amount.
    page = np.full((200, 640), 240, np.uint8)
    cv2.line(page, (60, 50), (580, 50), 20, 3)
    for x in (60, 580):  # walls 80 pixels long: twice the digits' ink, too short to be rules of the page
        cv2.line(page, (x, 50), (x, 130), 20, 3)
    if rule_below:
        cv2.line(page, (60, 130), (580, 130), 20, 3)
    for position, (index, size) in enumerate([(1, 56), (2, 60), (3, 54)]):  # 2 1 0
        big = cv2.resize(mnist.test_images[index], (size, size), interpolation=cv2.INTER_CUBIC)
        region = page[124 - size : 124, 200 + 70 * position : 200 + 70 * position + size]
        np.minimum(region, 255 - big, out=region)
    numbers = segment_page(page, SegmentSettings(drop_separators=True)).numbers
    boxes = [d.box for n in numbers for d in n.digits]
    assert len(boxes) == 3 and all(b.x >= 200 and b.right <= 400 for b in boxes)


@pytest.mark.parametrize("mark", ["ooo", "~", "."])
def test_a_mark_too_short_for_a_digit_but_no_speck_is_a_leftover_or_small_zeros(mnist: MnistData, mark: str) -> None:
    # ORAND '6.000' (its 000 a third of the 6's height, in one stroke) was read '6', its amount not flagged. 0s
    # written small in one stroke (two loops side by side) are now a digit candidate, which the touching-digit
    # reader cuts; any other mark this big beside a number may be digits it lacks, a leftover that gets the
    # number reviewed. A point is neither.
    page = _amount_with_mark(mnist, ".")
    page[:, 195:] = 240  # '2 1 0' and the point, digits about 42 pixels tall
    if mark == "ooo":
        for x in (214, 230, 246):  # a third as tall as the digits, touching: one mark
            cv2.ellipse(page, (x, 78), (7, 5), 0, 0, 360, 30, 3)
    elif mark == "~":  # a wavy stroke as wide and tall, closing no loop
        cv2.polylines(page, [np.array([[207, 80], [217, 72], [230, 82], [243, 72], [253, 80]], np.int32)], False, 30, 3)
    segmentation = segment_page(page, SegmentSettings(drop_separators=True))
    digits = [d.box for n in segmentation.numbers for d in n.digits]
    if mark == "ooo":
        assert len(digits) == 4 and 200 <= digits[-1].x <= 210 and digits[-1].right >= 250
        assert segmentation.leftovers == ()
    elif mark == "~":
        assert len(digits) == 3
        (leftover,) = segmentation.leftovers
        assert 200 <= leftover.x <= 210 and leftover.right >= 250
    else:
        assert len(digits) == 3 and segmentation.leftovers == ()


@pytest.mark.parametrize("cell_width", [56, 180])
def test_pieces_in_one_comb_cell_are_one_digit(mnist: MnistData, cell_width: int) -> None:
    # IDRBT 100829's date comb: a digit written in two pieces side by side in one cell was read as two digits
    # ('0116122016' for '01022016'). A comb holds one digit a cell; a wide cell (an amount box) holds a number.
    page = np.full((200, 700), 245, np.uint8)
    left, top, height = 80, 60, 60
    offsets = [0, 56, 112, 168] if cell_width == 56 else [0, 60, 180]  # where each digit is written
    cells = 4 if cell_width == 56 else 2
    cv2.rectangle(page, (left, top), (left + cells * cell_width, top + height), 30, 2)
    for i in range(1, cells):
        cv2.line(page, (left + i * cell_width, top), (left + i * cell_width, top + height), 30, 2)
    for offset, index in zip(offsets, [1, 3, 13, 2], strict=False):  # 2 1 0 1
        big = cv2.resize(mnist.test_images[index], (50, 50), interpolation=cv2.INTER_CUBIC)
        region = page[top + 5 : top + 55, left + offset + 3 : left + offset + 53]
        np.minimum(region, 255 - big, out=region)
    zero = left + offsets[2] + 3
    page[top + 2 : top + height - 2, zero + 23 : zero + 27] = 245  # the 0 in two arcs side by side
    numbers = segment_page(page).numbers
    assert [len(n.digits) for n in numbers] == [4]  # the comb: 2 1 0 1; the box: 2 1 and the 0's two arcs
    # a digit alone in a comb's cell is never cut into two (the touching-digit reader leaves it whole)
    assert [d.in_cell for d in numbers[0].digits] == [cell_width == 56] * 4


def test_a_small_digit_in_a_comb_cell_is_its_digit(mnist: MnistData) -> None:
    # IDRBT 309074's date: a 0 written a quarter of its cell's height, beside digits twice as tall, fell under
    # the page's digit height and was dropped as a speck ('3116' for '30012016'). Ink that fills a fifth of a
    # comb's cell is the digit written there; a point does not.
    page = np.full((200, 700), 245, np.uint8)
    left, top, height, width = 80, 60, 60, 56
    cv2.rectangle(page, (left, top), (left + 5 * width, top + height), 30, 2)
    for i in range(1, 5):
        cv2.line(page, (left + i * width, top), (left + i * width, top + height), 30, 2)
    for cell, (index, size) in enumerate([(1, 50), (3, 50), (13, 20), (2, 50)]):  # 2 1 0 1, the 0 small
        ink = cv2.resize(mnist.test_images[index], (size, size), interpolation=cv2.INTER_CUBIC)
        y, x = top + 55 - size, left + cell * width + (width - size) // 2
        np.minimum(page[y : y + size, x : x + size], 255 - ink, out=page[y : y + size, x : x + size])
    cv2.circle(page, (left + 4 * width + 28, top + 45), 3, 30, -1)  # a point in the last cell
    (number,) = segment_page(page).numbers
    assert len(number.digits) == 4
    assert left + 2 * width <= number.digits[2].box.x and number.digits[2].box.right <= left + 3 * width


def test_a_comb_wall_printed_fainter_that_stops_short_of_its_rule_is_no_digit(mnist: MnistData) -> None:
    # IDRBT 309151's date comb: four of its walls are hairlines the scan lost the top 8 pixels of, so they
    # joined no rule above and were read as 1s ('21101120116' for '21012016'). Such a hairline is a wall where
    # the comb's other walls put one; a pen's '1' in a cell, as tall, is not.
    page = np.full((200, 620), 245, np.uint8)
    left, top, height, width = 60, 60, 64, 60
    cv2.line(page, (left, top), (left + 8 * width, top), 40, 2)
    cv2.line(page, (left, top + height), (left + 8 * width, top + height), 40, 2)
    for i in range(9):
        x = left + i * width
        if i in (2, 3, 7):  # hairlines stopping short of the top rule
            cv2.line(page, (x, top + 9), (x, top + height), 40, 1)
        else:
            cv2.line(page, (x, top), (x, top + height), 40, 2)
    for cell in range(8):
        index = int(np.flatnonzero(mnist.test_labels == (1 if cell == 3 else 2))[cell])
        ink = cv2.resize(mnist.test_images[index], (48, 48), interpolation=cv2.INTER_CUBIC)
        y, x = top + 10, left + cell * width + 6
        np.minimum(page[y : y + 48, x : x + 48], 255 - ink, out=page[y : y + 48, x : x + 48])
    digits = sorted((d.box for n in segment_page(page).numbers for d in n.digits), key=lambda b: b.x)
    assert len(digits) == 8
    for cell, box in enumerate(digits):  # one a cell, none on a wall
        assert left + cell * width < box.x and box.right < left + (cell + 1) * width


@pytest.mark.parametrize("currency_cell", [False, True])
def test_an_amount_box_beside_its_currency_cell_loses_its_closing_mark(mnist: MnistData, currency_cell: bool) -> None:
    # A cheque's amount box often has a cell of its own for the printed currency sign: the field is then two
    # cells, the amount's wide. Its closing '/-' is dropped as in a box of one cell (IDRBT's Canara cheques
    # read '73000001' and '550000015'), while a comb's last cell keeps its digit.
    page = np.full((180, 520), 240, np.uint8)
    np.minimum(page[20:160, 90:510], _amount_ending_with(mnist, "/-"), out=page[20:160, 90:510])
    cv2.rectangle(page, (10 if currency_cell else 100, 10), (500, 170), 40, 3)
    if currency_cell:
        cv2.line(page, (100, 10), (100, 170), 40, 3)
    found = segment_page(page, SegmentSettings(drop_separators=True))
    assert [len(f.cells) for f in found.fields] == [2 if currency_cell else 1]
    assert [len(n.digits) for n in found.numbers] == [3]


BLUE_PEN, BLACK = (20, 40, 150), (25, 25, 25)


def _colour_page(
    mnist: MnistData, pen: tuple[int, int, int], label: tuple[int, int, int], comb: bool
) -> tuple[np.ndarray, Box]:
    """An RGB page: six MNIST digits in ``pen`` in a printed comb (or on a plain line without one), and left of
    them a printed '37' in ``label`` ink, two characters: too few for the regularity test to call type."""
    page = np.full((240, 900, 3), (250, 248, 240), np.uint8)
    left, top, cell = 330, 70, 80
    if comb:
        cv2.rectangle(page, (left, top), (left + 6 * cell, top + 90), BLACK, 2)
        for i in range(1, 6):
            cv2.line(page, (left + i * cell, top), (left + i * cell, top + 90), BLACK, 2)
    for i, index in enumerate([0, 1, 2, 3, 4, 7]):  # 7 2 1 0 4 9
        ink = cv2.resize(mnist.test_images[index], (64, 64), interpolation=cv2.INTER_CUBIC).astype(np.float32) / 255
        region = page[top + 14 : top + 78, left + i * cell + 8 : left + i * cell + 72].astype(np.float32)
        region = region * (1 - ink[..., None]) + np.array(pen, np.float32) * ink[..., None]
        page[top + 14 : top + 78, left + i * cell + 8 : left + i * cell + 72] = region.astype(np.uint8)
    cv2.putText(page, "37", (120, 140), cv2.FONT_HERSHEY_SIMPLEX, 1.6, label, 4, cv2.LINE_AA)
    return page, Box(110, 90, 100, 60)


def _chroma(page: np.ndarray) -> np.ndarray:
    return (page.max(axis=2) - page.min(axis=2)).astype(np.uint8)


def test_a_coloured_pen_in_a_comb_tells_black_print_beside_it(mnist: MnistData) -> None:
    # IDRBT's cheques written in blue ballpoint: printed labels the regularity test cannot call type (a word
    # in Devanagari, 'अदा करें', two capitals in a box, lower-case text of uneven heights) were read as digits
    # inside the amount and date fields. Where the comb's handwriting is in a coloured pen, black ink outside
    # the fields is print.
    page, label = _colour_page(mnist, BLUE_PEN, BLACK, comb=True)
    gray = cv2.cvtColor(page, cv2.COLOR_RGB2GRAY)
    plain = [d.box for n in segment_page(gray).numbers for d in n.digits]
    coloured = [d.box for n in segment_page(gray, chroma=_chroma(page)).numbers for d in n.digits]
    assert sum(_inside(b, label) for b in plain) == 2  # without colour the label reads as two digits
    assert not any(_inside(b, label) for b in coloured)
    assert coloured == [b for b in plain if not _inside(b, label)] and len(coloured) == 6  # the comb's as before
    kept = segment_page(gray, SegmentSettings(keep_printed=True), _chroma(page)).numbers
    assert [d.printed for n in kept for d in n.digits if _inside(d.box, label)] == [True, True]


@pytest.mark.parametrize(
    ("pen", "label", "comb"),
    [(BLACK, BLACK, True), (BLACK, BLUE_PEN, True), (BLUE_PEN, BLACK, False)],
    ids=["black pen", "blue print, black pen", "no comb to know the pen by"],
)
def test_colour_changes_nothing_without_a_coloured_pen_in_a_comb(
    mnist: MnistData, pen: tuple[int, int, int], label: tuple[int, int, int], comb: bool
) -> None:
    # A blue printed account number beside black handwriting is no pen; nor is colour trusted where no comb
    # shows what the handwriting is written in.
    page, label_box = _colour_page(mnist, pen, label, comb)
    gray = cv2.cvtColor(page, cv2.COLOR_RGB2GRAY)
    plain = [d.box for n in segment_page(gray).numbers for d in n.digits]
    assert [d.box for n in segment_page(gray, chroma=_chroma(page)).numbers for d in n.digits] == plain
    assert sum(_inside(b, label_box) for b in plain) == 2


@pytest.mark.parametrize("suffix", [".png", ".pdf"])
def test_a_colour_scan_is_read_without_the_print_beside_a_blue_comb(  # type: ignore[no-untyped-def]
    tmp_path, mnist: MnistData, classifier, suffix: str
) -> None:
    # End to end: the page saved as a colour PNG or PDF (rendered by poppler in colour), loaded, segmented with
    # its chroma and classified.
    from PIL import Image

    from digitscan.pipeline import process

    page, _ = _colour_page(mnist, BLUE_PEN, BLACK, comb=True)
    Image.fromarray(page).save(tmp_path / f"cheque{suffix}", resolution=300.0)
    (read,) = process([tmp_path / f"cheque{suffix}"], classifier=classifier).files[0].pages
    assert [n.text for n in read.numbers] == ["721049"]
    Image.fromarray(cv2.cvtColor(page, cv2.COLOR_RGB2GRAY)).save(tmp_path / "gray.png")
    (gray,) = process([tmp_path / "gray.png"], classifier=classifier).files[0].pages
    assert len(gray.numbers) == 2 and gray.numbers[1].text == "721049"  # the label read as a number first

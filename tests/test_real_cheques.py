"""Real IDRBT cheques (evaluation data outside the repo): printed numbers are not read as handwriting."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from digitscan.loading import iter_pages
from digitscan.pipeline import ProcessOptions, process
from digitscan.results import DigitResult

from .conftest import REPO

IDRBT = REPO.parent / "shared" / "data" / "real" / "cheques_idrbt"
CHEQUES = ["Cheque_083654.jpg", "Cheque_100833.jpg", "Cheque_309066.jpg"]  # three of the four banks


def _require_idrbt() -> None:
    if not IDRBT.is_dir():
        pytest.skip(
            "../shared/data/real/cheques_idrbt is absent (real scans are evaluation data kept outside the repo)"
        )


@pytest.fixture(scope="module")
def dates() -> dict[str, tuple[str, tuple[float, float, float, float]]]:
    """Per cheque: the handwritten date's digits and the label box around it."""
    _require_idrbt()
    with (IDRBT / "labels.csv").open(newline="", encoding="utf-8") as stream:
        return {
            Path(row["image"]).name: (
                row["digits"],
                (float(row["x1"]), float(row["y1"]), float(row["x2"]), float(row["y2"])),
            )
            for row in csv.DictReader(stream)
            if row["field"] == "date_ddmmyyyy"
        }


def _digits(options: ProcessOptions, classifier) -> dict[str, list[DigitResult]]:  # type: ignore[no-untyped-def]
    run = process([IDRBT / "images" / name for name in CHEQUES], options, classifier=classifier)
    return {Path(f.file).name: [d for n in f.pages[0].numbers for d in n.digits] for f in run.files}


def _micr(digits: list[DigitResult]) -> list[DigitResult]:
    """The digits on the MICR line: the bottom of the cheque, away from its edges (specks on the scan's rim)."""
    return [d for d in digits if d.box.y > 0.85 * 1079 and 0.2 * 2365 < d.box.x < 0.8 * 2365]


def _inside(digit: DigitResult, box: tuple[float, float, float, float]) -> bool:
    cx, cy = digit.box.x + digit.box.w / 2, digit.box.y + digit.box.h / 2
    return box[0] <= cx <= box[2] and box[1] <= cy <= box[3]


def test_dates_read_exactly_and_printed_numbers_left_out(dates, classifier) -> None:  # type: ignore[no-untyped-def]
    plain = _digits(ProcessOptions(), classifier)
    for name in CHEQUES:
        text, box = dates[name]
        inside = sorted((d for d in plain[name] if _inside(d, box)), key=lambda d: d.box.x)
        assert "".join(str(d.digit) for d in inside) == text, name  # not the printed DDMMYYYY under the comb
        # The line's own runs are left out; its last group, two characters after a wide gap, may stay.
        assert len(_micr(plain[name])) <= 2, name
    printed = _digits(ProcessOptions(printed=True), classifier)
    for name in CHEQUES:
        assert sum(d.printed for d in _micr(printed[name])) >= 15, name  # reported, marked printed


@pytest.mark.parametrize("name", ["Cheque_083658.jpg", "Cheque_309131.jpg"])
def test_an_amount_closed_by_a_towering_hooked_slash_loses_it(classifier, name: str) -> None:  # type: ignore[no-untyped-def]
    # '/-' written in one stroke (a check mark, a slash with its dash hooked on): no straight stroke, but twice
    # as tall as the digits and closing no loop. It was read as a last digit: '22550001', '5100005'.
    _require_idrbt()
    with (IDRBT / "labels.csv").open(newline="", encoding="utf-8") as stream:
        (row,) = [r for r in csv.DictReader(stream) if Path(r["image"]).name == name and r["field"] == "amount"]
    box = (float(row["x1"]), float(row["y1"]), float(row["x2"]), float(row["y2"]))
    run = process([IDRBT / "images" / name], ProcessOptions(), classifier=classifier)
    inside = sorted(
        (d for n in run.files[0].pages[0].numbers for d in n.digits if _inside(d, box)), key=lambda d: d.box.x
    )
    assert "".join(str(d.digit) for d in inside) == row["digits"]


def test_a_comma_is_judged_against_its_neighbours_in_a_template_amount(classifier) -> None:  # type: ignore[no-untyped-def]
    # '1,25,000/-': the 000 written small and low set the field's median top as low as the comma's after the
    # 1, which stayed and was read as another 1 ('1125000'). Beside the 1 and the 2 it sits low: a comma.
    _require_idrbt()
    options = ProcessOptions(template=REPO / "templates" / "cts2010-cheque.yaml")
    run = process([IDRBT / "images" / "Cheque_309157.jpg"], options, classifier=classifier)
    (amount,) = [n for n in run.files[0].pages[0].numbers if n.field == "amount"]
    assert amount.text == "125000"


def test_cursive_zeros_joined_at_their_tops_are_read_as_zeros(classifier) -> None:  # type: ignore[no-untyped-def]
    # '2,35,000' and '12,00,500' with the template: 0s joined at their tops (the join a bar over the middle 0,
    # read as a 5) and a '500' in one stroke, the 5's bar running over the 0s ('235050', '1200550' before
    # touching.LOOPED_ZERO_RUN_PRIOR): each 0 holds a 0's loop, which no 5 closes.
    _require_idrbt()
    options = ProcessOptions(template=REPO / "templates" / "cts2010-cheque.yaml")
    run = process([IDRBT / "images" / f"Cheque_{n}.jpg" for n in ("309083", "309078")], options, classifier=classifier)
    amounts = [n.text for f in run.files for n in f.pages[0].numbers if n.field == "amount"]
    assert amounts == ["235000", "1200500"]


def _field(name: str, field: str) -> tuple[str, tuple[float, float, float, float]]:
    with (IDRBT / "labels.csv").open(newline="", encoding="utf-8") as stream:
        (row,) = [r for r in csv.DictReader(stream) if Path(r["image"]).name == name and r["field"] == field]
    return row["digits"], (float(row["x1"]), float(row["y1"]), float(row["x2"]), float(row["y2"]))


BLUE_PEN_FIELDS = [
    ("Cheque_120612.jpg", "date_ddmmyyyy"),  # 'ब बैं | SB' and 'only from the date of' were read into it
    ("Cheque_309078.jpg", "amount"),  # the label 'अदा करें' left of the box: '7217571200500'
    ("Cheque_309094.jpg", "amount"),  # 'करें' and, beside the printed rupee sign, a comma: '72601000'
    ("Cheque_309151.jpg", "amount"),  # its comma, judged beside the rupee sign: '140001000'
]


def test_print_beside_the_fields_of_a_cheque_written_in_blue_is_left_out(classifier) -> None:  # type: ignore[no-untyped-def]
    # The cheques are colour scans; their date combs hold blue ballpoint, so black ink outside the fields is
    # print (segment._mark_print_by_colour). Page mode, no template.
    _require_idrbt()
    names = sorted({name for name, _ in BLUE_PEN_FIELDS})
    run = process([IDRBT / "images" / name for name in names], ProcessOptions(), classifier=classifier)
    digits = {Path(f.file).name: [d for n in f.pages[0].numbers for d in n.digits] for f in run.files}
    for name, field in BLUE_PEN_FIELDS:
        text, box = _field(name, field)
        inside = sorted((d for d in digits[name] if _inside(d, box)), key=lambda d: d.box.x)
        assert "".join(str(d.digit) for d in inside) == text, name


def test_a_printed_word_hanging_from_one_line_is_not_cut_into_digits(classifier) -> None:  # type: ignore[no-untyped-def]
    # 120616 is written in black: its printed 'अदा करें' left of the amount box is not told by colour. 'करें',
    # one blob whose letters hang from one straight line, was cut into parts read as '7177', and its '7' fell
    # inside the amount's label box ('75500000'). A blob with such a headline is one character, never cut.
    _require_idrbt()
    text, box = _field("Cheque_120616.jpg", "amount")
    run = process([IDRBT / "images" / "Cheque_120616.jpg"], ProcessOptions(), classifier=classifier)
    inside = sorted(
        (d for n in run.files[0].pages[0].numbers for d in n.digits if _inside(d, box)), key=lambda d: d.box.x
    )
    assert "".join(str(d.digit) for d in inside) == text


def test_a_cheque_written_in_black_is_segmented_as_in_gray_however_colourful_its_print() -> None:
    # 083654's account number is printed in blue and its handwriting is black: no pen colour is found in its
    # date comb, and its colour changes nothing.
    _require_idrbt()
    from digitscan.discover import InputFile, detect_kind
    from digitscan.segment import SegmentSettings, segment_page

    path = IDRBT / "images" / "Cheque_083654.jpg"
    page = next(iter_pages(InputFile(path, path.name, detect_kind(path))))
    assert page.chroma is not None
    settings = SegmentSettings(drop_separators=True)
    boxes = [[d.box for d in n.digits] for n in segment_page(page.image, settings).numbers]
    assert [[d.box for d in n.digits] for n in segment_page(page.image, settings, page.chroma).numbers] == boxes

"""The scorer itself: exact counts on hand-made truth and results."""

from __future__ import annotations

from digitscan.scoring import score, score_pages

TRUTH = {
    "files": {
        "a.png": [
            {
                "page": 1,
                "numbers": [
                    {
                        "text": "12",
                        "digits": [{"digit": 1, "box": [0, 0, 10, 20]}, {"digit": 2, "box": [15, 0, 10, 20]}],
                    },
                    {"text": "7", "digits": [{"digit": 7, "box": [100, 0, 10, 20]}]},
                ],
            }
        ]
    }
}


def _row(
    number: int, position: int, digit: int, x: int, y: int = 0, file: str = "a.png", review: bool = False, w: int = 10
) -> dict[str, str]:
    values = {"file": file, "page": 1, "number": number, "position": position, "digit": digit}
    flags = {"needs_review": "true" if review else "false", "printed": "false"}
    return {k: str(v) for k, v in {**values, "x": x, "y": y, "w": w, "h": 20}.items()} | flags


def test_perfect_results_score_one() -> None:
    result = score(TRUTH, [_row(0, 0, 1, 0), _row(0, 1, 2, 15), _row(1, 0, 7, 100)])
    assert (result.digit_accuracy, result.box_recall, result.box_precision, result.number_exact) == (1, 1, 1, 1)


def test_wrong_digit_missed_box_extra_box_and_merged_numbers_are_counted() -> None:
    rows = [_row(0, 0, 1, 0), _row(0, 1, 3, 15), _row(1, 0, 7, 100, y=30), _row(2, 0, 4, 300)]
    result = score(TRUTH, rows)
    assert (result.truth_digits, result.found_digits, result.correct_digits, result.reported_digits) == (3, 2, 1, 4)
    assert result.number_exact == 0
    merged = score(TRUTH, [_row(0, 0, 1, 0), _row(0, 1, 2, 15), _row(0, 2, 7, 100)])
    assert merged.correct_digits == 3 and merged.exact_numbers == 0  # "127" is not "12" and "7"
    other_file = score(TRUTH, [_row(0, 0, 1, 0, file="b.png")])
    assert other_file.found_digits == 0


def test_wrong_numbers_are_flagged_when_a_number_holding_their_digits_needs_review() -> None:
    # "12" misread as "13" with the 3 doubted: flagged; "7" read as 1, sure: wrong and not flagged
    rows = [_row(0, 0, 1, 0), _row(0, 1, 3, 15, review=True), _row(1, 0, 1, 100)]
    result = score(TRUTH, rows)
    assert (result.wrong_numbers, result.flagged_wrong_numbers, result.wrong_flagged) == (2, 1, 0.5)
    # one box over both digits of "12" (a touching pair read whole) matches neither, but holds them: flagged
    merged = score(TRUTH, [_row(0, 0, 8, 0, w=25, review=True), _row(1, 0, 7, 100)])
    assert (merged.found_digits, merged.wrong_numbers, merged.flagged_wrong_numbers) == (1, 1, 1)
    # nothing reported for "7": wrong, and nothing to flag
    missed = score(TRUTH, [_row(0, 0, 1, 0), _row(0, 1, 2, 15)])
    assert (missed.wrong_numbers, missed.flagged_wrong_numbers) == (1, 0)
    assert score(TRUTH, [_row(0, 0, 1, 0), _row(0, 1, 2, 15), _row(1, 0, 7, 100)]).wrong_flagged == 1.0


def test_reported_digits_on_printed_characters_are_counted_apart() -> None:
    page = TRUTH["files"]["a.png"][0]
    printed = [{"char": c, "box": [x, 0, w, 20]} for c, x, w in (("4", 200, 10), ("5", 212, 10), ("R", 300, 12))]
    truth = {"files": {"a.png": [{**page, "printed": printed}]}}
    rows = [_row(0, 0, 1, 0), _row(0, 1, 2, 15), _row(1, 0, 7, 100)]
    rows += [_row(2, 0, 4, 201), _row(3, 0, 4, 205, w=18), _row(4, 0, 8, 300), _row(5, 0, 1, 500)]
    rows.append({**_row(6, 0, 5, 212), "printed": "true"})  # reported as printed (--printed): not handwriting
    result = score(truth, rows)
    assert (result.printed_digits_reported, result.printed_letters_reported) == (2, 1)
    assert result.reported_digits == 8 and result.found_digits == 3  # precision counts them all, as before


def test_digits_not_found_say_whether_their_box_was_too_big_too_small_or_absent() -> None:
    # the 1 and 2 of "12" read in one box over both (too big for either); "7" read in its top half only
    rows = [_row(0, 0, 8, 0, w=25), {**_row(1, 0, 7, 100), "h": "8"}]
    (page,) = score_pages(TRUTH, rows)
    assert sorted(page.missed_digits) == ["too big", "too big", "too small"]
    (alone,) = score_pages(TRUTH, [_row(0, 0, 1, 0), _row(0, 1, 2, 15)])
    assert alone.missed_digits == ("nothing",)
    (perfect,) = score_pages(TRUTH, [_row(0, 0, 1, 0), _row(0, 1, 2, 15), _row(1, 0, 7, 100)])
    assert perfect.missed_digits == ()

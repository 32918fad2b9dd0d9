"""The scorer itself: exact counts on hand-made truth and results."""

from __future__ import annotations

from digitscan.scoring import score

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


def _row(number: int, position: int, digit: int, x: int, y: int = 0, file: str = "a.png") -> dict[str, str]:
    values = {"file": file, "page": 1, "number": number, "position": position, "digit": digit}
    return {k: str(v) for k, v in {**values, "x": x, "y": y, "w": 10, "h": 20}.items()}


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

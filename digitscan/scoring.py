"""Score results against ground truth (``truth.json`` written by ``digitscan synth``).

A truth digit is found when a reported digit on the same file and page overlaps its box with IoU >= 0.5
(each reported digit matches at most one truth digit, best overlaps first); it is read correctly when the
matched digit has the same value. A truth number is read exactly when one reported number has exactly its
digits, matched one to one, in order, with the right values.

Two measures say whether mistakes are safe. A wrong number (a truth number not read exactly) is flagged
when a reported number holding any of its digits (matched to one, or centred inside the number's box)
carries ``needs_review`` on any digit; a number of which nothing was reported is wrong and not flagged.
Scanned-style truth lists the page's printed characters: a reported digit that matches no handwritten digit
and covers at least half of a printed character (or lies half on one) is printed type reported as
handwriting, counted apart for printed digits and printed letters.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from digitscan.errors import BadResultsError, UsageError
from digitscan.review import load_results
from digitscan.segment import Box
from digitscan.writers import digit_rows

MIN_IOU = 0.5


@dataclass(frozen=True)
class Score:
    """Counts and rates of one scoring."""

    truth_digits: int
    found_digits: int
    correct_digits: int
    reported_digits: int
    truth_numbers: int
    exact_numbers: int
    flagged_wrong_numbers: int = 0
    printed_digits_reported: int = 0
    printed_letters_reported: int = 0

    @property
    def digit_accuracy(self) -> float:
        """Share of truth digits found and read correctly (the headline figure)."""
        return self.correct_digits / self.truth_digits if self.truth_digits else 0.0

    @property
    def box_recall(self) -> float:
        return self.found_digits / self.truth_digits if self.truth_digits else 0.0

    @property
    def box_precision(self) -> float:
        return self.found_digits / self.reported_digits if self.reported_digits else 0.0

    @property
    def number_exact(self) -> float:
        return self.exact_numbers / self.truth_numbers if self.truth_numbers else 0.0

    @property
    def wrong_numbers(self) -> int:
        return self.truth_numbers - self.exact_numbers

    @property
    def wrong_flagged(self) -> float:
        """Share of wrong numbers that reach review (1 when none is wrong): the ones a machine would pass
        unchecked are the rest."""
        return self.flagged_wrong_numbers / self.wrong_numbers if self.wrong_numbers else 1.0

    def __add__(self, other: Score) -> Score:
        return Score(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(Score)))

    def summary(self) -> dict[str, float | int]:
        """Counts and rates as one flat dict."""
        return {
            "truth_digits": self.truth_digits,
            "digit_accuracy": round(self.digit_accuracy, 4),
            "box_recall": round(self.box_recall, 4),
            "box_precision": round(self.box_precision, 4),
            "number_exact": round(self.number_exact, 4),
            "wrong_numbers": self.wrong_numbers,
            "wrong_flagged": round(self.wrong_flagged, 4),
            "printed_digits_reported": self.printed_digits_reported,
            "printed_letters_reported": self.printed_letters_reported,
        }


EMPTY = Score(0, 0, 0, 0, 0, 0)


@dataclass(frozen=True)
class PageScore:
    """One page's score, with what happened to each truth number and each reported digit that matched no
    truth digit (for failure analysis)."""

    file: str
    page: int
    score: Score
    outcomes: tuple[str, ...]  # per truth number: exact, missed (a digit not found), misread, grouped
    false_boxes: tuple[str, ...]  # per unmatched reported digit: printed digit, printed letter, handwriting, other
    missed_digits: tuple[str, ...] = ()  # per unmatched truth digit: too big, too small or nothing (_missed_kind)


@dataclass(frozen=True)
class _Reported:
    number: int
    position: int
    digit: int
    box: Box
    needs_review: bool
    printed: bool


def read_results_csv(path: Path) -> list[dict[str, str]]:
    """The rows of a results CSV."""
    with path.open(newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def read_results(path: Path) -> list[dict[str, str]]:
    """One row per reported digit, as a results CSV holds them, from a results CSV or JSON file: a JSON one
    is read as review reads it and laid out by the CSV writer's own rows."""
    if path.suffix.lower() != ".json":
        return read_results_csv(path)
    try:
        run = load_results(path).run
    except BadResultsError as exc:
        raise UsageError(f"{path} is not a results JSON written by digitscan process ({exc})") from exc
    return [{column: str(value) for column, value in row.items()} for row in digit_rows(run)]


def _reported_by_page(rows: list[dict[str, str]]) -> dict[tuple[str, int], list[_Reported]]:
    reported: dict[tuple[str, int], list[_Reported]] = defaultdict(list)
    for row in rows:
        if not row["digit"]:  # an empty template field: no digit to score
            continue
        box = Box(int(row["x"]), int(row["y"]), int(row["w"]), int(row["h"]))
        key = (row["file"], int(row["page"]))
        flags = row.get("needs_review") == "true", row.get("printed") == "true"
        reported[key].append(_Reported(int(row["number"]), int(row["position"]), int(row["digit"]), box, *flags))
    return reported


def _covers_half(a: Box, b: Box) -> bool:
    """Whether ``a`` and ``b`` share at least half of the smaller one's area."""
    inter_w = min(a.right, b.right) - max(a.x, b.x)
    inter_h = min(a.bottom, b.bottom) - max(a.y, b.y)
    return inter_w > 0 and inter_h > 0 and 2 * inter_w * inter_h >= min(a.w * a.h, b.w * b.h)


def _score_page(file_name: str, page: dict[str, Any], found: list[_Reported]) -> PageScore:
    """One truth page against the digits reported on it."""
    truth_digits = [
        (n_index, Box(*d["box"]), d["digit"])
        for n_index, number in enumerate(page["numbers"])
        for d in number["digits"]
    ]
    pairs = sorted(
        (
            (t_box.iou(r.box), t_index, r_index)
            for t_index, (_, t_box, _) in enumerate(truth_digits)
            for r_index, r in enumerate(found)
            if t_box.iou(r.box) >= MIN_IOU
        ),
        reverse=True,
    )
    match: dict[int, int] = {}
    used: set[int] = set()
    for _, t_index, r_index in pairs:
        if t_index not in match and r_index not in used:
            match[t_index] = r_index
            used.add(r_index)
    outcomes = []
    flagged = 0
    for n_index, number in enumerate(page["numbers"]):
        members = [t for t, (n, _, _) in enumerate(truth_digits) if n == n_index]
        if not all(t in match for t in members):
            outcome = "missed"
        else:
            matched = [found[match[t]] for t in members]
            same_number = {r.number for r in matched}
            in_order = [r.position for r in matched] == sorted(r.position for r in matched)
            whole = len(same_number) == 1 and sum(r.number == matched[0].number for r in found) == len(members)
            text = "".join(str(r.digit) for r in matched)
            outcome = "misread" if text != number["text"] else "exact" if whole and in_order else "grouped"
        outcomes.append(outcome)
        if outcome != "exact":
            area = Box.enclosing([truth_digits[t][1] for t in members])
            holding = {found[match[t]].number for t in members if t in match} | {
                r.number for r in found if _centre_in(r.box, area)
            }
            flagged += any(r.needs_review for r in found if r.number in holding)
    printed = [(c["char"], Box(*c["box"])) for c in page.get("printed", [])]
    false_boxes = []
    for r_index, r in enumerate(found):
        if r_index in used or r.printed:
            continue
        char = next((char for char, box in printed if _covers_half(r.box, box)), None)
        if char is not None:
            false_boxes.append("printed digit" if char.isdigit() else "printed letter")
        elif any(_centre_in(r.box, t_box) or _centre_in(t_box, r.box) for _, t_box, _ in truth_digits):
            false_boxes.append("handwriting")
        else:
            false_boxes.append("other")
    missed = tuple(
        _missed_kind(t_box, [r.box for r in found]) for t, (_, t_box, _) in enumerate(truth_digits) if t not in match
    )
    score = Score(
        truth_digits=len(truth_digits),
        found_digits=len(match),
        correct_digits=sum(found[r].digit == truth_digits[t][2] for t, r in match.items()),
        reported_digits=len(found),
        truth_numbers=len(page["numbers"]),
        exact_numbers=outcomes.count("exact"),
        flagged_wrong_numbers=flagged,
        printed_digits_reported=false_boxes.count("printed digit"),
        printed_letters_reported=false_boxes.count("printed letter"),
    )
    return PageScore(file_name, page["page"], score, tuple(outcomes), tuple(false_boxes), missed)


def _missed_kind(truth: Box, reported: list[Box]) -> str:
    """Why a truth digit matched no reported box: the box overlapping it most is bigger (merged with a
    neighbour or a mark), or smaller (a piece of it), or nothing reported overlaps it."""
    best = max(reported, key=truth.iou, default=None)
    if best is None or truth.iou(best) == 0:
        return "nothing"
    return "too big" if best.w * best.h > truth.w * truth.h else "too small"


def _centre_in(box: Box, area: Box) -> bool:
    return area.x <= box.x + box.w / 2 <= area.right and area.y <= box.y + box.h / 2 <= area.bottom


def score_pages(truth: dict[str, Any], rows: list[dict[str, str]]) -> list[PageScore]:
    """Score each truth page against results CSV rows (as read by :func:`read_results_csv`)."""
    reported = _reported_by_page(rows)
    return [
        _score_page(file_name, page, reported.get((file_name, page["page"]), []))
        for file_name, pages in truth["files"].items()
        for page in pages
    ]


def score(truth: dict[str, Any], rows: list[dict[str, str]]) -> Score:
    """Score results CSV rows against a truth document; digits reported on pages without truth count as
    reported (false boxes) too."""
    total = sum((p.score for p in score_pages(truth, rows)), EMPTY)
    reported = sum(len(digits) for digits in _reported_by_page(rows).values())
    return Score(*(reported if f.name == "reported_digits" else getattr(total, f.name) for f in fields(Score)))


def score_files(results: Path, truth_json: Path) -> Score:
    """Score a results CSV or JSON file against a truth JSON file."""
    truth = json.loads(truth_json.read_text(encoding="utf-8"))
    return score(truth, read_results(results))

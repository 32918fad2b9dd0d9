"""Score results against ground truth (``truth.json`` written by ``digitscan synth``).

A truth digit is found when a reported digit on the same file and page overlaps its box with IoU >= 0.5
(each reported digit matches at most one truth digit, best overlaps first); it is read correctly when the
matched digit has the same value. A truth number is read exactly when one reported number has exactly its
digits, matched one to one, in order, with the right values.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from digitscan.segment import Box

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

    def summary(self) -> dict[str, float | int]:
        """Counts and rates as one flat dict."""
        return {
            "truth_digits": self.truth_digits,
            "digit_accuracy": round(self.digit_accuracy, 4),
            "box_recall": round(self.box_recall, 4),
            "box_precision": round(self.box_precision, 4),
            "number_exact": round(self.number_exact, 4),
        }


@dataclass(frozen=True)
class _Reported:
    number: int
    position: int
    digit: int
    box: Box


def read_results_csv(path: Path) -> list[dict[str, str]]:
    """The rows of a results CSV."""
    with path.open(newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def score(truth: dict[str, Any], rows: list[dict[str, str]]) -> Score:
    """Score results CSV rows (as read by :func:`read_results_csv`) against a truth document."""
    reported: dict[tuple[str, int], list[_Reported]] = defaultdict(list)
    for row in rows:
        if not row["digit"]:  # an empty template field: no digit to score
            continue
        box = Box(int(row["x"]), int(row["y"]), int(row["w"]), int(row["h"]))
        key = (row["file"], int(row["page"]))
        reported[key].append(_Reported(int(row["number"]), int(row["position"]), int(row["digit"]), box))

    counts = {"truth": 0, "found": 0, "correct": 0, "numbers": 0, "exact": 0}
    for file_name, pages in truth["files"].items():
        for page in pages:
            found = reported.get((file_name, page["page"]), [])
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
            counts["truth"] += len(truth_digits)
            counts["found"] += len(match)
            counts["correct"] += sum(found[r].digit == truth_digits[t][2] for t, r in match.items())
            for n_index, number in enumerate(page["numbers"]):
                counts["numbers"] += 1
                members = [t for t, (n, _, _) in enumerate(truth_digits) if n == n_index]
                if all(t in match for t in members):
                    matched = [found[match[t]] for t in members]
                    same_number = {r.number for r in matched}
                    in_order = [r.position for r in matched] == sorted(r.position for r in matched)
                    whole = len(same_number) == 1 and sum(r.number == matched[0].number for r in found) == len(members)
                    text = "".join(str(r.digit) for r in matched)
                    counts["exact"] += int(whole and in_order and text == number["text"])
    return Score(
        truth_digits=counts["truth"],
        found_digits=counts["found"],
        correct_digits=counts["correct"],
        reported_digits=sum(len(v) for v in reported.values()),
        truth_numbers=counts["numbers"],
        exact_numbers=counts["exact"],
    )


def score_files(results_csv: Path, truth_json: Path) -> Score:
    """Score a results CSV file against a truth JSON file."""
    truth = json.loads(truth_json.read_text(encoding="utf-8"))
    return score(truth, read_results_csv(results_csv))

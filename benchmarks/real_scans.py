"""How digitscan reads real scans: the evaluation-only sets in ../shared/data/real (never in the repo).

    .venv/bin/python benchmarks/real_scans.py [--real ../shared/data/real] [--limit N]

Prints, for the current segmentation and model:
  * ORAND-CAR digits: each labelled digit box cropped, normalised by digitscan and classified (model only);
  * ORAND-CAR fields: each amount crop processed as a page, read exactly when its digits equal the label;
  * IDRBT cheques: amount and date fields, read exactly when the digits inside the field equal the label,
    and whether every wrong field carries needs_review.
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from pathlib import Path

import numpy as np

from digitscan.classify import DigitClassifier
from digitscan.evaluation import orand_digit_crops
from digitscan.pipeline import ProcessOptions, process
from digitscan.results import RunResult


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def orand_digits(folder: Path, classifier: DigitClassifier, limit: int | None) -> float:
    """Accuracy on labelled digit boxes, cropped and normalised by digitscan's own code."""
    crops, labels = orand_digit_crops(folder, limit)
    return float(np.mean(classifier.classify(crops).digit == labels))


def _page_digits(run: RunResult) -> dict[str, list[tuple[int, float, float, bool, float]]]:
    """Per file: (digit, centre x, centre y, needs_review, confidence) of every digit on its first page."""
    found: dict[str, list[tuple[int, float, float, bool, float]]] = {}
    for file_result in run.files:
        digits = []
        for page in file_result.pages[:1]:
            for number in page.numbers:
                for d in number.digits:
                    cx, cy = d.box.x + d.box.w / 2, d.box.y + d.box.h / 2
                    digits.append((d.digit, cx, cy, d.needs_review, d.confidence))
        found[file_result.file] = digits
    return found


def orand_fields(folder: Path, classifier: DigitClassifier, limit: int | None) -> tuple[float, float, float]:
    """Share of amount crops read exactly, share of wrong reads flagged for review, and share of exact reads
    flagged all the same (the review work that confidence fails to save)."""
    labels = {row["image"].removeprefix("images/"): row["digits"] for row in _rows(folder / "labels.csv")}
    names = sorted(labels)[:limit]
    run = process([folder / "images" / n for n in names], ProcessOptions(), classifier=classifier)
    found = {Path(k).name: v for k, v in _page_digits(run).items()}
    exact = flagged = wrong = exact_flagged = 0
    for name in names:
        digits = found.get(name, [])
        text = "".join(str(d[0]) for d in digits)
        if text == labels[name]:
            exact += 1
            exact_flagged += any(d[3] for d in digits)
        else:
            wrong += 1
            flagged += any(d[3] for d in digits) or not digits
    return exact / len(names), (flagged / wrong if wrong else 1.0), (exact_flagged / exact if exact else 0.0)


def idrbt_fields(folder: Path, classifier: DigitClassifier) -> dict[str, tuple[int, int, int, int]]:
    """Per field type: (fields, read exactly, wrong, wrong and flagged)."""
    rows = _rows(folder / "labels.csv")
    images = sorted({row["image"] for row in rows})
    run = process([folder / image for image in images], ProcessOptions(), classifier=classifier)
    found = {Path(k).name: v for k, v in _page_digits(run).items()}
    stats: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for row in rows:
        x1, y1, x2, y2 = (float(row[k]) for k in ("x1", "y1", "x2", "y2"))
        inside = [d for d in found.get(Path(row["image"]).name, []) if x1 <= d[1] <= x2 and y1 <= d[2] <= y2]
        inside.sort(key=lambda d: d[1])
        text = "".join(str(d[0]) for d in inside)
        entry = stats[row["field"]]
        entry[0] += 1
        if text == row["digits"]:
            entry[1] += 1
        else:
            entry[2] += 1
            entry[3] += any(d[3] for d in inside) or not inside
    return {field: (v[0], v[1], v[2], v[3]) for field, v in stats.items()}


def main() -> None:
    """Run the three measurements and print them."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--real", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/real")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N ORAND images")
    parser.add_argument("--model", type=Path, default=None, help="a .keras model with its card [default: shipped]")
    args = parser.parse_args()
    if not args.real.is_dir():
        raise SystemExit(f"{args.real} not found: these real scans are evaluation data kept outside the repo")
    classifier = DigitClassifier(args.model)
    print(f"ORAND-CAR digit boxes, model only: {orand_digits(args.real / 'car_orand', classifier, args.limit):.4f}")
    exact, flagged, exact_flagged = orand_fields(args.real / "car_orand", classifier, args.limit)
    print(
        f"ORAND-CAR amount fields read exactly: {exact:.4f}  (wrong reads flagged: {flagged:.4f}; "
        f"exact reads flagged all the same: {exact_flagged:.4f})"
    )
    for field, (total, right, wrong, flagged_wrong) in sorted(
        idrbt_fields(args.real / "cheques_idrbt", classifier).items()
    ):
        print(f"IDRBT cheques {field}: {right}/{total} exact; {flagged_wrong}/{wrong} wrong fields flagged")


if __name__ == "__main__":
    main()

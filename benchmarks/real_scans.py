"""How digitscan reads real scans: the evaluation-only sets in ../shared/data/real (never in the repo).

    .venv/bin/python benchmarks/real_scans.py [--real ../shared/data/real] [--limit N] [--model M.keras]
                                              [--pair-model P.keras]
                                              [--per-image OUT.json] [--against OLD.json] [--crossed-sevens]

Prints, for the current segmentation and model:
  * ORAND-CAR digits: each labelled digit box cropped, normalised by digitscan and classified (model only);
  * ORAND-CAR fields: each amount crop processed as a page, read exactly when its digits equal the label;
  * IDRBT cheques: amount and date fields, read exactly when the digits inside the field equal the label,
    and whether every wrong field carries needs_review.

``--per-image`` writes what was read in each ORAND image and IDRBT field (label, reading, flagged);
``--against`` compares this run with such a file from an earlier run and lists the fields gained and lost,
so that a change to segmentation or the model is judged field by field, not only by its totals.
``--crossed-sevens`` reads every set as written by hands that cross their 7s (ORAND-CAR's Chilean writers
do; IDRBT's Indian ones mostly do not), as ``digitscan process --crossed-sevens`` does.
"""

from __future__ import annotations

import argparse
import csv
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from digitscan.classify import DigitClassifier
from digitscan.evaluation import orand_digit_crops
from digitscan.pipeline import ProcessOptions, process
from digitscan.results import RunResult


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def orand_digits(folder: Path, classifier: DigitClassifier, limit: int | None, crossed_sevens: bool) -> float:
    """Accuracy on labelled digit boxes, cropped and normalised by digitscan's own code."""
    crops, labels = orand_digit_crops(folder, limit)
    return float(np.mean(classifier.classify(crops, crossed_sevens).digit == labels))


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


@dataclass(frozen=True)
class FieldRead:
    """One labelled field as read: its digits, what digitscan read there, and whether it was flagged."""

    truth: str
    read: str
    flagged: bool

    @property
    def exact(self) -> bool:
        return self.read == self.truth


def _field_read(truth: str, digits: list[tuple[int, float, float, bool, float]]) -> FieldRead:
    """A field read from its digits (left to right); a field where nothing was read counts as flagged."""
    return FieldRead(truth, "".join(str(d[0]) for d in digits), any(d[3] for d in digits) or not digits)


def orand_fields(
    folder: Path, classifier: DigitClassifier, limit: int | None, options: ProcessOptions
) -> dict[str, FieldRead]:
    """Each amount crop, processed as a page, by image name."""
    labels = {row["image"].removeprefix("images/"): row["digits"] for row in _rows(folder / "labels.csv")}
    names = sorted(labels)[:limit]
    run = process([folder / "images" / n for n in names], options, classifier=classifier)
    found = {Path(k).name: v for k, v in _page_digits(run).items()}
    return {name: _field_read(labels[name], found.get(name, [])) for name in names}


def idrbt_fields(
    folder: Path, classifier: DigitClassifier, options: ProcessOptions
) -> dict[str, tuple[str, FieldRead]]:
    """Each labelled field of each cheque, by "image field": (field type, the field as read). A field holds
    the digits whose centres fall inside its labelled box."""
    rows = _rows(folder / "labels.csv")
    images = sorted({row["image"] for row in rows})
    run = process([folder / image for image in images], options, classifier=classifier)
    found = {Path(k).name: v for k, v in _page_digits(run).items()}
    fields = {}
    for row in rows:
        x1, y1, x2, y2 = (float(row[k]) for k in ("x1", "y1", "x2", "y2"))
        inside = [d for d in found.get(Path(row["image"]).name, []) if x1 <= d[1] <= x2 and y1 <= d[2] <= y2]
        fields[f"{row['image']} {row['field']}"] = (
            row["field"],
            _field_read(row["digits"], sorted(inside, key=lambda d: d[1])),
        )
    return fields


def _summary(reads: list[FieldRead]) -> str:
    """Exact reads, wrong ones flagged, and exact ones flagged all the same (review that confidence fails
    to save)."""
    exact = [r for r in reads if r.exact]
    wrong = [r for r in reads if not r.exact]
    return (
        f"{len(exact)}/{len(reads)} exact ({len(exact) / max(1, len(reads)):.4f}); "
        f"{sum(r.flagged for r in wrong)}/{len(wrong)} wrong flagged; "
        f"{sum(r.flagged for r in exact)}/{len(exact)} exact flagged all the same"
    )


def _changes(name: str, now: dict[str, FieldRead], before: dict[str, dict[str, object]]) -> list[str]:
    """Lines naming the fields this run reads exactly and the earlier one did not, and the reverse."""
    lines = []
    for key, read in sorted(now.items()):
        old = before.get(key)
        if old is None or (old["read"] == read.read and old["flagged"] == read.flagged):
            continue
        was_exact = old["read"] == read.truth
        change = "GAINED" if read.exact and not was_exact else "LOST" if was_exact and not read.exact else "changed"
        flags = f"{'flagged' if old['flagged'] else 'silent'} -> {'flagged' if read.flagged else 'silent'}"
        lines.append(f"{name} {change:<7} {key}: truth {read.truth} read {old['read']} -> {read.read} ({flags})")
    return lines


def main() -> None:
    """Run the three measurements, print them, and compare or save the per-field reads."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--real", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/real")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N ORAND images")
    parser.add_argument("--model", type=Path, default=None, help="a .keras model with its card [default: shipped]")
    parser.add_argument("--pair-model", type=Path, default=None, help="a touching-pair model [default: shipped]")
    parser.add_argument("--per-image", type=Path, default=None, help="write each field's label and reading here")
    parser.add_argument("--against", type=Path, default=None, help="a --per-image file of an earlier run to compare")
    parser.add_argument("--crossed-sevens", action="store_true", help="read as hands that cross their 7s")
    args = parser.parse_args()
    if not args.real.is_dir():
        raise SystemExit(f"{args.real} not found: these real scans are evaluation data kept outside the repo")
    classifier = DigitClassifier(args.model)
    options = ProcessOptions(crossed_sevens=args.crossed_sevens, pair_model=args.pair_model)
    boxes = orand_digits(args.real / "car_orand", classifier, args.limit, args.crossed_sevens)
    print(f"ORAND-CAR digit boxes, model only: {boxes:.4f}")
    orand = orand_fields(args.real / "car_orand", classifier, args.limit, options)
    print(f"ORAND-CAR amount fields: {_summary(list(orand.values()))}")
    idrbt = idrbt_fields(args.real / "cheques_idrbt", classifier, options)
    for field in sorted({kind for kind, _ in idrbt.values()}):
        print(f"IDRBT cheques {field}: {_summary([read for kind, read in idrbt.values() if kind == field])}")
    per_image = {"orand": orand, "idrbt": {key: read for key, (_, read) in idrbt.items()}}
    if args.against:
        before = json.loads(args.against.read_text(encoding="utf-8"))
        for name, reads in per_image.items():
            for line in _changes(name, reads, before.get(name, {})):
                print(line)
    if args.per_image:
        payload = {name: {key: asdict(read) for key, read in reads.items()} for name, reads in per_image.items()}
        args.per_image.write_text(json.dumps(payload, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()

"""Known forms read with and without their template, all figures measured in this one run.

    .venv/bin/python benchmarks/templates.py [--real ../shared/data/real] [--mnist ../shared/data/mnist]
                                             [--pages 12] [--seed 7] [--style clean|scanned]

Prints:
  * NIST HSF page with templates/nist-hsf.yaml: digits read right (of 130, matched in order) and fields exact
    (of 28);
  * IDRBT cheques with templates/cts2010-cheque.yaml: amount and date fields exact, and how many of the wrong
    ones are flagged needs_review;
  * synthetic forms and cheques (fixed layouts with shift, scale and skew, MNIST test digits; clean, and scanned
    with printed labels, touching and broken digits and a scan's damage): the share of
    fields read exactly with the template and without it (a field without a template is read exactly when
    one number on the page has exactly its digits in its box).

The real scans are evaluation data outside the repository; those parts are skipped when they are absent.
"""

from __future__ import annotations

import argparse
import csv
import difflib
import tempfile
from collections import defaultdict
from pathlib import Path

from digitscan.classify import DigitClassifier
from digitscan.pipeline import ProcessOptions, process
from digitscan.results import NumberResult, RunResult
from digitscan.segment import Box
from digitscan.synth import STYLES, Style

REPO = Path(__file__).resolve().parents[1]
TEMPLATES = REPO / "templates"


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def _fields(run: RunResult) -> dict[tuple[str, str], NumberResult]:
    """(file name, field) -> the field's result, first page of each file."""
    return {
        (Path(f.file).name, n.field): n
        for f in run.files
        for p in f.pages[:1]
        for n in p.numbers
        if n.field is not None
    }


def matched_digits(read: str, truth: str) -> int:
    """Digits of ``truth`` read right, in order (the longest common subsequence found by difflib)."""
    return sum(block.size for block in difflib.SequenceMatcher(None, read, truth, autojunk=False).get_matching_blocks())


def nist_hsf(folder: Path, classifier: DigitClassifier) -> tuple[int, int, int, int, list[str]]:
    """(digits right, digits, fields exact, fields, failures) on the HSF page with its template."""
    rows = _rows(folder / "labels.csv")
    images = sorted({row["image"] for row in rows})
    options = ProcessOptions(template=TEMPLATES / "nist-hsf.yaml")
    run = process([folder / image for image in images], options, classifier=classifier)
    found = _fields(run)
    right = exact = 0
    for row in rows:
        number = found.get((Path(row["image"]).name, row["field"]))
        text = number.text if number is not None else ""
        right += matched_digits(text, row["digits"])
        exact += text == row["digits"]
    total = sum(len(row["digits"]) for row in rows)
    return right, total, exact, len(rows), [f"{f.file}: {f.message}" for f in run.failures]


def idrbt_cheques(folder: Path, classifier: DigitClassifier) -> dict[str, tuple[int, int, int, int]]:
    """Per field (amount, date_ddmmyyyy): fields, exact, wrong, wrong and flagged needs_review."""
    rows = _rows(folder / "labels.csv")
    images = sorted({row["image"] for row in rows})
    options = ProcessOptions(template=TEMPLATES / "cts2010-cheque.yaml")
    run = process([folder / image for image in images], options, classifier=classifier)
    found = _fields(run)
    names = {"amount": "amount", "date_ddmmyyyy": "date"}
    stats: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for row in rows:
        number = found.get((Path(row["image"]).name, names[row["field"]]))
        entry = stats[row["field"]]
        entry[0] += 1
        if number is not None and number.text == row["digits"]:
            entry[1] += 1
        else:
            entry[2] += 1
            entry[3] += number is None or number.needs_review  # a failed page is reviewed by a person too
    return {field: (v[0], v[1], v[2], v[3]) for field, v in stats.items()}


def _exact_without_template(run: RunResult, truth: dict[str, dict[str, tuple[str, Box]]]) -> tuple[int, int, int]:
    """(exact, fields, wrong and not flagged): a field is read exactly when its box holds exactly one number
    of the page, with exactly the field's digits; a wrong one is flagged when a number in it needs review."""
    exact = total = silent = 0
    for f in run.files:
        numbers = [n for p in f.pages[:1] for n in p.numbers]
        for text, region in truth[Path(f.file).name].values():
            total += 1
            inside = [n for n in numbers if _centre_in(n.box, region)]
            right = len(inside) == 1 and inside[0].text == text
            exact += right
            silent += not right and bool(inside) and not any(n.needs_review for n in inside)
    return exact, total, silent


def _centre_in(box: Box, region: Box) -> bool:
    cx, cy = box.x + box.w / 2, box.y + box.h / 2
    return region.x <= cx <= region.right and region.y <= cy <= region.bottom


def synthetic(
    mnist: Path, pages: int, seed: int, classifier: DigitClassifier, style: Style = "clean"
) -> dict[str, tuple[int, int, int, int, int]]:
    """Per layout: (fields, exact with the template, exact without, wrong and not flagged with, without)."""
    from digitscan.mnist import load_mnist
    from digitscan.synth_forms import LAYOUTS, write_form_pages

    digits = load_mnist(mnist)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for layout in LAYOUTS:
            folder = Path(tmp) / layout
            truth = write_form_pages(folder, layout, pages, seed, digits, style=style)
            paths = sorted(folder.glob("*.png"))
            with_template = process(paths, ProcessOptions(template=TEMPLATES / f"{layout}.yaml"), classifier=classifier)
            found = _fields(with_template)
            exact = silent = 0
            for name, fields in truth.items():
                for field, (text, _) in fields.items():
                    number = found.get((name, field))
                    exact += number is not None and number.text == text
                    silent += number is not None and number.text != text and not number.needs_review
            without = process(paths, ProcessOptions(), classifier=classifier)
            plain, total, plain_silent = _exact_without_template(without, truth)
            results[layout] = (total, exact, plain, silent, plain_silent)
    return results


def main() -> None:
    """Run the measurements and print them."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--real", type=Path, default=REPO.parent / "shared/data/real")
    parser.add_argument("--mnist", type=Path, default=REPO.parent / "shared/data/mnist")
    parser.add_argument(
        "--pages", type=int, default=12, help="synthetic pages per layout (12: one field is 0.4 points; 48 steadier)"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--only", choices=["hsf", "cheques", "synthetic"], default=None)
    parser.add_argument("--style", choices=STYLES, default=None, help="synthetic pages' style [default: both]")
    parser.add_argument("--model", type=Path, default=None, help="a .keras model with its card [default: shipped]")
    args = parser.parse_args()
    classifier = DigitClassifier(args.model)
    if args.only in (None, "hsf"):
        if (args.real / "form_nist_hsf").is_dir():
            right, total, exact, fields, failures = nist_hsf(args.real / "form_nist_hsf", classifier)
            print(
                f"NIST HSF with template: digits {right}/{total} = {right / total:.1%}; "
                f"fields exact {exact}/{fields} = {exact / fields:.1%}; page failures {len(failures)}"
            )
        else:
            print(f"NIST HSF: skipped, {args.real / 'form_nist_hsf'} not found (evaluation data outside the repo)")
    if args.only in (None, "cheques"):
        if (args.real / "cheques_idrbt").is_dir():
            for field, (total, right, wrong, flagged) in sorted(
                idrbt_cheques(args.real / "cheques_idrbt", classifier).items()
            ):
                print(
                    f"IDRBT cheques with template, {field}: {right}/{total} = {right / total:.1%} exact; "
                    f"{flagged}/{wrong} wrong ones flagged needs_review"
                )
        else:
            print(f"IDRBT cheques: skipped, {args.real / 'cheques_idrbt'} not found")
    if args.only in (None, "synthetic"):
        styles: tuple[Style, ...] = (args.style,) if args.style else STYLES
        for style in styles:
            measured = synthetic(args.mnist, args.pages, args.seed, classifier, style)
            for layout, (total, exact, plain, silent, plain_silent) in measured.items():
                print(
                    f"synthetic {style} {layout} ({total} fields): exact with template {exact / total:.1%}, "
                    f"without {plain / total:.1%} ({100 * (exact - plain) / total:+.1f} points); "
                    f"wrong and not flagged: {silent} with, {plain_silent} without"
                )


if __name__ == "__main__":
    main()

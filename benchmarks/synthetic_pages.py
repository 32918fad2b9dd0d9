"""How digitscan reads its own synthetic cheques and forms, against the targets of issue #4.

    .venv/bin/python benchmarks/synthetic_pages.py [--mnist ../shared/data/mnist] [--pages 200] [--seed 1]
                                                   [--style scanned|clean] [--jobs 1]
                                                   [--model M.keras] [--review-threshold T]
                                                   [--hands mnist|crossing] [--crossed-sevens]

Generates the pages (as ``digitscan synth`` does) into a temporary folder, reads them as ``digitscan
process`` does (the library pipeline, the results CSV written by the writers), scores them, and prints per
layout and overall: box recall and precision (IoU >= 0.5), numbers read exactly, digit accuracy, the share of
wrong numbers flagged needs_review, and printed digits and letters reported as handwriting, next to the
targets. Then where the mistakes are: what went wrong with each wrong number (a digit missed, misread, or
grouped wrongly), why the digits not found were missed (reported in a bigger box, a smaller one, or not at
all), numbers with a touching pair or a broken digit, pages thresholded to 1 bit, what the
reported boxes that match no handwritten digit lie on, and the share of reported digits flagged
needs_review (what review costs). ``--hands crossing`` writes the digits as hands that cross their 7s and
flag their 1s (the same pages otherwise); ``--crossed-sevens`` reads them as ``digitscan process
--crossed-sevens`` does.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from digitscan.mnist import load_mnist
from digitscan.pipeline import ProcessOptions, process
from digitscan.scoring import EMPTY, PageScore, Score, read_results_csv, score_pages
from digitscan.synth import HANDS, STYLES, write_samples
from digitscan.writers import write_results

REPO = Path(__file__).resolve().parents[1]
TARGETS = {"box recall": 0.99, "box precision": 0.98, "number exact": 0.95}


def _line(name: str, score: Score) -> str:
    return (
        f"{name:<10} {score.truth_digits:>6} {score.box_recall:>7.4f} {score.box_precision:>9.4f} "
        f"{score.number_exact:>6.4f} ({score.exact_numbers}/{score.truth_numbers}) {score.digit_accuracy:>8.4f} "
        f"{score.wrong_flagged:>8.4f} ({score.flagged_wrong_numbers}/{score.wrong_numbers}) "
        f"{score.printed_digits_reported:>6} {score.printed_letters_reported:>6}"
    )


def _total(pages: list[PageScore]) -> Score:
    return sum((p.score for p in pages), EMPTY)


def failures(truth: dict[str, Any], scored: list[PageScore]) -> list[str]:
    """Lines saying where the mistakes are: outcome of each wrong number, numbers with a touching pair or a
    broken digit, 1-bit pages, and what unmatched reported boxes lie on."""
    pages = {(name, page["page"]): page for name, file_pages in truth["files"].items() for page in file_pages}
    outcomes: Counter[str] = Counter()
    missed: Counter[str] = Counter(kind for p in scored for kind in p.missed_digits)
    tagged: dict[str, list[int]] = {"touching pair": [0, 0], "broken digit": [0, 0], "neither": [0, 0]}
    false_boxes: Counter[str] = Counter()
    for scored_page in scored:
        page = pages[(scored_page.file, scored_page.page)]
        false_boxes.update(scored_page.false_boxes)
        for number, outcome in zip(page["numbers"], scored_page.outcomes, strict=True):
            outcomes[outcome] += 1
            tags = [t for t, key in (("touching pair", "touching"), ("broken digit", "broken")) if number.get(key)]
            for tag in tags or ["neither"]:
                tagged[tag][0] += 1
                tagged[tag][1] += outcome == "exact"
    wrong = ", ".join(f"{outcomes[k]} {k}" for k in ("missed", "misread", "grouped"))
    lines = [f"wrong numbers: {wrong} (missed: a digit not found; grouped: digits right, split or merged wrongly)"]
    lines.append(
        f"digits not found: {sum(missed.values())} ({missed['too big']} in a bigger box, merged with a neighbour or"
        f" a mark; {missed['too small']} in a smaller one, a piece; {missed['nothing']} with nothing reported there)"
    )
    lines += [f"numbers with {tag}: {exact}/{count} exact" for tag, (count, exact) in tagged.items() if count]
    binary = [p for p in scored if "binary_level" in pages[(p.file, p.page)].get("scan", {})]
    if binary:
        rest = [p for p in scored if p not in binary]
        for name, group in (("1-bit pages", binary), ("other pages", rest)):
            score = _total(group)
            lines.append(
                f"{name} ({len(group)}): recall {score.box_recall:.4f}, precision {score.box_precision:.4f}, "
                f"exact {score.number_exact:.4f}"
            )
    kinds = ", ".join(f"{count} on {kind}" for kind, count in false_boxes.most_common())
    lines.append(f"reported boxes matching no handwritten digit: {sum(false_boxes.values())} ({kinds or 'none'})")
    return lines


def main() -> None:
    """Generate, read, score and print."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mnist", type=Path, default=REPO.parent / "shared/data/mnist")
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--style", choices=STYLES, default="scanned")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes for reading and segmenting")
    parser.add_argument("--model", type=Path, default=None, help="a .keras model with its card [default: shipped]")
    parser.add_argument("--review-threshold", type=float, default=None, help="[default: the model card's]")
    parser.add_argument("--hands", choices=HANDS, default="mnist", help="whose hands write the digits")
    parser.add_argument("--crossed-sevens", action="store_true", help="read as hands that cross their 7s")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work) / "pages"
        truth = write_samples(folder, args.pages, args.seed, load_mnist(args.mnist), args.style, args.hands)
        options = ProcessOptions(
            jobs=args.jobs,
            model=args.model,
            review_threshold=args.review_threshold,
            crossed_sevens=args.crossed_sevens,
        )
        run = process([folder], options)
        results = Path(work) / "results.csv"
        write_results(run, results)
        scored = score_pages(truth, read_results_csv(results))
    print(f"{args.pages} {args.style} pages, seed {args.seed}; {len(run.failures)} files failed")
    print(json.dumps({"targets": TARGETS}))
    print("layout     digits  recall precision  exact           digits    wrong flagged  printed: digits letters")
    for layout in sorted({page["layout"] for file_pages in truth["files"].values() for page in file_pages}):
        chosen = [
            p for p in scored if next(q["layout"] for q in truth["files"][p.file] if q["page"] == p.page) == layout
        ]
        print(_line(layout, _total(chosen)))
    overall = _total(scored)
    print(_line("overall", overall))
    met = {
        "box recall": overall.box_recall,
        "box precision": overall.box_precision,
        "number exact": overall.number_exact,
    }
    print(
        "targets: " + ", ".join(f"{k} {v:.4f} {'>=' if v >= TARGETS[k] else '<'} {TARGETS[k]}" for k, v in met.items())
    )
    for line in failures(truth, scored):
        print(line)
    digits = [d for f in run.files for page in f.pages for number in page.numbers for d in number.digits]
    flagged = sum(d.needs_review for d in digits)
    print(f"reported digits flagged needs_review: {flagged}/{len(digits)} ({flagged / max(1, len(digits)):.1%})")


if __name__ == "__main__":
    main()

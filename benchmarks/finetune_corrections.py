"""Does fine-tuning on review corrections help? A simulated review of real cheque amounts, measured on held-out files.

    .venv/bin/python benchmarks/finetune_corrections.py [--real ../shared/data/real] [--epochs 5] [--work DIR]

1. digitscan reads the ORAND-CAR amount crops (evaluation data, outside the repo) with the shipped model.
2. A simulated reviewer answers every digit flagged needs_review from the ground truth: the labelled digit
   whose box it matches (IoU >= 0.5), or "not a digit" where it touches no labelled digit at all (ambiguous
   pieces are skipped, as a person would). The answers go into a corrections file, as the review page writes.
3. ``digitscan train --extra`` fine-tunes the shipped model on the corrections of 75% of the files.
4. On the other 25% (files the fine-tuning never saw) it prints, before and after: accuracy on the held-out
   corrections, and accuracy on all the labelled digit boxes of those files. MNIST test accuracy comes from
   the new model's card. The fine-tuned model is written under --work and is never shipped.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image

from digitscan.card import default_model_path, read_card
from digitscan.classify import DigitClassifier
from digitscan.evaluation import box_inks
from digitscan.loading import to_gray
from digitscan.normalize import normalize_many
from digitscan.review import Decision, DigitKey, load_results, render_corrections_file
from digitscan.segment import Box


def _truth(folder: Path) -> dict[str, list[tuple[int, Box]]]:
    boxes: dict[str, list[tuple[int, Box]]] = defaultdict(list)
    with (folder / "digit_boxes.csv").open(newline="", encoding="utf-8") as stream:
        for row in csv.DictReader(stream):
            box = Box(*(int(row[k]) for k in ("x", "y", "w", "h")))
            boxes[Path(row["image"]).name].append((int(row["digit"]), box))
    return boxes


def simulated_review(results: Path, truth: dict[str, list[tuple[int, Box]]]) -> tuple[Path, int, int]:
    """Answer every needs_review digit from the truth; write a corrections file. (path, answered, skipped)."""
    document = load_results(results)
    decisions, skipped = [], 0
    for file_result in document.run.files:
        for page in file_result.pages:
            for number in page.numbers:
                for digit in number.digits:
                    if not digit.needs_review:
                        continue
                    labelled = truth.get(Path(file_result.file).name, [])
                    overlaps = [(box.iou(digit.box), value) for value, box in labelled]
                    best = max(overlaps, default=(0.0, -1))
                    if best[0] >= 0.5:
                        label: int | None = best[1]
                    elif best[0] == 0.0:
                        label = None  # a sign, speck or stroke that no labelled digit touches
                    else:
                        skipped += 1
                        continue
                    key = DigitKey(file_result.file, page.page, number.index, digit.position, digit.box)
                    decisions.append(Decision(key, label, digit.digit, "2026-01-01T00:00:00+00:00"))
    path = results.with_name("simulated.corrections.json")
    path.write_text(render_corrections_file(decisions, document), encoding="utf-8")
    return path, len(decisions), skipped


def held_out_boxes(
    folder: Path, truth: dict[str, list[tuple[int, Box]]], names: set[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Normalised crops and labels of every labelled digit box of the files in ``names``."""
    inks, labels = [], []
    for name in sorted(names):
        with Image.open(folder / "images" / name) as image:
            gray = to_gray(image)
        inks += box_inks(gray, [box for _, box in truth[name]])
        labels += [value for value, _ in truth[name]]
    return normalize_many(inks), np.array(labels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--real", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/real")
    parser.add_argument("--mnist", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/mnist")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--work", type=Path, default=None, help="folder for the results and the tuned model")
    args = parser.parse_args()
    folder = args.real / "car_orand"
    if not folder.is_dir():
        raise SystemExit(f"{folder} not found: these real scans are evaluation data kept outside the repo")
    work = args.work or Path(tempfile.mkdtemp(prefix="digitscan-finetune-"))
    work.mkdir(parents=True, exist_ok=True)
    cli = [sys.executable, "-m", "digitscan"]
    results = work / "results.json"
    subprocess.run([*cli, "process", str(folder / "images"), "--out", str(results), "--fresh"], check=False)
    truth = _truth(folder)
    corrections, answered, skipped = simulated_review(results, truth)
    print(f"simulated review: {answered} flagged digits answered, {skipped} ambiguous pieces skipped")

    tuned = work / "tuned.keras"
    from digitscan.finetune import accuracy_on, correction_crops, fine_tune
    from digitscan.mnist import load_mnist
    from digitscan.review import iter_corrections
    from digitscan.train import TrainSettings

    crops = correction_crops(iter_corrections(results, [corrections]))
    tuning, held_out = crops.split_by_file(0.25, seed=0)
    settings = TrainSettings(epochs=args.epochs, seed=0, learning_rate=5e-4)
    result = fine_tune(load_mnist(args.mnist), settings, default_model_path(), tuning, tuned)
    base = default_model_path()
    print(f"fine-tuned on {len(tuning)} corrections; held out {len(held_out)} from {len(set(held_out.files))} files")
    before_corrections, after_corrections = accuracy_on(base, held_out), accuracy_on(tuned, held_out)
    print(f"held-out corrections accuracy: {before_corrections:.4f} before, {after_corrections:.4f} after")
    names = {Path(name).name for name in held_out.files}
    x, y = held_out_boxes(folder, truth, names)
    before = float(np.mean(DigitClassifier(base).classify(x).digit == y))
    after = float(np.mean(DigitClassifier(tuned).classify(x).digit == y))
    print(f"all labelled digits of the held-out files ({len(y)}): {before:.4f} before, {after:.4f} after")
    shipped = read_card(base).metrics["mnist_test_accuracy"]
    print(f"MNIST test: {shipped:.4f} before, {result.card.metrics['mnist_test_accuracy']:.4f} after")
    print(json.dumps({"work": str(work)}))


if __name__ == "__main__":
    main()

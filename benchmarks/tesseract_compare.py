"""digitscan against Tesseract on the same synthetic pages: digit accuracy and pages per second.

    .venv/bin/python benchmarks/tesseract_compare.py [--folder samples]

Installs Debian's tesseract-ocr when it is missing (root or password-less sudo). Tesseract reads each page
with a digits-only whitelist in sparse-text mode (--psm 11). Both tools are scored the same way: per page,
the digits of all truth numbers in reading order against the digits the tool reported in its order, counted
as the characters of the longest matching blocks (difflib), over all truth digits.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

from digitscan.discover import discover
from digitscan.loading import iter_pages
from digitscan.scoring import read_results_csv


def ensure_tesseract() -> str:
    """The tesseract binary, installing Debian's package if needed."""
    found = shutil.which("tesseract")
    if found:
        return found
    prefix = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*prefix, "apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run([*prefix, "apt-get", "install", "-y", "-qq", "tesseract-ocr"], check=True, env=env)
    return shutil.which("tesseract") or sys.exit("tesseract-ocr did not install")


def matched(truth: str, read: str) -> int:
    """Characters of ``truth`` found in order in ``read``."""
    return sum(block.size for block in difflib.SequenceMatcher(None, truth, read, autojunk=False).get_matching_blocks())


def main() -> None:
    """Run both tools over the folder and print accuracy and speed side by side."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", type=Path, default=Path(__file__).resolve().parents[1] / "samples")
    args = parser.parse_args()
    truth = json.loads((args.folder / "truth.json").read_text())
    expected = {
        (name, page["page"]): "".join(n["text"] for n in page["numbers"])
        for name, pages in truth["files"].items()
        for page in pages
    }
    tesseract = ensure_tesseract()
    with tempfile.TemporaryDirectory() as temp:
        pages = [(f.name, p.number, p.image) for f in discover([args.folder]) for p in iter_pages(f)]
        started = time.perf_counter()
        tess_read = {}
        for name, number, image in pages:
            png = Path(temp) / "page.png"
            Image.fromarray(image).save(png)
            command = [tesseract, str(png), "stdout", "--psm", "11", "-c", "tessedit_char_whitelist=0123456789"]
            output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
            tess_read[(name, number)] = "".join(c for c in output if c.isdigit())
        tess_s = time.perf_counter() - started

        out = Path(temp) / "r.csv"
        started = time.perf_counter()
        command = [sys.executable, "-m", "digitscan", "process", str(args.folder), "--out", str(out), "-q", "--fresh"]
        subprocess.run(command, check=True)
        ours_s = time.perf_counter() - started
        ours_read: dict[tuple[str, int], str] = {}
        for row in read_results_csv(out):
            key = (row["file"], int(row["page"]))
            ours_read[key] = ours_read.get(key, "") + row["digit"]
    total = sum(len(t) for t in expected.values())
    for tool, read, seconds in (("tesseract", tess_read, tess_s), ("digitscan", ours_read, ours_s)):
        accuracy = sum(matched(t, read.get(k, "")) for k, t in expected.items()) / total
        print(f"{tool:>10}: digit accuracy {accuracy:.4f} on {total} digits, {len(pages) / seconds:.2f} pages/s")


if __name__ == "__main__":
    main()

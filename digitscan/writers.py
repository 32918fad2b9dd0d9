"""Write a run's results as CSV (one row per digit) or JSON (the whole tree), never half-written.

Output goes to a temporary file in the destination folder, is flushed to disk, and replaces the destination
in one atomic rename; a crash at any moment leaves either the old file or the complete new one.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from digitscan.errors import OutputNotWritableError, UsageError
from digitscan.results import DigitResult, NumberResult, PageResult, RunResult
from digitscan.segment import Box

CSV_COLUMNS = [
    "file",
    "page",
    "number",
    "position",
    "digit",
    "confidence",
    "second_digit",
    "second_confidence",
    "x",
    "y",
    "w",
    "h",
    "printed",
    "number_text",
    "number_confidence",
    "needs_review",
    "source",
    "field",
    "valid",
    "skew_deg",
    "skew_confidence",
]
FORMATS = {".csv": "csv", ".json": "json"}
STDOUT = Path("-")


def output_format(path: Path) -> str:
    """``csv`` or ``json`` from the output's extension (``-`` means CSV on stdout)."""
    if path == STDOUT:
        return "csv"
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise UsageError(f"--out must end in .csv or .json (or be - for CSV on stdout), not {path.name!r}") from None


def check_writable(path: Path, overwrite: bool = True) -> None:
    """Fail before any work when ``path`` cannot be written (or exists and must not be replaced)."""
    output_format(path)
    if path == STDOUT:
        return
    if not overwrite and path.exists():
        raise OutputNotWritableError(f"output {path} exists and --no-overwrite was given")
    folder = path.parent if str(path.parent) else Path()
    if path.is_dir():
        raise OutputNotWritableError(f"output {path} is a folder; give a file name ending in .csv or .json")
    if not folder.is_dir():
        raise OutputNotWritableError(f"output folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise OutputNotWritableError(f"output {path} is not writable")


def _confidence(value: float) -> str:
    return f"{value:.6f}"


def _flag(value: bool | None) -> str:
    return "" if value is None else "true" if value else "false"


def digit_rows(run: RunResult) -> list[dict[str, Any]]:
    """One dict per digit with the CSV columns, in file, page, number, position order.

    A template field with no digit gets one row of its own (digit columns empty, box = the field's box), so
    an empty required field still reaches review.
    """
    rows = []
    for file_result in run.files:
        for page in file_result.pages:
            for number in page.numbers:
                field = {"field": number.field or "", "valid": _flag(number.valid)}
                if not number.digits and number.region is not None:
                    box = number.region
                    empty = dict.fromkeys(CSV_COLUMNS, "")
                    place = {"x": box.x, "y": box.y, "w": box.w, "h": box.h}
                    where = {"file": file_result.file, "page": page.page, "number": number.index}
                    rows.append({**empty, **where, **place, "needs_review": _flag(number.needs_review), **field})
                for digit in number.digits:
                    rows.append(
                        {
                            "file": file_result.file,
                            "page": page.page,
                            "number": number.index,
                            "position": digit.position,
                            "digit": digit.digit,
                            "confidence": _confidence(digit.confidence),
                            "second_digit": digit.second_digit,
                            "second_confidence": _confidence(digit.second_confidence),
                            "x": digit.box.x,
                            "y": digit.box.y,
                            "w": digit.box.w,
                            "h": digit.box.h,
                            "printed": _flag(digit.printed),
                            "number_text": number.text,
                            "number_confidence": _confidence(number.confidence),
                            "needs_review": _flag(digit.needs_review),
                            "source": digit.source,
                            **field,
                            "skew_deg": page.skew_deg,
                            "skew_confidence": page.skew_confidence,
                        }
                    )
    return rows


def render_csv(run: RunResult) -> str:
    """The CSV text of a run."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(digit_rows(run))
    return buffer.getvalue()


def _digit_json(digit: DigitResult) -> dict[str, Any]:
    return {
        "position": digit.position,
        "digit": digit.digit,
        "confidence": round(digit.confidence, 6),
        "second_digit": digit.second_digit,
        "second_confidence": round(digit.second_confidence, 6),
        "x": digit.box.x,
        "y": digit.box.y,
        "w": digit.box.w,
        "h": digit.box.h,
        "printed": digit.printed,
        "needs_review": digit.needs_review,
        "source": digit.source,
    }


def _number_json(number: NumberResult) -> dict[str, Any]:
    box = number.box
    return {
        "number": number.index,
        "field": number.field,
        "valid": number.valid,
        "text": number.text,
        "confidence": round(number.confidence, 6),
        "needs_review": number.needs_review,
        "x": box.x,
        "y": box.y,
        "w": box.w,
        "h": box.h,
        "digits": [_digit_json(d) for d in number.digits],
    }


def _box_json(box: Box) -> dict[str, int]:
    return {"x": box.x, "y": box.y, "w": box.w, "h": box.h}


def _page_json(page: PageResult) -> dict[str, Any]:
    return {
        "page": page.page,
        "width": page.width,
        "height": page.height,
        "skew_deg": page.skew_deg,
        **({} if page.alignment is None else {"alignment": asdict(page.alignment)}),
        "skew_confidence": page.skew_confidence,
        "fields": [{**_box_json(f.box), "cells": [[c.x, c.y, c.w, c.h] for c in f.cells]} for f in page.fields],
        "numbers": [_number_json(n) for n in page.numbers],
    }


def render_json(run: RunResult) -> str:
    """The JSON document of a run: metadata, summary, files -> pages -> numbers -> digits, failures."""
    document = {
        "digitscan": run.metadata,
        "summary": {**run.counts(), "elapsed_s": run.elapsed_s},
        "files": [{"file": f.file, "kind": f.kind, "pages": [_page_json(p) for p in f.pages]} for f in run.files],
        "failures": [
            {"file": x.file, "page": x.page, "stage": x.stage, "error_type": x.error_type, "message": x.message}
            for x in run.failures
        ],
    }
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a synced temporary file and an atomic rename."""
    folder = path.parent if str(path.parent) else Path()
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        Path(temp_name).chmod(0o644)
        Path(temp_name).replace(path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def write_results(run: RunResult, path: Path) -> None:
    """Write ``run`` to ``path`` in the format its extension names; ``-`` streams CSV to stdout."""
    text = render_json(run) if output_format(path) == "json" else render_csv(run)
    if path == STDOUT:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        if output_format(path) == "csv":  # CSV rows are digits: the failures get a CSV of their own
            write_atomic(failures_path(path), render_failures_csv(run))
        write_atomic(path, text)
    except OSError as exc:
        raise OutputNotWritableError(f"cannot write {path}: {exc}") from exc


def check_html_output(path: Path) -> None:
    """Fail before any work when ``path`` is not a page name (``.html``) in an existing folder."""
    if path.suffix.lower() not in (".html", ".htm"):
        raise UsageError(f"--html must end in .html, not {path.name!r}")
    folder = path.parent if str(path.parent) else Path()
    if not folder.is_dir():
        raise OutputNotWritableError(f"output folder {folder} does not exist")


def write_html(path: Path, text: str) -> None:
    """Write a page (``.html``) atomically."""
    check_html_output(path)
    try:
        write_atomic(path, text)
    except OSError as exc:
        raise OutputNotWritableError(f"cannot write {path}: {exc}") from exc


FAILURE_COLUMNS = ["file", "page", "stage", "error_type", "message"]


def failures_path(path: Path) -> Path:
    """Where the failure list of a CSV output goes: ``results.failures.csv`` beside ``results.csv``."""
    return path.with_name(f"{path.stem}.failures.csv")


def render_failures_csv(run: RunResult) -> str:
    """One row per failed file or page (header only when nothing failed)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(FAILURE_COLUMNS)
    for f in run.failures:
        writer.writerow([f.file, "" if f.page is None else f.page, f.stage, f.error_type, f.message])
    return buffer.getvalue()

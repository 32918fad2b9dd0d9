"""CSV and JSON outputs: exact columns and schema, atomic writes, early writability checks."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from digitscan.errors import OutputNotWritableError, UsageError
from digitscan.results import DigitResult, Failure, FileResult, NumberResult, PageAlignment, PageResult, RunResult
from digitscan.segment import Box, Field
from digitscan.writers import CSV_COLUMNS, check_writable, render_csv, render_json, write_results


def _run() -> RunResult:
    digits = (
        DigitResult(0, 4, 0.99, 9, 0.008, Box(10, 20, 30, 40), False),
        DigitResult(1, 2, 0.61, 7, 0.35, Box(45, 22, 28, 41), True, source="human", printed=True),
    )
    comb = Field(Box(5, 15, 80, 50), (Box(5, 15, 40, 50), Box(45, 15, 40, 50)))
    page = PageResult(1, 800, 600, 1.5, (NumberResult(0, digits),), skew_confidence=0.93, fields=(comb,))
    failure = Failure("bad.png", None, "load", "InputFileError", "cannot read image")
    return RunResult(
        (FileResult("sub/a.png", "png", (page,)), FileResult("bad.png", None, ())),
        (failure,),
        {"digitscan_version": "0.1.0"},
        1.25,
    )


def test_csv_has_the_documented_columns_in_order_and_one_row_per_digit() -> None:
    rows = list(csv.reader(io.StringIO(render_csv(_run()))))
    assert rows[0] == CSV_COLUMNS
    assert CSV_COLUMNS[:4] == ["file", "page", "number", "position"]
    assert rows[1] == [
        "sub/a.png", "1", "0", "0", "4", "0.990000", "9", "0.008000", "10", "20", "30", "40", "false", "42", "0.610000",
        "false", "model", "", "", "1.5", "0.93",
    ]  # fmt: skip
    assert CSV_COLUMNS[-6:] == ["needs_review", "source", "field", "valid", "skew_deg", "skew_confidence"]
    assert rows[2][4] == "2" and rows[2][CSV_COLUMNS.index("needs_review")] == "true"
    assert rows[2][CSV_COLUMNS.index("source")] == "human"
    assert rows[2][CSV_COLUMNS.index("printed")] == "true"
    assert len(rows) == 3


def test_json_is_one_document_with_metadata_files_pages_numbers_digits_and_failures() -> None:
    document = json.loads(render_json(_run()))
    assert document["digitscan"]["digitscan_version"] == "0.1.0"
    assert document["summary"] == {
        "files": 2, "pages": 1, "numbers": 1, "digits": 2, "needs_review": 1, "failures": 1, "elapsed_s": 1.25,
    }  # fmt: skip
    page = document["files"][0]["pages"][0]
    assert (page["skew_deg"], page["skew_confidence"]) == (1.5, 0.93)
    assert page["fields"] == [{"x": 5, "y": 15, "w": 80, "h": 50, "cells": [[5, 15, 40, 50], [45, 15, 40, 50]]}]
    number = document["files"][0]["pages"][0]["numbers"][0]
    assert (number["text"], number["confidence"], number["needs_review"]) == ("42", 0.61, True)
    assert (number["x"], number["y"], number["w"], number["h"]) == (10, 20, 63, 43)
    assert (number["field"], number["valid"]) == (None, None)
    assert "alignment" not in document["files"][0]["pages"][0]
    assert set(number["digits"][0]) == {
        "position", "digit", "confidence", "second_digit", "second_confidence", "x", "y", "w", "h", "printed",
        "needs_review", "source",
    }  # fmt: skip
    assert [d["printed"] for d in number["digits"]] == [False, True]
    assert [d["source"] for d in number["digits"]] == ["model", "human"]
    assert document["failures"] == [
        {
            "file": "bad.png",
            "page": None,
            "stage": "load",
            "error_type": "InputFileError",
            "message": "cannot read image",
        }
    ]


def test_writes_are_atomic_and_leave_no_temporary_files(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    out.write_text("old")
    write_results(_run(), out)
    assert json.loads(out.read_text())["summary"]["digits"] == 2
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]  # no temporary files left


def test_unwritable_outputs_are_refused_before_any_work(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"\.csv or \.json"):
        check_writable(tmp_path / "results.txt")
    with pytest.raises(OutputNotWritableError, match="does not exist"):
        check_writable(tmp_path / "missing" / "results.csv")
    with pytest.raises(OutputNotWritableError, match="is a folder"):
        (tmp_path / "dir.csv").mkdir()
        check_writable(tmp_path / "dir.csv")


def test_csv_output_has_its_failure_list_beside_it(tmp_path: Path) -> None:
    out = tmp_path / "results.csv"
    write_results(_run(), out)
    rows = list(csv.reader((tmp_path / "results.failures.csv").open()))
    assert rows == [
        ["file", "page", "stage", "error_type", "message"],
        ["bad.png", "", "load", "InputFileError", "cannot read image"],
    ]


def _template_run() -> RunResult:
    digits = (
        DigitResult(0, 3, 0.99, 8, 0.01, Box(10, 20, 30, 40), True),
        DigitResult(1, 1, 0.99, 7, 0.01, Box(45, 22, 28, 41), True),
    )
    date = NumberResult(0, digits, "date", False, Box(5, 15, 400, 60))
    empty = NumberResult(1, (), "zip", False, Box(5, 100, 300, 60))
    alignment = PageAlignment("form", 1.01, 3.5, -2.0, 0.8, 1.0)
    page = PageResult(1, 800, 600, 0.0, (date, empty), alignment)
    return RunResult((FileResult("f.png", "png", (page,)),), (), {}, 0.5)


def test_template_fields_in_csv_including_an_empty_field() -> None:
    rows = list(csv.DictReader(io.StringIO(render_csv(_template_run()))))
    assert [(r["field"], r["valid"], r["digit"], r["needs_review"]) for r in rows] == [
        ("date", "false", "3", "true"),
        ("date", "false", "1", "true"),
        ("zip", "false", "", "true"),  # an empty field still reaches review, with the field's box
    ]
    assert (rows[2]["x"], rows[2]["y"], rows[2]["w"], rows[2]["h"]) == ("5", "100", "300", "60")


def test_template_fields_and_alignment_in_json() -> None:
    page = json.loads(render_json(_template_run()))["files"][0]["pages"][0]
    assert page["alignment"] == {"template": "form", "scale": 1.01, "dx": 3.5, "dy": -2.0, "residual_px": 0.8,
                                 "matched": 1.0}  # fmt: skip
    date, empty = page["numbers"]
    assert (date["field"], date["valid"], date["needs_review"], date["text"]) == ("date", False, True, "31")
    assert (empty["field"], empty["text"], empty["needs_review"], empty["digits"]) == ("zip", "", True, [])


def test_the_run_journal_keeps_fields_validity_and_alignment(tmp_path: Path) -> None:
    from digitscan.journal import RunJournal

    journal = RunJournal.open(tmp_path / "j.sqlite")
    result = _template_run().files[0]
    journal.record([("key", result, [])])
    assert journal.lookup("key", "f.png") == (result, [])
    journal.close()


@pytest.mark.parametrize("make_run", [_run, _template_run])
def test_review_reads_a_json_document_back_without_losing_fields_skew_or_alignment(make_run) -> None:  # type: ignore[no-untyped-def]
    from digitscan.review import run_from_json

    text = render_json(make_run())
    assert render_json(run_from_json(json.loads(text))) == text


def test_apply_keeps_a_template_field_and_its_comb_cells_when_a_digit_is_removed() -> None:
    from digitscan.review import Decision, DigitKey, apply_corrections

    run = _template_run()
    first = run.files[0].pages[0].numbers[0].digits[0]
    key = DigitKey("f.png", 1, 0, first.position, first.box)
    applied = apply_corrections(run, {key.id: Decision(key, None, first.digit, "2026-01-01T00:00:00+00:00")})
    date, empty = applied.run.files[0].pages[0].numbers
    assert (date.field, [d.position for d in date.digits], empty.field) == ("date", [1], "zip")
    assert applied.not_digits == 1 and applied.numbers_dropped == 0

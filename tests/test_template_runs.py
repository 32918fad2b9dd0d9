"""Runs with --template: field and valid in CSV and JSON, page failures on mismatch, validity, journal, draft CLI,
and the measurements on the real scans (skipped when ../shared/data/real is absent)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from digitscan.card import NOT_A_DIGIT
from digitscan.classify import Predictions, predictions_from
from digitscan.cli import app
from digitscan.mnist import MnistData
from digitscan.pipeline import ProcessOptions, process
from digitscan.synth_forms import PageTransform, render_synth_form, transform_page, write_form_pages

from .conftest import REPO

runner = CliRunner()
TEMPLATES = REPO / "templates"
REAL = REPO.parent / "shared" / "data" / "real"


@pytest.fixture(scope="module")
def cheques(tmp_path_factory: pytest.TempPathFactory, mnist: MnistData) -> Path:
    """Two synthetic cheques (shifted and scaled) and a blank page of the cheque's size."""
    folder = tmp_path_factory.mktemp("cheques")
    write_form_pages(folder, "synth-cheque", 2, seed=4, digits=mnist)
    Image.fromarray(np.full((1000, 2200), 238, np.uint8)).save(folder / "blank.png")
    return folder


def test_cli_run_with_a_template_writes_field_and_valid_and_fails_the_page_that_does_not_match(
    cheques: Path, tmp_path: Path
) -> None:
    out = tmp_path / "r.csv"
    result = runner.invoke(
        app, ["process", str(cheques), "--out", str(out), "--template", str(TEMPLATES / "synth-cheque.yaml")]
    )
    assert result.exit_code == 1, result.output  # the blank page failed; the cheques beside it were read
    with out.open() as stream:
        rows = list(csv.DictReader(stream))
    assert list(rows[0])[-6:-2] == ["needs_review", "source", "field", "valid"]
    truth = json.loads((cheques / "truth.json").read_text())
    for name, fields in truth.items():
        mine = [r for r in rows if r["file"] == name]
        assert {r["field"] for r in mine} == {"date", "amount", "reference"}
        assert all(r["valid"] in ("true", "false") for r in mine)
        for field, expected in fields.items():
            cells = [r for r in mine if r["field"] == field]
            assert len(cells) == len(expected["digits"])  # one row per digit, every digit found
            assert {r["number"] for r in cells} == {cells[0]["number"]}
    with out.with_name("r.failures.csv").open() as stream:
        failures = list(csv.DictReader(stream))
    assert [(f["file"], f["page"], f["stage"], f["error_type"]) for f in failures] == [
        ("blank.png", "1", "align", "TemplateMismatchError")
    ]
    assert "synth-cheque" in failures[0]["message"]


def test_inspect_with_a_template_draws_each_field_where_it_was_placed(
    cheques: Path, tmp_path: Path, classifier: object
) -> None:
    from digitscan.overlay import TEMPLATE_FIELD

    page_file, out = cheques / "synth-cheque_001.png", tmp_path / "overlay.png"
    template = TEMPLATES / "synth-cheque.yaml"
    result = runner.invoke(app, ["inspect", str(page_file), "--template", str(template), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "fields invalid" in result.output
    run = process([page_file], ProcessOptions(template=template), classifier=classifier)  # type: ignore[arg-type]
    regions = {n.field: n.region for n in run.files[0].pages[0].numbers}
    assert set(regions) == {"date", "amount", "reference"}
    image = np.asarray(Image.open(out).convert("RGB"))
    teal = np.all(image == TEMPLATE_FIELD[::-1], axis=-1)  # drawn in BGR, read back as RGB
    for name, r in regions.items():
        assert r is not None
        middle_row = teal[r.y + r.h // 2, r.x - 2 : r.right + 3].astype(int)
        walls = np.count_nonzero(np.diff(middle_row) == 1)
        assert walls == (9 if name == "date" else 2), name  # both sides, and the 7 walls between the date's cells
    blank = runner.invoke(app, ["inspect", str(cheques / "blank.png"), "--template", str(template), "--out", str(out)])
    assert blank.exit_code == 2 and "synth-cheque" in blank.output  # the page does not match: said, not drawn


def test_json_carries_field_valid_and_the_registration(cheques: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    args = ["process", str(cheques), "--out", str(out), "--template", str(TEMPLATES / "synth-cheque.yaml")]
    assert runner.invoke(app, args).exit_code == 1
    document = json.loads(out.read_text())
    assert document["digitscan"]["template"]["name"] == "synth-cheque"
    page = next(f for f in document["files"] if f["file"] == "synth-cheque_001.png")["pages"][0]
    assert page["alignment"]["template"] == "synth-cheque"
    assert page["alignment"]["residual_px"] < 2
    assert [n["field"] for n in page["numbers"]] == ["date", "amount", "reference"]
    assert all(isinstance(n["valid"], bool) for n in page["numbers"])
    # a rerun takes every file from the journal; a changed template reads them all again
    assert runner.invoke(app, args).exit_code == 1
    assert json.loads(out.read_text())["digitscan"]["files_from_journal"] == 3
    changed = tmp_path / "changed.yaml"
    changed.write_text((TEMPLATES / "synth-cheque.yaml").read_text().replace("length: [3, 5]", "length: [3, 6]"))
    assert runner.invoke(app, [*args[:-1], str(changed)]).exit_code == 1
    assert json.loads(out.read_text())["digitscan"]["files_from_journal"] == 0


def test_an_impossible_date_is_invalid_and_needs_review_even_when_confident(
    mnist: MnistData, tmp_path: Path, classifier: object
) -> None:
    page, _ = render_synth_form(np.random.default_rng(9), mnist, values={"date": "31022016", "zip": "02139"})
    page = transform_page(page, PageTransform(scale=0.97, dx=10, dy=-5))
    Image.fromarray(cv2.cvtColor(page.image, cv2.COLOR_RGB2GRAY)).save(tmp_path / "form.png")
    run = process(
        [tmp_path / "form.png"], ProcessOptions(template=TEMPLATES / "synth-form.yaml"), classifier=classifier
    )  # type: ignore[arg-type]
    assert not run.failures
    fields = {n.field: n for n in run.files[0].pages[0].numbers}
    date = fields["date"]
    assert date.text == "31022016"
    assert date.valid is False and date.needs_review
    assert all(d.needs_review for d in date.digits)
    assert [d.position for d in date.digits] == list(range(8))  # comb cells as positions
    assert fields["zip"].text == "02139" and fields["zip"].valid is True


class _ReadsAt:
    """The shipped classifier, but crop ``index`` of each batch reads with the given probabilities."""

    def __init__(self, real: Any, index: int, reading: dict[int, float]) -> None:
        self.real, self.index, self.reading = real, index, reading

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def classify(self, crops: np.ndarray, crossed_sevens: bool = False) -> Predictions:
        probabilities = self.real.probabilities(crops, crossed_sevens)
        probabilities[self.index] = 0.0
        probabilities[self.index, list(self.reading)] = list(self.reading.values())
        return predictions_from(probabilities)


def test_a_misread_date_is_read_as_the_likeliest_valid_date_and_still_reviewed(
    mnist: MnistData, tmp_path: Path, classifier: object
) -> None:
    # synthetic cheque 11 of the benchmark (seed 7), its date 26122002, with the year's 2 (crop 4: the date is
    # the first field, one crop per cell) misread as a doubted 8, year 8002; the next choice, 0, gives year
    # 0002; 2 is the likeliest digit that makes a date in range
    truth = write_form_pages(tmp_path, "synth-cheque", 11, seed=7, digits=mnist)
    page = tmp_path / "synth-cheque_011.png"
    misread = _ReadsAt(classifier, 4, {8: 0.6, 0: 0.25, 2: 0.15})
    run = process([page], ProcessOptions(template=TEMPLATES / "synth-cheque.yaml"), classifier=misread)  # type: ignore[arg-type]
    date = next(n for n in run.files[0].pages[0].numbers if n.field == "date")
    assert date.text == truth[page.name]["date"][0] == "26122002"
    assert date.valid is True and date.needs_review and all(d.needs_review for d in date.digits)
    changed = [d for d in date.digits if d.second_confidence > d.confidence]  # the classifier's first choice
    assert [(d.position, d.digit, d.second_digit) for d in changed] == [(4, 2, 8)]  # is kept as the second


def test_ink_in_a_comb_cell_taken_for_not_a_digit_is_its_likeliest_digit_and_reviewed(
    mnist: MnistData, tmp_path: Path, classifier: object
) -> None:
    page, _ = render_synth_form(np.random.default_rng(9), mnist, values={"date": "19012016"})
    page = transform_page(page, PageTransform(scale=0.97, dx=10, dy=-5))
    Image.fromarray(cv2.cvtColor(page.image, cv2.COLOR_RGB2GRAY)).save(tmp_path / "form.png")
    options = ProcessOptions(template=TEMPLATES / "synth-form.yaml")
    crop = 10 + 5 + 5  # the account's 10 cells, the zip's 5, then the date's 6th cell (a comb: no cuts)
    not_a_digit = _ReadsAt(classifier, crop, {NOT_A_DIGIT: 0.95, 0: 0.03, 1: 0.02})
    run = process([tmp_path / "form.png"], options, classifier=not_a_digit)
    date = next(n for n in run.files[0].pages[0].numbers if n.field == "date")
    assert date.text == "19012016" and date.valid is True  # the cell's 0 is kept, no gap
    assert date.needs_review and date.digits[5].confidence == pytest.approx(0.03)
    assert (date.digits[5].position, date.digits[5].second_digit) == (5, 1)


def test_an_unreadable_template_is_a_usage_error_before_any_work(tmp_path: Path) -> None:
    bad = tmp_path / "form.yaml"
    bad.write_text("name: x\npage: {width: 10}\nfields: []\n")
    result = runner.invoke(
        app, ["process", str(REPO / "samples"), "--out", str(tmp_path / "r.csv"), "--template", str(bad)]
    )
    assert result.exit_code == 2
    assert "page: {width: W, height: H}" in result.output
    assert not (tmp_path / "r.csv").exists()


def test_template_draft_cli(mnist: MnistData, tmp_path: Path) -> None:
    pages = tmp_path / "pages"
    write_form_pages(pages, "synth-cheque", 2, seed=6, digits=mnist, transform=PageTransform())
    example, other = pages / "synth-cheque_001.png", pages / "synth-cheque_002.png"
    out = tmp_path / "form.yaml"
    result = runner.invoke(app, ["template", "draft", str(example), "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert '"kind": "comb"' in text and '"cells": 8' in text
    assert runner.invoke(app, ["template", "draft", str(example), "--out", str(out)]).exit_code == 5  # exists
    assert runner.invoke(app, ["template", "draft", str(example), "--out", "f.txt"]).exit_code == 2
    result = runner.invoke(app, ["process", str(other), "--out", str(tmp_path / "r.csv"), "--template", str(out)])
    assert result.exit_code == 0, result.output  # the drafted template reads another page of the form


def _real(folder: str) -> Path:
    path = REAL / folder
    if not path.is_dir():
        pytest.skip(f"{path} not found: the real scans are evaluation data kept outside the repository")
    return path


@pytest.mark.slow
def test_nist_hsf_page_with_its_template(classifier: object) -> None:
    from benchmarks.templates import nist_hsf

    right, total, exact, fields, failures = nist_hsf(_real("form_nist_hsf"), classifier)  # type: ignore[arg-type]
    assert not failures
    assert (total, fields) == (130, 28)
    assert right / total >= 0.95
    assert exact / fields >= 0.85


@pytest.mark.slow
def test_real_cheques_with_the_cts2010_template(classifier: object) -> None:
    from benchmarks.templates import idrbt_cheques

    stats = idrbt_cheques(_real("cheques_idrbt"), classifier)  # type: ignore[arg-type]
    assert set(stats) == {"amount", "date_ddmmyyyy"}
    # Floors under the figures measured with the shipped model (README), not the 90% target, which
    # the amounts do not reach yet: amounts 20/28 and dates 27/28 exact, 9 of 9 wrong ones flagged.
    floors = {"amount": 18, "date_ddmmyyyy": 26}
    for field, (total, exact, wrong, flagged) in stats.items():
        assert total == 28
        assert exact >= floors[field], (field, stats)
        assert flagged >= wrong - 1, (field, stats)  # every wrong field is flagged but a mislabelled one


@pytest.mark.parametrize("skew", [-3.0, -0.5, 0.0, 1.0, 2.5])
def test_a_template_field_is_drawn_turned_as_on_the_scan(skew: float) -> None:
    from digitscan.overlay import _field_corners
    from digitscan.segment import Box

    cx, cy, w, h = 700.0, 300.0, 640.0, 115.0
    upright = np.array(
        [[cx - w / 2, cy - h / 2], [cx + w / 2, cy - h / 2], [cx + w / 2, cy + h / 2], [cx - w / 2, cy + h / 2]]
    )
    turn = cv2.getRotationMatrix2D((cx, cy), -skew, 1.0)
    turned = np.hstack([upright, np.ones((4, 1))]) @ turn.T  # the field as the skewed scan shows it
    (x0, y0), (x1, y1) = turned.min(axis=0), turned.max(axis=0)
    region = Box(round(x0), round(y0), round(x1 - x0), round(y1 - y0))
    assert np.abs(_field_corners(region, skew) - turned).max() < 1.5


def _amount_with_commas(mnist: MnistData, digits: str, commas_after: tuple[int, ...]) -> np.ndarray:
    """A blank synthetic form with ``digits`` handwritten in its amount frame and a comma after each digit
    whose index is in ``commas_after``: a short stroke at the foot of the line, hanging below it."""
    page, _ = render_synth_form(np.random.default_rng(5), mnist, blank=True)
    gray = cv2.cvtColor(page.image, cv2.COLOR_RGB2GRAY)
    x = 1130
    for index, digit in enumerate(digits):
        image = mnist.test_images[np.flatnonzero(mnist.test_labels == int(digit))[0]]
        patch = cv2.resize(image, (84, 84), interpolation=cv2.INTER_LINEAR)
        bottom = 590 - int(np.nonzero(patch > 128)[0].max())
        np.minimum(gray[bottom : bottom + 84, x : x + 84], 255 - patch, out=gray[bottom : bottom + 84, x : x + 84])
        x += 85
        if index in commas_after:
            cv2.line(gray, (x + 2, 578), (x - 6, 606), 20, 6)
            x += 30
    return gray


def test_an_amount_whose_separators_do_not_part_thousands_is_invalid(
    mnist: MnistData, tmp_path: Path, classifier: object
) -> None:
    # the same six digits, '1,50,000' and '15,0000': with `grouped`, three digits after the last comma and two
    # (or three) between commas, so the second was read with a digit too many or too few in a group
    template = tmp_path / "grouped.yaml"
    template.write_text(
        (TEMPLATES / "synth-form.yaml").read_text().replace("length: [2, 6]}", "length: [2, 6], grouped: true}")
    )
    for name, commas in (("indian.png", (0, 2)), ("wrong.png", (1,))):
        Image.fromarray(_amount_with_commas(mnist, "150000", commas)).save(tmp_path / name)
    run = process(sorted(tmp_path.glob("*.png")), ProcessOptions(template=template), classifier=classifier)  # type: ignore[arg-type]
    amounts = {Path(f.file).name: next(n for n in f.pages[0].numbers if n.field == "amount") for f in run.files}
    assert amounts["indian.png"].text == amounts["wrong.png"].text == "150000"
    assert amounts["indian.png"].valid is True
    assert amounts["wrong.png"].valid is False and amounts["wrong.png"].needs_review

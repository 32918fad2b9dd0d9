"""The CLI end to end: the README's run on samples/, every input format, outputs, and one test per exit code."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from digitscan.cli import app
from digitscan.mnist import MnistData
from digitscan.scoring import score_files
from digitscan.segment import Box
from digitscan.writers import CSV_COLUMNS

from .conftest import REPO, SAMPLES

runner = CliRunner()


def _process(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["process", *args])
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def samples_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run") / "results.csv"
    code, output = _process(str(SAMPLES), "--out", str(out))
    assert code == 0, output
    return out


def test_samples_are_read_with_at_least_90_percent_digit_accuracy(samples_csv: Path) -> None:
    result = score_files(samples_csv, SAMPLES / "truth.json")
    assert result.truth_digits > 200
    assert result.digit_accuracy >= 0.90, result.summary()
    assert result.box_precision >= 0.95, result.summary()


def test_every_sample_file_and_page_is_read(samples_csv: Path) -> None:
    truth = json.loads((SAMPLES / "truth.json").read_text())
    with samples_csv.open() as stream:
        seen = {(row["file"], int(row["page"])) for row in csv.DictReader(stream)}
    expected = {(name, page["page"]) for name, pages in truth["files"].items() for page in pages}
    assert seen == expected
    kinds = {Path(name).suffix for name, _ in expected}
    assert {".png", ".jpg", ".tif", ".pdf"} <= kinds


def test_fresh_synthetic_set_in_json(synthetic_dir: Path, tmp_path: Path) -> None:
    out_json, out_csv = tmp_path / "r.json", tmp_path / "r.csv"
    assert _process(str(synthetic_dir), "--out", str(out_json), "--quiet")[0] == 0
    assert _process(str(synthetic_dir), "--out", str(out_csv), "--quiet")[0] == 0
    document = json.loads(out_json.read_text())
    assert document["digitscan"]["model"]["sha256"]
    assert document["digitscan"]["options"]["pdf_dpi"] == 300
    assert document["digitscan"]["inputs"] == [
        {"path": synthetic_dir.as_posix(), "absolute": str(synthetic_dir), "folder": True}
    ]
    digits = sum(len(n["digits"]) for f in document["files"] for p in f["pages"] for n in p["numbers"])
    assert digits == document["summary"]["digits"] == len(out_csv.read_text().splitlines()) - 1
    assert score_files(out_csv, synthetic_dir / "truth.json").digit_accuracy >= 0.90
    # `digitscan score` reads either file the same way.
    scores = [runner.invoke(app, ["score", str(out), str(synthetic_dir / "truth.json")]) for out in (out_json, out_csv)]
    assert all(r.exit_code == 0 for r in scores) and scores[0].output == scores[1].output
    assert json.loads(scores[0].output)["digit_accuracy"] >= 0.90
    (tmp_path / "other.json").write_text('{"files": [{"pages": 3}]}')
    refused = runner.invoke(app, ["score", str(tmp_path / "other.json"), str(synthetic_dir / "truth.json")])
    assert refused.exit_code == 2 and "is not a results JSON" in refused.output


def test_csv_to_stdout_carries_only_data(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "digitscan", "process", str(SAMPLES / "cheque_001.png"), "--out", "-"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("file,page,number,position,digit,confidence")
    assert len(lines) > 10 and all(line.count(",") == len(CSV_COLUMNS) - 1 for line in lines)
    assert "oneDNN" not in result.stderr  # TensorFlow's start-up banner is silenced


def test_help_does_not_import_tensorflow() -> None:
    code = "import sys\nfrom digitscan.cli import main\nsys.argv = ['digitscan', '--help']\n"
    code += "try:\n    main()\nexcept SystemExit:\n    pass\nassert 'tensorflow' not in sys.modules, 'TF imported'\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "process" in result.stdout


def test_exit_1_when_some_inputs_fail_and_the_rest_is_processed(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.png").write_bytes((SAMPLES / "cheque_001.png").read_bytes())
    (folder / "empty.png").write_bytes(b"")
    (folder / "truncated.jpg").write_bytes((SAMPLES / "cheque_002.jpg").read_bytes()[:2000])
    out = tmp_path / "r.json"
    code, output = _process(str(folder), "--out", str(out))
    assert code == 1, output
    document = json.loads(out.read_text())
    failed = {f["file"]: f for f in document["failures"]}
    assert set(failed) == {"empty.png", "truncated.jpg"}
    assert failed["empty.png"]["stage"] == "load"
    good = next(f for f in document["files"] if f["file"] == "good.png")
    assert sum(len(n["digits"]) for n in good["pages"][0]["numbers"]) > 10


def test_exit_2_on_usage_errors(tmp_path: Path) -> None:
    assert _process(str(SAMPLES), "--out", str(tmp_path / "r.txt"))[0] == 2
    assert _process(str(SAMPLES), "--out", str(tmp_path / "r.csv"), "--pdf-dpi", "5")[0] == 2
    assert _process(str(SAMPLES), "--out", str(tmp_path / "r.csv"), "--review-threshold", "1.5")[0] == 2
    assert runner.invoke(app, ["process", str(SAMPLES)]).exit_code == 2  # --out missing


def test_exit_3_on_missing_dependencies(tmp_path: Path) -> None:
    args = [str(SAMPLES / "cheque_001.png"), "--out", str(tmp_path / "r.csv")]
    assert _process(*args, "--model", str(tmp_path / "absent.keras"))[0] == 3
    pytest.importorskip("tensorflow")
    import tensorflow as tf

    if not tf.config.list_physical_devices("GPU"):
        code, output = _process(*args, "--device", "gpu")
        assert code == 3 and "no GPU" in output


def test_exit_3_when_pdftoppm_is_missing_for_a_pdf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no poppler on PATH
    code, output = _process(str(SAMPLES / "mixed_004.pdf"), "--out", str(tmp_path / "r.csv"))
    assert code == 3
    assert "apt-get install -y poppler-utils" in output


def test_exit_4_when_no_scans_are_found(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("nothing here")
    assert _process(str(tmp_path), "--out", str(tmp_path / "r.csv"))[0] == 4
    assert _process(str(tmp_path / "missing"), "--out", str(tmp_path / "r.csv"))[0] == 4


def test_exit_5_when_the_output_cannot_be_written(tmp_path: Path) -> None:
    code, output = _process(str(SAMPLES), "--out", str(tmp_path / "no" / "such" / "r.csv"))
    assert code == 5 and "does not exist" in output


def test_exit_7_on_a_damaged_model(tmp_path: Path) -> None:
    from digitscan.card import card_path, default_model_path

    model = tmp_path / "damaged.keras"
    model.write_bytes(default_model_path().read_bytes()[:-100])
    card_path(model).write_text(card_path(default_model_path()).read_text())
    code, output = _process(str(SAMPLES / "cheque_001.png"), "--out", str(tmp_path / "r.csv"), "--model", str(model))
    assert code == 7 and "does not match its card" in output


def test_image_with_exif_rotation_reports_boxes_on_the_displayed_page(tmp_path: Path) -> None:
    upright = Image.open(SAMPLES / "cheque_001.png")
    sideways = upright.transpose(Image.Transpose.ROTATE_90)  # stored rotated, EXIF says how to show it
    exif = Image.Exif()
    exif[0x0112] = 6
    sideways.save(tmp_path / "cheque.jpg", exif=exif, quality=95)
    out = tmp_path / "r.json"
    assert _process(str(tmp_path / "cheque.jpg"), "--out", str(out), "-q")[0] == 0
    page = json.loads(out.read_text())["files"][0]["pages"][0]
    assert (page["width"], page["height"]) == upright.size


def test_exit_5_under_no_overwrite_and_the_old_output_is_untouched(tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    out.write_text("yesterday's results\n")
    code, output = _process(str(SAMPLES / "cheque_001.png"), "--out", str(out), "--no-overwrite")
    assert code == 5 and "exists" in output
    assert out.read_text() == "yesterday's results\n"


def test_cron_run_logs_plain_progress_and_a_log_file(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.png").write_bytes((SAMPLES / "cheque_001.png").read_bytes())
    (folder / "b.png").write_bytes(b"")
    log = tmp_path / "run.log"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "digitscan",
            "process",
            str(folder),
            "--out",
            str(tmp_path / "r.csv"),
            "--log-file",
            str(log),
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert result.returncode == 1
    assert "digitscan: 2/2 files read" in result.stderr  # not a terminal: plain lines, no bar
    assert "\x1b[" not in result.stderr
    assert result.stdout == ""
    text = log.read_text()
    assert "read a.png" in text and "b.png: empty file" in text


def test_doctor_reports_poppler_tensorflow_and_the_model_cards() -> None:
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 0, result.output
    expected_rows = ("poppler pdftoppm", "tensorflow", "mnist_test_accuracy", "review threshold")
    for expected in (*expected_rows, "pair model", "mnist_test_pairs_accuracy"):
        assert expected in result.output


def test_inspect_draws_the_found_digits_over_the_page(tmp_path: Path) -> None:
    import numpy as np

    out = tmp_path / "overlay.png"
    result = runner.invoke(app, ["inspect", str(SAMPLES / "mixed_004.pdf"), "--page", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    truth = json.loads((SAMPLES / "truth.json").read_text())["files"]["mixed_004.pdf"][1]
    image = np.asarray(Image.open(out).convert("RGB")).astype(int)
    assert image.shape[:2] == (truth["height"], truth["width"])
    x, y, w, h = truth["numbers"][0]["digits"][0]["box"]
    border = image[max(0, y - 6) : y + h + 6, max(0, x - 6) : x + w + 6]
    coloured = (np.abs(border[..., 0] - border[..., 1]) > 60) | (np.abs(border[..., 1] - border[..., 2]) > 60)
    assert coloured.sum() > 2 * (w + h)  # a digit box is drawn around the first truth digit
    assert (
        runner.invoke(app, ["inspect", str(SAMPLES / "cheque_001.png"), "--page", "2", "--out", str(out)]).exit_code
        == 2
    )


def test_printed_flag_reports_the_printed_digits_marked_printed(mnist: MnistData, tmp_path: Path) -> None:
    from .test_segment import _inside, _page_with_printed_and_handwritten_digits

    page, printed, handwritten = _page_with_printed_and_handwritten_digits(mnist)
    Image.fromarray(page).save(tmp_path / "cheque.png")
    for flag, out in (([], tmp_path / "plain.csv"), (["--printed"], tmp_path / "printed.csv")):
        code, _ = _process(str(tmp_path / "cheque.png"), "--out", str(out), "--jobs", "1", "--quiet", *flag)
        assert code == 0
    for name, expected in (("plain.csv", set()), ("printed.csv", {"true", "false"})):
        with (tmp_path / name).open(newline="") as stream:
            rows = list(csv.DictReader(stream))
        boxes = [(Box(int(r["x"]), int(r["y"]), int(r["w"]), int(r["h"])), r["printed"]) for r in rows]
        assert {flag for box, flag in boxes if any(_inside(box, a) for a in printed)} == (expected - {"false"})
        assert {flag for box, flag in boxes if any(_inside(box, a) for a in handwritten)} == {"false"}
    assert sum(any(_inside(box, a) for a in printed) for box, _ in boxes) == 20


def test_synth_style_scanned_records_printed_type_and_an_unknown_style_is_a_usage_error(
    mnist_dir: Path, tmp_path: Path
) -> None:
    args = ["synth", "--out", str(tmp_path / "pages"), "--pages", "1", "--mnist", str(mnist_dir)]
    result = runner.invoke(app, [*args, "--style", "scanned"])
    assert result.exit_code == 0, result.output
    truth = json.loads((tmp_path / "pages" / "truth.json").read_text())
    assert truth["generator"]["style"] == "scanned"
    (page,) = truth["files"]["cheque_001.png"]
    assert any(c["char"].isdigit() for c in page["printed"]) and "noise_sigma" in page["scan"]
    assert runner.invoke(app, [*args, "--style", "smudged"]).exit_code == 2
    crossing = runner.invoke(app, [*args, "--out", str(tmp_path / "crossing"), "--hands", "crossing"])
    assert crossing.exit_code == 0, crossing.output
    assert json.loads((tmp_path / "crossing" / "truth.json").read_text())["generator"]["hands"] == "crossing"
    assert runner.invoke(app, [*args, "--hands", "left"]).exit_code == 2

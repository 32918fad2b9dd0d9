"""Nightly reruns: a killed run resumes from its journal and ends with the same results; new files only."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from digitscan.cli import app
from digitscan.journal import journal_path

from .conftest import REPO, SAMPLES

SOURCES = ["cheque_001.png", "cheque_002.jpg", "forms_003.tif", "form_005_g4.tif"]


def _folder(tmp_path: Path, copies: int) -> Path:
    folder = tmp_path / "scans"
    folder.mkdir()
    for i in range(copies):
        name = SOURCES[i % len(SOURCES)]
        (folder / f"{i:02d}_{name}").write_bytes((SAMPLES / name).read_bytes())
    return folder


def _command(folder: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "digitscan", "process", str(folder), "--out", str(out), "--batch-size", "16", "-q"]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}


def _journaled(out: Path) -> int:
    path = journal_path(out)
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1) as db:
            return int(db.execute("SELECT COUNT(*) FROM files").fetchone()[0])
    except sqlite3.Error:
        return 0


def _start_and_stop(folder: Path, out: Path, sig: int, after_files: int) -> int:
    """Start a run, send ``sig`` once the journal holds ``after_files`` files; return the exit code."""
    process = subprocess.Popen(_command(folder, out), env=_env(), stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while _journaled(out) < after_files and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if process.poll() is not None:
        pytest.fail(f"the run ended before it could be interrupted: {process.stderr.read() if process.stderr else ''}")
    process.send_signal(sig)
    return process.wait(timeout=60)


def _digits(document: dict) -> list[tuple]:
    return [
        (f["file"], p["page"], n["number"], d["position"], d["digit"], d["x"], d["y"], d["w"], d["h"], d["confidence"])
        for f in document["files"]
        for p in f["pages"]
        for n in p["numbers"]
        for d in n["digits"]
    ]


def _same(a: list[tuple], b: list[tuple]) -> bool:
    return len(a) == len(b) and all(x[:-1] == y[:-1] and abs(x[-1] - y[-1]) < 1e-5 for x, y in zip(a, b, strict=True))


@pytest.mark.slow
def test_a_killed_run_resumes_to_the_same_results_and_then_reads_only_new_files(tmp_path: Path) -> None:
    folder = _folder(tmp_path, copies=10)
    baseline_out = tmp_path / "baseline.json"
    assert subprocess.run(_command(folder, baseline_out), env=_env(), check=False).returncode == 0
    baseline = json.loads(baseline_out.read_text())

    out = tmp_path / "nightly.json"
    code = _start_and_stop(folder, out, signal.SIGKILL, after_files=3)
    assert code == -signal.SIGKILL
    assert not out.exists()  # nothing half-written
    done_before = _journaled(out)
    assert 3 <= done_before < 10

    assert subprocess.run(_command(folder, out), env=_env(), check=False).returncode == 0
    resumed = json.loads(out.read_text())
    assert resumed["digitscan"]["files_from_journal"] == done_before
    assert _same(_digits(resumed), _digits(baseline))
    assert resumed["summary"]["digits"] == baseline["summary"]["digits"]

    (folder / "99_new.png").write_bytes((SAMPLES / "cheque_001.png").read_bytes())
    assert subprocess.run(_command(folder, out), env=_env(), check=False).returncode == 0
    nightly = json.loads(out.read_text())
    assert nightly["digitscan"]["files_from_journal"] == 10
    assert [f["file"] for f in nightly["files"]][-1] == "99_new.png"
    assert len(_digits(nightly)) == len(_digits(baseline)) + 17


@pytest.mark.slow
def test_sigterm_stops_with_130_and_keeps_finished_work(tmp_path: Path) -> None:
    folder = _folder(tmp_path, copies=10)
    out = tmp_path / "r.csv"
    assert _start_and_stop(folder, out, signal.SIGTERM, after_files=2) == 130
    assert not out.exists()
    assert _journaled(out) >= 2


def test_changed_settings_or_fresh_reread_everything(tmp_path: Path) -> None:
    folder = _folder(tmp_path, copies=2)
    out = tmp_path / "r.json"
    runner = CliRunner()
    assert runner.invoke(app, ["process", str(folder), "--out", str(out), "-q"]).exit_code == 0
    assert runner.invoke(app, ["process", str(folder), "--out", str(out), "-q"]).exit_code == 0
    assert json.loads(out.read_text())["digitscan"]["files_from_journal"] == 2
    args = ["process", str(folder), "--out", str(out), "-q"]
    assert runner.invoke(app, [*args, "--review-threshold", "0.5"]).exit_code == 0
    assert json.loads(out.read_text())["digitscan"]["files_from_journal"] == 0
    assert runner.invoke(app, [*args, "--fresh"]).exit_code == 0
    assert json.loads(out.read_text())["digitscan"]["files_from_journal"] == 0
    (folder / "00_cheque_001.png").write_bytes((SAMPLES / "cheque_002.jpg").read_bytes())  # same name, new scan
    assert runner.invoke(app, args).exit_code == 0
    document = json.loads(out.read_text())
    assert document["digitscan"]["files_from_journal"] == 1
    assert document["files"][0]["kind"] == "jpeg"


def test_a_file_still_being_written_is_left_for_the_next_run(tmp_path: Path) -> None:
    folder = _folder(tmp_path, copies=2)
    old = time.time() - 3600
    os.utime(folder / "00_cheque_001.png", (old, old))
    out = tmp_path / "r.json"
    args = ["process", str(folder), "--out", str(out), "-q", "--min-age", "60"]
    assert CliRunner().invoke(app, args).exit_code == 1
    document = json.loads(out.read_text())
    assert [(f["file"], f["error_type"]) for f in document["failures"]] == [("01_cheque_002.jpg", "StillBeingWritten")]
    os.utime(folder / "01_cheque_002.jpg", (old, old))  # the copy has finished
    assert CliRunner().invoke(app, args).exit_code == 0
    document = json.loads(out.read_text())
    assert document["digitscan"]["files_from_journal"] == 1 and document["failures"] == []


def test_the_journal_keeps_fields_and_skew_confidence(tmp_path: Path) -> None:
    from digitscan.journal import RunJournal
    from digitscan.results import DigitResult, FileResult, NumberResult, PageResult
    from digitscan.segment import Box, Field

    digit = DigitResult(0, 7, 0.98, 1, 0.01, Box(1, 2, 3, 4), False)
    comb = Field(Box(0, 0, 90, 40), (Box(0, 0, 45, 40), Box(45, 0, 45, 40)))
    page = PageResult(1, 100, 50, -0.4, (NumberResult(0, (digit,)),), skew_confidence=0.87, fields=(comb,))
    result = FileResult("a.png", "png", (page,))
    journal = RunJournal.open(journal_path(tmp_path / "r.json"))
    journal.record([("key", result, [])])
    stored = journal.lookup("key", "a.png")
    journal.close()
    assert stored is not None and stored[0] == result

"""Worker processes: same results as one process, and a worker that dies costs only its own file."""

from __future__ import annotations

import os
from pathlib import Path

from digitscan.classify import DigitClassifier
from digitscan.discover import InputFile
from digitscan.pipeline import FileWork, ProcessOptions, process, read_file

from .conftest import SAMPLES


def reader_that_dies_on_poison(index: int, input_file: InputFile, pdf_dpi: int) -> FileWork:
    """An injected fault: the worker process reading a file named *poison* exits abruptly."""
    if "poison" in input_file.name:
        os._exit(9)
    return read_file(index, input_file, pdf_dpi)


def _digits(run) -> list[tuple]:  # type: ignore[no-untyped-def]
    return [
        (f.file, p.page, n.index, d.position, d.digit, d.box, round(d.confidence, 4))
        for f in run.files
        for p in f.pages
        for n in p.numbers
        for d in n.digits
    ]


def test_two_workers_read_exactly_what_one_process_reads(synthetic_dir: Path, classifier: DigitClassifier) -> None:
    one = process([synthetic_dir], ProcessOptions(jobs=1), classifier=classifier)
    two = process([synthetic_dir], ProcessOptions(jobs=2), classifier=classifier)
    assert _digits(one) == _digits(two)
    assert len(_digits(one)) > 300


def test_a_dying_worker_fails_only_its_file(tmp_path: Path, classifier: DigitClassifier) -> None:
    for name in ("a.png", "b_poison.png", "c.jpg", "d.png", "e.jpg"):
        source = SAMPLES / ("cheque_002.jpg" if name.endswith(".jpg") else "cheque_001.png")
        (tmp_path / name).write_bytes(source.read_bytes())
    run = process([tmp_path], ProcessOptions(jobs=2), classifier=classifier, reader=reader_that_dies_on_poison)
    assert [(f.file, f.error_type) for f in run.failures] == [("b_poison.png", "WorkerDied")]
    read = {f.file: sum(len(n.digits) for p in f.pages for n in p.numbers) for f in run.files}
    assert read["b_poison.png"] == 0
    assert all(read[name] > 10 for name in ("a.png", "c.jpg", "d.png", "e.jpg"))


def slow_reader(index: int, input_file: InputFile, pdf_dpi: int) -> FileWork:
    """An injected fault: reading a file named *slow* hangs."""
    if "slow" in input_file.name:
        import time

        time.sleep(60)
    return read_file(index, input_file, pdf_dpi)


def test_a_file_over_the_timeout_fails_and_the_rest_is_read(tmp_path: Path, classifier: DigitClassifier) -> None:
    for name in ("a.png", "b_slow.png", "c.png"):
        (tmp_path / name).write_bytes((SAMPLES / "cheque_001.png").read_bytes())
    for jobs in (1, 2):
        options = ProcessOptions(jobs=jobs, file_timeout_s=3)
        run = process([tmp_path], options, classifier=classifier, reader=slow_reader)
        assert [(f.file, f.error_type) for f in run.failures] == [("b_slow.png", "Timeout")]
        assert [sum(len(n.digits) for p in f.pages for n in p.numbers) for f in run.files] == [17, 0, 17]

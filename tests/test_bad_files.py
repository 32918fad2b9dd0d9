"""A zoo of bad inputs: each one becomes a failure row, the exit code is 1, and the good file beside it is read."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from digitscan.cli import app

from .conftest import SAMPLES


def _zero_bytes(folder: Path) -> tuple[str, int | None, str]:
    (folder / "zero.png").write_bytes(b"")
    return "zero.png", None, "empty file"


def _truncated_jpeg(folder: Path) -> tuple[str, int | None, str]:
    (folder / "cut.jpg").write_bytes((SAMPLES / "cheque_002.jpg").read_bytes()[:3000])
    return "cut.jpg", 1, "cannot be decoded"


def _text_named_like_a_scan(folder: Path) -> tuple[str, int | None, str]:
    (folder / "scan.tif").write_text("this is not a TIFF")
    return "scan.tif", None, "not a supported scan"


def _malformed_pdf(folder: Path) -> tuple[str, int | None, str]:
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj garbage\n%%EOF\n")
    return "broken.pdf", None, "PDF"


def _huge_image(folder: Path) -> tuple[str, int | None, str]:
    Image.new("1", (12000, 11000), 1).save(folder / "huge.png")  # 132 MP: a few KB on disk
    return "huge.png", 1, "pixel limit"


def _tiff_with_a_broken_second_frame(folder: Path) -> tuple[str, int | None, str]:
    path = folder / "frames.tif"
    frames = [Image.fromarray(np.full((300, 400), v, np.uint8)) for v in (250, 200, 150)]
    frames[0].save(path, save_all=True, append_images=frames[1:], compression="tiff_adobe_deflate")
    with Image.open(path) as image:
        image.seek(1)
        offset = image.tag_v2[273][0]  # StripOffsets: where frame 2's compressed data starts
    data = bytearray(path.read_bytes())
    data[offset : offset + 40] = b"\xff" * 40
    path.write_bytes(bytes(data))
    return "frames.tif", 2, "cannot be decoded"


def _password_pdf(folder: Path) -> tuple[str, int | None, str]:
    # tests/resources/password.pdf: a one-page PDF encrypted with qpdf (AES-256, password "secret").
    (folder / "locked.pdf").write_bytes((Path(__file__).parent / "resources" / "password.pdf").read_bytes())
    return "locked.pdf", None, "PDF is password-protected"


CASES: dict[str, Callable[[Path], tuple[str, int | None, str]]] = {
    "zero-byte": _zero_bytes,
    "truncated": _truncated_jpeg,
    "wrong content": _text_named_like_a_scan,
    "malformed pdf": _malformed_pdf,
    "password pdf": _password_pdf,
    "decompression bomb": _huge_image,
    "broken tiff frame": _tiff_with_a_broken_second_frame,
}


def _run(folder: Path, tmp_path: Path) -> tuple[int, dict]:
    out = tmp_path / "results.json"
    result = CliRunner().invoke(app, ["process", str(folder), "--out", str(out), "--quiet"])
    return result.exit_code, json.loads(out.read_text())


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_file_is_a_failure_and_the_run_goes_on(case: str, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.png").write_bytes((SAMPLES / "cheque_001.png").read_bytes())
    name, page, message = CASES[case](folder)
    code, document = _run(folder, tmp_path)
    assert code == 1
    (failure,) = document["failures"]
    assert (failure["file"], failure["page"], failure["stage"]) == (name, page, "load")
    assert failure["error_type"] == "InputFileError"
    assert message in failure["message"]
    good = next(f for f in document["files"] if f["file"] == "good.png")
    assert sum(len(n["digits"]) for n in good["pages"][0]["numbers"]) == 17  # as in samples/truth.json


def test_pages_before_a_broken_frame_are_kept(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    _tiff_with_a_broken_second_frame(folder)
    code, document = _run(folder, tmp_path)
    assert code == 1
    assert [p["page"] for p in document["files"][0]["pages"]] == [1]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    locked = folder / "locked.png"
    locked.write_bytes((SAMPLES / "cheque_001.png").read_bytes())
    locked.chmod(0)
    try:
        code, document = _run(folder, tmp_path)
    finally:
        locked.chmod(0o644)
    assert code == 1
    assert "ermission" in document["failures"][0]["message"]


def test_a_directory_loop_through_symlinks_ends(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "loop").symlink_to(folder, target_is_directory=True)
    (folder / "self.png").symlink_to(folder / "self.png")  # a link to itself
    (folder / "sub" / "good.png").write_bytes((SAMPLES / "cheque_001.png").read_bytes())
    code, document = _run(folder, tmp_path)
    assert code == 1
    assert [f["file"] for f in document["failures"]] == ["self.png"]
    assert [f["file"] for f in document["files"] if f["pages"]] == ["sub/good.png"]

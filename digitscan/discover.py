"""Find the scans to process: files and folders in, a deterministic list of typed input files out."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from digitscan.errors import NoInputError

log = logging.getLogger(__name__)

# Leading bytes of each supported format; the type comes from content, never from the file name.
_SIGNATURES: list[tuple[bytes, str]] = [
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"II+\x00", "tiff"),  # BigTIFF
    (b"MM\x00+", "tiff"),
    (b"BM", "bmp"),
    (b"%PDF-", "pdf"),
]
# Names that look like scans: such a file is reported as failed when its content is not a readable scan.
SCAN_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".jpe", ".tif", ".tiff", ".bmp", ".dib", ".pdf"})


@dataclass(frozen=True)
class InputFile:
    """One file to read. ``name`` is how outputs refer to it: relative to the folder it was found in."""

    path: Path
    name: str
    kind: str | None  # png, jpeg, tiff, bmp, pdf; None when the content is not a known scan type


def detect_kind(path: Path) -> str | None:
    """The scan format of ``path`` from its first bytes, or None when it is none of the supported ones."""
    try:
        with path.open("rb") as stream:
            head = stream.read(8)
    except OSError:
        return None
    for signature, kind in _SIGNATURES:
        if head.startswith(signature):
            return kind
    # PDF allows up to 1 KiB of junk before the header.
    if path.suffix.lower() == ".pdf":
        try:
            with path.open("rb") as stream:
                if b"%PDF-" in stream.read(1024):
                    return "pdf"
        except OSError:
            return None
    return None


def _walk(folder: Path) -> list[Path]:
    found: list[Path] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(Path(root) / name for name in files if not name.startswith("."))
    return sorted(found, key=lambda path: path.relative_to(folder).as_posix())


def discover(paths: Sequence[Path]) -> list[InputFile]:
    """List the scans under ``paths`` in a stable order (arguments in order, folders walked sorted).

    A file named on the command line is always returned (a non-scan becomes a failure later). Inside a
    folder, a file is returned when its content is a scan or its name says it should be one; anything
    else there (notes, truth files, results) is skipped.
    """
    seen: set[Path] = set()
    inputs: list[InputFile] = []
    for given in paths:
        if not given.exists():
            raise NoInputError(f"{given} does not exist")
        if given.is_dir():
            candidates = [(path, path.relative_to(given).as_posix(), False) for path in _walk(given)]
        else:
            candidates = [(given, given.as_posix(), True)]
        for path, name, explicit in candidates:
            resolved = Path(os.path.realpath(path))  # never raises, even on a symlink loop
            if resolved in seen:
                continue
            kind = detect_kind(path)
            if kind is None and not explicit and path.suffix.lower() not in SCAN_SUFFIXES:
                log.debug("skipping %s: not a scan", path)
                continue
            seen.add(resolved)
            inputs.append(InputFile(path=path, name=name, kind=kind))
    return inputs

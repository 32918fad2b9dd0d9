"""Page images for review: find the scans a results document lists, load their pages, cut and encode crops.

Only files listed in the results are ever opened, found from the run's recorded inputs (or a folder the
reviewer names); a file name that would leave its folder (``..``, an absolute path) is never followed.
Pages are loaded through :mod:`digitscan.loading` (PDF pages at the run's dpi) and kept in a small LRU cache.
"""

from __future__ import annotations

import base64
import io
import logging
import threading
from collections import OrderedDict
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

from digitscan.discover import InputFile, detect_kind
from digitscan.errors import DigitscanError, InputFileError
from digitscan.loading import load_page
from digitscan.review import ResultsDocument
from digitscan.segment import Box

log = logging.getLogger(__name__)

CROP_MAX_WIDTH = 1600
PAGE_MAX_SIDE = 1600


class PageUnavailableError(Exception):
    """A page listed in the results cannot be shown: its file moved, changed or cannot be read."""


def _inside(folder: Path, name: str) -> Path | None:
    """``folder / name`` when ``name`` is a plain relative path that stays inside ``folder``, else None."""
    relative = PurePosixPath(name)
    if relative.is_absolute() or not relative.parts or any(part in ("..", "") for part in relative.parts):
        return None
    if "\\" in name or "\0" in name:
        return None
    return folder.joinpath(*relative.parts)


class ScanLocator:
    """Finds the scan file behind each file name of a results document, and nothing else."""

    def __init__(self, document: ResultsDocument, scans: Path | None = None) -> None:
        self._document = document
        self._scans = scans
        self._listed = {f.file for f in document.run.files}

    def _candidates(self, name: str) -> list[Path | None]:
        if self._scans is not None:
            return [_inside(self._scans, name), _inside(self._scans, PurePosixPath(name).name)]
        found: list[Path | None] = []
        for root in self._document.inputs:
            if root.folder:
                found.append(_inside(Path(root.absolute), name))
            elif root.path == name:
                found.append(Path(root.absolute))
        if not self._document.inputs:  # results written before inputs were recorded: beside the results
            found.append(_inside(self._document.path.parent, name))
        return found

    def find(self, name: str) -> Path | None:
        """The scan file named ``name`` in the results, or None when it is not listed or not found."""
        if name not in self._listed:
            return None
        for candidate in self._candidates(name):
            if candidate is not None and candidate.is_file():
                return candidate
        return None


class PageImages:
    """Pages of the scans listed in a results document, loaded on demand and cached (at most ``max_pages``)."""

    def __init__(self, document: ResultsDocument, locator: ScanLocator, max_pages: int = 8) -> None:
        self._document = document
        self._locator = locator
        self._max_pages = max_pages
        self._cache: OrderedDict[tuple[str, int], np.ndarray | PageUnavailableError] = OrderedDict()
        self._lock = threading.Lock()
        self._load_lock = threading.Lock()

    def _cached(self, key: tuple[str, int]) -> np.ndarray | PageUnavailableError | None:
        with self._lock:
            found = self._cache.get(key)
            if found is not None:
                self._cache.move_to_end(key)
            return found

    def _load(self, file: str, page: int) -> np.ndarray:
        size = self._document.page_size(file, page)
        if size is None:
            raise PageUnavailableError(f"{file} page {page} is not in the results")
        path = self._locator.find(file)
        if path is None:
            raise PageUnavailableError(f"{file} is not found where the run read it (give its folder with --scans)")
        try:
            image = load_page(InputFile(path, file, detect_kind(path)), page, self._document.pdf_dpi).image
        except (InputFileError, DigitscanError) as exc:
            raise PageUnavailableError(f"{file} page {page} cannot be read: {exc}") from exc
        if (image.shape[1], image.shape[0]) != size:
            raise PageUnavailableError(
                f"{file} page {page} is {image.shape[1]}x{image.shape[0]} pixels now but {size[0]}x{size[1]} in the "
                "results: the file changed since the run"
            )
        return image

    def page(self, file: str, page: int) -> np.ndarray:
        """The grayscale image of one page; :class:`PageUnavailableError` when it cannot be shown."""
        key = (file, page)
        found = self._cached(key)
        if found is None:
            with self._load_lock:  # one page load at a time; others wait rather than render it twice
                found = self._cached(key)
                if found is None:
                    try:
                        found = self._load(file, page)
                    except PageUnavailableError as exc:
                        log.warning("%s", exc)
                        found = exc
                    with self._lock:
                        self._cache[key] = found
                        while len(self._cache) > self._max_pages:
                            self._cache.popitem(last=False)
        if isinstance(found, PageUnavailableError):
            raise found
        return found


def _encode(image: np.ndarray, max_side: int, fmt: str) -> bytes:
    picture = Image.fromarray(image)
    scale = max_side / max(picture.size)
    if scale < 1:
        size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
        picture = picture.resize(size, Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    if fmt == "png":
        picture.save(buffer, format="PNG", optimize=False, compress_level=3)
    else:
        picture.save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def crop_png(image: np.ndarray, box: Box) -> bytes:
    """The region ``box`` of a page as PNG (scaled down when wider than :data:`CROP_MAX_WIDTH`)."""
    region = image[box.y : box.bottom, box.x : box.right]
    if region.size == 0:
        raise PageUnavailableError(f"the box {box} lies outside the page")
    return _encode(np.ascontiguousarray(region), CROP_MAX_WIDTH, "png")


def page_jpeg(image: np.ndarray) -> bytes:
    """A whole page as JPEG, its longer side at most :data:`PAGE_MAX_SIDE` pixels."""
    return _encode(image, PAGE_MAX_SIDE, "jpeg")


def data_uri(content: bytes, mime: str) -> str:
    """``content`` as a ``data:`` URI, for the self-contained review page."""
    return f"data:{mime};base64,{base64.b64encode(content).decode('ascii')}"

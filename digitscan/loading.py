"""Read the pages of one input file as grayscale images, one page at a time, with how coloured each pixel is
when the scan is in colour (a coloured pen tells handwriting from black print).

Raster files go through Pillow (EXIF orientation applied, every TIFF frame, 1-bit, 16-bit, palette, alpha
and CMYK handled); PDFs through pdf2image, which runs poppler's ``pdftoppm`` one page at a time so a long
PDF never sits in memory whole.
"""

from __future__ import annotations

import logging
import shutil
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageOps, ImageSequence

from digitscan.discover import InputFile
from digitscan.errors import InputFileError, MissingDependencyError

log = logging.getLogger(__name__)

MAX_PIXELS = 120_000_000  # a 600 dpi A3 page is ~70 MP; anything far beyond is a damaged or hostile file
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
# A colour file is a colour scan when at least COLOUR_SHARE of its pixels spread at least COLOUR_CHROMA across
# red, green and blue: a gray scan saved as colour JPEG spreads a few levels at most.
COLOUR_CHROMA = 40
COLOUR_SHARE = 1e-4


@dataclass(frozen=True)
class Page:
    """One page image: 8-bit grayscale, dark ink on light paper, in the file's own pixel grid."""

    file: InputFile
    number: int  # from 1
    image: np.ndarray
    dpi: float | None
    chroma: np.ndarray | None = None  # colour scans: each pixel's spread across R, G, B (to_chroma)


def require_poppler() -> None:
    """Fail with the exact fix when poppler's pdftoppm, which PDF input needs, is not installed."""
    if shutil.which("pdftoppm") is None or shutil.which("pdfinfo") is None:
        raise MissingDependencyError(
            "PDF input needs poppler's pdftoppm and pdfinfo; install them with: sudo apt-get install -y poppler-utils"
        )


def to_gray(image: Image.Image) -> np.ndarray:
    """Convert any Pillow mode to 8-bit grayscale; transparent areas become white paper."""
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        data = np.asarray(image, dtype=np.float64)
        top = data.max() if data.size and data.max() > 255 else 255.0
        return np.clip(data * (255.0 / top), 0, 255).astype(np.uint8)
    if mode == "F":
        data = np.asarray(image, dtype=np.float64)
        span = data.max() - data.min() if data.size else 0.0
        return ((data - data.min()) * (255.0 / span) if span > 0 else np.full(data.shape, 255.0)).astype(np.uint8)
    return np.asarray(_on_white(image).convert("L"), dtype=np.uint8)


def _on_white(image: Image.Image) -> Image.Image:
    """An 8-bit image without transparency (transparent areas become white paper) and without a palette."""
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        paper = Image.new("RGBA", image.size, (255, 255, 255, 255))
        return Image.alpha_composite(paper, image.convert("RGBA"))
    if image.mode == "CMYK":
        return image.convert("RGB")
    return image


def to_chroma(image: Image.Image) -> np.ndarray | None:
    """How coloured each pixel of a colour scan is: the spread of its red, green and blue (0-255). None for a
    grayscale source, a colour space Pillow cannot turn into RGB (LAB, HSV: read as gray all the same), and a
    colour file that holds a gray scan (see COLOUR_CHROMA)."""
    if image.mode not in ("RGB", "RGBA", "RGBX", "RGBa", "P", "PA", "CMYK", "YCbCr"):
        return None
    red, green, blue = cv2.split(np.asarray(_on_white(image).convert("RGB")))  # OpenCV: 50x numpy's max(axis=2)
    chroma = cv2.subtract(cv2.max(cv2.max(red, green), blue), cv2.min(cv2.min(red, green), blue))
    if np.count_nonzero(chroma >= COLOUR_CHROMA) < COLOUR_SHARE * chroma.size:
        return None
    return chroma


def _dpi(image: Image.Image) -> float | None:
    dpi = image.info.get("dpi")
    try:
        value = float(dpi[0]) if dpi else None
    except (TypeError, ValueError, IndexError):
        return None
    return value if value and value > 1 else None


def _raster_pages(input_file: InputFile) -> Iterator[Page]:
    try:
        with warnings.catch_warnings():  # the explicit pixel limit below decides, not a warning
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(input_file.path)
    except Image.DecompressionBombError as exc:
        raise InputFileError(f"image is larger than the {MAX_PIXELS:,} pixel limit: {exc}") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise InputFileError(f"cannot read image: {exc}") from exc
    with image:
        for index, frame in enumerate(ImageSequence.Iterator(image), start=1):
            if frame.width * frame.height > MAX_PIXELS:
                raise InputFileError(
                    f"page {index} is {frame.width}x{frame.height} pixels, over the {MAX_PIXELS:,} pixel limit",
                    page=index,
                )
            try:
                frame.load()
                oriented = ImageOps.exif_transpose(frame)
                gray, chroma = to_gray(oriented), to_chroma(oriented)
            except Image.DecompressionBombError as exc:
                raise InputFileError(f"page {index} exceeds the {MAX_PIXELS:,} pixel limit", page=index) from exc
            except (OSError, ValueError, SyntaxError) as exc:
                raise InputFileError(f"page {index} cannot be decoded: {exc}", page=index) from exc
            yield Page(input_file, index, gray, _dpi(frame), chroma)


def _pdf_page_count(input_file: InputFile) -> int:
    from pdf2image import pdfinfo_from_path
    from pdf2image.exceptions import PDFInfoNotInstalledError, PDFPageCountError, PDFSyntaxError

    require_poppler()
    try:
        return int(pdfinfo_from_path(str(input_file.path))["Pages"])
    except PDFInfoNotInstalledError as exc:
        raise MissingDependencyError("poppler's pdfinfo is missing: sudo apt-get install -y poppler-utils") from exc
    except (PDFPageCountError, PDFSyntaxError, KeyError, ValueError) as exc:
        detail = " ".join(str(exc).split())
        if "password" in detail.lower():
            raise InputFileError(f"PDF is password-protected: {detail}") from exc
        raise InputFileError(f"cannot read PDF: {detail}") from exc


def _pdf_page(input_file: InputFile, number: int, pdf_dpi: int) -> Page:
    from pdf2image import convert_from_path
    from pdf2image.exceptions import PDFPageCountError, PDFSyntaxError

    try:
        (rendered,) = convert_from_path(str(input_file.path), dpi=pdf_dpi, first_page=number, last_page=number)
    except (PDFPageCountError, PDFSyntaxError, ValueError) as exc:
        raise InputFileError(f"page {number} cannot be rendered: {str(exc).strip()}", page=number) from exc
    if rendered.width * rendered.height > MAX_PIXELS:
        raise InputFileError(f"page {number} at {pdf_dpi} dpi exceeds the {MAX_PIXELS:,} pixel limit", page=number)
    return Page(input_file, number, to_gray(rendered), float(pdf_dpi), to_chroma(rendered))


def _pdf_pages(input_file: InputFile, pdf_dpi: int) -> Iterator[Page]:
    for number in range(1, _pdf_page_count(input_file) + 1):
        yield _pdf_page(input_file, number, pdf_dpi)


def iter_pages(input_file: InputFile, pdf_dpi: int = 300) -> Iterator[Page]:
    """Yield the pages of ``input_file`` in order; raise :class:`InputFileError` when it cannot be read."""
    if input_file.kind is None:
        try:
            with input_file.path.open("rb") as stream:
                empty = not stream.read(1)
        except OSError as exc:
            raise InputFileError(f"cannot open: {exc.strerror or exc}") from exc
        if empty:
            raise InputFileError("empty file (0 bytes)")
        raise InputFileError("not a supported scan (PNG, JPEG, TIFF, BMP or PDF) by its content")
    if input_file.kind == "pdf":
        yield from _pdf_pages(input_file, pdf_dpi)
    else:
        yield from _raster_pages(input_file)


def load_page(input_file: InputFile, number: int, pdf_dpi: int = 300) -> Page:
    """Page ``number`` (from 1) of ``input_file``; a PDF renders only that page.

    Raises :class:`InputFileError` when the file cannot be read or has no such page.
    """
    if input_file.kind == "pdf":
        count = _pdf_page_count(input_file)
        if not 1 <= number <= count:
            raise InputFileError(f"the PDF has {count} page(s), not a page {number}", page=number)
        return _pdf_page(input_file, number, pdf_dpi)
    for page in iter_pages(input_file, pdf_dpi):
        if page.number == number:
            return page
    raise InputFileError(f"the file has no page {number}", page=number)

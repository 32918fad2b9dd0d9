"""Input discovery and page loading for every format digitscan reads (real files, written here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from digitscan.discover import detect_kind, discover
from digitscan.errors import InputFileError, NoInputError
from digitscan.loading import iter_pages


def _page_with_mark(width: int = 300, height: int = 200) -> np.ndarray:
    """White page with a black square near the top-left: orientation is visible."""
    image = np.full((height, width), 255, np.uint8)
    image[10:40, 10:40] = 0
    return image


def _pages(path: Path, pdf_dpi: int = 300) -> list:
    (item,) = discover([path])
    return list(iter_pages(item, pdf_dpi))


def test_type_comes_from_content_not_name(tmp_path: Path) -> None:
    png_named_jpg = tmp_path / "scan.jpg"
    Image.fromarray(_page_with_mark()).save(png_named_jpg, format="PNG")
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    assert detect_kind(png_named_jpg) == "png"
    assert detect_kind(text) is None
    (page,) = _pages(png_named_jpg)
    assert page.image.shape == (200, 300)


def test_folders_are_walked_recursively_in_sorted_order_skipping_non_scans(tmp_path: Path) -> None:
    for name in ("b/2.png", "a/9.png", "a/10.png", "c.tif"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(_page_with_mark()).save(tmp_path / name)
    (tmp_path / "truth.json").write_text("{}")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    names = [f.name for f in discover([tmp_path])]
    assert names == ["a/10.png", "a/9.png", "b/2.png", "broken.png", "c.tif"]
    assert [f.name for f in discover([tmp_path, tmp_path / "c.tif"])] == names  # no duplicates


def test_missing_path_is_no_input(tmp_path: Path) -> None:
    with pytest.raises(NoInputError):
        discover([tmp_path / "absent"])


def test_jpeg_exif_orientation_is_applied(tmp_path: Path) -> None:
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: display rotated 90 degrees clockwise
    Image.fromarray(_page_with_mark()).save(path, exif=exif, quality=95)
    (page,) = _pages(path)
    assert page.image.shape == (300, 200)
    assert page.image[10:40, 160:190].mean() < 60  # the mark moved to the top-right


def test_multipage_tiff_gives_every_frame(tmp_path: Path) -> None:
    path = tmp_path / "three.tif"
    frames = [Image.fromarray(np.full((100, 120), value, np.uint8)) for value in (10, 120, 240)]
    frames[0].save(path, save_all=True, append_images=frames[1:], compression="tiff_lzw")
    pages = _pages(path)
    assert [p.number for p in pages] == [1, 2, 3]
    assert [int(p.image.mean()) for p in pages] == [10, 120, 240]


def test_one_bit_group4_tiff(tmp_path: Path) -> None:
    path = tmp_path / "g4.tif"
    Image.fromarray(_page_with_mark()).convert("1").save(path, compression="group4", dpi=(300, 300))
    (page,) = _pages(path)
    assert page.image.dtype == np.uint8 and set(np.unique(page.image)) == {0, 255}
    assert page.dpi == pytest.approx(300)


def test_pdf_pages_render_one_by_one_at_the_requested_dpi(tmp_path: Path) -> None:
    path = tmp_path / "two.pdf"
    first, second = Image.fromarray(_page_with_mark()), Image.fromarray(np.full((200, 300), 90, np.uint8))
    first.save(path, save_all=True, append_images=[second], resolution=100.0)
    pages = _pages(path, pdf_dpi=150)
    assert [p.number for p in pages] == [1, 2]
    assert pages[0].image.shape == (300, 450)  # 3 x 2 inches at 150 dpi
    assert pages[0].image[15:60, 15:60].mean() < 60
    assert abs(int(pages[1].image.mean()) - 90) < 10


@pytest.mark.parametrize(
    ("mode", "fmt"),
    [("I;16", "PNG"), ("RGBA", "PNG"), ("P", "PNG"), ("CMYK", "JPEG"), ("CMYK", "TIFF"), ("RGB", "BMP"), ("LA", "PNG")],
)
def test_unusual_pixel_formats_become_dark_ink_on_light_paper(tmp_path: Path, mode: str, fmt: str) -> None:
    base = Image.fromarray(_page_with_mark())
    if mode == "I;16":
        image = Image.fromarray(np.asarray(base, np.uint16) * 257)
    elif mode in ("RGBA", "LA"):
        image = base.convert(mode)
        alpha = np.full((200, 300), 255, np.uint8)
        alpha[100:, :] = 0  # transparent bottom half: must read as paper
        image.putalpha(Image.fromarray(alpha))
    else:
        image = base.convert(mode)
    path = tmp_path / f"page.{fmt.lower()}"
    image.save(path, format=fmt)
    (page,) = _pages(path)
    assert page.image.shape == (200, 300)
    assert page.image[15:35, 15:35].mean() < 60
    assert page.image[120:, :].mean() > 200


def test_corrupt_file_raises_input_file_error(tmp_path: Path) -> None:
    path = tmp_path / "cut.png"
    good = tmp_path / "good.png"
    Image.fromarray(_page_with_mark()).save(good)
    path.write_bytes(good.read_bytes()[:120])
    with pytest.raises(InputFileError):
        _pages(path)


@pytest.mark.parametrize(
    ("source", "fmt", "coloured"),
    [("gray", "PNG", False), ("gray as RGB", "JPEG", False), ("blue pen", "PNG", True), ("blue pen", "JPEG", True)],
)
def test_a_colour_scan_carries_its_chroma_and_a_gray_one_none(
    tmp_path: Path, source: str, fmt: str, coloured: bool
) -> None:
    # A coloured pen tells handwriting from black print (segment_page's chroma); a gray scan saved in
    # colour, JPEG's colour noise and all, has no colour to tell anything by.
    gray = _page_with_mark()
    if source == "gray":
        image = Image.fromarray(gray)
    else:
        rgb = np.repeat(gray[..., None], 3, axis=2)
        if source == "blue pen":
            rgb[60:90, 100:200] = (20, 40, 150)
        image = Image.fromarray(rgb)
    path = tmp_path / f"page.{fmt.lower()}"
    image.save(path, format=fmt, **({"quality": 85} if fmt == "JPEG" else {}))
    (page,) = _pages(path)
    if not coloured:
        assert page.chroma is None
        return
    assert page.chroma is not None and page.chroma.shape == page.image.shape
    assert np.median(page.chroma[65:85, 105:195]) >= 100  # the pen
    assert np.median(page.chroma[15:35, 15:35]) <= 10 and np.median(page.chroma[150:, :]) <= 10  # print, paper

"""Draw what digitscan found over the page, so a person sees at a glance what was read and what was missed."""

from __future__ import annotations

import cv2
import numpy as np

from digitscan.results import NumberResult, PageResult
from digitscan.segment import Box
from digitscan.template import Template

ACCEPTED = (40, 160, 40)  # BGR: green
REVIEW = (0, 140, 255)  # orange: below the review threshold
NUMBER = (200, 90, 20)  # blue: the number's box
FIELD = (160, 40, 160)  # purple: a printed comb or box found on the page (its digits are one number)
TEMPLATE_FIELD = (150, 150, 0)  # teal: a template field where it was placed on the page, and its cells
INVALID = (0, 0, 220)  # red: a template field whose digits break its rules


def draw_overlay(gray: np.ndarray, page: PageResult, template: Template | None = None) -> np.ndarray:
    """A BGR image of the page with fields, number boxes, digit boxes and each digit's reading and confidence.

    With the ``template`` the page was read with, each of its fields is drawn where registration placed it
    (a comb or date with its cells), named, with its reading: a misplaced template shows at a glance as
    handwriting outside its field or across its cells.
    """
    canvas = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    canvas = cv2.addWeighted(canvas, 0.6, np.full_like(canvas, 255), 0.4, 0)  # fade the page under the marks
    scale = max(0.5, min(gray.shape) / 1500)
    thickness = max(1, round(2 * scale))
    for found in page.fields:
        for cell in found.cells:
            cv2.rectangle(canvas, (cell.x, cell.y), (cell.right, cell.bottom), FIELD, max(1, thickness // 2))
        box = found.box
        cv2.rectangle(canvas, (box.x, box.y), (box.right, box.bottom), FIELD, thickness)
    for number in page.numbers:
        box = number.box
        pad = thickness * 3
        cv2.rectangle(canvas, (box.x - pad, box.y - pad), (box.right + pad, box.bottom + pad), NUMBER, thickness)
        label = f"#{number.index} {number.text} ({number.confidence:.2f})"
        cv2.putText(
            canvas, label, (box.x - pad, box.bottom + pad + int(22 * scale)), cv2.FONT_HERSHEY_SIMPLEX,
            0.6 * scale, NUMBER, thickness, cv2.LINE_AA,
        )  # fmt: skip
        for digit in number.digits:
            colour = REVIEW if digit.needs_review else ACCEPTED
            b = digit.box
            cv2.rectangle(canvas, (b.x, b.y), (b.right, b.bottom), colour, thickness)
            text = f"{digit.digit} {digit.confidence:.2f}"
            cv2.putText(
                canvas, text, (b.x, max(12, b.y - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.5 * scale, colour, thickness,
                cv2.LINE_AA,
            )  # fmt: skip
    for number in page.numbers:  # over the digit boxes, so that no cell wall is hidden
        if template is not None and number.field is not None and number.region is not None:
            cells = template.field(number.field).cells
            _draw_template_field(canvas, number, cells, page.skew_deg, scale, thickness)
    header = (
        f"page {page.page}: {len(page.numbers)} numbers, {len(page.fields)} fields, "
        f"skew {page.skew_deg:+.2f} deg (confidence {page.skew_confidence:.2f})"
    )
    cv2.putText(canvas, header, (10, int(30 * scale)), cv2.FONT_HERSHEY_SIMPLEX, 0.8 * scale, (0, 0, 0), thickness)
    return canvas


def _field_corners(region: Box, skew_deg: float) -> np.ndarray:
    """The corners (top-left, top-right, bottom-right, bottom-left) of a template field on the original page.

    A field is an upright box on the deskewed page; ``region`` is the upright box enclosing it once turned
    back by the page's skew, from which the field's own size follows (W = w cos a + h sin a, H = w sin a +
    h cos a), so the field is drawn turned as on the scan, its cells over the printed ones.
    """
    angle = np.radians(abs(skew_deg))
    c, s = float(np.cos(angle)), float(np.sin(angle))
    det = c * c - s * s
    w, h = (region.w * c - region.h * s) / det, (region.h * c - region.w * s) / det
    if w <= 1 or h <= 1:  # a field clipped at the page's edge: its enclosing box is all there is
        w, h, skew_deg = region.w, region.h, 0.0
    cx, cy = region.x + region.w / 2, region.y + region.h / 2
    corners = np.array(
        [[cx - w / 2, cy - h / 2], [cx + w / 2, cy - h / 2], [cx + w / 2, cy + h / 2], [cx - w / 2, cy + h / 2]]
    )
    turn = cv2.getRotationMatrix2D((cx, cy), -skew_deg, 1.0)  # the inverse of the deskew
    return np.hstack([corners, np.ones((4, 1))]) @ turn.T


def _draw_template_field(
    canvas: np.ndarray, number: NumberResult, cells: int | None, skew_deg: float, scale: float, thickness: int
) -> None:
    """A template field as placed on the page (and its cells), labelled with its name, reading and validity."""
    assert number.region is not None and number.field is not None
    colour = INVALID if number.valid is False else TEMPLATE_FIELD
    corners = _field_corners(number.region, skew_deg)
    cv2.polylines(canvas, [np.round(corners).astype(np.int32)], True, colour, thickness)
    top_left, top_right, bottom_right, bottom_left = corners
    for i in range(1, cells or 0):
        share = i / (cells or 1)
        top = top_left + share * (top_right - top_left)
        bottom = bottom_left + share * (bottom_right - bottom_left)
        cv2.line(canvas, tuple(np.round(top).astype(int)), tuple(np.round(bottom).astype(int)), colour, thickness)
    label = f"{number.field}: {number.text or '(empty)'}" + (" INVALID" if number.valid is False else "")
    x, y = np.round(corners[:, 0].min()).astype(int), np.round(corners[:, 1].min()).astype(int)
    cv2.putText(
        canvas, label, (int(x), max(12, int(y) - int(8 * scale))), cv2.FONT_HERSHEY_SIMPLEX, 0.6 * scale, colour,
        thickness, cv2.LINE_AA,
    )  # fmt: skip

"""Draw what digitscan found over the page, so a person sees at a glance what was read and what was missed."""

from __future__ import annotations

import cv2
import numpy as np

from digitscan.results import PageResult

ACCEPTED = (40, 160, 40)  # BGR: green
REVIEW = (0, 140, 255)  # orange: below the review threshold
NUMBER = (200, 90, 20)  # blue: the number's box
FIELD = (160, 40, 160)  # purple: a printed comb or box found on the page (its digits are one number)


def draw_overlay(gray: np.ndarray, page: PageResult) -> np.ndarray:
    """A BGR image of the page with fields, number boxes, digit boxes and each digit's reading and confidence."""
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
    header = (
        f"page {page.page}: {len(page.numbers)} numbers, {len(page.fields)} fields, "
        f"skew {page.skew_deg:+.2f} deg (confidence {page.skew_confidence:.2f})"
    )
    cv2.putText(canvas, header, (10, int(30 * scale)), cv2.FONT_HERSHEY_SIMPLEX, 0.8 * scale, (0, 0, 0), thickness)
    return canvas

"""Propose a template from an example page: printed boxes, combs and rules become candidate fields.

The page is deskewed and its horizontal and vertical rules found (:mod:`digitscan.align`). Areas enclosed by
rules are boxes; boxes of one row that share their walls are the cells of one comb. A rule that encloses no
box is an underline: the space above it is a candidate field. Long rules (a page frame) become alignment
landmarks. The user then names the fields, sets their kinds and rules, and deletes what is not a field.
"""

from __future__ import annotations

import json
from typing import Any

import cv2
import numpy as np

from digitscan.align import deskew, rule_masks


def _cells(lines: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Rectangular areas enclosed by rules: x, y, w, h (of the area inside the rules)."""
    height, width = lines.shape
    count, _, stats, _ = cv2.connectedComponentsWithStats(cv2.bitwise_not(lines), connectivity=4)
    found = []
    for x, y, w, h, _ in stats[1:count]:
        if x == 0 or y == 0 or x + w == width or y + h == height:
            continue  # open to the page edge: not enclosed
        if w < 0.012 * width or h < 0.012 * height or h > 0.25 * height or w > 0.9 * width:
            continue
        sides = (lines[y - 1, x : x + w], lines[y + h, x : x + w], lines[y : y + h, x - 1], lines[y : y + h, x + w])
        if min(float((side > 0).mean()) for side in sides) < 0.9:  # not closed by rules on all four sides
            continue
        found.append((int(x), int(y), int(w), int(h)))
    return _rejoin(found, max(3, round(0.003 * max(height, width))))


def _rejoin(cells: list[tuple[int, int, int, int]], wall: int) -> list[tuple[int, int, int, int]]:
    """Join a box that a handwritten stroke (taken for a rule) split into an upper and a lower part."""
    cells = sorted(cells, key=lambda c: (c[0], c[1]))
    joined: list[tuple[int, int, int, int]] = []
    for x, y, w, h in cells:
        if joined:
            px, py, pw, ph = joined[-1]
            if abs(px - x) <= wall and abs(pw - w) <= 2 * wall and 0 <= y - (py + ph) <= 3 * wall:
                joined[-1] = (px, py, pw, y + h - py)
                continue
        joined.append((x, y, w, h))
    return joined


def _combs(cells: list[tuple[int, int, int, int]], wall: int) -> list[list[tuple[int, int, int, int]]]:
    """Group cells of one row that share walls (same top and height, next to each other) into combs."""
    groups: list[list[tuple[int, int, int, int]]] = []
    for cell in sorted(cells):  # left to right: each cell joins the comb whose last cell it touches
        x, y, w, h = cell
        for group in groups:
            last = group[-1]
            same_row = abs(last[1] - y) <= wall and abs(last[3] - h) <= 2 * wall
            if same_row and 0 <= x - (last[0] + last[2]) <= 3 * wall and abs(last[2] - w) <= 0.25 * w:
                group.append(cell)
                break
        else:
            groups.append([cell])
    return groups


def draft_template(gray: np.ndarray, name: str) -> dict[str, Any]:
    """A template document (to be edited) proposing the page's boxes, combs and underlines as fields."""
    _, binary, _, _ = deskew(gray)
    height, width = binary.shape
    horizontal, vertical = rule_masks(binary, max(20, round(0.03 * width)), max(15, round(0.02 * height)))
    lines = cv2.bitwise_or(horizontal, vertical)
    lines = cv2.dilate(lines, cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3)))
    wall = max(3, round(0.003 * max(height, width)))
    proposals: list[dict[str, Any]] = []
    boxes = []
    for group in _combs(_cells(lines), wall):
        x0, y0 = group[0][0], min(c[1] for c in group)
        x1, y1 = group[-1][0] + group[-1][2], max(c[1] + c[3] for c in group)
        box = [x0 - 1, y0 - 1, x1 - x0 + 2, y1 - y0 + 2]  # on the rules' centre lines, roughly
        boxes.append(box)
        if len(group) > 1:
            proposals.append({"kind": "comb", "box": box, "frame": True, "cells": len(group), "length": len(group)})
        else:
            proposals.append({"kind": "digits", "box": box, "frame": True})
    typical = int(np.median([b[3] for b in boxes])) if boxes else max(40, round(0.04 * max(height, width)))
    align_lines = []
    count, _, stats, _ = cv2.connectedComponentsWithStats(horizontal, connectivity=8)
    for x, y, w, h, _ in stats[1:count]:
        centre = int(y + h // 2)
        if w >= 0.5 * width:
            align_lines.append([int(x), centre, int(x + w), centre])
            continue
        on_a_box = any(
            b[0] - wall <= x
            and x + w <= b[0] + b[2] + wall
            and min(abs(centre - b[1]), abs(centre - b[1] - b[3])) <= wall
            for b in boxes
        )
        if on_a_box or w < 0.05 * width:
            continue
        top = max(0, centre - typical)
        proposals.append({"kind": "digits", "box": [int(x), top, int(w), centre - top], "frame": False})
        align_lines.append([int(x), centre, int(x + w), centre])
    count, _, stats, _ = cv2.connectedComponentsWithStats(vertical, connectivity=8)
    for x, y, w, h, _ in stats[1:count]:
        if h >= 0.5 * height:
            centre = int(x + w // 2)
            align_lines.append([centre, int(y), centre, int(y + h)])
    proposals.sort(key=lambda p: (round(p["box"][1] / max(1, typical // 2)), p["box"][0]))
    fields = [{"name": f"field_{i:02d}", **p} for i, p in enumerate(proposals, start=1)]
    document: dict[str, Any] = {
        "name": name,
        "description": "drafted by digitscan template draft: name the fields, set kinds and rules",
        "page": {"width": width, "height": height},
        "fields": fields,
    }
    if align_lines:
        document["align"] = {"lines": align_lines}
    return document


def render_template(document: dict[str, Any], suffix: str) -> str:
    """The document as JSON or as YAML with one line per field (easy to edit), with a header comment."""
    if suffix == ".json":
        return json.dumps(document, indent=1) + "\n"

    def flow(value: Any) -> str:  # JSON's flow style is valid YAML
        return json.dumps(value)

    lines = [
        "# A template drafted by `digitscan template draft`: the printed boxes, combs and underlines found.",
        "# Rename each field, set its kind (digits, comb, amount, date), length or pattern, delete non-fields.",
        "# Coordinates are pixels of the example page (deskewed); see the README's Templates section.",
        f"name: {flow(document['name'])}",
        f"description: {flow(document['description'])}",
        f"page: {flow(document['page'])}",
    ]
    if "align" in document:
        lines.append("align:")
        lines.append("  lines:")
        lines += [f"    - {flow(line)}" for line in document["align"]["lines"]]
    lines.append("fields:")
    lines += [f"  - {flow(field)}" for field in document["fields"]]
    return "\n".join(lines) + "\n"

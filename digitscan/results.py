"""What a run produces: digits with confidences, grouped into numbers, pages and files, plus failures."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from digitscan.segment import Box, Field

MODEL = "model"
HUMAN = "human"


@dataclass(frozen=True)
class DigitResult:
    """One classified digit: its best and second-best reading, calibrated confidences and page box."""

    position: int  # index of the digit in its number, from 0
    digit: int
    confidence: float
    second_digit: int
    second_confidence: float
    box: Box
    needs_review: bool
    source: str = MODEL  # MODEL: the classifier's reading; HUMAN: confirmed or corrected in review
    printed: bool = False  # printed on the form (account number, serial), reported only when asked for


@dataclass(frozen=True)
class NumberResult:
    """Digits read as one number; its confidence is the weakest digit's.

    With a template, each number is one named field (``field``), ``valid`` says whether its digits pass the
    field's rules, and ``region`` is the field's box; a field may then hold no digit at all.
    """

    index: int  # index of the number on its page in reading order, from 0
    digits: tuple[DigitResult, ...]
    field: str | None = None
    valid: bool | None = None
    region: Box | None = None

    @property
    def text(self) -> str:
        return "".join(str(d.digit) for d in self.digits)

    @property
    def confidence(self) -> float:
        return min((d.confidence for d in self.digits), default=0.0)

    @property
    def needs_review(self) -> bool:
        return self.valid is False or any(d.needs_review for d in self.digits)

    @property
    def box(self) -> Box:
        if not self.digits and self.region is not None:
            return self.region
        return Box.enclosing([d.box for d in self.digits])


@dataclass(frozen=True)
class PageAlignment:
    """How a page was registered to its template: scale, shift, and the landmark residual."""

    template: str
    scale: float  # page pixels per template pixel
    dx: float  # where the template's origin lies on the deskewed page
    dy: float
    residual_px: float  # RMS distance of the form's printed lines from their fitted place, template pixels
    matched: float  # share of the template's landmark lines found on the page


@dataclass(frozen=True)
class PageResult:
    """The numbers found on one page."""

    page: int  # from 1
    width: int
    height: int
    skew_deg: float
    numbers: tuple[NumberResult, ...]
    alignment: PageAlignment | None = None  # with a template
    skew_confidence: float = 0.0  # how sure the deskew is, 0 (blank page: no skew measured) to 1
    fields: tuple[Field, ...] = ()  # the printed combs and boxes found on the page


@dataclass(frozen=True)
class Failure:
    """Something that could not be processed; the run carries on without it."""

    file: str
    page: int | None  # None when the whole file failed
    stage: str  # discover, load, segment, classify
    error_type: str
    message: str


@dataclass(frozen=True)
class FileResult:
    """The pages read from one input file (pages before a failing page are kept)."""

    file: str
    kind: str | None
    pages: tuple[PageResult, ...]


@dataclass(frozen=True)
class RunResult:
    """Everything a run produced, in input order, and the facts needed to reproduce it."""

    files: tuple[FileResult, ...]
    failures: tuple[Failure, ...]
    metadata: dict[str, Any] = field(default_factory=dict)
    elapsed_s: float = 0.0

    def counts(self) -> dict[str, int]:
        """Totals for the summary: files, pages, numbers, digits, needs_review, failures."""
        pages = [page for f in self.files for page in f.pages]
        numbers = [n for page in pages for n in page.numbers]
        digits = [d for n in numbers for d in n.digits]
        return {
            "files": len(self.files),
            "pages": len(pages),
            "numbers": len(numbers),
            "digits": len(digits),
            "needs_review": sum(d.needs_review for d in digits),
            "failures": len(self.failures),
        }

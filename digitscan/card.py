"""The model card: what a model file is, how it was trained, how good it is, and where to trust it.

A card is a JSON file beside the model. Loading a model checks the card's sha256 and input spec, so a
swapped, truncated or incompatible model file is refused with a clear message instead of misreading digits.
This module does not import TensorFlow.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from digitscan.errors import BadModelError, MissingDependencyError

CARD_FORMAT = 1
DEFAULT_MODEL_NAME = "digitscan-mnist.keras"

# What normalize.normalize_digit produces; a model trained on anything else is refused.
INPUT_SPEC: dict[str, Any] = {
    "shape": [28, 28, 1],
    "dtype": "float32",
    "range": [0.0, 1.0],
    "polarity": "white ink on black",
    "normalization": "digitscan.normalize: fit 20x20 keeping aspect, centre of mass at the centre of 28x28",
}
CLASSES = [*(str(digit) for digit in range(10)), "none"]
NOT_A_DIGIT = CLASSES.index("none")  # the class of crops that are none of the digits


@dataclass(frozen=True)
class ModelCard:
    """Facts about one model file; serialised as ``<model>.json`` beside it."""

    model_file: str
    sha256: str
    temperature: float
    review_threshold: float
    metrics: dict[str, float]
    training: dict[str, Any]
    input_spec: dict[str, Any] = field(default_factory=lambda: dict(INPUT_SPEC))
    classes: list[str] = field(default_factory=lambda: list(CLASSES))
    card_format: int = CARD_FORMAT

    def to_json(self) -> dict[str, Any]:
        """The card as a JSON-able dict."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModelCard:
        """Build a card from its JSON dict, refusing unknown formats."""
        if data.get("card_format") != CARD_FORMAT:
            raise BadModelError(f"model card format {data.get('card_format')!r} is not supported (expected 1)")
        try:
            return cls(**data)
        except TypeError as exc:
            raise BadModelError(f"model card is malformed: {exc}") from exc


def card_path(model_path: Path) -> Path:
    """Where the card of ``model_path`` lives."""
    return model_path.with_suffix(".json")


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def default_model_path(name: str = DEFAULT_MODEL_NAME) -> Path:
    """A model shipped with digitscan: inside the installed package, or ``models/`` of a source checkout."""
    package_dir = Path(__file__).resolve().parent
    for folder in (package_dir / "models", package_dir.parent / "models"):
        if (folder / name).is_file():
            return folder / name
    raise MissingDependencyError(
        f"the default model {name} is missing from this installation; reinstall digitscan or pass its path"
    )


def read_card(model_path: Path, input_spec: dict[str, Any] = INPUT_SPEC, classes: list[str] = CLASSES) -> ModelCard:
    """Read and verify the card of ``model_path``: the file exists, its sha256, input spec and classes are
    what digitscan feeds and expects (the digit model's unless told)."""
    if not model_path.is_file():
        raise MissingDependencyError(f"model file {model_path} does not exist")
    path = card_path(model_path)
    if not path.is_file():
        raise BadModelError(f"model {model_path} has no card {path.name} beside it")
    try:
        card = ModelCard.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadModelError(f"model card {path} is not valid JSON: {exc}") from exc
    actual = file_sha256(model_path)
    if actual != card.sha256:
        raise BadModelError(
            f"model file {model_path} does not match its card (sha256 {actual[:12]}..., card says "
            f"{card.sha256[:12]}...): the file was changed or damaged; reinstall it or retrain"
        )
    if card.input_spec != input_spec:
        raise BadModelError(f"model {model_path} expects input {card.input_spec}, digitscan feeds {input_spec}")
    if card.classes != classes:
        raise BadModelError(f"model {model_path} has classes {card.classes}, digitscan expects {classes}")
    return card


def write_card(card: ModelCard, model_path: Path) -> Path:
    """Write ``card`` beside ``model_path`` and return the card's path."""
    path = card_path(model_path)
    path.write_text(json.dumps(card.to_json(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path

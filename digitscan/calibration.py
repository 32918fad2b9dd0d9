"""Confidence calibration and its measures (numpy only, shared by training and evaluation)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of ``logits / temperature``, numerically stable."""
    scaled = logits / temperature
    scaled = scaled - scaled.max(axis=1, keepdims=True)
    exp = np.exp(scaled)
    return exp / exp.sum(axis=1, keepdims=True)


def negative_log_likelihood(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    """Mean NLL of the true labels under temperature-scaled probabilities."""
    probs = softmax(logits.astype(np.float64), temperature)
    return float(-np.mean(np.log(np.clip(probs[np.arange(len(labels)), labels], 1e-12, 1.0))))


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """Temperature that minimises NLL on held-out logits (golden-section search on log T in [-3, 3])."""
    low, high = -3.0, 3.0
    ratio = (np.sqrt(5) - 1) / 2
    for _ in range(60):
        left = high - ratio * (high - low)
        right = low + ratio * (high - low)
        if negative_log_likelihood(logits, labels, np.exp(left)) < negative_log_likelihood(
            logits, labels, np.exp(right)
        ):
            high = right
        else:
            low = left
    return float(np.exp((low + high) / 2))


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = 15) -> float:
    """ECE with equal-width confidence bins: the weighted gap between confidence and accuracy."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        members = index == b
        if members.any():
            total += members.mean() * abs(confidence[members].mean() - correct[members].mean())
    return float(total)


@dataclass(frozen=True)
class OperatingPoint:
    """What happens at one review threshold: share of digits accepted and error among them."""

    threshold: float
    coverage: float
    risk: float


def risk_coverage(confidence: np.ndarray, correct: np.ndarray) -> list[OperatingPoint]:
    """Every distinct threshold's coverage (share accepted) and risk (error among accepted), most confident first."""
    order = np.argsort(-confidence, kind="stable")
    sorted_conf = confidence[order]
    errors = np.cumsum(~correct[order].astype(bool))
    accepted = np.arange(1, len(order) + 1)
    # Only the last index of a run of equal confidences is a real operating point.
    last = np.r_[sorted_conf[1:] != sorted_conf[:-1], True]
    return [
        OperatingPoint(float(sorted_conf[i]), float(accepted[i] / len(order)), float(errors[i] / accepted[i]))
        for i in np.flatnonzero(last)
    ]


def review_threshold(
    confidence: np.ndarray, correct: np.ndarray, max_risk: float, target_coverage: float
) -> OperatingPoint:
    """The strictest threshold that accepts ``target_coverage`` of the digits with an error among them of at
    most ``max_risk``; where no threshold does, the lowest one (widest coverage) within ``max_risk``.

    Not simply the lowest threshold within the risk: that one is fitted to MNIST-like digits, and on real
    pages, where the model is less sure and more often wrong, every extra digit it accepts is a chance of a
    wrong number let through unreviewed. Accepting what the target asks and no more keeps those fewer.
    """
    within = [point for point in risk_coverage(confidence, correct) if point.risk <= max_risk]
    enough = [point for point in within if point.coverage >= target_coverage]
    if enough:
        return min(enough, key=lambda point: point.coverage)
    return max(within, key=lambda point: point.coverage, default=OperatingPoint(1.0, 0.0, 0.0))

"""Normalizers shared by the score plugins: raw numbers over the nodes being compared in,
0-MAX_SCORE out (as Kubernetes' plugins/helper/normalize_score.go)."""

from __future__ import annotations

from scheduler.plugins.interface import MAX_SCORE


def normalize_by_max(values: list[float]) -> list[float]:
    """0-100 in proportion to the highest value (all 0 when every value is 0)."""
    top = max(values, default=0.0)
    if top <= 0:
        return [0.0] * len(values)
    return [MAX_SCORE * v / top for v in values]


def normalize_reversed(values: list[float]) -> list[float]:
    """Fewer is better: 100 for 0, 0 for the highest value."""
    top = max(values, default=0.0)
    if top <= 0:
        return [MAX_SCORE] * len(values)
    return [MAX_SCORE - MAX_SCORE * v / top for v in values]


def normalize_min_max(values: list[float]) -> list[float]:
    """The lowest value gives 0, the highest 100 (all 0 when they are equal)."""
    low, high = min(values, default=0.0), max(values, default=0.0)
    if high == low:
        return [0.0] * len(values)
    return [MAX_SCORE * (v - low) / (high - low) for v in values]


def normalize_min_max_reversed(values: list[float]) -> list[float]:
    """The lowest value gives 100, the highest 0."""
    low, high = min(values, default=0.0), max(values, default=0.0)
    if high == low:
        return [MAX_SCORE] * len(values)
    return [MAX_SCORE * (high - v) / (high - low) for v in values]

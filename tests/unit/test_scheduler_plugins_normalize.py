"""scheduler/plugins/normalize.py: the normalizers that bring raw scores to 0-100."""

from __future__ import annotations

from scheduler.plugins.normalize import normalize_by_max, normalize_min_max, normalize_reversed


def test_normalizers_map_to_0_100() -> None:
    assert normalize_by_max([0, 5, 10]) == [0, 50, 100]
    assert normalize_by_max([0, 0]) == [0, 0]
    assert normalize_reversed([0, 1, 2]) == [100, 50, 0]
    assert normalize_reversed([0, 0]) == [100, 100]
    assert normalize_min_max([-4, 0, 4]) == [0, 50, 100]

"""scheduler/config.py: reading the scheduler config and what its errors say."""

from __future__ import annotations

from pathlib import Path

import pytest

from scheduler.config import Config, InvalidConfig, config_from_dict, load_config
from scheduler.framework import Framework


def test_config_file_picks_filters_and_weights(tmp_path: Path) -> None:
    path = tmp_path / "scheduler.yaml"
    path.write_text(
        "filters: [NodeReady, NodeResourcesFit]\n"
        "scores: {LeastAllocated: 2, ImageLocality: 0}\n"
        "percentageOfNodesToScore: 50\n"
    )
    framework = Framework(load_config(path))
    assert [f.name for f in framework.filters] == ["NodeReady", "NodeResourcesFit"]
    assert [(s.name, w) for s, w in framework.scores] == [("LeastAllocated", 2)]
    assert framework.config.percentage_of_nodes_to_score == 50


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"filterz": []}, "unknown key 'filterz'"),
        ({"scores": {"LeastAllocated": -1}}, "scores.LeastAllocated: must be a whole number >= 0"),
        ({"percentageOfNodesToScore": 101}, r"percentageOfNodesToScore: must be 0 \(adaptive\)"),
        ({"percentageOfNodesToScore": -1}, "percentageOfNodesToScore: must be a whole number"),
        ({"filters": "NodeReady"}, "filters: expected a list of strings"),
        ({"plugins": [1]}, "^test.yaml: plugins: expected a list of strings"),
        ({"scores": ["LeastAllocated"]}, r"scores \(plugin name → weight\): expected a mapping"),
        ({"minFeasibleNodesToFind": 0}, "minFeasibleNodesToFind: must be a whole number >= 1"),
        ([], "^test.yaml: expected a mapping, got list"),
    ],
)
def test_bad_config_says_which_key_and_why(data: dict, message: str) -> None:
    with pytest.raises(InvalidConfig, match=message):
        config_from_dict(data, "test.yaml")


def test_an_empty_file_gives_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "scheduler.yaml"
    path.write_text("")
    assert load_config(path) == Config()


def test_an_unreadable_or_malformed_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidConfig, match=r"cannot read scheduler config .*missing.yaml"):
        load_config(tmp_path / "missing.yaml")
    path = tmp_path / "scheduler.json"
    path.write_text("{filters: ")
    with pytest.raises(InvalidConfig, match=r"scheduler config .*scheduler.json is not valid"):
        load_config(path)

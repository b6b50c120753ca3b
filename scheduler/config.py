"""The scheduler's config (`--config`, and the autoscaler's `--scheduler-config`): which
plugins run, with which weights, and how many nodes a cycle samples. A YAML (or JSON) file:

    plugins: [my_company.scheduler_plugins]       # modules that register plugins
    filters: [NodeReady, NodeResourcesFit, ...]   # in order; omitted: the defaults
    scores: {LeastAllocated: 1, ImageLocality: 0} # weights; 0 disables; omitted: defaults
    percentageOfNodesToScore: 0                   # 0: adaptive (scheduler/framework.py)
    minFeasibleNodesToFind: 100

Read and shape-checked with corral.client.configfile; errors (InvalidConfig) name the
file, the key and why. Whether the named plugins exist is checked when the framework is
built from the config (scheduler/framework.py), after `plugins:` are imported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corral.client import configfile

InvalidConfig = configfile.InvalidConfig

DEFAULT_FILTERS = (
    "NodeReady",
    "NodeUnschedulable",
    "TaintToleration",
    "NodeAffinity",
    "NodePorts",
    "NodeResourcesFit",
    "PodTopologySpread",
    "InterPodAffinity",
)

DEFAULT_MIN_FEASIBLE_NODES = 100


@dataclass
class Config:
    filters: list[str] = field(default_factory=lambda: list(DEFAULT_FILTERS))
    # Score plugin name → weight; None: every registered score with its default weight.
    scores: dict[str, int] | None = None
    # 0: adaptive (see scheduler/framework.py); 1-100: that share of the nodes.
    percentage_of_nodes_to_score: int = 0
    min_feasible_nodes: int = DEFAULT_MIN_FEASIBLE_NODES
    plugins: list[str] = field(default_factory=list)


# The file's keys (the Kubernetes spelling), in the order errors list them.
KEYS = ("filters", "scores", "percentageOfNodesToScore", "minFeasibleNodesToFind", "plugins")


def load_config(path: str | Path) -> Config:
    """The config in a YAML (or, by its `.json` suffix, JSON) file; an empty file gives
    the defaults."""
    data = configfile.load(path, "scheduler config")
    return config_from_dict(data or {}, str(path))


def config_from_dict(data: Any, where: str = "scheduler config") -> Config:
    """The config in `data` (the parsed file); `where` names it in errors."""
    data = configfile.mapping(data, where)
    configfile.reject_unknown(data, KEYS, where)
    config = Config()
    if "plugins" in data:
        config.plugins = configfile.string_list(data["plugins"], f"{where}: plugins")
    if "filters" in data:
        config.filters = configfile.string_list(data["filters"], f"{where}: filters")
    if "scores" in data:
        scores = configfile.mapping(data["scores"], f"{where}: scores (plugin name → weight)")
        config.scores = {
            str(name): configfile.whole_number(weight, f"{where}: scores.{name}")
            for name, weight in scores.items()
        }
    if "percentageOfNodesToScore" in data:
        key = f"{where}: percentageOfNodesToScore"
        percentage = configfile.whole_number(data["percentageOfNodesToScore"], key)
        if percentage > 100:
            raise InvalidConfig(f"{key}: must be 0 (adaptive) to 100, got {percentage!r}")
        config.percentage_of_nodes_to_score = percentage
    if "minFeasibleNodesToFind" in data:
        config.min_feasible_nodes = configfile.whole_number(
            data["minFeasibleNodesToFind"], f"{where}: minFeasibleNodesToFind", minimum=1
        )
    return config

"""What a plugin is: the extension points the framework calls and their signatures.

A filter is one function `(state, pod, node) -> None | reason(s)`: None when the node can
take the pod, else why not, in the words the "0/N nodes are available" message uses. A
score is one function `(state, pod, node) -> number`, higher is better, with a normalizer
(scheduler/plugins/normalize.py) that brings a plugin's raw numbers to 0-MAX_SCORE over
the nodes being compared. Either may have a "pre" step run once per pod: it computes what
the per-node function needs (into `state`, under the plugin's name) and returns False when
the plugin has nothing to check for this pod, so the per-node loop skips it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scheduler.cache import Cache
from scheduler.model import NodeInfo, PodInfo

Reasons = str | tuple[str, ...] | None

# Every normalized score is between 0 and this.
MAX_SCORE = 100.0


class CycleState(dict[str, Any]):
    """What pre-steps computed for one pod in one scheduling cycle, by plugin name."""


FilterFn = Callable[[CycleState, PodInfo, NodeInfo], Reasons]
PreFilterFn = Callable[[CycleState, PodInfo, Cache], bool]
ScoreFn = Callable[[CycleState, PodInfo, NodeInfo], float]
PreScoreFn = Callable[[CycleState, PodInfo, Cache, list[NodeInfo]], bool]
# Optional fast form of a score: every node's raw score in one call.
ScoreNodesFn = Callable[[CycleState, PodInfo, list[NodeInfo]], list[float]]
NormalizeFn = Callable[[list[float]], list[float]]


@dataclass(frozen=True)
class FilterPlugin:
    name: str
    filter: FilterFn
    prefilter: PreFilterFn | None = None
    # Whether evicting pods from a node can make this filter pass there.
    preemption_helps: bool = False
    # True when the verdict depends only on the node object (labels, taints, readiness,
    # cordoning) and the pod's tolerations, nodeSelector and required node affinity: the
    # framework then caches which nodes pass, per such pod shape, until a node changes.
    static: bool = False


@dataclass(frozen=True)
class ScorePlugin:
    """`score_nodes`, when given, must equal [score(state, pod, node) for node in nodes],
    only faster. `weight` is the default weight, used when the config names no weights."""

    name: str
    score: ScoreFn
    weight: int = 1
    normalize: NormalizeFn | None = None
    prescore: PreScoreFn | None = None
    score_nodes: ScoreNodesFn | None = None

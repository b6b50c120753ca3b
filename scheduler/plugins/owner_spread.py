"""OwnerSpread: fewer pods of the same owner (ReplicaSet, Job...) on the node is better, so
replicas spread over nodes even when resource scores tie (Kubernetes' SelectorSpread, by
node)."""

from __future__ import annotations

from scheduler.cache import Cache
from scheduler.model import NodeInfo, PodInfo
from scheduler.plugins.interface import MAX_SCORE, CycleState, ScorePlugin

NAME = "OwnerSpread"


def _prescore_owner(state: CycleState, pod: PodInfo, cache: Cache, nodes: list[NodeInfo]) -> bool:
    if not pod.owner_uid:
        return False
    by_node = cache.owner_counts(pod.owner_uid)
    if not by_node:
        return False
    state[NAME] = (by_node, max(by_node.values()))
    return True


def _owner_spread_nodes(state: CycleState, pod: PodInfo, nodes: list[NodeInfo]) -> list[float]:
    by_node, most = state[NAME]
    return [MAX_SCORE * (most - by_node.get(n.name, 0)) / most for n in nodes]


def owner_spread(state: CycleState, pod: PodInfo, node: NodeInfo) -> float:
    by_node, most = state[NAME]
    return MAX_SCORE * (most - by_node.get(node.name, 0)) / most


SCORE = ScorePlugin(NAME, owner_spread, weight=1, prescore=_prescore_owner,
                    score_nodes=_owner_spread_nodes)

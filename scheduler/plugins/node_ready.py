"""NodeReady: only nodes whose Ready condition is True take pods."""

from __future__ import annotations

from scheduler.model import NodeInfo, PodInfo
from scheduler.plugins.interface import CycleState, FilterPlugin, Reasons

NOT_READY = "node(s) were not ready"


def node_ready(state: CycleState, pod: PodInfo, node: NodeInfo) -> Reasons:
    return None if node.ready else NOT_READY


FILTER = FilterPlugin("NodeReady", node_ready, static=True)

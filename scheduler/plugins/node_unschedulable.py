"""NodeUnschedulable: a cordoned node takes only pods that tolerate
node.kubernetes.io/unschedulable."""

from __future__ import annotations

from scheduler.model import NO_SCHEDULE, NodeInfo, PodInfo, Taint, tolerated
from scheduler.plugins.interface import CycleState, FilterPlugin, Reasons

UNSCHEDULABLE = "node(s) were unschedulable"
UNSCHEDULABLE_TAINT = Taint("node.kubernetes.io/unschedulable", "", NO_SCHEDULE)


def node_unschedulable(state: CycleState, pod: PodInfo, node: NodeInfo) -> Reasons:
    if node.unschedulable and not tolerated(pod.tolerations, UNSCHEDULABLE_TAINT):
        return UNSCHEDULABLE
    return None


FILTER = FilterPlugin("NodeUnschedulable", node_unschedulable, static=True)

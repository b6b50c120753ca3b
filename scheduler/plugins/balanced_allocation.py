"""BalancedAllocation: nodes whose cpu and memory fill at the same pace score higher (they
waste less). Uses the pod's "non-zero" requests, as LeastAllocated does."""

from __future__ import annotations

from scheduler.model import NodeInfo, PodInfo
from scheduler.plugins.interface import MAX_SCORE, CycleState, ScorePlugin


def _balanced_allocation_nodes(
    state: CycleState, pod: PodInfo, nodes: list[NodeInfo]
) -> list[float]:
    cpu, memory = pod.nonzero_cpu, pod.nonzero_memory
    half = MAX_SCORE / 2
    # Utilisation fractions clamped at 1; the score is 100 - 50 * |cpu - memory|.
    return [
        MAX_SCORE - half * abs(
            (c if (c := (n.nonzero_cpu + cpu) * n.inverse_cpu) < 1.0 else 1.0)
            - (m if (m := (n.nonzero_memory + memory) * n.inverse_memory) < 1.0 else 1.0)
        )
        for n in nodes
    ]


def balanced_allocation(state: CycleState, pod: PodInfo, node: NodeInfo) -> float:
    """(1 - standard deviation of the cpu and memory utilisation fractions) * 100 (Kubernetes'
    formula)."""
    cpu_total = node.allocatable_cpu
    memory_total = node.allocatable_memory
    if not cpu_total or not memory_total:
        return 0.0
    cpu = min(1.0, (node.nonzero_cpu + pod.nonzero_cpu) / cpu_total)
    memory = min(1.0, (node.nonzero_memory + pod.nonzero_memory) / memory_total)
    # The standard deviation of two values is half their difference.
    return (1.0 - abs(cpu - memory) / 2) * MAX_SCORE


SCORE = ScorePlugin("BalancedAllocation", balanced_allocation, weight=1,
                    score_nodes=_balanced_allocation_nodes)

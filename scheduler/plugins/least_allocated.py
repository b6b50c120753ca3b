"""LeastAllocated: emptier nodes score higher. Like every resource score it uses the pod's
"non-zero" requests, so pods without requests still spread out."""

from __future__ import annotations

from scheduler.model import NodeInfo, PodInfo
from scheduler.plugins.interface import MAX_SCORE, CycleState, ScorePlugin


def _least_allocated_nodes(state: CycleState, pod: PodInfo, nodes: list[NodeInfo]) -> list[float]:
    cpu, memory = pod.nonzero_cpu, pod.nonzero_memory
    half = MAX_SCORE / 2
    # Free shares 1 - used/allocatable, clamped at 0 (conditionals: cheaper than max()).
    return [
        (
            (c if (c := 1.0 - (n.nonzero_cpu + cpu) * n.inverse_cpu) > 0.0 else 0.0)
            + (m if (m := 1.0 - (n.nonzero_memory + memory) * n.inverse_memory) > 0.0 else 0.0)
        ) * half
        for n in nodes
    ]


def least_allocated(state: CycleState, pod: PodInfo, node: NodeInfo) -> float:
    """The free share of cpu and memory after placing the pod, averaged: emptier is better."""
    cpu_total = node.allocatable_cpu
    memory_total = node.allocatable_memory
    cpu = (
        (cpu_total - node.nonzero_cpu - pod.nonzero_cpu) * MAX_SCORE / cpu_total
        if cpu_total else 0.0
    )
    memory = (
        (memory_total - node.nonzero_memory - pod.nonzero_memory) * MAX_SCORE / memory_total
        if memory_total else 0.0
    )
    return (max(cpu, 0.0) + max(memory, 0.0)) / 2


SCORE = ScorePlugin("LeastAllocated", least_allocated, weight=1,
                    score_nodes=_least_allocated_nodes)

"""NodeResourcesFit: the pod's requests must fit in what the node has left."""

from __future__ import annotations

from scheduler.cache import Cache
from scheduler.model import NodeInfo, NominatedLoad, PodInfo
from scheduler.plugins.interface import CycleState, FilterPlugin, Reasons

NAME = "NodeResourcesFit"
TOO_MANY_PODS = "Too many pods"


def insufficient(resource: str) -> str:
    return f"Insufficient {resource}"


def _prefilter_resources(state: CycleState, pod: PodInfo, cache: Cache) -> bool:
    # None when nothing is nominated anywhere: the per-node check stays a few comparisons.
    state[NAME] = cache.nominated_load(pod) if cache.nominated else None
    return True


def resources_fit(state: CycleState, pod: PodInfo, node: NodeInfo) -> Reasons:
    """Requests of the pods on the node plus this pod's must fit in allocatable, for cpu,
    memory, pod count and any other resource the pod requests. Pods nominated to the node
    with priority ≥ this pod's count as placed there. Every shortage is reported."""
    nominated: dict[str, NominatedLoad] | None = state[NAME]
    load = nominated.get(node.name) if nominated else None
    if load is None:
        pod_count, cpu, memory = node.pod_count, node.requested_cpu, node.requested_memory
    else:
        pod_count = node.pod_count + load.pods
        cpu = node.requested_cpu + load.cpu
        memory = node.requested_memory + load.memory
    short = [TOO_MANY_PODS] if pod_count + 1 > node.allocatable_pods else []
    if pod.cpu and cpu + pod.cpu > node.allocatable_cpu:
        short.append("Insufficient cpu")
    if pod.memory and memory + pod.memory > node.allocatable_memory:
        short.append("Insufficient memory")
    if pod.scalar:
        for resource, amount in pod.scalar.items():
            used = node.requested_scalar.get(resource, 0)
            if load is not None:
                used += load.scalar.get(resource, 0)
            if used + amount > node.allocatable_scalar.get(resource, 0):
                short.append(insufficient(resource))
    if not short:
        return None
    return short[0] if len(short) == 1 else tuple(short)


FILTER = FilterPlugin(NAME, resources_fit, prefilter=_prefilter_resources, preemption_helps=True)

"""What the cluster autoscaler decides, as pure functions: which node group to grow and by
how many nodes, and which nodes are not needed.

Both run the scheduler's own filters (scheduler.framework.Framework over a
scheduler.cache.Cache), never a re-implementation, so "this pod would fit a new
node of group G" means exactly what the scheduler will find once that node exists:
taints, node selectors and affinity, host ports, topology spread and resources.

Scale-up: first the pending pods are placed, in scheduling order, on the nodes that
exist and on the nodes already on their way (started, not yet ready: stood in for by
their group's template). What still does not fit is placed, group by group, on new
template nodes: a node is added only when the pod in hand fits no node added so far
and does fit an empty template node, so no node is added that would not help. Of the
groups that help, the winner helps the most pods, then wastes the least (the least
unused share of the new nodes' cpu and memory), then adds fewer nodes, then sorts
first by name.

Scale-down: a node of a group is unneeded when its requested utilisation (the larger
of its cpu and memory requests over allocatable) is below the threshold, its group
stays at or above minSize without it, and every pod on it is replicated (has a
controller that will make a new one) and fits on the other nodes, counting the pods
already moved there from nodes found unneeded before it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from autoscaler.config import GROUP_LABEL, NodeGroup
from corral.api import POD_TERMINAL_PHASES, controller_ref, is_deleting
from corral.api.v1 import core_pb2
from scheduler.cache import Cache
from scheduler.config import Config as SchedulerConfig
from scheduler.framework import Framework
from scheduler.model import HOSTNAME_LABEL, InvalidPod, PodInfo, pod_info

MAX_GROUP_SIZE_REACHED = "max node group size reached"


def template_node(group: NodeGroup, name: str) -> core_pb2.Node:
    """A ready node of `group` named `name`: what a new node of the group will look like."""
    node = core_pb2.Node()
    node.metadata.name = name
    node.metadata.labels.update(group.labels)
    node.metadata.labels[HOSTNAME_LABEL] = name
    node.metadata.labels[GROUP_LABEL] = group.name
    for taint in group.taints:
        node.spec.taints.add(key=taint.key, value=taint.value, effect=taint.effect)
    node.status.capacity.update(group.capacity)
    node.status.allocatable.update(group.capacity)
    node.status.conditions.add(type="Ready", status="True")
    return node


def is_unschedulable(pod: core_pb2.Pod) -> bool:
    """A pod the scheduler tried and could place nowhere (PodScheduled=False, Unschedulable)."""
    if pod.spec.node_name or is_deleting(pod):
        return False
    if pod.status.phase in POD_TERMINAL_PHASES:
        return False
    return any(
        c.type == "PodScheduled" and c.status == "False" and c.reason == "Unschedulable"
        for c in pod.status.conditions
    )


def _infos(pods: Sequence[core_pb2.Pod]) -> list[PodInfo]:
    infos = []
    for pod in pods:
        try:
            infos.append(pod_info(pod))
        except InvalidPod:
            continue  # the scheduler cannot place it either; nothing a node would change
    return infos


def _cache(nodes: Sequence[core_pb2.Node], bound: Sequence[PodInfo]) -> Cache:
    cache = Cache()
    for node in nodes:
        cache.set_node(node)
    for info in bound:
        cache.add_pod(copy.copy(info))
    return cache


def _scheduling_order(pods: Sequence[PodInfo]) -> list[PodInfo]:
    return sorted(pods, key=lambda p: (-p.priority, p.created, p.key))


# -- scale up ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupOption:
    """Growing one group: by how many nodes, and which pending pods that places."""

    group: str
    nodes: int
    pods: tuple[str, ...]
    waste: float


@dataclass
class ScaleUpPlan:
    # The chosen option; None when no group helps any pod.
    best: GroupOption | None
    options: list[GroupOption]
    # Pending pods that fit an existing or upcoming node: they need no new node.
    fit_existing: list[str]
    # Pending pods no group helps, with why per group ("small: Insufficient cpu").
    unhelped: dict[str, list[str]] = field(default_factory=dict)


def plan_scale_up(
    nodes: Sequence[core_pb2.Node],
    bound_pods: Sequence[core_pb2.Pod],
    pending: Sequence[core_pb2.Pod],
    groups: Sequence[NodeGroup],
    sizes: Mapping[str, int],
    upcoming: Mapping[str, int],
    scheduler_config: SchedulerConfig | None = None,
) -> ScaleUpPlan:
    """The group to grow for `pending` pods. `sizes` is each group's node count (running and
    starting), `upcoming` how many of those are not ready yet."""
    bound = _infos([p for p in bound_pods if p.spec.node_name])
    waiting = _scheduling_order(_infos(pending))
    base_nodes = list(nodes)
    by_name = {group.name: group for group in groups}
    for group_name, count in upcoming.items():
        group = by_name.get(group_name)
        if group is not None:
            base_nodes.extend(
                template_node(group, f"{group_name}-upcoming-{i}") for i in range(count)
            )

    # Which pods fit what exists (or is on its way) already.
    cache = _cache(base_nodes, bound)
    framework = Framework(scheduler_config)
    fit_existing: list[str] = []
    remaining: list[PodInfo] = []
    for info in waiting:
        result = framework.schedule(info, cache)
        if result.node is not None:
            cache.assume(copy.copy(info), result.node)
            fit_existing.append(info.key)
        else:
            remaining.append(info)

    plan = ScaleUpPlan(None, [], fit_existing)
    if not remaining:
        return plan
    reasons: dict[str, list[str]] = {info.key: [] for info in remaining}
    for group in groups:
        option = _grow(group, base_nodes, bound, fit_existing, waiting, remaining,
                       max(0, group.max_size - sizes.get(group.name, 0)), reasons,
                       scheduler_config)
        if option is not None:
            plan.options.append(option)
    helped = {key for option in plan.options for key in option.pods}
    plan.unhelped = {key: why for key, why in reasons.items() if key not in helped}
    if plan.options:
        plan.best = min(plan.options,
                        key=lambda o: (-len(o.pods), round(o.waste, 6), o.nodes, o.group))
    return plan


def _grow(
    group: NodeGroup,
    base_nodes: Sequence[core_pb2.Node],
    bound: Sequence[PodInfo],
    fit_existing: Sequence[str],
    waiting: Sequence[PodInfo],
    remaining: Sequence[PodInfo],
    room: int,
    reasons: dict[str, list[str]],
    scheduler_config: SchedulerConfig | None,
) -> GroupOption | None:
    """Places `remaining` on new nodes of `group`, at most `room` of them."""
    cache = _cache(base_nodes, bound)
    framework = Framework(scheduler_config)
    # Replay the placements on existing nodes, so new nodes see the same neighbours.
    placed_existing = set(fit_existing)
    for info in waiting:
        if info.key in placed_existing:
            result = framework.schedule(info, cache)
            if result.node is not None:
                cache.assume(copy.copy(info), result.node)
    new_nodes: list[str] = []
    helped: list[PodInfo] = []
    for info in remaining:
        target = None
        for name in new_nodes:
            if framework.filter_node(info, cache, cache.nodes[name]) is None:
                target = name
                break
        if target is None:
            name = f"{group.name}-new-{len(new_nodes)}"
            cache.set_node(template_node(group, name))
            failure = framework.filter_node(info, cache, cache.nodes[name])
            if failure is not None:
                cache.remove_node(name)
                reasons[info.key].append(f"{group.name}: {', '.join(failure[1])}")
                continue
            if len(new_nodes) >= room:
                cache.remove_node(name)
                reasons[info.key].append(f"{group.name}: {MAX_GROUP_SIZE_REACHED}")
                continue
            new_nodes.append(name)
            target = name
        cache.assume(copy.copy(info), target)
        helped.append(info)
    if not helped:
        return None
    return GroupOption(group.name, len(new_nodes), tuple(p.key for p in helped),
                       _waste(cache, new_nodes))


def _waste(cache: Cache, names: Sequence[str]) -> float:
    """The unused share of the new nodes' cpu and memory, averaged."""
    cpu = sum(cache.nodes[n].allocatable_cpu for n in names)
    memory = sum(cache.nodes[n].allocatable_memory for n in names)
    used_cpu = sum(cache.nodes[n].requested_cpu for n in names)
    used_memory = sum(cache.nodes[n].requested_memory for n in names)
    shares = []
    if cpu:
        shares.append(1 - used_cpu / cpu)
    if memory:
        shares.append(1 - used_memory / memory)
    return sum(shares) / len(shares) if shares else 0.0


# -- scale down ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Unneeded:
    node: str
    group: str
    utilization: float
    # Where each of its pods would go: pod key → node.
    destinations: Mapping[str, str]

    @property
    def empty(self) -> bool:
        return not self.destinations


@dataclass
class ScaleDownPlan:
    unneeded: list[Unneeded]
    # Managed nodes that are needed, with why.
    needed: dict[str, str]
    utilization: dict[str, float]


def utilization(cache: Cache, name: str) -> float:
    """The larger of a node's cpu and memory requests over its allocatable (0 to 1+)."""
    node = cache.nodes[name]
    shares = []
    if node.allocatable_cpu:
        shares.append(node.requested_cpu / node.allocatable_cpu)
    if node.allocatable_memory:
        shares.append(node.requested_memory / node.allocatable_memory)
    return max(shares, default=0.0)


def _replicated(pod: core_pb2.Pod) -> bool:
    return controller_ref(pod) is not None


def plan_scale_down(
    nodes: Sequence[core_pb2.Node],
    bound_pods: Sequence[core_pb2.Pod],
    groups: Sequence[NodeGroup],
    sizes: Mapping[str, int],
    threshold: float,
    scheduler_config: SchedulerConfig | None = None,
) -> ScaleDownPlan:
    """The nodes of node groups that could go now, lowest utilisation first."""
    live = [
        pod for pod in bound_pods
        if pod.spec.node_name and pod.status.phase not in POD_TERMINAL_PHASES
    ]
    infos = {info.key: info for info in _infos(live)}
    protos = {f"{p.metadata.namespace or 'default'}/{p.metadata.name}": p for p in live}
    cache = _cache(nodes, list(infos.values()))
    framework = Framework(scheduler_config)
    by_name = {group.name: group for group in groups}
    plan = ScaleDownPlan([], {}, {})
    managed = [
        node for node in nodes
        if node.metadata.labels.get(GROUP_LABEL) in by_name
    ]
    for node in managed:
        plan.utilization[node.metadata.name] = utilization(cache, node.metadata.name)
    removed: dict[str, int] = {}
    for node in sorted(managed, key=lambda n: (plan.utilization[n.metadata.name],
                                               n.metadata.name)):
        name = node.metadata.name
        group = by_name[node.metadata.labels[GROUP_LABEL]]
        used = plan.utilization[name]
        if used >= threshold:
            plan.needed[name] = (
                f"utilization {used:.0%} is not below the threshold {threshold:.0%}"
            )
            continue
        if sizes.get(group.name, 0) - removed.get(group.name, 0) <= group.min_size:
            plan.needed[name] = f"node group {group.name} is at its minimum size {group.min_size}"
            continue
        on_node = [info for info in cache.nodes[name].pods.values() if not info.terminating]
        blocker = next(
            (info.key for info in on_node
             if info.key in protos and not _replicated(protos[info.key])),
            None,
        )
        if blocker is not None:
            plan.needed[name] = f"pod {blocker} is not replicated (no controller would recreate it)"
            continue
        destinations = _move_pods(framework, cache, node, on_node)
        if destinations is None:
            plan.needed[name] = "some of its pods fit no other node"
            continue
        removed[group.name] = removed.get(group.name, 0) + 1
        plan.unneeded.append(Unneeded(name, group.name, used, destinations))
    return plan


def _move_pods(
    framework: Framework, cache: Cache, node: core_pb2.Node, pods: Sequence[PodInfo]
) -> dict[str, str] | None:
    """Moves the pods off `node` in the cache and drops the node; on failure undoes it all
    and returns None."""
    name = node.metadata.name
    originals = [cache.pods[info.key] for info in pods]
    for info in originals:
        cache.remove_pod(info.key)
    cache.remove_node(name)
    destinations: dict[str, str] = {}
    for info in _scheduling_order(originals):
        moved = copy.copy(info)
        moved.node_name = ""
        result = framework.schedule(moved, cache)
        if result.node is None:
            for key in destinations:
                cache.remove_pod(key)
            cache.set_node(node)
            for original in originals:
                cache.add_pod(original)
            return None
        cache.assume(moved, result.node)
        destinations[info.key] = result.node
    return destinations

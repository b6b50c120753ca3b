"""The built-in filters: can this node take this pod? None means yes; a string says why not,
in the words Kubernetes uses in its "0/N nodes are available: ..." message."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from scheduler.cache import Cache
from scheduler.framework import CycleState, Reasons, filter_plugin
from scheduler.model import (
    NO_EXECUTE,
    NO_SCHEDULE,
    AffinityTerm,
    NodeInfo,
    NominatedLoad,
    PodInfo,
    SpreadConstraint,
    Taint,
    tolerated,
)

NOT_READY = "node(s) were not ready"
UNSCHEDULABLE = "node(s) were unschedulable"
NODE_AFFINITY_MISMATCH = "node(s) didn't match Pod's node affinity/selector"
PORTS_TAKEN = "node(s) didn't have free ports for the requested pod ports"
TOO_MANY_PODS = "Too many pods"
AFFINITY_MISMATCH = "node(s) didn't match pod affinity rules"
ANTI_AFFINITY_MISMATCH = "node(s) didn't match pod anti-affinity rules"
EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules"
SPREAD_MISMATCH = "node(s) didn't match pod topology spread constraints"
SPREAD_MISSING_LABEL = (
    "node(s) didn't match pod topology spread constraints (missing required label)"
)

UNSCHEDULABLE_TAINT = Taint("node.kubernetes.io/unschedulable", "", NO_SCHEDULE)


def untolerated_taint(taint: Taint) -> str:
    return f"node(s) had untolerated taint {taint}"


def insufficient(resource: str) -> str:
    return f"Insufficient {resource}"


# -- node state ----------------------------------------------------------------------------------


@filter_plugin("NodeReady", static=True)
def node_ready(state: CycleState, pod: PodInfo, node: NodeInfo) -> Reasons:
    return None if node.ready else NOT_READY


@filter_plugin("NodeUnschedulable", static=True)
def node_unschedulable(state: CycleState, pod: PodInfo, node: NodeInfo) -> Reasons:
    """A cordoned node takes only pods that tolerate node.kubernetes.io/unschedulable."""
    if node.unschedulable and not tolerated(pod.tolerations, UNSCHEDULABLE_TAINT):
        return UNSCHEDULABLE
    return None


@filter_plugin("TaintToleration", static=True)
def taint_toleration(state: CycleState, pod: PodInfo, node: NodeInfo) -> Reasons:
    """NoSchedule and NoExecute taints must be tolerated; PreferNoSchedule only scores."""
    for taint in node.taints:
        if (taint.effect == NO_SCHEDULE or taint.effect == NO_EXECUTE) and not tolerated(
            pod.tolerations, taint
        ):
            return untolerated_taint(taint)
    return None


# -- node affinity -------------------------------------------------------------------------------


def _has_node_constraints(state: CycleState, pod: PodInfo, cache: Cache) -> bool:
    return pod.has_node_constraints


def matches_node_constraints(pod: PodInfo, node: NodeInfo) -> bool:
    """nodeSelector (every label equal) and required node affinity (any term)."""
    labels = node.labels
    for key, value in pod.node_selector.items():
        if labels.get(key) != value:
            return False
    terms = pod.required_node_terms
    if terms is not None:
        term_labels = node.term_labels
        return any(term.matches(term_labels) for term in terms)
    return True


@filter_plugin("NodeAffinity", prefilter=_has_node_constraints, static=True)
def node_affinity(state: CycleState, pod: PodInfo, node: NodeInfo) -> Reasons:
    return None if matches_node_constraints(pod, node) else NODE_AFFINITY_MISMATCH


# -- host ports ----------------------------------------------------------------------------------


def _wants_host_ports(state: CycleState, pod: PodInfo, cache: Cache) -> bool:
    if not pod.host_ports:
        return False
    # Ports of pods nominated to a node count as taken there (see NodeResourcesFit).
    state["NodePorts"] = {
        node_name: load.host_ports
        for node_name, load in cache.nominated_load(pod).items() if load.host_ports
    }
    return True


def ports_conflict(wanted: tuple[str, str, int], used: tuple[str, str, int]) -> bool:
    """Same protocol and port, and the same address or either is the wildcard 0.0.0.0."""
    ip, protocol, port = wanted
    used_ip, used_protocol, used_port = used
    return (
        port == used_port
        and protocol == used_protocol
        and (ip == used_ip or ip == "0.0.0.0" or used_ip == "0.0.0.0")
    )


@filter_plugin("NodePorts", prefilter=_wants_host_ports, preemption_helps=True)
def node_ports(state: CycleState, pod: PodInfo, node: NodeInfo) -> Reasons:
    nominated = state["NodePorts"].get(node.name, ())
    if not node.used_ports and not nominated:
        return None
    for wanted in pod.host_ports:
        for used in (*node.used_ports, *nominated):
            if ports_conflict(wanted, used):
                return PORTS_TAKEN
    return None


# -- resources -----------------------------------------------------------------------------------


def _prefilter_resources(state: CycleState, pod: PodInfo, cache: Cache) -> bool:
    # None when nothing is nominated anywhere: the per-node check stays a few comparisons.
    state["NodeResourcesFit"] = cache.nominated_load(pod) if cache.nominated else None
    return True


@filter_plugin("NodeResourcesFit", prefilter=_prefilter_resources, preemption_helps=True)
def resources_fit(state: CycleState, pod: PodInfo, node: NodeInfo) -> Reasons:
    """Requests of the pods on the node plus this pod's must fit in allocatable, for cpu,
    memory, pod count and any other resource the pod requests. Pods nominated to the node
    with priority ≥ this pod's count as placed there. Every shortage is reported."""
    nominated: dict[str, NominatedLoad] | None = state["NodeResourcesFit"]
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


# -- topology spread -----------------------------------------------------------------------------


@dataclass
class SpreadState:
    constraint: SpreadConstraint
    counts: Counter[str]  # matching pods per eligible domain
    minimum: int  # the fewest matching pods in any eligible domain
    self_match: int  # 1 when the pod counts towards its own constraint


def spread_state(
    pod: PodInfo, cache: Cache, constraints: tuple[SpreadConstraint, ...]
) -> list[SpreadState]:
    """Counts, per constraint, the matching pods in each domain of the nodes the pod may
    use (its node selector and affinity; nodes lacking any constraint's key don't count)."""
    keys = [c.topology_key for c in constraints]
    eligible: dict[str, NodeInfo] = {}
    for node in cache.node_list():
        if all(key in node.labels for key in keys) and (
            not pod.has_node_constraints or matches_node_constraints(pod, node)
        ):
            eligible[node.name] = node
    states = []
    for constraint in constraints:
        key = constraint.topology_key
        counts: Counter[str] = Counter({node.labels[key]: 0 for node in eligible.values()})
        for other in cache.pods_matching(constraint.term):
            on = eligible.get(other.node_name)
            if on is not None:
                counts[on.labels[key]] += 1
        minimum = 0 if len(counts) < constraint.min_domains else min(counts.values(), default=0)
        states.append(
            SpreadState(constraint, counts, minimum, 1 if constraint.term.matches(pod) else 0)
        )
    return states


def _prefilter_spread(state: CycleState, pod: PodInfo, cache: Cache) -> bool:
    hard = tuple(c for c in pod.spread_constraints if c.hard)
    if not hard:
        return False
    state["PodTopologySpread"] = spread_state(pod, cache, hard)
    return True


@filter_plugin("PodTopologySpread", prefilter=_prefilter_spread, preemption_helps=True)
def topology_spread(state: CycleState, pod: PodInfo, node: NodeInfo) -> Reasons:
    """DoNotSchedule constraints: placing the pod must keep (domain count - minimum) ≤ maxSkew."""
    for spread in state["PodTopologySpread"]:
        domain = node.labels.get(spread.constraint.topology_key)
        if domain is None:
            return SPREAD_MISSING_LABEL
        if spread.counts.get(domain, 0) + spread.self_match - spread.minimum > (
            spread.constraint.max_skew
        ):
            return SPREAD_MISMATCH
    return None


# -- inter-pod affinity --------------------------------------------------------------------------


@dataclass
class AffinityState:
    # The incoming pod's required affinity terms with matching pods per domain.
    affinity: list[tuple[AffinityTerm, Counter[str]]]
    # True when no pod matches any affinity term but the pod matches them all itself: the
    # first pod of a group that wants to be together may go anywhere.
    affinity_first_of_group: bool
    anti_affinity: list[tuple[AffinityTerm, Counter[str]]]
    # Domains (by topology key) where an existing pod's anti-affinity forbids this pod.
    blocked: dict[str, set[str]]


def _prefilter_affinity(state: CycleState, pod: PodInfo, cache: Cache) -> bool:
    blocked: dict[str, set[str]] = {}
    for term, node_counts in cache.anti_affinity_selecting(pod):
        domains = blocked.setdefault(term.topology_key, set())
        for node_name in node_counts:
            node = cache.nodes.get(node_name)
            if node is not None:
                domain = node.labels.get(term.topology_key)
                if domain is not None:
                    domains.add(domain)
    if not (pod.affinity_terms or pod.anti_affinity_terms or blocked):
        return False
    affinity = [(term, cache.count_by_domain(term)) for term in pod.affinity_terms]
    first = (
        bool(affinity)
        and all(not counts for _, counts in affinity)
        and all(cache.resolved(term).matches(pod) for term in pod.affinity_terms)
    )
    state["InterPodAffinity"] = AffinityState(
        affinity=affinity,
        affinity_first_of_group=first,
        anti_affinity=[(term, cache.count_by_domain(term)) for term in pod.anti_affinity_terms],
        blocked={key: domains for key, domains in blocked.items() if domains},
    )
    return True


@filter_plugin("InterPodAffinity", prefilter=_prefilter_affinity, preemption_helps=True)
def inter_pod_affinity(state: CycleState, pod: PodInfo, node: NodeInfo) -> Reasons:
    affinity: AffinityState = state["InterPodAffinity"]
    labels = node.labels
    # Kubernetes' order: the pod's affinity, its anti-affinity, then other pods' anti-affinity.
    if not affinity.affinity_first_of_group:
        for term, counts in affinity.affinity:
            domain = labels.get(term.topology_key)
            if domain is None or not counts.get(domain):
                return AFFINITY_MISMATCH
    for term, counts in affinity.anti_affinity:
        domain = labels.get(term.topology_key)
        if domain is not None and counts.get(domain):
            return ANTI_AFFINITY_MISMATCH
    for key, domains in affinity.blocked.items():
        if labels.get(key) in domains:
            return EXISTING_ANTI_AFFINITY
    return None

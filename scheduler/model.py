"""The scheduler's plain-Python view of pods and nodes.

A pod's scheduling requirements are read out of its protobuf once, when it
enters the scheduler (`pod_info`), into a `PodInfo` of ints, dicts, tuples and
selectors; every filter and score then works on those, never on protobuf
messages (reading nested protobuf fields on a hot path costs far more).

A `NodeInfo` is a node plus the running totals of the pods on it (requested
cpu/memory/pods, host ports), kept incrementally by the cache, so checking
whether a pod fits is a few integer comparisons.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from corral.api import (
    IN,
    Requirement,
    Selector,
    from_label_selector,
    from_node_selector_requirements,
    quantity,
)
from corral.api.v1 import core_pb2

HOSTNAME_LABEL = "kubernetes.io/hostname"
ZONE_LABEL = "topology.kubernetes.io/zone"

# What scoring assumes a container without requests uses (Kubernetes' non-zero defaults),
# so that pods without requests are still spread instead of piling onto one node.
DEFAULT_NONZERO_CPU_MILLIS = 100
DEFAULT_NONZERO_MEMORY_BYTES = 200 * 1024 * 1024

NO_SCHEDULE = "NoSchedule"
NO_EXECUTE = "NoExecute"
PREFER_NO_SCHEDULE = "PreferNoSchedule"

# Phases of pods that are done: they hold no resources any more.


class InvalidPod(ValueError):
    """A pod whose scheduling fields cannot be understood (bad quantity, bad selector)."""


@dataclass(frozen=True, slots=True)
class Taint:
    key: str
    value: str
    effect: str

    def __str__(self) -> str:
        return f"{{{self.key}: {self.value}}}"


@dataclass(frozen=True, slots=True)
class Toleration:
    key: str
    operator: str  # "Equal" (also when empty) or "Exists"
    value: str
    effect: str  # empty: every effect

    def tolerates(self, taint: Taint) -> bool:
        if self.effect and self.effect != taint.effect:
            return False
        if self.operator == "Exists":
            # An empty key with Exists tolerates every taint.
            return not self.key or self.key == taint.key
        return self.key == taint.key and self.value == taint.value


def tolerated(tolerations: tuple[Toleration, ...], taint: Taint) -> bool:
    return any(toleration.tolerates(taint) for toleration in tolerations)


@dataclass(frozen=True, slots=True)
class AffinityTerm:
    """Pods matching `selector` in `namespaces` (None: every namespace), over the domains
    of `topology_key`. Frozen and hashable: equal terms of many pods share one index entry.

    A term whose namespaceSelector has requirements also selects the namespaces whose
    labels match `namespace_selector`; which those are changes with the namespaces, so
    such a term is resolved (`resolved`, memoized by the cache) into one with plain
    names before it is matched. `matches` itself only looks at `namespaces`."""

    selector: Selector
    namespaces: frozenset[str] | None
    topology_key: str
    namespace_selector: Selector | None = None

    def matches(self, pod: PodInfo) -> bool:
        if self.namespaces is not None and pod.namespace not in self.namespaces:
            return False
        return self.selector.matches(pod.labels)

    def resolved(self, namespace_labels: Mapping[str, Mapping[str, str]] | None) -> AffinityTerm:
        """This term with its namespaceSelector turned into the names of the namespaces it
        selects now (`namespace_labels`: name → labels; None when the namespaces are not
        known, which reads any selector as every namespace)."""
        if self.namespace_selector is None:
            return self
        if namespace_labels is None:
            return AffinityTerm(self.selector, None, self.topology_key)
        selector = self.namespace_selector
        selected = {name for name, labels in namespace_labels.items() if selector.matches(labels)}
        return AffinityTerm(
            self.selector, (self.namespaces or frozenset()) | selected, self.topology_key
        )


@dataclass(frozen=True, slots=True)
class SpreadConstraint:
    max_skew: int
    topology_key: str
    hard: bool  # whenUnsatisfiable: DoNotSchedule (True) or ScheduleAnyway
    term: AffinityTerm  # the pods counted (same namespace), topology_key as above
    min_domains: int


@dataclass(eq=False, slots=True)
class PodInfo:
    """What the scheduler needs of a pod, computed once per pod version."""

    key: str
    namespace: str
    name: str
    uid: str
    priority: int
    created: float  # creation time, seconds since the epoch
    labels: dict[str, str]
    cpu: int  # millicores requested
    memory: int  # bytes requested
    scalar: dict[str, int]  # other requested resources (e.g. nvidia.com/gpu)
    nonzero_cpu: int
    nonzero_memory: int
    host_ports: frozenset[tuple[str, str, int]]  # (hostIP, protocol, port)
    node_selector: dict[str, str]
    # OR of terms; None when the pod has no required node affinity.
    required_node_terms: tuple[Selector, ...] | None
    preferred_node_terms: tuple[tuple[int, Selector], ...]
    tolerations: tuple[Toleration, ...]
    affinity_terms: tuple[AffinityTerm, ...]
    anti_affinity_terms: tuple[AffinityTerm, ...]
    preferred_affinity: tuple[tuple[int, AffinityTerm], ...]
    preferred_anti_affinity: tuple[tuple[int, AffinityTerm], ...]
    spread_constraints: tuple[SpreadConstraint, ...]
    images: tuple[str, ...]
    owner_uid: str
    grace_period_seconds: int
    node_name: str
    scheduler_name: str
    terminating: bool
    resource_version: str = ""

    @property
    def node_constraints_key(self) -> tuple[object, ...]:
        """Everything "static" filters may look at: pods with equal keys pass the same nodes."""
        return (
            self.tolerations,
            tuple(sorted(self.node_selector.items())),
            self.required_node_terms,
        )

    @property
    def has_node_constraints(self) -> bool:
        return bool(self.node_selector) or self.required_node_terms is not None


@dataclass(eq=False, slots=True)
class NodeInfo:
    """A node and the running totals of the pods bound or assumed on it.

    A NodeInfo also exists, with `present` False, for a node that was deleted
    while pods still point at it, so the pods' totals stay consistent."""

    name: str
    labels: dict[str, str] = field(default_factory=dict)
    # The labels plus the pseudo-label "metadata.name": what node selector terms match.
    term_labels: dict[str, str] = field(default_factory=dict)
    taints: tuple[Taint, ...] = ()
    ready: bool = False
    unschedulable: bool = False
    present: bool = False
    allocatable_cpu: int = 0
    allocatable_memory: int = 0
    allocatable_pods: int = 0
    allocatable_scalar: dict[str, int] = field(default_factory=dict)
    # 1 / allocatable (infinite when there is none): multiplications on the score hot path.
    inverse_cpu: float = math.inf
    inverse_memory: float = math.inf
    images: dict[str, int] = field(default_factory=dict)  # image name → size in bytes
    requested_cpu: int = 0
    requested_memory: int = 0
    requested_scalar: Counter[str] = field(default_factory=Counter)
    nonzero_cpu: int = 0
    nonzero_memory: int = 0
    pod_count: int = 0
    used_ports: Counter[tuple[str, str, int]] = field(default_factory=Counter)
    pods: dict[str, PodInfo] = field(default_factory=dict)

    def add_pod(self, pod: PodInfo) -> None:
        self.pods[pod.key] = pod
        self.requested_cpu += pod.cpu
        self.requested_memory += pod.memory
        self.nonzero_cpu += pod.nonzero_cpu
        self.nonzero_memory += pod.nonzero_memory
        self.pod_count += 1
        for resource, amount in pod.scalar.items():
            self.requested_scalar[resource] += amount
        for port in pod.host_ports:
            self.used_ports[port] += 1

    def remove_pod(self, pod: PodInfo) -> None:
        del self.pods[pod.key]
        self.requested_cpu -= pod.cpu
        self.requested_memory -= pod.memory
        self.nonzero_cpu -= pod.nonzero_cpu
        self.nonzero_memory -= pod.nonzero_memory
        self.pod_count -= 1
        for resource, amount in pod.scalar.items():
            self.requested_scalar[resource] -= amount
            if not self.requested_scalar[resource]:
                del self.requested_scalar[resource]
        for port in pod.host_ports:
            self.used_ports[port] -= 1
            if not self.used_ports[port]:
                del self.used_ports[port]

    def scheduling_fields(self) -> tuple[object, ...]:
        """The fields that static filters read: when they are unchanged, their results are."""
        return (self.present, self.labels, self.taints, self.ready, self.unschedulable)

    def set_node(self, node: core_pb2.Node) -> None:
        """Takes the node object's fields (the pod totals are left alone)."""
        self.present = True
        self.labels = dict(node.metadata.labels)
        self.term_labels = {**self.labels, "metadata.name": self.name}
        self.taints = tuple(Taint(t.key, t.value, t.effect) for t in node.spec.taints)
        self.unschedulable = node.spec.unschedulable
        self.ready = any(
            c.type == "Ready" and c.status == "True" for c in node.status.conditions
        )
        # Allocatable, or capacity where an agent only reported capacity.
        resources = dict(node.status.capacity)
        resources.update(node.status.allocatable)
        scalar: dict[str, int] = {}
        self.allocatable_cpu = self.allocatable_memory = self.allocatable_pods = 0
        for resource, text in resources.items():
            try:
                value = quantity.resource_value(resource, text)
            except quantity.InvalidQuantity:
                continue  # the API server validates; an odd value counts as nothing
            if resource == "cpu":
                self.allocatable_cpu = value
            elif resource == "memory":
                self.allocatable_memory = value
            elif resource == "pods":
                self.allocatable_pods = value
            else:
                scalar[resource] = value
        self.allocatable_scalar = scalar
        self.inverse_cpu = 1 / self.allocatable_cpu if self.allocatable_cpu else math.inf
        self.inverse_memory = 1 / self.allocatable_memory if self.allocatable_memory else math.inf
        images: dict[str, int] = {}
        for image in node.status.images:
            for name in image.names:
                images[name] = image.size_bytes
                images[normalized_image(name)] = image.size_bytes
        self.images = images


@dataclass(eq=False, slots=True)
class NominatedLoad:
    """What the pods nominated to one node (preemptors waiting for their victims to go)
    request there: filters count it as if those pods were already placed, so the room
    that preemption freed is not taken by a less important pod first."""

    cpu: int = 0
    memory: int = 0
    pods: int = 0
    scalar: Counter[str] = field(default_factory=Counter)
    host_ports: set[tuple[str, str, int]] = field(default_factory=set)

    def add(self, pod: PodInfo) -> None:
        self.cpu += pod.cpu
        self.memory += pod.memory
        self.pods += 1
        self.scalar.update(pod.scalar)
        self.host_ports.update(pod.host_ports)


def node_info(node: core_pb2.Node) -> NodeInfo:
    info = NodeInfo(node.metadata.name)
    info.set_node(node)
    return info


def normalized_image(name: str) -> str:
    """"nginx" and "nginx:latest" are one image; so are "docker.io/library/nginx" and "nginx"."""
    last = name.rsplit("/", 1)[-1]
    if "@" not in last and ":" not in last:
        name += ":latest"
    for prefix in ("docker.io/library/", "docker.io/"):
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


# -- reading a pod -------------------------------------------------------------------------------


def pod_info(pod: core_pb2.Pod) -> PodInfo:
    """The plain-Python requirements of a pod; InvalidPod names the field that is wrong."""
    meta = pod.metadata
    spec = pod.spec
    namespace = meta.namespace or "default"
    where = f"pod {namespace}/{meta.name}"
    cpu, memory, scalar = _requests(spec, where)
    host_ports = frozenset(
        (port.host_ip or "0.0.0.0", port.protocol or "TCP", port.host_port)
        for container in spec.containers
        for port in container.ports
        if port.host_port
    )
    affinity = spec.affinity
    required_node_terms: tuple[Selector, ...] | None = None
    preferred_node_terms: tuple[tuple[int, Selector], ...] = ()
    affinity_terms: tuple[AffinityTerm, ...] = ()
    anti_affinity_terms: tuple[AffinityTerm, ...] = ()
    preferred_affinity: tuple[tuple[int, AffinityTerm], ...] = ()
    preferred_anti_affinity: tuple[tuple[int, AffinityTerm], ...] = ()
    try:
        if spec.HasField("affinity"):
            node_affinity = affinity.node_affinity
            if node_affinity.HasField("required_during_scheduling_ignored_during_execution"):
                required = node_affinity.required_during_scheduling_ignored_during_execution
                required_node_terms = tuple(
                    _node_term(term) for term in required.node_selector_terms
                )
            preferred_node_terms = tuple(
                (term.weight, _node_term(term.preference))
                for term in node_affinity.preferred_during_scheduling_ignored_during_execution
            )
            pod_affinity = affinity.pod_affinity
            affinity_terms = tuple(
                _affinity_term(term, namespace)
                for term in pod_affinity.required_during_scheduling_ignored_during_execution
            )
            preferred_affinity = tuple(
                (weighted.weight, _affinity_term(weighted.pod_affinity_term, namespace))
                for weighted in pod_affinity.preferred_during_scheduling_ignored_during_execution
            )
            anti = affinity.pod_anti_affinity
            anti_affinity_terms = tuple(
                _affinity_term(term, namespace)
                for term in anti.required_during_scheduling_ignored_during_execution
            )
            preferred_anti_affinity = tuple(
                (weighted.weight, _affinity_term(weighted.pod_affinity_term, namespace))
                for weighted in anti.preferred_during_scheduling_ignored_during_execution
            )
        spread = tuple(
            SpreadConstraint(
                max_skew=max(1, constraint.max_skew),
                topology_key=constraint.topology_key,
                hard=constraint.when_unsatisfiable != "ScheduleAnyway",
                term=AffinityTerm(
                    from_label_selector(
                        constraint.label_selector
                        if constraint.HasField("label_selector") else None
                    ),
                    frozenset((namespace,)),
                    constraint.topology_key,
                ),
                min_domains=constraint.min_domains if constraint.HasField("min_domains") else 1,
            )
            for constraint in spec.topology_spread_constraints
        )
    except ValueError as error:
        raise InvalidPod(f"{where}: {error}") from None
    owner_uid = next(
        (ref.uid for ref in meta.owner_references if ref.controller),
        meta.owner_references[0].uid if meta.owner_references else "",
    )
    return PodInfo(
        key=f"{namespace}/{meta.name}",
        namespace=namespace,
        name=meta.name,
        uid=meta.uid,
        priority=spec.priority,
        created=meta.creation_timestamp.seconds + meta.creation_timestamp.nanos / 1e9,
        labels=dict(meta.labels),
        cpu=cpu,
        memory=memory,
        scalar=scalar,
        nonzero_cpu=cpu or DEFAULT_NONZERO_CPU_MILLIS,
        nonzero_memory=memory or DEFAULT_NONZERO_MEMORY_BYTES,
        host_ports=host_ports,
        node_selector=dict(spec.node_selector),
        required_node_terms=required_node_terms,
        preferred_node_terms=preferred_node_terms,
        tolerations=tuple(
            Toleration(t.key, t.operator or "Equal", t.value, t.effect) for t in spec.tolerations
        ),
        affinity_terms=affinity_terms,
        anti_affinity_terms=anti_affinity_terms,
        preferred_affinity=preferred_affinity,
        preferred_anti_affinity=preferred_anti_affinity,
        spread_constraints=spread,
        images=tuple(normalized_image(c.image) for c in spec.containers if c.image),
        owner_uid=owner_uid,
        grace_period_seconds=(
            spec.termination_grace_period_seconds
            if spec.HasField("termination_grace_period_seconds") else 30
        ),
        node_name=spec.node_name,
        scheduler_name=spec.scheduler_name,
        terminating=meta.HasField("deletion_timestamp"),
        resource_version=meta.resource_version,
    )


def _requests(spec: core_pb2.PodSpec, where: str) -> tuple[int, int, dict[str, int]]:
    """A pod's effective requests: the sum over containers, or the largest init container's
    request where that is more (init containers run one at a time, before the others)."""
    totals: Counter[str] = Counter()
    for container in spec.containers:
        for resource, text in container.resources.requests.items():
            totals[resource] += _value(resource, text, f"{where} container {container.name}")
    for container in spec.init_containers:
        for resource, text in container.resources.requests.items():
            value = _value(resource, text, f"{where} init container {container.name}")
            totals[resource] = max(totals[resource], value)
    cpu = totals.pop("cpu", 0)
    memory = totals.pop("memory", 0)
    # Ephemeral storage and the like are not tracked per node; only count what nodes report.
    return cpu, memory, {resource: amount for resource, amount in totals.items() if amount}


def _value(resource: str, text: str, where: str) -> int:
    try:
        return quantity.resource_value(resource, text)
    except quantity.InvalidQuantity as error:
        raise InvalidPod(f"{where}: requests.{resource}: {error}") from None


def _node_term(term: core_pb2.NodeSelectorTerm) -> Selector:
    """matchExpressions AND matchFields of one node selector term, as one selector over the
    node's labels plus the pseudo-label "metadata.name" (the only field Kubernetes allows)."""
    expressions = from_node_selector_requirements(term.match_expressions)
    fields = from_node_selector_requirements(term.match_fields, where="matchFields")
    for requirement in fields.requirements:
        if requirement.key != "metadata.name":
            raise ValueError(
                f'matchFields key "{requirement.key}" is not supported (only metadata.name)'
            )
    if not expressions.requirements and not fields.requirements:
        # An empty term matches no node, as in Kubernetes.
        return Selector.nothing()
    return Selector(expressions.requirements + fields.requirements)


def _affinity_term(term: core_pb2.PodAffinityTerm, namespace: str) -> AffinityTerm:
    selector = from_label_selector(
        term.label_selector if term.HasField("label_selector") else None
    )
    # Kubernetes: the listed namespaces plus those the namespaceSelector selects; an
    # empty selector ({}) selects every namespace; neither given: the pod's own namespace.
    namespaces: frozenset[str] | None = frozenset(term.namespaces)
    namespace_selector: Selector | None = None
    if term.HasField("namespace_selector"):
        try:
            namespace_selector = from_label_selector(term.namespace_selector)
        except ValueError as error:
            raise ValueError(f"namespaceSelector: {error}") from None
        if namespace_selector.empty:
            namespaces, namespace_selector = None, None
    elif not namespaces:
        namespaces = frozenset((namespace,))
    if not term.topology_key:
        raise ValueError("a pod affinity term needs a topologyKey")
    return AffinityTerm(selector, namespaces, term.topology_key, namespace_selector)


def index_values(selector: Selector) -> tuple[str, tuple[str, ...]] | None:
    """The key and values of the selector's most selective In requirement, for index lookups;
    None when the selector has no In requirement (then every pod is a candidate)."""
    best: Requirement | None = None
    for requirement in selector.requirements:
        if requirement.operator != IN:
            continue
        if best is None or len(requirement.values) < len(best.values):
            best = requirement
    return (best.key, best.values) if best is not None else None



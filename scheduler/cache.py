"""The scheduler's cache: nodes, the pods on them, and the pods it has *assumed* on them.

When the scheduler picks a node for a pod it assumes the pod there at once,
before the bind reaches the API server, so the next decision already counts
it: no double-booking while binds are in flight. The informer's copy of the
bound pod later replaces the assumption; a failed bind forgets it.

Besides per-node totals (in NodeInfo) the cache keeps indexes that make the
pod-to-pod constraints cheap:
- pods by label (key, value), to find the pods an affinity term selects;
- the required anti-affinity terms of existing pods, each with the nodes of
  the pods holding it, indexed by one of the term's In requirements, so an
  incoming pod is only checked against terms that could select it;
- pods by owner uid and node, for spreading replicas;
- how many nodes have each image, for image locality.

It also keeps the labels of namespaces (what a pod affinity term's namespaceSelector
is matched against; each such term is resolved to namespace names once per namespace
change) and the pods *nominated* to nodes by preemption, whose requests filters count
on those nodes until the preemptor is placed or gone.

Everything here is synchronous and single-threaded: the service calls it from
one asyncio loop.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator

from corral.api.v1 import core_pb2
from scheduler.model import AffinityTerm, NodeInfo, NominatedLoad, PodInfo, index_values

MAX_RESOLVED_TERMS = 4096


class Cache:
    def __init__(self, *, watches_namespaces: bool = False) -> None:
        self.nodes: dict[str, NodeInfo] = {}
        self.pods: dict[str, PodInfo] = {}
        self.assumed: set[str] = set()
        self._by_label: dict[tuple[str, str], set[str]] = {}
        self._anti_terms: dict[AffinityTerm, Counter[str]] = {}
        self._anti_by_label: dict[tuple[str, str], set[AffinityTerm]] = {}
        self._anti_unindexed: set[AffinityTerm] = set()
        self._by_owner: dict[str, Counter[str]] = {}
        self._image_nodes: Counter[str] = Counter()
        self._node_list: list[NodeInfo] | None = None
        # Bumped when a node appears, goes, or changes labels, taints, readiness or
        # cordoning (not on pod changes): lets callers cache what depends only on those.
        self.node_generation = 0
        # Namespace name → labels; None until namespaces are fed in (`watches_namespaces` or
        # the first `set_namespace`): then a namespaceSelector is read as every namespace.
        self.namespace_labels: dict[str, dict[str, str]] | None = (
            {} if watches_namespaces else None
        )
        self._resolved: dict[AffinityTerm, AffinityTerm] = {}
        # Pod key → (the pending pod, the node preemption freed room on for it).
        self.nominated: dict[str, tuple[PodInfo, str]] = {}

    # -- nodes ---------------------------------------------------------------------------------

    def set_node(self, node: core_pb2.Node) -> NodeInfo:
        name = node.metadata.name
        info = self.nodes.get(name)
        if info is None:
            info = self.nodes[name] = NodeInfo(name)
        elif info.present:
            self._image_nodes.subtract(set(info.images))
        before = info.scheduling_fields()
        info.set_node(node)
        self._image_nodes.update(set(info.images))
        if info.scheduling_fields() != before:
            # Heartbeats change nothing here, so they don't invalidate cached filter results.
            self._node_list = None
            self.node_generation += 1
        return info

    def remove_node(self, name: str) -> None:
        info = self.nodes.get(name)
        if info is None:
            return
        if info.present:
            self._image_nodes.subtract(set(info.images))
        if info.pods:
            # Pods still point at it (they will be deleted): keep their totals, hide the node.
            info.present = False
        else:
            del self.nodes[name]
        self._node_list = None
        self.node_generation += 1

    def node_list(self) -> list[NodeInfo]:
        """The nodes that exist, in a stable order (by name)."""
        if self._node_list is None:
            self._node_list = sorted(
                (info for info in self.nodes.values() if info.present), key=lambda n: n.name
            )
        return self._node_list

    def nodes_with_image(self, image: str) -> int:
        return self._image_nodes.get(image, 0)

    # -- namespaces ----------------------------------------------------------------------------

    def set_namespace(self, namespace: core_pb2.Namespace) -> bool:
        """Takes a namespace's labels; True when they changed (terms may select other pods)."""
        if self.namespace_labels is None:
            self.namespace_labels = {}
        name = namespace.metadata.name
        labels = dict(namespace.metadata.labels)
        if name in self.namespace_labels and self.namespace_labels[name] == labels:
            return False
        self.namespace_labels[name] = labels
        self._resolved.clear()
        return True

    def remove_namespace(self, name: str) -> None:
        if self.namespace_labels is not None and name in self.namespace_labels:
            del self.namespace_labels[name]
            self._resolved.clear()

    def resolved(self, term: AffinityTerm) -> AffinityTerm:
        """`term` with its namespaceSelector resolved to the namespaces it selects now;
        computed once per term until a namespace changes."""
        if term.namespace_selector is None:
            return term
        resolved = self._resolved.get(term)
        if resolved is None:
            if len(self._resolved) >= MAX_RESOLVED_TERMS:
                self._resolved.clear()
            resolved = self._resolved[term] = term.resolved(self.namespace_labels)
        return resolved

    # -- nominations ---------------------------------------------------------------------------

    def nominate(self, pod: PodInfo, node_name: str) -> None:
        """Reserves room on `node_name` for a pending pod that preempted there. A pod already
        bound or assumed holds its room itself and is not nominated."""
        if pod.key in self.pods:
            return
        self.nominated[pod.key] = (pod, node_name)

    def remove_nomination(self, key: str) -> bool:
        """Forgets a pod's nomination; True when it had one."""
        return self.nominated.pop(key, None) is not None

    def nominated_node(self, key: str) -> str | None:
        entry = self.nominated.get(key)
        return entry[1] if entry is not None else None

    def nominated_load(self, pod: PodInfo) -> dict[str, NominatedLoad]:
        """Per node, what the other pods nominated there with priority ≥ `pod`'s request
        (Kubernetes lets a pod ignore only less important nominations)."""
        loads: dict[str, NominatedLoad] = {}
        for key, (other, node_name) in self.nominated.items():
            if key == pod.key or other.priority < pod.priority:
                continue
            load = loads.get(node_name)
            if load is None:
                load = loads[node_name] = NominatedLoad()
            load.add(other)
        return loads

    # -- pods ----------------------------------------------------------------------------------

    def add_pod(self, pod: PodInfo) -> None:
        """A pod bound to `pod.node_name` (as the API says); replaces an assumption."""
        old = self.pods.get(pod.key)
        if old is not None:
            self._remove(old)
        self.assumed.discard(pod.key)
        self._add(pod)

    def remove_pod(self, key: str) -> PodInfo | None:
        pod = self.pods.get(key)
        if pod is not None:
            self._remove(pod)
            self.assumed.discard(key)
        return pod

    def assume(self, pod: PodInfo, node_name: str) -> None:
        """Counts `pod` on `node_name` until the API confirms the binding or it is forgotten."""
        if pod.key in self.pods:
            raise ValueError(
                f"pod {pod.key} is already in the cache on {self.pods[pod.key].node_name}"
            )
        pod.node_name = node_name
        self._add(pod)
        self.assumed.add(pod.key)

    def forget(self, key: str) -> None:
        """Drops an assumption (its bind failed); a confirmed pod stays."""
        if key in self.assumed:
            self.remove_pod(key)

    def is_assumed(self, key: str) -> bool:
        return key in self.assumed

    def _add(self, pod: PodInfo) -> None:
        self.pods[pod.key] = pod
        # Placed: it now holds its room itself.
        self.nominated.pop(pod.key, None)
        node = self.nodes.get(pod.node_name)
        if node is None:
            node = self.nodes[pod.node_name] = NodeInfo(pod.node_name)
        node.add_pod(pod)
        for label in pod.labels.items():
            self._by_label.setdefault(label, set()).add(pod.key)
        for term in pod.anti_affinity_terms:
            nodes = self._anti_terms.get(term)
            if nodes is None:
                nodes = self._anti_terms[term] = Counter()
                indexed = index_values(term.selector)
                if indexed is None:
                    self._anti_unindexed.add(term)
                else:
                    key, values = indexed
                    for value in values:
                        self._anti_by_label.setdefault((key, value), set()).add(term)
            nodes[pod.node_name] += 1
        if pod.owner_uid:
            self._by_owner.setdefault(pod.owner_uid, Counter())[pod.node_name] += 1

    def _remove(self, pod: PodInfo) -> None:
        del self.pods[pod.key]
        node = self.nodes.get(pod.node_name)
        if node is not None:
            node.remove_pod(pod)
            if not node.present and not node.pods:
                del self.nodes[pod.node_name]
        for label in pod.labels.items():
            keys = self._by_label.get(label)
            if keys is not None:
                keys.discard(pod.key)
                if not keys:
                    del self._by_label[label]
        for term in pod.anti_affinity_terms:
            nodes = self._anti_terms[term]
            nodes[pod.node_name] -= 1
            if nodes[pod.node_name] <= 0:
                del nodes[pod.node_name]
            if not nodes:
                del self._anti_terms[term]
                indexed = index_values(term.selector)
                if indexed is None:
                    self._anti_unindexed.discard(term)
                else:
                    key, values = indexed
                    for value in values:
                        terms = self._anti_by_label[(key, value)]
                        terms.discard(term)
                        if not terms:
                            del self._anti_by_label[(key, value)]
        if pod.owner_uid:
            owned = self._by_owner[pod.owner_uid]
            owned[pod.node_name] -= 1
            if owned[pod.node_name] <= 0:
                del owned[pod.node_name]
            if not owned:
                del self._by_owner[pod.owner_uid]

    # -- queries for filters and scores --------------------------------------------------------

    def pods_matching(self, term: AffinityTerm) -> Iterator[PodInfo]:
        """The bound and assumed pods a term selects."""
        term = self.resolved(term)
        indexed = index_values(term.selector)
        candidates: Iterable[str]
        if indexed is None:
            candidates = list(self.pods)
        else:
            key, values = indexed
            if len(values) == 1:
                candidates = self._by_label.get((key, values[0]), ())
            else:
                candidates = set().union(*(self._by_label.get((key, v), ()) for v in values))
        pods = self.pods
        for pod_key in list(candidates):
            pod = pods[pod_key]
            if term.matches(pod):
                yield pod

    def count_by_domain(self, term: AffinityTerm, topology_key: str | None = None) -> Counter[str]:
        """How many pods the term selects in each domain (value of the node label
        `topology_key`, by default the term's); pods on nodes without that label don't count."""
        key = topology_key or term.topology_key
        counts: Counter[str] = Counter()
        nodes = self.nodes
        for pod in self.pods_matching(term):
            node = nodes.get(pod.node_name)
            if node is not None:
                domain = node.labels.get(key)
                if domain is not None:
                    counts[domain] += 1
        return counts

    def anti_affinity_selecting(self, pod: PodInfo) -> list[tuple[AffinityTerm, Counter[str]]]:
        """Required anti-affinity terms of existing pods that select `pod`, each with the nodes
        (and counts) of the pods that hold the term."""
        if not self._anti_terms:
            return []
        candidates = set(self._anti_unindexed)
        for label in pod.labels.items():
            terms = self._anti_by_label.get(label)
            if terms:
                candidates.update(terms)
        resolved = self.resolved
        return [
            (term, self._anti_terms[term]) for term in candidates if resolved(term).matches(pod)
        ]

    def owner_counts(self, owner_uid: str) -> Counter[str]:
        """Pods of one owner per node name."""
        return self._by_owner.get(owner_uid) or Counter()

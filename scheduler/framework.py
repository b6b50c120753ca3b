"""The framework: the scheduling cycle that runs the configured plugins over the nodes.

Plugins live in scheduler/plugins/ (one module each, registered in one list in its
__init__.py); the config that picks them and their weights in scheduler/config.py.

Sampling: like Kubernetes' percentageOfNodesToScore, a cycle stops filtering once it has
found enough feasible nodes and scores only those; the search starts where the previous
cycle stopped, so every node gets its turn. Filters are never skipped: sampling only
limits which feasible nodes compete on score. By default ("adaptive", 0) a cycle looks
for 5 % of the nodes, at least 100 (so every node in clusters of up to 100). That is
Kubernetes' floor rather than its formula (max(5, 50 - nodes/125) %, i.e. 420 of 1,000
nodes): scoring costs ~2.5 µs per node here, so 420 nodes would cost ~1 ms per pod, and
with the rotation 100 candidates still fill nodes evenly (see the benchmark's pods per
node). Set percentageOfNodesToScore to a share, or 100 to always score every node.
"""

from __future__ import annotations

import importlib
import itertools
import random
from collections import Counter
from dataclasses import dataclass, field

from scheduler.cache import Cache
from scheduler.config import Config, InvalidConfig
from scheduler.model import NodeInfo, PodInfo
from scheduler.plugins import FILTERS, SCORES

# Re-exported: third-party plugin modules were told to import the decorators from here.
from scheduler.plugins import filter_plugin as filter_plugin
from scheduler.plugins import score_plugin as score_plugin
from scheduler.plugins.interface import CycleState, FilterFn, FilterPlugin, ScorePlugin

# The share of the nodes an adaptive cycle looks for (see above).
ADAPTIVE_PERCENTAGE = 5


@dataclass
class ScheduleResult:
    node: str | None
    # How many nodes were filtered and how many of them passed.
    evaluated: int = 0
    feasible: int = 0
    # For a pod that fits nowhere: node name → (filter name, reasons).
    failures: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    total_nodes: int = 0

    @property
    def message(self) -> str:
        return fit_error_message(self.total_nodes, self.failures)


def fit_error_message(
    total_nodes: int, failures: dict[str, tuple[str, tuple[str, ...]]]
) -> str:
    """Kubernetes' summary, most common reason first:
    "0/5 nodes are available: 3 Insufficient cpu, 2 node(s) had untolerated taint {a: b}." """
    if total_nodes == 0:
        return "0/0 nodes are available: no nodes in the cluster."
    counts: Counter[str] = Counter()
    for _, reasons in failures.values():
        counts.update(reasons)
    parts = [f"{count} {reason}" for reason, count in
             sorted(counts.items(), key=lambda item: (-item[1], item[0]))]
    return f"0/{total_nodes} nodes are available: {', '.join(parts)}."


MAX_STATIC_RESULTS = 1024


@dataclass
class StaticResult:
    passing: list[NodeInfo]
    failures: dict[str, tuple[str, tuple[str, ...]]]


def _first_failure(
    filters: list[tuple[str, FilterFn]],
    state: CycleState,
    pod: PodInfo,
    node: NodeInfo,
    failures: dict[str, tuple[str, tuple[str, ...]]],
) -> str | None:
    """Runs filters in order on one node; records and returns the first that fails."""
    for name, check in filters:
        reasons = check(state, pod, node)
        if reasons is not None:
            failures[node.name] = (name, (reasons,) if isinstance(reasons, str) else reasons)
            return name
    return None


class Framework:
    """The configured plugins and the cycle that runs them. Pure: no I/O."""

    def __init__(self, config: Config | None = None, rng: random.Random | None = None) -> None:
        self.config = config or Config()
        # A third-party module registers its plugins when imported (scheduler/plugins/).
        for module in self.config.plugins:
            try:
                importlib.import_module(module)
            except ImportError as error:
                raise InvalidConfig(f"plugins: cannot import {module!r}: {error}") from None
        self.filters = [self._filter(name) for name in self.config.filters]
        score_weights = (
            {name: plugin.weight for name, plugin in SCORES.items()}
            if self.config.scores is None else self.config.scores
        )
        self.scores = [
            (self._score(name), weight) for name, weight in score_weights.items() if weight > 0
        ]
        self.rng = rng or random.Random()
        self._next_start = 0
        self._static_filters = [plugin for plugin in self.filters if plugin.static]
        self._dynamic_filters = [plugin for plugin in self.filters if not plugin.static]
        # node_constraints_key → (nodes passing every static filter, failures of the others),
        # valid for one cache.node_generation.
        self._static_results: dict[object, StaticResult] = {}
        self._static_generation = -1

    @staticmethod
    def _filter(name: str) -> FilterPlugin:
        try:
            return FILTERS[name]
        except KeyError:
            raise InvalidConfig(
                f"filters: no filter plugin named {name!r} (registered: {', '.join(FILTERS)})"
            ) from None

    @staticmethod
    def _score(name: str) -> ScorePlugin:
        try:
            return SCORES[name]
        except KeyError:
            raise InvalidConfig(
                f"scores: no score plugin named {name!r} (registered: {', '.join(SCORES)})"
            ) from None

    def feasible_nodes_to_find(self, total: int) -> int:
        minimum = self.config.min_feasible_nodes
        if total <= minimum or self.config.percentage_of_nodes_to_score >= 100:
            return total
        percentage = self.config.percentage_of_nodes_to_score or ADAPTIVE_PERCENTAGE
        return max(minimum, total * percentage // 100)

    def active_filters(
        self,
        state: CycleState,
        pod: PodInfo,
        cache: Cache,
        plugins: list[FilterPlugin] | None = None,
    ) -> list[tuple[str, FilterFn]]:
        """The filters that have something to check for this pod (pre-steps run here)."""
        return [
            (plugin.name, plugin.filter)
            for plugin in (self.filters if plugins is None else plugins)
            if plugin.prefilter is None or plugin.prefilter(state, pod, cache)
        ]

    def _static_result(self, pod: PodInfo, cache: Cache) -> StaticResult:
        """Which nodes pass the static filters, computed once per pod shape and node state."""
        if self._static_generation != cache.node_generation:
            self._static_results.clear()
            self._static_generation = cache.node_generation
        key = pod.node_constraints_key
        result = self._static_results.get(key)
        if result is None:
            state = CycleState()
            filters = self.active_filters(state, pod, cache, self._static_filters)
            passing: list[NodeInfo] = []
            failures: dict[str, tuple[str, tuple[str, ...]]] = {}
            for node in cache.node_list():
                if _first_failure(filters, state, pod, node, failures) is None:
                    passing.append(node)
            if len(self._static_results) >= MAX_STATIC_RESULTS:
                self._static_results.clear()
            result = self._static_results[key] = StaticResult(passing, failures)
        return result

    def schedule(self, pod: PodInfo, cache: Cache) -> ScheduleResult:
        total = len(cache.node_list())
        if total == 0:
            return ScheduleResult(None)
        static = self._static_result(pod, cache)
        nodes = static.passing
        state = CycleState()
        filters = self.active_filters(state, pod, cache, self._dynamic_filters)
        wanted = self.feasible_nodes_to_find(total)
        feasible: list[NodeInfo] = []
        failures: dict[str, tuple[str, tuple[str, ...]]] = {}
        count = len(nodes)
        start = self._next_start % count if count else 0
        evaluated = 0
        rotated = itertools.chain(itertools.islice(nodes, start, None), nodes[:start])
        if not filters:
            feasible = list(itertools.islice(rotated, wanted))
            evaluated = len(feasible)
        elif len(filters) == 1:
            # The common case (only resources left to check), without the inner loop.
            name, check = filters[0]
            for node in rotated:
                evaluated += 1
                reasons = check(state, pod, node)
                if reasons is None:
                    feasible.append(node)
                    if len(feasible) >= wanted:
                        break
                else:
                    failures[node.name] = (
                        name, (reasons,) if isinstance(reasons, str) else reasons
                    )
        else:
            for node in rotated:
                evaluated += 1
                if _first_failure(filters, state, pod, node, failures) is None:
                    feasible.append(node)
                    if len(feasible) >= wanted:
                        break
        self._next_start = start + evaluated
        if not feasible:
            failures.update(static.failures)
        result = ScheduleResult(None, evaluated, len(feasible), failures, total)
        if not feasible:
            return result
        result.failures = {}
        if len(feasible) == 1:
            result.node = feasible[0].name
            return result
        totals = self.score(state, pod, cache, feasible)
        best = max(totals)
        # Ties (within float noise) are broken at random so equal nodes fill evenly.
        tied = [i for i, total_score in enumerate(totals) if total_score >= best - 1e-9]
        result.node = feasible[tied[0] if len(tied) == 1 else self.rng.choice(tied)].name
        return result

    def score(
        self, state: CycleState, pod: PodInfo, cache: Cache, nodes: list[NodeInfo]
    ) -> list[float]:
        """The weighted sum of every score plugin, each normalized over `nodes`."""
        totals = [0.0] * len(nodes)
        for plugin, weight in self.scores:
            if plugin.prescore is not None and not plugin.prescore(state, pod, cache, nodes):
                continue
            if plugin.score_nodes is not None:
                raw = plugin.score_nodes(state, pod, nodes)
            else:
                fn = plugin.score
                raw = [fn(state, pod, node) for node in nodes]
            if plugin.normalize is not None:
                raw = plugin.normalize(raw)
            totals = [t + weight * r for t, r in zip(totals, raw, strict=True)]
        return totals

    def filter_node(
        self, pod: PodInfo, cache: Cache, node: NodeInfo
    ) -> tuple[str, tuple[str, ...]] | None:
        """Runs every filter on one node with fresh pre-steps: None when the pod fits there,
        else the first failing filter and its reasons (used by preemption)."""
        state = CycleState()
        failures: dict[str, tuple[str, tuple[str, ...]]] = {}
        _first_failure(self.active_filters(state, pod, cache), state, pod, node, failures)
        return failures.get(node.name)

    def preemption_helps(self, filter_name: str) -> bool:
        plugin = FILTERS.get(filter_name)
        return plugin is not None and plugin.preemption_helps

"""The plugin framework: one registry of filters and scores, a config that picks them, and
the scheduling cycle that runs them over the nodes.

A filter is one function `(state, pod, node) -> None | reason(s)`: None when the node can
take the pod, else why not, in the words the "0/N nodes are available" message uses. A
score is one function `(state, pod, node) -> number`, higher is better, with a normalizer
that brings a plugin's raw numbers to 0-100 over the nodes being compared. Either may
have a "pre" step run once per pod: it computes what the per-node function needs (into
`state`) and returns False when the plugin has nothing to check for this pod, so the
per-node loop skips it. Writing a new plugin:

    from scheduler.framework import filter_plugin

    @filter_plugin("NoGpuForBatch")
    def no_gpu_for_batch(state, pod, node):
        if pod.labels.get("tier") == "batch" and "gpu" in node.labels:
            return "node(s) are kept for GPU work"
        return None

and listing its module under `plugins:` in the `--config` file.

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
import json
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from scheduler.cache import Cache
from scheduler.model import NodeInfo, PodInfo

Reasons = str | tuple[str, ...] | None


class CycleState(dict[str, Any]):
    """What pre-steps computed for one pod in one scheduling cycle, by plugin name."""


FilterFn = Callable[[CycleState, PodInfo, NodeInfo], Reasons]
PreFilterFn = Callable[[CycleState, PodInfo, Cache], bool]
ScoreFn = Callable[[CycleState, PodInfo, NodeInfo], float]
PreScoreFn = Callable[[CycleState, PodInfo, Cache, list[NodeInfo]], bool]
# Optional fast form of a score: every node's raw score in one call.
ScoreNodesFn = Callable[[CycleState, PodInfo, list[NodeInfo]], list[float]]
NormalizeFn = Callable[[list[float]], list[float]]


@dataclass(frozen=True)
class FilterPlugin:
    name: str
    filter: FilterFn
    prefilter: PreFilterFn | None = None
    # Whether evicting pods from a node can make this filter pass there.
    preemption_helps: bool = False
    # True when the verdict depends only on the node object (labels, taints, readiness,
    # cordoning) and the pod's tolerations, nodeSelector and required node affinity: the
    # framework then caches which nodes pass, per such pod shape, until a node changes.
    static: bool = False


@dataclass(frozen=True)
class ScorePlugin:
    name: str
    score: ScoreFn
    weight: int = 1
    normalize: NormalizeFn | None = None
    prescore: PreScoreFn | None = None
    score_nodes: ScoreNodesFn | None = None


FILTERS: dict[str, FilterPlugin] = {}
SCORES: dict[str, ScorePlugin] = {}


def filter_plugin(
    name: str, *, prefilter: PreFilterFn | None = None, preemption_helps: bool = False,
    static: bool = False,
) -> Callable[[FilterFn], FilterFn]:
    """Registers a filter under `name` (decorator)."""
    def register(fn: FilterFn) -> FilterFn:
        if name in FILTERS:
            raise ValueError(f"a filter plugin named {name!r} is already registered")
        FILTERS[name] = FilterPlugin(name, fn, prefilter, preemption_helps, static)
        return fn
    return register


def score_plugin(
    name: str, *, weight: int = 1, normalize: NormalizeFn | None = None,
    prescore: PreScoreFn | None = None, score_nodes: ScoreNodesFn | None = None,
) -> Callable[[ScoreFn], ScoreFn]:
    """Registers a score under `name` with its default weight (decorator); `score_nodes`,
    when given, must equal [fn(state, pod, node) for node in nodes], only faster."""
    def register(fn: ScoreFn) -> ScoreFn:
        if name in SCORES:
            raise ValueError(f"a score plugin named {name!r} is already registered")
        SCORES[name] = ScorePlugin(name, fn, weight, normalize, prescore, score_nodes)
        return fn
    return register


# -- normalizers ---------------------------------------------------------------------------------

MAX_SCORE = 100.0


def normalize_by_max(values: list[float]) -> list[float]:
    """0-100 in proportion to the highest value (all 0 when every value is 0)."""
    top = max(values, default=0.0)
    if top <= 0:
        return [0.0] * len(values)
    return [MAX_SCORE * v / top for v in values]


def normalize_reversed(values: list[float]) -> list[float]:
    """Fewer is better: 100 for 0, 0 for the highest value."""
    top = max(values, default=0.0)
    if top <= 0:
        return [MAX_SCORE] * len(values)
    return [MAX_SCORE - MAX_SCORE * v / top for v in values]


def normalize_min_max(values: list[float]) -> list[float]:
    """The lowest value gives 0, the highest 100 (all 0 when they are equal)."""
    low, high = min(values, default=0.0), max(values, default=0.0)
    if high == low:
        return [0.0] * len(values)
    return [MAX_SCORE * (v - low) / (high - low) for v in values]


def normalize_min_max_reversed(values: list[float]) -> list[float]:
    """The lowest value gives 100, the highest 0."""
    low, high = min(values, default=0.0), max(values, default=0.0)
    if high == low:
        return [MAX_SCORE] * len(values)
    return [MAX_SCORE * (high - v) / (high - low) for v in values]


# -- configuration -------------------------------------------------------------------------------

DEFAULT_FILTERS = (
    "NodeReady",
    "NodeUnschedulable",
    "TaintToleration",
    "NodeAffinity",
    "NodePorts",
    "NodeResourcesFit",
    "PodTopologySpread",
    "InterPodAffinity",
)

DEFAULT_MIN_FEASIBLE_NODES = 100
ADAPTIVE_PERCENTAGE = 5


class InvalidConfig(ValueError):
    """A --config file that cannot be used; the message names the file, the key and why."""


@dataclass
class Config:
    filters: list[str] = field(default_factory=lambda: list(DEFAULT_FILTERS))
    # Score plugin name → weight; None: every registered score with its default weight.
    scores: dict[str, int] | None = None
    # 0: adaptive (see the module doc); 1-100: that share of the nodes.
    percentage_of_nodes_to_score: int = 0
    min_feasible_nodes: int = DEFAULT_MIN_FEASIBLE_NODES
    plugins: list[str] = field(default_factory=list)


_CONFIG_KEYS = {
    "filters": "filters",
    "scores": "scores",
    "percentageOfNodesToScore": "percentage_of_nodes_to_score",
    "minFeasibleNodesToFind": "min_feasible_nodes",
    "plugins": "plugins",
}


def load_config(path: str | Path) -> Config:
    """Reads a YAML (or JSON) scheduler config:

        plugins: [my_company.scheduler_plugins]   # modules that register plugins
        filters: [NodeReady, NodeResourcesFit, ...]   # in order; omitted: the defaults
        scores: {LeastAllocated: 1, ImageLocality: 0}  # weights; 0 disables
        percentageOfNodesToScore: 0                   # 0: adaptive
        minFeasibleNodesToFind: 100
    """
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as error:
        raise InvalidConfig(f"cannot read scheduler config {path}: {error.strerror}") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as error:
        raise InvalidConfig(f"scheduler config {path} is not valid YAML/JSON: {error}") from None
    return config_from_dict(data or {}, str(path))


def config_from_dict(data: Any, where: str = "scheduler config") -> Config:
    if not isinstance(data, dict):
        raise InvalidConfig(f"{where}: expected a mapping at the top, got {type(data).__name__}")
    unknown = sorted(set(data) - set(_CONFIG_KEYS))
    if unknown:
        raise InvalidConfig(
            f"{where}: unknown key {unknown[0]!r} (known: {', '.join(_CONFIG_KEYS)})"
        )
    config = Config()
    if "plugins" in data:
        config.plugins = _string_list(data["plugins"], f"{where}: plugins")
    if "filters" in data:
        config.filters = _string_list(data["filters"], f"{where}: filters")
    if "scores" in data:
        scores = data["scores"]
        if not isinstance(scores, dict):
            raise InvalidConfig(f"{where}: scores must map plugin names to weights")
        config.scores = {}
        for name, weight in scores.items():
            if not isinstance(weight, int) or isinstance(weight, bool) or weight < 0:
                raise InvalidConfig(
                    f"{where}: scores.{name}: the weight must be a whole number ≥ 0, got {weight!r}"
                )
            config.scores[str(name)] = weight
    if "percentageOfNodesToScore" in data:
        value = data["percentageOfNodesToScore"]
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 100:
            raise InvalidConfig(
                f"{where}: percentageOfNodesToScore must be 0 (adaptive) to 100, got {value!r}"
            )
        config.percentage_of_nodes_to_score = value
    if "minFeasibleNodesToFind" in data:
        value = data["minFeasibleNodesToFind"]
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise InvalidConfig(f"{where}: minFeasibleNodesToFind must be ≥ 1, got {value!r}")
        config.min_feasible_nodes = value
    return config


def _string_list(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidConfig(f"{where} must be a list of names")
    return list(value)


# -- the scheduling cycle ------------------------------------------------------------------------


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
        # The built-in plugins register themselves on import.
        from scheduler import filters as _filters  # noqa: F401
        from scheduler import scores as _scores  # noqa: F401

        self.config = config or Config()
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

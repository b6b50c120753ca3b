"""The scheduler's plugins, one module each (as Kubernetes' framework/plugins/<name>), and
the one list that registers the built-in ones.

A plugin module holds its filter and/or its score, under the name users write in the
scheduler config (`filters: [...]`, `scores: {Name: weight}`); a filter and a score may
share a name (TaintToleration filters NoSchedule taints and scores PreferNoSchedule ones).
interface.py says what a plugin is; normalize.py holds the normalizers scores share.
Default weights are Kubernetes': taints 3; node affinity, pod affinity and topology
spread 2; the rest 1.

A new built-in plugin is a module here and a line in BUILT_IN. A third-party plugin is a
module listed under `plugins:` in the config; the framework imports it, and it registers
its functions with the decorators below:

    from scheduler.plugins import filter_plugin

    @filter_plugin("NoGpuForBatch")
    def no_gpu_for_batch(state, pod, node):
        if pod.labels.get("tier") == "batch" and "gpu" in node.labels:
            return "node(s) are kept for GPU work"
        return None
"""

from __future__ import annotations

from collections.abc import Callable

from scheduler.plugins import (
    balanced_allocation,
    image_locality,
    inter_pod_affinity,
    least_allocated,
    node_affinity,
    node_ports,
    node_ready,
    node_resources_fit,
    node_unschedulable,
    owner_spread,
    pod_topology_spread,
    taint_toleration,
)
from scheduler.plugins.interface import (
    FilterFn,
    FilterPlugin,
    NormalizeFn,
    PreFilterFn,
    PreScoreFn,
    ScoreFn,
    ScoreNodesFn,
    ScorePlugin,
)

BUILT_IN: tuple[FilterPlugin | ScorePlugin, ...] = (
    # Filters, in the order an unknown filter name's error lists them.
    node_ready.FILTER,
    node_unschedulable.FILTER,
    taint_toleration.FILTER,
    node_affinity.FILTER,
    node_ports.FILTER,
    node_resources_fit.FILTER,
    pod_topology_spread.FILTER,
    inter_pod_affinity.FILTER,
    # Scores, in the order their weighted scores are added when the config names no weights.
    least_allocated.SCORE,
    balanced_allocation.SCORE,
    node_affinity.SCORE,
    taint_toleration.SCORE,
    inter_pod_affinity.SCORE,
    pod_topology_spread.SCORE,
    owner_spread.SCORE,
    image_locality.SCORE,
)

# Every plugin the config may name, by name: the built-in ones, then third-party ones.
FILTERS: dict[str, FilterPlugin] = {}
SCORES: dict[str, ScorePlugin] = {}


def register(plugin: FilterPlugin | ScorePlugin) -> None:
    """Makes `plugin` available to configs under its name, which must be new for its kind."""
    if isinstance(plugin, FilterPlugin):
        if plugin.name in FILTERS:
            raise ValueError(f"a filter plugin named {plugin.name!r} is already registered")
        FILTERS[plugin.name] = plugin
    else:
        if plugin.name in SCORES:
            raise ValueError(f"a score plugin named {plugin.name!r} is already registered")
        SCORES[plugin.name] = plugin


for _plugin in BUILT_IN:
    register(_plugin)


def filter_plugin(
    name: str, *, prefilter: PreFilterFn | None = None, preemption_helps: bool = False,
    static: bool = False,
) -> Callable[[FilterFn], FilterFn]:
    """Registers a third-party filter under `name` (decorator)."""
    def decorate(fn: FilterFn) -> FilterFn:
        register(FilterPlugin(name, fn, prefilter, preemption_helps, static))
        return fn
    return decorate


def score_plugin(
    name: str, *, weight: int = 1, normalize: NormalizeFn | None = None,
    prescore: PreScoreFn | None = None, score_nodes: ScoreNodesFn | None = None,
) -> Callable[[ScoreFn], ScoreFn]:
    """Registers a third-party score under `name` with its default weight (decorator)."""
    def decorate(fn: ScoreFn) -> ScoreFn:
        register(ScorePlugin(name, fn, weight, normalize, prescore, score_nodes))
        return fn
    return decorate

"""scheduler/plugins/taint_toleration.py: TaintToleration: NoSchedule/NoExecute taints
(filter), PreferNoSchedule taints (score)."""

from __future__ import annotations

from scheduler.testing import (
    cache_of,
    make_node,
    make_pod,
    run_filter,
    run_score,
)


def test_no_schedule_taint_needs_a_toleration() -> None:
    cache = cache_of([make_node("gpu", taints=[("dedicated", "gpu", "NoSchedule")])])
    assert run_filter("TaintToleration", make_pod("p"), cache, "gpu") == (
        "node(s) had untolerated taint {dedicated: gpu}"
    )
    equal = make_pod("e", spec={"tolerations": [
        {"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}]})
    exists = make_pod("x", spec={"tolerations": [{"key": "dedicated", "operator": "Exists"}]})
    everything = make_pod("all", spec={"tolerations": [{"operator": "Exists"}]})
    wrong_value = make_pod("w", spec={"tolerations": [
        {"key": "dedicated", "operator": "Equal", "value": "cpu"}]})
    wrong_effect = make_pod("f", spec={"tolerations": [
        {"key": "dedicated", "operator": "Exists", "effect": "NoExecute"}]})
    assert run_filter("TaintToleration", equal, cache, "gpu") is None
    assert run_filter("TaintToleration", exists, cache, "gpu") is None
    assert run_filter("TaintToleration", everything, cache, "gpu") is None
    assert run_filter("TaintToleration", wrong_value, cache, "gpu") is not None
    assert run_filter("TaintToleration", wrong_effect, cache, "gpu") is not None


def test_no_execute_taint_blocks_scheduling_and_prefer_no_schedule_does_not() -> None:
    cache = cache_of([make_node("x", taints=[("evict", "", "NoExecute")]),
                      make_node("soft", taints=[("meh", "", "PreferNoSchedule")])])
    assert run_filter("TaintToleration", make_pod("p"), cache, "x") == (
        "node(s) had untolerated taint {evict: }"
    )
    assert run_filter("TaintToleration", make_pod("p"), cache, "soft") is None


def test_prefer_no_schedule_taints_lower_the_score_unless_tolerated() -> None:
    cache = cache_of([make_node("clean"),
                      make_node("tainted", taints=[("spot", "", "PreferNoSchedule")])])
    assert run_score("TaintToleration", make_pod("p"), cache) == {"clean": 100.0, "tainted": 0.0}
    tolerant = make_pod("t", spec={"tolerations": [{"key": "spot", "operator": "Exists"}]})
    assert run_score("TaintToleration", tolerant, cache) == {"clean": 100.0, "tainted": 100.0}

"""The cluster autoscaler's scale-up simulation and scale-down candidates
(autoscaler/simulation.py), run with the scheduler's real filters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from autoscaler import simulation
from autoscaler.config import NodeGroup, TemplateTaint
from corral.api.v1 import core_pb2
from scheduler.testing import make_node, make_pod

SMALL = NodeGroup("small", 0, 3, {"cpu": "2", "memory": "4Gi", "pods": "110"})
LARGE = NodeGroup("large", 0, 2, {"cpu": "8", "memory": "32Gi", "pods": "110"})
GPU = NodeGroup("gpu", 0, 2, {"cpu": "4", "memory": "8Gi", "pods": "110"},
                labels={"accelerator": "gpu"},
                taints=(TemplateTaint("dedicated", "gpu", "NoSchedule"),))


def pending(
    name: str,
    *,
    cpu: str | None = None,
    memory: str | None = None,
    host_port: int = 0,
    spec: Mapping[str, Any] | None = None,
) -> core_pb2.Pod:
    pod = make_pod(name, owner_uid="rs-1", cpu=cpu, memory=memory, host_port=host_port, spec=spec)
    pod.status.phase = "Pending"
    pod.status.conditions.add(type="PodScheduled", status="False", reason="Unschedulable")
    return pod


def bound(
    name: str, node: str, *, cpu: str | None = None, memory: str | None = None,
    owner_uid: str = "",
) -> core_pb2.Pod:
    pod = make_pod(name, node_name=node, cpu=cpu, memory=memory, owner_uid=owner_uid)
    pod.status.phase = "Running"
    return pod


def group_node(name: str, group: NodeGroup) -> core_pb2.Node:
    """A ready node the autoscaler added to `group`."""
    return simulation.template_node(group, name)


# -- scale up ------------------------------------------------------------------------------------


def test_pods_that_fit_no_node_get_one_new_node_when_one_is_enough() -> None:
    nodes = [make_node("n1", cpu="1", memory="2Gi")]
    pods = [pending(f"web-{i}", cpu="500m") for i in range(3)]
    plan = simulation.plan_scale_up(nodes, [bound("busy", "n1", cpu="1")], pods, [SMALL],
                                    {"small": 0}, {})
    assert plan.best is not None
    assert (plan.best.group, plan.best.nodes) == ("small", 1)
    assert len(plan.best.pods) == 3


def test_as_many_nodes_as_the_pods_need() -> None:
    pods = [pending(f"web-{i}", cpu="1500m") for i in range(3)]
    plan = simulation.plan_scale_up([], [], pods, [SMALL], {"small": 0}, {})
    assert plan.best is not None and plan.best.nodes == 3


def test_growth_stops_at_max_size() -> None:
    pods = [pending(f"web-{i}", cpu="1500m") for i in range(5)]
    plan = simulation.plan_scale_up([], [], pods, [SMALL], {"small": 1}, {})
    assert plan.best is not None and plan.best.nodes == 2
    assert len(plan.unhelped) == 3
    assert all(why == ["small: max node group size reached"] for why in plan.unhelped.values())


def test_no_node_is_added_for_a_pod_no_template_can_hold() -> None:
    plan = simulation.plan_scale_up([], [], [pending("huge", cpu="16")], [SMALL, LARGE],
                                    {}, {})
    assert plan.best is None
    assert plan.unhelped["default/huge"] == ["small: Insufficient cpu", "large: Insufficient cpu"]


def test_pods_that_fit_existing_nodes_need_no_new_node() -> None:
    nodes = [make_node("n1", cpu="4")]
    plan = simulation.plan_scale_up(nodes, [], [pending("web", cpu="1")], [SMALL], {}, {})
    assert plan.best is None
    assert plan.fit_existing == ["default/web"]


def test_nodes_on_their_way_count_before_new_ones_are_added() -> None:
    pods = [pending(f"web-{i}", cpu="1500m") for i in range(2)]
    plan = simulation.plan_scale_up([], [], pods, [SMALL], {"small": 1}, {"small": 1})
    assert plan.best is not None and plan.best.nodes == 1
    assert len(plan.fit_existing) == 1


def test_the_group_that_wastes_least_wins() -> None:
    pods = [pending("web", cpu="1500m", memory="1Gi")]
    plan = simulation.plan_scale_up([], [], pods, [LARGE, SMALL], {}, {})
    assert plan.best is not None and plan.best.group == "small"
    assert {o.group for o in plan.options} == {"small", "large"}


def test_the_group_that_helps_the_most_pods_wins() -> None:
    pods = [pending("big", cpu="6"), pending("small", cpu="1")]
    plan = simulation.plan_scale_up([], [], pods, [SMALL, LARGE], {}, {})
    assert plan.best is not None and plan.best.group == "large"
    assert len(plan.best.pods) == 2


def test_a_tainted_group_only_grows_for_pods_that_tolerate_it() -> None:
    plain = pending("plain", cpu="1")
    plan = simulation.plan_scale_up([], [], [plain], [GPU], {}, {})
    assert plan.best is None
    assert "gpu: node(s) had untolerated taint {dedicated: gpu}" in plan.unhelped["default/plain"]
    tolerant = pending("tolerant", cpu="1", spec={
        "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "gpu",
                         "effect": "NoSchedule"}],
        "nodeSelector": {"accelerator": "gpu"},
    })
    plan = simulation.plan_scale_up([], [], [tolerant], [SMALL, GPU], {}, {})
    assert plan.best is not None and plan.best.group == "gpu"


def test_a_node_selector_picks_the_group_with_the_label() -> None:
    pod = pending("web", cpu="1", spec={"nodeSelector": {"accelerator": "gpu"}})
    plan = simulation.plan_scale_up([], [], [pod], [SMALL], {}, {})
    assert plan.best is None
    assert plan.unhelped["default/web"] == [
        "small: node(s) didn't match Pod's node affinity/selector"
    ]


def test_host_ports_spread_pods_over_new_nodes() -> None:
    pods = [pending(f"web-{i}", cpu="100m", host_port=8080) for i in range(2)]
    plan = simulation.plan_scale_up([], [], pods, [SMALL], {}, {})
    assert plan.best is not None and plan.best.nodes == 2


def test_is_unschedulable_needs_the_schedulers_verdict() -> None:
    assert simulation.is_unschedulable(pending("a"))
    fresh = make_pod("b")
    assert not simulation.is_unschedulable(fresh)
    assert not simulation.is_unschedulable(bound("c", "n1"))


# -- scale down ----------------------------------------------------------------------------------


def test_an_empty_node_of_a_group_is_unneeded() -> None:
    nodes = [make_node("n1", cpu="4"), group_node("small-a", SMALL)]
    plan = simulation.plan_scale_down(nodes, [], [SMALL], {"small": 1}, 0.5)
    assert [u.node for u in plan.unneeded] == ["small-a"]
    assert plan.unneeded[0].empty


def test_nodes_outside_groups_are_never_candidates() -> None:
    plan = simulation.plan_scale_down([make_node("n1")], [], [SMALL], {}, 0.5)
    assert plan.unneeded == [] and "n1" not in plan.needed


def test_a_busy_node_is_needed() -> None:
    nodes = [make_node("n1", cpu="4"), group_node("small-a", SMALL)]
    pods = [bound("web", "small-a", cpu="1500m", owner_uid="rs-1")]
    plan = simulation.plan_scale_down(nodes, pods, [SMALL], {"small": 1}, 0.5)
    assert plan.unneeded == []
    assert "not below the threshold" in plan.needed["small-a"]


def test_a_lightly_used_node_whose_pods_fit_elsewhere_is_unneeded() -> None:
    nodes = [make_node("n1", cpu="4"), group_node("small-a", SMALL)]
    pods = [bound("web", "small-a", cpu="500m", owner_uid="rs-1")]
    plan = simulation.plan_scale_down(nodes, pods, [SMALL], {"small": 1}, 0.5)
    assert [u.node for u in plan.unneeded] == ["small-a"]
    assert plan.unneeded[0].destinations == {"default/web": "n1"}


def test_a_node_whose_pods_have_nowhere_to_go_is_needed() -> None:
    nodes = [make_node("n1", cpu="1"), group_node("small-a", SMALL)]
    pods = [bound("busy", "n1", cpu="800m"), bound("web", "small-a", cpu="500m", owner_uid="rs")]
    plan = simulation.plan_scale_down(nodes, pods, [SMALL], {"small": 1}, 0.5)
    assert plan.unneeded == []
    assert plan.needed["small-a"] == "some of its pods fit no other node"


def test_a_node_with_an_unreplicated_pod_is_needed() -> None:
    nodes = [make_node("n1", cpu="4"), group_node("small-a", SMALL)]
    pods = [bound("bare", "small-a", cpu="100m")]
    plan = simulation.plan_scale_down(nodes, pods, [SMALL], {"small": 1}, 0.5)
    assert "default/bare is not replicated" in plan.needed["small-a"]


def test_min_size_is_respected() -> None:
    group = NodeGroup("small", 1, 3, SMALL.capacity)
    nodes = [group_node("small-a", group), group_node("small-b", group)]
    plan = simulation.plan_scale_down(nodes, [], [group], {"small": 2}, 0.5)
    assert len(plan.unneeded) == 1
    assert "minimum size 1" in next(iter(plan.needed.values()))


def test_two_nodes_cannot_both_take_each_others_pods() -> None:
    # Each holds 1 cpu of 2; either could take the other's pod, but not both go.
    nodes = [group_node("small-a", SMALL), group_node("small-b", SMALL)]
    pods = [bound("a", "small-a", cpu="900m", owner_uid="rs"),
            bound("b", "small-b", cpu="900m", owner_uid="rs")]
    plan = simulation.plan_scale_down(nodes, pods, [SMALL], {"small": 2}, 0.5)
    assert len(plan.unneeded) == 1
    assert plan.needed[next(n for n in ("small-a", "small-b")
                            if n not in {u.node for u in plan.unneeded})] == (
        "some of its pods fit no other node")


def test_utilization_is_the_larger_of_cpu_and_memory() -> None:
    nodes = [make_node("n1", cpu="4", memory="8Gi"), group_node("small-a", SMALL)]
    pods = [bound("web", "small-a", cpu="100m", memory="3Gi", owner_uid="rs")]
    plan = simulation.plan_scale_down(nodes, pods, [SMALL], {"small": 1}, 0.5)
    assert plan.utilization["small-a"] == pytest.approx(0.75)
    assert plan.unneeded == []

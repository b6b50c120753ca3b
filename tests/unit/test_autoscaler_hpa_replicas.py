"""Step 1 of the HPA, the replica calculator (autoscaler/hpa/replicas.py): the formula,
the tolerance, missing metrics and unready pods, case by case against Kubernetes' behaviour."""

from __future__ import annotations

import pytest

from autoscaler import hpa
from autoscaler.hpa import Metric, PodState
from tests.unit.autoscaler_hpa_builders import (
    CPU_50,
    LONG_AGO,
    NOW,
    cpu_usage,
    pods,
    proposal,
    rps_usage,
)

# -- the textbook cases --------------------------------------------------------------------------


def test_three_pods_at_80_percent_with_50_percent_target_become_five() -> None:
    result = hpa.propose(CPU_50, 3, pods(3), cpu_usage(800, 800, 800), NOW)
    assert result.replicas == 5  # ceil(3 * 80 / 50)
    assert result.utilization == 80
    assert result.average_value == 800


def test_ten_thousand_requests_per_second_at_a_thousand_per_pod_ask_for_ten_pods() -> None:
    rps = Metric("Pods", "requests_per_second", average_value=1_000_000)
    assert proposal(rps, 1, pods(1), rps_usage(10_000_000)) == 10
    # The same load spread over 4 pods asks for the same 10.
    assert proposal(rps, 4, pods(4), rps_usage(*[2_500_000] * 4)) == 10


# -- tolerance -----------------------------------------------------------------------------------


@pytest.mark.parametrize("used, expected", [
    (540, 4),  # 54 % of requests vs 50 %: ratio 1.08, inside the tolerance
    (560, 5),  # 56 %: ratio 1.12 → ceil(4 * 1.12) = 5
    (455, 4),  # 45 %: ratio 0.90, inside
    (440, 4),  # 44 %: ratio 0.88 → ceil(3.52) = 4
    (370, 3),  # 37 %: ratio 0.74 → ceil(2.96) = 3
    (100, 1),  # 10 %: ratio 0.2 → ceil(0.8) = 1
])
def test_changes_within_ten_percent_of_the_target_are_ignored(used: int, expected: int) -> None:
    assert proposal(CPU_50, 4, pods(4), cpu_usage(*[used] * 4)) == expected


def test_tolerance_is_a_tuning_knob() -> None:
    tight = hpa.Tuning(tolerance=0.01)
    assert hpa.propose(CPU_50, 4, pods(4), cpu_usage(*[540] * 4), NOW, tight).replicas == 5
    assert hpa.propose(CPU_50, 4, pods(4), cpu_usage(*[540] * 4), NOW).replicas == 4


def test_utilization_is_truncated_to_a_whole_percent_like_kubernetes() -> None:
    # 3 pods using 1999m of 4000m: 49.975 % → 49 %.
    result = hpa.propose(CPU_50, 3, pods(3, cpu_request=4000 // 3 + 1),
                         cpu_usage(666, 666, 667), NOW)
    assert result.utilization == 49


# -- missing metrics -----------------------------------------------------------------------------


def test_on_scale_up_pods_missing_metrics_count_as_using_nothing() -> None:
    # Two pods at 100 % (target 50 %), two silent: (1000+1000+0+0)/4000 = 50 % → no change.
    assert proposal(CPU_50, 4, pods(4), cpu_usage(1000, 1000)) == 4
    # Two at 150 %, two silent: 75 % of 4 → ceil(4 * 1.5) = 6, not ceil(2 * 3) = 6 ... and
    # one at 200 % with three silent: 50 % → stays.
    assert proposal(CPU_50, 4, pods(4), cpu_usage(1500, 1500)) == 6
    assert proposal(CPU_50, 4, pods(4), cpu_usage(2000)) == 4


def test_on_scale_down_pods_missing_metrics_count_as_using_their_whole_request() -> None:
    # Two pods at 10 %, two silent counted at 100 %: 55 % → within tolerance of 50 %.
    assert proposal(CPU_50, 4, pods(4), cpu_usage(100, 100)) == 4
    # Two at 10 %, one silent: (100+100+1000)/3000 = 40 % → ceil(3 * 0.8) = 3.
    assert proposal(CPU_50, 3, pods(3), cpu_usage(100, 100)) == 3
    # Without the silent pod the two would ask for ceil(2 * 0.2) = 1.
    assert proposal(CPU_50, 2, pods(2), cpu_usage(100, 100)) == 1


def test_filling_in_missing_pods_never_reverses_the_direction() -> None:
    # Ratio < 1 from the pods with metrics, > 1 once silent pods count at 100 %: no change.
    assert proposal(CPU_50, 3, pods(3), cpu_usage(400)) == 3


def test_a_pods_metric_missing_on_scale_down_counts_as_exactly_the_target() -> None:
    rps = Metric("Pods", "requests_per_second", average_value=1000)
    # Two pods at 100, one silent counted at 1000: average 400 → ceil(3 * 0.4) = 2.
    assert proposal(rps, 3, pods(3), rps_usage(100, 100)) == 2


def test_no_metrics_at_all_is_an_error_naming_the_metric() -> None:
    with pytest.raises(hpa.MetricError) as caught:
        hpa.propose(CPU_50, 2, pods(2), {}, NOW)
    assert caught.value.reason == "FailedGetResourceMetric"
    assert "cpu" in caught.value.message


def test_no_pods_is_an_error() -> None:
    with pytest.raises(hpa.MetricError, match="no pods returned by selector"):
        hpa.utilization_replicas(1, 50, "cpu", [], {}, NOW)


def test_a_container_without_a_request_makes_utilization_an_error() -> None:
    no_request = [PodState("p0", started=LONG_AGO, ready_since=LONG_AGO,
                           container_requests={"app": {}})]
    with pytest.raises(hpa.MetricError, match="missing request for cpu in container app of Pod p0"):
        hpa.propose(CPU_50, 1, no_request, cpu_usage(500), NOW)


# -- unready pods --------------------------------------------------------------------------------


def test_pending_pods_count_as_using_nothing_on_scale_up() -> None:
    pending = [PodState(f"q{i}", phase="Pending", ready=None, started=None,
                        container_requests={"app": {"cpu": 1000}}) for i in range(3)]
    # Two at 100 % (ratio 2) plus a pending one at 0: 66 % → ceil(3 * 1.32) = 4.
    assert proposal(CPU_50, 3, pods(2) + pending[:1], cpu_usage(1000, 1000)) == 4
    # One at 100 % and three pending: 25 %, the scale-up would turn into a scale-down: no change.
    assert proposal(CPU_50, 4, pods(1) + pending, cpu_usage(1000)) == 4


def test_a_scale_up_is_not_undone_by_new_pods_still_starting() -> None:
    # Scaled 2 → 4 a moment ago: the two new pods are not ready and report 0 cpu.
    starting = [
        PodState(f"p{i}", ready=False, ready_since=NOW - 5, started=NOW - 10,
                 container_requests={"app": {"cpu": 1000}})
        for i in (2, 3)
    ]
    states = pods(2) + starting
    usages = cpu_usage(900, 900, 0, 0)
    # Old pods still at 90 % vs 50 %: the starting pods are left out, then counted as 0:
    # (900+900)/4000 = 45 % → within tolerance: stay at 4 rather than drop back.
    assert proposal(CPU_50, 4, states, usages) == 4


def test_unready_pods_are_left_out_on_scale_down() -> None:
    starting = [PodState("p1", ready=False, ready_since=NOW - 5, started=NOW - 10,
                         container_requests={"app": {"cpu": 1000}})]
    # One ready pod at 10 %: proposes ceil(1 * 0.2) = 1 (the unready one is not counted).
    assert proposal(CPU_50, 2, pods(1) + starting, cpu_usage(100, 0)) == 1


def test_a_cpu_sample_taken_before_the_pod_was_ready_for_a_window_is_not_trusted() -> None:
    young = PodState("p0", ready=True, ready_since=NOW - 10, started=NOW - 60,
                     container_requests={"app": {"cpu": 1000}})
    groups = hpa.group_pods([young], {"p0": hpa.PodMetric(900, NOW, 15.0)}, "cpu", NOW,
                            hpa.Tuning())
    assert groups.unready == {"p0"}
    settled = hpa.group_pods([young], {"p0": hpa.PodMetric(900, NOW, 5.0)}, "cpu", NOW,
                             hpa.Tuning())
    assert settled.ready_count == 1


def test_readiness_only_matters_for_cpu() -> None:
    unready = PodState("p0", ready=False, ready_since=NOW - 5, started=NOW - 10)
    groups = hpa.group_pods([unready], {"p0": hpa.PodMetric(1, NOW, 15.0)}, "memory", NOW,
                            hpa.Tuning())
    assert groups.ready_count == 1


def test_a_pod_that_was_ready_once_counts_after_the_initialization_period() -> None:
    old = PodState("p0", ready=False, ready_since=LONG_AGO + 600, started=LONG_AGO)
    groups = hpa.group_pods([old], {"p0": hpa.PodMetric(1, NOW, 15.0)}, "cpu", NOW,
                            hpa.Tuning())
    assert groups.ready_count == 1


def test_deleted_and_failed_pods_are_ignored() -> None:
    states = [*pods(2), PodState("p2", deleting=True, started=LONG_AGO, ready_since=LONG_AGO,
                                 container_requests={"app": {"cpu": 1000}}),
              PodState("p3", phase="Failed", started=LONG_AGO, ready_since=LONG_AGO,
                       container_requests={"app": {"cpu": 1000}})]
    # Their samples would pull the average down; ignored, the two live pods at 100 % ask for 4.
    assert proposal(CPU_50, 2, states, cpu_usage(1000, 1000, 0, 0)) == 4

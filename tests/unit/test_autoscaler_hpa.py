"""The HPA algorithm (autoscaler/hpa.py), case by case, against Kubernetes' behaviour."""

from __future__ import annotations

import pytest

from autoscaler import hpa
from autoscaler.hpa import (
    Autoscaler,
    Behavior,
    History,
    Metric,
    PodState,
    PodUsage,
    Policy,
    Recommendation,
    ScaleEvent,
    ScalingRules,
)
from corral.api.v1 import autoscaling_pb2

NOW = 10_000.0
CPU_50 = Metric("Resource", "cpu", utilization=50)
LONG_AGO = NOW - 3600

# Behaviors that let a test see the raw proposal: no windows, no rate limits.
FREE = ScalingRules(0, "Max", (Policy("Percent", 10_000, 15),))
UNLIMITED = Behavior(FREE, FREE)
DEFAULT_BEHAVIOR = hpa.behavior_from_spec(autoscaling_pb2.HorizontalPodAutoscalerSpec())


def pods(count: int, cpu_request: int = 1000, prefix: str = "p") -> list[PodState]:
    """`count` running, long-ready pods requesting `cpu_request` millicores each."""
    return [
        PodState(f"{prefix}{i}", started=LONG_AGO, ready_since=LONG_AGO,
                 container_requests={"app": {"cpu": cpu_request}})
        for i in range(count)
    ]


def cpu_usage(*millis: int, prefix: str = "p", timestamp: float = NOW) -> dict[str, PodUsage]:
    return {
        f"{prefix}{i}": PodUsage(timestamp, 15.0, {"app": {"cpu": value}})
        for i, value in enumerate(millis)
    }


def rps_usage(*millis: int, prefix: str = "p") -> dict[str, PodUsage]:
    return {
        f"{prefix}{i}": PodUsage(NOW, 15.0, custom={"requests_per_second": value})
        for i, value in enumerate(millis)
    }


def spec(*metrics: Metric, minimum: int = 1, maximum: int = 100,
         behavior: Behavior = UNLIMITED) -> Autoscaler:
    return Autoscaler(minimum, maximum, metrics or (CPU_50,), behavior)


def proposal(metric: Metric, current: int, pod_states: list[PodState],
             usages: dict[str, PodUsage]) -> int:
    return hpa.propose(metric, current, pod_states, usages, NOW).replicas


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


def test_the_textbook_case_scales_in_one_sync_with_default_behavior() -> None:
    decision = hpa.decide(spec(behavior=DEFAULT_BEHAVIOR), 3, pods(3),
                          cpu_usage(800, 800, 800), History(), NOW)
    assert decision.desired_replicas == 5 and decision.rescale
    assert decision.reason == "cpu resource utilization (percentage of request) above target"


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


# -- min and max ---------------------------------------------------------------------------------


def test_desired_count_is_capped_at_max_replicas() -> None:
    decision = hpa.decide(spec(maximum=4), 2, pods(2), cpu_usage(2000, 2000), History(), NOW)
    assert decision.desired_replicas == 4
    limited = next(c for c in decision.conditions if c.type == "ScalingLimited")
    assert (limited.status, limited.reason) == ("True", "TooManyReplicas")


def test_desired_count_is_raised_to_min_replicas() -> None:
    decision = hpa.decide(spec(minimum=3), 5, pods(5), cpu_usage(*[10] * 5), History(), NOW)
    assert decision.desired_replicas == 3
    limited = next(c for c in decision.conditions if c.type == "ScalingLimited")
    assert (limited.status, limited.reason) == ("True", "TooFewReplicas")


def test_a_target_above_max_is_brought_down_without_looking_at_metrics() -> None:
    decision = hpa.decide(spec(maximum=5), 9, [], {}, History(), NOW)
    assert (decision.desired_replicas, decision.rescale) == (5, True)
    assert decision.reason == "Current number of replicas above Spec.MaxReplicas"


def test_a_target_below_min_is_brought_up_without_looking_at_metrics() -> None:
    decision = hpa.decide(spec(minimum=2), 1, [], {}, History(), NOW)
    assert (decision.desired_replicas, decision.rescale) == (2, True)
    assert decision.reason == "Current number of replicas below Spec.MinReplicas"


def test_a_target_scaled_to_zero_disables_autoscaling() -> None:
    decision = hpa.decide(spec(), 0, [], {}, History(), NOW)
    assert (decision.desired_replicas, decision.rescale) == (0, False)
    assert decision.conditions[0].reason == "ScalingDisabled"


def test_within_range_reports_scaling_not_limited() -> None:
    decision = hpa.decide(spec(), 3, pods(3), cpu_usage(800, 800, 800), History(), NOW)
    limited = next(c for c in decision.conditions if c.type == "ScalingLimited")
    assert (limited.status, limited.reason) == ("False", "DesiredWithinRange")
    active = next(c for c in decision.conditions if c.type == "ScalingActive")
    assert (active.status, active.reason) == ("True", "ValidMetricFound")


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


# -- several metrics -----------------------------------------------------------------------------


def test_with_several_metrics_the_largest_proposal_wins() -> None:
    rps = Metric("Pods", "requests_per_second", average_value=1_000_000)
    usages = {
        name: PodUsage(NOW, 15.0, {"app": {"cpu": 800}}, {"requests_per_second": 3_000_000})
        for name in ("p0", "p1")
    }
    result = hpa.replicas_for_metrics((CPU_50, rps), 2, pods(2), usages, NOW)
    assert result.replicas == 6  # cpu: ceil(2 * 1.6) = 4; rps: ceil(2 * 3) = 6
    assert result.metric == "pods metric requests_per_second"
    assert [p.replicas for p in result.proposals if p] == [4, 6]


def test_a_failing_metric_does_not_block_a_scale_up_by_another() -> None:
    rps = Metric("Pods", "requests_per_second", average_value=1_000_000)
    result = hpa.replicas_for_metrics((CPU_50, rps), 2, pods(2), cpu_usage(1000, 1000), NOW)
    assert result.replicas == 4
    assert result.condition.status == "True"
    assert [e.reason for e in result.errors] == ["FailedGetPodsMetric"]


def test_a_failing_metric_blocks_a_scale_down_by_another() -> None:
    rps = Metric("Pods", "requests_per_second", average_value=1_000_000)
    result = hpa.replicas_for_metrics((CPU_50, rps), 4, pods(4), cpu_usage(*[50] * 4), NOW)
    assert result.replicas == -1
    assert (result.condition.status, result.condition.reason) == ("False", "FailedGetPodsMetric")


def test_all_metrics_failing_leaves_the_count_alone_and_warns() -> None:
    decision = hpa.decide(spec(), 3, pods(3), {}, History(), NOW)
    assert (decision.desired_replicas, decision.rescale) == (3, False)
    assert decision.conditions[0].type == "ScalingActive"
    assert decision.conditions[0].status == "False"
    assert decision.warnings[-1][0] == "FailedComputeMetricsReplicas"


def test_object_and_external_metrics_are_reported_as_unsupported() -> None:
    result = hpa.replicas_for_metrics((Metric("External", "queue"),), 1, pods(1), {}, NOW)
    assert result.condition.reason == "InvalidMetricSourceType"


def test_memory_average_value_target() -> None:
    memory = Metric("Resource", "memory", average_value=100 * 2**20 * 1000)
    usages = {f"p{i}": PodUsage(NOW, 15.0, {"app": {"memory": 300 * 2**20 * 1000}})
              for i in range(2)}
    assert hpa.propose(memory, 2, pods(2), usages, NOW).replicas == 6


def test_container_resource_uses_only_the_named_container() -> None:
    metric = Metric("ContainerResource", "cpu", container="app", utilization=50)
    states = [PodState("p0", started=LONG_AGO, ready_since=LONG_AGO,
                       container_requests={"app": {"cpu": 1000}, "sidecar": {"cpu": 1000}})]
    usages = {"p0": PodUsage(NOW, 15.0, {"app": {"cpu": 1000}, "sidecar": {"cpu": 0}})}
    assert hpa.propose(metric, 1, states, usages, NOW).replicas == 2


# -- behaviors: rate limits ----------------------------------------------------------------------


def test_default_scale_up_is_at_most_four_pods_or_double_per_fifteen_seconds() -> None:
    rules = DEFAULT_BEHAVIOR.scale_up
    assert hpa.scale_up_limit(1, rules, History(), NOW) == 5  # +4 pods beats 100 %
    assert hpa.scale_up_limit(10, rules, History(), NOW) == 20  # 100 % beats +4
    decision = hpa.decide(spec(behavior=DEFAULT_BEHAVIOR), 1, pods(1),
                          cpu_usage(5000), History(), NOW)
    assert decision.desired_replicas == 5
    limited = next(c for c in decision.conditions if c.type == "ScalingLimited")
    assert (limited.status, limited.reason) == ("True", "ScaleUpLimit")


def test_policy_periods_count_from_the_replicas_at_the_start_of_the_period() -> None:
    rules = ScalingRules(0, "Max", (Policy("Pods", 2, 60),))
    recent = History(scale_ups=(ScaleEvent(NOW - 30, 2),))
    # 5 now, 2 added 30 s ago: the period began at 3, so 3 + 2 = 5: no further growth.
    assert hpa.scale_up_limit(5, rules, recent, NOW) == 5
    # Once the event is older than the period, growth resumes.
    assert hpa.scale_up_limit(5, rules, recent, NOW + 31) == 7


def test_select_policy_min_takes_the_smallest_change() -> None:
    rules = ScalingRules(0, "Min", (Policy("Pods", 4, 15), Policy("Percent", 100, 15)))
    assert hpa.scale_up_limit(10, rules, History(), NOW) == 14
    down = ScalingRules(0, "Min", (Policy("Pods", 1, 15), Policy("Percent", 50, 15)))
    assert hpa.scale_down_limit(10, down, History(), NOW) == 9


def test_select_policy_max_takes_the_largest_change_down() -> None:
    down = ScalingRules(0, "Max", (Policy("Pods", 1, 15), Policy("Percent", 50, 15)))
    assert hpa.scale_down_limit(10, down, History(), NOW) == 5


def test_percent_scale_up_rounds_up_and_scale_down_rounds_down() -> None:
    up = ScalingRules(0, "Max", (Policy("Percent", 10, 15),))
    assert hpa.scale_up_limit(3, up, History(), NOW) == 4  # ceil(3.3)
    down = ScalingRules(0, "Max", (Policy("Percent", 10, 15),))
    assert hpa.scale_down_limit(3, down, History(), NOW) == 2  # int(2.7)


def test_disabled_select_policy_stops_that_direction() -> None:
    disabled = ScalingRules(0, "Disabled", (Policy("Pods", 4, 15),))
    behavior = Behavior(disabled, FREE)
    decision = hpa.decide(spec(behavior=behavior), 2, pods(2), cpu_usage(2000, 2000),
                          History(), NOW)
    assert (decision.desired_replicas, decision.rescale) == (2, False)
    behavior = Behavior(FREE, disabled)
    decision = hpa.decide(spec(behavior=behavior), 4, pods(4), cpu_usage(*[10] * 4),
                          History(), NOW)
    assert decision.desired_replicas == 4


def test_scale_down_by_one_pod_per_minute() -> None:
    behavior = Behavior(FREE, ScalingRules(0, "Max", (Policy("Pods", 1, 60),)))
    history = History()
    replicas = 5
    for minute in range(3):
        now = NOW + 60 * minute
        decision = hpa.decide(spec(behavior=behavior), replicas, pods(replicas),
                              cpu_usage(*[10] * replicas), history, now)
        assert decision.desired_replicas == replicas - 1
        history = hpa.record_scale(decision.history, behavior, replicas,
                                   decision.desired_replicas, now)
        # A second sync inside the same minute may not remove another.
        again = hpa.decide(spec(behavior=behavior), replicas - 1, pods(replicas - 1),
                           cpu_usage(*[10] * (replicas - 1)), history, now + 15)
        assert again.desired_replicas == replicas - 1
        replicas -= 1


def test_record_scale_drops_events_older_than_the_longest_period() -> None:
    behavior = Behavior(ScalingRules(0, "Max", (Policy("Pods", 1, 60),)), FREE)
    history = History(scale_ups=(ScaleEvent(NOW - 120, 1), ScaleEvent(NOW - 30, 1)))
    after = hpa.record_scale(history, behavior, 3, 4, NOW)
    assert after.scale_ups == (ScaleEvent(NOW - 30, 1), ScaleEvent(NOW, 1))


# -- behaviors: stabilization --------------------------------------------------------------------


def test_scale_down_waits_for_the_stabilization_window() -> None:
    behavior = DEFAULT_BEHAVIOR  # 300 s down
    history = History(recommendations=(Recommendation(NOW - 200, 6),))
    decision = hpa.decide(spec(behavior=behavior), 6, pods(6), cpu_usage(*[100] * 6),
                          history, NOW)
    assert (decision.desired_replicas, decision.rescale) == (6, False)
    able = next(c for c in decision.conditions if c.type == "AbleToScale")
    assert able.reason == "ScaleDownStabilized"
    # Once the high recommendation has left the window, the low ones win: ceil(6 * 0.2) = 2.
    later = hpa.decide(spec(behavior=behavior), 6, pods(6), cpu_usage(*[100] * 6),
                       decision.history, NOW + 301)
    assert (later.desired_replicas, later.rescale) == (2, True)


def test_scale_down_follows_the_highest_recommendation_in_the_window() -> None:
    history = History(recommendations=(
        Recommendation(NOW - 250, 8), Recommendation(NOW - 100, 4), Recommendation(NOW - 50, 3),
    ))
    decision = hpa.decide(spec(behavior=DEFAULT_BEHAVIOR), 6, pods(6), cpu_usage(*[100] * 6),
                          history, NOW)
    assert decision.desired_replicas == 6  # 8 is in the window, capped at the current 6
    decision = hpa.decide(spec(behavior=DEFAULT_BEHAVIOR), 6, pods(6), cpu_usage(*[100] * 6),
                          history, NOW + 60)
    assert decision.desired_replicas == 4  # 8 has left; 4 is the highest left


def test_scale_up_stabilization_applies_the_lowest_recent_recommendation() -> None:
    up = ScalingRules(60, "Max", (Policy("Percent", 10_000, 15),))
    behavior = Behavior(up, FREE)
    history = History(recommendations=(Recommendation(NOW - 30, 3),))
    decision = hpa.decide(spec(behavior=behavior), 3, pods(3), cpu_usage(*[1000] * 3),
                          history, NOW)
    assert (decision.desired_replicas, decision.rescale) == (3, False)
    able = next(c for c in decision.conditions if c.type == "AbleToScale")
    assert able.reason == "ScaleUpStabilized"
    later = hpa.decide(spec(behavior=behavior), 3, pods(3), cpu_usage(*[1000] * 3),
                       decision.history, NOW + 61)
    assert later.desired_replicas == 6


def test_default_behavior_scales_up_at_once_and_down_after_five_minutes() -> None:
    behavior = DEFAULT_BEHAVIOR
    history = History()
    decision = hpa.decide(spec(behavior=behavior), 2, pods(2), cpu_usage(1000, 1000),
                          history, NOW)
    assert decision.desired_replicas == 4
    history = hpa.record_scale(decision.history, behavior, 2, 4, NOW)
    # Load gone: for 300 s the earlier recommendation of 4 holds the count.
    for t in range(15, 300, 15):
        decision = hpa.decide(spec(behavior=behavior), 4, pods(4), cpu_usage(*[10] * 4),
                              history, NOW + t)
        assert decision.desired_replicas == 4, t
        history = decision.history
    decision = hpa.decide(spec(behavior=behavior), 4, pods(4), cpu_usage(*[10] * 4),
                          history, NOW + 300)
    assert decision.desired_replicas == 1


def test_history_keeps_only_recommendations_inside_a_window() -> None:
    history = History(recommendations=tuple(Recommendation(NOW - t, 5) for t in (400, 200)))
    decision = hpa.decide(spec(behavior=DEFAULT_BEHAVIOR), 5, pods(5), cpu_usage(*[500] * 5),
                          history, NOW)
    assert [r.timestamp for r in decision.history.recommendations] == [NOW - 200, NOW]


# -- reading the spec ----------------------------------------------------------------------------


def test_an_omitted_behavior_gets_the_kubernetes_defaults() -> None:
    assert DEFAULT_BEHAVIOR.scale_up == ScalingRules(
        0, "Max", (Policy("Pods", 4, 15), Policy("Percent", 100, 15)))
    assert DEFAULT_BEHAVIOR.scale_down == ScalingRules(300, "Max", (Policy("Percent", 100, 15),))


def test_a_partial_behavior_is_completed_with_defaults() -> None:
    spec_pb = autoscaling_pb2.HorizontalPodAutoscalerSpec()
    spec_pb.behavior.scale_down.stabilization_window_seconds = 30
    behavior = hpa.behavior_from_spec(spec_pb)
    assert behavior.scale_down.stabilization_window_seconds == 30
    assert behavior.scale_down.policies == (Policy("Percent", 100, 15),)
    assert behavior.scale_up == DEFAULT_BEHAVIOR.scale_up


def test_spec_metrics_are_read_in_milli_units() -> None:
    spec_pb = autoscaling_pb2.HorizontalPodAutoscalerSpec(max_replicas=10)
    metric = spec_pb.metrics.add(type="Pods")
    metric.pods.metric.name = "requests_per_second"
    metric.pods.target.type = "AverageValue"
    metric.pods.target.average_value = "1k"
    cpu = spec_pb.metrics.add(type="Resource")
    cpu.resource.name = "cpu"
    cpu.resource.target.type = "AverageValue"
    cpu.resource.target.average_value = "250m"
    autoscaler = hpa.autoscaler_from_spec(spec_pb)
    assert autoscaler.min_replicas == 1
    assert autoscaler.metrics == (
        Metric("Pods", "requests_per_second", average_value=1_000_000),
        Metric("Resource", "cpu", average_value=250),
    )


def test_an_hpa_without_metrics_scales_on_cpu_at_80_percent() -> None:
    autoscaler = hpa.autoscaler_from_spec(
        autoscaling_pb2.HorizontalPodAutoscalerSpec(max_replicas=3))
    assert autoscaler.metrics == (Metric("Resource", "cpu", utilization=80),)


def test_a_bad_target_quantity_names_the_field() -> None:
    spec_pb = autoscaling_pb2.HorizontalPodAutoscalerSpec(max_replicas=10)
    metric = spec_pb.metrics.add(type="Pods")
    metric.pods.metric.name = "rps"
    metric.pods.target.type = "AverageValue"
    metric.pods.target.average_value = "lots"
    with pytest.raises(hpa.InvalidSpec, match=r"spec.metrics\[0\].pods.target.averageValue"):
        hpa.autoscaler_from_spec(spec_pb)


def test_a_pods_metric_with_a_utilization_target_is_rejected() -> None:
    spec_pb = autoscaling_pb2.HorizontalPodAutoscalerSpec(max_replicas=10)
    metric = spec_pb.metrics.add(type="Pods")
    metric.pods.metric.name = "rps"
    metric.pods.target.type = "Utilization"
    metric.pods.target.average_utilization = 50
    with pytest.raises(hpa.InvalidSpec, match="Pods metrics take AverageValue"):
        hpa.autoscaler_from_spec(spec_pb)


def test_a_new_hpa_does_not_scale_down_within_its_first_window() -> None:
    # The first sync counts the current replicas as a recent recommendation.
    decision = hpa.decide(spec(behavior=DEFAULT_BEHAVIOR), 4, pods(4), cpu_usage(*[10] * 4),
                          History(), NOW)
    assert (decision.desired_replicas, decision.rescale) == (4, False)
    later = hpa.decide(spec(behavior=DEFAULT_BEHAVIOR), 4, pods(4), cpu_usage(*[10] * 4),
                       decision.history, NOW + 301)
    assert later.desired_replicas == 1

"""One sync's whole HPA decision (autoscaler/hpa/decision.py): minReplicas/maxReplicas,
the conditions it reports, and what happens when no metric gives a count."""

from __future__ import annotations

from autoscaler import hpa
from autoscaler.hpa import History
from tests.unit.autoscaler_hpa_builders import DEFAULT_BEHAVIOR, NOW, cpu_usage, pods, spec


def test_the_textbook_case_scales_in_one_sync_with_default_behavior() -> None:
    decision = hpa.decide(spec(behavior=DEFAULT_BEHAVIOR), 3, pods(3),
                          cpu_usage(800, 800, 800), History(), NOW)
    assert decision.desired_replicas == 5 and decision.rescale
    assert decision.reason == "cpu resource utilization (percentage of request) above target"


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


# -- failing metrics -----------------------------------------------------------------------------


def test_all_metrics_failing_leaves_the_count_alone_and_warns() -> None:
    decision = hpa.decide(spec(), 3, pods(3), {}, History(), NOW)
    assert (decision.desired_replicas, decision.rescale) == (3, False)
    assert decision.conditions[0].type == "ScalingActive"
    assert decision.conditions[0].status == "False"
    assert decision.warnings[-1][0] == "FailedComputeMetricsReplicas"

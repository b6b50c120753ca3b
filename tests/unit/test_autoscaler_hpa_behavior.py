"""Steps 3 and 4 of the HPA (autoscaler/hpa/behavior.py): the behavior's rate-limit policies
and stabilisation windows, alone and through whole decisions."""

from __future__ import annotations

from autoscaler import hpa
from autoscaler.hpa import Behavior, History, Policy, Recommendation, ScaleEvent, ScalingRules
from tests.unit.autoscaler_hpa_builders import DEFAULT_BEHAVIOR, FREE, NOW, cpu_usage, pods, spec

# -- rate limits ---------------------------------------------------------------------------------


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


# -- stabilization -------------------------------------------------------------------------------


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


def test_a_new_hpa_does_not_scale_down_within_its_first_window() -> None:
    # The first sync counts the current replicas as a recent recommendation.
    decision = hpa.decide(spec(behavior=DEFAULT_BEHAVIOR), 4, pods(4), cpu_usage(*[10] * 4),
                          History(), NOW)
    assert (decision.desired_replicas, decision.rescale) == (4, False)
    later = hpa.decide(spec(behavior=DEFAULT_BEHAVIOR), 4, pods(4), cpu_usage(*[10] * 4),
                       decision.history, NOW + 301)
    assert later.desired_replicas == 1

"""The rollout arithmetic: fenceposts, one rolling-update step, proportional scaling,
revisions and condition transitions (pure functions, no server)."""

from __future__ import annotations

import pytest

from controller import rollout
from controller.rollout import Condition, ReplicaSetView, Status
from corral.api import apps


@pytest.mark.parametrize(
    ("max_surge", "max_unavailable", "desired", "expected"),
    [
        ("25%", "25%", 10, (3, 2)),  # surge rounds up (2.5 -> 3), unavailable down (2.5 -> 2)
        ("25%", "25%", 3, (1, 0)),
        ("25%", "25%", 4, (1, 1)),
        ("1", "0", 3, (1, 0)),
        ("0", "1", 3, (0, 1)),
        ("0", "0", 5, (0, 1)),  # both zero: one may be unavailable so the rollout can move
        ("0%", "0%", 5, (0, 1)),
        ("50%", "0", 4, (2, 0)),
        ("100%", "100%", 7, (7, 7)),
        ("30%", "30%", 10, (3, 3)),
        ("33%", "33%", 10, (4, 3)),
        ("25%", "25%", 0, (0, 1)),
        (5, 2, 10, (5, 2)),
    ],
)
def test_fenceposts_round_surge_up_and_unavailable_down(
    max_surge, max_unavailable, desired, expected
):
    assert rollout.resolve_fenceposts(max_surge, max_unavailable, desired) == expected


def test_max_unavailable_is_capped_at_desired_and_zero_for_zero_replicas():
    assert rollout.max_unavailable("25%", "200", 3) == 3
    assert rollout.max_unavailable("25%", "25%", 0) == 0


@pytest.mark.parametrize(
    ("desired", "surge", "total", "new", "expected"),
    [
        (10, 3, 10, 0, 3),  # start: surge 3 new pods
        (10, 3, 13, 3, 3),  # at desired + surge: wait for old ones to go
        (10, 3, 11, 5, 7),  # room for 2 more
        (3, 1, 3, 0, 1),
        (3, 1, 4, 3, 3),  # new one is complete
        (3, 1, 3, 3, 3),
        (3, 0, 2, 0, 1),  # no surge: grows into the room the old ones left
        (5, 10, 5, 0, 5),  # never beyond desired, however big the surge
    ],
)
def test_new_replica_set_grows_up_to_desired_plus_surge(desired, surge, total, new, expected):
    assert rollout.new_replica_set_replicas(desired, surge, total, new) == expected


def rs(name, replicas, available=None, created=0.0, max_replicas=None, desired_replicas=None):
    return ReplicaSetView(
        name, replicas, replicas if available is None else available, created,
        max_replicas, desired_replicas,
    )


@pytest.mark.parametrize(
    ("old", "new_replicas", "new_available", "desired", "unavailable", "expected"),
    [
        # maxUnavailable 0: the new pod is not available yet, nothing may go.
        ([rs("a", 3)], 1, 0, 3, 0, {}),
        # ... once it is, one old pod may go.
        ([rs("a", 3)], 1, 1, 3, 0, {"a": 2}),
        # Unhealthy old pods go first, without touching availability.
        ([rs("a", 3, available=1)], 1, 1, 3, 0, {"a": 2}),
        # The oldest ReplicaSet shrinks first.
        ([rs("b", 2, created=2), rs("a", 2, created=1)], 0, 0, 4, 1, {"a": 1}),
        # Broken new ReplicaSet at the surge limit: nothing more may go.
        ([rs("a", 3)], 1, 0, 4, 1, {}),
        # Everything old gone already.
        ([rs("a", 0)], 3, 3, 3, 0, {}),
        # Big budget: several steps at once, oldest first.
        ([rs("a", 2, created=1), rs("b", 3, created=2)], 5, 5, 5, 0, {"a": 0, "b": 0}),
        ([rs("a", 5)], 2, 2, 5, 2, {"a": 1}),
    ],
)
def test_old_replica_sets_shrink_within_the_availability_budget(
    old, new_replicas, new_available, desired, unavailable, expected
):
    assert (
        rollout.old_replica_set_targets(old, new_replicas, new_available, desired, unavailable)
        == expected
    )


def test_rolling_update_of_ten_never_drops_below_min_available():
    """Simulates a whole rollout step by step (pods become available at once) and checks
    the invariants the controller promises at every step."""
    desired = 10
    surge, unavailable = rollout.resolve_fenceposts("25%", "25%", desired)
    old = rs("old", 10, created=1)
    new = rs("new", 0, created=2)
    for _ in range(50):
        if new.replicas == desired and old.replicas == 0:
            break
        total = old.replicas + new.replicas
        target = rollout.new_replica_set_replicas(desired, surge, total, new.replicas)
        new = rs("new", target, created=2)  # pods come up and are available
        assert old.replicas + new.replicas <= desired + surge
        targets = rollout.old_replica_set_targets([old], new.replicas, new.available, desired,
                                                  unavailable)
        old = rs("old", targets.get("old", old.replicas), created=1)
        assert old.available + new.available >= desired - unavailable
    assert (old.replicas, new.replicas) == (0, 10)


@pytest.mark.parametrize(
    ("replica_sets", "desired", "surge", "status_replicas", "expected"),
    [
        # Kubernetes' "proportional scaling: 5 -> 10" (annotated for 5, no surge).
        ([rs("v2", 2, created=2, max_replicas=5), rs("v1", 3, created=1, max_replicas=5)],
         10, 0, 5, {"v2": 4, "v1": 6}),
        # "5 -> 3": larger and older lose first.
        ([rs("v2", 2, created=2, max_replicas=5), rs("v1", 3, created=1, max_replicas=5)],
         3, 0, 5, {"v2": 1, "v1": 2}),
        # Leftover from rounding goes to the largest.
        ([rs("v2", 1, created=2, max_replicas=3), rs("v1", 2, created=1, max_replicas=3)],
         4, 0, 3, {"v2": 1, "v1": 3}),
        # Mid-rollout with surge: 10 (+3) -> 20 (+5) keeps the ratio of 5:8.
        ([rs("v2", 5, created=2, max_replicas=13), rs("v1", 8, created=1, max_replicas=13)],
         20, 5, 13, {"v2": 10, "v1": 15}),
        # No annotation: status.replicas stands in.
        ([rs("v2", 2, created=2), rs("v1", 2, created=1)], 8, 0, 4, {"v2": 4, "v1": 4}),
        # Scaled to zero: everyone goes.
        ([rs("v2", 2, created=2, max_replicas=5), rs("v1", 3, created=1, max_replicas=5)],
         0, 0, 5, {"v2": 0, "v1": 0}),
    ],
)
def test_scaling_mid_rollout_is_proportional(
    replica_sets, desired, surge, status_replicas, expected
):
    sizes = rollout.proportional_sizes(replica_sets, desired, surge, status_replicas)
    assert sizes == expected
    assert sum(sizes.values()) == (desired + surge if desired else 0)


def test_active_or_latest_picks_the_only_replica_set_with_pods():
    new = rs("new", 0, created=3)
    def name(found):
        assert found is not None
        return found.name

    a, b = rs("a", 0, created=1), rs("b", 4, created=2)
    assert name(rollout.active_or_latest(new, [a, b])) == "b"
    assert name(rollout.active_or_latest(new, [a])) == "new"
    assert name(rollout.active_or_latest(None, [a, rs("b", 0, created=2)])) == "b"
    assert rollout.active_or_latest(rs("new", 1), [rs("a", 2)]) is None
    assert rollout.active_or_latest(None, []) is None


def test_scaling_event_is_a_desired_replicas_annotation_that_differs():
    assert rollout.is_scaling_event([rs("a", 3, desired_replicas=3)], 5)
    assert not rollout.is_scaling_event([rs("a", 3, desired_replicas=5)], 5)
    assert not rollout.is_scaling_event([rs("a", 0, desired_replicas=3)], 5)
    assert not rollout.is_scaling_event([rs("a", 3)], 5)


def test_saturated_means_all_desired_replicas_available():
    assert rollout.is_saturated(rs("n", 3, 3, desired_replicas=3), 3)
    assert not rollout.is_saturated(rs("n", 3, 2, desired_replicas=3), 3)
    assert not rollout.is_saturated(rs("n", 3, 3, desired_replicas=2), 3)
    assert not rollout.is_saturated(None, 3)


# -- revisions ---------------------------------------------------------------------------------


def test_revisions_count_up_from_the_highest_old_one():
    assert rollout.next_revision([]) == 1
    assert rollout.next_revision([1, 3, 2]) == 4
    assert apps.parse_revision("7") == 7
    assert apps.parse_revision("") == 0
    assert apps.parse_revision("x") == 0


def test_history_keeps_the_newest_revisions_and_only_deletes_empty_ones():
    old = [
        rollout.HistoryEntry("r1", 1, 0, 0),
        rollout.HistoryEntry("r2", 2, 1, 1),  # still has a pod: kept
        rollout.HistoryEntry("r3", 3, 0, 0),
        rollout.HistoryEntry("r4", 4, 0, 0),
        rollout.HistoryEntry("r5", 5, 0, 0, deleting=True),
    ]
    assert rollout.replica_sets_to_clean(old, 2) == ["r1", "r3"]
    assert rollout.replica_sets_to_clean(old, 4) == []
    assert rollout.replica_sets_to_clean(old, 0) == ["r1", "r3", "r4"]


# -- status and conditions ----------------------------------------------------------------------


def test_status_sums_the_replica_sets():
    new = rs("n", 2, available=1)
    old = rs("o", 2, available=2)
    status = rollout.compute_status(
        4, new, [old, new], status_replicas={"n": 2, "o": 3}, ready={"n": 1, "o": 2}
    )
    assert status == Status(
        observed_generation=4, replicas=5, updated_replicas=2, ready_replicas=3,
        available_replicas=3, unavailable_replicas=1,
    )


def test_available_condition_follows_min_availability():
    assert rollout.available_condition(2, 3, 1, 0).status == "True"
    low = rollout.available_condition(1, 3, 1, 0)
    assert (low.status, low.reason) == ("False", apps.MIN_REPLICAS_UNAVAILABLE)


def the_condition(conditions, type_):
    found = rollout.find_condition(conditions, type_)
    assert found is not None, f"no {type_} condition in {conditions}"
    return found


def progressing(reason, status="True", updated=100.0, transition=50.0):
    return Condition(apps.PROGRESSING, status, reason, "", updated, transition)


def run_progress(conditions, old, new, now, desired=3, generation=1, deadline=600):
    return rollout.progress_conditions(
        conditions, old=old, new=new, desired=desired, generation=generation,
        new_rs_name="web-abc", deadline_seconds=deadline, now=now,
    )


def test_progress_refreshes_last_update_but_keeps_transition_time():
    old = Status(1, 3, 1, 3, 3, 1)
    new = Status(1, 4, 2, 3, 3, 1)
    result = run_progress([progressing(apps.NEW_RS_CREATED)], old, new, now=200.0)
    cond = the_condition(result, apps.PROGRESSING)
    assert (cond.status, cond.reason, cond.last_update, cond.last_transition) == (
        "True", apps.RS_UPDATED, 200.0, 50.0)


def test_complete_rollout_reports_new_replica_set_available():
    done = Status(1, 3, 3, 3, 3, 0)
    result = run_progress([progressing(apps.RS_UPDATED)], done, done, now=200.0)
    cond = the_condition(result, apps.PROGRESSING)
    assert (cond.reason, cond.message) == (
        apps.NEW_RS_AVAILABLE, 'ReplicaSet "web-abc" has successfully progressed.')


def test_no_progress_past_the_deadline_times_out():
    stuck = Status(1, 4, 1, 3, 3, 1)
    within = run_progress([progressing(apps.RS_UPDATED)], stuck, stuck, now=100.0 + 599)
    assert the_condition(within, apps.PROGRESSING).reason == apps.RS_UPDATED
    past = run_progress([progressing(apps.RS_UPDATED)], stuck, stuck, now=100.0 + 601)
    cond = the_condition(past, apps.PROGRESSING)
    assert (cond.status, cond.reason) == ("False", apps.TIMED_OUT)
    assert rollout.timed_out(cond, 600, 0.0)


def test_timed_out_rollout_recovers_when_it_completes():
    done = Status(1, 3, 3, 3, 3, 0)
    result = run_progress([progressing(apps.TIMED_OUT, "False")], done, done, now=900.0)
    assert the_condition(result, apps.PROGRESSING).reason == apps.NEW_RS_AVAILABLE


def test_pause_and_resume_conditions():
    paused = rollout.paused_conditions([progressing(apps.RS_UPDATED)], True, 10.0)
    assert the_condition(paused, apps.PROGRESSING).reason == apps.PAUSED
    assert rollout.paused_conditions(paused, True, 11.0) == paused
    resumed = rollout.paused_conditions(paused, False, 12.0)
    assert the_condition(resumed, apps.PROGRESSING).reason == apps.RESUMED
    timed_out = [progressing(apps.TIMED_OUT, "False")]
    assert rollout.paused_conditions(timed_out, True, 13.0) == timed_out


def test_set_condition_changes_nothing_for_the_same_status_and_reason():
    current = [progressing(apps.RS_UPDATED)]
    same = Condition(apps.PROGRESSING, "True", apps.RS_UPDATED, "other", 999.0, 999.0)
    assert rollout.set_condition(current, same) == current


def test_stuck_rollout_is_looked_at_again_after_its_deadline():
    conds = [progressing(apps.RS_UPDATED, updated=100.0)]
    assert rollout.seconds_until_deadline(conds, False, 600, now=200.0) == pytest.approx(501.0)
    assert rollout.seconds_until_deadline(conds, True, 600, now=200.0) is None
    assert rollout.seconds_until_deadline(
        [progressing(apps.TIMED_OUT, "False")], False, 600, now=200.0) is None

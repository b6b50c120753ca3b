"""Rollout arithmetic, after Kubernetes' deployment controller: pure functions of
plain values that say how many pods each ReplicaSet of a Deployment should have
this step, and how the Deployment's conditions move. No I/O here; deployment.py
reads caches, calls these and writes what they return.

Naming: `desired` is the Deployment's spec.replicas; a ReplicaSet's `replicas` is
its spec.replicas (what it was asked for) and `available` its status.availableReplicas.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from corral.api import ConditionStatus, apps, intstr

# -- fenceposts ------------------------------------------------------------------------------


def resolve_fenceposts(
    max_surge: str | int, max_unavailable: str | int, desired: int
) -> tuple[int, int]:
    """(surge, unavailable) in pods for a rolling update of `desired` replicas.

    Percentages of `desired`: surge rounds up, unavailable rounds down, so that
    "25%" of 3 allows 1 extra pod and 0 missing ones. When both come to 0 the
    rollout could never move, so 1 pod may be unavailable (as in Kubernetes).
    """
    surge = intstr.scaled_value(max_surge or 0, desired, round_up=True)
    unavailable = intstr.scaled_value(max_unavailable or 0, desired, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def max_unavailable(max_surge: str | int, max_unavailable_value: str | int, desired: int) -> int:
    """Pods that may be unavailable during a rolling update, never more than desired."""
    if desired == 0:
        return 0
    _, unavailable = resolve_fenceposts(max_surge, max_unavailable_value, desired)
    return min(unavailable, desired)


# -- one rolling-update step ------------------------------------------------------------------


@dataclass(frozen=True)
class ReplicaSetView:
    """What the arithmetic needs to know about one ReplicaSet."""

    name: str
    replicas: int
    available: int = 0
    # Creation time in seconds; older ReplicaSets are scaled down first.
    created: float = 0.0
    # The max-replicas annotation (desired + surge when it was last scaled), if any.
    max_replicas: int | None = None
    # The desired-replicas annotation (the Deployment's replicas when last scaled), if any.
    desired_replicas: int | None = None


def oldest_first(replica_sets: Iterable[ReplicaSetView]) -> list[ReplicaSetView]:
    return sorted(replica_sets, key=lambda rs: (rs.created, rs.name))


def new_replica_set_replicas(
    desired: int, surge: int, total_replicas: int, new_replicas: int
) -> int:
    """How many replicas the new ReplicaSet may have now in a rolling update.

    It may grow until all ReplicaSets together hold desired + surge pods, and never
    beyond desired. `total_replicas` counts every ReplicaSet, the new one included.
    """
    max_total = desired + surge
    if total_replicas >= max_total:
        return new_replicas  # at the surge limit: wait for old pods to go
    scale_up = min(max_total - total_replicas, desired - new_replicas)
    return new_replicas + max(scale_up, 0)


def old_replica_set_targets(
    old: Sequence[ReplicaSetView],
    new_replicas: int,
    new_available: int,
    desired: int,
    unavailable: int,
) -> dict[str, int]:
    """The sizes old ReplicaSets should shrink to in a rolling update (only those that
    change). Unhealthy old pods go first (they serve nobody), then available ones,
    oldest ReplicaSet first, while at least desired - unavailable pods stay available.
    """
    old_total = sum(rs.replicas for rs in old)
    if old_total == 0:
        return {}
    all_total = old_total + new_replicas
    min_available = desired - unavailable
    new_unavailable = new_replicas - new_available
    max_scaled_down = all_total - min_available - new_unavailable
    if max_scaled_down <= 0:
        return {}

    sizes = {rs.name: rs.replicas for rs in old}
    ordered = oldest_first(old)
    # 1. Pods of old ReplicaSets that are not available: removing them costs no availability.
    cleaned = 0
    for rs in ordered:
        if cleaned >= max_scaled_down:
            break
        unhealthy = sizes[rs.name] - rs.available
        if sizes[rs.name] == 0 or unhealthy <= 0:
            continue
        down = min(max_scaled_down - cleaned, unhealthy)
        sizes[rs.name] -= down
        cleaned += down
    # 2. Available old pods, as far as the availability budget allows.
    available_total = sum(rs.available for rs in old) + new_available
    if available_total > min_available:
        budget = available_total - min_available
        scaled = 0
        for rs in ordered:
            if scaled >= budget:
                break
            if sizes[rs.name] == 0:
                continue
            down = min(sizes[rs.name], budget - scaled)
            sizes[rs.name] -= down
            scaled += down
    return {rs.name: sizes[rs.name] for rs in old if sizes[rs.name] != rs.replicas}


# -- scaling a Deployment while it rolls out ---------------------------------------------------


def is_saturated(new: ReplicaSetView | None, desired: int) -> bool:
    """Whether the new ReplicaSet has all desired pods, all available."""
    if new is None:
        return False
    return (
        new.replicas == desired
        and new.desired_replicas == desired
        and new.available == desired
    )


def active_or_latest(
    new: ReplicaSetView | None, old: Sequence[ReplicaSetView]
) -> ReplicaSetView | None:
    """The only ReplicaSet with pods, or the newest one when none has any; None when
    several have pods (then scaling is proportional)."""
    if new is None and not old:
        return None
    newest_old_first = sorted(old, key=lambda rs: (rs.created, rs.name), reverse=True)
    everyone = [*newest_old_first, *([new] if new is not None else [])]
    active = [rs for rs in everyone if rs.replicas > 0]
    if len(active) == 1:
        return active[0]
    if not active:
        return new if new is not None else newest_old_first[0]
    return None


def _round_half_away(value: float) -> int:
    return math.floor(value + 0.5) if value >= 0 else -math.floor(-value + 0.5)


def _fraction(rs: ReplicaSetView, desired: int, surge: int, status_replicas: int) -> int:
    """How many replicas rs should gain (or lose) to keep its share of the Deployment."""
    if desired == 0:
        return -rs.replicas
    allowed_total = desired + surge
    annotated = rs.max_replicas if rs.max_replicas is not None else status_replicas
    if annotated <= 0:
        return 0
    return _round_half_away(rs.replicas * allowed_total / annotated) - rs.replicas


def proportional_sizes(
    replica_sets: Sequence[ReplicaSetView],
    desired: int,
    surge: int,
    status_replicas: int,
) -> dict[str, int]:
    """New sizes for every active ReplicaSet when a Deployment is scaled mid-rollout.

    The change is spread in proportion to each ReplicaSet's share of the size it was
    last scaled for (its max-replicas annotation), so a rollout half done stays half
    done; what rounding leaves over goes to the largest ReplicaSet.
    """
    active = [rs for rs in replica_sets if rs.replicas > 0]
    total = sum(rs.replicas for rs in active)
    allowed = desired + surge if desired > 0 else 0
    to_add = allowed - total
    if to_add == 0:
        return {rs.name: rs.replicas for rs in active}
    if to_add > 0:
        # Larger first; among equals the newer first.
        ordered = sorted(active, key=lambda rs: (-rs.replicas, -rs.created, rs.name))
    else:
        # Larger first; among equals the older first.
        ordered = sorted(active, key=lambda rs: (-rs.replicas, rs.created, rs.name))
    added = 0
    sizes: dict[str, int] = {}
    for rs in ordered:
        proportion = 0
        if rs.replicas > 0 and to_add != added:
            remaining = to_add - added
            fraction = _fraction(rs, desired, surge, status_replicas)
            proportion = min(fraction, remaining) if to_add > 0 else max(fraction, remaining)
        sizes[rs.name] = rs.replicas + proportion
        added += proportion
    first = ordered[0].name
    sizes[first] = max(sizes[first] + to_add - added, 0)
    return sizes


def is_scaling_event(active: Iterable[ReplicaSetView], desired: int) -> bool:
    """Whether the Deployment's replicas changed since its ReplicaSets were last scaled."""
    return any(
        rs.desired_replicas is not None and rs.desired_replicas != desired
        for rs in active
        if rs.replicas > 0
    )


# -- revisions -------------------------------------------------------------------------------




def next_revision(old_revisions: Iterable[int]) -> int:
    """The revision a new (or newly current) ReplicaSet gets: one past every old one."""
    return max(old_revisions, default=0) + 1


@dataclass(frozen=True)
class HistoryEntry:
    name: str
    revision: int
    replicas: int
    status_replicas: int
    deleting: bool = False
    # generation > observedGeneration: the ReplicaSet controller has not seen its last change.
    unobserved: bool = False


def replica_sets_to_clean(old: Iterable[HistoryEntry], history_limit: int) -> list[str]:
    """The old ReplicaSets to delete so at most `history_limit` remain, oldest revision
    first; only ReplicaSets that are scaled to 0, empty and settled are deleted."""
    candidates = [rs for rs in old if not rs.deleting]
    excess = len(candidates) - max(history_limit, 0)
    if excess <= 0:
        return []
    doomed: list[str] = []
    for rs in sorted(candidates, key=lambda rs: (rs.revision, rs.name)):
        if len(doomed) >= excess:
            break
        if rs.replicas != 0 or rs.status_replicas != 0 or rs.unobserved:
            continue
        doomed.append(rs.name)
    return doomed


# -- status and conditions ---------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    type: str
    status: str
    reason: str = ""
    message: str = ""
    # Seconds since the epoch.
    last_update: float = 0.0
    last_transition: float = 0.0


@dataclass(frozen=True)
class Status:
    """A Deployment's status numbers (conditions are kept apart)."""

    observed_generation: int = 0
    replicas: int = 0
    updated_replicas: int = 0
    ready_replicas: int = 0
    available_replicas: int = 0
    unavailable_replicas: int = 0


def find_condition(conditions: Sequence[Condition], type_: str) -> Condition | None:
    return next((c for c in conditions if c.type == type_), None)


def set_condition(conditions: Sequence[Condition], new: Condition) -> list[Condition]:
    """Conditions with `new` in place of its type's, as Kubernetes' SetDeploymentCondition:
    nothing changes when status and reason are the same; the transition time is kept
    while the status stays the same."""
    current = find_condition(conditions, new.type)
    if current is not None and current.status == new.status and current.reason == new.reason:
        return list(conditions)
    if current is not None and current.status == new.status:
        new = replace(new, last_transition=current.last_transition)
    return [*(c for c in conditions if c.type != new.type), new]


def remove_condition(conditions: Sequence[Condition], type_: str) -> list[Condition]:
    return [c for c in conditions if c.type != type_]


def condition(
    type_: str, status: ConditionStatus, reason: str, message: str, now: float
) -> Condition:
    return Condition(type_, status, reason, message, last_update=now, last_transition=now)


def compute_status(
    generation: int,
    new: ReplicaSetView | None,
    replica_sets: Sequence[ReplicaSetView],
    *,
    status_replicas: dict[str, int],
    ready: dict[str, int],
) -> Status:
    """Status numbers from the ReplicaSets: `replica_sets` are all of them (new included);
    `status_replicas` and `ready` hold each one's status.replicas and readyReplicas."""
    wanted = sum(rs.replicas for rs in replica_sets)
    available = sum(rs.available for rs in replica_sets)
    return Status(
        observed_generation=generation,
        replicas=sum(status_replicas.get(rs.name, 0) for rs in replica_sets),
        updated_replicas=status_replicas.get(new.name, 0) if new is not None else 0,
        ready_replicas=sum(ready.get(rs.name, 0) for rs in replica_sets),
        available_replicas=available,
        unavailable_replicas=max(wanted - available, 0),
    )


def available_condition(available: int, desired: int, unavailable: int, now: float) -> Condition:
    if available >= desired - unavailable:
        return condition(apps.AVAILABLE, "True", apps.MIN_REPLICAS_AVAILABLE,
                         "Deployment has minimum availability.", now)
    return condition(apps.AVAILABLE, "False", apps.MIN_REPLICAS_UNAVAILABLE,
                     "Deployment does not have minimum availability.", now)


def is_complete(status: Status, desired: int, generation: int) -> bool:
    """Every desired pod is updated and available, no old one is left, and the
    controller has seen the latest spec."""
    return (
        status.updated_replicas == desired
        and status.replicas == desired
        and status.available_replicas == desired
        and status.observed_generation >= generation
    )


def made_progress(old: Status, new: Status) -> bool:
    """More pods updated, ready or available, or fewer old pods, than before."""
    return (
        new.updated_replicas > old.updated_replicas
        or (new.replicas - new.updated_replicas) < (old.replicas - old.updated_replicas)
        or new.ready_replicas > old.ready_replicas
        or new.available_replicas > old.available_replicas
    )


def timed_out(progressing: Condition | None, deadline_seconds: int, now: float) -> bool:
    """Whether the rollout has made no progress for longer than its deadline."""
    if progressing is None or progressing.reason == apps.NEW_RS_AVAILABLE:
        return False
    if progressing.reason == apps.TIMED_OUT:
        return True
    return progressing.last_update + deadline_seconds < now


def progress_conditions(
    conditions: Sequence[Condition],
    *,
    old: Status,
    new: Status,
    desired: int,
    generation: int,
    new_rs_name: str,
    deadline_seconds: int,
    now: float,
) -> list[Condition]:
    """The Progressing condition after a sync (Kubernetes' syncRolloutStatus):
    NewReplicaSetAvailable when complete, ReplicaSetUpdated (fresh lastUpdateTime)
    when it moved, ProgressDeadlineExceeded when it stood still past the deadline."""
    current = find_condition(conditions, apps.PROGRESSING)
    what = f'ReplicaSet "{new_rs_name}"' if new_rs_name else "Deployment"
    already_complete = (
        new.replicas == new.updated_replicas
        and current is not None
        and current.reason == apps.NEW_RS_AVAILABLE
    )
    if already_complete:
        return list(conditions)
    if is_complete(new, desired, generation):
        return set_condition(
            conditions,
            condition(apps.PROGRESSING, "True", apps.NEW_RS_AVAILABLE,
                      f"{what} has successfully progressed.", now),
        )
    if made_progress(old, new):
        updated = condition(
            apps.PROGRESSING, "True", apps.RS_UPDATED, f"{what} is progressing.", now)
        if current is not None and current.status == "True":
            updated = replace(updated, last_transition=current.last_transition)
        return [*remove_condition(conditions, apps.PROGRESSING), updated]
    if timed_out(current, deadline_seconds, now):
        return set_condition(
            conditions,
            condition(apps.PROGRESSING, "False", apps.TIMED_OUT,
                      f"{what} has timed out progressing.", now),
        )
    return list(conditions)


def paused_conditions(conditions: Sequence[Condition], paused: bool, now: float) -> list[Condition]:
    """Progressing=Unknown DeploymentPaused while paused, DeploymentResumed after; a
    timed-out rollout keeps saying so."""
    current = find_condition(conditions, apps.PROGRESSING)
    if current is not None and current.reason == apps.TIMED_OUT:
        return list(conditions)
    paused_now = current is not None and current.reason == apps.PAUSED
    if paused and not paused_now:
        return set_condition(
            conditions,
            condition(apps.PROGRESSING, "Unknown", apps.PAUSED, "Deployment is paused", now),
        )
    if not paused and paused_now:
        return set_condition(
            conditions,
            condition(apps.PROGRESSING, "Unknown", apps.RESUMED, "Deployment is resumed", now),
        )
    return list(conditions)


def seconds_until_deadline(
    conditions: Sequence[Condition], complete: bool, deadline_seconds: int, now: float
) -> float | None:
    """When to look again for a rollout that may be stuck (None: no need)."""
    current = find_condition(conditions, apps.PROGRESSING)
    if current is None or complete or current.reason in (apps.TIMED_OUT, apps.NEW_RS_AVAILABLE):
        return None
    if current.status != "True":
        return None
    return max(current.last_update + deadline_seconds - now, 0.0) + 1.0

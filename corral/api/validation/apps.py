"""The apps group (apps/v1): Deployments and ReplicaSets."""

from __future__ import annotations

from corral.api import intstr, selectors
from corral.api.v1 import apps_pb2
from corral.api.validation.common import (
    Errors,
    FieldError,
    validate_annotations,
    validate_at_least,
    validate_label_selector,
    validate_labels,
    validate_one_of,
)
from corral.api.validation.core import validate_pod_spec


def _workload_spec(
    spec: apps_pb2.ReplicaSetSpec | apps_pb2.DeploymentSpec,
    old_spec: apps_pb2.ReplicaSetSpec | apps_pb2.DeploymentSpec | None,
) -> Errors:
    """What Deployments and ReplicaSets share: replicas, selector and template."""
    yield from validate_at_least(spec.replicas, "spec.replicas", 0)
    yield from validate_at_least(spec.min_ready_seconds, "spec.minReadySeconds", 0)
    selector = spec.selector
    template = spec.template
    if not selector.match_labels and not selector.match_expressions:
        yield FieldError("spec.selector", "required: a non-empty label selector")
    else:
        selector_errors = list(validate_label_selector(selector, "spec.selector"))
        yield from selector_errors
        if not selector_errors and not selectors.from_label_selector(selector).matches(
            dict(template.metadata.labels)
        ):
            yield FieldError(
                "spec.template.metadata.labels", "selector does not match template labels"
            )
    if old_spec is not None and old_spec.selector != selector:
        yield FieldError("spec.selector", "field is immutable")
    yield from validate_labels(template.metadata.labels, "spec.template.metadata.labels")
    yield from validate_annotations(
        template.metadata.annotations, "spec.template.metadata.annotations"
    )
    yield from validate_pod_spec(template.spec, "spec.template.spec")
    if template.spec.restart_policy != "Always":
        yield FieldError(
            "spec.template.spec.restartPolicy",
            f'unsupported value "{template.spec.restart_policy}": must be "Always" in a '
            "workload's pod template",
        )


def validate_replica_set(rs: apps_pb2.ReplicaSet, old: apps_pb2.ReplicaSet | None) -> Errors:
    yield from _workload_spec(rs.spec, old.spec if old is not None else None)


def validate_deployment(deployment: apps_pb2.Deployment, old: apps_pb2.Deployment | None) -> Errors:
    spec = deployment.spec
    yield from _workload_spec(spec, old.spec if old is not None else None)
    strategy = spec.strategy
    yield from validate_one_of(strategy.type, "spec.strategy.type", ("RollingUpdate", "Recreate"))
    if strategy.HasField("rolling_update"):
        if strategy.type != "RollingUpdate":
            yield FieldError(
                "spec.strategy.rollingUpdate",
                f'may not be specified when strategy type is "{strategy.type}"',
            )
        else:
            yield from _rolling_update(strategy.rolling_update, "spec.strategy.rollingUpdate")
    yield from validate_at_least(spec.revision_history_limit, "spec.revisionHistoryLimit", 0)
    if spec.HasField("progress_deadline_seconds"):
        yield from validate_at_least(
            spec.progress_deadline_seconds, "spec.progressDeadlineSeconds", 0
        )
        if spec.progress_deadline_seconds <= spec.min_ready_seconds:
            yield FieldError(
                "spec.progressDeadlineSeconds",
                f"must be greater than minReadySeconds ({spec.min_ready_seconds}), "
                f"got {spec.progress_deadline_seconds}",
            )


def _rolling_update(rolling: apps_pb2.RollingUpdateDeployment, path: str) -> Errors:
    # As in Kubernetes, only maxUnavailable is capped at 100%: surging by
    # more than the replica count is allowed.
    surge_problem = intstr.validate(rolling.max_surge, max_percent=None)
    unavailable_problem = intstr.validate(rolling.max_unavailable, max_percent=100)
    if surge_problem is not None:
        yield FieldError(f"{path}.maxSurge", surge_problem)
    if unavailable_problem is not None:
        yield FieldError(f"{path}.maxUnavailable", unavailable_problem)
    both_valid = surge_problem is None and unavailable_problem is None
    if both_valid and _is_zero(rolling.max_surge) and _is_zero(rolling.max_unavailable):
        yield FieldError(
            f"{path}.maxUnavailable",
            "may not be 0 when maxSurge is 0: the rollout could never make progress",
        )


def _is_zero(value: str) -> bool:
    parsed = intstr.parse(value)
    return parsed == 0 or parsed == intstr.Percent(0)

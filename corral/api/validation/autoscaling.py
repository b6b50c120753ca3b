"""The autoscaling group (autoscaling/v2): HorizontalPodAutoscalers."""

from __future__ import annotations

from collections.abc import Sequence

from corral.api.v1 import autoscaling_pb2
from corral.api.validation.common import (
    Errors,
    FieldError,
    dns_label_problem,
    resource_name_problem,
    validate_at_least,
    validate_between,
    validate_label_selector,
    validate_one_of,
    validate_quantity,
    validate_required_name,
)

_METRIC_SOURCES = {
    "Resource": "resource",
    "Pods": "pods",
    "Object": "object",
    "External": "external",
    "ContainerResource": "container_resource",
}
# Which target types each metric source takes (Kubernetes' rules).
_METRIC_TARGET_TYPES = {
    "Resource": ("Utilization", "AverageValue"),
    "ContainerResource": ("Utilization", "AverageValue"),
    "Pods": ("AverageValue",),
    "Object": ("Value", "AverageValue"),
    "External": ("Value", "AverageValue"),
}


def validate_horizontal_pod_autoscaler(
    hpa: autoscaling_pb2.HorizontalPodAutoscaler,
    old: autoscaling_pb2.HorizontalPodAutoscaler | None,
) -> Errors:
    spec = hpa.spec
    for field in ("kind", "name"):
        if not getattr(spec.scale_target_ref, field):
            yield FieldError(f"spec.scaleTargetRef.{field}", "required")
    yield from validate_at_least(spec.min_replicas, "spec.minReplicas", 1)
    yield from validate_at_least(spec.max_replicas, "spec.maxReplicas", 1)
    if spec.max_replicas < spec.min_replicas:
        yield FieldError(
            "spec.maxReplicas",
            f"must be greater than or equal to minReplicas ({spec.min_replicas}), "
            f"got {spec.max_replicas}",
        )
    for i, metric in enumerate(spec.metrics):
        yield from _metric(metric, f"spec.metrics[{i}]")
    if spec.HasField("behavior"):
        for field, json in (("scale_up", "scaleUp"), ("scale_down", "scaleDown")):
            yield from _scaling_rules(getattr(spec.behavior, field), f"spec.behavior.{json}")


def _metric(metric: autoscaling_pb2.MetricSpec, path: str) -> Errors:
    yield from validate_one_of(metric.type, f"{path}.type", tuple(_METRIC_SOURCES))
    filled = [name for name, field in _METRIC_SOURCES.items() if metric.HasField(field)]
    wanted = _METRIC_SOURCES.get(metric.type)
    if wanted is not None and not metric.HasField(wanted):
        json = metric.DESCRIPTOR.fields_by_name[wanted].json_name
        yield FieldError(f"{path}.{json}", f'required when type is "{metric.type}"')
    for other in filled:
        if other != metric.type:
            json = metric.DESCRIPTOR.fields_by_name[_METRIC_SOURCES[other]].json_name
            yield FieldError(f"{path}.{json}", f'must be empty when type is "{metric.type}"')
    if wanted is None or not metric.HasField(wanted):
        return
    source = getattr(metric, wanted)
    here = f"{path}.{metric.DESCRIPTOR.fields_by_name[wanted].json_name}"
    if metric.type in ("Resource", "ContainerResource"):
        yield from validate_required_name(
            source.name, f"{here}.name", "resource name", resource_name_problem
        )
        if metric.type == "ContainerResource":
            yield from validate_required_name(
                source.container, f"{here}.container", "container name", dns_label_problem
            )
    else:
        if not source.metric.name:
            yield FieldError(f"{here}.metric.name", "required")
        if source.metric.HasField("selector"):
            yield from validate_label_selector(source.metric.selector, f"{here}.metric.selector")
    if metric.type == "Object":
        for field in ("kind", "name"):
            if not getattr(source.described_object, field):
                yield FieldError(f"{here}.describedObject.{field}", "required")
    yield from _metric_target(source.target, f"{here}.target", _METRIC_TARGET_TYPES[metric.type])


def _metric_target(
    target: autoscaling_pb2.MetricTarget, path: str, allowed: Sequence[str]
) -> Errors:
    yield from validate_one_of(target.type, f"{path}.type", allowed)
    if target.type == "Utilization":
        if not target.HasField("average_utilization"):
            yield FieldError(f"{path}.averageUtilization", 'required when type is "Utilization"')
        else:
            yield from validate_at_least(
                target.average_utilization, f"{path}.averageUtilization", 1
            )
    elif target.HasField("average_utilization"):
        yield FieldError(
            f"{path}.averageUtilization", f'may not be set when type is "{target.type}"'
        )
    if target.type == "Value" and not target.value:
        yield FieldError(f"{path}.value", 'required when type is "Value"')
    if target.type == "AverageValue" and not target.average_value:
        yield FieldError(f"{path}.averageValue", 'required when type is "AverageValue"')
    if target.value:
        yield from validate_quantity(target.value, f"{path}.value", positive=True)
    if target.average_value:
        yield from validate_quantity(target.average_value, f"{path}.averageValue", positive=True)


def _scaling_rules(rules: autoscaling_pb2.HPAScalingRules, path: str) -> Errors:
    yield from validate_between(
        rules.stabilization_window_seconds, f"{path}.stabilizationWindowSeconds", 0, 3600
    )
    yield from validate_one_of(
        rules.select_policy, f"{path}.selectPolicy", ("Max", "Min", "Disabled")
    )
    if not rules.policies:
        yield FieldError(f"{path}.policies", "must have at least one policy")
    for i, policy in enumerate(rules.policies):
        here = f"{path}.policies[{i}]"
        yield from validate_one_of(policy.type, f"{here}.type", ("Pods", "Percent"))
        yield from validate_at_least(policy.value, f"{here}.value", 1)
        yield from validate_between(policy.period_seconds, f"{here}.periodSeconds", 1, 1800)

"""Reading an HPA spec (autoscaling/v2 protobuf) into the algorithm's plain input, an
`Autoscaler`. The only module of the HPA that sees protobuf.

An HPA without `behavior` gets the default behavior (corral.api.defaults): the API server
leaves an omitted behavior omitted, as Kubernetes does, so it is filled in here, from the
same constants. Quantities become milli-units, rounded up as Kubernetes' MilliValue.
"""

from __future__ import annotations

from autoscaler.hpa.behavior import SELECT_MAX, Behavior, Policy, ScalingRules
from autoscaler.hpa.decision import Autoscaler
from autoscaler.hpa.metrics import Metric
from corral.api import defaults, quantity
from corral.api.v1 import autoscaling_pb2


class InvalidSpec(ValueError):
    """An HPA spec this algorithm cannot work with; the message names the field."""


def _milli(text: str, where: str) -> int:
    try:
        return int(quantity.parse(text).scaleb(3).to_integral_value(rounding="ROUND_CEILING"))
    except (quantity.InvalidQuantity, ArithmeticError) as error:
        raise InvalidSpec(f"{where}: {error}") from None


def _target(target: autoscaling_pb2.MetricTarget, where: str) -> tuple[int | None, int | None]:
    """(averageUtilization, averageValue in milli-units) of a MetricTarget."""
    if target.type == "Utilization" or (not target.type and target.HasField("average_utilization")):
        if not target.HasField("average_utilization"):
            raise InvalidSpec(f"{where}.target.averageUtilization: required for type Utilization")
        return target.average_utilization, None
    if target.type == "AverageValue" or (not target.type and target.average_value):
        if not target.average_value:
            raise InvalidSpec(f"{where}.target.averageValue: required for type AverageValue")
        return None, _milli(target.average_value, f"{where}.target.averageValue")
    raise InvalidSpec(
        f"{where}.target.type: {target.type or '(empty)'} is not supported here; "
        "use Utilization or AverageValue"
    )


def metric_from_spec(spec: autoscaling_pb2.MetricSpec, where: str = "spec.metrics[0]") -> Metric:
    """A MetricSpec as a Metric; InvalidSpec for a target it cannot use. Object and External
    metrics come back as Metrics that `propose` reports as unsupported."""
    if spec.type == "Resource":
        utilization, average = _target(spec.resource.target, f"{where}.resource")
        return Metric("Resource", spec.resource.name, "", utilization, average)
    if spec.type == "ContainerResource":
        source = spec.container_resource
        utilization, average = _target(source.target, f"{where}.containerResource")
        return Metric("ContainerResource", source.name, source.container, utilization, average)
    if spec.type == "Pods":
        utilization, average = _target(spec.pods.target, f"{where}.pods")
        if average is None:
            raise InvalidSpec(f"{where}.pods.target.type: Pods metrics take AverageValue")
        return Metric("Pods", spec.pods.metric.name, "", None, average)
    name = spec.object.metric.name if spec.type == "Object" else spec.external.metric.name
    return Metric(spec.type or "(empty)", name)


def _rules(rules: autoscaling_pb2.HPAScalingRules) -> ScalingRules:
    return ScalingRules(
        stabilization_window_seconds=rules.stabilization_window_seconds,
        select_policy=rules.select_policy or SELECT_MAX,
        policies=tuple(
            Policy(policy.type, policy.value, policy.period_seconds) for policy in rules.policies
        ),
    )


def behavior_from_spec(spec: autoscaling_pb2.HorizontalPodAutoscalerSpec) -> Behavior:
    """The spec's behavior with every omitted part defaulted as the API server would have,
    including a behavior omitted altogether."""
    filled = autoscaling_pb2.HorizontalPodAutoscaler()
    if spec.HasField("behavior"):
        filled.spec.behavior.CopyFrom(spec.behavior)
    else:
        filled.spec.behavior.SetInParent()
    defaults.apply_defaults(filled)
    return Behavior(_rules(filled.spec.behavior.scale_up), _rules(filled.spec.behavior.scale_down))


def autoscaler_from_spec(spec: autoscaling_pb2.HorizontalPodAutoscalerSpec) -> Autoscaler:
    """The HPA spec as the algorithm's input; InvalidSpec names a field it cannot use."""
    metric_specs = list(spec.metrics)
    if not metric_specs:
        default = autoscaling_pb2.MetricSpec(type="Resource")
        default.resource.name = "cpu"
        default.resource.target.type = "Utilization"
        default.resource.target.average_utilization = defaults.DEFAULT_HPA_CPU_UTILIZATION
        metric_specs = [default]
    return Autoscaler(
        min_replicas=spec.min_replicas if spec.HasField("min_replicas") else 1,
        max_replicas=spec.max_replicas,
        metrics=tuple(
            metric_from_spec(metric, f"spec.metrics[{i}]") for i, metric in enumerate(metric_specs)
        ),
        behavior=behavior_from_spec(spec),
    )

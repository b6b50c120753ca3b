"""The horizontal pod autoscaler: Kubernetes' HPA (pkg/controller/podautoscaler) step for
step, so an HPA manifest scales here as it would on Kubernetes.

The algorithm is plain functions of plain data; nothing in it reads a clock or the
network:

1. replicas.py: per metric, a proposal from the pods' samples (the replica calculator:
   tolerance, unready and missing pods).
2. metrics.py: the spec's metrics, each one's samples and proposal; the largest wins.
3. behavior.py: stabilisation windows and the scale-up/scale-down policies, over a
   `History` of recent recommendations and scale events.
4. decision.py: one sync's whole decision (`decide`): min/max, then 1-3, then min/max.

spec.py reads an HPA spec (protobuf) into that plain input; conditions.py names the
status conditions a decision sets. Around the algorithm, the I/O: source.py reads Pods
and PodMetrics from informer caches, controller.py is the loop that scales targets and
writes status.

Other packages import from here, never from the modules inside.
"""

from __future__ import annotations

from autoscaler.hpa.behavior import (
    POLICY_PERCENT,
    POLICY_PODS,
    SELECT_DISABLED,
    SELECT_MAX,
    SELECT_MIN,
    Behavior,
    History,
    Policy,
    Recommendation,
    ScaleEvent,
    ScalingRules,
    record_scale,
    scale_down_limit,
    scale_up_limit,
    stabilize,
)
from autoscaler.hpa.conditions import (
    ABLE_TO_SCALE,
    SCALING_ACTIVE,
    SCALING_LIMITED,
    ConditionUpdate,
)
from autoscaler.hpa.controller import DEFAULT_SYNC_PERIOD, HpaController
from autoscaler.hpa.decision import Autoscaler, Decision, decide, limit_rate
from autoscaler.hpa.metrics import (
    Metric,
    MetricsResult,
    metric_samples,
    propose,
    replicas_for_metrics,
)
from autoscaler.hpa.replicas import (
    DEFAULT_CPU_INITIALIZATION_PERIOD,
    DEFAULT_INITIAL_READINESS_DELAY,
    DEFAULT_TOLERANCE,
    MetricError,
    PodGroups,
    PodMetric,
    PodState,
    PodUsage,
    Proposal,
    Tuning,
    average_value_replicas,
    group_pods,
    pod_requests,
    utilization_replicas,
)
from autoscaler.hpa.source import DEFAULT_MAX_AGE, MetricsSource, TargetPods
from autoscaler.hpa.spec import (
    InvalidSpec,
    autoscaler_from_spec,
    behavior_from_spec,
    metric_from_spec,
)

__all__ = [  # noqa: RUF022 (grouped by module, in the algorithm's order)
    # replicas: step 1, the replica calculator
    "DEFAULT_CPU_INITIALIZATION_PERIOD", "DEFAULT_INITIAL_READINESS_DELAY", "DEFAULT_TOLERANCE",
    "MetricError", "PodGroups", "PodMetric", "PodState", "PodUsage", "Proposal", "Tuning",
    "average_value_replicas", "group_pods", "pod_requests", "utilization_replicas",
    # metrics: step 2, the spec's metrics
    "Metric", "MetricsResult", "metric_samples", "propose", "replicas_for_metrics",
    # behavior: steps 3 and 4, stabilisation and rate limits
    "POLICY_PERCENT", "POLICY_PODS", "SELECT_DISABLED", "SELECT_MAX", "SELECT_MIN",
    "Behavior", "History", "Policy", "Recommendation", "ScaleEvent", "ScalingRules",
    "record_scale", "scale_down_limit", "scale_up_limit", "stabilize",
    # decision: the whole sync
    "Autoscaler", "Decision", "decide", "limit_rate",
    # conditions
    "ABLE_TO_SCALE", "SCALING_ACTIVE", "SCALING_LIMITED", "ConditionUpdate",
    # spec: reading an HPA spec
    "InvalidSpec", "autoscaler_from_spec", "behavior_from_spec", "metric_from_spec",
    # the I/O around it
    "DEFAULT_MAX_AGE", "DEFAULT_SYNC_PERIOD", "HpaController", "MetricsSource", "TargetPods",
]

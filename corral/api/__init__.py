"""What an API object *is*: the kinds and their generated messages (`corral.api.v1`),
metadata helpers, the string vocabularies (phases, condition statuses, event types), errors,
quantities, intOrString, selectors, defaults, validation and the conversion of manifests of
older apiVersions.

This wing imports nothing else of ours. Other packages import from here, never from the
modules inside: `from corral.api import errors, Selector, object_key`.
"""

from __future__ import annotations

from corral.api import (
    apps,
    conversion,
    defaults,
    discovery,
    errors,
    intstr,
    kinds,
    meta,
    quantity,
    selectors,
    validation,
    vocabulary,
)
from corral.api.defaults import DEFAULT_SCHEDULER_NAME
from corral.api.intstr import MAX_INT
from corral.api.kinds import Kind
from corral.api.meta import (
    Object,
    controller_ref,
    index_by_controller_uid,
    index_by_label,
    index_by_namespace,
    index_by_node,
    index_by_owner_uid,
    is_deleting,
    metadata,
    object_key,
    owner_reference,
    seconds_or_none,
    split_key,
    to_seconds,
    to_timestamp,
)
from corral.api.selectors import (
    IN,
    FieldSelector,
    InvalidSelector,
    Requirement,
    Selector,
    from_label_selector,
    from_node_selector_requirements,
    parse_field_selector,
    parse_label_selector,
    selector_from_labels,
    validate_label_key,
    validate_label_value,
)
from corral.api.vocabulary import (
    CONDITION_FALSE,
    CONDITION_TRUE,
    CONDITION_UNKNOWN,
    NAMESPACE_ACTIVE,
    NAMESPACE_TERMINATING,
    NORMAL,
    POD_FAILED,
    POD_PENDING,
    POD_RUNNING,
    POD_SUCCEEDED,
    POD_TERMINAL_PHASES,
    POD_UNKNOWN,
    WARNING,
    ConditionStatus,
    EventType,
    NamespacePhase,
    PodPhase,
)

__all__ = [  # noqa: RUF022 (grouped by what they are, not sorted)
    # modules
    "apps", "conversion", "defaults", "discovery", "errors", "intstr", "kinds", "meta",
    "quantity", "selectors", "validation", "vocabulary",
    # kinds and defaults
    "Kind", "DEFAULT_SCHEDULER_NAME", "MAX_INT",
    # metadata
    "Object", "controller_ref", "index_by_controller_uid", "index_by_label",
    "index_by_namespace", "index_by_node", "index_by_owner_uid", "is_deleting", "metadata",
    "object_key", "owner_reference", "seconds_or_none", "split_key", "to_seconds", "to_timestamp",
    # selectors
    "IN", "FieldSelector", "InvalidSelector", "Requirement", "Selector", "from_label_selector",
    "from_node_selector_requirements", "parse_field_selector", "parse_label_selector",
    "selector_from_labels", "validate_label_key", "validate_label_value",
    # vocabularies
    "PodPhase", "POD_PENDING", "POD_RUNNING", "POD_SUCCEEDED", "POD_FAILED", "POD_UNKNOWN",
    "POD_TERMINAL_PHASES",
    "NamespacePhase", "NAMESPACE_ACTIVE", "NAMESPACE_TERMINATING",
    "ConditionStatus", "CONDITION_TRUE", "CONDITION_FALSE", "CONDITION_UNKNOWN",
    "EventType", "NORMAL", "WARNING",
]

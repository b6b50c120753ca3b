"""Tables of objects as `corral get` prints them, in kubectl's shapes.

Pure: every function takes objects and the current time and returns text, so
tables are tested without a server. A `Table` keeps its column widths between
calls, which keeps the rows printed by `get -w` aligned under the header.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import timestamp_pb2
from google.protobuf.message import Message

from corral.api import kinds, metadata

NONE = "<none>"
UNKNOWN = "<unknown>"
COLUMN_GAP = "   "


# ------------------------------------------------------------------ ages


def human_duration(seconds: float) -> str:
    """A duration as kubectl prints ages: "42s", "5m12s", "3h4m", "6d2h", "400d", "2y30d".

    Precision drops as durations grow: seconds under 10 minutes, minutes under
    8 hours, hours under 8 days."""
    total = max(0, int(seconds))
    minutes, hours, days = total // 60, total // 3600, total // 86400
    if total < 120:
        return f"{total}s"
    if minutes < 10:
        rest = total % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{days}d{rest}h" if rest else f"{days}d"
    if days < 365 * 2:
        return f"{days}d"
    years, rest = divmod(days, 365)
    if years < 8:
        return f"{years}y{rest}d" if rest else f"{years}y"
    return f"{years}y"


def age(timestamp: timestamp_pb2.Timestamp, now: float) -> str:
    """How long ago `timestamp` was; "<unknown>" when it is not set."""
    if not timestamp.seconds and not timestamp.nanos:
        return UNKNOWN
    return human_duration(now - (timestamp.seconds + timestamp.nanos / 1e9))


# ----------------------------------------------------------------- tables


@dataclass
class Table:
    """Rows of cells under a header, in columns as wide as their widest cell
    so far, separated by three spaces. Widths only grow."""

    headers: list[str]
    widths: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.widths:
            self.widths = [len(header) for header in self.headers]

    def render(self, rows: Sequence[Sequence[str]], *, header: bool = True) -> list[str]:
        """The lines for `rows` (and the header first, when asked)."""
        for row in rows:
            for index, cell in enumerate(row):
                self.widths[index] = max(self.widths[index], len(cell))
        lines = [self._line(self.headers)] if header else []
        lines.extend(self._line(row) for row in rows)
        return lines

    def _line(self, cells: Sequence[str]) -> str:
        padded = [cell.ljust(width) for cell, width in zip(cells, self.widths, strict=True)]
        return COLUMN_GAP.join(padded).rstrip()


@dataclass(frozen=True)
class Columns:
    """A kind's table: its headers (plus those of -o wide) and how to fill a row."""

    headers: tuple[str, ...]
    wide_headers: tuple[str, ...]
    cells: Callable[[Any, float], list[str]]
    wide_cells: Callable[[Any, float], list[str]] = lambda obj, now: []


def headers(kind: kinds.Kind, *, wide: bool = False, namespace: bool = False,
            labels: bool = False) -> list[str]:
    columns = columns_of(kind)
    result = list(columns.headers) + (list(columns.wide_headers) if wide else [])
    if namespace:
        result.insert(0, "NAMESPACE")
    if labels:
        result.append("LABELS")
    return result


def row(obj: Message, now: float, *, wide: bool = False, namespace: bool = False,
        labels: bool = False) -> list[str]:
    """One object's cells, matching `headers` called with the same options."""
    columns = columns_of(kinds.of_message(obj))
    cells = columns.cells(obj, now) + (columns.wide_cells(obj, now) if wide else [])
    meta = metadata(obj)
    if namespace:
        cells.insert(0, meta.namespace)
    if labels:
        cells.append(format_labels(meta.labels))
    return cells


def table_lines(objs: Sequence[Message], kind: kinds.Kind, now: float, *, wide: bool = False,
                namespace: bool = False, labels: bool = False) -> list[str]:
    """A whole table; "No resources found" lines are the caller's business."""
    table = Table(headers(kind, wide=wide, namespace=namespace, labels=labels))
    rows = [row(obj, now, wide=wide, namespace=namespace, labels=labels) for obj in objs]
    return table.render(rows)


def format_labels(labels: Any) -> str:
    return ",".join(f"{key}={labels[key]}" for key in sorted(labels)) or NONE


def format_selector(selector: Any) -> str:
    """A LabelSelector in the selector syntax: `app=web,tier in (a,b)`."""
    parts = [f"{key}={selector.match_labels[key]}" for key in sorted(selector.match_labels)]
    for requirement in selector.match_expressions:
        operator = requirement.operator
        values = ",".join(requirement.values)
        if operator == "In":
            parts.append(f"{requirement.key} in ({values})")
        elif operator == "NotIn":
            parts.append(f"{requirement.key} notin ({values})")
        elif operator == "Exists":
            parts.append(requirement.key)
        elif operator == "DoesNotExist":
            parts.append(f"!{requirement.key}")
        else:
            parts.append(f"{requirement.key} {operator} ({values})")
    return ",".join(parts) or NONE


def resource_name(kind: kinds.Kind) -> str:
    """How kubectl names a kind in messages: `pod`, `deployment.apps`."""
    group = kind.api_version.rpartition("/")[0]
    return f"{kind.name.lower()}.{group}" if group else kind.name.lower()


def object_name(obj: Message) -> str:
    """`deployment.apps/web`, as `-o name` prints it."""
    return f"{resource_name(kinds.of_message(obj))}/{metadata(obj).name}"


# ------------------------------------------------------------ per kind


def _name_age(obj: Any, now: float) -> list[str]:
    return [obj.metadata.name, age(obj.metadata.creation_timestamp, now)]


def pod_status(pod: Any) -> str:
    """What kubectl shows as a pod's STATUS: Terminating, a container's waiting
    or terminated reason, the pod's reason, or its phase."""
    if pod.metadata.HasField("deletion_timestamp"):
        return "Terminating"
    for status in pod.status.init_container_statuses:
        state = status.state
        if state.HasField("terminated") and state.terminated.exit_code != 0:
            return f"Init:{state.terminated.reason or 'Error'}"
        if state.HasField("waiting") and state.waiting.reason not in ("", "PodInitializing"):
            return f"Init:{state.waiting.reason}"
    reason = pod.status.reason or pod.status.phase or "Pending"
    for status in pod.status.container_statuses:
        state = status.state
        if state.HasField("waiting") and state.waiting.reason:
            reason = state.waiting.reason
        elif state.HasField("terminated"):
            reason = state.terminated.reason or (
                f"Signal:{state.terminated.signal}" if state.terminated.signal
                else f"ExitCode:{state.terminated.exit_code}"
            )
    return reason


def _pod(pod: Any, now: float) -> list[str]:
    statuses = pod.status.container_statuses
    ready = sum(1 for status in statuses if status.ready)
    restarts = sum(status.restart_count for status in statuses)
    return [
        pod.metadata.name,
        f"{ready}/{len(pod.spec.containers)}",
        pod_status(pod),
        str(restarts),
        age(pod.metadata.creation_timestamp, now),
    ]


def _pod_wide(pod: Any, now: float) -> list[str]:
    return [pod.status.pod_ip or NONE, pod.spec.node_name or NONE,
            pod.status.nominated_node_name or NONE]


def _replicas(spec: Any) -> int:
    return spec.replicas if spec.HasField("replicas") else 1


def _containers_images_selector(obj: Any, now: float) -> list[str]:
    containers = obj.spec.template.spec.containers
    return [
        ",".join(c.name for c in containers) or NONE,
        ",".join(c.image for c in containers) or NONE,
        format_selector(obj.spec.selector),
    ]


def _deployment(deploy: Any, now: float) -> list[str]:
    status = deploy.status
    return [
        deploy.metadata.name,
        f"{status.ready_replicas}/{_replicas(deploy.spec)}",
        str(status.updated_replicas),
        str(status.available_replicas),
        age(deploy.metadata.creation_timestamp, now),
    ]


def _replicaset(rs: Any, now: float) -> list[str]:
    return [
        rs.metadata.name,
        str(_replicas(rs.spec)),
        str(rs.status.replicas),
        str(rs.status.ready_replicas),
        age(rs.metadata.creation_timestamp, now),
    ]


def node_status(node: Any) -> str:
    ready = next((c for c in node.status.conditions if c.type == "Ready"), None)
    if ready is None:
        text = "Unknown"
    else:
        text = {"True": "Ready", "False": "NotReady"}.get(ready.status, "Unknown")
    if node.spec.unschedulable:
        text += ",SchedulingDisabled"
    return text


ROLE_LABEL_PREFIX = "node-role.kubernetes.io/"


def node_roles(node: Any) -> str:
    roles = sorted(
        key.removeprefix(ROLE_LABEL_PREFIX)
        for key in node.metadata.labels
        if key.startswith(ROLE_LABEL_PREFIX)
    )
    return ",".join(role for role in roles if role) or NONE


def _node(node: Any, now: float) -> list[str]:
    return [
        node.metadata.name,
        node_status(node),
        node_roles(node),
        age(node.metadata.creation_timestamp, now),
        node.status.node_info.kubelet_version or NONE,
    ]


def _node_wide(node: Any, now: float) -> list[str]:
    internal = next((a.address for a in node.status.addresses if a.type == "InternalIP"), NONE)
    info = node.status.node_info
    return [internal, info.os_image or NONE, info.kernel_version or NONE,
            info.container_runtime_version or NONE]


def service_ports(service: Any) -> str:
    ports = []
    for port in service.spec.ports:
        text = f"{port.port}:{port.node_port}" if port.node_port else str(port.port)
        ports.append(f"{text}/{port.protocol or 'TCP'}")
    return ",".join(ports) or NONE


def _service(service: Any, now: float) -> list[str]:
    spec = service.spec
    external = [i.ip or i.hostname for i in service.status.load_balancer.ingress]
    external += [ip for ip in spec.external_ips if ip not in external]
    if spec.type == "ExternalName":
        external = [spec.external_name]
    return [
        service.metadata.name,
        spec.type or "ClusterIP",
        spec.cluster_ip or NONE,
        ",".join(external) or NONE,
        service_ports(service),
        age(service.metadata.creation_timestamp, now),
    ]


def _service_wide(service: Any, now: float) -> list[str]:
    selector = service.spec.selector
    return [",".join(f"{k}={selector[k]}" for k in sorted(selector)) or NONE]


def _namespace(ns: Any, now: float) -> list[str]:
    return [ns.metadata.name, ns.status.phase or "Active",
            age(ns.metadata.creation_timestamp, now)]


def _configmap(cm: Any, now: float) -> list[str]:
    return [cm.metadata.name, str(len(cm.data) + len(cm.binary_data)),
            age(cm.metadata.creation_timestamp, now)]


def _secret(secret: Any, now: float) -> list[str]:
    keys = set(secret.data) | set(secret.string_data)
    return [secret.metadata.name, secret.type or "Opaque", str(len(keys)),
            age(secret.metadata.creation_timestamp, now)]


def event_last_seen(event: Any, now: float) -> str:
    for timestamp in (event.last_timestamp, event.event_time, event.first_timestamp,
                      event.metadata.creation_timestamp):
        if timestamp.seconds:
            return age(timestamp, now)
    return UNKNOWN


def event_object(event: Any) -> str:
    ref = event.involved_object
    return f"{ref.kind.lower()}/{ref.name}"


def _event(event: Any, now: float) -> list[str]:
    return [event_last_seen(event, now), event.type or "Normal", event.reason,
            event_object(event), event.message.replace("\n", " ")]


def _event_wide(event: Any, now: float) -> list[str]:
    source = event.source.component or event.reporting_component
    if event.source.host:
        source += f", {event.source.host}"
    return [source or NONE, str(event.count or 1)]


def _metric_value(current: Any, target: Any) -> tuple[str, str]:
    """(current, target) of one metric as kubectl prints them."""
    if target.type == "Utilization" or target.HasField("average_utilization"):
        have = (f"{current.average_utilization}%"
                if current is not None and current.HasField("average_utilization") else UNKNOWN)
        return have, f"{target.average_utilization}%"
    if target.type == "AverageValue" or target.average_value:
        have = current.average_value if current is not None and current.average_value else UNKNOWN
        return have, target.average_value
    have = current.value if current is not None and current.value else UNKNOWN
    return have, target.value


def _metric_parts(metric: Any) -> tuple[str, Any]:
    """(identity, source) of a MetricSpec or MetricStatus, to pair them up."""
    kind = metric.type or "Resource"
    source = getattr(metric, {"Resource": "resource", "Pods": "pods", "Object": "object",
                              "External": "external",
                              "ContainerResource": "container_resource"}.get(kind, "resource"))
    name = source.name if kind in ("Resource", "ContainerResource") else source.metric.name
    return f"{kind}/{name}", source


def hpa_targets(hpa: Any) -> str:
    """TARGETS of an HPA: current/target per metric, e.g. "82%/50%, 300m/500m"."""
    currents = {}
    for status in hpa.status.current_metrics:
        identity, source = _metric_parts(status)
        currents[identity] = source.current
    texts = []
    for spec in hpa.spec.metrics:
        identity, source = _metric_parts(spec)
        have, want = _metric_value(currents.get(identity), source.target)
        texts.append(f"{have}/{want}")
    return ", ".join(texts) or NONE


def _hpa(hpa: Any, now: float) -> list[str]:
    ref = hpa.spec.scale_target_ref
    return [
        hpa.metadata.name,
        f"{ref.kind}/{ref.name}",
        hpa_targets(hpa),
        str(hpa.spec.min_replicas if hpa.spec.HasField("min_replicas") else 1),
        str(hpa.spec.max_replicas),
        str(hpa.status.current_replicas),
        age(hpa.metadata.creation_timestamp, now),
    ]


def _ingress(ingress: Any, now: float) -> list[str]:
    spec = ingress.spec
    hosts = [rule.host for rule in spec.rules if rule.host]
    addresses = [i.ip or i.hostname for i in ingress.status.load_balancer.ingress]
    return [
        ingress.metadata.name,
        spec.ingress_class_name or NONE,
        ",".join(hosts) or "*",
        ",".join(addresses),
        "80, 443" if spec.tls else "80",
        age(ingress.metadata.creation_timestamp, now),
    ]


def _lease(lease: Any, now: float) -> list[str]:
    return [lease.metadata.name, lease.spec.holder_identity or NONE,
            age(lease.metadata.creation_timestamp, now)]


def _endpoint_slice(endpoint_slice: Any, now: float) -> list[str]:
    ports = ",".join(str(p.port) if p.HasField("port") else "<unset>"
                     for p in endpoint_slice.ports)
    addresses = [a for e in endpoint_slice.endpoints for a in e.addresses]
    # kubectl shows the first three addresses and how many more there are.
    shown = ",".join(addresses[:3]) + (f" + {len(addresses) - 3} more..."
                                       if len(addresses) > 3 else "")
    return [endpoint_slice.metadata.name, endpoint_slice.address_type, ports or NONE,
            shown or NONE, age(endpoint_slice.metadata.creation_timestamp, now)]


_COLUMNS: dict[str, Columns] = {
    "Pod": Columns(("NAME", "READY", "STATUS", "RESTARTS", "AGE"),
                   ("IP", "NODE", "NOMINATED NODE"), _pod, _pod_wide),
    "Deployment": Columns(("NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"),
                          ("CONTAINERS", "IMAGES", "SELECTOR"), _deployment,
                          _containers_images_selector),
    "ReplicaSet": Columns(("NAME", "DESIRED", "CURRENT", "READY", "AGE"),
                          ("CONTAINERS", "IMAGES", "SELECTOR"), _replicaset,
                          _containers_images_selector),
    "Node": Columns(("NAME", "STATUS", "ROLES", "AGE", "VERSION"),
                    ("INTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"),
                    _node, _node_wide),
    "Service": Columns(("NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"),
                       ("SELECTOR",), _service, _service_wide),
    "Namespace": Columns(("NAME", "STATUS", "AGE"), (), _namespace),
    "ConfigMap": Columns(("NAME", "DATA", "AGE"), (), _configmap),
    "Secret": Columns(("NAME", "TYPE", "DATA", "AGE"), (), _secret),
    "Event": Columns(("LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"),
                     ("SOURCE", "COUNT"), _event, _event_wide),
    "HorizontalPodAutoscaler": Columns(
        ("NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"), (), _hpa
    ),
    "Ingress": Columns(("NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"), (), _ingress),
    "Lease": Columns(("NAME", "HOLDER", "AGE"), (), _lease),
    "EndpointSlice": Columns(("NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"), (),
                             _endpoint_slice),
}

_DEFAULT = Columns(("NAME", "AGE"), (), _name_age)


def columns_of(kind: kinds.Kind) -> Columns:
    return _COLUMNS.get(kind.name, _DEFAULT)

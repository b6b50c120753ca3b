"""`corral describe`: an object in readable sections, then its recent Events.

`describe_text` is pure (objects and a time in, text out); the command reads
the object and the Events whose involvedObject is it."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

import click
from google.protobuf import json_format
from google.protobuf.message import Message

from corral.api import discovery, kinds
from corral.cli.args import parse_targets
from corral.cli.common import global_options, kind_arg, namespace_option, run, settings
from corral.cli.manifest import format_timestamp, to_dict
from corral.cli.merge import LAST_APPLIED_ANNOTATION
from corral.cli.printers import (
    NONE,
    Table,
    age,
    event_last_seen,
    format_selector,
    hpa_targets,
    node_roles,
    pod_status,
    service_ports,
)
from corral.client import Client

INDENT = "  "
# Top-level values line up under the longest common key, "CreationTimestamp:".
TOP_LEVEL_WIDTH = len("CreationTimestamp:")


class _Writer:
    """Lines of `Key:  value` with nested sections, values aligned per section."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def field(self, key: str, value: Any, level: int = 0, width: int = 0) -> None:
        if level == 0:
            width = max(width, TOP_LEVEL_WIDTH)
        text = str(value) if value not in (None, "") else NONE
        label = f"{key}:".ljust(max(width, len(key) + 1))
        self.lines.append(f"{INDENT * level}{label}  {text}".rstrip())

    def fields(self, pairs: Iterable[tuple[str, Any]], level: int = 0) -> None:
        pairs = list(pairs)
        width = max((len(key) + 1 for key, _ in pairs), default=0)
        for key, value in pairs:
            self.field(key, value, level, width)

    def section(self, title: str, level: int = 0) -> None:
        self.lines.append(f"{INDENT * level}{title}:")

    def text(self, line: str, level: int = 0) -> None:
        self.lines.append(f"{INDENT * level}{line}".rstrip())

    def map(self, key: str, values: Any, level: int = 0, width: int = 0) -> None:
        items = [f"{k}={values[k]}" for k in sorted(values)]
        if not items:
            self.field(key, NONE, level, width)
            return
        self.field(key, items[0], level, width)
        if level == 0:
            width = max(width, TOP_LEVEL_WIDTH)
        pad = " " * (len(INDENT * level) + max(width, len(key) + 1) + 2)
        self.lines.extend(pad + item for item in items[1:])

    def tree(self, data: Any, level: int) -> None:
        """Plain data as nested `key: value` lines (the fallback for any field)."""
        if isinstance(data, dict):
            for key, value in data.items():
                if isinstance(value, dict | list) and value:
                    self.section(key, level)
                    self.tree(value, level + 1)
                else:
                    self.field(key, "" if value in ({}, []) else value, level)
        elif isinstance(data, list):
            for item in data:
                if isinstance(item, dict):
                    (key, value), *rest = list(item.items()) or [("-", "")]
                    nested = isinstance(value, dict | list)
                    self.text(f"- {key}: {'' if nested else value}", level)
                    if nested:
                        self.tree(value, level + 2)
                    self.tree(dict(rest), level + 1)
                else:
                    self.text(f"- {item}", level)


def _time(timestamp: Any, now: float) -> str:
    if not timestamp.seconds:
        return NONE
    return f"{format_timestamp(timestamp)} ({age(timestamp, now)} ago)"


def _metadata(out: _Writer, obj: Any, kind: kinds.Kind, now: float) -> None:
    meta = obj.metadata
    annotations = {k: v for k, v in meta.annotations.items() if k != LAST_APPLIED_ANNOTATION}
    width = len("CreationTimestamp:")
    out.field("Name", meta.name, width=width)
    if kind.namespaced:
        out.field("Namespace", meta.namespace, width=width)
    out.map("Labels", meta.labels, width=width)
    out.map("Annotations", annotations, width=width)
    out.field("CreationTimestamp", _time(meta.creation_timestamp, now), width=width)
    if meta.HasField("deletion_timestamp"):
        out.field("DeletionTimestamp", _time(meta.deletion_timestamp, now), width=width)
    owner = next((ref for ref in meta.owner_references if ref.controller), None)
    if owner is not None:
        out.field("Controlled By", f"{owner.kind}/{owner.name}", width=width)
    if meta.finalizers:
        out.field("Finalizers", ", ".join(meta.finalizers), width=width)


def _conditions(out: _Writer, conditions: Any) -> None:
    if not conditions:
        return
    out.section("Conditions")
    table = Table(["Type", "Status", "Reason", "Message"])
    rows = [[c.type, c.status, c.reason or "", c.message or ""] for c in conditions]
    for line in table.render(rows):
        out.text(line, 1)


def _container(out: _Writer, container: Any, status: Any | None, now: float) -> None:
    out.section(container.name, 1)
    ports = ", ".join(f"{p.container_port}/{p.protocol or 'TCP'}" for p in container.ports)
    pairs: list[tuple[str, Any]] = [("Image", container.image), ("Ports", ports or NONE)]
    if container.command:
        pairs.append(("Command", " ".join(container.command)))
    if container.args:
        pairs.append(("Args", " ".join(container.args)))
    if status is not None:
        state = status.state
        if state.HasField("running"):
            pairs.append(("State", f"Running since {_time(state.running.started_at, now)}"))
        elif state.HasField("terminated"):
            t = state.terminated
            pairs.append(("State", f"Terminated: {t.reason or 'Completed'} "
                                   f"(exit code {t.exit_code})"))
        elif state.HasField("waiting"):
            pairs.append(("State", f"Waiting: {state.waiting.reason or 'unknown'}"))
        pairs.append(("Ready", "True" if status.ready else "False"))
        pairs.append(("Restart Count", status.restart_count))
    out.fields(pairs, 2)
    resources = container.resources
    for title, values in (("Requests", resources.requests), ("Limits", resources.limits)):
        if values:
            out.section(title, 2)
            out.fields(((k, values[k]) for k in sorted(values)), 3)
    if container.env:
        out.section("Environment", 2)
        out.fields(((e.name, e.value if not e.HasField("value_from") else "<from a reference>")
                    for e in container.env), 3)


def _pod_template(out: _Writer, template: Any, now: float) -> None:
    out.section("Pod Template")
    out.map("  Labels", template.metadata.labels)
    out.section("Containers")
    for container in template.spec.containers:
        _container(out, container, None, now)


def _pod(out: _Writer, pod: Any, now: float) -> None:
    out.fields([
        ("Node", pod.spec.node_name or NONE),
        ("Start Time", _time(pod.status.start_time, now)),
        ("Status", pod_status(pod)),
        ("IP", pod.status.pod_ip or NONE),
        ("QoS Class", pod.status.qos_class or NONE),
    ])
    statuses = {status.name: status for status in pod.status.container_statuses}
    out.section("Containers")
    for container in pod.spec.containers:
        _container(out, container, statuses.get(container.name), now)
    _conditions(out, pod.status.conditions)
    if pod.spec.volumes:
        out.section("Volumes")
        out.tree([to_dict_message(v) for v in pod.spec.volumes], 1)


def _deployment(out: _Writer, deploy: Any, now: float) -> None:
    spec, status = deploy.spec, deploy.status
    replicas = spec.replicas if spec.HasField("replicas") else 1
    rolling = spec.strategy.rolling_update
    out.fields([
        ("Selector", format_selector(spec.selector)),
        ("Replicas", f"{replicas} desired | {status.updated_replicas} updated | "
                     f"{status.replicas} total | {status.available_replicas} available | "
                     f"{status.unavailable_replicas} unavailable"),
        ("StrategyType", spec.strategy.type or "RollingUpdate"),
        ("MinReadySeconds", spec.min_ready_seconds),
        ("RollingUpdateStrategy", f"{rolling.max_unavailable or '25%'} max unavailable, "
                                  f"{rolling.max_surge or '25%'} max surge"),
    ])
    _pod_template(out, spec.template, now)
    _conditions(out, status.conditions)


def _replicaset(out: _Writer, rs: Any, now: float) -> None:
    spec, status = rs.spec, rs.status
    replicas = spec.replicas if spec.HasField("replicas") else 1
    out.fields([
        ("Selector", format_selector(spec.selector)),
        ("Replicas", f"{status.replicas} current / {replicas} desired"),
        ("Pods Status", f"{status.ready_replicas} Ready / {status.available_replicas} Available"),
    ])
    _pod_template(out, spec.template, now)
    _conditions(out, status.conditions)


def _node(out: _Writer, node: Any, now: float) -> None:
    out.fields([
        ("Roles", node_roles(node)),
        ("Unschedulable", "true" if node.spec.unschedulable else "false"),
        ("Taints", ", ".join(f"{t.key}={t.value}:{t.effect}" if t.value else f"{t.key}:{t.effect}"
                             for t in node.spec.taints) or NONE),
    ])
    _conditions(out, node.status.conditions)
    out.section("Addresses")
    out.fields(((a.type, a.address) for a in node.status.addresses), 1)
    for title, values in (("Capacity", node.status.capacity),
                          ("Allocatable", node.status.allocatable)):
        out.section(title)
        out.fields(((k, values[k]) for k in sorted(values)), 1)
    info = to_dict_message(node.status.node_info)
    if info:
        out.section("System Info")
        out.tree(info, 1)


def _service(out: _Writer, service: Any, now: float, related: Sequence[Any] = ()) -> None:
    spec = service.spec
    out.fields([("Type", spec.type or "ClusterIP"), ("IP", spec.cluster_ip or NONE)])
    out.map("Selector", spec.selector)
    out.field("Port(s)", service_ports(service))
    if spec.session_affinity:
        out.field("Session Affinity", spec.session_affinity)
    out.field("Endpoints", service_endpoints(related))


def service_endpoints(endpoint_slices: Sequence[Any]) -> str:
    """address:port of the ready endpoints, as kubectl describe shows them, or <none>;
    endpoints that are not ready are counted after them."""
    ready, not_ready = [], 0
    for endpoint_slice in endpoint_slices:
        ports = [p.port for p in endpoint_slice.ports if p.HasField("port")] or [None]
        for endpoint in endpoint_slice.endpoints:
            if not endpoint.conditions.ready:
                not_ready += 1
                continue
            ready += [f"{a}:{p}" if p else a for a in endpoint.addresses for p in ports]
    text = ",".join(sorted(ready)) or NONE
    return text + (f" ({not_ready} not ready)" if not_ready else "")


def _hpa(out: _Writer, hpa: Any, now: float) -> None:
    spec, status = hpa.spec, hpa.status
    ref = spec.scale_target_ref
    out.fields([
        ("Reference", f"{ref.kind}/{ref.name}"),
        ("Metrics (current/target)", hpa_targets(hpa)),
        ("Min replicas", spec.min_replicas if spec.HasField("min_replicas") else 1),
        ("Max replicas", spec.max_replicas),
        ("Current replicas", status.current_replicas),
        ("Desired replicas", status.desired_replicas),
        ("Last scale time", _time(status.last_scale_time, now)),
    ])
    _conditions(out, status.conditions)


def to_dict_message(message: Message) -> dict[str, Any]:
    """A sub-message as plain data (to_dict wants a whole kind)."""
    return json_format.MessageToDict(message)


def _generic(out: _Writer, obj: Any, now: float) -> None:
    data = to_dict(obj)
    for key in ("apiVersion", "kind", "metadata"):
        data.pop(key, None)
    for key, value in data.items():
        if isinstance(value, dict | list) and value:
            out.section(key[:1].upper() + key[1:])
            out.tree(value, 1)
        else:
            out.field(key[:1].upper() + key[1:], value)


_DESCRIBERS = {
    "Pod": _pod, "Deployment": _deployment, "ReplicaSet": _replicaset, "Node": _node,
    "HorizontalPodAutoscaler": _hpa,
}


def describe_text(obj: Message, events: list[Any], now: float,
                  related: Sequence[Any] = ()) -> str:
    """The whole `describe` output for one object and its Events; `related` are the
    objects a kind shows with it (a Service's EndpointSlices)."""
    kind = kinds.of_message(obj)
    out = _Writer()
    _metadata(out, obj, kind, now)
    if kind.name == "Service":
        _service(out, obj, now, related)
    else:
        _DESCRIBERS.get(kind.name, _generic)(out, obj, now)
    if kind.name != "Event":
        _events(out, events, now)
    return "\n".join(out.lines) + "\n"


def _events(out: _Writer, events: list[Any], now: float) -> None:
    if not events:
        out.field("Events", NONE)
        return
    out.section("Events")
    ordered = sorted(events, key=lambda e: (e.last_timestamp.seconds or e.event_time.seconds
                                            or e.metadata.creation_timestamp.seconds))
    table = Table(["Type", "Reason", "Age", "From", "Message"])
    rows = [[e.type or "Normal", e.reason, event_last_seen(e, now),
             e.source.component or e.reporting_component or NONE,
             e.message.replace("\n", " ")] for e in ordered]
    for line in table.render(rows):
        out.text(line, 1)


@click.command()
@click.argument("args", nargs=-1, required=True, metavar="KIND NAME... | KIND/NAME...")
@namespace_option
@global_options
def describe(args: tuple[str, ...]) -> None:
    """Show objects in readable sections, with their recent Events."""
    targets = parse_targets(args)
    namespace = settings().namespace

    async def body(client: Client) -> list[str]:
        texts = []
        for target in targets:
            kind = kind_arg(target.kind)
            if target.name:
                objs = [await client.get(kind, target.name, namespace)]
            else:
                objs = (await client.list_all(kind, namespace)).items
            for obj in objs:
                related = await _related(client, kind, obj)
                texts.append(describe_text(obj, await _events_of(client, kind, obj), time.time(),
                                           related))
        return texts

    click.echo("\n".join(run(body)), nl=False)


async def _related(client: Client, kind: kinds.Kind, obj: Any) -> list[Any]:
    if kind.name != "Service":
        return []
    result = await client.list_all(
        "EndpointSlice", obj.metadata.namespace,
        label_selector=f"{discovery.SERVICE_NAME_LABEL}={obj.metadata.name}",
    )
    return result.items


async def _events_of(client: Client, kind: kinds.Kind, obj: Any) -> list[Any]:
    if kind.name == "Event":
        return []
    meta = obj.metadata
    result = await client.list_all(
        "Event", meta.namespace or "default",
        field_selector=f"involvedObject.name={meta.name},involvedObject.kind={kind.name}",
    )
    return result.items

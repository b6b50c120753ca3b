"""The cluster autoscaler's node groups, from a YAML (or JSON) file:

    nodeGroups:
      - name: small
        minSize: 0
        maxSize: 3
        template:
          capacity: {cpu: "2", memory: 4Gi, pods: "110"}
          labels: {pool: small}
          taints:
            - {key: dedicated, value: batch, effect: NoSchedule}
    # Options of the docker provider (all optional):
    docker:
      image: corral/corral:dev        # the service image that runs `python -m agent`
      network: host                   # "host", or a network that reaches the API server
      server: 127.0.0.1:7443          # the API server as the agent containers see it
      networks: [corral_pods]         # more networks to join
      agentRoot: /var/lib/corral-autoscaler   # host path of the agents' files
      podNetwork: corral_pods         # the agent's --pod-network
      pauseImage: corral/busybox:1    # the agent's --pause-image
      agentArgs: [--backoff-base, "2"]

Every node the autoscaler adds carries the label `autoscaler.corral.io/node-group:
NAME`, which is how it knows a node's group; nodes without it are never touched.
Errors name the file, the entry and why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corral.api import quantity, validate_label_key, validate_label_value
from corral.client import configfile

GROUP_LABEL = "autoscaler.corral.io/node-group"
EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
# Node names are DNS labels; the autoscaler appends "-" and 5 characters.
_GROUP_NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,50}[a-z0-9])?")

# What a node groups file that cannot be used raises (the message names the file, the key
# and why): the shared config-file error, named here for the autoscaler's callers.
InvalidConfig = configfile.InvalidConfig


@dataclass(frozen=True)
class TemplateTaint:
    key: str
    value: str
    effect: str


@dataclass(frozen=True)
class NodeGroup:
    name: str
    min_size: int
    max_size: int
    # resource → quantity text, as a Node's status.capacity.
    capacity: dict[str, str]
    labels: dict[str, str] = field(default_factory=dict)
    taints: tuple[TemplateTaint, ...] = ()


@dataclass(frozen=True)
class DockerOptions:
    image: str = ""
    network: str = "host"
    server: str = ""
    agent_root: str = "/var/lib/corral-autoscaler"
    # The agent's --pod-network and --pause-image (empty: the agent's defaults).
    pod_network: str = ""
    pause_image: str = ""
    # More networks to connect the agent containers to (e.g. the pods' network).
    networks: tuple[str, ...] = ()
    agent_args: tuple[str, ...] = ()


@dataclass(frozen=True)
class Config:
    node_groups: tuple[NodeGroup, ...]
    docker: DockerOptions = DockerOptions()

    def group(self, name: str) -> NodeGroup | None:
        return next((group for group in self.node_groups if group.name == name), None)


def load(path: str | Path) -> Config:
    return from_dict(configfile.load(path, "node groups file"), str(path))


def _size(data: dict[str, Any], key: str, where: str, default: int | None = None) -> int:
    value = data.get(key, default)
    if value is None:
        raise InvalidConfig(f"{where}.{key}: required")
    return configfile.whole_number(value, f"{where}.{key}")


def from_dict(data: Any, where: str = "node groups") -> Config:
    top = configfile.mapping(data if data is not None else {}, where)
    configfile.reject_unknown(top, ("nodeGroups", "docker"), where)
    groups_data = top.get("nodeGroups")
    if not isinstance(groups_data, list) or not groups_data:
        raise InvalidConfig(f"{where}: nodeGroups: a list of at least one node group is required")
    groups = []
    seen: set[str] = set()
    for i, entry in enumerate(groups_data):
        group = _group(entry, f"{where}: nodeGroups[{i}]")
        if group.name in seen:
            raise InvalidConfig(f"{where}: nodeGroups[{i}].name: {group.name!r} is used twice")
        seen.add(group.name)
        groups.append(group)
    docker = _docker(top.get("docker", {}), f"{where}: docker")
    return Config(tuple(groups), docker)


def _group(entry: Any, where: str) -> NodeGroup:
    data = configfile.mapping(entry, where)
    configfile.reject_unknown(data, ("name", "minSize", "maxSize", "template"), where)
    name = data.get("name")
    if not isinstance(name, str) or not _GROUP_NAME.fullmatch(name):
        raise InvalidConfig(
            f"{where}.name: {name!r} must be lower-case letters, digits and '-', at most 52 "
            "characters, starting and ending with a letter or digit"
        )
    min_size = _size(data, "minSize", where, 0)
    max_size = _size(data, "maxSize", where)
    if max_size < min_size:
        raise InvalidConfig(f"{where}.maxSize: {max_size} is less than minSize {min_size}")
    template = configfile.mapping(data.get("template"), f"{where}.template")
    configfile.reject_unknown(template, ("capacity", "labels", "taints"), f"{where}.template")
    capacity_data = configfile.mapping(template.get("capacity"), f"{where}.template.capacity")
    capacity: dict[str, str] = {}
    for resource, value in capacity_data.items():
        text = str(value)
        try:
            quantity.resource_value(str(resource), text)
        except quantity.InvalidQuantity as error:
            raise InvalidConfig(f"{where}.template.capacity.{resource}: {error}") from None
        capacity[str(resource)] = text
    for required in ("cpu", "memory"):
        if required not in capacity:
            raise InvalidConfig(f"{where}.template.capacity.{required}: required")
    capacity.setdefault("pods", "110")
    labels: dict[str, str] = {}
    labels_data = configfile.mapping(template.get("labels", {}), f"{where}.template.labels")
    for key, value in labels_data.items():
        problem = validate_label_key(str(key)) or validate_label_value(str(value))
        if problem:
            raise InvalidConfig(f"{where}.template.labels.{key}: {problem}")
        labels[str(key)] = str(value)
    if GROUP_LABEL in labels:
        raise InvalidConfig(f"{where}.template.labels.{GROUP_LABEL}: set by the autoscaler")
    taints = []
    taints_data = template.get("taints", [])
    if not isinstance(taints_data, list):
        raise InvalidConfig(f"{where}.template.taints: expected a list")
    for j, taint_entry in enumerate(taints_data):
        taint_where = f"{where}.template.taints[{j}]"
        taint = configfile.mapping(taint_entry, taint_where)
        configfile.reject_unknown(taint, ("key", "value", "effect"), taint_where)
        taint_key = taint.get("key")
        if not isinstance(taint_key, str) or not taint_key:
            raise InvalidConfig(f"{taint_where}.key: required")
        effect = taint.get("effect")
        if effect not in EFFECTS:
            raise InvalidConfig(
                f"{taint_where}.effect: {effect!r} is not one of {', '.join(EFFECTS)}"
            )
        taints.append(TemplateTaint(taint_key, str(taint.get("value", "")), str(effect)))
    return NodeGroup(name, min_size, max_size, capacity, labels, tuple(taints))


def _docker(entry: Any, where: str) -> DockerOptions:
    data = configfile.mapping(entry, where)
    known = ("image", "network", "networks", "server", "agentRoot", "podNetwork", "pauseImage",
             "agentArgs")
    configfile.reject_unknown(data, known, where)
    # Not configfile.string_list: items are taken as text (agentArgs: [--backoff-base, 2]
    # passes "2"), as this file has always accepted.
    args = data.get("agentArgs", [])
    if not isinstance(args, list):
        raise InvalidConfig(f"{where}.agentArgs: expected a list of strings")
    networks = data.get("networks", [])
    if not isinstance(networks, list):
        raise InvalidConfig(f"{where}.networks: expected a list of network names")
    defaults = DockerOptions()
    return DockerOptions(
        image=str(data.get("image", defaults.image)),
        network=str(data.get("network", defaults.network)),
        server=str(data.get("server", defaults.server)),
        agent_root=str(data.get("agentRoot", defaults.agent_root)),
        pod_network=str(data.get("podNetwork", "")),
        pause_image=str(data.get("pauseImage", "")),
        networks=tuple(str(network) for network in networks),
        agent_args=tuple(str(arg) for arg in args),
    )

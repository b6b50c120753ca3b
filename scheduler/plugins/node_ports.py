"""NodePorts: a host port (protocol, address, port) may be used once per node; ports of
pods nominated to a node count as taken there (see node_resources_fit.py)."""

from __future__ import annotations

from scheduler.cache import Cache
from scheduler.model import NodeInfo, PodInfo
from scheduler.plugins.interface import CycleState, FilterPlugin, Reasons

NAME = "NodePorts"
PORTS_TAKEN = "node(s) didn't have free ports for the requested pod ports"


def _wants_host_ports(state: CycleState, pod: PodInfo, cache: Cache) -> bool:
    if not pod.host_ports:
        return False
    state[NAME] = {
        node_name: load.host_ports
        for node_name, load in cache.nominated_load(pod).items() if load.host_ports
    }
    return True


def ports_conflict(wanted: tuple[str, str, int], used: tuple[str, str, int]) -> bool:
    """Same protocol and port, and the same address or either is the wildcard 0.0.0.0."""
    ip, protocol, port = wanted
    used_ip, used_protocol, used_port = used
    return (
        port == used_port
        and protocol == used_protocol
        and (ip == used_ip or ip == "0.0.0.0" or used_ip == "0.0.0.0")
    )


def node_ports(state: CycleState, pod: PodInfo, node: NodeInfo) -> Reasons:
    nominated = state[NAME].get(node.name, ())
    if not node.used_ports and not nominated:
        return None
    for wanted in pod.host_ports:
        for used in (*node.used_ports, *nominated):
            if ports_conflict(wanted, used):
                return PORTS_TAKEN
    return None


FILTER = FilterPlugin(NAME, node_ports, prefilter=_wants_host_ports, preemption_helps=True)

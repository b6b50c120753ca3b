"""The cluster autoscaler loop: every scan interval, grow a node group when pods cannot be
placed, and remove nodes that have been unneeded for long enough.

Each pass reads the informer caches and the provider's list of nodes afresh (level-
triggered); what it keeps between passes is only time: since when each node has been
unneeded, when the last scale-up happened, and when each node was started. The decisions
themselves are simulation.plan_scale_up / plan_scale_down.

Removing a node: cordon it (unschedulable, and the ToBeDeletedByClusterAutoscaler
taint), delete its pods (each with its own grace period; their controllers make new ones,
which the scheduler places elsewhere), wait until they are gone, then stop the node
through the provider and delete the Node object.

The status is published as the ConfigMap corral-system/cluster-autoscaler-status (key
`status`, readable text like Kubernetes' cluster autoscaler writes), with Events on the
pods that triggered (or could not trigger) a scale-up, on removed nodes and on the
ConfigMap.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from prometheus_client import Counter, Gauge, Histogram

from autoscaler import simulation
from autoscaler.config import GROUP_LABEL, Config, NodeGroup
from autoscaler.providers.base import Provider, ProviderError, ProviderNode, new_node_name
from corral.api import POD_TERMINAL_PHASES, EventType, errors, is_deleting
from corral.api.v1 import core_pb2
from corral.client import NORMAL, WARNING, Client, EventRecorder, Informer
from scheduler.config import Config as SchedulerConfig

STATUS_NAMESPACE = "corral-system"
STATUS_NAME = "cluster-autoscaler-status"
DELETION_TAINT = "ToBeDeletedByClusterAutoscaler"

LOOP_SECONDS = Histogram("corral_cluster_autoscaler_loop_duration_seconds",
                         "Time of one cluster autoscaler pass",
                         buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
UNSCHEDULABLE = Gauge("corral_cluster_autoscaler_unschedulable_pods",
                      "Pods the scheduler could place nowhere")
NODES = Gauge("corral_cluster_autoscaler_nodes", "Nodes of each group by state",
              ["group", "state"])
UNNEEDED = Gauge("corral_cluster_autoscaler_unneeded_nodes", "Nodes found unneeded")
SCALED_UP = Counter("corral_cluster_autoscaler_scaled_up_nodes_total", "Nodes added",
                    ["group"])
SCALED_DOWN = Counter("corral_cluster_autoscaler_scaled_down_nodes_total", "Nodes removed",
                      ["group"])
FAILED_SCALE_UPS = Counter("corral_cluster_autoscaler_failed_scale_ups_total",
                           "Nodes the provider could not start", ["group"])

_log = logging.getLogger("corral.autoscaler.cluster")


@dataclass(frozen=True)
class Settings:
    scan_interval: float = 10.0
    scale_down_enabled: bool = True
    scale_down_utilization_threshold: float = 0.5
    scale_down_unneeded_time: float = 600.0
    scale_down_delay_after_add: float = 600.0
    max_node_provision_time: float = 900.0
    max_graceful_termination: float = 600.0
    max_empty_bulk_delete: int = 10


@dataclass
class GroupState:
    ready: int = 0
    upcoming: int = 0
    last_event: str = ""


@dataclass
class State:
    unneeded_since: dict[str, float] = field(default_factory=dict)
    last_scale_up: float = 0.0
    last_scale_down: float = 0.0
    deleting: set[str] = field(default_factory=set)
    groups: dict[str, GroupState] = field(default_factory=dict)
    scale_up_status: str = "NoActivity"
    scale_down_status: str = "NoCandidates"


def _is_ready(node: core_pb2.Node) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in node.status.conditions)


class ClusterAutoscaler:
    def __init__(
        self,
        client: Client,
        nodes: Informer[core_pb2.Node],
        pods: Informer[core_pb2.Pod],
        config: Config,
        provider: Provider,
        recorder: EventRecorder,
        settings: Settings | None = None,
        *,
        scheduler_config: SchedulerConfig | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.nodes = nodes
        self.pods = pods
        self.config = config
        self.provider = provider
        self.recorder = recorder
        self.settings = settings or Settings()
        self.scheduler_config = scheduler_config
        self.clock = clock
        self.state = State()
        self._drains: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        try:
            while True:
                started = time.monotonic()
                try:
                    await self.run_once()
                except (errors.ApiError, ProviderError) as error:
                    _log.warning("event=pass_failed error=%s: %s", type(error).__name__, error)
                except Exception:
                    _log.exception("event=pass_failed")
                LOOP_SECONDS.observe(time.monotonic() - started)
                await asyncio.sleep(self.settings.scan_interval)
        finally:
            for task in self._drains:
                task.cancel()

    async def run_once(self) -> None:
        now = self.clock()
        groups = self.config.node_groups
        by_name = {group.name: group for group in groups}
        provided = [n for n in await self.provider.list_nodes() if n.group in by_name]
        nodes = self.nodes.list()
        node_objects = {node.metadata.name: node for node in nodes}
        pods = self.pods.list()

        # Nodes that never came up are given up on.
        for node in provided:
            registered = node_objects.get(node.name)
            if (registered is None or not _is_ready(registered)) and (
                node.started and now - node.started > self.settings.max_node_provision_time
            ) and node.name not in self.state.deleting:
                _log.warning("event=node_not_ready_in_time node=%s group=%s", node.name, node.group)
                # Not ready: nothing runs there to drain.
                await self._remove(node, None, "it did not become ready in time")
        sizes: dict[str, int] = {group.name: 0 for group in groups}
        upcoming: dict[str, int] = {group.name: 0 for group in groups}
        for node in provided:
            if node.name in self.state.deleting:
                continue
            sizes[node.group] += 1
            registered = node_objects.get(node.name)
            if registered is None or not _is_ready(registered):
                upcoming[node.group] += 1
        for group in groups:
            state = self.state.groups.setdefault(group.name, GroupState())
            state.ready = sizes[group.name] - upcoming[group.name]
            state.upcoming = upcoming[group.name]
            NODES.labels(group.name, "ready").set(state.ready)
            NODES.labels(group.name, "upcoming").set(state.upcoming)

        pending = [pod for pod in pods if simulation.is_unschedulable(pod)]
        UNSCHEDULABLE.set(len(pending))
        scaled_up = False
        if pending:
            scaled_up = await self._scale_up(pending, nodes, pods, groups, sizes, upcoming, now)
        else:
            self.state.scale_up_status = "NoActivity"
        # Below minSize (a fresh group, or nodes lost): bring groups up to it.
        for group in groups:
            missing = group.min_size - sizes[group.name]
            if missing > 0:
                await self._start_nodes(group, missing, sizes[group.name], "below minSize")
                sizes[group.name] += missing
                scaled_up = True

        if scaled_up or not self.settings.scale_down_enabled:
            self.state.unneeded_since.clear()
        elif now - self.state.last_scale_up < self.settings.scale_down_delay_after_add:
            self.state.scale_down_status = "InCooldown"
            self.state.unneeded_since.clear()
        else:
            await self._scale_down(nodes, pods, groups, sizes, provided, now)
        await self._publish_status(now)

    # -- scale up ----------------------------------------------------------------------------

    async def _scale_up(
        self,
        pending: list[core_pb2.Pod],
        nodes: list[core_pb2.Node],
        pods: list[core_pb2.Pod],
        groups: tuple[NodeGroup, ...],
        sizes: dict[str, int],
        upcoming: dict[str, int],
        now: float,
    ) -> bool:
        usable = [node for node in nodes if node.metadata.name not in self.state.deleting]
        plan = simulation.plan_scale_up(usable, pods, pending, groups, sizes, upcoming,
                                        self.scheduler_config)
        by_key = {f"{p.metadata.namespace or 'default'}/{p.metadata.name}": p for p in pending}
        for key, reasons in plan.unhelped.items():
            pod = by_key.get(key)
            if pod is not None:
                why = "; ".join(reasons) or "no node group"
                self.recorder.event(pod, NORMAL, "NotTriggerScaleUp",
                                    f"pod didn't trigger scale-up: {why}")
        if plan.best is None:
            self.state.scale_up_status = (
                "NoActivity" if not plan.unhelped else
                f"NoActivity (pods={len(plan.unhelped)} could not be helped by any group)"
            )
            return False
        option = plan.best
        group = next(g for g in groups if g.name == option.group)
        before = sizes[group.name]
        message = f"{group.name} {before}->{before + option.nodes} (max: {group.max_size})"
        for key in option.pods:
            pod = by_key.get(key)
            if pod is not None:
                self.recorder.event(pod, NORMAL, "TriggeredScaleUp",
                                    f"pod triggered scale-up: [{message}]")
        _log.info("event=scale_up group=%s from=%d to=%d pods=%d",
                  group.name, before, before + option.nodes, len(option.pods))
        await self._start_nodes(group, option.nodes, before, f"{len(option.pods)} pending pods")
        self.state.last_scale_up = now
        self.state.scale_up_status = f"InProgress ({message})"
        return True

    async def _start_nodes(self, group: NodeGroup, count: int, before: int, why: str) -> None:
        started = 0
        for _ in range(count):
            name = new_node_name(group)
            try:
                await self.provider.start_node(group, name)
            except ProviderError as error:
                FAILED_SCALE_UPS.labels(group.name).inc()
                _log.warning("event=scale_up_failed group=%s node=%s error=%s",
                             group.name, name, error)
                self.state.groups[group.name].last_event = f"FailedToScaleUp: {error}"
                await self._status_event(WARNING, "FailedToScaleUpGroup",
                                         f"failed to start node {name} of {group.name}: {error}")
                break
            started += 1
            SCALED_UP.labels(group.name).inc()
        if started:
            message = (f"Scale-up: setting group {group.name} size to {before + started} "
                       f"instead of {before} (max: {group.max_size}): {why}")
            self.state.groups[group.name].last_event = message
            await self._status_event(NORMAL, "ScaledUpGroup", message)

    # -- scale down --------------------------------------------------------------------------

    async def _scale_down(
        self,
        nodes: list[core_pb2.Node],
        pods: list[core_pb2.Pod],
        groups: tuple[NodeGroup, ...],
        sizes: dict[str, int],
        provided: list[ProviderNode],
        now: float,
    ) -> None:
        ours = {node.name: node for node in provided}
        candidates = [
            node for node in nodes
            if node.metadata.name not in self.state.deleting and _is_ready(node)
            and not node.spec.unschedulable
        ]
        plan = simulation.plan_scale_down(candidates, pods, groups, sizes,
                                          self.settings.scale_down_utilization_threshold,
                                          self.scheduler_config)
        unneeded = [u for u in plan.unneeded if u.node in ours]
        UNNEEDED.set(len(unneeded))
        names = {u.node for u in unneeded}
        for name in list(self.state.unneeded_since):
            if name not in names:
                del self.state.unneeded_since[name]
        for name in names:
            self.state.unneeded_since.setdefault(name, now)
        if not unneeded:
            self.state.scale_down_status = "NoCandidates"
            return
        self.state.scale_down_status = f"CandidatesPresent (candidates={len(unneeded)})"
        due = [
            u for u in unneeded
            if now - self.state.unneeded_since[u.node] >= self.settings.scale_down_unneeded_time
        ]
        empty = [u for u in due if u.empty][: self.settings.max_empty_bulk_delete]
        busy = [u for u in due if not u.empty][:1]
        by_name = {node.metadata.name: node for node in nodes}
        for candidate in [*empty, *busy]:
            node = ours[candidate.node]
            self.state.deleting.add(node.name)
            self.state.unneeded_since.pop(node.name, None)
            self.state.last_scale_down = now
            reason = (f"empty for {self.settings.scale_down_unneeded_time:.0f}s"
                      if candidate.empty else
                      f"utilization {candidate.utilization:.0%} below "
                      f"{self.settings.scale_down_utilization_threshold:.0%} for "
                      f"{self.settings.scale_down_unneeded_time:.0f}s")
            task = asyncio.create_task(self._remove(node, by_name.get(node.name), reason))
            self._drains.add(task)
            task.add_done_callback(self._drains.discard)

    async def _remove(
        self, node: ProviderNode, obj: core_pb2.Node | None, reason: str
    ) -> None:
        """Cordons, drains and stops one node, then deletes its Node object."""
        self.state.deleting.add(node.name)
        try:
            if obj is not None:
                await self._cordon(node.name)
                self.recorder.event(obj, NORMAL, "ScaleDown",
                                    f"marked the node as toBeDeleted/unschedulable: {reason}")
                await self._drain(node.name)
            await self.provider.stop_node(node)
            with contextlib.suppress(errors.NotFound):
                await self.client.delete("Node", node.name)
            SCALED_DOWN.labels(node.group).inc()
            message = f"Scale-down: removed node {node.name} of {node.group}: {reason}"
            group_state = self.state.groups.get(node.group)
            if group_state is not None:
                group_state.last_event = message
            _log.info("event=scale_down node=%s group=%s reason=%r", node.name, node.group, reason)
            if obj is not None:
                self.recorder.event(obj, NORMAL, "ScaleDown",
                                    "node removed by cluster autoscaler")
            await self._status_event(NORMAL, "ScaleDown", message)
        except (errors.ApiError, ProviderError) as error:
            _log.warning("event=scale_down_failed node=%s error=%s", node.name, error)
            await self._status_event(WARNING, "ScaleDownFailed",
                                     f"failed to remove node {node.name}: {error}")
            await self._uncordon(node.name)
        finally:
            self.state.deleting.discard(node.name)

    async def _cordon(self, name: str) -> None:
        def cordon(node: object) -> bool:
            assert isinstance(node, core_pb2.Node)
            node.spec.unschedulable = True
            if not any(t.key == DELETION_TAINT for t in node.spec.taints):
                node.spec.taints.add(key=DELETION_TAINT, value=str(int(self.clock())),
                                     effect="NoSchedule")
            return True
        await self.client.update_with_retry("Node", name, "", cordon)

    async def _uncordon(self, name: str) -> None:
        def uncordon(node: object) -> bool:
            assert isinstance(node, core_pb2.Node)
            kept = [copy.deepcopy(t) for t in node.spec.taints if t.key != DELETION_TAINT]
            del node.spec.taints[:]
            node.spec.taints.extend(kept)
            node.spec.unschedulable = False
            return True
        try:
            await self.client.update_with_retry("Node", name, "", uncordon)
        except errors.ApiError as error:
            _log.warning("event=uncordon_failed node=%s error=%s", name, error)

    def _pods_on(self, name: str) -> list[core_pb2.Pod]:
        return [
            pod for pod in self.pods.list()
            if pod.spec.node_name == name and pod.status.phase not in POD_TERMINAL_PHASES
        ]

    async def _drain(self, name: str) -> None:
        """Deletes the node's pods gracefully and waits until they are gone."""
        for pod in self._pods_on(name):
            if is_deleting(pod):
                continue
            try:
                await self.client.delete("Pod", pod.metadata.name, pod.metadata.namespace,
                                         uid=pod.metadata.uid)
            except (errors.NotFound, errors.Conflict, errors.FailedPrecondition):
                continue
        deadline = time.monotonic() + self.settings.max_graceful_termination + 30
        while self._pods_on(name):
            if time.monotonic() > deadline:
                raise ProviderError(
                    f"pods of node {name} did not stop within "
                    f"{self.settings.max_graceful_termination:.0f}s"
                )
            await asyncio.sleep(1.0)

    # -- status ------------------------------------------------------------------------------

    async def _status_event(self, type_: EventType, reason: str, message: str) -> None:
        status = core_pb2.ConfigMap()
        status.metadata.namespace = STATUS_NAMESPACE
        status.metadata.name = STATUS_NAME
        self.recorder.event(status, type_, reason, message)

    def status_text(self, now: float) -> str:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now))
        ready = sum(g.ready for g in self.state.groups.values())
        upcoming = sum(g.upcoming for g in self.state.groups.values())
        lines = [
            f"Cluster-autoscaler status at {stamp} UTC:",
            "Cluster-wide:",
            f"  Health:      Healthy (ready={ready} upcoming={upcoming} "
            f"registered={len(self.nodes)})",
            f"  ScaleUp:     {self.state.scale_up_status}",
            f"  ScaleDown:   {self.state.scale_down_status}",
            "",
            "NodeGroups:",
        ]
        for group in self.config.node_groups:
            state = self.state.groups.get(group.name, GroupState())
            lines += [
                f"  Name:        {group.name}",
                f"  Health:      Healthy (ready={state.ready} upcoming={state.upcoming} "
                f"target={state.ready + state.upcoming} minSize={group.min_size} "
                f"maxSize={group.max_size})",
                f"  LastEvent:   {state.last_event or 'none'}",
                "",
            ]
        unneeded = sorted(self.state.unneeded_since.items())
        if unneeded:
            lines.append("UnneededNodes:")
            lines += [f"  {name}: since {now - since:.0f}s" for name, since in unneeded]
        return "\n".join(lines).rstrip() + "\n"

    async def _publish_status(self, now: float) -> None:
        text = self.status_text(now)
        try:
            current = await self.client.get(core_pb2.ConfigMap, STATUS_NAME, STATUS_NAMESPACE)
        except errors.NotFound:
            status = core_pb2.ConfigMap()
            status.metadata.namespace = STATUS_NAMESPACE
            status.metadata.name = STATUS_NAME
            status.data["status"] = text
            try:
                await self.client.create(status)
            except errors.AlreadyExists:
                pass  # another writer was first; updated next pass
            except errors.NotFound:
                await self._ensure_namespace()
            return
        updated = copy.deepcopy(current)
        updated.data["status"] = text
        # On a conflict it is written again next pass.
        with contextlib.suppress(errors.Conflict):
            await self.client.update(updated)

    async def _ensure_namespace(self) -> None:
        namespace = core_pb2.Namespace()
        namespace.metadata.name = STATUS_NAMESPACE
        with contextlib.suppress(errors.AlreadyExists):
            await self.client.create(namespace)


def group_of(node: core_pb2.Node) -> str:
    return node.metadata.labels.get(GROUP_LABEL, "")

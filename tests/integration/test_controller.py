"""The controllers against a real API server, run in-process, with the test playing
scheduler and agent (binding pods and marking them ready itself)."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import time

import pytest

from controller.manager import ControllerManager, Options
from controller.nodelifecycle import (
    AGENT_FINALIZER,
    NODE_LEASE_NAMESPACE,
    UNREACHABLE_TAINT,
)
from corral.api import apps, errors
from corral.api.v1 import apps_pb2, coordination_pb2, core_pb2
from corral.client import LeaderElection
from corral.client.client import Client
from tests.integration.controller_harness import (
    FakeNodes,
    background,
    deployment,
    eventually,
    is_ready,
    live_pods,
    replica_set,
    running_and_ready,
    running_manager,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio]

# The node lifecycle controller acts on every node of the server; tests on the
# shared server leave it out so they cannot disturb nodes other tests made.
WORKLOAD_CONTROLLERS = ("replicaset", "deployment", "garbagecollector", "namespace")


async def replica_sets_of(client: Client, namespace: str, app: str) -> list[apps_pb2.ReplicaSet]:
    listed = await client.list(apps_pb2.ReplicaSet, namespace, label_selector=f"app={app}")
    return sorted(listed.items, key=lambda rs: rs.metadata.creation_timestamp.ToNanoseconds())


async def get_deployment(client: Client, namespace: str, name: str) -> apps_pb2.Deployment:
    return await client.get(apps_pb2.Deployment, name, namespace)


def condition(d: apps_pb2.Deployment, type_: str):
    return next((c for c in d.status.conditions if c.type == type_), None)


async def wait_rolled_out(client: Client, namespace: str, name: str, timeout: float = 30.0):
    async def done():
        d = await get_deployment(client, namespace, name)
        progressing = condition(d, apps.PROGRESSING)
        ok = (
            d.status.observed_generation >= d.metadata.generation
            and d.status.updated_replicas == d.spec.replicas
            and d.status.replicas == d.spec.replicas
            and d.status.available_replicas == d.spec.replicas
            and progressing is not None
            and progressing.reason == apps.NEW_RS_AVAILABLE
        )
        return d if ok else None

    return await eventually(done, timeout=timeout, what=f"deployment {name} rolled out")


async def set_image(client: Client, namespace: str, name: str, image: str) -> None:
    def change(d):
        d.spec.template.spec.containers[0].image = image

    await client.update_with_retry(apps_pb2.Deployment, name, namespace, change)


# -- ReplicaSet ---------------------------------------------------------------------------------


async def test_replicaset_keeps_exactly_its_replicas_and_replaces_deleted_pods(client, namespace):
    async with running_manager(client, controllers=WORKLOAD_CONTROLLERS), \
            background(FakeNodes(client, namespace).run()):
        rs = await client.create(replica_set("web", namespace, 3))

        async def count(n):
            pods = await live_pods(client, namespace, "app=web")
            return pods if len(pods) == n and all(is_ready(p) for p in pods) else None

        pods = await eventually(lambda: count(3), what="3 ready pods")
        for pod in pods:
            refs = pod.metadata.owner_references
            assert [(r.kind, r.name, r.uid, r.controller) for r in refs] == [
                ("ReplicaSet", "web", rs.metadata.uid, True)]

        async def status(ready):
            current = await client.get(apps_pb2.ReplicaSet, "web", namespace)
            s = current.status
            return (s.replicas, s.ready_replicas, s.available_replicas,
                    s.observed_generation == current.metadata.generation) == (ready, ready,
                                                                              ready, True)

        await eventually(lambda: status(3), what="status 3/3/3")

        victim = pods[0]
        await client.delete(core_pb2.Pod, victim.metadata.name, namespace)
        replaced = await eventually(lambda: count(3), what="a replacement pod")
        assert victim.metadata.name not in {p.metadata.name for p in replaced}

        await client.scale(apps_pb2.ReplicaSet, "web", namespace, 5)
        await eventually(lambda: count(5), what="5 pods")
        await client.scale(apps_pb2.ReplicaSet, "web", namespace, 1)
        await eventually(lambda: count(1), what="1 pod")
        await eventually(lambda: status(1), what="status 1/1/1")
        # No duplicates appear later (expectations kept a stale cache from creating twice).
        await asyncio.sleep(1.0)
        assert len(await live_pods(client, namespace, "app=web")) == 1


async def test_replicaset_adopts_matching_orphans_and_releases_pods_that_stop_matching(
    client, namespace
):
    orphan = core_pb2.Pod()
    orphan.metadata.name = "orphan"
    orphan.metadata.namespace = namespace
    orphan.metadata.labels["app"] = "web"
    orphan.spec.containers.add(name="main", image="app:1")
    await client.create(orphan)
    async with running_manager(client, controllers=WORKLOAD_CONTROLLERS):
        await client.create(replica_set("web", namespace, 2))

        async def two_owned():
            pods = await live_pods(client, namespace, "app=web")
            owned = [p for p in pods if p.metadata.owner_references]
            return pods if len(pods) == 2 and len(owned) == 2 else None

        pods = await eventually(two_owned, what="orphan adopted plus one new pod")
        assert "orphan" in {p.metadata.name for p in pods}

        def relabel(pod):
            pod.metadata.labels["app"] = "elsewhere"

        await client.update_with_retry(core_pb2.Pod, "orphan", namespace, relabel)

        async def released():
            pod = await client.get(core_pb2.Pod, "orphan", namespace)
            web = await live_pods(client, namespace, "app=web")
            return not pod.metadata.owner_references and len(web) == 2

        await eventually(released, what="orphan released and replaced")


# -- Deployment ---------------------------------------------------------------------------------


async def test_deployment_rolls_out_with_max_unavailable_zero_never_below_desired_ready(
    client, namespace
):
    async with running_manager(client, controllers=WORKLOAD_CONTROLLERS), \
            background(FakeNodes(client, namespace).run()):
        await client.create(deployment("web", namespace, replicas=3, max_surge="1",
                                       max_unavailable="0"))
        first = await wait_rolled_out(client, namespace, "web")
        assert first.metadata.annotations[apps.REVISION_ANNOTATION] == "1"
        assert condition(first, apps.AVAILABLE).status == "True"

        samples: list[int] = []

        async def sample():
            while True:
                pods = await live_pods(client, namespace, "app=web")
                samples.append(sum(is_ready(p) for p in pods))
                await asyncio.sleep(0.02)

        async with background(sample()):
            await set_image(client, namespace, "web", "app:2")
            done = await wait_rolled_out(client, namespace, "web")
        assert samples and min(samples) >= 3, f"ready pods dropped to {min(samples)}"
        assert done.metadata.annotations[apps.REVISION_ANNOTATION] == "2"
        sets = await replica_sets_of(client, namespace, "web")
        assert [(rs.spec.replicas, rs.metadata.annotations[apps.REVISION_ANNOTATION])
                for rs in sets] == [(0, "1"), (3, "2")]
        new = sets[1]
        template_hash = new.spec.template.metadata.labels[apps.POD_TEMPLATE_HASH_LABEL]
        assert new.metadata.name == f"web-{template_hash}"
        pods = await live_pods(client, namespace, "app=web")
        assert len(pods) == 3
        assert {p.spec.containers[0].image for p in pods} == {"app:2"}

        async def scaling_events():
            events = (await client.list(core_pb2.Event, namespace)).items
            return [e for e in events if e.reason == "ScalingReplicaSet"
                    and e.involved_object.name == "web"]

        assert await eventually(scaling_events, what="ScalingReplicaSet events")


async def test_broken_rollout_exceeds_its_deadline_and_undo_restores_it(client, namespace):
    from corral.cli.rollout import undo_deployment

    async with running_manager(client, controllers=WORKLOAD_CONTROLLERS), \
            background(FakeNodes(client, namespace).run()):
        await client.create(deployment("web", namespace, replicas=3, progress_deadline=3))
        await wait_rolled_out(client, namespace, "web")
        await set_image(client, namespace, "web", "broken:1")

        async def timed_out():
            d = await get_deployment(client, namespace, "web")
            c = condition(d, apps.PROGRESSING)
            return d if c is not None and c.reason == apps.TIMED_OUT else None

        stuck = await eventually(timed_out, timeout=20, what="ProgressDeadlineExceeded")
        assert condition(stuck, apps.PROGRESSING).status == "False"
        # maxUnavailable 0: the old pods kept serving the whole time.
        assert sum(is_ready(p) for p in await live_pods(client, namespace, "app=web")) == 3

        message = await undo_deployment(client, namespace, "web", to_revision=0)
        assert "rolled back" in message
        done = await wait_rolled_out(client, namespace, "web")
        assert done.spec.template.spec.containers[0].image == "app:1"
        assert done.metadata.annotations[apps.REVISION_ANNOTATION] == "3"
        pods = await live_pods(client, namespace, "app=web")
        assert sorted(p.spec.containers[0].image for p in pods) == ["app:1"] * 3


async def test_scaling_a_paused_rollout_spreads_replicas_proportionally(client, namespace):
    async with running_manager(client, controllers=WORKLOAD_CONTROLLERS), \
            background(FakeNodes(client, namespace).run()):
        await client.create(deployment("web", namespace, replicas=10, max_surge="25%",
                                       max_unavailable="25%"))
        await wait_rolled_out(client, namespace, "web")
        await set_image(client, namespace, "web", "broken:1")

        async def sizes(expected):
            sets = await replica_sets_of(client, namespace, "web")
            got = [rs.spec.replicas for rs in sets]
            return got if got == expected else None

        # surge 3, unavailable 2: old goes down to 8, new (never ready) grows to 5.
        await eventually(lambda: sizes([8, 5]), what="rollout stuck at 8 old + 5 new")

        def pause(d):
            d.spec.paused = True

        await client.update_with_retry(apps_pb2.Deployment, "web", namespace, pause)
        await client.scale(apps_pb2.Deployment, "web", namespace, 20)
        # 20 + 5 surge = 25, each keeping its share of the 13 they were sized for:
        # 8 * 25/13 = 15.4 -> 15 and 5 * 25/13 = 9.6 -> 10.
        await eventually(lambda: sizes([15, 10]), what="proportional 15 + 10")
        d = await get_deployment(client, namespace, "web")
        assert condition(d, apps.PROGRESSING).reason == apps.PAUSED


async def test_recreate_deletes_every_old_pod_before_creating_new_ones(client, namespace):
    async with running_manager(client, controllers=WORKLOAD_CONTROLLERS), \
            background(FakeNodes(client, namespace).run()):
        await client.create(deployment("web", namespace, replicas=2, strategy="Recreate"))
        await wait_rolled_out(client, namespace, "web")
        mixed = []

        async def sample():
            while True:
                pods = await live_pods(client, namespace, "app=web")
                images = {p.spec.containers[0].image for p in pods}
                if len(images) > 1:
                    mixed.append(images)
                await asyncio.sleep(0.02)

        async with background(sample()):
            await set_image(client, namespace, "web", "app:2")
            await wait_rolled_out(client, namespace, "web")
        assert not mixed


async def test_revision_history_is_limited(client, namespace):
    async with running_manager(client, controllers=WORKLOAD_CONTROLLERS), \
            background(FakeNodes(client, namespace).run()):
        await client.create(deployment("web", namespace, replicas=1, history=1))
        await wait_rolled_out(client, namespace, "web")
        for image in ("app:2", "app:3", "app:4"):
            await set_image(client, namespace, "web", image)
            await wait_rolled_out(client, namespace, "web")

        async def two_left():
            sets = await replica_sets_of(client, namespace, "web")
            revisions = sorted(int(rs.metadata.annotations[apps.REVISION_ANNOTATION])
                               for rs in sets)
            return revisions if revisions == [3, 4] else None

        await eventually(two_left, what="only revisions 3 and 4 left")


async def test_controller_restarted_mid_rollout_finishes_with_exactly_the_right_count(
    client, namespace
):
    async with background(FakeNodes(client, namespace, period=0.3).run()):
        async with running_manager(client, controllers=WORKLOAD_CONTROLLERS):
            await client.create(deployment("web", namespace, replicas=6, max_surge="2",
                                           max_unavailable="1"))
            await wait_rolled_out(client, namespace, "web")
            await set_image(client, namespace, "web", "app:2")

            async def started():
                pods = await live_pods(client, namespace, "app=web")
                return any(p.spec.containers[0].image == "app:2" for p in pods)

            await eventually(started, what="the rollout to start")
        # Stopped mid-rollout; a fresh manager (fresh caches, no expectations) takes over.
        async with running_manager(client, controllers=WORKLOAD_CONTROLLERS):
            await wait_rolled_out(client, namespace, "web", timeout=60)
            await asyncio.sleep(1.0)
        pods = await live_pods(client, namespace, "app=web")
        assert sorted(p.spec.containers[0].image for p in pods) == ["app:2"] * 6


# -- garbage collection and namespaces ------------------------------------------------------


@pytest.mark.parametrize("policy", ["Background", "Foreground"])
async def test_deleting_a_deployment_deletes_its_replica_sets_and_pods(client, namespace, policy):
    async with running_manager(client, controllers=WORKLOAD_CONTROLLERS), \
            background(FakeNodes(client, namespace).run()):
        await client.create(deployment("web", namespace, replicas=3))
        await wait_rolled_out(client, namespace, "web")
        await client.delete(apps_pb2.Deployment, "web", namespace, propagation_policy=policy)
        if policy == "Foreground":
            # The owner waits, marked, until its dependents are gone.
            d = await client.get(apps_pb2.Deployment, "web", namespace)
            assert "foregroundDeletion" in d.metadata.finalizers

        async def all_gone():
            sets = await replica_sets_of(client, namespace, "web")
            pods = (await client.list(core_pb2.Pod, namespace)).items
            deployments = (await client.list(apps_pb2.Deployment, namespace)).items
            return not sets and not pods and not deployments

        await eventually(all_gone, what="deployment, replica sets and pods gone")


async def test_orphan_deletion_keeps_the_dependents_without_owner(client, namespace):
    async with running_manager(client, controllers=WORKLOAD_CONTROLLERS), \
            background(FakeNodes(client, namespace).run()):
        await client.create(replica_set("web", namespace, 2))
        await eventually(lambda: _count(client, namespace, 2), what="2 pods")
        await client.delete(apps_pb2.ReplicaSet, "web", namespace, propagation_policy="Orphan")

        async def orphaned():
            sets = (await client.list(apps_pb2.ReplicaSet, namespace)).items
            pods = await live_pods(client, namespace, "app=web")
            return not sets and len(pods) == 2 and all(
                not p.metadata.owner_references for p in pods)

        await eventually(orphaned, what="replica set gone, pods kept without owner")


async def _count(client, namespace, n):
    return len(await live_pods(client, namespace, "app=web")) == n


async def test_deleting_a_namespace_deletes_everything_in_it(client):
    ns = core_pb2.Namespace()
    ns.metadata.name = f"doomed-{int(time.time() * 1000) % 100000}"
    await client.create(ns)
    name = ns.metadata.name
    async with running_manager(client, controllers=WORKLOAD_CONTROLLERS), \
            background(FakeNodes(client, name).run()):
        await client.create(deployment("web", name, replicas=2))
        cm = core_pb2.ConfigMap()
        cm.metadata.name = "settings"
        cm.metadata.namespace = name
        await client.create(cm)
        await wait_rolled_out(client, name, "web")
        await client.delete(core_pb2.Namespace, name)

        async def gone():
            try:
                await client.get(core_pb2.Namespace, name)
            except errors.NotFound:
                return True
            return False

        await eventually(gone, what=f"namespace {name} gone")
        assert not (await client.list(core_pb2.Pod, name)).items


# -- node lifecycle -----------------------------------------------------------------------------


async def _ready_node(client: Client, name: str) -> None:
    node = core_pb2.Node()
    node.metadata.name = name
    node.status.capacity["cpu"] = "4"
    node.status.capacity["pods"] = "110"
    created = await client.create(node)
    ready = copy.deepcopy(created)
    cond = ready.status.conditions.add(type="Ready", status="True", reason="AgentReady")
    cond.last_transition_time.FromSeconds(int(time.time()))
    await client.update_status(ready)


async def _renew(client: Client, name: str) -> None:
    def renew(lease):
        lease.spec.renew_time.FromNanoseconds(time.time_ns())

    try:
        await client.update_with_retry(coordination_pb2.Lease, name, NODE_LEASE_NAMESPACE, renew)
    except errors.NotFound:
        lease = coordination_pb2.Lease()
        lease.metadata.name = name
        lease.metadata.namespace = NODE_LEASE_NAMESPACE
        lease.spec.holder_identity = name
        lease.spec.lease_duration_seconds = 40
        lease.spec.renew_time.FromNanoseconds(time.time_ns())
        await client.create(lease)


async def test_silent_node_goes_unknown_its_pods_unready_then_evicted_and_replaced(
    private_apiserver,
):
    async with Client(private_apiserver.address) as client:
        ns = core_pb2.Namespace()
        ns.metadata.name = "apps"
        await client.create(ns)  # corral-node-lease exists from the API server's first start
        await _ready_node(client, "quiet")
        await _renew(client, "quiet")
        rs = replica_set("web", "apps", 1)
        rs.spec.template.metadata.finalizers.append(AGENT_FINALIZER)  # as the agent would
        async with running_manager(client, node_monitor_grace_period=2.0,
                                   pod_eviction_timeout=2.0, node_monitor_period=0.5):
            await client.create(rs)
            pods = await eventually(lambda: live_pods(client, "apps"), what="a pod")
            pod = pods[0]
            await client.bind([("apps", pod.metadata.name, "quiet", pod.metadata.uid)])
            await client.update_status(running_and_ready(
                await client.get(core_pb2.Pod, pod.metadata.name, "apps")))
            silent_since = time.monotonic()

            async def unknown_and_unready():
                node = await client.get(core_pb2.Node, "quiet")
                ready = next(c for c in node.status.conditions if c.type == "Ready")
                tainted = any(t.key == UNREACHABLE_TAINT and t.effect == "NoExecute"
                              for t in node.spec.taints)
                current = await client.get(core_pb2.Pod, pod.metadata.name, "apps")
                return ready.status == "Unknown" and tainted and not is_ready(current)

            await eventually(unknown_and_unready, timeout=10, what="node Unknown, pod not ready")

            async def evicted_and_replaced():
                names = {p.metadata.name for p in (await client.list(core_pb2.Pod, "apps")).items}
                return pod.metadata.name not in names and len(names) == 1

            await eventually(evicted_and_replaced, timeout=15, what="pod evicted and replaced")
            # grace (2 s) + eviction timeout (2 s) + monitor period slack.
            assert time.monotonic() - silent_since < 10

            # The agent comes back: Ready again, and the taint goes.
            await _renew(client, "quiet")

            def agent_ready(node):
                for c in node.status.conditions:
                    if c.type == "Ready":
                        c.status = "True"
                        c.reason = "AgentReady"

            await client.update_with_retry(core_pb2.Node, "quiet", "", agent_ready, status=True)

            async def untainted():
                node = await client.get(core_pb2.Node, "quiet")
                return not any(t.key == UNREACHABLE_TAINT for t in node.spec.taints)

            await eventually(untainted, timeout=10, what="taint removed")


async def test_only_the_leader_acts_and_a_standby_takes_over(client, namespace):
    def options(identity: str) -> Options:
        return Options(controllers=WORKLOAD_CONTROLLERS, election=LeaderElection(
            lease_name=f"controller-test-{namespace}", identity=identity, lease_duration=3.0,
            renew_deadline=2.0, retry_period=0.5))

    first = ControllerManager(client, options("first"))
    second = ControllerManager(client, options("second"))
    async with background(FakeNodes(client, namespace).run()), \
            background(first.run()) as first_task:
        await asyncio.wait_for(first.ready.wait(), 30)
        async with background(second.run()):
            await asyncio.sleep(2.0)
            assert not second.ready.is_set()
            await client.create(replica_set("web", namespace, 2))
            await eventually(lambda: _count(client, namespace, 2), what="2 pods from the leader")
            # The leader stops (releasing its lease); the standby takes over.
            first_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await first_task
            await asyncio.wait_for(second.ready.wait(), 10)
            await client.scale(apps_pb2.ReplicaSet, "web", namespace, 3)
            await eventually(lambda: _count(client, namespace, 3),
                             what="3 pods from the new leader")

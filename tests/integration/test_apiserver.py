"""The API server against real etcd, over real gRPC: every verb, concurrency,
watches, pagination, admission, and etcd going away."""

from __future__ import annotations

import asyncio
import contextlib
import urllib.request
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from corral.api import errors
from corral.api.v1 import apps_pb2, core_pb2
from corral.client.client import Client, WatchEvent
from tests.apiserver_process import ApiServerProcess
from tests.etcd_container import EtcdContainer, free_local_port

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="function")]


def make_pod(name: str, namespace: str, **labels: str) -> core_pb2.Pod:
    pod = core_pb2.Pod()
    pod.metadata.name = name
    pod.metadata.namespace = namespace
    pod.metadata.labels.update(labels)
    pod.spec.containers.add(name="app", image="corral/busybox:1")
    return pod


def make_deployment(name: str, namespace: str, replicas: int = 2) -> apps_pb2.Deployment:
    deploy = apps_pb2.Deployment()
    deploy.metadata.name = name
    deploy.metadata.namespace = namespace
    deploy.spec.replicas = replicas
    deploy.spec.selector.match_labels["app"] = name
    deploy.spec.template.metadata.labels["app"] = name
    deploy.spec.template.spec.containers.add(name="app", image="corral/busybox:1")
    return deploy


async def collect(
    events: asyncio.Queue[WatchEvent], count: int, timeout: float = 10
) -> list[WatchEvent]:
    got = []
    for _ in range(count):
        got.append(await asyncio.wait_for(events.get(), timeout))
    return got


@contextlib.asynccontextmanager
async def watching(client: Client, kind: str, **options: Any):
    """Runs a watch in the background, its events in a queue."""
    queue: asyncio.Queue[WatchEvent] = asyncio.Queue()
    failure: list[BaseException] = []

    async def pump() -> None:
        try:
            async for event in client.watch(kind, **options):
                await queue.put(event)
        except errors.ApiError as error:
            failure.append(error)

    task = asyncio.create_task(pump())
    await asyncio.sleep(0.2)  # the watch is registered
    try:
        yield queue
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


# ------------------------------------------------------------------ bootstrap


async def test_default_and_system_namespaces_exist_after_first_start(client: Client) -> None:
    names = {ns.metadata.name for ns in (await client.list("Namespace")).items}
    assert {"default", "corral-system", "corral-node-lease"} <= names


async def test_health_and_reflection_serve_generic_grpc_tools(apiserver: ApiServerProcess) -> None:
    async with grpc.aio.insecure_channel(apiserver.address) as channel:
        health = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service="corral.v1.Api")
        )
        assert health.status == health_pb2.HealthCheckResponse.SERVING
        stream = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")])
        )
        async for reply in stream:
            services = {s.name for s in reply.list_services_response.service}
            break
    assert "corral.v1.Api" in services and "grpc.health.v1.Health" in services


# ---------------------------------------------------------------------- verbs


async def test_create_fills_server_fields_and_defaults(client: Client, namespace: str) -> None:
    pod = await client.create(make_pod("web", namespace))
    assert pod.metadata.uid and int(pod.metadata.resource_version) > 0
    assert pod.metadata.generation == 1
    assert pod.metadata.creation_timestamp.seconds > 0
    assert pod.spec.restart_policy == "Always"
    assert pod.status.phase == "Pending"
    fetched = await client.get("Pod", "web", namespace)
    assert fetched == pod


async def test_create_twice_is_already_exists(client: Client, namespace: str) -> None:
    await client.create(make_pod("web", namespace))
    with pytest.raises(errors.AlreadyExists, match=f'Pod "{namespace}/web" already exists'):
        await client.create(make_pod("web", namespace))


async def test_generate_name_gives_unique_names(client: Client, namespace: str) -> None:
    pod = make_pod("", namespace)
    pod.metadata.generate_name = "web-"
    names = {(await client.create(pod)).metadata.name for _ in range(5)}
    assert len(names) == 5 and all(n.startswith("web-") for n in names)


async def test_get_missing_is_not_found(client: Client, namespace: str) -> None:
    with pytest.raises(errors.NotFound, match=f'Pod "{namespace}/nope" not found'):
        await client.get("Pod", "nope", namespace)


async def test_update_keeps_status_and_bumps_generation_only_on_spec_change(
    client: Client, namespace: str
) -> None:
    deploy = await client.create(make_deployment("web", namespace))
    deploy.status.replicas = 7  # ignored: status goes through UpdateStatus
    deploy.metadata.labels["tier"] = "front"
    labelled = await client.update(deploy)
    assert labelled.metadata.generation == 1 and labelled.status.replicas == 0
    labelled.spec.replicas = 5
    scaled = await client.update(labelled)
    assert scaled.metadata.generation == 2
    assert int(scaled.metadata.resource_version) > int(labelled.metadata.resource_version)


async def test_update_with_nothing_changed_writes_nothing(client: Client, namespace: str) -> None:
    pod = await client.create(make_pod("web", namespace))
    again = await client.update(pod)
    assert again.metadata.resource_version == pod.metadata.resource_version


async def test_update_with_stale_resource_version_is_aborted(
    client: Client, namespace: str
) -> None:
    pod = await client.create(make_pod("web", namespace))
    pod.metadata.labels["a"] = "1"
    await client.update(pod)
    pod.metadata.labels["a"] = "2"
    with pytest.raises(errors.Conflict, match="stale"):
        await client.update(pod)


async def test_update_status_changes_only_status(client: Client, namespace: str) -> None:
    pod = await client.create(make_pod("web", namespace))
    pod.status.phase = "Running"
    pod.spec.containers[0].image = "other"  # ignored by UpdateStatus
    updated = await client.update_status(pod)
    assert updated.status.phase == "Running"
    assert updated.spec.containers[0].image == "corral/busybox:1"


async def test_twenty_concurrent_updaters_lose_no_update(client: Client, namespace: str) -> None:
    """Each updater increments a counter by read-modify-write; a stale write
    is refused, so every increment lands exactly once."""
    cm = core_pb2.ConfigMap()
    cm.metadata.name = "counter"
    cm.metadata.namespace = namespace
    cm.data["n"] = "0"
    await client.create(cm)
    revisions_won: list[str] = []

    async def increment() -> None:
        while True:
            current = await client.get("ConfigMap", "counter", namespace)
            current.data["n"] = str(int(current.data["n"]) + 1)
            try:
                written = await client.update(current)
            except errors.Conflict:
                continue
            revisions_won.append(current.metadata.resource_version)
            assert int(written.metadata.resource_version) > int(current.metadata.resource_version)
            return

    await asyncio.gather(*(increment() for _ in range(20)))
    final = await client.get("ConfigMap", "counter", namespace)
    assert final.data["n"] == "20"
    # Exactly one writer won from each revision it read.
    assert len(revisions_won) == len(set(revisions_won)) == 20


async def test_delete_without_finalizers_removes_at_once(client: Client, namespace: str) -> None:
    await client.create(make_pod("web", namespace))
    await client.delete("Pod", "web", namespace)
    with pytest.raises(errors.NotFound):
        await client.get("Pod", "web", namespace)


async def test_delete_with_finalizer_waits_until_finalizers_are_empty(
    client: Client, namespace: str
) -> None:
    pod = make_pod("web", namespace)
    pod.metadata.finalizers.append("corral.io/test")
    await client.create(pod)
    deleted = await client.delete("Pod", "web", namespace, grace_period_seconds=5)
    assert deleted.metadata.HasField("deletion_timestamp")
    assert deleted.metadata.deletion_grace_period_seconds == 5
    still = await client.get("Pod", "web", namespace)
    del still.metadata.finalizers[:]
    await client.update(still)
    with pytest.raises(errors.NotFound):
        await client.get("Pod", "web", namespace)


async def test_delete_preconditions_refuse_a_replaced_object(
    client: Client, namespace: str
) -> None:
    await client.create(make_pod("web", namespace))
    with pytest.raises(errors.Conflict, match="uid"):
        await client.delete("Pod", "web", namespace, uid="not-the-uid")


async def test_foreground_delete_adds_the_foreground_finalizer(
    client: Client, namespace: str
) -> None:
    await client.create(make_deployment("web", namespace))
    deleted = await client.delete("Deployment", "web", namespace, propagation_policy="Foreground")
    assert "foregroundDeletion" in deleted.metadata.finalizers
    assert deleted.metadata.HasField("deletion_timestamp")


async def test_bind_sets_node_once_and_refuses_a_second_bind(
    client: Client, namespace: str
) -> None:
    pod = await client.create(make_pod("web", namespace))
    results = await client.bind([(namespace, "web", "node-1", pod.metadata.uid)])
    assert results == [None]
    bound = await client.get("Pod", "web", namespace)
    assert bound.spec.node_name == "node-1"
    assert any(c.type == "PodScheduled" and c.status == "True" for c in bound.status.conditions)
    again = await client.bind([(namespace, "web", "node-2", "")])
    assert isinstance(again[0], errors.FailedPrecondition)
    assert "already bound to node node-1" in str(again[0])


async def test_bind_in_a_batch_binds_each_pod_alone(client: Client, namespace: str) -> None:
    for i in range(3):
        await client.create(make_pod(f"p{i}", namespace))
    results = await client.bind(
        [(namespace, "p0", "n1", ""), (namespace, "missing", "n1", ""), (namespace, "p2", "n2", "")]
    )
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], errors.NotFound)


async def test_pod_node_name_cannot_change_through_update(client: Client, namespace: str) -> None:
    await client.create(make_pod("web", namespace))
    await client.bind([(namespace, "web", "n1", "")])
    pod = await client.get("Pod", "web", namespace)
    pod.spec.node_name = "n2"
    with pytest.raises(errors.Invalid):
        await client.update(pod)


async def test_scale_reads_and_sets_replicas(client: Client, namespace: str) -> None:
    await client.create(make_deployment("web", namespace, replicas=2))
    scale = await client.scale("Deployment", "web", namespace)
    assert scale.replicas == 2 and scale.selector == "app=web"
    scale = await client.scale("deploy", "web", namespace, replicas=5)
    assert scale.replicas == 5
    deploy = await client.get("Deployment", "web", namespace)
    assert deploy.spec.replicas == 5 and deploy.metadata.generation == 2


async def test_scale_refuses_kinds_without_replicas(client: Client, namespace: str) -> None:
    await client.create(make_pod("web", namespace))
    with pytest.raises(errors.Invalid, match="cannot be scaled"):
        await client.scale("Pod", "web", namespace, replicas=2)


async def test_server_info_reports_versions(client: Client) -> None:
    info = await client.server_info()
    assert info.etcd_version.startswith("3.") and int(info.revision) > 0


# ---------------------------------------------------------------------- lists


async def test_list_filters_by_namespace_labels_and_fields(client: Client, namespace: str) -> None:
    other = f"{namespace}-b"
    ns = core_pb2.Namespace()
    ns.metadata.name = other
    await client.create(ns)
    await client.create(make_pod("a", namespace, app="web", tier="front"))
    await client.create(make_pod("b", namespace, app="web", tier="back"))
    await client.create(make_pod("c", namespace, app="db"))
    await client.create(make_pod("d", other, app="web"))
    await client.bind([(namespace, "b", "n1", "")])

    async def names(**options: Any) -> list[str]:
        return sorted(p.metadata.name for p in (await client.list("Pod", **options)).items)

    assert await names(namespace=namespace) == ["a", "b", "c"]
    assert await names(namespace=namespace, label_selector="app=web") == ["a", "b"]
    assert await names(namespace=namespace, label_selector="app in (web,db),tier!=front") == [
        "b",
        "c",
    ]
    assert await names(namespace=namespace, label_selector="!tier") == ["c"]
    assert await names(namespace=namespace, field_selector="spec.nodeName=n1") == ["b"]
    assert await names(namespace=namespace, field_selector="metadata.name=c") == ["c"]
    assert await names(namespace=namespace, field_selector="status.phase=Pending") == [
        "a",
        "b",
        "c",
    ]
    all_web = await names(label_selector="app=web")
    assert "d" in all_web and "a" in all_web


async def test_list_with_a_bad_selector_names_the_selector(client: Client) -> None:
    with pytest.raises(errors.Invalid, match=r"^labelSelector: "):
        await client.list("Pod", label_selector="app in (a")
    with pytest.raises(errors.Invalid, match=r"^fieldSelector: .*spec.bogus"):
        await client.list("Pod", field_selector="spec.bogus=1")


async def test_pagination_over_a_thousand_objects_returns_each_once(
    client: Client, namespace: str
) -> None:
    async def make(i: int) -> None:
        cm = core_pb2.ConfigMap()
        cm.metadata.name = f"cm-{i:04d}"
        cm.metadata.namespace = namespace
        cm.data["i"] = str(i)
        await client.create(cm)

    for start in range(0, 1000, 100):
        await asyncio.gather(*(make(i) for i in range(start, start + 100)))
    seen: list[str] = []
    token, pages, revision = "", 0, ""
    while True:
        page = await client.list("ConfigMap", namespace, limit=128, continue_=token)
        pages += 1
        revision = revision or page.resource_version
        assert page.resource_version == revision  # every page is read at one revision
        seen += [cm.metadata.name for cm in page.items]
        token = page.continue_
        if not token:
            break
    assert pages == 8
    assert seen == [f"cm-{i:04d}" for i in range(1000)]
    everything = await client.list("ConfigMap", namespace)
    assert len(everything.items) == 1000


async def test_a_garbled_continue_token_is_invalid(client: Client) -> None:
    with pytest.raises(errors.Invalid, match=r"^continue: "):
        await client.list("Pod", limit=5, continue_="garbage!")


# -------------------------------------------------------------------- watches


async def test_watch_delivers_added_modified_deleted_in_order(
    client: Client, namespace: str
) -> None:
    async with watching(client, "Pod", namespace=namespace) as events:
        pod = await client.create(make_pod("web", namespace))
        pod.metadata.labels["x"] = "y"
        await client.update(pod)
        await client.delete("Pod", "web", namespace)
        got = await collect(events, 3)
    assert [e.type for e in got] == ["ADDED", "MODIFIED", "DELETED"]
    assert all(e.object is not None and e.object.metadata.name == "web" for e in got)
    revisions = [int(e.resource_version) for e in got]
    assert revisions == sorted(revisions)
    assert got[1].object.metadata.labels["x"] == "y"


async def test_watch_from_a_resource_version_replays_what_came_after(
    client: Client, namespace: str
) -> None:
    first = await client.create(make_pod("a", namespace))
    await client.create(make_pod("b", namespace))
    await client.create(make_pod("c", namespace))
    async with watching(
        client, "Pod", namespace=namespace, resource_version=first.metadata.resource_version
    ) as events:
        got = await collect(events, 2)
    assert [e.object.metadata.name for e in got] == ["b", "c"]


async def test_watch_with_a_field_selector_sees_pods_arrive_and_leave(
    client: Client, namespace: str
) -> None:
    """The agent's watch: a pod bound to its node is ADDED for it."""
    await client.create(make_pod("web", namespace))
    async with watching(
        client, "Pod", namespace=namespace, field_selector="spec.nodeName=node-7"
    ) as events:
        await client.bind([(namespace, "web", "node-7", "")])
        await client.delete("Pod", "web", namespace)
        got = await collect(events, 2)
    assert [e.type for e in got] == ["ADDED", "DELETED"]


async def test_watch_with_a_label_selector_turns_relabelling_into_add_and_delete(
    client: Client, namespace: str
) -> None:
    pod = await client.create(make_pod("web", namespace, app="web"))
    async with watching(client, "Pod", namespace=namespace, label_selector="app=web") as events:
        pod.metadata.labels["app"] = "other"
        pod = await client.update(pod)
        pod.metadata.labels["app"] = "web"
        await client.update(pod)
        got = await collect(events, 2)
    assert [e.type for e in got] == ["DELETED", "ADDED"]


async def test_watch_sends_bookmarks_when_asked(etcd: EtcdContainer) -> None:
    with ApiServerProcess(etcd.endpoint, extra_args=("--bookmark-interval", "0.3")) as server:
        async with (
            Client(server.address) as api,
            watching(api, "Namespace", allow_bookmarks=True) as events,
        ):
            event = await asyncio.wait_for(events.get(), 5)
    assert event.type == "BOOKMARK" and int(event.resource_version) > 0


async def test_hundreds_of_watchers_share_one_etcd_watch(client: Client, namespace: str) -> None:
    tasks = []
    queues = []
    for _ in range(200):
        queue: asyncio.Queue[WatchEvent] = asyncio.Queue()
        queues.append(queue)

        async def pump(q: asyncio.Queue[WatchEvent] = queue) -> None:
            async for event in client.watch("Pod", namespace):
                await q.put(event)

        tasks.append(asyncio.create_task(pump()))
    await asyncio.sleep(1.0)
    await client.create(make_pod("web", namespace))
    try:
        for queue in queues:
            event = await asyncio.wait_for(queue.get(), 10)
            assert event.type == "ADDED"
    finally:
        for task in tasks:
            task.cancel()


# ------------------------------------------------------------------ admission


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda p: setattr(p.metadata, "name", "Web_1"), "metadata.name"),
        (lambda p: p.spec.ClearField("containers"), "spec.containers"),
        (lambda p: setattr(p.spec.containers[0], "image", ""), "spec.containers[0].image"),
        (
            lambda p: p.spec.containers[0].ports.add(container_port=70000),
            "spec.containers[0].ports[0].containerPort",
        ),
        (lambda p: setattr(p.spec, "restart_policy", "Sometimes"), "spec.restartPolicy"),
        (
            lambda p: p.spec.containers[0].resources.requests.update({"cpu": "lots"}),
            "spec.containers[0].resources.requests[cpu]",
        ),
        (lambda p: p.metadata.labels.update({"bad key!": "x"}), "metadata.labels"),
        (
            lambda p: p.spec.tolerations.add(key="k", operator="Sometimes"),
            "spec.tolerations[0].operator",
        ),
    ],
)
async def test_invalid_pods_are_refused_naming_the_field(
    client: Client, namespace: str, mutate, field: str
) -> None:
    pod = make_pod("web", namespace)
    mutate(pod)
    with pytest.raises(errors.Invalid) as raised:
        await client.create(pod)
    assert str(raised.value).startswith(field), str(raised.value)
    assert (await client.list("Pod", namespace)).items == []  # nothing was written


async def test_deployment_selector_must_match_template(client: Client, namespace: str) -> None:
    deploy = make_deployment("web", namespace)
    deploy.spec.template.metadata.labels["app"] = "other"
    with pytest.raises(errors.Invalid, match="selector"):
        await client.create(deploy)


async def test_objects_over_one_mebibyte_are_refused(client: Client, namespace: str) -> None:
    cm = core_pb2.ConfigMap()
    cm.metadata.name = "big"
    cm.metadata.namespace = namespace
    cm.data["blob"] = "x" * (1024 * 1024 + 10)
    with pytest.raises(errors.Invalid, match="1 MiB"):
        await client.create(cm)


async def test_create_in_a_missing_namespace_is_refused(client: Client) -> None:
    with pytest.raises(errors.Invalid, match=r'^metadata\.namespace: namespace "no-such-ns"'):
        await client.create(make_pod("web", "no-such-ns"))


async def test_deleting_a_namespace_marks_it_terminating_and_closes_it(
    client: Client, namespace: str
) -> None:
    deleted = await client.delete("Namespace", namespace)
    assert deleted.status.phase == "Terminating"
    assert (await client.get("Namespace", namespace)).metadata.HasField("deletion_timestamp")
    with pytest.raises(errors.Invalid, match="being terminated"):
        await client.create(make_pod("web", namespace))


# ------------------------------------------------------- etcd and compaction


async def test_watch_from_a_compacted_revision_is_expired_and_relist_works(
    private_etcd: EtcdContainer, private_apiserver: ApiServerProcess
) -> None:
    async with Client(private_apiserver.address) as api:
        first = await api.create(make_pod("a", "default"))
        last: Message = first
        for i in range(30):
            cm = core_pb2.ConfigMap()
            cm.metadata.name = f"cm{i}"
            cm.metadata.namespace = "default"
            last = await api.create(cm)
        etcd = private_etcd.client()
        etcd.compact(int(last.metadata.resource_version))
        etcd.close()
        private_apiserver.restart()  # a fresh cache cannot replay past the compaction
        with pytest.raises(errors.Expired, match="too old"):
            async for _ in api.watch(
                "Pod", "default", resource_version=first.metadata.resource_version
            ):
                break
        relisted = await api.list("Pod", "default")
        assert [p.metadata.name for p in relisted.items] == ["a"]
        async with watching(
            api, "Pod", namespace="default", resource_version=relisted.resource_version
        ) as events:
            await api.create(make_pod("b", "default"))
            (event,) = await collect(events, 1)
        assert event.object.metadata.name == "b"


async def test_a_watch_resumes_across_an_api_server_restart_without_gaps_or_repeats(
    private_apiserver: ApiServerProcess,
) -> None:
    async with Client(private_apiserver.address) as api:
        await api.create(make_pod("a", "default"))
        seen = await api.get("Pod", "a", "default")
        private_apiserver.restart()
        await api.create(make_pod("b", "default"))
        await api.create(make_pod("c", "default"))
        async with watching(
            api, "Pod", namespace="default", resource_version=seen.metadata.resource_version
        ) as events:
            got = await collect(events, 2)
            await asyncio.sleep(0.3)
            assert events.empty()
    assert [e.object.metadata.name for e in got] == ["b", "c"]


async def test_etcd_down_means_unavailable_and_watches_resume_after(
    private_etcd: EtcdContainer, private_apiserver: ApiServerProcess
) -> None:
    async with Client(private_apiserver.address, retries=0, timeout=5) as api:
        await api.create(make_pod("before", "default"))
        async with watching(api, "Pod", namespace="default") as events:
            private_etcd.stop()
            with pytest.raises(errors.Unavailable, match="etcd"):
                await api.create(make_pod("during", "default"))
            private_etcd.start_again()
            for _ in range(100):
                try:
                    await api.create(make_pod("after", "default"))
                    break
                except errors.Unavailable:
                    await asyncio.sleep(0.2)
            got = await collect(events, 1, timeout=20)
            await asyncio.sleep(0.5)
            assert events.empty()
        assert [e.object.metadata.name for e in got] == ["after"]
        assert private_apiserver.process is not None and private_apiserver.process.poll() is None


async def test_metrics_count_requests_by_kind_verb_and_code(etcd: EtcdContainer) -> None:
    port = free_local_port()
    metrics_listen = ("--metrics-listen", f"127.0.0.1:{port}")
    with ApiServerProcess(etcd.endpoint, extra_args=metrics_listen) as server:
        async with Client(server.address) as api:
            await api.list("Pod")
            with contextlib.suppress(errors.NotFound):
                await api.get("Pod", "no-such-pod")
            async with watching(api, "Pod"):
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
                    text = reply.read().decode()
    assert 'corral_apiserver_requests_total{code="OK",kind="Pod",verb="List"}' in text
    assert 'corral_apiserver_requests_total{code="NOT_FOUND",kind="Pod",verb="Get"}' in text
    assert 'corral_apiserver_watchers{kind="Pod"} 1.0' in text
    assert "corral_apiserver_request_duration_seconds_bucket" in text

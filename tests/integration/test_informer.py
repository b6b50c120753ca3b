"""The informer against a real API server and etcd: lists, watches, indexes, handlers,
resync, shared informers, and a server that restarts or compacts while the informer is
not looking."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from corral.api import errors
from corral.api.meta import index_by_label, index_by_node, index_by_owner_uid
from corral.api.v1 import core_pb2
from corral.client.client import Client
from corral.client.informer import Informer, SharedInformers
from tests.apiserver_process import ApiServerProcess
from tests.etcd_container import EtcdContainer

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="function")]


def make_pod(name: str, namespace: str, owner_uid: str = "", **labels: str) -> core_pb2.Pod:
    pod = core_pb2.Pod()
    pod.metadata.name = name
    pod.metadata.namespace = namespace
    pod.metadata.labels.update(labels)
    if owner_uid:
        pod.metadata.owner_references.add(
            api_version="apps/v1", kind="ReplicaSet", name="rs", uid=owner_uid, controller=True
        )
    pod.spec.containers.add(name="app", image="corral/busybox:1")
    return pod


class Recorder:
    """Handlers writing down (event, name, resourceVersion)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []

    def on_add(self, obj: Any) -> None:
        self.events.append(("add", obj.metadata.name, obj.metadata.resource_version))

    async def on_update(self, old: Any, new: Any) -> None:
        self.events.append(("update", new.metadata.name, new.metadata.resource_version))

    def on_delete(self, obj: Any) -> None:
        self.events.append(("delete", obj.metadata.name, obj.metadata.resource_version))

    def names(self) -> list[tuple[str, str]]:
        return [(event, name) for event, name, _ in self.events]


async def eventually(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def running(informer: Informer[Any]) -> AsyncIterator[Informer[Any]]:
    task = asyncio.create_task(informer.run())
    try:
        assert await informer.wait_for_sync(15), "informer did not sync"
        yield informer
    finally:
        informer.stop()
        await asyncio.wait_for(task, 10)


async def test_informer_lists_then_receives_adds_updates_and_deletes(
    client: Client, namespace: str
) -> None:
    await client.create(make_pod("a", namespace))
    informer = Informer(client, "Pod", namespace, page_size=1)
    recorder = Recorder()
    informer.add_handler(recorder.on_add, recorder.on_update, recorder.on_delete)
    async with running(informer):
        assert recorder.names() == [("add", "a")]
        await client.create(make_pod("b", namespace))
        b = await client.get(core_pb2.Pod, "b", namespace)
        b.metadata.labels["x"] = "y"
        await client.update(b)
        await client.delete("Pod", "a", namespace, grace_period_seconds=0)
        await eventually(lambda: informer.get(f"{namespace}/a") is None)
        await eventually(lambda: ("update", "b") in recorder.names())
        names = recorder.names()
        assert names[:2] == [("add", "a"), ("add", "b")]
        assert ("delete", "a") in names
        cached_b = informer.get(f"{namespace}/b")
        assert cached_b is not None and cached_b.metadata.labels["x"] == "y"


async def test_indexes_find_pods_by_node_and_owner(client: Client, namespace: str) -> None:
    for name, owner in (("a", "rs-1"), ("b", "rs-1"), ("c", "rs-2")):
        await client.create(make_pod(name, namespace, owner_uid=owner))
    informer = Informer(client, core_pb2.Pod, namespace)
    informer.add_index("node", index_by_node)
    informer.add_index("owner", index_by_owner_uid)
    async with running(informer):
        assert sorted(p.metadata.name for p in informer.by_index("owner", "rs-1")) == ["a", "b"]
        assert informer.by_index("node", "n1") == []
        await client.bind([(namespace, "a", "n1", ""), (namespace, "c", "n1", "")])
        await eventually(lambda: len(informer.by_index("node", "n1")) == 2)
        assert sorted(p.metadata.name for p in informer.by_index("node", "n1")) == ["a", "c"]


async def test_indexes_added_after_sync_cover_the_cache_and_follow_updates(
    client: Client, namespace: str
) -> None:
    other = f"{namespace}-b"
    ns = core_pb2.Namespace()
    ns.metadata.name = other
    await client.create(ns)
    # Every namespace, but only this test's pods.
    selector = f"test={namespace}"
    await client.create(make_pod("a", namespace, app="web", test=namespace))
    await client.create(make_pod("b", namespace, app="db", test=namespace))
    await client.create(make_pod("c", other, app="web", test=namespace))
    informer = Informer(client, core_pb2.Pod, label_selector=selector)
    async with running(informer):
        informer.add_index("labels", index_by_label)

        def names(pods: list[core_pb2.Pod]) -> list[str]:
            return sorted(f"{p.metadata.namespace}/{p.metadata.name}" for p in pods)

        assert names(informer.by_index("labels", "app=web")) == sorted(
            [f"{namespace}/a", f"{other}/c"]
        )
        assert names(informer.by_index("namespace", other)) == [f"{other}/c"]
        assert "app=db" in informer.index_values("labels")

        b = await client.get(core_pb2.Pod, "b", namespace)
        b.metadata.labels["app"] = "web"
        await client.update(b)
        await eventually(lambda: len(informer.by_index("labels", "app=web")) == 3)
        assert informer.by_index("labels", "app=db") == []
        assert "app=db" not in informer.index_values("labels")
        with pytest.raises(KeyError, match="no index 'label'"):
            informer.by_index("label", "app=web")


async def test_resync_redelivers_every_cached_object_as_an_update(
    client: Client, namespace: str
) -> None:
    await client.create(make_pod("a", namespace))
    informer = Informer(client, "Pod", namespace, resync_period=0.05)
    updates: list[tuple[str, bool]] = []
    informer.add_handler(on_update=lambda old, new: updates.append((new.metadata.name, old is new)))
    async with running(informer):
        await eventually(lambda: len(updates) >= 2)
        # Nothing changed on the server: each update hands over the cached object as both.
        assert set(updates) == {("a", True)}


async def test_a_handler_added_after_start_first_gets_the_cached_objects(
    client: Client, namespace: str
) -> None:
    await client.create(make_pod("a", namespace))
    informer = Informer(client, "Pod", namespace)
    async with running(informer):
        recorder = Recorder()
        informer.add_handler(recorder.on_add, recorder.on_update, recorder.on_delete)
        await client.create(make_pod("b", namespace))
        await eventually(lambda: len(recorder.events) == 2)
        assert recorder.names() == [("add", "a"), ("add", "b")]


async def test_a_failing_handler_is_logged_and_does_not_stop_the_informer(
    client: Client, namespace: str, caplog: Any
) -> None:
    informer = Informer(client, "Pod", namespace)
    seen: list[str] = []

    def explode(obj: Any) -> None:
        raise RuntimeError("handler bug")

    informer.add_handler(on_add=explode)
    informer.add_handler(on_add=lambda obj: seen.append(obj.metadata.name))
    async with running(informer):
        await client.create(make_pod("a", namespace))
        await client.create(make_pod("b", namespace))
        await eventually(lambda: seen == ["a", "b"])
    failures = [r for r in caplog.records if r.exc_info and "handler bug" in str(r.exc_info[1])]
    assert any(f"key={namespace}/a" in r.getMessage() for r in failures)
    assert any(f"key={namespace}/b" in r.getMessage() for r in failures)


async def test_shared_informers_give_one_informer_per_kind_namespace_and_selectors(
    client: Client, namespace: str
) -> None:
    await client.create(make_pod("a", namespace))
    factory = SharedInformers(client)
    pods = factory.informer("Pod", namespace)
    assert factory.informer("pods", namespace) is pods
    assert factory.informer(core_pb2.Pod, namespace) is pods
    assert factory.informer("Pod") is not pods
    assert factory.informer("Pod", namespace, field_selector="spec.nodeName=n1") is not pods
    # Nodes are cluster-scoped: a namespace makes no other informer.
    assert factory.informer("Node", namespace) is factory.informer("Node")
    factory.start()
    try:
        assert await factory.wait_for_sync(15)
        assert pods.has_synced and pods.keys() == [f"{namespace}/a"]
    finally:
        await factory.stop()


async def test_a_field_selector_informer_sees_only_pods_bound_to_its_node(
    client: Client, namespace: str
) -> None:
    await client.create(make_pod("mine", namespace))
    await client.create(make_pod("theirs", namespace))
    informer = Informer(client, "Pod", namespace, field_selector="spec.nodeName=n1")
    async with running(informer):
        assert len(informer) == 0
        await client.bind([(namespace, "theirs", "n2", ""), (namespace, "mine", "n1", "")])
        await eventually(lambda: informer.keys() == [f"{namespace}/mine"])
        await asyncio.sleep(0.3)
        assert informer.keys() == [f"{namespace}/mine"]


async def test_informer_delivers_changes_made_while_the_server_was_down_exactly_once(
    private_etcd: EtcdContainer, private_apiserver: ApiServerProcess
) -> None:
    # A second API server on the same etcd makes changes while the informer's is down.
    with ApiServerProcess(private_etcd.endpoint) as other:
        async with Client(private_apiserver.address) as api, Client(other.address) as writer:
            await api.create(make_pod("a", "default"))
            informer = Informer(api, "Pod", "default", max_backoff=0.5)
            recorder = Recorder()
            informer.add_handler(recorder.on_add, recorder.on_update, recorder.on_delete)
            async with running(informer):
                await asyncio.to_thread(private_apiserver.stop)
                await writer.create(make_pod("b", "default"))
                a = await writer.get(core_pb2.Pod, "a", "default")
                a.metadata.labels["changed"] = "yes"
                await writer.update(a)
                await asyncio.to_thread(private_apiserver.start)
                await writer.create(make_pod("c", "default"))
                await eventually(lambda: ("add", "c") in recorder.names())
                await asyncio.sleep(0.5)
                assert recorder.names() == [
                    ("add", "a"), ("add", "b"), ("update", "a"), ("add", "c")
                ]
                revisions = [rv for _, _, rv in recorder.events]
                assert len(set(revisions)) == len(revisions)


async def test_informer_relists_after_compaction_and_synthesizes_deletes(
    private_etcd: EtcdContainer, private_apiserver: ApiServerProcess, caplog: Any
) -> None:
    caplog.set_level(logging.INFO, logger="corral.informer")
    with ApiServerProcess(private_etcd.endpoint) as other:
        async with Client(private_apiserver.address) as api, Client(other.address) as writer:
            for name in ("keep", "change", "gone"):
                await api.create(make_pod(name, "default"))
            informer = Informer(api, "Pod", "default", max_backoff=0.5)
            recorder = Recorder()
            informer.add_handler(recorder.on_add, recorder.on_update, recorder.on_delete)
            async with running(informer):
                await asyncio.to_thread(private_apiserver.stop)
                change = await writer.get(core_pb2.Pod, "change", "default")
                change.metadata.labels["v"] = "2"
                await writer.update(change)
                await writer.delete("Pod", "gone", "default", grace_period_seconds=0)
                await writer.create(make_pod("new", "default"))
                # Pods may wait for their agent; drop the finalizers to really remove "gone".
                gone = await _get_or_none(writer, "gone")
                if gone is not None:
                    del gone.metadata.finalizers[:]
                    await writer.update(gone)
                last = 0
                for i in range(20):
                    cm = core_pb2.ConfigMap()
                    cm.metadata.name = f"filler{i}"
                    cm.metadata.namespace = "default"
                    last = int((await writer.create(cm)).metadata.resource_version)
                etcd = private_etcd.client()
                etcd.compact(last)
                etcd.close()
                await asyncio.to_thread(private_apiserver.start)
                await eventually(lambda: len(recorder.events) >= 6)
                await asyncio.sleep(0.3)
                assert sorted(recorder.names()[3:]) == [
                    ("add", "new"), ("delete", "gone"), ("update", "change")
                ]
                assert sorted(informer.keys()) == ["default/change", "default/keep", "default/new"]
        assert any("relisting" in record.getMessage() for record in caplog.records)


async def _get_or_none(client: Client, name: str) -> core_pb2.Pod | None:
    try:
        return await client.get(core_pb2.Pod, name, "default")
    except errors.NotFound:
        return None

"""The informer against the in-memory fake API server (no etcd)."""

import asyncio
from collections.abc import Callable

import pytest

from corral.client import Client
from corral.informer import (
    Informer,
    SharedInformers,
    index_by_label,
    index_by_node,
    index_by_owner_uid,
    split_key,
)
from corral.v1 import core_pb2, meta_pb2
from tests.unit import fake_api

fake_server = fake_api.fake_server


def pod(name: str, namespace: str = "default", node: str = "", owner: str = "",
        **labels: str) -> core_pb2.Pod:
    meta = meta_pb2.ObjectMeta(name=name, namespace=namespace, labels=labels)
    if owner:
        meta.owner_references.add(kind="ReplicaSet", name="rs", uid=owner, controller=True)
    return core_pb2.Pod(metadata=meta, spec=core_pb2.PodSpec(node_name=node))


class Recorder:
    """Handlers that write down what they were told, as (event, key[, rv])."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def on_add(self, obj) -> None:
        self.events.append(("add", obj.metadata.name))

    async def on_update(self, old, new) -> None:
        await asyncio.sleep(0)
        self.events.append(("update", new.metadata.name))

    def on_delete(self, obj) -> None:
        self.events.append(("delete", obj.metadata.name))

    def attach(self, informer: Informer) -> None:
        informer.add_handler(self.on_add, self.on_update, self.on_delete)


async def eventually(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


@pytest.mark.asyncio
async def test_informer_lists_then_delivers_adds_updates_and_deletes(fake_server):
    async with Client(fake_server.address) as client:
        await client.create(pod("a"))
        informer = Informer(client, "Pod", page_size=1)
        recorder = Recorder()
        recorder.attach(informer)
        runner = asyncio.create_task(informer.run())
        assert await informer.wait_for_sync(5)
        assert recorder.events == [("add", "a")]
        assert informer.get("default/a") is not None

        await client.create(pod("b"))
        b = await client.get(core_pb2.Pod, "b")
        b.metadata.labels["x"] = "y"
        await client.update(b)
        await client.delete("Pod", "a")
        await eventually(lambda: len(recorder.events) == 4)
        assert recorder.events[1:] == [("add", "b"), ("update", "b"), ("delete", "a")]
        assert [o.metadata.name for o in informer.list()] == ["b"]
        assert informer.get("default/a") is None
        informer.stop()
        await asyncio.wait_for(runner, 2)


@pytest.mark.asyncio
async def test_indexes_find_pods_by_node_owner_label_and_namespace(fake_server):
    async with Client(fake_server.address) as client:
        await client.create(pod("a", node="n1", owner="rs-1", app="web"))
        await client.create(pod("b", node="n2", owner="rs-1", app="db"))
        await client.create(pod("c", namespace="other"))
        informer = Informer(client, core_pb2.Pod)
        informer.add_index("node", index_by_node)
        runner = asyncio.create_task(informer.run())
        await informer.wait_for_sync(5)
        # An index added after sync covers what is already cached.
        informer.add_index("owner", index_by_owner_uid)
        informer.add_index("labels", index_by_label)

        def names(objs):
            return sorted(o.metadata.name for o in objs)

        assert names(informer.by_index("node", "n1")) == ["a"]
        assert names(informer.by_index("owner", "rs-1")) == ["a", "b"]
        assert names(informer.by_index("labels", "app=db")) == ["b"]
        assert names(informer.by_index("namespace", "other")) == ["c"]
        assert sorted(informer.index_values("node")) == ["n1", "n2"]

        await client.bind([("default", "a", "n2", "")])
        await eventually(lambda: names(informer.by_index("node", "n2")) == ["a", "b"])
        assert informer.by_index("node", "n1") == []
        assert "n1" not in informer.index_values("node")
        with pytest.raises(KeyError, match="no index 'nodes'"):
            informer.by_index("nodes", "n1")
        informer.stop()
        await runner


@pytest.mark.asyncio
async def test_informer_resumes_after_server_restart_without_duplicates(fake_server):
    async with Client(fake_server.address) as client:
        await client.create(pod("a"))
        informer = Informer(client, "Pod", max_backoff=0.2)
        recorder = Recorder()
        recorder.attach(informer)
        runner = asyncio.create_task(informer.run())
        await informer.wait_for_sync(5)
        await fake_server.stop()
        # Changes made while the informer cannot watch.
        api = fake_server.api
        obj = api.objects[("Pod", "default", "a")]
        obj.metadata.labels["x"] = "1"
        obj.metadata.resource_version = api._next_revision()
        await api._record("MODIFIED", obj)
        await asyncio.sleep(0.3)
        await fake_server.start()
        await client.create(pod("b"))
        await eventually(lambda: ("add", "b") in recorder.events)
        assert recorder.events == [("add", "a"), ("update", "a"), ("add", "b")]
        cached = informer.get("default/a")
        assert cached is not None and cached.metadata.labels["x"] == "1"
        informer.stop()
        await runner


@pytest.mark.asyncio
async def test_informer_relists_on_expired_and_synthesizes_the_differences(fake_server):
    async with Client(fake_server.address) as client:
        for name in ("keep", "change", "gone"):
            await client.create(pod(name))
        informer = Informer(client, "Pod", max_backoff=0.2)
        recorder = Recorder()
        recorder.attach(informer)
        runner = asyncio.create_task(informer.run())
        await informer.wait_for_sync(5)
        await fake_server.stop()
        api = fake_server.api
        changed = api.objects[("Pod", "default", "change")]
        changed.metadata.labels["v"] = "2"
        changed.metadata.resource_version = api._next_revision()
        del api.objects[("Pod", "default", "gone")]
        api.objects[("Pod", "default", "new")] = pod("new")
        api.objects[("Pod", "default", "new")].metadata.resource_version = api._next_revision()
        api.compact()
        await fake_server.start()
        await eventually(lambda: len(recorder.events) == 6)
        assert sorted(recorder.events[3:]) == [
            ("add", "new"), ("delete", "gone"), ("update", "change")
        ]
        assert sorted(informer.keys()) == ["default/change", "default/keep", "default/new"]
        informer.stop()
        await runner


@pytest.mark.asyncio
async def test_resync_redelivers_every_object_as_an_update(fake_server):
    async with Client(fake_server.address) as client:
        await client.create(pod("a"))
        informer = Informer(client, "Pod", resync_period=0.05)
        updates: list[tuple[str, bool]] = []
        informer.add_handler(on_update=lambda old, new: updates.append(
            (new.metadata.name, old is new)))
        runner = asyncio.create_task(informer.run())
        await eventually(lambda: len(updates) >= 2)
        assert set(updates) == {("a", True)}
        informer.stop()
        await runner


@pytest.mark.asyncio
async def test_handler_added_after_start_first_gets_the_cached_objects(fake_server):
    async with Client(fake_server.address) as client:
        await client.create(pod("a"))
        informer = Informer(client, "Pod")
        runner = asyncio.create_task(informer.run())
        await informer.wait_for_sync(5)
        recorder = Recorder()
        recorder.attach(informer)
        await client.create(pod("b"))
        await eventually(lambda: len(recorder.events) == 2)
        assert recorder.events == [("add", "a"), ("add", "b")]
        informer.stop()
        await runner


@pytest.mark.asyncio
async def test_a_failing_handler_is_logged_and_does_not_stop_the_informer(fake_server, caplog):
    async with Client(fake_server.address) as client:
        informer = Informer(client, "Pod")
        seen: list[str] = []

        def explode(obj):
            raise RuntimeError("handler bug")

        informer.add_handler(on_add=explode)
        informer.add_handler(on_add=lambda obj: seen.append(obj.metadata.name))
        runner = asyncio.create_task(informer.run())
        await informer.wait_for_sync(5)
        await client.create(pod("a"))
        await eventually(lambda: seen == ["a"])
        assert any("key=default/a" in r.getMessage() for r in caplog.records)
        informer.stop()
        await runner


@pytest.mark.asyncio
async def test_shared_informers_give_one_informer_per_kind_and_selectors(fake_server):
    async with Client(fake_server.address) as client:
        await client.create(pod("a"))
        factory = SharedInformers(client)
        pods = factory.informer("Pod")
        assert factory.informer("pods") is pods
        assert factory.informer(core_pb2.Pod) is pods
        assert factory.informer("Pod", field_selector="spec.nodeName=n1") is not pods
        assert factory.informer("Node", namespace="ignored") is factory.informer("Node")
        factory.start()
        assert await factory.wait_for_sync(5)
        assert pods.has_synced and len(pods) == 1
        await factory.stop()


@pytest.mark.asyncio
async def test_wait_for_sync_times_out_when_the_server_is_down():
    async with Client("127.0.0.1:1", retries=0) as client:
        informer = Informer(client, "Pod", max_backoff=0.1)
        runner = asyncio.create_task(informer.run())
        assert await informer.wait_for_sync(0.3) is False
        assert not informer.has_synced
        informer.stop()
        await runner


def test_split_key_gives_namespace_and_name():
    assert split_key("default/web") == ("default", "web")
    assert split_key("node-1") == ("", "node-1")

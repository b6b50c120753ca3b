"""The endpoint-slice controller against a real API server: a Service's slices follow its
pods' addresses, readiness and deletion, and go with the Service."""

from __future__ import annotations

import pytest

from corral.api.discovery import SERVICE_NAME_LABEL
from corral.api.v1 import core_pb2, discovery_pb2
from corral.client.client import Client
from tests.integration.controller_harness import eventually, running_and_ready, running_manager

pytestmark = [pytest.mark.integration, pytest.mark.asyncio]

CONTROLLERS = ("endpointslice", "garbagecollector")


def web_service(namespace: str) -> core_pb2.Service:
    svc = core_pb2.Service()
    svc.metadata.name, svc.metadata.namespace = "web", namespace
    svc.spec.selector["app"] = "web"
    svc.spec.ports.add(name="http", port=80, target_port="http")
    return svc


async def running_pod(client: Client, namespace: str, name: str, ip: str,
                      app: str = "web") -> core_pb2.Pod:
    pod = core_pb2.Pod()
    pod.metadata.name, pod.metadata.namespace = name, namespace
    pod.metadata.labels["app"] = app
    container = pod.spec.containers.add(name="main", image="web:1")
    container.ports.add(name="http", container_port=8080)
    created = await client.create(pod)
    [failure] = await client.bind([(namespace, name, "node-a", created.metadata.uid)])
    assert failure is None
    ready = running_and_ready(await client.get(core_pb2.Pod, name, namespace))
    ready.status.pod_ip = ip
    return await client.update_status(ready)


async def endpoints(client: Client, namespace: str) -> dict[str, tuple[str, bool, bool]]:
    """pod name → (address, ready, terminating), over the Service's slices."""
    listed = await client.list(discovery_pb2.EndpointSlice, namespace,
                               label_selector=f"{SERVICE_NAME_LABEL}=web")
    return {e.target_ref.name: (e.addresses[0], e.conditions.ready, e.conditions.terminating)
            for s in listed.items for e in s.endpoints}


async def test_slices_follow_pod_readiness_and_deletion_and_go_with_the_service(
        client: Client, namespace: str) -> None:
    async with running_manager(client, controllers=CONTROLLERS):
        await client.create(web_service(namespace))
        await running_pod(client, namespace, "a", "10.1.0.1")
        b = await running_pod(client, namespace, "b", "10.1.0.2")
        await running_pod(client, namespace, "other", "10.1.0.3", app="api")

        async def both_ready() -> dict[str, tuple[str, bool, bool]] | None:
            now = await endpoints(client, namespace)
            return now if now == {"a": ("10.1.0.1", True, False),
                                  "b": ("10.1.0.2", True, False)} else None

        await eventually(both_ready, what="both pods as ready endpoints")
        listed = await client.list(discovery_pb2.EndpointSlice, namespace)
        [endpoint_slice] = listed.items
        assert [(p.name, p.port) for p in endpoint_slice.ports] == [("http", 8080)]

        # b fails its readiness probe: it stays an endpoint, not ready.
        for condition in b.status.conditions:
            if condition.type == "Ready":
                condition.status = "False"
        await client.update_status(b)
        await eventually(
            lambda: _expect(client, namespace, {"a": ("10.1.0.1", True, False),
                                                "b": ("10.1.0.2", False, False)}),
            what="b not ready")

        # a is being deleted (its finalizer holds it): terminating and not ready at once.
        a = await client.get(core_pb2.Pod, "a", namespace)
        a.metadata.finalizers.append("test/hold")
        await client.update(a)
        await client.delete(core_pb2.Pod, "a", namespace)
        await eventually(
            lambda: _expect(client, namespace, {"a": ("10.1.0.1", False, True),
                                                "b": ("10.1.0.2", False, False)}),
            what="a terminating")
        a = await client.get(core_pb2.Pod, "a", namespace)
        del a.metadata.finalizers[:]
        await client.update(a)
        await eventually(lambda: _expect(client, namespace, {"b": ("10.1.0.2", False, False)}),
                         what="a gone")

        await client.delete(core_pb2.Service, "web", namespace)

        async def no_slices() -> bool:
            listed = await client.list(discovery_pb2.EndpointSlice, namespace)
            return not listed.items

        await eventually(no_slices, what="the slices to go with the Service")


async def _expect(client: Client, namespace: str,
                  wanted: dict[str, tuple[str, bool, bool]]) -> bool:
    return await endpoints(client, namespace) == wanted

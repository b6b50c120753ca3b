"""Which ConfigMaps and Secrets a pod uses (agent/pod_sources.py): a change to one of
them must wake exactly the pods that use it."""

from __future__ import annotations

from agent.pod_sources import referenced_config_maps, referenced_secrets
from corral.api.v1 import core_pb2


def _pod() -> core_pb2.Pod:
    pod = core_pb2.Pod()
    pod.metadata.namespace = "shop"
    pod.metadata.name = "web"
    pod.spec.volumes.add(name="conf").config_map.name = "nginx-conf"
    pod.spec.volumes.add(name="tls").secret.secret_name = "web-tls"
    init = pod.spec.init_containers.add(name="migrate")
    init.env_from.add().config_map_ref.name = "db-settings"
    app = pod.spec.containers.add(name="web")
    app.env_from.add().secret_ref.name = "api-keys"
    app.env.add(name="MODE").value_from.config_map_key_ref.name = "nginx-conf"
    app.env.add(name="TOKEN").value_from.secret_key_ref.name = "db-password"
    return pod


def test_every_config_map_from_volumes_env_and_env_from_is_referenced_once() -> None:
    assert referenced_config_maps(_pod()) == ["shop/db-settings", "shop/nginx-conf"]


def test_every_secret_from_volumes_env_and_env_from_is_referenced() -> None:
    assert referenced_secrets(_pod()) == ["shop/api-keys", "shop/db-password", "shop/web-tls"]


def test_a_pod_without_references_has_none() -> None:
    pod = core_pb2.Pod()
    pod.spec.containers.add(name="app", image="busybox")
    assert referenced_config_maps(pod) == []
    assert referenced_secrets(pod) == []

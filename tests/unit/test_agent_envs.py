"""Container environments: envFrom then env, references, $(VAR) expansion, errors."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from agent.envs import EnvError, expand, expand_command, resolve_env
from corral.api.v1 import core_pb2

CONFIG = {("ns", "settings"): {"colour": "blue", "size": "L"}}
SECRETS = {("ns", "creds"): {"password": "hunter2"}}


Lookup = Callable[[str, str], dict[str, str] | None]


def lookup(table: dict[tuple[str, str], dict[str, str]]) -> Lookup:
    return lambda namespace, name: table.get((namespace, name))


def pod_with(container: core_pb2.Container) -> core_pb2.Pod:
    pod = core_pb2.Pod()
    pod.metadata.name = "web"
    pod.metadata.namespace = "ns"
    pod.metadata.labels["app"] = "shop"
    pod.spec.node_name = "n1"
    pod.spec.containers.append(container)
    return pod


def resolve(container: core_pb2.Container) -> dict[str, str]:
    return resolve_env(pod_with(container), container, config_maps=lookup(CONFIG),
                       secrets=lookup(SECRETS), pod_ip="10.0.0.7", host_ip="192.168.1.2")


def test_env_overrides_env_from_and_references_resolve() -> None:
    c = core_pb2.Container(name="app")
    c.env_from.add(prefix="CFG_", config_map_ref=core_pb2.LocalObjectReference(name="settings"))
    c.env.add(name="CFG_size", value="XL")
    c.env.add(name="PASSWORD").value_from.secret_key_ref.CopyFrom(
        core_pb2.KeySelector(name="creds", key="password"))
    c.env.add(name="IP").value_from.field_ref.field_path = "status.podIP"
    c.env.add(name="APP").value_from.field_ref.field_path = "metadata.labels['app']"
    c.env.add(name="NODE").value_from.field_ref.field_path = "spec.nodeName"
    assert resolve(c) == {"CFG_colour": "blue", "CFG_size": "XL", "PASSWORD": "hunter2",
                          "IP": "10.0.0.7", "APP": "shop", "NODE": "n1"}


def test_values_expand_earlier_variables_and_keep_unknown_ones() -> None:
    c = core_pb2.Container(name="app")
    c.env.add(name="A", value="x")
    c.env.add(name="B", value="$(A)-$(NOPE)-$$(A)")
    assert resolve(c)["B"] == "x-$(NOPE)-$(A)"
    assert expand_command(["echo", "$(A)"], ["$(B)"], {"A": "1", "B": "2"}) == (["echo", "1"],
                                                                              ["2"])
    assert expand("$$", {}) == "$"


def test_missing_config_map_key_names_the_variable_and_the_key() -> None:
    c = core_pb2.Container(name="app")
    c.env.add(name="X").value_from.config_map_key_ref.CopyFrom(
        core_pb2.KeySelector(name="settings", key="absent"))
    with pytest.raises(EnvError, match='env X: key "absent" not found in configmap "settings"'):
        resolve(c)


def test_optional_references_may_be_missing() -> None:
    c = core_pb2.Container(name="app")
    c.env.add(name="X").value_from.config_map_key_ref.CopyFrom(
        core_pb2.KeySelector(name="gone", key="k", optional=True))
    c.env_from.add(secret_ref=core_pb2.LocalObjectReference(name="gone", optional=True))
    assert resolve(c) == {}


def test_missing_env_from_secret_is_an_error() -> None:
    c = core_pb2.Container(name="app")
    c.env_from.add(secret_ref=core_pb2.LocalObjectReference(name="gone"))
    with pytest.raises(EnvError, match='container \'app\': envFrom secret "gone" not found'):
        resolve(c)


def test_unsupported_field_path_says_which_are_supported() -> None:
    c = core_pb2.Container(name="app")
    c.env.add(name="X").value_from.field_ref.field_path = "spec.serviceAccountName"
    with pytest.raises(EnvError, match="not supported"):
        resolve(c)

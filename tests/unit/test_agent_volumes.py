"""Volumes: projected files of ConfigMaps and Secrets, atomic rewrites, mounts."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.volumes import (
    VolumeError,
    container_mounts,
    empty_dir_name,
    projected_files,
    volume_dir,
    write_files,
)
from corral.api.v1 import core_pb2

DATA = {("ns", "cfg"): {"a.conf": b"A", "b.conf": b"B"}}


def lookup(namespace: str, name: str) -> dict[str, bytes] | None:
    return DATA.get((namespace, name))


def make_pod() -> core_pb2.Pod:
    pod = core_pb2.Pod()
    pod.metadata.name = "p"
    pod.metadata.namespace = "ns"
    pod.metadata.uid = "uid-1"
    return pod


def test_config_map_volume_has_one_file_per_key_or_the_chosen_items() -> None:
    pod = make_pod()
    volume = core_pb2.Volume(name="config")
    volume.config_map.name = "cfg"
    assert projected_files(pod, volume, config_maps=lookup, secrets=lookup) == {
        "a.conf": (b"A", 0o644), "b.conf": (b"B", 0o644)}
    volume.config_map.items.add(key="b.conf", path="sub/b", mode=0o600)
    assert projected_files(pod, volume, config_maps=lookup, secrets=lookup) == {
        "sub/b": (b"B", 0o600)}


def test_missing_object_or_key_is_an_error_unless_optional() -> None:
    pod = make_pod()
    volume = core_pb2.Volume(name="s")
    volume.secret.secret_name = "absent"
    with pytest.raises(VolumeError, match='volume "s": secret "absent" not found'):
        projected_files(pod, volume, config_maps=lookup, secrets=lookup)
    volume.secret.optional = True
    assert projected_files(pod, volume, config_maps=lookup, secrets=lookup) == {}


def test_item_paths_may_not_escape_the_volume() -> None:
    pod = make_pod()
    volume = core_pb2.Volume(name="config")
    volume.config_map.name = "cfg"
    volume.config_map.items.add(key="a.conf", path="../../etc/passwd")
    with pytest.raises(VolumeError, match="must be relative"):
        projected_files(pod, volume, config_maps=lookup, secrets=lookup)


def test_write_files_replaces_changed_files_and_removes_stale_ones(tmp_path: Path) -> None:
    target = tmp_path / "vol"
    assert write_files(target, {"a": (b"1", 0o644), "d/b": (b"2", 0o600)})
    assert (target / "d" / "b").read_bytes() == b"2"
    assert (target / "d" / "b").stat().st_mode & 0o777 == 0o600
    assert not write_files(target, {"a": (b"1", 0o644), "d/b": (b"2", 0o600)})
    assert write_files(target, {"a": (b"changed", 0o644)})
    assert sorted(p.name for p in target.rglob("*")) == ["a"]
    assert (target / "a").read_bytes() == b"changed"


def test_container_mounts_by_volume_kind(tmp_path: Path) -> None:
    pod = make_pod()
    pod.spec.volumes.add(name="config").config_map.name = "cfg"
    pod.spec.volumes.add(name="scratch").empty_dir.SetInParent()
    pod.spec.volumes.add(name="host").host_path.path = "/srv"
    container = core_pb2.Container(name="app")
    container.volume_mounts.add(name="config", mount_path="/etc/app")
    container.volume_mounts.add(name="scratch", mount_path="/tmp/s")
    container.volume_mounts.add(name="host", mount_path="/data", read_only=True)
    mounts = container_mounts(tmp_path, pod, container)
    assert [(m.target, m.kind, m.read_only) for m in mounts] == [
        ("/etc/app", "bind", True), ("/tmp/s", "volume", False), ("/data", "bind", True)]
    assert mounts[0].source == str(volume_dir(tmp_path, "uid-1", "config"))
    assert mounts[1].source == empty_dir_name("uid-1", "scratch")
    container.volume_mounts.add(name="nope", mount_path="/x")
    with pytest.raises(VolumeError, match='volumeMount "nope" names no volume'):
        container_mounts(tmp_path, pod, container)

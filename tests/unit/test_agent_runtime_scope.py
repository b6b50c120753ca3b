"""The Docker runtime's scope: every engine query is narrowed by the node's and the
cluster's labels."""

from __future__ import annotations

from types import SimpleNamespace
from typing import cast

import docker
import pytest

from agent.docker_runtime import DockerRuntime
from agent.runtime import PodRef


def test_docker_runtime_refuses_an_empty_node_name() -> None:
    with pytest.raises(ValueError, match="node_name must not be empty"):
        DockerRuntime("", pause_image="corral/busybox:1")


class _RecordingApi:
    def __init__(self) -> None:
        self.filters: list[dict[str, list[str]]] = []

    def containers(self, *, all: bool, filters: dict[str, list[str]]) -> list[object]:
        self.filters.append(filters)
        return []


def recording_client(api: _RecordingApi) -> docker.DockerClient:
    """Stands in for docker.DockerClient: only its low-level `api`, which records."""
    return cast(docker.DockerClient, SimpleNamespace(api=api))


def test_listing_by_an_empty_pod_uid_matches_no_pod_instead_of_every_container() -> None:
    runtime = DockerRuntime("node-1", pause_image="corral/busybox:1")
    api = _RecordingApi()
    runtime._client = recording_client(api)
    runtime._list("")
    runtime._list(None)
    assert api.filters == [
        {"label": ["corral.node=node-1", "corral.cluster=corral", "corral.pod.uid="]},
        {"label": ["corral.node=node-1", "corral.cluster=corral"]},
    ]


def test_docker_runtime_refuses_an_empty_cluster_name() -> None:
    with pytest.raises(ValueError, match="cluster_name must not be empty"):
        DockerRuntime("node-1", pause_image="corral/busybox:1", cluster_name="")


def test_two_clusters_with_the_same_node_name_list_and_label_apart() -> None:
    """Containers are made with the cluster's label and listed by it, so another cluster's
    node-1 is never this one's (nor an orphan to remove)."""
    listed: dict[str, list[dict[str, list[str]]]] = {}
    for cluster in ("blue", "green"):
        runtime = DockerRuntime("node-1", pause_image="corral/busybox:1", cluster_name=cluster)
        api = _RecordingApi()
        runtime._client = recording_client(api)
        runtime._list(None)
        runtime._list("uid-1")
        listed[cluster] = api.filters
        labels = runtime._labels(PodRef("uid-1", "default", "web"), "app", "app", 0, 30)
        assert labels["corral.cluster"] == cluster and labels["corral.node"] == "node-1"
    assert all("corral.cluster=blue" in f["label"] for f in listed["blue"])
    assert all("corral.cluster=green" in f["label"] for f in listed["green"])


def test_agent_cluster_name_defaults_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from agent.cli import parse_args

    assert parse_args(["--node-name", "n"]).cluster_name == "corral"
    monkeypatch.setenv("CORRAL_CLUSTER_NAME", "blue")
    assert parse_args(["--node-name", "n"]).cluster_name == "blue"
    assert parse_args(["--cluster-name", "green"]).cluster_name == "green"

"""The Docker runtime's scope: every engine query is narrowed by the node's label."""

from __future__ import annotations

import pytest

from agent.docker_runtime import DockerRuntime


def test_docker_runtime_refuses_an_empty_node_name() -> None:
    with pytest.raises(ValueError, match="node_name must not be empty"):
        DockerRuntime("", pause_image="corral/busybox:1")


class _RecordingApi:
    def __init__(self) -> None:
        self.filters: list[dict[str, list[str]]] = []

    def containers(self, *, all: bool, filters: dict[str, list[str]]) -> list[object]:
        self.filters.append(filters)
        return []


def test_listing_by_an_empty_pod_uid_matches_no_pod_instead_of_every_container() -> None:
    runtime = DockerRuntime("node-1", pause_image="corral/busybox:1")
    api = _RecordingApi()
    runtime._client = type("Client", (), {"api": api})()  # type: ignore[assignment]
    runtime._list("")
    runtime._list(None)
    assert api.filters == [
        {"label": ["corral.node=node-1", "corral.pod.uid="]},
        {"label": ["corral.node=node-1"]},
    ]

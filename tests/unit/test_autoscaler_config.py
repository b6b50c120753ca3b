"""The cluster autoscaler's node groups file (autoscaler/config.py): what it reads, and
errors that name the file, the entry and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from autoscaler import config, simulation
from autoscaler.config import GROUP_LABEL, TemplateTaint


def test_node_groups_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "groups.yaml"
    path.write_text(
        "nodeGroups:\n"
        "  - name: small\n"
        "    maxSize: 3\n"
        "    template:\n"
        "      capacity: {cpu: '2', memory: 4Gi}\n"
        "      labels: {pool: small}\n"
        "      taints: [{key: dedicated, value: batch, effect: NoSchedule}]\n"
        "docker: {image: corral/corral:dev, agentArgs: [--backoff-base, '2']}\n"
    )
    loaded = config.load(path)
    group = loaded.node_groups[0]
    assert (group.name, group.min_size, group.max_size) == ("small", 0, 3)
    assert group.capacity == {"cpu": "2", "memory": "4Gi", "pods": "110"}
    assert group.taints == (TemplateTaint("dedicated", "batch", "NoSchedule"),)
    assert loaded.docker.agent_args == ("--backoff-base", "2")
    node = simulation.template_node(group, "small-x")
    assert node.metadata.labels[GROUP_LABEL] == "small"


@pytest.mark.parametrize("entry, message", [
    ({"name": "a", "template": {"capacity": {"cpu": "1", "memory": "1Gi"}}},
     "nodeGroups[0].maxSize: required"),
    ({"name": "a", "minSize": 3, "maxSize": 2,
      "template": {"capacity": {"cpu": "1", "memory": "1Gi"}}},
     "nodeGroups[0].maxSize: 2 is less than minSize 3"),
    ({"name": "Bad_Name", "maxSize": 2, "template": {"capacity": {"cpu": "1", "memory": "1"}}},
     "nodeGroups[0].name"),
    ({"name": "a", "maxSize": 2, "template": {"capacity": {"cpu": "lots", "memory": "1Gi"}}},
     "nodeGroups[0].template.capacity.cpu"),
    ({"name": "a", "maxSize": 2, "template": {"capacity": {"cpu": "1"}}},
     "nodeGroups[0].template.capacity.memory: required"),
    ({"name": "a", "maxSize": 2, "template": {"capacity": {"cpu": "1", "memory": "1Gi"},
                                                "taints": [{"key": "k", "effect": "Never"}]}},
     "nodeGroups[0].template.taints[0].effect"),
    ({"name": "a", "maxSize": 2, "size": 1,
      "template": {"capacity": {"cpu": "1", "memory": "1Gi"}}},
     "unknown key 'size'"),
])
def test_bad_node_groups_name_the_entry_and_the_problem(entry: dict, message: str) -> None:
    with pytest.raises(config.InvalidConfig) as caught:
        config.from_dict({"nodeGroups": [entry]}, "groups.yaml")
    assert message in str(caught.value)
    assert str(caught.value).startswith("groups.yaml: ")


def test_a_node_groups_file_needs_groups() -> None:
    with pytest.raises(config.InvalidConfig, match="nodeGroups: a list of at least one"):
        config.from_dict({}, "groups.yaml")

"""deploy/cluster makes deploy/node-groups.yaml the compose project's: a valid node groups
file whose docker nodes join that project's networks and carry its cluster name."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from autoscaler import config

REPO = Path(__file__).resolve().parents[2]


def _cluster_script() -> ModuleType:
    script = str(REPO / "deploy" / "cluster")
    loader = importlib.machinery.SourceFileLoader("deploy_cluster", script)
    spec = importlib.util.spec_from_loader("deploy_cluster", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["deploy_cluster"] = module  # its dataclasses look their module up there
    loader.exec_module(module)
    return module


def test_the_checked_in_node_groups_file_is_valid_for_the_default_project() -> None:
    loaded = config.load(REPO / "deploy" / "node-groups.yaml")
    [group] = loaded.node_groups
    assert (group.name, group.min_size, group.max_size) == ("docker", 0, 2)
    assert loaded.docker.network == "corral_default"
    assert loaded.docker.agent_args == ("--cluster-name", "corral")


def test_a_second_project_gets_its_own_networks_cluster_name_and_group_names() -> None:
    script = _cluster_script()
    cluster = script.Cluster("corral-e2e-abc", 17443, "e2e-abc-")
    rendered = config.from_dict(cluster.node_groups({"CORRAL_IMAGE": "corral/corral:dev",
                                                     "CORRAL_TEST_IMAGE": "busybox:1.36"}))
    [group] = rendered.node_groups
    assert group.name == "e2e-abc-docker"
    assert group.labels["topology.kubernetes.io/zone"] == "zone-c"
    docker = rendered.docker
    assert docker.network == "corral-e2e-abc_default"
    assert docker.networks == ("corral-e2e-abc_pods",)
    assert docker.pod_network == "corral-e2e-abc_pods"
    assert docker.server == "apiserver:7443"
    assert docker.pause_image == "busybox:1.36"
    assert docker.agent_args == ("--cluster-name", "corral-e2e-abc")
    assert docker.agent_root == str(cluster.agent_root / "autoscaled")
    environment = cluster.environment({})
    assert environment["CORRAL_CLUSTER_NAME"] == "corral-e2e-abc"
    assert environment["CORRAL_NODE_GROUPS"] == str(cluster.node_groups_file)

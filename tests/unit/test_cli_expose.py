"""`corral expose`'s choices (corral/cli/expose.py), without a server."""

from __future__ import annotations

import click
import pytest

from corral.api.v1 import apps_pb2, core_pb2
from corral.cli.common import CliError
from corral.cli.expose import parse_selector, selector_of, service_for


def test_the_selector_comes_from_match_labels_pod_labels_or_a_service_selector() -> None:
    d = apps_pb2.Deployment()
    d.metadata.name = "web"
    d.spec.selector.match_labels["app"] = "web"
    assert selector_of("Deployment", d) == {"app": "web"}
    pod = core_pb2.Pod()
    pod.metadata.labels["app"] = "db"
    assert selector_of("Pod", pod) == {"app": "db"}


def test_a_selector_a_service_cannot_express_asks_for_one() -> None:
    d = apps_pb2.Deployment()
    d.metadata.name = "web"
    d.spec.selector.match_expressions.add(key="app", operator="In", values=["a", "b"])
    with pytest.raises(CliError, match=r"matchExpressions.*pass --selector"):
        selector_of("Deployment", d)
    with pytest.raises(CliError, match="no labels to select its pods by"):
        selector_of("Pod", core_pb2.Pod())


def test_selector_flag_and_target_port_default() -> None:
    assert parse_selector("app=web, tier=front") == {"app": "web", "tier": "front"}
    with pytest.raises(click.BadParameter, match="expected KEY=VALUE"):
        parse_selector("app")
    service = service_for("web", "shop", {"app": "web"}, port=80, target_port="",
                          protocol="UDP", type_="ClusterIP")
    assert (service.spec.ports[0].target_port, service.spec.ports[0].protocol) == ("80", "UDP")

"""The `corral` entry point without a server: errors, usage, offline commands."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from corral.api.v1 import core_pb2
from corral.cli import cli
from corral.cli.describe import describe_text
from corral.cli.manifest import to_object
from corral.cli.root import wants_details

MANIFESTS = Path(__file__).parent.parent / "manifests"
UNREACHABLE = "127.0.0.1:1"


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_unreachable_server_is_one_line_with_a_hint_and_exit_code_1() -> None:
    result = invoke("--server", UNREACHABLE, "get", "pods")
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: cannot reach the API server at {UNREACHABLE}: connection refused"
        " — is it running? (make up)\n"
    )
    assert result.stdout == ""


def test_server_flag_is_accepted_after_the_command_and_environment_is_used() -> None:
    after = invoke("get", "pods", "--server", UNREACHABLE)
    from_env = invoke("get", "pods", env={"CORRAL_SERVER": UNREACHABLE})
    assert UNREACHABLE in after.stderr and UNREACHABLE in from_env.stderr


def test_debug_shows_the_traceback_and_the_error_line() -> None:
    result = invoke("--debug", "--server", UNREACHABLE, "get", "pods")
    assert result.exit_code == 1
    assert "Traceback" in result.stderr
    assert result.stderr.rstrip().splitlines()[-1].startswith("error: cannot reach")


@pytest.mark.parametrize(("args", "expected"), [
    (["--debug"], True), (["--v=2"], True), (["-v", "3"], True), (["--v=1"], False), ([], False),
])
def test_details_are_asked_for_with_debug_or_verbosity_2(args: list[str], expected: bool) -> None:
    assert wants_details(["get", "pods", *args]) is expected


def test_usage_errors_are_one_line_with_exit_code_2() -> None:
    result = invoke("get")
    assert result.exit_code == 2
    assert result.stderr == ("error: name a kind, e.g. `corral get pods`; `corral api-resources` "
                             "lists them (see 'corral get --help')\n")
    unknown_option = invoke("get", "pods", "--nope")
    assert unknown_option.exit_code == 2
    assert unknown_option.stderr.startswith("error: No such option '--nope'")


def test_unknown_kind_is_an_error_naming_it() -> None:
    result = invoke("--server", UNREACHABLE, "get", "statefulsets")
    assert result.exit_code == 1
    assert result.stderr.startswith(
        'error: the server does not have a resource type "statefulsets"')


def test_invalid_manifest_is_refused_before_contacting_the_server() -> None:
    path = MANIFESTS / "invalid" / "wrong-type-replicas.yaml"
    result = invoke("--server", UNREACHABLE, "apply", "-f", str(path))
    assert result.exit_code == 1
    assert result.stderr == f'error: {path}:7: spec.replicas: expected integer, got "three"\n'


def test_api_resources_needs_no_server() -> None:
    result = invoke("--server", UNREACHABLE, "api-resources")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    assert ["deployments", "deploy", "apps/v1", "true", "Deployment"] in [
        line.split() for line in lines]


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_completion_scripts_are_generated(shell: str) -> None:
    result = invoke("completion", shell)
    assert result.exit_code == 0
    assert "_CORRAL_COMPLETE" in result.stdout


def test_config_contexts_set_use_and_list(tmp_path: Path) -> None:
    config = str(tmp_path / "config")
    env = {"CORRAL_CONFIG": config}
    assert invoke("config", "set-context", "dev", "--server", "a:1", "--namespace", "shop",
                  env=env).stdout == 'Context "dev" created.\n'
    invoke("config", "set-context", "prod", "--server", "b:2", env=env)
    assert invoke("config", "current-context", env=env).stdout == "dev\n"
    assert invoke("config", "use-context", "prod", env=env).exit_code == 0
    listing = invoke("config", "get-contexts", env=env).stdout.splitlines()
    assert listing[1].split() == ["dev", "a:1", "shop"]
    assert listing[2].split() == ["*", "prod", "b:2"]
    missing = invoke("config", "use-context", "nope", env=env)
    assert missing.exit_code == 1
    assert missing.stderr == 'error: context "nope" does not exist (contexts: dev, prod)\n'


def test_the_current_context_picks_the_server(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text(f"current-context: x\ncontexts: [{{name: x, server: '{UNREACHABLE}'}}]\n")
    result = invoke("get", "pods", env={"CORRAL_CONFIG": str(config), "CORRAL_SERVER": ""})
    assert f"cannot reach the API server at {UNREACHABLE}" in result.stderr


def test_describe_text_has_sections_and_events() -> None:
    pod, _ = to_object({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}},
        "spec": {"nodeName": "n1", "containers": [{"name": "web", "image": "nginx:1",
                                                   "ports": [{"containerPort": 80}]}]},
        "status": {"phase": "Running", "podIP": "10.0.0.5",
                   "conditions": [{"type": "Ready", "status": "True"}]},
    })
    event = core_pb2.Event(type="Normal", reason="Scheduled", message="assigned shop/web to n1")
    event.source.component = "scheduler"
    text = describe_text(pod, [event], 0)
    assert "Name:               web\nNamespace:          shop\n" in text
    assert "Labels:             app=web\n" in text
    assert "Node:               n1\n" in text
    assert "Containers:\n  web:\n    Image:  nginx:1\n    Ports:  80/TCP\n" in text
    assert "Conditions:\n  Type    Status" in text
    assert "Events:\n  Type     Reason      Age         From        Message\n" in text
    assert "Normal   Scheduled" in text


def test_describe_service_lists_ready_endpoints_and_counts_the_rest() -> None:
    service, _ = to_object({
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"clusterIP": "10.96.0.9", "selector": {"app": "web"}, "ports": [{"port": 80}]},
    })
    endpoint_slice, _ = to_object({
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "web-abc12", "namespace": "shop"}, "addressType": "IPv4",
        "ports": [{"port": 8080}],
        "endpoints": [{"addresses": ["10.0.0.6"], "conditions": {"ready": True}},
                      {"addresses": ["10.0.0.5"], "conditions": {"ready": True}},
                      {"addresses": ["10.0.0.7"], "conditions": {"ready": False}}]})
    text = describe_text(service, [], 0, [endpoint_slice])
    assert "Endpoints:          10.0.0.5:8080,10.0.0.6:8080 (1 not ready)\n" in text
    assert "Endpoints:          <none>\n" in describe_text(service, [], 0)

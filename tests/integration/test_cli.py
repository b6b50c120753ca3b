"""The `corral` command line against a real API server and etcd.

Most tests call the real entry point in-process (click's CliRunner on the same
`cli` the console script runs); a few run `python -m corral` as a process, as
a user would."""

from __future__ import annotations

import base64
import json
import os
import queue
import re
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from corral.cli import cli
from tests.apiserver_process import ApiServerProcess

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def corral(server: ApiServerProcess, *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, ["--server", server.address, *args], input=stdin,
                              catch_exceptions=False)


def corral_process(
    server: ApiServerProcess | None, *args: str, **kwargs: Any
) -> subprocess.Popen[str]:
    prefix = ["--server", server.address] if server is not None else []
    return subprocess.Popen(
        [sys.executable, "-m", "corral", *prefix, *args], cwd=kwargs.pop("cwd", ROOT),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)}, **kwargs,
    )


def run_process(server: ApiServerProcess | None, *args: str, **kwargs: Any) -> tuple[int, str, str]:
    process = corral_process(server, *args, **kwargs)
    out, err = process.communicate(timeout=60)
    return process.returncode, out, err


def get_json(server: ApiServerProcess, *args: str) -> Any:
    result = corral(server, "get", *args, "-o", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def ns(apiserver: ApiServerProcess) -> str:
    name = f"cli-{uuid.uuid4().hex[:8]}"
    result = corral(apiserver, "apply", "-f", "-",
                    stdin=f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n")
    assert result.stdout == f"namespace/{name} created\n", result.stderr
    return name


def deployment(name: str = "web", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {"selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": name, "image": "nginx:1.27"}]}},
                 **spec},
    }


def write(path: Path, *manifests: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump_all(manifests, sort_keys=False))
    return path


# ----------------------------------------------------------------- apply


def test_apply_a_directory_creates_everything_in_it(apiserver, ns, tmp_path):
    write(tmp_path / "app" / "deploy.yaml", deployment("web", replicas=2))
    write(tmp_path / "app" / "nested" / "svc.yaml", {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}})
    result = corral(apiserver, "apply", "-n", ns, "-f", str(tmp_path / "app"))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "deployment.apps/web created\nservice/web created\n"
    assert get_json(apiserver, "deploy", "web", "-n", ns)["spec"]["replicas"] == 2


def test_apply_twice_is_unchanged_and_writes_nothing(apiserver, ns, tmp_path):
    path = write(tmp_path / "web.yaml", deployment("web", replicas=2))
    assert corral(apiserver, "apply", "-n", ns, "-f", str(path)).exit_code == 0
    before = get_json(apiserver, "deploy/web", "-n", ns)
    second = corral(apiserver, "apply", "-n", ns, "-f", str(path))
    assert second.stdout == "deployment.apps/web unchanged\n"
    after = get_json(apiserver, "deploy/web", "-n", ns)
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]


def test_apply_removes_dropped_fields_and_keeps_those_set_by_others(apiserver, ns, tmp_path):
    first = deployment("web")
    first["metadata"]["annotations"] = {"team": "shop", "ticket": "42"}
    path = write(tmp_path / "web.yaml", first)
    assert corral(apiserver, "apply", "-n", ns, "-f", str(path)).exit_code == 0
    # An autoscaler sets the replicas, which the manifest leaves out.
    assert corral(apiserver, "scale", "deploy/web", "-n", ns, "--replicas=4").exit_code == 0
    del first["metadata"]["annotations"]["ticket"]
    first["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.28"
    write(path, first)
    result = corral(apiserver, "apply", "-n", ns, "-f", str(path))
    assert result.stdout == "deployment.apps/web configured\n"
    live = get_json(apiserver, "deploy/web", "-n", ns)
    assert "ticket" not in live["metadata"]["annotations"]
    assert live["metadata"]["annotations"]["team"] == "shop"
    assert live["spec"]["replicas"] == 4
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.28"
    applied = json.loads(live["metadata"]["annotations"]["corral.io/last-applied-configuration"])
    assert applied == first


def test_apply_server_dry_run_validates_and_writes_nothing(apiserver, ns, tmp_path):
    path = write(tmp_path / "web.yaml", deployment("web"))
    result = corral(apiserver, "apply", "-n", ns, "--dry-run=server", "-f", str(path))
    assert result.stdout == "deployment.apps/web created (server dry run)\n"
    bad = write(tmp_path / "bad.yaml", deployment("web", replicas=-1))
    refused = corral(apiserver, "apply", "-n", ns, "--dry-run=server", "-f", str(bad))
    assert refused.exit_code == 1
    assert "spec.replicas" in refused.stderr
    assert corral(apiserver, "get", "deploy", "-n", ns).stderr == (
        f"No resources found in {ns} namespace.\n")


def test_create_refuses_an_existing_object(apiserver, ns, tmp_path):
    path = write(tmp_path / "cm.yaml", {"apiVersion": "v1", "kind": "ConfigMap",
                                        "metadata": {"name": "cfg"}, "data": {"a": "1"}})
    created = corral(apiserver, "create", "-n", ns, "-f", str(path))
    assert created.stdout == "configmap/cfg created\n"
    again = corral(apiserver, "create", "-n", ns, "-f", str(path))
    assert again.exit_code == 1
    assert "already exists" in again.stderr
    assert again.stderr.startswith(f"error: {path}:1: configmap/cfg: ")


# ------------------------------------------------------------------- get


def test_get_in_every_output_format(apiserver, ns, tmp_path):
    path = write(tmp_path / "web.yaml", deployment("web", replicas=3), deployment("db"))
    corral(apiserver, "apply", "-n", ns, "-f", str(path))
    table = corral(apiserver, "get", "deploy", "-n", ns).stdout.splitlines()
    assert table[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert [line.split()[:2] for line in table[1:]] == [["db", "0/1"], ["web", "0/3"]]
    wide = corral(apiserver, "get", "deploy", "web", "-n", ns, "-o", "wide").stdout.splitlines()
    assert wide[0].split()[-3:] == ["CONTAINERS", "IMAGES", "SELECTOR"]
    assert wide[1].split()[-3:] == ["web", "nginx:1.27", "app=web"]
    assert yaml.safe_load(corral(apiserver, "get", "deploy", "web", "-n", ns, "-o", "yaml").stdout
                          )["spec"]["replicas"] == 3
    listed = get_json(apiserver, "deploy", "-n", ns)
    assert listed["kind"] == "List" and len(listed["items"]) == 2
    assert corral(apiserver, "get", "deploy", "-n", ns, "-o", "name").stdout == (
        "deployment.apps/db\ndeployment.apps/web\n")
    everywhere = corral(apiserver, "get", "deploy", "-A", "-l", "app=web").stdout
    assert f"{ns}   web" in everywhere and everywhere.startswith("NAMESPACE")
    by_field = corral(apiserver, "get", "deploy", "-n", ns, "--field-selector",
                      "metadata.name=db", "-o", "name")
    assert by_field.stdout == "deployment.apps/db\n"
    labels = corral(apiserver, "get", "deploy/web", "-n", ns, "--show-labels").stdout
    assert labels.splitlines()[1].endswith("app=web")
    missing = corral(apiserver, "get", "deploy", "nope", "-n", ns)
    assert missing.exit_code == 1 and "not found" in missing.stderr


def test_get_watch_prints_a_row_when_an_object_appears(apiserver, ns, tmp_path):
    watcher = corral_process(apiserver, "get", "configmaps", "-n", ns, "-w")
    lines: queue.Queue[str] = queue.Queue()
    def read_lines() -> None:
        assert watcher.stdout is not None
        for line in watcher.stdout:
            lines.put(line)

    threading.Thread(target=read_lines, daemon=True).start()
    try:
        path = write(tmp_path / "cm.yaml", {"apiVersion": "v1", "kind": "ConfigMap",
                                            "metadata": {"name": "watched"}, "data": {"a": "1"}})
        # The watch may start after the first write: write until a row shows up.
        seen: list[str] = []
        for attempt in range(20):
            if attempt:
                corral(apiserver, "label", "cm", "watched", "-n", ns, f"try={attempt}",
                       "--overwrite")
            else:
                corral(apiserver, "apply", "-n", ns, "-f", str(path))
            try:
                while True:
                    seen.append(lines.get(timeout=1))
                    if any(line.startswith("watched ") for line in seen):
                        break
            except queue.Empty:
                continue
            break
        assert seen[0].split() == ["NAME", "DATA", "AGE"]
        assert any(line.split()[:2] == ["watched", "1"] for line in seen[1:])
    finally:
        watcher.kill()
        watcher.communicate()


# -------------------------------------------------- describe and metadata


def test_describe_shows_sections_and_the_objects_events(apiserver, ns, tmp_path):
    path = write(tmp_path / "app.yaml", deployment("web", replicas=2), {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": "web.1"},
        "involvedObject": {"kind": "Deployment", "name": "web", "namespace": ns},
        "reason": "ScalingReplicaSet", "message": "Scaled up replica set web-1 to 2",
        "type": "Normal", "source": {"component": "deployment-controller"},
    })
    assert corral(apiserver, "apply", "-n", ns, "-f", str(path)).exit_code == 0
    text = corral(apiserver, "describe", "deploy", "web", "-n", ns).stdout
    assert "Name:               web\n" in text
    assert re.search(r"^Replicas: +2 desired \| ", text, re.MULTILINE)
    assert "Events:\n  Type     Reason              Age" in text
    assert "ScalingReplicaSet   " in text and "Scaled up replica set web-1 to 2" in text


def test_label_annotate_and_scale(apiserver, ns, tmp_path):
    corral(apiserver, "apply", "-n", ns, "-f", str(write(tmp_path / "d.yaml", deployment("web"))))
    assert corral(apiserver, "label", "deploy", "web", "-n", ns, "tier=front").stdout == (
        "deployment.apps/web labeled\n")
    refused = corral(apiserver, "label", "deploy/web", "-n", ns, "tier=back")
    assert refused.exit_code == 1
    assert refused.stderr == "error: 'tier' already has a value (front), and --overwrite is false\n"
    assert corral(apiserver, "label", "deploy/web", "-n", ns, "tier=back", "--overwrite",
                  "app-").exit_code == 0
    assert corral(apiserver, "annotate", "deploy/web", "-n", ns, "note=hello world").exit_code == 0
    assert corral(apiserver, "scale", "deployment", "web", "-n", ns, "--replicas", "3").stdout == (
        "deployment.apps/web scaled\n")
    live = get_json(apiserver, "deploy/web", "-n", ns)
    assert live["metadata"]["labels"] == {"tier": "back"}
    assert live["metadata"]["annotations"]["note"] == "hello world"
    assert live["spec"]["replicas"] == 3


# ----------------------------------------------------------------- delete


def test_delete_by_name_selector_all_and_wait(apiserver, ns, tmp_path):
    configmaps = [{"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": f"cm-{i}", "labels": {"group": "a" if i < 2 else "b"}}}
                  for i in range(4)]
    corral(apiserver, "apply", "-n", ns, "-f", str(write(tmp_path / "cms.yaml", *configmaps)))
    assert corral(apiserver, "delete", "cm", "cm-3", "-n", ns, "--wait").stdout == (
        'configmap "cm-3" deleted\n')
    assert corral(apiserver, "delete", "cm", "-l", "group=a", "-n", ns).stdout == (
        'configmap "cm-0" deleted\nconfigmap "cm-1" deleted\n')
    assert corral(apiserver, "delete", "cm", "--all", "-n", ns, "--wait").stdout == (
        'configmap "cm-2" deleted\n')
    assert corral(apiserver, "get", "cm", "-n", ns, "-o", "name").stdout == ""
    missing = corral(apiserver, "delete", "cm/cm-0", "-n", ns)
    assert missing.exit_code == 1 and "not found" in missing.stderr


# ---------------------------------------------------------- information


def test_explain_version_cluster_info_and_api_resources_as_a_process(apiserver):
    code, out, _ = run_process(apiserver, "explain", "deploy.spec.replicas")
    assert code == 0 and "FIELD: spec.replicas <integer>" in out
    code, out, _ = run_process(apiserver, "version")
    assert code == 0 and out.startswith("Client Version: ") and "Server Version: " in out
    code, out, _ = run_process(apiserver, "cluster-info")
    assert code == 0
    assert out.splitlines()[0] == f"corral API server is running at {apiserver.address}"
    assert "etcd version:   3." in out and "Nodes:" in out
    code, out, _ = run_process(apiserver, "api-resources")
    assert code == 0 and out.splitlines()[0].split()[:2] == ["NAME", "SHORTNAMES"]


def test_unreachable_server_as_a_process():
    code, out, err = run_process(None, "--server", "127.0.0.1:1", "get", "pods")
    assert (code, out) == (1, "")
    assert err == ("error: cannot reach the API server at 127.0.0.1:1: connection refused"
                   " — is it running? (make up)\n")


# ---------------------------------------------- every manifest we have

MANIFESTS = ROOT / "tests" / "manifests"
INVALID = sorted(p for p in (MANIFESTS / "invalid").iterdir() if p.suffix != ".error")
VALID = sorted((MANIFESTS / "valid").iterdir())
SERVER_OWNED = ("uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp",
                "deletionGracePeriodSeconds")


def _expected_error(path: Path) -> str:
    if path.with_name(path.name + ".error").exists():
        return path.with_name(path.name + ".error").read_text().strip()
    return path.read_text().splitlines()[0].removeprefix("# error: ")


@pytest.mark.parametrize("path", INVALID, ids=[p.name for p in INVALID])
def test_invalid_manifest_is_refused_with_its_exact_error_and_nothing_written(apiserver, ns,
                                                                              path):
    code, out, err = run_process(apiserver, "apply", "-n", ns, "-f", path.name,
                                 cwd=MANIFESTS / "invalid")
    assert (code, out) == (1, "")
    assert err == f"error: {_expected_error(path)}\n"
    for kind in ("deploy", "pods", "cm", "secrets", "hpa", "leases", "svc"):
        assert corral(apiserver, "get", kind, "-n", ns, "-o", "name").stdout == ""


def _rewritten(path: Path, namespace: str) -> list[dict[str, Any]]:
    """The file's manifests moved into `namespace`; cluster-scoped ones renamed to be unique."""
    from corral.api import kinds
    from corral.cli.manifest import load_text

    documents = []
    for document in load_text(path.read_text(), path.name):
        data = document.data
        kind = kinds.by_name(data["kind"])
        if kind.namespaced:
            data["metadata"]["namespace"] = namespace
            if isinstance(data.get("involvedObject"), dict):  # an Event's object is beside it
                data["involvedObject"]["namespace"] = namespace
        else:
            data["metadata"]["name"] = f"{namespace}-{data['metadata']['name']}"
        documents.append(data)
    return documents


def _contains(actual: Any, expected: Any, where: str = "") -> None:
    if isinstance(expected, dict):
        assert isinstance(actual, dict), where
        for key, value in expected.items():
            assert key in actual, f"{where}.{key} is missing"
            _contains(actual[key], value, f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), where
        for index, (have, want) in enumerate(zip(actual, expected, strict=True)):
            _contains(have, want, f"{where}[{index}]")
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


@pytest.mark.parametrize("path", VALID, ids=[p.name for p in VALID])
def test_valid_manifest_is_stored_with_every_field_it_sets(apiserver, ns, tmp_path, path):
    from corral.api import kinds
    from corral.cli.manifest import to_dict, to_object

    documents = _rewritten(path, ns)
    rewritten = write(tmp_path / path.with_suffix(".yaml").name, *documents)
    result = corral(apiserver, "apply", "-f", str(rewritten))
    assert result.exit_code == 0, result.stderr
    for data in documents:
        obj, _ = to_object(data)
        expected = to_dict(obj)  # the manifest in its canonical shape (autoscaling/v1 → v2)
        kind = kinds.by_name(data["kind"])
        stored = get_json(apiserver, kind.plural, data["metadata"]["name"], "-n", ns)
        for key in SERVER_OWNED:
            expected["metadata"].pop(key, None)
        if kind.name == "Secret":  # stringData is write-only: the server folds it into data
            for key, text in expected.pop("stringData", {}).items():
                expected.setdefault("data", {})[key] = base64.b64encode(text.encode()).decode()
        _contains(stored, expected, kind.name)


# ------------------------------------------------------------------- edit


def _editor(tmp_path: Path, name: str, python: str) -> str:
    """An $EDITOR that runs `python` with the file's text in `text` and writes back `text`."""
    script = tmp_path / f"{name}.py"
    script.write_text("import sys\nfrom pathlib import Path\npath = Path(sys.argv[1])\n"
                      f"text = path.read_text()\n{python}\npath.write_text(text)\n")
    return f"{sys.executable} {script}"


def _edit(apiserver: ApiServerProcess, editor: str, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--server", apiserver.address, "edit", *args],
                              env={"EDITOR": editor, "VISUAL": "", "CORRAL_EDITOR": ""},
                              catch_exceptions=False)


def test_edit_updates_cancels_and_keeps_invalid_edits(apiserver, ns, tmp_path):
    corral(apiserver, "apply", "-n", ns, "-f",
           str(write(tmp_path / "d.yaml", deployment("web", replicas=2))))
    up = _editor(tmp_path, "up", "text = text.replace('replicas: 2', 'replicas: 5', 1)")
    changed = _edit(apiserver, up, "deploy/web", "-n", ns)
    assert changed.stdout == "deployment.apps/web edited\n", changed.stderr
    assert get_json(apiserver, "deploy/web", "-n", ns)["spec"]["replicas"] == 5
    same = _edit(apiserver, _editor(tmp_path, "same", "pass"), "deploy", "web", "-n", ns)
    assert same.stdout == "Edit cancelled, no changes made.\n"
    bad = _editor(tmp_path, "bad", "text = text.replace('replicas: 5', 'replicas: five', 1)")
    broken = _edit(apiserver, bad, "deploy/web", "-n", ns)
    assert broken.exit_code == 1
    message, _, kept = broken.stderr.strip().rpartition("; your edited copy is kept in ")
    assert 'spec.replicas: expected integer, got "five"' in message
    assert "replicas: five" in Path(kept).read_text()
    Path(kept).unlink()


def test_edit_refuses_when_the_object_changed_meanwhile(apiserver, ns, tmp_path):
    corral(apiserver, "apply", "-n", ns, "-f", str(write(tmp_path / "d.yaml", deployment("web"))))
    # The "editor" changes the object on the server itself before saving its edit.
    meddle = (f"import subprocess\nsubprocess.run([{sys.executable!r}, '-m', 'corral', '--server', "
              f"{apiserver.address!r}, 'label', 'deploy/web', '-n', {ns!r}, 'x=1'], check=True, "
              f"cwd={str(ROOT)!r}, env={{'PYTHONPATH': {str(ROOT)!r}}})\n"
              "text = text.replace('image: nginx:1.27', 'image: nginx:1.29')")
    result = _edit(apiserver, _editor(tmp_path, "meddle", meddle), "deploy/web", "-n", ns)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: deployment.apps/web was changed while you edited it")
    assert "your edited copy is kept in " in result.stderr


# ----------------------------------------------------------------- expose


def test_expose_a_deployment_makes_a_node_port_service_selecting_its_pods(
        apiserver, ns, tmp_path):
    write(tmp_path / "d.yaml", deployment("web"))
    assert corral(apiserver, "apply", "-n", ns, "-f", str(tmp_path / "d.yaml")).exit_code == 0
    result = corral(apiserver, "expose", "deployment/web", "-n", ns, "--port", "80",
                    "--target-port", "8080", "--type", "NodePort")
    assert (result.exit_code, result.stdout) == (0, "service/web exposed\n"), result.stderr
    svc = get_json(apiserver, "svc", "web", "-n", ns)
    assert svc["spec"]["selector"] == {"app": "web"}
    [port] = svc["spec"]["ports"]
    assert (port["port"], port["targetPort"], port["protocol"]) == (80, 8080, "TCP")
    assert 30000 <= port["nodePort"] <= 32767
    assert svc["spec"]["clusterIP"].startswith("10.96.")
    table = corral(apiserver, "get", "svc", "web", "-n", ns).stdout.splitlines()
    assert table[1].split()[1:5] == ["NodePort", svc["spec"]["clusterIP"], "<none>",
                                     f"80:{port['nodePort']}/TCP"]
    again = corral(apiserver, "expose", "deploy", "web", "-n", ns, "--port", "80")
    assert again.exit_code == 1
    assert 'service "web" already exists; pick another with --name' in again.stderr
    missing = corral(apiserver, "expose", "deploy/nope", "-n", ns, "--port", "80")
    assert missing.exit_code == 1 and "not found" in missing.stderr

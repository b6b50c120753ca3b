"""Kubernetes manifests to corral objects and back (corral.manifest)."""

from __future__ import annotations

import copy
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message

from corral.api import kinds
from corral.api.v1 import apps_pb2, core_pb2
from corral.cli.ignored_fields import IGNORED_FIELDS, UNSUPPORTED_FIELDS
from corral.cli.manifest import (
    Document,
    ManifestError,
    dump_json,
    dump_yaml,
    load_paths,
    load_text,
    to_dict,
    to_object,
)

MANIFESTS = Path(__file__).parent.parent / "manifests"
VALID = sorted((MANIFESTS / "valid").iterdir())
INVALID = sorted(p for p in (MANIFESTS / "invalid").iterdir() if p.suffix != ".error")


def _valid_documents() -> list[Document]:
    return [doc for path in VALID for doc in load_text(path.read_text(), path.name)]


def _doc_id(doc: Document) -> str:
    return f"{doc.source}:{doc.line}:{doc.data['kind']}"


def _without_nulls(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _without_nulls(v) for k, v in data.items() if v is not None}
    if isinstance(data, list):
        return [_without_nulls(v) for v in data]
    return data


_WARNING = re.compile(r"^(?:\S+:\d+: )?(?P<path>\S+): ignored by corral \(.+\)$")


def _remove(data: dict[str, Any], dotted_path: str) -> None:
    parts: list[str | int] = []
    for token in re.findall(r"\[[^\]]*\]|[^.\[\]]+", dotted_path):
        inner = token[1:-1] if token.startswith("[") else token
        parts.append(int(inner) if token.startswith("[") and inner.isdigit() else inner)
    target: Any = data
    for part in parts[:-1]:
        target = target[part]
    del target[parts[-1]]


def _expected_after_round_trip(doc: Document, warnings: list[str]) -> dict[str, Any]:
    """The manifest minus null fields and the fields the warnings name as ignored."""
    expected = _without_nulls(copy.deepcopy(doc.data))
    for warning in warnings:
        match = _WARNING.match(warning)
        assert match, f"not an ignored-field warning: {warning}"
        _remove(expected, match["path"])
    return expected


# ------------------------------------------------------------------ valid


def _stored_api_version(doc: Document) -> str:
    return kinds.by_name(doc.data["kind"]).api_version


@pytest.mark.parametrize(
    "doc",
    [d for d in _valid_documents() if d.data["apiVersion"] == _stored_api_version(d)],
    ids=_doc_id,
)
def test_valid_manifest_round_trips_through_the_corral_object(doc: Document) -> None:
    obj, warnings = to_object(doc)
    assert to_dict(obj) == _expected_after_round_trip(doc, warnings)


def test_valid_manifests_include_every_supported_kind() -> None:
    assert {d.data["kind"] for d in _valid_documents()} == {k.name for k in kinds.KINDS}


def _fields_of(descriptor: Any, seen: set[str] | None = None) -> set[tuple[str, str]]:
    """(message, jsonField) of every field reachable from a kind's message."""
    seen = set() if seen is None else seen
    if descriptor.full_name in seen or descriptor.full_name.startswith("google.protobuf"):
        return set()
    seen.add(descriptor.full_name)
    fields = set()
    for field in descriptor.fields:
        fields.add((descriptor.name, field.json_name))
        message_type = field.message_type
        if message_type is not None and not message_type.GetOptions().map_entry:
            fields |= _fields_of(message_type, seen)
    return fields


def _set_fields(message: Message) -> set[tuple[str, str]]:
    fields = set()
    for field, value in message.ListFields():
        fields.add((message.DESCRIPTOR.name, field.json_name))
        if field.message_type is None or field.message_type.GetOptions().map_entry:
            continue
        for item in value if field.is_repeated else [value]:
            fields |= _set_fields(item)
    return fields


def test_valid_manifests_set_every_field_of_every_kind() -> None:
    every_field: set[tuple[str, str]] = set()
    for kind in kinds.KINDS:
        every_field |= _fields_of(kind.message.DESCRIPTOR)
    covered: set[tuple[str, str]] = set()
    for doc in _valid_documents():
        covered |= _set_fields(to_object(doc)[0])
    assert len(every_field) > 400
    assert sorted(every_field - covered) == []


def test_fields_the_loader_ignores_produce_warnings_naming_path_and_reason() -> None:
    path = MANIFESTS / "valid" / "deployment-ignored-fields.yaml"
    deployment, service = load_text(path.read_text(), path.name)

    _, warnings = to_object(deployment)
    src = path.name
    assert warnings == [
        f"{src}:8: metadata.selfLink: ignored by corral "
        "(deprecated in Kubernetes; corral has no self links)",
        f"{src}:9: metadata.managedFields: ignored by corral "
        "(server-side apply bookkeeping; corral has no field managers)",
        f"{src}:25: spec.template.spec.serviceAccountName: ignored by corral (no service accounts)",
        f"{src}:26: spec.template.spec.serviceAccount: ignored by corral (no service accounts)",
        f"{src}:27: spec.template.spec.automountServiceAccountToken: ignored by corral "
        "(no service account tokens are mounted)",
        f"{src}:28: spec.template.spec.imagePullSecrets: ignored by corral "
        "(images are pulled with the node's container runtime credentials)",
        f"{src}:30: spec.template.spec.securityContext: ignored by corral "
        "(pod security settings are not enforced)",
        f"{src}:32: spec.template.spec.dnsPolicy: ignored by corral "
        "(DNS settings of pods are not managed by corral)",
        f"{src}:33: spec.template.spec.enableServiceLinks: ignored by corral "
        "(no service environment variables are injected)",
        f"{src}:34: spec.template.spec.preemptionPolicy: ignored by corral "
        "(pods may always preempt lower priorities)",
        f"{src}:38: spec.template.spec.containers[0].securityContext: ignored by corral "
        "(container security settings are not enforced)",
        f"{src}:40: spec.template.spec.containers[0].resizePolicy: ignored by corral "
        "(resources are never resized in place)",
    ]
    _, warnings = to_object(service)
    assert [w.split(": ")[1] for w in warnings] == [
        "spec.ipFamilies",
        "spec.ipFamilyPolicy",
        "spec.internalTrafficPolicy",
    ]


def test_pod_spec_fields_are_ignored_wherever_a_pod_spec_appears() -> None:
    for manifest, prefix in [
        ({"apiVersion": "v1", "kind": "Pod", "spec": {}}, ("spec",)),
        (
            {"apiVersion": "apps/v1", "kind": "ReplicaSet", "spec": {"template": {"spec": {}}}},
            ("spec", "template", "spec"),
        ),
    ]:
        manifest["metadata"] = {"name": "x"}
        pod_spec: Any = manifest
        for key in prefix:
            pod_spec = pod_spec[key]
        pod_spec["serviceAccountName"] = "robot"
        _, warnings = to_object(manifest)
        assert warnings == [
            ".".join(prefix) + ".serviceAccountName: ignored by corral (no service accounts)"
        ]


def test_ignored_and_unsupported_fields_are_not_fields_corral_has() -> None:
    messages: dict[str, Descriptor] = {}

    def collect(descriptor: Any) -> None:
        if descriptor.name not in messages:
            messages[descriptor.name] = descriptor
            for field in descriptor.fields:
                if field.message_type is not None:
                    collect(field.message_type)

    for kind in kinds.KINDS:
        collect(kind.message.DESCRIPTOR)
    for qualified in [*IGNORED_FIELDS, *UNSUPPORTED_FIELDS]:
        message_name, _, json_name = qualified.partition(".")
        assert message_name in messages, qualified
        assert json_name not in {f.json_name for f in messages[message_name].fields}, qualified


# ---------------------------------------------------------------- invalid


def _expected_error(path: Path) -> str:
    if path.suffix == ".json":  # JSON has no comments
        return path.with_name(path.name + ".error").read_text().strip()
    first_line = path.read_text().splitlines()[0]
    assert first_line.startswith("# error: "), f"{path.name} must start with '# error: '"
    return first_line.removeprefix("# error: ")


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_invalid_manifest_is_refused_with_a_precise_error(path: Path) -> None:
    with pytest.raises(ManifestError) as error:
        for doc in load_text(path.read_text(), path.name):
            to_object(doc)
    assert str(error.value) == _expected_error(path)


def test_error_for_a_plain_dict_names_the_path_without_a_file() -> None:
    manifest = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {"replicas": "three"},
    }
    with pytest.raises(ManifestError) as error:
        to_object(manifest)
    assert str(error.value) == 'spec.replicas: expected integer, got "three"'
    assert error.value.path == "spec.replicas"


def test_map_keys_that_are_not_plain_words_are_bracketed_in_paths() -> None:
    manifest = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "labels": {"app.kubernetes.io/name": 3}},
    }
    with pytest.raises(ManifestError, match=r"^metadata\.labels\[app\.kubernetes\.io/name\]: "):
        to_object(manifest)


def test_secret_values_are_not_echoed_in_base64_errors() -> None:
    manifest = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s"},
        "data": {"password": "hunter2!"},
    }
    with pytest.raises(ManifestError) as error:
        to_object(manifest)
    assert "hunter2" not in str(error.value)


# --------------------------------------------------------------- encodings


def _pod(spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}


def test_null_fields_are_treated_as_absent() -> None:
    manifest = _pod({"nodeName": None, "containers": [{"name": "c", "image": None}]})
    manifest["metadata"]["creationTimestamp"] = None
    pod, _ = to_object(manifest)
    assert to_dict(pod) == _pod({"containers": [{"name": "c"}]})


def test_explicit_zero_of_an_optional_field_is_kept_and_zero_of_a_plain_field_is_dropped() -> None:
    manifest = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {"replicas": 0, "minReadySeconds": 0, "paused": False},
    }
    deployment, _ = to_object(manifest)
    assert isinstance(deployment, apps_pb2.Deployment)
    assert deployment.spec.HasField("replicas")
    assert to_dict(deployment)["spec"] == {"replicas": 0}


def test_empty_dir_given_as_empty_object_is_kept() -> None:
    pod, _ = to_object(_pod({"volumes": [{"name": "v", "emptyDir": {}}]}))
    assert isinstance(pod, core_pb2.Pod)
    assert pod.spec.volumes[0].HasField("empty_dir")
    assert to_dict(pod)["spec"]["volumes"] == [{"name": "v", "emptyDir": {}}]


@pytest.mark.parametrize(
    ("given", "stored", "rendered"),
    [(8080, "8080", 8080), ("http", "http", "http"), ("8080", "8080", 8080)],
)
def test_int_or_string_accepts_both_and_renders_digits_as_integer(
    given: Any, stored: str, rendered: Any
) -> None:
    probe = {"tcpSocket": {"port": given}}
    pod, _ = to_object(_pod({"containers": [{"name": "c", "readinessProbe": probe}]}))
    assert isinstance(pod, core_pb2.Pod)
    assert pod.spec.containers[0].readiness_probe.tcp_socket.port == stored
    rendered_probe = to_dict(pod)["spec"]["containers"][0]["readinessProbe"]
    assert rendered_probe == {"tcpSocket": {"port": rendered}}


def test_timestamps_with_offsets_are_stored_in_utc_and_rendered_with_z() -> None:
    manifest = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "l"},
        "spec": {"renewTime": "2024-05-01T14:00:00.5+02:00", "acquireTime": "2024-05-01T12:00:00Z"},
    }
    lease, _ = to_object(manifest)
    assert to_dict(lease)["spec"] == {
        "acquireTime": "2024-05-01T12:00:00Z",
        "renewTime": "2024-05-01T12:00:00.500000Z",
    }


def test_unquoted_yaml_timestamps_are_read_as_strings() -> None:
    text = (
        "apiVersion: v1\nkind: Node\nmetadata: {name: n, creationTimestamp: 2024-05-01T12:00:00Z}"
    )
    node, _ = to_object(load_text(text)[0])
    assert to_dict(node)["metadata"]["creationTimestamp"] == "2024-05-01T12:00:00Z"


def test_bytes_are_base64_with_line_breaks_allowed() -> None:
    manifest = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s"},
        "data": {"key": "aGVsbG8g\nd29ybGQ="},
    }
    secret, _ = to_object(manifest)
    assert isinstance(secret, core_pb2.Secret)
    assert secret.data["key"] == b"hello world"
    assert to_dict(secret)["data"] == {"key": "aGVsbG8gd29ybGQ="}


def test_yaml_octal_file_modes_are_numbers() -> None:
    text = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
        "spec:\n  volumes:\n  - name: c\n    configMap: {name: c, defaultMode: 0644}\n"
    )
    pod, _ = to_object(load_text(text)[0])
    assert isinstance(pod, core_pb2.Pod)
    assert pod.spec.volumes[0].config_map.default_mode == 0o644


# ----------------------------------------------------------------- loading


def test_multi_document_file_skips_empty_documents_and_knows_each_start_line() -> None:
    path = MANIFESTS / "valid" / "app-multi.yaml"
    docs = load_text(path.read_text(), path.name)
    assert [(d.data["kind"], d.data["metadata"]["name"], d.line) for d in docs] == [
        ("Namespace", "blog", 3),
        ("Deployment", "blog", 10),
        ("Deployment", "blog-worker", 37),
    ]


def test_list_is_flattened_into_its_items_with_their_lines() -> None:
    path = MANIFESTS / "valid" / "list.yaml"
    docs = load_text(path.read_text(), path.name)
    assert [(d.data["kind"], d.line) for d in docs] == [("ConfigMap", 7), ("Pod", 17)]
    assert docs[1].line_of(("spec", "containers", 0, "image")) == 26


def test_load_paths_reads_directories_recursively_in_sorted_order(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "two.yml").write_text(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: two}"
    )
    (tmp_path / "a.json").write_text(
        '{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "one"}}'
    )
    (tmp_path / "notes.txt").write_text("not a manifest")
    docs = load_paths([str(tmp_path)])
    assert [d.data["metadata"]["name"] for d in docs] == ["one", "two"]
    assert docs[1].source == str(tmp_path / "b" / "two.yml")


def test_load_paths_reads_stdin_for_dash() -> None:
    stdin = io.StringIO("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: from-stdin\n")
    (doc,) = load_paths(["-"], stdin=stdin)
    assert (doc.source, doc.line, doc.data["metadata"]["name"]) == ("<stdin>", 1, "from-stdin")


def test_load_paths_names_a_missing_path(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.yaml")
    with pytest.raises(ManifestError) as error:
        load_paths([missing])
    assert str(error.value) == f"{missing}: no such file or directory"


def test_generate_name_stands_in_for_name() -> None:
    (doc,) = load_text("apiVersion: v1\nkind: Pod\nmetadata: {generateName: web-}\n")
    pod, _ = to_object(doc)
    assert isinstance(pod, core_pb2.Pod)
    assert pod.metadata.generate_name == "web-"


# ----------------------------------------------------------------- writing


def test_dump_yaml_puts_api_version_and_kind_first_and_separates_documents() -> None:
    docs = _valid_documents()
    objects = [to_object(d)[0] for d in docs]
    text = dump_yaml(objects)
    assert text.startswith("apiVersion: ")
    assert text.count("\n---\n") == len(objects) - 1
    first = yaml.safe_load(text.split("\n---\n")[0])
    assert list(first)[:3] == ["apiVersion", "kind", "metadata"]
    reloaded = [to_dict(to_object(d)[0]) for d in load_text(text)]
    assert reloaded == [to_dict(o) for o in objects]


def test_dump_yaml_writes_multi_line_strings_as_literal_blocks() -> None:
    path = MANIFESTS / "valid" / "list.yaml"
    config_map, _ = to_object(load_text(path.read_text())[0])
    assert "motd: |\n    Welcome!\n    Enjoy your stay.\n" in dump_yaml(config_map)


def test_dump_json_writes_one_object_or_a_list_that_loads_back() -> None:
    objects = [to_object(d)[0] for d in _valid_documents()]
    single = json.loads(dump_json(objects[0]))
    assert single == to_dict(objects[0])
    reloaded = [to_dict(to_object(d)[0]) for d in load_text(dump_json(objects))]
    assert reloaded == [to_dict(o) for o in objects]

"""`corral explain` from the descriptor set with the proto comments (corral.cli.explain)."""

from __future__ import annotations

import pytest

from corral.api import kinds
from corral.cli.common import CliError
from corral.cli.explain import explain_text, load_comments


def test_the_descriptor_set_carries_message_and_field_comments() -> None:
    comments = load_comments()
    assert "corral.v1.ObjectMeta.name" in comments
    assert comments["corral.v1.ObjectMeta.name"].startswith("Name, unique within the namespace")


def test_explain_a_kind_lists_its_fields_with_types() -> None:
    text = explain_text(kinds.by_name("Deployment"), [], load_comments())
    assert text.startswith("KIND:       Deployment\nVERSION:    apps/v1\n")
    assert "FIELDS:\n  metadata\t<ObjectMeta>\n" in text
    assert "  spec\t<DeploymentSpec>\n" in text


def test_explain_a_field_path_shows_its_type_description_and_fields() -> None:
    text = explain_text(kinds.by_name("Pod"), ["metadata"], load_comments())
    assert "FIELD: metadata <ObjectMeta>" in text
    assert "  labels\t<map[string]string>\n    Identifying key/value pairs" in text
    assert "  creationTimestamp\t<Time>\n" in text
    assert "  ownerReferences\t<[]OwnerReference>\n" in text


def test_explain_goes_through_lists_and_shows_int_or_string() -> None:
    text = explain_text(kinds.by_name("Pod"),
                        ["spec", "containers", "livenessProbe", "httpGet"], load_comments())
    assert "  port\t<IntOrString>\n" in text


def test_explain_a_scalar_field_has_no_fields_section() -> None:
    text = explain_text(kinds.by_name("Pod"), ["metadata", "name"], load_comments())
    assert "FIELD: metadata.name <string>" in text
    assert "Name, unique within the namespace" in text
    assert "FIELDS:" not in text


def test_explain_recursive_lists_nested_fields_indented() -> None:
    text = explain_text(kinds.by_name("Deployment"), ["spec", "strategy"], load_comments(),
                        recursive=True)
    expected = "  type\t<string>\n  rollingUpdate\t<RollingUpdateDeployment>\n    maxUnavailable"
    assert expected in text


def test_unknown_field_names_the_path_and_the_fields_there() -> None:
    with pytest.raises(CliError) as error:
        explain_text(kinds.by_name("Pod"), ["spec", "contaners"], load_comments())
    assert error.value.message.startswith(
        'field "contaners" does not exist in Pod.spec (PodSpec); its fields: initContainers, '
        "containers,")

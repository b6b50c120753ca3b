"""The three-way merge behind `corral apply` (corral.apply)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from corral.cli.merge import (
    LAST_APPLIED_ANNOTATION,
    last_applied_of,
    last_applied_text,
    three_way_merge,
    with_last_applied,
)

CASES: list[tuple[str, Any, Any, Any, Any]] = [
    # id, last applied, new manifest, live, expected
    ("new field is added", {}, {"a": 1}, {}, {"a": 1}),
    ("manifest value wins over live", {"a": 1}, {"a": 2}, {"a": 3}, {"a": 2}),
    ("field removed from the manifest is removed", {"a": 1, "b": 2}, {"a": 1}, {"a": 1, "b": 2},
     {"a": 1}),
    ("field the manifest never set is kept", {"a": 1}, {"a": 1}, {"a": 1, "status": {"x": 1}},
     {"a": 1, "status": {"x": 1}}),
    ("controller-set replicas survive when the manifest omits them",
     {"spec": {"image": "v1"}}, {"spec": {"image": "v2"}}, {"spec": {"image": "v1", "replicas": 7}},
     {"spec": {"image": "v2", "replicas": 7}}),
    ("nested removal", {"m": {"labels": {"a": "1", "b": "2"}}}, {"m": {"labels": {"a": "1"}}},
     {"m": {"labels": {"a": "1", "b": "2", "c": "3"}}}, {"m": {"labels": {"a": "1", "c": "3"}}}),
    ("removing a whole map", {"m": {"x": 1}}, {}, {"m": {"x": 1, "y": 2}}, {}),
    ("without last applied nothing is removed", None, {"a": 1}, {"a": 1, "b": 2},
     {"a": 1, "b": 2}),
    ("removed field already gone live", {"a": 1, "b": 2}, {"a": 1}, {"a": 1}, {"a": 1}),
    ("plain lists are replaced", {"l": [1, 2]}, {"l": [3]}, {"l": [1, 2, 9]}, {"l": [3]}),
    ("lists of objects without names are replaced", {}, {"l": [{"port": 1}]},
     {"l": [{"port": 1, "protocol": "TCP"}]}, {"l": [{"port": 1}]}),
    ("named items merge by name, keeping live-only fields",
     {"c": [{"name": "web", "image": "a"}]}, {"c": [{"name": "web", "image": "b"}]},
     {"c": [{"name": "web", "image": "a", "imagePullPolicy": "IfNotPresent"}]},
     {"c": [{"name": "web", "image": "b", "imagePullPolicy": "IfNotPresent"}]}),
    ("named item removed from the manifest is removed",
     {"c": [{"name": "a"}, {"name": "b"}]}, {"c": [{"name": "a"}]},
     {"c": [{"name": "a"}, {"name": "b"}]}, {"c": [{"name": "a"}]}),
    ("named item added by someone else is kept",
     {"c": [{"name": "a"}]}, {"c": [{"name": "a"}]},
     {"c": [{"name": "a"}, {"name": "sidecar"}]}, {"c": [{"name": "a"}, {"name": "sidecar"}]}),
    ("named items follow the manifest's order",
     {}, {"c": [{"name": "b"}, {"name": "a"}]}, {"c": [{"name": "a"}, {"name": "b"}]},
     {"c": [{"name": "b"}, {"name": "a"}]}),
    ("field removed inside a named item", {"c": [{"name": "a", "args": ["x"]}]},
     {"c": [{"name": "a"}]}, {"c": [{"name": "a", "args": ["x"], "tty": True}]},
     {"c": [{"name": "a", "tty": True}]}),
    ("a map replacing a scalar", {}, {"a": {"b": 1}}, {"a": "text"}, {"a": {"b": 1}}),
]


@pytest.mark.parametrize(("last", "desired", "live", "expected"),
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_three_way_merge(last: Any, desired: Any, live: Any, expected: Any) -> None:
    assert three_way_merge(last, desired, live) == expected


def test_merge_does_not_change_its_inputs() -> None:
    last, desired, live = {"a": {"b": 1}}, {"a": {"c": 2}}, {"a": {"b": 1, "d": 3}}
    snapshot = json.dumps([last, desired, live])
    three_way_merge(last, desired, live)
    assert json.dumps([last, desired, live]) == snapshot


def test_applying_the_same_manifest_to_its_own_result_changes_nothing() -> None:
    manifest = {"metadata": {"name": "web"}, "spec": {"replicas": 2, "c": [{"name": "a"}]}}
    live = three_way_merge(None, manifest, {"metadata": {"uid": "1"}, "status": {"ready": 2}})
    assert three_way_merge(manifest, manifest, live) == live


def test_last_applied_annotation_round_trips_without_itself() -> None:
    manifest = {"kind": "Pod", "metadata": {"name": "web", "annotations": {"x": "y"}}}
    text = last_applied_text(manifest)
    annotated = with_last_applied(manifest, text)
    assert annotated["metadata"]["annotations"] == {"x": "y", LAST_APPLIED_ANNOTATION: text}
    assert last_applied_text(annotated) == text
    assert last_applied_of(annotated) == manifest
    assert json.loads(text) == manifest


def test_last_applied_text_keeps_the_manifest_order() -> None:
    assert last_applied_text({"kind": "Pod", "apiVersion": "v1"}) == (
        '{"kind":"Pod","apiVersion":"v1"}'
    )


@pytest.mark.parametrize("value", ["not json", "[1, 2]", ""])
def test_unreadable_last_applied_annotation_counts_as_none(value: str) -> None:
    live = {"metadata": {"annotations": {LAST_APPLIED_ANNOTATION: value}}}
    assert last_applied_of(live) is None

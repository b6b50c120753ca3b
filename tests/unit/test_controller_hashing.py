"""The pod-template hash that names a Deployment's ReplicaSets."""

from __future__ import annotations

from controller import hashing
from controller.expectations import Expectations
from corral.api import apps
from corral.api.v1 import core_pb2


def template(image="nginx:1", labels=None):
    t = core_pb2.PodTemplateSpec()
    for key, value in (labels or {"app": "web", "tier": "front"}).items():
        t.metadata.labels[key] = value
    t.spec.containers.add(name="web", image=image)
    return t


def test_hash_is_stable_across_processes_and_label_order():
    a = template(labels={"app": "web", "tier": "front"})
    b = template(labels={"tier": "front", "app": "web"})
    assert hashing.pod_template_hash(a) == hashing.pod_template_hash(b)
    # A fixed value: the hash must not change between releases, or every
    # Deployment would roll out again after an upgrade.
    assert hashing.pod_template_hash(a) == hashing.pod_template_hash(template())
    assert hashing.pod_template_hash(a) == "66c7ccdd75"


def test_hash_changes_with_the_template_and_the_collision_count():
    base = hashing.pod_template_hash(template())
    assert hashing.pod_template_hash(template(image="nginx:2")) != base
    assert hashing.pod_template_hash(template(), collision_count=1) != base


def test_hash_ignores_the_pod_template_hash_label():
    t = template()
    with_label = template()
    with_label.metadata.labels[apps.POD_TEMPLATE_HASH_LABEL] = "xyz"
    assert hashing.pod_template_hash(with_label) == hashing.pod_template_hash(t)
    assert hashing.templates_equal(t, with_label)
    assert not hashing.templates_equal(t, template(image="other"))


def test_hash_uses_only_consonants_and_digits():
    assert set(hashing.pod_template_hash(template())) <= set("bcdfghjklmnpqrstvwxz2456789")


def test_expectations_wait_for_every_creation_and_deletion():
    clock = [0.0]
    exp = Expectations(timeout=300, clock=lambda: clock[0])
    assert exp.satisfied("ns/rs")
    exp.expect_creations("ns/rs", 2)
    assert not exp.satisfied("ns/rs")
    exp.creation_observed("ns/rs")
    exp.creation_observed("ns/rs")
    assert exp.satisfied("ns/rs")
    exp.expect_deletions("ns/rs", ["ns/p1", "ns/p2"])
    exp.deletion_observed("ns/rs", "ns/p1")
    exp.deletion_observed("ns/rs", "ns/p1")  # seen twice: counted once
    assert exp.outstanding("ns/rs") == (0, 1)
    assert not exp.satisfied("ns/rs")
    clock[0] = 301.0  # a lost event cannot block the controller forever
    assert exp.satisfied("ns/rs")

"""Admission: what the API server does to an object before it is stored.

Server-owned fields are set here (uid, timestamps, generation); defaults and
validation come from the shared library so the CLI can apply the same rules.
"""

from __future__ import annotations

import secrets
import string
import uuid

from google.protobuf import timestamp_pb2
from google.protobuf.message import Message

from corral.api import (
    NAMESPACE_ACTIVE,
    NAMESPACE_TERMINATING,
    POD_PENDING,
    Kind,
    defaults,
    errors,
    metadata,
    validation,
)
from corral.api.v1 import core_pb2

MAX_OBJECT_BYTES = 1024 * 1024
# The namespace's own finalizer: the namespace controller removes it once the
# namespace is empty, and only then does the namespace go (as in Kubernetes).
NAMESPACE_FINALIZER = "kubernetes"
FOREGROUND_FINALIZER = "foregroundDeletion"
ORPHAN_FINALIZER = "orphan"
_NAME_SUFFIX_ALPHABET = string.ascii_lowercase + string.digits


def now() -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.GetCurrentTime()
    return stamp


def generated_name(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_NAME_SUFFIX_ALPHABET) for _ in range(5))


def prepare_create(kind: Kind, obj: Message) -> None:
    """Fills server fields and defaults, then validates; raises errors.Invalid."""
    meta = metadata(obj)
    if not kind.namespaced:
        meta.namespace = ""
    if not meta.name and meta.generate_name:
        meta.name = generated_name(meta.generate_name)
    meta.uid = str(uuid.uuid4())
    meta.resource_version = ""
    meta.generation = 1
    meta.creation_timestamp.CopyFrom(now())
    meta.ClearField("deletion_timestamp")
    meta.ClearField("deletion_grace_period_seconds")
    if isinstance(obj, core_pb2.Namespace):
        if not obj.spec.finalizers:
            obj.spec.finalizers.append(NAMESPACE_FINALIZER)
        obj.status.phase = NAMESPACE_ACTIVE
    elif isinstance(obj, core_pb2.Pod) and not obj.status.phase:
        obj.status.phase = POD_PENDING
    defaults.apply_defaults(obj)
    validation.check(obj, defaulted=True)


def prepare_update(kind: Kind, old: Message, new: Message) -> None:
    """Carries server-owned metadata over from the stored object, bumps the
    generation when the spec changed, defaults and validates."""
    meta, old_meta = metadata(new), metadata(old)
    meta.uid = old_meta.uid
    meta.generation = old_meta.generation
    for name in ("creation_timestamp", "deletion_timestamp", "deletion_grace_period_seconds"):
        if old_meta.HasField(name):
            value = getattr(old_meta, name)
            if isinstance(value, Message):
                getattr(meta, name).CopyFrom(value)
            else:
                setattr(meta, name, value)
        else:
            meta.ClearField(name)
    if (isinstance(old, core_pb2.Namespace) and isinstance(new, core_pb2.Namespace)
            and old.status.phase == NAMESPACE_TERMINATING):
        new.status.phase = NAMESPACE_TERMINATING
    defaults.apply_defaults(new)
    # The stored object was defaulted when it was written.
    validation.check(new, old, defaulted=True)
    if spec_changed(kind, old, new):
        meta.generation = old_meta.generation + 1


def spec_changed(kind: Kind, old: Message, new: Message) -> bool:
    """Whether anything but metadata and status differs."""
    for field in kind.message.DESCRIPTOR.fields:
        if field.name not in ("metadata", "status") and (
            getattr(old, field.name) != getattr(new, field.name)
        ):
            return True
    return False


def check_size(kind: Kind, raw: bytes) -> None:
    if len(raw) > MAX_OBJECT_BYTES:
        raise errors.Invalid(
            f"the {kind.name} is {len(raw)} bytes encoded; the limit is {MAX_OBJECT_BYTES} (1 MiB)",
            field="metadata.name",
        )


def finalizers_done(kind: Kind, obj: Message) -> bool:
    """Whether a deleted object may now be removed from storage."""
    if metadata(obj).finalizers:
        return False
    return not (isinstance(obj, core_pb2.Namespace) and obj.spec.finalizers)


def mark_deleted(
    kind: Kind, obj: Message, grace_period_seconds: int | None, propagation_policy: str
) -> None:
    """Starts graceful deletion: a deletionTimestamp, and the finalizers the
    propagation policy asks the garbage collector to honour."""
    meta = metadata(obj)
    if not meta.HasField("deletion_timestamp"):
        meta.deletion_timestamp.CopyFrom(now())
        if grace_period_seconds is None and isinstance(obj, core_pb2.Pod):
            grace_period_seconds = obj.spec.termination_grace_period_seconds
        meta.deletion_grace_period_seconds = grace_period_seconds or 0
    elif (
        grace_period_seconds is not None
        and grace_period_seconds < meta.deletion_grace_period_seconds
    ):
        # A shorter grace period may replace a longer one, never the reverse.
        meta.deletion_grace_period_seconds = grace_period_seconds
    extra = {"Foreground": FOREGROUND_FINALIZER, "Orphan": ORPHAN_FINALIZER}.get(propagation_policy)
    if extra and extra not in meta.finalizers:
        meta.finalizers.append(extra)
    if isinstance(obj, core_pb2.Namespace):
        obj.status.phase = NAMESPACE_TERMINATING


PROPAGATION_POLICIES = ("", "Background", "Foreground", "Orphan")

"""Object metadata, the same for every kind: keys, owner references, timestamps and the
cache indexes built from them.

Every API object carries an `ObjectMeta` in `metadata`; `Object` says so to the type
checker, so code that handles "any object" reads `obj.metadata.name` without casts.
"""

from __future__ import annotations

from typing import Protocol, cast, runtime_checkable

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from corral.api import kinds
from corral.api.v1 import meta_pb2


@runtime_checkable
class Object(Protocol):
    """Any API object: a protobuf message with `metadata`."""

    @property
    def metadata(self) -> meta_pb2.ObjectMeta: ...

    def SerializeToString(self, *, deterministic: bool = ...) -> bytes: ...


def metadata(obj: Message | Object) -> meta_pb2.ObjectMeta:
    """The metadata of any API object, typed.

    The one place that knows every kind's message has `metadata` (the generated stubs
    of a plain `Message` cannot say so)."""
    return cast(Object, obj).metadata


# -- keys ----------------------------------------------------------------------------------------


def object_key(obj: Message | Object) -> str:
    """`namespace/name`, or `name` for cluster-scoped objects: the key of caches and queues."""
    meta = metadata(obj)
    return f"{meta.namespace}/{meta.name}" if meta.namespace else meta.name


def split_key(key: str) -> tuple[str, str]:
    """(namespace, name) of an object key; namespace is "" for cluster-scoped keys."""
    namespace, _, name = key.rpartition("/")
    return namespace, name


# -- owner references ----------------------------------------------------------------------------


def controller_ref(obj: Message | Object) -> meta_pb2.OwnerReference | None:
    """The reference to the object's controlling owner, if any."""
    for ref in metadata(obj).owner_references:
        if ref.controller:
            return ref
    return None


def owner_reference(owner: Message) -> meta_pb2.OwnerReference:
    """A controlling reference to `owner` that blocks its foreground deletion."""
    kind = kinds.of_message(owner)
    meta = metadata(owner)
    return meta_pb2.OwnerReference(
        api_version=kind.api_version, kind=kind.name, name=meta.name, uid=meta.uid,
        controller=True, block_owner_deletion=True,
    )


def is_deleting(obj: Message | Object) -> bool:
    """True once deletion has been requested (finalizers may still hold the object)."""
    return metadata(obj).HasField("deletion_timestamp")


# -- timestamps ----------------------------------------------------------------------------------


def to_timestamp(seconds: float) -> Timestamp:
    """A protobuf Timestamp of `seconds` since the epoch (sub-second precision kept)."""
    stamp = Timestamp()
    stamp.FromNanoseconds(int(seconds * 1e9))
    return stamp


def to_seconds(stamp: Timestamp) -> float:
    """Seconds since the epoch of a Timestamp (0.0 for an unset one)."""
    return stamp.ToNanoseconds() / 1e9


def seconds_or_none(stamp: Timestamp) -> float | None:
    """Seconds since the epoch, or None when the Timestamp is unset (all zero)."""
    if not stamp.seconds and not stamp.nanos:
        return None
    return to_seconds(stamp)


# -- cache indexes (informer index functions) ----------------------------------------------------


def index_by_namespace(obj: Message | Object) -> list[str]:
    return [metadata(obj).namespace]


def index_by_owner_uid(obj: Message | Object) -> list[str]:
    """The uids of an object's owners (`metadata.ownerReferences[].uid`)."""
    return [ref.uid for ref in metadata(obj).owner_references]


def index_by_controller_uid(obj: Message | Object) -> list[str]:
    """The uid of the owner that controls the object, if any."""
    ref = controller_ref(obj)
    return [ref.uid] if ref is not None else []


def index_by_label(obj: Message | Object) -> list[str]:
    """Every label as `key=value`: by_index("labels", "app=web")."""
    return [f"{k}={v}" for k, v in metadata(obj).labels.items()]


def index_by_node(obj: Message) -> list[str]:
    """The node a pod is bound to (`spec.nodeName`); unbound pods are not indexed."""
    node_name: str = getattr(obj, "spec").node_name  # noqa: B009 (pods only; typed loosely)
    return [node_name] if node_name else []

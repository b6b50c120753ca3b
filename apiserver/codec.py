"""How objects are keyed and encoded in etcd.

The stored bytes never hold a resourceVersion: it is etcd's mod revision of the
key, added when an object is read. Adding it does not need a decode and
re-encode: protobuf parsers merge concatenated messages field by field (the
last scalar wins), so appending an encoded `metadata { resource_version }`
to the stored bytes yields the object at that version. Watches and lists send
objects this way, straight from the bytes etcd returned.
"""

from __future__ import annotations

from google.protobuf import any_pb2
from google.protobuf.message import Message

from apiserver.storage import PREFIX, prefix_end
from corral.api import Kind, metadata
from corral.api.v1 import meta_pb2

_TYPE_URL_PREFIX = "type.googleapis.com/"


def kind_prefix(kind: Kind, namespace: str = "") -> bytes:
    """The key prefix of a kind, or of a kind within one namespace."""
    prefix = PREFIX + kind.plural.encode() + b"/"
    if namespace and kind.namespaced:
        prefix += namespace.encode() + b"/"
    return prefix


def object_range(kind: Kind, namespace: str = "") -> tuple[bytes, bytes]:
    """The [start, end) key range of a kind's objects (in one namespace, or all).

    It stops short of the kind's sync key, which is no object."""
    prefix = kind_prefix(kind, namespace)
    if namespace and kind.namespaced:
        return prefix, prefix_end(prefix)
    return prefix, prefix + b"\xff"


def sync_key(kind: Kind) -> bytes:
    """A key inside the kind's watch range that sorts after every object.

    The watch cache writes it to learn that its watch has delivered everything
    up to that write: etcd sends a watch's events in revision order, and
    (before etcd 3.4.24) its progress notifications could overtake them."""
    return kind_prefix(kind) + b"\xff"


def object_key(kind: Kind, namespace: str, name: str) -> bytes:
    if kind.namespaced:
        return PREFIX + f"{kind.plural}/{namespace}/{name}".encode()
    return PREFIX + f"{kind.plural}/{name}".encode()


def encode(obj: Message) -> bytes:
    """The bytes to store: the object without its resourceVersion."""
    meta = metadata(obj)
    version = meta.resource_version
    if not version:
        return obj.SerializeToString(deterministic=True)
    meta.resource_version = ""
    try:
        return obj.SerializeToString(deterministic=True)
    finally:
        meta.resource_version = version


def _version_suffix(revision: int) -> bytes:
    # Field 1 of every kind message is its ObjectMeta.
    meta = meta_pb2.ObjectMeta(resource_version=str(revision)).SerializeToString()
    return b"\x0a" + _varint(len(meta)) + meta


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def versioned_bytes(raw: bytes, revision: int) -> bytes:
    """Stored bytes plus their resourceVersion, still encoded."""
    return raw + _version_suffix(revision)


def decode(kind: Kind, raw: bytes, revision: int) -> Message:
    obj = kind.message()
    obj.ParseFromString(raw)
    metadata(obj).resource_version = str(revision)
    return obj


def to_any(kind: Kind, raw: bytes, revision: int) -> any_pb2.Any:
    """The wire form of a stored object at a revision, without decoding it."""
    return any_pb2.Any(
        type_url=_TYPE_URL_PREFIX + kind.full_name, value=versioned_bytes(raw, revision)
    )

"""The pod-template hash: names a Deployment's ReplicaSet after its pod template.

Like Kubernetes, the hash is 32-bit FNV-1a, encoded with an alphabet without
vowels (so it never spells words) and salted with the Deployment's
collisionCount, so a collision can be escaped by bumping the count.
"""

from __future__ import annotations

from corral.api import apps
from corral.api.v1 import core_pb2

# Kubernetes' SafeEncodeString alphabet: no vowels, no look-alike characters.
_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"

_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193


def fnv1a_32(data: bytes) -> int:
    value = _FNV_OFFSET
    for byte in data:
        value ^= byte
        value = (value * _FNV_PRIME) & 0xFFFFFFFF
    return value


def _safe_encode(number: int) -> str:
    digits = str(number)
    return "".join(_ALPHABET[ord(digit) % len(_ALPHABET)] for digit in digits)



def pod_template_hash(template: core_pb2.PodTemplateSpec, collision_count: int = 0) -> str:
    """The hash of a pod template (ignoring any pod-template-hash label in it).

    Deterministic protobuf serialization sorts map entries, so equal templates hash
    alike in every process and Python version.
    """
    data = apps.without_hash_label(template).SerializeToString(deterministic=True)
    if collision_count:
        data += collision_count.to_bytes(4, "little")
    return _safe_encode(fnv1a_32(data))


def templates_equal(a: core_pb2.PodTemplateSpec, b: core_pb2.PodTemplateSpec) -> bool:
    """Whether two templates are the same once pod-template-hash labels are ignored."""
    return apps.without_hash_label(a) == apps.without_hash_label(b)

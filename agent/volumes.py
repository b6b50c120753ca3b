"""Pod volumes on the host: what each container mounts, and the files of
configMap and secret volumes.

configMap and secret volumes are directories the agent writes under
`<root-dir>/pods/<pod uid>/volumes/<volume>/` and bind-mounts read-only; they are
rewritten when the object changes (each file replaced atomically, so a reader
never sees half a file). emptyDir volumes are runtime volumes (Docker named
volumes, labelled with the node), shared by the pod's containers and removed
with the pod. hostPath volumes bind-mount the host path.

Bind-mount sources are paths on the Docker engine's host. When the agent itself
runs in a container sharing the host's Docker socket, mount root-dir at the
same path inside and outside (e.g. `-v /var/lib/corral-agent:/var/lib/corral-agent`),
so that the paths the agent writes are the paths the engine mounts.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from agent.runtime import Mount
from corral.api.v1 import core_pb2

# (namespace, name) -> key -> bytes, or None when the object does not exist.
BinaryLookup = Callable[[str, str], Mapping[str, bytes] | None]


class VolumeError(Exception):
    """A volume that cannot be set up (a missing ConfigMap, a bad path)."""


def pod_dir(root: Path, pod_uid: str) -> Path:
    return root / "pods" / pod_uid


def volume_dir(root: Path, pod_uid: str, volume: str) -> Path:
    return pod_dir(root, pod_uid) / "volumes" / volume


def empty_dir_name(pod_uid: str, volume: str) -> str:
    """The runtime volume that holds an emptyDir."""
    return f"corral-{pod_uid}-{volume}"


def projected_files(
    pod: core_pb2.Pod,
    volume: core_pb2.Volume,
    *,
    config_maps: BinaryLookup,
    secrets: BinaryLookup,
) -> dict[str, tuple[bytes, int]] | None:
    """The files of a configMap or secret volume: relative path -> (content, mode).

    None for other volume kinds. Raises VolumeError when a required object or key is missing.
    """
    namespace = pod.metadata.namespace
    if volume.HasField("config_map"):
        source: core_pb2.ConfigMapVolumeSource | core_pb2.SecretVolumeSource = volume.config_map
        kind, name, data = "configmap", volume.config_map.name, config_maps(
            namespace, volume.config_map.name)
    elif volume.HasField("secret"):
        source = volume.secret
        kind, name, data = "secret", volume.secret.secret_name, secrets(
            namespace, volume.secret.secret_name)
    else:
        return None
    default_mode = source.default_mode if source.HasField("default_mode") else 0o644
    if data is None:
        if source.optional:
            return {}
        raise VolumeError(f'volume "{volume.name}": {kind} "{name}" not found')
    files: dict[str, tuple[bytes, int]] = {}
    if source.items:
        for item in source.items:
            if item.key not in data:
                if source.optional:
                    continue
                raise VolumeError(
                    f'volume "{volume.name}": key "{item.key}" not found in {kind} "{name}"')
            mode = item.mode if item.HasField("mode") else default_mode
            files[_safe_relative(volume.name, item.path or item.key)] = (data[item.key], mode)
    else:
        for key, value in data.items():
            files[_safe_relative(volume.name, key)] = (value, default_mode)
    return files


def _safe_relative(volume: str, path: str) -> str:
    parts = Path(path).parts
    if not path or Path(path).is_absolute() or ".." in parts:
        raise VolumeError(f'volume "{volume}": path {path!r} must be relative, without ".."')
    return path


def write_files(directory: Path, files: Mapping[str, tuple[bytes, int]]) -> bool:
    """Makes `directory` hold exactly `files`; returns whether anything changed."""
    directory.mkdir(parents=True, exist_ok=True)
    changed = False
    for relative, (content, mode) in files.items():
        target = directory / relative
        try:
            if target.read_bytes() == content and (target.stat().st_mode & 0o777) == mode:
                continue
        except OSError:
            pass
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        with os.fdopen(handle, "wb") as out:
            out.write(content)
        os.chmod(temporary, mode)
        os.replace(temporary, target)
        changed = True
    wanted = {directory / relative for relative in files}
    for path in sorted(directory.rglob("*"), reverse=True):
        if path.is_file() and path not in wanted:
            path.unlink()
            changed = True
        elif path.is_dir() and not any(path.iterdir()) and not any(
                w.is_relative_to(path) for w in wanted):
            path.rmdir()
    return changed


def remove_pod_dir(root: Path, pod_uid: str) -> None:
    shutil.rmtree(pod_dir(root, pod_uid), ignore_errors=True)


def container_mounts(
    root: Path, pod: core_pb2.Pod, container: core_pb2.Container
) -> list[Mount]:
    """The mounts of one container; raises VolumeError for a mount of an unknown volume."""
    volumes = {volume.name: volume for volume in pod.spec.volumes}
    mounts: list[Mount] = []
    for mount in container.volume_mounts:
        volume = volumes.get(mount.name)
        if volume is None:
            raise VolumeError(
                f'container "{container.name}": volumeMount "{mount.name}" names no volume '
                "of the pod")
        sub = _safe_relative(mount.name, mount.sub_path) if mount.sub_path else ""
        if volume.HasField("host_path"):
            source = str(Path(volume.host_path.path) / sub) if sub else volume.host_path.path
            mounts.append(Mount(mount.mount_path, source, "bind", mount.read_only))
        elif volume.HasField("config_map") or volume.HasField("secret"):
            base = volume_dir(root, pod.metadata.uid, volume.name)
            source = str(base / sub) if sub else str(base)
            # Projected volumes are always read-only, as in Kubernetes.
            mounts.append(Mount(mount.mount_path, source, "bind", True))
        else:
            if sub:
                raise VolumeError(
                    f'container "{container.name}": subPath is not supported for emptyDir '
                    f'volume "{volume.name}"')
            mounts.append(Mount(mount.mount_path, empty_dir_name(pod.metadata.uid, volume.name),
                                "volume", mount.read_only))
    return mounts

"""What the agent needs from a container runtime, and the records it gets back.

The agent's pod side (pod_sync.py, containers.py) sees containers only
through `Runtime`; the Docker runtime (docker_runtime.py) makes real
containers, the hollow runtime (hollow_runtime.py) pretends to, for scale
tests. Every container a runtime
makes carries labels naming its node, pod and container, so that several
agents can share one engine and an agent only ever touches its own.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

# Labels on every container (and volume) the agent makes.
LABEL_NODE = "corral.node"
LABEL_POD_UID = "corral.pod.uid"
LABEL_POD_NAMESPACE = "corral.pod.namespace"
LABEL_POD_NAME = "corral.pod.name"
LABEL_CONTAINER = "corral.container"
# infra (the pod's network holder), init or app.
LABEL_ROLE = "corral.role"
# The how-manieth instance of this container in its pod: the restart count.
LABEL_ATTEMPT = "corral.attempt"
# Seconds between SIGTERM and SIGKILL, for containers whose pod is gone.
LABEL_GRACE = "corral.grace"

ROLE_INFRA = "infra"
ROLE_INIT = "init"
ROLE_APP = "app"


class ImagePullError(Exception):
    """An image could not be pulled (or is absent under pull policy Never)."""

    def __init__(self, message: str, *, never_pull: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.never_pull = never_pull


class ContainerConfigError(Exception):
    """The runtime refused a container's configuration (CreateContainerError)."""


class RuntimeUnavailable(Exception):
    """The runtime (the Docker engine) does not answer."""


@dataclass(frozen=True)
class PodRef:
    """The pod a container belongs to, as its labels say."""

    uid: str
    namespace: str
    name: str

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class Mount:
    """A volume mount: a host directory (bind), or a named runtime volume (emptyDir)."""

    target: str
    source: str
    # bind or volume
    kind: str = "bind"
    read_only: bool = False


@dataclass(frozen=True)
class PortBinding:
    container_port: int
    host_port: int
    protocol: str = "TCP"
    host_ip: str = ""


@dataclass
class SandboxSpec:
    """The pod's infrastructure container: its network namespace and published ports."""

    pod: PodRef
    hostname: str
    ports: list[PortBinding] = field(default_factory=list)
    grace_seconds: int = 30


@dataclass
class ContainerSpec:
    """One container to create, fully resolved (env values, mounts, limits)."""

    pod: PodRef
    name: str
    role: str
    attempt: int
    image: str
    pull_policy: str
    command: list[str] = field(default_factory=list)
    args: list[str] = field(default_factory=list)
    working_dir: str = ""
    env: dict[str, str] = field(default_factory=dict)
    mounts: list[Mount] = field(default_factory=list)
    # Limits: cpu in millicores, memory in bytes; 0 means none.
    cpu_millis: int = 0
    memory_bytes: int = 0
    # Recorded on the container (requests do not constrain Docker).
    cpu_request_millis: int = 0
    memory_request_bytes: int = 0
    tty: bool = False
    stdin: bool = False
    grace_seconds: int = 30


@dataclass
class ContainerInfo:
    """One container as the runtime sees it now."""

    id: str
    pod: PodRef
    name: str
    role: str
    attempt: int
    image: str
    image_id: str
    # created, running or exited
    state: str
    exit_code: int = 0
    oom_killed: bool = False
    error: str = ""
    # Unix seconds; 0 when not yet.
    created_at: float = 0.0
    started_at: float = 0.0
    finished_at: float = 0.0
    # The pod IP, for an infra container.
    ip: str = ""
    grace_seconds: int = 30

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def exited(self) -> bool:
        return self.state == "exited"


def newest(instances: list[ContainerInfo]) -> tuple[ContainerInfo | None, ContainerInfo | None]:
    """(current, previous) instances of one container, by attempt."""
    ordered = sorted(instances, key=lambda c: (c.attempt, c.created_at))
    current = ordered[-1] if ordered else None
    previous = ordered[-2] if len(ordered) > 1 else None
    return current, previous


@dataclass
class ContainerStats:
    # Total CPU time used so far, in nanoseconds.
    cpu_nanos: int
    # Working set: memory in use, not counting reclaimable cache.
    memory_bytes: int


@dataclass
class NodeFacts:
    """What the runtime knows about its host."""

    cpu_millis: int
    memory_bytes: int
    images: list[tuple[list[str], int]]
    runtime_version: str
    kernel_version: str
    os_image: str
    architecture: str
    operating_system: str = "linux"
    machine_id: str = ""


@dataclass
class ExecResult:
    exit_code: int
    output: bytes


class ExecSession(abc.ABC):
    """A command running in a container, attached to its stdin and output."""

    @abc.abstractmethod
    def output(self) -> AsyncIterator[tuple[str, bytes]]:
        """("stdout"|"stderr", data) until the command's output ends."""

    @abc.abstractmethod
    async def write(self, data: bytes) -> None: ...

    @abc.abstractmethod
    async def close_stdin(self) -> None: ...

    @abc.abstractmethod
    async def resize(self, width: int, height: int) -> None: ...

    @abc.abstractmethod
    async def exit_code(self) -> int:
        """The command's exit code, once its output has ended."""

    @abc.abstractmethod
    async def close(self) -> None: ...


# Called with the pod a container event concerns (from a runtime thread or task).
EventCallback = Callable[[PodRef], None]


class Runtime(abc.ABC):
    """Containers of one node. All methods are safe to call concurrently."""

    node_name: str

    @abc.abstractmethod
    async def start(self, on_event: EventCallback) -> None:
        """Connects; from now on `on_event` is called when a container of this node changes."""

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    async def ping(self) -> bool:
        """Whether the runtime answers now."""

    @abc.abstractmethod
    async def node_facts(self) -> NodeFacts: ...

    @abc.abstractmethod
    async def list_containers(self, pod_uid: str | None = None) -> list[ContainerInfo]:
        """This node's containers (of one pod when pod_uid is given), infra ones included."""

    @abc.abstractmethod
    async def run_sandbox(self, spec: SandboxSpec) -> ContainerInfo:
        """Creates and starts the pod's infra container; returns it with the pod IP."""

    @abc.abstractmethod
    async def image_present(self, image: str) -> bool:
        """Whether the image is on this node already (no pull needed under IfNotPresent)."""

    @abc.abstractmethod
    async def ensure_image(self, image: str, policy: str) -> None:
        """Pulls per policy (Always, IfNotPresent, Never); raises ImagePullError."""

    @abc.abstractmethod
    async def run_container(self, sandbox: ContainerInfo, spec: ContainerSpec) -> ContainerInfo:
        """Creates and starts a container in the sandbox's network namespace."""

    @abc.abstractmethod
    async def stop_container(self, container_id: str, grace_seconds: float) -> None:
        """SIGTERM, then SIGKILL after grace_seconds; no error if already stopped or gone."""

    @abc.abstractmethod
    async def remove_container(self, container_id: str) -> None:
        """Removes a container (stopping it at once); no error if gone."""

    @abc.abstractmethod
    async def remove_pod_volumes(self, pod_uid: str) -> None:
        """Removes the runtime volumes (emptyDirs) of a pod."""

    @abc.abstractmethod
    async def exec(self, container_id: str, command: list[str], timeout: float) -> ExecResult:
        """Runs a command to completion (for exec probes)."""

    @abc.abstractmethod
    async def exec_session(
        self, container_id: str, command: list[str], *, stdin: bool, tty: bool,
        width: int = 0, height: int = 0,
    ) -> ExecSession: ...

    @abc.abstractmethod
    def logs(
        self, container_id: str, *, follow: bool, tail: int | None, timestamps: bool,
        since: float | None,
    ) -> AsyncIterator[bytes]: ...

    @abc.abstractmethod
    async def stats(self, container_id: str) -> ContainerStats | None:
        """Usage of a running container; None when it is not running."""

    def probe_address(self, pod_ip: str) -> str:
        """Where the agent reaches a pod for http/tcp probes and metrics scrapes."""
        return pod_ip

    def probes_succeed(self) -> bool:
        """True when probes are simulated (hollow) and always pass."""
        return False


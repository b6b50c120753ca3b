"""Starting one container of a pod: its image (pulled under the pull policy,
with a back-off after failures, as the kubelet's ErrImagePull then
ImagePullBackOff), its configuration (env, command, mounts, resources), and
the runtime call, with an Event for each step a user would want to see.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from agent import volumes
from agent.backoff import Backoff
from agent.config import AgentConfig
from agent.envs import EnvError, expand_command, resolve_env
from agent.pod_sources import PodSources
from agent.runtime import (
    ContainerConfigError,
    ContainerInfo,
    ContainerSpec,
    ImagePullError,
    PodRef,
    Runtime,
)
from agent.status import (
    CREATE_CONTAINER_CONFIG_ERROR,
    CREATE_CONTAINER_ERROR,
    ERR_IMAGE_NEVER_PULL,
    ERR_IMAGE_PULL,
    IMAGE_PULL_BACK_OFF,
)
from corral.api import object_key, quantity
from corral.api.v1 import core_pb2
from corral.client import NORMAL, WARNING, EventRecorder

log = logging.getLogger("corral.agent")

# How often to retry a container whose config cannot be resolved (a missing ConfigMap).
CONFIG_RETRY_SECONDS = 5.0


@dataclass
class Step:
    """The outcome of one container's step: a waiting reason, and when to look again."""

    reason: str = ""
    message: str = ""
    retry_after: float | None = None
    # The container this step started, as the runtime reported it.
    started: ContainerInfo | None = None
    # The step removed a container: read the pod's containers again.
    relist: bool = False


def pod_ref(pod: core_pb2.Pod) -> PodRef:
    return PodRef(pod.metadata.uid, pod.metadata.namespace, pod.metadata.name)


class ContainerStarter:
    def __init__(self, config: AgentConfig, runtime: Runtime, recorder: EventRecorder,
                 sources: PodSources) -> None:
        self.config = config
        self.runtime = runtime
        self.recorder = recorder
        self.sources = sources
        self.pull_backoff = Backoff(config.backoff_base, config.backoff_cap,
                                    config.backoff_reset)
        # `uid/container/pull` -> (when the back-off ends, the last pull error).
        self._pull_waits: dict[str, tuple[float, str]] = {}

    def forget(self, uid: str) -> None:
        """Drops the pull back-offs of a pod that is gone."""
        self.pull_backoff.forget_prefix(uid + "/")
        for key in [k for k in self._pull_waits if k.startswith(uid + "/")]:
            del self._pull_waits[key]

    async def start(
        self,
        pod: core_pb2.Pod,
        container: core_pb2.Container,
        role: str,
        attempt: int,
        sandbox: ContainerInfo,
        mount_error: str,
    ) -> Step:
        if mount_error:
            return Step("ContainerCreating", mount_error, CONFIG_RETRY_SECONDS)
        now = time.time()
        pull_key = f"{pod.metadata.uid}/{container.name}/pull"
        waiting = self._pull_waits.get(pull_key)
        image = container.image
        if waiting is not None and now < waiting[0]:
            self.recorder.event(pod, NORMAL, "BackOff", f"Back-off pulling image \"{image}\"")
            return Step(IMAGE_PULL_BACK_OFF, f"Back-off pulling image \"{image}\": "
                        f"{waiting[1]}", waiting[0] - now)
        policy = container.image_pull_policy
        if policy != "Always" and await self.runtime.image_present(image):
            self.recorder.event(pod, NORMAL, "Pulled",
                                f"Container image \"{image}\" already present on machine")
        else:
            if policy != "Never":
                self.recorder.event(pod, NORMAL, "Pulling", f"Pulling image \"{image}\"")
            pull_started = time.monotonic()
            try:
                await self.runtime.ensure_image(image, policy)
            except ImagePullError as error:
                if error.never_pull:
                    self.recorder.event(pod, WARNING, ERR_IMAGE_NEVER_PULL, error.message)
                    return Step(ERR_IMAGE_NEVER_PULL, error.message, CONFIG_RETRY_SECONDS)
                ready_at = max(self.pull_backoff.failed(pull_key, str(now), now),
                               now + self.config.backoff_base)
                self._pull_waits[pull_key] = (ready_at, error.message)
                log.info("event=image_pull_failed pod=%s container=%s error=%r",
                         object_key(pod), container.name, error.message)
                self.recorder.event(pod, WARNING, "Failed", error.message)
                # Look again soon, not only when the back-off ends: that sync
                # reports ImagePullBackOff for the rest of the wait, as
                # Kubernetes shows ErrImagePull and then ImagePullBackOff.
                return Step(ERR_IMAGE_PULL, error.message, min(ready_at - now, 1.0))
            self.recorder.event(pod, NORMAL, "Pulled", f"Successfully pulled image \"{image}\" "
                                f"in {time.monotonic() - pull_started:.3f}s")
        self._pull_waits.pop(pull_key, None)
        self.pull_backoff.forget(pull_key)
        try:
            spec = self.spec(pod, container, role, attempt, sandbox.ip)
        except (EnvError, volumes.VolumeError, quantity.InvalidQuantity) as error:
            self.recorder.event(pod, WARNING, "Failed", f"Error: {error}")
            return Step(CREATE_CONTAINER_CONFIG_ERROR, str(error), CONFIG_RETRY_SECONDS)
        try:
            started = await self.runtime.run_container(sandbox, spec)
        except ImagePullError as error:
            self.recorder.event(pod, WARNING, "Failed", error.message)
            return Step(ERR_IMAGE_PULL, error.message, CONFIG_RETRY_SECONDS)
        except ContainerConfigError as error:
            self.recorder.event(pod, WARNING, "Failed", f"Error: {error}")
            return Step(CREATE_CONTAINER_ERROR, str(error), CONFIG_RETRY_SECONDS)
        # The runtime creates and starts in one call: both happened.
        self.recorder.event(pod, NORMAL, "Created", f"Created container {container.name}")
        self.recorder.event(pod, NORMAL, "Started", f"Started container {container.name}")
        return Step(started=started)

    def spec(self, pod: core_pb2.Pod, container: core_pb2.Container, role: str,
             attempt: int, pod_ip: str) -> ContainerSpec:
        env = resolve_env(pod, container, config_maps=self.sources.config_map_text,
                          secrets=self.sources.secret_text, pod_ip=pod_ip,
                          host_ip=self.config.address)
        command, args = expand_command(list(container.command), list(container.args), env)
        limits, requests = container.resources.limits, container.resources.requests
        return ContainerSpec(
            pod=pod_ref(pod), name=container.name, role=role, attempt=attempt,
            image=container.image, pull_policy=container.image_pull_policy,
            command=command, args=args, working_dir=container.working_dir, env=env,
            mounts=volumes.container_mounts(self.config.root_dir, pod, container),
            cpu_millis=quantity.cpu_millis(limits["cpu"]) if "cpu" in limits else 0,
            memory_bytes=quantity.to_int(limits["memory"]) if "memory" in limits else 0,
            cpu_request_millis=quantity.cpu_millis(requests["cpu"]) if "cpu" in requests else 0,
            memory_request_bytes=(quantity.to_int(requests["memory"]) if "memory" in requests
                                  else 0),
            tty=container.tty, stdin=container.stdin,
            grace_seconds=int(pod.spec.termination_grace_period_seconds),
        )

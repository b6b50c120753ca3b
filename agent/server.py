"""The agent's own gRPC service (corral.v1.Agent): a container's logs, and
commands run in it. Users reach it through the API server (apiserver/proxy.py),
which dials the node's InternalIP and daemonEndpoints.kubeletEndpoint.Port.

One server serves every agent of the process (`--hollow-count` runs many).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from agent.runtime import ROLE_INFRA, ContainerInfo, newest
from agent.service import Agent
from corral.api.v1 import agent_pb2, agent_pb2_grpc, api_pb2, core_pb2

log = logging.getLogger("corral.agent.server")
SERVICE_NAME = agent_pb2.DESCRIPTOR.services_by_name["Agent"].full_name


class AgentError(Exception):
    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def choose_container(pod: core_pb2.Pod, name: str) -> core_pb2.Container:
    """The container `name` of the pod; the only one when name is empty."""
    where = f'pod "{pod.metadata.namespace}/{pod.metadata.name}"'
    containers = [*pod.spec.containers, *pod.spec.init_containers]
    if not name:
        if len(pod.spec.containers) == 1:
            return pod.spec.containers[0]
        names = ", ".join(c.name for c in pod.spec.containers)
        raise AgentError(grpc.StatusCode.INVALID_ARGUMENT,
                         f"a container name must be given for {where}: choose one of [{names}]")
    for container in containers:
        if container.name == name:
            return container
    names = ", ".join(c.name for c in containers)
    raise AgentError(grpc.StatusCode.NOT_FOUND,
                     f'container "{name}" is not in {where}: choose one of [{names}]')


class AgentService(agent_pb2_grpc.AgentServicer):
    def __init__(self) -> None:
        self.agents: dict[str, Agent] = {}

    def add(self, agent: Agent) -> None:
        self.agents[agent.node_name] = agent

    def _find(self, namespace: str, name: str) -> tuple[Agent, core_pb2.Pod]:
        key = f"{namespace or 'default'}/{name}"
        for agent in self.agents.values():
            pod = agent.pods.get(key)
            if pod is not None:
                return agent, pod
        nodes = ", ".join(self.agents)
        raise AgentError(grpc.StatusCode.NOT_FOUND,
                         f'pod "{key}" is not bound to this agent (nodes: {nodes})')

    async def _instances(self, agent: Agent, pod: core_pb2.Pod,
                         name: str) -> tuple[ContainerInfo | None, ContainerInfo | None]:
        infos = await agent.runtime.list_containers(pod.metadata.uid)
        return newest([c for c in infos if c.name == name and c.role != ROLE_INFRA])

    async def Logs(
        self, request: api_pb2.LogsRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[api_pb2.LogChunk]:
        try:
            agent, pod = self._find(request.namespace, request.name)
            container = choose_container(pod, request.container)
            current, previous = await self._instances(agent, pod, container.name)
            where = f'container "{container.name}" in pod "{request.namespace}/{request.name}"'
            target = previous if request.previous else current
            if target is None:
                if request.previous:
                    raise AgentError(grpc.StatusCode.FAILED_PRECONDITION,
                                     f"previous terminated {where} not found")
                raise AgentError(grpc.StatusCode.FAILED_PRECONDITION,
                                 f"{where} is waiting to start")
        except AgentError as error:
            await context.abort(error.code, error.message)
            return
        stream = agent.runtime.logs(
            target.id,
            follow=request.follow and not request.previous,
            tail=request.tail_lines if request.HasField("tail_lines") else None,
            timestamps=request.timestamps,
            since=(time.time() - request.since_seconds
                   if request.HasField("since_seconds") else None),
        )
        async for chunk in stream:
            yield api_pb2.LogChunk(data=chunk)

    async def Exec(
        self, request_iterator: AsyncIterator[api_pb2.ExecInput],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[api_pb2.ExecOutput]:
        inputs = request_iterator.__aiter__()
        try:
            first = await inputs.__anext__()
        except StopAsyncIteration:
            return
        try:
            if not first.HasField("start"):
                raise AgentError(grpc.StatusCode.INVALID_ARGUMENT,
                                 "the first ExecInput must be an ExecStart")
            start = first.start
            if not start.command:
                raise AgentError(grpc.StatusCode.INVALID_ARGUMENT, "command: a command is "
                                 "required")
            agent, pod = self._find(start.namespace, start.name)
            container = choose_container(pod, start.container)
            current, _ = await self._instances(agent, pod, container.name)
            if current is None or not current.running:
                raise AgentError(
                    grpc.StatusCode.FAILED_PRECONDITION,
                    f'container "{container.name}" in pod "{start.namespace}/{start.name}" '
                    "is not running")
            session = await agent.runtime.exec_session(
                current.id, list(start.command), stdin=start.stdin, tty=start.tty,
                width=start.size.width, height=start.size.height)
        except AgentError as error:
            await context.abort(error.code, error.message)
            return

        async def forward_input() -> None:
            async for message in inputs:
                which = message.WhichOneof("input")
                if which == "stdin":
                    await session.write(message.stdin)
                elif which == "resize":
                    await session.resize(message.resize.width, message.resize.height)
                elif which == "close_stdin":
                    await session.close_stdin()
            if start.stdin:
                await session.close_stdin()

        pump = asyncio.create_task(forward_input())
        try:
            async for stream, data in session.output():
                if stream == "stderr":
                    yield api_pb2.ExecOutput(stderr=data)
                else:
                    yield api_pb2.ExecOutput(stdout=data)
            yield api_pb2.ExecOutput(exit_code=await session.exit_code())
        finally:
            pump.cancel()
            with contextlib.suppress(BaseException):
                await pump
            await session.close()


async def start_server(service: AgentService, listen: str) -> tuple[grpc.aio.Server, int]:
    """Serves the Agent service (and gRPC health) on `listen`; returns the server and port."""
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    agent_pb2_grpc.add_AgentServicer_to_server(service, server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    port = server.add_insecure_port(listen)
    if not port:
        raise OSError(f"the agent cannot listen on {listen}")
    await server.start()
    await health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    await health_servicer.set(SERVICE_NAME, health_pb2.HealthCheckResponse.SERVING)
    log.info("event=listening address=%s port=%d", listen, port)
    return server, port

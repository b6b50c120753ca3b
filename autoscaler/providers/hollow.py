"""Hollow nodes: one `python -m agent --runtime hollow` process per node. The agent
registers a real Node and runs its pods in pretence, so the cluster autoscaler can be
exercised (and measured) at scale without Docker. Processes end with the autoscaler."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from pathlib import Path
from typing import IO

from autoscaler.config import NodeGroup
from autoscaler.providers.base import Provider, ProviderNode, agent_node_args

_log = logging.getLogger("corral.autoscaler.hollow")


class HollowProvider(Provider):
    name = "hollow"

    def __init__(self, server: str, *, log_dir: Path | None = None,
                 extra_args: tuple[str, ...] = ()) -> None:
        self.server = server
        self.log_dir = log_dir
        self.extra_args = extra_args
        self._nodes: dict[str, tuple[ProviderNode, asyncio.subprocess.Process]] = {}

    async def start_node(self, group: NodeGroup, name: str) -> None:
        args = [
            sys.executable, "-m", "agent", "--server", self.server, "--runtime", "hollow",
            "--listen", "127.0.0.1:0",
            "--hollow-node-cpu", group.capacity["cpu"],
            "--hollow-node-memory", group.capacity["memory"],
            *agent_node_args(group, name), *self.extra_args,
        ]
        output: int | IO[bytes] = asyncio.subprocess.DEVNULL
        log_file = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            log_file = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115
            output = log_file
        try:
            process = await asyncio.create_subprocess_exec(
                *args, stdin=asyncio.subprocess.DEVNULL, stdout=output, stderr=output,
            )
        finally:
            if log_file is not None:
                log_file.close()
        self._nodes[name] = (ProviderNode(name, group.name, time.time()), process)
        _log.info("event=started_hollow_node node=%s group=%s pid=%d",
                  name, group.name, process.pid)

    async def stop_node(self, node: ProviderNode) -> None:
        entry = self._nodes.pop(node.name, None)
        if entry is None:
            return
        process = entry[1]
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        _log.info("event=stopped_hollow_node node=%s", node.name)

    async def list_nodes(self) -> list[ProviderNode]:
        for name, (_node, process) in list(self._nodes.items()):
            if process.returncode is not None:
                _log.warning("event=hollow_node_exited node=%s code=%s", name, process.returncode)
                del self._nodes[name]
        return [node for node, _ in self._nodes.values()]

    async def close(self) -> None:
        # Hollow nodes are this process's children: they end with it.
        for node, _ in list(self._nodes.values()):
            await self.stop_node(node)

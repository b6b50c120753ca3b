"""`corral rollout ...` and `corral set image` as a user runs them (subprocesses),
against a real API server and the controller manager run in-process."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from corral.api import apps
from corral.api.v1 import apps_pb2
from tests.integration.controller_harness import (
    FakeNodes,
    background,
    deployment,
    eventually,
    running_manager,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio]
ROOT = Path(__file__).resolve().parents[2]
CONTROLLERS = ("replicaset", "deployment", "garbagecollector")


async def corral(server: str, *args: str, timeout: float = 60) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "corral", *args, "--server", server,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "CORRAL_CONFIG": "/nonexistent/config"},
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_set_image_status_history_undo_and_deadline_exit_codes(apiserver, client, namespace):
    server = apiserver.address
    async with running_manager(client, controllers=CONTROLLERS), \
            background(FakeNodes(client, namespace).run()):
        await client.create(deployment("web", namespace, replicas=2, progress_deadline=3))
        code, out, err = await corral(server, "rollout", "status", "deploy/web", "-n", namespace,
                                      "--timeout", "30s")
        assert code == 0, err
        assert out.strip().splitlines()[-1] == 'deployment "web" successfully rolled out'

        code, out, err = await corral(server, "set", "image", "deploy/web", "main=app:2",
                                      "-n", namespace)
        assert (code, out.strip()) == (0, "deployment.apps/web image updated"), err
        code, out, err = await corral(server, "rollout", "status", "deployment", "web",
                                      "-n", namespace, "--timeout", "30s")
        assert code == 0, err
        assert "Waiting for deployment \"web\" rollout to finish" in out or "successfully" in out

        code, out, err = await corral(server, "set", "image", "deploy/web", "nope=app:3",
                                      "-n", namespace)
        assert code == 1
        assert "unable to find container named 'nope'" in err

        code, out, err = await corral(server, "set", "image", "deploy/web", "main=broken:1",
                                      "-n", namespace)
        assert code == 0, err
        code, out, err = await corral(server, "rollout", "status", "deploy/web", "-n", namespace,
                                      "--timeout", "60s")
        assert code == 1
        assert 'deployment "web" exceeded its progress deadline' in err

        code, out, err = await corral(server, "rollout", "history", "deploy/web", "-n", namespace)
        assert code == 0, err
        revisions = [line.split()[0] for line in out.splitlines()[2:]]
        assert revisions == ["1", "2", "3"]

        code, out, err = await corral(server, "rollout", "undo", "deploy/web", "-n", namespace)
        assert (code, out.strip()) == (0, "deployment.apps/web rolled back"), err
        code, out, err = await corral(server, "rollout", "status", "deploy/web", "-n", namespace,
                                      "--timeout", "30s")
        assert code == 0, err
        d = await client.get(apps_pb2.Deployment, "web", namespace)
        assert d.spec.template.spec.containers[0].image == "app:2"
        assert d.metadata.annotations[apps.REVISION_ANNOTATION] == "4"

        code, out, err = await corral(server, "rollout", "undo", "deploy/web", "--to-revision",
                                      "1", "-n", namespace)
        assert code == 0, err
        d = await client.get(apps_pb2.Deployment, "web", namespace)
        assert d.spec.template.spec.containers[0].image == "app:1"

        code, out, err = await corral(server, "rollout", "undo", "deploy/web", "--to-revision",
                                      "9", "-n", namespace)
        assert code == 1
        assert "unable to find revision 9" in err


async def test_pause_resume_and_restart(apiserver, client, namespace):
    server = apiserver.address
    async with running_manager(client, controllers=CONTROLLERS), \
            background(FakeNodes(client, namespace).run()):
        await client.create(deployment("web", namespace, replicas=1))
        assert (await corral(server, "rollout", "status", "deploy/web", "-n", namespace))[0] == 0

        code, out, _ = await corral(server, "rollout", "pause", "deploy/web", "-n", namespace)
        assert (code, out.strip()) == (0, "deployment.apps/web paused")
        code, out, _ = await corral(server, "rollout", "pause", "deploy/web", "-n", namespace)
        assert out.strip() == "deployment.apps/web already paused"
        code, _, err = await corral(server, "rollout", "restart", "deploy/web", "-n", namespace)
        assert code == 1 and "paused" in err
        # While paused, a template change does not roll out.
        code, _, _ = await corral(server, "set", "image", "deploy/web", "main=app:2",
                                  "-n", namespace)
        await asyncio.sleep(1.0)
        listed = await client.list(apps_pb2.ReplicaSet, namespace)
        assert len(listed.items) == 1

        code, out, _ = await corral(server, "rollout", "resume", "deploy/web", "-n", namespace)
        assert (code, out.strip()) == (0, "deployment.apps/web resumed")
        assert (await corral(server, "rollout", "status", "deploy/web", "-n", namespace,
                             "--timeout", "30s"))[0] == 0
        code, out, _ = await corral(server, "rollout", "restart", "deploy/web", "-n", namespace)
        assert (code, out.strip()) == (0, "deployment.apps/web restarted")

        async def three_sets():
            listed = await client.list(apps_pb2.ReplicaSet, namespace)
            return len(listed.items) == 3

        await eventually(three_sets, what="a third ReplicaSet after restart")
        assert (await corral(server, "rollout", "status", "deploy/web", "-n", namespace,
                             "--timeout", "30s"))[0] == 0


async def test_rollout_status_timeout_and_wrong_kind(apiserver, client, namespace):
    server = apiserver.address
    await client.create(deployment("web", namespace, replicas=1))
    # No controller runs: the rollout never finishes.
    code, _, err = await corral(server, "rollout", "status", "deploy/web", "-n", namespace,
                                "--timeout", "1s")
    assert code == 1
    assert "timed out waiting for the rollout" in err
    code, _, err = await corral(server, "rollout", "status", "pod/web", "-n", namespace)
    assert code == 1 and "only deployments" in err

"""The images `make images` provides do what the rest of corral relies on."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator

import docker
import docker.errors
import pytest
from docker.models.containers import Container

from corral.images import ETCD_IMAGE, PYTHON_BASE_IMAGE, TEST_IMAGE
from tests.etcd_container import EtcdContainer, free_local_port

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def docker_client() -> Iterator[docker.DockerClient]:
    client = docker.from_env()
    missing = []
    for image in (ETCD_IMAGE, PYTHON_BASE_IMAGE, TEST_IMAGE):
        try:
            client.images.get(image)
        except docker.errors.ImageNotFound:
            missing.append(image)
    if missing:
        pytest.fail(f"images missing: {', '.join(missing)}; run `make images`")
    yield client
    client.close()


def run_to_completion(client: docker.DockerClient, image: str, command: list[str]) -> str:
    """Runs a command in a fresh container, returns its output; the container is removed."""
    output: bytes = client.containers.run(image, command, remove=True, stderr=True)
    return output.decode()


def test_etcd_image_serves_put_and_get() -> None:
    with EtcdContainer() as etcd:
        client = etcd.client()
        try:
            client.put("/corral/test/greeting", "hello")
            value, _ = client.get("/corral/test/greeting")
        finally:
            client.close()
    assert value == b"hello"


def test_etcd_keeps_endpoint_and_data_across_stop_and_start() -> None:
    with EtcdContainer() as etcd:
        endpoint = etcd.endpoint
        client = etcd.client()
        try:
            client.put("/corral/test/survivor", "still here")
        finally:
            client.close()

        etcd.stop()
        assert not etcd.is_healthy()
        etcd.start_again()

        assert etcd.endpoint == endpoint
        client = etcd.client()
        try:
            value, _ = client.get("/corral/test/survivor")
        finally:
            client.close()
    assert value == b"still here"


def test_etcd_container_is_gone_after_the_with_block(docker_client: docker.DockerClient) -> None:
    with EtcdContainer() as etcd:
        container_id = etcd.container_id
    with pytest.raises(docker.errors.NotFound):
        docker_client.containers.get(container_id)


def test_python_base_image_runs_python_3_11(docker_client: docker.DockerClient) -> None:
    output = run_to_completion(
        docker_client, PYTHON_BASE_IMAGE,
        ["python3", "-c", "import sys; print('%d.%d' % sys.version_info[:2]); print(sys.version)"],
    )
    assert output.splitlines()[0] == "3.11", output


def test_test_image_runs_shell_commands(docker_client: docker.DockerClient) -> None:
    output = run_to_completion(docker_client, TEST_IMAGE, ["sh", "-c", "echo $((6 * 7)); sleep 0"])
    assert output.strip() == "42"


def test_test_image_serves_http_with_busybox_httpd(docker_client: docker.DockerClient) -> None:
    port = free_local_port()
    container: Container = docker_client.containers.run(
        TEST_IMAGE,
        ["sh", "-c", "echo served-by-busybox > /www/index.html && exec httpd -f -p 8080 -h /www"],
        detach=True,
        ports={"8080/tcp": ("127.0.0.1", port)},
    )
    try:
        body = fetch_until_answered(f"http://127.0.0.1:{port}/index.html", timeout=15)
    finally:
        container.remove(force=True)
    assert body.strip() == "served-by-busybox"


def fetch_until_answered(url: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                body: bytes = response.read()
                return body.decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)

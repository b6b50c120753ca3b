"""The container images corral uses, named in one place.

Our machines have no registry, so by default every image is built locally by
`make images` (deploy/build-images) under a `corral/` name. Where a registry is
available, point an environment variable at a standard image instead (e.g.
CORRAL_ETCD_IMAGE=quay.io/coreos/etcd:v3.5.17); it is then pulled and used unchanged.

Only the standard library is used here: deploy/build-images imports this module
with the system python3, before any virtualenv exists.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

# Names under this prefix are built on this machine; any other name is pulled.
LOCAL_PREFIX = "corral/"


@dataclass(frozen=True)
class ImageRole:
    """One image corral needs: what it is for, its default name, and the override."""

    key: str  # short name, used by `deploy/build-images --only KEY`
    env_var: str
    default: str
    purpose: str

    @property
    def name(self) -> str:
        """The image name in effect: the environment override, else the default."""
        return image_name(self.env_var, self.default)


def image_name(env_var: str, default: str) -> str:
    override = os.environ.get(env_var, "").strip()
    return override or default


def is_built_locally(name: str) -> bool:
    """Whether `make images` builds this image (True) or pulls it (False)."""
    return name.startswith(LOCAL_PREFIX)


ETCD = ImageRole(
    key="etcd",
    env_var="CORRAL_ETCD_IMAGE",
    default="corral/etcd:3.4",
    purpose="etcd server, the API server's store",
)
PYTHON_BASE = ImageRole(
    key="python",
    env_var="CORRAL_PYTHON_IMAGE",
    default="corral/python:3.11-bookworm",
    purpose="Debian bookworm with python3, base of corral's service images",
)
TEST = ImageRole(
    key="busybox",
    env_var="CORRAL_TEST_IMAGE",
    default="corral/busybox:1",
    purpose="busybox (sh, httpd, sleep) for test pods",
)

ROLES: tuple[ImageRole, ...] = (ETCD, PYTHON_BASE, TEST)

# The names in effect when this module was imported.
ETCD_IMAGE = ETCD.name
PYTHON_BASE_IMAGE = PYTHON_BASE.name
TEST_IMAGE = TEST.name

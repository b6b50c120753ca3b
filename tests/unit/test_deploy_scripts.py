"""The image scripts' choices that depend on the machine: which Debian mirror debootstrap
uses, and which CPU the runtime image's wheels are for."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def load_script(name: str) -> ModuleType:
    loader = importlib.machinery.SourceFileLoader(name.replace("-", "_"), str(DEPLOY / name))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[loader.name] = module  # dataclasses look their module up while it loads
    loader.exec_module(module)
    return module


build_images = load_script("build-images")
cluster = load_script("cluster")

DEB822 = """Types: deb
# a snapshot comment
URIs: http://mirror.example/debian/
Suites: bookworm bookworm-updates
Components: main

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
"""


def test_mirror_comes_from_deb822_sources() -> None:
    found = build_images.mirror_from_apt_sources([("debian.sources", DEB822)])
    assert found == "http://mirror.example/debian"


def test_mirror_comes_from_one_line_sources_with_options() -> None:
    text = "# comment\ndeb [arch=amd64 signed-by=/k.gpg] http://m.example/debian/ bookworm main\n"
    assert build_images.mirror_from_apt_sources([("sources.list", text)]) == (
        "http://m.example/debian")


def test_no_bookworm_source_means_no_mirror() -> None:
    assert build_images.mirror_from_apt_sources([("x.list", "deb http://m/ trixie main\n")]) is None


def test_environment_overrides_the_apt_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORRAL_DEBIAN_MIRROR", "http://override.example/debian")
    assert build_images.debian_mirror() == "http://override.example/debian"


def test_wheels_target_the_engines_cpu() -> None:
    x86 = cluster.wheel_target("x86_64")
    arm = cluster.wheel_target("aarch64")
    assert "manylinux_2_36_x86_64" in x86 and "manylinux1_x86_64" in x86
    assert "manylinux_2_36_aarch64" in arm and "manylinux2014_aarch64" in arm
    assert not any("x86_64" in arg for arg in arm)
    assert cluster.wheel_target("arm64") == arm


def test_an_unsupported_engine_cpu_is_a_clear_error() -> None:
    with pytest.raises(cluster.ClusterError, match=r"'s390x'.*x86_64 and aarch64"):
        cluster.wheel_target("s390x")


def test_without_a_mirror_anywhere_the_error_says_what_to_set(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CORRAL_DEBIAN_MIRROR", raising=False)
    monkeypatch.setattr(build_images, "apt_source_texts", lambda: [])
    with pytest.raises(build_images.BuildError, match="--mirror URL or CORRAL_DEBIAN_MIRROR"):
        build_images.debian_mirror()

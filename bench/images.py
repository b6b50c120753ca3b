"""The image benchmark: `python -m bench.images` (make bench-images).

Builds what `make up` builds (deploy/cluster images), then measures:

  size         each image the cluster runs: target ≤ 100 MB
  rebuild      the service image rebuilt after one Python file changed: target ≤ 10 s;
               and that only the last layer (our code) is new
  no change    the same rebuild with nothing changed (the cache's floor)

The rebuilds run on a copy of the build context in a temporary directory, so the
working tree is never touched, and tag a throwaway name that is removed afterwards.
Prints a table, then the whole report as one JSON object on the last line of stdout.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import PhaseResult, format_table, verdict, write_json

REPO = Path(__file__).resolve().parent.parent
SIZE_TARGET_MB = 100.0
REBUILD_TARGET_S = 10.0
BENCH_TAG = "corral/corral:bench-rebuild"
CONTEXT_PACKAGES = ("corral", "apiserver", "scheduler", "controller", "agent", "autoscaler")
CHANGED_FILE = "corral/healthcheck.py"


def docker(*args: str) -> str:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def inspect(name: str, template: str) -> str:
    return docker("image", "inspect", "--format", template, name).strip()


def cluster_images() -> dict[str, str]:
    """Builds the images with deploy/cluster; returns role -> image name in effect."""
    subprocess.run([sys.executable, str(REPO / "deploy" / "cluster"), "images"], check=True,
                   stdout=sys.stderr)
    names = {"service": "corral/corral:dev", "web": "corral/web:1"}
    # etcd and busybox: whichever deploy/cluster used (local or standard), as compose does.
    for role, local, standard in (("etcd", "corral/etcd:3.4", "quay.io/coreos/etcd:v3.5.17"),
                                  ("busybox (pods)", "corral/busybox:1", "busybox:1.36")):
        names[role] = local if image_exists(local) else standard
    return names


def image_exists(name: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", name], capture_output=True,
                          check=False).returncode == 0


def size_rows(names: dict[str, str]) -> list[PhaseResult]:
    rows = []
    for role, name in names.items():
        size_mb = int(inspect(name, "{{.Size}}")) / 1e6
        rows.append(PhaseResult(
            key=f"size_{role.split()[0]}", name=f"size {role} ({name})", ops=None,
            seconds=0.0, target=f"≤ {SIZE_TARGET_MB:.0f} MB", passed=size_mb <= SIZE_TARGET_MB,
            details={"image": name, "size_mb": round(size_mb, 1)},
        ))
    return rows


def copy_context(into: Path) -> None:
    for package in CONTEXT_PACKAGES:
        if (REPO / package).is_dir():
            shutil.copytree(REPO / package, into / package,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (into / "deploy").mkdir()
    shutil.copy2(REPO / "deploy" / "Dockerfile", into / "deploy" / "Dockerfile")
    shutil.copy2(REPO / ".dockerignore", into / ".dockerignore")


def build(context: Path, runtime: str) -> float:
    started = time.monotonic()
    docker("build", "--quiet", "--file", str(context / "deploy" / "Dockerfile"),
           "--build-arg", f"RUNTIME={runtime}", "--tag", BENCH_TAG, str(context))
    return time.monotonic() - started


def layers(name: str) -> list[str]:
    return json.loads(inspect(name, "{{json .RootFS.Layers}}"))


def rebuild_rows(runtime: str) -> list[PhaseResult]:
    with tempfile.TemporaryDirectory(prefix="corral-bench-images-") as tmp:
        context = Path(tmp)
        copy_context(context)
        build(context, runtime)  # warm: the same state as after the last `make up`
        before = layers(BENCH_TAG)
        unchanged_s = build(context, runtime)
        with (context / CHANGED_FILE).open("a") as changed:
            changed.write(f"\n# bench.images: changed at {time.time()}\n")
        changed_s = build(context, runtime)
        after = layers(BENCH_TAG)
    docker("image", "rm", BENCH_TAG)
    new_layers = len([layer for layer in after if layer not in before])
    return [
        PhaseResult(key="rebuild_no_change", name="rebuild, nothing changed", ops=None,
                    seconds=round(unchanged_s, 2)),
        PhaseResult(
            key="rebuild_one_file", name=f"rebuild after changing {CHANGED_FILE}", ops=None,
            seconds=round(changed_s, 2), target=f"≤ {REBUILD_TARGET_S:.0f} s, 1 new layer",
            passed=changed_s <= REBUILD_TARGET_S and new_layers == 1,
            details={"new_layers": new_layers, "layers": len(after)},
        ),
    ]


def value(row: PhaseResult) -> str:
    if "size_mb" in row.details:
        return f"{row.details['size_mb']:.1f} MB"
    extra = f", {row.details['new_layers']} new layer(s)" if "new_layers" in row.details else ""
    return f"{row.seconds:.1f} s{extra}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.images", description=__doc__.splitlines()[0])
    parser.add_argument("--json", metavar="PATH", help="also write the report to PATH")
    args = parser.parse_args(argv)
    names = cluster_images()
    runtime = runtime_image_of("corral/corral:dev")
    rows = size_rows(names) + rebuild_rows(runtime)
    print(format_table(("phase", "value", "target", "result"),
                       [[r.name, value(r), r.target or "-", verdict(r.passed)] for r in rows]))
    report: dict[str, Any] = {"benchmark": "images", "phases": [r.to_json() for r in rows]}
    if args.json:
        write_json(args.json, report)
    print(json.dumps(report))
    return 0 if all(r.passed is not False for r in rows) else 1


def runtime_image_of(service_image: str) -> str:
    """The runtime image the service image was built on: the newest corral-runtime tag whose
    layers are a prefix of the service image's."""
    service_layers = layers(service_image)
    tags = docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}}",
                  "corral/corral-runtime").split()
    for tag in tags:
        if service_layers[: len(layers(tag))] == layers(tag):
            return tag
    raise RuntimeError(f"no corral/corral-runtime image under {service_image}; run make up")


if __name__ == "__main__":
    sys.exit(main())

"""`corral set image`: change container images of a Deployment (which rolls it out).

    corral set image deploy/web web=nginx:1.27 sidecar=envoy:1.30
    corral set image deploy/web '*=nginx:1.27'
"""

from __future__ import annotations

import click

from corral.api.v1 import apps_pb2
from corral.cli.common import CliError, global_options, namespace_option, run, settings
from corral.cli.rollout import WHAT, deployment_target
from corral.client import Client


def parse_image_pairs(pairs: tuple[str, ...]) -> dict[str, str]:
    """{container: image} from CONTAINER=IMAGE arguments ("*" means every container)."""
    images: dict[str, str] = {}
    for pair in pairs:
        container, sep, image = pair.partition("=")
        if not sep or not container or not image:
            raise click.UsageError(f'"{pair}" is not in the form CONTAINER=IMAGE')
        if container in images:
            raise click.UsageError(f'container "{container}" is named twice')
        images[container] = image
    return images


def apply_images(d: apps_pb2.Deployment, images: dict[str, str]) -> bool:
    """Sets the images in d's template; whether anything changed. CliError naming the
    containers that do not exist."""
    spec = d.spec.template.spec
    containers = [*spec.init_containers, *spec.containers]
    names = {c.name for c in containers}
    missing = sorted(name for name in images if name != "*" and name not in names)
    if missing:
        raise CliError(
            f'unable to find container named {", ".join(repr(m) for m in missing)} in '
            f'deployment "{d.metadata.name}" (containers: {", ".join(sorted(names))})'
        )
    changed = False
    for container in containers:
        image = images.get(container.name, images.get("*"))
        if image is not None and container.image != image:
            container.image = image
            changed = True
    return changed


@click.group(name="set")
def set_group() -> None:
    """Change specific fields of objects."""


@set_group.command(name="image")
@click.argument("args", nargs=-1, required=True, metavar="deploy/NAME CONTAINER=IMAGE...")
@namespace_option
@global_options
def image(args: tuple[str, ...]) -> None:
    """Set container images of a Deployment's pod template."""
    target_args = tuple(a for a in args if "=" not in a)
    images = parse_image_pairs(tuple(a for a in args if "=" in a))
    if not images:
        raise click.UsageError("give at least one CONTAINER=IMAGE")
    name = deployment_target(target_args)
    namespace = settings().namespace

    async def body(client: Client) -> bool:
        changed = False

        def mutate(obj: object) -> bool:
            nonlocal changed
            assert isinstance(obj, apps_pb2.Deployment)
            changed = apply_images(obj, images)
            return changed

        await client.update_with_retry(apps_pb2.Deployment, name, namespace, mutate)
        return changed

    changed = run(body)
    click.echo(f"{WHAT}/{name} image updated" if changed else f"{WHAT}/{name} image unchanged")

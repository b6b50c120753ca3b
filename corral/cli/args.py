"""Parsing of the positional arguments commands share, kubectl's forms:

    KIND NAME [NAME...]         get pods web db
    KIND/NAME [KIND/NAME...]    delete deploy/web svc/web
    KIND                        get pods
    TARGET key=value key-       label pod web tier=front env-

Pure: strings in, tuples out, UsageError for what cannot be parsed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import click


@dataclass(frozen=True)
class Target:
    """A kind as the user typed it and a name ("" for every object of the kind)."""

    kind: str
    name: str = ""


def parse_targets(args: tuple[str, ...] | list[str]) -> list[Target]:
    """`KIND [NAME...]` or `KIND/NAME...`; each KIND may be a comma list in the
    first form (`get pods,svc`)."""
    if not args:
        return []
    slashed = [arg for arg in args if "/" in arg]
    if slashed:
        if len(slashed) != len(args):
            raise click.UsageError(
                "use either KIND NAME... or KIND/NAME..., not both "
                f"(got {' '.join(args)})"
            )
        targets = []
        for arg in args:
            kind, _, name = arg.partition("/")
            if not kind or not name:
                raise click.UsageError(f'"{arg}" is not in the form KIND/NAME')
            targets.append(Target(kind, name))
        return targets
    kind_list = [kind for kind in args[0].split(",") if kind]
    if not kind_list:
        raise click.UsageError(f'"{args[0]}" names no kind')
    names = list(args[1:])
    if names and len(kind_list) > 1:
        raise click.UsageError("names can only be given with a single kind")
    if not names:
        return [Target(kind) for kind in kind_list]
    return [Target(kind_list[0], name) for name in names]


@dataclass
class MetadataChanges:
    """What `label` or `annotate` was asked to do."""

    targets: list[Target]
    set: dict[str, str] = field(default_factory=dict)
    remove: list[str] = field(default_factory=list)


def _is_change(arg: str) -> bool:
    return "=" in arg or (arg.endswith("-") and len(arg) > 1)


def parse_metadata_changes(args: tuple[str, ...] | list[str], what: str) -> MetadataChanges:
    """`KIND NAME... key=value... key-...` (or KIND/NAME); `what` is "label" or
    "annotation", for messages."""
    first_change = next((i for i, arg in enumerate(args) if _is_change(arg)), len(args))
    target_args, change_args = list(args[:first_change]), list(args[first_change:])
    if not change_args:
        raise click.UsageError(f"give at least one {what} change: key=value or key-")
    stray = [arg for arg in change_args if not _is_change(arg)]
    if stray:
        raise click.UsageError(
            f'"{stray[0]}" is not a {what} change (key=value to set, key- to remove); '
            "put every object before the changes"
        )
    changes = MetadataChanges(targets=parse_targets(target_args))
    for arg in change_args:
        if "=" in arg:
            key, _, value = arg.partition("=")
            if not key:
                raise click.UsageError(f'"{arg}" has no key before "="')
            if key in changes.set:
                raise click.UsageError(f'{what} "{key}" is given twice')
            changes.set[key] = value
        else:
            changes.remove.append(arg[:-1])
    both = set(changes.set) & set(changes.remove)
    if both:
        raise click.UsageError(f'{what} "{sorted(both)[0]}" is both set and removed')
    return changes


def parse_scale_target(args: tuple[str, ...] | list[str]) -> list[Target]:
    """`deploy/web`, `deployment web` or `deploy web api`: at least one named object."""
    targets = parse_targets(args)
    if not targets or any(not target.name for target in targets):
        raise click.UsageError("name what to scale: KIND NAME or KIND/NAME")
    return targets

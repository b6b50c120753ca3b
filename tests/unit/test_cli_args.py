"""Positional argument forms of get, delete, label, annotate and scale (corral.cli.args)."""

from __future__ import annotations

import click
import pytest

from corral.cli.args import Target, parse_metadata_changes, parse_scale_target, parse_targets


@pytest.mark.parametrize(("args", "expected"), [
    (("pods",), [Target("pods")]),
    (("po", "web", "db"), [Target("po", "web"), Target("po", "db")]),
    (("deploy/web", "svc/web"), [Target("deploy", "web"), Target("svc", "web")]),
    (("pods,svc",), [Target("pods"), Target("svc")]),
    ((), []),
])
def test_targets_in_every_kubectl_form(args: tuple[str, ...], expected: list[Target]) -> None:
    assert parse_targets(args) == expected


@pytest.mark.parametrize(("args", "message"), [
    (("deploy/web", "web"), "use either KIND NAME... or KIND/NAME..., not both"),
    (("deploy/",), '"deploy/" is not in the form KIND/NAME'),
    (("pods,svc", "web"), "names can only be given with a single kind"),
])
def test_mixed_or_broken_targets_are_usage_errors(args: tuple[str, ...], message: str) -> None:
    with pytest.raises(click.UsageError, match=message):
        parse_targets(args)


def test_label_changes_set_and_remove() -> None:
    changes = parse_metadata_changes(("pod", "web", "tier=front", "env-", "empty="), "label")
    assert changes.targets == [Target("pod", "web")]
    assert changes.set == {"tier": "front", "empty": ""}
    assert changes.remove == ["env"]


def test_annotation_values_may_contain_equals_signs() -> None:
    changes = parse_metadata_changes(("deploy/web", "note=a=b"), "annotation")
    assert changes.targets == [Target("deploy", "web")]
    assert changes.set == {"note": "a=b"}


@pytest.mark.parametrize(("args", "message"), [
    (("pod", "web"), "give at least one label change"),
    (("pod", "web", "a=1", "db"), '"db" is not a label change'),
    (("pod", "web", "=1"), 'has no key before "="'),
    (("pod", "web", "a=1", "a=2"), 'label "a" is given twice'),
    (("pod", "web", "a=1", "a-"), 'label "a" is both set and removed'),
])
def test_bad_label_arguments_are_usage_errors(args: tuple[str, ...], message: str) -> None:
    with pytest.raises(click.UsageError, match=message):
        parse_metadata_changes(args, "label")


@pytest.mark.parametrize(("args", "expected"), [
    (("deploy/web",), [Target("deploy", "web")]),
    (("deployment", "web"), [Target("deployment", "web")]),
])
def test_scale_takes_kind_slash_name_or_kind_name(
    args: tuple[str, ...], expected: list[Target]
) -> None:
    assert parse_scale_target(args) == expected


def test_scale_needs_a_name() -> None:
    with pytest.raises(click.UsageError, match="name what to scale"):
        parse_scale_target(("deploy",))

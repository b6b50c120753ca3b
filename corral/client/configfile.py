"""Service configuration files (the scheduler's profile, the autoscaler's node groups):
read one YAML or JSON file and check its shape, with errors that name the file, the key
and what was expected. Each service turns the checked mapping into its own dataclass."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml


class InvalidConfig(ValueError):
    """A configuration file that cannot be read or does not have the expected shape."""


def load(path: str | Path, what: str) -> Any:
    """The parsed content of a YAML (or, by its `.json` suffix, JSON) file; None if empty.
    `what` names the file in errors: "scheduler config", "node groups file"."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as error:
        raise InvalidConfig(f"cannot read {what} {path}: {error.strerror}") from None
    try:
        return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as error:
        raise InvalidConfig(f"{what} {path} is not valid YAML/JSON: {error}") from None


def mapping(value: Any, where: str) -> dict[str, Any]:
    """`value` if it is a mapping, else an error at `where`."""
    if not isinstance(value, dict):
        raise InvalidConfig(f"{where}: expected a mapping, got {type(value).__name__}")
    return value


def reject_unknown(data: dict[str, Any], known: Iterable[str], where: str) -> None:
    """An error naming the first key of `data` that is not `known` (typos fail loudly)."""
    known = tuple(known)
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise InvalidConfig(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(known)})")


def string_list(value: Any, where: str) -> list[str]:
    """`value` if it is a list of strings, else an error at `where`."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidConfig(f"{where}: expected a list of strings")
    return list(value)


def whole_number(value: Any, where: str, minimum: int = 0) -> int:
    """`value` if it is an integer (not a bool) >= minimum, else an error at `where`."""
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise InvalidConfig(f"{where}: must be a whole number >= {minimum}, got {value!r}")
    return value

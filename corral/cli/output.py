"""Objects as text for -o yaml|json|name and the tables of `get`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import yaml
from google.protobuf.message import Message

from corral.cli.manifest import to_dict
from corral.cli.printers import object_name

OUTPUT_FORMATS = ("wide", "yaml", "json", "name")


class _Dumper(yaml.SafeDumper):
    """Block style, multi-line strings as literal blocks, no anchors."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", text,
                                   style="|" if "\n" in text else None)


_Dumper.add_representer(str, _represent_str)


def yaml_text(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True)


def as_list(objs: Sequence[Message]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "List", "items": [to_dict(obj) for obj in objs],
            "metadata": {"resourceVersion": ""}}


def render(objs: Sequence[Message], output: str, *, single: bool) -> str:
    """yaml, json or name output; `single` prints one object bare, not in a List."""
    if output == "name":
        return "".join(object_name(obj) + "\n" for obj in objs)
    data = to_dict(objs[0]) if single and len(objs) == 1 else as_list(objs)
    if output == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return yaml_text(data)


def render_event(obj: Message, output: str) -> str:
    """One watched object: a YAML document, a JSON object or a name."""
    if output == "name":
        return object_name(obj) + "\n"
    if output == "json":
        return json.dumps(to_dict(obj), indent=2, ensure_ascii=False) + "\n"
    return "---\n" + yaml_text(to_dict(obj))

"""The merge behind `corral apply`: what to write, given the last applied
manifest, the new manifest and the live object. Pure functions on plain data
(the dicts of `corral.manifest.to_dict`).

The rules (a three-way merge, as `kubectl apply` does):

- A field the new manifest sets gets the manifest's value.
- A field the last applied manifest set and the new one does not is removed:
  the user took it out.
- Any other field of the live object is kept as it is: it was set by someone
  else (the API server's defaults, a controller, `corral scale`, the status).

Maps (JSON objects) merge key by key, recursively, like a JSON merge patch.
Lists are replaced whole by the manifest's list, with one exception: lists of
objects that all have a distinct `name` (containers, env, volumes, ports with
names ...) are merged item by item by name, as Kubernetes' strategic merge
does for containers: items merge with the live item of the same name, in the
manifest's order; live items that neither manifest named are kept at the end.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

LAST_APPLIED_ANNOTATION = "corral.io/last-applied-configuration"


def three_way_merge(
    last_applied: Mapping[str, Any] | None,
    desired: Mapping[str, Any],
    live: Mapping[str, Any],
) -> dict[str, Any]:
    """The object to write: `live` changed to what `desired` says, without
    the fields `last_applied` had and `desired` dropped. Inputs are not changed."""
    last = last_applied or {}
    merged = copy.deepcopy(dict(live))
    for key in last:
        if key not in desired:
            merged.pop(key, None)
    for key, wanted in desired.items():
        merged[key] = _merge_value(last.get(key), wanted, live.get(key))
    return merged


def _merge_value(last: Any, wanted: Any, live: Any) -> Any:
    if isinstance(wanted, Mapping) and isinstance(live, Mapping):
        return three_way_merge(last if isinstance(last, Mapping) else None, wanted, live)
    if _is_named_list(wanted) and _is_named_list(live):
        return _merge_named_lists(last if _is_named_list(last) else [], wanted, live)
    return copy.deepcopy(wanted)


def _is_named_list(value: Any) -> bool:
    if not isinstance(value, list) or not value:
        return False
    names = [item.get("name") if isinstance(item, Mapping) else None for item in value]
    return all(isinstance(name, str) for name in names) and len(set(names)) == len(names)


def _merge_named_lists(
    last: list[Mapping[str, Any]], wanted: list[Mapping[str, Any]], live: list[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    last_by_name = {item["name"]: item for item in last}
    live_by_name = {item["name"]: item for item in live}
    merged = [
        three_way_merge(last_by_name.get(item["name"]), item, live_by_name.get(item["name"], {}))
        for item in wanted
    ]
    named = {item["name"] for item in wanted} | set(last_by_name)
    merged.extend(copy.deepcopy(dict(item)) for item in live if item["name"] not in named)
    return merged


def last_applied_text(manifest: Mapping[str, Any]) -> str:
    """The manifest as stored in the last-applied annotation: compact JSON,
    keys in the order given, without the annotation itself."""
    clean = copy.deepcopy(dict(manifest))
    annotations = (clean.get("metadata") or {}).get("annotations")
    if isinstance(annotations, dict):
        annotations.pop(LAST_APPLIED_ANNOTATION, None)
        if not annotations:
            del clean["metadata"]["annotations"]
    return json.dumps(clean, separators=(",", ":"), ensure_ascii=False)


def with_last_applied(manifest: Mapping[str, Any], text: str) -> dict[str, Any]:
    """A copy of the manifest carrying `text` in its last-applied annotation."""
    result = copy.deepcopy(dict(manifest))
    metadata = result.setdefault("metadata", {})
    annotations = metadata.get("annotations") or {}
    metadata["annotations"] = {**annotations, LAST_APPLIED_ANNOTATION: text}
    return result


def last_applied_of(live: Mapping[str, Any]) -> dict[str, Any] | None:
    """The manifest a live object was last applied with, or None (never
    applied, or the annotation is not a JSON object)."""
    text = ((live.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED_ANNOTATION)
    if not text:
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None

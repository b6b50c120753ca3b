"""Structured logs for every corral service: one event per line, as logfmt key=value
(`--log-format text`, the default) or as one JSON object (`--log-format json`).

Every line starts with `time`, `level`, `component` and `event`; lines about an object
carry its key (`pod=default/web-1`). Two ways in, one renderer out:

- structlog loggers: `structlog.get_logger().info("pod_started", pod=key)`, with context
  bound through `structlog.contextvars.bound_contextvars(pod=key)`;
- stdlib loggers, as most of corral logs today: `logging.getLogger("corral.agent")
  .info("event=pod_started pod=%s", key)`. A message in that `event=NAME key=value ...`
  style is split into its fields, so it renders the same as the structlog call (quoted
  and escaped by the renderer; a `%r`-quoted value is unquoted first). Any other message
  becomes the event as it is.
"""

from __future__ import annotations

import ast
import logging
import re
import sys
import time
from collections.abc import MutableMapping
from typing import Any, Literal, TextIO, get_args

import structlog

LogFormat = Literal["text", "json"]
FORMATS: tuple[str, ...] = get_args(LogFormat)
LEVELS = ("debug", "info", "warning", "error", "critical")
# The fields every line begins with, in this order.
LEADING_KEYS = ("time", "level", "component", "event")

EventDict = MutableMapping[str, Any]

# `key=` at the start of a message or after white space.
_KEY = re.compile(r"([A-Za-z_][\w.\-]*)=")
_NEXT_KEY = re.compile(r"\s+(?=[A-Za-z_][\w.\-]*=)")
# A Python string literal as `%r` writes one, that ends the value (next key or the end).
_QUOTED = re.compile(r"""('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")(?=\s+[A-Za-z_][\w.\-]*=|\s*$)""")


def message_fields(message: str) -> dict[str, Any] | None:
    """The fields of an `event=NAME key=value ...` message, or None for other text.

    A value runs to the next ` key=`, so unquoted values may hold spaces; a value
    written with `%r` is read back as the string it quotes."""
    if not message.startswith("event="):
        return None
    fields: dict[str, Any] = {}
    position = 0
    while position < len(message):
        key = _KEY.match(message, position)
        if key is None:  # cannot happen after a split at a key; keep the rest whole
            fields.setdefault("message", message[position:])
            break
        start = key.end()
        quoted = _QUOTED.match(message, start)
        if quoted is not None:
            value: Any = ast.literal_eval(quoted.group(1))
            end = quoted.end()
        else:
            following = _NEXT_KEY.search(message, start)
            end = following.start() if following else len(message)
            value = message[start:end]
        fields.setdefault(key.group(1), value)
        following_key = _NEXT_KEY.match(message, end)
        position = following_key.end() if following_key else len(message)
    return fields


def _fields_from_stdlib_message(_logger: Any, _method: str, event_dict: EventDict) -> EventDict:
    fields = message_fields(str(event_dict["event"]))
    if fields is not None:
        del event_dict["event"]
        event_dict.update(fields)
    return event_dict


def _time_level_component(component: str) -> structlog.types.Processor:
    def add(_logger: Any, _method: str, event_dict: EventDict) -> EventDict:
        record: logging.LogRecord = event_dict["_record"]
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        event_dict["time"] = f"{stamp}.{int(record.msecs):03d}Z"
        event_dict["level"] = record.levelname.lower()
        event_dict["component"] = component
        return event_dict

    return add


def _leading_keys_first(_logger: Any, _method: str, event_dict: EventDict) -> EventDict:
    ordered = {key: event_dict.pop(key) for key in LEADING_KEYS if key in event_dict}
    ordered.update(event_dict)
    return ordered


def formatter(component: str, log_format: LogFormat = "text") -> logging.Formatter:
    """Renders stdlib and structlog records alike, one line each."""
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if log_format == "json"
        else structlog.processors.LogfmtRenderer(bool_as_flag=False)
    )
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.contextvars.merge_contextvars, _fields_from_stdlib_message],
        processors=[
            _time_level_component(component),
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            # A traceback becomes one escaped `exception` value: still one line.
            structlog.processors.format_exc_info,
            _leading_keys_first,
            renderer,
        ],
    )


def setup(component: str, level: str = "info", log_format: LogFormat = "text",
          stream: TextIO | None = None) -> None:
    """Sends every log line of this process to stream (default stderr) at level."""
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.filter_by_level,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter(component, log_format))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())

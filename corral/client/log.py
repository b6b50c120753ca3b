"""Structured logs for every corral service: one event per line, key=value.

Callers log `event=NAME key=value ...` messages; this adds time, level and
component. Lines about an object carry its key (`pod=default/web-1`).
"""

from __future__ import annotations

import logging
import os
import sys
import time


class KeyValueFormatter(logging.Formatter):
    def __init__(self, component: str) -> None:
        super().__init__()
        self.component = component

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        line = (
            f"time={stamp}.{int(record.msecs):03d}Z level={record.levelname.lower()} "
            f"component={self.component} {record.getMessage()}"
        )
        if record.exc_info:
            line += " error=" + repr(self.formatException(record.exc_info))
        return line


def setup(component: str, level: str | None = None) -> None:
    """Sends key=value lines to stderr at level (default $CORRAL_LOG_LEVEL or info)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(KeyValueFormatter(component))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel((level or os.environ.get("CORRAL_LOG_LEVEL", "info")).upper())

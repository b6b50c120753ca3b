"""Service logs: one event per line, logfmt or JSON, from stdlib and structlog loggers."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest
import structlog

from corral.client import log


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()


def log_some_events(log_format: log.LogFormat) -> list[str]:
    stream = io.StringIO()
    log.setup("agent", "info", log_format, stream)
    stdlib = logging.getLogger("corral.agent")
    stdlib.info("event=pod_started pod=%s node=%s", "default/web-1", "node-1")
    stdlib.warning("event=sync_failed pod=%s reason=%r", "default/web-2", 'no "space"\nleft')
    stdlib.info("relisting after an expired watch")
    stdlib.debug("event=below_the_level")
    with structlog.contextvars.bound_contextvars(pod="default/web-3"):
        structlog.get_logger("corral.agent").info("pod_killed", grace=30, forced=False)
    try:
        raise ValueError("bad")
    except ValueError:
        stdlib.exception("event=crashed")
    return stream.getvalue().splitlines()


def test_text_is_one_logfmt_line_per_event_quoted_and_escaped() -> None:
    lines = log_some_events("text")
    assert len(lines) == 5
    stamp = r"time=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
    assert re.fullmatch(stamp + " level=info component=agent event=pod_started "
                        "pod=default/web-1 node=node-1", lines[0]), lines[0]
    assert lines[1].endswith(' level=warning component=agent event=sync_failed '
                             'pod=default/web-2 reason="no \\"space\\"\\nleft"'), lines[1]
    assert lines[2].endswith(' level=info component=agent '
                             'event="relisting after an expired watch"'), lines[2]
    # Bound context follows the event's own fields.
    assert lines[3].endswith(" level=info component=agent event=pod_killed grace=30 "
                             "forced=false pod=default/web-3"), lines[3]
    assert " level=error component=agent event=crashed exception=\"Traceback " in lines[4]
    assert 'ValueError: bad"' in lines[4]


def test_json_is_one_object_per_event_with_the_same_fields() -> None:
    events = [json.loads(line) for line in log_some_events("json")]
    assert [list(e)[:4] for e in events] == [["time", "level", "component", "event"]] * 5
    assert {k: v for k, v in events[0].items() if k != "time"} == {
        "level": "info", "component": "agent", "event": "pod_started", "pod": "default/web-1",
        "node": "node-1"}
    assert events[1]["reason"] == 'no "space"\nleft'
    assert events[2]["event"] == "relisting after an expired watch"
    assert (events[3]["pod"], events[3]["grace"], events[3]["forced"]) == (
        "default/web-3", 30, False)
    assert events[4]["exception"].endswith("ValueError: bad")


@pytest.mark.parametrize(("message", "fields"), [
    ("event=x", {"event": "x"}),
    ("event=x pod=ns/a reason=no route to host node=n1",
     {"event": "x", "pod": "ns/a", "reason": "no route to host", "node": "n1"}),
    ("event=x reason='a b=c' n=1", {"event": "x", "reason": "a b=c", "n": "1"}),
    ("event=x reason='quoted' then words", {"event": "x", "reason": "'quoted' then words"}),
    ("event=x empty= n=1", {"event": "x", "empty": "", "n": "1"}),
    ("deleting dependent ns/a", None),
])
def test_event_style_messages_are_split_into_fields(message: str, fields: object) -> None:
    assert log.message_fields(message) == fields

"""How a program *talks* to the API server: the client, shared informers, the work queue,
leader election and the Event recorder, plus the plumbing every service shares: the
runner that starts it (shared flags, structured logs, health and metrics listeners,
signals), and the health probe.

Imports only `corral.api`. Other packages import from here, never from the modules
inside: `from corral.client import Client, SharedInformers`.
"""

from __future__ import annotations

from corral.client import configfile, healthcheck, log, metrics, runner
from corral.client.client import (
    CHANNEL_OPTIONS,
    DEFAULT_SERVER,
    SERVER_ENV,
    Client,
    WatchEvent,
    map_rpc_error,
    resolve_kind,
    server_address,
)
from corral.client.events import NORMAL, WARNING, EventRecorder
from corral.client.informer import Informer, SharedInformers
from corral.client.leaderelection import LeaderElection, LeaderElector
from corral.client.workqueue import WorkQueue, run_workers

__all__ = [
    "CHANNEL_OPTIONS", "DEFAULT_SERVER", "NORMAL", "SERVER_ENV", "WARNING", "Client",
    "EventRecorder", "Informer", "LeaderElection", "LeaderElector", "SharedInformers",
    "WatchEvent", "WorkQueue", "configfile", "healthcheck", "log", "map_rpc_error", "metrics",
    "resolve_kind", "run_workers", "runner", "server_address",
]

"""Leader election rules that need no API server; elections themselves are in
tests/integration/test_leaderelection.py, against a real one."""

import os
import socket

import pytest

from corral.api.v1 import coordination_pb2
from corral.client.client import Client
from corral.client.leaderelection import LeaderElection, LeaderElector, lease_expired


def test_elector_rejects_inconsistent_timings():
    with pytest.raises(ValueError, match="lease_duration > renew_deadline > retry_period"):
        LeaderElector(Client("x:1"), "l", "me", lease_duration=5, renew_deadline=10)
    with pytest.raises(ValueError, match="identity"):
        LeaderElector(Client("x:1"), "l", "")


def test_lease_expires_lease_duration_after_the_last_renewal():
    lease = coordination_pb2.Lease()
    assert lease_expired(lease, 0)
    lease.spec.renew_time.FromSeconds(100)
    lease.spec.lease_duration_seconds = 15
    assert not lease_expired(lease, 114.9)
    assert lease_expired(lease, 115.1)


def test_an_election_defaults_to_enabled_with_the_flags_timings_and_host_pid():
    election = LeaderElection(lease_name="corral-scheduler")
    assert election.enabled
    assert election.identity == f"{socket.gethostname()}-{os.getpid()}"
    assert (election.lease_duration, election.renew_deadline, election.retry_period) == (
        15.0, 10.0, 2.0)


def test_an_election_rejects_inconsistent_timings():
    with pytest.raises(ValueError, match="lease_duration > renew_deadline > retry_period"):
        LeaderElection(lease_name="l", lease_duration=5, renew_deadline=10)


def test_an_election_builds_its_elector():
    election = LeaderElection(lease_name="l", identity="me", lease_duration=3,
                              renew_deadline=2, retry_period=0.5)
    client = Client("x:1")
    elector = election.elector(client)
    assert (elector.client, elector.lease_name, elector.identity) == (client, "l", "me")
    assert (elector.lease_duration, elector.renew_deadline, elector.retry_period) == (3, 2, 0.5)

"""Leader election rules that need no API server; elections themselves are in
tests/integration/test_leaderelection.py, against a real one."""

import pytest

from corral.api.v1 import coordination_pb2
from corral.client.client import Client
from corral.client.leaderelection import LeaderElector, lease_expired


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

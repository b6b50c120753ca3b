"""Leader election through a Lease object, so one replica of a controller acts at a time.

The leader writes `spec.renewTime` every `retry_period` seconds. Anyone may take
the lease once it is free (no holderIdentity) or expired (renewTime +
leaseDurationSeconds is in the past). Every write is an Update carrying the
resourceVersion that was read, so of two candidates racing for a free lease one
gets Conflict and backs off. A leader that could not renew for `renew_deadline`
seconds stops leading (before anyone else may take over, since renew_deadline <
lease_duration).

Expiry compares the renewTime written by the holder with this process's clock,
so the clocks of the machines involved must agree to well under lease_duration.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from corral.api import errors, to_timestamp
from corral.api.v1 import coordination_pb2, core_pb2, meta_pb2
from corral.client.client import Client

LEASE_NAMESPACE = "corral-system"
# Seconds; the defaults of the --leader-elect-* flags and of every service's election.
DEFAULT_LEASE_DURATION = 15.0
DEFAULT_RENEW_DEADLINE = 10.0
DEFAULT_RETRY_PERIOD = 2.0

_log = logging.getLogger("corral.leaderelection")


def lease_expired(lease: coordination_pb2.Lease, now: float) -> bool:
    """True when the holder has not renewed within its lease duration."""
    spec = lease.spec
    if not spec.HasField("renew_time"):
        return True
    renewed = spec.renew_time.ToNanoseconds() / 1e9
    return renewed + spec.lease_duration_seconds < now


def lease_free(lease: coordination_pb2.Lease, now: float) -> bool:
    return not lease.spec.holder_identity or lease_expired(lease, now)


def check_timing(lease_duration: float, renew_deadline: float, retry_period: float) -> None:
    """Raises ValueError unless lease_duration > renew_deadline > retry_period > 0."""
    if not lease_duration > renew_deadline > retry_period > 0:
        raise ValueError(
            "leader election needs lease_duration > renew_deadline > retry_period > 0, got "
            f"lease_duration={lease_duration} renew_deadline={renew_deadline} "
            f"retry_period={retry_period}"
        )


def default_identity() -> str:
    """This replica's name in a Lease when none is given: host name and process id."""
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True, kw_only=True)
class LeaderElection:
    """How a service elects its leader: the values of the `--leader-elect*` and
    `--identity` flags, and the `election` of each electing service's Options (whose
    default names that service's Lease)."""

    lease_name: str
    enabled: bool = True
    identity: str = field(default_factory=default_identity)
    lease_duration: float = DEFAULT_LEASE_DURATION
    renew_deadline: float = DEFAULT_RENEW_DEADLINE
    retry_period: float = DEFAULT_RETRY_PERIOD

    def __post_init__(self) -> None:
        check_timing(self.lease_duration, self.renew_deadline, self.retry_period)

    def elector(self, client: Client) -> LeaderElector:
        """The LeaderElector that runs this election through client."""
        return LeaderElector(client, self.lease_name, self.identity, self.lease_duration,
                             self.renew_deadline, self.retry_period)


class LeaderElector:
    def __init__(
        self,
        client: Client,
        lease_name: str,
        identity: str,
        lease_duration: float = DEFAULT_LEASE_DURATION,
        renew_deadline: float = DEFAULT_RENEW_DEADLINE,
        retry_period: float = DEFAULT_RETRY_PERIOD,
        *,
        namespace: str = LEASE_NAMESPACE,
        release_on_cancel: bool = True,
        clock: Callable[[], float] = time.time,
        logger: logging.Logger | None = None,
    ) -> None:
        check_timing(lease_duration, renew_deadline, retry_period)
        if not identity:
            raise ValueError("leader election needs a non-empty identity (e.g. the host name)")
        self.client = client
        self.lease_name = lease_name
        self.namespace = namespace
        self.identity = identity
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry_period = retry_period
        self.release_on_cancel = release_on_cancel
        self.clock = clock
        self.log = logger or _log
        self._lease: coordination_pb2.Lease | None = None
        self._is_leader = False
        # Set by a renewal that found another holder: stop leading at once.
        self._lost_to_someone_else = False

    @property
    def is_leader(self) -> bool:
        return self._is_leader

    @property
    def _duration_seconds(self) -> int:
        # The field holds whole seconds; never shorten what was asked for.
        return max(1, math.ceil(self.lease_duration))

    @property
    def lease_key(self) -> str:
        return f"{self.namespace}/{self.lease_name}"

    async def run(
        self,
        on_started_leading: Callable[[], Awaitable[None]],
        on_stopped_leading: Callable[[], Awaitable[None] | None] | None = None,
    ) -> None:
        """Waits to become leader, runs on_started_leading() while leading, and returns when
        leadership is lost or on_started_leading returns.

        Cancelling run() cancels the leading work and (with release_on_cancel) clears the
        lease's holder so a successor need not wait for it to expire. on_stopped_leading runs
        whenever leadership that was gained ends.
        """
        await self._acquire()
        leading = asyncio.ensure_future(on_started_leading())
        renewing = asyncio.create_task(self._renew_until_lost(), name=f"renew-{self.lease_name}")
        cancelled = False
        try:
            await asyncio.wait([leading, renewing], return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            cancelled = True
            raise
        finally:
            still_ours = not renewing.done()
            for task in (leading, renewing):
                task.cancel()
            await asyncio.gather(leading, renewing, return_exceptions=True)
            if still_ours and (self.release_on_cancel or not cancelled):
                await self._release()
            self._is_leader = False
            if on_stopped_leading is not None:
                result = on_stopped_leading()
                if result is not None:
                    await result
        if leading.done() and not leading.cancelled():
            failure = leading.exception()
            if failure is not None:
                raise failure

    # -- acquiring -----------------------------------------------------------------------------

    async def _acquire(self) -> None:
        self.log.info("event=leader_waiting lease=%s identity=%s", self.lease_key, self.identity)
        while True:
            try:
                if await self._try_acquire_or_renew():
                    self._is_leader = True
                    self.log.info("event=leader_elected lease=%s identity=%s",
                                  self.lease_key, self.identity)
                    return
            except errors.ApiError as error:
                self.log.warning("event=leader_attempt_failed lease=%s error=%s: %s",
                                 self.lease_key, type(error).__name__, error)
            await asyncio.sleep(self.retry_period)

    async def _try_acquire_or_renew(self) -> bool:
        """One attempt to hold the lease: True when we hold it now."""
        now = self.clock()
        try:
            current = await self.client.get("Lease", self.lease_name, self.namespace)
        except errors.NotFound:
            return await self._create()
        assert isinstance(current, coordination_pb2.Lease)
        self._lease = current
        spec = current.spec
        if spec.holder_identity != self.identity and not lease_free(current, now):
            return False
        updated = coordination_pb2.Lease()
        updated.CopyFrom(current)
        if spec.holder_identity != self.identity:
            updated.spec.holder_identity = self.identity
            updated.spec.acquire_time.CopyFrom(to_timestamp(now))
            updated.spec.lease_transitions = spec.lease_transitions + 1
        updated.spec.lease_duration_seconds = self._duration_seconds
        updated.spec.renew_time.CopyFrom(to_timestamp(now))
        try:
            self._lease = await self.client.update(updated)
        except errors.Conflict:
            return False  # someone else wrote first; re-read next time
        return True

    async def _create(self) -> bool:
        now = to_timestamp(self.clock())
        lease = coordination_pb2.Lease(
            metadata=meta_pb2.ObjectMeta(name=self.lease_name, namespace=self.namespace),
            spec=coordination_pb2.LeaseSpec(
                holder_identity=self.identity,
                lease_duration_seconds=self._duration_seconds,
                acquire_time=now,
                renew_time=now,
                lease_transitions=0,
            ),
        )
        try:
            self._lease = await self.client.create(lease)
        except errors.AlreadyExists:
            return False
        except errors.NotFound:
            # The namespace does not exist yet on a fresh cluster: make it, try again later.
            with contextlib.suppress(errors.AlreadyExists):
                await self.client.create(
                    core_pb2.Namespace(metadata=meta_pb2.ObjectMeta(name=self.namespace))
                )
            return False
        return True

    # -- renewing ------------------------------------------------------------------------------

    async def _renew_until_lost(self) -> None:
        """Renews every retry_period; returns once renewal failed for renew_deadline."""
        loop = asyncio.get_running_loop()
        last_renewed = loop.time()
        while True:
            await asyncio.sleep(self.retry_period)
            remaining = last_renewed + self.renew_deadline - loop.time()
            renewed = False
            try:
                renewed = await asyncio.wait_for(self._renew(), max(remaining, 0.001))
            except (errors.ApiError, TimeoutError) as error:
                self.log.warning("event=lease_renewal_failed lease=%s identity=%s error=%s: %s",
                                 self.lease_key, self.identity, type(error).__name__, error)
            if renewed:
                last_renewed = loop.time()
                continue
            if self._lost_to_someone_else or loop.time() - last_renewed >= self.renew_deadline:
                self.log.warning("event=leader_lost lease=%s identity=%s holder=%s",
                                 self.lease_key, self.identity, self._holder())
                self._is_leader = False
                return

    async def _renew(self) -> bool:
        """Writes a new renewTime; on Conflict re-reads to see whether we still hold it."""
        self._lost_to_someone_else = False
        lease = self._lease
        if lease is not None and lease.spec.holder_identity == self.identity:
            updated = coordination_pb2.Lease()
            updated.CopyFrom(lease)
            updated.spec.renew_time.CopyFrom(to_timestamp(self.clock()))
            try:
                self._lease = await self.client.update(updated)
                return True
            except errors.Conflict:
                pass
        held = await self._try_acquire_or_renew()
        if not held and self._lease is not None and self._holder() != self.identity:
            self._lost_to_someone_else = True
        return held

    def _holder(self) -> str:
        return self._lease.spec.holder_identity if self._lease is not None else ""

    # -- releasing -----------------------------------------------------------------------------

    async def _release(self) -> None:
        """Clears holderIdentity so a successor can take over at once."""
        lease = self._lease
        if lease is None or lease.spec.holder_identity != self.identity:
            return
        released = coordination_pb2.Lease()
        released.CopyFrom(lease)
        released.spec.holder_identity = ""
        released.spec.lease_duration_seconds = 1
        released.spec.renew_time.CopyFrom(to_timestamp(self.clock()))
        try:
            await asyncio.wait_for(self.client.update(released), self.renew_deadline)
            self.log.info("event=leader_released lease=%s identity=%s",
                          self.lease_key, self.identity)
        except (errors.ApiError, TimeoutError) as error:
            self.log.warning("event=lease_release_failed lease=%s identity=%s error=%s: %s",
                             self.lease_key, self.identity, type(error).__name__, error)

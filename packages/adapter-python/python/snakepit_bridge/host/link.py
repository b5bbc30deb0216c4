"""The worker's link to its host bridge, for the worker's whole life.

Opened at startup when the config has a `host_address`: one channel (GrpcHostCaller), the adapter's
tools reported once with RegisterTools (before the worker announces itself ready, so the host
knows them by the time it routes calls; a failure is logged, never fatal), then the heartbeat task
on the event loop. Closed at shutdown: heartbeat cancelled, channel closed.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Callable, List, Optional

from snakepit.bridge.v1 import common_pb2

from ..observability.tracing import Tracing
from ..worker.config import WorkerConfig
from ..worker.heartbeat import HeartbeatSettings, describe_failure, run_heartbeat
from ..worker.watchdog import kill_own_process_group
from .access import HostAccess
from .client import HostClient
from .grpc_caller import GrpcHostCaller

__all__ = ["HostLink", "REGISTER_TIMEOUT_SECONDS"]

# Bounds how long a wedged host can hold up startup; the heartbeat deals with it afterwards.
REGISTER_TIMEOUT_SECONDS = 5.0

_log = logging.getLogger("snakepit_bridge.host")


def _lose_host(reason: str) -> None:
    """Heartbeats keep failing: the host is wedged, gone or no longer knows this worker, so
    nobody will use it again. Never returns."""
    _log.error("the host bridge is unreachable or refuses this worker (%s); the worker shuts itself down", reason)
    for handler in logging.getLogger().handlers:
        try:
            handler.flush()
        except Exception:  # the line is best effort; dying is not
            pass
    kill_own_process_group()


class HostLink:
    def __init__(self, caller: GrpcHostCaller, access: HostAccess, worker_id: str) -> None:
        self._caller = caller
        self.access = access
        self._worker_id = worker_id
        self._heartbeat: Optional["asyncio.Task[None]"] = None

    @classmethod
    def open(cls, config: WorkerConfig, tracing: Tracing) -> "HostLink":
        """Creates the channel (it connects lazily, on the first call). Call on the event loop."""
        assert config.host_address is not None
        caller = GrpcHostCaller(config.host_address, config.token, max_message_bytes=config.max_message_bytes)
        access = HostAccess(HostClient(caller), asyncio.get_running_loop(), tracing)
        return cls(caller, access, config.worker_id)

    async def register_tools(self, describe: Callable[[], List[common_pb2.ToolSpec]]) -> None:
        """Reports the adapter's tools; `describe` runs here so that an adapter whose get_tools()
        raises is logged like any other registration failure."""
        try:
            specs = describe()
            registered = await self.access.client.register_tools(self._worker_id, specs, timeout=REGISTER_TIMEOUT_SECONDS)
        except Exception as exc:
            _log.warning("could not report this worker's tools to the host: %s", describe_failure(exc))
            return
        _log.debug("reported %d tools to the host", len(registered))

    def start_heartbeat(self, settings: Optional[HeartbeatSettings]) -> None:
        if settings is None:
            return

        async def beat(timeout: float) -> None:
            await self.access.client.heartbeat(self._worker_id, timeout)

        self._heartbeat = asyncio.ensure_future(run_heartbeat(beat, settings, _lose_host))

    async def close(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            # Bounded: shutdown must not depend on the task honouring its cancellation promptly.
            await asyncio.wait((self._heartbeat,), timeout=1.0)
        await self._caller.close()

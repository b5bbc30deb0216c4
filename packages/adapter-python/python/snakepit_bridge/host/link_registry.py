"""The host links of a worker run as a service: which call channel a call's host requests travel on.

A client that wants host requests opens its `Calls` stream with the header
`x-snakepit-host-link: <id>` and sends the same header on its ExecuteTool and ExecuteStreamingTool
RPCs. The registry maps each link id to the HostTunnels (tunnel.py) of its open channels, the latest
opened first in line; an earlier channel of the same link keeps carrying its own calls' requests
until it ends, and takes the RPCs' requests again if the latest one ends first.

- A call that came on a channel sends its host requests on that channel (`HostTunnel.access`).
- A call that came as its own RPC with the header (`access`) looks its link up at each host
  request, so a request made after the client reopened its channel goes on the new one. With no
  channel of the link open, the request waits for one to open, up to `channel_wait_seconds`: an
  RPC sent right after the channel may be served before the channel's handler has run, and a
  client reopens a broken channel. Then it fails as a host that cannot be reached
  (HostBridgeUnavailable).

Link ids are opaque (the Node side sends 128 random bits as hex) and never logged: whoever holds
one receives the host requests of its calls.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import grpc

from ..observability.tracing import Tracing
from .access import HostAccess
from .client import HostCaller, HostCallFailed, HostClient
from .tunnel import HostTunnel, Post

__all__ = ["LinkRegistry", "NO_LINK_CHANNEL", "CHANNEL_WAIT_SECONDS"]

# How long a host request of an RPC waits for a channel of its link to open.
CHANNEL_WAIT_SECONDS = 5.0

NO_LINK_CHANNEL = (
    "no call channel of this call's host link is open (the client opens its Calls stream with the "
    "x-snakepit-host-link header it sends on this call)"
)


class LinkRegistry:
    """Link id -> the tunnels of its open call channels (the latest last). Create on the event loop; use there.

    `max_message_bytes`: the server's send limit, which host requests are checked against.
    """

    def __init__(self, tracing: Tracing, max_message_bytes: int, *, channel_wait_seconds: float = CHANNEL_WAIT_SECONDS) -> None:
        self._loop = asyncio.get_running_loop()
        self._tracing = tracing
        self._max_message_bytes = max_message_bytes
        self._channel_wait_seconds = channel_wait_seconds
        self._tunnels: Dict[str, List[HostTunnel]] = {}
        # Set (and replaced) whenever a channel opens: wakes the requests waiting for one.
        self._opened = asyncio.Event()

    def open(self, link_id: str, post: Post, on_settled: Callable[[], None]) -> HostTunnel:
        """The tunnel of a call channel opened with `link_id`, which becomes the link's channel."""
        tunnel = HostTunnel(
            post,
            bind=self._bind,
            max_request_bytes=self._max_message_bytes,
            on_settled=on_settled,
            on_close=functools.partial(self._release, link_id),
        )
        self._tunnels.setdefault(link_id, []).append(tunnel)
        opened, self._opened = self._opened, asyncio.Event()
        opened.set()
        return tunnel

    def access(self, link_id: str) -> HostAccess:
        """The host access of a call that came as its own RPC with `link_id`."""
        return self._bind(functools.partial(self._request, link_id))

    def _latest(self, link_id: str) -> Optional[HostTunnel]:
        tunnels = self._tunnels.get(link_id)
        return tunnels[-1] if tunnels else None

    async def _request(
        self, link_id: str, method: str, request: Any, headers: Sequence[Tuple[str, str]], timeout: Optional[float]
    ) -> Any:
        tunnel = self._latest(link_id)
        if tunnel is None:
            tunnel = await self._wait_for_channel(link_id)
        return await tunnel.request(0, method, request, headers, timeout)

    async def _wait_for_channel(self, link_id: str) -> HostTunnel:
        loop = self._loop
        deadline = loop.time() + self._channel_wait_seconds
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise HostCallFailed(grpc.StatusCode.UNAVAILABLE, NO_LINK_CHANNEL)
            try:
                await asyncio.wait_for(self._opened.wait(), remaining)
            except asyncio.TimeoutError:
                pass
            tunnel = self._latest(link_id)
            if tunnel is not None:
                return tunnel

    def _release(self, link_id: str, tunnel: HostTunnel) -> None:
        tunnels = self._tunnels.get(link_id)
        if tunnels is None or tunnel not in tunnels:
            return
        tunnels.remove(tunnel)
        if not tunnels:
            del self._tunnels[link_id]

    def _bind(self, caller: HostCaller) -> HostAccess:
        # On the loop thread (calls are set up there), which HostAccess records as its own.
        return HostAccess(HostClient(caller), self._loop, self._tracing)

"""Host-bridge calls from tool code, on whichever thread the tool runs.

The host client's requests belong to the worker's event loop (its gRPC channel to the host
bridge, or the call channel a worker run as a service tunnels them through). Async tools run on that loop and
simply await (`await context.call_host_tool_async(...)`). Sync tools run in executor threads;
their blocking calls (`context.call_host_tool(...)`) schedule the coroutine on the loop with
`run_coroutine_threadsafe` and wait. A blocking call made on the loop thread itself would
deadlock the worker (the loop would wait for itself), so it is refused with an error naming the
async variant instead.

A blocked sync caller also watches its call's cancellation flag: when the Node side cancels the
call, the host call is cancelled too and the waiting thread gets `concurrent.futures.CancelledError`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from typing import TYPE_CHECKING, Any, Callable, Coroutine, List, Optional, Tuple, TypeVar

from ..tools.threads import loop_needed
from ..worker.call_headers import CORRELATION_HEADER
from .errors import HostBridgeUnavailable

if TYPE_CHECKING:  # pragma: no cover - typing only; importing grpc here would make the package heavy
    from ..observability.tracing import Tracing
    from .client import HostClient

__all__ = ["HostAccess", "Headers", "require_host", "set_no_host_reason"]

# gRPC metadata of one host call, as (key, value) pairs.
Headers = List[Tuple[str, str]]

T = TypeVar("T")

# How often a blocked sync caller looks at its call's cancellation flag.
_CANCEL_POLL_SECONDS = 0.05


class HostAccess:
    """A host client, bound to the loop its requests run on."""

    def __init__(self, client: HostClient, loop: asyncio.AbstractEventLoop, tracing: Tracing) -> None:
        self.client = client
        self._loop = loop
        # Created on the loop thread (at startup, or as a call is set up).
        self._loop_thread = threading.get_ident()
        self._tracing = tracing

    def headers(self, correlation_id: Optional[str], traceparent: Optional[str], tracestate: Optional[str]) -> Headers:
        """The headers of a host call made by a tool: its call's correlation id and trace context.

        Must run in the caller's thread: that is where the tool's tracing span is current.
        """
        headers = [(CORRELATION_HEADER, correlation_id or "")]
        headers.extend(self._tracing.outgoing_headers(traceparent, tracestate))
        return headers

    def run_blocking(
        self,
        make_call: Callable[[], Coroutine[Any, Any, T]],
        api: str,
        is_cancelled: Callable[[], bool],
    ) -> T:
        """Runs `make_call()` on the worker's loop and waits for its result in this thread."""
        if threading.get_ident() == self._loop_thread:
            raise RuntimeError(
                f"context.{api}() blocks until the host answers, so it cannot run on the worker's event loop "
                f"(inside an async tool); use `await context.{api}_async(...)` there"
            )
        coroutine = make_call()
        # The request runs on the loop: a loop thread holding for this tool thread must let go.
        loop_needed()
        try:
            future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        except RuntimeError:  # the loop is closed: the worker is exiting
            coroutine.close()
            raise HostBridgeUnavailable("the worker is shutting down; the host bridge is closed") from None
        while True:
            done, _ = concurrent.futures.wait((future,), timeout=_CANCEL_POLL_SECONDS)
            if done:
                return future.result()
            if is_cancelled():
                future.cancel()
                return future.result()  # raises CancelledError, unless the call just finished

    async def run_async(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Awaits a host call from any event loop (the worker's, or one a tool runs itself)."""
        if asyncio.get_running_loop() is self._loop:
            return await coroutine
        loop_needed()  # a loop a sync tool runs itself: as in run_blocking
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        return await asyncio.wrap_future(future)


_DEFAULT_NO_HOST_REASON = "this worker has none (no host_address in its config, or this context was not created for a call)"
_no_host_reason = _DEFAULT_NO_HOST_REASON


def set_no_host_reason(reason: Optional[str]) -> None:
    """Why this worker process has no host bridge, in the HostBridgeUnavailable message tools get
    (completes "context.x() needs the host bridge, and ..."); None: the default. Set once at startup
    by an entry point whose workers never have one (serve.py)."""
    global _no_host_reason
    _no_host_reason = reason or _DEFAULT_NO_HOST_REASON


def require_host(host: Optional[HostAccess], api: str) -> HostAccess:
    if host is None:
        raise HostBridgeUnavailable(f"context.{api}() needs the host bridge, and {_no_host_reason}")
    return host

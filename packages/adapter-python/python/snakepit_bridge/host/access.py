"""Host-bridge calls from tool code, on whichever thread the tool runs.

The host client's channel belongs to the worker's event loop. Async tools run on that loop and
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
from typing import TYPE_CHECKING, Any, Awaitable, Callable, List, Optional, Tuple

from .host_errors import HostBridgeUnavailable
from .tool_threads import loop_needed

if TYPE_CHECKING:  # pragma: no cover - typing only; importing grpc here would make the package heavy
    from .host_client import HostClient
    from .session_context import SessionContext
    from .telemetry import Tracing

__all__ = ["HostAccess", "SessionState", "CORRELATION_HEADER"]

CORRELATION_HEADER = "x-snakepit-correlation-id"

# How often a blocked sync caller looks at its call's cancellation flag.
_CANCEL_POLL_SECONDS = 0.05


class HostAccess:
    """The worker's host client, bound to the loop that owns its channel."""

    def __init__(self, client: "HostClient", loop: asyncio.AbstractEventLoop, tracing: "Tracing") -> None:
        self.client = client
        self._loop = loop
        # Created by serve() on the loop thread.
        self._loop_thread = threading.get_ident()
        self._tracing = tracing

    def headers(self, context: "SessionContext") -> List[Tuple[str, str]]:
        """Correlation and trace headers for a host call made by `context`'s tool.

        Must run in the caller's thread: that is where the tool's tracing span is current.
        """
        headers = [(CORRELATION_HEADER, context.correlation_id or "")]
        headers.extend(self._tracing.outgoing_headers(context.traceparent, context.tracestate))
        return headers

    def run_blocking(
        self,
        make_call: Callable[[], Awaitable[Any]],
        api: str,
        is_cancelled: Callable[[], bool],
    ) -> Any:
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
            future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)  # type: ignore[arg-type]
        except RuntimeError:  # the loop is closed: the worker is exiting
            coroutine.close()  # type: ignore[attr-defined]
            raise HostBridgeUnavailable("the worker is shutting down; the host bridge is closed") from None
        while True:
            done, _ = concurrent.futures.wait((future,), timeout=_CANCEL_POLL_SECONDS)
            if done:
                return future.result()
            if is_cancelled():
                future.cancel()
                return future.result()  # raises CancelledError, unless the call just finished

    async def run_async(self, coroutine: Awaitable[Any]) -> Any:
        """Awaits a host call from any event loop (the worker's, or one a tool runs itself)."""
        if asyncio.get_running_loop() is self._loop:
            return await coroutine
        loop_needed()  # a loop a sync tool runs itself: as in run_blocking
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)  # type: ignore[arg-type]
        return await asyncio.wrap_future(future)


class SessionState:
    """`context.state`: the host's state store for the call's session. Values are JSON.

    Sync methods block (sync tools); `*_async` methods are awaited (async tools). A call without
    a session id, or a session unknown to the host, raises `SessionNotFoundError`; a full store
    raises `SessionQuotaError`.
    """

    __slots__ = ("_context",)

    def __init__(self, context: "SessionContext") -> None:
        self._context = context

    def get(self, key: str, default: Any = None) -> Any:
        host = self._context.host_access("state.get")
        headers = host.headers(self._context)
        found, value = host.run_blocking(
            lambda: host.client.get_state(self._context.session_id, key, headers), "state.get", self._context.is_cancelled
        )
        return value if found else default

    def set(self, key: str, value: Any) -> None:
        host = self._context.host_access("state.set")
        headers = host.headers(self._context)
        host.run_blocking(
            lambda: host.client.set_state(self._context.session_id, key, value, headers),
            "state.set",
            self._context.is_cancelled,
        )

    def delete(self, key: str) -> bool:
        """True when the key existed."""
        host = self._context.host_access("state.delete")
        headers = host.headers(self._context)
        return bool(
            host.run_blocking(
                lambda: host.client.delete_state(self._context.session_id, key, headers),
                "state.delete",
                self._context.is_cancelled,
            )
        )

    async def get_async(self, key: str, default: Any = None) -> Any:
        host = self._context.host_access("state.get_async")
        found, value = await host.run_async(host.client.get_state(self._context.session_id, key, host.headers(self._context)))
        return value if found else default

    async def set_async(self, key: str, value: Any) -> None:
        host = self._context.host_access("state.set_async")
        await host.run_async(host.client.set_state(self._context.session_id, key, value, host.headers(self._context)))

    async def delete_async(self, key: str) -> bool:
        host = self._context.host_access("state.delete_async")
        return bool(await host.run_async(host.client.delete_state(self._context.session_id, key, host.headers(self._context))))

    def __repr__(self) -> str:
        return f"SessionState(session_id={self._context.session_id!r})"


def require_host(host: Optional[HostAccess], api: str) -> HostAccess:
    if host is None:
        raise HostBridgeUnavailable(
            f"context.{api}() needs the host bridge, and this worker has none (no host_address in its config, "
            "or this context was not created for a call)"
        )
    return host

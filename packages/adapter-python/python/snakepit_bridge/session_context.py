"""The per-call context handed to tools: who is calling, for which session, whether to stop, and
the way back to the host (host tools and session state).

One `SessionContext` is created for every WorkerService call. It is published through a
`ContextVar`, so `BaseAdapter.session_context` returns the right object even when many calls run
at once (threaded mode) and inside executor threads (sync tools run under `copy_context()`).

Host calls come in two flavours (see host/access.py for why): blocking ones for sync tools
(`call_host_tool`, `list_host_tools`, `state.get/set/delete`) and coroutines for async tools
(`call_host_tool_async`, `list_host_tools_async`, `state.get_async/...`). Without a host bridge
they raise `HostBridgeUnavailable`.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, Dict, List, Mapping, Optional, Tuple

from .host.access import Headers, HostAccess, require_host

__all__ = ["SessionContext", "SessionState", "current_session_context"]


class SessionContext:
    """What a tool knows about the call it is serving."""

    __slots__ = ("session_id", "correlation_id", "metadata", "traceparent", "tracestate", "_cancelled", "_host", "_state")

    def __init__(
        self,
        session_id: Optional[str] = None,
        correlation_id: Optional[str] = None,
        metadata: Optional[Mapping[str, str]] = None,
        *,
        host: Optional[HostAccess] = None,
        traceparent: Optional[str] = None,
        tracestate: Optional[str] = None,
    ) -> None:
        # The wire uses "" for "no session"; Python code should see None instead.
        self.session_id: Optional[str] = session_id or None
        self.correlation_id: Optional[str] = correlation_id or None
        self.metadata: Dict[str, str] = dict(metadata or {})
        # W3C trace context of the caller, when the Node side sent one.
        self.traceparent: Optional[str] = traceparent or None
        self.tracestate: Optional[str] = tracestate or None
        # A plain flag, set once on the loop thread and polled by sync tools from executor
        # threads: reading and writing an attribute is atomic, and nothing ever waits on it
        # (a threading.Event cost more to create than the rest of this object).
        self._cancelled = False
        self._host = host
        self._state: Optional[SessionState] = None

    # -- cancellation ------------------------------------------------------------------------

    def is_cancelled(self) -> bool:
        """True once the caller went away (cancel or deadline); cooperative tools should stop."""
        return self._cancelled

    def mark_cancelled(self) -> None:
        """Called by the bridge when the call is cancelled. Tools do not call this."""
        self._cancelled = True

    # -- host bridge -------------------------------------------------------------------------

    @property
    def host_available(self) -> bool:
        """True when host tools and session state can be used from this call."""
        return self._host is not None

    def _host_call(self, api: str) -> Tuple[HostAccess, Headers]:
        """The host access (or HostBridgeUnavailable naming `api`) and this call's headers for it.

        Must run in the caller's thread: that is where the tool's tracing span is current.
        """
        host = require_host(self._host, api)
        return host, host.headers(self.correlation_id, self.traceparent, self.tracestate)

    def call_host_tool(self, name: str, /, **arguments: Any) -> Any:
        """Runs a host (Node) tool and returns its result as plain Python values.

        Blocks until the host answers: for sync tools. In an async tool use
        `await context.call_host_tool_async(...)`. bytes arguments travel raw and binary results
        come back as bytes. Raises UnknownHostToolError, HostToolError, HostBridgeUnavailable,
        InvalidParameterError (a value that cannot be sent, refused before sending).
        """
        host, headers = self._host_call("call_host_tool")
        return host.run_blocking(
            lambda: host.client.execute_tool(name, arguments, session_id=self.session_id, headers=headers),
            "call_host_tool",
            self.is_cancelled,
        )

    async def call_host_tool_async(self, name: str, /, **arguments: Any) -> Any:
        """The awaitable form of `call_host_tool`, for async tools."""
        host, headers = self._host_call("call_host_tool_async")
        return await host.run_async(host.client.execute_tool(name, arguments, session_id=self.session_id, headers=headers))

    def call_elixir_tool(self, name: str, /, **arguments: Any) -> Any:
        """Snakepit's name for `call_host_tool`, kept so existing adapters run unchanged."""
        return self.call_host_tool(name, **arguments)

    async def call_elixir_tool_async(self, name: str, /, **arguments: Any) -> Any:
        return await self.call_host_tool_async(name, **arguments)

    def list_host_tools(self) -> List[Dict[str, Any]]:
        """The host tools exposed to Python: [{"name", "description", "parameters", "metadata"}]. Blocks."""
        host, headers = self._host_call("list_host_tools")
        return host.run_blocking(lambda: host.client.list_tools(self.session_id, headers), "list_host_tools", self.is_cancelled)

    async def list_host_tools_async(self) -> List[Dict[str, Any]]:
        host, headers = self._host_call("list_host_tools_async")
        return await host.run_async(host.client.list_tools(self.session_id, headers))

    @property
    def state(self) -> SessionState:
        """The host-side state of this call's session: `get(key, default)`, `set(key, value)`,
        `delete(key)`, and `*_async` variants for async tools."""
        if self._state is None:
            self._state = SessionState(self)
        return self._state

    def __repr__(self) -> str:
        # Metadata values may be sensitive; only their keys are shown.
        return (
            f"SessionContext(session_id={self.session_id!r}, correlation_id={self.correlation_id!r}, "
            f"metadata_keys={sorted(self.metadata)!r}, cancelled={self.is_cancelled()}, "
            f"host_available={self.host_available})"
        )


class SessionState:
    """`context.state`: the host's state store for the call's session. Values are JSON.

    Sync methods block (sync tools); `*_async` methods are awaited (async tools). A call without
    a session id, or a session unknown to the host, raises `SessionNotFoundError`; a full store
    raises `SessionQuotaError`.
    """

    __slots__ = ("_context",)

    def __init__(self, context: SessionContext) -> None:
        self._context = context

    def get(self, key: str, default: Any = None) -> Any:
        context = self._context
        host, headers = context._host_call("state.get")
        found, value = host.run_blocking(
            lambda: host.client.get_state(context.session_id, key, headers), "state.get", context.is_cancelled
        )
        return value if found else default

    def set(self, key: str, value: Any) -> None:
        context = self._context
        host, headers = context._host_call("state.set")
        host.run_blocking(
            lambda: host.client.set_state(context.session_id, key, value, headers), "state.set", context.is_cancelled
        )

    def delete(self, key: str) -> bool:
        """True when the key existed."""
        context = self._context
        host, headers = context._host_call("state.delete")
        return host.run_blocking(
            lambda: host.client.delete_state(context.session_id, key, headers), "state.delete", context.is_cancelled
        )

    async def get_async(self, key: str, default: Any = None) -> Any:
        context = self._context
        host, headers = context._host_call("state.get_async")
        found, value = await host.run_async(host.client.get_state(context.session_id, key, headers))
        return value if found else default

    async def set_async(self, key: str, value: Any) -> None:
        context = self._context
        host, headers = context._host_call("state.set_async")
        await host.run_async(host.client.set_state(context.session_id, key, value, headers))

    async def delete_async(self, key: str) -> bool:
        context = self._context
        host, headers = context._host_call("state.delete_async")
        return await host.run_async(host.client.delete_state(context.session_id, key, headers))

    def __repr__(self) -> str:
        return f"SessionState(session_id={self._context.session_id!r})"


_current: ContextVar[Optional[SessionContext]] = ContextVar("snakepit_session_context", default=None)


def current_session_context() -> Optional[SessionContext]:
    """The context of the call being served by the current task or thread, or None outside a call."""
    return _current.get()


def set_current_session_context(context: Optional[SessionContext]) -> None:
    """Bridge-internal: publish the context for the current asyncio task (one task per RPC)."""
    _current.set(context)

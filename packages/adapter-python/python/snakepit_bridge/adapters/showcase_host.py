"""Showcase tools for the host bridge: host tools and session state, from sync and async tools.

A mixin, so both showcase adapters (process and threaded) offer the same tool names. The Node
integration tests drive these; each tool forwards to the `SessionContext` API unchanged, so host
errors reach Node as python_error with python_type snakepit_bridge.host.errors.<Class>.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, TypedDict

from ..session_context import SessionContext
from ..tools.registry import tool


class TraceInfo(TypedDict):
    traceparent: Optional[str]
    tracestate: Optional[str]


class HostBridgeTools:
    @tool(description="Calls a host tool from a sync tool (blocking API) and returns its result.")
    def call_host(self, name: str, args: Optional[Dict[str, Any]] = None, *, context: SessionContext) -> Any:
        return context.call_host_tool(name, **(args or {}))

    @tool(description="Calls a host tool from an async tool (awaitable API) and returns its result.")
    async def call_host_async(self, name: str, args: Optional[Dict[str, Any]] = None, *, context: SessionContext) -> Any:
        return await context.call_host_tool_async(name, **(args or {}))

    @tool(description="Calls a host tool with `data` (bytes, sent raw) under parameter `key`, plus args.")
    def call_host_with_bytes(
        self, name: str, data: bytes, key: str = "data", args: Optional[Dict[str, Any]] = None, *, context: SessionContext
    ) -> Any:
        return context.call_host_tool(name, **{**(args or {}), key: data})

    @tool(description="The host tools exposed to Python: [{name, description, parameters, metadata}].")
    def list_host_tools(self, *, context: SessionContext) -> List[Dict[str, Any]]:
        return context.list_host_tools()

    @tool(description="Sets a session state key on the host; returns true.")
    def state_set(self, key: str, value: Any, *, context: SessionContext) -> bool:
        context.state.set(key, value)
        return True

    @tool(description="A session state value from the host, or null when the key is missing.")
    def state_get(self, key: str, *, context: SessionContext) -> Any:
        return context.state.get(key)

    @tool(description="Deletes a session state key on the host; true when it existed.")
    def state_delete(self, key: str, *, context: SessionContext) -> bool:
        return context.state.delete(key)

    @tool(description="Async: sets key to value, reads it back and returns what was read.")
    async def state_roundtrip_async(self, key: str, value: Any, *, context: SessionContext) -> Any:
        await context.state.set_async(key, value)
        return await context.state.get_async(key)

    @tool(description="The call's trace context as received: traceparent and tracestate, or nulls.")
    def trace_info(self, *, context: SessionContext) -> TraceInfo:
        return {"traceparent": context.traceparent, "tracestate": context.tracestate}

"""A fake HostService (the Node side's bridge) on a grpc.aio server on loopback.

It behaves like the sdk's bridge where the worker can tell: bearer token on every call (else
UNAUTHENTICATED with `snakepit-error-code`), domain failures as gRPC errors with the code in
trailing metadata and details in `snakepit-error-details-bin`, host tool failures in-band.
It records what it received so tests can check what the worker sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any, AsyncIterator, Dict, List, Optional, Tuple

import grpc

from snakepit_bridge.error_codes import code_value
from snakepit.bridge.v1 import common_pb2, host_pb2, host_pb2_grpc

TOOLS = {
    "add": "a + b",
    "echo": "returns its arguments",
    "types": "the JSON type (or 'bytes') of each argument",
    "reverse_bytes": "data reversed, as a binary result",
    "whoami": "the session id, correlation id and trace headers it received",
    "explode": "always fails",
    "hang": "never answers",
}


def _json(value: Any) -> bytes:
    return json.dumps(value).encode("utf-8")


def _type_name(value: Any) -> str:
    return type(value).__name__


class FakeHostService(host_pb2_grpc.HostServiceServicer):
    def __init__(self, token: str, *, max_entries_per_session: int = 3) -> None:
        self.token = token
        self.max_entries_per_session = max_entries_per_session
        # (method, metadata) of every call, authenticated or not.
        self.calls: List[Tuple[str, Dict[str, str]]] = []
        self.registered: List[host_pb2.RegisterToolsRequest] = []
        self.tool_calls: List[common_pb2.ToolCall] = []
        self.heartbeats = 0
        # "ok", "hang" (never answers) or "unauthenticated".
        self.heartbeat_mode = "ok"
        self.sessions: Dict[str, Dict[str, bytes]] = {}
        self.hang_cancelled = asyncio.Event()

    def methods(self, name: str) -> List[Dict[str, str]]:
        return [metadata for method, metadata in self.calls if method == name]

    async def _check(self, method: str, context: grpc.aio.ServicerContext) -> Dict[str, str]:
        metadata = {key: value for key, value in context.invocation_metadata() or ()}
        self.calls.append((method, metadata))
        if metadata.get("authorization") != f"Bearer {self.token}":
            await self._fail(context, grpc.StatusCode.UNAUTHENTICATED, "unauthenticated", "missing or invalid authorization token")
        return metadata

    @staticmethod
    async def _fail(context: Any, status: grpc.StatusCode, code: str, message: str, details: Optional[Dict[str, Any]] = None) -> None:
        trailers: List[Tuple[str, Any]] = [("snakepit-error-code", code)]
        if details is not None:
            trailers.append(("snakepit-error-details-bin", _json(details)))
        await context.abort(status, message, trailing_metadata=tuple(trailers))

    async def _session(self, context: Any, session_id: str) -> Dict[str, bytes]:
        state = self.sessions.get(session_id)
        if state is None:
            await self._fail(context, grpc.StatusCode.NOT_FOUND, "session_not_found",
                             f'no session "{session_id}" (never created, deleted, or expired)', {"sessionId": session_id})
        return state  # type: ignore[return-value]

    # -- housekeeping --------------------------------------------------------------------------

    async def Heartbeat(self, request: Any, context: Any) -> host_pb2.HeartbeatResponse:
        await self._check("Heartbeat", context)
        if self.heartbeat_mode == "hang":
            await asyncio.sleep(3600)
        if self.heartbeat_mode == "unauthenticated":
            await self._fail(context, grpc.StatusCode.UNAUTHENTICATED, "unauthenticated", "token revoked")
        self.heartbeats += 1
        return host_pb2.HeartbeatResponse(server_time_unix_ms=1)

    async def RegisterTools(self, request: Any, context: Any) -> host_pb2.RegisterToolsResponse:
        await self._check("RegisterTools", context)
        self.registered.append(request)
        return host_pb2.RegisterToolsResponse(registered=[tool.name for tool in request.tools])

    # -- host tools ----------------------------------------------------------------------------

    async def ListHostTools(self, request: Any, context: Any) -> host_pb2.ListHostToolsResponse:
        await self._check("ListHostTools", context)
        return host_pb2.ListHostToolsResponse(
            tools=[
                common_pb2.ToolSpec(name=name, description=description, parameters_json=_json({"type": "object"}),
                                    metadata={"origin": "fake"})
                for name, description in TOOLS.items()
            ]
        )

    async def ExecuteHostTool(self, request: Any, context: Any) -> host_pb2.ExecuteHostToolResponse:
        metadata = await self._check("ExecuteHostTool", context)
        call = request.call
        self.tool_calls.append(call)
        args: Dict[str, Any] = {key: json.loads(raw) for key, raw in call.json_parameters.items()}
        args.update({key: bytes(raw) for key, raw in call.binary_parameters.items()})
        name = call.tool_name

        def result(value: Any) -> host_pb2.ExecuteHostToolResponse:
            if isinstance(value, bytes):
                return host_pb2.ExecuteHostToolResponse(result=common_pb2.ToolValue(binary=value))
            return host_pb2.ExecuteHostToolResponse(result=common_pb2.ToolValue(json=_json(value)))

        def error(code: str, message: str, details: Dict[str, Any]) -> host_pb2.ExecuteHostToolResponse:
            return host_pb2.ExecuteHostToolResponse(error=common_pb2.ToolError(code=code_value(code), message=message, details_json=_json(details)))

        if name == "add":
            return result(args["a"] + args["b"])
        if name == "echo":
            return result(args)
        if name == "types":
            return result({key: _type_name(value) for key, value in args.items()})
        if name == "reverse_bytes":
            return result(args["data"][::-1])
        if name == "whoami":
            return result({
                "session_id": call.session_id,
                "correlation_id": metadata.get("x-snakepit-correlation-id"),
                "traceparent": metadata.get("traceparent"),
                "tracestate": metadata.get("tracestate"),
            })
        if name == "explode":
            return error("host_tool_error", "kaboom from node", {"tool": name, "errorName": "Error"})
        if name == "hang":
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                self.hang_cancelled.set()
                raise
        available = sorted(TOOLS)
        return error("unknown_tool", f'unknown host tool "{name}"; available host tools: {", ".join(available)}',
                     {"tool": name, "available": available})

    # -- session state -------------------------------------------------------------------------

    async def GetSessionState(self, request: Any, context: Any) -> host_pb2.GetSessionStateResponse:
        await self._check("GetSessionState", context)
        state = await self._session(context, request.session_id)
        if request.key not in state:
            return host_pb2.GetSessionStateResponse(found=False)
        return host_pb2.GetSessionStateResponse(found=True, value_json=state[request.key])

    async def SetSessionState(self, request: Any, context: Any) -> host_pb2.SetSessionStateResponse:
        await self._check("SetSessionState", context)
        state = await self._session(context, request.session_id)
        if request.key not in state and len(state) >= self.max_entries_per_session:
            limit = self.max_entries_per_session
            await self._fail(context, grpc.StatusCode.RESOURCE_EXHAUSTED, "session_entry_quota_exceeded",
                             f'session "{request.session_id}" holds {limit} of {limit} state entries',
                             {"sessionId": request.session_id, "limit": limit, "current": limit})
        state[request.key] = bytes(request.value_json)
        return host_pb2.SetSessionStateResponse()

    async def DeleteSessionState(self, request: Any, context: Any) -> host_pb2.DeleteSessionStateResponse:
        await self._check("DeleteSessionState", context)
        state = await self._session(context, request.session_id)
        return host_pb2.DeleteSessionStateResponse(deleted=state.pop(request.key, None) is not None)


@contextlib.asynccontextmanager
async def fake_host(token: str, **options: Any) -> AsyncIterator[Tuple[FakeHostService, str]]:
    """Serves a FakeHostService on 127.0.0.1; yields it and its address."""
    service = FakeHostService(token, **options)
    server = grpc.aio.server()
    host_pb2_grpc.add_HostServiceServicer_to_server(service, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        yield service, f"127.0.0.1:{port}"
    finally:
        await server.stop(0)

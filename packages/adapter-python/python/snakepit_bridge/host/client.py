"""The worker's client of the host bridge (HostService, served by Node on loopback).

One grpc.aio channel per worker, opened at startup when the config has a `host_address` and
closed at shutdown; every method is a coroutine that must run on the worker's event loop (the
channel is bound to it). `HostAccess` (access.py) makes these callable from sync tools.

Every call presents `authorization: Bearer <token>` and forwards the current call's correlation
id and trace context. Domain failures arrive as gRPC errors whose trailing metadata
`snakepit-error-code` names the snakepit code (details as JSON in `snakepit-error-details-bin`);
they become the exceptions of errors.py. ExecuteHostTool reports tool failures in-band.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import grpc

from snakepit.bridge.v1 import common_pb2, host_pb2, host_pb2_grpc

from ..error_codes import INTERNAL, UNAUTHENTICATED, code_name
from .errors import HostBridgeUnavailable, SessionNotFoundError, SnakepitBridgeError, bridge_error
from .payload import decode_json, decode_tool_value, encode_arguments, encode_json_value, specs_to_dicts

__all__ = ["HostClient", "ERROR_CODE_TRAILER", "ERROR_DETAILS_TRAILER"]

ERROR_CODE_TRAILER = "snakepit-error-code"
ERROR_DETAILS_TRAILER = "snakepit-error-details-bin"

Metadata = Tuple[Tuple[str, str], ...]

# Without a snakepit code, these statuses mean the host is gone or not answering, not that it refused.
_UNREACHABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED})


def _trailer_details(trailers: Any) -> Tuple[Optional[str], Dict[str, Any]]:
    code: Optional[str] = None
    details: Dict[str, Any] = {}
    for key, value in trailers or ():
        if key == ERROR_CODE_TRAILER:
            code = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        elif key == ERROR_DETAILS_TRAILER:
            try:
                parsed = json.loads(value if isinstance(value, (bytes, str)) else b"")
            except ValueError:
                parsed = None
            if isinstance(parsed, dict):
                details = parsed
    return code, details


def translate_rpc_error(error: grpc.aio.AioRpcError, method: str) -> SnakepitBridgeError:
    """A failed HostService call as the exception tool code sees."""
    code, details = _trailer_details(error.trailing_metadata())
    message = error.details() or f"host {method} failed with {error.code().name}"
    if code:
        return bridge_error(code, message, details)
    if error.code() == grpc.StatusCode.UNAUTHENTICATED:
        return bridge_error(UNAUTHENTICATED, message, details)
    if error.code() in _UNREACHABLE:
        return HostBridgeUnavailable(
            f"the host bridge did not answer {method}: {error.code().name}: {message}",
            details={"grpc_status": error.code().name},
        )
    return bridge_error(INTERNAL, message, {"grpc_status": error.code().name, **details})


class HostClient:
    """HostService calls with plain Python values in and out."""

    def __init__(self, address: str, token: str, *, max_message_bytes: int) -> None:
        self.address = address
        self._authorization = (("authorization", f"Bearer {token}"),)
        self._channel = grpc.aio.insecure_channel(
            address,
            options=[
                ("grpc.max_send_message_length", max_message_bytes),
                ("grpc.max_receive_message_length", max_message_bytes),
            ],
        )
        self._stub = host_pb2_grpc.HostServiceStub(self._channel)

    async def close(self) -> None:
        await self._channel.close()

    def _metadata(self, headers: Sequence[Tuple[str, str]]) -> Metadata:
        return self._authorization + tuple((key, value) for key, value in headers if value)

    async def _call(self, method: str, request: Any, headers: Sequence[Tuple[str, str]], timeout: Optional[float]) -> Any:
        rpc = getattr(self._stub, method)
        try:
            return await rpc(request, metadata=self._metadata(headers), timeout=timeout)
        except grpc.aio.AioRpcError as error:
            raise translate_rpc_error(error, method) from None

    # -- worker housekeeping -------------------------------------------------------------------

    async def heartbeat(self, worker_id: str, timeout: float) -> None:
        await self._call("Heartbeat", host_pb2.HeartbeatRequest(worker_id=worker_id), (), timeout)

    async def register_tools(self, worker_id: str, specs: List[common_pb2.ToolSpec], timeout: float) -> List[str]:
        request = host_pb2.RegisterToolsRequest(worker_id=worker_id, tools=specs)
        response = await self._call("RegisterTools", request, (), timeout)
        return list(response.registered)

    # -- host tools ----------------------------------------------------------------------------

    async def list_tools(self, session_id: Optional[str], headers: Sequence[Tuple[str, str]]) -> List[Dict[str, Any]]:
        request = host_pb2.ListHostToolsRequest(session_id=session_id or "")
        response = await self._call("ListHostTools", request, headers, None)
        return specs_to_dicts(list(response.tools))

    async def execute_tool(
        self,
        name: str,
        arguments: Mapping[str, Any],
        *,
        session_id: Optional[str],
        headers: Sequence[Tuple[str, str]],
        metadata: Optional[Mapping[str, str]] = None,
    ) -> Any:
        json_parameters, binary_parameters = encode_arguments(arguments)
        call = common_pb2.ToolCall(
            tool_name=name,
            session_id=session_id or "",
            json_parameters=json_parameters,
            binary_parameters=binary_parameters,
            metadata=dict(metadata or {}),
        )
        response = await self._call("ExecuteHostTool", host_pb2.ExecuteHostToolRequest(call=call), headers, None)
        if response.HasField("error"):
            error = response.error
            details = decode_json(error.details_json, "details_json") if error.details_json else {}
            raise bridge_error(code_name(error.code), error.message, details if isinstance(details, dict) else {"value": details})
        return decode_tool_value(response.result, f"result of host tool {name!r}")

    # -- session state -------------------------------------------------------------------------

    async def get_state(self, session_id: Optional[str], key: str, headers: Sequence[Tuple[str, str]]) -> Tuple[bool, Any]:
        request = host_pb2.GetSessionStateRequest(session_id=_require_session(session_id), key=key)
        response = await self._call("GetSessionState", request, headers, None)
        if not response.found:
            return False, None
        return True, decode_json(response.value_json, f"state {key!r}")

    async def set_state(self, session_id: Optional[str], key: str, value: Any, headers: Sequence[Tuple[str, str]]) -> None:
        encoded = encode_json_value(key, value)
        request = host_pb2.SetSessionStateRequest(session_id=_require_session(session_id), key=key, value_json=encoded)
        await self._call("SetSessionState", request, headers, None)

    async def delete_state(self, session_id: Optional[str], key: str, headers: Sequence[Tuple[str, str]]) -> bool:
        request = host_pb2.DeleteSessionStateRequest(session_id=_require_session(session_id), key=key)
        response = await self._call("DeleteSessionState", request, headers, None)
        return bool(response.deleted)


def _require_session(session_id: Optional[str]) -> str:
    if not session_id:
        raise SessionNotFoundError("this call belongs to no session; session state needs the call to carry a session id")
    return session_id

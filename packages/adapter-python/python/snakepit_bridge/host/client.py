"""The worker's client of the host bridge (HostService, served by Node), with plain Python values in
and out.

Every method is a coroutine that must run on the worker's event loop; `HostAccess` (access.py)
makes them callable from sync tools. Each builds its request message and hands it to the client's
**caller**, the one way a request reaches the host:

- `GrpcHostCaller` (grpc_caller.py): a gRPC channel to the host bridge on loopback, for a worker a
  pool started (its config's `host_address`);
- a call channel's `HostTunnel` (tunnel.py): the request travels as a `HostRequest` frame on the
  call channel of the client whose call it serves, for a worker run as a service.

A caller returns the method's response message, or raises `HostCallFailed` with the status the
HostService call ended with (a gRPC status and trailers, or the fields of a `HostAnswer`: the
same four things). `translate_host_failure` turns that into the exception of errors.py that tool
code sees, the same for both callers. ExecuteHostTool reports tool failures in-band.
"""

from __future__ import annotations

import json
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import grpc

from snakepit.bridge.v1 import common_pb2, host_pb2

from ..error_codes import INTERNAL, UNAUTHENTICATED, code_name
from .errors import HostBridgeUnavailable, SessionNotFoundError, SnakepitBridgeError, bridge_error
from .payload import decode_json, decode_tool_value, encode_arguments, encode_json_value, specs_to_dicts

__all__ = [
    "HostClient",
    "HostCaller",
    "HostCallFailed",
    "translate_host_failure",
    "ERROR_CODE_TRAILER",
    "ERROR_DETAILS_TRAILER",
]

# Where HostService puts a failure's snakepit code and its details (JSON) as gRPC trailers.
ERROR_CODE_TRAILER = "snakepit-error-code"
ERROR_DETAILS_TRAILER = "snakepit-error-details-bin"

# (method, request message, headers (key, value) with empty values meaning "not sent", timeout in
# seconds or None) -> the method's response message; raises HostCallFailed.
HostCaller = Callable[[str, Any, Sequence[Tuple[str, str]], Optional[float]], Awaitable[Any]]

# Without a snakepit code, these statuses mean the host is gone or not answering, not that it refused.
_UNREACHABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED})


class HostCallFailed(Exception):
    """A HostService call that ended with a status other than OK, as a caller reports it: the
    status, its message, the snakepit error code ("" when none) and the details as JSON (b"" when
    none)."""

    def __init__(self, status: grpc.StatusCode, message: str, error_code: str = "", details_json: Union[bytes, str] = b"") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_code = error_code
        self.details_json = details_json


def _details_of(details_json: Union[bytes, str]) -> Dict[str, Any]:
    if not details_json:
        return {}
    try:
        parsed = json.loads(details_json)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def translate_host_failure(
    method: str, status: grpc.StatusCode, message: str, error_code: str, details_json: Union[bytes, str]
) -> SnakepitBridgeError:
    """A failed HostService call as the exception tool code sees: the snakepit code when the host
    sent one, else what the status means (unreachable host, refused token, or an internal failure)."""
    details = _details_of(details_json)
    message = message or f"host {method} failed with {status.name}"
    if error_code:
        return bridge_error(error_code, message, details)
    if status == grpc.StatusCode.UNAUTHENTICATED:
        return bridge_error(UNAUTHENTICATED, message, details)
    if status in _UNREACHABLE:
        return HostBridgeUnavailable(
            f"the host bridge did not answer {method}: {status.name}: {message}",
            details={"grpc_status": status.name},
        )
    return bridge_error(INTERNAL, message, {"grpc_status": status.name, **details})


class HostClient:
    """HostService calls with plain Python values in and out, through `caller`."""

    __slots__ = ("_caller",)

    def __init__(self, caller: HostCaller) -> None:
        self._caller = caller

    async def _call(self, method: str, request: Any, headers: Sequence[Tuple[str, str]], timeout: Optional[float]) -> Any:
        try:
            return await self._caller(method, request, headers, timeout)
        except HostCallFailed as failed:
            raise translate_host_failure(method, failed.status, failed.message, failed.error_code, failed.details_json) from None

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

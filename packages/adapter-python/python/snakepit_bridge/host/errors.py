"""Exceptions raised to tool code by host-bridge calls (`context.call_host_tool`, `context.state`).

Each class carries the snakepit error `code` the host reported (the same codes the Node side uses),
a `message` and `details`. Free of grpc imports (the codes come from the generated messages,
which need only protobuf), so adapters can catch them in unit tests that run without grpcio.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional

from ..error_codes import (
    GLOBAL_ENTRY_QUOTA_EXCEEDED,
    HOST_BRIDGE_UNAVAILABLE,
    HOST_TOOL_ERROR,
    INTERNAL,
    INVALID_PARAMETER,
    SESSION_ENTRY_QUOTA_EXCEEDED,
    SESSION_NOT_FOUND,
    SESSION_QUOTA_EXCEEDED,
    SESSION_STORE_UNAVAILABLE,
    UNKNOWN_TOOL,
)

__all__ = [
    "SnakepitBridgeError",
    "HostBridgeUnavailable",
    "HostToolError",
    "UnknownHostToolError",
    "SessionQuotaError",
    "SessionNotFoundError",
    "SessionStoreUnavailable",
    "InvalidParameterError",
    "QUOTA_CODES",
    "bridge_error",
]

QUOTA_CODES = frozenset({SESSION_QUOTA_EXCEEDED, SESSION_ENTRY_QUOTA_EXCEEDED, GLOBAL_ENTRY_QUOTA_EXCEEDED})


class SnakepitBridgeError(Exception):
    """Base of every host-bridge failure. `code` is a snakepit error code (e.g. "unauthenticated")."""

    code: str = INTERNAL

    def __init__(self, message: str, *, code: Optional[str] = None, details: Optional[Mapping[str, Any]] = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message
        self.details: Dict[str, Any] = dict(details or {})


class HostBridgeUnavailable(SnakepitBridgeError):
    """No host bridge is configured for this worker (e.g. started by hand, or the pool runs none;
    run as a service: the call's client opened no host link), the context belongs to no call, or
    the host could not be reached (run as a service: the link's call channel ended)."""

    code = HOST_BRIDGE_UNAVAILABLE


class HostToolError(SnakepitBridgeError):
    """The host tool ran and threw; `message` is the host's message."""

    code = HOST_TOOL_ERROR

    @property
    def tool(self) -> Optional[str]:
        tool = self.details.get("tool")
        return tool if isinstance(tool, str) else None


class UnknownHostToolError(SnakepitBridgeError):
    """No host tool of that name is exposed to Python; `available` lists the ones that are."""

    code = UNKNOWN_TOOL

    def __init__(self, message: str, *, code: Optional[str] = None, details: Optional[Mapping[str, Any]] = None) -> None:
        super().__init__(message, code=code, details=details)
        available = self.details.get("available")
        self.available: List[str] = [str(name) for name in available] if isinstance(available, list) else []


class SessionQuotaError(SnakepitBridgeError):
    """A session, per-session entry or global entry quota of the host's session store is full.
    `code` tells which: session_quota_exceeded, session_entry_quota_exceeded or
    global_entry_quota_exceeded."""

    code = SESSION_QUOTA_EXCEEDED


class SessionNotFoundError(SnakepitBridgeError):
    """The call's session does not exist on the host (never created, deleted or expired), or the
    call has no session at all."""

    code = SESSION_NOT_FOUND


class SessionStoreUnavailable(SnakepitBridgeError):
    """The host answered, but its shared session store (e.g. Redis) is down or did not answer in
    time, so session state could not be read or written. Nothing else is affected: the worker
    keeps serving, and a later call may succeed once the store is back. `details` carries the
    host's `operation` and `reason`."""

    code = SESSION_STORE_UNAVAILABLE


class InvalidParameterError(SnakepitBridgeError, ValueError):
    """A value cannot be sent (refused before sending, naming the key), or the host refused one."""

    code = INVALID_PARAMETER


def _unknown_tool_message(message: str, details: Mapping[str, Any]) -> str:
    available = details.get("available")
    if isinstance(available, list) and "available" not in message:
        listing = ", ".join(str(name) for name in available) or "(none)"
        return f"{message}; available host tools: {listing}"
    return message


def bridge_error(code: str, message: str, details: Optional[Mapping[str, Any]] = None) -> SnakepitBridgeError:
    """The exception for a snakepit error code reported by the host."""
    details = dict(details or {})
    if code == UNKNOWN_TOOL:
        return UnknownHostToolError(_unknown_tool_message(message, details), details=details)
    if code == HOST_TOOL_ERROR:
        return HostToolError(message, details=details)
    if code in QUOTA_CODES:
        return SessionQuotaError(message, code=code, details=details)
    if code == SESSION_NOT_FOUND:
        return SessionNotFoundError(message, details=details)
    if code == SESSION_STORE_UNAVAILABLE:
        return SessionStoreUnavailable(message, details=details)
    if code == INVALID_PARAMETER:
        return InvalidParameterError(message, details=details)
    return SnakepitBridgeError(message, code=code or INTERNAL, details=details)


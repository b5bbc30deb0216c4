"""The snakepit error codes, from the proto's `ErrorCode` enum: one list for Python and TypeScript.

On the wire a `ToolError.code` is the enum value; everywhere else (exception `code` attributes,
the host bridge's `snakepit-error-code` trailer, details) a code is its text form: the value's
name without `ERROR_CODE_`, in lower case (`ERROR_CODE_INVALID_PARAMETER` is "invalid_parameter").
"""

from __future__ import annotations

from snakepit.bridge.v1 import common_pb2

__all__ = [
    "code_name",
    "code_value",
    "PYTHON_ERROR",
    "INVALID_PARAMETER",
    "UNKNOWN_TOOL",
    "TIMEOUT",
    "TRANSPORT_ERROR",
    "UNAUTHENTICATED",
    "SESSION_NOT_FOUND",
    "SESSION_QUOTA_EXCEEDED",
    "SESSION_ENTRY_QUOTA_EXCEEDED",
    "GLOBAL_ENTRY_QUOTA_EXCEEDED",
    "HOST_TOOL_ERROR",
    "INTERNAL",
    "HOST_BRIDGE_UNAVAILABLE",
    "SESSION_STORE_UNAVAILABLE",
    "WORKER_BUSY",
]

_PREFIX = "ERROR_CODE_"


def code_name(value: int) -> str:
    """The text form of a wire code; "" for UNSPECIFIED or a value this version does not know."""
    if value == common_pb2.ERROR_CODE_UNSPECIFIED:
        return ""
    try:
        name: str = common_pb2.ErrorCode.Name(value)
    except ValueError:
        return ""
    return name[len(_PREFIX) :].lower()


def code_value(name: str) -> int:
    """The wire form of a text code; UNSPECIFIED for a text that names no code."""
    try:
        value: int = common_pb2.ErrorCode.Value(_PREFIX + name.upper())
    except ValueError:
        return int(common_pb2.ERROR_CODE_UNSPECIFIED)
    return value


# The codes the Python side raises or reports, by their text form.
PYTHON_ERROR = code_name(common_pb2.ERROR_CODE_PYTHON_ERROR)
INVALID_PARAMETER = code_name(common_pb2.ERROR_CODE_INVALID_PARAMETER)
UNKNOWN_TOOL = code_name(common_pb2.ERROR_CODE_UNKNOWN_TOOL)
TIMEOUT = code_name(common_pb2.ERROR_CODE_TIMEOUT)
TRANSPORT_ERROR = code_name(common_pb2.ERROR_CODE_TRANSPORT_ERROR)
UNAUTHENTICATED = code_name(common_pb2.ERROR_CODE_UNAUTHENTICATED)
SESSION_NOT_FOUND = code_name(common_pb2.ERROR_CODE_SESSION_NOT_FOUND)
SESSION_QUOTA_EXCEEDED = code_name(common_pb2.ERROR_CODE_SESSION_QUOTA_EXCEEDED)
SESSION_ENTRY_QUOTA_EXCEEDED = code_name(common_pb2.ERROR_CODE_SESSION_ENTRY_QUOTA_EXCEEDED)
GLOBAL_ENTRY_QUOTA_EXCEEDED = code_name(common_pb2.ERROR_CODE_GLOBAL_ENTRY_QUOTA_EXCEEDED)
HOST_TOOL_ERROR = code_name(common_pb2.ERROR_CODE_HOST_TOOL_ERROR)
INTERNAL = code_name(common_pb2.ERROR_CODE_INTERNAL)
HOST_BRIDGE_UNAVAILABLE = code_name(common_pb2.ERROR_CODE_HOST_BRIDGE_UNAVAILABLE)
# The host is there but its shared session store (e.g. Redis) is down or slow; a later call may succeed.
SESSION_STORE_UNAVAILABLE = code_name(common_pb2.ERROR_CODE_SESSION_STORE_UNAVAILABLE)
# Refused for want of a call slot (a worker run as a service, worker/admission.py); the call never ran.
WORKER_BUSY = code_name(common_pb2.ERROR_CODE_WORKER_BUSY)

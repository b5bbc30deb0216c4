"""Failures reported as data (`ToolError`), not as gRPC status codes.

Three sources: the dispatcher refusing a call before the tool runs (`ToolCallError`:
invalid_parameter, unknown_tool), a Python exception raised by the tool (python_error), and a call
on the call channel outliving its `timeout_ms` (timeout). Either way the worker keeps serving.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import traceback
from types import TracebackType
from typing import Any, Dict, Iterable, Optional

from snakepit.bridge.v1 import common_pb2

from ..error_codes import INVALID_PARAMETER, UNKNOWN_TOOL, code_value
from ..host.errors import SnakepitBridgeError
from ..type_names import qualified_type_name

__all__ = ["ToolCallError", "invalid_parameter", "unknown_tool", "timed_out", "error_kind", "exception_to_tool_error"]

_TIMEOUT_TYPES = (TimeoutError, asyncio.TimeoutError, concurrent.futures.TimeoutError)


# Frames in the bridge are plumbing, except in its shipped adapters (tool code like the user's).
_BRIDGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_ADAPTERS_DIR = os.path.join(_BRIDGE_DIR, "adapters") + os.sep
_PLUMBING_DIRS = (
    os.path.dirname(os.path.abspath(asyncio.__file__)) + os.sep,
    os.path.dirname(os.path.abspath(concurrent.futures.__file__)) + os.sep,
)


def _is_plumbing(filename: str) -> bool:
    path = os.path.abspath(filename)
    if path.startswith(_BRIDGE_DIR):
        return not path.startswith(_ADAPTERS_DIR)
    return path.startswith(_PLUMBING_DIRS)


def _user_traceback(tb: Optional[TracebackType]) -> Optional[TracebackType]:
    """Drops the leading bridge/asyncio/executor frames so the traceback starts at the tool.

    When every frame is plumbing (the bridge itself failed, e.g. while encoding), all are kept.
    """
    first = tb
    while first is not None and _is_plumbing(first.tb_frame.f_code.co_filename):
        first = first.tb_next
    return first if first is not None else tb


def _details(details: Dict[str, Any]) -> bytes:
    return json.dumps(details, separators=(",", ":"), default=str).encode("utf-8")


class ToolCallError(Exception):
    """The dispatcher refused a call; the tool never ran."""

    def __init__(self, code: str, message: str, details: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details: Dict[str, Any] = dict(details or {})

    def to_proto(self) -> common_pb2.ToolError:
        return common_pb2.ToolError(code=code_value(self.code), message=self.message, details_json=_details(self.details))


def invalid_parameter(key: str, reason: str) -> ToolCallError:
    return ToolCallError(INVALID_PARAMETER, f"invalid parameter {key!r}: {reason}", {"key": key, "reason": reason})


def unknown_tool(name: str, available: Iterable[str]) -> ToolCallError:
    names = sorted(available)
    listing = ", ".join(names) if names else "(none)"
    return ToolCallError(
        UNKNOWN_TOOL,
        f"unknown tool {name!r}; available tools: {listing}",
        {"tool": name, "available": names},
    )


def timed_out(tool_name: str, timeout_ms: int) -> common_pb2.ToolError:
    """The worker stopped a call itself when its deadline ran out."""
    return common_pb2.ToolError(
        code=common_pb2.ERROR_CODE_TIMEOUT,
        message=f"tool {tool_name!r} did not finish within {timeout_ms} ms",
        details_json=_details({"tool": tool_name, "timeout_ms": timeout_ms}),
    )


def result_too_large(tool_name: str, size: int, limit: int) -> common_pb2.ToolError:
    """A result that cannot be sent: grpcio would fail the whole stream carrying it."""
    return common_pb2.ToolError(
        code=common_pb2.ERROR_CODE_TRANSPORT_ERROR,
        message=f"the result of tool {tool_name!r} is {size} bytes, above the message limit of {limit} (maxMessageBytes)",
        details_json=_details({"tool": tool_name, "reason": "result_too_large", "size": size, "limit": limit}),
    )


def error_kind(exc: BaseException) -> str:
    """A coarse category the Node side can branch on without parsing Python type names."""
    # First: CUDA OOM arrives as a RuntimeError subclass (torch.cuda.OutOfMemoryError).
    if isinstance(exc, MemoryError) or "CUDA out of memory" in str(exc):
        return "out_of_memory"
    if isinstance(exc, _TIMEOUT_TYPES):
        return "timeout"
    if isinstance(exc, NotImplementedError):
        return "not_implemented"
    if isinstance(exc, (ValueError, TypeError, KeyError)):
        return "invalid_input"
    return "error"


def exception_to_tool_error(exc: BaseException) -> common_pb2.ToolError:
    """A python_error carrying the exception's type, message and full traceback."""
    python_type = qualified_type_name(type(exc))
    # An empty message (e.g. `raise RuntimeError()`) would read as nothing on the Node side.
    message = str(exc) or python_type
    formatted = "".join(traceback.format_exception(type(exc), exc, _user_traceback(exc.__traceback__)))
    details: Dict[str, Any] = {"kind": error_kind(exc)}
    if isinstance(exc, SnakepitBridgeError):
        # A host-bridge failure the tool let escape: Node can branch on the host's code.
        details["host_error_code"] = exc.code
    return common_pb2.ToolError(
        code=common_pb2.ERROR_CODE_PYTHON_ERROR,
        message=message,
        python_type=python_type,
        traceback=formatted,
        details_json=_details(details),
    )

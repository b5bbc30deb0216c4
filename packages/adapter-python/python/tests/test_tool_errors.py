"""Exceptions as ToolError: fields, traceback and kind mapping."""

from __future__ import annotations

import asyncio
import json

import pytest

from snakepit_bridge.tool_errors import error_kind, exception_to_tool_error, invalid_parameter, unknown_tool


class CustomError(Exception):
    pass


def raised(exc):
    """The exception with a real traceback through this file."""
    try:
        raise exc
    except BaseException as caught:  # noqa: B902
        return caught


def test_python_error_fields():
    error = exception_to_tool_error(raised(ValueError("bad value")))
    assert error.code == "python_error"
    assert error.message == "bad value"
    assert error.python_type == "ValueError"
    assert "test_tool_errors.py" in error.traceback
    assert error.traceback.rstrip().endswith("ValueError: bad value")
    assert json.loads(error.details_json) == {"kind": "invalid_input"}


def test_non_builtin_types_are_qualified():
    error = exception_to_tool_error(raised(CustomError("x")))
    assert error.python_type == "test_tool_errors.CustomError"
    assert json.loads(error.details_json) == {"kind": "error"}


def test_empty_message_falls_back_to_the_type_name():
    assert exception_to_tool_error(raised(RuntimeError())).message == "RuntimeError"


@pytest.mark.parametrize(
    "exc, kind",
    [
        (ValueError("v"), "invalid_input"),
        (TypeError("t"), "invalid_input"),
        (KeyError("k"), "invalid_input"),
        (MemoryError(), "out_of_memory"),
        (RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"), "out_of_memory"),
        (TimeoutError(), "timeout"),
        (asyncio.TimeoutError(), "timeout"),
        (NotImplementedError(), "not_implemented"),
        (RuntimeError("r"), "error"),
        (CustomError(), "error"),
    ],
)
def test_kind_mapping(exc, kind):
    assert error_kind(exc) == kind


def test_dispatcher_refusals():
    error = invalid_parameter("x", "invalid JSON: oops").to_proto()
    assert error.code == "invalid_parameter"
    assert "'x'" in error.message
    assert json.loads(error.details_json) == {"key": "x", "reason": "invalid JSON: oops"}
    error = unknown_tool("nope", ["b", "a"]).to_proto()
    assert error.code == "unknown_tool"
    assert error.message == "unknown tool 'nope'; available tools: a, b"
    assert json.loads(error.details_json) == {"tool": "nope", "available": ["a", "b"]}

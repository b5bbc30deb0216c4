"""Exceptions as ToolError: fields, traceback and kind mapping."""

from __future__ import annotations

import asyncio
import json
import os

import pytest

import snakepit_bridge
from snakepit_bridge.error_codes import code_name
from snakepit_bridge.tools.errors import error_kind, exception_to_tool_error, invalid_parameter, unknown_tool

BRIDGE_DIR = os.path.dirname(os.path.abspath(snakepit_bridge.__file__))


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
    assert code_name(error.code) == "python_error"
    assert error.message == "bad value"
    assert error.python_type == "ValueError"
    assert "test_tool_errors.py" in error.traceback
    assert error.traceback.rstrip().endswith("ValueError: bad value")
    assert json.loads(error.details_json) == {"kind": "invalid_input"}


def caught_in(filename, call):
    """The exception `call()` raises, caught by a frame whose code claims to live in `filename`
    (so the traceback starts in that file, as it does for a tool called by the bridge)."""
    namespace = {}
    relay = "def relay(call):\n    try:\n        call()\n    except BaseException as exc:\n        return exc\n"
    exec(compile(relay, filename, "exec"), namespace)
    return namespace["relay"](call)


def user_tool():
    raise ValueError("from the tool")


@pytest.mark.parametrize("plumbing", [os.path.join("worker", "service.py"), os.path.join("tools", "dispatch.py"), "server.py"])
def test_the_traceback_starts_at_the_tool_below_bridge_frames(plumbing):
    traceback = exception_to_tool_error(caught_in(os.path.join(BRIDGE_DIR, plumbing), user_tool)).traceback
    assert os.path.basename(plumbing) not in traceback
    assert traceback.splitlines()[1].strip().startswith(f'File "{os.path.abspath(__file__)}"')
    assert "in user_tool" in traceback


def test_frames_of_the_shipped_adapters_count_as_tool_code():
    showcase = os.path.join(BRIDGE_DIR, "adapters", "showcase.py")
    traceback = exception_to_tool_error(caught_in(showcase, user_tool)).traceback
    assert traceback.splitlines()[1].strip().startswith(f'File "{showcase}"')


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
    assert code_name(error.code) == "invalid_parameter"
    assert "'x'" in error.message
    assert json.loads(error.details_json) == {"key": "x", "reason": "invalid JSON: oops"}
    error = unknown_tool("nope", ["b", "a"]).to_proto()
    assert code_name(error.code) == "unknown_tool"
    assert error.message == "unknown tool 'nope'; available tools: a, b"
    assert json.loads(error.details_json) == {"tool": "nope", "available": ["a", "b"]}


def test_every_proto_error_code_has_one_text_form_and_back():
    from snakepit.bridge.v1 import common_pb2
    from snakepit_bridge import error_codes

    values = common_pb2.ErrorCode.values()
    assert len(values) > 20
    for value in values:
        name = code_name(value)
        if value == common_pb2.ERROR_CODE_UNSPECIFIED:
            assert name == ""
            continue
        assert name and name == name.lower() and error_codes.code_value(name) == value
    assert code_name(9999) == "" and error_codes.code_value("no_such_code") == common_pb2.ERROR_CODE_UNSPECIFIED
    assert error_codes.INVALID_PARAMETER == "invalid_parameter"

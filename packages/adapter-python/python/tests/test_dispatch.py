"""Tool discovery, argument decoding and binding, and sync/async invocation."""

from __future__ import annotations

import json

import pytest

from legacy_adapter import LegacyAdapter
from sample_adapters import SampleAdapter
from snakepit_bridge import BaseAdapter, SessionContext, tool
from snakepit_bridge.tools.dispatch import Dispatcher, decode_arguments
from snakepit_bridge.session_context import set_current_session_context
from snakepit_bridge.streaming.chunk_stream import collect_items
from snakepit_bridge.tools.errors import ToolCallError
from support import make_call, new_executor, run


def call_tool(adapter, call, session=None):
    """prepare + invoke + collect, the way ExecuteTool does it."""
    session = session or SessionContext(call.session_id, "corr", call.metadata)
    executor = new_executor()

    async def go():
        set_current_session_context(session)
        dispatcher = Dispatcher(adapter, executor)
        result = await dispatcher.invoke(dispatcher.prepare(call, session))
        return await collect_items(result, executor=executor, session=session)

    try:
        return run(go())
    finally:
        executor.shutdown(wait=True)


def refusal(adapter, call):
    with pytest.raises(ToolCallError) as info:
        Dispatcher(adapter, new_executor()).prepare(call, SessionContext())
    return info.value


def test_discovers_decorated_methods_only():
    names = Dispatcher(SampleAdapter(), new_executor()).tool_names
    assert "plain" in names and "renamed" in names and "sync_gen" in names
    assert "original_name" not in names
    assert "not_a_tool" not in names and "explosive" not in names and "on_session_begin" not in names


def test_get_tools_specs():
    specs = {spec["name"]: spec for spec in SampleAdapter().get_tools()}
    assert specs["plain"]["description"] == "Adds b to a."  # bare @tool: docstring
    assert specs["renamed"]["description"] == "custom description"
    # parameters: the JSON Schema document of the arguments (tools/schema.py; test_tool_schema.py).
    assert specs["plain"]["parameters"] == {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer", "default": 2}},
        "required": ["a"],
        "additionalProperties": False,
        "x-snakepit": {"version": 1, "result": {"type": "integer"}},
    }
    # context is injected, not a parameter; **kwargs allows extra keys.
    assert list(specs["with_context"]["parameters"]["properties"]) == ["value"]
    assert list(specs["variadic"]["parameters"]["properties"]) == ["first"]
    assert specs["variadic"]["parameters"]["additionalProperties"] is True
    assert specs["sync_gen"]["supports_streaming"] is True
    assert specs["async_gen"]["supports_streaming"] is True  # inferred from the async generator
    assert specs["plain"]["supports_streaming"] is False
    assert specs["explicit_schema"]["parameters"]["type"] == "object"


def test_describe_produces_tool_specs():
    protos = {spec.name: spec for spec in Dispatcher(SampleAdapter(), new_executor()).describe()}
    assert list(json.loads(protos["plain"].parameters_json)["properties"]) == ["a", "b"]
    assert protos["sync_gen"].supports_streaming


def test_duplicate_tool_names_are_refused():
    class Twice(BaseAdapter):
        @tool(name="same")
        def one(self):
            return 1

        @tool(name="same")
        def two(self):
            return 2

    with pytest.raises(ValueError, match="same"):
        Twice().get_tools()


def test_dispatch_by_name_sync_runs_in_executor_thread():
    assert call_tool(SampleAdapter(), make_call("plain", a=40)) == 42
    assert call_tool(SampleAdapter(), make_call("renamed")) == "renamed"
    assert call_tool(SampleAdapter(), make_call("thread_name")).startswith("snakepit-tool")


def test_async_tools_run_on_the_loop_thread():
    result = call_tool(SampleAdapter(), make_call("async_tool", x=[1, 2]))
    assert result["x"] == [1, 2]
    assert result["thread"] == "MainThread"


def test_sync_function_returning_a_coroutine_is_awaited():
    assert call_tool(SampleAdapter(), make_call("returns_coroutine")) == "awaited"


def test_generators_are_collected_for_unary_calls():
    assert call_tool(SampleAdapter(), make_call("sync_gen", n=4)) == [0, 1, 2, 3]
    assert call_tool(SampleAdapter(), make_call("async_gen", n=2)) == [{"i": 0}, {"i": 1}]


def test_unknown_tool_lists_available_names():
    error = refusal(SampleAdapter(), make_call("nope"))
    assert error.code == "unknown_tool"
    assert "plain" in error.message and "nope" in error.message
    assert error.details["tool"] == "nope"
    assert "renamed" in error.details["available"]


def test_json_and_binary_parameters_are_decoded():
    call = make_call("binary_len", binary={"data": b"\x00\x01\x02"})
    assert call_tool(SampleAdapter(), call) == 3
    arguments = decode_arguments(make_call("x", a={"n": [1, None]}, binary={"b": b"\xff"}))
    assert arguments == {"a": {"n": [1, None]}, "b": b"\xff"}
    assert type(arguments["b"]) is bytes


@pytest.mark.parametrize(
    "raw, reason_part",
    [(b"{not json", "invalid JSON"), (b"", "invalid JSON"), (b"NaN", "NaN"), (b"\xff\xfe", "UTF-8")],
)
def test_malformed_json_is_invalid_parameter_naming_the_key(raw, reason_part):
    error = refusal(SampleAdapter(), make_call("plain", raw_json={"a": raw}))
    assert error.code == "invalid_parameter"
    assert "'a'" in error.message
    assert error.details["key"] == "a"
    assert reason_part in error.details["reason"]


def test_key_in_both_maps_is_invalid_parameter():
    error = refusal(SampleAdapter(), make_call("plain", a=1, binary={"a": b"x"}))
    assert error.code == "invalid_parameter"
    assert error.details == {"key": "a", "reason": "present in both json_parameters and binary_parameters"}


@pytest.mark.parametrize(
    "call, key, reason",
    [
        (make_call("plain"), "a", "missing required parameter"),
        (make_call("plain", a=1, c=3), "c", "unexpected parameter"),
        (make_call("keyword_only"), "k", "missing required parameter"),
        (make_call("variadic", other=1), "first", "missing required parameter"),
        (make_call("with_context", context=1), "context", "reserved for the session context of the call"),
    ],
)
def test_binding_errors_name_the_parameter(call, key, reason):
    error = refusal(SampleAdapter(), call)
    assert error.code == "invalid_parameter"
    assert error.details == {"key": key, "reason": reason}


def test_var_keyword_accepts_any_arguments():
    assert call_tool(SampleAdapter(), make_call("variadic", first=1, x=2, y="z")) == {
        "first": 1,
        "rest": {"x": 2, "y": "z"},
    }


def test_context_parameter_receives_the_session_context():
    call = make_call("with_context", session_id="s-1", metadata={"k": "v"}, value=5)
    assert call_tool(SampleAdapter(), call) == {
        "session_id": "s-1",
        "metadata": {"k": "v"},
        "value": 5,
        "same_as_property": True,
    }
    # "" on the wire means no session.
    assert call_tool(SampleAdapter(), make_call("with_context"))["session_id"] is None


def test_legacy_execute_tool_fallback():
    adapter = LegacyAdapter()
    assert call_tool(adapter, make_call("legacy_echo", a=1, binary={"b": b"x"})) == {"a": 1, "b": b"x"}
    assert call_tool(adapter, make_call("legacy_stream", count=2)) == [{"n": 0}, {"n": 1}]
    assert call_tool(adapter, make_call("legacy_async", q="r")) == {"q": "r"}
    assert call_tool(adapter, make_call("legacy_session", session_id="abc")) == {"session_id": "abc"}
    names = [spec.name for spec in Dispatcher(adapter, new_executor()).describe()]
    assert "legacy_echo" in names and "legacy_stream" in names


def test_legacy_adapter_errors_propagate_as_exceptions():
    with pytest.raises(ValueError, match="no tool named"):
        call_tool(LegacyAdapter(), make_call("missing"))


def test_decorated_tools_win_over_legacy_dispatch():
    class Mixed(BaseAdapter):
        @tool
        def direct(self):
            return "direct"

        def execute_tool(self, tool_name, arguments, context):
            return f"legacy:{tool_name}"

    assert call_tool(Mixed(), make_call("direct")) == "direct"
    assert call_tool(Mixed(), make_call("other")) == "legacy:other"


def test_plain_classes_work_as_adapters():
    class NotBase:
        @tool
        def hello(self, name: str) -> str:
            return f"hello {name}"

    assert call_tool(NotBase(), make_call("hello", name="x")) == "hello x"
    assert [spec.name for spec in Dispatcher(NotBase(), new_executor()).describe()] == ["hello"]


def _signatures():
    def none(): pass
    def pos(a, b=1): pass
    def kwonly(a, *, k, m=2): pass
    def star(a, *args, k=0): pass
    def var(a, **rest): pass
    def both(*args, **rest): pass
    def posonly(a, /, b): pass
    def posonly_var(a=0, /, **rest): pass
    return [none, pos, kwonly, star, var, both, posonly, posonly_var]


@pytest.mark.parametrize("function", _signatures(), ids=lambda f: f.__name__)
def test_precomputed_binding_agrees_with_signature_bind(function):
    import inspect
    import itertools

    from snakepit_bridge.tools.dispatch import _Binding

    signature = inspect.signature(function)
    binding = _Binding.of(signature)
    names = ["a", "b", "k", "m", "args", "rest", "other"]
    for size in range(len(names) + 1):
        for keys in itertools.combinations(names, size):
            arguments = dict.fromkeys(keys, 1)
            try:
                signature.bind(**arguments)
                binds = True
            except TypeError:
                binds = False
            if binding is None:
                continue  # positional-only parameters: always left to Signature.bind
            # Never accepts what bind refuses, and takes the fast path for everything bind accepts.
            assert binding.accepts(arguments.keys()) == binds, (function.__name__, keys)


def test_a_byte_order_mark_is_refused_like_json_loads_does():
    error = refusal(SampleAdapter(), make_call("plain", raw_json={"a": "\ufeff1".encode("utf-8")}))
    assert error.details == {
        "key": "a",
        "reason": "invalid JSON: Unexpected UTF-8 BOM (decode using utf-8-sig): line 1 column 1 (char 0)",
    }


@pytest.mark.parametrize("raw, expected", [(b' {"n": [1, 2.5]} \n', {"n": [1, 2.5]}), (b"7", 7), (b'"s"', "s")])
def test_json_with_or_without_surrounding_whitespace_decodes(raw, expected):
    assert decode_arguments(make_call("x", raw_json={"a": raw})) == {"a": expected}


@pytest.mark.parametrize("raw, reason", [(b"1 x", "Extra data"), (b"[1,]", "Expecting value"), (b"-Infinity", "-Infinity")])
def test_decoding_errors_keep_the_json_modules_messages(raw, reason):
    error = refusal(SampleAdapter(), make_call("plain", raw_json={"a": raw}))
    assert error.details["key"] == "a" and reason in error.details["reason"]

"""Host tools and session state from tool code, against a fake HostService on loopback.

The worker runs in-process (grpc.aio server on the test's loop); sync tools run in executor
threads and reach the host through `run_coroutine_threadsafe`, exactly as in a real worker.
"""

from __future__ import annotations

import asyncio
from typing import Any, Dict

import pytest

from fake_host import TOOLS, fake_host
from snakepit_bridge import (
    BaseAdapter,
    HostBridgeUnavailable,
    SessionContext,
    SessionNotFoundError,
    SnakepitBridgeError,
    UnknownHostToolError,
    tool,
)
from snakepit_bridge.adapters.showcase import ShowcaseAdapter
from support import AUTH, TOKEN, decode_value, error_details, execute, make_call, run, serving

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


class HostProbe(ShowcaseAdapter):
    """The showcase's host tools plus probes that look at exceptions and misuse."""

    @tool
    def reverse_via_host(self, data: bytes, context: SessionContext) -> bytes:
        return context.call_host_tool("reverse_bytes", data=data)

    @tool
    def unknown_via_host(self, context: SessionContext) -> Dict[str, Any]:
        try:
            context.call_host_tool("no_such_tool", x=1)
        except UnknownHostToolError as exc:
            return {"code": exc.code, "available": exc.available, "message": str(exc)}
        raise AssertionError("no error")

    @tool
    async def blocking_in_async(self, context: SessionContext) -> str:
        return context.call_host_tool("add", a=1, b=2)

    @tool
    async def state_blocking_in_async(self, context: SessionContext) -> Any:
        return context.state.get("k")

    @tool
    def on_its_own_loop(self, context: SessionContext) -> Any:
        # A sync tool running its own event loop: the awaitable API still reaches the host.
        return asyncio.run(context.call_host_tool_async("add", a=2, b=3))

    @tool
    def unsendable(self, context: SessionContext) -> None:
        context.call_host_tool("echo", ok=1, bad=object())

    @tool
    def wait_on_host(self, context: SessionContext) -> None:
        context.call_host_tool("hang")


async def call_tool(stub: Any, tool_name: str, /, *, session_id: str = "", metadata: Any = AUTH, **arguments: Any) -> Any:
    return await execute(stub, make_call(tool_name, session_id=session_id, **arguments), metadata=metadata, timeout=5)


def value_of(response: Any) -> Any:
    assert not response.HasField("error"), response.error
    return decode_value(response.result)


def test_host_tool_round_trip_keeps_types_from_sync_and_async_tools():
    async def go():
        async with fake_host(TOKEN) as (host, address), serving(HostProbe(), host_address=address) as (stub, _):
            args = {"n": 3, "f": 1.5, "s": "text", "flag": True, "none": None, "nested": {"list": [1, "2", 3.0]}}
            for tool_name in ("call_host", "call_host_async"):
                assert value_of(await call_tool(stub, tool_name, name="echo", args=args)) == args
                assert value_of(await call_tool(stub, tool_name, name="add", args={"a": 2, "b": 40})) == 42
            # On the host, ints arrived as ints (not floats or strings) and bytes as bytes.
            types = value_of(await call_tool(stub, "call_host", name="types", args={"n": 3, "s": "x", "f": 2.5}))
            assert types == {"n": "int", "s": "str", "f": "float"}
            assert host.tool_calls[-1].json_parameters["n"] == b"3"
            blob = bytes(range(256)) * 10
            reversed_ = await execute(stub, make_call("reverse_via_host", binary={"data": blob}))
            assert reversed_.result.binary == blob[::-1]
            assert host.tool_calls[-1].binary_parameters["data"] == blob
            with_bytes = await execute(stub, make_call("call_host_with_bytes", name="types", args={"k": 1},
                                                       binary={"data": b"\x00\x01"}))
            assert value_of(with_bytes) == {"k": "int", "data": "bytes"}
            # Every call presented the token.
            assert all(metadata["authorization"] == f"Bearer {TOKEN}" for _, metadata in host.calls)

    run(go())


def test_unknown_host_tool_lists_the_available_ones():
    async def go():
        async with fake_host(TOKEN) as (_, address), serving(HostProbe(), host_address=address) as (stub, _):
            probe = value_of(await call_tool(stub, "unknown_via_host"))
            assert probe["code"] == "unknown_tool" and probe["available"] == sorted(TOOLS)
            assert "no_such_tool" in probe["message"] and "reverse_bytes" in probe["message"]
            failed = await call_tool(stub, "call_host", name="no_such_tool")
            assert failed.error.python_type == "snakepit_bridge.host.errors.UnknownHostToolError"
            assert error_details(failed.error)["host_error_code"] == "unknown_tool"

    run(go())


def test_host_tool_failure_is_a_host_tool_error_with_the_hosts_message():
    async def go():
        async with fake_host(TOKEN) as (_, address), serving(HostProbe(), host_address=address) as (stub, _):
            for tool_name in ("call_host", "call_host_async"):
                failed = await call_tool(stub, tool_name, name="explode")
                assert failed.error.python_type == "snakepit_bridge.host.errors.HostToolError"
                assert failed.error.message == "kaboom from node"

    run(go())


def test_session_correlation_and_trace_context_are_forwarded():
    async def go():
        async with fake_host(TOKEN) as (_, address), serving(HostProbe(), host_address=address) as (stub, _):
            headers = AUTH + (("x-snakepit-correlation-id", "corr-42"), ("traceparent", TRACEPARENT), ("tracestate", "k=v"))
            for tool_name in ("call_host", "call_host_async"):
                seen = value_of(await call_tool(stub, tool_name, name="whoami", session_id="sess-7", metadata=headers))
                assert seen == {"session_id": "sess-7", "correlation_id": "corr-42", "traceparent": TRACEPARENT, "tracestate": "k=v"}
            bare = value_of(await call_tool(stub, "call_host", name="whoami"))
            assert bare == {"session_id": "", "correlation_id": None, "traceparent": None, "tracestate": None}

    run(go())


def test_list_host_tools():
    async def go():
        async with fake_host(TOKEN) as (_, address), serving(HostProbe(), host_address=address) as (stub, _):
            listed = value_of(await call_tool(stub, "list_host_tools"))
            assert [entry["name"] for entry in listed] == list(TOOLS)
            assert listed[0] == {"name": "add", "description": "a + b", "parameters": {"type": "object"},
                                 "metadata": {"origin": "fake"}}

    run(go())


def test_session_state_get_set_delete_sync_and_async():
    async def go():
        async with fake_host(TOKEN) as (host, address), serving(HostProbe(), host_address=address) as (stub, _):
            host.sessions["s1"] = {}
            assert value_of(await call_tool(stub, "state_get", key="k", session_id="s1")) is None
            assert value_of(await call_tool(stub, "state_set", key="k", value={"n": 1, "l": [1, 2]}, session_id="s1")) is True
            assert host.sessions["s1"]["k"] == b'{"n":1,"l":[1,2]}'
            assert value_of(await call_tool(stub, "state_get", key="k", session_id="s1")) == {"n": 1, "l": [1, 2]}
            assert value_of(await call_tool(stub, "state_roundtrip_async", key="i", value=7, session_id="s1")) == 7
            assert value_of(await call_tool(stub, "state_delete", key="k", session_id="s1")) is True
            assert value_of(await call_tool(stub, "state_delete", key="k", session_id="s1")) is False
            assert value_of(await call_tool(stub, "state_get", key="k", session_id="s1")) is None

    run(go())


def test_session_quota_and_missing_session_errors():
    async def go():
        async with fake_host(TOKEN, max_entries_per_session=2) as (host, address), \
                serving(HostProbe(), host_address=address) as (stub, _):
            host.sessions["s1"] = {}
            for key in ("a", "b"):
                value_of(await call_tool(stub, "state_set", key=key, value=1, session_id="s1"))
            full = await call_tool(stub, "state_set", key="c", value=1, session_id="s1")
            assert full.error.python_type == "snakepit_bridge.host.errors.SessionQuotaError"
            assert error_details(full.error)["host_error_code"] == "session_entry_quota_exceeded"
            # Overwriting an existing key is not a new entry.
            assert value_of(await call_tool(stub, "state_set", key="a", value=2, session_id="s1")) is True
            missing = await call_tool(stub, "state_get", key="a", session_id="nope")
            assert missing.error.python_type == "snakepit_bridge.host.errors.SessionNotFoundError"
            no_session = await call_tool(stub, "state_get", key="a")
            assert no_session.error.python_type == "snakepit_bridge.host.errors.SessionNotFoundError"
            assert "no session" in no_session.error.message

    run(go())


def test_quota_trailer_details_reach_the_exception():
    async def go():
        async with fake_host(TOKEN, max_entries_per_session=0) as (host, address), \
                serving(HostProbe(), host_address=address) as (stub, service):
            host.sessions["s1"] = {}
            context = SessionContext("s1", host=service._host)
            with pytest.raises(SnakepitBridgeError) as failure:
                await context.state.set_async("k", 1)
            assert failure.value.code == "session_entry_quota_exceeded"
            assert failure.value.details == {"sessionId": "s1", "limit": 0, "current": 0}

    run(go())


def test_without_a_host_the_bridge_is_unavailable():
    context = SessionContext("s1")
    assert not context.host_available
    for attempt in (lambda: context.call_host_tool("add", a=1), lambda: context.state.get("k"),
                    lambda: context.list_host_tools(), lambda: context.call_elixir_tool("add")):
        with pytest.raises(HostBridgeUnavailable, match="no host_address"):
            attempt()
    with pytest.raises(HostBridgeUnavailable):
        asyncio.run(context.call_host_tool_async("add"))

    async def go():
        async with serving(HostProbe()) as (stub, _):
            failed = await call_tool(stub, "call_host", name="add", args={"a": 1, "b": 2})
            assert failed.error.python_type == "snakepit_bridge.host.errors.HostBridgeUnavailable"
            assert error_details(failed.error)["host_error_code"] == "host_bridge_unavailable"

    run(go())


def test_blocking_call_in_an_async_tool_names_the_async_variant_and_other_loops_work():
    async def go():
        async with fake_host(TOKEN) as (_, address), serving(HostProbe(), host_address=address) as (stub, _):
            failed = await call_tool(stub, "blocking_in_async")
            assert failed.error.python_type == "RuntimeError"
            assert "await context.call_host_tool_async(...)" in failed.error.message
            failed = await call_tool(stub, "state_blocking_in_async", session_id="s1")
            assert "await context.state.get_async(...)" in failed.error.message
            assert value_of(await call_tool(stub, "on_its_own_loop")) == 5

    run(go())


def test_unsendable_argument_is_refused_before_sending():
    async def go():
        async with fake_host(TOKEN) as (host, address), serving(HostProbe(), host_address=address) as (stub, _):
            failed = await call_tool(stub, "unsendable")
            assert failed.error.python_type == "snakepit_bridge.host.errors.InvalidParameterError"
            assert "'bad'" in failed.error.message and "object is not JSON" in failed.error.message
            assert not host.methods("ExecuteHostTool")

    run(go())


def test_wrong_token_is_unauthenticated():
    async def go():
        async with fake_host("another-token") as (_, address), serving(HostProbe(), host_address=address) as (stub, _):
            failed = await call_tool(stub, "call_host", name="add", args={"a": 1, "b": 2})
            assert failed.error.python_type == "snakepit_bridge.host.errors.SnakepitBridgeError"
            assert error_details(failed.error)["host_error_code"] == "unauthenticated"

    run(go())


def test_cancelling_the_call_cancels_a_blocked_host_call():
    async def go():
        async with fake_host(TOKEN) as (host, address), serving(HostProbe(), host_address=address) as (stub, _):
            with pytest.raises(Exception):
                await execute(stub, make_call("wait_on_host"), timeout=0.3)
            await asyncio.wait_for(host.hang_cancelled.wait(), 2)

    run(go())


def test_host_unreachable_is_unavailable():
    class Probe(BaseAdapter):
        @tool
        def go(self, context: SessionContext) -> str:
            try:
                context.call_host_tool("add", a=1, b=1)
            except HostBridgeUnavailable as exc:
                return exc.code
            return "reached"

    async def go():
        # Nothing listens on port 9 of loopback (discard service is not run by tests).
        async with serving(Probe(), host_address="127.0.0.1:9") as (stub, _):
            return value_of(await call_tool(stub, "go"))

    assert run(go()) == "host_bridge_unavailable"


def test_host_calls_from_sync_tools_are_not_held_up_by_a_loop_holding_for_them():
    # With process mode's hold (tool_threads.py) stretched to 10 s, a sync tool's host calls would
    # wait for it unless they let the loop go at once (loop_needed()).
    async def go():
        async with fake_host(TOKEN) as (host, address), \
                serving(HostProbe(), host_address=address, hold_loop=10.0) as (stub, _):
            host.sessions["s1"] = {}
            started = asyncio.get_running_loop().time()
            assert value_of(await call_tool(stub, "call_host", name="add", args={"a": 2, "b": 40})) == 42
            assert value_of(await call_tool(stub, "on_its_own_loop")) == 5
            assert value_of(await call_tool(stub, "state_set", key="k", value=1, session_id="s1")) is True
            return asyncio.get_running_loop().time() - started

    assert run(go(), timeout=60) < 5

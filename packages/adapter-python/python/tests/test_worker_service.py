"""The servicer over a real in-process grpc.aio server: auth, RPCs, errors and cancellation."""

from __future__ import annotations

import asyncio
import importlib.util
import json

import grpc

from sample_adapters import SampleAdapter, events
from snakepit_bridge.error_codes import code_name
from snakepit.bridge.v1 import worker_pb2
from snakepit_bridge.adapters import showcase
from snakepit_bridge.adapters.showcase import ShowcaseAdapter
from snakepit_bridge import tool
from support import AUTH, chunks_of, decode_value, error_details, make_call, run, serving, wait_until


def execute(stub, call, metadata=AUTH, **kwargs):
    return stub.ExecuteTool(worker_pb2.ExecuteToolRequest(call=call), metadata=metadata, **kwargs)


def stream(stub, call, metadata=AUTH, **kwargs):
    return stub.ExecuteStreamingTool(worker_pb2.ExecuteStreamingToolRequest(call=call), metadata=metadata, **kwargs)


async def expect_unauthenticated(awaitable):
    try:
        await awaitable
    except grpc.aio.AioRpcError as error:
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED
        return
    raise AssertionError("call succeeded without a valid token")


def test_every_rpc_requires_the_bearer_token():
    async def go():
        async with serving(ShowcaseAdapter()) as (stub, _):
            wrong = (("authorization", "Bearer nope"),)
            await expect_unauthenticated(stub.Ping(worker_pb2.PingRequest(message="x")))
            await expect_unauthenticated(stub.Ping(worker_pb2.PingRequest(message="x"), metadata=wrong))
            await expect_unauthenticated(execute(stub, make_call("ping"), metadata=(("authorization", "test-token"),)))
            await expect_unauthenticated(stub.DescribeTools(worker_pb2.DescribeToolsRequest()))
            await expect_unauthenticated(stub.BeginSession(worker_pb2.BeginSessionRequest(session_id="s")))
            await expect_unauthenticated(stub.EndSession(worker_pb2.EndSessionRequest(session_id="s")))

            async def drain():
                async for _ in stream(stub, make_call("stream_values", values=[1]), metadata=wrong):
                    pass

            await expect_unauthenticated(drain())

    run(go())


def test_ping_echoes_and_reports_worker_info():
    async def go():
        async with serving(ShowcaseAdapter()) as (stub, _):
            response = await stub.Ping(worker_pb2.PingRequest(message="hello"), metadata=AUTH)
            assert response.message == "hello"
            assert response.info.mode == "process" and response.info.capacity == 1
            assert response.info.grpcio_version == grpc.__version__

    run(go())


def test_execute_tool_results_and_errors():
    async def go():
        async with serving(ShowcaseAdapter()) as (stub, _):
            assert decode_value((await execute(stub, make_call("add", a=2, b=3))).result) == 5
            echoed = await execute(stub, make_call("echo_bytes", binary={"data": b"\x00\xff"}))
            assert echoed.result.binary == b"\x00\xff"
            info = decode_value((await execute(stub, make_call("bytes_info", binary={"data": b"abc"}))).result)
            assert info["type"] == "bytes" and info["length"] == 3
            made = await execute(stub, make_call("make_bytes", size=300))
            assert made.result.binary[:3] == b"\x00\x01\x02" and made.result.binary[256] == 0

            failed = await execute(stub, make_call("fail", message="nope", kind="TypeError"))
            assert not failed.HasField("result")
            assert code_name(failed.error.code) == "python_error" and failed.error.python_type == "TypeError"
            assert "showcase.py" in failed.error.traceback
            assert error_details(failed.error) == {"kind": "invalid_input"}
            oom = await execute(stub, make_call("fail", kind="MemoryError"))
            assert error_details(oom.error) == {"kind": "out_of_memory"}

            bad = await execute(stub, make_call("add", a=1, raw_json={"b": b"{oops"}))
            assert code_name(bad.error.code) == "invalid_parameter" and error_details(bad.error)["key"] == "b"
            unknown = await execute(stub, make_call("does_not_exist"))
            assert code_name(unknown.error.code) == "unknown_tool"
            # The server keeps serving after refusals.
            assert decode_value((await execute(stub, make_call("add", a=1, b=1))).result) == 2

            odd = decode_value((await execute(stub, make_call("unserializable"))).result)
            assert odd == {
                "when": "2024-01-02T03:04:05",
                "custom": {"__snakepit_unserializable__": True, "type": "snakepit_bridge.adapters.showcase.Opaque"},
                "point": {"x": 1, "y": 2},
                "nan": None,
            }

    run(go())


def test_numpy_array_with_or_without_numpy():
    async def go():
        async with serving(ShowcaseAdapter()) as (stub, _):
            return await execute(stub, make_call("numpy_array"))

    response = run(go())
    if importlib.util.find_spec("numpy") is not None:
        assert decode_value(response.result) == [[0, 1, 2], [3, 4, 5]]
    else:
        assert response.error.python_type == "ModuleNotFoundError"
        assert "numpy" in response.error.message


def test_session_and_correlation_reach_the_tool():
    async def go():
        async with serving(ShowcaseAdapter()) as (stub, _):
            metadata = AUTH + (("x-snakepit-correlation-id", "corr-9"),)
            call = make_call("session_info", session_id="sess-1", metadata={"tenant": "t1"})
            return decode_value((await execute(stub, call, metadata=metadata)).result)

    assert run(go()) == {"session_id": "sess-1", "correlation_id": "corr-9", "metadata": {"tenant": "t1"}}


def test_streaming_rpc_chunks():
    async def go():
        async with serving(ShowcaseAdapter()) as (stub, _):
            progress = await chunks_of(stream(stub, make_call("stream_progress", steps=3, delay_ms=1)))
            assert [decode_value(c.data)["step"] for c in progress] == [1, 2, 3]
            assert [c.is_final for c in progress] == [False, False, True]

            values = await chunks_of(stream(stub, make_call("stream_values", values=[1, "a", None, [2]])))
            assert [decode_value(c.data) for c in values[:-1]] == [1, "a", None, [2]]
            assert values[-1].is_final and not values[-1].HasField("data")

            failing = await chunks_of(stream(stub, make_call("fail_stream", after=2)))
            assert [c.is_final for c in failing] == [False, False, True]
            assert failing[-1].error.message == "stream failed"

            single = await chunks_of(stream(stub, make_call("add", a=1, b=2)))
            assert len(single) == 1 and single[0].is_final and decode_value(single[0].data) == 3

            refused = await chunks_of(stream(stub, make_call("stream_values")))
            assert len(refused) == 1 and refused[0].is_final and code_name(refused[0].error.code) == "invalid_parameter"

    run(go())


def test_deadline_cancels_async_tool_and_flags_sync_tool():
    async def go():
        async with serving(ShowcaseAdapter()) as (stub, _):
            before = showcase.cancelled.get("sleep", 0)
            try:
                await execute(stub, make_call("sleep", ms=5000), timeout=0.2)
            except grpc.aio.AioRpcError as error:
                assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED
            assert await wait_until(lambda: showcase.cancelled.get("sleep", 0) == before + 1)

            before = showcase.cancelled.get("wait_for_cancel", 0)
            try:
                await execute(stub, make_call("wait_for_cancel", timeout_ms=5000), timeout=0.2)
            except grpc.aio.AioRpcError as error:
                assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED
            assert await wait_until(lambda: showcase.cancelled.get("wait_for_cancel", 0) == before + 1)
            # Pings are served while a sync tool blocks its thread.
            slow = asyncio.ensure_future(execute(stub, make_call("sleep_sync", ms=300)))
            await asyncio.sleep(0.05)
            await stub.Ping(worker_pb2.PingRequest(), metadata=AUTH, timeout=0.2)
            assert decode_value((await slow).result) == {"slept_ms": 300}

    run(go())


def test_client_cancel_closes_stream_generators():
    async def go():
        async with serving(ShowcaseAdapter()) as (stub, _):
            for tool_name, name in (("stream_ticks", "t-async"), ("stream_ticks_sync", "t-sync")):
                call = stream(stub, make_call(tool_name, name=name, delay_ms=5))
                received = 0
                async for _ in call:
                    received += 1
                    if received == 3:
                        break
                call.cancel()
                assert await wait_until(lambda: showcase.closed.get(name) is True), tool_name
                produced = showcase.produced[name]
                await asyncio.sleep(0.1)
                assert showcase.produced[name] == produced, f"{tool_name} kept producing"

    run(go())


def test_describe_tools_and_session_hooks():
    async def go():
        async with serving(SampleAdapter()) as (stub, _):
            described = await stub.DescribeTools(worker_pb2.DescribeToolsRequest(), metadata=AUTH)
            specs = {spec.name: spec for spec in described.tools}
            assert json.loads(specs["plain"].parameters_json)["properties"]["a"] == {"type": "integer"}
            events.clear()
            await stub.BeginSession(worker_pb2.BeginSessionRequest(session_id="s1"), metadata=AUTH)
            await stub.EndSession(worker_pb2.EndSessionRequest(session_id="s1"), metadata=AUTH)
            assert events == ["begin:s1", "end:s1"]

        async with serving(ShowcaseAdapter()) as (stub, _):  # no hooks: no-ops
            await stub.BeginSession(worker_pb2.BeginSessionRequest(session_id="s2"), metadata=AUTH)
            await stub.EndSession(worker_pb2.EndSessionRequest(session_id="s2"), metadata=AUTH)

    run(go())


flood_state = {"produced": 0, "closed": False}


class FloodAdapter(SampleAdapter):
    @tool
    async def flood(self):
        try:
            while True:
                flood_state["produced"] += 1
                yield "x" * 65536
        finally:
            flood_state["closed"] = True


def test_slow_reader_backpressure_then_cancel_stops_the_producer():
    async def go():
        async with serving(FloodAdapter()) as (stub, _):
            call = stream(stub, make_call("flood"))
            await call.read()
            await asyncio.sleep(0.3)  # the client stops reading; gRPC flow control pushes back
            produced = flood_state["produced"]
            call.cancel()
            assert await wait_until(lambda: flood_state["closed"])
            return produced, flood_state["produced"]

    before_cancel, after_cancel = run(go())
    # Bounded by the queue and gRPC's flow-control window, not by the generator (which is infinite).
    assert before_cancel < 1000
    assert after_cancel - before_cancel <= 20


class _Details:
    """What grpc.aio hands an interceptor: the method and the headers."""

    def __init__(self, method, metadata):
        self.method = method
        self.invocation_metadata = metadata


def test_token_interceptor_looks_each_method_up_once():
    from snakepit_bridge.worker.auth_interceptor import _REFUSAL, TokenInterceptor

    looked_up = []
    handlers = {"/svc/A": object(), "/svc/B": object()}

    async def continuation(details):
        looked_up.append(details.method)
        return handlers.get(details.method)

    async def go():
        interceptor = TokenInterceptor("test-token")
        results = [await interceptor.intercept_service(continuation, _Details(method, AUTH))
                   for method in ["/svc/A", "/svc/A", "/svc/B", "/svc/A", "/svc/Nope", "/svc/Nope"]]
        refused = [await interceptor.intercept_service(continuation, _Details("/svc/A", metadata))
                   for metadata in [(), (("authorization", "Bearer nope"),), None]]
        return interceptor, results, refused

    interceptor, results, refused = run(go())
    assert results == [handlers["/svc/A"]] * 2 + [handlers["/svc/B"], handlers["/svc/A"], None, None]
    # Unknown methods are asked every time and never cached (a caller could name endless ones).
    assert looked_up == ["/svc/A", "/svc/B", "/svc/Nope", "/svc/Nope"]
    assert sorted(interceptor._handlers) == ["/svc/A", "/svc/B"]
    assert refused == [_REFUSAL] * 3


def test_unknown_method_with_the_token_is_unimplemented_and_without_it_unauthenticated():
    async def go():
        async with serving(ShowcaseAdapter()) as (stub, _):
            nope = stub.channel.unary_unary("/snakepit.bridge.v1.WorkerService/Nope")
            codes = []
            for metadata in (AUTH, ()):
                try:
                    await nope(b"", metadata=metadata)
                except grpc.aio.AioRpcError as error:
                    codes.append(error.code())
            # Known methods still work after the unknown one.
            assert (await stub.Ping(worker_pb2.PingRequest(message="ok"), metadata=AUTH)).message == "ok"
            return codes

    assert run(go()) == [grpc.StatusCode.UNIMPLEMENTED, grpc.StatusCode.UNAUTHENTICATED]


class StopsAdapter(SampleAdapter):
    @tool
    def stops(self):
        raise StopIteration("early")


def test_sync_tool_raising_stop_iteration_is_an_error_not_a_hang():
    async def go():
        async with serving(StopsAdapter()) as (stub, _):
            return await execute(stub, make_call("stops"), timeout=5)

    response = run(go())
    assert code_name(response.error.code) == "python_error"
    assert "StopIteration: early" in response.error.traceback

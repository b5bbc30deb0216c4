"""Trace context: spans when opentelemetry is present, trace ids in logs, forwarding to the host;
and what a worker's logs and output contain when calls fail."""

from __future__ import annotations

import json
import sys

import grpc
import pytest

import fake_otel
from fake_host import fake_host
from snakepit_bridge.error_codes import code_name
from snakepit.bridge.v1 import worker_pb2_grpc
from snakepit_bridge.adapters.showcase import ShowcaseAdapter
from snakepit_bridge.observability.tracing import NO_TRACING, OpenTelemetryTracing, load_tracing, trace_id_of
from support import AUTH, TOKEN, chunks_of, decode_value, execute, make_call, run, serving, stream, captured_logging
from worker_process import SHOWCASE, Worker

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT_SPAN_ID = "b7ad6b7169203331"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_SPAN_ID}-01"
TRACED = AUTH + (("traceparent", TRACEPARENT), ("tracestate", "vendor=1"))


def test_trace_id_of_accepts_only_well_formed_traceparents():
    assert trace_id_of(TRACEPARENT) == TRACE_ID
    assert trace_id_of(f"01-{TRACE_ID}-{PARENT_SPAN_ID}-01-future") == TRACE_ID
    for bad in (None, "", "garbage", f"00-{TRACE_ID}-{PARENT_SPAN_ID}-01-extra", f"ff-{TRACE_ID}-{PARENT_SPAN_ID}-01",
                f"00-{'0' * 32}-{PARENT_SPAN_ID}-01", f"00-{TRACE_ID}-{'0' * 16}-01", f"00-{TRACE_ID.upper()}-{PARENT_SPAN_ID}-01"):
        assert trace_id_of(bad) is None, bad


def test_without_opentelemetry_tracing_is_a_shared_no_op(monkeypatch):
    monkeypatch.setitem(sys.modules, "opentelemetry", None)  # import raises ImportError
    assert load_tracing() is NO_TRACING
    with NO_TRACING.span("t", None, TRACEPARENT, None) as span:
        span.fail(ValueError("ignored"))
    assert NO_TRACING.outgoing_headers(TRACEPARENT, "a=b") == [("traceparent", TRACEPARENT), ("tracestate", "a=b")]
    assert NO_TRACING.outgoing_headers(None, "a=b") == []


def test_tool_calls_with_traceparent_run_in_a_child_span(monkeypatch):
    spans = fake_otel.install(monkeypatch)
    tracing = load_tracing()
    assert isinstance(tracing, OpenTelemetryTracing)

    async def go():
        async with serving(ShowcaseAdapter(), tracing=tracing) as (stub, _):
            ok = await execute(stub, make_call("add", a=1, b=2, session_id="s1"), metadata=TRACED)
            assert decode_value(ok.result) == 3
            failed = await execute(stub, make_call("fail", message="nope", kind="KeyError"), metadata=TRACED)
            assert failed.error.python_type == "KeyError"
            refused = await execute(stub, make_call("no_such_tool"), metadata=TRACED)
            assert code_name(refused.error.code) == "unknown_tool"
            chunks = await chunks_of(stream(stub, make_call("fail_stream", after=1), metadata=TRACED))
            assert chunks[-1].error.message == "stream failed"
            seen = await execute(stub, make_call("trace_info"), metadata=TRACED)
            assert decode_value(seen.result) == {"traceparent": TRACEPARENT, "tracestate": "vendor=1"}
            untraced = await execute(stub, make_call("add", a=1, b=1))
            assert decode_value(untraced.result) == 2

    run(go())
    assert [span.name for span in spans] == [
        "snakepit.tool add", "snakepit.tool fail", "snakepit.tool no_such_tool", "snakepit.tool fail_stream",
        "snakepit.tool trace_info",
    ]
    add, fail, unknown, fail_stream, _ = spans
    assert add.parent == {"trace_id": TRACE_ID, "span_id": PARENT_SPAN_ID, "tracestate": "vendor=1"}
    assert add.trace_id == TRACE_ID and add.kind == fake_otel.SpanKind.SERVER and add.ended
    assert add.attributes == {"snakepit.tool.name": "add", "snakepit.session.id": "s1"}
    assert not add.exceptions and add.status is None
    # Only the exception type leaves the worker: messages may quote arguments (secrets).
    assert not fail.exceptions and fail.attributes["error.type"] == "KeyError" and fail.status.status_code == "error"
    assert fail.status.description == "KeyError"
    assert unknown.attributes["error.type"] and unknown.status.status_code == "error"
    assert fail_stream.attributes["error.type"] == "RuntimeError" and fail_stream.status.status_code == "error"
    assert all("stream failed" not in str(value) for value in fail_stream.attributes.values())


def test_host_calls_carry_the_tool_span_as_parent(monkeypatch):
    spans = fake_otel.install(monkeypatch)

    async def go():
        async with fake_host(TOKEN) as (_, address), \
                serving(ShowcaseAdapter(), host_address=address, tracing=load_tracing()) as (stub, _):
            sync = await execute(stub, make_call("call_host", name="whoami"), metadata=TRACED)
            asynchronous = await execute(stub, make_call("call_host_async", name="whoami"), metadata=TRACED)
            return decode_value(sync.result), decode_value(asynchronous.result)

    sync, asynchronous = run(go())
    for seen, span in zip((sync, asynchronous), spans):
        # Same trace, but the parent is now the Python tool's span (from the executor thread too).
        assert seen["traceparent"] == f"00-{TRACE_ID}-{span.span_id}-01" and seen["tracestate"] == "vendor=1"


@pytest.fixture()
def captured_logs():
    with captured_logging() as stream:
        yield stream


def test_log_lines_of_a_traced_call_carry_the_trace_id(captured_logs):
    async def go():
        async with serving(ShowcaseAdapter()) as (stub, _):
            await execute(stub, make_call("log_message", message="traced"), metadata=TRACED + (("x-snakepit-correlation-id", "c1"),))
            await execute(stub, make_call("log_message", message="untraced"))

    run(go())
    lines = [json.loads(line) for line in captured_logs.getvalue().splitlines()]
    traced = next(e for e in lines if e["message"] == "traced")
    untraced = next(e for e in lines if e["message"] == "untraced")
    assert traced["trace_id"] == TRACE_ID and traced["correlation_id"] == "c1"
    assert "trace_id" not in untraced and "correlation_id" not in untraced
    assert any(e["message"].startswith("call end: log_message") and e.get("trace_id") == TRACE_ID for e in lines)


def test_failing_calls_log_only_the_tool_name_and_prints_reach_the_output():
    worker = Worker(SHOWCASE, config={"log_level": "debug"}, capture_stdout=True)
    try:
        assert worker.control["event"] == "ready"

        async def calls() -> None:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{worker.control['port']}") as channel:
                stub = worker_pb2_grpc.WorkerServiceStub(channel)
                assert (await execute(stub, make_call("add", a="s3cr3t-1", b=1))).error.python_type == "TypeError"
                await execute(stub, make_call("echo", token="s3cr3t-2"))
                await execute(stub, make_call("no_such_tool", password="s3cr3t-3"))
                await execute(stub, make_call("add", raw_json={"a": b'"s3cr3t-4', "b": b"1"}))
                assert (await chunks_of(stream(stub, make_call("fail_stream", after=1))))[-1].is_final
                await execute(stub, make_call("print_message", message="hello on stdout"))
                await execute(stub, make_call("print_message", message="hello on stderr", stream="stderr"))

        run(calls())
        logs = worker.log_lines()
        assert not [entry for entry in logs if "s3cr3t" in json.dumps(entry)]
        ends = [entry for entry in logs if entry["message"].startswith(("call end", "stream end"))]
        assert {entry["tool"] for entry in ends} >= {"add", "echo", "no_such_tool", "fail_stream", "print_message"}
        assert any(entry["message"].startswith("call end: add (TypeError") for entry in ends)
        assert "hello on stdout" in worker.stdout_text()
        assert "hello on stderr\n" in worker.stderr_text()
    finally:
        worker.kill()

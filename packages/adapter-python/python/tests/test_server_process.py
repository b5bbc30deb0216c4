"""End to end: `python -m snakepit_bridge.server` as a real subprocess, started the way Node
starts it (new session, config on stdin, readiness on a control fd), driven over gRPC."""

from __future__ import annotations

import asyncio
import os
import signal
import tempfile
import time
from typing import Any, Dict

import grpc
import pytest

from snakepit_bridge.error_codes import code_name
from snakepit.bridge.v1 import worker_pb2, worker_pb2_grpc
from support import FIXTURES_DIR, TOKEN, chunks_of, decode_value, make_call, run
from worker_process import SHOWCASE, Worker, gone, wait_gone

def test_worker_process_end_to_end():
    worker = Worker(SHOWCASE)
    try:
        assert worker.control["event"] == "ready", worker.stderr_text()
        info = worker.control["info"]
        assert info["pid"] == worker.proc.pid
        assert info["mode"] == "process" and info["capacity"] == 1
        assert info["adapter"] == SHOWCASE and info["python_implementation"] == "CPython"
        assert info["grpcio_version"] == grpc.__version__ and isinstance(info["free_threaded"], bool)
        grandchild = run(_exercise(worker.control["port"], info))

        assert not gone(grandchild)
        started = time.monotonic()
        worker.proc.stdin.close()  # the Node parent "dies"
        worker.proc.stdin = None
        worker.proc.wait(2)
        assert worker.proc.returncode == -signal.SIGKILL
        assert wait_gone(grandchild, 2 - (time.monotonic() - started)), "grandchild survived"

        logs = worker.log_lines()
        tagged = [e for e in logs if e["logger"] == "showcase" and e["message"] == "hello from python"]
        assert tagged and tagged[0]["correlation_id"] == "corr-e2e" and tagged[0]["level"] == "warn"
    finally:
        worker.kill()


async def _exercise(port: int, info: Dict[str, Any]) -> int:
    auth = (("authorization", f"Bearer {TOKEN}"),)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = worker_pb2_grpc.WorkerServiceStub(channel)
        pong = await stub.Ping(worker_pb2.PingRequest(message="hi"), metadata=auth, timeout=5)
        assert pong.message == "hi" and pong.info.pid == info["pid"]

        for metadata in ((), (("authorization", "Bearer wrong"),)):
            with pytest.raises(grpc.aio.AioRpcError) as failure:
                await stub.Ping(worker_pb2.PingRequest(message="hi"), metadata=metadata, timeout=5)
            assert failure.value.code() == grpc.StatusCode.UNAUTHENTICATED

        async def execute(call: Any, metadata: Any = auth) -> Any:
            return await stub.ExecuteTool(worker_pb2.ExecuteToolRequest(call=call), metadata=metadata, timeout=5)

        assert decode_value((await execute(make_call("add", a=20, b=22))).result) == 42
        assert decode_value((await execute(make_call("echo", a=[1, {"b": None}], c="d"))).result) == {
            "a": [1, {"b": None}], "c": "d"}
        blob = bytes(range(256)) * 4096
        assert (await execute(make_call("echo_bytes", binary={"data": blob}))).result.binary == blob
        assert len((await execute(make_call("big_text", size=2_000_000))).result.json) == 2_000_002
        failed = await execute(make_call("fail", message="kaput", kind="RuntimeError"))
        assert failed.error.python_type == "RuntimeError" and failed.error.message == "kaput"
        bad = await execute(make_call("add", raw_json={"a": b"[1,", "b": b"1"}))
        assert code_name(bad.error.code) == "invalid_parameter"
        correlated = auth + (("x-snakepit-correlation-id", "corr-e2e"),)
        assert decode_value((await execute(make_call("log_message", message="hello from python", level="warn"),
                                           metadata=correlated)).result) is True

        request = worker_pb2.ExecuteStreamingToolRequest(call=make_call("stream_progress", steps=3, delay_ms=5))
        chunks = await chunks_of(stub.ExecuteStreamingTool(request, metadata=auth, timeout=5))
        assert [decode_value(c.data)["progress"] for c in chunks] == [33.3, 66.7, 100.0]
        assert [c.is_final for c in chunks] == [False, False, True]
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            async for _ in stub.ExecuteStreamingTool(request, timeout=5):
                pass
        assert failure.value.code() == grpc.StatusCode.UNAUTHENTICATED

        spawned = await execute(make_call("spawn_grandchild", seconds=60))
        return int(decode_value(spawned.result)["pid"])


def test_sigterm_stops_gracefully_with_exit_code_zero():
    worker = Worker(SHOWCASE)
    try:
        assert worker.control["event"] == "ready"
        worker.proc.send_signal(signal.SIGTERM)
        assert worker.proc.wait(5) == 0
        assert any(e["message"].startswith("stopping") for e in worker.log_lines())
    finally:
        worker.kill()


def test_sigint_with_a_stuck_sync_call_still_exits_zero_in_bounded_time():
    worker = Worker(SHOWCASE)
    try:
        assert worker.control["event"] == "ready"

        async def stuck_call_then_signal() -> None:
            auth = (("authorization", f"Bearer {TOKEN}"),)
            async with grpc.aio.insecure_channel(f"127.0.0.1:{worker.control['port']}") as channel:
                stub = worker_pb2_grpc.WorkerServiceStub(channel)
                call = stub.ExecuteTool(worker_pb2.ExecuteToolRequest(call=make_call("sleep_sync", ms=30_000)),
                                        metadata=auth)
                await asyncio.sleep(0.2)
                worker.proc.send_signal(signal.SIGINT)
                with pytest.raises(grpc.aio.AioRpcError):
                    await call

        started = time.monotonic()
        run(stuck_call_then_signal())
        assert worker.proc.wait(6) == 0
        # Grace (2 s) for the in-flight call, then at most ~1 s for executor threads.
        assert time.monotonic() - started < 5
    finally:
        worker.kill()


@pytest.fixture()
def no_grpc_dir():
    with tempfile.TemporaryDirectory() as folder:
        with open(os.path.join(folder, "grpc.py"), "w") as fake:
            fake.write("raise ModuleNotFoundError(\"No module named 'grpc'\", name='grpc')\n")
        yield folder


@pytest.mark.parametrize(
    "adapter, extra_args, config, error_type, message_part",
    [
        ("broken_import.Adapter", None, None, "ImportError", "broken on purpose: missing_dependency"),
        ("snakepit_bridge.adapters.showcase.NoSuchClass", None, None, "AttributeError", "NoSuchClass"),
        ("no_such_package.module.Adapter", None, None, "ModuleNotFoundError", "no_such_package"),
        (SHOWCASE, ["--mode", "threaded"], None, "snakepit_bridge.tools.thread_safety.NotThreadSafeError", "__thread_safe__ = True"),
        (SHOWCASE, None, {"token": ""}, "snakepit_bridge.worker.control_channel.StartupError", "no token"),
        (SHOWCASE, ["--mode", "process", "--bogus"], None, "snakepit_bridge.worker.control_channel.StartupError", "invalid arguments"),
    ],
)
def test_startup_failures_are_reported_on_the_control_fd(adapter, extra_args, config, error_type, message_part):
    worker = Worker(adapter, extra_args=extra_args, config=config, extra_path=FIXTURES_DIR)
    try:
        assert worker.proc.wait(10) == 3
        control = worker.control
        assert control["event"] == "failed", control
        assert control["error"]["type"] == error_type
        assert message_part in control["error"]["message"]
        assert control["error"]["traceback"].startswith("Traceback")
        assert message_part in worker.stderr_text()  # the traceback is on stderr too
    finally:
        worker.kill()


def test_initialize_failure_is_a_startup_failure():
    tests_dir = os.path.dirname(os.path.abspath(__file__))
    worker = Worker("sample_adapters.FailingInitAdapter", extra_path=tests_dir)
    try:
        assert worker.proc.wait(10) == 3
        assert worker.control["event"] == "failed"
        assert worker.control["error"]["type"] == "RuntimeError"
        assert worker.control["error"]["message"] == "model weights not found"
    finally:
        worker.kill()


def test_missing_grpc_says_what_to_install(no_grpc_dir):
    worker = Worker(SHOWCASE, extra_path=no_grpc_dir)
    try:
        assert worker.proc.wait(10) == 3
        assert worker.control["event"] == "failed"
        assert worker.control["error"]["type"] == "ModuleNotFoundError"
        assert "pip install grpcio protobuf" in worker.control["error"]["message"]
    finally:
        worker.kill()

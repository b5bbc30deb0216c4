"""Threaded mode: one worker runs N calls at once; thread-safety declarations and checks."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import threading
import time
import types
from typing import Any, List

import grpc
import pytest

from snakepit.bridge.v1 import worker_pb2, worker_pb2_grpc
from snakepit_bridge import BaseAdapter, ThreadSafeAdapter, thread_safe_method, tool
from snakepit_bridge.adapters.showcase import ShowcaseAdapter
from snakepit_bridge.tools.dispatch import Dispatcher
from snakepit_bridge.session_context import SessionContext
from snakepit_bridge.tools.thread_safety import ThreadSafetyMonitor
from support import AUTH, chunks_of, decode_value, execute, make_call, new_executor, run, serving, stream
from worker_process import Worker

THREADED_SHOWCASE = "snakepit_bridge.adapters.showcase_threaded.ThreadedShowcaseAdapter"


async def timed_batch(stub: Any, count: int, ms: int) -> float:
    started = time.monotonic()
    answers = await asyncio.gather(*(execute(stub, make_call("sleep_sync", ms=ms), timeout=10) for _ in range(count)))
    assert all(decode_value(answer.result) == {"slept_ms": ms} for answer in answers)
    return time.monotonic() - started


def test_threaded_worker_runs_n_calls_at_once_and_warns_once_about_unmarked_tools():
    worker = Worker(THREADED_SHOWCASE, extra_args=["--mode", "threaded", "--threads", "4", "--thread-safety-checks"])
    try:
        assert worker.control["event"] == "ready", worker.stderr_text()
        info = worker.control["info"]
        assert info["mode"] == "threaded" and info["capacity"] == 4
        gil_check = getattr(sys, "_is_gil_enabled", None)
        assert info["free_threaded"] is (callable(gil_check) and not gil_check())

        async def exercise() -> None:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{worker.control['port']}") as channel:
                stub = worker_pb2_grpc.WorkerServiceStub(channel)
                four = await timed_batch(stub, 4, 300)
                assert 0.29 <= four < 0.9, four
                # Capacity 4: the second four wait for a slot.
                busy = asyncio.ensure_future(timed_batch(stub, 8, 300))
                await asyncio.sleep(0.1)
                pinged = time.monotonic()
                await stub.Ping(worker_pb2.PingRequest(), metadata=AUTH, timeout=1)
                assert time.monotonic() - pinged < 0.2, "pings must not wait for a call slot"
                eight = await busy
                assert 0.55 <= eight < 1.5, eight
                hashes = await asyncio.gather(*(execute(stub, make_call("hash_work", size_mb=1, rounds=2)) for _ in range(4)))
                assert len({decode_value(h.result)["digest"] for h in hashes}) == 1
                # Streams from sync and async generators work as in process mode.
                sync_chunks = await chunks_of(stream(stub, make_call("stream_values", values=[1, 2])))
                async_chunks = await chunks_of(stream(stub, make_call("stream_progress", steps=2, delay_ms=1)))
                assert [c.is_final for c in sync_chunks] == [False, False, True]
                assert [c.is_final for c in async_chunks] == [False, True]

        run(exercise(), timeout=20)
        worker.proc.send_signal(signal.SIGTERM)
        assert worker.proc.wait(5) == 0
        warnings = [e for e in worker.log_lines() if e["logger"] == "snakepit_bridge.thread_safety"]
        assert len(warnings) == 1, warnings
        assert warnings[0]["level"] == "warn" and warnings[0]["tool"] == "sleep_sync"
        assert "not marked thread-safe" in warnings[0]["message"]
    finally:
        worker.kill()


def test_threaded_worker_dies_with_its_parent_even_with_busy_threads():
    worker = Worker(THREADED_SHOWCASE, extra_args=["--mode", "threaded", "--threads", "2"])
    try:
        assert worker.control["event"] == "ready", worker.stderr_text()

        async def start_stuck_calls() -> None:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{worker.control['port']}") as channel:
                stub = worker_pb2_grpc.WorkerServiceStub(channel)
                calls = [execute(stub, make_call("sleep_sync", ms=30_000)) for _ in range(2)]
                await asyncio.sleep(0.2)
                for call in calls:
                    call.cancel()

        run(start_stuck_calls())
        worker.proc.stdin.close()  # the Node parent "dies"
        worker.proc.stdin = None
        assert worker.proc.wait(2) == -signal.SIGKILL
    finally:
        worker.kill()


@pytest.mark.parametrize(
    "adapter, extra_args, message_part",
    [
        ("snakepit_bridge.adapters.showcase.ShowcaseAdapter", ["--mode", "threaded"], "ThreadSafeAdapter"),
        (THREADED_SHOWCASE, ["--mode", "threaded", "--threads", "0"], "--threads must be at least 1"),
        (THREADED_SHOWCASE, ["--mode", "process", "--threads", "2"], "--threads only applies to --mode threaded"),
    ],
)
def test_threaded_startup_refusals(adapter, extra_args, message_part):
    worker = Worker(adapter, extra_args=extra_args)
    try:
        assert worker.proc.wait(10) == 3
        assert worker.control["event"] == "failed"
        message = worker.control["error"]["message"]
        assert message_part in message
        if "ThreadSafeAdapter" in message_part:
            assert "__thread_safe__ = True" in message and "process mode" in message
    finally:
        worker.kill()


def test_cancelled_calls_give_their_slot_back():
    async def go():
        async with serving(ShowcaseAdapter(), admission_limit=2) as (stub, _):
            for _ in range(2):  # both slots taken by calls whose threads keep sleeping
                with pytest.raises(grpc.aio.AioRpcError):
                    await execute(stub, make_call("sleep_sync", ms=1500), timeout=0.1)
            started = time.monotonic()
            assert decode_value((await execute(stub, make_call("add", a=1, b=2), timeout=2)).result) == 3
            return time.monotonic() - started

    assert run(go()) < 0.5


class Unsafe(BaseAdapter):
    def __init__(self) -> None:
        self.barrier = threading.Barrier(2, timeout=2)

    @tool
    def meet(self) -> bool:
        self.barrier.wait()
        return True

    @tool(thread_safe=True)
    def meet_safe(self) -> bool:
        self.barrier.wait()
        return True

    @thread_safe_method
    @tool
    def meet_marked(self) -> bool:
        self.barrier.wait()
        return True

    @tool
    def meet_stream(self):
        self.barrier.wait()
        yield 1


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: List[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_monitor_warns_once_per_unmarked_tool_entered_concurrently():
    logger = logging.getLogger("tests.thread_safety")
    capture = Capture()
    logger.addHandler(capture)
    monitor = ThreadSafetyMonitor(logger)
    adapter = Unsafe()
    executor = new_executor()
    dispatcher = Dispatcher(adapter, executor, monitor=monitor)

    def twice(name: str) -> None:
        for _ in range(2):
            prepared = [dispatcher.prepare(make_call(name), SessionContext()) for _ in range(2)]
            if name == "meet_stream":
                iterators = [p.thunk() for p in prepared]
                list(executor.map(list, iterators))
            else:
                assert list(executor.map(lambda p: p.thunk(), prepared)) == [True, True]

    try:
        for name in ("meet", "meet_safe", "meet_marked", "meet_stream"):
            twice(name)
    finally:
        executor.shutdown()
        logger.removeHandler(capture)
    warned = [record.tool for record in capture.records]  # type: ignore[attr-defined]
    assert warned == ["meet", "meet_stream"]
    assert all(record.levelno == logging.WARNING for record in capture.records)
    specs = {spec.name: dict(spec.metadata) for spec in dispatcher.describe()}
    assert specs["meet_safe"] == {"thread_safe": "true"} and specs["meet_marked"] == {"thread_safe": "true"}
    assert specs["meet"] == {}


def test_monitor_warns_once_about_known_thread_unsafe_modules(monkeypatch):
    logger = logging.getLogger("tests.thread_safety.imports")
    capture = Capture()
    logger.addHandler(capture)
    monitor = ThreadSafetyMonitor(logger, unsafe_modules={"fake_gui_toolkit": "widgets belong to one thread"})
    try:
        monitor.check_imports()
        assert not capture.records
        monkeypatch.setitem(sys.modules, "fake_gui_toolkit", types.ModuleType("fake_gui_toolkit"))
        monitor.check_imports()
        monitor.check_imports()
    finally:
        logger.removeHandler(capture)
    (record,) = capture.records
    assert record.getMessage() == "module fake_gui_toolkit is imported in a threaded worker: widgets belong to one thread"


def test_thread_safe_adapter_helpers():
    from snakepit_bridge import base_adapter_threaded

    class Adapter(ThreadSafeAdapter):  # no __init__ chain needed
        pass

    assert base_adapter_threaded.ThreadSafeAdapter is ThreadSafeAdapter
    assert Adapter.__thread_safe__ is True and getattr(ShowcaseAdapter, "__thread_safe__", False) is False
    adapter = Adapter()
    with adapter.acquire_lock():
        with adapter.acquire_lock():  # reentrant
            pass
    assert adapter.lock("a") is adapter.lock("a") and adapter.lock("a") is not adapter.lock("b")

    adapter.thread_local.value = "main"
    adapter.set_thread_local("key", 1)
    seen = {}

    def other() -> None:
        seen["value"] = getattr(adapter.thread_local, "value", None)
        seen["key"] = adapter.get_thread_local("key", "missing")

    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    assert seen == {"value": None, "key": "missing"}
    assert adapter.get_thread_local("key") == 1
    adapter.clear_thread_local("key")
    assert adapter.get_thread_local("key") is None and adapter.thread_local.value == "main"
    adapter.clear_thread_local()
    assert not hasattr(adapter.thread_local, "value")

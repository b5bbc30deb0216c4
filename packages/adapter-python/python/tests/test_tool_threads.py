"""ToolThreads: the executor sync tools run in, and its cheap hop from the event loop."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from concurrent.futures import CancelledError, ThreadPoolExecutor

import pytest

from snakepit_bridge.tools.threads import ToolThreads, run_in_thread
from support import run, wait_until

_var: contextvars.ContextVar[str] = contextvars.ContextVar("test_tool_threads_var", default="unset")


def test_runs_in_a_named_thread_with_the_callers_context():
    threads = ToolThreads(2, thread_name_prefix="snakepit-tool")

    def probe(suffix):
        return threading.current_thread().name, _var.get() + suffix

    async def go():
        _var.set("caller")
        return await run_in_thread(threads, probe, "!")

    try:
        name, value = run(go())
    finally:
        threads.shutdown()
    assert name.startswith("snakepit-tool_") and value == "caller!"


@pytest.mark.parametrize("exc", [ValueError("bad"), SystemExit(3)])
def test_exceptions_are_raised_in_the_awaiting_coroutine(exc):
    threads = ToolThreads(1)

    def fail():
        raise exc

    async def go():
        # Caught inside the task: asyncio itself re-raises SystemExit out of the loop.
        try:
            await run_in_thread(threads, fail)
        except BaseException as caught:
            return caught

    try:
        caught = run(go())
    finally:
        threads.shutdown()
    assert caught is exc
    # The traceback still reaches the function's own frame.
    frames = []
    tb = caught.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame.f_code.co_name)
        tb = tb.tb_next
    assert frames[-1] == "fail"


def test_stop_iteration_does_not_hang_the_caller():
    # asyncio futures refuse StopIteration; through run_in_executor such a call never finished.
    threads = ToolThreads(1)

    def stop():
        raise StopIteration("done")

    try:
        with pytest.raises(RuntimeError) as raised:  # what a coroutine turns StopIteration into
            run(run_in_thread(threads, stop), timeout=5)
    finally:
        threads.shutdown()
    assert isinstance(raised.value.__cause__, StopIteration)


def test_sequential_calls_reuse_one_thread():
    threads = ToolThreads(9)

    async def go():
        return {await run_in_thread(threads, lambda: threading.get_ident()) for _ in range(200)}

    try:
        idents = run(go())
    finally:
        threads.shutdown()
    assert len(idents) == 1


def test_at_most_max_workers_run_at_once_and_the_rest_wait_in_order():
    threads = ToolThreads(2)
    gate = threading.Event()
    running = []
    lock = threading.Lock()

    def job(i):
        with lock:
            running.append(i)
        gate.wait(5)
        return i

    async def go():
        tasks = [asyncio.ensure_future(run_in_thread(threads, job, i)) for i in range(5)]
        assert await wait_until(lambda: len(running) == 2)
        await asyncio.sleep(0.05)
        assert len(running) == 2  # the other three are queued
        gate.set()
        return await asyncio.gather(*tasks)

    try:
        assert run(go()) == [0, 1, 2, 3, 4]
    finally:
        threads.shutdown()
    assert sorted(running) == [0, 1, 2, 3, 4]
    assert len({t.name for t in threads._threads}) == 2


def test_a_call_cancelled_while_queued_never_runs():
    threads = ToolThreads(1)
    gate = threading.Event()
    ran = []

    async def go():
        first = asyncio.ensure_future(run_in_thread(threads, gate.wait, 5))
        second = asyncio.ensure_future(run_in_thread(threads, ran.append, "second"))
        await asyncio.sleep(0.05)
        second.cancel()
        await asyncio.sleep(0)
        gate.set()
        assert await first is True
        with pytest.raises(asyncio.CancelledError):
            await second
        # The thread is free again afterwards.
        return await run_in_thread(threads, lambda: "third")

    try:
        assert run(go()) == "third"
    finally:
        threads.shutdown()
    assert ran == []


def test_a_cancelled_caller_does_not_wait_for_a_running_call():
    threads = ToolThreads(1)
    gate = threading.Event()

    async def go():
        task = asyncio.ensure_future(run_in_thread(threads, gate.wait, 5))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        gate.set()  # the outcome arrives for a future nobody awaits: dropped quietly
        await asyncio.sleep(0.05)

    try:
        run(go())
    finally:
        threads.shutdown()


def test_submit_and_shutdown_follow_the_executor_contract():
    threads = ToolThreads(1)
    gate = threading.Event()
    assert threads.submit(lambda x, y=0: x * 2 + y, 20, y=2).result(5) == 42
    running = threads.submit(gate.wait, 5)
    deadline = time.monotonic() + 5
    while not running.running() and time.monotonic() < deadline:
        time.sleep(0.005)
    queued = threads.submit(lambda: "never")
    threads.shutdown(wait=False, cancel_futures=True)
    assert queued.cancelled()
    with pytest.raises(RuntimeError):
        threads.submit(lambda: None)
    gate.set()
    assert running.result(5) is True
    threads.shutdown(wait=True)  # joins; a second shutdown is harmless
    assert not any(t.is_alive() for t in threads._threads)
    with pytest.raises(CancelledError):
        queued.result(0)


def test_shutdown_without_waiting_returns_while_a_call_is_stuck():
    threads = ToolThreads(1)
    gate = threading.Event()
    stuck = threads.submit(gate.wait, 5)
    while not stuck.running():
        time.sleep(0.005)
    started = time.monotonic()
    threads.shutdown(wait=False, cancel_futures=True)
    assert time.monotonic() - started < 0.5
    gate.set()
    threads.shutdown(wait=True)


def test_other_executors_take_the_generic_path():
    executor = ThreadPoolExecutor(1, thread_name_prefix="plain")

    async def go():
        _var.set("generic")
        return await run_in_thread(executor, lambda: (threading.current_thread().name, _var.get()))

    try:
        name, value = run(go())
    finally:
        executor.shutdown()
    assert name.startswith("plain") and value == "generic"


def _hold_then_check(hold_loop, function, *args):
    """Runs function in a holding ToolThreads; returns (result, whether the loop ran meanwhile)."""
    threads = ToolThreads(2, hold_loop=hold_loop)

    async def go():
        ran = []
        asyncio.get_running_loop().call_soon(ran.append, True)
        result = await run_in_thread(threads, function, *args)
        return result, bool(ran)

    try:
        return run(go())
    finally:
        threads.shutdown()


def test_holding_answers_a_quick_call_without_going_back_to_the_loop():
    result, loop_ran = _hold_then_check(5.0, lambda: _var.get() + "!")
    assert result == "unset!" and loop_ran is False


def test_holding_gives_up_after_its_time_and_the_call_goes_on():
    result, loop_ran = _hold_then_check(0.02, lambda: time.sleep(0.3) or "slow")
    assert result == "slow" and loop_ran is True


def test_holding_raises_the_calls_exception():
    def fail():
        raise LookupError("nope")

    with pytest.raises(LookupError, match="nope"):
        _hold_then_check(5.0, fail)


def test_loop_needed_ends_the_hold_at_once():
    from snakepit_bridge.tools.threads import loop_needed

    threads = ToolThreads(1, hold_loop=5.0)

    async def go():
        loop = asyncio.get_running_loop()

        async def on_the_loop():
            return "from the loop"

        def tool():
            # What a blocking host-bridge call does: it needs the loop to make progress.
            loop_needed()
            return asyncio.run_coroutine_threadsafe(on_the_loop(), loop).result(5)

        started = time.monotonic()
        result = await run_in_thread(threads, tool)
        return result, time.monotonic() - started

    try:
        result, elapsed = run(go(), timeout=20)
    finally:
        threads.shutdown()
    assert result == "from the loop" and elapsed < 2.5


def test_holding_and_not_holding_race_cleanly():
    # Calls that finish around the end of the hold take either path; every answer arrives once.
    threads = ToolThreads(3, hold_loop=0.0005)

    def job(i):
        time.sleep((i % 5) * 0.0003)
        return i

    async def go():
        return [await run_in_thread(threads, job, i) for i in range(300)]

    try:
        assert run(go(), timeout=30) == list(range(300))
    finally:
        threads.shutdown()


def test_streams_never_hold_the_loop():
    result, loop_ran = None, None
    threads = ToolThreads(1, hold_loop=5.0)

    async def go():
        ran = []
        asyncio.get_running_loop().call_soon(ran.append, True)
        value = await run_in_thread(threads, lambda: "chunk", hold=False)
        return value, bool(ran)

    try:
        result, loop_ran = run(go())
    finally:
        threads.shutdown()
    assert result == "chunk" and loop_ran is True

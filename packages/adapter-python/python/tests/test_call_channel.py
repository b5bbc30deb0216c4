"""The call channel (WorkerService.Calls) over a real server: framing, context, errors, cancellation,
timeouts, capacity, and the channel's end."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, Dict, List, Optional

import grpc
import pytest

from snakepit_bridge.error_codes import code_name
from snakepit.bridge.v1 import worker_pb2, worker_pb2_grpc
from snakepit_bridge import SessionContext, tool
from snakepit_bridge.adapters.showcase import ShowcaseAdapter
from snakepit_bridge.observability.logging_setup import correlation_id_var
from support import AUTH, decode_value, error_details, make_call, run, serving, wait_until
from worker_process import SHOWCASE, Worker

THREADED_SHOWCASE = "snakepit_bridge.adapters.showcase_threaded.ThreadedShowcaseAdapter"
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


class ChannelAdapter(ShowcaseAdapter):
    """Tools the test steers: async gates released by name, sync tools that watch for cancellation."""

    __thread_safe__ = True

    def __init__(self) -> None:
        self.gates: Dict[str, asyncio.Event] = {}
        self.entered: List[str] = []
        self.cancelled: List[str] = []
        self.lock = threading.Lock()
        self.holds: Dict[str, threading.Event] = {}
        self.running = 0
        self.most_running = 0

    def gate_for(self, name: str) -> asyncio.Event:
        return self.gates.setdefault(name, asyncio.Event())

    @tool
    async def gate(self, name: str, context: SessionContext) -> Dict[str, Any]:
        self.entered.append(name)
        try:
            await self.gate_for(name).wait()
        except asyncio.CancelledError:
            self.cancelled.append(name)
            raise
        return {"name": name, "correlation_id": context.correlation_id, "logged_as": correlation_id_var.get()}

    @tool
    def watch(self, name: str, context: SessionContext) -> bool:
        """Sync: polls its cancellation flag for up to 5 s."""
        self.entered.append(name)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if context.is_cancelled():
                self.cancelled.append(name)
                return False
            time.sleep(0.005)
        return True

    @tool
    def hold(self, name: str, context: SessionContext) -> str:
        """Sync: counts the calls inside it at once, and stays until released or cancelled."""
        with self.lock:
            self.entered.append(name)
            self.running += 1
            self.most_running = max(self.most_running, self.running)
            release = self.holds.setdefault(name, threading.Event())
        try:
            while not release.wait(0.005):
                if context.is_cancelled():
                    self.cancelled.append(name)
                    return "cancelled"
            return name
        finally:
            with self.lock:
                self.running -= 1

    def release(self, name: str) -> None:
        with self.lock:
            self.holds.setdefault(name, threading.Event()).set()

    @tool
    def context_probe(self, context: SessionContext) -> Dict[str, Any]:
        return {
            "session_id": context.session_id,
            "correlation_id": context.correlation_id,
            "logged_as": correlation_id_var.get(),
            "metadata": context.metadata,
            "traceparent": context.traceparent,
            "tracestate": context.tracestate,
        }


def call_frame(call_id: int, call: Any, timeout_ms: int = 0, headers: Optional[Dict[str, str]] = None) -> Any:
    frame = worker_pb2.ChannelCall(call=call, timeout_ms=timeout_ms, headers=headers or {})
    return worker_pb2.CallsRequest(call_id=call_id, call=frame)


def cancel_frame(call_id: int) -> Any:
    return worker_pb2.CallsRequest(call_id=call_id, cancel=worker_pb2.CallCancel())


async def answer(channel: Any, timeout: float = 5.0) -> Any:
    message = await asyncio.wait_for(channel.read(), timeout)
    assert message is not grpc.aio.EOF, "the channel ended"
    return message


async def result_of(channel: Any) -> Any:
    message = await answer(channel)
    assert message.response.HasField("result"), message
    return message.call_id, decode_value(message.response.result)


def test_calls_run_concurrently_and_answer_in_completion_order():
    adapter = ChannelAdapter()

    async def go():
        async with serving(adapter) as (stub, _):
            channel = stub.Calls(metadata=AUTH)
            for call_id, name in ((1, "a"), (2, "b"), (3, "c")):
                await channel.write(call_frame(call_id, make_call("gate", name=name)))
            # All three run at once: a call in flight holds up neither reading nor other calls.
            assert await wait_until(lambda: sorted(adapter.entered) == ["a", "b", "c"])
            await channel.write(call_frame(4, make_call("add", a=1, b=2)))
            order = [await result_of(channel)]
            for name in ("b", "c", "a"):
                adapter.gate_for(name).set()
                order.append(await result_of(channel))
            await channel.done_writing()
            assert await channel.read() is grpc.aio.EOF
            return [(call_id, value if call_id == 4 else value["name"]) for call_id, value in order]

    assert run(go()) == [(4, 3), (2, "b"), (3, "c"), (1, "a")]


def test_session_correlation_and_trace_context_reach_the_tool_and_never_leak():
    adapter = ChannelAdapter()

    async def go():
        async with serving(adapter) as (stub, _):
            channel = stub.Calls(metadata=AUTH)
            headers = {"x-snakepit-correlation-id": "corr-1", "traceparent": TRACEPARENT, "tracestate": "vendor=1"}
            probe = make_call("context_probe", session_id="sess-1", metadata={"tenant": "t1"})
            await channel.write(call_frame(1, probe, headers=headers))
            _, seen = await result_of(channel)
            # Two calls in flight at once, each with its own correlation id, then one with none.
            for call_id, name in ((2, "x"), (3, "y")):
                headers = {"x-snakepit-correlation-id": f"corr-{name}"}
                await channel.write(call_frame(call_id, make_call("gate", name=name), headers=headers))
            assert await wait_until(lambda: sorted(adapter.entered) == ["x", "y"])
            adapter.gate_for("y").set()
            adapter.gate_for("x").set()
            both = dict([await result_of(channel), await result_of(channel)])
            await channel.write(call_frame(4, make_call("context_probe")))
            _, bare = await result_of(channel)
            channel.cancel()
            return seen, both, bare

    seen, both, bare = run(go())
    assert seen == {
        "session_id": "sess-1", "correlation_id": "corr-1", "logged_as": "corr-1", "metadata": {"tenant": "t1"},
        "traceparent": TRACEPARENT, "tracestate": "vendor=1",
    }
    assert both == {
        2: {"name": "x", "correlation_id": "corr-x", "logged_as": "corr-x"},
        3: {"name": "y", "correlation_id": "corr-y", "logged_as": "corr-y"},
    }
    assert bare == {"session_id": None, "correlation_id": None, "logged_as": None, "metadata": {},
                    "traceparent": None, "tracestate": None}


@pytest.mark.parametrize("tool_name", ["gate", "watch"], ids=["async", "sync"])
def test_a_cancel_frame_stops_the_call_without_an_answer_and_the_channel_goes_on(tool_name):
    adapter = ChannelAdapter()

    async def go():
        async with serving(adapter) as (stub, _):
            channel = stub.Calls(metadata=AUTH)
            await channel.write(call_frame(1, make_call(tool_name, name="stopped")))
            assert await wait_until(lambda: adapter.entered == ["stopped"])
            await channel.write(cancel_frame(1))
            # The tool sees it: async tools get CancelledError, sync tools their flag.
            assert await wait_until(lambda: adapter.cancelled == ["stopped"])
            await channel.write(cancel_frame(1))  # no longer in flight: ignored
            await channel.write(cancel_frame(99))  # never was
            await channel.write(call_frame(2, make_call("add", a=2, b=3)))
            # The next answer is the next call's: the cancelled one got none.
            return await result_of(channel)

    assert run(go()) == (2, 5)


@pytest.mark.parametrize("tool_name", ["gate", "watch"], ids=["async", "sync"])
def test_timeout_ms_stops_the_call_and_answers_timeout(tool_name):
    adapter = ChannelAdapter()

    async def go():
        async with serving(adapter) as (stub, _):
            channel = stub.Calls(metadata=AUTH)
            started = time.monotonic()
            await channel.write(call_frame(1, make_call(tool_name, name="late"), timeout_ms=150))
            timed_out = await answer(channel)
            elapsed = time.monotonic() - started
            assert await wait_until(lambda: adapter.cancelled == ["late"])
            # A call that finishes in time answers once, with its result: its timer is gone.
            await channel.write(call_frame(2, make_call("add", a=1, b=1), timeout_ms=150))
            quick = await result_of(channel)
            await asyncio.sleep(0.3)  # past that call's timeout: nothing more may come for it
            await channel.write(call_frame(3, make_call("add", a=2, b=2)))
            after = await result_of(channel)
            return timed_out, elapsed, quick, after

    timed_out, elapsed, quick, after = run(go())
    assert timed_out.call_id == 1 and not timed_out.response.HasField("result")
    error = timed_out.response.error
    assert code_name(error.code) == "timeout" and tool_name in error.message and "150 ms" in error.message
    assert error_details(error) == {"tool": tool_name, "timeout_ms": 150}
    assert 0.14 <= elapsed < 2.0, elapsed
    assert (quick, after) == ((2, 2), (3, 4))


def test_a_call_id_already_in_flight_is_refused_and_the_first_call_goes_on():
    adapter = ChannelAdapter()

    async def go():
        async with serving(adapter) as (stub, _):
            channel = stub.Calls(metadata=AUTH)
            await channel.write(call_frame(7, make_call("gate", name="first")))
            assert await wait_until(lambda: adapter.entered == ["first"])
            await channel.write(call_frame(7, make_call("add", a=1, b=1)))
            refused = await answer(channel)
            adapter.gate_for("first").set()
            first = await result_of(channel)
            # Once answered, the id is free again.
            await channel.write(call_frame(7, make_call("add", a=1, b=1)))
            again = await result_of(channel)
            return refused, first, again

    refused, first, again = run(go())
    assert refused.call_id == 7 and code_name(refused.response.error.code) == "invalid_parameter"
    assert error_details(refused.response.error) == {"key": "call_id", "reason": "already in flight"}
    assert first[0] == 7 and first[1]["name"] == "first"
    assert again == (7, 2)


def test_refusals_and_tool_errors_are_answers_and_the_channel_keeps_serving():
    async def go():
        async with serving(ShowcaseAdapter()) as (stub, _):
            channel = stub.Calls(metadata=AUTH)
            await channel.write(call_frame(1, make_call("no_such_tool")))
            await channel.write(call_frame(2, make_call("add", a=1, raw_json={"b": b"{oops"})))
            await channel.write(call_frame(3, make_call("fail", message="nope", kind="KeyError")))
            # A frame with neither call nor cancel is ignored.
            await channel.write(worker_pb2.CallsRequest(call_id=4))
            await channel.write(call_frame(5, make_call("add", a=20, b=22)))
            answers = {}
            while len(answers) < 4:
                message = await answer(channel)
                answers[message.call_id] = message.response
            await channel.done_writing()
            assert await channel.read() is grpc.aio.EOF
            return answers

    answers = run(go())
    assert sorted(answers) == [1, 2, 3, 5]
    assert code_name(answers[1].error.code) == "unknown_tool" and "no_such_tool" in answers[1].error.message
    assert code_name(answers[2].error.code) == "invalid_parameter" and error_details(answers[2].error)["key"] == "b"
    assert code_name(answers[3].error.code) == "python_error" and answers[3].error.python_type == "KeyError"
    assert decode_value(answers[5].result) == 42


def test_an_answer_above_the_message_limit_fails_only_its_own_call():
    async def go():
        adapter = ChannelAdapter()
        async with serving(adapter, max_message_bytes=1 << 20) as (stub, _):
            channel = stub.Calls(metadata=AUTH)
            await channel.write(call_frame(1, make_call("gate", name="bystander")))
            await wait_until(lambda: "bystander" in adapter.entered)
            await channel.write(call_frame(2, make_call("make_bytes", size=2 << 20)))
            too_large = await answer(channel)
            adapter.gate_for("bystander").set()
            bystander = await answer(channel)
            await channel.done_writing()
            return too_large, bystander

    too_large, bystander = run(go())
    assert too_large.call_id == 2 and code_name(too_large.response.error.code) == "transport_error"
    details = error_details(too_large.response.error)
    assert details["reason"] == "result_too_large" and details["limit"] == 1 << 20 and details["size"] > 2 << 20
    # Sending it would have failed the whole stream, and the bystander with it.
    assert bystander.call_id == 1 and decode_value(bystander.response.result)["name"] == "bystander"


def test_cancelling_the_channel_stops_every_call_still_running():
    adapter = ChannelAdapter()

    async def go():
        async with serving(adapter) as (stub, _):
            channel = stub.Calls(metadata=AUTH)
            await channel.write(call_frame(1, make_call("gate", name="async")))
            await channel.write(call_frame(2, make_call("watch", name="sync")))
            assert await wait_until(lambda: sorted(adapter.entered) == ["async", "sync"])
            baseline = len(asyncio.all_tasks())
            channel.cancel()
            assert await wait_until(lambda: sorted(adapter.cancelled) == ["async", "sync"])
            # The calls' tasks are gone (the channel's own task too).
            assert await wait_until(lambda: len(asyncio.all_tasks()) <= baseline - 3)
            # The worker serves a new channel.
            fresh = stub.Calls(metadata=AUTH)
            await fresh.write(call_frame(1, make_call("add", a=1, b=2)))
            return await result_of(fresh)

    assert run(go()) == (1, 3)


def test_a_frame_that_does_not_parse_ends_the_channel_and_the_worker_serves_on():
    adapter = ChannelAdapter()

    async def go():
        async with serving(adapter) as (stub, _):
            raw = stub.channel.stream_stream("/snakepit.bridge.v1.WorkerService/Calls")(metadata=AUTH)
            await raw.write(call_frame(1, make_call("gate", name="running")).SerializeToString())
            assert await wait_until(lambda: adapter.entered == ["running"])
            await raw.write(b"\xff\xff\xff")
            code, details = await raw.code(), await raw.details()
            assert await wait_until(lambda: adapter.cancelled == ["running"])
            fresh = stub.Calls(metadata=AUTH)
            await fresh.write(call_frame(1, make_call("add", a=1, b=2)))
            return code, details, await result_of(fresh)

    code, details, fresh = run(go())
    assert code == grpc.StatusCode.INVALID_ARGUMENT and details.startswith("malformed call frame")
    assert fresh == (1, 3)


def test_each_call_times_out_at_its_own_deadline_whatever_the_order_they_came_in():
    # One timer guards every deadline on the channel: a later call with an earlier deadline moves
    # it forward, and each expiry sets it again for the next deadline still in flight.
    adapter = ChannelAdapter()

    async def go():
        async with serving(adapter) as (stub, _):
            channel = stub.Calls(metadata=AUTH)
            started = time.monotonic()
            for call_id, timeout_ms in ((1, 450), (2, 100), (3, 250)):
                await channel.write(call_frame(call_id, make_call("gate", name=f"g{call_id}"), timeout_ms=timeout_ms))
            answers = []
            for _ in range(3):
                message = await answer(channel)
                answers.append((message.call_id, code_name(message.response.error.code), time.monotonic() - started))
            return answers

    answers = run(go())
    assert [(call_id, code) for call_id, code, _ in answers] == [(2, "timeout"), (3, "timeout"), (1, "timeout")]
    for (_, _, elapsed), timeout in zip(answers, (0.1, 0.25, 0.45)):
        assert timeout - 0.01 <= elapsed < timeout + 1.5, answers


def test_after_a_half_close_the_calls_in_flight_still_answer():
    adapter = ChannelAdapter()

    async def go():
        async with serving(adapter) as (stub, _):
            channel = stub.Calls(metadata=AUTH)
            await channel.write(call_frame(1, make_call("gate", name="slow")))
            await channel.write(call_frame(2, make_call("gate", name="timed"), timeout_ms=200))
            assert await wait_until(lambda: sorted(adapter.entered) == ["slow", "timed"])
            await channel.done_writing()
            timed_out = await answer(channel)
            adapter.gate_for("slow").set()
            slow = await result_of(channel)
            assert await channel.read() is grpc.aio.EOF
            return timed_out.call_id, code_name(timed_out.response.error.code), slow[0], await channel.code()

    assert run(go()) == (2, "timeout", 1, grpc.StatusCode.OK)


def test_threaded_mode_runs_up_to_capacity_at_once_in_arrival_order():
    adapter = ChannelAdapter()

    async def go():
        async with serving(adapter, admission_limit=2) as (stub, _):
            channel = stub.Calls(metadata=AUTH)
            for call_id in range(1, 6):
                await channel.write(call_frame(call_id, make_call("hold", name=f"h{call_id}")))
            assert await wait_until(lambda: len(adapter.entered) == 2)
            await asyncio.sleep(0.2)  # asserting that nothing more starts needs a quiet period
            assert adapter.entered == ["h1", "h2"]
            await channel.write(cancel_frame(4))  # waiting for a slot: it never runs
            results = []
            for name in ("h2", "h1", "h3", "h5"):
                adapter.release(name)
                results.append(await result_of(channel))
            # The slots all came back: two calls run at once again.
            adapter.most_running = 0
            await channel.write(call_frame(6, make_call("hold", name="h6")))
            await channel.write(call_frame(7, make_call("hold", name="h7")))
            assert await wait_until(lambda: adapter.running == 2)
            channel.cancel()
            assert await wait_until(lambda: sorted(adapter.cancelled) == ["h6", "h7"])
            return results

    results = run(go())
    assert [call_id for call_id, _ in results] == [2, 1, 3, 5]
    assert adapter.entered == ["h1", "h2", "h3", "h5", "h6", "h7"]
    assert adapter.most_running == 2


def test_a_channel_without_the_token_is_refused():
    async def go():
        async with serving(ShowcaseAdapter()) as (stub, _):
            codes = []
            for metadata in ((), (("authorization", "Bearer nope"),)):
                channel = stub.Calls(metadata=metadata)
                try:
                    await channel.write(call_frame(1, make_call("add", a=1, b=2)))
                    await channel.read()
                except grpc.aio.AioRpcError as error:
                    codes.append(error.code())
                else:
                    codes.append(await channel.code())
            return codes

    assert run(go()) == [grpc.StatusCode.UNAUTHENTICATED] * 2


@pytest.mark.parametrize(
    "adapter, extra_args",
    [(SHOWCASE, ["--mode", "process"]), (THREADED_SHOWCASE, ["--mode", "threaded", "--threads", "2"])],
    ids=["process", "threaded"],
)
def test_worker_processes_serve_the_channel_in_both_modes(adapter, extra_args):
    worker = Worker(adapter, extra_args=extra_args)
    try:
        assert worker.control["event"] == "ready", worker.stderr_text()

        async def exercise():
            async with grpc.aio.insecure_channel(f"127.0.0.1:{worker.control['port']}") as connection:
                stub = worker_pb2_grpc.WorkerServiceStub(connection)
                channel = stub.Calls(metadata=AUTH)
                await channel.write(call_frame(1, make_call("sleep", ms=5000), timeout_ms=100))
                await channel.write(call_frame(2, make_call("add", a=20, b=22), timeout_ms=5000))
                headers = {"x-snakepit-correlation-id": "corr-w"}
                await channel.write(call_frame(3, make_call("session_info", session_id="s-w"), headers=headers))
                answers = {}
                while len(answers) < 3:
                    message = await answer(channel)
                    answers[message.call_id] = message.response
                await channel.done_writing()
                assert await channel.read() is grpc.aio.EOF
                return answers

        answers = run(exercise(), timeout=20)
        assert code_name(answers[1].error.code) == "timeout"
        assert decode_value(answers[2].result) == 42
        assert decode_value(answers[3].result) == {"session_id": "s-w", "correlation_id": "corr-w", "metadata": {}}
    finally:
        worker.kill()

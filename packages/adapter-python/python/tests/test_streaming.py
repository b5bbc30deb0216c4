"""Streaming: each producer kind, the final-chunk rules, errors, batching, backpressure and cancellation."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from snakepit_bridge.error_codes import code_name
from snakepit_bridge import SessionContext
from snakepit_bridge.streaming import chunk_stream
from snakepit_bridge.streaming.chunk_queue import MAX_MESSAGE_BYTES, MAX_MESSAGE_CHUNKS, ChunkQueue
from snakepit_bridge.observability.logging_setup import correlation_id_var
from snakepit_bridge.session_context import current_session_context, set_current_session_context
from snakepit_bridge.streaming.chunk_stream import ChunkStream
from support import decode_value, new_executor, run, stable, wait_until


def stream_messages(result, write_seconds=0.0, **options):
    """The stream's messages; `write_seconds` blocks the loop after each one, as a gRPC write does."""
    executor = new_executor()

    async def go():
        stream = ChunkStream(result, executor=executor, session=SessionContext(), **options)
        messages = []
        async for message in stream:
            messages.append(message)
            time.sleep(write_seconds)
        return messages

    try:
        return run(go())
    finally:
        executor.shutdown(wait=True)


def stream_chunks(result, **options):
    return [chunk for message in stream_messages(result, **options) for chunk in message.chunks]


def summary(chunks):
    """(payload or None, is_final) per chunk; payload is "error:<type>" for error chunks."""
    out = []
    for chunk in chunks:
        if chunk.HasField("error"):
            out.append((f"error:{chunk.error.python_type}", chunk.is_final))
        elif chunk.HasField("data"):
            out.append((decode_value(chunk.data), chunk.is_final))
        else:
            out.append((None, chunk.is_final))
    return out


def assert_exactly_one_final_last(chunks):
    finals = [chunk.is_final for chunk in chunks]
    assert finals.count(True) == 1 and finals[-1] is True


def payload_bytes(message):
    return sum(len(chunk.data.json or chunk.data.binary) for chunk in message.chunks)


def sync_generator(items):
    for item in items:
        yield item


async def async_generator(items):
    for item in items:
        await asyncio.sleep(0)
        yield item


async def eager_async_generator(items):
    for item in items:  # never awaits: fills the queue before the consumer runs again
        yield item


def test_sync_generator_items_then_closing_chunk():
    chunks = stream_chunks(sync_generator([1, {"a": 1}, "s", None]))
    assert summary(chunks) == [(1, False), ({"a": 1}, False), ("s", False), (None, False), (None, True)]
    assert not chunks[-1].HasField("data")
    assert_exactly_one_final_last(chunks)


def test_async_generator_items_then_closing_chunk():
    chunks = stream_chunks(async_generator([{"x": 1}, [2]]))
    assert summary(chunks) == [({"x": 1}, False), ([2], False), (None, True)]
    assert_exactly_one_final_last(chunks)


def test_plain_iterators_stream_too():
    assert summary(stream_chunks(iter([1, 2]))) == [(1, False), (2, False), (None, True)]


def test_single_value_is_one_final_chunk():
    assert summary(stream_chunks({"whole": True})) == [({"whole": True}, True)]
    # A list is a value, not a stream.
    assert summary(stream_chunks([1, 2, 3])) == [([1, 2, 3], True)]
    assert summary(stream_chunks(None)) == [(None, True)]
    assert len(stream_messages({"whole": True})) == 1


def test_empty_generator_sends_only_the_closing_chunk():
    assert summary(stream_chunks(sync_generator([]))) == [(None, True)]
    assert summary(stream_chunks(async_generator([]))) == [(None, True)]


def test_bytes_items_are_binary_chunks():
    chunks = stream_chunks(sync_generator([b"\x00\x01", bytearray(b"\x02"), memoryview(b"\x03"), "text"]))
    assert [chunk.data.WhichOneof("kind") for chunk in chunks[:4]] == ["binary", "binary", "binary", "json"]
    assert [chunk.data.binary for chunk in chunks[:3]] == [b"\x00\x01", b"\x02", b"\x03"]


def test_is_final_dict_ends_the_stream_and_closes_the_generator():
    closed = threading.Event()
    after_final = []

    def producer():
        try:
            yield {"step": 1, "is_final": False}
            yield {"step": 2, "is_final": True}
            after_final.append("ran")
            yield {"step": 3}
        finally:
            closed.set()

    chunks = stream_chunks(producer())
    assert summary(chunks) == [({"step": 1, "is_final": False}, False), ({"step": 2, "is_final": True}, True)]
    assert closed.wait(2) and after_final == []


def test_is_final_dict_in_async_generator():
    state = {"closed": False}

    async def producer():
        try:
            yield {"n": 1, "is_final": 1}
            yield {"n": 2}
        finally:
            state["closed"] = True

    assert summary(stream_chunks(producer())) == [({"n": 1, "is_final": 1}, True)]
    assert state["closed"]


def test_producer_exception_becomes_one_final_error_chunk():
    def failing():
        yield {"i": 0}
        raise RuntimeError("stream failed")

    async def failing_async():
        yield {"i": 0}
        raise KeyError("k")

    sync_chunks = stream_chunks(failing())
    assert summary(sync_chunks) == [({"i": 0}, False), ("error:RuntimeError", True)]
    error = sync_chunks[-1].error
    assert code_name(error.code) == "python_error" and error.message == "stream failed"
    assert "test_streaming.py" in error.traceback
    assert summary(stream_chunks(failing_async())) == [({"i": 0}, False), ("error:KeyError", True)]


def test_unencodable_item_becomes_an_error_chunk():
    loop = []
    loop.append(loop)
    assert summary(stream_chunks(sync_generator([1, loop, 2]))) == [(1, False), ("error:ValueError", True)]
    assert summary(stream_chunks(eager_async_generator([1, loop, 2]))) == [(1, False), ("error:ValueError", True)]


# -- batching ----------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [sync_generator, eager_async_generator], ids=["sync", "async"])
def test_a_fast_producer_batches_its_chunks_in_order(make):
    items = [{"i": i} for i in range(5000)]
    # A consumer as slow as a gRPC write; an instant one would take each chunk as it comes.
    messages = stream_messages(make(items), write_seconds=0.001)
    chunks = [chunk for message in messages for chunk in message.chunks]
    assert [decode_value(chunk.data) for chunk in chunks[:-1]] == items
    assert_exactly_one_final_last(chunks)
    assert all(1 <= len(message.chunks) <= MAX_MESSAGE_CHUNKS for message in messages)
    # Far fewer messages than chunks (not one per chunk): 5001 chunks need at least 20.
    assert len(messages) <= len(chunks) // 10, [len(message.chunks) for message in messages]


def test_an_async_producer_that_never_awaits_fills_whole_messages():
    messages = stream_messages(eager_async_generator(range(1000)))
    assert [len(message.chunks) for message in messages] == [256, 256, 256, 233]


def test_messages_stay_within_the_byte_bound_unless_one_chunk_is_larger():
    big = "x" * (MAX_MESSAGE_BYTES + 1000)
    items = ["y" * 100_000] * 7 + [big] + ["z" * 10] * 3
    for make in (sync_generator, eager_async_generator):
        messages = stream_messages(make(items), queue_bytes=8 << 20)
        sizes = [(len(message.chunks), payload_bytes(message)) for message in messages]
        assert all(chunks == 1 or size <= MAX_MESSAGE_BYTES for chunks, size in sizes), sizes
        alone = [message for message in messages if any(len(c.data.json) > MAX_MESSAGE_BYTES for c in message.chunks)]
        assert len(alone) == 1 and len(alone[0].chunks) == 1
        chunks = [chunk for message in messages for chunk in message.chunks]
        assert [decode_value(chunk.data) for chunk in chunks[:-1]] == items


def test_a_fast_sync_producer_makes_many_items_per_thread_hop(monkeypatch):
    hops = []
    real = chunk_stream.run_in_thread

    async def counting(executor, function, *args, **kwargs):
        hops.append(threading.get_ident())
        return await real(executor, function, *args, **kwargs)

    monkeypatch.setattr(chunk_stream, "run_in_thread", counting)
    threads = set()

    def producer():
        for i in range(5000):
            threads.add(threading.get_ident())
            yield i

    main = threading.get_ident()
    chunks = stream_chunks(producer(), queue_size=256)
    assert len(chunks) == 5001
    # One hop per ~128 items (the queue refills from half), never one per item.
    assert 1 <= len(hops) <= 5000 // 64, len(hops)
    assert main not in threads  # sync generators never run on the event loop thread


def test_context_vars_are_visible_in_a_sync_generator_across_hops():
    session = SessionContext("s-ctx")
    executor = new_executor()

    def producer():
        for _ in range(100):
            yield [current_session_context() is session, correlation_id_var.get()]

    async def go():
        set_current_session_context(session)
        correlation_id_var.set("corr-ctx")
        stream = ChunkStream(producer(), executor=executor, session=session, queue_size=8)
        return [chunk async for message in stream for chunk in message.chunks]

    try:
        chunks = run(go())
    finally:
        executor.shutdown(wait=True)
    assert [decode_value(chunk.data) for chunk in chunks[:-1]] == [[True, "corr-ctx"]] * 100


# -- backpressure ------------------------------------------------------------------------------


def test_backpressure_bounds_how_far_the_producer_runs_ahead():
    produced = []

    def fast():
        for i in range(100_000):
            produced.append(i)
            yield i

    executor = new_executor()

    async def go():
        stream = ChunkStream(fast(), executor=executor, session=SessionContext(), queue_size=64)
        iterator = stream.__aiter__()
        first = await iterator.__anext__()
        # The consumer holds the first message and takes nothing more: production must stall.
        assert await wait_until(lambda: len(produced) >= 64)
        await stable(lambda: len(produced))
        ahead = len(produced)
        await iterator.aclose()
        return first, ahead

    try:
        first, ahead = run(go())
    finally:
        executor.shutdown(wait=True)
    assert decode_value(first.chunks[0].data) == 0
    # The message in hand (at most a full queue's worth) plus the queue refilled to its bound.
    assert ahead <= len(first.chunks) + 64


def test_the_queue_is_bounded_by_chunks_and_wakes_the_producer_at_half():
    async def go():
        queue = ChunkQueue(600, 0, from_thread=False)
        for i in range(600):
            assert queue.has_room()
            queue.put(i)
        assert not queue.has_room()
        waiter = asyncio.ensure_future(queue.room())
        sizes = []
        sizes.append(len((await queue.take()).chunks))
        await asyncio.sleep(0)
        woken_above_half = waiter.done()  # 344 left
        sizes.append(len((await queue.take()).chunks))
        await asyncio.sleep(0)
        woken_at_half = waiter.done()  # 88 left
        sizes.append(len((await queue.take()).chunks))
        return sizes, woken_above_half, woken_at_half

    assert run(go()) == ([256, 256, 88], False, True)


def test_the_queue_is_bounded_by_bytes_one_item_over_at_most():
    async def go():
        queue = ChunkQueue(0, 1000, from_thread=False)
        puts = 0
        while queue.has_room():
            queue.put("x" * 298)  # 300 bytes of JSON
            puts += 1
        message = await queue.take()
        return puts, len(message.chunks), queue.has_room()

    assert run(go()) == (4, 4, True)


def test_a_bound_of_zero_means_none_like_asyncio_queue():
    async def go():
        queue = ChunkQueue(0, 0, from_thread=False)
        for i in range(3000):
            assert queue.has_room()
            queue.put(i)
        messages = []
        while sum(len(message.chunks) for message in messages) < 3000:
            messages.append(await queue.take())
        return [decode_value(chunk.data) for message in messages for chunk in message.chunks]

    assert run(go()) == list(range(3000))


def test_a_waiting_consumer_gets_the_next_chunk_from_a_thread_at_once():
    async def go():
        queue = ChunkQueue(16, 0, from_thread=True)
        taken = asyncio.ensure_future(queue.take())
        await asyncio.sleep(0.01)
        assert not taken.done()
        threading.Thread(target=queue.put, args=("late",)).start()
        message = await asyncio.wait_for(taken, 2)
        return [decode_value(chunk.data) for chunk in message.chunks]

    assert run(go()) == ["late"]


# -- cancellation ------------------------------------------------------------------------------


def test_abandoning_an_async_stream_closes_the_generator():
    state = {"produced": 0, "closed": False}
    session = SessionContext()

    async def ticks():
        try:
            while True:
                state["produced"] += 1
                yield state["produced"]
                await asyncio.sleep(0.01)
        finally:
            state["closed"] = True

    async def go():
        stream = ChunkStream(ticks(), executor=new_executor(), session=session)
        iterator = stream.__aiter__()
        await iterator.__anext__()
        await iterator.__anext__()
        stream.abandon()  # what the RPC done callback does on cancel
        assert await wait_until(lambda: state["closed"])
        count = state["produced"]
        await asyncio.sleep(0.1)
        assert state["produced"] == count  # really stopped
        await iterator.aclose()

    run(go())
    assert session.is_cancelled()


def test_closing_the_consumer_closes_a_sync_generator_in_its_thread():
    closed = threading.Event()
    produced = []
    session = SessionContext()

    def ticks():
        try:
            for i in range(10_000):
                produced.append(i)
                yield i
                time.sleep(0.01)
        finally:
            closed.set()

    executor = new_executor()

    async def go():
        iterator = ChunkStream(ticks(), executor=executor, session=session).__aiter__()
        await iterator.__anext__()
        await iterator.__anext__()
        await iterator.aclose()  # the consumer goes away mid-stream

    try:
        run(go())
        assert closed.wait(2)
        count = len(produced)
        time.sleep(0.1)
        assert len(produced) == count
    finally:
        executor.shutdown(wait=True)
    assert session.is_cancelled()


def test_a_sync_generator_is_closed_only_once_its_item_in_progress_returns():
    entered = threading.Event()
    release = threading.Event()
    closed_on = []
    produced = []

    def blocking():
        try:
            produced.append(0)
            yield 0
            entered.set()
            release.wait(5)  # inside next(): a close now would raise "generator already executing"
            produced.append(1)
            yield 1
            produced.append(2)
            yield 2
        finally:
            closed_on.append(threading.get_ident())

    executor = new_executor()
    loop_thread = threading.get_ident()

    async def go():
        stream = ChunkStream(blocking(), executor=executor, session=SessionContext())
        iterator = stream.__aiter__()
        await iterator.__anext__()
        assert await wait_until(entered.is_set)
        await iterator.aclose()  # abandons: stop requested, close queued behind the item in progress
        await asyncio.sleep(0.05)
        assert closed_on == []
        release.set()
        assert await wait_until(lambda: closed_on != [])

    try:
        run(go())
    finally:
        executor.shutdown(wait=True)
    # The run stopped after its current item and the generator was closed, off the loop thread.
    assert produced == [0, 1] and closed_on[0] != loop_thread


def test_cancelling_the_consuming_task_stops_the_producer():
    state = {"closed": False}

    async def slow():
        try:
            yield 1
            await asyncio.sleep(30)
            yield 2
        finally:
            state["closed"] = True

    async def go():
        stream = ChunkStream(slow(), executor=new_executor(), session=SessionContext())
        started = asyncio.Event()

        async def consume():
            async for _ in stream:
                started.set()

        task = asyncio.ensure_future(consume())
        await asyncio.wait_for(started.wait(), 2)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert await wait_until(lambda: state["closed"])

    run(go())

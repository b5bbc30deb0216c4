"""Streaming: each producer kind, the final-chunk rules, errors, backpressure and cancellation."""

from __future__ import annotations

import asyncio
import threading
import time

from snakepit_bridge import SessionContext
from snakepit_bridge.streaming import ChunkStream
from support import decode_value, new_executor, run, wait_until


def chunks_of(result, queue_size=16):
    executor = new_executor()

    async def go():
        return [chunk async for chunk in ChunkStream(result, executor=executor, session=SessionContext(), queue_size=queue_size)]

    try:
        return run(go())
    finally:
        executor.shutdown(wait=True)


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


def sync_generator(items):
    for item in items:
        yield item


async def async_generator(items):
    for item in items:
        await asyncio.sleep(0)
        yield item


def test_sync_generator_items_then_closing_chunk():
    chunks = chunks_of(sync_generator([1, {"a": 1}, "s", None]))
    assert summary(chunks) == [(1, False), ({"a": 1}, False), ("s", False), (None, False), (None, True)]
    assert not chunks[-1].HasField("data")
    assert_exactly_one_final_last(chunks)


def test_async_generator_items_then_closing_chunk():
    chunks = chunks_of(async_generator([{"x": 1}, [2]]))
    assert summary(chunks) == [({"x": 1}, False), ([2], False), (None, True)]
    assert_exactly_one_final_last(chunks)


def test_plain_iterators_stream_too():
    assert summary(chunks_of(iter([1, 2]))) == [(1, False), (2, False), (None, True)]


def test_single_value_is_one_final_chunk():
    assert summary(chunks_of({"whole": True})) == [({"whole": True}, True)]
    # A list is a value, not a stream.
    assert summary(chunks_of([1, 2, 3])) == [([1, 2, 3], True)]
    assert summary(chunks_of(None)) == [(None, True)]


def test_empty_generator_sends_only_the_closing_chunk():
    assert summary(chunks_of(sync_generator([]))) == [(None, True)]
    assert summary(chunks_of(async_generator([]))) == [(None, True)]


def test_bytes_items_are_binary_chunks():
    chunks = chunks_of(sync_generator([b"\x00\x01", "text"]))
    assert chunks[0].data.WhichOneof("kind") == "binary"
    assert chunks[0].data.binary == b"\x00\x01"
    assert chunks[1].data.WhichOneof("kind") == "json"


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

    chunks = chunks_of(producer())
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

    assert summary(chunks_of(producer())) == [({"n": 1, "is_final": 1}, True)]
    assert state["closed"]


def test_producer_exception_becomes_one_final_error_chunk():
    def failing():
        yield {"i": 0}
        raise RuntimeError("stream failed")

    async def failing_async():
        yield {"i": 0}
        raise KeyError("k")

    sync_chunks = chunks_of(failing())
    assert summary(sync_chunks) == [({"i": 0}, False), ("error:RuntimeError", True)]
    error = sync_chunks[-1].error
    assert error.code == "python_error" and error.message == "stream failed"
    assert "test_streaming.py" in error.traceback
    assert summary(chunks_of(failing_async())) == [({"i": 0}, False), ("error:KeyError", True)]


def test_unencodable_item_becomes_an_error_chunk():
    loop = []
    loop.append(loop)
    assert summary(chunks_of(sync_generator([1, loop, 2]))) == [(1, False), ("error:ValueError", True)]


def test_backpressure_bounds_how_far_the_producer_runs_ahead():
    produced = []

    def fast():
        for i in range(1000):
            produced.append(i)
            yield i

    executor = new_executor()

    async def go():
        stream = ChunkStream(fast(), executor=executor, session=SessionContext(), queue_size=4)
        iterator = stream.__aiter__()
        first = await iterator.__anext__()
        await asyncio.sleep(0.3)  # a slow consumer
        ahead = len(produced)
        await iterator.aclose()
        return first, ahead

    try:
        first, ahead = run(go())
    finally:
        executor.shutdown(wait=True)
    assert decode_value(first.data) == 0
    # The queue (4) plus the item being handed over and the one in flight.
    assert ahead <= 4 + 3


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

        async def consume():
            async for _ in stream:
                pass

        task = asyncio.ensure_future(consume())
        await asyncio.sleep(0.05)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert await wait_until(lambda: state["closed"])

    run(go())


def test_channel_bounds_the_producer_and_wakes_it_at_half_empty():
    from snakepit_bridge.streaming import _Channel

    async def go():
        channel = _Channel(4)
        put = []

        async def producer():
            for i in range(10):
                await channel.put(i)
                put.append(i)

        task = asyncio.ensure_future(producer())
        await asyncio.sleep(0.01)
        assert put == [0, 1, 2, 3]  # full: the producer waits
        assert await channel.get() == 0
        await asyncio.sleep(0.01)
        assert put == [0, 1, 2, 3]  # one free place is not enough to wake it
        assert await channel.get() == 1
        await asyncio.sleep(0.01)
        assert put == [0, 1, 2, 3, 4, 5]  # drained to half: refilled, never beyond 4 queued
        got = [await channel.get() for _ in range(8)]
        await task
        return got

    assert run(go()) == [2, 3, 4, 5, 6, 7, 8, 9]


def test_channel_of_size_zero_is_unbounded_like_asyncio_queue():
    from snakepit_bridge.streaming import _Channel

    async def go():
        channel = _Channel(0)
        for i in range(1000):
            await channel.put(i)
        return [await channel.get() for _ in range(1000)]

    assert run(go()) == list(range(1000))

"""ExecuteStreamingTool over a real server: chunks batched into messages, no added delay for a slow
producer, bounded memory with a slow reader."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, Dict, List

import pytest

from sample_adapters import SampleAdapter
from snakepit_bridge import tool
from snakepit_bridge.streaming.chunk_queue import MAX_MESSAGE_CHUNKS
from support import decode_value, make_call, run, serving, stable, stream, wait_until

# When each item was yielded (server side; the server runs in the test's process and clock).
yielded_at: List[float] = []
flood: Dict[str, Any] = {}


class StreamAdapter(SampleAdapter):
    @tool(supports_streaming=True)
    def count_sync(self, n: int):
        for i in range(n):
            yield {"i": i}

    @tool(supports_streaming=True)
    async def count_async(self, n: int):
        for i in range(n):
            yield {"i": i}

    @tool(supports_streaming=True)
    def slow_sync(self, n: int, ms: int):
        for i in range(n):
            time.sleep(ms / 1000)
            yielded_at.append(time.monotonic())
            yield {"i": i}

    @tool(supports_streaming=True)
    async def slow_async(self, n: int, ms: int):
        for i in range(n):
            await asyncio.sleep(ms / 1000)
            yielded_at.append(time.monotonic())
            yield {"i": i}

    @tool(supports_streaming=True)
    def flood_sync(self, size: int):
        flood.update(produced=0, closed=threading.Event())
        try:
            while True:
                flood["produced"] += 1
                yield "x" * size
        finally:
            flood["closed"].set()


@pytest.mark.parametrize("tool_name", ["count_sync", "count_async"])
def test_a_fast_producer_arrives_in_fewer_messages_than_chunks(tool_name):
    async def go():
        async with serving(StreamAdapter()) as (stub, _):
            return [message async for message in stream(stub, make_call(tool_name, n=5000), timeout=30)]

    messages = run(go(), timeout=40)
    chunks = [chunk for message in messages for chunk in message.chunks]
    assert [decode_value(chunk.data)["i"] for chunk in chunks[:-1]] == list(range(5000))
    assert [chunk.is_final for chunk in chunks].count(True) == 1 and chunks[-1].is_final
    assert not chunks[-1].HasField("data")
    assert all(1 <= len(message.chunks) <= MAX_MESSAGE_CHUNKS for message in messages)
    assert len(messages) <= len(chunks) // 10, [len(message.chunks) for message in messages]


@pytest.mark.parametrize("tool_name", ["slow_sync", "slow_async"])
def test_a_slow_producers_chunks_leave_one_by_one_without_delay(tool_name):
    arrivals = []

    async def go():
        yielded_at.clear()
        async with serving(StreamAdapter()) as (stub, _):
            async for message in stream(stub, make_call(tool_name, n=4, ms=150), timeout=10):
                arrivals.append((time.monotonic(), message))

    run(go())
    data = [(at, chunk) for at, message in arrivals for chunk in message.chunks if chunk.HasField("data")]
    assert [decode_value(chunk.data)["i"] for _, chunk in data] == list(range(4))
    # One data chunk per message: nothing waits for a later chunk.
    assert [sum(chunk.HasField("data") for chunk in message.chunks) for _, message in arrivals][:4] == [1, 1, 1, 1]
    # Each arrives right after it was yielded. Generous for a shared machine; waiting for company
    # (a timer, or a batch to fill) would add a whole interval.
    delays = [at - yielded for (at, _), yielded in zip(data, yielded_at)]
    assert max(delays) < 0.1, delays


# Without BDP probing the client's receive window stays at its initial 64 KiB, so what gRPC holds
# outside the worker's queue is small and the queue's own bound shows.
SMALL_WINDOW = [("grpc.http2.bdp_probe", 0)]


@pytest.mark.parametrize(
    "size, most",
    [
        # 16 KiB items: the byte bound holds (1 MiB: 64 items), plus a few 256 KiB messages in gRPC.
        (16 * 1024, 64 + 3 * 16),
        # 100-byte items: the chunk bound holds (1024), plus what fits gRPC's windows.
        (100, 4 * 1024),
    ],
)
def test_a_slow_reader_blocks_the_producer_with_bounded_memory(size, most):
    async def go():
        async with serving(StreamAdapter(), channel_options=SMALL_WINDOW) as (stub, _):
            call = stream(stub, make_call("flood_sync", size=size))
            await call.read()  # then reads nothing: gRPC flow control pushes back
            assert await wait_until(lambda: flood.get("produced", 0) > 0)
            # An unbounded producer (the generator is infinite) would never settle.
            produced = await stable(lambda: flood["produced"])
            call.cancel()
            assert await wait_until(flood["closed"].is_set)
            return produced

    produced = run(go(), timeout=30)
    assert produced <= most, produced

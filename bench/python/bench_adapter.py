"""The pool's side of the bench: one tool per scenario, served by process and threaded workers
alike (the thread-safe declaration is what threaded mode requires; process mode ignores it)."""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator, Dict, Iterator

from snakepit_bridge import SessionContext, ThreadSafeAdapter, tool

import bench_work


class BenchAdapter(ThreadSafeAdapter):
    @tool(description="Returns its keyword arguments unchanged.", thread_safe=True)
    def echo(self, **arguments: Any) -> Dict[str, Any]:
        return arguments

    @tool(description="Waits `ms` on the event loop (asyncio.sleep): I/O-bound work, no GIL held.", thread_safe=True)
    async def wait(self, ms: float) -> float:
        await asyncio.sleep(ms / 1000)
        return ms

    @tool(description="Pure-Python work: a loop of `iterations` steps.", thread_safe=True)
    def spin(self, iterations: int) -> int:
        return bench_work.spin(iterations)

    @tool(description="`count` tiny chunks, as fast as they can go.", supports_streaming=True, thread_safe=True)
    def counted_chunks(self, count: int) -> Iterator[Dict[str, int]]:
        yield from bench_work.counted_chunks(count)

    @tool(
        description="`count` chunks `interval_ms` apart, each carrying time.time() at its yield.",
        supports_streaming=True,
        thread_safe=True,
    )
    async def timed_chunks(self, count: int, interval_ms: float) -> AsyncIterator[Dict[str, Any]]:
        for index in range(count):
            await asyncio.sleep(interval_ms / 1000)
            yield bench_work.timed_chunk(index)

    @tool(
        description="`count` chunks of `size` characters each, as fast as the consumer takes them.",
        supports_streaming=True,
        thread_safe=True,
    )
    def large_chunks(self, count: int, size: int) -> Iterator[Dict[str, Any]]:
        yield from bench_work.large_chunks(count, size)

    @tool(description="Returns the given bytes.", thread_safe=True)
    def echo_bytes(self, data: bytes) -> bytes:
        return data

    @tool(description="Reads the session's counter from the host, writes it back plus one, returns it.", thread_safe=True)
    def session_counter(self, *, context: SessionContext) -> int:
        value = context.state.get("counter", 0) + 1
        context.state.set("counter", value)
        return value

    @tool(description="a + b, computed by the host tool bench_add.", thread_safe=True)
    def host_add(self, a: int, b: int, *, context: SessionContext) -> Any:
        return context.call_host_tool("bench_add", a=a, b=b)

"""Bridging a tool's output into a gRPC server stream.

A producer task drains the tool's iterator into a bounded queue (backpressure: it runs at most
`queue_size` chunks ahead of what gRPC has taken); the RPC handler yields from the queue.

Chunk rules (the wire contract):
- each item is sent at once (no look-ahead) with is_final=false, encoded like a result;
- an item that is a dict with a truthy "is_final" is sent with is_final=true and ends the stream;
- a generator that ends without such an item is followed by one closing chunk (is_final=true,
  no data);
- a single value (not an iterator) is one chunk with is_final=true;
- a producer exception becomes one final chunk carrying `error`.
So every stream ends with exactly one is_final chunk.

When the caller goes away, the producer is cancelled and the generator is closed, so its
`finally:` blocks run and the Python side really stops.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
from collections import deque
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import Executor
from typing import Any, AsyncIterator as AsyncIteratorT, Deque, List, Optional, Set

from snakepit.bridge.v1 import worker_pb2

from .encoding import encode_into
from .session_context import SessionContext
from .tool_errors import exception_to_tool_error
from .tool_threads import run_in_thread

__all__ = ["DEFAULT_QUEUE_SIZE", "ChunkStream", "collect_items", "is_final_item", "error_chunk"]

DEFAULT_QUEUE_SIZE = 16

_log = logging.getLogger("snakepit_bridge.streaming")

# asyncio keeps only weak references to tasks; producers that outlive their consumer (closing a
# generator after the final chunk was sent) are kept alive here until they finish.
_background: Set["asyncio.Future[None]"] = set()

Chunk = worker_pb2.ExecuteStreamingToolResponse


def is_final_item(item: Any) -> bool:
    return isinstance(item, dict) and bool(item.get("is_final"))


def is_async_stream(value: Any) -> bool:
    return isinstance(value, AsyncIterator)


def is_sync_stream(value: Any) -> bool:
    return isinstance(value, Iterator)


def data_chunk(item: Any) -> Chunk:
    chunk = Chunk()
    # Filled in place: Chunk(data=ToolValue(...)) would build the value and then copy it.
    encode_into(chunk.data, item)
    if is_final_item(item):
        chunk.is_final = True
    return chunk


def error_chunk(exc: BaseException) -> Chunk:
    return Chunk(is_final=True, error=exception_to_tool_error(exc))


def _closing_chunk() -> Chunk:
    return Chunk(is_final=True)


class _SyncStepper:
    """Advances a sync iterator one item per call, from executor threads.

    The lock serialises `step` and `close`: a generator cannot be closed while another thread is
    inside `next()`, so a close requested during a step waits for that step to return.
    """

    def __init__(self, iterator: Iterator[Any]) -> None:
        self._iterator = iterator
        self._lock = threading.Lock()
        self._stopped = False

    def step(self) -> Optional[Chunk]:
        """The next chunk (encoded in this worker thread, off the loop), or None when exhausted."""
        with self._lock:
            if self._stopped:
                return None
            try:
                item = next(self._iterator)
            except StopIteration:
                return None
        return data_chunk(item)

    def close(self) -> None:
        with self._lock:
            self._stopped = True
            close = getattr(self._iterator, "close", None)
            if callable(close):
                try:
                    close()
                except Exception:  # a generator's own cleanup failing must not escape a thread
                    _log.warning("closing a stream generator raised", exc_info=True)


class _Channel:
    """The bounded queue between one producer task and one consumer.

    asyncio.Queue does more per item than this needs (task accounting, a `finished` event, waiter
    deques for many producers and consumers), and this runs once per chunk.

    A producer blocked on a full queue is woken when the queue has drained to half, not at the
    first free place: when gRPC is the slower side (the usual case) it then produces in runs of
    several chunks instead of paying a task switch for every chunk. It still never runs more than
    `size` chunks ahead. The consumer is woken at once: every chunk goes out as soon as it exists.
    """

    __slots__ = ("_items", "_size", "_low", "_getter", "_putter")

    def __init__(self, size: int) -> None:
        self._items: Deque[Chunk] = deque()
        # Like asyncio.Queue: a size of 0 or less means no bound.
        self._size: float = size if size > 0 else float("inf")
        self._low: float = size // 2 if size > 0 else float("inf")
        self._getter: Optional["asyncio.Future[None]"] = None
        self._putter: Optional["asyncio.Future[None]"] = None

    async def put(self, chunk: Chunk) -> None:
        """Waits while the queue is full, then appends."""
        items = self._items
        while len(items) >= self._size:
            self._putter = asyncio.get_running_loop().create_future()
            await self._putter
        items.append(chunk)
        _wake(self._getter)

    async def get(self) -> Chunk:
        items = self._items
        while not items:
            self._getter = asyncio.get_running_loop().create_future()
            await self._getter
        chunk = items.popleft()
        if len(items) <= self._low:
            _wake(self._putter)
        return chunk


def _wake(waiter: Optional["asyncio.Future[None]"]) -> None:
    if waiter is not None and not waiter.done():
        waiter.set_result(None)


async def _aclose(iterator: Any) -> None:
    aclose = getattr(iterator, "aclose", None)
    if callable(aclose):
        try:
            await aclose()
        except Exception:
            _log.warning("closing a stream async generator raised", exc_info=True)


async def _produce_async(iterator: Any, queue: _Channel) -> None:
    try:
        async for item in iterator:
            chunk = data_chunk(item)
            await queue.put(chunk)
            if chunk.is_final:
                return
        await queue.put(_closing_chunk())
    except (asyncio.CancelledError, KeyboardInterrupt):
        raise
    except BaseException as exc:  # SystemExit from a tool is reported, not obeyed
        await queue.put(error_chunk(exc))
    finally:
        await _aclose(iterator)


async def _produce_sync(iterator: Iterator[Any], queue: _Channel, executor: Executor) -> None:
    stepper = _SyncStepper(iterator)
    try:
        while True:
            # Each step in a thread, inside a fresh copy of this task's context.
            chunk = await run_in_thread(executor, stepper.step, hold=False)
            if chunk is None:
                await queue.put(_closing_chunk())
                break
            await queue.put(chunk)
            if chunk.is_final:
                break
    except asyncio.CancelledError:
        # The caller is gone. A step may still be running in its thread; the close queues behind
        # it (stepper lock) without this task waiting for it.
        try:
            executor.submit(contextvars.copy_context().run, stepper.close)
        except RuntimeError:  # executor already shut down: the process is exiting anyway
            pass
        raise
    except KeyboardInterrupt:
        raise
    except BaseException as exc:
        await queue.put(error_chunk(exc))
    # Normal end (exhausted, final item or error): close now so the generator's finally runs.
    await run_in_thread(executor, stepper.close, hold=False)


def _keep_until_done(task: "asyncio.Future[None]") -> None:
    _background.add(task)
    task.add_done_callback(_background.discard)


class ChunkStream:
    """The chunks of a tool's result, ending with exactly one is_final chunk.

    Iterate it with `async for`. `abandon()` stops the producer early; the RPC handler also calls it
    from the RPC's done callback, because a cancelled RPC whose task was blocked writing to gRPC
    does not resume this iterator, and waiting for garbage collection to close it is too late.
    """

    def __init__(
        self,
        result: Any,
        *,
        executor: Executor,
        session: SessionContext,
        queue_size: int = DEFAULT_QUEUE_SIZE,
    ) -> None:
        self._result = result
        self._executor = executor
        self._session = session
        self._queue = _Channel(queue_size)
        self._producer: Optional["asyncio.Future[None]"] = None
        self._delivered_final = False

    def __aiter__(self) -> AsyncIteratorT[Chunk]:
        return self._chunks()

    def abandon(self) -> None:
        """Stops production unless the final chunk was already handed over. Idempotent."""
        if self._delivered_final:
            return
        # Cooperative sync tools watch this flag.
        self._session.mark_cancelled()
        if self._producer is not None and not self._producer.done():
            self._producer.cancel()

    async def _chunks(self) -> AsyncIteratorT[Chunk]:
        result = self._result
        if is_async_stream(result):
            producer = _produce_async(result, self._queue)
        elif is_sync_stream(result):
            producer = _produce_sync(result, self._queue, self._executor)
        else:
            try:
                single = Chunk(is_final=True)
                encode_into(single.data, result)
            except Exception as exc:
                single = error_chunk(exc)
            self._delivered_final = True
            yield single
            return

        self._producer = asyncio.ensure_future(producer)
        _keep_until_done(self._producer)
        try:
            while True:
                chunk = await self._queue.get()
                # Set before yielding: once the final chunk is handed to gRPC the stream is complete.
                self._delivered_final = chunk.is_final
                yield chunk
                if self._delivered_final:
                    return
        finally:
            self.abandon()


async def collect_items(result: Any, *, executor: Executor, session: SessionContext) -> Any:
    """For unary calls: a stream's items as one list (up to and including an is_final item);
    any other value unchanged."""
    if is_async_stream(result):
        items: List[Any] = []
        try:
            async for item in result:
                items.append(item)
                if is_final_item(item):
                    break
        finally:
            await _aclose(result)
        return items
    if is_sync_stream(result):
        return await run_in_thread(executor, _drain, result, session)
    return result


def _drain(iterator: Iterator[Any], session: SessionContext) -> List[Any]:
    items: List[Any] = []
    try:
        for item in iterator:
            items.append(item)
            # Checked between items: a cancelled unary call stops pulling from the generator.
            if is_final_item(item) or session.is_cancelled():
                break
    finally:
        close = getattr(iterator, "close", None)
        if callable(close):
            close()
    return items

"""Bridging a tool's output into a gRPC server stream, in messages of as many chunks as are ready.

A producer drains the tool's iterator into a bounded `ChunkQueue` (chunk_queue.py); the RPC
handler takes one message from it each time gRPC is ready for the next: every chunk that is ready
(bounded), or, when none is, the next chunk as soon as it exists. No timer, no look-ahead: a fast
producer is not paced at one message per chunk, and a slow one's chunks leave as they come.

Chunk rules (the wire contract):
- each item is one chunk with is_final=false, encoded like a result;
- an item that is a dict with a truthy "is_final" is sent with is_final=true and ends the stream;
- a generator that ends without such an item is followed by one closing chunk (is_final=true,
  no data);
- a single value (not an iterator) is one chunk with is_final=true;
- a producer exception becomes one final chunk carrying `error`.
So every stream ends with exactly one is_final chunk, the last chunk of its message.

Backpressure: with a slow reader gRPC's flow control blocks the handler's write, the queue fills
(bounded by chunks and by bytes) and the producer waits.

Sync generators run in tool threads, never on the loop, and make many items per hop: a run goes
on until the queue is full or the stream ends, and wakes the loop only when the handler is waiting
for a chunk, once per wait. (A hop per item capped a fast sync stream at the hop's cost.) Async
generators run on the loop; one that does not await fills the queue before the handler runs again.

When the caller goes away, the producer is cancelled and the generator is closed, so its
`finally:` blocks run and the Python side really stops.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import Executor
from typing import Any, AsyncIterator as AsyncIteratorT, List, Optional, Set

from ..encoding import encode_into
from ..session_context import SessionContext
from ..tools.errors import exception_to_tool_error
from ..tools.threads import run_in_thread
from .chunk_queue import DEFAULT_QUEUE_BYTES, DEFAULT_QUEUE_SIZE, ChunkQueue, Message, final_message, is_final_item

__all__ = ["ChunkStream", "collect_items"]

_log = logging.getLogger("snakepit_bridge.streaming")

# asyncio keeps only weak references to tasks; producers that outlive their consumer (closing a
# generator after the final chunk was sent) are kept alive here until they finish.
_background: Set["asyncio.Future[None]"] = set()


def is_async_stream(value: Any) -> bool:
    return isinstance(value, AsyncIterator)


def is_sync_stream(value: Any) -> bool:
    return isinstance(value, Iterator)


def _single_message(result: Any) -> Message:
    message = Message()
    chunk = message.chunks.add()
    chunk.is_final = True
    try:
        encode_into(chunk.data, result)
    except Exception as exc:
        return final_message(exception_to_tool_error(exc))
    return message


class _SyncProducer:
    """Drives a sync iterator from tool threads, as many items per hop as the queue has room for.

    The lock serialises `run` and `close`: a generator is never closed while another thread is
    inside its `next()`. `stop()` makes a run in progress close the generator after its current
    item; `close()` covers the case where no run is in progress.
    """

    __slots__ = ("_iterator", "_queue", "_lock", "_stopped", "_closed")

    def __init__(self, iterator: Iterator[Any], queue: ChunkQueue) -> None:
        self._iterator = iterator
        self._queue = queue
        self._lock = threading.Lock()
        self._stopped = False
        self._closed = False

    def run(self) -> bool:
        """In a tool thread: makes items until the queue is full (False), or until the stream has
        ended or was stopped (True; the generator is then closed, from this thread)."""
        queue = self._queue
        iterator = self._iterator
        with self._lock:
            if self._closed:
                return True
            try:
                # `_stopped` is a plain attribute set on the loop thread: checked between items.
                while not self._stopped:
                    if not queue.has_room():
                        return False
                    try:
                        item = next(iterator)
                    except StopIteration:
                        queue.put_end()
                        break
                    if queue.put(item):
                        break
            except BaseException as exc:  # SystemExit from a tool is reported, not obeyed
                queue.put_end(exception_to_tool_error(exc))
            self._close()
        return True

    def stop(self) -> None:
        self._stopped = True

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._closed:
            return
        self._closed = True
        close = getattr(self._iterator, "close", None)
        if callable(close):
            try:
                close()
            except Exception:  # a generator's own cleanup failing must not escape a thread
                _log.warning("closing a stream generator raised", exc_info=True)


async def _aclose(iterator: object) -> None:
    aclose = getattr(iterator, "aclose", None)
    if callable(aclose):
        try:
            await aclose()
        except Exception:
            _log.warning("closing a stream async generator raised", exc_info=True)


async def _produce_async(iterator: AsyncIteratorT[Any], queue: ChunkQueue) -> None:
    # On the loop: a generator that does not await fills the queue before the handler runs again,
    # so it batches by itself.
    try:
        async for item in iterator:
            if queue.put(item):
                return
            if not queue.has_room():
                await queue.room()
        queue.put_end()
    except (asyncio.CancelledError, KeyboardInterrupt):
        raise
    except BaseException as exc:  # SystemExit from a tool is reported, not obeyed
        queue.put_end(exception_to_tool_error(exc))
    finally:
        await _aclose(iterator)


async def _produce_sync(producer: _SyncProducer, queue: ChunkQueue, executor: Executor) -> None:
    try:
        # Each run in a thread, inside a fresh copy of this task's context (session, correlation id).
        while not await run_in_thread(executor, producer.run, hold=False):
            await queue.room()
    except asyncio.CancelledError:
        # The caller is gone. A run still going in its thread closes the generator after its
        # current item; otherwise the close runs in a thread of its own. This task waits for neither.
        producer.stop()
        context = contextvars.copy_context()
        try:
            executor.submit(lambda: context.run(producer.close))
        except RuntimeError:  # executor already shut down: the process is exiting anyway
            pass
        raise
    except Exception as exc:
        # The hop itself failed (runs catch everything): the stream still ends with a final chunk.
        queue.put_end(exception_to_tool_error(exc))


def _keep_until_done(task: "asyncio.Future[None]") -> None:
    _background.add(task)
    task.add_done_callback(_background.discard)


class ChunkStream:
    """The messages of a tool's result; the last chunk of the last message is the one final chunk.

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
        queue_bytes: int = DEFAULT_QUEUE_BYTES,
    ) -> None:
        self._result = result
        self._executor = executor
        self._session = session
        self._queue_size = queue_size
        self._queue_bytes = queue_bytes
        self._producer: Optional["asyncio.Future[None]"] = None
        self._delivered_final = False

    def __aiter__(self) -> AsyncIteratorT[Message]:
        return self._messages()

    def abandon(self) -> None:
        """Stops production unless the final chunk was already handed over. Idempotent."""
        if self._delivered_final:
            return
        # Cooperative sync tools watch this flag.
        self._session.mark_cancelled()
        if self._producer is not None and not self._producer.done():
            self._producer.cancel()

    async def _messages(self) -> AsyncIteratorT[Message]:
        result = self._result
        if is_async_stream(result):
            queue = ChunkQueue(self._queue_size, self._queue_bytes, from_thread=False)
            producer = _produce_async(result, queue)
        elif is_sync_stream(result):
            queue = ChunkQueue(self._queue_size, self._queue_bytes, from_thread=True)
            producer = _produce_sync(_SyncProducer(result, queue), queue, self._executor)
        else:
            self._delivered_final = True
            yield _single_message(result)
            return

        self._producer = asyncio.ensure_future(producer)
        _keep_until_done(self._producer)
        try:
            while True:
                message = await queue.take()
                # Set before yielding: once the final chunk is handed to gRPC the stream is complete.
                self._delivered_final = final = message.chunks[-1].is_final
                yield message
                if final:
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

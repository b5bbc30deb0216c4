"""The queue between a stream's producer and its RPC handler, holding chunks already grouped into
the messages they will leave in.

Each take is one message: every chunk queued since the last take, up to `MAX_MESSAGE_CHUNKS`
chunks and `MAX_MESSAGE_BYTES` of payload; a chunk larger than that goes alone. A take on an
empty queue waits for the next chunk, so the first chunk after a pause leaves at once.

The queue is bounded by chunks and by payload bytes. A producer that finds it full waits until it
has drained to half, so it then produces in runs rather than one chunk per wake-up.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from typing import TYPE_CHECKING, Any, Deque, Optional, Tuple

from snakepit.bridge.v1 import common_pb2, worker_pb2

from ..encoding import encode_json

if TYPE_CHECKING:  # pragma: no cover - typing.TypeAlias is Python 3.10+
    from typing_extensions import TypeAlias

__all__ = [
    "DEFAULT_QUEUE_SIZE",
    "DEFAULT_QUEUE_BYTES",
    "MAX_MESSAGE_CHUNKS",
    "MAX_MESSAGE_BYTES",
    "ChunkQueue",
    "Message",
    "final_message",
    "is_final_item",
]

# The queue's bounds. 1024 chunks are four full messages: the producer, woken at half, still runs
# hundreds of items per hop while gRPC sends what is queued. 1 MiB bounds the memory one stream
# holds in the worker, whatever its chunk size (gRPC's own buffers come on top, flow-controlled).
DEFAULT_QUEUE_SIZE = 1024
DEFAULT_QUEUE_BYTES = 1 << 20
# One message's bounds: large enough that per-message costs vanish, small enough that a message
# never waits long for its last chunk to be encoded or sits far above the HTTP/2 window.
MAX_MESSAGE_CHUNKS = 256
MAX_MESSAGE_BYTES = 256 << 10

# One message of a stream: the chunks that leave together.
Message: TypeAlias = worker_pb2.ExecuteStreamingToolResponse

_UNBOUNDED = float("inf")


def is_final_item(item: Any) -> bool:
    return isinstance(item, dict) and bool(item.get("is_final"))


def final_message(error: Optional[common_pb2.ToolError] = None) -> Message:
    """A message of one final chunk without data: carrying `error` when the stream failed."""
    message = Message()
    chunk = message.chunks.add()
    chunk.is_final = True
    if error is not None:
        chunk.error.CopyFrom(error)
    return message


def _payload(item: Any) -> Tuple[bytes, bool]:
    """An item's encoded payload and whether it is binary (see encoding.encode_into)."""
    if isinstance(item, (bytes, bytearray)):
        return bytes(item), True
    if isinstance(item, memoryview):
        return item.tobytes(), True
    return encode_json(item), False


def _wake(waiter: Optional["asyncio.Future[None]"]) -> None:
    if waiter is not None and not waiter.done():
        waiter.set_result(None)


class _Batch:
    """One message being filled, with its chunk count and payload bytes."""

    __slots__ = ("message", "chunks", "size")

    def __init__(self) -> None:
        self.message = Message()
        self.chunks = 0
        self.size = 0


class ChunkQueue:
    """The chunks between one producer and the RPC handler, grouped into the messages they leave in.

    Puts may come from a tool thread (sync generators) while the handler takes on the loop; the
    lock guards the batches, the totals and the handler's waiter. The producer's wait for room
    happens only on the loop, while no run is in a thread.

    The producer checks `has_room()` before making each item, so the queue exceeds its bounds by
    one item at most (an item's size is known only once it is made).
    """

    __slots__ = (
        "_loop", "_from_thread", "_lock", "_batches", "_chunks", "_bytes",
        "_max_chunks", "_max_bytes", "_low_chunks", "_low_bytes", "_getter", "_putter",
    )

    def __init__(self, max_chunks: int, max_bytes: int, *, from_thread: bool) -> None:
        self._loop = asyncio.get_running_loop()
        self._from_thread = from_thread
        self._lock = threading.Lock()
        self._batches: Deque[_Batch] = deque()
        self._chunks = 0
        self._bytes = 0
        # Like asyncio.Queue: a bound of 0 or less means none.
        self._max_chunks: float = max_chunks if max_chunks > 0 else _UNBOUNDED
        self._max_bytes: float = max_bytes if max_bytes > 0 else _UNBOUNDED
        self._low_chunks: float = max_chunks // 2 if max_chunks > 0 else _UNBOUNDED
        self._low_bytes: float = max_bytes // 2 if max_bytes > 0 else _UNBOUNDED
        # The handler waiting for a chunk; the producer waiting for room.
        self._getter: Optional["asyncio.Future[None]"] = None
        self._putter: Optional["asyncio.Future[None]"] = None

    # -- producer side -----------------------------------------------------------------------

    def has_room(self) -> bool:
        return self._chunks < self._max_chunks and self._bytes < self._max_bytes

    def put(self, item: Any) -> bool:
        """Encodes and queues one item (in the producer's thread); True when it ends the stream."""
        payload, binary = _payload(item)
        final = is_final_item(item)
        self._add(payload, binary, final, None)
        return final

    def put_end(self, error: Optional[common_pb2.ToolError] = None) -> None:
        """Queues the chunk that closes the stream: without data, carrying `error` if it failed."""
        self._add(None, False, True, error)

    def _add(
        self, payload: Optional[bytes], binary: bool, final: bool, error: Optional[common_pb2.ToolError]
    ) -> None:
        size = len(payload) if payload is not None else 0
        with self._lock:
            batches = self._batches
            batch = batches[-1] if batches else None
            if batch is None or batch.chunks >= MAX_MESSAGE_CHUNKS or batch.size + size > MAX_MESSAGE_BYTES:
                batch = _Batch()
                batches.append(batch)
            # Built in the message it leaves in: nothing is copied later.
            chunk = batch.message.chunks.add()
            if payload is not None:
                if binary:
                    chunk.data.binary = payload
                else:
                    chunk.data.json = payload
            if final:
                chunk.is_final = True
            if error is not None:
                chunk.error.CopyFrom(error)
            batch.chunks += 1
            batch.size += size
            self._chunks += 1
            self._bytes += size
            getter = self._getter
            self._getter = None
        if getter is not None:
            if self._from_thread:
                try:
                    self._loop.call_soon_threadsafe(_wake, getter)
                except RuntimeError:  # the loop is closed: the worker is exiting and nobody waits
                    pass
            else:
                _wake(getter)

    async def room(self) -> None:
        """On the loop: waits until the handler has drained the queue to half its bounds."""
        if self._chunks <= self._low_chunks and self._bytes <= self._low_bytes:
            return
        putter = self._putter = self._loop.create_future()
        await putter

    # -- handler side ------------------------------------------------------------------------

    async def take(self) -> Message:
        """The oldest message: the chunks queued since the last take, up to the message bounds."""
        while True:
            with self._lock:
                if self._batches:
                    batch = self._batches.popleft()
                    self._chunks -= batch.chunks
                    self._bytes -= batch.size
                    break
                getter = self._getter = self._loop.create_future()
            await getter
        # Read without the lock: while the producer waits for room, no run is putting.
        putter = self._putter
        if putter is not None and self._chunks <= self._low_chunks and self._bytes <= self._low_bytes:
            self._putter = None
            _wake(putter)
        return batch.message

"""The worker's call slots: how many tool calls run at once, and what happens to the next one.

Pool-spawned threaded workers admit N calls and queue the rest FIFO without limit (the pool never
sends more than N, so the queue only absorbs races). A worker run as a service
(`python -m snakepit_bridge.serve`) is shared by clients that do not know of each other, so it
enforces its capacity (process mode 1, threaded N) itself: a call beyond it waits in a short
queue (`queue_limit` places, at most `timeout` seconds), or is refused with `WorkerBusy`. A
refused call never ran: the refusal happens before the tool is looked up.

Fast path: a free slot is taken with `try_acquire()`, a plain method call; only a call that finds
none awaits `wait()`. Slots are handed from one call to the next in arrival order, so a burst of
newcomers cannot overtake the queue. `close()` (the service draining) refuses every waiting and
future call; the calls holding slots run on.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from typing import Any, Deque, Dict, Optional

from ..error_codes import WORKER_BUSY
from ..tools.errors import ToolCallError

__all__ = ["Admission", "WorkerBusy", "BUSY_CAPACITY", "BUSY_QUEUE_TIMEOUT", "BUSY_DRAINING"]

# `details.reason` of a WorkerBusy refusal.
BUSY_CAPACITY = "capacity"  # every slot taken and the admission queue full (or none)
BUSY_QUEUE_TIMEOUT = "queue_timeout"  # waited the admission timeout in the queue
BUSY_DRAINING = "draining"  # the worker is shutting down (SIGTERM): it takes no new calls


class WorkerBusy(ToolCallError):
    """The worker refused a call for want of a slot; the call never ran. Code `worker_busy`."""

    def __init__(self, message: str, details: Dict[str, Any]) -> None:
        super().__init__(WORKER_BUSY, message, details)

    def details_bytes(self) -> bytes:
        return json.dumps(self.details, separators=(",", ":")).encode("utf-8")


class Admission:
    """`limit` slots. `queue_limit`: how many calls may wait for one (None: any number); `timeout`:
    how long, in seconds (None: until a slot frees up). Use on the event loop only."""

    __slots__ = ("limit", "queue_limit", "timeout", "_free", "_waiters", "_closed")

    def __init__(self, limit: int, *, queue_limit: Optional[int] = None, timeout: Optional[float] = None) -> None:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        self.limit = limit
        self.queue_limit = queue_limit
        self.timeout = timeout
        self._free = limit
        self._waiters: Deque["asyncio.Future[None]"] = deque()
        self._closed: Optional[str] = None

    @property
    def in_use(self) -> int:
        return self.limit - self._free

    @property
    def queued(self) -> int:
        # Waiters leave the deque when granted, expired, cancelled or refused.
        return len(self._waiters)

    def try_acquire(self) -> bool:
        """Takes a free slot if there is one and nobody waits for it."""
        if self._free and not self._waiters and self._closed is None:
            self._free -= 1
            return True
        return False

    async def wait(self) -> None:
        """Waits for a slot in FIFO order (after `try_acquire()` failed); raises WorkerBusy when the
        queue is full, the wait times out or the admission closes. A cancelled waiter leaves the
        queue (or hands on the slot it was just given)."""
        if self._closed is not None:
            raise self._busy(BUSY_DRAINING)
        if self._free and not self._waiters:
            self._free -= 1
            return
        queue_limit = self.queue_limit
        if queue_limit is not None and self.queued >= queue_limit:
            raise self._busy(BUSY_CAPACITY)
        loop = asyncio.get_running_loop()
        waiter: "asyncio.Future[None]" = loop.create_future()
        self._waiters.append(waiter)
        timer = loop.call_later(self.timeout, self._expire, waiter) if self.timeout is not None else None
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self.release()  # granted just as the call was cancelled: pass the slot on
            else:
                waiter.cancel()
                self._discard(waiter)
            raise
        finally:
            if timer is not None:
                timer.cancel()

    def release(self) -> None:
        """Gives a slot back: to the first call still waiting, else to the free slots."""
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._free += 1

    def close(self, reason: str = BUSY_DRAINING) -> None:
        """Refuses every waiting call and every later one (`reason` in their details); calls that
        hold a slot keep it until they release it."""
        self._closed = reason
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_exception(self._busy(reason))

    # -- refusals ----------------------------------------------------------------------------

    def _expire(self, waiter: "asyncio.Future[None]") -> None:
        if not waiter.done():
            self._discard(waiter)
            waiter.set_exception(self._busy(BUSY_QUEUE_TIMEOUT))

    def _discard(self, waiter: "asyncio.Future[None]") -> None:
        try:
            self._waiters.remove(waiter)
        except ValueError:
            pass

    def _busy(self, reason: str) -> WorkerBusy:
        details: Dict[str, Any] = {
            "reason": reason,
            "capacity": self.limit,
            "in_use": self.in_use,
            "queued": self.queued,
        }
        if reason == BUSY_DRAINING:
            message = "the worker is draining (shutting down) and takes no new calls; the call did not run"
        elif reason == BUSY_QUEUE_TIMEOUT:
            timeout_ms = round((self.timeout or 0) * 1000)
            details["admission_timeout_ms"] = timeout_ms
            message = (
                f"the worker is busy: no call slot became free within {timeout_ms} ms "
                f"(capacity {self.limit}); the call did not run"
            )
        else:
            details["admission_queue"] = self.queue_limit
            message = (
                f"the worker is busy: all {self.limit} call slot(s) are taken and its admission queue "
                f"({self.queue_limit} place(s)) is full; the call did not run"
            )
        return WorkerBusy(message, details)

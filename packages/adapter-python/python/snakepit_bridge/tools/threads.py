"""The threads sync tools run in: a small executor with a cheap hop from the event loop.

Sync tools run off the event loop so a long call never starves pings and heartbeats, which makes
every sync call a round trip loop → thread → loop: the largest part of the worker's CPU per call.

What `run_in_thread` does instead of `loop.run_in_executor` on a `ThreadPoolExecutor`:
- No `concurrent.futures.Future` per call (a Condition with Python-level locking, chained to an
  asyncio future through two done callbacks), and no executor bookkeeping after the call (its idle
  semaphore) holding the GIL just when the loop thread wakes up for the result: a call goes to a
  thread through one SimpleQueue, and answering it is the last thing the thread does.
- With `hold_loop` (process mode, see worker/mode.py) the loop thread first waits up to that long
  for the call, blocked on a lock (GIL released). A quick tool's answer then comes straight back
  (one futex wake) instead of through the loop's self-pipe, a wake-up of `epoll` and two more loop
  iterations: about half of the round trip's CPU. A call still running after `hold_loop` continues
  as usual, with the loop free again, so the loop is never held longer than that. A tool thread
  that needs the loop meanwhile (a blocking host-bridge call) calls `loop_needed()`, which ends the
  wait at once.
- Outcomes travel as `(True, result)` or `(False, exception)` and are raised again in the awaiting
  coroutine: asyncio futures refuse StopIteration as an exception, which used to leave a sync tool
  raising it hanging until its deadline.

`ToolThreads` is also a `concurrent.futures.Executor` (`submit`, `shutdown(wait, cancel_futures=)`).
Threads start on demand up to `max_workers` and never exit before `shutdown()`. They are daemon
threads: a tool stuck in one must not keep the process alive (the server decides how long to wait
for them, see snakepit_bridge/server.py).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import queue
import threading
from concurrent.futures import Executor, Future
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

__all__ = ["ToolThreads", "run_in_thread", "loop_needed"]

Outcome = Tuple[bool, Any]

# States of a call whose loop thread may be holding (waiting) for it.
_HOLDING = 0  # the loop thread waits (or is about to) on the call's waiter lock
_RELEASE = 1  # loop_needed(): the loop thread must stop waiting; no outcome yet
_DETACHED = 2  # the loop thread went back to the loop; the outcome goes to `future`
_DONE = 3  # the outcome is in `outcome`, for the loop thread to take

# The call a tool thread is running, for loop_needed().
_running = threading.local()


def _deliver(future: "asyncio.Future[Outcome]", outcome: Outcome) -> None:
    # On the loop thread. A cancelled caller has stopped waiting; the outcome is dropped.
    if not future.done():
        future.set_result(outcome)


def loop_needed() -> None:
    """Called from a tool thread that is about to wait for work on the event loop (a blocking
    host-bridge call): a loop thread holding for this call goes back to the loop at once."""
    call = getattr(_running, "call", None)
    if call is not None:
        call.release_loop()


class _LoopCall:
    """A call from the event loop. Without holding, its outcome goes to `future` from the start."""

    __slots__ = ("loop", "context", "function", "args", "future", "outcome", "state", "locks")

    def __init__(self, loop: asyncio.AbstractEventLoop, context: contextvars.Context,
                 function: Callable[..., Any], args: Tuple[Any, ...], hold: bool) -> None:
        self.loop = loop
        self.context = context
        self.function = function
        self.args = args
        self.outcome: Optional[Outcome] = None
        # (lock, waiter) of a call the loop thread may hold for: the lock guards `state`, the loop
        # thread waits on the waiter (acquired here, released by the tool thread). None otherwise.
        self.locks: Optional[Tuple[threading.Lock, threading.Lock]]
        if hold:
            self.future: Optional["asyncio.Future[Outcome]"] = None
            self.state = _HOLDING
            waiter = threading.Lock()
            waiter.acquire()
            self.locks = (threading.Lock(), waiter)
        else:
            self.future = loop.create_future()
            self.state = _DETACHED
            self.locks = None

    # -- in the tool thread ------------------------------------------------------------------

    def run(self, now_idle: Callable[[], None]) -> None:
        # A caller cancelled while the call was queued never runs it (like Future.cancel()).
        # Reading the state from this thread is a plain attribute read.
        future = self.future
        if future is not None and future.cancelled():
            now_idle()
            return
        _running.call = self
        try:
            outcome: Outcome = (True, self.context.run(self.function, *self.args))
        except BaseException as exc:  # SystemExit from a tool is reported, not obeyed
            outcome = (False, exc)
        finally:
            _running.call = None
        # Idle first: the loop may hand over the next call as soon as it hears of this one.
        now_idle()
        self.finish(outcome)

    def finish(self, outcome: Outcome) -> None:
        locks = self.locks
        if locks is not None:
            lock, waiter = locks
            with lock:
                state = self.state
                if state != _DETACHED:
                    self.outcome = outcome
                    self.state = _DONE
                    if state == _HOLDING:
                        waiter.release()
                    return
        future = self.future
        assert future is not None  # detached: made at the start, or by hold() before it let go
        try:
            self.loop.call_soon_threadsafe(_deliver, future, outcome)
        except RuntimeError:  # the loop is closed: the worker is exiting and nobody waits
            pass

    def release_loop(self) -> None:
        locks = self.locks
        if locks is not None:
            lock, waiter = locks
            with lock:
                if self.state == _HOLDING:
                    self.state = _RELEASE
                    waiter.release()

    def cancel(self) -> None:
        # shutdown(cancel_futures=True) drained this call before any thread took it.
        self.finish((False, asyncio.CancelledError()))

    # -- on the loop thread ------------------------------------------------------------------

    def hold(self, seconds: float) -> Optional[Outcome]:
        """Waits up to `seconds` for the outcome; None: the call goes on, await `self.future`.
        A call made without `hold` returns None at once."""
        locks = self.locks
        if locks is None:
            return None
        lock, waiter = locks
        waiter.acquire(timeout=seconds)
        with lock:
            if self.state == _DONE:
                return self.outcome
            self.future = self.loop.create_future()
            self.state = _DETACHED
        return None


class _FutureCall:
    """A `submit()` call: the plain concurrent.futures contract."""

    __slots__ = ("future", "function", "args", "kwargs")

    def __init__(
        self, future: "Future[Any]", function: Callable[..., Any], args: Tuple[Any, ...], kwargs: Dict[str, Any]
    ) -> None:
        self.future = future
        self.function = function
        self.args = args
        self.kwargs = kwargs

    def run(self, now_idle: Callable[[], None]) -> None:
        if not self.future.set_running_or_notify_cancel():
            now_idle()
            return
        try:
            result = self.function(*self.args, **self.kwargs)
        except BaseException as exc:
            now_idle()
            self.future.set_exception(exc)
        else:
            now_idle()
            self.future.set_result(result)

    def cancel(self) -> None:
        self.future.cancel()


# What the threads take from the queue; None tells one thread to stop.
_Work = Union[_LoopCall, _FutureCall]


class ToolThreads(Executor):
    """Up to `max_workers` threads named `<thread_name_prefix>_<n>`, started when needed.

    `hold_loop`: seconds the event loop thread may wait for a call before going back to the loop
    (0: never waits). Only for a worker serving one call at a time: while it waits, the loop
    starts nothing else.
    """

    def __init__(self, max_workers: int, thread_name_prefix: str = "snakepit-tool", *, hold_loop: float = 0.0) -> None:
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self.hold_loop = hold_loop
        self._max_workers = max_workers
        self._prefix = thread_name_prefix
        self._queue: "queue.SimpleQueue[Optional[_Work]]" = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads: List[threading.Thread] = []
        # Threads free for a new call (waiting, or about to wait, on the queue).
        self._idle = 0
        # Calls queued while every thread was busy and no more could start: the next thread to
        # finish takes one instead of counting itself idle.
        self._backlog = 0
        self._shutdown = False

    def start(self, function: Callable[..., Any], args: Tuple[Any, ...] = (), *, hold: bool = False) -> _LoopCall:
        """Hands `function(*args)` to a thread, to run inside a copy of the caller's contextvars (the
        session context and correlation id stay visible to the tool and its log lines).

        Call on the event loop. Cancelling the call's future before a thread took it means it never runs.
        """
        call = _LoopCall(asyncio.get_running_loop(), contextvars.copy_context(), function, args, hold)
        self._enqueue(call)
        return call

    # -- concurrent.futures.Executor ---------------------------------------------------------

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> "Future[Any]":
        future: "Future[Any]" = Future()
        self._enqueue(_FutureCall(future, fn, args, kwargs))
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            first = not self._shutdown
            self._shutdown = True
            threads = list(self._threads)
        stops = len(threads) if first else 0
        if cancel_futures:
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stops += 1  # an earlier shutdown's stop signal: put back below
                else:
                    item.cancel()
        for _ in range(stops):
            self._queue.put(None)
        if wait:
            for thread in threads:
                thread.join()

    # -- internals ---------------------------------------------------------------------------

    def _enqueue(self, item: _Work) -> None:
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot schedule new calls after shutdown")
            if self._idle:
                self._idle -= 1
            elif len(self._threads) < self._max_workers:
                self._start_thread()
            else:
                self._backlog += 1
            self._queue.put(item)

    def _start_thread(self) -> None:
        thread = threading.Thread(target=self._work, name=f"{self._prefix}_{len(self._threads)}", daemon=True)
        thread.start()
        self._threads.append(thread)

    def _now_idle(self) -> None:
        with self._lock:
            if self._backlog:
                self._backlog -= 1
            else:
                self._idle += 1

    def _work(self) -> None:
        get = self._queue.get
        now_idle = self._now_idle
        while True:
            item = get()
            if item is None:
                return
            item.run(now_idle)
            # Drop the call (arguments, result) before waiting for the next one.
            del item


async def run_in_thread(executor: Executor, function: Callable[..., Any], *args: Any, hold: bool = True) -> Any:
    """`function(*args)` in one of the executor's threads, inside a copy of the caller's context.

    Any Executor works; `ToolThreads` takes the cheap path, and holds the loop if it was built to
    and `hold` is true. Streams pass `hold=False`: while the loop is held, chunks already produced
    are not sent.
    """
    if not isinstance(executor, ToolThreads):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(executor, functools.partial(contextvars.copy_context().run, function, *args))
    hold_loop = executor.hold_loop if hold else 0.0
    call = executor.start(function, args, hold=hold_loop > 0)
    outcome = call.hold(hold_loop) if hold_loop > 0 else None
    if outcome is None:
        future = call.future
        assert future is not None  # made at the start, or by hold() when it let go
        outcome = await future
    ok, value = outcome
    if ok:
        return value
    try:
        raise value
    finally:
        value = None  # no frame ↔ exception reference cycle

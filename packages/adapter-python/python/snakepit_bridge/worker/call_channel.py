"""The call channel (`WorkerService.Calls`): one long-lived stream per worker carrying unary calls.

Opening an HTTP/2 stream per call costs grpcio several times what a message on an open stream
costs, so the pool sends small calls as frames on one stream. Each frame names its call (`call_id`)
and starts it (`call`) or stops it (`cancel`), or answers a host request (`host_answer`, below);
each answer is a `CallsResponse` naming its call.

- Every call runs in its own task (its own copy of the contextvars, so nothing leaks between
  calls), through the same path as ExecuteTool: same session context, errors, span and admission.
  The handler only reads frames, so a slow call never holds up the next frame, a cancel or another
  call's answer. Answers are written in the order the calls finish.
- `cancel` cancels the call's task as an RPC cancel would; a cancelled call gets no answer. A
  cancel for a call that is not in flight is ignored.
- `timeout_ms` is the worker's own guard of the call's deadline: when it runs out, the call is
  cancelled and answered with a "timeout" error. One timer per channel, set for the earliest
  deadline in flight, guards them all: a timer per call (a TimerHandle, a heap push, a cancel and
  the cancelled handle's later removal) cost more than anything else `_start` does, for a deadline
  that almost never runs out. Calls mostly come with the same timeout, so a new call's deadline is
  later than the one the timer is set for and costs one clock read.
- A call id already in flight is answered with invalid_parameter, and the running call goes on.
- When the client half-closes, the calls in flight still finish and answer; the RPC then ends.
  When the RPC ends otherwise (cancelled, broken, server stopping), every call still running is
  cancelled.
- A frame that does not parse names no call to answer: the channel ends with INVALID_ARGUMENT (its
  calls cancelled, as above) and the pool opens a new one. The worker serves on.
- Host link (a worker run as a service, opened with `x-snakepit-host-link`): the channel gets a
  HostTunnel (host/tunnel.py), and the host requests of its calls' tools, and of the link's calls
  that came as RPCs, travel on it as `host_request` frames; `host_answer` frames go to the tunnel.
  Without a link, a `host_answer` is ignored. When the client half-closes the channel or the
  channel ends, no answer can arrive any more: the tunnel fails its waiting requests.
- `drain()` (a worker run as a service, on SIGTERM): the channel ends with the status it is given
  as soon as no call is in flight, no host request waits for its answer and no answer is being
  written — at once when idle, else after the last of them. New frames are still read meanwhile
  (the service refuses their calls in band). The read the channel waits in is interrupted by
  cancelling the handler's task, which the read loop catches; a frame that arrived in that instant
  is dropped unanswered, so every call on a channel ended this way either got its answer or never
  ran.

Writes go out one at a time (grpcio allows one message write in flight per RPC). The task that
finds no write in progress writes its own answer, then any answers queued behind it meanwhile; the
others only queue theirs. No writer task waits in between, and no call waits for a write lock.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Deque, Dict, Optional, Sequence, Set, Tuple, Union

import grpc
from google.protobuf.message import DecodeError

from snakepit.bridge.v1 import common_pb2, worker_pb2

from ..tools.errors import exception_to_tool_error, invalid_parameter, result_too_large, timed_out
from .call_headers import CallHeaders, headers_of_frame

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ..host.access import HostAccess
    from ..host.tunnel import HostTunnel, Post

__all__ = ["CallChannel", "RunCall", "OpenTunnel"]

_log = logging.getLogger("snakepit_bridge.call_channel")

_EOF = grpc.aio.EOF
_NEVER = float("inf")
_CallsResponse = worker_pb2.CallsResponse
_ExecuteToolResponse = worker_pb2.ExecuteToolResponse

# One unary call as ExecuteTool runs it: fills the response it is given and returns it. The host
# access is the call's own (a channel with a host link), or None for the worker's.
RunCall = Callable[
    [common_pb2.ToolCall, CallHeaders, worker_pb2.ExecuteToolResponse, Optional["HostAccess"]], Awaitable[Any]
]
# Opens the channel's host link: its tunnel, given the channel's write and the callback for a host
# request that stopped waiting.
OpenTunnel = Callable[["Post", Callable[[], None]], "HostTunnel"]

# Why a tunnel's requests fail once it is closed.
_CLIENT_HALF_CLOSED = "the client closed the call channel that carries this call's host requests"
_CHANNEL_ENDED = "the call channel that carries this call's host requests ended"

# Tasks writing answers no call task writes (timeouts, refused frames), kept alive until done:
# asyncio keeps only weak references to tasks.
_writers: Set["asyncio.Task[None]"] = set()


class _InFlight:
    """A call the channel is running: its task, and the loop time its timeout_ms runs out (or inf)."""

    __slots__ = ("task", "frame", "deadline")

    def __init__(self, frame: worker_pb2.ChannelCall, deadline: float) -> None:
        self.task: Optional["asyncio.Task[None]"] = None
        self.frame = frame
        self.deadline = deadline

    def stop(self) -> None:
        task = self.task
        if task is not None:  # always set: `_start` creates it with the entry
            task.cancel()


def _fail(answer: worker_pb2.CallsResponse, exc: BaseException) -> None:
    response = answer.response
    response.Clear()
    response.error.CopyFrom(exception_to_tool_error(exc))


class CallChannel:
    """Serves one `Calls` RPC: `await CallChannel(run_call, context, max_answer_bytes).serve()`.

    `max_answer_bytes`: the server's send limit. grpcio fails the whole stream on a message above
    it, which would fail every other call on the channel with it; such an answer is replaced by a
    `transport_error` naming the sizes, so only its own call fails (as an oversized ExecuteTool
    result fails only its RPC). None: no limit.
    `open_tunnel`: the channel's host link (a worker run as a service, the channel opened with one);
    None: the channel has none.
    """

    def __init__(
        self,
        run_call: RunCall,
        context: grpc.aio.ServicerContext,
        max_answer_bytes: Optional[int] = None,
        open_tunnel: Optional[OpenTunnel] = None,
    ) -> None:
        self._run_call = run_call
        self._max_answer_bytes = max_answer_bytes
        self._context = context
        self._loop = asyncio.get_running_loop()
        self._calls: Dict[int, _InFlight] = {}
        self._queued: Deque[worker_pb2.CallsResponse] = deque()
        self._writing = False
        # Set once the client half-closed: resolved when the last call has answered.
        self._drained: Optional["asyncio.Future[None]"] = None
        # The one deadline timer (see the module docstring) and the loop time it is set for.
        self._timer: Optional[asyncio.TimerHandle] = None
        self._timer_at = _NEVER
        # Draining (see `drain`): the status to end with, and whether the read was interrupted.
        self._task = asyncio.current_task()
        self._drain_status: Optional[Tuple[grpc.StatusCode, str, Sequence[Tuple[str, Union[str, bytes]]]]] = None
        self._interrupted = False
        self._tunnel = open_tunnel(self._post, self._settled) if open_tunnel is not None else None

    async def serve(self) -> None:
        read = self._context.read
        tunnel = self._tunnel
        try:
            while True:
                try:
                    frame = await read()
                except DecodeError as exc:
                    await self._context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"malformed call frame: {exc}")
                except asyncio.CancelledError:
                    drain_status = self._drain_status
                    if not self._interrupted or drain_status is None:
                        raise
                    code, details, trailers = drain_status
                    await self._context.abort(code, details, trailing_metadata=trailers)
                if frame is _EOF:
                    break
                kind = frame.WhichOneof("kind")
                if kind == "call":
                    self._start(frame.call_id, frame.call)
                elif kind == "cancel":
                    self._cancel(frame.call_id)
                elif kind == "host_answer" and tunnel is not None:
                    tunnel.answer(frame.host_answer)
                else:
                    # A frame of no kind, or a host answer on a channel without a host link.
                    _log.debug("call channel: frame %d ignored (%s)", frame.call_id, kind or "empty")
            if tunnel is not None:
                tunnel.close(_CLIENT_HALF_CLOSED)
            if self._calls or self._writing:
                self._drained = self._loop.create_future()
                await self._drained
        finally:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            # The RPC ended under the calls (cancelled, broken, server stopping): stop them all.
            calls = list(self._calls.values())
            self._calls.clear()
            for entry in calls:
                entry.stop()
            if calls:
                _log.debug("call channel ended; %d call(s) in flight cancelled", len(calls))
            # After the calls: their own requests stop with them; the link's RPCs' requests fail.
            if tunnel is not None:
                tunnel.close(_CHANNEL_ENDED)

    # -- frames ------------------------------------------------------------------------------

    def _start(self, call_id: int, frame: worker_pb2.ChannelCall) -> None:
        calls = self._calls
        if call_id in calls:
            refused = invalid_parameter("call_id", "already in flight").to_proto()
            self._post(_CallsResponse(call_id=call_id, response=_ExecuteToolResponse(error=refused)))
            return
        timeout_ms = frame.timeout_ms
        deadline = self._loop.time() + timeout_ms / 1000 if timeout_ms else _NEVER
        entry = _InFlight(frame, deadline)
        calls[call_id] = entry
        entry.task = self._loop.create_task(self._run(call_id, frame, entry))
        if deadline < self._timer_at:
            self._set_timer(deadline)

    def _cancel(self, call_id: int) -> None:
        entry = self._calls.pop(call_id, None)
        if entry is not None:
            entry.stop()
            if self._drain_status is not None:
                self._end_if_idle()

    # -- draining ----------------------------------------------------------------------------

    def drain(self, code: grpc.StatusCode, details: str, trailing_metadata: Sequence[Tuple[str, Union[str, bytes]]]) -> None:
        """Ends the channel with `code` once no call is in flight (see the module docstring)."""
        self._drain_status = (code, details, tuple(trailing_metadata))
        self._end_if_idle()

    def _end_if_idle(self) -> None:
        # Only while reading frames: after the client's half-close the channel ends by itself.
        if self._interrupted or self._calls or self._writing or self._drained is not None:
            return
        tunnel = self._tunnel
        if tunnel is not None and tunnel.waiting:  # its answer is still to come on this channel
            return
        task = self._task
        if task is not None and not task.done():
            self._interrupted = True
            task.cancel()

    def _settled(self) -> None:
        """A host request on this channel stopped waiting."""
        if self._drain_status is not None:
            self._end_if_idle()

    # -- deadlines ---------------------------------------------------------------------------

    def _set_timer(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._loop.call_at(when, self._expire_due)
        self._timer_at = when

    def _expire_due(self) -> None:
        # On the loop, like the calls' tasks: a call that has its answer is off the channel already.
        # Due: every deadline up to the time this timer was set for (asyncio runs a timer when its
        # time is within the clock's resolution, so the clock may still read a little less).
        due = self._timer_at
        self._timer = None
        self._timer_at = _NEVER
        expired = [(call_id, entry) for call_id, entry in self._calls.items() if entry.deadline <= due]
        for call_id, entry in expired:
            del self._calls[call_id]
            entry.stop()
            timeout_ms = entry.frame.timeout_ms
            error = timed_out(entry.frame.call.tool_name, timeout_ms)
            self._post(_CallsResponse(call_id=call_id, response=_ExecuteToolResponse(error=error)))
        earliest = min((entry.deadline for entry in self._calls.values()), default=_NEVER)
        if earliest < _NEVER:
            self._set_timer(earliest)

    # -- calls -------------------------------------------------------------------------------

    async def _run(self, call_id: int, frame: worker_pb2.ChannelCall, entry: _InFlight) -> None:
        answer = _CallsResponse(call_id=call_id)
        tunnel = self._tunnel
        try:
            # Filled in place: the response is built inside the answer, not copied into it.
            host = tunnel.access(call_id) if tunnel is not None else None
            await self._run_call(frame.call, headers_of_frame(frame.headers), answer.response, host)
        except asyncio.CancelledError as exc:
            # Cancel frame, timeout or the channel's end: each took the call off the channel first,
            # and no answer is due. A call still on it raised CancelledError by itself.
            if self._calls.get(call_id) is not entry:
                raise
            _fail(answer, exc)
        except Exception as exc:
            # Tool failures are data already; this is the call path itself failing. Answered anyway,
            # or the caller would wait for its deadline.
            _log.error("call channel: call %d failed outside its tool", call_id, exc_info=True)
            _fail(answer, exc)
        finally:
            # The id may already name a newer call if this one was cancelled. Its deadline leaves
            # with it: the timer finds nothing due for it.
            if self._calls.get(call_id) is entry:
                del self._calls[call_id]
        limit = self._max_answer_bytes
        if limit is not None:
            size = answer.ByteSize()
            if size > limit:
                response = answer.response
                response.Clear()
                response.error.CopyFrom(result_too_large(frame.call.tool_name, size, limit))
        await self._send(answer)

    # -- answers -----------------------------------------------------------------------------

    async def _send(self, answer: worker_pb2.CallsResponse) -> None:
        """Writes `answer`, or queues it behind the write in progress."""
        if self._writing:
            self._queued.append(answer)
            return
        self._writing = True
        await self._write_from(answer)

    def _post(self, answer: worker_pb2.CallsResponse) -> None:
        """`_send` from plain loop callbacks. The write is claimed at once, so the channel cannot
        finish before this answer is out."""
        if self._writing:
            self._queued.append(answer)
            return
        self._writing = True
        task = self._loop.create_task(self._write_from(answer))
        _writers.add(task)
        task.add_done_callback(_writers.discard)

    async def _write_from(self, answer: worker_pb2.CallsResponse) -> None:
        write = self._context.write
        queued = self._queued
        try:
            await write(answer)
            while queued:
                await write(queued.popleft())
        except Exception:
            # The RPC ended under the write (cancelled, broken): nobody is left to read the answers.
            _log.debug("call channel: answers dropped, the stream is gone", exc_info=True)
            queued.clear()
        finally:
            self._writing = False
            drained = self._drained
            if drained is not None and not self._calls and not drained.done():
                drained.set_result(None)
            if self._drain_status is not None:
                self._end_if_idle()

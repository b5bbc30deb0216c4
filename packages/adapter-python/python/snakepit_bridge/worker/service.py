"""The WorkerService servicer: per-call context and the seven RPCs, and the server that serves it.

Authentication is not done here: `create_server` puts `TokenInterceptor` in front of the servicer,
which refuses a call without the pool's token from its headers alone, before the request is read.
That is the one check; servers for this servicer are built by `create_server` only (the worker and
the tests alike), so no path reaches a handler without it.

Every RPC runs in its own asyncio task (grpc.aio creates one per call), and so does every call on
the call channel (call_channel.py); each task has its own copy of the contextvars, so the session
context, correlation id and trace id set here never leak between calls and need no reset.

Logging while serving names the tool, never argument values: arguments may hold anything.

Tool failures are data (`ToolError` in the response), never gRPC errors: the only status codes
this servicer produces are UNAUTHENTICATED (the interceptor), INTERNAL when a session hook fails,
and INVALID_ARGUMENT ending a call channel that sent a frame which does not parse. A worker run as
a service (serve.py) adds RESOURCE_EXHAUSTED with trailer `snakepit-error-code: worker_busy` for a
unary or stream RPC refused for want of a slot (worker/admission.py; on the call channel the same
refusal is an in-band `worker_busy` ToolError), and UNAVAILABLE (same trailer) ending a call
channel once its calls are done when the worker drains (`drain()`).

A worker run as a service has no host bridge of its own: its calls reach the host through the
host link of the client that made them (host/link_registry.py). A `Calls` RPC opened with the
header `x-snakepit-host-link` becomes that link's channel, and its calls' tools send their host
requests on it; so do the tools of ExecuteTool and ExecuteStreamingTool RPCs carrying the same
header. A call without a link gets the worker's host access (None in that mode).

This is the per-call path of every tool call, so it avoids work a call does not need: no span
context unless the call carries `traceparent`, no admission step in process mode, the debug log
lines (and their timing) only when debug logging is on, no host access of its own without a link.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from typing import TYPE_CHECKING, AsyncIterator, Callable, Optional, Sequence, Set, Tuple, Union

import grpc

from snakepit.bridge.v1 import common_pb2, worker_pb2, worker_pb2_grpc

from ..encoding import encode_into
from ..error_codes import code_name
from ..host.access import HostAccess
from ..host.client import ERROR_CODE_TRAILER, ERROR_DETAILS_TRAILER
from ..observability.logging_setup import correlation_id_var, trace_id_var
from ..observability.tracing import NO_SPAN, NO_SPAN_CONTEXT, NO_TRACING, ToolSpan, Tracing, trace_id_of
from ..session_context import SessionContext, set_current_session_context
from ..streaming.chunk_queue import DEFAULT_QUEUE_SIZE, final_message
from ..streaming.chunk_stream import ChunkStream, collect_items
from ..tools.dispatch import PLAIN_RESULTS, Dispatcher
from ..tools.errors import ToolCallError, exception_to_tool_error
from ..type_names import qualified_type_name
from .adapter_hooks import call_hook
from .admission import BUSY_DRAINING, Admission, WorkerBusy
from .auth_interceptor import TokenInterceptor
from .call_channel import CallChannel, OpenTunnel
from .call_headers import CallHeaders, headers_of_metadata

if TYPE_CHECKING:  # pragma: no cover - typing only: pool-started workers have no host links
    from ..host.link_registry import LinkRegistry

__all__ = ["WorkerService", "create_server"]

_log = logging.getLogger("snakepit_bridge.worker")
_DEBUG = logging.DEBUG

_ExecuteToolResponse = worker_pb2.ExecuteToolResponse


def create_server(
    service: WorkerService, tokens: Union[str, TokenInterceptor], options: Sequence[Tuple[str, Union[int, str]]] = ()
) -> grpc.aio.Server:
    """A grpc.aio server (not started, no port yet) serving `service` to callers with the token, or
    with one of the tokens of the interceptor given (a worker run as a service, whose tokens change)."""
    interceptor = tokens if isinstance(tokens, TokenInterceptor) else TokenInterceptor(tokens)
    # The interceptor caches handlers per method, so it must stay the only interceptor.
    server = grpc.aio.server(interceptors=[interceptor], options=list(options))
    worker_pb2_grpc.add_WorkerServiceServicer_to_server(service, server)
    return server


def _no_release(*_: object) -> None:
    pass


def _busy_trailers(busy: WorkerBusy) -> Tuple[Tuple[str, Union[str, bytes]], ...]:
    return ((ERROR_CODE_TRAILER, busy.code), (ERROR_DETAILS_TRAILER, busy.details_bytes()))


async def _refuse_busy(context: grpc.aio.ServicerContext, busy: WorkerBusy) -> None:
    """Ends an RPC refused for want of a slot: RESOURCE_EXHAUSTED, the code and details in trailers."""
    await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, busy.message, trailing_metadata=_busy_trailers(busy))


# The generated servicer has no type stubs (mypy.ini), so the base class is Any to the type checker.
class WorkerService(worker_pb2_grpc.WorkerServiceServicer):  # type: ignore[misc]
    """Serves one adapter instance. `info` is the WorkerInfo announced at readiness.

    `host`: the host bridge handed to tools through their SessionContext (None: no host).
    `links`: the host links of the worker's clients (a worker run as a service); a call with one
    reaches the host through it instead of `host`. None: host link headers are ignored.
    `admission_limit`: how many tool calls may run at once (threaded mode), the rest waiting FIFO;
    None: no limit. `admission`: the same with a bounded queue and refusals (service mode; wins
    over `admission_limit`).
    `max_message_bytes`: the server's send limit, which call channel answers are checked against.
    """

    def __init__(
        self,
        *,
        adapter: object,
        dispatcher: Dispatcher,
        info: worker_pb2.WorkerInfo,
        stream_queue_size: int = DEFAULT_QUEUE_SIZE,
        host: Optional[HostAccess] = None,
        tracing: Tracing = NO_TRACING,
        admission_limit: Optional[int] = None,
        admission: Optional[Admission] = None,
        max_message_bytes: Optional[int] = None,
        links: Optional[LinkRegistry] = None,
    ) -> None:
        self._adapter = adapter
        self._links = links
        self._max_message_bytes = max_message_bytes
        self._dispatcher = dispatcher
        self._info = info
        self._stream_queue_size = stream_queue_size
        self._host = host
        self._tracing = tracing
        # FIFO: slots go to waiters in arrival order. Cancelling a waiting or running call
        # (deadline, client gone) releases its place at once.
        if admission is None and admission_limit:
            admission = Admission(admission_limit)
        self._admission = admission
        # The open call channels, told when the worker drains.
        self._channels: Set[CallChannel] = set()
        self._draining = False

    # -- per-call plumbing -------------------------------------------------------------------

    def _begin_call(self, call: common_pb2.ToolCall, headers: CallHeaders, host: Optional[HostAccess]) -> SessionContext:
        """Sets the call's log context and publishes its SessionContext. `host`: the call's own
        host access (a call on a channel with a host link), else that of its RPC's link, else the
        worker's."""
        if host is None:
            host = self._host
            links = self._links
            if links is not None and headers.host_link is not None:
                host = links.access(headers.host_link)
        if headers.correlation_id:
            correlation_id_var.set(headers.correlation_id)
        trace_id = trace_id_of(headers.traceparent)
        if trace_id:
            trace_id_var.set(trace_id)
        session = SessionContext(
            call.session_id,
            headers.correlation_id,
            call.metadata,
            host=host,
            traceparent=headers.traceparent,
            tracestate=headers.tracestate,
        )
        set_current_session_context(session)
        return session

    async def _admit(self, context: grpc.aio.ServicerContext) -> Callable[[], None]:
        """Takes one of the worker's call slots for a stream (threaded mode); returns its idempotent
        release.

        The slot is also released when the RPC ends: a cancelled streaming handler may not be
        resumed (and so not reach its `finally`) until it is garbage collected.
        """
        if self._admission is None:
            return _no_release
        admission: Admission = self._admission
        if not admission.try_acquire():
            await admission.wait()  # WorkerBusy when refused
        released = False

        def release(*_: object) -> None:
            nonlocal released
            if not released:
                released = True
                admission.release()

        context.add_done_callback(release)
        return release

    # -- RPCs --------------------------------------------------------------------------------

    async def Ping(self, request: worker_pb2.PingRequest, context: grpc.aio.ServicerContext) -> worker_pb2.PingResponse:
        return worker_pb2.PingResponse(message=request.message, info=self._info)

    async def ExecuteTool(
        self, request: worker_pb2.ExecuteToolRequest, context: grpc.aio.ServicerContext
    ) -> worker_pb2.ExecuteToolResponse:
        try:
            return await self._run_call(request.call, headers_of_metadata(context), _ExecuteToolResponse(), None, False)
        except WorkerBusy as busy:
            await _refuse_busy(context, busy)
            raise  # not reached: abort raises

    async def Calls(
        self, request_iterator: AsyncIterator[worker_pb2.CallsRequest], context: grpc.aio.ServicerContext
    ) -> None:
        # Reader/writer API rather than an async generator: each call's task writes its own answer,
        # with no hand-over to a generator (a task switch per answer). `request_iterator` is unused:
        # `context.read()` skips its async-generator layer.
        open_tunnel: Optional[OpenTunnel] = None
        links = self._links
        if links is not None:
            link = headers_of_metadata(context).host_link
            if link is not None:
                open_tunnel = functools.partial(links.open, link)
        channel = CallChannel(self._run_call, context, self._max_message_bytes, open_tunnel)
        channels = self._channels
        channels.add(channel)
        try:
            if self._draining:
                self._drain_channel(channel)
            await channel.serve()
        finally:
            channels.discard(channel)

    async def _run_call(
        self,
        call: common_pb2.ToolCall,
        headers: CallHeaders,
        response: worker_pb2.ExecuteToolResponse,
        host: Optional[HostAccess],
        busy_in_band: bool = True,
    ) -> worker_pb2.ExecuteToolResponse:
        """One unary call, from ExecuteTool or the call channel: fills `response` and returns it.
        `host`: the call's own host access (see `_begin_call`).

        A call refused for want of a slot is answered with a `worker_busy` ToolError
        (`busy_in_band`: the call channel, where a status would end every call on it), or raises
        WorkerBusy (ExecuteTool, which ends the RPC with a status).
        """
        session = self._begin_call(call, headers, host)
        admission = self._admission
        if admission is None and headers.traceparent is None:
            # Process mode, untraced call: no slot to take and no span to open.
            return await self._execute(call, session, NO_SPAN, response)
        # Released in `finally`: a unary call's task always gets there, cancelled or not.
        if admission is not None and not admission.try_acquire():
            try:
                await admission.wait()
            except WorkerBusy as busy:
                if not busy_in_band:
                    raise
                response.error.CopyFrom(busy.to_proto())
                return response
        try:
            with self._tracing.span(call.tool_name, session.session_id, headers.traceparent, headers.tracestate) as span:
                return await self._execute(call, session, span, response)
        finally:
            if admission is not None:
                admission.release()

    async def _execute(
        self, call: common_pb2.ToolCall, session: SessionContext, span: ToolSpan, response: worker_pb2.ExecuteToolResponse
    ) -> worker_pb2.ExecuteToolResponse:
        tool_name = call.tool_name
        debug = _log.isEnabledFor(_DEBUG)
        if debug:
            started = time.perf_counter()
            _log.debug("call start: %s", tool_name, extra={"tool": tool_name})
        outcome = "error"
        dispatcher = self._dispatcher
        try:
            result = await dispatcher.invoke(dispatcher.prepare(call, session))
            if type(result) not in PLAIN_RESULTS:  # maybe a generator's items to collect
                result = await collect_items(result, executor=dispatcher.executor, session=session)
            encode_into(response.result, result)
            outcome = "ok"
            return response
        except ToolCallError as refused:
            outcome = refused.code
            span.fail(refused.code)
            response.error.CopyFrom(refused.to_proto())
            return response
        except asyncio.CancelledError:
            # Deadline or client cancel: async tools got the CancelledError; sync tools see the flag.
            # The span ends without an error: the caller chose to stop.
            outcome = "cancelled"
            session.mark_cancelled()
            raise
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # SystemExit from a tool is reported, not obeyed
            outcome = qualified_type_name(type(exc))
            span.fail(outcome)
            response.error.CopyFrom(exception_to_tool_error(exc))
            return response
        finally:
            dispatcher.after_call()
            if debug:
                # The tool name and outcome only: argument values never reach the logs.
                elapsed_ms = (time.perf_counter() - started) * 1000
                _log.debug("call end: %s (%s, %.1f ms)", tool_name, outcome, elapsed_ms, extra={"tool": tool_name})

    async def ExecuteStreamingTool(
        self, request: worker_pb2.ExecuteStreamingToolRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[worker_pb2.ExecuteStreamingToolResponse]:
        # One generator from the tool's messages to gRPC (every layer costs a resumption per message).
        call = request.call
        headers = headers_of_metadata(context)
        session = self._begin_call(call, headers, None)
        release: Callable[[], None] = _no_release
        if self._admission is not None:
            try:
                release = await self._admit(context)
            except WorkerBusy as busy:
                await _refuse_busy(context, busy)
                return  # not reached: abort raises
        tool_name = call.tool_name
        debug = _log.isEnabledFor(_DEBUG)
        if debug:
            started = time.perf_counter()
            _log.debug("stream start: %s", tool_name, extra={"tool": tool_name})
        dispatcher = self._dispatcher
        try:
            span_context = (
                NO_SPAN_CONTEXT
                if headers.traceparent is None
                else self._tracing.span(tool_name, session.session_id, headers.traceparent, headers.tracestate)
            )
            with span_context as span:
                try:
                    result = await dispatcher.invoke(dispatcher.prepare(call, session))
                except ToolCallError as refused:
                    span.fail(refused.code)
                    yield final_message(refused.to_proto())
                    return
                except asyncio.CancelledError:
                    session.mark_cancelled()
                    raise
                except KeyboardInterrupt:
                    raise
                except BaseException as exc:
                    span.fail(qualified_type_name(type(exc)))
                    yield final_message(exception_to_tool_error(exc))
                    return
                messages = ChunkStream(
                    result, executor=dispatcher.executor, session=session, queue_size=self._stream_queue_size
                )
                # Stops the producer as soon as the RPC ends (cancel, deadline), wherever this task was.
                context.add_done_callback(lambda _context: messages.abandon())
                async for message in messages:
                    if span is not NO_SPAN:
                        last = message.chunks[-1]  # an error chunk is the final one, so the last
                        if last.HasField("error"):
                            span.fail(last.error.python_type or code_name(last.error.code))
                    yield message
        finally:
            dispatcher.after_call()
            if debug:
                elapsed_ms = (time.perf_counter() - started) * 1000
                _log.debug("stream end: %s (%.1f ms)", tool_name, elapsed_ms, extra={"tool": tool_name})
            release()

    # -- draining (service mode) ------------------------------------------------------------

    def drain(self) -> None:
        """The worker stops taking calls (SIGTERM in service mode): calls waiting for a slot and
        every later one are refused with `worker_busy` (reason `draining`); calls running go on.
        Each call channel ends with UNAVAILABLE once its calls have answered."""
        if self._draining:
            return
        self._draining = True
        if self._admission is None:
            # No slots to count (process mode as the pool starts it): a closed admission refuses all.
            self._admission = Admission(1)
        self._admission.close(BUSY_DRAINING)
        for channel in list(self._channels):
            self._drain_channel(channel)

    def _drain_channel(self, channel: CallChannel) -> None:
        message = "the worker is draining (shutting down); every call on this channel without an answer did not run"
        details = WorkerBusy(message, {"reason": BUSY_DRAINING})
        channel.drain(grpc.StatusCode.UNAVAILABLE, message, _busy_trailers(details))

    @property
    def calls_in_flight(self) -> int:
        """Tool calls holding a slot (0 without an admission limit)."""
        return self._admission.in_use if self._admission is not None else 0

    async def DescribeTools(
        self, request: worker_pb2.DescribeToolsRequest, context: grpc.aio.ServicerContext
    ) -> worker_pb2.DescribeToolsResponse:
        return worker_pb2.DescribeToolsResponse(tools=self._dispatcher.describe())

    async def BeginSession(
        self, request: worker_pb2.BeginSessionRequest, context: grpc.aio.ServicerContext
    ) -> worker_pb2.BeginSessionResponse:
        await self._session_hook(context, "on_session_begin", request.session_id)
        return worker_pb2.BeginSessionResponse()

    async def EndSession(
        self, request: worker_pb2.EndSessionRequest, context: grpc.aio.ServicerContext
    ) -> worker_pb2.EndSessionResponse:
        await self._session_hook(context, "on_session_end", request.session_id)
        return worker_pb2.EndSessionResponse()

    async def _session_hook(self, context: grpc.aio.ServicerContext, name: str, session_id: str) -> None:
        try:
            await call_hook(self._adapter, name, session_id, run_sync=self._dispatcher.run_sync)
        except Exception as exc:
            # These responses have no error field; the hook's failure becomes the RPC's status.
            _log.error("%s(%r) raised", name, session_id, exc_info=True)
            detail = f"{name} raised {qualified_type_name(type(exc))}: {exc}"
            await context.abort(grpc.StatusCode.INTERNAL, detail)

"""The WorkerService servicer: authentication, per-call context, and the six RPCs.

Every RPC runs in its own asyncio task (grpc.aio creates one per call), and each task has its own
copy of the contextvars, so the session context, correlation id and trace id set here never leak
between calls and need no reset.

Logging while serving names the tool, never argument values: arguments may hold anything.

Tool failures are data (`ToolError` in the response), never gRPC errors: the only status codes
this servicer produces are UNAUTHENTICATED, and INTERNAL when a session hook fails.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from typing import Any, AsyncIterator, Callable, NamedTuple, Optional

import grpc

from snakepit.bridge.v1 import worker_pb2, worker_pb2_grpc

from .dispatch import Dispatcher
from .encoding import encode_value
from .host_access import CORRELATION_HEADER, HostAccess
from .hooks import call_hook
from .logging_setup import correlation_id_var, trace_id_var
from .session_context import SessionContext, set_current_session_context
from .streaming import DEFAULT_QUEUE_SIZE, ChunkStream, collect_items, error_chunk
from .telemetry import NO_TRACING, TRACEPARENT_HEADER, TRACESTATE_HEADER, ToolSpan, Tracing, trace_id_of
from .tool_errors import ToolCallError, exception_to_tool_error
from .type_names import qualified_type_name

__all__ = ["WorkerService", "AUTHORIZATION_HEADER", "CORRELATION_HEADER"]

AUTHORIZATION_HEADER = "authorization"

_log = logging.getLogger("snakepit_bridge.worker")


class CallHeaders(NamedTuple):
    correlation_id: Optional[str]
    traceparent: Optional[str]
    tracestate: Optional[str]


_NO_HEADERS = CallHeaders(None, None, None)


def _no_release(*_: Any) -> None:
    pass


class WorkerService(worker_pb2_grpc.WorkerServiceServicer):
    """Serves one adapter instance. `info` is the WorkerInfo announced at readiness.

    `host`: the host bridge handed to tools through their SessionContext (None: no host).
    `admission_limit`: how many tool calls may run at once (threaded mode); None: no limit.
    """

    def __init__(
        self,
        *,
        adapter: Any,
        dispatcher: Dispatcher,
        token: str,
        info: worker_pb2.WorkerInfo,
        stream_queue_size: int = DEFAULT_QUEUE_SIZE,
        host: Optional[HostAccess] = None,
        tracing: Tracing = NO_TRACING,
        admission_limit: Optional[int] = None,
    ) -> None:
        self._adapter = adapter
        self._dispatcher = dispatcher
        self._expected_authorization = f"Bearer {token}".encode("utf-8")
        self._info = info
        self._stream_queue_size = stream_queue_size
        self._host = host
        self._tracing = tracing
        # FIFO: asyncio.Semaphore wakes waiters in arrival order. Cancelling a waiting or running
        # call (deadline, client gone) releases its place at once.
        self._admission = asyncio.Semaphore(admission_limit) if admission_limit else None

    # -- per-call plumbing -------------------------------------------------------------------

    async def _authenticate(self, context: grpc.aio.ServicerContext) -> CallHeaders:
        """Aborts with UNAUTHENTICATED unless the bearer token matches; returns the call's
        correlation and trace headers.

        One pass over the metadata, no interceptor: this runs on every call.
        """
        authorization: Optional[str] = None
        correlation_id = traceparent = tracestate = None
        for key, value in context.invocation_metadata() or ():
            if key == AUTHORIZATION_HEADER:
                authorization = value
            elif key == CORRELATION_HEADER:
                correlation_id = value
            elif key == TRACEPARENT_HEADER:
                traceparent = value
            elif key == TRACESTATE_HEADER:
                tracestate = value
        presented = authorization.encode("utf-8") if isinstance(authorization, str) else b""
        # Constant-time comparison: the token is the pool's only secret.
        if not hmac.compare_digest(presented, self._expected_authorization):
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or invalid authorization token")
        if correlation_id is None and traceparent is None:
            return _NO_HEADERS
        return CallHeaders(correlation_id or None, traceparent or None, tracestate or None)

    def _begin_call(self, call: Any, headers: CallHeaders) -> SessionContext:
        if headers.correlation_id:
            correlation_id_var.set(headers.correlation_id)
        trace_id = trace_id_of(headers.traceparent)
        if trace_id:
            trace_id_var.set(trace_id)
        session = SessionContext(
            call.session_id,
            headers.correlation_id,
            call.metadata,
            host=self._host,
            traceparent=headers.traceparent,
            tracestate=headers.tracestate,
        )
        set_current_session_context(session)
        return session

    async def _admit(self, context: grpc.aio.ServicerContext) -> Callable[[], None]:
        """Takes one of the worker's call slots (threaded mode); returns its idempotent release.

        The slot is also released when the RPC ends: a cancelled streaming handler may not be
        resumed (and so not reach its `finally`) until it is garbage collected.
        """
        admission = self._admission
        if admission is None:
            return _no_release
        await admission.acquire()
        released = False

        def release(*_: Any) -> None:
            nonlocal released
            if not released:
                released = True
                admission.release()

        context.add_done_callback(release)
        return release

    # -- RPCs --------------------------------------------------------------------------------

    async def Ping(self, request: worker_pb2.PingRequest, context: grpc.aio.ServicerContext) -> worker_pb2.PingResponse:
        await self._authenticate(context)
        return worker_pb2.PingResponse(message=request.message, info=self._info)

    async def ExecuteTool(
        self, request: worker_pb2.ExecuteToolRequest, context: grpc.aio.ServicerContext
    ) -> worker_pb2.ExecuteToolResponse:
        headers = await self._authenticate(context)
        call = request.call
        session = self._begin_call(call, headers)
        release = await self._admit(context)
        try:
            with self._tracing.span(call.tool_name, session.session_id, headers.traceparent, headers.tracestate) as span:
                return await self._execute(call, session, span)
        finally:
            release()

    async def _execute(self, call: Any, session: SessionContext, span: ToolSpan) -> worker_pb2.ExecuteToolResponse:
        started = time.perf_counter()
        _log.debug("call start: %s", call.tool_name, extra={"tool": call.tool_name})
        outcome = "error"
        try:
            prepared = self._dispatcher.prepare(call, session)
            result = await self._dispatcher.invoke(prepared)
            value = await collect_items(result, executor=self._dispatcher.executor, session=session)
            response = worker_pb2.ExecuteToolResponse(result=encode_value(value))
            outcome = "ok"
            return response
        except ToolCallError as refused:
            outcome = refused.code
            span.fail(refused.code)
            return worker_pb2.ExecuteToolResponse(error=refused.to_proto())
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
            return worker_pb2.ExecuteToolResponse(error=exception_to_tool_error(exc))
        finally:
            self._dispatcher.after_call()
            # The tool name and outcome only: argument values never reach the logs.
            _log.debug(
                "call end: %s (%s, %.1f ms)",
                call.tool_name,
                outcome,
                (time.perf_counter() - started) * 1000,
                extra={"tool": call.tool_name},
            )

    async def ExecuteStreamingTool(
        self, request: worker_pb2.ExecuteStreamingToolRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[worker_pb2.ExecuteStreamingToolResponse]:
        headers = await self._authenticate(context)
        call = request.call
        session = self._begin_call(call, headers)
        release = await self._admit(context)
        try:
            with self._tracing.span(call.tool_name, session.session_id, headers.traceparent, headers.tracestate) as span:
                chunks = self._stream(call, session, span, context)
                try:
                    async for chunk in chunks:
                        yield chunk
                finally:
                    await chunks.aclose()
        finally:
            release()

    async def _stream(
        self, call: Any, session: SessionContext, span: ToolSpan, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[worker_pb2.ExecuteStreamingToolResponse]:
        started = time.perf_counter()
        _log.debug("stream start: %s", call.tool_name, extra={"tool": call.tool_name})
        try:
            try:
                prepared = self._dispatcher.prepare(call, session)
                result = await self._dispatcher.invoke(prepared)
            except ToolCallError as refused:
                span.fail(refused.code)
                yield worker_pb2.ExecuteStreamingToolResponse(is_final=True, error=refused.to_proto())
                return
            except asyncio.CancelledError:
                session.mark_cancelled()
                raise
            except KeyboardInterrupt:
                raise
            except BaseException as exc:
                span.fail(qualified_type_name(type(exc)))
                yield error_chunk(exc)
                return
            chunks = ChunkStream(
                result, executor=self._dispatcher.executor, session=session, queue_size=self._stream_queue_size
            )
            # Stops the producer as soon as the RPC ends (cancel, deadline), wherever this task was.
            context.add_done_callback(lambda _context: chunks.abandon())
            async for chunk in chunks:
                if chunk.HasField("error"):
                    span.fail(chunk.error.python_type or chunk.error.code)
                yield chunk
        finally:
            self._dispatcher.after_call()
            _log.debug(
                "stream end: %s (%.1f ms)",
                call.tool_name,
                (time.perf_counter() - started) * 1000,
                extra={"tool": call.tool_name},
            )

    async def DescribeTools(
        self, request: worker_pb2.DescribeToolsRequest, context: grpc.aio.ServicerContext
    ) -> worker_pb2.DescribeToolsResponse:
        await self._authenticate(context)
        return worker_pb2.DescribeToolsResponse(tools=self._dispatcher.describe())

    async def BeginSession(
        self, request: worker_pb2.BeginSessionRequest, context: grpc.aio.ServicerContext
    ) -> worker_pb2.BeginSessionResponse:
        await self._authenticate(context)
        await self._session_hook(context, "on_session_begin", request.session_id)
        return worker_pb2.BeginSessionResponse()

    async def EndSession(
        self, request: worker_pb2.EndSessionRequest, context: grpc.aio.ServicerContext
    ) -> worker_pb2.EndSessionResponse:
        await self._authenticate(context)
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

"""The WorkerService servicer: authentication, per-call context, and the six RPCs.

Every RPC runs in its own asyncio task (grpc.aio creates one per call), and each task has its own
copy of the contextvars, so the session context and correlation id set here never leak between
calls and need no reset.

Tool failures are data (`ToolError` in the response), never gRPC errors: the only status codes
this servicer produces are UNAUTHENTICATED, and INTERNAL when a session hook fails.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from typing import Any, AsyncIterator, Optional

import grpc

from snakepit.bridge.v1 import worker_pb2, worker_pb2_grpc

from .dispatch import Dispatcher
from .encoding import encode_value
from .type_names import qualified_type_name
from .hooks import call_hook
from .logging_setup import correlation_id_var
from .session_context import SessionContext, set_current_session_context
from .streaming import DEFAULT_QUEUE_SIZE, ChunkStream, collect_items, error_chunk
from .tool_errors import ToolCallError, exception_to_tool_error

__all__ = ["WorkerService", "AUTHORIZATION_HEADER", "CORRELATION_HEADER"]

AUTHORIZATION_HEADER = "authorization"
CORRELATION_HEADER = "x-snakepit-correlation-id"

_log = logging.getLogger("snakepit_bridge.worker")


class WorkerService(worker_pb2_grpc.WorkerServiceServicer):
    """Serves one adapter instance. `info` is the WorkerInfo announced at readiness."""

    def __init__(
        self,
        *,
        adapter: Any,
        dispatcher: Dispatcher,
        token: str,
        info: worker_pb2.WorkerInfo,
        stream_queue_size: int = DEFAULT_QUEUE_SIZE,
    ) -> None:
        self._adapter = adapter
        self._dispatcher = dispatcher
        self._expected_authorization = f"Bearer {token}".encode("utf-8")
        self._info = info
        self._stream_queue_size = stream_queue_size

    # -- per-call plumbing -------------------------------------------------------------------

    async def _authenticate(self, context: grpc.aio.ServicerContext) -> Optional[str]:
        """Aborts with UNAUTHENTICATED unless the bearer token matches; returns the correlation id.

        One pass over the metadata, no interceptor: this runs on every call.
        """
        authorization: Optional[str] = None
        correlation_id: Optional[str] = None
        for key, value in context.invocation_metadata() or ():
            if key == AUTHORIZATION_HEADER:
                authorization = value
            elif key == CORRELATION_HEADER:
                correlation_id = value
        presented = authorization.encode("utf-8") if isinstance(authorization, str) else b""
        # Constant-time comparison: the token is the pool's only secret.
        if not hmac.compare_digest(presented, self._expected_authorization):
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or invalid authorization token")
        if correlation_id:
            correlation_id_var.set(correlation_id)
        return correlation_id

    def _begin_call(self, call: Any, correlation_id: Optional[str]) -> SessionContext:
        session = SessionContext(call.session_id, correlation_id, call.metadata)
        set_current_session_context(session)
        return session

    # -- RPCs --------------------------------------------------------------------------------

    async def Ping(self, request: worker_pb2.PingRequest, context: grpc.aio.ServicerContext) -> worker_pb2.PingResponse:
        await self._authenticate(context)
        return worker_pb2.PingResponse(message=request.message, info=self._info)

    async def ExecuteTool(
        self, request: worker_pb2.ExecuteToolRequest, context: grpc.aio.ServicerContext
    ) -> worker_pb2.ExecuteToolResponse:
        correlation_id = await self._authenticate(context)
        call = request.call
        session = self._begin_call(call, correlation_id)
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
            return worker_pb2.ExecuteToolResponse(error=refused.to_proto())
        except asyncio.CancelledError:
            # Deadline or client cancel: async tools got the CancelledError; sync tools see the flag.
            outcome = "cancelled"
            session.mark_cancelled()
            raise
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # SystemExit from a tool is reported, not obeyed
            outcome = qualified_type_name(type(exc))
            return worker_pb2.ExecuteToolResponse(error=exception_to_tool_error(exc))
        finally:
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
        correlation_id = await self._authenticate(context)
        call = request.call
        session = self._begin_call(call, correlation_id)
        started = time.perf_counter()
        _log.debug("stream start: %s", call.tool_name, extra={"tool": call.tool_name})
        try:
            try:
                prepared = self._dispatcher.prepare(call, session)
                result = await self._dispatcher.invoke(prepared)
            except ToolCallError as refused:
                yield worker_pb2.ExecuteStreamingToolResponse(is_final=True, error=refused.to_proto())
                return
            except asyncio.CancelledError:
                session.mark_cancelled()
                raise
            except KeyboardInterrupt:
                raise
            except BaseException as exc:
                yield error_chunk(exc)
                return
            chunks = ChunkStream(
                result, executor=self._dispatcher.executor, session=session, queue_size=self._stream_queue_size
            )
            # Stops the producer as soon as the RPC ends (cancel, deadline), wherever this task was.
            context.add_done_callback(lambda _context: chunks.abandon())
            async for chunk in chunks:
                yield chunk
        finally:
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


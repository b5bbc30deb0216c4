"""The Node side of a host link, for tests: a `Calls` stream opened with `x-snakepit-host-link`,
whose host requests a FakeHostService answers as the sdk's bridge would over gRPC.

`answer_from` runs the HostService handler named by a `HostRequest` on its payload, with the
request's headers as its metadata, and turns the outcome into the `HostAnswer`: the response, or
the status, `snakepit-error-code` and `snakepit-error-details-bin` trailers the handler aborted
with. So a failure reaches the worker exactly as it would from the gRPC host bridge.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple

import grpc

from fake_host import FakeHostService
from snakepit.bridge.v1 import common_pb2, host_pb2, worker_pb2
from snakepit_bridge.worker.call_headers import HOST_LINK_HEADER
from support import AUTH

HostAnswer = worker_pb2.HostAnswer


class _Aborted(Exception):
    def __init__(self, code: grpc.StatusCode, details: str, trailers: Sequence[Tuple[str, Any]]) -> None:
        super().__init__(details)
        self.code = code
        self.details = details
        self.trailers = dict(trailers)


class _RequestContext:
    """What a HostService handler sees of a request that came on the call channel: its headers,
    plus the token the channel was opened with."""

    def __init__(self, headers: Dict[str, str]) -> None:
        self._metadata = AUTH + tuple(headers.items())

    def invocation_metadata(self) -> Tuple[Tuple[str, str], ...]:
        return self._metadata

    async def abort(self, code: grpc.StatusCode, details: str, trailing_metadata: Sequence[Tuple[str, Any]] = ()) -> None:
        raise _Aborted(code, details, trailing_metadata)


async def answer_from(host: FakeHostService, request: worker_pb2.HostRequest) -> worker_pb2.HostAnswer:
    handler = getattr(host, request.method)
    request_type = getattr(host_pb2, f"{request.method}Request")
    try:
        response = await handler(request_type.FromString(request.payload), _RequestContext(dict(request.headers)))
    except _Aborted as aborted:
        return HostAnswer(
            request_id=request.request_id,
            status_code=aborted.code.value[0],
            status_message=aborted.details,
            error_code=aborted.trailers.get("snakepit-error-code", ""),
            error_details_json=aborted.trailers.get("snakepit-error-details-bin", b""),
        )
    return HostAnswer(request_id=request.request_id, payload=response.SerializeToString())


def new_link_id() -> str:
    return secrets.token_hex(16)


class NodeLink:
    """One client's call channel with a host link. `call`/`answer` as the pool's channel; every
    host request frame is kept in `host_requests` and, unless `answering` is off, answered by
    `answer_with` (default: `answer_from(host, ...)`)."""

    def __init__(self, stub: Any, host: FakeHostService, link_id: Optional[str] = None, *, answering: bool = True) -> None:
        self.link_id = link_id or new_link_id()
        self.metadata = AUTH + ((HOST_LINK_HEADER, self.link_id),)
        self.host = host
        self.answering = answering
        self.answer_with: Callable[[worker_pb2.HostRequest], Any] = lambda request: answer_from(host, request)
        self.rpc = stub.Calls(metadata=self.metadata)
        self.answers: Dict[int, worker_pb2.ExecuteToolResponse] = {}
        self.host_requests: List[worker_pb2.CallsResponse] = []
        self._writing = asyncio.Lock()  # one write at a time on a stream
        self._answering: Set["asyncio.Task[None]"] = set()
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> Optional[grpc.aio.AioRpcError]:
        try:
            async for frame in self.rpc:
                if frame.HasField("host_request"):
                    self.host_requests.append(frame)
                    if self.answering:
                        task = asyncio.ensure_future(self._answer(frame.host_request))
                        self._answering.add(task)
                        task.add_done_callback(self._answering.discard)
                else:
                    self.answers[frame.call_id] = frame.response
        except grpc.aio.AioRpcError as error:
            return error
        return None

    async def _answer(self, request: worker_pb2.HostRequest) -> None:
        answer = await self.answer_with(request)
        try:
            await self.send(worker_pb2.CallsRequest(host_answer=answer))
        except Exception:  # the channel ended meanwhile: nobody waits for the answer any more
            pass

    async def send(self, frame: worker_pb2.CallsRequest) -> None:
        async with self._writing:
            await self.rpc.write(frame)

    async def call(self, call_id: int, call: common_pb2.ToolCall, timeout_ms: int = 10_000, headers: Optional[Dict[str, str]] = None) -> None:
        await self.send(worker_pb2.CallsRequest(call_id=call_id, call=worker_pb2.ChannelCall(call=call, timeout_ms=timeout_ms, headers=headers or {})))

    async def cancel(self, call_id: int) -> None:
        await self.send(worker_pb2.CallsRequest(call_id=call_id, cancel=worker_pb2.CallCancel()))

    async def answer(self, call_id: int, timeout: float = 10.0) -> worker_pb2.ExecuteToolResponse:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while call_id not in self.answers:
            assert not self._reader.done(), f"the channel ended: {self._reader.result()}"
            assert loop.time() < deadline, f"no answer for call {call_id}"
            await asyncio.sleep(0.005)
        return self.answers.pop(call_id)

    async def host_request(self, count: int = 1, timeout: float = 10.0) -> worker_pb2.CallsResponse:
        """The `count`-th host request frame received."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.host_requests) < count:
            assert not self._reader.done(), f"the channel ended: {self._reader.result()}"
            assert loop.time() < deadline, f"no host request #{count}"
            await asyncio.sleep(0.005)
        return self.host_requests[count - 1]

    async def end(self, timeout: float = 10.0) -> Optional[grpc.aio.AioRpcError]:
        """How the channel ended: None (OK) or the RPC's error."""
        return await asyncio.wait_for(asyncio.shield(self._reader), timeout)

    async def close(self) -> None:
        self.rpc.cancel()
        for task in list(self._answering):
            task.cancel()
        await asyncio.gather(self._reader, *self._answering, return_exceptions=True)

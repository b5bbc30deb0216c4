"""Host requests on a call channel: how a tool reaches the host from a worker run as a service.

A worker run as a service has no host bridge to dial; a client that wants its calls' host requests
opens its `Calls` stream with the header `x-snakepit-host-link: <id>`, and that channel gets a
`HostTunnel` (link_registry.py keeps the latest one per id). A tunnel is a host caller (client.py):

- `request()` sends `CallsResponse{call_id, host_request: HostRequest{request_id, method, payload,
  headers, timeout_ms}}` through the channel's single-writer queue (its `post`: grpcio allows one
  write in flight per RPC), then waits for the `HostAnswer` with the same request_id, which the
  channel hands to `answer()` as its frames arrive. `call_id` names the channel call the request
  serves, 0 for a call that came as its own RPC. Request ids: 1, 2, 3… wrapping at 2³², skipping
  0 and the ids still waiting.
- An answer whose request_id nothing waits for (unknown, or its request stopped waiting) is ignored.
- A request whose call is cancelled stops waiting at once (the protocol has no frame to tell the
  host); its late answer is then ignored. With a timeout, the frame carries it as `timeout_ms` and
  the request stops waiting when it runs out (DEADLINE_EXCEEDED, as a gRPC deadline).
- `close()`, once the channel can carry no more answers (the client half-closed it, or it ended):
  every waiting request fails as a gRPC call fails when its connection breaks (UNAVAILABLE, which
  tool code sees as HostBridgeUnavailable), and so does every later one.
- A failed answer becomes HostCallFailed with the answer's status, code and details; a payload
  that does not parse fails its request alone with INTERNAL (what grpcio reports for a response it
  cannot deserialize); a request above the channel's message limit is not sent and fails with
  RESOURCE_EXHAUSTED (grpcio would end the whole channel). HostClient translates these exactly as
  it does the gRPC caller's.

Everything here runs on the worker's event loop (HostAccess brings sync tools' requests there),
so the table of waiting requests needs no lock.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
from typing import TYPE_CHECKING, Any, Callable, Dict, Optional, Sequence, Tuple

import grpc
from google.protobuf.message import DecodeError

from snakepit.bridge.v1 import host_pb2, worker_pb2

from .client import HostCaller, HostCallFailed

if TYPE_CHECKING:  # pragma: no cover - typing only
    from .access import HostAccess

__all__ = ["HostTunnel", "Post"]

_log = logging.getLogger("snakepit_bridge.host")

# Writes a frame on the channel, through its single-writer queue (call_channel.py `_post`).
Post = Callable[[worker_pb2.CallsResponse], None]

_CallsResponse = worker_pb2.CallsResponse
_HostRequest = worker_pb2.HostRequest
_MAX_REQUEST_ID = 0xFFFFFFFF
_STATUS_BY_NUMBER = {status.value[0]: status for status in grpc.StatusCode}
# The response message of each HostService method, by name.
_RESPONSE_TYPES = {
    method.name: getattr(host_pb2, method.output_type.name)
    for method in host_pb2.DESCRIPTOR.services_by_name["HostService"].methods
}


def _response_of(method: str, answer: worker_pb2.HostAnswer) -> Any:
    status = answer.status_code
    if status:
        raise HostCallFailed(
            _STATUS_BY_NUMBER.get(status, grpc.StatusCode.UNKNOWN),
            answer.status_message,
            answer.error_code,
            answer.error_details_json,
        )
    response_type = _RESPONSE_TYPES[method]
    try:
        return response_type.FromString(answer.payload)
    except DecodeError as exc:
        raise HostCallFailed(
            grpc.StatusCode.INTERNAL, f"the host's answer to {method} is not a {response_type.DESCRIPTOR.name}: {exc}"
        ) from None


class HostTunnel:
    """The host requests of one call channel opened with a host link.

    `bind` makes a HostAccess of a host caller; `on_settled` is called whenever a request stops
    waiting (the channel ends a drain only when none waits); `on_close` once, when the tunnel closes.
    Create on the event loop.
    """

    def __init__(
        self,
        post: Post,
        *,
        bind: Callable[[HostCaller], HostAccess],
        max_request_bytes: int,
        on_settled: Callable[[], None],
        on_close: Callable[["HostTunnel"], None],
    ) -> None:
        self._post = post
        self._bind = bind
        self._max_request_bytes = max_request_bytes
        self._on_settled = on_settled
        self._on_close = on_close
        self._loop = asyncio.get_running_loop()
        self._waiting: Dict[int, "asyncio.Future[Any]"] = {}
        self._last_id = 0
        # Why requests fail, once closed.
        self._closed: Optional[str] = None

    def access(self, call_id: int) -> HostAccess:
        """The host access of the channel's call `call_id`: its requests name that call."""
        return self._bind(functools.partial(self.request, call_id))

    @property
    def waiting(self) -> bool:
        """True while a request waits for its answer."""
        return bool(self._waiting)

    async def request(
        self, call_id: int, method: str, request: Any, headers: Sequence[Tuple[str, str]], timeout: Optional[float]
    ) -> Any:
        """A host caller (client.py) with the channel call it serves bound first."""
        if self._closed is not None:
            raise HostCallFailed(grpc.StatusCode.UNAVAILABLE, self._closed)
        timeout_ms = 0 if timeout is None else max(1, math.ceil(timeout * 1000))
        request_id = self._new_id()
        frame = _CallsResponse(
            call_id=call_id,
            host_request=_HostRequest(
                request_id=request_id,
                method=method,
                payload=request.SerializeToString(),
                headers={key: value for key, value in headers if value},
                timeout_ms=timeout_ms,
            ),
        )
        size = frame.ByteSize()
        if size > self._max_request_bytes:
            raise HostCallFailed(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"the {method} request ({size} bytes) is larger than the call channel's message limit "
                f"({self._max_request_bytes} bytes)",
            )
        waiting = self._waiting
        future: "asyncio.Future[Any]" = self._loop.create_future()
        waiting[request_id] = future
        self._post(frame)
        try:
            answer = await (future if timeout is None else asyncio.wait_for(future, timeout))
        except asyncio.TimeoutError:
            raise HostCallFailed(grpc.StatusCode.DEADLINE_EXCEEDED, f"no answer within {timeout_ms} ms") from None
        finally:
            # Still there when the request stopped waiting (cancelled, timed out): its id is free again.
            if waiting.get(request_id) is future:
                del waiting[request_id]
            self._on_settled()
        return _response_of(method, answer)

    def answer(self, answer: worker_pb2.HostAnswer) -> None:
        """Hands a `host_answer` frame to the request waiting for it."""
        future = self._waiting.pop(answer.request_id, None)
        if future is None:
            _log.debug("host answer %d matches no waiting host request; ignored", answer.request_id)
            return
        if not future.done():  # done: cancelled, and its task has not resumed yet
            future.set_result(answer)

    def close(self, reason: str) -> None:
        """No answer can arrive any more: fails the waiting requests and every later one with `reason`."""
        if self._closed is not None:
            return
        self._closed = reason
        gone = worker_pb2.HostAnswer(status_code=grpc.StatusCode.UNAVAILABLE.value[0], status_message=reason)
        waiting = list(self._waiting.values())
        self._waiting.clear()
        for future in waiting:
            if not future.done():
                future.set_result(gone)
        self._on_close(self)

    def _new_id(self) -> int:
        waiting = self._waiting
        request_id = self._last_id
        while True:
            request_id = request_id + 1 if request_id < _MAX_REQUEST_ID else 1
            if request_id not in waiting:
                self._last_id = request_id
                return request_id

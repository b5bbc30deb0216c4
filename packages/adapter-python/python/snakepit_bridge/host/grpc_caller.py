"""HostService over gRPC: the host caller of a worker a pool started (its config's `host_address`).

One grpc.aio channel per worker, opened at startup and closed at shutdown (link.py), bound to the
worker's event loop. Every call presents `authorization: Bearer <token>` plus the headers it is
given (correlation id, trace context). A call that ends with a status other than OK becomes
`HostCallFailed`: the status, its message, and the `snakepit-error-code` and
`snakepit-error-details-bin` trailers the host sends with domain failures.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple, Union

import grpc

from snakepit.bridge.v1 import host_pb2_grpc

from .client import ERROR_CODE_TRAILER, ERROR_DETAILS_TRAILER, HostCallFailed

__all__ = ["GrpcHostCaller"]


def _failure_of(error: grpc.aio.AioRpcError) -> HostCallFailed:
    error_code = ""
    details_json: Union[bytes, str] = b""
    for key, value in error.trailing_metadata() or ():
        if key == ERROR_CODE_TRAILER:
            error_code = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        elif key == ERROR_DETAILS_TRAILER and isinstance(value, (bytes, str)):
            details_json = value
    return HostCallFailed(error.code(), error.details() or "", error_code, details_json)


class GrpcHostCaller:
    """Calls HostService at `address` (a `HostCaller`)."""

    def __init__(self, address: str, token: str, *, max_message_bytes: int) -> None:
        self._authorization = (("authorization", f"Bearer {token}"),)
        self._channel = grpc.aio.insecure_channel(
            address,
            options=[
                ("grpc.max_send_message_length", max_message_bytes),
                ("grpc.max_receive_message_length", max_message_bytes),
            ],
        )
        self._stub = host_pb2_grpc.HostServiceStub(self._channel)

    async def __call__(self, method: str, request: Any, headers: Sequence[Tuple[str, str]], timeout: Optional[float]) -> Any:
        rpc = getattr(self._stub, method)
        metadata = self._authorization + tuple((key, value) for key, value in headers if value)
        try:
            return await rpc(request, metadata=metadata, timeout=timeout)
        except grpc.aio.AioRpcError as error:
            raise _failure_of(error) from None

    async def close(self) -> None:
        await self._channel.close()

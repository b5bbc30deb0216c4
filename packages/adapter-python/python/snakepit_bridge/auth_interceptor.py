"""Refuses calls without the pool's token before their request is read.

The servicer checks the token too, but only after grpcio has read and parsed the whole request:
a local process without the token could make the worker buffer hundreds of megabytes first. This
interceptor sees only the headers; a refused call gets a handler that never reads its request.
"""

from __future__ import annotations

import hmac
from typing import Any, Awaitable, Callable

import grpc

__all__ = ["TokenInterceptor"]

AUTHORIZATION_HEADER = "authorization"


async def _refuse(_requests: Any, context: grpc.aio.ServicerContext) -> None:
    await context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or invalid authorization token")


# Stream-unary with no deserializer: the request bytes are never parsed, nor waited for.
_REFUSAL = grpc.stream_unary_rpc_method_handler(_refuse)


class TokenInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, token: str) -> None:
        self._expected = f"Bearer {token}".encode("utf-8")

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        for key, value in handler_call_details.invocation_metadata or ():
            if key == AUTHORIZATION_HEADER:
                presented = value.encode("utf-8") if isinstance(value, str) else bytes(value)
                if hmac.compare_digest(presented, self._expected):
                    return await continuation(handler_call_details)
                break
        return _REFUSAL

"""Refuses calls without the pool's token before their request is read. The worker's only token check.

A worker run as a service may accept several tokens at once, all compared, and have them replaced
while it serves (`set_tokens`: rotation, on SIGHUP; service/token_reload.py). A pool-started worker
has exactly one.

Checking in the servicer would come after grpcio has read and parsed the whole request: a local
process without the token could make the worker buffer hundreds of megabytes first. This
interceptor sees only the headers; a refused call gets a handler that never reads its request.

It runs on every call, so it keeps the work small: one pass over the headers, a constant-time
comparison, and the method's handler from a cache instead of awaiting grpcio's continuation each
time (which walks grpcio's handler lookup again). The cache holds only handlers grpcio found, one
per method of the service, so its size is fixed; unknown methods are not cached (their callers
could name endless ones). Caching is correct because the worker's handlers depend on the method
name alone, and because this is the server's only interceptor (a later one would be skipped).
"""

from __future__ import annotations

import hmac
from typing import Any, Awaitable, Callable, Dict, Tuple

import grpc

__all__ = ["TokenInterceptor", "AUTHORIZATION_HEADER"]

AUTHORIZATION_HEADER = "authorization"


async def _refuse(_requests: Any, context: grpc.aio.ServicerContext) -> None:
    await context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or invalid authorization token")


# Stream-unary with no deserializer: the request bytes are never parsed, nor waited for.
_REFUSAL = grpc.stream_unary_rpc_method_handler(_refuse)


# grpc has no type stubs here (mypy.ini), so the base class is Any to the type checker.
class TokenInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Accepts a call presenting `authorization: Bearer <token>` for one of `tokens` (at least one)."""

    def __init__(self, *tokens: str) -> None:
        self._expected: Tuple[bytes, ...] = ()
        self.set_tokens(*tokens)
        self._handlers: Dict[str, grpc.RpcMethodHandler] = {}

    def set_tokens(self, *tokens: str) -> None:
        """From now on, accepts `tokens` (at least one) instead. Calls already let in go on."""
        if not tokens:
            raise ValueError("a TokenInterceptor needs at least one token")
        self._expected = tuple(f"Bearer {token}".encode("utf-8") for token in tokens)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        for key, value in handler_call_details.invocation_metadata or ():
            if key == AUTHORIZATION_HEADER:
                presented = value.encode("utf-8") if isinstance(value, str) else bytes(value)
                # Constant-time comparisons, with every token: the token is the pool's only secret.
                accepted = False
                for expected in self._expected:
                    accepted |= hmac.compare_digest(presented, expected)
                if accepted:
                    method = handler_call_details.method
                    handler = self._handlers.get(method)
                    if handler is None:
                        handler = await continuation(handler_call_details)
                        if handler is not None:
                            self._handlers[method] = handler
                    return handler
                break
        return _REFUSAL

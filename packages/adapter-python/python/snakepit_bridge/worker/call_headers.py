"""The headers a tool call carries besides its message: correlation id and W3C trace context, and
on an RPC to a worker run as a service the client's host link.

A unary RPC sends them as gRPC metadata; a call on the call channel sends them in its frame
(`ChannelCall.headers`). Both become the same `CallHeaders`, so the call runs the same way. The
host link is an RPC's only (`x-snakepit-host-link`, host/link_registry.py): a call on a channel
has the channel's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping, NamedTuple, Optional

from ..observability.tracing import TRACEPARENT_HEADER, TRACESTATE_HEADER

if TYPE_CHECKING:  # pragma: no cover - typing only
    import grpc

__all__ = [
    "CallHeaders",
    "CORRELATION_HEADER",
    "HOST_LINK_HEADER",
    "NO_HEADERS",
    "headers_of_metadata",
    "headers_of_frame",
]

# Ties one call's log lines together on both sides; host calls made by the call's tool forward it.
CORRELATION_HEADER = "x-snakepit-correlation-id"
# Names the client's call channel that the call's host requests travel on (a worker run as a service).
HOST_LINK_HEADER = "x-snakepit-host-link"


class CallHeaders(NamedTuple):
    correlation_id: Optional[str]
    traceparent: Optional[str]
    tracestate: Optional[str]
    host_link: Optional[str]


NO_HEADERS = CallHeaders(None, None, None, None)


def headers_of_metadata(context: grpc.aio.ServicerContext) -> CallHeaders:
    """The RPC's correlation, trace and host link headers, in one pass over its metadata."""
    correlation_id = traceparent = tracestate = host_link = None
    for key, value in context.invocation_metadata() or ():
        if key == CORRELATION_HEADER:
            correlation_id = value
        elif key == TRACEPARENT_HEADER:
            traceparent = value
        elif key == TRACESTATE_HEADER:
            tracestate = value
        elif key == HOST_LINK_HEADER:
            host_link = value
    if correlation_id is None and traceparent is None and host_link is None:
        return NO_HEADERS
    return CallHeaders(correlation_id or None, traceparent or None, tracestate or None, host_link or None)


def headers_of_frame(headers: Mapping[str, str]) -> CallHeaders:
    """A channel call's headers (its frame's `headers` map)."""
    if not headers:
        return NO_HEADERS
    get = headers.get
    correlation_id = get(CORRELATION_HEADER)
    traceparent = get(TRACEPARENT_HEADER)
    if correlation_id is None and traceparent is None:
        return NO_HEADERS
    return CallHeaders(correlation_id or None, traceparent or None, get(TRACESTATE_HEADER) or None, None)

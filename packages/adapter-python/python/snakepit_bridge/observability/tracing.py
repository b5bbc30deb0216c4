"""Trace context for tool calls (W3C `traceparent` / `tracestate` gRPC metadata).

When a call carries `traceparent` and the worker's interpreter has `opentelemetry` installed,
the tool runs inside a span `snakepit.tool <name>` that is a child of the caller's context, with
attributes `snakepit.tool.name` and `snakepit.session.id`; a failing tool records its exception on
the span and marks it as an error. Whether opentelemetry is there is decided once at startup
(`load_tracing()`); without it every hook is a shared no-op object, so the per-call cost is an
attribute lookup and an empty `with`.

Host calls made by a tool carry the trace context on: the tool's span when one is current, else
the caller's headers as received.
"""

from __future__ import annotations

import contextlib
import re
from types import ModuleType
from typing import Any, ContextManager, Dict, Iterator, List, Optional, Tuple


__all__ = ["Tracing", "ToolSpan", "NO_SPAN", "NO_SPAN_CONTEXT", "NO_TRACING", "load_tracing", "trace_id_of", "TRACEPARENT_HEADER", "TRACESTATE_HEADER"]

TRACEPARENT_HEADER = "traceparent"
TRACESTATE_HEADER = "tracestate"
SPAN_NAME_PREFIX = "snakepit.tool "

_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$")
_ZERO_TRACE_ID = "0" * 32
_ZERO_SPAN_ID = "0" * 16


def trace_id_of(traceparent: Optional[str]) -> Optional[str]:
    """The trace id of a well-formed W3C traceparent, else None (a malformed header is ignored)."""
    if not traceparent:
        return None
    match = _TRACEPARENT.match(traceparent.strip())
    if match is None:
        return None
    version, trace_id, span_id, _flags, rest = match.groups()
    # Version ff is forbidden; version 00 has no trailing fields; all-zero ids are invalid.
    if version == "ff" or (version == "00" and rest) or trace_id == _ZERO_TRACE_ID or span_id == _ZERO_SPAN_ID:
        return None
    return trace_id


class ToolSpan:
    """The span of one tool call, as the worker service uses it. This base does nothing."""

    __slots__ = ()

    def fail(self, error_type: str) -> None:
        """Records a tool failure (the tool raised, or the call was refused) by its type alone."""


_NO_SPAN = ToolSpan()
# nullcontext is reusable, so one instance serves every call.
_NO_SPAN_CONTEXT: ContextManager[ToolSpan] = contextlib.nullcontext(_NO_SPAN)
# For the worker service's fast path: a call without traceparent never gets a span (see span()).
NO_SPAN = _NO_SPAN
NO_SPAN_CONTEXT = _NO_SPAN_CONTEXT


class Tracing:
    """No tracing: the worker's behaviour when opentelemetry is not installed.

    Contract for every implementation: a call without `traceparent` gets no span, so the worker
    service does not even ask (`span()` is only called for calls that carry one).
    """

    enabled = False

    def span(
        self, tool_name: str, session_id: Optional[str], traceparent: Optional[str], tracestate: Optional[str]
    ) -> ContextManager[ToolSpan]:
        return _NO_SPAN_CONTEXT

    def outgoing_headers(self, traceparent: Optional[str], tracestate: Optional[str]) -> List[Tuple[str, str]]:
        """Trace headers for a host call made by the current tool."""
        headers: List[Tuple[str, str]] = []
        if traceparent:
            headers.append((TRACEPARENT_HEADER, traceparent))
            if tracestate:
                headers.append((TRACESTATE_HEADER, tracestate))
        return headers


NO_TRACING = Tracing()


class _OpenTelemetrySpan(ToolSpan):
    __slots__ = ("_span", "_trace")

    def __init__(self, span: Any, trace: ModuleType) -> None:
        self._span = span
        self._trace = trace

    def fail(self, error_type: str) -> None:
        # The type only: messages and tracebacks may quote arguments (secrets), and a span
        # exporter ships them off the machine unscrubbed.
        self._span.set_attribute("error.type", error_type)
        self._span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, error_type))


class OpenTelemetryTracing(Tracing):
    """Spans through the opentelemetry API (whatever SDK and exporter the process configured)."""

    enabled = True

    def __init__(self, trace: ModuleType, propagate: ModuleType) -> None:
        self._trace = trace
        self._propagate = propagate
        self._tracer = trace.get_tracer("snakepit_bridge")

    @contextlib.contextmanager
    def _span(self, tool_name: str, session_id: Optional[str], carrier: Dict[str, str]) -> Iterator[ToolSpan]:
        parent = self._propagate.extract(carrier)
        attributes = {"snakepit.tool.name": tool_name}
        if session_id:
            attributes["snakepit.session.id"] = session_id
        # Failures are recorded by the worker service (ToolSpan.fail): tool errors are returned as
        # data, so they never propagate through this `with`.
        with self._tracer.start_as_current_span(
            SPAN_NAME_PREFIX + tool_name,
            context=parent,
            kind=self._trace.SpanKind.SERVER,
            attributes=attributes,
        ) as span:
            yield _OpenTelemetrySpan(span, self._trace)

    def span(
        self, tool_name: str, session_id: Optional[str], traceparent: Optional[str], tracestate: Optional[str]
    ) -> ContextManager[ToolSpan]:
        if not traceparent:
            return _NO_SPAN_CONTEXT
        carrier = {TRACEPARENT_HEADER: traceparent}
        if tracestate:
            carrier[TRACESTATE_HEADER] = tracestate
        return self._span(tool_name, session_id, carrier)

    def outgoing_headers(self, traceparent: Optional[str], tracestate: Optional[str]) -> List[Tuple[str, str]]:
        carrier: Dict[str, str] = {}
        self._propagate.inject(carrier)
        if carrier.get(TRACEPARENT_HEADER):
            return [(key, carrier[key]) for key in (TRACEPARENT_HEADER, TRACESTATE_HEADER) if carrier.get(key)]
        return super().outgoing_headers(traceparent, tracestate)


def load_tracing() -> Tracing:
    """OpenTelemetry tracing when its API is importable, else the no-op. Called once at startup."""
    try:
        from opentelemetry import propagate, trace
    except ImportError:
        return NO_TRACING
    return OpenTelemetryTracing(trace, propagate)

"""A stand-in for the parts of the `opentelemetry` API the bridge uses, installed into sys.modules.

opentelemetry cannot be installed on the test machines, so this mirrors the real API's names and
signatures (`trace.get_tracer`, `Tracer.start_as_current_span(name, context=, kind=, attributes=)`,
`Span.record_exception`, `Span.set_status(Status(StatusCode.ERROR, ...))`, `trace.SpanKind`,
`propagate.extract(carrier)`, `propagate.inject(carrier)`) and records every span.
"""

from __future__ import annotations

import contextlib
import itertools
import sys
import types
from contextvars import ContextVar
from typing import Any, Dict, Iterator, List, Optional


class SpanKind:
    INTERNAL = "internal"
    SERVER = "server"
    CLIENT = "client"


class StatusCode:
    UNSET = "unset"
    OK = "ok"
    ERROR = "error"


class Status:
    def __init__(self, status_code: str, description: Optional[str] = None) -> None:
        self.status_code = status_code
        self.description = description


class FakeSpan:
    def __init__(self, name: str, trace_id: str, span_id: str, parent: Dict[str, str], kind: str, attributes: Dict[str, Any]) -> None:
        self.name = name
        self.trace_id = trace_id
        self.span_id = span_id
        self.parent = parent
        self.kind = kind
        self.attributes = dict(attributes)
        self.exceptions: List[BaseException] = []
        self.status: Optional[Status] = None
        self.ended = False

    def record_exception(self, exception: BaseException) -> None:
        self.exceptions.append(exception)

    def set_status(self, status: Status) -> None:
        self.status = status

    def set_attribute(self, key: str, value: Any) -> None:
        self.attributes[key] = value


_current: ContextVar[Optional[FakeSpan]] = ContextVar("fake_otel_current_span", default=None)
_ids = itertools.count(1)


class FakeTracer:
    def __init__(self, recorder: List[FakeSpan]) -> None:
        self._recorder = recorder

    @contextlib.contextmanager
    def start_as_current_span(self, name: str, context: Any = None, kind: str = SpanKind.INTERNAL,
                              attributes: Optional[Dict[str, Any]] = None) -> Iterator[FakeSpan]:
        parent = dict(context or {})
        trace_id = parent.get("trace_id") or f"{next(_ids):032x}"
        span = FakeSpan(name, trace_id, f"{next(_ids):016x}", parent, kind, attributes or {})
        self._recorder.append(span)
        token = _current.set(span)
        try:
            yield span
        finally:
            _current.reset(token)
            span.ended = True


def install(monkeypatch: Any) -> List[FakeSpan]:
    """Puts the fake `opentelemetry`, `.trace` and `.propagate` into sys.modules; returns the
    list that collects finished and running spans."""
    spans: List[FakeSpan] = []
    trace = types.ModuleType("opentelemetry.trace")
    trace.SpanKind = SpanKind  # type: ignore[attr-defined]
    trace.StatusCode = StatusCode  # type: ignore[attr-defined]
    trace.Status = Status  # type: ignore[attr-defined]
    trace.get_tracer = lambda name, *args, **kwargs: FakeTracer(spans)  # type: ignore[attr-defined]

    propagate = types.ModuleType("opentelemetry.propagate")

    def extract(carrier: Dict[str, str]) -> Dict[str, str]:
        parts = carrier.get("traceparent", "").split("-")
        context = {"trace_id": parts[1], "span_id": parts[2]} if len(parts) == 4 else {}
        if carrier.get("tracestate"):
            context["tracestate"] = carrier["tracestate"]
        return context

    def inject(carrier: Dict[str, str]) -> None:
        span = _current.get()
        if span is not None:
            carrier["traceparent"] = f"00-{span.trace_id}-{span.span_id}-01"
            if span.parent.get("tracestate"):
                carrier["tracestate"] = span.parent["tracestate"]

    propagate.extract = extract  # type: ignore[attr-defined]
    propagate.inject = inject  # type: ignore[attr-defined]
    package = types.ModuleType("opentelemetry")
    package.trace = trace  # type: ignore[attr-defined]
    package.propagate = propagate  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "opentelemetry", package)
    monkeypatch.setitem(sys.modules, "opentelemetry.trace", trace)
    monkeypatch.setitem(sys.modules, "opentelemetry.propagate", propagate)
    return spans

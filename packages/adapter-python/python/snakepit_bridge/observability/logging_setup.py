"""Structured logging: one JSON object per line on stderr, which the Node side parses (on stdout
for a worker run as a service, `snakepit_bridge.serve`, whose lines a log collector reads).

Only records that go through the `logging` module are structured. Anything user code prints to
stdout/stderr directly is left alone; Node captures it raw. Lines are recognised by the
`"snakepit": "log"` field.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from typing import IO, Any, Dict, Mapping, Optional

__all__ = [
    "correlation_id_var",
    "trace_id_var",
    "configure_logging",
    "JsonLineFormatter",
    "parse_level",
    "level_name",
    "FIELDS_ATTRIBUTE",
]

# `logger.info(..., extra={FIELDS_ATTRIBUTE: {...}})`: extra keys for that line (never argument values).
FIELDS_ATTRIBUTE = "snakepit_fields"
# Keys a field may not replace.
_RESERVED = frozenset({"snakepit", "level", "logger", "message"})

# Set for the duration of each call (one asyncio task per RPC; executor threads inherit it via
# copy_context), so every log line emitted while serving a call carries the caller's id.
correlation_id_var: ContextVar[Optional[str]] = ContextVar("snakepit_correlation_id", default=None)
# The trace id of the call's W3C traceparent, when it sent one; logged as "trace_id".
trace_id_var: ContextVar[Optional[str]] = ContextVar("snakepit_trace_id", default=None)

_LEVELS_IN = {
    "trace": logging.DEBUG,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "fatal": logging.CRITICAL,
    "critical": logging.CRITICAL,
    # pino's "silent": above every real level.
    "silent": logging.CRITICAL + 10,
}


def parse_level(name: Optional[str]) -> int:
    """Maps a Node/pino or Python level name to a `logging` level; unknown names mean info."""
    if not name:
        return logging.INFO
    return _LEVELS_IN.get(str(name).strip().lower(), logging.INFO)


def level_name(levelno: int) -> str:
    """Maps a `logging` level number to the pino-style name used on the wire."""
    if levelno >= logging.CRITICAL:
        return "fatal"
    if levelno >= logging.ERROR:
        return "error"
    if levelno >= logging.WARNING:
        return "warn"
    if levelno >= logging.INFO:
        return "info"
    return "debug"


class JsonLineFormatter(logging.Formatter):
    """Formats a record as a single-line JSON object (json.dumps escapes embedded newlines).

    `static_fields` go on every line (after the fixed keys, which they cannot replace)."""

    def __init__(self, static_fields: Optional[Mapping[str, Any]] = None) -> None:
        super().__init__()
        self._static = {key: value for key, value in (static_fields or {}).items() if key not in _RESERVED}

    def format(self, record: logging.LogRecord) -> str:
        entry: Dict[str, Any] = {
            "snakepit": "log",
            "level": level_name(record.levelno),
            "logger": record.name,
            "message": record.getMessage(),
        }
        # Formatting happens synchronously in the emitting thread, so the contextvar read here is
        # the one of the call that logged.
        correlation_id = correlation_id_var.get()
        if correlation_id:
            entry["correlation_id"] = correlation_id
        trace_id = trace_id_var.get()
        if trace_id:
            entry["trace_id"] = trace_id
        tool = getattr(record, "tool", None)
        if tool is not None:
            entry["tool"] = str(tool)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        for key, value in self._static.items():
            entry.setdefault(key, value)
        fields = getattr(record, FIELDS_ATTRIBUTE, None)
        if isinstance(fields, Mapping):
            for key, value in fields.items():
                if key not in _RESERVED:
                    entry[str(key)] = value
        # default=str: a log call must never fail because of an odd message argument.
        return json.dumps(entry, default=str)


def configure_logging(
    level: Optional[str], stream: Optional[IO[str]] = None, static_fields: Optional[Mapping[str, Any]] = None
) -> logging.Handler:
    """Replaces the root logger's handlers with one JSON-lines handler on `stream` (default: stderr),
    `static_fields` added to every line."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonLineFormatter(static_fields))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(parse_level(level))
    # grpc's aio layer logs a line per call at debug level; that is noise for tool authors.
    logging.getLogger("grpc").setLevel(max(logging.INFO, root.level))
    logging.getLogger("asyncio").setLevel(max(logging.INFO, root.level))
    return handler

"""Python side of Snakepit for TypeScript: adapters run as warm gRPC workers driven by Node.

Importing this package stays cheap and free of grpc, so adapter modules can be imported (and unit
tested) without a gRPC runtime; only `snakepit_bridge.server` needs grpcio.
"""

from .base_adapter import BaseAdapter, ThreadSafeAdapter, thread_safe_method, tool
from .host.errors import (
    HostBridgeUnavailable,
    HostToolError,
    InvalidParameterError,
    SessionNotFoundError,
    SessionQuotaError,
    SessionStoreUnavailable,
    SnakepitBridgeError,
    UnknownHostToolError,
)
from .session_context import SessionContext

__all__ = [
    "BaseAdapter",
    "ThreadSafeAdapter",
    "thread_safe_method",
    "tool",
    "SessionContext",
    "SnakepitBridgeError",
    "HostBridgeUnavailable",
    "HostToolError",
    "UnknownHostToolError",
    "SessionQuotaError",
    "SessionNotFoundError",
    "SessionStoreUnavailable",
    "InvalidParameterError",
]

"""Snakepit's module path for the thread-safe base: `from snakepit_bridge.base_adapter_threaded
import ThreadSafeAdapter, thread_safe_method` keeps working."""

from .base_adapter import BaseAdapter, ThreadSafeAdapter, thread_safe_method, tool

__all__ = ["BaseAdapter", "ThreadSafeAdapter", "thread_safe_method", "tool"]

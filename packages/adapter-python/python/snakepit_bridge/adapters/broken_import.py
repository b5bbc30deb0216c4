"""Fails at import time on purpose: the Node tests use it to exercise startup_failed."""

raise ImportError("broken on purpose: missing_dependency")

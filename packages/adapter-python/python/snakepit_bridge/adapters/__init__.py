"""Adapters shipped with the bridge: the showcase used by the integration tests, and small
fixtures for startup failures and the legacy `execute_tool` path."""

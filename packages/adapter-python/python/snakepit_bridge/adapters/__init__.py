"""Adapters shipped with the bridge: the showcase (process mode) and its threaded variant, which
the examples and the Node integration tests drive. Test-only fixtures live with the tests."""

"""What the worker tells the outside about calls: structured JSON log lines (`logging_setup`) and
OpenTelemetry spans from the caller's trace context (`tracing`)."""

"""The worker process around the adapter: the gRPC service and its call channel, authentication,
call headers, the config line, readiness on the control fd, process/threaded mode, WorkerInfo,
adapter hooks, and the parent-death guards (stdin watchdog, heartbeat).

The entry point that puts these together is `snakepit_bridge.server` (`python -m snakepit_bridge.server`).
Kept free of imports: importing `snakepit_bridge` must not pull in grpc.
"""

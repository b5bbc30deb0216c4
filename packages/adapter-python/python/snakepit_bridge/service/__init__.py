"""A worker run as a service: `python -m snakepit_bridge.serve` (see serve.py and the README,
*Service mode*). Settings from flags and the environment (`settings.py`), one server on its own
(`runner.py`, on the same runtime and WorkerService as a pool-spawned worker), or several on
consecutive ports under a supervisor that restarts them (`supervisor.py`).

Kept free of imports: importing `snakepit_bridge` must not pull in grpc.
"""

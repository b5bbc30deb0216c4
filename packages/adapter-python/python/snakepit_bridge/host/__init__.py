"""The way back to Node: host tools and session state, as tool code reaches them.

`access` runs host calls from sync and async tools, `client` speaks HostService over the worker's
one channel, `payload` encodes what goes to the host, `errors` are the exceptions tool code sees,
`link` opens and closes the channel for the worker's life (RegisterTools, heartbeat).

Kept free of imports: importing `snakepit_bridge` must not pull in grpc.
"""

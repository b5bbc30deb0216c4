"""Streams: a tool's items in batched chunk messages (`chunk_stream`), through a bounded queue
between the producer and the RPC handler (`chunk_queue`)."""

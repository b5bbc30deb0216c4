"""Tools: the `@tool` decorator and discovery (`registry`), from a ToolCall to a Python call
(`dispatch`), the threads sync tools run in (`threads`), threaded-mode rules and checks
(`thread_safety`), and failures reported as ToolError (`errors`).

Kept free of imports: importing `snakepit_bridge` must not pull in grpc.
"""

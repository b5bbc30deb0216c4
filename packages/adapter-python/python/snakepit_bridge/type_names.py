"""Stable, repr-free names for Python types, shared by error reports and encoding markers.

Kept free of grpc/protobuf imports: startup failures use it before those are known to exist.
"""

from __future__ import annotations

__all__ = ["qualified_type_name"]


def qualified_type_name(cls: type) -> str:
    """"ValueError" for builtins, "package.module.ClassName" otherwise."""
    module = getattr(cls, "__module__", None)
    name = getattr(cls, "__qualname__", None) or getattr(cls, "__name__", "object")
    if not module or module == "builtins":
        return name
    return f"{module}.{name}"

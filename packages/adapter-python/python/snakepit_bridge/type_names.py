"""Stable, repr-free names for Python types, shared by error reports and encoding markers.

Kept free of grpc/protobuf imports: startup failures use it before those are known to exist.
"""

from __future__ import annotations

__all__ = ["qualified_type_name"]


def qualified_type_name(cls: type) -> str:
    """"ValueError" for builtins, "package.module.ClassName" otherwise."""
    # getattr: a class may lack (or have a non-str) __module__.
    module: object = getattr(cls, "__module__", None)
    name = cls.__qualname__
    if not isinstance(module, str) or not module or module == "builtins":
        return name
    return f"{module}.{name}"

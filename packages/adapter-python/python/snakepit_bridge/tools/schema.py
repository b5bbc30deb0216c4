"""JSON Schemas (draft 2020-12) of tool signatures: the `ToolSpec.parameters_json` document.

One document per tool. Its root is the schema of the arguments object (what `json_parameters` and
`binary_parameters` carry together); the result and, for streaming tools, the chunk schema sit in
the `x-snakepit` extension of the same document, so that every `$ref` of all three resolves
against one `$defs`:

    {
      "$schema": "https://json-schema.org/draft/2020-12/schema",
      "type": "object",
      "properties": {"text": {"type": "string"}, "top_k": {"type": "integer", "default": 5}},
      "required": ["text"],
      "additionalProperties": false,
      "$defs": {"Hit": {"title": "Hit", "type": "object", ...}},
      "x-snakepit": {"version": 1, "result": {"type": "array", "items": {"$ref": "#/$defs/Hit"}}}
    }

Rules (the README's "Tool schemas" section is the user-facing summary):
- `properties` keep the parameters' (and fields') order; every other object is written with
  sorted keys. The output depends on nothing but the code, and is the same on every Python version
  the package supports (3.9 and later).
- Left out: the injected `context` parameter, `*args` and positional-only parameters (neither can
  be passed by name). `**kwargs` makes `additionalProperties` its hint's schema (`true` for none or
  `Any`; `**kwargs: Unpack[TD]` adds TD's keys instead); without it `additionalProperties` is false.
- A parameter is required when it has no default. JSON-able defaults are given as `default`; a
  `None` default makes the schema admit null (as typing did implicitly before Python 3.11).
  Descriptions of parameters, result and chunks come from the docstring (docstrings.py).
- The schema describes the JSON on the wire: `datetime` is a `date-time` string, `Decimal` a
  number, an `Enum` its values. The dispatcher does not convert arguments to the hinted types.
- `bytes`, `bytearray`, `memoryview` are `{"x-snakepit-type": "bytes"}`, with no JSON `type`: the
  value is not JSON. At the top level it travels raw (an argument in `binary_parameters`, a result
  or chunk as `ToolValue.binary`, which Node shows as `Uint8Array` / `raw_data_base64`); nested in
  JSON it cannot travel (Node refuses a nested `Uint8Array`; Python encodes nested bytes as the
  `__snakepit_unserializable__` marker).
- Dataclasses, TypedDicts, NamedTuples, Enums, `type` aliases (3.12) and aliases reached through
  a string (`J = Union[str, List["J"]]`) are named `$defs` (`title` = the name; the key is the
  name, or `module.QualName` when two of one document share a name), referenced with `$ref`, so
  recursion needs no cut-off. Objects are closed (`additionalProperties: false`). A dataclass
  field is required when it has no default (`init=False` fields: `readOnly`, not required); a
  TypedDict key per totality and `Required`/`NotRequired`.
- Result: the return hint (awaited for `async def`). Generator functions, and functions hinted to
  return an `Iterator`/`AsyncIterator`, stream: `chunk` is the item type, `result` a list of them
  (a unary call collects the items). Other streaming tools: `chunk` = `result`. Non-streaming
  tools have no `chunk`.
- A hint that cannot be resolved, or that has no JSON meaning, is `{}` (anything; an undefined
  name inside a hint means Any: `List[Missing]` is an array); a failure while building a schema
  makes the whole document untyped (a warning is logged), never a startup failure.
"""

from __future__ import annotations

import ast
import collections.abc as abc
import copy
import dataclasses
import datetime
import decimal
import enum
import inspect
import json
import logging
import sys
import types
import typing
import uuid
from pathlib import PurePath
from typing import Any, Callable, Collection, Dict, List, Mapping, Optional, Set, Tuple

from .docstrings import parse_docstring

__all__ = [
    "BYTES_SCHEMA",
    "DIALECT",
    "EXTENSION",
    "FORMAT_VERSION",
    "complete_document",
    "encode_document",
    "tool_schema",
    "untyped_document",
]

_log = logging.getLogger("snakepit_bridge.tools")

DIALECT = "https://json-schema.org/draft/2020-12/schema"
EXTENSION = "x-snakepit"
FORMAT_VERSION = 1
BYTES_SCHEMA: Dict[str, Any] = {"x-snakepit-type": "bytes"}

Schema = Dict[str, Any]
# Where a hint's names are looked up: (globals, locals).
Scope = Tuple[Dict[str, Any], Optional[Mapping[str, Any]]]

# Deeper nesting than this (only pathological hints get there) is cut off with {}.
_MAX_DEPTH = 64
_NULL: Schema = {"type": "null"}
_EMPTY = inspect.Parameter.empty


class _Forms:
    """typing's special forms, and typing_extensions' where it defines its own.

    typing_extensions is only consulted when something already imported it (an adapter using its
    `Literal`, `TypedDict`, `NotRequired`...): describing tools never imports it.
    """

    def __init__(self, extensions: Optional[types.ModuleType]) -> None:
        modules = [typing] + ([extensions] if extensions is not None else [])

        def named(*names: str) -> Tuple[object, ...]:
            found: List[object] = []
            for module in modules:
                for name in names:
                    candidate = getattr(module, name, None)
                    if candidate is not None and candidate not in found:
                        found.append(candidate)
            return tuple(found)

        self.any = named("Any")
        self.annotated = named("Annotated")
        self.literal = named("Literal")
        self.required = named("Required")
        self.not_required = named("NotRequired")
        self.qualifiers = named("Required", "NotRequired", "ReadOnly", "Final", "ClassVar")
        self.unpack = named("Unpack")
        self.never = named("NoReturn", "Never")
        self.alias_types: Tuple[type, ...] = tuple(t for t in named("TypeAliasType") if isinstance(t, type))


_forms_cache: List[Tuple[object, _Forms]] = []


def _forms() -> _Forms:
    extensions = sys.modules.get("typing_extensions")
    if not _forms_cache or _forms_cache[0][0] is not extensions:
        _forms_cache[:] = [(extensions, _Forms(extensions))]
    return _forms_cache[0][1]


_UNION_TYPE: Optional[type] = getattr(types, "UnionType", None)
_ITERATOR_ORIGINS = (abc.Iterator, abc.AsyncIterator)  # Generator / AsyncGenerator are subclasses
_ITERABLE_ORIGINS = (abc.Iterable, abc.AsyncIterable)
_AWAITABLE_ORIGINS = (abc.Awaitable,)  # Coroutine is a subclass


def _array(items: Schema) -> Schema:
    return {"type": "array", "items": items} if items else {"type": "array"}


def _fingerprint(schema: Schema) -> str:
    """Equal for equal schemas (references compare by their target)."""
    return json.dumps(schema, sort_keys=True, default=lambda ref: f"$ref:{id(ref.key)}")


class _Ref:
    """Stands for a `$ref` target until the names of all definitions are known."""

    __slots__ = ("key",)

    def __init__(self, key: object) -> None:
        self.key = key


def _json_value(value: object) -> Tuple[bool, Any]:
    """(True, value as plain JSON) when `value` has a faithful JSON form; enums count as their value."""
    if isinstance(value, enum.Enum):
        value = value.value
    try:
        return True, json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError, RecursionError):
        return False, None


def _admits_null(schema: Schema) -> bool:
    if not schema or schema.get("type") == "null" or ("const" in schema and schema["const"] is None):
        return True
    if None in (schema.get("enum") or ()):
        return True
    return any(isinstance(member, dict) and _admits_null(member) for member in schema.get("anyOf") or ())


def _with_null(schema: Schema) -> Schema:
    """The schema widened to admit null (for a `None` default)."""
    if _admits_null(schema):
        return schema
    if set(schema) == {"anyOf"}:
        return {"anyOf": list(schema["anyOf"]) + [dict(_NULL)]}
    return {"anyOf": [schema, dict(_NULL)]}


_UNION_NAME = "__snakepit_union__"


class _UnionOperators(ast.NodeTransformer):
    """Rewrites `A | B` into `Union[A, B]`, for Pythons that cannot evaluate PEP 604 (before 3.10)."""

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        if not isinstance(node.op, ast.BitOr):
            return node
        members = ast.Tuple(elts=[node.left, node.right], ctx=ast.Load())
        return ast.copy_location(ast.Subscript(value=ast.Name(id=_UNION_NAME, ctx=ast.Load()), slice=members, ctx=ast.Load()), node)


def _without_union_operators(text: str) -> Optional[types.CodeType]:
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        return None
    if not any(isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr) for node in ast.walk(tree)):
        return None
    rewritten = ast.fix_missing_locations(_UnionOperators().visit(tree))
    return compile(rewritten, "<annotation>", "eval")


class _Lenient(Dict[str, Any]):
    """Locals for evaluating an annotation in which some name is undefined: the name means Any
    (`List[Missing]` is still a list). Real locals, globals and builtins come first."""

    def __init__(self, scope: Scope) -> None:
        super().__init__(scope[1] or {})
        self._globals = scope[0]

    def __missing__(self, name: str) -> Any:
        if name in self._globals:
            return self._globals[name]
        builtins = self._globals.get("__builtins__", __builtins__)
        namespace = builtins if isinstance(builtins, dict) else vars(builtins)
        return namespace[name] if name in namespace else Any


def _evaluate(text: str, scope: Scope, lenient: bool = False) -> object:
    """An annotation string evaluated where it was written.

    `X | Y` that the running Python cannot evaluate (before 3.10) is read as `Union[X, Y]`; an
    undefined name makes a second attempt in which it means Any.
    """
    globalns, localns = scope
    locals_: Dict[str, Any] = _Lenient(scope) if lenient else dict(localns or {})
    try:
        return eval(text, globalns, locals_)  # noqa: S307 - the adapter's own annotations
    except NameError:
        if lenient:
            raise
        return _evaluate(text, scope, lenient=True)
    except TypeError:
        code = _without_union_operators(text)
        if code is None:
            raise
        locals_[_UNION_NAME] = typing.Union
        try:
            return eval(code, globalns, locals_)  # noqa: S307
        except NameError:
            if lenient:
                raise
            return _evaluate(text, scope, lenient=True)


def _module_scope(obj: object, localns: Optional[Mapping[str, Any]] = None) -> Scope:
    module = sys.modules.get(getattr(obj, "__module__", None) or "")
    return (vars(module) if module is not None else {}), localns


def _type_hints(obj: object) -> Dict[str, Any]:
    """typing.get_type_hints with extras, or {} when any hint of `obj` cannot be resolved."""
    try:
        return typing.get_type_hints(obj, include_extras=True)
    except Exception:
        return {}


class _Probe:
    """An object with one annotation, for resolving hints one by one with typing's own rules."""

    def __init__(self, hint: object) -> None:
        self.__annotations__ = {"hint": hint}


def _resolve_one(hint: object, scope: Scope) -> object:
    """`hint` as typing.get_type_hints would resolve it where it was written; unchanged when it
    cannot (an undefined name; `X | Y` before Python 3.10), for the builder's own fallbacks.

    Used when resolving all hints of a function or class at once failed: the others then come out
    exactly as on the path where they all resolve, whatever the Python version."""
    if hint is _EMPTY:
        return hint
    try:
        return typing.get_type_hints(_Probe(hint), globalns=scope[0], localns=dict(scope[1] or {}), include_extras=True)["hint"]
    except Exception:
        return hint


def _raw_annotations(cls: type) -> Dict[str, Any]:
    """A class's annotations, own and inherited (base classes first), unevaluated."""
    merged: Dict[str, Any] = {}
    for base in reversed(cls.__mro__):
        try:
            own = base.__dict__.get("__annotations__", {})
        except Exception:
            own = {}
        if isinstance(own, dict):
            merged.update(own)
    if not merged:
        try:
            merged = dict(getattr(cls, "__annotations__", {}) or {})
        except Exception:
            merged = {}
    return merged


def _is_typeddict(cls: type) -> bool:
    return issubclass(cls, dict) and hasattr(cls, "__required_keys__") and hasattr(cls, "__total__")


def _is_namedtuple(cls: type) -> bool:
    return issubclass(cls, tuple) and isinstance(getattr(cls, "_fields", None), tuple)


def _is_named(cls: type) -> bool:
    return (
        issubclass(cls, enum.Enum)
        or (dataclasses.is_dataclass(cls) and isinstance(cls, type))
        or _is_typeddict(cls)
        or _is_namedtuple(cls)
    )


def _unwrap_qualifiers(hint: object) -> Tuple[object, Optional[bool]]:
    """(hint without Annotated/Required/NotRequired/ReadOnly/…, True for Required, False for
    NotRequired, None for neither)."""
    required: Optional[bool] = None
    forms = _forms()
    for _ in range(_MAX_DEPTH):
        origin = typing.get_origin(hint)
        args = typing.get_args(hint)
        if origin in forms.annotated and args:
            hint = args[0]
        elif origin in forms.qualifiers and args:
            if origin in forms.required:
                required = True
            elif origin in forms.not_required:
                required = False
            hint = args[0]
        elif isinstance(hint, str):
            # An unresolved string: Required[...] / NotRequired[...] still decide required-ness.
            head = hint.split("[", 1)[0].strip().rsplit(".", 1)[-1]
            if head == "Required":
                required = True
            elif head == "NotRequired":
                required = False
            return hint, required
        else:
            return hint, required
    return hint, required


class _Builder:
    """Builds schemas for the hints of one tool; collects the named definitions they use."""

    def __init__(self) -> None:
        self.definitions: Dict[object, Schema] = {}
        self._names: Dict[object, Tuple[str, str]] = {}
        self._expanding: Set[Tuple[str, int]] = set()
        self._depth = 0
        self.forms = _forms()

    # -- entry point -------------------------------------------------------------------------

    def schema(self, hint: object, scope: Scope) -> Schema:
        """The schema of one hint; `{}` for anything unexpected (an odd object among the hints
        must cost only its own description)."""
        if self._depth >= _MAX_DEPTH:
            return {}
        self._depth += 1
        try:
            return self._schema(hint, scope)
        except Exception:
            return {}
        finally:
            self._depth -= 1

    def _schema(self, hint: object, scope: Scope) -> Schema:
        forms = self.forms
        if hint is _EMPTY or hint is object or hint is Ellipsis or hint in forms.any:
            return {}
        if hint is None or hint is type(None):
            return dict(_NULL)
        if hint in forms.never:
            return {"not": {}}
        if isinstance(hint, str):
            return self._string(hint, scope)
        if isinstance(hint, typing.ForwardRef):
            module_name = getattr(hint, "__forward_module__", None)
            module = sys.modules.get(module_name) if isinstance(module_name, str) else None
            return self._forward(hint.__forward_arg__, (vars(module), None) if module is not None else scope)
        if forms.alias_types and isinstance(hint, forms.alias_types):
            return self._alias(hint)
        supertype = getattr(hint, "__supertype__", None)  # NewType
        if supertype is not None:
            return self.schema(supertype, scope)
        if isinstance(hint, typing.TypeVar):
            if hint.__bound__ is not None:
                return self.schema(hint.__bound__, scope)
            if hint.__constraints__:
                return self._union(hint.__constraints__, scope)
            return {}
        origin = typing.get_origin(hint)
        args = typing.get_args(hint)
        if origin is not None:
            if origin in forms.annotated or origin in forms.qualifiers:
                return self.schema(args[0], scope) if args else {}
            if origin is typing.Union or (_UNION_TYPE is not None and origin is _UNION_TYPE):
                return self._union(args, scope)
            if origin in forms.literal:
                return self._literal(args)
            if forms.alias_types and isinstance(origin, forms.alias_types):
                return self._alias(origin)
            if isinstance(origin, type):
                return self._generic(hint, origin, args, scope)
            return {}
        if isinstance(hint, type):
            return self._class(hint)
        return {}

    # -- forms ---------------------------------------------------------------------------------

    def _string(self, text: str, scope: Scope) -> Schema:
        """An annotation string typing could not resolve (see _evaluate for the fallbacks)."""
        key = (text, id(scope[0]))
        if key in self._expanding:
            return {}  # a string that recurs into itself: cut off
        try:
            resolved = _evaluate(text, scope)
        except Exception:
            return {}
        self._expanding.add(key)
        try:
            return self.schema(resolved, scope)
        finally:
            self._expanding.discard(key)

    def _forward(self, text: str, scope: Scope) -> Schema:
        """A ForwardRef left in a resolved hint: what typing leaves where an alias recurs."""
        try:
            resolved = _resolve_one(text, scope)
            if isinstance(resolved, str):
                return self._string(resolved, scope)
        except Exception:
            return {}
        if text.isidentifier() and not isinstance(resolved, type) and typing.get_origin(resolved) is not None:
            # A reference to an alias (`J = Union[str, List["J"]]`): a named definition, so that
            # recursion through it is a $ref.
            module = scope[0].get("__name__")
            qualified = f"{module}.{text}" if isinstance(module, str) and module else text
            key = ("alias", text, id(scope[0]))
            return self._named(key, lambda _: self.schema(resolved, scope), name=text, qualified=qualified)
        return self.schema(resolved, scope)

    def _union(self, members: Tuple[object, ...], scope: Scope) -> Schema:
        schemas: List[Schema] = []
        seen: Set[str] = set()
        for member in members:
            schema = self.schema(member, scope)
            if not schema:
                return {}  # Union[..., Any] is Any
            fingerprint = _fingerprint(schema)
            if fingerprint not in seen:
                seen.add(fingerprint)
                schemas.append(schema)
        if len(schemas) == 1:
            return schemas[0]
        return {"anyOf": schemas}

    def _literal(self, values: Tuple[object, ...]) -> Schema:
        found: List[Any] = []
        seen: Set[Tuple[str, str]] = set()
        for value in values:
            ok, plain = _json_value(value)
            if not ok:
                return {}
            fingerprint = (type(plain).__name__, json.dumps(plain, sort_keys=True))
            if fingerprint not in seen:
                seen.add(fingerprint)
                found.append(plain)
        if not found:
            return {}
        return {"const": found[0]} if len(found) == 1 else {"enum": found}

    def _generic(self, hint: object, origin: type, args: Tuple[object, ...], scope: Scope) -> Schema:
        if origin is type:
            return {}
        if origin is tuple:
            return self._tuple(args, scope, bare=hint is typing.Tuple)
        if _is_named(origin):
            return self._class(origin)  # Box[int] for a generic dataclass: its fields' TypeVars are {}
        if issubclass(origin, abc.Mapping):
            schema: Schema = {"type": "object"}
            if len(args) == 2:
                keys = self.schema(args[0], scope)
                if self._string_keys(keys):
                    schema["propertyNames"] = keys
                values = self.schema(args[1], scope)
                if values:
                    schema["additionalProperties"] = values
            return schema
        if issubclass(origin, (str, bytes, bytearray, memoryview)):
            return self._class(origin)
        if issubclass(origin, abc.Set):
            schema = _array(self.schema(args[0], scope) if args else {})
            schema["uniqueItems"] = True
            return schema
        if issubclass(origin, _ITERATOR_ORIGINS + _AWAITABLE_ORIGINS) or issubclass(origin, abc.AsyncIterable):
            return {}  # no JSON value (tool results of these types are handled by result_schemas)
        if issubclass(origin, abc.Iterable):
            return _array(self.schema(args[0], scope) if args else {})
        return self._class(origin)

    def _string_keys(self, keys: Schema) -> bool:
        """Whether a mapping's key schema says more than "a string" and only admits strings."""
        target = keys
        ref = keys.get("$ref")
        if isinstance(ref, _Ref):
            target = self.definitions.get(ref.key, {})
        values: List[Any] = list(target.get("enum") or ([target["const"]] if "const" in target else []))
        return bool(values) and all(isinstance(value, str) for value in values)

    def _tuple(self, args: Tuple[object, ...], scope: Scope, bare: bool) -> Schema:
        if bare:
            return {"type": "array"}
        if not args or args == ((),):  # tuple[()]: `((),)` before Python 3.11
            return {"type": "array", "maxItems": 0}
        if len(args) == 2 and args[1] is Ellipsis:
            return _array(self.schema(args[0], scope))
        return {
            "type": "array",
            "prefixItems": [self.schema(arg, scope) for arg in args],
            "items": False,
            "minItems": len(args),
        }

    def _class(self, cls: type) -> Schema:
        if cls is bool:
            return {"type": "boolean"}
        if issubclass(cls, enum.Enum):
            return self._named(cls, self._enum)
        if dataclasses.is_dataclass(cls):
            return self._named(cls, self._dataclass)
        if _is_typeddict(cls):
            return self._named(cls, self._typeddict)
        if _is_namedtuple(cls):
            return self._named(cls, self._namedtuple)
        if issubclass(cls, datetime.datetime):
            return {"type": "string", "format": "date-time"}
        if issubclass(cls, datetime.date):
            return {"type": "string", "format": "date"}
        if issubclass(cls, datetime.time):
            return {"type": "string", "format": "time"}
        if issubclass(cls, uuid.UUID):
            return {"type": "string", "format": "uuid"}
        if issubclass(cls, PurePath):
            return {"type": "string"}
        if issubclass(cls, (float, decimal.Decimal)):
            return {"type": "number"}
        if issubclass(cls, int):
            return {"type": "integer"}
        if issubclass(cls, str):
            return {"type": "string"}
        if issubclass(cls, (bytes, bytearray, memoryview)):
            return dict(BYTES_SCHEMA)
        if cls is type(None):
            return dict(_NULL)
        if issubclass(cls, abc.Mapping):
            return {"type": "object"}
        if issubclass(cls, abc.Set):
            return {"type": "array", "uniqueItems": True}
        if issubclass(cls, (list, tuple)) or (issubclass(cls, abc.Sequence) and not issubclass(cls, abc.Iterator)):
            return {"type": "array"}
        return {}

    # -- named definitions -----------------------------------------------------------------------

    def _named(
        self, key: Any, build: Callable[[Any], Schema], name: Optional[str] = None, qualified: Optional[str] = None
    ) -> Schema:
        if key not in self.definitions:
            if name is None:
                name = str(getattr(key, "__name__", None) or "Type")
            if qualified is None:
                module = getattr(key, "__module__", None)
                qualname = str(getattr(key, "__qualname__", None) or name)
                qualified = f"{module}.{qualname}" if isinstance(module, str) and module else qualname
            self._names[key] = (name, qualified)
            self.definitions[key] = {}  # placeholder: a recursive reference finds the name
            definition = build(key)
            if not definition:  # nothing to name (e.g. an Enum without JSON values)
                del self.definitions[key]
                del self._names[key]
                return {}
            definition["title"] = name
            self.definitions[key] = definition
        return {"$ref": _Ref(key)}

    def _alias(self, alias: Any) -> Schema:
        scope = _module_scope(alias)
        return self._named(alias, lambda value: self.schema(value.__value__, scope))

    def _enum(self, cls: Any) -> Schema:
        values: List[Any] = []
        for member in cls:
            ok, plain = _json_value(member.value)
            if not ok:
                return {}
            if plain not in values:
                values.append(plain)
        return {"enum": values} if values else {}

    def _fields(self, cls: type) -> Tuple[Dict[str, Any], Scope]:
        """Resolved hints of a class's fields (raw annotations where resolution failed) and the
        scope to resolve the raw ones in."""
        scope = _module_scope(cls, dict(vars(cls)))
        hints = _type_hints(cls)
        if not hints:
            hints = {name: _resolve_one(raw, scope) for name, raw in _raw_annotations(cls).items()}
        return hints, scope

    def _field(self, hint: object, scope: Scope, default: object, has_default: bool) -> Schema:
        schema = self.schema(hint, scope)
        if has_default:
            if default is None:
                schema = _with_null(schema)
            ok, plain = _json_value(default)
            if ok:
                schema = dict(schema)
                schema["default"] = plain
        return schema

    @staticmethod
    def _object(properties: Dict[str, Schema], required: List[str]) -> Schema:
        return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}

    def _dataclass(self, cls: Any) -> Schema:
        hints, scope = self._fields(cls)
        properties: Dict[str, Schema] = {}
        required: List[str] = []
        for item in dataclasses.fields(cls):
            has_default = item.default is not dataclasses.MISSING or item.default_factory is not dataclasses.MISSING
            # A default_factory's value is not known without calling it: no `default` then.
            schema = self._field(hints.get(item.name, item.type), scope, item.default, item.default is not dataclasses.MISSING)
            description = item.metadata.get("description") if item.metadata else None
            if isinstance(description, str) or not item.init:
                schema = dict(schema)
                if isinstance(description, str):
                    schema["description"] = description
                if not item.init:
                    schema["readOnly"] = True  # in results, but not a constructor argument
            properties[item.name] = schema
            if not has_default and item.init:
                required.append(item.name)
        return self._object(properties, required)

    def _typeddict(self, cls: Any) -> Schema:
        hints, scope = self._fields(cls)
        required_keys = frozenset(getattr(cls, "__required_keys__", ()))
        properties: Dict[str, Schema] = {}
        required: List[str] = []
        for key, hint in hints.items():
            inner, marker = _unwrap_qualifiers(hint)
            properties[key] = self.schema(inner, scope)
            # Explicit Required/NotRequired win: __required_keys__ misses them in string
            # annotations (`from __future__ import annotations`) on several Python versions.
            if marker if marker is not None else key in required_keys:
                required.append(key)
        return self._object(properties, required)

    def _namedtuple(self, cls: Any) -> Schema:
        hints, scope = self._fields(cls)
        defaults: Dict[str, Any] = dict(getattr(cls, "_field_defaults", {}) or {})
        properties: Dict[str, Schema] = {}
        required: List[str] = []
        for name in cls._fields:
            has_default = name in defaults
            properties[name] = self._field(hints.get(name, _EMPTY), scope, defaults.get(name), has_default)
            if not has_default:
                required.append(name)
        return self._object(properties, required)

    # -- output --------------------------------------------------------------------------------

    def finish(self, document: Schema) -> Schema:
        """`document` with `$defs` added and every reference given its definition's final name."""
        by_name: Dict[str, List[object]] = {}
        for key in self.definitions:
            by_name.setdefault(self._names[key][0], []).append(key)
        final: Dict[object, str] = {}
        taken: Set[str] = set()
        for key in self.definitions:
            name, qualified = self._names[key]
            chosen = name if len(by_name[name]) == 1 else qualified
            candidate, counter = chosen, 1
            while candidate in taken:
                counter += 1
                candidate = f"{chosen}-{counter}"
            taken.add(candidate)
            final[key] = candidate

        def resolve(value: Any) -> Any:
            if isinstance(value, _Ref):
                return "#/$defs/" + final[value.key].replace("~", "~0").replace("/", "~1")
            if isinstance(value, dict):
                return {key: resolve(item) for key, item in value.items()}
            if isinstance(value, list):
                return [resolve(item) for item in value]
            return value

        result: Schema = resolve(document)
        if self.definitions:
            # An override's own $defs (see tool_schema) keep their names.
            merged: Dict[str, Any] = dict(result.get("$defs") or {})
            for key, schema in self.definitions.items():
                merged.setdefault(final[key], resolve(schema))
            result["$defs"] = merged
        return result


# -- results and chunks -------------------------------------------------------------------------


def _item_type(hint: object) -> Optional[object]:
    """T of Iterator[T], Iterable[T], Generator[T, ...], AsyncIterator[T], AsyncGenerator[T, ...];
    `Any` for those without arguments; None for any other hint."""
    hint, _ = _unwrap_qualifiers(hint)
    origin = typing.get_origin(hint) or hint
    if isinstance(origin, type) and issubclass(origin, _ITERABLE_ORIGINS) and not issubclass(
        origin, (str, bytes, bytearray, memoryview, abc.Mapping, abc.Sequence, abc.Set)
    ):
        args = typing.get_args(hint)
        return args[0] if args else Any
    return None


def _is_iterator_hint(hint: object) -> bool:
    hint, _ = _unwrap_qualifiers(hint)
    origin = typing.get_origin(hint) or hint
    return isinstance(origin, type) and issubclass(origin, _ITERATOR_ORIGINS)


def _awaited(hint: object) -> Optional[object]:
    """T of Awaitable[T] / Coroutine[Any, Any, T]; None for any other hint."""
    hint, _ = _unwrap_qualifiers(hint)
    origin = typing.get_origin(hint) or hint
    if isinstance(origin, type) and issubclass(origin, _AWAITABLE_ORIGINS):
        args = typing.get_args(hint)
        if issubclass(origin, abc.Coroutine):
            return args[2] if len(args) == 3 else Any
        return args[0] if args else Any
    return None


def _result_schemas(
    builder: _Builder, function: Callable[..., Any], hint: object, scope: Scope, streaming: bool
) -> Tuple[Schema, Optional[Schema]]:
    """(result schema, chunk schema or None) for a tool returning `hint`.

    Generator functions (and functions hinted to return an iterator) stream their items: a unary
    call returns them as a list. Any other value is the result, and a stream of one chunk.
    """
    if isinstance(hint, (str, typing.ForwardRef)):
        try:
            hint = _evaluate(hint if isinstance(hint, str) else hint.__forward_arg__, scope)
        except Exception:
            hint = Any
    generator = inspect.isgeneratorfunction(function) or inspect.isasyncgenfunction(function)
    if not generator and not inspect.iscoroutinefunction(function):
        awaited = _awaited(hint)  # a sync function handing back an awaitable: the dispatcher awaits it
        if awaited is not None:
            hint = awaited
    item: Optional[object] = None
    if generator:
        item = _item_type(hint) if hint is not _EMPTY else Any
        if item is None:
            item = Any
    elif _is_iterator_hint(hint):
        item = _item_type(hint)
    if item is not None:
        chunk = builder.schema(item, scope)
        return _array(chunk), chunk
    result = builder.schema(hint, scope)
    # Shared, not copied: finish() writes every part out afresh.
    return result, (result if streaming else None)


# -- the document ------------------------------------------------------------------------------


def untyped_document(streaming: bool, result: Optional[Schema] = None, chunk: Optional[Schema] = None) -> Schema:
    """The document of a tool nothing is known about: any arguments, any result."""
    extension: Schema = {"version": FORMAT_VERSION, "result": result if result is not None else {}}
    if streaming:
        extension["chunk"] = chunk if chunk is not None else {}
    return _canonical_document(
        {
            "$schema": DIALECT,
            "type": "object",
            "properties": {},
            "required": [],
            "additionalProperties": True,
            EXTENSION: extension,
        }
    )


def _parameters(
    builder: _Builder,
    signature: inspect.Signature,
    hints: Mapping[str, Any],
    scope: Scope,
    injected: Collection[str],
    descriptions: Mapping[str, str],
) -> Schema:
    properties: Dict[str, Schema] = {}
    required: List[str] = []
    additional: Any = False
    for parameter in signature.parameters.values():
        if parameter.name in injected or parameter.kind in (
            inspect.Parameter.VAR_POSITIONAL,
            inspect.Parameter.POSITIONAL_ONLY,
        ):
            continue
        hint = hints.get(parameter.name, parameter.annotation)
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            inner, _ = _unwrap_qualifiers(hint)
            if typing.get_origin(inner) in builder.forms.unpack and typing.get_args(inner):
                unpacked = builder.schema(typing.get_args(inner)[0], scope)
                definition = builder.definitions.get(unpacked["$ref"].key) if isinstance(unpacked.get("$ref"), _Ref) else None
                if definition is not None and definition.get("type") == "object":
                    for key, schema in definition.get("properties", {}).items():
                        if key not in properties and key not in injected:
                            properties[key] = schema
                            if key in definition.get("required", ()):
                                required.append(key)
                    continue
                additional = True
                continue
            additional = builder.schema(hint, scope) or True
            continue
        has_default = parameter.default is not _EMPTY
        schema = builder._field(hint, scope, parameter.default, has_default)
        description = descriptions.get(parameter.name)
        if description:
            schema = dict(schema)
            schema["description"] = description
        properties[parameter.name] = schema
        if not has_default:
            required.append(parameter.name)
    return {
        "$schema": DIALECT,
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": additional,
    }


def tool_schema(
    function: Callable[..., Any],
    signature: inspect.Signature,
    *,
    streaming: bool,
    injected: Collection[str] = (),
    override: Optional[object] = None,
    name: str = "",
) -> Schema:
    """The `parameters_json` document of a tool (see the module docstring).

    `override`: `@tool(parameters=...)`. A mapping is the arguments schema as given (the result and
    chunk schemas are still derived from the hints); anything else (Snakepit's parameter lists)
    means untyped arguments. Never raises: a failure gives the untyped document.
    """
    try:
        target = getattr(function, "__func__", function)
        try:
            target = inspect.unwrap(target)
        except ValueError:
            pass
        scope: Scope = (getattr(target, "__globals__", None) or _module_scope(target)[0], None)
        hints = _type_hints(target)
        if not hints:
            hints = {name: _resolve_one(p.annotation, scope) for name, p in signature.parameters.items()}
            hints["return"] = _resolve_one(signature.return_annotation, scope)
        doc = parse_docstring(inspect.getdoc(function))
        builder = _Builder()
        result, chunk = _result_schemas(builder, function, hints.get("return", signature.return_annotation), scope, streaming)
        if doc.returns:
            result = dict(result, description=doc.returns)
        if chunk is not None and doc.yields:
            chunk = dict(chunk, description=doc.yields)
        if isinstance(override, Mapping):
            arguments: Schema = dict(copy.deepcopy(override))
            arguments.setdefault("$schema", DIALECT)
        elif override is not None:
            arguments = {"$schema": DIALECT, "type": "object", "properties": {}, "required": [], "additionalProperties": True}
        else:
            arguments = _parameters(builder, signature, hints, scope, injected, doc.parameters)
        existing = arguments.get(EXTENSION)
        extension: Schema = dict(existing) if isinstance(existing, Mapping) else {}
        extension.setdefault("version", FORMAT_VERSION)
        extension.setdefault("result", result)
        if streaming:
            extension.setdefault("chunk", chunk if chunk is not None else {})
        arguments[EXTENSION] = extension
        return _canonical_document(builder.finish(arguments))
    except Exception as exc:  # a schema is a description: it must never break discovery
        _log.warning(
            "could not describe the signature of tool %r (%s: %s); it is described as untyped",
            name or getattr(function, "__name__", "?"),
            type(exc).__name__,
            exc,
        )
        return untyped_document(streaming)


# -- serialisation ----------------------------------------------------------------------------

# Keywords whose values are data, not schemas: their objects are sorted like any other, but a key
# "properties" in them is just a key.
_DATA_KEYWORDS = frozenset(("default", "const", "enum", "examples"))


def canonical(value: Any, data: bool = False) -> Any:
    """A copy with every object's keys sorted, except the members of a schema's `properties` (the
    parameters' order is meaningful)."""
    if isinstance(value, Mapping):
        result: Dict[str, Any] = {}
        for key in sorted(value, key=str):
            child = value[key]
            if not data and key == "properties" and isinstance(child, Mapping):
                result[str(key)] = {str(name): canonical(schema) for name, schema in child.items()}
            else:
                result[str(key)] = canonical(child, data or key in _DATA_KEYWORDS)
        return result
    if isinstance(value, (list, tuple)):
        return [canonical(item, data) for item in value]
    return value


def _canonical_document(document: Mapping[str, Any]) -> Schema:
    result: Schema = canonical(document)
    return result


def complete_document(parameters: object, streaming: bool) -> Schema:
    """The `parameters_json` document for whatever a spec's `parameters` holds: a mapping (a
    schema, ours or an adapter's own) is kept, given `$schema` and `x-snakepit` when it lacks
    them; anything else (None, Snakepit's parameter lists) becomes the untyped document."""
    if not isinstance(parameters, Mapping):
        return untyped_document(streaming)
    document: Schema = dict(parameters)
    document.setdefault("$schema", DIALECT)
    existing = document.get(EXTENSION)
    extension: Schema = dict(existing) if isinstance(existing, Mapping) else {}
    extension.setdefault("version", FORMAT_VERSION)
    extension.setdefault("result", {})
    if streaming:
        extension.setdefault("chunk", {})
    document[EXTENSION] = extension
    return _canonical_document(document)


def encode_document(document: Schema, streaming: bool = False) -> bytes:
    """Compact UTF-8 JSON of a (canonical) document; the untyped document when it has no strict
    JSON form (NaN, objects JSON cannot hold)."""
    try:
        text = json.dumps(document, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        text = json.dumps(untyped_document(streaming), separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")

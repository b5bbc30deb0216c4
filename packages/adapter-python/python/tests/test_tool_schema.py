"""Tool signatures as JSON Schemas (snakepit_bridge/tools/schema.py): every supported hint, the
document's layout and order, and the round trip through DescribeTools and RegisterTools.

This module uses `from __future__ import annotations`, so its hints are strings resolved by the
builder (as in most adapters); `runtime()` builds functions whose hints are real objects.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import inspect
import json
import logging
import sys
import typing
import uuid
from pathlib import Path
from typing import (
    Any,
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Coroutine,
    Dict,
    FrozenSet,
    Generator,
    Iterable,
    Iterator,
    List,
    Literal,
    Mapping,
    NamedTuple,
    NewType,
    Optional,
    Sequence,
    Set,
    Tuple,
    TypedDict,
    TypeVar,
    Union,
)

import pytest

from legacy_adapter import LegacyAdapter
from sample_adapters import SampleAdapter
from snakepit.bridge.v1 import worker_pb2
from snakepit_bridge import BaseAdapter, SessionContext, tool
from snakepit_bridge.adapters.showcase import ShowcaseAdapter
from snakepit_bridge.adapters.showcase_threaded import ThreadedShowcaseAdapter
from snakepit_bridge.tools import schema as schema_module
from snakepit_bridge.tools.dispatch import Dispatcher, spec_to_proto
from snakepit_bridge.tools.docstrings import parse_docstring
from snakepit_bridge.tools.schema import DIALECT, complete_document, encode_document, tool_schema, untyped_document
from support import AUTH, new_executor, run, serving

NotRequired = getattr(typing, "NotRequired", None)
Required = getattr(typing, "Required", None)
Unpack = getattr(typing, "Unpack", None)
needs_311 = pytest.mark.skipif(sys.version_info < (3, 11), reason="typing.Required/NotRequired/Unpack")

INTEGER = {"type": "integer"}
NUMBER = {"type": "number"}
STRING = {"type": "string"}
BOOLEAN = {"type": "boolean"}
NULL = {"type": "null"}
BYTES = {"x-snakepit-type": "bytes"}


# -- helpers -------------------------------------------------------------------------------------


def document(function: Any, streaming: Optional[bool] = None) -> Dict[str, Any]:
    if streaming is None:
        streaming = inspect.isgeneratorfunction(function) or inspect.isasyncgenfunction(function)
    return tool_schema(function, inspect.signature(function), streaming=streaming, injected=("context",))


def param(function: Any, name: str = "x") -> Dict[str, Any]:
    """The schema of one parameter, with the definitions it uses."""
    doc = document(function)
    found = dict(doc["properties"][name])
    if "$defs" in doc:
        found["$defs"] = doc["$defs"]
    return found


def result(function: Any) -> Any:
    return document(function)["x-snakepit"]["result"]


def runtime(**hints: Any) -> Any:
    """A function `f(x)` (or with the given parameter names) whose annotations are real objects."""
    names = [name for name in hints if name != "return"]

    def f(**kwargs: Any) -> None: ...

    parameters = [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD) for name in names]
    f.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    f.__annotations__ = dict(hints)
    return f


def hint(annotation: Any) -> Dict[str, Any]:
    """The schema of a parameter `x` annotated with `annotation` (a real hint object)."""
    return param(runtime(x=annotation))


# -- types used by the hints below (module level, so the string hints resolve) -------------------


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Movie(TypedDict):
    title: str
    year: int


class PartialMovie(TypedDict, total=False):
    title: str
    year: int


class MixedMovie(PartialMovie):
    rating: float  # total (the subclass's default) though the base is not


@dataclasses.dataclass
class Point:
    x: float
    y: float = 0.0
    label: Optional[str] = None
    tags: List[str] = dataclasses.field(default_factory=list)
    norm: float = dataclasses.field(default=0.0, init=False)
    unit: str = dataclasses.field(default="m", metadata={"description": "length unit"})


@dataclasses.dataclass
class Node:
    value: int
    children: List[Node] = dataclasses.field(default_factory=list)
    parent: Optional[Node] = None


@dataclasses.dataclass
class Left:
    right: Optional[Right] = None


@dataclasses.dataclass
class Right:
    left: Optional[Left] = None


class Pair(NamedTuple):
    first: int
    second: str = "b"


@dataclasses.dataclass
class Broken:
    ok: int
    missing: NoSuchName  # type: ignore[name-defined]  # noqa: F821 - unresolvable on purpose


try:
    import typing_extensions as te
except ImportError:  # optional: only adapters that use it need it
    te = None

if te is not None:

    class ExtensionOptions(te.TypedDict, total=False):
        name: te.Required[str]
        size: int
        mode: te.Literal["a", "b"]

    class ExtensionMore(ExtensionOptions):
        extra: te.NotRequired[te.Annotated[int, "meta"]]
        mandatory: bool


UserId = NewType("UserId", int)
T = TypeVar("T")
Bounded = TypeVar("Bounded", bound=str)
Constrained = TypeVar("Constrained", int, str)
JsonValue = Union[str, int, None, List["JsonValue"], Dict[str, "JsonValue"]]


def scope_a() -> type:
    @dataclasses.dataclass
    class Item:
        a: int

    return Item


def scope_b() -> type:
    @dataclasses.dataclass
    class Item:
        b: str

    return Item


ItemA = scope_a()
ItemB = scope_b()


# -- scalars -----------------------------------------------------------------------------------------


def test_scalar_hints():
    def f(a: int, b: float, c: str, d: bool, e: bytes, g: bytearray, h: memoryview, i: None, j: Any, k: object, m):
        ...

    props = document(f)["properties"]
    assert props == {
        "a": INTEGER, "b": NUMBER, "c": STRING, "d": BOOLEAN, "e": BYTES, "g": BYTES, "h": BYTES,
        "i": NULL, "j": {}, "k": {}, "m": {},
    }


def test_scalar_hints_as_objects():
    f = runtime(a=int, b=float, c=str, d=bool, e=bytes, i=type(None), j=Any)
    assert document(f)["properties"] == {"a": INTEGER, "b": NUMBER, "c": STRING, "d": BOOLEAN, "e": BYTES, "i": NULL, "j": {}}
    assert hint(None) == NULL


def test_wire_forms_of_other_classes():
    def f(a: datetime.datetime, b: datetime.date, c: datetime.time, d: uuid.UUID, e: decimal.Decimal, g: Path,
          h: UserId, i: complex):
        ...

    assert document(f)["properties"] == {
        "a": {"type": "string", "format": "date-time"},
        "b": {"type": "string", "format": "date"},
        "c": {"type": "string", "format": "time"},
        "d": {"type": "string", "format": "uuid"},
        "e": NUMBER,
        "g": STRING,
        "h": INTEGER,  # NewType: its supertype
        "i": {},  # no JSON form
    }


# -- unions --------------------------------------------------------------------------------------


def test_optional_and_unions():
    def f(a: Optional[int], b: Union[int, str], c: Union[int, None, str], d: Union[int, Any], e: int | None,
          g: None | str | List[int], h: Union[List[int], Sequence[int]]):
        ...

    assert document(f)["properties"] == {
        "a": {"anyOf": [INTEGER, NULL]},
        "b": {"anyOf": [INTEGER, STRING]},
        "c": {"anyOf": [INTEGER, NULL, STRING]},
        "d": {},  # a union with Any is Any
        "e": {"anyOf": [INTEGER, NULL]},  # PEP 604 in a string
        "g": {"anyOf": [NULL, STRING, {"type": "array", "items": INTEGER}]},
        "h": {"type": "array", "items": INTEGER},  # equal members once
    }


@pytest.mark.skipif(sys.version_info < (3, 10), reason="X | Y objects")
def test_pep604_objects():
    assert hint(eval("int | None")) == {"anyOf": [INTEGER, NULL]}
    assert hint(eval("list[int | str]")) == {"type": "array", "items": {"anyOf": [INTEGER, STRING]}}


def test_pep604_strings_the_running_python_cannot_evaluate():
    # `'int' | None` raises TypeError on every version (a str has no `|`), as `int | None` does
    # before 3.10: the string is then read with every `A | B` as `Union[A, B]`.
    def f(x: "'int' | None", y: "Dict[str, List['int' | None]] | 'str'", z: "'int' | NoSuchName"):  # noqa: F722
        ...

    props = document(f)["properties"]
    assert props["x"] == {"anyOf": [INTEGER, NULL]}
    assert props["y"] == {"anyOf": [
        {"type": "object", "additionalProperties": {"type": "array", "items": {"anyOf": [INTEGER, NULL]}}}, STRING]}
    assert props["z"] == {}  # Union[int, Any]


# -- containers ----------------------------------------------------------------------------------


def test_sequences_and_sets():
    def f(a: list[int], b: List[str], c: Sequence[float], d: Iterable[bool], e: list, g: List,
          h: set[int], i: FrozenSet[str], j: Set):
        ...

    assert document(f)["properties"] == {
        "a": {"type": "array", "items": INTEGER},
        "b": {"type": "array", "items": STRING},
        "c": {"type": "array", "items": NUMBER},
        "d": {"type": "array", "items": BOOLEAN},
        "e": {"type": "array"},
        "g": {"type": "array"},
        "h": {"type": "array", "items": INTEGER, "uniqueItems": True},
        "i": {"type": "array", "items": STRING, "uniqueItems": True},
        "j": {"type": "array", "uniqueItems": True},
    }


def test_tuples():
    def f(a: tuple[int, str], b: Tuple[int, ...], c: tuple, d: Tuple[float], e: Tuple, g: tuple[()], h: Tuple[()]):
        ...

    assert document(f)["properties"] == {
        "a": {"type": "array", "prefixItems": [INTEGER, STRING], "items": False, "minItems": 2},
        "b": {"type": "array", "items": INTEGER},
        "c": {"type": "array"},
        "d": {"type": "array", "prefixItems": [NUMBER], "items": False, "minItems": 1},
        "e": {"type": "array"},
        "g": {"type": "array", "maxItems": 0},
        "h": {"type": "array", "maxItems": 0},
    }


def test_mappings():
    def f(a: dict[str, int], b: Dict[str, Any], c: Mapping[str, float], d: dict, e: Dict[Literal["x", "y"], int],
          g: Dict[int, str]):
        ...

    assert document(f)["properties"] == {
        "a": {"type": "object", "additionalProperties": INTEGER},
        "b": {"type": "object"},
        "c": {"type": "object", "additionalProperties": NUMBER},
        "d": {"type": "object"},
        "e": {"type": "object", "propertyNames": {"enum": ["x", "y"]}, "additionalProperties": INTEGER},
        "g": {"type": "object", "additionalProperties": STRING},  # JSON keys are strings anyway
    }


def test_nested_generics():
    def f(a: Dict[str, List[Optional[int]]], b: List[Dict[str, Tuple[int, float]]], c: Optional[List[Dict[str, Point]]]):
        ...

    doc = document(f)
    assert doc["properties"] == {
        "a": {"type": "object", "additionalProperties": {"type": "array", "items": {"anyOf": [INTEGER, NULL]}}},
        "b": {"type": "array", "items": {"type": "object", "additionalProperties": {
            "type": "array", "prefixItems": [INTEGER, NUMBER], "items": False, "minItems": 2}}},
        "c": {"anyOf": [{"type": "array", "items": {"type": "object", "additionalProperties": {"$ref": "#/$defs/Point"}}}, NULL]},
    }
    assert list(doc["$defs"]) == ["Point"]


def test_typevars_and_other_hints():
    def f(a: T, b: Bounded, c: Constrained, d: typing.Callable[[int], str], e: typing.Type[int], g: typing.Annotated[int, "meta"]):
        ...

    assert document(f)["properties"] == {
        "a": {}, "b": STRING, "c": {"anyOf": [INTEGER, STRING]}, "d": {}, "e": {}, "g": INTEGER,
    }


# -- Literal and Enum ----------------------------------------------------------------------------


def test_literal():
    def f(a: Literal["fast", "slow"], b: Literal[3], c: Literal[Color.RED, "other"], d: Literal[True, 1, None],
          e: Optional[Literal["x"]]):
        ...

    assert document(f)["properties"] == {
        "a": {"enum": ["fast", "slow"]},
        "b": {"const": 3},
        "c": {"enum": ["red", "other"]},
        "d": {"enum": [True, 1, None]},  # true and 1 are different JSON values
        "e": {"anyOf": [{"const": "x"}, NULL]},
    }


def test_enums_are_named_definitions():
    def f(color: Color, level: Level = Level.LOW, by_color: Optional[Dict[Color, int]] = None) -> Color:
        ...

    doc = document(f)
    assert doc["properties"] == {
        "color": {"$ref": "#/$defs/Color"},
        "level": {"$ref": "#/$defs/Level", "default": 1},
        "by_color": {
            "anyOf": [{"type": "object", "propertyNames": {"$ref": "#/$defs/Color"}, "additionalProperties": INTEGER}, NULL],
            "default": None,
        },
    }
    assert doc["$defs"] == {"Color": {"title": "Color", "enum": ["red", "green"]}, "Level": {"title": "Level", "enum": [1, 2]}}
    assert doc["x-snakepit"]["result"] == {"$ref": "#/$defs/Color"}


# -- TypedDict, dataclasses, NamedTuple ----------------------------------------------------------------


def test_typeddict_totality():
    def f(a: Movie, b: PartialMovie, c: MixedMovie):
        ...

    defs = document(f)["$defs"]
    assert defs["Movie"] == {
        "title": "Movie", "type": "object", "additionalProperties": False,
        "properties": {"title": STRING, "year": INTEGER}, "required": ["title", "year"],
    }
    assert defs["PartialMovie"]["required"] == []
    assert defs["MixedMovie"]["properties"] == {"title": STRING, "year": INTEGER, "rating": NUMBER}
    assert defs["MixedMovie"]["required"] == ["rating"]


@needs_311
def test_typeddict_required_and_not_required():
    # Defined here with string annotations: Python's own __required_keys__ gets these wrong on
    # 3.11-3.13 (it cannot see Required/NotRequired inside strings); the builder does not.
    namespace: Dict[str, Any] = {}
    exec(
        "from __future__ import annotations\n"
        "from typing import NotRequired, Required, TypedDict, Optional\n"
        "class Options(TypedDict, total=False):\n"
        "    name: Required[str]\n"
        "    size: int\n"
        "class More(Options):\n"
        "    extra: NotRequired[Optional[int]]\n"
        "    mandatory: bool\n",
        namespace,
    )
    module = type(sys)("schema_test_typeddicts")
    module.__dict__.update(namespace)
    sys.modules["schema_test_typeddicts"] = module
    for cls in (namespace["Options"], namespace["More"]):
        cls.__module__ = "schema_test_typeddicts"
    try:
        defs = document(runtime(x=namespace["More"]))["$defs"]
        assert defs["More"]["properties"] == {
            "name": STRING, "size": INTEGER, "extra": {"anyOf": [INTEGER, NULL]}, "mandatory": BOOLEAN,
        }
        assert defs["More"]["required"] == ["name", "mandatory"]
    finally:
        del sys.modules["schema_test_typeddicts"]


@pytest.mark.skipif(te is None, reason="typing_extensions is not installed")
def test_typing_extensions_forms():
    def f(x: ExtensionMore, y: te.Literal[1, 2]):
        ...

    doc = document(f)
    assert doc["$defs"]["ExtensionMore"]["properties"] == {
        "name": STRING, "size": INTEGER, "mode": {"enum": ["a", "b"]}, "extra": INTEGER, "mandatory": BOOLEAN,
    }
    assert doc["$defs"]["ExtensionMore"]["required"] == ["name", "mandatory"]
    assert doc["properties"]["y"] == {"enum": [1, 2]}


def test_dataclass_fields():
    def f(p: Point) -> Point:
        ...

    doc = document(f)
    assert doc["properties"]["p"] == {"$ref": "#/$defs/Point"}
    assert doc["x-snakepit"]["result"] == {"$ref": "#/$defs/Point"}
    assert doc["$defs"]["Point"] == {
        "title": "Point",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "x": NUMBER,
            "y": {"type": "number", "default": 0.0},
            "label": {"anyOf": [STRING, NULL], "default": None},
            "tags": {"type": "array", "items": STRING},  # default_factory: a default, but no value to show
            "norm": {"type": "number", "default": 0.0, "readOnly": True},  # init=False: only in results
            "unit": {"type": "string", "default": "m", "description": "length unit"},
        },
        "required": ["x"],
    }


def test_namedtuple():
    def f(pair: Pair):
        ...

    assert document(f)["$defs"]["Pair"] == {
        "title": "Pair", "type": "object", "additionalProperties": False,
        "properties": {"first": INTEGER, "second": {"type": "string", "default": "b"}}, "required": ["first"],
    }


def test_recursive_types_use_references():
    def f(tree: Node, pair: Left) -> List[Node]:
        ...

    doc = document(f)
    assert doc["$defs"]["Node"]["properties"] == {
        "value": INTEGER,
        "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
        "parent": {"anyOf": [{"$ref": "#/$defs/Node"}, NULL], "default": None},
    }
    assert doc["$defs"]["Left"]["properties"]["right"] == {"anyOf": [{"$ref": "#/$defs/Right"}, NULL], "default": None}
    assert doc["$defs"]["Right"]["properties"]["left"] == {"anyOf": [{"$ref": "#/$defs/Left"}, NULL], "default": None}
    assert doc["x-snakepit"]["result"] == {"type": "array", "items": {"$ref": "#/$defs/Node"}}


def test_recursive_string_alias_becomes_a_definition():
    def f(value: JsonValue, values: List[JsonValue]) -> JsonValue:
        ...

    doc = document(f)
    # typing expands the alias once itself; where it recurs (the string "JsonValue") it is a $ref.
    recursive = {"anyOf": [
        STRING, INTEGER, NULL,
        {"type": "array", "items": {"$ref": "#/$defs/JsonValue"}},
        {"type": "object", "additionalProperties": {"$ref": "#/$defs/JsonValue"}},
    ]}
    assert doc["$defs"] == {"JsonValue": dict(recursive, title="JsonValue")}
    assert doc["properties"]["value"] == recursive
    assert doc["x-snakepit"]["result"] == recursive
    # Inside List[...], typing expands it once more before it reaches the string: equivalent.
    items = doc["properties"]["values"]["items"]
    assert items["anyOf"][:3] == [STRING, INTEGER, NULL] and '"#/$defs/JsonValue"' in json.dumps(items)


def test_a_string_recurring_into_itself_is_cut_off():
    namespace: Dict[str, Any] = {"List": List}
    namespace["Loop"] = "List[Loop]"  # a string alias of a string: no typing construct to name
    scope = (namespace, None)
    assert schema_module._Builder().schema("Loop", scope)["type"] == "array"


@pytest.mark.skipif(sys.version_info < (3, 12), reason="the type statement")
def test_type_alias_statement():
    namespace: Dict[str, Any] = {}
    exec("type Tree = int | list[Tree]\n", namespace)
    doc = document(runtime(x=namespace["Tree"]))
    assert doc["properties"]["x"] == {"$ref": "#/$defs/Tree"}
    assert doc["$defs"]["Tree"] == {"title": "Tree", "anyOf": [INTEGER, {"type": "array", "items": {"$ref": "#/$defs/Tree"}}]}


def test_classes_sharing_a_name_get_qualified_definition_names():
    doc = document(runtime(a=ItemA, b=ItemB))
    names = sorted(doc["$defs"])
    assert names == ["test_tool_schema.scope_a.<locals>.Item", "test_tool_schema.scope_b.<locals>.Item"]
    assert doc["properties"]["a"] == {"$ref": "#/$defs/test_tool_schema.scope_a.<locals>.Item"}
    assert all(doc["$defs"][name]["title"] == "Item" for name in names)


# -- parameters: required, defaults, kwargs, left-out ones ------------------------------------------


def test_required_and_defaults():
    marker = object()

    def f(a: int, b: int = 2, c: Optional[str] = None, d: str = None, e: Tuple[int, int] = (1, 2),  # type: ignore[assignment]
          g: Any = marker, h: Level = Level.HIGH, i: float = float("nan"), j: Dict[str, int] = {"z": 1, "a": 2}):
        ...

    doc = document(f)
    assert doc["required"] == ["a"]
    assert doc["properties"] == {
        "a": INTEGER,
        "b": {"type": "integer", "default": 2},
        "c": {"anyOf": [STRING, NULL], "default": None},
        "d": {"anyOf": [STRING, NULL], "default": None},  # a None default admits null
        "e": {"type": "array", "prefixItems": [INTEGER, INTEGER], "items": False, "minItems": 2, "default": [1, 2]},
        "g": {},  # no JSON form: no default shown, still optional
        "h": {"$ref": "#/$defs/Level", "default": 2},
        "i": NUMBER,  # NaN is not JSON
        "j": {"type": "object", "additionalProperties": INTEGER, "default": {"a": 2, "z": 1}},
    }


def test_kwargs():
    def closed(a: int):
        ...

    def untyped(a: int, **rest):
        ...

    def any_extra(**rest: Any):
        ...

    def typed(a: int, **rest: float):
        ...

    assert document(closed)["additionalProperties"] is False
    assert document(untyped)["additionalProperties"] is True
    assert document(any_extra)["additionalProperties"] is True
    assert document(typed)["additionalProperties"] == NUMBER
    assert document(typed)["properties"] == {"a": INTEGER}


@needs_311
def test_kwargs_unpacking_a_typeddict():
    def f(a: int, **options: Unpack[PartialMovie]):
        ...

    doc = document(f)
    assert doc["properties"] == {"a": INTEGER, "title": STRING, "year": INTEGER}
    assert doc["required"] == ["a"]
    assert doc["additionalProperties"] is False


def test_injected_positional_only_and_star_args_are_left_out():
    def f(pos: int, /, a: str, *args: int, context: SessionContext, k: bool = False):
        ...

    doc = document(f)
    assert list(doc["properties"]) == ["a", "k"]
    assert doc["required"] == ["a"]


def test_schemas_are_built_once_on_first_use():
    adapter = SampleAdapter()
    entry = adapter._discovered_tools()["plain"]
    assert entry._schema == []  # discovery builds no schema
    first = entry.parameters
    assert entry.parameters is first
    spec = adapter.get_tools()[0]
    spec["parameters"]["properties"].clear()  # callers get copies
    assert entry.parameters["properties"]


def test_context_of_a_decorated_tool_is_left_out():
    specs = {spec["name"]: spec for spec in SampleAdapter().get_tools()}
    assert list(specs["with_context"]["parameters"]["properties"]) == ["value"]
    assert specs["with_context"]["parameters"]["properties"]["value"] == {"anyOf": [INTEGER, NULL], "default": None}


# -- results and chunks --------------------------------------------------------------------------


def test_results():
    def none() -> None: ...
    def unannotated(): ...
    def mapping() -> Dict[str, List[int]]: ...
    async def awaited() -> Movie: ...
    def hands_back_a_coroutine() -> Coroutine[Any, Any, int]: ...
    def hands_back_an_awaitable() -> Awaitable[str]: ...
    def never() -> typing.NoReturn: ...

    assert result(none) == NULL
    assert result(unannotated) == {}
    assert result(mapping) == {"type": "object", "additionalProperties": {"type": "array", "items": INTEGER}}
    assert result(awaited) == {"$ref": "#/$defs/Movie"}
    assert result(hands_back_a_coroutine) == INTEGER
    assert result(hands_back_an_awaitable) == STRING
    assert result(never) == {"not": {}}
    assert "chunk" not in document(mapping)["x-snakepit"]  # not a streaming tool


def test_streaming_chunk_types():
    def sync_iterator() -> Iterator[int]:
        yield 1

    def sync_generator() -> Generator[Movie, None, None]:
        yield {"title": "t", "year": 1}

    def sync_iterable() -> Iterable[str]:
        yield "a"

    async def async_iterator() -> AsyncIterator[Dict[str, float]]:
        yield {}

    async def async_generator() -> AsyncGenerator[Optional[bytes], None]:
        yield None

    def unannotated():
        yield 1

    def returns_an_iterator() -> Iterator[bool]:  # not a generator function, but streams all the same
        return iter([True])

    expected = {
        sync_iterator: INTEGER,
        sync_generator: {"$ref": "#/$defs/Movie"},
        sync_iterable: STRING,
        async_iterator: {"type": "object", "additionalProperties": NUMBER},
        async_generator: {"anyOf": [BYTES, NULL]},
        unannotated: {},
    }
    for function, chunk in expected.items():
        extension = document(function)["x-snakepit"]
        assert extension["chunk"] == chunk, function.__name__
        # A unary call of a streaming tool returns its items as one list.
        assert extension["result"] == ({"type": "array", "items": chunk} if chunk else {"type": "array"}), function.__name__
    assert document(returns_an_iterator, streaming=True)["x-snakepit"] == {
        "version": 1, "result": {"type": "array", "items": BOOLEAN}, "chunk": BOOLEAN,
    }


def test_a_streaming_tool_returning_one_value_streams_one_chunk_of_it():
    def single(n: int) -> List[int]:
        return [n]

    extension = document(single, streaming=True)["x-snakepit"]
    assert extension["result"] == extension["chunk"] == {"type": "array", "items": INTEGER}


# -- failures never break discovery --------------------------------------------------------------------


def test_unresolvable_hints_are_unconstrained():
    def f(a: NoSuchType, b: int, c: List[AlsoMissing], d: Broken) -> Missing:  # type: ignore[name-defined]  # noqa: F821
        ...

    doc = document(f)
    assert doc["properties"]["a"] == {}
    assert doc["properties"]["b"] == INTEGER  # the other hints still resolve
    assert doc["properties"]["c"] == {"type": "array"}
    assert doc["$defs"]["Broken"]["properties"] == {"ok": INTEGER, "missing": {}}
    assert doc["x-snakepit"]["result"] == {}


def test_a_failing_builder_gives_the_untyped_document(monkeypatch, caplog):
    def explode(self: Any, hint: Any, scope: Any) -> Any:
        raise RuntimeError("schema bug")

    monkeypatch.setattr(schema_module._Builder, "schema", explode)

    def f(a: int) -> int:
        ...

    with caplog.at_level(logging.WARNING, logger="snakepit_bridge.tools"):
        doc = tool_schema(f, inspect.signature(f), streaming=True, name="f")
    assert doc == untyped_document(True)
    assert doc == {
        "$schema": DIALECT, "type": "object", "properties": {}, "required": [], "additionalProperties": True,
        "x-snakepit": {"version": 1, "result": {}, "chunk": {}},
    }
    assert "could not describe the signature of tool 'f' (RuntimeError: schema bug)" in caplog.text


def test_discovery_survives_odd_callables():
    class Odd(BaseAdapter):
        @tool
        def plain(self, x: "this is not python", y: "1 +") -> "??":  # noqa: F722
            return None

    spec = Odd().get_tools()[0]
    assert spec["parameters"]["properties"] == {"x": {}, "y": {}}
    assert spec["parameters"]["x-snakepit"]["result"] == {}


# -- descriptions ----------------------------------------------------------------------------------


def test_docstring_descriptions():
    def google(a: int, b: str = "x") -> int:
        """Adds things.

        Args:
            a (int): the first
                value, continued.
            b: the second.

        Returns:
            int: the sum.
        """

    def sphinx(a: int) -> Iterator[int]:
        """Counts.

        :param int a: how far
            to count
        :returns: never used
        :yields: each number
        """
        yield a

    def numpy(a: int, b: int) -> int:
        """Multiplies.

        Parameters
        ----------
        a : int
            The first factor.
        b : int
            The second one.

        Returns
        -------
        int
            The product.
        """

    doc = document(google)
    assert doc["properties"]["a"] == {"type": "integer", "description": "the first value, continued."}
    assert doc["properties"]["b"] == {"type": "string", "default": "x", "description": "the second."}
    assert doc["x-snakepit"]["result"] == {"type": "integer", "description": "the sum."}
    doc = document(sphinx)
    assert doc["properties"]["a"]["description"] == "how far to count"
    assert doc["x-snakepit"]["chunk"] == {"type": "integer", "description": "each number"}
    doc = document(numpy)
    assert doc["properties"]["a"]["description"] == "The first factor."
    assert doc["properties"]["b"]["description"] == "The second one."
    assert doc["x-snakepit"]["result"]["description"] == "The product."
    assert parse_docstring("Just prose: nothing to read.\n\nMore prose.").parameters == {}


def test_tool_description_is_the_decorator_text_or_the_whole_docstring():
    class Described(BaseAdapter):
        @tool
        def documented(self, a: int) -> int:
            """Doubles a.

            Args:
                a: the number.
            """
            return 2 * a

        @tool(description="explicit text")
        def explicit(self, a: int) -> int:
            """Docstring text.

            Args:
                a: still described from the docstring.
            """
            return a

    specs = {spec["name"]: spec for spec in Described().get_tools()}
    assert specs["documented"]["description"] == "Doubles a.\n\nArgs:\n    a: the number."
    assert specs["explicit"]["description"] == "explicit text"
    assert specs["explicit"]["parameters"]["properties"]["a"]["description"] == "still described from the docstring."


# -- the document: layout, order, overrides, legacy -----------------------------------------------------


def test_document_layout_and_order():
    def f(zeta: int, alpha: Optional[Movie] = None, mid: Dict[str, Point] = {}) -> Point:  # noqa: B006
        ...

    doc = document(f)
    text = encode_document(doc).decode("utf-8")
    # Parameter order is kept; every other object has sorted keys; compact; the same every time.
    assert list(doc["properties"]) == ["zeta", "alpha", "mid"]
    assert list(doc) == ["$defs", "$schema", "additionalProperties", "properties", "required", "type", "x-snakepit"]
    assert list(doc["$defs"]) == ["Movie", "Point"]
    assert list(doc["$defs"]["Point"]) == ["additionalProperties", "properties", "required", "title", "type"]
    assert list(doc["$defs"]["Point"]["properties"]) == ["x", "y", "label", "tags", "norm", "unit"]
    assert text == encode_document(document(f)).decode("utf-8")
    assert ", " not in text and ": " not in text
    assert json.loads(text) == doc


def test_mapping_override_keeps_the_schema_and_adds_the_result():
    specs = {spec["name"]: spec for spec in SampleAdapter().get_tools()}
    assert specs["explicit_schema"]["parameters"] == {
        "$schema": DIALECT,
        "type": "object",
        "properties": {"q": STRING},
        "x-snakepit": {"version": 1, "result": STRING},
    }


def test_list_override_means_untyped_arguments():
    class SnakepitStyle(BaseAdapter):
        @tool(parameters=[{"name": "q", "type": "string", "required": True}])
        def search(self, q: str) -> List[str]:
            return [q]

    document_ = SnakepitStyle().get_tools()[0]["parameters"]
    assert document_["additionalProperties"] is True and document_["properties"] == {}
    assert document_["x-snakepit"]["result"] == {"type": "array", "items": STRING}


def test_legacy_adapter_tools_are_described_as_untyped():
    protos = {spec.name: spec for spec in Dispatcher(LegacyAdapter(), new_executor()).describe()}
    assert {"legacy_echo", "legacy_stream", "legacy_async", "legacy_session"} <= set(protos)
    assert json.loads(protos["legacy_echo"].parameters_json) == untyped_document(False)
    assert json.loads(protos["legacy_stream"].parameters_json) == untyped_document(True)
    assert json.loads(protos["legacy_stream"].parameters_json)["x-snakepit"] == {"version": 1, "result": {}, "chunk": {}}


def test_complete_document_for_specs_from_get_tools_overrides():
    assert complete_document(None, False) == untyped_document(False)
    assert complete_document([{"name": "a"}], True) == untyped_document(True)
    own = complete_document({"type": "object", "properties": {"b": {}, "a": {}}}, True)
    assert list(own["properties"]) == ["b", "a"]
    assert own["$schema"] == DIALECT and own["x-snakepit"] == {"version": 1, "result": {}, "chunk": {}}
    # A document JSON cannot hold strictly (NaN) is replaced rather than sent invalid.
    assert json.loads(encode_document({"type": "object", "default": float("nan")})) == untyped_document(False)


# -- the showcase adapters -------------------------------------------------------------------------


def test_showcase_stream_progress_document():
    specs = {spec["name"]: spec for spec in ShowcaseAdapter().get_tools()}
    progress = {
        "title": "Progress",
        "type": "object",
        "properties": {
            "step": INTEGER, "total": INTEGER, "message": STRING, "progress": NUMBER, "is_final": BOOLEAN,
        },
        "required": ["step", "total", "message", "progress", "is_final"],
        "additionalProperties": False,
    }
    assert specs["stream_progress"]["parameters"] == {
        "$schema": DIALECT,
        "type": "object",
        "properties": {"steps": {"type": "integer", "default": 5}, "delay_ms": {"type": "integer", "default": 100}},
        "required": [],
        "additionalProperties": False,
        "$defs": {"Progress": progress},
        "x-snakepit": {
            "version": 1,
            "result": {"type": "array", "items": {"$ref": "#/$defs/Progress"}},
            "chunk": {"$ref": "#/$defs/Progress"},
        },
    }
    assert spec_to_proto(specs["stream_progress"]).parameters_json == (
        b'{"$defs":{"Progress":{"additionalProperties":false,"properties":{"step":{"type":"integer"},'
        b'"total":{"type":"integer"},"message":{"type":"string"},"progress":{"type":"number"},'
        b'"is_final":{"type":"boolean"}},"required":["step","total","message","progress","is_final"],'
        b'"title":"Progress","type":"object"}},"$schema":"https://json-schema.org/draft/2020-12/schema",'
        b'"additionalProperties":false,"properties":{"steps":{"default":5,"type":"integer"},'
        b'"delay_ms":{"default":100,"type":"integer"}},"required":[],"type":"object",'
        b'"x-snakepit":{"chunk":{"$ref":"#/$defs/Progress"},"result":{"items":{"$ref":"#/$defs/Progress"},'
        b'"type":"array"},"version":1}}'
    )


def test_showcase_tools_are_typed():
    for adapter in (ShowcaseAdapter(), ThreadedShowcaseAdapter()):
        specs = {spec["name"]: spec["parameters"] for spec in adapter.get_tools()}
        assert all(doc["$schema"] == DIALECT and doc["x-snakepit"]["version"] == 1 for doc in specs.values())
        assert specs["add"]["properties"] == {"a": NUMBER, "b": NUMBER}
        assert specs["echo"]["additionalProperties"] is True
        assert specs["echo_bytes"]["properties"]["data"] == BYTES
        assert specs["echo_bytes"]["x-snakepit"]["result"] == BYTES
        assert specs["env"]["x-snakepit"]["result"] == {"anyOf": [STRING, NULL]}
        assert specs["session_info"]["properties"] == {}  # context is injected
        assert specs["stream_ticks"]["x-snakepit"]["chunk"] == {"$ref": "#/$defs/Tick"}
        assert specs["counter"]["$defs"]["CounterValue"]["required"] == ["name", "value"]
        assert specs["trace_info"]["$defs"]["TraceInfo"]["properties"]["traceparent"] == {"anyOf": [STRING, NULL]}
        assert specs["call_host_with_bytes"]["required"] == ["name", "data"]
    threaded = {spec["name"]: spec["parameters"] for spec in ThreadedShowcaseAdapter().get_tools()}
    assert threaded["hash_work"]["$defs"]["HashWork"]["properties"]["elapsed_ms"] == NUMBER


# -- over the wire ---------------------------------------------------------------------------------


def test_describe_tools_round_trip():
    async def go():
        for adapter in (SampleAdapter(), ShowcaseAdapter(), LegacyAdapter()):
            async with serving(adapter) as (stub, _):
                described = await stub.DescribeTools(worker_pb2.DescribeToolsRequest(), metadata=AUTH)
            wire = {spec.name: spec for spec in described.tools}
            local = {spec["name"]: spec for spec in adapter.get_tools()}
            assert set(wire) == set(local)
            for name, spec in wire.items():
                sent = json.loads(spec.parameters_json)
                assert sent == complete_document(local[name].get("parameters"), spec.supports_streaming), name
                assert spec.parameters_json == encode_document(sent, spec.supports_streaming), name
        return wire

    legacy = run(go())
    assert json.loads(legacy["legacy_session"].parameters_json)["additionalProperties"] is True


def test_register_tools_sends_the_described_schemas():
    from fake_host import fake_host
    from snakepit_bridge.host.link import HostLink
    from snakepit_bridge.observability.tracing import NO_TRACING
    from snakepit_bridge.worker.config import WorkerConfig
    from support import TOKEN

    async def go():
        async with fake_host(TOKEN) as (host, address):
            config = WorkerConfig(worker_id="w1", token=TOKEN, host_address=address, heartbeat=None, log_level="info",
                                  max_message_bytes=64 * 1024 * 1024)
            link = HostLink.open(config, NO_TRACING)
            dispatcher = Dispatcher(ShowcaseAdapter(), new_executor())
            try:
                await link.register_tools(dispatcher.describe)
            finally:
                await link.close()
            return host.registered, dispatcher.describe()

    registered, described = run(go())
    assert len(registered) == 1
    sent = {spec.name: spec.parameters_json for spec in registered[0].tools}
    assert sent == {spec.name: spec.parameters_json for spec in described}
    assert json.loads(sent["stream_progress"])["x-snakepit"]["chunk"] == {"$ref": "#/$defs/Progress"}

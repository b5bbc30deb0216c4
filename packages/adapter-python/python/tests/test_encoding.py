"""Result and chunk encoding: JSON shape, bytes, conversions and marker objects."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import json
import uuid
from collections import OrderedDict, namedtuple
from pathlib import PurePosixPath

import pytest

from snakepit_bridge.encoding import UNSERIALIZABLE_MARKER, encode_json, encode_value, to_json_tree
from support import decode_value


def roundtrip(value):
    return json.loads(encode_json(value).decode("utf-8"))


class Secretive:
    def __init__(self):
        self.password = "hunter2"

    def __repr__(self):
        return f"Secretive(password={self.password!r})"


@dataclasses.dataclass
class Inner:
    when: datetime.date
    tags: tuple


@dataclasses.dataclass
class Outer:
    name: str
    inner: Inner


class Color(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


Point = namedtuple("Point", ["x", "y"])


def test_ints_stay_ints_and_floats_stay_floats():
    assert encode_json(1) == b"1"
    assert encode_json(2**70) == str(2**70).encode()
    assert encode_json(1.0) == b"1.0"
    assert roundtrip({"a": 1, "b": 2.5}) == {"a": 1, "b": 2.5}
    assert type(roundtrip({"a": 1})["a"]) is int


def test_none_is_null_and_compact_separators():
    assert encode_json(None) == b"null"
    assert encode_json({"a": [1, None, True]}) == b'{"a":[1,null,true]}'


def test_nested_data_round_trips_exactly():
    value = {
        "s": "héllo ☃ \n\"quoted\"",
        "n": [1, -2, 3.25, 1e300, 0],
        "deep": {"list": [{"x": [[], {}]}], "empty": ""},
        "flags": [True, False, None],
    }
    assert roundtrip(value) == value
    # Non-ASCII is written as UTF-8, not escaped.
    assert "☃".encode("utf-8") in encode_json(value)


def test_lone_surrogates_still_encode():
    assert roundtrip({"name": "bad\udcff"}) == {"name": "bad\udcff"}


def test_top_level_bytes_are_binary():
    for raw in (b"\x00\xffabc", bytearray(b"\x01\x02"), memoryview(b"xyz")):
        value = encode_value(raw)
        assert value.WhichOneof("kind") == "binary"
        assert value.binary == bytes(raw)


def test_non_bytes_are_json():
    value = encode_value({"a": 1})
    assert value.WhichOneof("kind") == "json"
    assert decode_value(value) == {"a": 1}
    assert decode_value(encode_value("text")) == "text"
    assert decode_value(encode_value(None)) is None


def test_nested_bytes_become_a_marker():
    assert roundtrip({"data": b"abc"}) == {"data": {UNSERIALIZABLE_MARKER: True, "type": "bytes"}}


def test_unknown_objects_become_markers_without_repr():
    encoded = encode_json({"obj": Secretive()})
    assert b"hunter2" not in encoded
    assert json.loads(encoded) == {"obj": {UNSERIALIZABLE_MARKER: True, "type": "test_encoding.Secretive"}}


def test_non_finite_floats_become_null():
    assert roundtrip([float("nan"), float("inf"), float("-inf"), 1.5]) == [None, None, None, 1.5]
    assert roundtrip({"d": decimal.Decimal("NaN")}) == {"d": None}


def test_datetime_family_uses_isoformat():
    value = {
        "dt": datetime.datetime(2024, 1, 2, 3, 4, 5),
        "date": datetime.date(2024, 1, 2),
        "time": datetime.time(3, 4, 5),
        "aware": datetime.datetime(2024, 1, 2, tzinfo=datetime.timezone.utc),
    }
    assert roundtrip(value) == {
        "dt": "2024-01-02T03:04:05",
        "date": "2024-01-02",
        "time": "03:04:05",
        "aware": "2024-01-02T00:00:00+00:00",
    }


def test_namedtuple_becomes_an_object_and_tuples_become_lists():
    assert roundtrip({"p": Point(1, 2), "t": (1, (2, 3))}) == {"p": {"x": 1, "y": 2}, "t": [1, [2, 3]]}


def test_dataclasses_convert_recursively():
    value = Outer("o", Inner(datetime.date(2020, 5, 6), ("a", "b")))
    assert roundtrip(value) == {"name": "o", "inner": {"when": "2020-05-06", "tags": ["a", "b"]}}


def test_sets_become_sorted_lists_when_possible():
    assert roundtrip({3, 1, 2}) == [1, 2, 3]
    assert roundtrip(frozenset({"b", "a"})) == ["a", "b"]
    assert sorted(roundtrip({1, "a"}), key=str) == [1, "a"]


def test_decimal_uuid_path_enum_and_subclasses():
    identifier = uuid.UUID("12345678-1234-5678-1234-567812345678")
    value = {
        "dec": decimal.Decimal("1.25"),
        "id": identifier,
        "path": PurePosixPath("/tmp/x"),
        "color": Color.RED,
        "level": Level.HIGH,
        "ordered": OrderedDict([("b", 1), ("a", 2)]),
    }
    assert roundtrip(value) == {
        "dec": 1.25,
        "id": str(identifier),
        "path": "/tmp/x",
        "color": "red",
        "level": 3,
        "ordered": {"b": 1, "a": 2},
    }


def test_duck_typed_conversions():
    class ArrayLike:
        def tolist(self):
            return [[0, 1], [float("nan"), 3]]

    class ModelV2:
        def model_dump(self):
            return {"when": datetime.date(2021, 1, 1)}

    class ModelV1:
        __fields__ = {"a": None}

        def dict(self):
            return {"a": 1}

    class NotAModel:
        def dict(self):  # a dict() method alone is not pydantic v1
            return {"leak": True}

    assert roundtrip(ArrayLike()) == [[0, 1], [None, 3]]
    assert roundtrip(ModelV2()) == {"when": "2021-01-01"}
    assert roundtrip(ModelV1()) == {"a": 1}
    assert roundtrip(NotAModel())[UNSERIALIZABLE_MARKER] is True


def test_non_string_keys():
    assert roundtrip({1: "a", None: "b", 2.5: "c"}) == {"1": "a", "null": "b", "2.5": "c"}
    assert roundtrip({Color.RED: 1, datetime.date(2020, 1, 1): 2}) == {"red": 1, "2020-01-01": 2}
    with pytest.raises(TypeError):
        encode_json({(1, 2): "tuple key"})


def test_circular_structures_raise_value_error():
    loop = []
    loop.append(loop)
    with pytest.raises(ValueError):
        encode_json(loop)


def test_to_json_tree_returns_plain_types():
    assert to_json_tree({"p": Point(1, 2)}) == {"p": {"x": 1, "y": 2}}


@pytest.mark.parametrize("value", [b"", b"\x00\xff", bytearray(b"ab"), memoryview(b"cd"), None, {"a": [1, 2.5]}, "x"])
def test_encode_into_fills_a_field_like_building_the_value(value):
    from snakepit.bridge.v1 import common_pb2, worker_pb2

    from snakepit_bridge.encoding import encode_into

    in_place = worker_pb2.ExecuteToolResponse()
    encode_into(in_place.result, value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        expected = common_pb2.ToolValue(binary=bytes(value))
    else:
        expected = common_pb2.ToolValue(json=encode_json(value))
    built = worker_pb2.ExecuteToolResponse(result=expected)
    assert in_place.SerializeToString() == built.SerializeToString()
    assert in_place.HasField("result")


@pytest.mark.parametrize(
    "value",
    [
        {"step": 3, "message": "étape 3/10", "progress": 30.0, "is_final": False, "none": None},
        {"nan": float("nan"), "inf": float("-inf"), "ok": 1.5},
        [1, 2.5, "x", None, True, float("inf")],
        {"surrogate": "\udcff", "n": 10**30},
        {"nested": {"a": (1, 2)}, "point": [1, 2]},
        {1: "int key", "s": "str key"},
        {},
        [],
        "just text",
        -0.0,
    ],
)
def test_flat_values_skip_the_walk_but_encode_exactly_as_before(value):
    tree = to_json_tree(value)
    try:
        expected = json.dumps(tree, separators=(",", ":"), allow_nan=False, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        expected = json.dumps(tree, separators=(",", ":"), allow_nan=False).encode("ascii")
    assert encode_json(value) == expected

"""A host whose shared session store (e.g. Redis) is down: a typed exception for tool code."""

from __future__ import annotations

import json

import grpc

import snakepit_bridge
from snakepit_bridge import HostBridgeUnavailable, SessionStoreUnavailable, SnakepitBridgeError
from snakepit_bridge.error_codes import SESSION_STORE_UNAVAILABLE, code_value
from snakepit_bridge.host.client import translate_host_failure
from snakepit_bridge.host.errors import bridge_error
from snakepit_bridge.tools.errors import exception_to_tool_error
from snakepit.bridge.v1 import common_pb2

DETAILS = {"operation": "getState", "reason": "disconnected", "timeoutMs": 2000}
MESSAGE = "the session store is unavailable (getState): connect ECONNREFUSED 127.0.0.1:6379"


def test_the_code_is_the_protos():
    assert SESSION_STORE_UNAVAILABLE == "session_store_unavailable"
    assert code_value(SESSION_STORE_UNAVAILABLE) == common_pb2.ERROR_CODE_SESSION_STORE_UNAVAILABLE


def test_bridge_error_maps_the_code_to_its_class():
    error = bridge_error(SESSION_STORE_UNAVAILABLE, MESSAGE, DETAILS)
    assert type(error) is SessionStoreUnavailable
    assert isinstance(error, SnakepitBridgeError) and not isinstance(error, HostBridgeUnavailable)
    assert error.code == SESSION_STORE_UNAVAILABLE
    assert error.message == MESSAGE and error.details == DETAILS
    assert "SessionStoreUnavailable" in snakepit_bridge.__all__


def test_an_unavailable_status_with_the_code_is_the_store_not_the_bridge():
    details_json = json.dumps(DETAILS).encode()
    error = translate_host_failure("GetSessionState", grpc.StatusCode.UNAVAILABLE, MESSAGE, SESSION_STORE_UNAVAILABLE, details_json)
    assert type(error) is SessionStoreUnavailable
    assert error.details == DETAILS
    # Without the code, UNAVAILABLE still means the bridge itself did not answer.
    bare = translate_host_failure("GetSessionState", grpc.StatusCode.UNAVAILABLE, "gone", "", b"")
    assert type(bare) is HostBridgeUnavailable


def test_a_tool_that_lets_it_escape_reports_the_hosts_code():
    try:
        raise bridge_error(SESSION_STORE_UNAVAILABLE, MESSAGE, DETAILS)
    except SessionStoreUnavailable as exc:
        tool_error = exception_to_tool_error(exc)
    assert tool_error.python_type == "snakepit_bridge.host.errors.SessionStoreUnavailable"
    assert json.loads(tool_error.details_json)["host_error_code"] == SESSION_STORE_UNAVAILABLE

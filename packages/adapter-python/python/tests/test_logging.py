"""Structured log lines on stderr."""

from __future__ import annotations

import contextvars
import json
import logging

import pytest

from snakepit_bridge.observability.logging_setup import correlation_id_var, level_name, parse_level
from support import captured_logging


@pytest.fixture()
def captured():
    with captured_logging() as stream:
        yield stream


def lines(stream):
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_one_json_object_per_line(captured):
    logging.getLogger("my.logger").info("hello\nworld %s", 42)
    (entry,) = lines(captured)
    assert entry == {"snakepit": "log", "level": "info", "logger": "my.logger", "message": "hello\nworld 42"}


def test_levels_are_pino_style(captured):
    log = logging.getLogger("levels")
    log.debug("d")
    log.info("i")
    log.warning("w")
    log.error("e")
    log.critical("c")
    assert [entry["level"] for entry in lines(captured)] == ["debug", "info", "warn", "error", "fatal"]


def test_correlation_id_is_attached_while_set(captured):
    def in_call():
        correlation_id_var.set("corr-123")
        logging.getLogger("call").info("inside")

    contextvars.copy_context().run(in_call)
    logging.getLogger("call").info("outside")
    inside, outside = lines(captured)
    assert inside["correlation_id"] == "corr-123"
    assert "correlation_id" not in outside


def test_exceptions_are_included(captured):
    try:
        raise ValueError("broken")
    except ValueError:
        logging.getLogger("exc").exception("failed")
    (entry,) = lines(captured)
    assert entry["level"] == "error"
    assert "ValueError: broken" in entry["exc"]


def test_level_filtering_and_parsing():
    assert parse_level("warn") == logging.WARNING
    assert parse_level("WARNING") == logging.WARNING
    assert parse_level("fatal") == logging.CRITICAL
    assert parse_level(None) == logging.INFO
    assert parse_level("bogus") == logging.INFO
    assert level_name(logging.WARNING) == "warn"
    assert level_name(5) == "debug"
    with captured_logging("warning") as stream:
        logging.getLogger("f").info("dropped")
        logging.getLogger("f").warning("kept")
    assert [entry["message"] for entry in lines(stream)] == ["kept"]

"""``ground.bodies``: the field types read integers and text as ``ground.text`` does, and
every validation error maps to one status and code with ``param`` naming the field."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from ground.bodies import JsonInt, ascii_int, field_path, invalid, text, validate
from ground.errors import ApiError


class Options(BaseModel):
    limit: ascii_int(ge=1, le=100) = 20
    name: text(10) = ""


class Body(BaseModel):
    query: text(100, required=True)
    top_k: JsonInt = 8


def refusal(model, data) -> tuple[int, str, str | None]:
    with pytest.raises(ApiError) as caught:
        validate(model, data)
    return caught.value.status, caught.value.code, caught.value.param


@pytest.mark.parametrize(("sent", "read"), [("7", 7), ("+7", 7), (" 7 ", 7), ("100", 100)])
def test_an_option_is_an_integer_written_with_ascii_digits(sent, read):
    assert validate(Options, {"limit": sent}).limit == read


@pytest.mark.parametrize("sent", ["٣", "²", "1_0", "3.0", "1e3", "0x10", "", "true", "9" * 19])
def test_anything_else_is_a_400_naming_the_option(sent):
    assert refusal(Options, {"limit": sent}) == (400, "invalid_parameter", "limit")


def test_a_json_integer_is_not_a_string_a_bool_or_a_float():
    for sent in ("8", True, 8.0, float("inf")):
        assert refusal(Body, {"query": "q", "top_k": sent}) == (400, "invalid_parameter", "top_k")
    assert validate(Body, {"query": "q", "top_k": 3}).top_k == 3


def test_text_is_bounded_as_sent_then_cleaned():
    assert validate(Options, {"name": "a\x00b\x1fc"}).name == "abc"
    assert refusal(Options, {"name": "x" * 11}) == (400, "invalid_parameter", "name")
    # A lone surrogate cannot be stored or encoded: refused (in JSON: invalid_json).
    assert refusal(Options, {"name": "a\ud800"}) == (400, "invalid_parameter", "name")


def test_missing_null_and_blank_required_text_are_the_same_mistake():
    for data in ({}, {"query": None}, {"query": " \n\t"}):
        assert refusal(Body, data) == (422, "missing_required_parameter", "query")


def test_param_is_a_dotted_path_with_indexes():
    assert field_path(("messages", 0, "content", 2, "type")) == "messages[0].content[2].type"
    assert field_path(("query",)) == "query"  # a field named like a location stays
    assert field_path(("query", "limit"), located=True) == "limit"
    assert field_path(("body", "payload", "tools", 1), located=True) == "tools[1]"


def test_a_body_that_is_not_json_is_invalid_json():
    error = invalid([{"type": "json_invalid", "loc": (), "ctx": {"error": "EOF"}}])
    assert (error.status, error.code, error.param) == (400, "invalid_json", None)
    assert "EOF" in error.message

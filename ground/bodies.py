"""Typed request bodies and parameters: one way in, one way out for every mistake.

A ``/v1`` endpoint declares what it takes as a pydantic model (a ninja ``Schema``) and
reads it with ``parse_json``, ``parse_form`` or ``parse_query`` once the request is
admitted (so a refusal carries the rate-limit headers, and an unauthenticated request is
a 401 before its body is judged). ``invalid`` is the one mapping from a validation
error to the API's error, also used by the NinjaAPI's handler for path parameters:

* the body is not JSON, or not an object → 400 ``invalid_json``;
* a required field is missing (or null, or blank where text is required) → 422
  ``missing_required_parameter``;
* any other mistake (a wrong type, a value out of range, a string too long, a value
  not among the allowed ones) → 400 ``invalid_parameter``.

``param`` names the field: a dotted path for nested fields, ``[i]`` for list items
(``messages[0].role``, as OpenAI writes it).

``json_body``, ``form_body`` and ``query_parameters`` describe the same models in the
OpenAPI document (``openapi_extra``), so ``/v1/docs`` shows every field; ``COMPONENTS``
holds the schemas they refer to, added to the document by ``portal.api``.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from django.http import HttpRequest
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    Strict,
    StrictInt,
    ValidationError,
)
from pydantic_core import PydanticCustomError

from ground.errors import ApiError
from ground.text import clean_text, strict_int

M = TypeVar("M", bound=BaseModel)
REF_TEMPLATE = "#/components/schemas/{model}"
# The schemas the operations' ``$ref``s point to, by component name.
COMPONENTS: dict[str, dict] = {}
_MODELS: dict[str, type[BaseModel]] = {}

NOT_AN_OBJECT = {"model_type", "model_attributes_type", "dict_type"}
MISSING = {"missing", "blank"}
# Where ninja puts a parameter in an error's ``loc``; the client knows only the field.
LOCATIONS = {"body", "query", "path", "form", "file", "header", "cookie"}


# --- Field types ------------------------------------------------------------------------------
def _ascii_int(value: object) -> object:
    """A query or form value (a string) read as ``ground.text.strict_int`` reads it: ASCII
    digits only, so "٣", "²", "1_000", "3.0" and "1e3" are refused, never read as numbers."""
    if isinstance(value, str):
        number = strict_int(value)
        if number is None:
            raise PydanticCustomError(
                "int_parsing", "Input should be an integer written with the digits 0-9"
            )
        return number
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("blank", "Field required (it is blank)")
    return value


def ascii_int(**bounds: int) -> Any:
    """An integer in a query string, a form or a path: ASCII digits, optionally signed;
    ``bounds``: ``ge``, ``le``… (in the document as ``minimum``, ``maximum``)."""
    return Annotated[int, Strict(), Field(**bounds), BeforeValidator(_ascii_int)]


def text(max_length: int | None = None, *, required: bool = False) -> Any:
    """Text from a stranger: at most ``max_length`` characters as sent (a longer one is a
    400), then NUL and other control characters removed and lone surrogates replaced
    (``ground.text.clean_text``). ``required``: blank is as good as missing (422)."""
    checks = [AfterValidator(_not_blank)] if required else []
    return Annotated[str, Field(max_length=max_length), *checks, AfterValidator(clean_text)]


AsciiInt = ascii_int()
# An integer in JSON: a JSON integer; not a string, a bool, or a float (1.0, 1e309).
JsonInt = StrictInt
CleanText = text()


# --- Reading a request ------------------------------------------------------------------------
def invalid(errors: list[dict], *, located: bool = False) -> ApiError:
    """The API's error for the first of pydantic's validation errors; ``located``: ninja's,
    whose ``loc`` starts with where the value was (``query``, ``path``, ``body``)."""
    first = errors[0] if errors else {}
    kind = first.get("type", "")
    param = field_path(first.get("loc", ()), located=located)
    if kind == "json_invalid" or (kind in NOT_AN_OBJECT and not param):
        detail = first.get("ctx", {}).get("error", "") if kind == "json_invalid" else ""
        message = "The request body must be a JSON object" + (f" ({detail})." if detail else ".")
        return ApiError(400, message, code="invalid_json")
    message = str(first.get("msg") or "Invalid value").removeprefix("Value error, ")
    # null for a field that may not be null: as good as missing.
    if kind in MISSING or (kind.endswith("_type") and "input" in first and first["input"] is None):
        return ApiError(
            422,
            f"Missing required parameter: '{param}'.",
            param=param,
            code="missing_required_parameter",
        )
    message = f"Invalid '{param}': {message}." if param else f"{message}."
    return ApiError(400, message, param=param or None, code="invalid_parameter")


def field_path(loc, *, located: bool = False) -> str:
    """``("messages", 0, "role")`` → ``messages[0].role``; ``located``: ninja's
    ``("body", "payload", "messages", 0, "role")`` → the same."""
    parts = list(loc)
    if located and parts and parts[0] in LOCATIONS:
        parts = parts[1:]
        # ninja nests a body under the parameter's name; the client knows only the fields.
        if len(parts) > 1 and parts[0] in {"payload", "data", "params", "body"}:
            parts = parts[1:]
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


JSON_TYPES = ("application/json", "text/plain", "")


def parse_json(request: HttpRequest, model: type[M], *, required: bool = True) -> M:
    """The JSON body as ``model``; an empty body is ``{}`` when nothing is ``required``."""
    content_type = request.content_type or ""
    if not (content_type in JSON_TYPES or content_type.endswith("json")):
        raise ApiError(415, f"Unsupported Content-Type {content_type!r}; send application/json.")
    raw = request.body
    if not raw and not required:
        raw = b"{}"
    # A body that is not an object (an array, a string) would be read as an object's
    # attributes by ninja's Schema: refused first.
    if raw.lstrip()[:1] not in (b"{", b""):
        raise invalid([{"type": "model_type", "loc": ()}])
    try:
        return model.model_validate_json(raw or b"")
    except ValidationError as exc:
        raise invalid(exc.errors(include_url=False)) from None


def parse_form(request: HttpRequest, model: type[M]) -> M:
    """The text fields of a form (``multipart/form-data``) as ``model``: the file parts stay
    where Django spooled them (``request.FILES``), never read here."""
    fields = {name: request.POST.get(name) for name in request.POST}
    return validate(model, fields)


def parse_query(request: HttpRequest, model: type[M]) -> M:
    """The query string as ``model`` (the last value of a repeated parameter)."""
    return validate(model, {name: request.GET.get(name) for name in request.GET})


def validate(model: type[M], data: dict) -> M:
    """``data`` (Python values, e.g. from a form or a portal page) as ``model``."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid(exc.errors(include_url=False)) from None


# --- The OpenAPI document ---------------------------------------------------------------------
def register(model: type[BaseModel], schema: dict) -> dict:
    """Keep ``schema`` (with its nested models') as ``model``'s component; a ``$ref`` to it.
    Two models of one name would overwrite each other in the document: refused."""
    name = model.__name__
    if _MODELS.setdefault(name, model) is not model:
        raise ValueError(f"Two schemas are named {name!r}: {model} and {_MODELS[name]}")
    for nested, definition in schema.pop("$defs", {}).items():
        COMPONENTS.setdefault(nested, definition)
    COMPONENTS[name] = schema
    return {"$ref": REF_TEMPLATE.format(model=name)}


def component(model: type[BaseModel]) -> dict:
    """A ``$ref`` to ``model``'s schema (as a request body it is validated with)."""
    return register(model, model.model_json_schema(ref_template=REF_TEMPLATE))


def json_body(model: type[BaseModel], *, required: bool = True) -> dict:
    """``openapi_extra`` for an operation that reads ``model`` with ``parse_json``."""
    return {
        "requestBody": {
            "content": {"application/json": {"schema": component(model)}},
            "required": required,
        }
    }


def form_body(model: type[BaseModel], *, files: dict[str, str]) -> dict:
    """``openapi_extra`` for a ``multipart/form-data`` upload: ``model``'s text fields plus
    the file parts (``files``: name → description), which are required."""
    schema = model.model_json_schema(ref_template=REF_TEMPLATE)
    properties = {
        name: {"type": "string", "format": "binary", "description": description}
        for name, description in files.items()
    }
    schema["properties"] = {**properties, **schema.get("properties", {})}
    schema["required"] = [*files, *schema.get("required", [])]
    content = {"schema": register(model, schema)}
    return {"requestBody": {"content": {"multipart/form-data": content}, "required": True}}


def query_parameters(model: type[BaseModel]) -> dict:
    """``openapi_extra`` for an operation that reads ``model`` with ``parse_query``."""
    schema = model.model_json_schema(ref_template=REF_TEMPLATE)
    required = set(schema.get("required", ()))
    parameters = []
    for name, field in schema.get("properties", {}).items():
        description = field.pop("description", None)
        parameter = {"in": "query", "name": name, "required": name in required, "schema": field}
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    return {"parameters": parameters}

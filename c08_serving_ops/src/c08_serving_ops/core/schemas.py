"""Request and response bodies. Strict: unknown fields and wrong types are 422, never coerced.

``/embed`` follows text-embeddings-inference (TEI): ``{"inputs": str | [str], "normalize":
bool, "truncate": bool}`` -> ``[[float, ...], ...]``. ``truncate`` defaults to false as in
TEI: an input over the model's 256 tokens is refused (422) unless the client allows the cut.

**Any text, one rule.** Every string of every request model (keys and nested values included) must
be valid Unicode: JSON can carry a lone surrogate (``"\\ud800"``) that no UTF-8 encoder, tokenizer
or index accepts, so :class:`Strict` refuses it for every route at once, before any handler runs
(422, or 400 on ``/v1``).

**The schema is the behaviour.** ``/openapi.json`` declares what the server does: every status a
route can answer (:data:`ERRORS`, :data:`OPENAI_ERRORS`), and the bounds it enforces. Bounds that
are settings (``max_top_k``, ``max_client_batch``, ``max_new_tokens_limit``,
``max_stop_sequences``) are written into each app's schema from its settings
(:func:`install_openapi`), so a request valid by the schema is never refused for its shape. Two
limits are counted in tokens and no JSON schema can state them: a text over 256 tokens without
``truncate`` (``/embed``), and a prompt that with the new tokens overflows the model's context
(the generating routes); both are 422 and documented on the routes.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema, field_validator
from pydantic_core import PydanticCustomError

if TYPE_CHECKING:
    from fastapi import FastAPI

    from c08_serving_ops.core.settings import Settings

MAX_QUERY_CHARS = 4096
MAX_DOC_CHARS = 100_000
MAX_TOP_K = 1000  # the largest max_top_k the settings allow; each app's schema states its own (install_openapi)
MAX_CLIENT_BATCH = 1024  # likewise for max_client_batch
# Python's str.isspace() characters, spelled out so that pydantic (Rust regex), jsonschema (Python re) and
# JavaScript read the class alike: "not blank" is "holds one character outside it", as ``text.strip()`` sees it.
SPACES = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NOT_BLANK = f"[^{SPACES}]"

# Metadata and filters: plain keys (Qdrant reads "a.b" or "a[]" as JSON paths) and values Qdrant can match
# exactly (no floats; integers within +-(2**53 - 1)).
KEY_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
RESERVED_KEYS = ("title", "doc_id")  # a document's own fields in the indexes


def integral(value: Any) -> Any:
    """JSON Schema's ``integer`` includes ``1.0``: integral floats (anywhere in ``value``) become the ints they are.

    Harmless for float fields (strict floats take ints) and for strings (still refused).
    """
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**64:
        return int(value)
    if isinstance(value, list):
        return [integral(item) for item in value]
    if isinstance(value, dict):
        return {key: integral(item) for key, item in value.items()}
    return value


Int = int  # an integer field of a request: 3.0 is taken as 3 (Strict's integral validator)
Key = Annotated[str, StringConstraints(pattern=KEY_PATTERN)]
Str256 = Annotated[str, Field(max_length=256)]
# Integers a JSON client round-trips exactly (I-JSON, RFC 7493): a bound near 2**63 is no bound to a client that
# reads numbers as doubles (2**63 + 1 == 2**63 - 1 as floats), so schema and server would disagree at the edge.
SAFE_INT = 2**53 - 1
Int64 = Annotated[Int, Field(ge=-SAFE_INT, le=SAFE_INT)]
Scalar = Str256 | Int64 | bool
# Qdrant matches a list of strings or a list of integers (never a mix, never booleans).
ScalarList = Annotated[list[Str256], Field(min_length=1, max_length=100)] | Annotated[
    list[Int64], Field(min_length=1, max_length=100)]
NotBlank = Annotated[str, StringConstraints(pattern=NOT_BLANK)]
StopString = Annotated[str, StringConstraints(min_length=1, max_length=64)]  # /generate's and the chat API's stop

_STR256: dict[str, Any] = {"type": "string", "maxLength": 256}
_INT64: dict[str, Any] = {"type": "integer", "minimum": -SAFE_INT, "maximum": SAFE_INT}
_SCALAR_SCHEMA: dict[str, Any] = {"anyOf": [_STR256, _INT64, {"type": "boolean"}]}
_SCALAR_LISTS: list[dict[str, Any]] = [{"type": "array", "items": item, "minItems": 1, "maxItems": 100}
                                       for item in (_STR256, _INT64)]


def _map_schema(values: dict[str, Any], max_properties: int, reserved: tuple[str, ...] = ()) -> WithJsonSchema:
    """An object of plain keys: ``additionalProperties`` false, so a schema-valid key is a key the server takes."""
    names: dict[str, Any] = {"pattern": KEY_PATTERN}
    if reserved:
        names["not"] = {"enum": list(reserved)}
    return WithJsonSchema({"type": "object", "maxProperties": max_properties, "propertyNames": names,
                           "patternProperties": {KEY_PATTERN: values}, "additionalProperties": False})


def check_text(value: Any) -> Any:
    """``value`` unchanged when every string in it (dict keys too) is valid Unicode; else PydanticCustomError."""
    # BEGIN SOLUTION c08.1: walk strings, lists and dicts; a lone surrogate is invalid text (never echo it)
    if isinstance(value, str):
        if value.isascii():  # the common case, at C speed: requests of megabytes are validated on the event loop
            return value
        try:
            value.encode("utf-8")  # also C speed; stops at the first code point UTF-8 cannot carry
        except UnicodeEncodeError as err:
            raise PydanticCustomError("invalid_text", "not valid Unicode text: a lone surrogate U+{code} at "
                                      "character {at}", {"code": f"{ord(value[err.start]):04X}", "at": err.start},
                                      ) from None
    elif isinstance(value, list | tuple):
        for item in value:
            check_text(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(key)
            check_text(item)
    return value
    # END SOLUTION


class Strict(BaseModel):
    """Every request model: unknown fields and wrong types refused, and every string valid Unicode."""

    model_config = ConfigDict(extra="forbid", strict=True)

    @field_validator("*", mode="before")
    @classmethod
    def _integral(cls, value: Any) -> Any:
        return integral(value)

    @field_validator("*", mode="after")
    @classmethod
    def _valid_text(cls, value: Any) -> Any:
        return check_text(value)


_NOT_BLANK = re.compile(NOT_BLANK)


def _texts(value: str | list[str]) -> str | list[str]:
    """At least one text, none blank (what the schema below says), in the words the client needs."""
    texts = [value] if isinstance(value, str) else value
    if not texts:
        raise PydanticCustomError("too_short", "give at least one text")
    empty = [i for i, text in enumerate(texts) if _NOT_BLANK.search(text) is None]
    if empty:
        raise PydanticCustomError("string_pattern_mismatch", "text {i} is empty", {"i": empty[0]})
    return value


_TEXT_SCHEMA = {"type": "string", "pattern": NOT_BLANK}


class EmbedRequest(Strict):
    inputs: Annotated[str | list[str], AfterValidator(_texts), WithJsonSchema({"anyOf": [
        {**_TEXT_SCHEMA, "description": "a text with a non-space character (over 256 tokens: 422 unless truncate)"},
        {"type": "array", "items": _TEXT_SCHEMA, "minItems": 1, "maxItems": MAX_CLIENT_BATCH}]})]
    normalize: bool = True
    truncate: bool = False


class SearchRequest(Strict):
    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS, pattern=NOT_BLANK)
    top_k: Int = Field(10, ge=1, le=MAX_TOP_K)
    mode: Literal["bm25", "dense", "hybrid"] = "hybrid"
    fusion: Literal["rrf", "convex"] = "rrf"
    rerank: bool = False
    filter: Annotated[dict[Key, Scalar | ScalarList], Field(max_length=16), _map_schema(
        {"anyOf": [*_SCALAR_SCHEMA["anyOf"], *_SCALAR_LISTS]}, 16)] | None = None


class SearchHit(Strict):
    id: str
    score: float
    title: str
    snippet: str
    ranks: dict[str, int | None]


class SearchResponse(Strict):
    hits: list[SearchHit]
    mode: str
    fusion: str
    reranked: bool
    cached: bool


class DocumentIn(Strict):
    id: str = Field(min_length=1, max_length=256, pattern=r"^[^\x00-\x1f/]+$")
    title: str = Field("", max_length=1000)
    text: str = Field(min_length=1, max_length=MAX_DOC_CHARS)
    metadata: Annotated[dict[Key, Scalar], Field(max_length=32),
                        _map_schema(_SCALAR_SCHEMA, 32, RESERVED_KEYS)] = Field(default_factory=dict)


class DocumentsRequest(Strict):
    documents: list[DocumentIn] = Field(min_length=1, max_length=MAX_CLIENT_BATCH, description=(
        "ids unique within one request (422 otherwise); metadata keys other than 'title' and 'doc_id'"))


class DocumentsResponse(Strict):
    upserted: int
    ids: list[str]


class DeleteResponse(Strict):
    deleted: str


class ErrorBody(Strict):
    error: str
    error_type: str


class OpenAIErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None
    code: str | None


class OpenAIErrorBody(BaseModel):
    """OpenAI's error object, on every ``/v1/*`` error."""

    error: OpenAIErrorDetail


def _errors(model: type[BaseModel], statuses: tuple[int, ...]) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": model} for status in statuses}


# What the guard middleware can answer on any route (401 keys, 408 a body too slow, 413 too big, 429 quota or
# overload), what validation answers (422), and the service's own (404 no document, 503 not ready, 500 a bug).
ERRORS = _errors(ErrorBody, (401, 404, 408, 413, 422, 429, 500, 503))
# /v1/*: OpenAI's shape, and 400 where the service says 422.
OPENAI_ERRORS = _errors(OpenAIErrorBody, (400, 401, 404, 408, 413, 429, 500, 503))


def _bound(schema: dict[str, Any], kind: str, key: str, value: int) -> None:
    """Set ``key`` on ``schema`` and on each of its ``anyOf`` branches of JSON type ``kind``."""
    for branch in (schema, *schema.get("anyOf", ())):
        if branch.get("type") == kind:
            branch[key] = value


# (model, field, JSON type, keyword, the setting that bounds it)
SETTING_BOUNDS: tuple[tuple[str, str, str, str, Callable[[Settings], int]], ...] = (
    ("SearchRequest", "top_k", "integer", "maximum", lambda s: s.max_top_k),
    ("EmbedRequest", "inputs", "array", "maxItems", lambda s: s.max_client_batch),
    ("DocumentsRequest", "documents", "array", "maxItems", lambda s: s.max_client_batch),
    ("GenerateParameters", "max_new_tokens", "integer", "maximum", lambda s: s.max_new_tokens_limit),
    ("GenerateParameters", "stop", "array", "maxItems", lambda s: s.max_stop_sequences),
    ("RagRequest", "max_new_tokens", "integer", "maximum", lambda s: s.max_new_tokens_limit),
    ("ChatRequest", "max_tokens", "integer", "maximum", lambda s: s.max_new_tokens_limit),
    ("ChatRequest", "max_completion_tokens", "integer", "maximum", lambda s: s.max_new_tokens_limit),
    ("ChatRequest", "stop", "array", "maxItems", lambda s: s.max_stop_sequences),
)


def openapi_for(app: FastAPI, settings: Settings) -> dict[str, Any]:
    """The app's OpenAPI document with the bounds its settings enforce (built once, then cached)."""
    if app.openapi_schema is None:
        from fastapi.openapi.utils import get_openapi

        # a copy: the generated schema may share dicts with the models (WithJsonSchema), and apps differ
        spec = copy.deepcopy(get_openapi(title=app.title, version=app.version, routes=app.routes))
        components = spec.get("components", {}).get("schemas", {})
        for model, name, kind, key, setting in SETTING_BOUNDS:
            for component, schema in components.items():
                if component.removesuffix("-Input") == model and name in schema.get("properties", {}):
                    _bound(schema["properties"][name], kind, key, setting(settings))
        if "ChatRequest" in components:  # the one model served; another is 404 model_not_found
            components["ChatRequest"]["properties"]["model"]["enum"] = [settings.model_name]
        if not settings.rerank:  # no reranker on this server: rerank=true is refused (422)
            components["SearchRequest"]["properties"]["rerank"]["const"] = False
        for path, operations in spec.get("paths", {}).items():
            if path == "/v1" or path.startswith("/v1/"):  # a bad request is 400 there (errors.py), never 422
                for operation in operations.values():
                    operation.get("responses", {}).pop("422", None)
        app.openapi_schema = spec
    return app.openapi_schema


def install_openapi(app: FastAPI, settings: Settings) -> None:
    """Serve :func:`openapi_for` at ``/openapi.json`` (FastAPI calls ``app.openapi`` on each request)."""

    def openapi() -> dict[str, Any]:
        return openapi_for(app, settings)

    app.openapi = openapi  # type: ignore[method-assign]

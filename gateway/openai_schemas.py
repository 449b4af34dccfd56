"""The bodies of ``/v1/chat/completions``, ``/v1/responses`` and ``/v1/embeddings`` as
pydantic models, for the OpenAPI document only.

These three routes are the hot path: their bodies are read by ``proxy.parse_json_body``
and checked by ``gateway.validation`` (plain dict checks, cheaper than building models,
and what OpenAI rejects we reject with the same ``param``), and every other field is
passed through to the provider. The models below say what a caller may send and gets
back, so ``/v1/docs`` shows ``model``, ``messages``, ``stream``, ``max_tokens``, … They
stay open to extra fields, as OpenAI's own schema does.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Open(BaseModel):
    """An object that may carry more fields than described (passed through)."""

    model_config = ConfigDict(extra="allow")


# --- Chat completions ---------------------------------------------------------------------------
class ContentPart(Open):
    type: str = Field(description="`text`, `image_url`, `input_audio`, `file`, …")
    text: str | None = None
    image_url: dict[str, Any] | None = Field(None, description="`{url, detail}`")


class FunctionCall(Open):
    name: str
    arguments: str = Field(description="The arguments as a JSON string.")


class ToolCall(Open):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class ChatMessage(Open):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = Field(
        None, description="Required for a user message."
    )
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = Field(None, description="For a `tool` message.")


class FunctionDefinition(Open):
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = Field(None, description="A JSON Schema.")
    strict: bool | None = None


class Tool(Open):
    type: Literal["function"] = "function"
    function: FunctionDefinition


class StreamOptions(Open):
    include_usage: bool | None = None


class ChatCompletionRequest(Open):
    model: str = Field(description="A plain id or `provider/model` (see `/v1/models`).")
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool | None = Field(
        None, description="`true`: Server-Sent Events ending in `data: [DONE]`."
    )
    stream_options: StreamOptions | None = Field(None, description="Only with `stream: true`.")
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    n: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    presence_penalty: float | None = Field(None, ge=-2, le=2)
    frequency_penalty: float | None = Field(None, ge=-2, le=2)
    stop: str | list[str] | None = Field(None, description="Up to 4 sequences.")
    tools: list[Tool] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    response_format: dict[str, Any] | None = Field(None, description="`{type: json_schema, …}`")
    seed: int | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = None
    logit_bias: dict[str, float] | None = None
    reasoning_effort: str | None = None
    user: str | None = None


class Usage(Open):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: dict[str, Any] | None = None
    completion_tokens_details: dict[str, Any] | None = None


class AssistantMessage(Open):
    role: Literal["assistant"]
    content: str | None
    tool_calls: list[ToolCall] | None = None
    refusal: str | None = None


class Choice(Open):
    index: int
    message: AssistantMessage
    finish_reason: str | None
    logprobs: dict[str, Any] | None = None


class ChatCompletion(Open):
    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[Choice]
    usage: Usage = Field(description="Always reported.")
    system_fingerprint: str | None = None


# --- Responses ----------------------------------------------------------------------------------
class ResponseRequest(Open):
    model: str = Field(description="A plain id or `provider/model`.")
    input: str | list[dict[str, Any]] = Field(
        description="A string, or an array of input items (messages, function call outputs)."
    )
    instructions: str | None = None
    stream: bool | None = Field(
        None, description="`true`: the Responses event stream (`response.created`, …)."
    )
    max_output_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    tools: list[dict[str, Any]] | None = Field(
        None,
        description="Function tools, and at most one `{type: file_search, vector_store_ids, "
        "max_num_results, ranking_options}` searched by Portico (see docs/file_search.md).",
    )
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    include: list[str] | None = Field(
        None, description="`file_search_call.results` adds the search results to the output."
    )
    text: dict[str, Any] | None = Field(None, description="`{format: {type: json_schema, …}}`")
    metadata: dict[str, str] | None = None
    store: bool | None = Field(None, description="Portico stores nothing: answered `false`.")
    user: str | None = None


class ResponseUsage(Open):
    input_tokens: int
    output_tokens: int
    total_tokens: int
    input_tokens_details: dict[str, Any] | None = None
    output_tokens_details: dict[str, Any] | None = None


class Response(Open):
    id: str
    object: Literal["response"]
    created_at: int
    status: str
    model: str
    output: list[dict[str, Any]] = Field(
        description="Message, function call and `file_search_call` items."
    )
    output_text: str
    usage: ResponseUsage | None
    error: dict[str, Any] | None = None
    incomplete_details: dict[str, Any] | None = None


# --- Embeddings ---------------------------------------------------------------------------------
class EmbeddingRequest(Open):
    model: str
    input: str | list[str] | list[int] | list[list[int]] = Field(
        description="A string, an array of strings (at most 2048), or token ids."
    )
    encoding_format: Literal["float", "base64"] | None = None
    dimensions: int | None = Field(None, ge=1)
    user: str | None = None
    input_type: Literal["query", "passage"] | None = Field(
        None,
        description="Portico's: what the texts are for, for models that embed a question "
        "and a passage differently (portico/multilingual-e5-small: its 'query: ' / "
        "'passage: ' prefixes; default 'query'). Other models ignore it.",
    )


class Embedding(Open):
    object: Literal["embedding"]
    index: int
    embedding: list[float] | str = Field(description="Floats, or base64 of float32s.")


class EmbeddingUsage(Open):
    prompt_tokens: int
    total_tokens: int


class EmbeddingList(Open):
    object: Literal["list"]
    data: list[Embedding]
    model: str
    usage: EmbeddingUsage

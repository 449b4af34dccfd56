"""Pure wire-format adapters (no Django, no I/O) used on the gateway hot path.

* :mod:`.anthropic` - OpenAI Chat Completions <-> Anthropic Messages API.
* :mod:`.responses_request`, :mod:`.responses_object`, :mod:`.responses_stream` - OpenAI
  Responses API on top of Chat Completions (request, answer, stream).
* :mod:`.sse` - incremental Server-Sent Events parser.
* :mod:`.model_id` - the public model id in streamed chat chunks.
"""

from __future__ import annotations

from .anthropic import (
    AnthropicStreamTranslator,
    from_anthropic_error,
    from_anthropic_response,
    to_anthropic_request,
)
from .errors import AdapterError, openai_error
from .model_id import StreamModelRewriter
from .responses_object import chat_to_responses_response
from .responses_request import responses_to_chat_request
from .responses_stream import ResponsesStreamTranslator
from .sse import SSEParser, format_event

__all__ = [
    "AdapterError",
    "AnthropicStreamTranslator",
    "ResponsesStreamTranslator",
    "SSEParser",
    "StreamModelRewriter",
    "chat_to_responses_response",
    "format_event",
    "from_anthropic_error",
    "from_anthropic_response",
    "openai_error",
    "responses_to_chat_request",
    "to_anthropic_request",
]

""" "Chat with your documents": the Responses request with the ``file_search`` tool that
the playground sends through the gateway's own pipeline (``gateway.api.run_responses``),
so the searches, their charges and the citations are exactly the API's."""

from __future__ import annotations

from http import HTTPStatus

from ground.errors import ApiError

# How many passages the model reads per search: the API's default is 10, but the
# playground's answers are read on screen, and fewer passages cost fewer tokens.
MAX_NUM_RESULTS = 5
# The playground's settings, as the Responses API names them.
SAMPLING = {"temperature": "temperature", "top_p": "top_p", "max_tokens": "max_output_tokens"}


def documents_body(body: dict) -> dict:
    """The Responses request for a playground chat over one of the user's vector stores
    (``vector_store_id``): the conversation as ``input``, always streamed, with the search
    results included (the page lists them under the answer). The store id and the rest
    are checked by the gateway as for any ``/v1/responses`` call."""
    store = body.get("vector_store_id")
    if not isinstance(store, str) or not store:
        raise ApiError(
            HTTPStatus.BAD_REQUEST,
            "Choose one of your vector stores to chat with.",
            param="vector_store_id",
            code="missing_required_parameter",
        )
    messages = body.get("messages")
    if not isinstance(messages, list):
        raise ApiError(
            HTTPStatus.BAD_REQUEST,
            "'messages' must be an array of messages.",
            param="messages",
            code="invalid_type",
        )
    request = {
        "model": body.get("model"),
        "input": messages,
        "tools": [
            {
                "type": "file_search",
                "vector_store_ids": [store],
                "max_num_results": MAX_NUM_RESULTS,
            }
        ],
        "include": ["file_search_call.results"],
        "stream": True,
    }
    for name, responses_name in SAMPLING.items():
        if body.get(name) is not None:
            request[responses_name] = body[name]
    return request

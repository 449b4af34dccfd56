"""The chat playground: a page, and a chat endpoint that is the gateway's own pipeline.

``POST /playground/chat`` authenticates by session (and CSRF) instead of an API key and
then runs exactly what ``POST /v1/chat/completions`` runs: the user's allowlist and
rate limits (under a per-user "playground" subject), the funds reservation (402 when
the wallet cannot cover the request), the upstream relay and metering, with the usage
record marked ``source="playground"``. ``POST /playground/documents`` ("Chat with your
documents") does the same with ``POST /v1/responses`` and its ``file_search`` tool over
one of the user's vector stores (``playground.documents``).
"""

from __future__ import annotations

import asyncio
import time
from http import HTTPStatus

from asgiref.sync import sync_to_async
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.snapshots import KeyContext, aplayground_context
from billing.wallets import current_organization_id, wallet_summary
from gateway import proxy
from gateway.admission import v1
from gateway.api import run_chat, run_responses
from gateway.call import Call
from ground.errors import ApiError, error_response
from ground.net import api_base_url
from playground.chat import chat_body
from playground.documents import documents_body
from playground.picker import model_option, models_for
from playground.request_usage import request_usage
from retrieval.vector_stores import store_choices

# Set by another page (Retrieval's "Use in playground") to start with a system prompt
# and a question in the message box; read once.
PREFILL_SESSION_KEY = "playground_prefill"
QUESTION_SESSION_KEY = "playground_question"
USAGE_WAIT_SECONDS = 2.0
USAGE_POLL_SECONDS = 0.1


@require_GET
@login_required
async def playground(request: HttpRequest) -> HttpResponse:
    user = await request.auser()
    models = await models_for(user)
    wallet = await sync_to_async(lambda: wallet_summary(current_organization_id(user)))()
    stores = await sync_to_async(store_choices)(user)
    config = {
        "chatUrl": reverse("playground-chat"),
        "documentsUrl": reverse("playground-documents"),
        # A citation opens the cited page (the placeholders are filled in by the page).
        "citedPageUrl": reverse("retrieval-cited-page", args=["VS_ID", "FILE_ID", 99999]),
        "usageUrl": reverse("playground-usage", args=["REQUEST_ID"]),
        "walletUrl": reverse("wallet"),
        "loginUrl": reverse("account_login"),
        "apiBaseUrl": api_base_url(request),
        "models": [model_option(m) for m in models],
    }
    prefill = await request.session.apop(PREFILL_SESSION_KEY, "")
    question = await request.session.apop(QUESTION_SESSION_KEY, "")
    context = {
        "config": config,
        "models": models,
        "wallet": wallet,
        "stores": stores,
        "prefill": prefill,
        "question": question,
    }
    # Templates read the lazy ``request.user``: render where the ORM may run.
    return await sync_to_async(render)(request, "playground/playground.html", context)


async def playground_caller(request: HttpRequest) -> KeyContext:
    """The playground has no key: it calls the gateway as the signed-in user."""
    user = await request.auser()
    if not user.is_authenticated:
        raise ApiError(
            HTTPStatus.UNAUTHORIZED, "Sign in to use the playground.", code="not_signed_in"
        )
    return await aplayground_context(user)


@v1(
    "chat",
    endpoint="chat.completions",
    source="playground",
    admit_now=False,
    context=playground_caller,
)
async def admitted_chat(request: HttpRequest, call: Call) -> HttpResponse:
    return await run_chat(call, chat_body(proxy.parse_json_body(request)))


@require_POST
async def chat(request: HttpRequest) -> HttpResponse:
    try:
        return await admitted_chat(request)
    except ApiError as error:  # admission recorded it and put its headers on it
        return error.response()


@v1(
    "chat",
    endpoint="responses",
    source="playground",
    admit_now=False,
    context=playground_caller,
)
async def admitted_documents_chat(request: HttpRequest, call: Call) -> HttpResponse:
    return await run_responses(call, documents_body(proxy.parse_json_body(request)))


@require_POST
async def documents_chat(request: HttpRequest) -> HttpResponse:
    """ "Chat with your documents": the Responses API's ``file_search`` over one of the
    user's vector stores, admitted, searched, charged and recorded as ``/v1/responses``
    (``source="playground"``), streamed as Responses events."""
    try:
        return await admitted_documents_chat(request)
    except ApiError as error:  # admission recorded it and put its headers on it
        return error.response()


@require_GET
async def usage(request: HttpRequest, request_id: str) -> HttpResponse:
    """The cost and tokens of one of the user's requests, and the wallet after it.

    A stopped stream is recorded just after the server notices the disconnect, which
    can be after the page asks: wait a moment for it before answering 404 (the page
    then retries with backoff).
    """
    user = await request.auser()
    if not user.is_authenticated:
        return error_response(
            HTTPStatus.UNAUTHORIZED, "Sign in to see your usage.", code="not_signed_in"
        )
    deadline = time.monotonic() + USAGE_WAIT_SECONDS
    while (found := await sync_to_async(request_usage)(user.pk, request_id)) is None:
        if time.monotonic() >= deadline:
            # Not recorded yet, or not this user's request: the same answer for both.
            return error_response(
                HTTPStatus.NOT_FOUND, f"No usage recorded for {request_id} yet.", code="not_found"
            )
        await asyncio.sleep(USAGE_POLL_SECONDS)
    return JsonResponse(found)

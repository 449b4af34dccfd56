"""Every route is accounted for: a ``/v1`` route is admitted by ``gateway.admission.v1``,
and a route that uses a model (or spends money) says which model and is admitted for it;
a portal page that does is admitted by ``admit_page`` (or a view wearing ``v1``). A new
route fails here until it is placed in one of the tables below — so it cannot skip the
one admission by being forgotten. The refusals themselves are proven per path in
``tests/gateway/test_restrictions_api.py`` and ``tests/portal/test_restrictions_pages.py``.
"""

from __future__ import annotations

import inspect

from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver

from portal.api import api

# /v1 routes that use a model: how the model is admitted. "route": the route names it
# (``v1(model=…)``, read per request); "body": the view admits the model the request
# names (``admit_now=False``: it resolves the model, then takes the rate-limit step).
V1_USES_MODEL = {
    ("POST", "/chat/completions"): "body",
    ("POST", "/responses"): "body",
    ("POST", "/embeddings"): "body",
    ("POST", "/ocr/upload"): "OCR_PAGE_MODEL",
    ("POST", "/ocr/jobs/{token}/retry"): "OCR_PAGE_MODEL",
    ("POST", "/alRetrieval/collections"): "RETRIEVAL_MODEL",
    ("POST", "/alRetrieval/collections/{collection_id}/documents/ingest"): "RETRIEVAL_MODEL",
    ("POST", "/alRetrieval/collections/{collection_id}/query"): "body",
    # Files & Vector Stores (OpenAI's shapes): attaching a file ingests it (a PDF also
    # admits OCR_PAGE_MODEL in the view); a search is charged like an alRetrieval query.
    ("POST", "/vector_stores"): "RETRIEVAL_MODEL",
    ("POST", "/vector_stores/{vector_store_id}/files"): "RETRIEVAL_MODEL",
    ("POST", "/vector_stores/{vector_store_id}/file_batches"): "RETRIEVAL_MODEL",
    ("POST", "/vector_stores/{vector_store_id}/search"): "body",
}
# /v1 routes that read or delete what the caller owns, using no model and spending nothing.
V1_NO_MODEL = {
    ("GET", "/models"),
    ("GET", "/models/catalog"),
    ("GET", "/models/{path:model_id}"),
    ("GET", "/usage"),
    ("GET", "/wallet"),
    ("GET", "/ocr/jobs/{token}"),
    ("DELETE", "/ocr/jobs/{token}"),
    ("GET", "/ocr/jobs/{token}/pdf"),
    ("GET", "/ocr/jobs/{token}/{page_num}"),
    ("GET", "/ocr/thumbnails/{token}"),
    ("GET", "/ocr/images/{token}"),
    ("GET", "/alRetrieval/collections"),
    ("DELETE", "/alRetrieval/collections/{collection_id}"),
    ("GET", "/alRetrieval/collections/{collection_id}/documents"),
    ("GET", "/alRetrieval/collections/{collection_id}/documents/{doc_id}/status"),
    ("DELETE", "/alRetrieval/collections/{collection_id}/documents/{doc_id}"),
    # Storing a file checks it (no model); reading, modifying, detaching, deleting.
    ("POST", "/files"),
    ("GET", "/files"),
    ("GET", "/files/{file_id}"),
    ("GET", "/files/{file_id}/content"),
    ("DELETE", "/files/{file_id}"),
    ("GET", "/vector_stores"),
    ("GET", "/vector_stores/{vector_store_id}"),
    ("POST", "/vector_stores/{vector_store_id}"),
    ("DELETE", "/vector_stores/{vector_store_id}"),
    ("GET", "/vector_stores/{vector_store_id}/files"),
    ("GET", "/vector_stores/{vector_store_id}/files/{file_id}"),
    ("POST", "/vector_stores/{vector_store_id}/files/{file_id}"),
    ("DELETE", "/vector_stores/{vector_store_id}/files/{file_id}"),
    ("GET", "/vector_stores/{vector_store_id}/files/{file_id}/content"),
    ("GET", "/vector_stores/{vector_store_id}/file_batches/{batch_id}"),
    ("POST", "/vector_stores/{vector_store_id}/file_batches/{batch_id}/cancel"),
    ("GET", "/vector_stores/{vector_store_id}/file_batches/{batch_id}/files"),
}

# OpenAI's Admin API (gateway.admin_api): admin keys only (the "admin" scope), no model.
V1_ADMIN = {
    ("GET", "/organization/users"),
    ("GET", "/organization/users/{user_id}"),
    ("POST", "/organization/users/{user_id}"),
    ("DELETE", "/organization/users/{user_id}"),
    ("POST", "/organization/invites"),
    ("GET", "/organization/invites"),
    ("GET", "/organization/invites/{invite_id}"),
    ("DELETE", "/organization/invites/{invite_id}"),
    ("POST", "/organization/admin_api_keys"),
    ("GET", "/organization/admin_api_keys"),
    ("GET", "/organization/admin_api_keys/{key_id}"),
    ("DELETE", "/organization/admin_api_keys/{key_id}"),
    ("POST", "/organization/projects"),
    ("GET", "/organization/projects"),
    ("GET", "/organization/projects/{project_id}"),
    ("POST", "/organization/projects/{project_id}"),
    ("POST", "/organization/projects/{project_id}/archive"),
    ("GET", "/organization/projects/{project_id}/spend_limit"),
    ("POST", "/organization/projects/{project_id}/spend_limit"),
    ("DELETE", "/organization/projects/{project_id}/spend_limit"),
    ("GET", "/organization/projects/{project_id}/users"),
    ("POST", "/organization/projects/{project_id}/users"),
    ("GET", "/organization/projects/{project_id}/users/{user_id}"),
    ("POST", "/organization/projects/{project_id}/users/{user_id}"),
    ("DELETE", "/organization/projects/{project_id}/users/{user_id}"),
    ("POST", "/organization/projects/{project_id}/service_accounts"),
    ("GET", "/organization/projects/{project_id}/service_accounts"),
    ("GET", "/organization/projects/{project_id}/service_accounts/{service_account_id}"),
    ("DELETE", "/organization/projects/{project_id}/service_accounts/{service_account_id}"),
    ("GET", "/organization/projects/{project_id}/api_keys"),
    ("GET", "/organization/projects/{project_id}/api_keys/{api_key_id}"),
    ("DELETE", "/organization/projects/{project_id}/api_keys/{api_key_id}"),
    ("GET", "/organization/projects/{project_id}/rate_limits"),
    ("POST", "/organization/projects/{project_id}/rate_limits/{rate_limit_id}"),
    ("GET", "/organization/audit_logs"),
    ("GET", "/organization/usage/completions"),
    ("GET", "/organization/usage/embeddings"),
    ("GET", "/organization/costs"),
}

# Portal pages that use a model or spend money (by URL name).
PAGES_USING_MODELS = {
    "ocr",  # upload
    "ocr-job-retry",
    "retrieval-create",
    "retrieval-collection",  # upload
    "retrieval-search",
    "playground-chat",
    "playground-documents",  # Chat with your documents: a model, and file_search
}
# Every other named portal page: it reads or changes what the user owns, or money moves
# in (top-ups, codes), but no model is used and nothing is spent.
PAGES_WITHOUT_MODELS = {
    "healthz", "readyz", "status", "metrics", "admin_overview", "dashboard", "docs",
    "keys", "key", "key_edit", "key_revoke", "key_rotate", "invite-accept",
    "usage", "usage_export", "usage_detail", "models", "model_detail",
    "wallet", "wallet-redeem", "wallet-threshold", "wallet-topup",
    "wallet-topup-success", "wallet-topup-cancelled", "stripe-webhook",
    "ocr-job", "ocr-job-delete", "ocr-job-pdf", "ocr-page", "ocr-page-file",
    "ocr-download", "ocr-file",
    "retrieval", "retrieval-playground", "retrieval-file", "retrieval-rename",
    "retrieval-delete", "retrieval-documents", "retrieval-document-delete",
    "retrieval-original", "retrieval-page", "retrieval-cited-page",
    "playground", "playground-usage",
    "org_switch", "org_members", "org_projects", "org_project", "org_audit",
}  # fmt: skip


def v1_operations():
    for _prefix, router in api._routers:
        for path, operations in router.path_operations.items():
            for operation in operations.operations:
                for method in operation.methods:
                    yield (method, path), operation.view_func


def portal_patterns(patterns=None, prefix=""):
    """(route, name, view) of every portal URL outside /v1, the admin and allauth."""
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            if route.startswith(("admin/", "accounts/", "v1/", "^v1")):
                continue
            yield from portal_patterns(entry.url_patterns, route)
        elif isinstance(entry, URLPattern) and not route.startswith(("v1", "^v1", "favicon")):
            yield route, entry.name, entry.callback


def test_every_v1_route_is_admitted_and_classified():
    seen = set()
    for route, view in v1_operations():
        seen.add(route)
        admission = getattr(view, "admission", None)
        assert admission is not None, f"{route} is not admitted by gateway.admission.v1"
        way = V1_USES_MODEL.get(route)
        if route in V1_ADMIN:
            assert admission.scope == "admin", f"{route} is the Admin API's: admin keys only"
        elif way is None:
            assert route in V1_NO_MODEL, f"{route} is new: say whether it uses a model"
        elif way == "body":
            assert not admission.admit_now, f"{route} names its model in the body"
        else:
            assert admission.model is not None, f"{route} must be admitted for {way}"
            assert admission.model() == getattr(settings, way)
    assert seen == set(V1_USES_MODEL) | V1_NO_MODEL | V1_ADMIN, (
        "a route in the tables no longer exists"
    )


def calls_admission(view, depth: int = 2) -> bool:
    """Whether a page view is admitted: it wears ``v1``, or its code — or a function of
    its module it calls, ``depth`` calls deep — calls ``admit_page`` or a ``v1`` view."""
    if getattr(view, "admission", None) is not None:
        return True
    function = inspect.unwrap(view)
    source = inspect.getsource(function)
    if "admit_page(" in source:
        return True
    module = inspect.getmodule(function)
    called = [
        value
        for name, value in vars(module).items()
        if f"{name}(" in source and callable(value) and value is not view
    ]
    if any(getattr(value, "admission", None) is not None for value in called):
        return True
    local = [v for v in called if getattr(inspect.unwrap(v), "__module__", "") == module.__name__]
    return depth > 0 and any(calls_admission(value, depth - 1) for value in local)


def test_every_portal_page_is_classified_and_the_ones_using_models_are_admitted():
    names = set()
    for route, name, view in portal_patterns():
        assert name, f"the page {route!r} needs a URL name to be classified here"
        names.add(name)
        if name in PAGES_USING_MODELS:
            assert calls_admission(view), f"{name} uses a model but is not admitted"
        else:
            assert name in PAGES_WITHOUT_MODELS, f"{name} ({route}) is new: does it use a model?"
    assert names >= PAGES_USING_MODELS, "a page in the table no longer exists"


def test_the_check_itself_sees_a_page_that_skips_admission():
    def sneaky_upload(request):  # spends money without admission
        return request

    assert not calls_admission(sneaky_upload)

"""What a recorded error code means, in words, for the Usage pages.

Usage records keep the error's code and HTTP status, not its message (the message can
carry the caller's input); the request page explains the code instead.
"""

from __future__ import annotations

EXPLANATIONS = {
    "invalid_json": "The request body was not valid JSON.",
    "missing_required_parameter": "A required parameter was missing from the request.",
    "invalid_parameter": "A parameter had a value the endpoint does not accept.",
    "model_not_supported": "The model exists but cannot serve this endpoint "
    "(e.g. an embedding model called for chat).",
    "missing_api_key": "The request carried no API key.",
    "invalid_api_key": "The API key is unknown.",
    "expired_api_key": "The API key has expired.",
    "revoked_api_key": "The API key was revoked.",
    "account_disabled": "The account that owns the key is disabled.",
    "insufficient_balance": "The wallet could not cover the most this request could cost. "
    "Add credit on the Wallet page.",
    "unpaid_usage": "Earlier requests cost more than the balance covered; priced requests "
    "are paused until a top-up or code pays it.",
    "key_budget_exceeded": "The key's daily, monthly or total spend cap was reached.",
    "missing_scope": "The key does not have the scope this endpoint needs.",
    "model_not_allowed": "The model is outside the key's or the account's model allowlist.",
    "ip_not_allowed": "The request came from an address outside the key's IP ranges.",
    "model_not_found": "The model does not exist or is not available.",
    "not_found": "The resource does not exist or is not yours.",
    "rate_limit_exceeded": "The key's or account's requests-per-minute limit was reached.",
    "tokens_per_minute_exceeded": "The key's or account's tokens-per-minute limit was reached.",
    "daily_limit_exceeded": "The key's or account's requests-per-day limit was reached.",
    "too_many_failed_authentications": "Too many failed authentications from this address.",
    "request_too_large": "The request body was larger than allowed.",
    "internal_error": "Portico failed on its side; the error was logged.",
    "upstream_failed": "Every provider for the model failed.",
    "upstream_error": "The provider answered with an error.",
    "upstream_auth_failed": "The provider rejected Portico's credentials; an administrator "
    "must fix the provider's API key.",
    "upstream_not_found": "The provider does not know the model or route.",
    "upstream_stream_broken": "The provider's stream broke off before it finished.",
    "service_unavailable": "No healthy provider was available for the model.",
    "client_disconnected": "The client closed the connection before the response finished.",
    "job_deleted": "The OCR job was deleted before it finished; the pages already read "
    "are charged.",
    "job_expired": "The OCR job expired before it finished; the pages already read are charged.",
}

BY_STATUS = {
    400: "The request was malformed or had a bad parameter.",
    401: "The request was not authenticated.",
    402: "The wallet or the key's spend cap could not cover the request.",
    403: "The key may not make this request.",
    404: "The model or resource does not exist.",
    429: "A rate limit was reached.",
    502: "The provider failed.",
    503: "No provider was available.",
}


def explain(code: str, http_status: int | None = None) -> str:
    """A sentence for the error ``code`` (or, for an unknown code, its HTTP status)."""
    if code in EXPLANATIONS:
        return EXPLANATIONS[code]
    if http_status in BY_STATUS:
        return BY_STATUS[http_status]
    return "The request failed." if code or (http_status or 0) >= 400 else ""

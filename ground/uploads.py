"""The uploaded file of a multipart request, with a broken body refused in the API's format."""

from __future__ import annotations

from django.core.exceptions import SuspiciousOperation
from django.http.multipartparser import MultiPartParserError

from ground.errors import ApiError


def uploaded_file(request, field: str = "file"):
    """``request.FILES[field]`` or None; 400 ``invalid_body`` when the body cannot be parsed."""
    try:
        return request.FILES.get(field)
    except (MultiPartParserError, SuspiciousOperation) as exc:
        raise ApiError(
            400, f"The multipart body could not be read ({exc}).", code="invalid_body"
        ) from None

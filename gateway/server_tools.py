"""Tools Portico runs itself for the Responses API (``file_search``), filled in by the apps
that own them.

The gateway sits below retrieval: it owns the tool loop, the output items, the stream
events and the annotations (``gateway.file_search``), and asks a registered backend for
the searching and its charge. Retrieval registers its backend in its
``AppConfig.ready`` (``register_tool("file_search", backend)``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from gateway.adapters.responses_file_search import FileSearchResult, FileSearchSpec
from ground.errors import ApiError

if TYPE_CHECKING:  # retrieval's apps.py imports this module before the models load
    from gateway.call import Call


class FileSearchBackend(Protocol):
    async def prepare(self, call: Call, spec: FileSearchSpec) -> Decimal:
        """Before anything runs: admit the caller to search (its allowlist), refuse a
        vector store not theirs (404) or filters it cannot apply (400), and answer the
        most one search may cost (held with the model's worst case)."""
        ...

    async def search(
        self, call: Call, spec: FileSearchSpec, query: str, request_id: str
    ) -> list[FileSearchResult]:
        """Run one search for ``call``'s caller, metered and charged under ``request_id``
        (its own usage event; any embedding it makes under ``<request_id>_embed``)."""
        ...


_tools: dict[str, FileSearchBackend] = {}


def register_tool(name: str, backend: FileSearchBackend) -> None:
    _tools[name] = backend


def server_tool(name: str, param: str) -> FileSearchBackend:
    backend = _tools.get(name)
    if backend is None:
        raise ApiError(
            400,
            f"The '{name}' tool is not available on this server.",
            param=param,
            code="unsupported_value",
        )
    return backend

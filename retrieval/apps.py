from __future__ import annotations

from django.apps import AppConfig

from gateway.server_tools import register_tool
from ocr.signals import pages_read  # a plain Signal: safe to import before the models


class RetrievalConfig(AppConfig):
    name = "retrieval"
    verbose_name = "Retrieval"

    def ready(self) -> None:
        # The use cases queue the indexing task by name (``retrieval.queueing``): a process
        # that runs tasks inline (CELERY_TASK_ALWAYS_EAGER) must have it registered.
        from retrieval import tasks  # noqa: F401
        from retrieval.file_search_tool import FileSearchTool
        from retrieval.pdfreading import on_pages_read

        # OCR (below) hands a document's PDF back when its page tasks have read it.
        pages_read.connect(on_pages_read, dispatch_uid="retrieval.pdfreading")
        register_tool("file_search", FileSearchTool())  # Responses' file_search searches here

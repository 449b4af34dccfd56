from __future__ import annotations

from django.apps import AppConfig

from gateway.server_tools import register_tool


class RetrievalConfig(AppConfig):
    name = "retrieval"
    verbose_name = "Retrieval"

    def ready(self) -> None:
        # The use cases queue the indexing task by name (``retrieval.queueing``): a process
        # that runs tasks inline (CELERY_TASK_ALWAYS_EAGER) must have it registered.
        from retrieval import tasks  # noqa: F401
        from retrieval.file_search_tool import FileSearchTool

        register_tool("file_search", FileSearchTool())  # Responses' file_search searches here

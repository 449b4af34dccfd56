"""Retrieval collections and documents in the admin: owner, status, pages; read-only.

Documents change only through retrieval's use cases (``retrieval.ingest``, ``retrieval.indexing``, ``retrieval.documents``), which keep the
collection's search statistics and postings consistent, so the admin never edits them.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from ground.admin import ReadOnlyAdmin, money_column
from ground.money import cost_html
from retrieval.models import Collection, Document
from usage.models import UsageRecord


@admin.register(Collection)
class CollectionAdmin(ReadOnlyAdmin):
    list_display = ("name_or_id", "owner", "document_count", "chunk_count", "created_at")
    list_select_related = ("owner",)
    search_fields = ("collection_id", "name", "owner__email")
    list_filter = ("created_at",)
    date_hierarchy = "created_at"
    fields = (
        "collection_id",
        "name",
        "owner",
        "chunk_count",
        "total_length",
        "created_at",
        "documents_link",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(num_documents=Count("documents"))

    @admin.display(description="collection", ordering="name")
    def name_or_id(self, collection: Collection) -> str:
        return str(collection)

    @admin.display(description="documents", ordering="num_documents")
    def document_count(self, collection: Collection) -> int:
        return collection.num_documents

    @admin.display(description="documents")
    def documents_link(self, collection: Collection) -> str:
        url = reverse("admin:retrieval_document_changelist")
        return format_html(
            '<a href="{}?collection__id__exact={}">{} documents</a>',
            url,
            collection.pk,
            collection.num_documents,
        )


@admin.register(Document)
class DocumentAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "filename",
        "owner",
        "collection",
        "status",
        "pages",
        "size_bytes",
        "page_price_usd_display",
        "billed",
        "indexed_at",
    )
    list_filter = ("status", "billed", "mime_type", "created_at")
    list_select_related = ("collection__owner",)
    search_fields = (
        "doc_id",
        "filename",
        "title",
        "collection__collection_id",
        "collection__owner__email",
    )
    date_hierarchy = "created_at"
    page_price_usd_display = money_column("page_price_usd", "per page (USD)", cost=True)
    fields = (
        "doc_id",
        "filename",
        "title",
        "mime_type",
        "owner",
        "collection",
        "api_key",
        "status",
        "error",
        "pages",
        "size_bytes",
        "stored_file",
        "page_price_usd_display",
        "billed",
        "charged",
        "created_at",
        "indexed_at",
    )
    readonly_fields = fields

    @admin.display(description="owner", ordering="collection__owner__email")
    def owner(self, document: Document):
        return document.collection.owner

    @admin.display(description="charged (USD)")
    def charged(self, document: Document) -> str:
        """Reading a PDF is charged per page under the document's billing request id."""
        if not document.billing_request_id:
            return "not charged (not a PDF)"
        record = UsageRecord.objects.filter(request_id=document.billing_request_id).first()
        if record is None:
            return "nothing recorded yet"
        url = reverse("admin:usage_usagerecord_change", args=[record.pk])
        return format_html('{} · <a href="{}">usage record</a>', cost_html(record.cost_usd), url)

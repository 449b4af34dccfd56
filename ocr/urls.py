from __future__ import annotations

from django.urls import path

from ocr import views

urlpatterns = [
    path("ocr/", views.ocr_home, name="ocr"),
    path("ocr/jobs/<str:token>/", views.job_page, name="ocr-job"),
    path("ocr/jobs/<str:token>/retry", views.retry_job, name="ocr-job-retry"),
    path("ocr/jobs/<str:token>/delete", views.delete_job, name="ocr-job-delete"),
    path("ocr/jobs/<str:token>/searchable.pdf", views.searchable_pdf, name="ocr-job-pdf"),
    path("ocr/jobs/<str:token>/pages/<int:page_num>/", views.page_view, name="ocr-page"),
    path(
        "ocr/jobs/<str:token>/pages/<int:page_num>/<str:kind>.png",
        views.page_file,
        name="ocr-page-file",
    ),
    path("ocr/jobs/<str:token>/download.<str:fmt>", views.download, name="ocr-download"),
    path("ocr/files/<str:signed>", views.signed_file, name="ocr-file"),
]

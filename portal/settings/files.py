"""Static files (whitenoise) and uploaded files: local storage, or S3 (``STORAGE_*``)."""

from __future__ import annotations

from pathlib import Path

from ground.env import (
    env_bool,
    env_int,
    env_str,
)
from portal.settings.base import BASE_DIR, DEBUG, VAR_DIR

# --- Static and media files --------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or VAR_DIR / "media")
STORAGE_BUCKET = env_str("STORAGE_BUCKET")
STORAGE_ENDPOINT_URL = env_str("STORAGE_ENDPOINT_URL")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
if STORAGE_BUCKET:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": STORAGE_BUCKET,
            "endpoint_url": STORAGE_ENDPOINT_URL or None,
            "access_key": env_str("STORAGE_ACCESS_KEY_ID") or None,
            "secret_key": env_str("STORAGE_SECRET_ACCESS_KEY") or None,
            "region_name": env_str("STORAGE_REGION") or None,
            "querystring_auth": True,
            "querystring_expire": env_int("STORAGE_URL_EXPIRY_SECONDS", 3600),
            "file_overwrite": False,
        },
    }
if DEBUG and not env_bool("PORTICO_MANIFEST_STATIC", default=True):
    STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
WHITENOISE_MAX_AGE = 3600
# Source maps are kept (CSS/JS reference them) but are not worth compressing.
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = [
    "jpg",
    "jpeg",
    "png",
    "gif",
    "webp",
    "zip",
    "gz",
    "tgz",
    "bz2",
    "tbz",
    "xz",
    "br",
    "swf",
    "flv",
    "woff",
    "woff2",
    "3gp",
    "3gpp",
    "asf",
    "avi",
    "m4v",
    "mov",
    "mp4",
    "mpeg",
    "mpg",
    "webm",
    "wmv",
    "map",
]

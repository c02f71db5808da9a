"""A size limit on every uploaded file, with a message that names it.

Django bounds the non-file part of a request (``DATA_UPLOAD_MAX_MEMORY_SIZE``) but not its
files: above ``FILE_UPLOAD_MAX_MEMORY_SIZE`` it streams them to a temporary file of any
size. ``UploadSizeLimitHandler``, first in ``FILE_UPLOAD_HANDLERS``, passes at most
``UPLOAD_MAX_BYTES`` of each file on to Django's handlers and swallows the rest, so an
oversized upload never fills memory or disk; the file then arrives empty and marked with the
size counted, and ``upload_size_validator`` (on every file field of the project) rejects it
with a clear message instead of reading a truncated file.
"""

import io

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler


def upload_limit_text(limit: int) -> str:
    """A byte count as people read it: ``32 MB``, ``100 KB``, ``512 bytes``."""
    for unit, size in (("MB", 1024 * 1024), ("KB", 1024)):
        if limit >= size:
            return f"{limit / size:.3g} {unit}"
    return f"{limit} bytes"


def upload_size_validator(upload) -> None:
    """Reject a file above ``UPLOAD_MAX_BYTES``, naming the limit."""
    limit = settings.UPLOAD_MAX_BYTES
    if upload is not None and upload.size is not None and upload.size > limit:
        raise ValidationError(
            "The file is larger than %(limit)s, the most one upload may hold. "
            "Split it into smaller files.",
            code="file_too_large",
            params={"limit": upload_limit_text(limit)},
        )


class OversizedUpload(UploadedFile):
    """What arrives of a file above the limit: no content, and the bytes counted (more than
    the limit, perhaps fewer than the whole file, whose rest was never read into a file)."""

    def __init__(self, *, name: str, content_type: str, size: int, charset: str | None) -> None:
        super().__init__(io.BytesIO(), name, content_type, size, charset)


class UploadSizeLimitHandler(FileUploadHandler):
    """First upload handler: passes on at most ``UPLOAD_MAX_BYTES`` of each file."""

    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received += len(raw_data)
        if self.received > settings.UPLOAD_MAX_BYTES:
            return None  # the handlers after this one get nothing more of this file
        return raw_data

    def file_complete(self, file_size: int) -> UploadedFile | None:
        if self.received > settings.UPLOAD_MAX_BYTES:
            return OversizedUpload(
                name=self.file_name,
                content_type=self.content_type,
                size=self.received,
                charset=self.charset,
            )
        return None  # Django's own handlers return the file

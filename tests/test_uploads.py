"""Every uploaded file is bounded by UPLOAD_MAX_BYTES: no more is read, and the message names
the limit."""

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse

from project.uploads import (
    OversizedUpload,
    UploadSizeLimitHandler,
    upload_limit_text,
    upload_size_validator,
)
from surveys.models import Expert
from tests.conftest import login_with_second_factor


def test_the_size_limit_handler_comes_before_django_s_own():
    assert settings.FILE_UPLOAD_HANDLERS[0] == "project.uploads.UploadSizeLimitHandler"
    assert settings.UPLOAD_MAX_BYTES == 32 * 1024 * 1024
    assert settings.FILE_UPLOAD_MAX_MEMORY_SIZE <= settings.UPLOAD_MAX_BYTES


@override_settings(UPLOAD_MAX_BYTES=100)
def test_the_handler_passes_on_nothing_beyond_the_limit():
    handler = UploadSizeLimitHandler()
    handler.new_file("file", "big.csv", "text/csv", None)
    assert handler.receive_data_chunk(b"x" * 60, 0) == b"x" * 60
    assert handler.receive_data_chunk(b"x" * 60, 60) is None
    assert handler.receive_data_chunk(b"x" * 60, 120) is None
    upload = handler.file_complete(60)
    assert isinstance(upload, OversizedUpload)
    assert upload.size == 180 and upload.read() == b""
    with pytest.raises(ValidationError, match="larger than 100 bytes"):
        upload_size_validator(upload)


@override_settings(UPLOAD_MAX_BYTES=100)
def test_a_file_within_the_limit_is_left_to_django_s_handlers():
    handler = UploadSizeLimitHandler()
    handler.new_file("file", "small.csv", "text/csv", None)
    assert handler.receive_data_chunk(b"x" * 100, 0) == b"x" * 100
    assert handler.file_complete(100) is None
    upload_size_validator(SimpleUploadedFile("small.csv", b"x" * 100))


@pytest.mark.parametrize(
    ("limit", "text"),
    [(32 * 1024 * 1024, "32 MB"), (100 * 1024, "100 KB"), (1536, "1.5 KB"), (512, "512 bytes")],
)
def test_the_limit_reads_as_people_read_sizes(limit, text):
    assert upload_limit_text(limit) == text


@override_settings(UPLOAD_MAX_BYTES=1024)
def test_the_expert_import_page_refuses_a_file_above_the_upload_limit(client, panels, admin_user):
    login_with_second_factor(client, admin_user)
    data = b"name,email,panel,language,affiliation\n" + b"A B,ab@example.org,MOW,ru,\n" * 100
    page = client.post(
        reverse("admin:surveys_expert_import"),
        {"step": "preview", "file": SimpleUploadedFile("big.csv", data)},
    ).content.decode()
    assert "The file is larger than 1 KB, the most one upload may hold." in page
    assert not Expert.objects.exists()

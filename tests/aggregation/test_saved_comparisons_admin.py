"""Saved comparisons in the admin: editing the definition adds a version."""

import pytest
from django.contrib.auth.models import User

from aggregation.models import SavedComparison
from tests.conftest import login_with_second_factor

pytestmark = pytest.mark.django_db

FORM = {
    "slug": "mine",
    "name": "Mine",
    "question": "",
    "order": "0",
    "kind": "roles",
    "left_panel": "MOW",
    "left_holder": "RUS",
    "left_subject": "ARM",
    "left_perspective": "expectation",
    "left_estimator": "plain_means",
    "right_panel": "YER",
    "right_holder": "ARM",
    "right_subject": "ARM",
    "right_perspective": "conception",
    "right_estimator": "plain_means",
    "role_a": "",
    "role_b": "",
    "versions-TOTAL_FORMS": "0",
    "versions-INITIAL_FORMS": "0",
}


@pytest.fixture
def superuser_client(client, panels):
    user = User.objects.create_superuser("root", password="pw")
    login_with_second_factor(client, user)
    return client


def test_editing_the_definition_in_the_admin_adds_a_version(superuser_client):
    add = superuser_client.post("/admin/aggregation/savedcomparison/add/", FORM)
    assert add.status_code == 302, add.content.decode()[:2000]
    saved = SavedComparison.objects.get(slug="mine")
    url = f"/admin/aggregation/savedcomparison/{saved.pk}/change/"
    changed = {**FORM, "right_panel": "ALL", "right_perspective": "performance"}
    changed["versions-TOTAL_FORMS"] = changed["versions-INITIAL_FORMS"] = "1"
    changed["versions-0-id"] = str(saved.versions.get().pk)
    changed["versions-0-saved_comparison"] = str(saved.pk)
    assert superuser_client.post(url, changed).status_code == 302
    versions = list(saved.versions.order_by("number").values_list("number", "right_panel"))
    assert versions == [(1, "YER"), (2, "ALL")]


def test_a_panel_code_that_does_not_exist_is_refused_with_the_allowed_ones(superuser_client):
    response = superuser_client.post(
        "/admin/aggregation/savedcomparison/add/", {**FORM, "left_panel": "XXX"}
    )
    assert response.status_code == 200
    assert "Allowed: MOW, YER, ALL" in response.content.decode()
    assert not SavedComparison.objects.filter(slug="mine").exists()

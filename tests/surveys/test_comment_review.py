"""The review queue of experts' comments: a panel admin clears or withholds the comments of
their own panels only, each decision audited; a changed comment waits for review again."""

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from surveys.comment_review import comment_text_set, comments_review
from surveys.groups import PANEL_ADMINS, groups_sync
from surveys.models import AuditEntry, BlockComment, CommentReview
from tests.conftest import login_with_second_factor
from tests.surveys.test_access import surveys  # noqa: F401 - the two-panel fixture

pytestmark = pytest.mark.django_db

QUEUE = "admin:surveys_commentreview_changelist"


@pytest.fixture
def panel_admin(surveys) -> User:  # noqa: F811
    """A member of the panel admins' group who administers only Moscow's panel."""
    mow, _yer = surveys
    groups_sync()
    user = User.objects.create_user("mow-admin", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name=PANEL_ADMINS))
    user.administered_panels.set([mow.panel])
    return user


def test_the_queue_shows_only_the_admins_panels_and_no_pseudonym(client, surveys, panel_admin):  # noqa: F811
    mow, yer_invitation = surveys
    login_with_second_factor(client, panel_admin)
    page = client.get(reverse(QUEUE))
    assert page.status_code == 200
    shown = list(page.context["cl"].result_list)
    assert [comment.response.panel_id for comment in shown] == [mow.panel.pk]
    assert shown[0].response.pseudonym not in page.content.decode()
    yerevan = BlockComment.objects.get(response__panel=yer_invitation.expert.panel)
    other = client.get(reverse("admin:surveys_commentreview_change", args=[yerevan.pk]))
    assert other.status_code == 404


def test_clearing_through_the_admin_action_writes_one_audit_row_per_comment(
    client,
    surveys,  # noqa: F811
    panel_admin,
):
    login_with_second_factor(client, panel_admin)
    every = list(BlockComment.objects.values_list("pk", flat=True))
    response = client.post(
        reverse(QUEUE), {"action": "clear_for_release", "_selected_action": every}, follow=True
    )
    assert response.status_code == 200
    cleared = BlockComment.objects.filter(review=BlockComment.Review.CLEARED)
    assert cleared.count() == 1  # the Yerevan comment is outside this admin's panels
    comment = cleared.get()
    assert comment.reviewed_by == panel_admin and comment.reviewed_at
    entry = AuditEntry.objects.get(action="comment.clear")
    assert entry.user == panel_admin
    assert entry.detail["comment"] == comment.pk
    assert entry.detail["old"] == "pending" and entry.detail["new"] == "cleared"
    assert "A comment" not in str(entry.detail)


def test_a_changed_comment_waits_for_review_again(surveys, panel_admin):  # noqa: F811
    mow, _yer = surveys
    comment = BlockComment.objects.get(response__panel=mow.panel)
    comments_review(
        comments=CommentReview.objects.filter(pk=comment.pk),
        decision=BlockComment.Review.WITHHELD,
        user=panel_admin,
    )
    comment.refresh_from_db()
    assert comment.review == BlockComment.Review.WITHHELD
    comment_text_set(response=comment.response, block_id=comment.block_id, text="A comment")
    comment.refresh_from_db()
    assert comment.review == BlockComment.Review.WITHHELD  # the same text keeps its decision
    comment_text_set(response=comment.response, block_id=comment.block_id, text="Now with my name")
    comment.refresh_from_db()
    assert comment.review == BlockComment.Review.PENDING
    assert comment.reviewed_by is None and comment.reviewed_at is None


def test_an_unknown_decision_changes_nothing(surveys, panel_admin):  # noqa: F811
    with pytest.raises(ValueError, match="decision"):
        comments_review(comments=BlockComment.objects.all(), decision="maybe", user=panel_admin)
    assert not BlockComment.objects.exclude(review=BlockComment.Review.PENDING).exists()

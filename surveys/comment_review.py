"""Clearing experts' free-text comments for release, one audited decision per comment.

An expert's comment may name them ("as the former deputy minister I…") or a third person.
It reaches researchers (the release bundle, ``aggregation.release``) only after a panel admin
of the expert's panel has read it and cleared it; a withheld comment stays out. The queue
shows a comment's wave, panel, block and text, never its response's pseudonym, so that the
reviewer, who knows the panel's experts, is not shown which ratings go with it. When the
expert changes the text, the decision lapses and the comment waits for review again.
"""

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from surveys.access import panels_scope
from surveys.audit import audit_record
from surveys.models import BlockComment, Response

DECISIONS = (BlockComment.Review.CLEARED, BlockComment.Review.WITHHELD)


def comment_text_set(*, response: Response, block_id: int, text: str) -> None:
    """Save an expert's comment on a block (an empty text deletes it); a changed text goes
    back to the review queue."""
    text = text.strip()
    comments = BlockComment.objects.filter(response=response, block_id=block_id)
    if not text:
        comments.delete()
        return
    comments.exclude(text=text).update(
        text=text, review=BlockComment.Review.PENDING, reviewed_by=None, reviewed_at=None
    )
    BlockComment.objects.get_or_create(
        response=response, block_id=block_id, defaults={"text": text}
    )


@transaction.atomic
def comments_review(*, comments: QuerySet, decision: str, user) -> int:
    """Clear or withhold the comments of ``comments`` that lie in ``user``'s panels; one
    audit row per comment (its id, wave, panel and the decision; never its text).
    Returns how many were decided."""
    if decision not in DECISIONS:
        raise ValueError(f"decision must be one of {', '.join(DECISIONS)}")
    scoped = panels_scope(
        comments.select_for_update(of=("self",)), user=user, panel_field="response__panel"
    )
    now = timezone.now()
    decided = 0
    for comment_id, wave, panel, previous in scoped.values_list(
        "pk", "block__wave__slug", "response__panel__code", "review"
    ):
        BlockComment.objects.filter(pk=comment_id).update(
            review=decision, reviewed_by=user, reviewed_at=now
        )
        audit_record(
            user=user,
            action=f"comment.{'clear' if decision == BlockComment.Review.CLEARED else 'withhold'}",
            detail={
                "comment": comment_id,
                "wave": wave,
                "panel": panel,
                "old": previous,
                "new": decision,
            },
        )
        decided += 1
    return decided

"""Admin for the survey model, and the panel tools inside it, one module per concern.

Lifecycle actions and panel management call services (``surveys.services``,
``surveys.panel_admin``, ``surveys.linkage``, ``surveys.data_changes``), which write the
audit log. Identities (name, e-mail, affiliation) need ``surveys.view_expert_identity``;
every page touching experts, invitations, responses, ratings or comments is scoped to the
panels the user administers (``surveys.access``).
"""

from surveys.admin import (
    audit,
    collected,
    comment_review,
    delphi,
    experts,
    instrument,
    vignettes,
    waves,
)

__all__ = [
    "audit",
    "collected",
    "comment_review",
    "delphi",
    "experts",
    "instrument",
    "vignettes",
    "waves",
]

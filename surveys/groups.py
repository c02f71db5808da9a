"""The user groups and what each may do; kept in sync after every migrate."""

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

RESEARCHERS = "Researchers"
PANEL_ADMINS = "Panel admins"
TRANSLATORS = "Translators"
TRANSLATION_REVIEWERS = "Translation reviewers"

# A panel admin works on the panels that list them (``Panel.admins``): experts, invitations,
# responses. Opening and closing a wave acts on every panel at once, so it is not theirs: it
# needs ``surveys.change_wave``, which a superuser (the study's coordinator) has.

# Translators export and import the instrument's texts and edit them on their owners' pages;
# reviewers mark them reviewed. Texts belong to no panel: these permissions are not scoped.
INSTRUMENT_VIEW = [
    "surveys.view_actor",
    "surveys.view_role",
    "surveys.view_panel",
    "surveys.view_scale",
    "surveys.view_wave",
    "surveys.view_block",
    "surveys.view_item",
    "surveys.view_instrumenttext",
    "surveys.view_vignetteorder",
    "surveys.view_vignetterank",
]

# app_label.codename of each group's permissions
GROUP_PERMISSIONS: dict[str, list[str]] = {
    RESEARCHERS: [
        *INSTRUMENT_VIEW,
        "surveys.view_anonymised_ratings",
        "aggregation.view_aggregationrun",
        "aggregation.view_cellresult",
        "aggregation.view_comparisonresult",
        "aggregation.view_reliabilityresult",
        "aggregation.export_results",
        "aggregation.view_savedcomparison",
        "aggregation.add_savedcomparison",
        "aggregation.change_savedcomparison",
        "aggregation.view_interroleresult",
    ],
    PANEL_ADMINS: [
        *INSTRUMENT_VIEW,
        "surveys.view_expert",
        "surveys.add_expert",
        "surveys.change_expert",
        "surveys.view_expert_identity",
        "surveys.view_invitation",
        "surveys.add_invitation",
        "surveys.change_invitation",
        "surveys.change_response",
        "surveys.import_ratings",
        "surveys.view_auditentry",
        "surveys.view_commentreview",
        "surveys.clear_comment",
        "aggregation.view_aggregationrun",
    ],
    TRANSLATORS: [
        *INSTRUMENT_VIEW,
        "surveys.add_instrumenttext",
        "surveys.change_instrumenttext",
        "surveys.delete_instrumenttext",
    ],
    TRANSLATION_REVIEWERS: [*INSTRUMENT_VIEW, "surveys.review_instrumenttext"],
}


def groups_sync(**kwargs) -> None:
    """Create the groups and give each exactly its permissions (a post_migrate receiver)."""
    for name, labels in GROUP_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        query = Q(pk__in=[])
        for label in labels:
            app_label, codename = label.split(".")
            query |= Q(content_type__app_label=app_label, codename=codename)
        group.permissions.set(Permission.objects.filter(query))

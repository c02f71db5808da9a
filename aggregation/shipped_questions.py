"""The research questions of the study, shipped as saved comparisons.

``research_questions_seed`` creates each one that does not exist yet, with its first
version; it runs after every ``migrate`` (a ``post_migrate`` receiver, so a fresh install
and an emptied database have them) and never touches one that exists: an admin's revision
(a new version) stays. Definitions name the standard panels (MOW, AST, YER, BIS, DYU); a
study whose panels are coded otherwise revises them in the admin.
"""

from django.db import transaction

from aggregation.models import SavedComparison
from aggregation.saved_comparisons import saved_comparison_create

HOME = {"RUS": "MOW", "KAZ": "AST", "ARM": "YER", "KGZ": "BIS", "TJK": "DYU"}
ALLIES = ["ARM", "KAZ", "KGZ", "TJK"]
NAMES = {"ARM": "Armenia", "KAZ": "Kazakhstan", "KGZ": "Kyrgyzstan", "TJK": "Tajikistan"}
GLOBAL_ROLES = ["great_power", "bastion_of_revolution", "defender_of_faith"]


def _side(side, panel, holder, subject, perspective):
    return {
        f"{side}_panel": panel,
        f"{side}_holder": holder,
        f"{side}_subject": subject,
        f"{side}_perspective": perspective,
        f"{side}_estimator": "plain_means",
    }


def research_questions():
    """(slug, name, question, definition) of every shipped comparison, in page order."""
    shipped = []
    for ally in ALLIES:
        shipped.append(
            (
                f"rq-ego-alter-{ally.lower()}",
                f"Russia's ego role against the alter part: {NAMES[ally]}",
                "ego_alter",
                {
                    **_side("left", "MOW", "RUS", "RUS", "conception"),
                    **_side("right", "MOW", ally, "RUS", "expectation"),
                },
            )
        )
    for ally in ALLIES:
        shipped += [
            (
                f"rq-ascribed-conceived-{ally.lower()}",
                f"Ascribed by Russia against self-conceived: {NAMES[ally]}",
                "ascribed",
                {
                    **_side("left", "MOW", "RUS", ally, "expectation"),
                    **_side("right", HOME[ally], ally, ally, "conception"),
                },
            ),
            (
                f"rq-ascribed-enacted-{ally.lower()}",
                f"Ascribed by Russia against enacted, as Moscow sees it: {NAMES[ally]}",
                "ascribed",
                {
                    **_side("left", "MOW", "RUS", ally, "expectation"),
                    **_side("right", "MOW", ally, ally, "performance"),
                },
            ),
        ]
    for ally in ["ARM", "KAZ"]:
        home = HOME[ally]
        shipped.append(
            (
                f"rq-inter-role-expected-{ally.lower()}",
                f"Great power against regional leader, expected of Russia: {NAMES[ally]}",
                "inter_role",
                {
                    "kind": "inter_role",
                    **_side("left", home, ally, "RUS", "expectation"),
                    "role_a": "great_power",
                    "role_b": "regional_leader",
                },
            )
        )
        for role in GLOBAL_ROLES:
            shipped.append(
                (
                    f"rq-inter-role-{role.replace('_', '-')}-{ally.lower()}",
                    f"{role} against regional leader, Russia's performance: {NAMES[ally]}",
                    "inter_role",
                    {
                        "kind": "inter_role",
                        **_side("left", home, "RUS", "RUS", "performance"),
                        "role_a": role,
                        "role_b": "regional_leader",
                    },
                )
            )
    for organisation in ["CSTO", "EAEU"]:
        for ally in ["ARM", "KAZ"]:
            shipped.append(
                (
                    f"rq-organized-{organisation.lower()}-{ally.lower()}",
                    f"Organized other against significant other: {organisation}, {NAMES[ally]}",
                    "organized_other",
                    {
                        **_side("left", "MOW", organisation, "RUS", "expectation"),
                        **_side("right", "MOW", ally, "RUS", "expectation"),
                    },
                )
            )
    return shipped


@transaction.atomic
def research_questions_seed(**kwargs) -> int:
    """Create the shipped comparisons that are missing; returns how many were created."""
    existing = set(SavedComparison.objects.values_list("slug", flat=True))
    created = 0
    for order, (slug, name, question, definition) in enumerate(research_questions()):
        if slug in existing:
            continue
        saved_comparison_create(
            slug=slug, name=name, question=question, order=order, definition=definition
        )
        created += 1
    return created

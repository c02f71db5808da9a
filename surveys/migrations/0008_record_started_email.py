"""Record, for every invitation that already has a response, the address it was started with.

Responses started before ``Invitation.started_email`` existed get the expert's current
address, so that re-issuing their links follows the same rule as new ones.
"""

from django.db import migrations


def record_started_email(apps, schema_editor):
    Invitation = apps.get_model("surveys", "Invitation")
    invitations = list(
        Invitation.objects.filter(response__isnull=False, started_email__isnull=True)
        .select_related("expert")
        .order_by("pk")
    )
    for invitation in invitations:
        invitation.started_email = invitation.expert.email
    Invitation.objects.bulk_update(invitations, ["started_email"], batch_size=500)


def forget_started_email(apps, schema_editor):
    apps.get_model("surveys", "Invitation").objects.update(started_email=None)


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0007_panel_admins_and_reissue_address"),
    ]

    operations = [
        migrations.RunPython(record_started_email, forget_started_email),
    ]

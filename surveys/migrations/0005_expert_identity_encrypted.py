"""Experts' names, e-mails and affiliations encrypted at rest, unique e-mails by blind index.

The columns become ``text`` holding Fernet tokens; existing rows are encrypted under the
newest key of ``IDENTITY_ENCRYPTION_KEYS`` and get the blind index of their e-mail, which then
carries the unique (panel, e-mail) constraint, now case-insensitive. The rows are read and
written with plain SQL: the model's fields would decrypt what is still plaintext. Reversible:
going back decrypts the rows (the keys are needed for that too).
"""

from django.db import migrations, models

import surveys.identity_crypto
from surveys.identity_crypto import blind_index, decrypt, encrypt


def _table(apps, schema_editor) -> str:
    expert = apps.get_model("surveys", "Expert")
    return schema_editor.connection.ops.quote_name(expert._meta.db_table)


def row_encrypt(name: str, email: str, affiliation: str) -> tuple[str, str, str, str]:
    """A plaintext row's ``(name, email, affiliation, email_blind_index)`` as stored now."""
    return encrypt(name), encrypt(email), encrypt(affiliation), blind_index(email)


def experts_encrypt(apps, schema_editor) -> None:
    """Encrypt every expert's identity and fill the blind index.

    Fails, naming expert ids only, if two experts of a panel have the same e-mail apart from
    letter case: the new constraint would reject them, so merge or correct one first.
    """
    table = _table(apps, schema_editor)
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"SELECT id, panel_id, name, email, affiliation FROM {table}")
        rows = cursor.fetchall()
        updates, first_of = [], {}
        for pk, panel_id, name, email, affiliation in rows:
            stored = row_encrypt(name, email, affiliation)
            earlier = first_of.setdefault((panel_id, stored[3]), pk)
            if earlier != pk:
                raise ValueError(
                    f"Experts #{earlier} and #{pk} of one panel have the same e-mail apart from "
                    "letter case; correct or remove one of them, then migrate again."
                )
            updates.append((*stored, pk))
        cursor.executemany(
            f"UPDATE {table} SET name = %s, email = %s, affiliation = %s, "
            "email_blind_index = %s WHERE id = %s",
            updates,
        )


def experts_decrypt(apps, schema_editor) -> None:
    """Back to plaintext columns (the reverse of ``experts_encrypt``)."""
    table = _table(apps, schema_editor)
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"SELECT id, name, email, affiliation FROM {table}")
        updates = [
            (decrypt(name), decrypt(email), decrypt(affiliation), pk)
            for pk, name, email, affiliation in cursor.fetchall()
        ]
        cursor.executemany(
            f"UPDATE {table} SET name = %s, email = %s, affiliation = %s WHERE id = %s",
            updates,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0004_audit_log_and_data_permissions"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="expert",
            name="expert_email_unique_in_panel",
        ),
        migrations.AddField(
            model_name="expert",
            name="email_blind_index",
            field=surveys.identity_crypto.BlindIndexField(
                default="", max_length=64, source="email"
            ),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="expert",
            name="name",
            field=surveys.identity_crypto.EncryptedCharField(max_length=200),
        ),
        migrations.AlterField(
            model_name="expert",
            name="email",
            field=surveys.identity_crypto.EncryptedEmailField(max_length=254),
        ),
        migrations.AlterField(
            model_name="expert",
            name="affiliation",
            field=surveys.identity_crypto.EncryptedCharField(blank=True, max_length=300),
        ),
        migrations.RunPython(experts_encrypt, experts_decrypt),
        migrations.AddConstraint(
            model_name="expert",
            constraint=models.UniqueConstraint(
                fields=("panel", "email_blind_index"),
                name="expert_email_index_unique_in_panel",
                violation_error_code="unique",
                violation_error_message="An expert with this e-mail is already on this panel.",
            ),
        ),
    ]

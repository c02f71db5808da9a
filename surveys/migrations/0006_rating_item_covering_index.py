"""Replace the plain index on rating.item by a covering index (item) INCLUDE (response, value).

The paired comparisons read (item, response, value) from it without visiting the table
(PostgreSQL; elsewhere INCLUDE is ignored and it is a plain index on item). Done without
altering the column: on SQLite an AlterField rebuilds the table, which would drop the
rating-scale triggers of migration 0002.
"""

import django.db.models.deletion
from django.db import migrations, models

COVERING = models.Index(fields=["item"], include=("response", "value"), name="rating_item_covering")


def _item_indexes(schema_editor) -> list[str]:
    """Names of the single-column, non-unique indexes on surveys_rating.item_id."""
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "surveys_rating")
    return [
        name
        for name, info in constraints.items()
        if info["index"]
        and not info["unique"]
        and not info["primary_key"]
        and info["columns"] == ["item_id"]
        and name != COVERING.name
    ]


def drop_plain_item_index(apps, schema_editor):
    for name in _item_indexes(schema_editor):
        schema_editor.execute(
            schema_editor._delete_index_sql(apps.get_model("surveys", "Rating"), name)
        )


def create_plain_item_index(apps, schema_editor):
    rating = apps.get_model("surveys", "Rating")
    schema_editor.execute(
        schema_editor._create_index_sql(rating, fields=[rating._meta.get_field("item")])
    )


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0005_expert_identity_encrypted"),
    ]

    operations = [
        migrations.AddIndex(model_name="rating", index=COVERING),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="rating",
                    name="item",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="ratings",
                        to="surveys.item",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunPython(drop_plain_item_index, create_plain_item_index),
            ],
        ),
    ]

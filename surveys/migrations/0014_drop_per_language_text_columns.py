"""Drop the per-language text columns: their texts are ``InstrumentText`` rows now
(``0013_instrument_texts_from_columns``).

Going back, the columns return empty (then ``0012`` fills them): the required ones are
given an empty default in the migration state first (``_empty_default``). On SQLite,
putting a column back into ``surveys_block`` or ``surveys_scale`` rebuilds the table, which
the rating-scale trigger of ``0002`` names: the trigger is dropped before and created again
after.
"""

import importlib

from django.db import migrations, models

SCALE_TRIGGER = importlib.import_module("surveys.migrations.0002_rating_value_in_item_scale")


def _on_sqlite(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "sqlite":
            for statement in statements:
                schema_editor.execute(statement)

    return run


def _empty_default(model: str, name: str, field: models.Field):
    """In the state only: ``field`` with the default "", so that re-adding it fills rows."""
    return migrations.SeparateDatabaseAndState(
        state_operations=[migrations.AlterField(model_name=model, name=name, field=field)]
    )


REQUIRED_TEXT_COLUMNS = [
    (
        "actor",
        "name_en",
        models.CharField(max_length=100, default="", verbose_name="name (English)"),
    ),
    (
        "actor",
        "name_ru",
        models.CharField(max_length=100, default="", verbose_name="name (Russian)"),
    ),
    (
        "role",
        "name_en",
        models.CharField(max_length=120, default="", verbose_name="name (English)"),
    ),
    (
        "role",
        "name_ru",
        models.CharField(max_length=120, default="", verbose_name="name (Russian)"),
    ),
    ("role", "definition_en", models.TextField(default="", verbose_name="definition (English)")),
    ("role", "definition_ru", models.TextField(default="", verbose_name="definition (Russian)")),
    (
        "panel",
        "city_en",
        models.CharField(max_length=100, default="", verbose_name="city (English)"),
    ),
    (
        "panel",
        "city_ru",
        models.CharField(max_length=100, default="", verbose_name="city (Russian)"),
    ),
]


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0013_instrument_texts_from_columns"),
    ]

    operations = [
        *(_empty_default(*column) for column in REQUIRED_TEXT_COLUMNS),
        migrations.RemoveField(model_name="actor", name="name_en"),
        migrations.RemoveField(model_name="actor", name="name_ru"),
        migrations.RemoveField(model_name="actor", name="names"),
        migrations.RemoveField(model_name="panel", name="city_en"),
        migrations.RemoveField(model_name="panel", name="city_ru"),
        migrations.RemoveField(model_name="role", name="definition_en"),
        migrations.RemoveField(model_name="role", name="definition_ru"),
        migrations.RemoveField(model_name="role", name="name_en"),
        migrations.RemoveField(model_name="role", name="name_ru"),
        migrations.RemoveField(model_name="role", name="translations"),
        migrations.RunPython(migrations.RunPython.noop, _on_sqlite(SCALE_TRIGGER.SQLITE_CREATE)),
        migrations.RemoveField(model_name="block", name="prompt_en"),
        migrations.RemoveField(model_name="block", name="prompt_ru"),
        migrations.RemoveField(model_name="scale", name="high_label_en"),
        migrations.RemoveField(model_name="scale", name="high_label_ru"),
        migrations.RemoveField(model_name="scale", name="low_label_en"),
        migrations.RemoveField(model_name="scale", name="low_label_ru"),
        migrations.RunPython(migrations.RunPython.noop, _on_sqlite(SCALE_TRIGGER.SQLITE_DROP)),
    ]

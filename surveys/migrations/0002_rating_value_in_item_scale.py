"""A database trigger that keeps every rating value inside its item's scale.

A CHECK constraint cannot look at another table, so the exact bounds (the block's scale) are
enforced by a trigger on insert and update, written for SQLite and PostgreSQL.
"""

from django.db import migrations

SCALE_VIOLATION = "rating value outside the item scale"

SQLITE_CREATE = [
    f"""
    CREATE TRIGGER rating_value_in_item_scale_{event.lower()}
    BEFORE {event} ON surveys_rating
    WHEN NEW.value IS NOT NULL AND EXISTS (
        SELECT 1 FROM surveys_item i
        JOIN surveys_block b ON b.id = i.block_id
        JOIN surveys_scale s ON s.id = b.scale_id
        WHERE i.id = NEW.item_id AND (NEW.value < s.min_value OR NEW.value > s.max_value)
    )
    BEGIN SELECT RAISE(ABORT, '{SCALE_VIOLATION}'); END;
    """
    for event in ("INSERT", "UPDATE")
]
SQLITE_DROP = [
    f"DROP TRIGGER IF EXISTS rating_value_in_item_scale_{event};" for event in ("insert", "update")
]

POSTGRES_CREATE = [
    f"""
    CREATE FUNCTION rating_value_in_item_scale() RETURNS trigger AS $$
    BEGIN
        IF NEW.value IS NOT NULL AND EXISTS (
            SELECT 1 FROM surveys_item i
            JOIN surveys_block b ON b.id = i.block_id
            JOIN surveys_scale s ON s.id = b.scale_id
            WHERE i.id = NEW.item_id AND (NEW.value < s.min_value OR NEW.value > s.max_value)
        ) THEN
            RAISE EXCEPTION '{SCALE_VIOLATION}' USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END;
    $$ LANGUAGE plpgsql;
    """,
    """
    CREATE TRIGGER rating_value_in_item_scale
    BEFORE INSERT OR UPDATE ON surveys_rating
    FOR EACH ROW EXECUTE FUNCTION rating_value_in_item_scale();
    """,
]
POSTGRES_DROP = [
    "DROP TRIGGER IF EXISTS rating_value_in_item_scale ON surveys_rating;",
    "DROP FUNCTION IF EXISTS rating_value_in_item_scale();",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("surveys", "0001_initial_survey_model")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_CREATE, "postgresql": POSTGRES_CREATE}),
            _run({"sqlite": SQLITE_DROP, "postgresql": POSTGRES_DROP}),
        ),
    ]

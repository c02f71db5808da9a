"""Move the instrument's texts from their per-language columns into ``InstrumentText`` rows.

English and Russian had columns of their own (``name_en``, ``city_ru``, ``prompt_en``, …):
those texts were the maintained ones and become *reviewed* (reviewer unknown: they were
reviewed before texts had a status). Other languages were JSON (``Actor.names``,
``Role.translations``) and become *drafts*. A wave's title, one text for every language until
now, becomes its title in each language it is fielded in (English and Russian), as a draft.

Reversible: the columns (put back empty by reversing ``0013``) are filled from the rows.
"""

from django.db import migrations
from django.utils import timezone

SOURCE_LANGUAGES = ("en", "ru")


class _Rows:
    """The ``InstrumentText`` rows to create, with the status their origin gives them."""

    def __init__(self, apps):
        self.model = apps.get_model("surveys", "InstrumentText")
        self.now = timezone.now()
        self.rows = []

    def add(self, owner: str, obj, field: str, language: str, text, *, reviewed: bool) -> None:
        text = (text or "").strip()
        if not text or not language:
            return
        self.rows.append(
            self.model(
                **{owner: obj},
                field=field,
                language=language,
                text=text,
                status="reviewed" if reviewed else "draft",
                reviewed_at=self.now if reviewed else None,
            )
        )

    def columns(self, owner: str, obj, field: str, column: str) -> None:
        """``<column>_en`` and ``<column>_ru`` as reviewed texts of ``field``."""
        for language in SOURCE_LANGUAGES:
            self.add(
                owner, obj, field, language, getattr(obj, f"{column}_{language}"), reviewed=True
            )


def columns_to_texts(apps, schema_editor):
    rows = _Rows(apps)
    for actor in apps.get_model("surveys", "Actor").objects.all():
        rows.columns("actor", actor, "name", "name")
        for language, name in (actor.names or {}).items():
            if language not in SOURCE_LANGUAGES:
                rows.add("actor", actor, "name", language, name, reviewed=False)
    for role in apps.get_model("surveys", "Role").objects.all():
        rows.columns("role", role, "name", "name")
        rows.columns("role", role, "definition", "definition")
        for language, texts in (role.translations or {}).items():
            if language not in SOURCE_LANGUAGES:
                for field in ("name", "definition"):
                    rows.add("role", role, field, language, texts.get(field), reviewed=False)
    for panel in apps.get_model("surveys", "Panel").objects.all():
        rows.columns("panel", panel, "city", "city")
    for scale in apps.get_model("surveys", "Scale").objects.all():
        rows.columns("scale", scale, "low_label", "low_label")
        rows.columns("scale", scale, "high_label", "high_label")
    for block in apps.get_model("surveys", "Block").objects.all():
        rows.columns("block", block, "prompt", "prompt")
    for wave in apps.get_model("surveys", "Wave").objects.all():
        for language in wave.languages.split(","):
            rows.add("wave", wave, "title", language, wave.title, reviewed=False)
    rows.model.objects.bulk_create(rows.rows, batch_size=500)


def _texts(Text, owner: str, obj, field: str) -> dict[str, str]:
    return dict(Text.objects.filter(**{owner: obj}, field=field).values_list("language", "text"))


def texts_to_columns(apps, schema_editor):
    Text = apps.get_model("surveys", "InstrumentText")
    for actor in apps.get_model("surveys", "Actor").objects.all():
        names = _texts(Text, "actor", actor, "name")
        actor.name_en, actor.name_ru = names.pop("en", ""), names.pop("ru", "")
        actor.names = names
        actor.save(update_fields=["name_en", "name_ru", "names"])
    for role in apps.get_model("surveys", "Role").objects.all():
        names = _texts(Text, "role", role, "name")
        definitions = _texts(Text, "role", role, "definition")
        role.name_en, role.name_ru = names.pop("en", ""), names.pop("ru", "")
        role.definition_en = definitions.pop("en", "")
        role.definition_ru = definitions.pop("ru", "")
        role.translations = {
            language: {"name": names.get(language, ""), "definition": definitions.get(language, "")}
            for language in sorted(set(names) | set(definitions))
        }
        role.save(
            update_fields=["name_en", "name_ru", "definition_en", "definition_ru", "translations"]
        )
    for panel in apps.get_model("surveys", "Panel").objects.all():
        cities = _texts(Text, "panel", panel, "city")
        panel.city_en, panel.city_ru = cities.get("en", ""), cities.get("ru", "")
        panel.save(update_fields=["city_en", "city_ru"])
    for scale in apps.get_model("surveys", "Scale").objects.all():
        for field in ("low_label", "high_label"):
            labels = _texts(Text, "scale", scale, field)
            for language in SOURCE_LANGUAGES:
                setattr(scale, f"{field}_{language}", labels.get(language, ""))
        scale.save()
    for block in apps.get_model("surveys", "Block").objects.all():
        prompts = _texts(Text, "block", block, "prompt")
        block.prompt_en, block.prompt_ru = prompts.get("en", ""), prompts.get("ru", "")
        block.save(update_fields=["prompt_en", "prompt_ru"])


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0012_instrument_texts_and_wave_languages"),
    ]

    operations = [migrations.RunPython(columns_to_texts, texts_to_columns)]

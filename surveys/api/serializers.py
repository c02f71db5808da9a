"""Serializers of the instrument: actors, roles, panels, waves with their blocks, items.

Nothing here touches experts, invitations or responses: the instrument is the same for
every expert, and the API never names one.
"""

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from project.uploads import upload_limit_text, upload_size_validator
from surveys.imports import IMPORT_COLUMNS
from surveys.models import Actor, Block, DelphiRound, Item, Panel, Role, Scale, Wave

# The texts of an object are ``InstrumentText`` rows (querysets prefetch ``texts``). English
# and Russian are fields of their own, as they always were; the other languages are in an
# object keyed by language.
OTHER_LANGUAGES = [code for code, _name in settings.LANGUAGES if code not in ("en", "ru")]


class TextField(serializers.CharField):
    """One text of the object in one language; empty when it is missing."""

    def __init__(self, field: str, language: str, **kwargs):
        self.text_field, self.language = field, language
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, value) -> str:
        return value.text_map(self.text_field).get(self.language, "")


@extend_schema_field({"type": "object", "additionalProperties": {"type": "string"}})
class OtherLanguagesField(serializers.Field):
    """``{language: text}`` of one field in the languages other than English and Russian."""

    def __init__(self, field: str, **kwargs):
        self.text_field = field
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, value) -> dict[str, str]:
        texts = value.text_map(self.text_field)
        return {code: texts[code] for code in OTHER_LANGUAGES if code in texts}


@extend_schema_field({"type": "object", "additionalProperties": {"type": "string"}})
class AllLanguagesField(serializers.Field):
    """``{language: text}`` of one field in every language it has."""

    def __init__(self, field: str, **kwargs):
        self.text_field = field
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, value) -> dict[str, str]:
        return value.text_map(self.text_field)


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {"type": "object", "additionalProperties": {"type": "string"}},
    }
)
class RoleTranslationsField(serializers.Field):
    """A role's name and definition in the other languages: ``{"kk": {"name": ...}}``."""

    def __init__(self, **kwargs):
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, value) -> dict[str, dict[str, str]]:
        texts = value.texts_by_language()
        return {code: texts[code] for code in OTHER_LANGUAGES if code in texts}


class ActorSerializer(serializers.ModelSerializer):
    name_en = TextField("name", "en")
    name_ru = TextField("name", "ru")
    names = OtherLanguagesField("name", help_text='Other languages as {"kk": "...", ...}.')

    class Meta:
        model = Actor
        fields = ["code", "kind", "name_en", "name_ru", "names", "order"]


class RoleSerializer(serializers.ModelSerializer):
    name_en = TextField("name", "en")
    name_ru = TextField("name", "ru")
    definition_en = TextField("definition", "en")
    definition_ru = TextField("definition", "ru")
    translations = RoleTranslationsField(
        help_text='Other languages as {"kk": {"name": "...", "definition": "..."}}.'
    )

    class Meta:
        model = Role
        fields = [
            "code",
            "name_en",
            "name_ru",
            "definition_en",
            "definition_ru",
            "translations",
            "source",
            "order",
            "is_active",
        ]


class PanelSerializer(serializers.ModelSerializer):
    actor = serializers.SlugRelatedField(slug_field="code", read_only=True)
    city_en = TextField("city", "en")
    city_ru = TextField("city", "ru")
    cities = OtherLanguagesField("city", help_text='Other languages as {"kk": "...", ...}.')

    class Meta:
        model = Panel
        fields = ["code", "city_en", "city_ru", "cities", "actor"]


class ScaleSerializer(serializers.ModelSerializer):
    low_label_en = TextField("low_label", "en")
    low_label_ru = TextField("low_label", "ru")
    high_label_en = TextField("high_label", "en")
    high_label_ru = TextField("high_label", "ru")
    low_labels = OtherLanguagesField("low_label", help_text="Other languages.")
    high_labels = OtherLanguagesField("high_label", help_text="Other languages.")

    class Meta:
        model = Scale
        fields = [
            "name",
            "min_value",
            "max_value",
            "low_label_en",
            "low_label_ru",
            "high_label_en",
            "high_label_ru",
            "low_labels",
            "high_labels",
        ]


class BlockItemSerializer(serializers.ModelSerializer):
    role = serializers.SlugRelatedField(slug_field="code", read_only=True)
    role_texts = serializers.SerializerMethodField(
        help_text='Role names and definitions as fielded: {"en": {"name": ..., "definition": ...}}.'
    )

    class Meta:
        model = Item
        fields = ["code", "role", "order", "role_texts"]

    def get_role_texts(self, item: Item) -> dict[str, dict[str, str]]:
        return item.role_texts()


class BlockSerializer(serializers.ModelSerializer):
    holder = serializers.SlugRelatedField(slug_field="code", read_only=True)
    subject = serializers.SlugRelatedField(slug_field="code", read_only=True)
    scale = ScaleSerializer(read_only=True)
    panels = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    items = BlockItemSerializer(many=True, read_only=True)
    prompt_en = TextField("prompt", "en", help_text="Empty: the standard prompt.")
    prompt_ru = TextField("prompt", "ru")
    prompts = OtherLanguagesField("prompt", help_text="Other languages.")
    titles = OtherLanguagesField(
        "title", help_text="The block's own title in every language; empty: the standard one."
    )

    class Meta:
        model = Block
        fields = [
            "order",
            "holder",
            "subject",
            "perspective",
            "scale",
            "panels",
            "prompt_en",
            "prompt_ru",
            "prompts",
            "titles",
            "items",
        ]


class WaveSerializer(serializers.ModelSerializer):
    languages = serializers.ListField(
        source="language_codes",
        child=serializers.CharField(),
        read_only=True,
        help_text="The languages the wave is fielded in.",
    )
    delphi_study = serializers.SerializerMethodField(
        help_text="Id of the Delphi study the wave is a round of; null for an ordinary wave."
    )
    delphi_round = serializers.SerializerMethodField(
        help_text="The wave's round in its Delphi study (1 = the primary data); null otherwise."
    )

    class Meta:
        model = Wave
        fields = [
            "slug",
            "title",
            "languages",
            "status",
            "opens_at",
            "closes_at",
            "is_synthetic",
            "delphi_study",
            "delphi_round",
        ]

    @staticmethod
    def _round(wave: Wave):
        try:
            return wave.delphi_round
        except DelphiRound.DoesNotExist:
            return None

    def get_delphi_study(self, wave: Wave) -> int | None:
        round_ = self._round(wave)
        return round_.study_id if round_ else None

    def get_delphi_round(self, wave: Wave) -> int | None:
        round_ = self._round(wave)
        return round_.number if round_ else None


class WaveInstrumentSerializer(WaveSerializer):
    titles = AllLanguagesField("title", help_text="The title experts read, per language.")
    landing = AllLanguagesField("landing", help_text="The landing page's text, per language.")
    instrument = BlockSerializer(source="blocks", many=True, read_only=True)

    class Meta(WaveSerializer.Meta):
        fields = [*WaveSerializer.Meta.fields, "titles", "landing", "instrument"]


class ItemCodebookSerializer(serializers.ModelSerializer):
    """One row of the item codebook: an item and the cube coordinates it stands for."""

    wave = serializers.SlugRelatedField(source="block.wave", slug_field="slug", read_only=True)
    block = serializers.IntegerField(source="block.order", read_only=True)
    holder = serializers.SlugRelatedField(source="block.holder", slug_field="code", read_only=True)
    subject = serializers.SlugRelatedField(
        source="block.subject", slug_field="code", read_only=True
    )
    perspective = serializers.CharField(source="block.perspective", read_only=True)
    role = serializers.SlugRelatedField(slug_field="code", read_only=True)
    panels = serializers.SlugRelatedField(
        source="block.panels", slug_field="code", many=True, read_only=True
    )
    scale_min = serializers.IntegerField(source="block.scale.min_value", read_only=True)
    scale_max = serializers.IntegerField(source="block.scale.max_value", read_only=True)
    role_texts = serializers.SerializerMethodField(
        help_text='Role names and definitions as fielded: {"en": {"name": ..., "definition": ...}}.'
    )

    class Meta:
        model = Item
        fields = [
            "wave",
            "code",
            "block",
            "order",
            "holder",
            "subject",
            "perspective",
            "role",
            "panels",
            "scale_min",
            "scale_max",
            "role_texts",
        ]

    def get_role_texts(self, item: Item) -> dict[str, dict[str, str]]:
        return item.role_texts()


class RatingsImportSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text=f"UTF-8 CSV with exactly the columns {', '.join(IMPORT_COLUMNS)}; at most "
        f"{upload_limit_text(settings.UPLOAD_MAX_BYTES)} (UPLOAD_MAX_BYTES).",
        validators=[upload_size_validator],
    )
    dry_run = serializers.BooleanField(
        default=False, help_text="Check the file only; store nothing."
    )


class ImportErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField(help_text="Line of the file; the header is line 1.")
    column = serializers.CharField(allow_blank=True)
    reason = serializers.CharField()


class ImportReportSerializer(serializers.Serializer):
    wave = serializers.CharField()
    ok = serializers.BooleanField()
    dry_run = serializers.BooleanField()
    rows = serializers.IntegerField()
    responses_created = serializers.IntegerField()
    ratings_created = serializers.IntegerField()
    errors = ImportErrorSerializer(many=True)


class IssuedTokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Shown once: only its digest is stored.")
    expiry = serializers.DateTimeField(help_text="The token stops working at this time.")

"""factory_boy factories for the survey model, and a small open wave with a working link.

Actors, roles and the 0–10 scale come from the reference-data migration, so their factories
get or create by code; their texts (``name_en=…`` and the like) are written as
``InstrumentText`` rows. ``InvitationFactory`` stores only a token's hash, like the service;
the token itself is on the built object as ``invitation.token``. ``survey_open`` builds a
ready questionnaire through the services, as an admin would, and returns its link's token.
"""

import importlib
from dataclasses import dataclass

import factory
from django.conf import settings
from django.utils import timezone

from surveys import demo_texts, services
from surveys.models import (
    TEXT_FIELDS,
    Actor,
    Block,
    BlockComment,
    Expert,
    Invitation,
    Item,
    Panel,
    Perspective,
    Rating,
    Response,
    Role,
    Scale,
    Wave,
)
from surveys.texts.checks import placeholders
from surveys.texts.keys import wave_text_slots
from surveys.texts.selectors import slot_texts, slots_in_use
from surveys.texts.services import text_set, texts_set

REFERENCE_DATA = importlib.import_module("surveys.migrations.0003_typology_actors_default_scale")
DEFAULT_SCALE_LABELS = {
    "low_label": {"en": "not at all", "ru": "совсем нет"},
    "high_label": {"en": "fully", "ru": "полностью"},
}


def reference_data_restore() -> None:
    """The typology, actors and default scale of migration 0003 with their English and
    Russian texts (migration 0012 moved them into texts), for tests that emptied the tables."""
    for order, (code, name_en, name_ru, def_en, def_ru, source) in enumerate(
        REFERENCE_DATA.ROLES, start=1
    ):
        role, _ = Role.objects.update_or_create(
            code=code, defaults={"source": source, "order": order}
        )
        texts_set(
            owner=role,
            texts={
                "name": {"en": name_en, "ru": name_ru},
                "definition": {"en": def_en, "ru": def_ru},
            },
            reviewed=True,
        )
    for order, (code, kind, name_en, name_ru) in enumerate(REFERENCE_DATA.ACTORS, start=1):
        actor, _ = Actor.objects.update_or_create(
            code=code, defaults={"kind": kind, "order": order}
        )
        texts_set(owner=actor, texts={"name": {"en": name_en, "ru": name_ru}}, reviewed=True)
    scale, _ = Scale.objects.get_or_create(
        name=services.DEFAULT_SCALE_NAME, defaults={"min_value": 0, "max_value": 10}
    )
    texts_set(owner=scale, texts=DEFAULT_SCALE_LABELS, reviewed=True)


# A word in each language's script, for texts that have no translation at hand.
FILLER_WORDS = {
    "en": "Text",
    "ru": "Текст",
    "kk": "Мәтін",
    "hy": "Տեքստ",
    "ky": "Текст",
    "tg": "Матн",
}


def _known_translation(slot, language: str) -> str:
    """The demo's translation of a reference text or a demo panel's city, if it has one."""
    owner, key = slot.owner, slot.key.split(".")[1]
    if owner == "panel":
        return demo_texts.CITY_NAMES.get(key, {}).get(language, "")
    if owner == "role" and key in demo_texts.ROLE_TEXTS:
        texts = demo_texts.ROLE_TEXTS[key].get(language)
        return texts[0 if slot.field == "name" else 1] if texts else ""
    if owner == "actor" and key in demo_texts.VIGNETTE_TEXTS:
        return demo_texts.VIGNETTE_TEXTS[key][slot.field].get(language, "")
    if owner == "actor" and slot.field == "name":
        return demo_texts.ACTOR_NAMES.get(key, {}).get(language, "")
    if owner == "scale":
        return demo_texts.SCALE_LABELS.get(slot.field, {}).get(language, "")
    return ""


def instrument_texts_fill(wave: Wave, languages=None) -> None:
    """Give every text the wave's instrument needs in ``languages`` (its own by default) that
    is missing: the demo's translation where there is one, else a word in the language's
    script and a number (``Мәтін №3``), with the source text's placeholders."""
    slots = wave_text_slots(wave=wave)
    texts = slot_texts(slots)
    owners = {}
    for number, slot in enumerate(slots_in_use(slots, texts), start=1):
        stored = texts.get(slot.key, {})
        source = next(iter(stored.values())).text if stored else ""
        kept = " ".join(sorted(placeholders(source).elements()))
        for language in languages or wave.language_codes:
            if language in stored:
                continue
            model = {"wave": Wave, "block": Block, "actor": Actor, "role": Role,
                     "panel": Panel, "scale": Scale}[slot.owner]  # fmt: skip
            owner = owners.setdefault(
                (slot.owner, slot.owner_id), model.objects.get(pk=slot.owner_id)
            )
            filler = f"{FILLER_WORDS[language]} №{number} {kept}"
            text = _known_translation(slot, language) or filler
            text_set(owner=owner, field=slot.field, language=language, text=text)


def _letters(number: int) -> str:
    """0 → "AAAA", 1 → "AAAB", …: upper-case codes for the ``^[A-Z]{2,8}$`` constraint."""
    letters = ""
    for _position in range(4):
        number, rest = divmod(number, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


class TextsFactory(factory.django.DjangoModelFactory):
    """A factory whose declarations ``<field>_<language>`` (``name_en``) are the object's
    texts, written as ``InstrumentText`` rows once it is created."""

    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        fields = TEXT_FIELDS[model_class._meta.model_name]
        texts: dict[str, dict[str, str]] = {}
        for name in list(kwargs):
            field, _sep, language = name.rpartition("_")
            if field in fields:
                texts.setdefault(field, {})[language] = kwargs.pop(name)
        obj = super()._create(model_class, *args, **kwargs)
        texts_set(owner=obj, texts=texts)
        return obj


class ActorFactory(TextsFactory):
    class Meta:
        model = Actor
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: "X" + _letters(n))
    kind = Actor.Kind.STATE
    name_en = factory.LazyAttribute(lambda actor: f"Actor {actor.code}")
    name_ru = factory.LazyAttribute(lambda actor: f"Актор {actor.code}")


class RoleFactory(TextsFactory):
    class Meta:
        model = Role
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"test_role_{n}")
    name_en = factory.LazyAttribute(lambda role: role.code.replace("_", " ").capitalize())
    name_ru = factory.LazyAttribute(lambda role: f"Роль {role.code}")
    definition_en = "A role made up for a test."
    definition_ru = "Роль, придуманная для теста."


class ScaleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Scale
        django_get_or_create = ("name",)

    name = services.DEFAULT_SCALE_NAME
    min_value = 0
    max_value = 10


class PanelFactory(TextsFactory):
    class Meta:
        model = Panel
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"P{n:05d}")
    city_en = factory.LazyAttribute(lambda panel: f"City {panel.code}")
    city_ru = factory.LazyAttribute(lambda panel: f"Город {panel.code}")
    actor = factory.LazyFunction(lambda: Actor.objects.get(code="ARM"))


class WaveFactory(factory.django.DjangoModelFactory):
    """A wave whose title experts read is its ``title`` in each of its languages."""

    class Meta:
        model = Wave
        skip_postgeneration_save = True

    slug = factory.Sequence(lambda n: f"wave-{n}")
    title = factory.LazyAttribute(lambda wave: f"Test wave {wave.slug}")
    status = Wave.Status.DRAFT

    @factory.post_generation
    def title_texts(self, create, extracted, **kwargs):
        if create:
            texts_set(owner=self, texts={"title": dict.fromkeys(self.language_codes, self.title)})


class BlockFactory(factory.django.DjangoModelFactory):
    """A block written directly (any wave status); ``block_create`` is for draft waves."""

    class Meta:
        model = Block
        skip_postgeneration_save = True

    wave = factory.SubFactory(WaveFactory)
    order = factory.Sequence(lambda n: n + 1)
    holder = factory.LazyFunction(lambda: Actor.objects.get(code="ARM"))
    subject = factory.SelfAttribute("holder")
    perspective = Perspective.CONCEPTION
    scale = factory.SubFactory(ScaleFactory)

    @factory.post_generation
    def panels(self, create, extracted, **kwargs):
        if create and extracted:
            self.panels.set(extracted)


class ItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Item

    block = factory.SubFactory(BlockFactory)
    role = factory.SubFactory(RoleFactory)
    order = factory.Sequence(lambda n: n + 1)
    code = factory.LazyAttribute(
        lambda item: services.item_code(
            perspective=item.block.perspective,
            holder=item.block.holder,
            subject=item.block.subject,
            role=item.role,
        )
    )


class ExpertFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Expert

    panel = factory.SubFactory(PanelFactory)
    name = factory.Sequence(lambda n: f"Test Expert {n}")
    email = factory.Sequence(lambda n: f"expert{n}@example.org")
    language = "ru"


class InvitationFactory(factory.django.DjangoModelFactory):
    """An invitation whose link works once its wave is open; the token is ``.token``."""

    class Meta:
        model = Invitation

    expert = factory.SubFactory(ExpertFactory)
    wave = factory.SubFactory(WaveFactory)
    language = factory.SelfAttribute("expert.language")
    token_hash = None

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        # Only the hash is stored, as by the service; the token is handed back on the object.
        token = None
        if kwargs.get("token_hash") is None:
            token, kwargs["token_hash"] = services.token_new()
        invitation = super()._create(model_class, *args, **kwargs)
        invitation.token = token
        return invitation


class ResponseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Response

    wave = factory.SubFactory(WaveFactory)
    panel = factory.SubFactory(PanelFactory)
    invitation = None
    pseudonym = factory.LazyFunction(services.pseudonym_new)
    status = Response.Status.DRAFT
    consented_at = factory.LazyFunction(timezone.now)
    submitted_at = factory.LazyAttribute(
        lambda response: timezone.now() if response.status == Response.Status.SUBMITTED else None
    )


class RatingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Rating

    response = factory.SubFactory(ResponseFactory)
    item = factory.SubFactory(ItemFactory)
    value = 5
    cannot_judge = False
    confidence = None


class BlockCommentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BlockComment

    response = factory.SubFactory(ResponseFactory)
    block = factory.SubFactory(BlockFactory)
    text = "A comment."


# A small open wave ---------------------------------------------------------------------------


@dataclass
class OpenSurvey:
    """An open wave, the expert's panel and blocks, and a working link."""

    wave: Wave
    panel: Panel
    blocks: list[Block]
    expert: Expert
    invitation: Invitation
    token: str

    @property
    def url(self) -> str:
        return f"/s/{self.token}/"

    def items(self, block_index: int) -> list[Item]:
        return list(self.blocks[block_index].items.order_by("order"))


DEFAULT_BLOCKS = [
    # holder, subject, perspective, roles
    ("RUS", "ARM", Perspective.EXPECTATION, ["protectee", "faithful_ally", "independent"]),
    ("ARM", "ARM", Perspective.CONCEPTION, ["independent", "protectee", "bridge"]),
    ("ARM", "ARM", Perspective.PERFORMANCE, ["independent", "protectee"]),
]


def survey_open(
    *,
    blocks: list[tuple[str, str, str, list[str]]] | None = None,
    language: str = "ru",
    panel: Panel | None = None,
    other_panel_block: bool = True,
    slug: str | None = None,
    languages: tuple[str, ...] | None = None,
) -> OpenSurvey:
    """Build and open a wave of 2–3 blocks for one panel and invite one expert to it.

    With ``other_panel_block`` the wave also has a block that only another panel answers
    (it must never show up in, or be accepted from, this expert's questionnaire). The wave
    is fielded in English, Russian and ``language`` (or ``languages``), with every text
    given (``instrument_texts_fill``).
    """
    actors = {actor.code: actor for actor in Actor.objects.all()}
    roles = {role.code: role for role in Role.objects.all()}
    panel = panel or PanelFactory()
    chosen = {"en", "ru", language, *(languages or ())}
    fielded = ",".join(code for code, _name in settings.LANGUAGES if code in chosen)
    wave = WaveFactory(slug=slug, languages=fielded) if slug else WaveFactory(languages=fielded)
    created = []
    for holder, subject, perspective, role_codes in blocks or DEFAULT_BLOCKS:
        created.append(
            services.block_create(
                wave=wave,
                holder=actors[holder],
                subject=actors[subject],
                perspective=perspective,
                roles=[roles[code] for code in role_codes],
                panels=[panel],
            )
        )
    if other_panel_block:
        services.block_create(
            wave=wave,
            holder=actors["KAZ"],
            subject=actors["KAZ"],
            perspective=Perspective.CONCEPTION,
            roles=[roles["active_independent"], roles["mediator_integrator"]],
            panels=[PanelFactory(actor=actors["KAZ"])],
        )
    instrument_texts_fill(wave)
    wave = services.wave_open(wave=wave)
    expert = ExpertFactory(panel=panel, language=language)
    invitation, token = services.invitation_create(expert=expert, wave=wave, language=language)
    return OpenSurvey(
        wave=wave,
        panel=panel,
        blocks=list(wave.blocks.filter(panels=panel).order_by("order")),
        expert=expert,
        invitation=invitation,
        token=token,
    )

"""factory_boy factories for the survey model, and a small open wave with a working link.

Actors, roles and the 0–10 scale come from the reference-data migration, so their factories
get or create by code. ``InvitationFactory`` stores only a token's hash, like the service;
the token itself is on the built object as ``invitation.token``. ``survey_open`` builds a
ready questionnaire through the services, as an admin would, and returns its link's token.
"""

from dataclasses import dataclass

import factory
from django.utils import timezone

from surveys import services
from surveys.models import (
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


def _letters(number: int) -> str:
    """0 → "AAAA", 1 → "AAAB", …: upper-case codes for the ``^[A-Z]{2,8}$`` constraint."""
    letters = ""
    for _position in range(4):
        number, rest = divmod(number, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


class ActorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Actor
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: "X" + _letters(n))
    kind = Actor.Kind.STATE
    name_en = factory.LazyAttribute(lambda actor: f"Actor {actor.code}")
    name_ru = factory.LazyAttribute(lambda actor: f"Актор {actor.code}")


class RoleFactory(factory.django.DjangoModelFactory):
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


class PanelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Panel
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"P{n:05d}")
    city_en = factory.LazyAttribute(lambda panel: f"City {panel.code}")
    city_ru = factory.LazyAttribute(lambda panel: f"Город {panel.code}")
    actor = factory.LazyFunction(lambda: Actor.objects.get(code="ARM"))


class WaveFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Wave

    slug = factory.Sequence(lambda n: f"wave-{n}")
    title = factory.LazyAttribute(lambda wave: f"Test wave {wave.slug}")
    status = Wave.Status.DRAFT


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
) -> OpenSurvey:
    """Build and open a wave of 2–3 blocks for one panel and invite one expert to it.

    With ``other_panel_block`` the wave also has a block that only another panel answers
    (it must never show up in, or be accepted from, this expert's questionnaire).
    """
    actors = {actor.code: actor for actor in Actor.objects.all()}
    roles = {role.code: role for role in Role.objects.all()}
    panel = panel or PanelFactory()
    wave = WaveFactory(slug=slug) if slug else WaveFactory()
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

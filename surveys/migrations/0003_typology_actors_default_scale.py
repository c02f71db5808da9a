"""Reference data: the role typology, the actors of the study and the default 0–10 scale.

The roles are Holsti's (1970) national role conceptions plus "great power" from the later
literature. The definitions are the project's own short wording. Admins may edit them and add
roles in the admin; a wave keeps the texts it was fielded with.
"""

from django.db import migrations

HOLSTI = "Holsti 1970"
LATER = "later literature"

# code, English name, Russian name, English definition, Russian definition, source
ROLES = [
    (
        "bastion_of_revolution",
        "Bastion of revolution – liberator",
        "Оплот революции – освободитель",
        "Sees a duty to organise and lead revolutionary or order-changing movements abroad "
        "and to free others from a system it rejects.",
        "Считает своим долгом организовывать и возглавлять революционные или меняющие "
        "порядок движения за рубежом и освобождать других от отвергаемой им системы.",
        HOLSTI,
    ),
    (
        "regional_leader",
        "Regional leader",
        "Региональный лидер",
        "Claims special duties and rights of leadership over the states of its region and "
        "expects them to follow.",
        "Претендует на особые обязанности и права лидерства в отношении государств своего "
        "региона и ожидает, что они последуют за ним.",
        HOLSTI,
    ),
    (
        "regional_protector",
        "Regional protector",
        "Региональный защитник",
        "Takes responsibility for the security of neighbouring states or of its region "
        "against outside threats.",
        "Берёт на себя ответственность за безопасность соседних государств или своего "
        "региона от внешних угроз.",
        HOLSTI,
    ),
    (
        "active_independent",
        "Active independent",
        "Активный независимый",
        "Keeps out of binding alignments while working actively with many partners in "
        "every direction.",
        "Избегает обязывающих союзов, активно сотрудничая при этом со многими партнёрами во "
        "всех направлениях.",
        HOLSTI,
    ),
    (
        "liberation_supporter",
        "Liberation supporter",
        "Сторонник освобождения",
        "Declares support for liberation movements abroad without taking on the task of "
        "organising them.",
        "Заявляет о поддержке освободительных движений за рубежом, не беря на себя задачу "
        "их организации.",
        HOLSTI,
    ),
    (
        "anti_imperialist_agent",
        "Anti-imperialist agent",
        "Борец с империализмом",
        "Presents itself as a fighter against domination by imperial powers.",
        "Представляет себя борцом против господства имперских держав.",
        HOLSTI,
    ),
    (
        "defender_of_faith",
        "Defender of the faith",
        "Защитник веры",
        "Sees its mission in defending a set of values, a creed or an ideology against "
        "their opponents abroad.",
        "Видит свою миссию в защите ценностей, веры или идеологии от их противников за рубежом.",
        HOLSTI,
    ),
    (
        "mediator_integrator",
        "Mediator – integrator",
        "Посредник – интегратор",
        "Offers itself to settle disputes between other states and to bring them together "
        "in common projects.",
        "Предлагает себя для урегулирования споров между другими государствами и для их "
        "объединения в общих проектах.",
        HOLSTI,
    ),
    (
        "regional_subsystem_collaborator",
        "Regional-subsystem collaborator",
        "Участник регионального сотрудничества",
        "Commits itself to cooperation and common institutions with the states of its region.",
        "Привержен сотрудничеству и общим институтам с государствами своего региона.",
        HOLSTI,
    ),
    (
        "developer",
        "Developer",
        "Помощник в развитии",
        "Sees a duty to help less developed states with aid and know-how.",
        "Считает своим долгом помогать менее развитым государствам ресурсами и знаниями.",
        HOLSTI,
    ),
    (
        "bridge",
        "Bridge",
        "Мост",
        "Sees itself as a link that carries messages and goods between different regions, "
        "civilisations or camps.",
        "Видит себя звеном, связывающим разные регионы, цивилизации или лагеря.",
        HOLSTI,
    ),
    (
        "faithful_ally",
        "Faithful ally",
        "Верный союзник",
        "Gives firm and reliable support to the policies of a particular partner.",
        "Твёрдо и надёжно поддерживает политику определённого партнёра.",
        HOLSTI,
    ),
    (
        "independent",
        "Independent",
        "Независимый",
        "Decides its foreign policy on its own interests and refuses commitments to any "
        "bloc or patron.",
        "Определяет внешнюю политику исходя из собственных интересов и отказывается от "
        "обязательств перед каким-либо блоком или покровителем.",
        HOLSTI,
    ),
    (
        "example",
        "Example",
        "Пример",
        "Wants to win influence abroad by setting an example with its own domestic order.",
        "Стремится к влиянию за рубежом, подавая пример своим внутренним устройством.",
        HOLSTI,
    ),
    (
        "internal_development",
        "Internal development",
        "Внутреннее развитие",
        "Turns its efforts inward, to its own development, with few tasks abroad.",
        "Направляет усилия на собственное развитие, почти не ставя задач за рубежом.",
        HOLSTI,
    ),
    (
        "isolate",
        "Isolate",
        "Изолят",
        "Keeps its contacts with the outside world to a minimum.",
        "Сводит контакты с внешним миром к минимуму.",
        HOLSTI,
    ),
    (
        "protectee",
        "Protectee",
        "Опекаемый",
        "Relies on another state to guarantee its security and expects that state to defend it.",
        "Полагается на другое государство как гаранта своей безопасности и ожидает от него защиты.",
        HOLSTI,
    ),
    (
        "great_power",
        "Great power",
        "Великая держава",
        "A global power with special rights and duties in shaping the international order.",
        "Глобальная держава с особыми правами и обязанностями в формировании "
        "международного порядка.",
        LATER,
    ),
]

# code, kind, English name, Russian name
ACTORS = [
    ("RUS", "state", "Russia", "Россия"),
    ("KAZ", "state", "Kazakhstan", "Казахстан"),
    ("ARM", "state", "Armenia", "Армения"),
    ("KGZ", "state", "Kyrgyzstan", "Киргизия"),
    ("TJK", "state", "Tajikistan", "Таджикистан"),
    ("BLR", "state", "Belarus", "Белоруссия"),
    ("CSTO", "organisation", "Collective Security Treaty Organization", "ОДКБ"),
    ("EAEU", "organisation", "Eurasian Economic Union", "ЕАЭС"),
]


def add_reference_data(apps, schema_editor):
    Role = apps.get_model("surveys", "Role")
    Actor = apps.get_model("surveys", "Actor")
    Scale = apps.get_model("surveys", "Scale")
    for order, (code, name_en, name_ru, def_en, def_ru, source) in enumerate(ROLES, start=1):
        Role.objects.update_or_create(
            code=code,
            defaults={
                "name_en": name_en,
                "name_ru": name_ru,
                "definition_en": def_en,
                "definition_ru": def_ru,
                "source": source,
                "order": order,
            },
        )
    for order, (code, kind, name_en, name_ru) in enumerate(ACTORS, start=1):
        Actor.objects.update_or_create(
            code=code,
            defaults={"kind": kind, "name_en": name_en, "name_ru": name_ru, "order": order},
        )
    Scale.objects.get_or_create(name="0–10", defaults={"min_value": 0, "max_value": 10})


def remove_reference_data(apps, schema_editor):
    apps.get_model("surveys", "Role").objects.filter(code__in=[r[0] for r in ROLES]).delete()
    apps.get_model("surveys", "Actor").objects.filter(code__in=[a[0] for a in ACTORS]).delete()
    apps.get_model("surveys", "Scale").objects.filter(name="0–10").delete()


class Migration(migrations.Migration):
    dependencies = [("surveys", "0002_rating_value_in_item_scale")]

    operations = [migrations.RunPython(add_reference_data, remove_reference_data)]

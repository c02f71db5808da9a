"""Shared fixtures: a small instrument built through the services, as an admin would."""

import pytest

from surveys import services
from surveys.models import Actor, Panel, Role, Wave
from surveys.texts.services import texts_set
from tests.aggregation.vignette_fixtures import vignette_wave  # noqa: F401 (a fixture)
from tests.factories import reference_data_restore

TRANSACTIONAL_FIXTURES = {"transactional_db", "live_server"}


def _empties_the_tables(item: pytest.Item) -> bool:
    marker = item.get_closest_marker("django_db")
    return bool(
        (marker and marker.kwargs.get("transaction"))
        or TRANSACTIONAL_FIXTURES & set(item.fixturenames)
    )


def _restores_the_serialized_copy(item: pytest.Item | None) -> bool:
    marker = item and item.get_closest_marker("django_db")
    return bool(marker and marker.kwargs.get("serialized_rollback"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):
    """After a transactional test has emptied the tables, put the reference data back.

    The tests after it then find the database as the migrations left it, whatever ran before
    them: the order of the tests differs between one process and two (pytest-xdist). Not
    before a test that restores the copy of the migrated database itself
    (``serialized_rollback``): its rows would collide with those put back here.
    """
    result = yield
    # After the process's last test the test database itself is gone (session teardown).
    if nextitem is None:
        return result
    if _empties_the_tables(item) and not _restores_the_serialized_copy(nextitem):
        from pytest_django.plugin import blocking_manager_key

        with item.config.stash[blocking_manager_key].unblock():
            if not Role.objects.exists():
                reference_data_restore()
    return result


@pytest.fixture
def reference_data(db) -> None:
    """The typology, actors and default scale of the data migration.

    Transactional tests empty the tables after they run; this puts the rows back.
    """
    if not Role.objects.exists():
        reference_data_restore()


@pytest.fixture
def actors(reference_data) -> dict[str, Actor]:
    return {actor.code: actor for actor in Actor.objects.all()}


@pytest.fixture
def roles(reference_data) -> dict[str, Role]:
    return {role.code: role for role in Role.objects.all()}


def panel_create(code: str, actor: Actor, cities: dict[str, str]) -> Panel:
    panel = Panel.objects.create(code=code, actor=actor)
    texts_set(owner=panel, texts={"city": cities})
    return panel


@pytest.fixture
def panels(actors) -> dict[str, Panel]:
    return {
        "MOW": panel_create("MOW", actors["RUS"], {"en": "Moscow", "ru": "Москва"}),
        "YER": panel_create("YER", actors["ARM"], {"en": "Yerevan", "ru": "Ереван"}),
    }


@pytest.fixture
def draft_wave(actors, roles, panels) -> Wave:
    """A draft wave in English and Russian with three blocks: Moscow's expectation of
    Armenia, Armenia's conception and Armenia's performance as seen by both panels."""
    wave = Wave.objects.create(slug="test-wave", title="Test wave")
    texts_set(owner=wave, texts={"title": {"en": "Test wave", "ru": "Тестовая волна"}})
    role_set = [roles["protectee"], roles["independent"], roles["faithful_ally"]]
    services.block_create(
        wave=wave,
        holder=actors["RUS"],
        subject=actors["ARM"],
        perspective="expectation",
        roles=role_set,
        panels=[panels["MOW"]],
    )
    services.block_create(
        wave=wave,
        holder=actors["ARM"],
        subject=actors["ARM"],
        perspective="conception",
        roles=role_set,
        panels=[panels["YER"]],
    )
    services.block_create(
        wave=wave,
        holder=actors["ARM"],
        subject=actors["ARM"],
        perspective="performance",
        roles=role_set,
        panels=[panels["MOW"], panels["YER"]],
    )
    return wave


@pytest.fixture
def open_wave(draft_wave) -> Wave:
    return services.wave_open(wave=draft_wave)


@pytest.fixture
def rated_wave(open_wave, panels):
    """The open test wave with five submitted responses per panel: Moscow ascribes protectee,
    Yerevan conceives of Armenia as independent."""
    from django.utils import timezone

    from surveys.models import Rating, Response

    planted = {
        ("MOW", "expectation"): {"protectee": 9, "independent": 2, "faithful_ally": 6},
        ("YER", "conception"): {"protectee": 2, "independent": 9, "faithful_ally": 4},
        ("MOW", "performance"): {"protectee": 5, "independent": 4, "faithful_ally": 5},
        ("YER", "performance"): {"protectee": 4, "independent": 6, "faithful_ally": 3},
    }
    blocks = list(open_wave.blocks.prefetch_related("panels", "items__role"))
    ratings = []
    for code, panel in panels.items():
        for offset in range(5):
            response = Response.objects.create(
                wave=open_wave,
                panel=panel,
                pseudonym=services.pseudonym_new(),
                status=Response.Status.SUBMITTED,
                submitted_at=timezone.now(),
            )
            for block in blocks:
                if panel not in block.panels.all():
                    continue
                for item in block.items.all():
                    base = planted[(code, block.perspective)][item.role.code]
                    ratings.append(
                        Rating(
                            response=response,
                            item=item,
                            value=min(10, max(0, base + (offset % 3) - 1)),
                            confidence=3,
                        )
                    )
    Rating.objects.bulk_create(ratings)
    return open_wave


def login_with_second_factor(client, user) -> None:
    """Sign ``user`` in on ``client`` as after both steps: password, then a TOTP code.

    Gives the user a confirmed TOTP device if it has none and records it in the session the
    way ``django_otp.login`` does, so that ``request.user.is_verified()`` holds. The second
    factor stays required: a plain ``force_login`` of an identity user is sent to it.
    """
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="test authenticator", confirmed=True)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


@pytest.fixture
def otp_login():
    """``otp_login(client, user)``: sign in with a verified second factor."""
    return login_with_second_factor

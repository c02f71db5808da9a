"""Experts' names, e-mails and affiliations are encrypted at rest; e-mails are looked up and
kept unique per panel through a keyed blind index; keys can be rotated."""

import importlib
import io
from types import SimpleNamespace

import pytest
from cryptography.fernet import Fernet
from django.apps import apps
from django.contrib.auth.models import User
from django.core.exceptions import FieldError, ValidationError
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.test import override_settings
from django.urls import reverse

from surveys import services
from surveys.identity_crypto import IdentityKeyError, blind_index, decrypt, encrypt
from surveys.models import AuditEntry, Expert, Invitation
from tests.conftest import login_with_second_factor
from tests.test_settings import django_check

pytestmark = pytest.mark.django_db

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()
IDENTITY = {"name": "Арам Петросян", "email": "Aram.P@Example.org", "affiliation": "ЕГУ"}
migration_0005 = importlib.import_module("surveys.migrations.0005_expert_identity_encrypted")


def raw_row(expert: Expert) -> dict[str, str]:
    """The expert's identity columns as the database holds them, bypassing the model."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, email, affiliation, email_blind_index FROM surveys_expert WHERE id = %s",
            [expert.pk],
        )
        name, email, affiliation, index = cursor.fetchone()
    return {"name": name, "email": email, "affiliation": affiliation, "index": index}


def raw_update(expert: Expert, **columns: str) -> None:
    assignments = ", ".join(f"{column} = %s" for column in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE surveys_expert SET {assignments} WHERE id = %s", [*columns.values(), expert.pk]
        )


def rotate() -> str:
    out = io.StringIO()
    call_command("rotate_identity_keys", stdout=out)
    return out.getvalue()


@pytest.fixture
def expert(panels) -> Expert:
    return services.expert_create(panel=panels["YER"], language="hy", **IDENTITY)


# At rest and in memory -----------------------------------------------------------------------


def test_the_columns_hold_ciphertext_never_the_identity(expert):
    stored = raw_row(expert)
    for field, plaintext in IDENTITY.items():
        assert plaintext.lower() not in stored[field].lower()
        assert decrypt(stored[field]) == plaintext
    # Fernet tokens are randomised: the same plaintext never gives the same ciphertext twice.
    assert encrypt(IDENTITY["email"]) != stored["email"]
    assert stored["index"] == blind_index("aram.p@example.org")
    assert len(stored["index"]) == 64 and "aram" not in stored["index"]


def test_model_code_reads_and_writes_plaintext(expert, open_wave):
    again = Expert.objects.get(pk=expert.pk)
    assert (again.name, again.email, again.affiliation) == tuple(IDENTITY.values())
    # values_list decrypts too, also through a join (the expert status page reads it so).
    services.invitation_create(expert=again, wave=open_wave)
    assert Invitation.objects.values_list("expert__name", "expert__email").get() == (
        IDENTITY["name"],
        IDENTITY["email"],
    )
    again.name = "Aram Petrosyan"
    again.save(update_fields=["name"])
    assert Expert.objects.get(pk=expert.pk).name == "Aram Petrosyan"
    assert "Aram" not in raw_row(expert)["name"]


def test_an_empty_affiliation_is_encrypted_too(panels):
    expert = services.expert_create(panel=panels["MOW"], name="A", email="a@example.org")
    assert raw_row(expert)["affiliation"] != ""
    assert Expert.objects.get(pk=expert.pk).affiliation == ""


# Unique e-mails and lookups through the blind index ----------------------------------------


def test_the_same_email_on_a_panel_is_rejected_whatever_its_letter_case(expert, panels):
    with pytest.raises(ValidationError, match="already on this panel"):
        services.expert_create(panel=panels["YER"], name="Other", email="ARAM.p@example.ORG")
    with pytest.raises(IntegrityError), transaction.atomic():
        Expert.objects.create(panel=panels["YER"], name="Other", email="aram.p@example.org")
    # Another panel may have the same person.
    services.expert_create(panel=panels["MOW"], name="Other", email="aram.p@example.org")
    assert Expert.objects.with_email("ARAM.P@EXAMPLE.ORG").count() == 2


def test_the_admin_form_reports_a_duplicate_email_instead_of_failing(client, expert, panels):
    login_with_second_factor(client, User.objects.create_superuser("boss", password="pw"))
    page = client.post(
        reverse("admin:surveys_expert_add"),
        {
            "panel": panels["YER"].pk,
            "name": "Somebody Else",
            "email": "aram.p@EXAMPLE.org",
            "affiliation": "",
            "language": "hy",
            "other_languages": "",
            "is_active": "on",
        },
    )
    assert page.status_code == 200
    assert "An expert with this e-mail is already on this panel." in page.content.decode()
    assert Expert.objects.count() == 1


def test_encrypted_columns_refuse_sql_comparisons(expert):
    assert list(Expert.objects.with_email("aram.p@example.org")) == [expert]
    assert not Expert.objects.with_email("aram@example.org").exists()
    assert Expert.objects.filter(email__isnull=False).count() == 1
    for lookup in ("email", "email__iexact", "name__icontains", "affiliation__startswith"):
        with pytest.raises(FieldError, match="Unsupported lookup"):
            Expert.objects.filter(**{lookup: "x"}).exists()


def test_the_admin_searches_an_exact_email_only(client, expert, panels):
    services.expert_create(panel=panels["MOW"], name="Ivan", email="ivan@example.org")
    login_with_second_factor(client, User.objects.create_superuser("boss", password="pw"))
    url = reverse("admin:surveys_expert_changelist")

    def found(term: str) -> list[Expert]:
        return list(client.get(url, {"q": term}).context["cl"].result_list)

    assert found(" ARAM.P@example.org ") == [expert]
    assert found("aram") == [] and found("Арам") == [] and found("example.org") == []
    assert len(found("")) == 2
    page = client.get(url)
    assert "parts of them cannot be searched" in page.content.decode()
    # Ciphertext sorts randomly: the identity columns are not sortable.
    assert {"name", "email"}.isdisjoint(page.context["cl"].sortable_by)


# Keys: wrong keys, rotation -------------------------------------------------------------------


def test_a_wrong_key_is_a_clear_error_not_garbage(expert):
    with (
        override_settings(IDENTITY_ENCRYPTION_KEYS=[NEW_KEY]),
        pytest.raises(IdentityKeyError, match="cannot be decrypted with the keys in IDENTITY_"),
    ):
        Expert.objects.get(pk=expert.pk)
    raw_update(expert, name="not a token")
    with pytest.raises(IdentityKeyError):
        Expert.objects.get(pk=expert.pk)


def test_rotation_moves_every_expert_to_the_newest_key(panels):
    with override_settings(IDENTITY_ENCRYPTION_KEYS=[OLD_KEY]):
        expert = services.expert_create(panel=panels["YER"], **IDENTITY)
        services.expert_create(panel=panels["MOW"], name="Ivan", email="ivan@example.org")
    before = raw_row(expert)
    with override_settings(IDENTITY_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        # The new key in front, the old one still listed: everything stays readable.
        assert Expert.objects.get(pk=expert.pk).email == IDENTITY["email"]
        output = rotate()
    assert output.startswith("2 experts re-encrypted under the newest key; 0 e-mail blind")
    assert "Aram" not in output and "@" not in output and "Ivan" not in output
    assert raw_row(expert)["name"] != before["name"]
    assert raw_row(expert)["index"] == before["index"]
    with override_settings(IDENTITY_ENCRYPTION_KEYS=[NEW_KEY]):
        again = Expert.objects.get(pk=expert.pk)
        assert (again.name, again.email, again.affiliation) == tuple(IDENTITY.values())
        assert Expert.objects.count() == 2 and all(e.name for e in Expert.objects.all())
    with (
        override_settings(IDENTITY_ENCRYPTION_KEYS=[OLD_KEY]),
        pytest.raises(IdentityKeyError),
    ):
        Expert.objects.get(pk=expert.pk)
    assert AuditEntry.objects.get(action="identity.rotate_keys").detail == {
        "experts": 2,
        "reindexed": 0,
    }


def test_rotation_is_all_or_nothing(expert, panels):
    other = services.expert_create(panel=panels["MOW"], name="Ivan", email="ivan@example.org")
    with override_settings(IDENTITY_ENCRYPTION_KEYS=[OLD_KEY]):
        raw_update(other, name=encrypt("Ivan"))  # under a key that will not be configured
    before = raw_row(expert)
    with (
        override_settings(IDENTITY_ENCRYPTION_KEYS=[NEW_KEY, Fernet.generate_key().decode()]),
        pytest.raises(CommandError, match=r"cannot be decrypted .* Nothing was changed"),
    ):
        rotate()
    assert raw_row(expert) == before


def test_a_new_blind_index_key_takes_effect_after_rotation(expert):
    with override_settings(IDENTITY_BLIND_INDEX_KEY="another-blind-index-key-of-32-characters"):
        assert not Expert.objects.with_email(IDENTITY["email"]).exists()
        assert "1 e-mail blind indexes changed" in rotate()
        assert Expert.objects.with_email(IDENTITY["email"]).get() == expert
    assert not Expert.objects.with_email(IDENTITY["email"]).exists()


# The migration of existing plaintext rows ---------------------------------------------------


def test_the_migration_encrypts_plaintext_rows_and_fills_the_blind_index(expert, panels):
    other = services.expert_create(panel=panels["MOW"], name="Ivan", email="ivan@example.org")
    # The rows as 0004 left them: plaintext columns, no blind index yet (distinct here only
    # because the unique constraint already exists in this schema).
    raw_update(expert, **IDENTITY, email_blind_index="x")
    raw_update(other, name="Ivan", email="IVAN@example.org", affiliation="", email_blind_index="y")
    migration_0005.experts_encrypt(apps, SimpleNamespace(connection=connection))

    assert raw_row(expert)["index"] == blind_index(IDENTITY["email"])
    assert IDENTITY["email"] not in raw_row(expert)["email"]
    again = Expert.objects.get(pk=expert.pk)
    assert (again.name, again.email, again.affiliation) == tuple(IDENTITY.values())
    assert Expert.objects.with_email("ivan@example.org").get() == other

    migration_0005.experts_decrypt(apps, SimpleNamespace(connection=connection))
    assert {key: raw_row(expert)[key] for key in IDENTITY} == IDENTITY


def test_the_migration_refuses_emails_equal_apart_from_case_naming_ids_only(expert, panels):
    other = services.expert_create(panel=panels["YER"], name="Ivan", email="ivan@example.org")
    raw_update(expert, **IDENTITY, email_blind_index="x")
    raw_update(other, name="Ivan", email=IDENTITY["email"].upper(), affiliation="")
    with pytest.raises(ValueError, match=f"#{expert.pk} and #{other.pk}") as error:
        migration_0005.experts_encrypt(apps, SimpleNamespace(connection=connection))
    assert "@" not in str(error.value)


def test_row_encrypt_gives_tokens_and_the_index():
    name, email, affiliation, index = migration_0005.row_encrypt("N", "E@x.org", "")
    assert (decrypt(name), decrypt(email), decrypt(affiliation)) == ("N", "E@x.org", "")
    assert index == blind_index("e@x.org")


# Settings -------------------------------------------------------------------------------------


def test_production_without_identity_keys_is_a_clear_error():
    production = {
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "x" * 50,
        "DJANGO_ALLOWED_HOSTS": "survey.example.org",
    }
    result = django_check(**production)
    assert result.returncode != 0
    assert "IDENTITY_ENCRYPTION_KEYS must be set when DJANGO_DEBUG is off" in result.stderr

    result = django_check(**production, IDENTITY_ENCRYPTION_KEYS=NEW_KEY)
    assert "IDENTITY_BLIND_INDEX_KEY must be set when DJANGO_DEBUG is off" in result.stderr

    result = django_check(DJANGO_DEBUG="true", IDENTITY_ENCRYPTION_KEYS=f"{NEW_KEY},not-a-key")
    assert "IDENTITY_ENCRYPTION_KEYS: key 2 is not a Fernet key" in result.stderr

    result = django_check(DJANGO_DEBUG="true", IDENTITY_BLIND_INDEX_KEY="short")
    assert "IDENTITY_BLIND_INDEX_KEY must have at least 32 characters" in result.stderr

"""Importing ratings collected outside the web form: all or nothing, every bad row reported by
line and reason, never a value of the file echoed, nothing that re-identifies stored."""

import io
import json
from io import StringIO

import pytest
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import TestCase, override_settings

from aggregation.models import PendingAggregation
from aggregation.services import aggregation_run_wave
from surveys.groups import PANEL_ADMINS, RESEARCHERS, groups_sync
from surveys.imports import IMPORT_COLUMNS, ratings_import
from surveys.models import AuditEntry, Panel, Rating, Response, Wave
from tests.api.demo import api_client

pytestmark = pytest.mark.django_db

HEADER = ",".join(IMPORT_COLUMNS)
NAME = "Ivanova Maria Petrovna"
EMAIL = "m.ivanova@mail.example"


def csv_file(*rows: str, header: str = HEADER) -> io.BytesIO:
    return io.BytesIO("\n".join([header, *rows]).encode("utf-8"))


def good_rows(expert_ref: str = NAME) -> list[str]:
    """A Moscow expert's expectation of Armenia and a Yerevan expert's conception."""
    return [
        f"{expert_ref},MOW,RUS,ARM,expectation,protectee,9,false,4",
        f"{expert_ref},MOW,RUS,ARM,expectation,independent,,true,",
        f"{expert_ref},MOW,ARM,ARM,performance,faithful_ally,5,0,",
        f"{EMAIL},YER,ARM,ARM,conception,independent,10,no,5",
        f"{EMAIL},YER,ARM,ARM,performance,protectee,3,,2",
    ]


def test_a_good_file_becomes_one_pseudonymous_submitted_response_per_expert(open_wave):
    report = ratings_import(wave=open_wave, csv_file=csv_file(*good_rows()), user=None)
    assert report.ok, report.errors
    assert (report.rows, report.responses_created, report.ratings_created) == (5, 2, 5)
    responses = Response.objects.filter(wave=open_wave).order_by("panel__code")
    assert [r.panel.code for r in responses] == ["MOW", "YER"]
    for response in responses:
        assert response.source == Response.Source.IMPORT
        assert response.status == Response.Status.SUBMITTED
        assert response.submitted_at is not None
        assert response.invitation is None
        assert response.pseudonym.startswith("R-")
    moscow = Rating.objects.filter(response__panel__code="MOW")
    assert moscow.get(item__role__code="protectee").value == 9
    assert moscow.get(item__role__code="protectee").confidence == 4
    skipped = moscow.get(item__role__code="independent")
    assert skipped.cannot_judge and skipped.value is None and skipped.confidence is None


def test_nothing_of_the_expert_refs_is_stored_anywhere(open_wave):
    ratings_import(wave=open_wave, csv_file=csv_file(*good_rows()), user=None)
    stored = json.dumps(
        [
            list(Response.objects.values()),
            list(Rating.objects.values()),
            list(AuditEntry.objects.values("action", "object_type", "object_id", "detail")),
        ],
        default=str,
    )
    for secret in (NAME, EMAIL, "Ivanova", "m.ivanova"):
        assert secret not in stored
    audit = AuditEntry.objects.get(action="ratings.import")
    assert audit.detail == {"wave": open_wave.slug, "rows": 5, "responses": 2, "ratings": 5}


def test_an_import_schedules_aggregation_and_its_ratings_count(open_wave, mocker):
    dispatch = mocker.patch("aggregation.scheduling.aggregation_dispatch")
    with TestCase.captureOnCommitCallbacks(execute=True):
        ratings_import(wave=open_wave, csv_file=csv_file(*good_rows()), user=None)
    assert PendingAggregation.objects.filter(wave=open_wave).exists()
    dispatch.assert_called_once()
    assert dispatch.call_args.kwargs["wave_id"] == open_wave.pk
    run = aggregation_run_wave(wave_id=open_wave.pk)
    cell = run.cells.get(
        panel__code="MOW", subject__code="ARM", perspective="expectation", role__code="protectee"
    )
    assert (cell.n, cell.mean) == (1, 9.0)
    judged = run.cells.get(
        panel__code="MOW", subject__code="ARM", perspective="expectation", role__code="independent"
    )
    assert (judged.n, judged.n_cannot_judge) == (0, 1)


BAD_ROWS = [
    # (row, column, words in the reason)
    (f"{NAME},XXX,RUS,ARM,expectation,protectee,5,false,", "panel", "no panel"),
    (f"{NAME},MOW,{NAME},ARM,expectation,protectee,5,false,", "holder", "no actor"),
    (f"{NAME},MOW,RUS,ARM,{NAME},protectee,5,false,", "perspective", "must be one of"),
    (f"{NAME},MOW,RUS,ARM,expectation,{EMAIL},5,false,", "role", "no role"),
    (f"{NAME},MOW,RUS,KAZ,expectation,protectee,5,false,", "", "no such item"),
    (f"{NAME},MOW,ARM,ARM,conception,protectee,5,false,", "panel", "not asked"),
    (f"{NAME},MOW,RUS,ARM,expectation,protectee,,false,", "value", "needs cannot_judge"),
    (f"{NAME},MOW,RUS,ARM,expectation,protectee,5,true,", "value", "not both"),
    (f"{NAME},MOW,RUS,ARM,expectation,protectee,11,false,", "value", "outside the item's scale"),
    (f"{NAME},MOW,RUS,ARM,expectation,protectee,{NAME},false,", "value", "whole number"),
    (f"{NAME},MOW,RUS,ARM,expectation,protectee,5,{NAME},", "cannot_judge", "true or false"),
    (f"{NAME},MOW,RUS,ARM,expectation,protectee,5,false,6", "confidence", "from 1 to 5"),
    (",MOW,RUS,ARM,expectation,protectee,5,false,", "expert_ref", "empty"),
    (f"{NAME},MOW,RUS,ARM", "", "cells where the header has"),
]


def test_one_bad_row_stores_nothing_and_every_bad_row_is_reported(open_wave):
    rows = [*good_rows(), *(row for row, _, _ in BAD_ROWS)]
    report = ratings_import(wave=open_wave, csv_file=csv_file(*rows), user=None)
    assert not report.ok
    assert not Response.objects.filter(wave=open_wave).exists()
    assert not Rating.objects.exists()
    assert not PendingAggregation.objects.filter(wave=open_wave).exists()
    assert not AuditEntry.objects.filter(action="ratings.import").exists()
    by_line = {error.line: error for error in report.errors}
    first_bad_line = 2 + len(good_rows())  # the header is line 1
    for offset, (_row, column, words) in enumerate(BAD_ROWS):
        error = by_line[first_bad_line + offset]
        assert error.column == column, (offset, error)
        assert words in error.reason, (offset, error)
    assert len(report.errors) == len(BAD_ROWS)


def test_no_reason_quotes_a_value_of_the_file(open_wave):
    rows = [row for row, _, _ in BAD_ROWS]
    report = ratings_import(wave=open_wave, csv_file=csv_file(*rows), user=None)
    text = json.dumps(report.as_dict())
    for secret in (NAME, EMAIL, "Ivanova", "XXX", "KAZ"):
        assert secret not in text


def test_an_expert_is_in_one_panel_and_rates_an_item_once(open_wave):
    rows = [
        f"{NAME},MOW,RUS,ARM,expectation,protectee,5,false,",
        f"{NAME},MOW,RUS,ARM,expectation,protectee,6,false,",
        f"{NAME},YER,ARM,ARM,performance,protectee,6,false,",
    ]
    report = ratings_import(wave=open_wave, csv_file=csv_file(*rows), user=None)
    assert [(e.line, e.reason) for e in report.errors] == [
        (3, "this expert_ref rated this item already on line 2"),
        (4, "this expert_ref is in another panel on line 2"),
    ]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "the file is empty"),
        (HEADER.encode(), "the file has a header but no rows"),
        (b"expert_ref,panel\nx,MOW", "missing columns: holder"),
        (f"{HEADER},notes\n".encode(), "unexpected columns at positions 10"),
        (b"Ivanova,MOW,RUS,ARM,expectation,protectee,5,false,\n", "missing columns"),
        ("\xff\xfe".encode("latin-1"), "not UTF-8"),
    ],
)
def test_files_of_the_wrong_shape_are_refused_without_echo(open_wave, content, reason):
    report = ratings_import(wave=open_wave, csv_file=io.BytesIO(content), user=None)
    assert not report.ok
    assert any(reason in error.reason for error in report.errors), report.errors
    assert "Ivanova" not in json.dumps(report.as_dict())
    assert not Response.objects.exists()


def test_a_byte_order_mark_blank_lines_and_spaces_are_fine(open_wave):
    content = "\ufeff" + "\n".join(
        [HEADER, *[row.replace(",", " , ") for row in good_rows()], "", ""]
    )
    report = ratings_import(wave=open_wave, csv_file=io.BytesIO(content.encode()), user=None)
    assert report.ok, report.errors
    assert report.ratings_created == 5


def _closed(wave: Wave) -> Wave:
    Wave.objects.filter(pk=wave.pk).update(status=Wave.Status.CLOSED)
    wave.refresh_from_db()
    return wave


def test_only_open_waves_take_imports_and_nothing_is_written_otherwise(draft_wave):
    report = ratings_import(wave=draft_wave, csv_file=csv_file(*good_rows()), user=None)
    assert not report.ok and "the wave is draft" in report.errors[0].reason
    closed = _closed(draft_wave)
    report = ratings_import(wave=closed, csv_file=csv_file(*good_rows()), user=None)
    assert not report.ok and report.ratings_created == 0
    assert report.errors[0].reason == (
        "the wave is closed: ratings can be imported into an open wave only; nothing was imported"
    )
    assert not Response.objects.exists() and not Rating.objects.exists()
    assert not AuditEntry.objects.filter(action="ratings.import").exists()


def test_a_wave_closed_while_the_file_is_checked_takes_nothing(open_wave, mocker):
    from surveys import imports

    check = imports._check_file

    def close_meanwhile(*args, **kwargs):
        result = check(*args, **kwargs)
        Wave.objects.filter(pk=open_wave.pk).update(status=Wave.Status.CLOSED)
        return result

    mocker.patch.object(imports, "_check_file", side_effect=close_meanwhile)
    report = ratings_import(wave=open_wave, csv_file=csv_file(*good_rows()), user=None)
    assert not report.ok and "the wave is closed" in report.errors[0].reason
    assert not Response.objects.exists() and not Rating.objects.exists()


def test_the_api_refuses_an_import_into_a_closed_wave(open_wave):
    _closed(open_wave)
    groups_sync()
    user = User.objects.create_user("clerk")
    user.groups.add(Group.objects.get(name=PANEL_ADMINS))
    upload = SimpleUploadedFile("r.csv", csv_file(*good_rows()).getvalue(), "text/csv")
    response = api_client(user).post(
        f"/api/v1/waves/{open_wave.slug}/ratings-import/", {"file": upload}, format="multipart"
    )
    assert response.status_code == 400
    assert "open wave only" in response.json()["errors"][0]["reason"]
    assert not Response.objects.exists()


@override_settings(UPLOAD_MAX_BYTES=1024)
def test_an_upload_above_the_limit_is_refused_with_the_limit_named(open_wave):
    groups_sync()
    user = User.objects.create_user("clerk")
    user.groups.add(Group.objects.get(name=PANEL_ADMINS))
    rows = good_rows() * 40  # the same rows again: would be bad rows, if they were read
    content = csv_file(*rows).getvalue()
    assert len(content) > 4 * 1024
    upload = SimpleUploadedFile("r.csv", content, "text/csv")
    response = api_client(user).post(
        f"/api/v1/waves/{open_wave.slug}/ratings-import/", {"file": upload}, format="multipart"
    )
    assert response.status_code == 400
    assert response.json()["file"] == [
        "The file is larger than 1 KB, the most one upload may hold. Split it into smaller files."
    ]
    assert not Response.objects.exists()


def test_a_dry_run_checks_and_stores_nothing(open_wave):
    report = ratings_import(
        wave=open_wave, csv_file=csv_file(*good_rows()), user=None, dry_run=True
    )
    assert report.ok and report.ratings_created == 5
    assert not Response.objects.exists()


def test_the_command_imports_or_lists_every_bad_line(open_wave, tmp_path):
    good = tmp_path / "good.csv"
    good.write_text("\n".join([HEADER, *good_rows()]), encoding="utf-8")
    out = StringIO()
    call_command("import_ratings", str(good), "--wave", open_wave.slug, stdout=out)
    assert "imported 5 ratings of 2 experts" in out.getvalue()
    assert Response.objects.filter(source="import").count() == 2

    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join([HEADER, *(row for row, _, _ in BAD_ROWS[:3])]), encoding="utf-8")
    err = StringIO()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_ratings", str(bad), "--wave", open_wave.slug, stderr=err)
    assert err.getvalue().splitlines() == [
        "line 2, column panel: no panel has this code, or it is not one you administer",
        "line 3, column holder: no actor has this code",
        "line 4, column perspective: must be one of conception, expectation, performance",
    ]
    assert NAME not in err.getvalue()
    assert Response.objects.filter(source="import").count() == 2
    with pytest.raises(CommandError, match="No wave"):
        call_command("import_ratings", str(good), "--wave", "1999")


def _user(name: str, group: str | None) -> User:
    groups_sync()
    user = User.objects.create_user(name)
    if group:
        user.groups.add(Group.objects.get(name=group))
    if group == PANEL_ADMINS:
        user.administered_panels.set(Panel.objects.all())
    return user


def _upload(content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile("ratings.csv", content, content_type="text/csv")


def test_the_api_refuses_rows_of_a_panel_the_user_does_not_administer(open_wave, panels):
    url = f"/api/v1/waves/{open_wave.slug}/ratings-import/"
    user = _user("yer-admin", None)
    user.groups.add(Group.objects.get(name=PANEL_ADMINS))
    user.administered_panels.set([panels["YER"]])
    content = "\n".join([HEADER, *good_rows()]).encode()
    reply = api_client(user).post(url, {"file": _upload(content)}, format="multipart")
    assert reply.status_code == 400
    assert "not one you administer" in str(reply.json())
    assert not Response.objects.exists()


def test_the_api_imports_for_users_with_the_import_permission(open_wave):
    url = f"/api/v1/waves/{open_wave.slug}/ratings-import/"
    admin = api_client(_user("panel-admin", PANEL_ADMINS))
    content = "\n".join([HEADER, *good_rows()]).encode()

    dry = admin.post(url, {"file": _upload(content), "dry_run": "true"}, format="multipart")
    assert dry.status_code == 200 and dry.json()["dry_run"]
    assert not Response.objects.exists()

    created = admin.post(url, {"file": _upload(content)}, format="multipart")
    assert created.status_code == 201
    assert created.json() == {
        "wave": open_wave.slug,
        "ok": True,
        "dry_run": False,
        "rows": 5,
        "responses_created": 2,
        "ratings_created": 5,
        "errors": [],
    }
    assert AuditEntry.objects.get(action="ratings.import").user.username == "panel-admin"

    bad = admin.post(
        url,
        {"file": _upload("\n".join([HEADER, BAD_ROWS[0][0]]).encode())},
        format="multipart",
    )
    assert bad.status_code == 400
    assert bad.json()["errors"] == [
        {
            "line": 2,
            "column": "panel",
            "reason": "no panel has this code, or it is not one you administer",
        }
    ]
    assert NAME not in bad.content.decode()

    researcher = api_client(_user("researcher", RESEARCHERS))
    assert researcher.post(url, {"file": _upload(content)}, format="multipart").status_code == 403
    assert api_client().post(url, {"file": _upload(content)}, format="multipart").status_code == 401
    assert (
        admin.post(
            "/api/v1/waves/1999/ratings-import/", {"file": _upload(content)}, format="multipart"
        ).status_code
        == 404
    )
    assert Wave.objects.get(pk=open_wave.pk).responses.count() == 2
